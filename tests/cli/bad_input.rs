//! Bad input: one clear error naming what and where, exit 2, nothing written.

use std::path::Path;

use crate::common::*;

/// Runs `migrate IN -o dir/out.zip` and `inspect IN`; both must fail with
/// exit 2 and `needle` in the message, leaving only the input in `dir`.
#[track_caller]
fn assert_rejected(dir: &Path, input: &Path, needle: &str) {
    let before = files_in(dir);
    let out = dir.join("out.zip");
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 2, "migrate: {}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "migrate: {needle:?} not in {}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "one error line: {}", r.stderr);
    assert_eq!(files_in(dir), before, "nothing written");
    let r = run(&["inspect".as_ref(), input.as_os_str()]);
    assert_eq!(r.code, 2, "inspect: {}", r.stdout);
    assert!(
        r.stderr.contains(needle),
        "inspect: {needle:?} not in {}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.zip");
    std::fs::write(&p, "just some text\n").unwrap();
    assert_rejected(dir.path(), &p, "notes.zip is not a readable ZIP archive");
    let r = run(&["validate".as_ref(), p.as_os_str()]);
    assert_eq!(r.code, 2);
}

#[test]
fn truncated_zip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.zip");
    let data = std::fs::read(sample()).unwrap();
    std::fs::write(&p, &data[..data.len() / 2]).unwrap();
    assert_rejected(dir.path(), &p, "cut.zip is not a readable ZIP archive");
}

#[test]
fn crc_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let docs = format!(
        "{{\"_creationTime\":1.5,\"_id\":\"{}\",\"name\":\"UNIQUEMARKER\"}}\n",
        id(10001, 1)
    );
    let p = make_zip(
        dir.path(),
        "crc.zip",
        &refs(&one_table("users", 10001, &docs)),
    );
    let mut data = std::fs::read(&p).unwrap();
    let at = data.windows(12).position(|w| w == b"UNIQUEMARKER").unwrap();
    data[at] = b'X';
    std::fs::write(&p, data).unwrap();
    assert_rejected(dir.path(), &p, "users/documents.jsonl: Invalid checksum");
    let r = run(&["validate".as_ref(), p.as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stdout);
}

#[test]
fn line_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let docs = format!(
        "{{\"_creationTime\":1.5,\"_id\":\"{}\"}}\n{{oops\n",
        id(10001, 1)
    );
    let p = make_zip(
        dir.path(),
        "s.zip",
        &refs(&one_table("users", 10001, &docs)),
    );
    assert_rejected(
        dir.path(),
        &p,
        "users/documents.jsonl line 2: not valid JSON: key must be a string",
    );
}

#[test]
fn row_that_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let p = make_zip(
        dir.path(),
        "s.zip",
        &refs(&one_table("users", 10001, "\"hello\"\n")),
    );
    assert_rejected(
        dir.path(),
        &p,
        "users/documents.jsonl line 1: expected a JSON object, found a string",
    );
}

#[test]
fn bad_tables_line_and_bad_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = one_table("users", 10001, "");
    e[0].1 = b"{\"name\":\"users\",\"id\":10001}\nnot json\n".to_vec();
    let p = make_zip(dir.path(), "s.zip", &refs(&e));
    assert_rejected(
        dir.path(),
        &p,
        "_tables/documents.jsonl line 2: not valid JSON",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut e = one_table("users", 10001, "");
    e[2].1 = b"\"uniform-ish\"\n".to_vec();
    let p = make_zip(dir.path(), "s.zip", &refs(&e));
    assert_rejected(
        dir.path(),
        &p,
        "users/generated_schema.jsonl line 1: cannot parse generated schema: unexpected token at 'uniform-ish'",
    );
}

#[test]
fn unreadable_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.zip");
    assert_rejected(dir.path(), &missing, "cannot read");
    for cmd in ["validate", "inspect"] {
        let r = run(&[cmd.as_ref(), missing.as_os_str()]);
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains("nope.zip: No such file or directory"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["inspect"]).code, 2);
    assert_eq!(run(&["frobnicate"]).code, 2);
    assert_eq!(run(&["--threads", "0", "inspect", "x"]).code, 2);
}

#[test]
fn a_row_that_is_a_special_value_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let p = make_zip(
        dir.path(),
        "s.zip",
        &refs(&one_table("videos", 10002, "{\"$bytes\":\"AAE=\"}\n")),
    );
    let r = run(&["validate".as_ref(), p.as_os_str()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("videos/documents.jsonl line 1: not a valid Convex value: the row is a bytes value, not a document"),
        "{}",
        r.stdout
    );
    let out = dir.path().join("out.zip");
    let r = run(&[
        "migrate".as_ref(),
        p.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "cleanupVideoFields".as_ref(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("the row is a bytes value"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}
