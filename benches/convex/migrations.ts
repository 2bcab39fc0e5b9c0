// The migrations `cargo bench --bench user_code` runs on the generated
// VideoAI snapshot, each beside the same change written in Rust.
import { Migrations } from "@convex-dev/migrations";
import { components } from "./_generated/api";
import type { DataModel } from "./_generated/dataModel";

export const migrations = new Migrations<DataModel>(components.migrations);

const DEPRECATED = [
  "thumbnailFileId",
  "thumbnailUrl",
  "title",
  "videoCdnUrl",
  "videoCdnUrlExpiresAt",
] as const;

// Document-only: the built-in cleanupVideoFields in fixed mode, as a
// migrateOne (remove the five deprecated fields, bump updatedAt).
export const cleanupVideoFields = migrations.define({
  table: "videos",
  migrateOne: (_ctx, video) => {
    if (DEPRECATED.some((f) => video[f] !== undefined)) {
      return {
        updatedAt: Date.now(),
        thumbnailFileId: undefined,
        thumbnailUrl: undefined,
        title: undefined,
        videoCdnUrl: undefined,
        videoCdnUrlExpiresAt: undefined,
      };
    }
  },
});

// One ctx.db.get per document: each credit transaction records its
// video's status.
export const copyVideoStatus = migrations.define({
  table: "creditTransactions",
  migrateOne: async (ctx, tx) => {
    if (tx.videoId === undefined) return;
    const video = await ctx.db.get(tx.videoId);
    return { videoStatus: video?.status ?? "deleted" };
  },
});
