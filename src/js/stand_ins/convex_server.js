// Stand-in for the `convex/server` module: function builders, function
// references, the schema builders and the rest of what Convex files import,
// so a project's files evaluate offline as they would on a deployment.

import { v, asObjectValidator, isValidator } from "convex/values";
import { FUNCTION_NAME, offline } from "convex-snapshot:runtime";

function register(type, visibility, fnOrConfig) {
  const config = typeof fnOrConfig === "function" ? { handler: fnOrConfig } : { ...fnOrConfig };
  if (typeof config.handler !== "function") {
    throw new Error(`a ${visibility} ${type} needs a handler function`);
  }
  const registered = (ctx, args) => config.handler(ctx, args ?? {});
  registered.__convex = {
    type,
    visibility,
    handler: config.handler,
    args: config.args,
    returns: config.returns,
  };
  registered.isRegistered = true;
  registered.isMutation = type === "mutation";
  registered.isQuery = type === "query";
  registered.isAction = type === "action";
  registered.isHttp = type === "httpAction";
  registered.isPublic = visibility === "public";
  registered.isInternal = visibility === "internal";
  registered.exportArgs = () => JSON.stringify(config.args ? asObjectValidator(config.args).json : { type: "any" });
  registered.exportReturns = () => JSON.stringify(config.returns ? config.returns.json : null);
  return registered;
}

export const mutationGeneric = (f) => register("mutation", "public", f);
export const internalMutationGeneric = (f) => register("mutation", "internal", f);
export const queryGeneric = (f) => register("query", "public", f);
export const internalQueryGeneric = (f) => register("query", "internal", f);
export const actionGeneric = (f) => register("action", "public", f);
export const internalActionGeneric = (f) => register("action", "internal", f);
export const httpActionGeneric = (f) => register("httpAction", "public", f);

// Custom builders (convex-helpers' customMutation and friends) call these.
export function makeFunctionReference(name) {
  return { [FUNCTION_NAME]: name };
}

export function getFunctionName(ref) {
  if (typeof ref === "string") return ref;
  const name = ref && ref[FUNCTION_NAME];
  if (!name) throw new Error(`${String(ref)} is not a function reference`);
  return name;
}

export function getFunctionAddress(ref) {
  return { name: getFunctionName(ref) };
}

/** The path of a reference (`components.migrations` is ["(component)", "migrations"]). */
export const REFERENCE_PATH = Symbol("convex-snapshot.referencePath");

function api(parts) {
  return new Proxy(
    {},
    {
      get(_, prop) {
        if (typeof prop === "string") return api([...parts, prop]);
        if (prop === REFERENCE_PATH) return parts;
        if (prop === FUNCTION_NAME) {
          if (parts.length < 2) {
            throw new Error(`API path is expected to be of the form \`api.moduleName.functionName\`. Found: \`${["api", ...parts].join(".")}\``);
          }
          const path = parts.slice(0, -1).join("/");
          const name = parts[parts.length - 1];
          return name === "default" ? path : `${path}:${name}`;
        }
        return undefined;
      },
    },
  );
}

export const anyApi = api([]);

export function componentsGeneric() {
  return api(["(component)"]);
}

export const createFunctionHandle = () => offline("function handles (createFunctionHandle)");

