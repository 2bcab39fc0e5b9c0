//! `diff`: each kind of difference, equal snapshots in different containers
//! and formats, components, storage, the options, bad input.

use serde_json::{Value as Json, json};

use crate::common::*;

fn users(docs: &[String]) -> Vec<(String, Vec<u8>)> {
    one_table(
        "users",
        10001,
        &docs.iter().map(|d| format!("{d}\n")).collect::<String>(),
    )
}

fn user(n: u8, rest: &str) -> String {
    format!(
        "{{\"_creationTime\":{n}.5,\"_id\":\"{}\",{rest}}}",
        id(10001, n)
    )
}

fn diff_json(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], extra: &[&str]) -> (Run, Json) {
    let dir = tempfile::tempdir().unwrap();
    let pa = make_zip(dir.path(), "a.zip", &refs(a));
    let pb = make_zip(dir.path(), "b.zip", &refs(b));
    let mut args = vec!["diff", pa.to_str().unwrap(), pb.to_str().unwrap(), "--json"];
    args.extend(extra);
    let r = run(&args);
    let j = serde_json::from_str(&r.stdout).unwrap_or(Json::Null);
    (r, j)
}

fn table<'a>(d: &'a Json, name: &str) -> &'a Json {
    d["components"][0]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {d:#}"))
}

#[test]
fn identical_snapshots_in_a_zip_and_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let entries = read_zip(&sample());
    let unzipped = make_dir(dir.path(), "export", &refs(&entries));
    for b in [sample(), unzipped] {
        let r = run(&["diff".as_ref(), sample().as_os_str(), b.as_os_str()]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("hold the same data"), "{}", r.stdout);
    }
}

