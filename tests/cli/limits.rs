//! Convex's transaction limits (`migrate --limits`): counted per
//! transaction (a whole function, a page of a migration), reported in
//! `warn`, thrown inside the user's code in `enforce`.

use serde_json::{Value as Json, json};

use crate::common::*;
use crate::user_migrations::{case, report, users, with};

const WRITER: &str = r#"import { internalMutation } from "./_generated/server";
import { v } from "convex/values";

export const fill = internalMutation({
  args: { n: v.number() },
  handler: async (ctx, { n }) => {
    let written = 0;
    let caught = 0;
    let message = "";
    for (let i = 0; i < n; i++) {
      try {
        await ctx.db.insert("audit", { i });
        written++;
      } catch (e) {
        caught++;
        message = e.message;
      }
    }
    return { written, caught, message };
  },
});

export const fillUncaught = internalMutation({
  args: {},
  handler: async (ctx) => {
    for (let i = 0; i < 16001; i++) await ctx.db.insert("audit", { i });
  },
});
"#;

fn writer() -> crate::user_migrations::Case {
    case(&[users(&[(1, r#""name":"a""#)])], &[("writer.ts", WRITER)])
}

fn warnings(rep: &Json) -> Vec<String> {
    rep["migrations"][0]["warnings"]["listed"]
        .as_array()
        .map(|a| a.iter().map(|w| w.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn a_whole_function_past_the_write_limit_warns_at_the_16001st_write() {
    let c = writer();
    let (r, out) = c.migrate(&["writer:fill", "--args", r#"{"n":16001}"#, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = report(&r);
    let w = warnings(&rep);
    assert!(
        w.iter().any(|w| w.starts_with(
            "limits: writer:fill would write its 16,001st document at db.insert into audit (16,000 is the limit)"
        ) && w.contains("'Too many writes in a single function execution (limit: 16000)'")),
        "{w:?}"
    );
    // warn changes nothing: every insert happened.
    assert_eq!(out.unwrap()["audit"].len(), 16001);
    assert_eq!(rep["limits"], "warn");

    // One write fewer crosses nothing.
    let (r, _) = c.migrate(&["writer:fill", "--args", r#"{"n":16000}"#, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !warnings(&report(&r))
            .iter()
            .any(|w| w.starts_with("limits:")),
        "{}",
        r.stdout
    );

    // off counts nothing.
    let (r, _) = c.migrate(&[
        "writer:fill",
        "--args",
        r#"{"n":16001}"#,
        "--json",
        "--limits",
        "off",
    ]);
    assert!(
        !warnings(&report(&r))
            .iter()
            .any(|w| w.starts_with("limits:"))
    );
}

#[test]
fn enforce_throws_inside_the_function_where_its_catch_sees_it() {
    let c = writer();
    let (r, out) = c.migrate(&[
        "writer:fill",
        "--args",
        r#"{"n":16003}"#,
        "--json",
        "--limits",
        "enforce",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = report(&r);
    assert_eq!(
        rep["migrations"][0]["result"]["returned"],
        json!({"written": 16000.0, "caught": 3.0,
               "message": "Too many writes in a single function execution (limit: 16000)"})
    );
    assert_eq!(out.unwrap()["audit"].len(), 16000);

    // Uncaught, it rolls the mutation back: nothing is written.
    let (r, out) = c.migrate(&["writer:fillUncaught", "--limits", "enforce"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(out.is_none());
    assert!(
        r.stderr
            .contains("Too many writes in a single function execution"),
        "{}",
        r.stderr
    );
}

/// Two users in one page: the page read (2 documents), then 16,000
/// `db.get`s per call. The second call's 15,999th read is the page's
/// 32,001st document read.
const READER: &str = r#"
export const reread = migrations.define({
  table: "users",
  batchSize: 2,
  migrateOne: async (ctx, u) => {
    try {
      for (let i = 0; i < 16000; i++) await ctx.db.get(u._id);
    } catch (e) {
      return { caught: e.message };
    }
    return { caught: "nothing" };
  },
});
"#;

#[test]
fn a_migration_page_is_one_transaction_for_the_read_limit() {
    let c = with(
        READER,
        &[users(&[(1, r#""name":"a""#), (2, r#""name":"b""#)])],
    );
    let (r, out) = c.migrate(&["migrations:reread", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let w = warnings(&report(&r));
    let second = id(10001, 2);
    assert!(
        w.iter().any(|w| w.starts_with(&format!(
            "limits: page 1 of migrations:reread would read its 32,001st document at db.get({second}) (32,000 is the limit)"
        ))),
        "{w:?}"
    );
    let out = out.unwrap();
    assert_eq!(out["users"][1]["caught"], "nothing");

    let (r, out) = c.migrate(&["migrations:reread", "--limits", "enforce"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = out.unwrap();
    assert_eq!(out["users"][0]["caught"], "nothing");
    assert!(
        out["users"][1]["caught"]
            .as_str()
            .unwrap()
            .starts_with("Too many documents read in a single function execution (limit: 32000)."),
        "{}",
        out["users"][1]
    );
}

#[test]
fn original_mode_reports_where_the_deployed_function_crosses_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.zip");
    let r = run(&[
        "generate",
        "--videos",
        "10000",
        "-q",
        "-o",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let migrate = |extra: &[&str]| {
        let mut args = vec![
            "migrate",
            snap.to_str().unwrap(),
            "--dry-run",
            "-q",
            "--json",
            "migrateVideoParameters",
        ];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        report(&r)
    };
    let warned = migrate(&["--mode", "original"]);
    let w = warnings(&warned);
    // One `collect()`, then one `by_video_id` lookup per video: the
    // 4,096th video's lookup is the 4,097th range.
    let line = w
        .iter()
        .find(|w| {
            w.starts_with(
                "limits: migrateVideoParameters would read its 4,097th index range at video ",
            )
        })
        .unwrap_or_else(|| panic!("{w:?}"));
    assert!(line.contains("(number 4,096 of the loop)"), "{line}");
    assert!(line.contains("'Too many reads in a single function execution (limit: 4096)."));
    let base = &warned["migrations"][0]["result"];

    // enforce: every later video's lookup throws inside its try/catch.
    let enforced = migrate(&["--mode", "original", "--limits", "enforce"]);
    let res = &enforced["migrations"][0]["result"];
    let errors = res["errors"].as_f64().unwrap();
    assert!(errors - base["errors"].as_f64().unwrap() >= 5000.0, "{res}");
    let total = |r: &Json| {
        r["parametersCreated"].as_f64().unwrap()
            + r["alreadyExists"].as_f64().unwrap()
            + r["errors"].as_f64().unwrap()
    };
    assert_eq!(total(res), 10000.0);
    assert_eq!(total(base), 10000.0);
    let details = enforced["migrations"][0]["errorDetails"]["total"]
        .as_f64()
        .unwrap();
    assert_eq!(details, errors);

    // fixed mode is ours: no limits.
    let fixed = migrate(&["--limits", "enforce"]);
    assert!(!warnings(&fixed).iter().any(|w| w.starts_with("limits:")));
}
