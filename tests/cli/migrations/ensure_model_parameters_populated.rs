//! `ensureModelParametersPopulated`: which models count as populated per
//! mode, duplicate `modelId`s, the per-type definitions, timestamps.

use serde_json::{Value as Json, json};

use super::*;

fn model(id: &str, model_type: &str) -> Json {
    json!({"modelId": id, "name": id, "modelType": model_type, "isActive": true, "createdAt": 1.0, "updatedAt": 1.0})
}

fn tables() -> [Table; 2] {
    [
        table(
            "models",
            MODELS,
            &[
                model("google/veo-3", "google_veo"),
                model("minimax/hailuo-02", "hailuo"),
                model("luma/ray-2-540p", "luma_ray"),
                model("luma/ray-2-540p", "luma_ray"), // duplicate modelId
            ],
        ),
        table(
            "modelParameters",
            MODEL_PARAMETERS,
            // A per-video row for hailuo; no definition rows.
            &[
                json!({"videoId": row_id(VIDEOS, 0), "modelId": "minimax/hailuo-02", "parameters": {"prompt": "p"}, "createdAt": 1.0}),
            ],
        ),
    ]
}

fn definitions(m: &Migrated) -> Vec<Json> {
    m.docs("modelParameters")
        .into_iter()
        .filter(|r| r.get("videoId").is_none())
        .collect()
}

#[test]
fn original_is_fooled_by_per_video_rows_and_duplicates_models() {
    let (_d, m) = run_on(
        &tables(),
        &["ensureModelParametersPopulated", "--mode", "original"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "modelsProcessed": 3, "parametersCreated": 3, "errors": 0})
    );
    let ids: Vec<Json> = definitions(&m)
        .iter()
        .map(|r| r["modelId"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            json!("google/veo-3"),
            json!("luma/ray-2-540p"),
            json!("luma/ray-2-540p")
        ]
    );
}

#[test]
fn fixed_uses_definition_rows_only_and_one_row_per_model_id() {
    let (_d, m) = run_on(&tables(), &["ensureModelParametersPopulated"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "modelsProcessed": 3, "parametersCreated": 3, "errors": 0})
    );
    let defs = definitions(&m);
    let ids: Vec<Json> = defs.iter().map(|r| r["modelId"].clone()).collect();
    assert_eq!(
        ids,
        [
            json!("google/veo-3"),
            json!("minimax/hailuo-02"),
            json!("luma/ray-2-540p")
        ]
    );

    let veo = &defs[0];
    assert_eq!(
        body(veo),
        json!({
            "modelId": "google/veo-3",
            "parameterDefinitions": {
                "prompt": {"type": "string", "required": true, "description": "Text description of the video to generate", "maxLength": 1000.0},
                "duration": {"type": "number", "required": true, "description": "Duration of the video in seconds", "minValue": 1.0, "maxValue": 60.0},
                "resolution": {"type": "string", "required": false, "description": "Video resolution", "allowedValues": ["720p", "1080p"], "defaultValue": "720p"},
                "startImageUrl": {"type": "string", "required": false, "description": "URL of starting image for video generation"},
            },
            "mappingRules": {"prompt": "prompt", "duration": "duration", "resolution": "resolution", "startImageUrl": "image"},
            "constraints": {"prompt": {"maxLength": 1000.0}, "duration": {"minValue": 1.0, "maxValue": 60.0}, "resolution": {"allowedValues": ["720p", "1080p"]}},
            "parameterCategories": ["basic", "advanced"],
            "createdAt": NOW_F,
            "updatedAt": NOW_F,
        })
    );
    // Hailuo gets the base definitions only.
    let hailuo = &defs[1];
    assert_eq!(
        hailuo["mappingRules"],
        json!({"prompt": "prompt", "duration": "duration"})
    );
    assert_eq!(hailuo["parameterDefinitions"].as_object().unwrap().len(), 2);
    // Luma gets its three extras; no defaultValue for cameraPosition.
    let luma = &defs[2]["parameterDefinitions"];
    assert_eq!(luma["aspectRatio"]["defaultValue"], json!("16:9"));
    assert_eq!(
        luma["resolution"]["allowedValues"],
        json!(["480p", "720p", "1080p"])
    );
    assert!(luma["cameraPosition"].get("defaultValue").is_none());
    assert_valid(&m.out);

    let again = migrate(&m.out, &["ensureModelParametersPopulated"]);
    assert_eq!(again.result(0)["parametersCreated"], json!(0));
    assert_eq!(again.entries, m.entries);
}

#[test]
fn stability_definitions() {
    let models = table(
        "models",
        MODELS,
        &[model("stability-ai/stable-video-diffusion", "stability_ai")],
    );
    let (_d, m) = run_on(&[models], &["ensureModelParametersPopulated"]);
    let d = &definitions(&m)[0];
    assert_eq!(
        d["constraints"]["resolution"],
        json!({"allowedValues": ["768p", "1024p"]})
    );
    assert_eq!(
        d["parameterDefinitions"]["resolution"]["defaultValue"],
        json!("768p")
    );
    assert_eq!(d["mappingRules"]["resolution"], json!("resolution"));
}

/// The original's `new Set(rows.map(r => r.modelId)).has(model.modelId)` is
/// JavaScript's SameValueZero: `-0` finds `0`, a NaN finds any NaN, a
/// `bigint` never finds a `number`, and an object finds nothing (each read
/// makes a new one).
#[test]
fn original_tells_model_ids_apart_as_a_javascript_set_does() {
    let with_id = |id: Json| json!({"modelId": id, "modelType": "hailuo"});
    let models = table(
        "models",
        MODELS,
        &[
            with_id(json!(-0.0)),
            with_id(json!({"$float": "AAAAAAAA+H8="})),
            with_id(json!(1)),
            with_id(json!({"a": 1.0})),
            with_id(json!("veo")),
        ],
    );
    let rows = table(
        "modelParameters",
        MODEL_PARAMETERS,
        &[
            json!({"modelId": 0.0}),
            json!({"modelId": {"$float": "AQAAAAAA+H8="}}),
            json!({"modelId": 1.0}),
            json!({"modelId": {"a": 1.0}}),
            json!({"modelId": "veo"}),
        ],
    );
    let (_d, m) = run_on(
        &[models, rows],
        &["ensureModelParametersPopulated", "--mode", "original"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "modelsProcessed": 2, "parametersCreated": 2, "errors": 0})
    );
    let made: Vec<Json> = m
        .docs("modelParameters")
        .into_iter()
        .filter(|r| r.get("parameterDefinitions").is_some())
        .map(|r| r["modelId"].clone())
        .collect();
    assert_eq!(made, [json!(1), json!({"a": 1.0})]);
}
