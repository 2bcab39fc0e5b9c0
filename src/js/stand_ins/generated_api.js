// Stand-in for `convex/_generated/api`, as `npx convex codegen` writes it.
import { anyApi, componentsGeneric } from "convex/server";
export const api = anyApi;
export const internal = anyApi;
export const components = componentsGeneric();
