//! Your own migrations: `.ts` files in the styles real projects use, run on
//! literal documents, checked before and after.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::common::*;

/// A snapshot of `users` (10001) and `posts` (10002) rows, and a functions
/// folder holding `files`.
pub(crate) struct Case {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) input: PathBuf,
    pub(crate) functions: PathBuf,
}

pub(crate) fn case(tables: &[(&str, u32, Vec<String>)], files: &[(&str, &str)]) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let listing: String = tables
        .iter()
        .map(|(t, n, _)| format!("{{\"name\":\"{t}\",\"id\":{n}}}\n"))
        .collect();
    entries.push(("_tables/documents.jsonl".into(), listing.into_bytes()));
    for (t, _, rows) in tables {
        let docs: String = rows.iter().map(|r| format!("{r}\n")).collect();
        entries.push((format!("{t}/documents.jsonl"), docs.into_bytes()));
        entries.push((
            format!("{t}/generated_schema.jsonl"),
            b"\"uniform\"\n".to_vec(),
        ));
    }
    let input = make_zip(dir.path(), "in.zip", &refs(&entries));
    let functions = dir.path().join("app/convex");
    for (name, text) in files {
        let p = functions.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    Case {
        dir,
        input,
        functions,
    }
}

/// A document of table `number`, row `n`, created at `n` seconds.
pub(crate) fn doc(number: u32, n: u8, fields: &str) -> String {
    let sep = if fields.is_empty() { "" } else { "," };
    format!(
        "{{\"_creationTime\":{}.5,\"_id\":\"{}\"{sep}{fields}}}",
        1_700_000_000_000u64 + u64::from(n) * 1000,
        id(number, n)
    )
}