// The schema builders, with the public shape of the real package's
// (`convex/server`'s TableDefinition and SchemaDefinition): `export()` gives
// the JSON the CLI pushes to the deployment, which `validate --schema` reads.
class TableDefinition {
  constructor(validator) {
    this.indexes = [];
    this.stagedDbIndexes = [];
    this.searchIndexes = [];
    this.stagedSearchIndexes = [];
    this.vectorIndexes = [];
    this.stagedVectorIndexes = [];
    this.validator = validator;
    this.stagedValidator = undefined;
  }
  " indexes"() {
    return this.indexes;
  }
  index(name, config) {
    if (Array.isArray(config)) this.indexes.push({ indexDescriptor: name, fields: config });
    else (config.staged ? this.stagedDbIndexes : this.indexes).push({ indexDescriptor: name, fields: config.fields });
    return this;
  }
  searchIndex(name, config) {
    (config.staged ? this.stagedSearchIndexes : this.searchIndexes).push({
      indexDescriptor: name,
      searchField: config.searchField,
      filterFields: config.filterFields || [],
    });
    return this;
  }
  vectorIndex(name, config) {
    (config.staged ? this.stagedVectorIndexes : this.vectorIndexes).push({
      indexDescriptor: name,
      vectorField: config.vectorField,
      dimensions: config.dimensions,
      filterFields: config.filterFields || [],
    });
    return this;
  }
  staged(documentSchema) {
    if (this.stagedValidator !== undefined) throw new Error("Table cannot have more than one staged validator.");
    if (isValidator(documentSchema)) {
      this.stagedValidator = documentSchema;
    } else {
      if (this.validator.kind !== "object" && this.validator.kind !== "any") {
        throw new Error("Specifying top-level field changes is only supported for simple table definitions. For a table defined with a union or record validator, you must stage a fully defined object or union validator.");
      }
      const enforced = this.validator.kind === "object" ? this.validator.fields : {};
      this.stagedValidator = v.object(Object.fromEntries(Object.entries({ ...enforced, ...documentSchema }).filter((e) => e[1] !== undefined)));
    }
    return this;
  }
  self() {
    return this;
  }
  export() {
    const documentType = this.validator.json;
    if (typeof documentType !== "object") {
      throw new Error("Invalid validator: please make sure that the parameter of `defineTable` is valid (see https://docs.convex.dev/database/schemas)");
    }
    return {
      indexes: this.indexes,
      stagedDbIndexes: this.stagedDbIndexes,
      searchIndexes: this.searchIndexes,
      stagedSearchIndexes: this.stagedSearchIndexes,
      vectorIndexes: this.vectorIndexes,
      stagedVectorIndexes: this.stagedVectorIndexes,
      documentType,
      stagedDocumentType: this.stagedValidator === undefined ? undefined : this.stagedValidator.json,
    };
  }
}

export function defineTable(documentSchema) {
  return new TableDefinition(isValidator(documentSchema) ? documentSchema : v.object(documentSchema));
}

class SchemaDefinition {
  constructor(tables, options) {
    this.tables = tables;
    this.schemaValidation = options?.schemaValidation === undefined ? true : options.schemaValidation;
    this.strictTableNameTypes = options?.strictTableNameTypes === undefined ? true : options.strictTableNameTypes;
    this.__isSchema = true;
  }
  doc(tableName) {
    const table = this.tables[tableName];
    if (table === undefined) throw new Error(`Table "${tableName}" is not in this schema. Tables in this schema: ${Object.keys(this.tables).join(", ")}`);
    const withSystem = (val) =>
      val.kind === "object"
        ? val.extend({ _id: v.id(tableName), _creationTime: v.number() })
        : val.kind === "union"
          ? v.union(...val.members.map(withSystem))
          : val;
    return withSystem(table.validator);
  }
  id(tableName) {
    if (this.tables[tableName] === undefined) throw new Error(`Table "${tableName}" is not in this schema. Tables in this schema: ${Object.keys(this.tables).join(", ")}`);
    return v.id(tableName);
  }
  export() {
    return JSON.stringify({
      tables: Object.entries(this.tables).map(([tableName, definition]) => ({ tableName, ...definition.export() })),
      schemaValidation: this.schemaValidation,
    });
  }
}

export function defineSchema(tables, options) {
  return new SchemaDefinition(tables, options);
}

export const paginationOptsValidator = v.object({
  numItems: v.number(),
  cursor: v.union(v.string(), v.null()),
  endCursor: v.optional(v.union(v.string(), v.null())),
  id: v.optional(v.number()),
  maximumRowsRead: v.optional(v.number()),
  maximumBytesRead: v.optional(v.number()),
});

export const paginationResultValidator = (item) =>
  v.object({
    page: v.array(item),
    continueCursor: v.string(),
    isDone: v.boolean(),
    splitCursor: v.optional(v.union(v.string(), v.null())),
    pageStatus: v.optional(v.union(v.literal("SplitRecommended"), v.literal("SplitRequired"), v.null())),
  });

// Files that define crons or HTTP routes evaluate; nothing here runs them.
export function cronJobs() {
  const jobs = {};
  const add = (name, ...rest) => {
    jobs[name] = rest;
  };
  return { crons: jobs, interval: add, hourly: add, daily: add, weekly: add, monthly: add, cron: add };
}

export function httpRouter() {
  const routes = [];
  return { routes, route: (r) => routes.push(r), isRouter: true };
}

export const ROUTABLE_HTTP_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

export function defineComponent(name) {
  return { name, use: () => {} };
}

export function defineApp() {
  return { use: () => {} };
}
