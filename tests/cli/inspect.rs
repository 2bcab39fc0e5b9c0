//! `inspect`: tables, numbers, rows, sizes, formats, fields, storage.

use crate::common::*;

#[test]
fn reports_tables_formats_fields_and_storage_as_json() {
    let docs = format!(
        "{{\"_creationTime\":1.5,\"_id\":\"{}\",\"n\":5,\"t\":\"x\"}}\n{{\"_creationTime\":2.5,\"_id\":\"{}\",\"n\":5.0}}\n",
        id(10001, 1),
        id(10001, 2)
    );
    let mut e = one_table("videos", 10001, &docs);
    e[0].1 = b"{\"name\":\"videos\",\"id\":10001}\n{\"name\":\"legacy\",\"id\":10002}\n".to_vec();
    e.push((
        "legacy/documents.jsonl".into(),
        format!(
            "{{\"_creationTime\":1.5,\"_id\":\"{}\",\"big\":\"12\"}}\n",
            id(10002, 1)
        )
        .into_bytes(),
    ));
    e.push((
        "legacy/generated_schema.jsonl".into(),
        b"\"{\\\"_creationTime\\\": normalfloat64, \\\"_id\\\": id<10002>, \\\"big\\\": int64}\"\n"
            .to_vec(),
    ));
    e.push(("README.md".into(), b"hello".to_vec()));
    let dir = tempfile::tempdir().unwrap();
    let zip = make_zip(dir.path(), "s.zip", &refs(&e));
    let r = run(&["inspect".as_ref(), zip.as_os_str(), "--json".as_ref()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "zip");
    assert_eq!(v["documents"], 3);
    let tables = v["components"][0]["tables"].as_array().unwrap();
    let legacy = &tables[0];
    assert_eq!(legacy["name"], "legacy");
    assert_eq!(legacy["format"], "legacy");
    assert_eq!(legacy["fields"]["big"]["types"]["int64"], 1);
    let videos = &tables[1];
    assert_eq!(videos["name"], "videos");
    assert_eq!(videos["number"], 10001);
    assert_eq!(videos["rows"], 2);
    assert_eq!(videos["format"], "uniform");
    assert_eq!(videos["uncompressedBytes"], docs.len());
    assert_eq!(videos["compressedBytes"], docs.len(), "Stored entries");
    assert_eq!(videos["fields"]["n"]["present"], 2);
    assert_eq!(videos["fields"]["n"]["types"]["int64"], 1);
    assert_eq!(videos["fields"]["n"]["types"]["float64"], 1);
    assert_eq!(videos["fields"]["t"]["present"], 1);
}

#[test]
fn text_report_on_the_sample() {
    let r = run(&["inspect".as_ref(), sample().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "1 components, 10 tables",
        "videos               10002",
        "uniform",
        "_storage: ",
        "fields of videos",
        "nothing unusual",
    ] {
        assert!(r.stdout.contains(needle), "{needle:?} not in\n{}", r.stdout);
    }
}

#[test]
fn unusual_entries_are_reported() {
    let mut e = one_table("videos", 10001, "");
    e.push(("__MACOSX/._videos".into(), b"x".to_vec()));
    let dir = tempfile::tempdir().unwrap();
    let zip = make_zip(dir.path(), "s.zip", &refs(&e));
    let r = run(&["inspect".as_ref(), zip.as_os_str()]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("unusual (0 errors, 1 warnings"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("__MACOSX/._videos: ignored by the importer"),
        "{}",
        r.stdout
    );
}
