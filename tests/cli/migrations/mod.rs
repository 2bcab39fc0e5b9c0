//! The built-in migrations, each branch before/after on literal documents,
//! plus what the engine guarantees for every chain (determinism,
//! idempotency, validity, raw copies).
//!
//! Each test builds a small uniform snapshot from `serde_json::json!`
//! literals (numbers written `5.0` are Float64, `5` would be Int64), runs
//! the real binary with a fixed `--now`, and reads back the tables and the
//! JSON report.

mod analyze_storage_distribution;
mod cleanup_video_fields;
mod engine;
mod ensure_model_parameters_populated;
mod init;
mod migrate_parameter_structure;
mod migrate_video_parameters;

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::common::*;

pub const NOW: u64 = 1_754_240_000_000;
pub const NOW_F: f64 = 1_754_240_000_000.0;

pub const VIDEOS: u32 = 10002;
pub const CONFIGURATIONS: u32 = 10007;
pub const MODELS: u32 = 10008;
pub const MODEL_PARAMETERS: u32 = 10009;
pub const VIDEO_PARAMETERS: u32 = 10010;

/// A table of the test snapshot: name, number, documents (JSON lines).
pub struct Table {
    pub name: &'static str,
    pub number: u32,
    pub docs: Vec<String>,
}

/// A table from `json!` documents; each gets `_id` = id(number, i + 1) and
/// `_creationTime` = 1754000000000.5 + i unless it sets its own.
pub fn table(name: &'static str, number: u32, docs: &[Json]) -> Table {
    let docs = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut m = serde_json::Map::new();
            m.insert(
                "_creationTime".into(),
                d.get("_creationTime")
                    .cloned()
                    .unwrap_or(json!(1_754_000_000_000.5 + i as f64)),
            );
            m.insert(
                "_id".into(),
                d.get("_id")
                    .cloned()
                    .unwrap_or(json!(id(number, i as u8 + 1))),
            );
            for (k, v) in d.as_object().expect("an object literal") {
                m.insert(k.clone(), v.clone());
            }
            serde_json::to_string(&m).unwrap()
        })
        .collect();
    Table { name, number, docs }
}

/// A copy of a table, to build the same snapshot twice.
pub fn clone(t: &Table) -> Table {
    Table {
        name: t.name,
        number: t.number,
        docs: t.docs.clone(),
    }
}

/// The `_id` the [`table`] helper gives row `i` (0-based) of a table.
pub fn row_id(number: u32, i: u8) -> String {
    id(number, i + 1)
}

/// Writes a uniform snapshot ZIP of these tables into `dir`.
pub fn snapshot(dir: &Path, tables: &[Table]) -> PathBuf {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let listing: String = tables
        .iter()
        .map(|t| format!("{{\"name\":\"{}\",\"id\":{}}}\n", t.name, t.number))
        .collect();
    entries.push(("_tables/documents.jsonl".into(), listing.into_bytes()));
    for t in tables {
        let docs: String = t.docs.iter().map(|d| format!("{d}\n")).collect();
        entries.push((format!("{}/documents.jsonl", t.name), docs.into_bytes()));
        entries.push((
            format!("{}/generated_schema.jsonl", t.name),
            b"\"uniform\"\n".to_vec(),
        ));
    }
    make_zip(dir, "in.zip", &refs(&entries))
}

/// What a migrate run produced.
pub struct Migrated {
    pub run: Run,
    /// The `--json` report (Null if none was printed).
    pub report: Json,
    /// Every entry of the output (empty when nothing was written).
    pub entries: Vec<(String, Vec<u8>)>,
    pub out: PathBuf,
}

impl Migrated {
    /// The documents of a table, parsed.
    pub fn docs(&self, table: &str) -> Vec<Json> {
        self.raw(table)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A table's `documents.jsonl` as text ("" when absent).
    pub fn raw(&self, table: &str) -> String {
        let name = format!("{table}/documents.jsonl");
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| String::from_utf8(d.clone()).unwrap())
            .unwrap_or_default()
    }

    /// The bytes of an output entry (panics if it is missing).
    pub fn entry(&self, name: &str) -> &[u8] {
        &self
            .entries
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no entry {name}"))
            .1
    }

    /// A migration's `result` object.
    pub fn result(&self, index: usize) -> &Json {
        &self.report["migrations"][index]["result"]
    }

    /// A migration's report.
    pub fn migration(&self, index: usize) -> &Json {
        &self.report["migrations"][index]
    }
}

/// Runs `migrate INPUT -o DIR/out.zip --now NOW --json -q ARGS` (the
/// output of a run on `out.zip` is `out-out.zip`, and so on).
pub fn migrate(input: &Path, args: &[&str]) -> Migrated {
    let out = match input.file_stem().and_then(|s| s.to_str()) {
        Some(stem) if stem.starts_with("out") => input.with_file_name(format!("{stem}-out.zip")),
        _ => input.with_file_name("out.zip"),
    };
    let _ = std::fs::remove_file(&out);
    let now = NOW.to_string();
    let mut all: Vec<&str> = vec![
        "migrate",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--now",
        &now,
        "--json",
        "-q",
    ];
    all.extend(args);
    let run = run(&all);
    let report = serde_json::from_str(&run.stdout).unwrap_or(Json::Null);
    let entries = if out.exists() {
        read_zip(&out)
    } else {
        Vec::new()
    };
    Migrated {
        run,
        report,
        entries,
        out,
    }
}

/// Builds the snapshot and runs `migrate` on it.
pub fn run_on(tables: &[Table], args: &[&str]) -> (tempfile::TempDir, Migrated) {
    let dir = tempfile::tempdir().unwrap();
    let input = snapshot(dir.path(), tables);
    let m = migrate(&input, args);
    (dir, m)
}

/// The fields of a document without `_id` and `_creationTime`.
pub fn body(doc: &Json) -> Json {
    let mut d = doc.clone();
    let m = d.as_object_mut().unwrap();
    m.shift_remove("_id");
    m.shift_remove("_creationTime");
    d
}

/// The table number an `_id` encodes.
pub fn number_of(id: &str) -> u32 {
    convex_snapshot::id::DocumentId::decode(id)
        .expect("a valid ID")
        .table_number
}

/// Runs `validate` on a ZIP and asserts it is clean.
pub fn assert_valid(path: &Path) {
    let r = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "validate failed:\n{}\n{}", r.stdout, r.stderr);
}
