// convex-snapshot's own module: what the stand-ins share (function
// reference names, Convex's value order), and the driver that builds a
// function's `ctx` and runs user code the way a deployment does. `__host`
// is installed by the Rust side: it reads and writes the snapshot.

export const FUNCTION_NAME = Symbol.for("functionName");

/** Throws the error for something that cannot exist offline. */
export function offline(what) {
  throw new Error(`${what} cannot run offline: convex-snapshot has no deployment to call`);
}

// ---- Convex's order of values (`compareValues` in the convex package) ----

function rank(v) {
  if (v === undefined) return 0;
  if (v === null) return 1;
  if (typeof v === "bigint") return 2;
  if (typeof v === "number") return 3;
  if (typeof v === "boolean") return 4;
  if (typeof v === "string") return 5;
  if (v instanceof ArrayBuffer) return 6;
  if (Array.isArray(v)) return 7;
  return 9;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function floatKey(x) {
  // Total order of IEEE doubles by bits (negative NaN first, then -Inf ...
  // -0 < 0 ... +Inf, positive NaN last).
  f64[0] = x;
  const bits = u64[0];
  return bits >> 63n ? ~bits & 0xffffffffffffffffn : bits | 0x8000000000000000n;
}

function utf8Compare(a, b) {
  // Strings compare by their UTF-8 bytes; UTF-16 order differs only around
  // surrogates, so compare by code points.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0);
    const cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

export function compareValues(a, b) {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
    case 1:
      return 0;
    case 2:
      return a < b ? -1 : a > b ? 1 : 0;
    case 3: {
      const ka = floatKey(a);
      const kb = floatKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    }
    case 4:
      return a === b ? 0 : a ? 1 : -1;
    case 5:
      return utf8Compare(a, b);
    case 6:
      return compareArrays(Array.from(new Uint8Array(a)), Array.from(new Uint8Array(b)));
    case 7:
      return compareArrays(a, b);
    default: {
      const ka = Object.keys(a).sort();
      const kb = Object.keys(b).sort();
      return compareArrays(ka.map((k) => [k, a[k]]), kb.map((k) => [k, b[k]]));
    }
  }
}

function compareArrays(a, b) {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

// ---- Values between JavaScript and convex-snapshot ----
//
// Values cross as JSON text. Plain JSON numbers are Float64; the other
// types are tagged: {"$integer":"<decimal>"}, {"$float":"<16 hex digits of
// the bits>"} (NaN, ±Infinity, -0), {"$bytes":"<hex>"}, and, in a patch or
// a filter, {"$undefined":null}. `toBridge` checks a value the way the
// convex package's `convexToJson` does before it reaches a deployment, with
// its messages.

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_FIELD_NAME = 1024;

// NaN, ±Infinity or -0 (operators only: a builtin call costs more here).
function isSpecial(n) {
  return n !== n || n === Infinity || n === -Infinity || (n === 0 && 1 / n < 0);
}

function floatBits(x) {
  f64[0] = x;
  return u64[0].toString(16).padStart(16, "0");
}

function fromFloatBits(hex) {
  u64[0] = BigInt("0x" + hex);
  return f64[0];
}

function hexOf(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}

function bufferOf(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out.buffer;
}

export function stringifyForError(value) {
  try {
    return JSON.stringify(value, (_k, v) => (v === undefined ? "undefined" : typeof v === "bigint" ? `${v}n` : v));
  } catch {
    return String(value);
  }
}

function isSimpleObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype || proto?.constructor?.name === "Object";
}

// Names already found valid (the same few recur document after document).
const validNames = Object.create(null);
let validCount = 0;

function checkFieldName(k) {
  if (validNames[k] === true) return;
  checkNewFieldName(k);
  if (validCount < 10000) {
    validNames[k] = true;
    validCount++;
  }
}

function checkNewFieldName(k) {
  if (k.length > MAX_FIELD_NAME) throw new Error(`Field name ${k} exceeds maximum field name length ${MAX_FIELD_NAME}.`);
  if (k.startsWith("$")) throw new Error(`Field name ${k} starts with a '$', which is reserved.`);
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 32 || c >= 127) {
      throw new Error(`Field name ${k} has invalid character '${k[i]}': Field names can only contain non-control ASCII characters`);
    }
  }
}

function unsupported(context, typeName, value, original) {
  return context
    ? `${typeName}${stringifyForError(value)} is not a supported Convex type (present at path ${context} in original object ${stringifyForError(original)}). To learn about Convex's supported types, see https://docs.convex.dev/using/types.`
    : `${typeName}${stringifyForError(value)} is not a supported Convex type.`;
}

