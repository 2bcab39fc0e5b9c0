// Stand-in for `convex/_generated/dataModel`: types only; these names exist
// so that imports of them without `import type` still load.
export const Doc = undefined;
export const Id = undefined;
export const DataModel = undefined;
export const TableNames = undefined;
export const SystemTableNames = undefined;
