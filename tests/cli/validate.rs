//! `validate`: each importer rule, found with its entry and line.

use crate::common::*;

const T: u32 = 10001;

fn ct(n: u8) -> String {
    format!("1754150400{n:03}.5")
}

fn doc(n: u8, rest: &str) -> String {
    let sep = if rest.is_empty() { "" } else { "," };
    format!(
        "{{\"_creationTime\":{},\"_id\":\"{}\"{sep}{rest}}}\n",
        ct(n),
        id(T, n)
    )
}

fn validate_entries(entries: &[(String, Vec<u8>)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let zip = make_zip(dir.path(), "s.zip", &refs(entries));
    run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--max-problems".as_ref(),
        "1000".as_ref(),
    ])
}

fn validate_docs(docs: &str) -> Run {
    validate_entries(&one_table("videos", T, docs))
}

#[track_caller]
fn assert_problem(run: &Run, needle: &str) {
    assert_eq!(run.code, 1, "expected exit 1\n{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(needle),
        "expected {needle:?} in:\n{}",
        run.stdout
    );
}

#[test]
fn clean_snapshot_exits_zero() {
    let docs = doc(1, "\"name\":\"a\"") + &doc(2, "\"n\":5,\"b\":{\"$bytes\":\"aGk=\"}");
    let r = validate_docs(&docs);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("1 tables, 2 documents: 0 errors, 0 warnings"),
        "{}",
        r.stdout
    );
}

#[test]
fn document_rules_each_found_with_entry_and_line() {
    let deep = "{\"a\":".repeat(16) + "1" + &"}".repeat(16);
    let wide = (0..1025)
        .map(|i| format!("\"f{i}\":1"))
        .collect::<Vec<_>>()
        .join(",");
    let long = (0..8193).map(|_| "1").collect::<Vec<_>>().join(",");
    let big = "x".repeat(1 << 20);
    let value = "line 1: not a valid Convex value:";
    let cases: Vec<(String, String)> = vec![
        (
            "{\"_creationTime\":1.5,\"_id\":\"notanid\"}\n".into(),
            "line 1: InvalidId: invalid _id \"notanid\"".into(),
        ),
        (
            format!("{{\"_creationTime\":1.5,\"_id\":\"{}\"}}\n", id(10002, 1)),
            "line 1: ImportConflict: 1 _id(s) encode table number 10002".into(),
        ),
        (
            format!(
                "{}{{\"_creationTime\":1.5,\"_id\":\"{}\"}}\n",
                doc(1, ""),
                id(T, 1)
            ),
            "line 2: DuplicateId: same _id as line 1".into(),
        ),
        (
            format!(
                "{{\"_creationTime\":1700000000000,\"_id\":\"{}\"}}\n",
                id(T, 1)
            ),
            "line 1: InvalidCreationTimeError: _creationTime 1700000000000 is an Int64".into(),
        ),
        (
            format!("{{\"_creationTime\":0.0,\"_id\":\"{}\"}}\n", id(T, 1)),
            "line 1: CreationTimeInvalidFloat".into(),
        ),
        (
            format!(
                "{{\"_creationTime\":9007199254740992.0,\"_id\":\"{}\"}}\n",
                id(T, 1)
            ),
            "line 1: CreationTimeInvalidFloat".into(),
        ),
        (
            doc(1, "\"_secret\":1"),
            "line 1: SystemField: top-level field \"_secret\"".into(),
        ),
        (
            doc(1, "\"a\":{\"$x\":1}"),
            format!("{value} field name \"$x\" starts with '$'"),
        ),
        (
            doc(1, "\"a\":{\"b\":1,\"$bytes\":\"aGk=\"}"),
            format!("{value} field name \"$bytes\" starts with '$'"),
        ),
        (
            doc(1, "\"é\":1"),
            format!("{value} field name \"é\" has a character that is not printable ASCII"),
        ),
        (
            doc(1, &format!("\"x\":{deep}")),
            "line 1: document nesting 17 is deeper than 16".into(),
        ),
        (
            doc(1, &format!("\"x\":{{{wide}}}")),
            "line 1: an object has 1025 fields".into(),
        ),
        (
            doc(1, &format!("\"x\":[{long}]")),
            "line 1: an array has 8193 elements".into(),
        ),
        (
            doc(1, &format!("\"x\":\"{big}\"")),
            "line 1: document size 1048643 is over the 1 MiB limit".into(),
        ),
        (
            doc(1, "\"x\":{\"$float\":\"AAAAAAAA8D8=\"}"),
            format!("{value} $float 1 should be encoded as a number"),
        ),
        (doc(1, "") + "\n" + &doc(2, ""), "line 2: blank line".into()),
        (
            doc(1, "") + "[1,2]\n",
            "line 2: expected a JSON object, found an array".into(),
        ),
        (doc(1, "") + "{\"a\":\n", "line 2: not valid JSON".into()),
        (
            "\u{feff}".to_string() + &doc(1, ""),
            "line 1: starts with a UTF-8 byte order mark".into(),
        ),
    ];
    for (docs, needle) in cases {
        let r = validate_docs(&docs);
        assert_problem(&r, &format!("error: videos/documents.jsonl {needle}"));
    }
}

