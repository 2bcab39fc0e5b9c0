//! `migrateVideoParameters`: branches by model substring, JS truthiness and
//! `parseInt`, the skip check per mode, per-document errors.

use serde_json::{Value as Json, json};

use super::*;
use convex_snapshot::migrations::migrate_video_parameters::seed_for;

fn video(model: &str, duration: &str, settings: Json) -> Json {
    let mut v = json!({
        "clerkId": "user_1", "prompt": "a fox", "model": model, "quality": "standard",
        "duration": duration, "status": "completed", "creditsCost": 7.0,
        "createdAt": 1_754_000_000_123.0, "updatedAt": 1_754_000_000_123.0,
    });
    if !settings.is_null() {
        v["generationSettings"] = settings;
    }
    v
}

/// The inserted row for video `i` of the videos table.
fn row_for(m: &Migrated, i: u8) -> Json {
    let vid = row_id(VIDEOS, i);
    m.docs("modelParameters")
        .into_iter()
        .find(|d| d["videoId"] == json!(vid))
        .unwrap_or_else(|| panic!("no row for video {i}:\n{}", m.raw("modelParameters")))
}

fn seed(i: u8) -> f64 {
    seed_for(&row_id(VIDEOS, i))
}

#[test]
fn each_model_branch_builds_its_parameters() {
    let videos = table(
        "videos",
        VIDEOS,
        &[
            video(
                "google/veo-3-fast",
                "8",
                json!({"resolution": "1080p", "startImageUrl": "https://img/1.png", "seed": 7.0}),
            ),
            video(
                "bytedance/seedance-1-pro",
                "5",
                json!({"aspectRatio": "9:16", "cameraPosition": "fixed"}),
            ),
            video("minimax/hailuo-02", "6", Json::Null),
            video("luma/ray-2-720p", "5", json!({"resolution": "720p"})),
            video("Google/Veo-3", "5", Json::Null),
        ],
    );
    let (_d, m) = run_on(&[videos], &["migrateVideoParameters"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "parametersCreated": 5, "alreadyExists": 0, "errors": 0})
    );

    let veo = row_for(&m, 0);
    assert_eq!(
        veo["parameters"],
        json!({"prompt": "a fox", "resolution": "1080p", "image": "https://img/1.png", "seed": seed(0)}),
        "veo: no duration, the form's seed ignored"
    );
    assert_eq!(
        veo["parameterMapping"],
        json!({
            "frontendParameters": {"prompt": "a fox", "duration": "8", "quality": "standard",
                "resolution": "1080p", "startImageUrl": "https://img/1.png", "seed": 7.0},
            "mappingLog": ["Parameters mapped for google/veo-3-fast"],
        })
    );
    assert_eq!(veo["modelId"], json!("google/veo-3-fast"));
    assert_eq!(veo["createdAt"], json!(1_754_000_000_123.0));
    assert!(veo.get("updatedAt").is_none() && veo.get("parameterDefinitions").is_none());

    assert_eq!(
        row_for(&m, 1)["parameters"],
        json!({"prompt": "a fox", "duration": 5.0, "aspect_ratio": "9:16", "resolution": "480p",
               "seed": seed(1), "camera_position": "fixed"})
    );
    assert_eq!(
        row_for(&m, 2)["parameters"],
        json!({"prompt": "a fox", "duration": 6.0, "resolution": "768p"}),
        "hailuo: no seed"
    );
    assert_eq!(
        row_for(&m, 3)["parameters"],
        json!({"prompt": "a fox", "duration": 5.0, "resolution": "720p"}),
        "luma falls into the hailuo branch"
    );
    assert_eq!(
        row_for(&m, 4)["parameters"],
        json!({"prompt": "a fox", "duration": 5.0, "resolution": "768p"}),
        "the substring match is case-sensitive"
    );
    // Numbers the migration creates are Float64 literals.
    let raw = m.raw("modelParameters");
    assert!(raw.contains("\"duration\":6.0"), "{raw}");
    assert!(raw.contains(&format!("\"seed\":{:.1}", seed(1))), "{raw}");
    assert_valid(&m.out);
}

