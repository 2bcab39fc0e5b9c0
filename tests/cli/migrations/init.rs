//! `init`: the original's "any configuration means initialized" test, its
//! duplicates, and fixed mode's insert-what-is-missing.

use serde_json::{Value as Json, json};

use super::*;

fn count(m: &Migrated, table: &str) -> usize {
    m.raw(table).lines().count()
}

#[test]
fn on_an_empty_snapshot_both_modes_insert_everything() {
    for mode in ["fixed", "original"] {
        let (_d, m) = run_on(&[], &["init", "--mode", mode, "--new-app"]);
        assert_eq!(m.run.code, 0, "{}", m.run.stderr);
        assert_eq!(
            m.result(0),
            &json!({"success": true, "configurationsCreated": 11, "modelsCreated": 3,
                    "creditPackagesCreated": 4, "subscriptionPlansCreated": 3,
                    "modelParametersCreated": 3, "errors": 0}),
            "{mode}"
        );
        let configs = by_key(&m.docs("configurations"), "key");
        assert_eq!(
            body(&configs["profit_margin"]),
            json!({"key": "profit_margin", "category": "business", "name": "Profit Margin",
                   "description": "Profit margin multiplier (e.g., 1.32 = 32% markup)", "value": 1.32,
                   "dataType": "number", "isActive": true, "isEditable": true, "minValue": 1.0,
                   "maxValue": 2.0, "createdAt": NOW_F, "updatedAt": NOW_F})
        );
        assert_eq!(
            configs["quality_multipliers"]["value"],
            json!({"standard": 1.0, "high": 1.2, "ultra": 1.5})
        );
        assert!(configs["default_model"].get("minValue").is_none());
        let models = by_key(&m.docs("models"), "modelId");
        assert_eq!(models["google/veo-3"]["fixedDuration"], json!(5.0));
        assert!(models["luma/ray-2-540p"].get("fixedDuration").is_none());
        assert_eq!(
            models["stability-ai/stable-video-diffusion"]["replicateModelId"],
            json!("stability-ai/stable-video-diffusion:2b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8")
        );
        let plans = by_key(&m.docs("subscriptionPlans"), "planId");
        assert_eq!(plans["pro"]["features"].as_array().unwrap().len(), 4);
        assert_eq!(plans["max"]["monthlyCredits"], json!(350.0));
        let packages = by_key(&m.docs("creditPackages"), "packageId");
        assert_eq!(packages["xlarge"]["price"], json!(5999.0));
        // Raw text: whole numbers are float literals.
        assert!(m.raw("creditPackages").contains("\"credits\":1000.0"));
        // Every new table is registered, and the result imports.
        let listing = String::from_utf8(m.entries[0].1.clone()).unwrap();
        assert_eq!(m.entries[0].0, "_tables/documents.jsonl");
        assert_eq!(listing.lines().count(), 5, "{listing}");
        assert_valid(&m.out);
    }
}

fn by_key(docs: &[Json], key: &str) -> std::collections::BTreeMap<String, Json> {
    docs.iter()
        .map(|d| (d[key].as_str().unwrap().to_owned(), d.clone()))
        .collect()
}

fn partial() -> [Table; 2] {
    [
        table(
            "configurations",
            CONFIGURATIONS,
            &[json!({"key": "profit_margin", "value": 1.5, "category": "business"})],
        ),
        table(
            "models",
            MODELS,
            &[json!({"modelId": "google/veo-3", "modelType": "google_veo", "costPerSecond": 0.75})],
        ),
    ]
}

#[test]
fn original_is_a_no_op_when_any_configuration_exists() {
    let (_d, m) = run_on(&partial(), &["init", "--mode", "original"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(m.result(0)["configurationsCreated"], json!(0));
    assert_eq!(m.migration(0)["tables"], json!({}));
    assert_eq!(count(&m, "models"), 1);
    assert_eq!(count(&m, "modelParameters"), 0);
}

#[test]
fn original_duplicates_when_configurations_are_empty() {
    let [_, models] = partial();
    let (_d, m) = run_on(&[models], &["init", "--mode", "original"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(count(&m, "models"), 4, "veo-3 twice");
    assert_eq!(
        m.result(0)["modelParametersCreated"],
        json!(4),
        "a definition row per model"
    );
    assert_valid(&m.out);
}

#[test]
fn fixed_inserts_what_is_missing_by_natural_key_and_is_idempotent() {
    let (_d, m) = run_on(&partial(), &["init"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(
        m.result(0),
        &json!({"success": true, "configurationsCreated": 10, "modelsCreated": 2,
                "creditPackagesCreated": 4, "subscriptionPlansCreated": 3,
                "modelParametersCreated": 3, "errors": 0})
    );
    let configs = by_key(&m.docs("configurations"), "key");
    assert_eq!(
        configs["profit_margin"]["value"],
        json!(1.5),
        "existing rows are kept"
    );
    assert_eq!(count(&m, "models"), 3);
    assert_valid(&m.out);
    let again = migrate(&m.out, &["init"]);
    assert_eq!(
        again.result(0),
        &json!({"success": true, "configurationsCreated": 0, "modelsCreated": 0,
                "creditPackagesCreated": 0, "subscriptionPlansCreated": 0,
                "modelParametersCreated": 0, "errors": 0})
    );
    assert_eq!(again.entries, m.entries);
}