#[test]
fn tables_listing_rules() {
    let mut e = one_table("videos", T, &doc(1, ""));
    e[0].1 = format!(
        "{{\"name\":\"videos\",\"id\":{T}}}\n{{\"name\":\"videos\",\"id\":10002}}\n{{\"name\":\"other\",\"id\":{T}}}\n"
    )
    .into_bytes();
    let r = validate_entries(&e);
    assert_problem(&r, "_tables/documents.jsonl line 2: DuplicateTableName");
    assert_problem(
        &r,
        "_tables/documents.jsonl line 3: InvalidId: conflict between `videos` and `other` with number 10001",
    );
    assert_problem(
        &r,
        "warning: _tables/documents.jsonl: table other is listed but has no documents.jsonl",
    );

    let mut e = one_table("videos", T, &doc(1, ""));
    e[0].1 = b"{\"name\":\"other\",\"id\":10009}\n".to_vec();
    e.push(("other/documents.jsonl".into(), Vec::new()));
    let r = validate_entries(&e);
    assert_eq!(r.code, 0, "warnings alone pass: {}", r.stdout);
    assert!(
        r.stdout
            .contains("warning: _tables/documents.jsonl: table videos is shipped but not listed"),
        "{}",
        r.stdout
    );
    let strict = {
        let dir = tempfile::tempdir().unwrap();
        let zip = make_zip(dir.path(), "s.zip", &refs(&e));
        run(&[
            "validate".as_ref(),
            zip.as_os_str(),
            "--deny-warnings".as_ref(),
        ])
    };
    assert_eq!(strict.code, 1);

    let mut e = one_table("videos", T, &doc(1, ""));
    e[0].1 = b"{\"name\":\"videos\",\"id\":0}\n".to_vec();
    assert_problem(
        &validate_entries(&e),
        "_tables/documents.jsonl line 1: table \"videos\" requires a positive \"id\"",
    );
}

#[test]
fn entry_level_rules() {
    let mut e = one_table("videos", T, &doc(1, ""));
    e.push(("my-dir/documents.jsonl".into(), Vec::new()));
    e.push(("_components/bad-name/t/documents.jsonl".into(), Vec::new()));
    e.push(("_scheduled_functions/documents.jsonl".into(), Vec::new()));
    e.push(("notes.txt".into(), b"hi".to_vec()));
    let r = validate_entries(&e);
    assert_problem(&r, "error: my-dir/documents.jsonl: InvalidTableName");
    assert_problem(
        &r,
        "error: _components/bad-name/t/documents.jsonl: InvalidComponentName",
    );
    assert_problem(
        &r,
        "warning: _scheduled_functions/documents.jsonl: system table _scheduled_functions is skipped",
    );
    assert_problem(&r, "warning: notes.txt: ignored by the importer");
}

