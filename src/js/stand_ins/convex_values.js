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
      return { type: "literal", value: val.value };
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
  literal: (value) => new BaseValidator("literal", "required", { value }),
  array: (element) => new BaseValidator("array", "required", { element }),
  object: (fields) => {
    const checked = {};
    for (const [k, f] of Object.entries(fields)) checked[k] = asValidator(f);
    return new VObject("object", "required", { fields: checked });
  },
  record: (key, value) => new BaseValidator("record", "required", { key, value }),
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
