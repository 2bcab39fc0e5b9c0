// Our TypeScript transcription of the app's five migrations
// (`convex/migrations.ts`), written from our notes on the app, for the
// differential test against the built-ins' `--mode original`.
import { internalMutation, internalQuery } from "./_generated/server";
import { definitionRow } from "./modelData";

export const migrateVideoParameters = internalMutation({
  args: {},
  handler: async (ctx) => {
    let parametersCreated = 0;
    let alreadyExists = 0;
    let errors = 0;
    try {
      const videos = await ctx.db.query("videos").collect();
      for (const video of videos) {
        try {
          const existing = await ctx.db
            .query("modelParameters")
            .withIndex("by_video_id", (q) => q.eq("videoId", video._id))
            .first();
          if (existing) {
            alreadyExists++;
            continue;
          }
          const frontendParams: any = {
            prompt: video.prompt,
            duration: video.duration,
            quality: video.quality,
            ...(video.generationSettings || {}),
          };
          const apiParameters: any = { prompt: video.prompt };
          if (video.model.includes("google/veo")) {
            apiParameters.resolution = frontendParams.resolution || "720p";
            if (frontendParams.startImageUrl) {
              apiParameters.image = frontendParams.startImageUrl;
            }
            apiParameters.seed = Math.floor(Math.random() * 1000000);
          } else if (video.model.includes("seedance")) {
            apiParameters.duration = parseInt(video.duration);
            apiParameters.aspect_ratio = frontendParams.aspectRatio || "16:9";
            apiParameters.resolution = frontendParams.resolution || "480p";
            apiParameters.seed = Math.floor(Math.random() * 1000000);
            if (frontendParams.cameraPosition) {
              apiParameters.camera_position = frontendParams.cameraPosition;
            }
          } else {
            apiParameters.duration = parseInt(video.duration);
            apiParameters.resolution = frontendParams.resolution || "768p";
          }
          await ctx.db.insert("modelParameters", {
            videoId: video._id,
            modelId: video.model,
            parameters: apiParameters,
            parameterMapping: {
              frontendParameters: frontendParams,
              mappingLog: ["Parameters mapped for " + video.model],
            },
            createdAt: video.createdAt,
          });
          parametersCreated++;
        } catch (error) {
          console.error(`Error migrating video ${video._id}:`, error);
          errors++;
        }
      }
      return { success: true, parametersCreated, alreadyExists, errors };
    } catch (error) {
      console.error("Migration failed:", error);
      return { success: false, parametersCreated, alreadyExists, errors: errors + 1 };
    }
  },
});

export const cleanupVideoFields = internalMutation({
  args: {},
  handler: async (ctx) => {
    let thumbnailFieldsRemoved = 0;
    let titleFieldsRemoved = 0;
    let cdnFieldsRemoved = 0;
    let errors = 0;
    try {
      const videos = await ctx.db.query("videos").collect();
      for (const video of videos) {
        try {
          let needsUpdate = false;
          if (video.thumbnailFileId || video.thumbnailUrl) {
            thumbnailFieldsRemoved++;
            needsUpdate = true;
          }
          if (video.title !== undefined) {
            titleFieldsRemoved++;
            needsUpdate = true;
          }
          if (video.videoCdnUrl || video.videoCdnUrlExpiresAt) {
            cdnFieldsRemoved++;
            needsUpdate = true;
          }
          if (needsUpdate) {
            // Remove the old fields by patching without them
            await ctx.db.patch(video._id, { updatedAt: Date.now() });
          }
        } catch (error) {
          errors++;
        }
      }
      return { success: true, thumbnailFieldsRemoved, titleFieldsRemoved, cdnFieldsRemoved, errors };
    } catch (error) {
      return {
        success: false,
        thumbnailFieldsRemoved,
        titleFieldsRemoved,
        cdnFieldsRemoved,
        errors: errors + 1,
      };
    }
  },
});

export const migrateParameterStructure = internalMutation({
  args: {},
  handler: async (ctx) => {
    let migratedRecords = 0;
    let errors = 0;
    try {
      const rows = await ctx.db.query("modelParameters").collect();
      const hasOldStructure = rows.length > 0 && rows.some((r: any) => r.videoId && r.parameters);
      if (!hasOldStructure) {
        console.log("No old structure found to migrate");
        return { success: true, migratedRecords: 0, errors: 0 };
      }
      for (const row of rows as any[]) {
        try {
          if (row.videoId && row.parameters) {
            await ctx.db.insert("videoParameters", {
              videoId: row.videoId,
              modelId: row.modelId,
              parameters: row.parameters,
              parameterMapping: row.parameterMapping,
              createdAt: row.createdAt,
            });
            migratedRecords++;
          }
          await ctx.db.delete(row._id);
        } catch (error) {
          errors++;
        }
      }
      return { success: true, migratedRecords, errors };
    } catch (error) {
      return { success: false, migratedRecords, errors: errors + 1 };
    }
  },
});

export const analyzeStorageDistribution = internalQuery({
  args: {},
  handler: async (ctx) => {
    const videos = await ctx.db
      .query("videos")
      .withIndex("by_status", (q) => q.eq("status", "completed"))
      .collect();
    let r2StorageVideos = 0;
    let convexStorageVideos = 0;
    for (const video of videos) {
      if (video.r2FileKey) {
        r2StorageVideos++;
      } else if (video.convexFileId) {
        convexStorageVideos++;
      }
    }
    return { r2StorageVideos, convexStorageVideos, totalVideos: videos.length };
  },
});

export const ensureModelParametersPopulated = internalMutation({
  args: {},
  handler: async (ctx) => {
    let modelsProcessed = 0;
    let parametersCreated = 0;
    let errors = 0;
    try {
      const now = Date.now();
      const models = await ctx.db.query("models").collect();
      const existingParams = await ctx.db.query("modelParameters").collect();
      const existingModelIds = new Set(existingParams.map((p: any) => p.modelId));
      const modelsNeedingParams = models.filter((m: any) => !existingModelIds.has(m.modelId));
      for (const model of modelsNeedingParams) {
        try {
          await ctx.db.insert("modelParameters", definitionRow(model, now));
          parametersCreated++;
        } catch (error) {
          errors++;
        }
        modelsProcessed++;
      }
      return { success: true, modelsProcessed, parametersCreated, errors };
    } catch (error) {
      return { success: false, modelsProcessed, parametersCreated, errors: errors + 1 };
    }
  },
});
