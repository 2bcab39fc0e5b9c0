//! `analyzeStorageDistribution`: completed videos only, R2 before Convex
//! storage, the extra counters, and no archive needed.

use serde_json::json;

use super::*;

#[test]
fn counts_completed_videos_by_store_without_writing() {
    let videos = table(
        "videos",
        VIDEOS,
        &[
            json!({"status": "completed", "r2FileKey": "videos/a.mp4", "convexFileId": "kg2a"}),
            json!({"status": "completed", "r2FileKey": "", "convexFileId": "kg2b"}),
            json!({"status": "completed"}),
            json!({"status": "completed", "r2FileKey": null, "convexFileId": ""}),
            json!({"status": "failed", "r2FileKey": "videos/b.mp4"}),
            json!({"status": "pending"}),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let input = snapshot(dir.path(), &[videos]);
    for mode in ["fixed", "original"] {
        let r = run(&[
            "migrate",
            input.to_str().unwrap(),
            "analyzeStorageDistribution",
            "--mode",
            mode,
            "--json",
            "-q",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            report["migrations"][0]["result"],
            json!({"r2StorageVideos": 1, "convexStorageVideos": 1, "totalVideos": 4,
                   "neitherStorageVideos": 2, "allVideos": 6})
        );
        assert_eq!(report["output"], serde_json::Value::Null);
    }
    assert_eq!(files_in(dir.path()), ["in.zip"]);
}

#[test]
fn a_writing_migration_needs_an_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = snapshot(
        dir.path(),
        &[table("videos", VIDEOS, &[json!({"status": "completed"})])],
    );
    let r = run(&["migrate", input.to_str().unwrap(), "cleanupVideoFields"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("-o OUT.zip is required"), "{}", r.stderr);
    let r = run(&[
        "migrate",
        input.to_str().unwrap(),
        "cleanupVideoFields",
        "--dry-run",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(files_in(dir.path()), ["in.zip"]);
}
