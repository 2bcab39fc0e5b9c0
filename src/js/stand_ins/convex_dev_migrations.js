// Stand-in for `@convex-dev/migrations` (0.3.x): `new Migrations(...)`,
// `define` and `runner` record what a migration is, so convex-snapshot can
// run it offline with the component's semantics.

import { internalMutationGeneric, getFunctionName, REFERENCE_PATH } from "convex/server";
import { offline } from "convex-snapshot:runtime";

export const DEFAULT_BATCH_SIZE = 100;

function componentPath(component) {
  const parts = component && component[REFERENCE_PATH];
  return Array.isArray(parts) && parts[0] === "(component)" && parts.length > 1 ? parts.slice(1).join("/") : null;
}

export class Migrations {
  constructor(component, options) {
    this.component = component;
    this.options = options ?? {};
  }

  define({ table, migrateOne, customRange, batchSize, parallelize }) {
    if (typeof table !== "string") throw new Error("migrations.define needs a table name");
    if (typeof migrateOne !== "function") throw new Error("migrations.define needs a migrateOne function");
    const builder = this.options.internalMutation ?? internalMutationGeneric;
    const fn = builder({
      handler: () => offline("running a migration as a plain function"),
    });
    // As the component computes it: `batchSize ?? defaultBatchSize ?? 100`,
    // and each batch `args.batchSize || that`.
    const defaultBatchSize = batchSize ?? this.options.defaultBatchSize ?? DEFAULT_BATCH_SIZE;
    fn.__migration = {
      style: "@convex-dev/migrations",
      table,
      migrateOne,
      customRange,
      batchSize: defaultBatchSize || DEFAULT_BATCH_SIZE,
      parallelize: !!parallelize,
      schema: this.options.schema,
      // Where the component keeps its state (`components.migrations` is
      // the component `migrations`), to skip what already ran.
      component: componentPath(this.component),
    };
    return fn;
  }

  runner(specificMigrationOrSeries) {
    const fn = internalMutationGeneric({
      handler: () => offline("running a migration runner as a plain function"),
    });
    const list =
      specificMigrationOrSeries === undefined
        ? null
        : Array.isArray(specificMigrationOrSeries)
          ? specificMigrationOrSeries
          : [specificMigrationOrSeries];
    fn.__runner = { list: list && list.map((ref) => getFunctionName(ref)) };
    return fn;
  }

  runOne() {
    offline("migrations.runOne (starting a migration from a function)");
  }
  runSerially() {
    offline("migrations.runSerially (starting migrations from a function)");
  }
  getStatus() {
    offline("migrations.getStatus");
  }
  cancel() {
    offline("migrations.cancel");
  }
  cancelAll() {
    offline("migrations.cancelAll");
  }
}
