//! `validate --schema` and `inspect --schema-ts`: the app's schema.ts loaded
//! and every document checked, through the binary.

use std::path::{Path, PathBuf};

use crate::common::*;

const USERS: u32 = 10001;
const POSTS: u32 = 10002;

fn example_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/videoai/convex")
}

/// A snapshot of `users` and `posts` in a temporary folder.
fn two_tables(dir: &Path, users: &str, posts: &str) -> PathBuf {
    let entries = vec![
        (
            "_tables/documents.jsonl".to_owned(),
            format!(
                "{{\"name\":\"users\",\"id\":{USERS}}}\n{{\"name\":\"posts\",\"id\":{POSTS}}}\n"
            )
            .into_bytes(),
        ),
        ("users/documents.jsonl".into(), users.as_bytes().to_vec()),
        (
            "users/generated_schema.jsonl".into(),
            b"\"uniform\"\n".to_vec(),
        ),
        ("posts/documents.jsonl".into(), posts.as_bytes().to_vec()),
        (
            "posts/generated_schema.jsonl".into(),
            b"\"uniform\"\n".to_vec(),
        ),
    ];
    make_zip(dir, "s.zip", &refs(&entries))
}

fn row(table: u32, n: u8, rest: &str) -> String {
    format!(
        "{{\"_creationTime\":1754150400{n:03}.5,\"_id\":\"{}\",{rest}}}\n",
        id(table, n)
    )
}

fn schema_dir(dir: &Path, text: &str) -> PathBuf {
    let d = dir.join("convex");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("schema.ts"), text).unwrap();
    d
}

const SCHEMA: &str = r#"import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({
  users: defineTable({ name: v.string(), age: v.optional(v.int64()) }),
  posts: defineTable({ author: v.id("users"), title: v.string() }).index("by_author", ["author"]),
  comments: defineTable({ body: v.string() }),
});
"#;

#[test]
fn every_mismatch_is_listed_with_the_document_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let users =
        row(USERS, 1, r#""name":"Ada","age":36"#) + &row(USERS, 2, r#""name":"Bob","age":36.0"#);
    let posts = row(
        POSTS,
        1,
        &format!(r#""author":"{}","title":"a""#, id(USERS, 1)),
    ) + &row(
        POSTS,
        2,
        &format!(r#""author":"{}","title":"b","draft":true"#, id(POSTS, 1)),
    );
    let zip = two_tables(dir.path(), &users, &posts);
    let schema = schema_dir(dir.path(), SCHEMA);
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--schema".as_ref(),
        schema.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let bob = id(USERS, 2);
    let p2 = id(POSTS, 2);
    let p1 = id(POSTS, 1);
    for needle in [
        format!(
            "error: users/documents.jsonl line 2: SchemaMismatch: document {bob} at .age: expected v.int64(), found the Float64 36"
        ),
        format!(
            "error: posts/documents.jsonl line 2: SchemaMismatch: document {p2} at .author: expected v.id(\"users\"), found an ID of table posts (\"{p1}\")"
        ),
        format!(
            "error: posts/documents.jsonl line 2: SchemaMismatch: document {p2}: extra field `draft` that the validator does not have (it holds the boolean true)"
        ),
        "2 of 4 documents in 2 tables do not match".to_owned(),
        "in the schema with no documents in the snapshot: comments".to_owned(),
        ": 2 tables, 4 documents: 3 errors, 0 warnings".to_owned(),
    ] {
        assert!(r.stdout.contains(&needle), "{needle}\n{}", r.stdout);
    }
    // The same as JSON.
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--json".as_ref(),
        "--schema".as_ref(),
        schema.as_os_str(),
    ]);
    assert_eq!(r.code, 1);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["schema"]["documentsFailing"], 2);
    assert_eq!(j["schema"]["documentsChecked"], 4);
    assert_eq!(j["schema"]["enforced"], true);
    assert_eq!(
        j["schema"]["notInSnapshot"],
        serde_json::json!(["comments"])
    );
    assert_eq!(j["problems"].as_array().unwrap().len(), 3);
    // Without --schema the snapshot imports cleanly.
    assert_eq!(run(&["validate".as_ref(), zip.as_os_str()]).code, 0);
}

