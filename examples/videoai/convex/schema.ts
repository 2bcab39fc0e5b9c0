// The VideoAI app's schema: ten tables, their fields and indexes.
// `convex-snapshot validate SNAPSHOT --schema examples/videoai/convex`
// checks a snapshot against it; the migrations next to it query its indexes.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

// Shared validators, as real schemas write them.
const timestamps = {
  createdAt: v.number(),
  updatedAt: v.number(),
};

const videoStatus = v.union(
  v.literal("pending"),
  v.literal("processing"),
  v.literal("completed"),
  v.literal("failed"),
  v.literal("canceled"),
);

const generationMetrics = v.object({
  queueTime: v.number(),
  processingTime: v.number(),
  downloadTime: v.optional(v.number()),
  totalTime: v.number(),
});

export default defineSchema({
  userProfiles: defineTable({
    clerkId: v.string(),
    credits: v.number(),
    totalCreditsUsed: v.number(),
    ...timestamps,
  }).index("by_clerk_id", ["clerkId"]),

  videos: defineTable({
    clerkId: v.string(),
    prompt: v.string(),
    description: v.optional(v.string()),
    tags: v.optional(v.array(v.string())),
    model: v.string(),
    quality: v.union(v.literal("standard"), v.literal("high"), v.literal("ultra")),
    duration: v.string(),
    generationSettings: v.optional(v.any()),
    status: videoStatus,
    replicateJobId: v.optional(v.string()),
    replicateWebhookId: v.optional(v.string()),
    videoUrl: v.optional(v.string()),
    convexFileId: v.optional(v.id("_storage")), // Legacy Convex storage
    r2FileKey: v.optional(v.string()),
    videoCdnUrl: v.optional(v.string()), // deprecated
    videoCdnUrlExpiresAt: v.optional(v.number()), // deprecated
    fileSize: v.optional(v.number()),
    actualDuration: v.optional(v.number()),
    dimensions: v.optional(v.object({ width: v.number(), height: v.number() })),
    format: v.optional(v.string()),
    codec: v.optional(v.string()),
    bitrate: v.optional(v.number()),
    viewCount: v.optional(v.number()),
    lastViewedAt: v.optional(v.number()),
    downloadCount: v.optional(v.number()),
    shareCount: v.optional(v.number()),
    errorMessage: v.optional(v.string()),
    processingStartedAt: v.optional(v.number()),
    processingCompletedAt: v.optional(v.number()),
    estimatedCompletionTime: v.optional(v.number()),
    processingDuration: v.optional(v.number()),
    generationMetrics: v.optional(generationMetrics),
    creditsCost: v.number(),
    isPublic: v.optional(v.boolean()),
    isFavorite: v.optional(v.boolean()),
    ...timestamps,
  })
    .index("by_clerk_id", ["clerkId"])
    .index("by_status", ["status"])
    .index("by_clerk_id_and_status", ["clerkId", "status"])
    .index("by_replicate_job_id", ["replicateJobId"]),

  creditTransactions: defineTable({
    clerkId: v.string(),
    type: v.union(
      v.literal("purchase"),
      v.literal("subscription_grant"),
      v.literal("video_generation"),
      v.literal("refund"),
      v.literal("bonus"),
    ),
    amount: v.number(),
    description: v.string(),
    videoId: v.optional(v.id("videos")),
    stripePaymentIntentId: v.optional(v.string()),
    subscriptionId: v.optional(v.string()),
    balanceBefore: v.number(),
    balanceAfter: v.number(),
    createdAt: v.number(),
  }).index("by_clerk_id", ["clerkId"]),

  creditPackages: defineTable({
    packageId: v.string(),
    name: v.string(),
    description: v.optional(v.string()),
    price: v.number(),
    currency: v.string(),
    credits: v.number(),
    isActive: v.boolean(),
    isPopular: v.optional(v.boolean()),
    ...timestamps,
  })
    .index("by_package_id", ["packageId"])
    .index("by_active", ["isActive"]),

  subscriptionPlans: defineTable({
    planId: v.string(),
    name: v.string(),
    description: v.optional(v.string()),
    price: v.number(),
    currency: v.string(),
    monthlyCredits: v.number(),
    features: v.array(v.string()),
    isActive: v.boolean(),
    isPopular: v.optional(v.boolean()),
    ...timestamps,
  })
    .index("by_plan_id", ["planId"])
    .index("by_active", ["isActive"]),

  subscriptions: defineTable({
    clerkId: v.string(),
    stripeSubscriptionId: v.string(),
    stripeCustomerId: v.string(),
    stripePriceId: v.string(),
    tier: v.string(),
    status: v.union(
      v.literal("active"),
      v.literal("canceled"),
      v.literal("past_due"),
      v.literal("trialing"),
      v.literal("incomplete"),
      v.literal("incomplete_expired"),
      v.literal("unpaid"),
    ),
    currentPeriodStart: v.number(),
    currentPeriodEnd: v.number(),
    cancelAtPeriodEnd: v.boolean(),
    canceledAt: v.optional(v.number()),
    monthlyCredits: v.number(),
    creditsGrantedAt: v.optional(v.number()),
    ...timestamps,
  })
    .index("by_clerk_id", ["clerkId"])
    .index("by_stripe_subscription_id", ["stripeSubscriptionId"])
    .index("by_stripe_customer_id", ["stripeCustomerId"])
    .index("by_status", ["status"])
    .index("by_current_period_end", ["currentPeriodEnd"]),

  configurations: defineTable({
    key: v.string(),
    category: v.string(),
    name: v.string(),
    description: v.optional(v.string()),
    value: v.union(v.string(), v.number(), v.boolean(), v.array(v.string()), v.array(v.number()), v.any()),
    dataType: v.union(
      v.literal("string"),
      v.literal("number"),
      v.literal("boolean"),
      v.literal("array"),
      v.literal("object"),
    ),
    isActive: v.boolean(),
    isEditable: v.boolean(),
    minValue: v.optional(v.number()),
    maxValue: v.optional(v.number()),
    allowedValues: v.optional(v.array(v.string())),
    ...timestamps,
  })
    .index("by_key", ["key"])
    .index("by_category", ["category"])
    .index("by_active", ["isActive"])
    .index("by_category_and_active", ["category", "isActive"]),

  models: defineTable({
    modelId: v.string(),
    name: v.string(),
    description: v.string(),
    replicateModelId: v.string(),
    costPerSecond: v.number(),
    fixedDuration: v.optional(v.number()),
    parameterMappings: v.optional(v.any()),
    modelType: v.string(),
    apiProvider: v.string(),
    isActive: v.boolean(),
    isDefault: v.boolean(),
    isPremium: v.boolean(),
    ...timestamps,
  })
    .index("by_model_id", ["modelId"])
    .index("by_active", ["isActive"])
    .index("by_default", ["isDefault"])
    .index("by_model_type", ["modelType"])
    .index("by_api_provider", ["apiProvider"])
    .index("by_active_type", ["isActive", "modelType"])
    .index("by_active_premium", ["isActive", "isPremium"]),

  // Transitioning: old per-video rows and new per-model rows in one table.
  modelParameters: defineTable({
    modelId: v.string(),
    createdAt: v.number(),
    videoId: v.optional(v.id("videos")),
    parameters: v.optional(v.any()),
    parameterMapping: v.optional(v.any()),
    parameterDefinitions: v.optional(v.any()),
    constraints: v.optional(v.any()),
    mappingRules: v.optional(v.any()),
    parameterCategories: v.optional(v.array(v.string())),
    updatedAt: v.optional(v.number()),
  })
    .index("by_model_id", ["modelId"])
    .index("by_video_id", ["videoId"]),

  videoParameters: defineTable({
    videoId: v.id("videos"),
    modelId: v.string(),
    parameters: v.any(),
    parameterMapping: v.optional(v.any()),
    createdAt: v.number(),
  })
    .index("by_video_id", ["videoId"])
    .index("by_model_id", ["modelId"]),
});