#[test]
fn added_removed_and_changed_documents_with_field_paths() {
    let a = users(&[
        user(
            1,
            r#""n":5,"profile":{"age":30.0,"city":"Oslo"},"tags":["a","b"]"#,
        ),
        user(2, r#""n":1.0"#),
        user(3, r#""a":1.0,"b":2.0"#),
    ]);
    let b = users(&[
        user(1, r#""n":5.0,"profile":{"age":31.0},"tags":["a","c","d"]"#),
        // Same value, other key order: not a change.
        user(3, r#""b":2.0,"a":1.0"#),
        user(4, r#""n":2.0"#),
    ]);
    let (r, d) = diff_json(&a, &b, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(d["equal"], json!(false));
    let t = table(&d, "users");
    assert_eq!(
        (
            t["added"].clone(),
            t["removed"].clone(),
            t["changed"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(t["status"], json!("changed"));
    assert_eq!(t["documents"]["added"][0]["id"], json!(id(10001, 4)));
    assert_eq!(t["documents"]["removed"][0]["document"]["n"], json!(1.0));
    let changes = &t["documents"]["changed"][0]["changes"];
    assert_eq!(
        changes,
        &json!([
            // The types say what JSON readers cannot see: 5 became 5.0.
            {"path": "n", "kind": "changed", "old": 5, "new": 5.0, "oldType": "int64", "newType": "float64"},
            {"path": "profile.age", "kind": "changed", "old": 30.0, "new": 31.0, "oldType": "float64", "newType": "float64"},
            {"path": "profile.city", "kind": "removed", "old": "Oslo", "oldType": "string"},
            {"path": "tags[1]", "kind": "changed", "old": "b", "new": "c", "oldType": "string", "newType": "string"},
            {"path": "tags[2]", "kind": "added", "new": "d", "newType": "string"},
        ])
    );
    assert_eq!(
        t["shape"]["typesChanged"],
        json!([{"field": "n", "added": [], "removed": ["int64"]}])
    );
    // The text report says the same.
    let (r, _) = diff_json(&a, &b, &["--limit", "10"]);
    assert_eq!(r.code, 1);
}

#[test]
fn stat_limit_and_table_filter() {
    let a = users(&[
        user(1, r#""x":1.0"#),
        user(2, r#""x":1.0"#),
        user(3, r#""x":1.0"#),
    ]);
    let b = users(&[
        user(1, r#""x":2.0"#),
        user(2, r#""x":2.0"#),
        user(3, r#""x":2.0"#),
    ]);
    let (_, d) = diff_json(&a, &b, &["--stat"]);
    let t = table(&d, "users");
    assert_eq!(t["changed"], json!(3));
    assert!(t.get("documents").is_none());
    let (_, d) = diff_json(&a, &b, &["--limit", "1"]);
    assert_eq!(
        table(&d, "users")["documents"]["changed"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        table(&d, "users")["documents"]["changed"][0]["id"],
        json!(id(10001, 1))
    );
    // A table neither snapshot has is an error that lists the tables.
    let (r, _) = diff_json(&a, &b, &["--table", "other"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--table other: neither snapshot has such a table; they have: users"),
        "{}",
        r.stderr
    );
}

#[test]
fn tables_added_removed_and_renumbered_and_shape() {
    let mut a = one_table(
        "users",
        10001,
        &format!("{}\n", user(1, r#""x":1.0,"old":true"#)),
    );
    a.push(("posts/documents.jsonl".into(), b"".to_vec()));
    a[0].1 = b"{\"name\":\"users\",\"id\":10001}\n{\"name\":\"posts\",\"id\":10002}\n".to_vec();
    // B: users renumbered to 10005 (IDs re-encoded, same internal bytes), a
    // field gone and one new, posts gone, comments new.
    let renumbered = {
        let mut internal = [1u8; 16];
        internal[0] = 0x10;
        convex_snapshot::id::DocumentId::new(10005, internal).encode()
    };
    let b = vec![
        (
            "_tables/documents.jsonl".to_owned(),
            b"{\"name\":\"users\",\"id\":10005}\n{\"name\":\"comments\",\"id\":10006}\n".to_vec(),
        ),
        (
            "users/documents.jsonl".to_owned(),
            format!("{{\"_creationTime\":1.5,\"_id\":\"{renumbered}\",\"new\":\"s\",\"x\":1.0}}\n")
                .into_bytes(),
        ),
        (
            "users/generated_schema.jsonl".to_owned(),
            b"\"uniform\"\n".to_vec(),
        ),
        ("comments/documents.jsonl".to_owned(), b"".to_vec()),
    ];
    let (r, d) = diff_json(&a, &b, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(
        d["components"][0]["numbers"],
        json!([{"table": "users", "a": 10001, "b": 10005}])
    );
    assert_eq!(table(&d, "posts")["status"], json!("removed"));
    assert_eq!(table(&d, "comments")["status"], json!("added"));
    let users = table(&d, "users");
    assert_eq!(users["changed"], json!(1), "matched across the renumbering");
    assert_eq!(users["shape"]["fieldsAdded"], json!(["new"]));
    assert_eq!(users["shape"]["fieldsRemoved"], json!(["old"]));
}

#[test]
fn components_and_storage() {
    let blob = |id: &str| format!("_storage/{id}");
    let sid = |n: u8| id(540, n);
    let meta = |n: u8, sha: &str| {
        format!(
            "{{\"_creationTime\":1.5,\"_id\":\"{}\",\"sha256\":\"{sha}\",\"size\":1}}\n",
            sid(n)
        )
    };
    let a = vec![
        ("_tables/documents.jsonl".to_owned(), b"".to_vec()),
        (
            "_components/auth/_tables/documents.jsonl".to_owned(),
            b"{\"name\":\"sessions\",\"id\":10001}\n".to_vec(),
        ),
        (
            "_components/auth/sessions/documents.jsonl".to_owned(),
            format!("{}\n", user(1, r#""k":"a""#)).into_bytes(),
        ),
        (
            "_storage/documents.jsonl".to_owned(),
            format!("{}{}", meta(1, "AAA="), meta(2, "BBB=")).into_bytes(),
        ),
        (blob(&sid(1)), b"1".to_vec()),
        (blob(&sid(2)), b"2".to_vec()),
    ];
    let b = vec![
        ("_tables/documents.jsonl".to_owned(), b"".to_vec()),
        (
            "_components/auth/_tables/documents.jsonl".to_owned(),
            b"{\"name\":\"sessions\",\"id\":10001}\n".to_vec(),
        ),
        (
            "_components/auth/sessions/documents.jsonl".to_owned(),
            format!("{}\n", user(1, r#""k":"b""#)).into_bytes(),
        ),
        (
            "_storage/documents.jsonl".to_owned(),
            format!("{}{}", meta(1, "CCC="), meta(3, "DDD=")).into_bytes(),
        ),
        (blob(&sid(1)), b"x".to_vec()),
        (blob(&sid(3)), b"3".to_vec()),
    ];
    let (r, d) = diff_json(&a, &b, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let comps = d["components"].as_array().unwrap();
    let root = comps.iter().find(|c| c["path"] == "(root)").unwrap();
    assert_eq!(
        root["storage"],
        json!({"added": [sid(3)], "removed": [sid(2)], "changed": [sid(1)]})
    );
    let auth = comps.iter().find(|c| c["path"] == "auth").unwrap();
    assert_eq!(auth["status"], json!("changed"));
    assert_eq!(auth["tables"][0]["name"], json!("auth/sessions"));
    assert_eq!(auth["tables"][0]["changed"], json!(1));
}

#[test]
fn values_are_compared_as_convex_values_across_formats() {
    // No sidecar: every number is a Float64, so `1` there equals `1.0` in a
    // uniform table, and differs from a uniform `1` (an Int64).
    let missing = vec![
        (
            "_tables/documents.jsonl".to_owned(),
            b"{\"name\":\"users\",\"id\":10001}\n".to_vec(),
        ),
        (
            "users/documents.jsonl".to_owned(),
            format!("{}\n", user(1, r#""n":1"#)).into_bytes(),
        ),
    ];
    let float = users(&[user(1, r#""n":1.0"#)]);
    let int = users(&[user(1, r#""n":1"#)]);
    let (r, _) = diff_json(&missing, &float, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let (r, d) = diff_json(&missing, &int, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(table(&d, "users")["changed"], json!(1));
}

#[test]
fn bad_input_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = make_zip(
        dir.path(),
        "bad.zip",
        &refs(&users(&["{not json".to_owned()])),
    );
    let r = run(&["diff".as_ref(), sample().as_os_str(), bad.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("users/documents.jsonl line 1"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "diff".as_ref(),
        sample().as_os_str(),
        dir.path().join("nope.zip").as_os_str(),
    ]);
    assert_eq!(r.code, 2);
}