// A field a patch removes, as the bridge text says it.
const UNDEFINED = Object.freeze({ $undefined: null });

function bridge(value, original, context, topUndefined) {
  if (value === undefined) {
    const where = context && ` (present at path ${context} in original object ${stringifyForError(original)})`;
    throw new Error(`undefined is not a valid Convex value${where}. To learn about Convex's supported types, see https://docs.convex.dev/using/types.`);
  }
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "bigint") {
    if (value < MIN_INT64 || value > MAX_INT64) throw new Error(`BigInt ${value} does not fit into a 64-bit signed integer.`);
    return { $integer: value.toString() };
  }
  if (typeof value === "number") return isSpecial(value) ? { $float: floatBits(value) } : value;
  if (value instanceof ArrayBuffer) return { $bytes: hexOf(value) };
  if (Array.isArray(value)) return value.map((v, i) => bridge(v, original, `${context}[${i}]`, false));
  if (value instanceof Set) throw new Error(unsupported(context, "Set", [...value], original));
  if (value instanceof Map) throw new Error(unsupported(context, "Map", [...value], original));
  if (typeof value !== "object" || !isSimpleObject(value)) {
    const name = value?.constructor?.name;
    throw new Error(unsupported(context, name ? `${name} ` : "", value, original));
  }
  // Own enumerable string keys, in the object's order (what `for...in`
  // with `hasOwnProperty` gives, without its cost); the Rust side sorts.
  // Plain values are copied here rather than through another call, and a
  // path is only spelled out for a value that may need it in an error.
  const out = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = value[k];
    if (v === undefined) {
      if (topUndefined) {
        checkFieldName(k);
        out[k] = UNDEFINED;
      }
      continue;
    }
    checkFieldName(k);
    const t = typeof v;
    out[k] =
      t === "string" || t === "boolean" || v === null || (t === "number" && !isSpecial(v))
        ? v
        : bridge(v, original, context === "" ? "." + k : `${context}.${k}`, false);
  }
  return out;
}

/** A Convex value as bridge JSON text (`patch`: top-level undefined kept). */
export function toBridge(value, patch = false) {
  return JSON.stringify(bridge(value, value, "", patch));
}

/** A value that may be `undefined` (a filter's operand: a missing field). */
function toBridgeOrUndefined(value) {
  return value === undefined ? { $undefined: null } : bridge(value, value, "", false);
}

function untag(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = untag(v[i]);
    return v;
  }
  if ("$integer" in v) return BigInt(v.$integer);
  if ("$float" in v) return fromFloatBits(v.$float);
  if ("$bytes" in v) return bufferOf(v.$bytes);
  for (const k of Object.keys(v)) v[k] = untag(v[k]);
  return v;
}

/**
 * Bridge JSON text back to a value: "P" + plain JSON, or "T" + tagged. The
 * host gives plain documents (and lists of them) already parsed.
 */
export function fromBridge(text) {
  if (text === null || text === undefined) return null;
  if (typeof text !== "string") return text;
  const parsed = JSON.parse(text.slice(1));
  return text.charCodeAt(0) === 84 /* T */ ? untag(parsed) : parsed;
}

// ---- ctx.db ----

const host = globalThis.__host;

// Set while a page runs: before `ctx.db` reaches the host, the page's
// deferred patches are applied and the current call's layer is opened.
let hook = null;
function h() {
  if (hook !== null) hook();
  return host;
}

function filterBuilder() {
  const wrap = (x) => (x && typeof x === "object" && x.__expr ? x : { __expr: "literal", value: toBridgeOrUndefined(x) });
  const op = (name) => (...args) => ({ __expr: name, args: args.map(wrap) });
  return {
    field: (path) => ({ __expr: "field", path }),
    eq: op("eq"),
    neq: op("neq"),
    lt: op("lt"),
    lte: op("lte"),
    gt: op("gt"),
    gte: op("gte"),
    add: op("add"),
    sub: op("sub"),
    mul: op("mul"),
    div: op("div"),
    mod: op("mod"),
    neg: op("neg"),
    and: op("and"),
    or: op("or"),
    not: op("not"),
  };
}

