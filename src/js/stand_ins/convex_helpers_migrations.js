// Stand-in for `convex-helpers/server/migrations`: `makeMigration` records
// what each migration is, so convex-snapshot runs it offline as the helper
// does on a deployment.

import { defineTable } from "convex/server";
import { v } from "convex/values";
import { offline } from "convex-snapshot:runtime";

export const DEFAULT_BATCH_SIZE = 100;

export const migrationsTable = defineTable({
  name: v.string(),
  table: v.string(),
  cursor: v.union(v.string(), v.null()),
  isDone: v.boolean(),
  workerId: v.optional(v.id("_scheduled_functions")),
  processed: v.number(),
  latestStart: v.number(),
  latestEnd: v.optional(v.number()),
}).index("name", ["name"]);

export function makeMigration(internalMutation, opts) {
  return function migration({ table, migrateOne, customRange, batchSize }) {
    if (typeof migrateOne !== "function") throw new Error("migration needs a migrateOne function");
    const fn = internalMutation({
      handler: () => offline("running a migration as a plain function"),
    });
    // The helper pages by `args.batchSize ?? batchSize ?? defaultBatchSize ?? 100`.
    fn.__migration = {
      style: "convex-helpers",
      table,
      migrateOne,
      customRange,
      batchSize: batchSize ?? opts?.defaultBatchSize ?? DEFAULT_BATCH_SIZE,
      parallelize: false,
    };
    return fn;
  };
}

export const startMigration = () => offline("startMigration");
export const startMigrationsSerially = () => offline("startMigrationsSerially");
export const cancelMigration = () => offline("cancelMigration");
export const getStatus = () => offline("getStatus");
