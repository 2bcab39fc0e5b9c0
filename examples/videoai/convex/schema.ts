// The part of the VideoAI app's schema these migrations rely on: the
// tables they read and the indexes they query. (A real schema.ts lists
// every field; convex-snapshot reads the indexes from it.)
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  videos: defineTable({
    clerkId: v.string(),
    prompt: v.string(),
    status: v.string(),
    title: v.optional(v.union(v.string(), v.null())),
  })
    .index("by_clerkId", ["clerkId"])
    .index("by_status", ["status"]),
  userProfiles: defineTable({
    clerkId: v.string(),
    credits: v.number(),
  }).index("by_clerkId", ["clerkId"]),
  creditTransactions: defineTable({
    clerkId: v.string(),
    amount: v.number(),
    videoId: v.optional(v.id("videos")),
  }).index("by_clerkId", ["clerkId"]),
});
