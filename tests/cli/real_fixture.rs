//! Real export data (../shared/fixtures/real/anouk-app, legacy format). The
//! build script sets `real_fixtures` when that folder is beside the checkout;
//! without it these tests are ignored (and counted as such), not passed.

use std::path::PathBuf;

use convex_snapshot::snapshot::Snapshot;
use convex_snapshot::value::{decode_document, encode_document, parse_json_line};

use crate::common::*;

fn anouk() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real/anouk-app");
    assert!(p.is_dir(), "{} is not here", p.display());
    p
}

#[test]
#[cfg_attr(
    not(real_fixtures),
    ignore = "needs ../shared/fixtures/real beside the checkout"
)]
fn inspect_reads_the_legacy_export() {
    let dir = anouk();
    let r = run(&["inspect".as_ref(), dir.as_os_str(), "--json".as_ref()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "directory");
    assert_eq!(v["documents"], 52);
    let tables = v["components"][0]["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 11);
    assert!(tables.iter().all(|t| t["format"] == "legacy"));
    let profiles = tables.iter().find(|t| t["name"] == "profiles").unwrap();
    assert_eq!(profiles["number"], 10010);
    assert_eq!(profiles["rows"], 4);
    assert_eq!(profiles["fields"]["hardMode"]["types"]["boolean"], 4);
    let progress = tables.iter().find(|t| t["name"] == "userProgress").unwrap();
    assert_eq!(progress["rows"], 21);
    assert_eq!(progress["fields"]["completedAt"]["types"]["float64"], 21);
    assert_eq!(v["components"][0]["storage"]["files"], 0);
}

#[test]
#[cfg_attr(
    not(real_fixtures),
    ignore = "needs ../shared/fixtures/real beside the checkout"
)]
fn validate_finds_it_clean() {
    let dir = anouk();
    let r = run(&[
        "validate".as_ref(),
        dir.as_os_str(),
        "--deny-warnings".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("11 tables, 52 documents: 0 errors, 0 warnings"),
        "{}",
        r.stdout
    );
}

#[test]
#[cfg_attr(
    not(real_fixtures),
    ignore = "needs ../shared/fixtures/real beside the checkout"
)]
fn copy_through_keeps_every_file() {
    let dir = anouk();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("anouk.zip");
    let r = run(&[
        "migrate".as_ref(),
        dir.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = read_zip(&out);
    assert_eq!(got.len(), 24);
    for (name, data) in got {
        assert_eq!(data, std::fs::read(dir.join(&name)).unwrap(), "{name}");
    }
    let r = run(&[
        "validate".as_ref(),
        out.as_os_str(),
        "--deny-warnings".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
#[cfg_attr(
    not(real_fixtures),
    ignore = "needs ../shared/fixtures/real beside the checkout"
)]
fn every_legacy_row_reencodes_to_its_exact_bytes() {
    let dir = anouk();
    let snap = Snapshot::open(&dir).unwrap();
    let mut rows = 0;
    for comp in snap.components.values() {
        for table in comp.tables.values() {
            let format = snap.table_format(table).unwrap();
            let data = snap.archive.read_all(table.documents.unwrap()).unwrap();
            for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v = decode_document(&parse_json_line(line).unwrap(), &format).unwrap();
                assert_eq!(
                    String::from_utf8(encode_document(&v, &format).unwrap()).unwrap(),
                    String::from_utf8(line.to_vec()).unwrap()
                );
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 52);
}

#[test]
#[cfg_attr(
    not(real_fixtures),
    ignore = "needs ../shared/fixtures/real beside the checkout"
)]
fn init_on_the_legacy_export_adds_legacy_tables_that_validate() {
    let dir = anouk();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.zip");
    let r = run(&[
        "migrate".as_ref(),
        dir.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "init".as_ref(),
        "--new-app".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        report["migrations"][0]["result"]["configurationsCreated"],
        11
    );
    let entries = read_zip(&out);
    let sidecar = &entries
        .iter()
        .find(|(n, _)| n == "configurations/generated_schema.jsonl")
        .unwrap()
        .1;
    assert_eq!(sidecar, b"\"unknown\"\n");
    // The original tables are untouched, every one.
    let before = convex_snapshot::snapshot::Snapshot::open(&dir).unwrap();
    for (i, e) in before.archive.entries().iter().enumerate() {
        if e.name == "_tables/documents.jsonl" {
            continue;
        }
        let data = before.archive.read_all(i).unwrap();
        let got = entries.iter().find(|(n, _)| *n == e.name).unwrap();
        assert_eq!(got.1, data, "{}", e.name);
    }
    let v = run(&["validate".as_ref(), out.as_os_str()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

#[test]
#[cfg_attr(
    not(real_fixtures),
    ignore = "needs ../shared/fixtures/real beside the checkout"
)]
fn a_drafted_schema_accepts_the_real_export() {
    crate::schema::draft_accepts_its_source(&anouk());
}