function indexRangeBuilder(range) {
  const b = {};
  for (const op of ["eq", "gt", "gte", "lt", "lte"]) {
    b[op] = (field, value) => {
      if (typeof field !== "string") throw new Error(`the first argument of q.${op} in an index range must be a field name`);
      range.push([op, field, toBridgeOrUndefined(value)]);
      return b;
    };
  }
  return b;
}

class Query {
  constructor(table, system) {
    this.d = { table, system, index: null, range: [], order: null, filters: [], search: null };
    this.started = false;
  }
  _open(what) {
    if (this.started) throw new Error(`a query can only be run once; build a new one for ${what}`);
    this.started = true;
  }
  withIndex(name, rangeFn) {
    if (this.d.index !== null) throw new Error("withIndex can only be called once, before order and filter");
    this.d.index = name;
    if (rangeFn) rangeFn(indexRangeBuilder(this.d.range));
    return this;
  }
  withSearchIndex(name) {
    offline(`the search index ${name} (full-text search)`);
  }
  fullTableScan() {
    return this;
  }
  order(order) {
    if (order !== "asc" && order !== "desc") throw new Error(`order must be "asc" or "desc", got ${String(order)}`);
    if (this.d.order !== null) throw new Error("order can only be set once");
    this.d.order = order;
    return this;
  }
  filter(predicate) {
    const expr = predicate(filterBuilder());
    this.d.filters.push(expr && expr.__expr ? expr : { __expr: "literal", value: toBridgeOrUndefined(expr) });
    return this;
  }
  limit(n) {
    this.d.limit = n;
    return this;
  }
  _run(limit) {
    return fromBridge(h().query(JSON.stringify(this.d), limit));
  }
  async collect() {
    this._open("collect()");
    return this._run(null);
  }
  async take(n) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new Error(`Invalid argument \`n\` for \`take\`: expected a non-negative integer, got ${String(n)}`);
    }
    this._open("take()");
    return this._run(n);
  }
  async first() {
    this._open("first()");
    const r = this._run(1);
    return r.length === 0 ? null : r[0];
  }
  async unique() {
    this._open("unique()");
    const r = this._run(2);
    if (r.length === 0) return null;
    if (r.length === 2) {
      throw new Error(`unique() query returned more than one result from table ${this.d.table}:\n [${r[0]._id}, ${r[1]._id}, ...]`);
    }
    return r[0];
  }
  async paginate(opts) {
    this._open("paginate()");
    if (!opts || typeof opts.numItems !== "number") throw new Error("paginate needs { numItems, cursor }");
    return fromBridge(h().paginate(JSON.stringify(this.d), opts.numItems, opts.cursor ?? null));
  }
  async *[Symbol.asyncIterator]() {
    this._open("iteration");
    for (const doc of this._run(null)) yield doc;
  }
}

function checkId(id, method) {
  if (typeof id !== "string") {
    throw new Error(`Invalid argument \`id\` for \`db.${method}\`, expected string but got '${typeof id}': ${String(id)}`);
  }
}

function checkTable(table, method) {
  if (table !== undefined && typeof table !== "string") {
    throw new Error(`Invalid argument \`tableName\` for \`db.${method}\`, expected string but got '${typeof table}': ${String(table)}`);
  }
}

function reader(system) {
  const get = async (a, b) => {
    const [table, id] = b !== undefined ? [a, b] : [undefined, a];
    checkTable(table, "get");
    checkId(id, "get");
    return fromBridge(h().get(table, id, system));
  };
  return {
    get,
    query: (table) => {
      if (typeof table !== "string") throw new Error(`Invalid argument \`table\` for \`db.query\`: expected a table name, got ${String(table)}`);
      if (table.startsWith("_") !== system) {
        throw new Error(`${system ? "User" : "System"} tables can only be accessed from db.${system ? "" : "system."}query().`);
      }
      return new Query(table, system);
    },
    normalizeId: (table, id) => {
      if (typeof table !== "string") throw new Error("Invalid argument `tableName` for `db.normalizeId`: expected a table name");
      if (typeof id !== "string") throw new Error("Invalid argument `id` for `db.normalizeId`: expected a string");
      if (table.startsWith("_") !== system) {
        throw new Error(`${system ? "User" : "System"} tables can only be accessed from db.${system ? "" : "system."}normalizeId().`);
      }
      return h().normalizeId(table, id);
    },
    table: (table) => ({
      get: (id) => get(table, id),
      query: () => new Query(table, system),
    }),
  };
}

