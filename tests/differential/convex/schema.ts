// Only the indexes the transcribed functions read; with schemaValidation
// off, as the differential test needs (every value type in every field).
import { defineSchema, defineTable } from "convex/server";

export default defineSchema(
  {
    videos: defineTable({}).index("by_status", ["status"]),
    modelParameters: defineTable({})
      .index("by_model_id", ["modelId"])
      .index("by_video_id", ["videoId"]),
  },
  { schemaValidation: false },
);