#[test]
fn tables_the_schema_lacks_are_not_checked_and_validation_off_gives_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let zip = two_tables(
        dir.path(),
        &row(USERS, 1, r#""name":7.0"#),
        &row(POSTS, 1, r#""anything":1"#),
    );
    let only_users = schema_dir(
        dir.path(),
        r#"import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({ users: defineTable({ name: v.string() }) }, { schemaValidation: false });
"#,
    );
    let file = only_users.join("schema.ts");
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--schema".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("warning: users/documents.jsonl line 1: SchemaMismatch"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("schemaValidation is false"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("not in the schema, so not checked (as on a deployment): posts"),
        "{}",
        r.stdout
    );
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--schema".as_ref(),
        file.as_os_str(),
        "--deny-warnings".as_ref(),
    ]);
    assert_eq!(r.code, 1);
}

#[test]
fn a_schema_that_cannot_load_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let zip = two_tables(dir.path(), &row(USERS, 1, r#""name":"a""#), "");
    let bad = schema_dir(
        dir.path(),
        "export default defineSchema({ users: defineTable({ name: v.string() }) ",
    );
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--schema".as_ref(),
        bad.as_os_str(),
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("schema.ts"), "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{}",
        r.stderr
    );
    let missing = dir.path().join("nowhere");
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--schema".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no such file or folder"), "{}", r.stderr);
}

/// The shipped fixture against the app's full schema: the documents the
/// generator plants off the schema are found (fields removed from the
/// schema, a number where a string belongs, required fields missing).
#[test]
fn the_fixture_against_the_apps_schema_finds_the_planted_documents() {
    let sample = sample();
    let schema = example_schema();
    let r = run(&[
        "validate".as_ref(),
        sample.as_os_str(),
        "--json".as_ref(),
        "--max-problems".as_ref(),
        "10000".as_ref(),
        "--schema".as_ref(),
        schema.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let problems = j["problems"].as_array().unwrap();
    let messages: Vec<&str> = problems
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    for needle in [
        "extra field `title`",
        "extra field `thumbnailUrl`",
        "extra field `thumbnailFileId`",
        "extra field `resolution`",
        "at .model: expected v.string(), found the Float64",
        "missing the required field `duration`",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(needle)),
            "{needle} not found"
        );
    }
    assert_eq!(j["schema"]["tablesChecked"].as_array().unwrap().len(), 10);
    let failing = j["schema"]["documentsFailing"].as_u64().unwrap();
    assert!(failing > 0 && failing < j["documents"].as_u64().unwrap());
}

/// A draft drawn from a snapshot passes `validate --schema` on it.
pub fn draft_accepts_its_source(source: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[
        "inspect".as_ref(),
        source.as_os_str(),
        "--schema-ts".as_ref(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("export default defineSchema({"),
        "{}",
        r.stdout
    );
    let convex = schema_dir(dir.path(), &r.stdout);
    let v = run(&[
        "validate".as_ref(),
        source.as_os_str(),
        "--schema".as_ref(),
        convex.as_os_str(),
    ]);
    assert_eq!(v.code, 0, "{}\n{}{}", r.stdout, v.stdout, v.stderr);
    assert!(v.stdout.contains(": 0 of "), "{}", v.stdout);
}

#[test]
fn a_drafted_schema_accepts_the_fixture_it_came_from() {
    draft_accepts_its_source(&sample());
}

/// `--schema` alone takes the project's functions folder (./convex here),
/// as the Convex CLI finds it; with none, one clear error.
#[test]
fn schema_alone_takes_the_projects_folder() {
    let dir = tempfile::tempdir().unwrap();
    let zip = two_tables(dir.path(), &row(USERS, 1, r#""name":7.0"#), "");
    schema_dir(dir.path(), SCHEMA);
    let at = |cwd: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_convex-snapshot"))
            .args(["validate".as_ref(), zip.as_os_str(), "--schema".as_ref()])
            .current_dir(cwd)
            .output()
            .unwrap()
    };
    let out = at(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("at .name: expected v.string(), found the Float64 7"),
        "{stdout}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let out = at(elsewhere.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no functions folder here"));
    assert!(!elsewhere.path().join("convex").exists());
}

/// Past the kept list's cap the mismatches are counted, not written: the
/// totals stay exact and the listed ones are the same for any thread count.
#[test]
fn totals_stay_exact_past_the_list_cap_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let users: String = (0..6_000u32)
        .map(|i| {
            let mut internal = [0u8; 16];
            internal[..4].copy_from_slice(&i.to_be_bytes());
            internal[4] = 0x10;
            let id = convex_snapshot::id::DocumentId::new(USERS, internal).encode();
            format!(
                "{{\"_creationTime\":{}.5,\"_id\":\"{id}\",\"name\":1.0,\"extra\":true}}\n",
                1754150400000u64 + i as u64
            )
        })
        .collect();
    let zip = two_tables(dir.path(), &users, "");
    let schema = schema_dir(dir.path(), SCHEMA);
    let go = |threads: &str| {
        run(&[
            "validate".as_ref(),
            zip.as_os_str(),
            "--json".as_ref(),
            "--max-problems".as_ref(),
            "20000".as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
            "--schema".as_ref(),
            schema.as_os_str(),
        ])
    };
    let one = go("1");
    let two = go("2");
    assert_eq!(one.code, 1, "{}", one.stderr);
    assert_eq!(one.stdout, two.stdout);
    let j: serde_json::Value = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(j["errors"], 12_000);
    assert_eq!(j["schema"]["documentsFailing"], 6_000);
    assert_eq!(j["problems"].as_array().unwrap().len(), 10_000);
}

