//! Whole functions of the user's folder: a mutation run once as one
//! transaction, a query run read-only, `args` and `returns` checked.

use serde_json::json;

use crate::common::*;
use crate::user_migrations::{case, posts, report, users};

const FUNCTIONS: &str = r#"import { internalMutation, internalQuery, action } from "./_generated/server";
import { v } from "convex/values";
import { label } from "./helpers";

export const backfill = internalMutation({
  args: { plan: v.string() },
  handler: async (ctx, args) => {
    const users = await ctx.db.query("users").collect();
    let patched = 0;
    let failed = 0;
    for (const u of users) {
      try {
        if (u.bad) throw new Error(`bad user ${u.name}`);
        await ctx.db.patch(u._id, { plan: args.plan, label: label(u.name) });
        await ctx.db.insert("audit", { user: u._id, at: Date.now() });
        patched++;
      } catch (e) {
        failed++;
      }
    }
    return { patched, failed, seen: users.map((u) => u.name) };
  },
});

export const wipeThenThrow = internalMutation({
  args: {},
  handler: async (ctx) => {
    for (const u of await ctx.db.query("users").collect()) await ctx.db.delete(u._id);
    throw new Error("changed my mind");
  },
});

export const count = internalQuery({
  args: {},
  returns: v.object({ users: v.number(), posts: v.number() }),
  handler: async (ctx) => ({
    users: (await ctx.db.query("users").collect()).length,
    posts: (await ctx.db.query("posts").collect()).length,
  }),
});

export const badReturn = internalQuery({
  args: {},
  returns: v.string(),
  handler: async () => 5,
});

export const sneaky = internalQuery({
  args: {},
  handler: async (ctx) => {
    await ctx.db.insert("audit", {});
  },
});

export const fetchSomething = action({ args: {}, handler: async () => null });
"#;

const HELPERS: &str =
    "export function label(name: string): string {\n  return `user-${name}`;\n}\n";

fn the_case() -> crate::user_migrations::Case {
    case(
        &[
            users(&[
                (1, r#""name":"a""#),
                (2, r#""bad":true,"name":"b""#),
                (3, r#""name":"c""#),
            ]),
            posts(&[(1, r#""title":"t""#)]),
        ],
        &[("functions.ts", FUNCTIONS), ("helpers.ts", HELPERS)],
    )
}

#[test]
fn a_mutation_loops_over_collect_with_a_try_catch_per_document() {
    let c = the_case();
    let (r, out) = c.migrate(&[
        "functions:backfill",
        "--args",
        r#"{"plan":"pro"}"#,
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = report(&r);
    assert_eq!(
        rep["migrations"][0]["result"]["returned"],
        json!({"failed": 1.0, "patched": 2.0, "seen": ["a", "b", "c"]})
    );
    let out = out.unwrap();
    let u = &out["users"];
    assert_eq!(u[0]["plan"], "pro");
    assert_eq!(u[0]["label"], "user-a");
    assert!(u[1].get("plan").is_none(), "{}", u[1]);
    assert_eq!(u[2]["label"], "user-c");
    // Inserted rows, with the run's clock.
    assert_eq!(out["audit"].len(), 2);
    assert_eq!(out["audit"][0]["at"], json!(1754240000000.0));
    assert_eq!(out["audit"][0]["user"], json!(id(10001, 1)));
}

#[test]
fn a_mutation_that_throws_rolls_back_and_writes_nothing() {
    let c = the_case();
    let (r, out) = c.migrate(&["functions:wipeThenThrow"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(out.is_none(), "no output for a failed run");
    assert!(r.stderr.contains("changed my mind"), "{}", r.stderr);
    // Where it threw, in the user's own file.
    assert!(r.stderr.contains("functions.ts:29:"), "{}", r.stderr);
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
}

#[test]
fn a_query_runs_read_only_and_returns_its_value_without_an_output() {
    let c = the_case();
    let r = run(&[
        "migrate",
        c.input.to_str().unwrap(),
        "--functions",
        c.functions.to_str().unwrap(),
        "functions:count",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        report(&r)["migrations"][0]["result"]["returned"],
        json!({"posts": 1.0, "users": 3.0})
    );
    // A write in a query throws, as on the deployment.
    let (r, _) = c.migrate(&["functions:sneaky"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("queries are read-only"), "{}", r.stderr);
}

#[test]
fn args_and_returns_are_checked_against_their_validators() {
    let c = the_case();
    let (r, out) = c.migrate(&["functions:backfill", "--args", r#"{"plan":5}"#]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(out.is_none());
    assert!(r.stderr.contains("ArgumentValidationError"), "{}", r.stderr);
    assert!(r.stderr.contains(".plan"), "{}", r.stderr);
    let (r, _) = c.migrate(&["functions:backfill"]);
    assert_eq!(r.code, 2, "missing args: {}", r.stderr);
    let (r, _) = c.migrate(&["functions:badReturn"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("ReturnsValidationError"), "{}", r.stderr);
    let (r, _) = c.migrate(&["functions:fetchSomething"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot run offline"), "{}", r.stderr);
    let (r, _) = c.migrate(&["functions:count", "--args", "[1]"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// Object spread as V8 (Convex's engine) does it: a string spreads its
/// characters. QuickJS copies nothing from a string, so convex-snapshot
/// mends every object-literal spread; a stack trace still gives the user's
/// own columns on a line it mended.
#[test]
fn a_string_spreads_its_characters_and_columns_stay_the_users() {
    const LINE: &str = r#"  try { const p = { ...s, ...{ c: 1 } }; (null as any).x; } catch (e: any) { at = e.stack; }"#;
    let source = format!(
        "import {{ internalQuery }} from \"./_generated/server\";\nexport const spreads = internalQuery({{\n  args: {{}},\n  handler: async () => {{\n    const s: string = \"a\\u00e9\";\n    let at = \"\";\n  {LINE}\n    return {{ o: {{ ...s, n: 1 }}, none: {{ ...5, ...null, ...true }}, at }};\n  }},\n}});\n"
    );
    let c = case(
        &[users(&[(1, r#""name":"a""#)])],
        &[("spreads.ts", &source)],
    );
    let (r, _) = c.migrate(&["spreads:spreads", "--json", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let returned = &report(&r)["migrations"][0]["result"]["returned"];
    assert_eq!(returned["o"], json!({"0": "a", "1": "é", "n": 1.0}));
    assert_eq!(returned["none"], json!({}));
    // QuickJS counts columns in bytes, from 1: where `(null as any)` starts.
    let column = LINE.find("(null").unwrap() + 1 + 2;
    let at = returned["at"].as_str().unwrap();
    assert!(
        at.contains(&format!("spreads.ts:7:{column})")),
        "expected column {column}: {at}"
    );
}