impl Case {
    /// Runs `migrate` with these names and flags; the output's tables.
    pub(crate) fn migrate(
        &self,
        args: &[&str],
    ) -> (Run, Option<std::collections::BTreeMap<String, Vec<Json>>>) {
        let out = self.dir.path().join("out.zip");
        let _ = std::fs::remove_file(&out);
        let mut all = vec![
            "migrate".to_owned(),
            self.input.to_string_lossy().into_owned(),
            "-o".into(),
            out.to_string_lossy().into_owned(),
            "--functions".into(),
            self.functions.to_string_lossy().into_owned(),
            "--now".into(),
            "1754240000000".into(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let r = run(&all);
        let tables = out.exists().then(|| tables_of(&out));
        (r, tables)
    }
}

/// Every table of a snapshot ZIP: its rows as JSON.
fn tables_of(zip: &Path) -> std::collections::BTreeMap<String, Vec<Json>> {
    read_zip(zip)
        .into_iter()
        .filter_map(|(name, data)| {
            let table = name.strip_suffix("/documents.jsonl")?.to_owned();
            if table.starts_with('_') {
                return None;
            }
            let rows = String::from_utf8(data)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            Some((table, rows))
        })
        .collect()
}

const HEADER: &str = r#"import { Migrations } from "@convex-dev/migrations";
import { components, internal } from "./_generated/api";
import { internalMutation } from "./_generated/server";
import type { DataModel } from "./_generated/dataModel";

export const migrations = new Migrations<DataModel>(components.migrations, { internalMutation });
"#;

#[test]
fn a_default_value_and_a_removed_field() {
    let files = [(
        "migrations.ts",
        format!(
            "{HEADER}
export const setDefaultPlan = migrations.define({{
  table: \"users\",
  migrateOne: async (ctx, user) => {{
    if (user.plan === undefined) {{
      return {{ plan: user.trial ?? \"basic\" }};
    }}
  }},
}});

export const dropLegacy = migrations.define({{
  table: \"users\",
  migrateOne: () => ({{ legacy: undefined }}),
}});
"
        ),
    )];
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let c = case(
        &[(
            "users",
            10001,
            vec![
                doc(10001, 1, r#""legacy":1.0,"name":"a""#),
                doc(10001, 2, r#""name":"b","plan":"pro""#),
                doc(10001, 3, r#""name":"c","trial":"gold""#),
            ],
        )],
        &files,
    );
    let (r, out) = c.migrate(&["migrations:setDefaultPlan", "migrations:dropLegacy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let users = &out.unwrap()["users"];
    assert_eq!(users[0]["plan"], "basic");
    assert!(users[0].get("legacy").is_none(), "{}", users[0]);
    assert_eq!(users[1]["plan"], "pro");
    assert_eq!(users[2]["plan"], "gold");
    assert!(
        r.stderr.contains("migrations:setDefaultPlan"),
        "{}",
        r.stderr
    );
}

/// A folder with `migrations.ts` = HEADER + `body`, and `schema.ts`.
fn folder(body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("migrations.ts", format!("{HEADER}\n{body}")),
        (
            "schema.ts",
            r#"import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({
  users: defineTable({ name: v.string() }).index("by_email", ["email"]).index("by_team_and_age", ["team", "age"]),
  posts: defineTable({ title: v.string() }).index("by_author", ["author"]),
});
"#
            .to_owned(),
        ),
    ]
}

pub(crate) fn with(body: &str, tables: &[(&str, u32, Vec<String>)]) -> Case {
    let files = folder(body);
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    case(tables, &refs)
}

pub(crate) fn users(rows: &[(u8, &str)]) -> (&'static str, u32, Vec<String>) {
    (
        "users",
        10001,
        rows.iter().map(|(n, f)| doc(10001, *n, f)).collect(),
    )
}

pub(crate) fn posts(rows: &[(u8, &str)]) -> (&'static str, u32, Vec<String>) {
    (
        "posts",
        10002,
        rows.iter().map(|(n, f)| doc(10002, *n, f)).collect(),
    )
}

/// The report of a `--json` run.
pub(crate) fn report(r: &Run) -> Json {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr))
}

#[test]
fn conversions_renames_and_int64_counters() {
    let c = with(
        r#"
export const toNumber = migrations.define({
  table: "users",
  migrateOne: (ctx, u) => (typeof u.age === "string" ? { age: parseInt(u.age, 10) } : undefined),
});
export const rename = migrations.define({
  table: "users",
  migrateOne: (ctx, u) => {
    if (u.fullName !== undefined) return { name: u.fullName, fullName: undefined };
  },
});
export const bump = migrations.define({
  table: "users",
  migrateOne: (ctx, u) => ({ logins: (u.logins ?? 0n) + 1n }),
});
"#,
        &[users(&[
            (1, r#""age":"41","fullName":"Ada","logins":5"#),
            (2, r#""age":30.0,"name":"Bo""#),
        ])],
    );
    let (r, out) = c.migrate(&[
        "migrations:toNumber",
        "migrations:rename",
        "migrations:bump",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let u = &out.unwrap()["users"];
    assert_eq!(
        u[0],
        json!({"_creationTime": 1700000001000.5, "_id": id(10001, 1), "age": 41.0, "logins": 6, "name": "Ada"})
    );
    // An Int64 stays an Int64 (written without a decimal point).
    assert_eq!(u[1]["logins"], json!(1));
    let text = String::from_utf8(
        read_zip(&c.dir.path().join("out.zip"))
            .into_iter()
            .find(|(n, _)| n == "users/documents.jsonl")
            .unwrap()
            .1,
    )
    .unwrap();
    assert!(
        text.contains("\"logins\":6,") && text.contains("\"age\":41.0"),
        "{text}"
    );
}

#[test]
fn denormalization_lookups_inserts_and_deletes() {
    let c = with(
        r#"
import { Id } from "./_generated/dataModel";
export const authorName = migrations.define({
  table: "posts",
  migrateOne: async (ctx, post) => {
    const author = await ctx.db.get(post.author as Id<"users">);
    return { authorName: author?.name ?? null };
  },
});
export const byEmail = migrations.define({
  table: "posts",
  migrateOne: async (ctx, post) => {
    const u = await ctx.db.query("users").withIndex("by_email", (q) => q.eq("email", post.email)).unique();
    if (u) await ctx.db.patch(post._id, { author: u._id });
  },
});
export const audit = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    await ctx.db.insert("audit", { user: u._id, at: Date.now(), note: `saw ${u.name}` });
  },
});
export const dropBanned = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    if (u.banned) await ctx.db.delete(u._id);
  },
});
"#,
        &[
            users(&[
                (1, r#""email":"a@x","name":"Ada""#),
                (2, r#""banned":true,"email":"b@x","name":"Bo""#),
            ]),
            posts(&[
                (1, &format!(r#""author":"{}","email":"b@x""#, id(10001, 1))),
                (
                    2,
                    &format!(r#""author":"{}","email":"nobody""#, id(10001, 9)),
                ),
            ]),
        ],
    );
    let (r, out) = c.migrate(&[
        "migrations:authorName",
        "migrations:byEmail",
        "migrations:audit",
        "migrations:dropBanned",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = out.unwrap();
    let p = &out["posts"];
    assert_eq!(p[0]["authorName"], "Ada");
    assert_eq!(p[1]["authorName"], Json::Null);
    assert_eq!(p[0]["author"], json!(id(10001, 2)), "found by the index");
    assert_eq!(
        p[1]["author"],
        json!(id(10001, 9)),
        "unique() found nothing: unchanged"
    );
    let audit = &out["audit"];
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["note"], "saw Ada");
    assert_eq!(audit[0]["at"], json!(1754240000000.0));
    assert_eq!(audit[0]["user"], json!(id(10001, 1)));
    // New rows: valid IDs of a new table, creation times after `now`.
    assert!(audit[0]["_id"].as_str().unwrap().starts_with('j'));
    assert_eq!(audit[0]["_creationTime"], json!(1754240000000.0));
    assert_eq!(audit[1]["_creationTime"], json!(1754240000000.001));
    assert_eq!(out["users"].len(), 1, "Bo was deleted");
    let rep = report(&r);
    assert_eq!(rep["migrations"][2]["tables"]["audit"]["inserted"], 2);
    assert_eq!(rep["migrations"][3]["tables"]["users"]["deleted"], 1);
    let tables = String::from_utf8(
        read_zip(&c.dir.path().join("out.zip"))
            .into_iter()
            .find(|(n, _)| n == "_tables/documents.jsonl")
            .unwrap()
            .1,
    )
    .unwrap();
    assert!(
        tables.contains(r#"{"name":"audit","id":10003}"#),
        "{tables}"
    );
}

#[test]
fn custom_range_batch_size_and_parallelize() {
    let c = with(
        r#"
export const teenagers = migrations.define({
  table: "users",
  batchSize: 2,
  customRange: (q) => q.withIndex("by_team_and_age", (q) => q.eq("team", "red").gte("age", 13).lt("age", 20)),
  migrateOne: (ctx, u) => ({ teen: true }),
});
export const filtered = migrations.define({
  table: "users",
  customRange: (q) => q.filter((q) => q.eq(q.field("team"), "blue")),
  migrateOne: (ctx, u) => ({ blue: true }),
});
export const together = migrations.define({
  table: "users",
  batchSize: 3,
  parallelize: true,
  migrateOne: async (ctx, u) => ({ seen: true }),
});
"#,
        &[users(&[
            (1, r#""age":12.0,"team":"red""#),
            (2, r#""age":13.0,"team":"red""#),
            (3, r#""age":19.0,"team":"red""#),
            (4, r#""age":15.0,"team":"blue""#),
            (5, r#""age":16.0,"team":"red""#),
        ])],
    );
    let (r, out) = c.migrate(&[
        "migrations:teenagers",
        "migrations:filtered",
        "migrations:together",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let u = &out.unwrap()["users"];
    let teens: Vec<bool> = u.iter().map(|d| d.get("teen").is_some()).collect();
    assert_eq!(teens, [false, true, true, false, true]);
    let blues: Vec<bool> = u.iter().map(|d| d.get("blue").is_some()).collect();
    assert_eq!(blues, [false, false, false, true, false]);
    assert!(u.iter().all(|d| d["seen"] == true));
    let rep = report(&r);
    // 3 teenagers in pages of 2: a full page, then one of 1.
    assert_eq!(rep["migrations"][0]["result"]["pages"], 2);
    assert_eq!(rep["migrations"][0]["result"]["visited"], 3);
    // 5 users in pages of 3 with parallelize.
    assert_eq!(rep["migrations"][2]["result"]["pages"], 2);
}

#[test]
fn a_runner_runs_its_list_in_order_once() {
    let c = with(
        r#"
export const first = migrations.define({ table: "users", migrateOne: (ctx, u) => ({ step: 1 }) });
export const second = migrations.define({ table: "users", migrateOne: (ctx, u) => ({ step: u.step + 1 }) });
export const all = migrations.runner([internal.migrations.first, internal.migrations.second]);
"#,
        &[users(&[(1, "")])],
    );
    let (r, out) = c.migrate(&["migrations:all", "migrations:first"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        out.unwrap()["users"][0]["step"],
        json!(2.0),
        "first ran once, before second"
    );
    assert!(
        r.stderr.contains("[1/2] migrations:first") && r.stderr.contains("[2/2] migrations:second"),
        "{}",
        r.stderr
    );
}

#[test]
fn reads_see_earlier_writes_and_each_call_gets_its_page_read_document() {
    let body = r#"
export const countUp = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    const c = await ctx.db.query("counters").first();
    if (c === null) await ctx.db.insert("counters", { n: 1 });
    else await ctx.db.patch(c._id, { n: c.n + 1 });
  },
});
export const touchNext = migrations.define({
  table: "users",
  batchSize: BATCH,
  migrateOne: async (ctx, u) => {
    const fresh = await ctx.db.get(u._id);
    const next = await ctx.db.query("users").withIndex("by_creation_time", (q) => q.gt("_creationTime", u._creationTime)).first();
    if (next) await ctx.db.patch(next._id, { touched: true });
    return { argSawTouch: u.touched === true, getSawTouch: fresh?.touched === true };
  },
});
"#;
    for (batch, arg_saw) in [(1, true), (3, false)] {
        let c = with(
            &body.replace("BATCH", &batch.to_string()),
            &[users(&[(1, ""), (2, ""), (3, "")])],
        );
        let (r, out) = c.migrate(&["migrations:countUp", "migrations:touchNext"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let out = out.unwrap();
        assert_eq!(out["counters"].len(), 1);
        assert_eq!(
            out["counters"][0]["n"],
            json!(3.0),
            "each call read the one before's write"
        );
        let u = &out["users"];
        // Users 2 and 3 were touched by the call before them: ctx.db.get
        // always sees it; the document passed in only when the page was
        // read after that call (pages of 1), not within one page of 3.
        assert_eq!(u[1]["getSawTouch"], true, "batch {batch}");
        assert_eq!(u[2]["getSawTouch"], true, "batch {batch}");
        assert_eq!(u[1]["argSawTouch"], arg_saw, "batch {batch}");
        assert_eq!(u[2]["argSawTouch"], arg_saw, "batch {batch}");
        assert_eq!(u[0]["argSawTouch"], false);
    }
}

#[test]
fn an_async_migration_that_patches_itself_and_inserts_it_then_visits() {
    let c = with(
        r#"
export const selfPatch = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    await ctx.db.patch(u._id, { done: true });
  },
});
export const grow = migrations.define({
  table: "users",
  batchSize: 2,
  migrateOne: async (ctx, u) => {
    if (!u.child) await ctx.db.insert("users", { child: true, parent: u._id });
    return { visited: true };
  },
});
"#,
        &[users(&[(1, ""), (2, "")])],
    );
    let (r, out) = c.migrate(&["migrations:selfPatch", "migrations:grow", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let u = &out.unwrap()["users"];
    assert_eq!(u.len(), 4);
    assert!(u[..2].iter().all(|d| d["done"] == true));
    // The page of 2 was full, so one more page visited the two new users.
    assert!(u.iter().all(|d| d["visited"] == true), "{u:?}");
    assert_eq!(
        report(&c.migrate(&["migrations:grow", "--json"]).0)["migrations"][0]["result"]["visited"],
        4
    );
}

#[test]
fn throws_loops_and_non_convex_values_fail_the_run_with_every_document() {
    let c = with(
        r#"
export const strict = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    console.log("checking", u.name);
    if (!u.email) throw new Error(`user ${u.name} has no email`);
    return { ok: true };
  },
});
export const spin = migrations.define({ table: "users", migrateOne: () => { while (true) {} } });
export const dates = migrations.define({ table: "users", migrateOne: () => ({ when: new Date() }) });
export const maps = migrations.define({ table: "users", migrateOne: () => ({ m: new Map() }) });
export const holes = migrations.define({ table: "users", migrateOne: () => ({ a: [1, undefined] }) });
export const dollars = migrations.define({ table: "users", migrateOne: () => ({ o: { $x: 1 } }) });
export const huge = migrations.define({ table: "users", migrateOne: () => ({ n: 2n ** 64n }) });
export const scheduler = migrations.define({ table: "users", migrateOne: (ctx) => ctx.scheduler.runAfter(0, "x") });
export const oversized = migrations.define({ table: "users", migrateOne: () => ({ s: "x".repeat(1 << 20) }) });
export const hog = migrations.define({ table: "users", migrateOne: () => { const a = []; for (;;) a.push(new Array(1 << 16).fill(1.5)); } });
"#,
        &[users(&[
            (1, r#""email":"a@x","name":"Ada""#),
            (2, r#""name":"Bo""#),
            (3, r#""name":"Cy""#),
        ])],
    );
    let (r, out) = c.migrate(&["migrations:strict", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(out.is_none(), "nothing written");
    let m = &report(&r)["migrations"][0];
    assert_eq!(m["errorDetails"]["total"], 2);
    let e = &m["errorDetails"]["listed"][0];
    assert_eq!(e["id"], json!(id(10001, 2)));
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("user Bo has no email (at migrateOne (migrations.ts:"),
        "{e}"
    );
    assert!(
        e["stack"].as_str().unwrap().contains("migrations.ts:"),
        "{e}"
    );
    assert_eq!(m["logs"]["total"], 3);
    assert_eq!(
        m["logs"]["listed"][1],
        json!({"id": id(10001, 2), "level": "log", "text": "checking Bo"})
    );
    assert!(
        r.stderr
            .contains("2 document(s) of users threw in migrations:strict; nothing is written"),
        "{}",
        r.stderr
    );
    for (name, needle) in [
        ("spin", "took longer than 0.5 s"),
        ("dates", "Date"),
        ("maps", "Map[] is not a supported Convex type"),
        (
            "holes",
            "undefined is not a valid Convex value (present at path .a[1]",
        ),
        (
            "dollars",
            "Field name $x starts with a '$', which is reserved.",
        ),
        (
            "huge",
            "BigInt 18446744073709551616 does not fit into a 64-bit signed integer.",
        ),
        (
            "scheduler",
            "ctx.scheduler.runAfter (scheduled functions) cannot run offline",
        ),
        ("oversized", "the new document breaks a limit"),
        ("hog", "ran out of memory"),
    ] {
        let (r, out) = c.migrate(&[&format!("migrations:{name}"), "--json", "--timeout", "0.5"]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(out.is_none());
        let reason = report(&r)["migrations"][0]["errorDetails"]["listed"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(reason.contains(needle), "{name}: {reason}");
    }
}

#[test]
fn on_throw_stop_keeps_the_pages_before_as_the_deployment_does() {
    let c = with(
        r#"
export const mark = migrations.define({
  table: "users",
  batchSize: 2,
  migrateOne: (ctx, u) => {
    if (u.name === "Cy") throw new Error("no");
    return { marked: true };
  },
});
"#,
        &[users(&[
            (1, r#""name":"Ada""#),
            (2, r#""name":"Bo""#),
            (3, r#""name":"Cy""#),
            (4, r#""name":"Di""#),
        ])],
    );
    let (r, out) = c.migrate(&["migrations:mark", "--on-throw", "stop"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("page 2 (starting at"), "{}", r.stderr);
    let u = &out.expect("written as the deployment would be left")["users"];
    let marked: Vec<bool> = u.iter().map(|d| d.get("marked").is_some()).collect();
    assert_eq!(
        marked,
        [true, true, false, false],
        "page 1 kept, page 2 rolled back, page 3 never ran"
    );
}

#[test]
fn the_clock_and_randomness_are_fixed_and_the_bytes_do_not_depend_on_threads() {
    let c = with(
        r#"
export const stamp = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    const c = await ctx.db.query("counters").first();
    if (c === null) await ctx.db.insert("counters", { n: 1 });
    else await ctx.db.patch(c._id, { n: c.n + 1 });
    return { at: Date.now(), lucky: Math.random(), year: new Date().getFullYear() };
  },
});
"#,
        &[users(&(1..=40).map(|n| (n, "")).collect::<Vec<_>>())],
    );
    let outs: Vec<Vec<u8>> = ["1", "2", "2"]
        .iter()
        .map(|t| {
            let (r, _) = c.migrate(&["migrations:stamp", "--threads", t]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            std::fs::read(c.dir.path().join("out.zip")).unwrap()
        })
        .collect();
    assert_eq!(outs[0], outs[1], "threads 1 vs 2");
    assert_eq!(outs[1], outs[2], "two runs");
    let u = &tables_of(&c.dir.path().join("out.zip"))["users"];
    assert_eq!(u[0]["at"], json!(1754240000000.0));
    assert_eq!(u[0]["year"], json!(2025.0));
    let luck: Vec<f64> = u.iter().map(|d| d["lucky"].as_f64().unwrap()).collect();
    assert!(luck.iter().all(|x| (0.0..1.0).contains(x)));
    assert_ne!(luck[0], luck[1], "seeded per document");
}

#[test]
fn list_names_and_clashes() {
    let c = with(
        r#"
export const setDefault = migrations.define({ table: "users", migrateOne: () => undefined });
export const cleanupVideoFields = migrations.define({ table: "videos", migrateOne: () => undefined });
export const both = migrations.runner([internal.migrations.setDefault]);
"#,
        &[users(&[(1, "")])],
    );
    let r = run(&[
        "list".as_ref(),
        "--functions".as_ref(),
        c.functions.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("migrations:setDefault"), "{}", r.stdout);
    assert!(r.stdout.contains("table users"), "{}", r.stdout);
    assert!(r.stdout.contains("migrations.ts:"), "{}", r.stdout);
    assert!(
        r.stdout.contains("migrations:both") && r.stdout.contains("runs migrations:setDefault"),
        "{}",
        r.stdout
    );
    // A name both answer: an error that says how to pick each.
    let (r, _) = c.migrate(&["migrations:cleanupVideoFields"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("write builtin:cleanupVideoFields for the built-in, or user:migrations:cleanupVideoFields for yours"), "{}", r.stderr);
    let (r, _) = c.migrate(&["user:migrations:cleanupVideoFields"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (name, needle) in [
        (
            "migrations:nope",
            "migrations.ts has no export nope; its migrations are: migrations:both, migrations:cleanupVideoFields, migrations:setDefault",
        ),
        ("api.migrations.setDefault", ""),
        ("internal.migrations.setDefault", ""),
        ("elsewhere:x", "unknown migration"),
    ] {
        let (r, _) = c.migrate(&[name]);
        if needle.is_empty() {
            assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        } else {
            assert_eq!(r.code, 2, "{name}");
            assert!(r.stderr.contains(needle), "{name}: {}", r.stderr);
        }
    }
}

#[test]
fn convex_helpers_make_migration_and_syntax_errors() {
    let files = [
        (
            "migrations.ts",
            r#"import { makeMigration } from "convex-helpers/server/migrations";
import { internalMutation } from "./_generated/server";
const migration = makeMigration(internalMutation, { migrationTable: "migrations" });
export const setFlag = migration({
  table: "users",
  batchSize: 1,
  migrateOne: async (ctx, doc) => ({ flag: true }),
});
"#,
        ),
        ("broken.ts", "export const x = {\n  a: 1,\n  b: ;\n};\n"),
    ];
    let c = case(&[users(&[(1, ""), (2, "")])], &files);
    let (r, out) = c.migrate(&["migrations:setFlag", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.unwrap()["users"].iter().all(|d| d["flag"] == true));
    assert_eq!(report(&r)["migrations"][0]["result"]["pages"], 3);
    let (r, _) = c.migrate(&["broken:x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("broken.ts:3:"), "{}", r.stderr);
}

/// The README's example folder, on the shipped fixture: each of its
/// migrations checked against the input, document by document.
#[test]
fn the_example_folder_runs_on_the_shipped_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zip");
    let functions = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/videoai/convex");
    let r = run(&[
        "migrate".as_ref(),
        sample().as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--functions".as_ref(),
        functions.as_os_str(),
        "migrations:all".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("[4/4] migrations:copyVideoStatus"),
        "{r:?}"
    );
    let before = tables_of(&sample());
    let after = tables_of(&out);
    let by_id = |rows: &[Json]| -> std::collections::BTreeMap<String, Json> {
        rows.iter()
            .map(|d| (d["_id"].as_str().unwrap().to_owned(), d.clone()))
            .collect()
    };
    let old_videos = by_id(&before["videos"]);
    let new_videos = by_id(&after["videos"]);
    assert_eq!(old_videos.len(), new_videos.len());
    let mut titled = 0;
    for (id, old) in &old_videos {
        let new = &new_videos[id];
        // setDefaultTitle: a title from the prompt where there was none.
        match old.get("title") {
            Some(Json::String(t)) => assert_eq!(new["title"], json!(t)),
            _ => {
                titled += 1;
                let prompt: String = old["prompt"].as_str().unwrap().chars().take(40).collect();
                assert_eq!(new["title"], json!(prompt), "{id}");
            }
        }
        // dropCdnCache: both fields gone, the rest as it was.
        let mut expected = old.as_object().unwrap().clone();
        expected.remove("videoCdnUrl");
        expected.remove("videoCdnUrlExpiresAt");
        expected.insert("title".into(), new["title"].clone());
        assert_eq!(new.as_object().unwrap(), &expected, "{id}");
    }
    assert!(titled > 0);
    // countVideos: each profile counts the videos with its clerkId.
    for p in &after["userProfiles"] {
        let clerk = p["clerkId"].as_str().unwrap();
        let n = old_videos
            .values()
            .filter(|v| v["clerkId"] == clerk)
            .count();
        assert_eq!(p["videoCount"], json!(n as f64), "{p}");
    }
    // copyVideoStatus: the video's status, or "deleted".
    for t in &after["creditTransactions"] {
        match t.get("videoId").and_then(Json::as_str) {
            None => assert!(t.get("videoStatus").is_none(), "{t}"),
            Some(v) => {
                let want = old_videos
                    .get(v)
                    .map_or("deleted", |v| v["status"].as_str().unwrap());
                assert_eq!(t["videoStatus"], json!(want), "{t}");
            }
        }
    }
}

/// Enough pages to run side by side (several chunks of pages per window):
/// pages whose reads an earlier page wrote must run again, in order, and
/// the result is the sequential one, for any thread count.
#[test]
fn pages_run_ahead_give_the_sequential_result() {
    const N: u32 = 6000;
    let rows: Vec<String> = (0..N)
        .map(|k| {
            let mut internal = [0x10u8; 16];
            internal[1..5].copy_from_slice(&k.to_be_bytes());
            format!(
                "{{\"_creationTime\":{}.0,\"_id\":\"{}\",\"k\":{k}.0}}",
                1_700_000_000_000u64 + u64::from(k),
                convex_snapshot::id::DocumentId::new(10001, internal).encode()
            )
        })
        .collect();
    let counter = format!(
        "{{\"_creationTime\":1600000000000.0,\"_id\":\"{}\",\"n\":0.0}}",
        id(10003, 1)
    );
    let c = with(
        r#"
// Every call reads and bumps one counter: every page depends on the one before.
export const number = migrations.define({
  table: "users",
  migrateOne: async (ctx, u) => {
    const c = await ctx.db.query("counters").first();
    await ctx.db.patch(c._id, { n: c.n + 1 });
    return { seq: c.n + 1 };
  },
});
// One call in a thousand writes what every call reads: a few pages depend
// on earlier ones, most do not.
export const seen = migrations.define({
  table: "users",
  batchSize: 50,
  migrateOne: async (ctx, u) => {
    const c = await ctx.db.query("counters").first();
    if (u.k % 1000 === 0) await ctx.db.patch(c._id, { n: c.n + 1 });
    return { seen: c.n };
  },
});
"#,
        &[("users", 10001, rows), ("counters", 10003, vec![counter])],
    );
    for name in ["number", "seen"] {
        let outs: Vec<Vec<u8>> = ["1", "2"]
            .iter()
            .map(|t| {
                let (r, _) = c.migrate(&[&format!("migrations:{name}"), "--threads", t]);
                assert_eq!(r.code, 0, "{}", r.stderr);
                std::fs::read(c.dir.path().join("out.zip")).unwrap()
            })
            .collect();
        assert_eq!(outs[0], outs[1], "{name}: threads 1 vs 2");
        let t = tables_of(&c.dir.path().join("out.zip"));
        let users = &t["users"];
        assert_eq!(users.len(), N as usize);
        for u in users {
            let k = u["k"].as_f64().unwrap() as u32;
            if name == "number" {
                assert_eq!(u["seq"], json!(f64::from(k + 1)), "{u}");
            } else {
                // The flagged calls before this one (its own bump comes after its read).
                let before = if k == 0 { 0 } else { (k - 1) / 1000 + 1 };
                assert_eq!(u["seen"], json!(f64::from(before)), "{u}");
            }
        }
        let n = if name == "number" { N } else { N / 1000 };
        assert_eq!(t["counters"][0]["n"], json!(f64::from(n)));
    }
}

/// A snapshot of a deployment where the migrations component already ran
/// some: what it records as done is skipped (as the component skips it),
/// unless --reset.
#[test]
fn what_the_component_records_as_done_is_skipped() {
    let mut c = with(
        r#"
export const first = migrations.define({ table: "users", migrateOne: () => ({ first: true }) });
export const second = migrations.define({ table: "users", migrateOne: () => ({ second: true }) });
export const all = migrations.runner([internal.migrations.first, internal.migrations.second]);
"#,
        &[users(&[(1, ""), (2, "")])],
    );
    let state = [
        doc(
            10001,
            1,
            r#""cursor":null,"isDone":true,"latestEnd":1.0,"latestStart":1.0,"name":"migrations:first","processed":2.0"#,
        ),
        doc(
            10001,
            2,
            r#""cursor":"opaque","isDone":false,"latestStart":1.0,"name":"migrations:second","processed":1.0"#,
        ),
    ]
    .join("\n");
    let users: String = [doc(10001, 1, ""), doc(10001, 2, "")].join("\n");
    c.input = make_zip(
        c.dir.path(),
        "deployed.zip",
        &[
            (
                "_tables/documents.jsonl",
                b"{\"name\":\"users\",\"id\":10001}\n",
            ),
            ("users/documents.jsonl", format!("{users}\n").as_bytes()),
            (
                "_components/migrations/_tables/documents.jsonl",
                b"{\"name\":\"migrations\",\"id\":10001}\n",
            ),
            (
                "_components/migrations/migrations/documents.jsonl",
                format!("{state}\n").as_bytes(),
            ),
        ],
    );
    let (r, out) = c.migrate(&["migrations:all", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = report(&r);
    let m = &rep["migrations"];
    assert_eq!(m[0]["migration"], "migrations:first");
    assert_eq!(m[0]["result"]["alreadyDone"], true);
    assert!(
        m[0]["warnings"]["listed"][0]
            .as_str()
            .unwrap()
            .starts_with("already done on the deployment"),
        "{m}"
    );
    assert!(
        m[1]["warnings"]["listed"][0]
            .as_str()
            .unwrap()
            .contains("stopped partway"),
        "{m}"
    );
    let u = &out.unwrap()["users"];
    assert!(
        u.iter()
            .all(|d| d.get("first").is_none() && d["second"] == true),
        "{u:?}"
    );

    let (r, out) = c.migrate(&["migrations:first", "--reset"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.unwrap()["users"].iter().all(|d| d["first"] == true));
}

/// Every value of the fixture (Int64, bytes, -0, nested objects, every
/// table) goes to JavaScript and back unchanged: returning a document's own
/// fields, or replacing it with them, changes nothing.
#[test]
fn every_value_of_the_fixture_survives_the_trip_through_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let functions = dir.path().join("convex");
    std::fs::create_dir_all(&functions).unwrap();
    let tables = [
        "configurations",
        "creditPackages",
        "creditTransactions",
        "modelParameters",
        "models",
        "subscriptionPlans",
        "subscriptions",
        "userProfiles",
        "videoParameters",
        "videos",
    ];
    let mut code = HEADER.to_owned();
    for (i, t) in tables.iter().enumerate() {
        code.push_str(&format!(
            r#"
export const same{i} = migrations.define({{
  table: "{t}",
  migrateOne: (ctx, doc) => {{
    const {{ _id, _creationTime, ...rest }} = doc;
    return rest;
  }},
}});
export const replace{i} = migrations.define({{
  table: "{t}",
  migrateOne: async (ctx, doc) => {{
    const {{ _id, _creationTime, ...rest }} = doc;
    await ctx.db.replace(doc._id, rest);
  }},
}});
"#
        ));
    }
    std::fs::write(functions.join("migrations.ts"), code).unwrap();
    let mut args: Vec<String> = vec![
        "migrate".into(),
        sample().to_string_lossy().into_owned(),
        "--dry-run".into(),
        "--json".into(),
        "--functions".into(),
        functions.to_string_lossy().into_owned(),
    ];
    for i in 0..tables.len() {
        args.push(format!("migrations:same{i}"));
        args.push(format!("migrations:replace{i}"));
    }
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = report(&r);
    let mut visited = 0;
    for m in rep["migrations"].as_array().unwrap() {
        assert_eq!(m["result"]["failed"], 0, "{m}");
        visited += m["result"]["visited"].as_u64().unwrap();
        assert_eq!(m["tables"], json!({}), "{m}");
    }
    assert_eq!(visited, 2 * 443);
}

/// A migration whose calls use nothing but their document streams through
/// the table; the same code with one `ctx.db` call in its last row (in file
/// order) runs paged. Both give the same bytes and the same report: the
/// patches (a removal, an Int64, a no-op), the failures and `console` lines
/// in the component's order, a limit crossed in the component's pages.
#[test]
fn document_only_migrations_stream_and_agree_with_the_paged_run() {
    // More than one chunk of rows (1 MiB each); file order is not
    // creation order.
    const N: u32 = 16_500;
    let rows: Vec<String> = (0..N)
        .map(|k| {
            let mut internal = [0x20u8; 16];
            internal[1..5].copy_from_slice(&k.to_be_bytes());
            let t = 1_700_000_000_000u64 + u64::from((k * 7919) % N) * 10;
            let big = if k % 5 == 0 {
                format!(",\"big\":{k}")
            } else {
                String::new()
            };
            format!(
                "{{\"_creationTime\":{t}.0,\"_id\":\"{}\"{big},\"k\":{k}.0,\"pad\":\"{}\"}}",
                convex_snapshot::id::DocumentId::new(10001, internal).encode(),
                "p".repeat(40)
            )
        })
        .collect();
    let last = N - 1;
    let body = |name: &str, touch: bool| {
        let touch = if touch {
            format!("if (u.k === {last}) ctx.db.normalizeId(\"users\", u._id);")
        } else {
            String::new()
        };
        format!(
            r#"
export const {name} = migrations.define({{
  table: "users",
  migrateOne: (ctx, u) => {{
    {touch}
    if (u.k % 2500 === 7) console.log("seen", u.k);
    if (u.k % 2 === 0) return {{ even: true, pad: undefined }};
    if (typeof u.big === "bigint") return {{ big: u.big + 1n }};
    if (u.k % 3 === 0) return {{ k: u.k }};
    if (u.k % 7 === 0) return {{ neg: -0, _id: u._id }};
  }},
}});
export const {name}Throws = migrations.define({{
  table: "users",
  migrateOne: (ctx, u) => {{
    {touch}
    if (u.k % 3000 === 11) throw new Error("bad " + u.k);
    if (u.k % 4000 === 5) console.warn("odd", u.k);
    if (u.k % 3000 === 12) return {{ _creationTime: 1 }};
    return {{ seen: true }};
  }},
}});
export const {name}Wide = migrations.define({{
  table: "users",
  batchSize: 20000,
  migrateOne: (ctx, u) => {{
    {touch}
    return {{ w: u.k }};
  }},
}});
"#
        )
    };
    // The same lines in two files, for the same `file:line` in stacks.
    let mut files = folder(&body("one", false));
    let paged = format!("{HEADER}\n{}", body("one", true));
    files.push(("paged.ts", paged));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let c = case(&[("users", 10001, rows)], &refs);
    let out = c.dir.path().join("out.zip");
    for what in ["", "Throws", "Wide"] {
        let mut runs = Vec::new();
        for (file, threads) in [("migrations", "1"), ("migrations", "2"), ("paged", "2")] {
            let (r, _) = c.migrate(&[&format!("{file}:one{what}"), "--threads", threads, "--json"]);
            let bytes = std::fs::read(&out).ok();
            let mut rep = report(&r);
            let m = &mut rep["migrations"][0];
            assert_eq!(
                m["result"]["streamed"],
                json!(file == "migrations"),
                "{what}: {m}"
            );
            m["result"].as_object_mut().unwrap().remove("streamed");
            let text = rep
                .to_string()
                .replace(&format!("{file}:one"), "NAME:one")
                .replace(&format!("{file}.ts:"), "NAME.ts:");
            runs.push((r.code, text, bytes));
        }
        assert_eq!(runs[0], runs[1], "{what}: threads 1 vs 2");
        assert_eq!(runs[1], runs[2], "{what}: streamed vs paged");
        let rep: Json = serde_json::from_str(&runs[0].1).unwrap();
        let m = &rep["migrations"][0];
        match what {
            "" => {
                assert_eq!(runs[0].0, 0);
                assert_eq!(m["result"]["visited"], N);
                assert_eq!(m["logs"]["total"], 7, "{m}");
                let t = tables_of(&out);
                let u = &t["users"];
                let k = |d: &Json| d["k"].as_f64().unwrap() as u32;
                assert_eq!(
                    u.iter().map(k).collect::<Vec<_>>(),
                    (0..N).collect::<Vec<_>>()
                );
                assert_eq!(u[0]["even"], true);
                assert!(u[0].get("pad").is_none());
                assert_eq!(u[5]["big"], json!(6), "an Int64 stays one: {}", u[5]);
                assert!(u[1].get("even").is_none() && u[1]["pad"].is_string());
                assert_eq!(u[7]["neg"], json!(-0.0));
                assert!(u[7]["neg"].as_f64().unwrap().is_sign_negative());
                // Patched: the even ones, the odd Int64 ones, the sevens
                // neither odd Int64 nor multiples of three.
                let patched = (0..N)
                    .filter(|k| k % 2 == 0 || k % 5 == 0 || (k % 3 != 0 && k % 7 == 0))
                    .count();
                assert_eq!(m["result"]["writes"]["users"]["patched"], patched, "{m}");
                assert_eq!(m["tables"]["users"]["updated"], patched, "{m}");
            }
            "Throws" => {
                assert_ne!(runs[0].0, 0);
                assert!(runs[0].2.is_none(), "nothing is written");
                let errors = m["errorDetails"]["listed"].as_array().unwrap();
                // 6 throws, 6 refused `_creationTime`s.
                assert_eq!(errors.len(), 12, "{m}");
                assert!(
                    errors
                        .iter()
                        .any(|e| e["reason"].as_str().unwrap().contains("_creationTime"))
                );
                let times: Vec<u64> = errors
                    .iter()
                    .map(|e| {
                        let k = (0..N)
                            .find(|k| {
                                let mut internal = [0x20u8; 16];
                                internal[1..5].copy_from_slice(&k.to_be_bytes());
                                convex_snapshot::id::DocumentId::new(10001, internal).encode()
                                    == e["id"]
                            })
                            .unwrap();
                        u64::from((k * 7919) % N)
                    })
                    .collect();
                assert!(
                    times.is_sorted(),
                    "listed in the component's order: {times:?}"
                );
            }
            _ => {
                assert_eq!(runs[0].0, 0);
                assert_eq!(m["result"]["pages"], 1);
                let warnings = m["warnings"]["listed"].to_string();
                assert!(warnings.contains("limits: page 1 of"), "{warnings}");
                assert!(warnings.contains("db.patch("), "{warnings}");
            }
        }
    }
}
