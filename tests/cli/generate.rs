//! `generate`: deterministic, and the shipped sample is what it generates.

use crate::common::*;

#[test]
fn regenerates_the_shipped_sample_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.zip");
    let r = run(&[
        "generate".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--videos".as_ref(),
        "120".as_ref(),
        "--seed".as_ref(),
        "1".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(sample()).unwrap(),
        "fixtures/videoai-sample.zip is stale: regenerate it with the README's command"
    );
}

#[test]
fn sample_exercises_the_migration_branches() {
    let entries = read_zip(&sample());
    let text = |name: &str| {
        String::from_utf8(entries.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap()
    };
    let videos = text("videos/documents.jsonl");
    for needle in [
        "\"model\":\"google/veo-3\"",
        "\"model\":\"google/veo-3-fast\"",
        "\"model\":\"bytedance/seedance-1-pro\"",
        "\"model\":\"minimax/hailuo-02\"",
        "\"model\":\"luma/",
        "\"model\":\"stability-ai/",
        "\"model\":3.0",
        "\"duration\":\" 8s\"",
        "\"duration\":\"0x10\"",
        "\"duration\":\"abc\"",
        "\"duration\":\"\"",
        "\"generationSettings\":null",
        "\"generationSettings\":\"fast\"",
        "\"generationSettings\":{}",
        "\"startImageUrl\"",
        "\"title\":\"\"",
        "\"title\":null",
        "\"thumbnailUrl\":\"\"",
        "\"videoCdnUrlExpiresAt\":0.0",
        "\"r2FileKey\":\"\"",
        "\"convexFileId\"",
        "{\"$float\":\"AAAAAAAA+H8=\"}",
        "{\"$float\":\"AAAAAAAA8H8=\"}",
    ] {
        assert!(videos.contains(needle), "videos lack {needle}");
    }
    assert!(
        videos.lines().any(|l| !l.contains("\"model\":")),
        "a video without model"
    );
    assert!(
        videos.lines().any(|l| !l.contains("\"duration\":")),
        "a video without duration"
    );
    let config = text("configurations/documents.jsonl");
    assert!(
        config.contains("\"value\":9007199254740993}"),
        "an Int64 beyond 2^53"
    );
    assert!(config.contains("\"value\":{\"$bytes\":\""));
    let mp = text("modelParameters/documents.jsonl");
    for needle in [
        "\"parameters\":null",
        "\"parameters\":\"\"",
        "\"parameters\":{}",
        "\"parameterDefinitions\"",
    ] {
        assert!(mp.contains(needle), "modelParameters lack {needle}");
    }
    let models = text("models/documents.jsonl");
    assert_eq!(
        models.matches("\"modelId\":\"minimax/hailuo-02\"").count(),
        2,
        "a duplicated modelId"
    );
    // Rows are in _id order, as exports are.
    for (name, data) in &entries {
        if name.ends_with("documents.jsonl") && !name.starts_with("_tables") {
            let ids: Vec<String> = String::from_utf8(data.clone())
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["_id"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            let mut sorted = ids.clone();
            sorted.sort();
            assert_eq!(ids, sorted, "{name} is not in _id order");
        }
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let r = run(&[
            "generate".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            "--videos".as_ref(),
            "40".as_ref(),
            "--seed".as_ref(),
            seed.as_ref(),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::read(out).unwrap()
    };
    assert_eq!(mk("a.zip", "7"), mk("b.zip", "7"));
    assert_ne!(mk("c.zip", "7"), mk("d.zip", "8"));
}
