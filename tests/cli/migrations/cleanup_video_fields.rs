//! `cleanupVideoFields`: the original's counting tests and no-op patch, and
//! fixed mode's real removal.

use serde_json::{Value as Json, json};

use super::*;

fn videos() -> Table {
    table(
        "videos",
        VIDEOS,
        &[
            // 0: every deprecated field, truthy.
            json!({"model": "m", "title": "Surf dog", "thumbnailUrl": "https://t/1.jpg", "thumbnailFileId": "kg2b",
                   "videoCdnUrl": "https://cdn/1.mp4", "videoCdnUrlExpiresAt": 1_753_653_600_000.0, "updatedAt": 5.0}),
            // 1: falsy values: title "" still counts in the original; the others do not.
            json!({"model": "m", "title": "", "thumbnailUrl": "", "videoCdnUrl": "", "videoCdnUrlExpiresAt": 0.0, "updatedAt": 5.0}),
            // 2: title null, thumbnail id only.
            json!({"model": "m", "title": null, "thumbnailFileId": "kg2c", "updatedAt": 5.0}),
            // 3: nothing deprecated.
            json!({"model": "m", "updatedAt": 5.0}),
        ],
    )
}

#[test]
fn original_counts_by_truthiness_and_removes_nothing() {
    let (_d, m) = run_on(&[videos()], &["cleanupVideoFields", "--mode", "original"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "thumbnailFieldsRemoved": 2, "titleFieldsRemoved": 3,
                "cdnFieldsRemoved": 1, "errors": 0})
    );
    let docs = m.docs("videos");
    let input = videos();
    for (i, d) in docs.iter().enumerate() {
        let before: Json = serde_json::from_str(&input.docs[i]).unwrap();
        let mut expect = before.clone();
        if i < 3 {
            expect["updatedAt"] = json!(NOW_F);
        }
        assert_eq!(d, &expect, "video {i}: only updatedAt changes");
    }
    assert_eq!(
        m.migration(0)["tables"],
        json!({"videos": {"inserted": 0, "updated": 3, "deleted": 0}})
    );
    // A re-run counts the same videos again.
    let again = migrate(&m.out, &["cleanupVideoFields", "--mode", "original"]);
    assert_eq!(again.result(0)["titleFieldsRemoved"], json!(3));
}

#[test]
fn fixed_removes_every_present_key_and_is_idempotent() {
    let (_d, m) = run_on(&[videos()], &["cleanupVideoFields"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "thumbnailFieldsRemoved": 3, "titleFieldsRemoved": 3,
                "cdnFieldsRemoved": 2, "errors": 0})
    );
    let docs = m.docs("videos");
    for d in &docs[..3] {
        assert_eq!(body(d), json!({"model": "m", "updatedAt": NOW_F}));
    }
    // The untouched video keeps its exact bytes.
    assert_eq!(m.raw("videos").lines().nth(3).unwrap(), videos().docs[3]);
    assert_valid(&m.out);

    let again = migrate(&m.out, &["cleanupVideoFields"]);
    assert_eq!(
        again.result(0),
        &json!({"success": true, "thumbnailFieldsRemoved": 0, "titleFieldsRemoved": 0,
                "cdnFieldsRemoved": 0, "errors": 0})
    );
    assert_eq!(again.migration(0)["tables"], json!({}));
    assert_eq!(again.entries, m.entries);
}

#[test]
fn missing_videos_table_is_zero_work() {
    let other = table("userProfiles", 10001, &[json!({"clerkId": "u"})]);
    let (_d, m) = run_on(&[other], &["cleanupVideoFields"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(m.result(0)["thumbnailFieldsRemoved"], json!(0));
    assert_eq!(m.raw("videos"), "");
}