function writer(readOnly) {
  const r = reader(false);
  const write = (what) => {
    if (readOnly) throw new Error(`db.${what} is not available in a query: queries are read-only`);
  };
  const value = (v, method, patch) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new Error(`Invalid argument \`value\` for \`db.${method}\`, expected object but got '${v === null ? "null" : Array.isArray(v) ? "array" : typeof v}': ${stringifyForError(v)}`);
    }
    return toBridge(v, patch);
  };
  const db = {
    ...r,
    system: reader(true),
    insert: async (table, v) => {
      write("insert");
      if (typeof table !== "string") throw new Error(`Invalid argument \`table\` for \`db.insert\`: expected a table name, got ${String(table)}`);
      if (table.startsWith("_")) throw new Error("System tables (prefixed with `_`) are read-only.");
      return h().insert(table, value(v, "insert", false));
    },
    patch: async (a, b, c) => {
      write("patch");
      const [table, id, v] = c !== undefined ? [a, b, c] : [undefined, a, b];
      checkTable(table, "patch");
      checkId(id, "patch");
      h().patch(table, id, value(v, "patch", true));
    },
    replace: async (a, b, c) => {
      write("replace");
      const [table, id, v] = c !== undefined ? [a, b, c] : [undefined, a, b];
      checkTable(table, "replace");
      checkId(id, "replace");
      h().replace(table, id, value(v, "replace", false));
    },
    delete: async (a, b) => {
      write("delete");
      const [table, id] = b !== undefined ? [a, b] : [undefined, a];
      checkTable(table, "delete");
      checkId(id, "delete");
      h().remove(table, id);
    },
  };
  db.table = (table) => ({
    ...r.table(table),
    insert: (value) => db.insert(table, value),
    patch: (id, value) => db.patch(table, id, value),
    replace: (id, value) => db.replace(table, id, value),
    delete: (id) => db.delete(table, id),
  });
  return db;
}

const unavailable = (what) => () => offline(what);

function makeCtx(kind) {
  const ctx = {
    db: writer(kind === "query"),
    auth: { getUserIdentity: async () => null },
    storage: {
      getUrl: unavailable("ctx.storage.getUrl (file URLs)"),
      generateUploadUrl: unavailable("ctx.storage.generateUploadUrl"),
      delete: unavailable("ctx.storage.delete"),
      getMetadata: unavailable("ctx.storage.getMetadata"),
      get: unavailable("ctx.storage.get"),
      store: unavailable("ctx.storage.store"),
    },
    scheduler: {
      runAfter: unavailable("ctx.scheduler.runAfter (scheduled functions)"),
      runAt: unavailable("ctx.scheduler.runAt (scheduled functions)"),
      cancel: unavailable("ctx.scheduler.cancel"),
    },
    runQuery: unavailable("ctx.runQuery"),
    runMutation: unavailable("ctx.runMutation"),
    runAction: unavailable("ctx.runAction"),
    vectorSearch: unavailable("ctx.vectorSearch"),
  };
  return ctx;
}

// ---- Drivers: what the Rust side calls ----

function describe(e) {
  if (e instanceof Error) return [String(e.message), typeof e.stack === "string" ? e.stack : null];
  return [`threw a non-Error value: ${stringifyForError(e)}`, null];
}

/**
 * One page of a migration, as `@convex-dev/migrations` (and convex-helpers'
 * `makeMigration`) run a batch in one mutation: `migrateOne(ctx, doc)` for
 * each document as the page read it, one after another (all at once with
 * `parallelize`); a returned object with keys becomes `ctx.db.patch(table,
 * doc._id, result)`.
 *
 * `docs` is the page, parsed (the Rust side parses its JSON); `tagged` lists the documents in
 * it that hold tagged values. `seeds` holds four words per document for
 * `Math.random()`. Calls in `skip` are not run (the Rust side already has
 * their error). `flags`: 1 = `parallelize`; 2 = stop the page at the first
 * throw.
 *
 * A call's own `ctx.db` writes go in a layer of their own (`begin`/`end`),
 * dropped if it throws. A returned patch of a call that did not use
 * `ctx.db` waits, and is applied with the others before anything next
 * reaches the host (or when the page ends): nothing can tell the
 * difference, and a page of such calls crosses into Rust once.
 *
 * Gives "" or the errors as JSON: [[index, message, stack], ...].
 */
const seed = globalThis.__seed;

