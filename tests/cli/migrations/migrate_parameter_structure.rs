//! `migrateParameterStructure`: the `hasOldStructure` test, moves, the
//! original's delete-everything, fixed mode's duplicates and invalid rows,
//! and creating `videoParameters` when the snapshot lacks it.

use serde_json::{Value as Json, json};

use super::*;

fn definition(model: &str) -> Json {
    json!({"modelId": model, "parameterDefinitions": {"prompt": {"type": "string"}},
           "parameterCategories": ["basic", "advanced"], "createdAt": 1.0, "updatedAt": 1.0})
}

fn per_video(video: u8, parameters: Json) -> Json {
    json!({"videoId": row_id(VIDEOS, video), "modelId": "minimax/hailuo-02", "parameters": parameters,
           "parameterMapping": {"mappingLog": ["x"]}, "createdAt": 1_751_000_000_000.0})
}

fn model_parameters() -> Table {
    table(
        "modelParameters",
        MODEL_PARAMETERS,
        &[
            definition("minimax/hailuo-02"),
            per_video(0, json!({"prompt": "p", "duration": 5.0})),
            per_video(1, json!({})), // empty object: truthy, moves
            per_video(2, json!(null)),
            per_video(3, json!("")),
            per_video(4, json!({"prompt": "already has a videoParameters row"})),
            per_video(0, json!({"prompt": "second row for video 0"})),
        ],
    )
}

fn video_parameters() -> Table {
    table(
        "videoParameters",
        VIDEO_PARAMETERS,
        &[
            json!({"videoId": row_id(VIDEOS, 4), "modelId": "minimax/hailuo-02", "parameters": {"prompt": "app"}, "createdAt": 2.0}),
        ],
    )
}

#[test]
fn original_moves_truthy_rows_and_deletes_every_row() {
    let (_d, m) = run_on(
        &[model_parameters(), video_parameters()],
        &["migrateParameterStructure", "--mode", "original"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "migratedRecords": 4, "errors": 0})
    );
    assert_eq!(
        m.raw("modelParameters"),
        "",
        "definition rows are deleted too"
    );
    let vp = m.docs("videoParameters");
    assert_eq!(vp.len(), 5, "video 4 is duplicated, as the original does");
    let input = model_parameters();
    let moved: Vec<Json> = vp[1..].iter().map(body).collect();
    for i in [1, 2, 5, 6] {
        let row: Json = serde_json::from_str(&input.docs[i]).unwrap();
        assert!(moved.contains(&body(&row)), "row {i} moved as it is");
    }
    for r in &vp[1..] {
        assert_eq!(number_of(r["_id"].as_str().unwrap()), VIDEO_PARAMETERS);
    }
    assert_eq!(
        m.migration(0)["tables"],
        json!({"modelParameters": {"inserted": 0, "updated": 0, "deleted": 7},
               "videoParameters": {"inserted": 4, "updated": 0, "deleted": 0}})
    );
    assert_valid(&m.out);
}

#[test]
fn original_does_nothing_without_old_structure() {
    // Per-video rows whose parameters are all falsy do not count.
    let mp = table(
        "modelParameters",
        MODEL_PARAMETERS,
        &[
            definition("a"),
            per_video(0, json!(0.0)),
            per_video(1, json!(false)),
        ],
    );
    let (_d, m) = run_on(&[mp], &["migrateParameterStructure", "--mode", "original"]);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "migratedRecords": 0, "errors": 0})
    );
    assert_eq!(m.raw("modelParameters").lines().count(), 3);
    assert_eq!(m.raw("videoParameters"), "");
}

