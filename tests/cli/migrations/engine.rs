//! What holds for every run: the same bytes for any thread count and on
//! re-runs, idempotent fixed chains, outputs that validate, raw copies of
//! untouched entries, kept bytes of unchanged documents, the clock, reports,
//! legacy tables.

use std::io::Read as _;

use serde_json::{Value as Json, json};

use super::*;

fn sample_run(dir: &Path, name: &str, args: &[&str]) -> (Run, PathBuf) {
    let out = dir.join(name);
    // Tests reuse output names: --force overwrites the previous one.
    let mut all = vec![
        "migrate",
        sample_str(),
        "-o",
        out.to_str().unwrap(),
        "-q",
        "--force",
    ];
    all.extend(args);
    (run(&all), out)
}

fn sample_str() -> &'static str {
    Box::leak(sample().to_str().unwrap().to_owned().into_boxed_str())
}

#[test]
fn output_is_identical_across_thread_counts_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    for mode in ["fixed", "original"] {
        let (r1, a) = sample_run(
            dir.path(),
            "a.zip",
            &["--all", "--mode", mode, "--threads", "1"],
        );
        let (r2, b) = sample_run(
            dir.path(),
            "b.zip",
            &["--all", "--mode", mode, "--threads", "2"],
        );
        let (r3, c) = sample_run(
            dir.path(),
            "c.zip",
            &["--all", "--mode", mode, "--threads", "2"],
        );
        assert_eq!((r1.code, r2.code, r3.code), (0, 0, 0), "{}", r1.stderr);
        let a = std::fs::read(a).unwrap();
        assert_eq!(a, std::fs::read(b).unwrap(), "{mode}: threads 1 vs 2");
        assert_eq!(a, std::fs::read(c).unwrap(), "{mode}: two runs");
    }
}

