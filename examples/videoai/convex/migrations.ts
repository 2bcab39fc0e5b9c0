// Migrations written for @convex-dev/migrations, exactly as they would be
// deployed. Run them offline with:
//
//   convex-snapshot migrate fixtures/videoai-sample.zip -o out.zip \
//     --functions examples/videoai/convex migrations:all
import { Migrations } from "@convex-dev/migrations";
import { components, internal } from "./_generated/api";
import type { DataModel } from "./_generated/dataModel";

export const migrations = new Migrations<DataModel>(components.migrations);

// A default value: every video gets a title, from its prompt.
export const setDefaultTitle = migrations.define({
  table: "videos",
  migrateOne: (_ctx, video) => {
    if (video.title === undefined || video.title === null) {
      return { title: video.prompt.slice(0, 40) };
    }
  },
});

// Removing fields: a field set to undefined is deleted.
export const dropCdnCache = migrations.define({
  table: "videos",
  migrateOne: () => ({ videoCdnUrl: undefined, videoCdnUrlExpiresAt: undefined }),
});

// A lookup through an index of schema.ts: each profile counts its videos.
export const countVideos = migrations.define({
  table: "userProfiles",
  migrateOne: async (ctx, profile) => {
    const videos = await ctx.db
      .query("videos")
      .withIndex("by_clerk_id", (q) => q.eq("clerkId", profile.clerkId))
      .collect();
    return { videoCount: videos.length };
  },
});

// Denormalization through ctx.db.get: a transaction records its video's
// status, or "deleted" when the video is gone.
export const copyVideoStatus = migrations.define({
  table: "creditTransactions",
  migrateOne: async (ctx, tx) => {
    if (tx.videoId === undefined) return;
    const video = await ctx.db.get(tx.videoId);
    return { videoStatus: video?.status ?? "deleted" };
  },
});

// A runner: the four above, in order, each on the previous one's result.
export const all = migrations.runner([
  internal.migrations.setDefaultTitle,
  internal.migrations.dropCdnCache,
  internal.migrations.countVideos,
  internal.migrations.copyVideoStatus,
]);