/// Without `_tables`, a table's number comes from its first `_id`, as the
/// import numbers it; `v.id` is checked against those numbers.
#[test]
fn ids_resolve_without_a_tables_listing() {
    let dir = tempfile::tempdir().unwrap();
    let posts = row(
        POSTS,
        1,
        &format!(r#""author":"{}","title":"a""#, id(USERS, 1)),
    ) + &row(
        POSTS,
        2,
        &format!(r#""author":"{}","title":"b""#, id(POSTS, 1)),
    );
    let entries = vec![
        (
            "users/documents.jsonl".to_owned(),
            row(USERS, 1, r#""name":"Ada""#).into_bytes(),
        ),
        (
            "users/generated_schema.jsonl".into(),
            b"\"uniform\"\n".to_vec(),
        ),
        ("posts/documents.jsonl".into(), posts.into_bytes()),
        (
            "posts/generated_schema.jsonl".into(),
            b"\"uniform\"\n".to_vec(),
        ),
    ];
    let zip = make_zip(dir.path(), "s.zip", &refs(&entries));
    let schema = schema_dir(dir.path(), SCHEMA);
    let r = run(&[
        "validate".as_ref(),
        zip.as_os_str(),
        "--schema".as_ref(),
        schema.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "document {} at .author: expected v.id(\"users\"), found an ID of table posts",
            id(POSTS, 2)
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("1 of 3 documents in 2 tables do not match"),
        "{}",
        r.stdout
    );
}

/// `migrate --schema`: the state a run leaves is checked before anything is
/// written; with --strict, a document that would not pass stops the write.
#[test]
fn migrate_checks_what_the_run_leaves_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let zip = two_tables(
        dir.path(),
        &(row(USERS, 1, r#""name":7.0"#) + &row(USERS, 2, r#""name":"Bob""#)),
        "",
    );
    let convex = schema_dir(dir.path(), SCHEMA);
    std::fs::write(
        convex.join("migrations.ts"),
        r#"import { Migrations } from "@convex-dev/migrations";
import { components } from "./_generated/api";
export const migrations = new Migrations(components.migrations);
export const nameAsText = migrations.define({
  table: "users",
  migrateOne: (_ctx, u) => (typeof u.name === "string" ? undefined : { name: String(u.name) }),
});
export const addNickname = migrations.define({
  table: "users",
  migrateOne: () => ({ nickname: "x" }),
});
"#,
    )
    .unwrap();
    let migrate = |name: &str, out: &Path, strict: bool| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "migrate".as_ref(),
            zip.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--functions".as_ref(),
            convex.as_os_str(),
            name.as_ref(),
            "--json".as_ref(),
        ];
        if strict {
            args.push("--strict".as_ref());
        }
        args.extend(["--schema".as_ref(), convex.as_os_str()]);
        run(&args)
    };
    // The fix leaves every document passing: written, and the report says so.
    let fixed = dir.path().join("fixed.zip");
    let r = migrate("migrations:nameAsText", &fixed, true);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(fixed.exists());
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["schema"]["documentsChecked"], 2);
    assert_eq!(j["schema"]["documentsFailing"], 0);
    assert!(
        r.stderr
            .contains("0 of 2 documents the run leaves in 2 tables would not pass"),
        "{}",
        r.stderr
    );
    // A change the schema does not allow: listed; with --strict nothing is written.
    let broken = dir.path().join("broken.zip");
    let r = migrate("migrations:addNickname", &broken, true);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(!broken.exists());
    assert!(
        r.stderr
            .contains("2 document(s) would not pass the schema; nothing written"),
        "{}",
        r.stderr
    );
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let listed = j["schema"]["listed"].as_array().unwrap();
    // Document 1 still has a number for a name, and both have the new field.
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0]["id"], id(USERS, 1));
    assert_eq!(listed[0]["path"], ".name");
    assert!(
        listed[2]["message"]
            .as_str()
            .unwrap()
            .contains("extra field `nickname`")
    );
    // Without --strict the result is written, the mismatches reported.
    let r = migrate("migrations:addNickname", &broken, false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(broken.exists());
    assert!(r.stderr.contains("error: users "), "{}", r.stderr);
    // With no migration named there is nothing to check but the input.
    let r = run(&[
        "migrate".as_ref(),
        zip.as_os_str(),
        "-o".as_ref(),
        dir.path().join("copy.zip").as_os_str(),
        "--schema".as_ref(),
        convex.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("validate"), "{}", r.stderr);
    assert!(!dir.path().join("copy.zip").exists());
}

/// The built-in chain on the fixture, checked against the app's schema:
/// what cleanupVideoFields removes no longer shows; what no migration
/// handles (the old top-level video fields) still does.
#[test]
fn the_builtin_chain_leaves_only_what_no_migration_handles() {
    let sample = sample();
    let schema = example_schema();
    let r = run(&[
        "migrate".as_ref(),
        sample.as_os_str(),
        "--all".as_ref(),
        "--dry-run".as_ref(),
        "--json".as_ref(),
        "--schema".as_ref(),
        schema.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let listed = j["schema"]["listed"].as_array().unwrap();
    assert!(!listed.is_empty());
    let messages: Vec<&str> = listed
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    for gone in ["`title`", "`thumbnailUrl`", "`thumbnailFileId`"] {
        assert!(
            !messages.iter().any(|m| m.contains(gone)),
            "{gone} still reported"
        );
    }
    assert!(
        messages
            .iter()
            .any(|m| m.contains("extra field `resolution`"))
    );
    assert_eq!(
        j["schema"]["mismatches"].as_u64().unwrap() as usize,
        listed.len()
    );
}

fn migrate_json(
    zip: &Path,
    out: &Path,
    names: &[&str],
    extra: &[&str],
    schema: Option<&Path>,
) -> (Run, serde_json::Value) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "migrate".as_ref(),
        zip.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--json".as_ref(),
    ];
    args.extend(names.iter().map(|n| std::ffi::OsStr::new(*n)));
    args.extend(extra.iter().map(|n| std::ffi::OsStr::new(*n)));
    if let Some(s) = schema {
        args.extend(["--schema".as_ref(), s.as_os_str()]);
    }
    let r = run(&args);
    let j = serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null);
    (r, j)
}

const VIDEOS: u32 = 10003;

/// `--mode original` under an enforced schema: the deployed cleanupVideoFields
/// counts a video before it patches it, so a patch the schema refuses (the
/// video still holds a field the schema dropped) is counted and is an error,
/// and the video stays as it was. `--mode fixed` is ours and is not held to it.
#[test]
fn original_mode_sees_the_writes_an_enforced_schema_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let videos = row(VIDEOS, 1, r#""clerkId":"a","title":"t","updatedAt":1.0"#)
        + &row(
            VIDEOS,
            2,
            r#""clerkId":"b","videoCdnUrl":"u","updatedAt":1.0"#,
        );
    let zip = make_zip(
        dir.path(),
        "v.zip",
        &refs(&one_table("videos", VIDEOS, &videos)),
    );
    let schema = schema_dir(
        dir.path(),
        r#"import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({
  videos: defineTable({ clerkId: v.string(), updatedAt: v.number(), videoCdnUrl: v.optional(v.string()) }),
});
"#,
    );
    let out = dir.path().join("out.zip");
    let (r, j) = migrate_json(
        &zip,
        &out,
        &["cleanupVideoFields"],
        &["--mode", "original", "--now", "1754300000000"],
        Some(&schema),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let result = &j["migrations"][0]["result"];
    assert_eq!(result["titleFieldsRemoved"], 1);
    assert_eq!(result["cdnFieldsRemoved"], 1);
    assert_eq!(result["errors"], 1);
    let reason = j["migrations"][0]["errorDetails"]["listed"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.starts_with("Failed to insert or update a document in table \"videos\" because it does not match the schema: extra field `title`"), "{reason}");
    let written = read_zip(&out);
    let docs = String::from_utf8(
        written
            .iter()
            .find(|(n, _)| n == "videos/documents.jsonl")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(docs.contains(r#""title":"t","updatedAt":1.0"#), "{docs}");
    assert!(
        docs.contains(r#""updatedAt":1754300000000.0,"videoCdnUrl":"u""#),
        "{docs}"
    );
    // Without a schema, and in fixed mode, nothing is refused.
    let (_, j) = migrate_json(
        &zip,
        &out,
        &["cleanupVideoFields"],
        &["--mode", "original", "--force"],
        None,
    );
    assert_eq!(j["migrations"][0]["result"]["errors"], 0);
    let (_, j) = migrate_json(
        &zip,
        &out,
        &["cleanupVideoFields"],
        &["--mode", "fixed", "--force"],
        Some(&schema),
    );
    assert_eq!(j["migrations"][0]["result"]["errors"], 0);
    assert_eq!(j["schema"]["documentsFailing"], 0);
}

/// migrateVideoParameters counts after it inserts: a row the schema
/// refuses (the video has no createdAt to copy) is an error, not created.
#[test]
fn original_mode_counts_an_insert_the_schema_refuses_as_an_error_only() {
    let dir = tempfile::tempdir().unwrap();
    let base =
        r#""clerkId":"a","prompt":"p","duration":"5","quality":"high","model":"google/veo-3""#;
    let videos = row(VIDEOS, 1, &format!(r#"{base},"createdAt":5.0"#)) + &row(VIDEOS, 2, base);
    let zip = make_zip(
        dir.path(),
        "v.zip",
        &refs(&one_table("videos", VIDEOS, &videos)),
    );
    let out = dir.path().join("out.zip");
    let (r, j) = migrate_json(
        &zip,
        &out,
        &["migrateVideoParameters"],
        &["--mode", "original"],
        Some(&example_schema()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let result = &j["migrations"][0]["result"];
    assert_eq!(result["parametersCreated"], 1);
    assert_eq!(result["errors"], 1);
    let e = &j["migrations"][0]["errorDetails"]["listed"][0];
    assert_eq!(e["id"], id(VIDEOS, 2));
    assert!(e["reason"].as_str().unwrap().contains("table \"modelParameters\" because it does not match the schema: missing the required field `createdAt`"), "{e}");
}

/// init has no try/catch: one seeded row the schema refuses ends the
/// mutation, and the deployment rolls all of it back.
#[test]
fn original_init_under_a_schema_it_breaks_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let zip = two_tables(dir.path(), &row(USERS, 1, r#""name":"a""#), "");
    let schema = schema_dir(
        dir.path(),
        r#"import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({ configurations: defineTable({ key: v.string() }) });
"#,
    );
    let out = dir.path().join("out.zip");
    let (r, j) = migrate_json(
        &zip,
        &out,
        &["init"],
        &["--mode", "original", "--new-app"],
        Some(&schema),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!out.exists());
    assert!(
        r.stderr.contains(
            "init threw: Failed to insert or update a document in table \"configurations\""
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("rolls back"), "{}", r.stderr);
    assert_eq!(j["migrations"][0]["result"]["configurationsCreated"], 0);
    // Fixed mode seeds as usual (and the check lists what breaks the schema).
    let (r, j) = migrate_json(&zip, &out, &["init"], &["--new-app"], Some(&schema));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        j["migrations"][0]["result"]["configurationsCreated"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(j["schema"]["documentsFailing"].as_u64().unwrap() > 0);
}

/// A snapshot of uniform tables, each listed in `_tables`.
fn tables_zip(dir: &Path, tables: &[(&str, u32, String)]) -> PathBuf {
    let listing: String = tables
        .iter()
        .map(|(t, n, _)| format!("{{\"name\":\"{t}\",\"id\":{n}}}\n"))
        .collect();
    let mut entries = vec![("_tables/documents.jsonl".to_owned(), listing.into_bytes())];
    for (t, _, docs) in tables {
        entries.push((format!("{t}/documents.jsonl"), docs.clone().into_bytes()));
        entries.push((
            format!("{t}/generated_schema.jsonl"),
            b"\"uniform\"\n".to_vec(),
        ));
    }
    make_zip(dir, "t.zip", &refs(&entries))
}

/// migrateParameterStructure inserts, then deletes, in one try: a row whose
/// move the schema refuses is an error and stays where it was.
/// ensureModelParametersPopulated counts a processed model whatever its
/// insert did.
#[test]
fn original_mode_moves_and_definitions_under_an_enforced_schema() {
    const PARAMS: u32 = 10004;
    const MODELS: u32 = 10005;
    let dir = tempfile::tempdir().unwrap();
    let video = id(VIDEOS, 1);
    let zip = tables_zip(
        dir.path(),
        &[
            ("videos", VIDEOS, row(VIDEOS, 1, r#""clerkId":"a""#)),
            (
                "modelParameters",
                PARAMS,
                row(
                    PARAMS,
                    1,
                    &format!(
                        r#""modelId":"m","videoId":"{video}","parameters":{{"a":1}},"createdAt":1.0"#
                    ),
                ) + &row(
                    PARAMS,
                    2,
                    r#""modelId":"m","videoId":"not-an-id","parameters":{"a":1},"createdAt":2.0"#,
                ),
            ),
        ],
    );
    let out = dir.path().join("out.zip");
    let (r, j) = migrate_json(
        &zip,
        &out,
        &["migrateParameterStructure"],
        &["--mode", "original"],
        Some(&example_schema()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(j["migrations"][0]["result"]["migratedRecords"], 1);
    assert_eq!(j["migrations"][0]["result"]["errors"], 1);
    assert_eq!(
        j["migrations"][0]["errorDetails"]["listed"][0]["id"],
        id(PARAMS, 2)
    );
    let written = read_zip(&out);
    let entry = |name: &str| {
        String::from_utf8(written.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap()
    };
    assert_eq!(entry("modelParameters/documents.jsonl").lines().count(), 1);
    assert!(entry("modelParameters/documents.jsonl").contains("not-an-id"));
    assert_eq!(entry("videoParameters/documents.jsonl").lines().count(), 1);

    let dir = tempfile::tempdir().unwrap();
    let zip = tables_zip(
        dir.path(),
        &[
            (
                "models",
                MODELS,
                row(MODELS, 1, r#""modelId":"veo","modelType":"google_veo""#),
            ),
            ("modelParameters", PARAMS, String::new()),
        ],
    );
    let strict_params = schema_dir(
        dir.path(),
        r#"import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({ modelParameters: defineTable({ modelId: v.string(), createdAt: v.number() }) });
"#,
    );
    let out = dir.path().join("out.zip");
    let (r, j) = migrate_json(
        &zip,
        &out,
        &["ensureModelParametersPopulated"],
        &["--mode", "original"],
        Some(&strict_params),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let result = &j["migrations"][0]["result"];
    assert_eq!(result["modelsProcessed"], 1);
    assert_eq!(result["parametersCreated"], 0);
    assert_eq!(result["errors"], 1);
}