#[test]
fn fixed_all_is_idempotent_on_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (r, once) = sample_run(dir.path(), "once.zip", &["--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let twice = migrate(&once, &["--all"]);
    assert_eq!(twice.run.code, 0, "{}", twice.run.stderr);
    for m in twice.report["migrations"].as_array().unwrap() {
        assert_eq!(m["tables"], json!({}), "{}", m["migration"]);
        let result = m["result"].as_object().unwrap();
        for (k, v) in result {
            let zero_work = matches!(
                k.as_str(),
                "parametersCreated"
                    | "migratedRecords"
                    | "duplicatesDropped"
                    | "invalidDropped"
                    | "modelsProcessed"
                    | "thumbnailFieldsRemoved"
                    | "titleFieldsRemoved"
                    | "cdnFieldsRemoved"
            );
            if zero_work {
                assert_eq!(v, &json!(0), "{} {k}", m["migration"]);
            }
        }
    }
    assert_eq!(read_zip(&twice.out), read_zip(&once));
}

#[test]
fn every_chain_validates() {
    let dir = tempfile::tempdir().unwrap();
    let chains: &[&[&str]] = &[
        &["--all"],
        &["--all", "--mode", "original"],
        &["init", "--all"],
        &["init", "--mode", "original"],
        &[
            "migrateVideoParameters",
            "migrateParameterStructure",
            "migrateVideoParameters",
            "migrateParameterStructure",
            "--mode",
            "original",
        ],
        &[
            "ensureModelParametersPopulated",
            "migrateParameterStructure",
            "init",
            "--mode",
            "original",
        ],
        &[
            "cleanupVideoFields",
            "migrateVideoParameters",
            "cleanupVideoFields",
            "--mode",
            "original",
        ],
    ];
    for chain in chains {
        let (r, out) = sample_run(dir.path(), "chain.zip", chain);
        assert_eq!(r.code, 0, "{chain:?}: {}", r.stderr);
        assert_valid(&out);
    }
}

#[test]
fn untouched_entries_are_raw_copies_and_unchanged_documents_keep_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (r, out) = sample_run(dir.path(), "out.zip", &["cleanupVideoFields"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut a = zip::ZipArchive::new(std::fs::File::open(sample()).unwrap()).unwrap();
    let mut b = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(a.len(), b.len());
    let raw = |z: &mut zip::ZipArchive<std::fs::File>, i: usize| {
        let mut f = z.by_index_raw(i).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        (f.name().unwrap().into_owned(), v)
    };
    for i in 0..a.len() {
        let (name, before) = raw(&mut a, i);
        let (name_b, after) = raw(&mut b, i);
        assert_eq!(name, name_b, "entry order");
        if name != "videos/documents.jsonl" {
            assert_eq!(before, after, "{name} is copied raw");
        }
    }
    // In the changed table, videos without deprecated fields keep their bytes.
    let input = read_zip(&sample());
    let output = read_zip(&out);
    let find = |e: &[(String, Vec<u8>)]| {
        String::from_utf8(
            e.iter()
                .find(|(n, _)| n == "videos/documents.jsonl")
                .unwrap()
                .1
                .clone(),
        )
        .unwrap()
    };
    let (before, after) = (find(&input), find(&output));
    let mut kept = 0;
    for (x, y) in before.lines().zip(after.lines()) {
        let deprecated = ["\"title\"", "\"thumbnail", "\"videoCdnUrl"]
            .iter()
            .any(|f| x.contains(f));
        if !deprecated {
            assert_eq!(x, y);
            kept += 1;
        } else {
            assert_ne!(x, y);
        }
    }
    assert!(kept > 0);
}

#[test]
fn default_now_follows_the_latest_creation_time() {
    let videos = table(
        "videos",
        VIDEOS,
        &[
            json!({"_creationTime": 1_754_000_000_002.5, "model": "minimax/hailuo-02", "duration": "5"}),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let input = snapshot(dir.path(), &[videos]);
    let out = dir.path().join("out.zip");
    let r = run(&[
        "migrate",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "migrateVideoParameters",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mp = read_zip(&out)
        .into_iter()
        .find(|(n, _)| n == "modelParameters/documents.jsonl")
        .unwrap()
        .1;
    let row: Json = serde_json::from_slice(&mp[..mp.len() - 1]).unwrap();
    assert_eq!(row["_creationTime"], json!(1_754_000_000_003.0));
    // The same instant as RFC 3339 gives the same bytes as milliseconds.
    let a = dir.path().join("a.zip");
    let b = dir.path().join("b.zip");
    for (path, now) in [(&a, "1754240000000"), (&b, "2025-08-03T16:53:20Z")] {
        let r = run(&[
            "migrate",
            input.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
            "migrateVideoParameters",
            "-q",
            "--now",
            now,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn names_in_every_spelling_and_unknown_names() {
    let videos = table(
        "videos",
        VIDEOS,
        &[json!({"model": "minimax/hailuo-02", "duration": "5", "title": "t"})],
    );
    let (_d, m) = run_on(
        &[videos],
        &[
            "api.migrations.cleanupVideoFields",
            "migrations:migrateVideoParameters",
            "migrations.analyzeStorageDistribution",
            "api.init",
        ],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let names: Vec<&Json> = m.report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["migration"])
        .collect();
    assert_eq!(
        names,
        [
            &json!("cleanupVideoFields"),
            &json!("migrateVideoParameters"),
            &json!("analyzeStorageDistribution"),
            &json!("init")
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.zip");
    let r = run(&[
        "migrate",
        sample_str(),
        "-o",
        out.to_str().unwrap(),
        "migrateVideos",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown migration \"migrateVideos\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("migrateVideoParameters, cleanupVideoFields"),
        "{}",
        r.stderr
    );
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn report_file_dry_run_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("run.json");
    let out = dir.path().join("o.zip");
    let r = run(&[
        "migrate",
        sample_str(),
        "-o",
        out.to_str().unwrap(),
        "--all",
        "--dry-run",
        "--report",
        report.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!out.exists(), "--dry-run wrote the archive");
    let file: Json = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let stdout: Json = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(file, stdout);
    assert_eq!(file["migrations"].as_array().unwrap().len(), 5);
    assert_eq!(file["output"], Json::Null);
    assert!(
        r.stderr
            .contains("migrateVideoParameters (fixed): success=true"),
        "{}",
        r.stderr
    );

    let l = run(&["list"]);
    assert_eq!(l.code, 0);
    for name in [
        "init",
        "migrateVideoParameters",
        "cleanupVideoFields",
        "migrateParameterStructure",
        "ensureModelParametersPopulated",
        "analyzeStorageDistribution",
    ] {
        assert!(
            l.stdout
                .lines()
                .any(|line| line.trim_start().starts_with(name)),
            "{name}: {}",
            l.stdout
        );
    }
}

#[test]
fn legacy_tables_refuse_values_their_format_cannot_hold() {
    // A legacy table whose `parameters.n` is an Int64 (a string in the file).
    let shape = r#""{\"_creationTime\": normalfloat64, \"_id\": id<10009>, \"modelId\": string, \"parameters\": {\"n\": int64}, \"videoId\": string}""#;
    let ok = format!(
        "{{\"_creationTime\":1.5,\"_id\":\"{}\",\"modelId\":\"m\",\"parameters\":{{\"p\":\"x\"}},\"videoId\":\"{}\"}}",
        row_id(MODEL_PARAMETERS, 0),
        row_id(VIDEOS, 0)
    );
    let int = format!(
        "{{\"_creationTime\":2.5,\"_id\":\"{}\",\"modelId\":\"m\",\"parameters\":{{\"n\":\"5\"}},\"videoId\":\"{}\"}}",
        row_id(MODEL_PARAMETERS, 1),
        row_id(VIDEOS, 1)
    );
    let entries = vec![
        (
            "_tables/documents.jsonl".to_owned(),
            b"{\"name\":\"modelParameters\",\"id\":10009}\n".to_vec(),
        ),
        (
            "modelParameters/documents.jsonl".to_owned(),
            format!("{ok}\n{int}\n").into_bytes(),
        ),
        (
            "modelParameters/generated_schema.jsonl".to_owned(),
            format!("{shape}\n").into_bytes(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = make_zip(dir.path(), "in.zip", &refs(&entries));
    let m = migrate(&input, &["migrateParameterStructure"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(m.result(0)["migratedRecords"], json!(1));
    assert_eq!(m.result(0)["errors"], json!(1));
    let reason = m.migration(0)["errorDetails"]["listed"][0]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("legacy format cannot hold"), "{reason}");
    // The row that could not move is kept, byte for byte.
    assert_eq!(m.raw("modelParameters"), format!("{int}\n"));
    let schema = m.entry("videoParameters/generated_schema.jsonl");
    assert_eq!(schema, b"\"unknown\"\n");
    assert_valid(&m.out);
}

#[test]
fn a_rewrite_that_starts_in_an_appended_segment_keeps_the_rows_before_it() {
    // modelParameters ends without a newline; migrateVideoParameters appends
    // per-video rows; migrateParameterStructure then deletes only those, so
    // the rewrite starts in the appended segment.
    let videos = table(
        "videos",
        VIDEOS,
        &[json!({"model": "minimax/hailuo-02", "duration": "5"})],
    );
    let mut mp = table(
        "modelParameters",
        MODEL_PARAMETERS,
        &[json!({"modelId": "minimax/hailuo-02", "parameterDefinitions": {}})],
    );
    let definition = mp.docs[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let listing = format!(
        "{{\"name\":\"videos\",\"id\":{VIDEOS}}}\n{{\"name\":\"modelParameters\",\"id\":{MODEL_PARAMETERS}}}\n"
    );
    entries.push(("_tables/documents.jsonl".into(), listing.into_bytes()));
    entries.push((
        "videos/documents.jsonl".into(),
        format!("{}\n", videos.docs[0]).into_bytes(),
    ));
    entries.push((
        "videos/generated_schema.jsonl".into(),
        b"\"uniform\"\n".to_vec(),
    ));
    entries.push((
        "modelParameters/documents.jsonl".into(),
        mp.docs.remove(0).into_bytes(),
    ));
    entries.push((
        "modelParameters/generated_schema.jsonl".into(),
        b"\"uniform\"\n".to_vec(),
    ));
    let input = make_zip(dir.path(), "in.zip", &refs(&entries));
    let m = migrate(
        &input,
        &["migrateVideoParameters", "migrateParameterStructure"],
    );
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    assert_eq!(m.result(0)["parametersCreated"], json!(1));
    assert_eq!(m.result(1)["migratedRecords"], json!(1));
    assert_eq!(m.raw("modelParameters"), format!("{definition}\n"));
    assert_eq!(m.docs("videoParameters").len(), 1);
    assert_valid(&m.out);
}

#[test]
fn a_listed_empty_table_that_gets_rows_is_written() {
    // `_tables` lists modelParameters, but the export has no file for it.
    let videos = table(
        "videos",
        VIDEOS,
        &[json!({"model": "minimax/hailuo-02", "duration": "5"})],
    );
    let listing = format!(
        "{{\"name\":\"videos\",\"id\":{VIDEOS}}}\n{{\"name\":\"modelParameters\",\"id\":{MODEL_PARAMETERS}}}\n"
    );
    let entries = vec![
        (
            "_tables/documents.jsonl".to_owned(),
            listing.clone().into_bytes(),
        ),
        (
            "videos/documents.jsonl".to_owned(),
            format!("{}\n", videos.docs[0]).into_bytes(),
        ),
        (
            "videos/generated_schema.jsonl".to_owned(),
            b"\"uniform\"\n".to_vec(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = make_zip(dir.path(), "in.zip", &refs(&entries));
    let m = migrate(&input, &["migrateVideoParameters"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let rows = m.docs("modelParameters");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        number_of(rows[0]["_id"].as_str().unwrap()),
        MODEL_PARAMETERS
    );
    let tables = m.entry("_tables/documents.jsonl");
    assert_eq!(
        String::from_utf8_lossy(tables),
        listing,
        "already listed: unchanged"
    );
    assert!(
        m.entries
            .iter()
            .any(|(n, _)| n == "modelParameters/generated_schema.jsonl")
    );
    assert_valid(&m.out);
}

#[test]
fn without_tables_listing_a_new_table_gets_every_table_listed() {
    let videos = table(
        "videos",
        VIDEOS,
        &[json!({"model": "minimax/hailuo-02", "duration": "5"})],
    );
    let entries = vec![
        (
            "videos/documents.jsonl".to_owned(),
            format!("{}\n", videos.docs[0]).into_bytes(),
        ),
        (
            "videos/generated_schema.jsonl".to_owned(),
            b"\"uniform\"\n".to_vec(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = make_zip(dir.path(), "in.zip", &refs(&entries));
    let m = migrate(&input, &["migrateVideoParameters"]);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let tables = m.entry("_tables/documents.jsonl");
    assert_eq!(
        String::from_utf8_lossy(tables),
        format!(
            "{{\"name\":\"modelParameters\",\"id\":10001}}\n{{\"name\":\"videos\",\"id\":{VIDEOS}}}\n"
        ),
        "numbers from the first rows' IDs, lines in number order"
    );
    assert_valid(&m.out);
}