#[test]
fn new_rows_get_valid_ids_and_increasing_creation_times() {
    // Rows in the file out of _creationTime order: inserts follow
    // (_creationTime, _id) order, not file order.
    let videos = table(
        "videos",
        VIDEOS,
        &[
            json!({"_creationTime": 30.5, "model": "minimax/hailuo-02", "duration": "5"}),
            json!({"_creationTime": 10.5, "model": "minimax/hailuo-02", "duration": "5"}),
            json!({"_creationTime": 20.5, "model": "minimax/hailuo-02", "duration": "5"}),
        ],
    );
    let mp = table(
        "modelParameters",
        MODEL_PARAMETERS,
        &[json!({"modelId": "x", "createdAt": 1.0})],
    );
    let (_d, m) = run_on(&[videos, mp], &["migrateVideoParameters"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let rows = m.docs("modelParameters");
    assert_eq!(rows.len(), 4);
    let mut times = Vec::new();
    for r in &rows[1..] {
        assert_eq!(number_of(r["_id"].as_str().unwrap()), MODEL_PARAMETERS);
        let t = r["_creationTime"].as_f64().unwrap();
        assert!((NOW_F..NOW_F + 1.0).contains(&t), "{t}");
        times.push((t, r["videoId"].as_str().unwrap().to_owned()));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let order: Vec<String> = times.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        order,
        [row_id(VIDEOS, 1), row_id(VIDEOS, 2), row_id(VIDEOS, 0)]
    );
    // The first new row is at `now`, written as a float literal.
    assert!(
        m.raw("modelParameters")
            .contains("\"_creationTime\":1754240000000.0,")
    );
    assert_valid(&m.out);
}

#[test]
fn truthiness_picks_defaults_and_optional_keys() {
    let videos = table(
        "videos",
        VIDEOS,
        &[
            video(
                "google/veo-3",
                "8",
                json!({"resolution": "", "startImageUrl": ""}),
            ),
            video(
                "bytedance/seedance-1-pro",
                "5",
                json!({"resolution": 0.0, "aspectRatio": false, "cameraPosition": null}),
            ),
            video(
                "google/veo-3",
                "8",
                json!({"resolution": {}, "startImageUrl": []}),
            ),
        ],
    );
    let (_d, m) = run_on(&[videos], &["migrateVideoParameters"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        row_for(&m, 0)["parameters"],
        json!({"prompt": "a fox", "resolution": "720p", "seed": seed(0)})
    );
    assert_eq!(
        row_for(&m, 1)["parameters"],
        json!({"prompt": "a fox", "duration": 5.0, "aspect_ratio": "16:9", "resolution": "480p", "seed": seed(1)})
    );
    // Empty objects and arrays are truthy in JS.
    assert_eq!(
        row_for(&m, 2)["parameters"],
        json!({"prompt": "a fox", "resolution": {}, "image": [], "seed": seed(2)})
    );
}

#[test]
fn generation_settings_spread_like_javascript() {
    let videos = table(
        "videos",
        VIDEOS,
        &[
            video(
                "minimax/hailuo-02",
                "6",
                json!({"prompt": "from the form", "duration": "9", "quality": "ultra"}),
            ),
            video("minimax/hailuo-02", "6", json!("ab")),
            video("minimax/hailuo-02", "6", json!(null)),
            video("minimax/hailuo-02", "6", json!(12.0)),
        ],
    );
    let (_d, m) = run_on(&[videos], &["migrateVideoParameters"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let over = row_for(&m, 0);
    assert_eq!(
        over["parameterMapping"]["frontendParameters"],
        json!({"prompt": "from the form", "duration": "9", "quality": "ultra"})
    );
    assert_eq!(
        over["parameters"],
        json!({"prompt": "a fox", "duration": 6.0, "resolution": "768p"}),
        "API parameters use the video's own prompt and duration"
    );
    assert_eq!(
        row_for(&m, 1)["parameterMapping"]["frontendParameters"],
        json!({"prompt": "a fox", "duration": "6", "quality": "standard", "0": "a", "1": "b"})
    );
    for i in [2, 3] {
        assert_eq!(
            row_for(&m, i)["parameterMapping"]["frontendParameters"],
            json!({"prompt": "a fox", "duration": "6", "quality": "standard"})
        );
    }
}

#[test]
fn parse_int_cases() {
    let durations = [" 8s", "5.9", "-3", "0x10", "1e3"];
    let docs: Vec<Json> = durations
        .iter()
        .map(|d| video("minimax/hailuo-02", d, Json::Null))
        .collect();
    let (_d, m) = run_on(
        &[table("videos", VIDEOS, &docs)],
        &["migrateVideoParameters"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    for (i, want) in [8.0, 5.0, -3.0, 16.0, 1.0].into_iter().enumerate() {
        assert_eq!(
            row_for(&m, i as u8)["parameters"]["duration"],
            json!(want),
            "{}",
            durations[i]
        );
    }
    // A number and a missing duration.
    let mut n = video("minimax/hailuo-02", "x", Json::Null);
    n["duration"] = json!(8.0);
    let mut missing = video("minimax/hailuo-02", "x", Json::Null);
    missing.as_object_mut().unwrap().remove("duration");
    let (_d, m) = run_on(
        &[table("videos", VIDEOS, &[n, missing])],
        &["migrateVideoParameters"],
    );
    assert_eq!(row_for(&m, 0)["parameters"]["duration"], json!(8.0));
    assert!(row_for(&m, 1)["parameters"].get("duration").is_none());
}

#[test]
fn nan_duration_is_left_out_in_fixed_mode_and_stored_in_original() {
    let docs = [
        video("minimax/hailuo-02", "abc", Json::Null),
        video("bytedance/seedance-1-pro", "", Json::Null),
    ];
    let (_d, m) = run_on(
        &[table("videos", VIDEOS, &docs)],
        &["migrateVideoParameters"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        row_for(&m, 0)["parameters"],
        json!({"prompt": "a fox", "resolution": "768p"})
    );
    assert!(row_for(&m, 1)["parameters"].get("duration").is_none());
    let warnings = &m.migration(0)["warnings"];
    assert_eq!(warnings["total"], json!(2));
    assert!(
        warnings["listed"][0]
            .as_str()
            .unwrap()
            .contains(&row_id(VIDEOS, 0))
    );

    let (_d, m) = run_on(
        &[table("videos", VIDEOS, &docs)],
        &["migrateVideoParameters", "--mode", "original"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let raw = m.raw("modelParameters");
    assert_eq!(
        raw.matches("\"duration\":{\"$float\":\"AAAAAAAA+H8=\"}")
            .count(),
        2,
        "{raw}"
    );
    assert_eq!(m.migration(0)["warnings"]["total"], json!(0));
    assert_valid(&m.out);
}

#[test]
fn skip_check_differs_by_mode() {
    let videos = table(
        "videos",
        VIDEOS,
        &[
            video("minimax/hailuo-02", "5", Json::Null), // has a per-video modelParameters row
            video("minimax/hailuo-02", "5", Json::Null), // has a videoParameters row
            video("minimax/hailuo-02", "5", Json::Null), // has only an empty modelParameters row
            video("minimax/hailuo-02", "5", Json::Null), // has nothing
        ],
    );
    let mp = table(
        "modelParameters",
        MODEL_PARAMETERS,
        &[
            json!({"videoId": row_id(VIDEOS, 0), "modelId": "minimax/hailuo-02", "parameters": {"prompt": "p"}, "createdAt": 1.0}),
            json!({"videoId": row_id(VIDEOS, 2), "modelId": "minimax/hailuo-02", "parameters": null, "createdAt": 1.0}),
        ],
    );
    let vp = table(
        "videoParameters",
        VIDEO_PARAMETERS,
        &[
            json!({"videoId": row_id(VIDEOS, 1), "modelId": "minimax/hailuo-02", "parameters": {}, "createdAt": 1.0}),
        ],
    );
    let tables = || [clone(&videos), clone(&mp), clone(&vp)];
    let (_d, m) = run_on(&tables(), &["migrateVideoParameters", "--mode", "original"]);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "parametersCreated": 2, "alreadyExists": 2, "errors": 0}),
        "original: only modelParameters counts, an empty row too"
    );
    let (_d, m) = run_on(&tables(), &["migrateVideoParameters"]);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "parametersCreated": 2, "alreadyExists": 2, "errors": 0})
    );
    let made: Vec<Json> = m.docs("modelParameters")[2..]
        .iter()
        .map(|d| d["videoId"].clone())
        .collect();
    assert_eq!(made.len(), 2);
    assert!(made.contains(&json!(row_id(VIDEOS, 2))) && made.contains(&json!(row_id(VIDEOS, 3))));
}

#[test]
fn bad_model_is_a_per_document_error_and_strict_fails() {
    let mut no_model = video("x", "5", Json::Null);
    no_model.as_object_mut().unwrap().remove("model");
    let mut number_model = video("x", "5", Json::Null);
    number_model["model"] = json!(3.0);
    let docs = [
        video("minimax/hailuo-02", "5", Json::Null),
        no_model,
        number_model,
    ];
    let (_d, m) = run_on(
        &[table("videos", VIDEOS, &docs)],
        &["migrateVideoParameters"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "parametersCreated": 1, "alreadyExists": 0, "errors": 2})
    );
    let details = &m.migration(0)["errorDetails"];
    assert_eq!(details["total"], json!(2));
    assert_eq!(details["listed"][0]["id"], json!(row_id(VIDEOS, 1)));
    assert!(
        details["listed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("model is missing")
    );

    let (d, m) = run_on(
        &[table("videos", VIDEOS, &docs)],
        &["migrateVideoParameters", "--strict"],
    );
    assert_eq!(m.run.code, 1, "{}", m.run.stderr);
    assert!(!m.out.exists(), "--strict wrote an archive");
    assert_eq!(files_in(d.path()), ["in.zip"]);
    assert_eq!(m.report["errors"], json!(2));
}

/// An array has `.includes` too (an element test, not a substring one), so
/// the original processes a video whose `model` is an array: it stores the
/// array as `modelId` and joins it into the mapping log, as JS's `+` does.
#[test]
fn an_array_model_is_processed_as_javascript_does() {
    let mut veo = video("x", "5", Json::Null);
    veo["model"] = json!(["google/veo", 1.5, null, ["a", "b"]]);
    let mut other = video("x", "7", Json::Null);
    other["model"] = json!(["google/veo-3"]);
    let mut bytes = video("x", "5", Json::Null);
    bytes["model"] = json!({"$bytes": "AQI="});
    let (_d, m) = run_on(
        &[table("videos", VIDEOS, &[veo, other, bytes])],
        &["migrateVideoParameters", "--mode", "original"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "parametersCreated": 2, "alreadyExists": 0, "errors": 1})
    );
    let row = row_for(&m, 0);
    assert_eq!(row["modelId"], json!(["google/veo", 1.5, null, ["a", "b"]]));
    assert_eq!(
        row["parameterMapping"]["mappingLog"],
        json!(["Parameters mapped for google/veo,1.5,,a,b"])
    );
    assert_eq!(
        row["parameters"]["resolution"],
        json!("720p"),
        "the veo branch"
    );
    // An element must equal the needle: "google/veo-3" is not "google/veo".
    let row = row_for(&m, 1);
    assert_eq!(
        row["parameters"]["resolution"],
        json!("768p"),
        "the default branch"
    );
    assert_eq!(row["parameters"]["duration"], json!(7.0));
    let reason = m.migration(0)["errorDetails"]["listed"][0]["reason"].clone();
    assert!(
        reason
            .as_str()
            .unwrap()
            .contains("bytes, which has no .includes"),
        "{reason}"
    );
}
