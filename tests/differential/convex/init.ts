// Our TypeScript transcription of the app's `init` (an internalMutation, the
// default export), written from our notes on the app, for the differential
// test against the built-in `init --mode original`.
import { internalMutation } from "./_generated/server";
import { definitionRow } from "./modelData";

const CONFIGURATIONS = [
  ["profit_margin", "business", "Profit Margin", "Profit margin multiplier (e.g., 1.32 = 32% markup)", 1.32, "number", 1.0, 2.0],
  ["credits_per_dollar", "business", "Credits Per Dollar", "Number of credits equivalent to $1 USD", 50, "number", 1, 1000],
  ["free_tier_credits", "business", "Free Tier Credits", "Number of credits given to new users", 10, "number", 0, 1000],
  ["quality_multipliers", "pricing", "Quality Multipliers", "Cost multipliers for different quality tiers", { standard: 1.0, high: 1.2, ultra: 1.5 }, "object"],
  ["enable_subscriptions", "features", "Enable Subscriptions", "Enable subscription plans for users", true, "boolean"],
  ["enable_public_videos", "features", "Enable Public Videos", "Allow users to make videos public", true, "boolean"],
  ["enable_video_analytics", "features", "Enable Video Analytics", "Track video views, downloads, and shares", true, "boolean"],
  ["default_model", "models", "Default Model", "Default model for new video generations", "google/veo-3", "string"],
  ["available_models", "models", "Available Models", "List of models available for video generation", ["google/veo-3", "luma/ray-2-540p", "stability-ai/stable-video-diffusion"], "array"],
  ["max_video_duration", "limits", "Maximum Video Duration", "Maximum video duration in seconds", 60, "number", 1, 300],
  ["max_prompt_length", "limits", "Maximum Prompt Length", "Maximum number of characters in video prompts", 1000, "number", 1, 5000],
] as const;

const HASH = "2b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8";

const MODELS = [
  { modelId: "google/veo-3", name: "Google Veo-3", description: "Google's latest video generation model with high quality and fast generation", modelType: "google_veo", costPerSecond: 0.02, fixedDuration: 5, isDefault: true, isPremium: false },
  { modelId: "luma/ray-2-540p", name: "Luma Ray Flash 2-540p", description: "Fast video generation with good quality at 540p resolution", modelType: "luma_ray", costPerSecond: 0.015, isDefault: false, isPremium: false },
  { modelId: "stability-ai/stable-video-diffusion", name: "Stable Video Diffusion", description: "Stable Diffusion's video generation model with high quality output", modelType: "stability_ai", costPerSecond: 0.025, isDefault: false, isPremium: true },
];

const PACKAGES = [
  ["small", "Small", "Perfect for trying out video generation", 999, 100, false],
  ["medium", "Medium", "Great for regular video creation", 1999, 250, true],
  ["large", "Large", "Best value for frequent users", 3499, 500, false],
  ["xlarge", "X-Large", "Maximum value for power users", 5999, 1000, false],
] as const;

const PLANS = [
  ["starter", "Starter", "Perfect for getting started with video generation", 999, 50, false, ["HD video quality", "Standard processing", "Basic support"]],
  ["pro", "Pro", "For creators who need more power and features", 2499, 150, true, ["Ultra HD video quality", "Priority processing", "Advanced analytics", "Priority support"]],
  ["max", "Max", "Maximum features for professional creators", 4999, 350, false, ["Ultra HD video quality", "Highest priority processing", "Advanced analytics", "Custom model access", "Dedicated support"]],
] as const;

export default internalMutation({
  args: {},
  handler: async (ctx) => {
    const now = Date.now();
    const existing = await ctx.db.query("configurations").first();
    if (existing) {
      console.log("Database already initialized, skipping initialization");
      return;
    }
    for (const [key, category, name, description, value, dataType, minValue, maxValue] of CONFIGURATIONS) {
      const row: any = { key, category, name, description, value, dataType, isActive: true, isEditable: true, createdAt: now, updatedAt: now };
      if (minValue !== undefined) {
        row.minValue = minValue;
        row.maxValue = maxValue;
      }
      await ctx.db.insert("configurations", row);
    }
    for (const m of MODELS) {
      await ctx.db.insert("models", { ...m, replicateModelId: `${m.modelId}:${HASH}`, apiProvider: "replicate", isActive: true, createdAt: now, updatedAt: now });
    }
    for (const [packageId, name, description, price, credits, isPopular] of PACKAGES) {
      await ctx.db.insert("creditPackages", { packageId, name, description, price, currency: "usd", credits, isActive: true, isPopular, createdAt: now, updatedAt: now });
    }
    for (const [planId, name, description, price, monthlyCredits, isPopular, features] of PLANS) {
      await ctx.db.insert("subscriptionPlans", { planId, name, description, price, currency: "usd", monthlyCredits, features: [...features], isActive: true, isPopular, createdAt: now, updatedAt: now });
    }
    const models = await ctx.db.query("models").collect();
    for (const model of models) {
      await ctx.db.insert("modelParameters", definitionRow(model, now));
    }
  },
});