#[test]
fn fixed_keeps_definitions_and_drops_duplicates_and_invalid_rows() {
    let (_d, m) = run_on(
        &[model_parameters(), video_parameters()],
        &["migrateParameterStructure"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "migratedRecords": 2, "errors": 0, "duplicatesDropped": 2, "invalidDropped": 2})
    );
    let mp = m.docs("modelParameters");
    assert_eq!(mp.len(), 1);
    assert_eq!(mp[0]["modelId"], json!("minimax/hailuo-02"));
    assert!(mp[0].get("parameterDefinitions").is_some());
    let vp = m.docs("videoParameters");
    let videos: Vec<&Json> = vp.iter().map(|r| &r["videoId"]).collect();
    assert_eq!(videos.len(), 3);
    // The earlier of video 0's two rows (in _creationTime order) moves.
    let v0: Vec<&Json> = vp
        .iter()
        .filter(|r| r["videoId"] == json!(row_id(VIDEOS, 0)))
        .collect();
    assert_eq!(v0.len(), 1);
    assert_eq!(v0[0]["parameters"], json!({"prompt": "p", "duration": 5.0}));
    let warnings = &m.migration(0)["warnings"];
    assert_eq!(warnings["total"], json!(2));
    assert!(
        warnings["listed"][0]
            .as_str()
            .unwrap()
            .contains(&row_id(MODEL_PARAMETERS, 3))
    );
    assert_valid(&m.out);

    let again = migrate(&m.out, &["migrateParameterStructure"]);
    assert_eq!(
        again.result(0),
        &json!({"success": true, "migratedRecords": 0, "errors": 0, "duplicatesDropped": 0, "invalidDropped": 0})
    );
    assert_eq!(again.entries, m.entries);
}

#[test]
fn fixed_moves_each_videos_first_row_in_creation_order_not_file_order() {
    // Two rows of video 7 share a _creationTime: the lower _id (as text)
    // comes first, as `collect()` orders them.
    let (a, b) = (id(MODEL_PARAMETERS, 20), id(MODEL_PARAMETERS, 21));
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let row = |video: u8, time: f64, id: &str, tag: &str| {
        let mut r = per_video(video, json!({ "prompt": tag }));
        r["_creationTime"] = json!(time);
        r["_id"] = json!(id);
        r
    };
    let rows = [
        row(7, 3e12, &id(MODEL_PARAMETERS, 30), "7: latest"),
        row(7, 1e12, &high, "7: tie, higher _id"),
        row(7, 1e12, &low, "7: tie, lower _id"),
        row(8, 5e12, &id(MODEL_PARAMETERS, 31), "8: later"),
        row(8, 2e12, &id(MODEL_PARAMETERS, 32), "8: earlier"),
        row(
            4,
            1e12,
            &id(MODEL_PARAMETERS, 33),
            "4: has a videoParameters row",
        ),
    ];
    let (_d, m) = run_on(
        &[
            table("modelParameters", MODEL_PARAMETERS, &rows),
            video_parameters(),
        ],
        &["migrateParameterStructure"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "migratedRecords": 2, "errors": 0, "duplicatesDropped": 4, "invalidDropped": 0})
    );
    let mut moved: Vec<String> = m
        .docs("videoParameters")
        .iter()
        .filter_map(|r| r["parameters"]["prompt"].as_str().map(str::to_owned))
        .collect();
    moved.sort();
    assert_eq!(moved, ["7: tie, lower _id", "8: earlier", "app"]);
}

#[test]
fn creates_video_parameters_when_missing() {
    let videos = table("videos", VIDEOS, &[json!({"model": "m"})]);
    let (_d, m) = run_on(
        &[videos, model_parameters()],
        &["migrateParameterStructure"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let listing = m.entry("_tables/documents.jsonl");
    assert_eq!(
        String::from_utf8_lossy(listing),
        format!(
            "{{\"name\":\"videoParameters\",\"id\":10001}}\n{{\"name\":\"videos\",\"id\":{VIDEOS}}}\n{{\"name\":\"modelParameters\",\"id\":{MODEL_PARAMETERS}}}\n"
        ),
        "the smallest free number from 10001, listed in _tables in number order"
    );
    let names: Vec<&str> = m.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[names.len() - 2..],
        [
            "videoParameters/documents.jsonl",
            "videoParameters/generated_schema.jsonl"
        ]
    );
    let schema = m.entry("videoParameters/generated_schema.jsonl");
    assert_eq!(schema, b"\"uniform\"\n");
    for r in m.docs("videoParameters") {
        assert_eq!(number_of(r["_id"].as_str().unwrap()), 10001);
    }
    assert_valid(&m.out);
}
