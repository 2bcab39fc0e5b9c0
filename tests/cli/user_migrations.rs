//! Your own migrations: `.ts` files in the styles real projects use, run on
//! literal documents, checked before and after.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::common::*;

/// A snapshot of `users` (10001) and `posts` (10002) rows, and a functions
/// folder holding `files`.
struct Case {
    dir: tempfile::TempDir,
    input: PathBuf,
    functions: PathBuf,
}

fn case(tables: &[(&str, u32, Vec<String>)], files: &[(&str, &str)]) -> Case {
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
fn doc(number: u32, n: u8, fields: &str) -> String {
    let sep = if fields.is_empty() { "" } else { "," };
    format!(
        "{{\"_creationTime\":{}.5,\"_id\":\"{}\"{sep}{fields}}}",
        1_700_000_000_000u64 + u64::from(n) * 1000,
        id(number, n)
    )
}

impl Case {
    /// Runs `migrate` with these names and flags; the output's tables.
    fn migrate(
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
