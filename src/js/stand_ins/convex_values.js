// Stand-in for the `convex/values` module: the validators (`v`), errors and
// value helpers Convex code imports, with the public shape of the real
// package's (kind, isOptional, fields, element, members, key/value,
// tableName, value, json, asOptional, and the object helpers), so code that
// builds, spreads or inspects validators works unchanged.

class BaseValidator {
  constructor(kind, isOptional, extra) {
    this.kind = kind;
    this.isOptional = isOptional;
    this.isConvexValidator = true;
    Object.assign(this, extra);
  }
  asOptional() {
    return this._with("optional");
  }
  _with(isOptional) {
    const copy = Object.create(Object.getPrototypeOf(this));
    Object.assign(copy, this);
    copy.isOptional = isOptional;
    return copy;
  }
  get json() {
    return validatorJson(this);
  }
}

class VObject extends BaseValidator {
  omit(...names) {
    const fields = { ...this.fields };
    for (const n of names) delete fields[n];
    return new VObject("object", this.isOptional, { fields });
  }
  pick(...names) {
    const fields = {};
    for (const n of names) if (n in this.fields) fields[n] = this.fields[n];
    return new VObject("object", this.isOptional, { fields });
  }
  partial() {
    const fields = {};
    for (const [k, f] of Object.entries(this.fields)) fields[k] = f.asOptional();
    return new VObject("object", this.isOptional, { fields });
  }
  extend(more) {
    const fields = { ...this.fields };
    for (const [k, f] of Object.entries(more)) fields[k] = asValidator(f);
    return new VObject("object", this.isOptional, { fields });
  }
}

function validatorJson(val) {
  switch (val.kind) {
    case "id":
      return { type: "id", tableName: val.tableName };
    case "literal":
      return { type: "literal", value: literalJson(val.value) };
    case "array":
      return { type: "array", value: validatorJson(val.element) };
    case "record":
      return { type: "record", keys: validatorJson(val.key), values: { fieldType: validatorJson(val.value), optional: false } };
    case "union":
      return { type: "union", value: val.members.map(validatorJson) };
    case "object": {
      const value = {};
      for (const [k, f] of Object.entries(val.fields)) value[k] = { fieldType: validatorJson(f), optional: f.isOptional === "optional" };
      return { type: "object", value };
    }
    case "float64":
      return { type: "number" };
    case "int64":
      return { type: "bigint" };
    default:
      return { type: val.kind };
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return out;
}

// A literal's value in Convex's JSON form, as the real package's
// `convexToJson` writes it: an Int64 as {"$integer"}, a float JSON cannot
// hold (NaN, ±Infinity, -0) as {"$float"}, both the base64 of 8
// little-endian bytes.
function literalJson(value) {
  const view = new DataView(new ArrayBuffer(8));
  if (typeof value === "bigint") {
    if (value < -(2n ** 63n) || value >= 2n ** 63n) {
      throw new Error(`BigInt ${value} does not fit into a 64-bit signed integer.`);
    }
    view.setBigInt64(0, value, true);
    return { $integer: base64(new Uint8Array(view.buffer)) };
  }
  if (typeof value === "number" && (!Number.isFinite(value) || Object.is(value, -0))) {
    view.setFloat64(0, value, true);
    return { $float: base64(new Uint8Array(view.buffer)) };
  }
  return value;
}

function asValidator(x) {
  if (x && x.isConvexValidator) return x;
  if (x && typeof x === "object") return v.object(x);
  throw new Error(`${String(x)} is not a validator`);
}

export const v = {
  id: (tableName) => new BaseValidator("id", "required", { tableName }),
  null: () => new BaseValidator("null", "required"),
  number: () => new BaseValidator("float64", "required"),
  float64: () => new BaseValidator("float64", "required"),
  bigint: () => new BaseValidator("int64", "required"),
  int64: () => new BaseValidator("int64", "required"),
  boolean: () => new BaseValidator("boolean", "required"),
  string: () => new BaseValidator("string", "required"),
  bytes: () => new BaseValidator("bytes", "required"),
  literal: (value) => {
    if (typeof value !== "string" && typeof value !== "boolean" && typeof value !== "number" && typeof value !== "bigint") {
      throw new Error("v.literal(value) must be a string, number, or boolean");
    }
    return new BaseValidator("literal", "required", { value });
  },
  array: (element) => new BaseValidator("array", "required", { element }),
  object: (fields) => {
    const checked = {};
    for (const [k, f] of Object.entries(fields)) checked[k] = asValidator(f);
    return new VObject("object", "required", { fields: checked });
  },
  record: (key, value) => {
    if (key === undefined || value === undefined) throw new Error(`A validator is undefined for ${key === undefined ? "key" : "value"} in v.record(). This is often caused by circular imports. See https://docs.convex.dev/error#undefined-validator for details.`);
    if (key.isOptional === "optional") throw new Error("Record validator cannot have optional keys");
    if (value.isOptional === "optional") throw new Error("Record validator cannot have optional values");
    if (!key.isConvexValidator || !value.isConvexValidator) throw new Error("Key and value of v.record() must be validators");
    return new BaseValidator("record", "required", { key, value });
  },
  union: (...members) => new BaseValidator("union", "required", { members }),
  any: () => new BaseValidator("any", "required"),
  optional: (inner) => asValidator(inner).asOptional(),
  nullable: (inner) => v.union(inner, v.null()),
};

export function asObjectValidator(x) {
  return asValidator(x);
}

export function isValidator(x) {
  return !!(x && x.isConvexValidator);
}

export class ConvexError extends Error {
  constructor(data) {
    super(typeof data === "string" ? data : JSON.stringify(data));
    this.name = "ConvexError";
    this.data = data;
  }
}

export { compareValues } from "convex-snapshot:runtime";