export function runPage(migrateOne, table, docs, tagged, seeds, flags, skip) {
  const parallel = (flags & 1) !== 0;
  const stop = (flags & 2) !== 0;
  for (let t = 0; t < tagged.length; t++) docs[tagged[t]] = untag(docs[tagged[t]]);
  const ctx = makeCtx("mutation");
  const errors = [];
  const skipped = new Set(skip);
  let pendingIds = [];
  let pendingAt = [];
  let pendingTexts = [];
  let opened = -1;
  let current = -1;
  let stopped = false;
  const flush = () => {
    if (pendingAt.length === 0) return;
    // One string each: JSON texts never hold a raw newline.
    const failed = host.flush(table, pendingAt, JSON.stringify(pendingIds), pendingTexts.join("\n"));
    pendingAt = [];
    pendingIds = [];
    pendingTexts = [];
    if (failed) for (const [i, message] of JSON.parse(failed)) errors.push([i, message, null]);
  };
  const begin = (i) => {
    current = i;
    host.tick(i);
    seed(seeds, 4 * i);
  };
  const fail = (i, e) => {
    const [message, stack] = describe(e);
    errors.push([i, message, stack]);
    if (opened === i) {
      host.end(false);
      opened = -1;
    }
    if (stop) stopped = true;
  };
  const patchText = (v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new Error(`Invalid argument \`value\` for \`db.patch\`, expected object but got '${v === null ? "null" : Array.isArray(v) ? "array" : typeof v}': ${stringifyForError(v)}`);
    }
    return toBridge(v, true);
  };
  // The end of call `i`, which returned `next`.
  const done = (i, next) => {
    try {
      if (next && Object.keys(next).length > 0) {
        const id = docs[i]._id;
        if (opened === i || parallel) {
          h().patch(table, id, patchText(next));
        } else {
          pendingTexts.push(patchText(next));
          pendingAt.push(i);
          pendingIds.push(id);
        }
      }
    } catch (e) {
      fail(i, e);
      return;
    }
    if (opened === i) {
      host.end(true);
      opened = -1;
    }
  };
  const finish = () => {
    hook = null;
    flush();
    return errors.length === 0 ? "" : JSON.stringify(errors);
  };
  if (parallel) {
    // One transaction, every call at once: writes go straight into the
    // page's layer, which the Rust side drops if any call throws.
    hook = null;
    const all = Promise.all(
      docs.map(async (doc, i) => {
        if (skipped.has(i)) return;
        begin(i);
        try {
          done(i, await migrateOne(ctx, doc));
        } catch (e) {
          fail(i, e);
        }
      }),
    );
    return all.then(finish);
  }
  hook = () => {
    flush();
    if (opened !== current) {
      host.begin(current);
      opened = current;
    }
  };
  const step = (from) => {
    for (let i = from; i < docs.length && !stopped; i++) {
      if (skipped.has(i)) continue;
      begin(i);
      let r;
      try {
        r = migrateOne(ctx, docs[i]);
      } catch (e) {
        fail(i, e);
        continue;
      }
      if (r !== null && typeof r === "object" && typeof r.then === "function") {
        return Promise.resolve(r).then(
          (v) => {
            done(i, v);
            return step(i + 1);
          },
          (e) => {
            fail(i, e);
            return step(i + 1);
          },
        );
      }
      done(i, r);
    }
    return undefined;
  };
  const rest = step(0);
  return rest === undefined ? finish() : rest.then(finish);
}

/**
 * A whole registered function (a mutation or a query), run once with its
 * arguments (`args`, already parsed) as `npx convex run` runs it. `seeds`
 * holds the four words of `Math.random()`'s seed. Gives the return value
 * as bridge text ("null" for `undefined`, as a deployment returns it).
 */
export async function runFunction(registered, args, seeds) {
  const meta = registered.__convex;
  hook = null;
  host.tick(0);
  seed(seeds, 0);
  const ctx = makeCtx(meta.type);
  const result = await meta.handler(ctx, args);
  return result === undefined ? "null" : toBridge(result);
}

/** A registered function's kind and validators (`exportArgs`, `exportReturns`). */
export function functionMeta(registered) {
  const meta = registered && registered.__convex;
  if (!meta) return "";
  return JSON.stringify({ type: meta.type, visibility: meta.visibility, args: JSON.parse(registered.exportArgs()), returns: JSON.parse(registered.exportReturns()) });
}

/** The `customRange` of a migration, applied to its table's query. */
export function customRangeQuery(customRange, table) {
  const q = new Query(table, false);
  const out = customRange(q);
  if (!(out instanceof Query)) throw new Error("customRange must return the query it was given");
  return JSON.stringify(out.d);
}