#[test]
fn generated_schema_rules() {
    for (schema, needle) in [
        (
            &b""[..],
            "videos/generated_schema.jsonl line 1: generated schema is not valid JSON",
        ),
        (
            b"5\n",
            "videos/generated_schema.jsonl line 1: first line of generated_schema must be a string",
        ),
        (
            b"\"nonsense<\"\n",
            "videos/generated_schema.jsonl line 1: cannot parse generated schema: unexpected token at 'nonsense<'",
        ),
    ] {
        let mut e = one_table("videos", T, &doc(1, ""));
        e[2].1 = schema.to_vec();
        assert_problem(&validate_entries(&e), needle);
    }
    let mut e = one_table("videos", T, &doc(1, "\"n\":5"));
    e.pop();
    let r = validate_entries(&e);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("warning: videos/documents.jsonl: no generated_schema.jsonl: every number imports as Float64"), "{}", r.stdout);
}

#[test]
fn storage_rules() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let blob = b"fake mp4 bytes".to_vec();
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&blob));
    let (a, b, c) = (id(540, 1), id(540, 2), id(540, 3));
    let meta = format!(
        "{{\"_id\":\"{a}\",\"_creationTime\":1.5,\"sha256\":\"{sha}\",\"size\":14,\"contentType\":\"video/mp4\",\"internalId\":\"x\"}}\n\
         {{\"_id\":\"{b}\",\"sha256\":\"AAAA\"}}\n\
         {{\"_id\":\"{c}\"}}\n\
         {{\"_id\":\"{}\"}}\n",
        id(541, 4)
    );
    let mut e = one_table("videos", T, &doc(1, ""));
    e.push(("_storage/documents.jsonl".into(), meta.into_bytes()));
    e.push((format!("_storage/{a}.mp4"), blob.clone()));
    e.push((format!("_storage/{b}"), blob.clone()));
    e.push(("_storage/cover.png".into(), blob.clone()));
    let r = validate_entries(&e);
    assert_problem(&r, &format!("error: _storage/{b}: Sha256Mismatch"));
    assert_problem(&r, "error: _storage/cover.png: InvalidStorageId: \"cover\"");
    assert_problem(
        &r,
        "_storage/documents.jsonl line 4: InvalidId: _storage entry has invalid ID",
    );
    assert_problem(
        &r,
        &format!("warning: _storage/documents.jsonl line 3: file {c} has no blob"),
    );
    assert!(
        !r.stdout.contains(&format!("_storage/{a}.mp4")),
        "{}",
        r.stdout
    );
}

#[test]
fn json_report_and_problem_cap() {
    let docs: String = (1..=30)
        .map(|n| format!("{{\"_creationTime\":1.5,\"_id\":\"bad{n}\"}}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let zip = make_zip(dir.path(), "s.zip", &refs(&one_table("videos", T, &docs)));
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--json".as_ref(),
        "--max-problems".as_ref(),
        "5".as_ref(),
    ]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"], 30);
    assert_eq!(v["documents"], 30);
    assert_eq!(v["problems"].as_array().unwrap().len(), 5);
    assert_eq!(v["problems"][0]["entry"], "videos/documents.jsonl");
    assert_eq!(v["problems"][0]["line"], 1);
    assert_eq!(v["problems"][4]["line"], 5);
    let text = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--max-problems".as_ref(),
        "3".as_ref(),
    ]);
    assert!(
        text.stdout.contains("… 27 more not shown"),
        "{}",
        text.stdout
    );
}

#[test]
fn the_shipped_sample_is_clean() {
    let r = run(&[
        "validate".as_ref(),
        sample().as_os_str(),
        "--deny-warnings".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn components_are_checked_in_their_own_number_space() {
    let mut e = one_table("videos", T, &doc(1, ""));
    e.push((
        "_components/waitlist/_tables/documents.jsonl".into(),
        format!("{{\"name\":\"entries\",\"id\":{T}}}\n").into_bytes(),
    ));
    e.push((
        "_components/waitlist/entries/documents.jsonl".into(),
        doc(2, "\"email\":\"a@b.c\"").into_bytes(),
    ));
    e.push((
        "_components/waitlist/entries/generated_schema.jsonl".into(),
        b"\"uniform\"\n".to_vec(),
    ));
    let r = validate_entries(&e);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("2 tables, 2 documents"), "{}", r.stdout);
}
