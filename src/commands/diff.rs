//! `diff`: what differs between two snapshots, as Convex data.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::DiffArgs;
use crate::diff::{self, Diff, FieldChange, Options, Status, TableDiff};
use crate::snapshot::Snapshot;

pub fn run(args: &DiffArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.a.as_os_str() == "-" && args.b.as_os_str() == "-" {
        anyhow::bail!("only one of the two snapshots can come from standard input");
    }
    let a = Snapshot::open(&args.a)?;
    let b = Snapshot::open(&args.b)?;
    // Both are read the way every command reads them, before comparing.
    crate::engine::preflight(&a, quiet)?;
    crate::engine::preflight(&b, quiet)?;
    let opts = Options {
        tables: args.table.clone(),
        limit: args.limit,
        stat: args.stat,
        quiet,
    };
    let d = diff::diff(&a, &b, &opts)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut data = serde_json::to_vec_pretty(&d)?;
        data.push(b'\n');
        out.write_all(&data)?;
    } else {
        out.write_all(render(&d, args.stat).as_bytes())?;
    }
    Ok(if d.equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::FOUND)
    })
}

/// The readable report.
pub fn render(d: &Diff, stat: bool) -> String {
    let mut s = String::new();
    let mut differing = 0;
    for c in &d.components {
        let prefix = if c.path == "(root)" {
            String::new()
        } else {
            format!("{}/", c.path)
        };
        if c.status == Status::Added || c.status == Status::Removed {
            let _ = writeln!(s, "component {}: {}", c.path, word(c.status));
        }
        for t in c.tables.iter().filter(|t| t.status != Status::Same) {
            differing += 1;
            table(&mut s, &prefix, t, stat);
        }
        for n in &c.numbers {
            let _ = writeln!(s, "_tables: {prefix}{} number {} → {}", n.table, n.a, n.b);
        }
        let st = &c.storage;
        if !st.is_empty() {
            let _ = writeln!(
                s,
                "{prefix}_storage: {} added, {} removed, {} changed",
                st.added.len(),
                st.removed.len(),
                st.changed.len()
            );
            if !stat {
                for (mark, ids) in [("+", &st.added), ("-", &st.removed), ("~", &st.changed)] {
                    for id in ids {
                        let _ = writeln!(s, "  {mark} {id}");
                    }
                }
            }
        }
    }
    if d.equal {
        let _ = writeln!(s, "{} and {} hold the same data", d.a, d.b);
    } else {
        let _ = writeln!(s, "{differing} table(s) differ");
    }
    s
}

fn word(s: Status) -> &'static str {
    match s {
        Status::Same => "same",
        Status::Added => "added",
        Status::Removed => "removed",
        Status::Changed => "changed",
    }
}

fn table(s: &mut String, prefix: &str, t: &TableDiff, stat: bool) {
    let number = match (t.number_a, t.number_b) {
        (Some(a), Some(b)) if a != b => format!(", number {a} → {b}"),
        (None, Some(b)) => format!(", number {b}"),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "table {prefix}{}: {} ({} → {} rows{number}): {} added, {} removed, {} changed",
        t.name,
        word(t.status),
        t.rows_a,
        t.rows_b,
        t.added,
        t.removed,
        t.changed
    );
    let sh = &t.shape;
    if !sh.fields_added.is_empty() {
        let _ = writeln!(s, "  shape: + fields {}", sh.fields_added.join(", "));
    }
    if !sh.fields_removed.is_empty() {
        let _ = writeln!(s, "  shape: - fields {}", sh.fields_removed.join(", "));
    }
    for tc in &sh.types_changed {
        let mut parts = Vec::new();
        if !tc.added.is_empty() {
            parts.push(format!("+{}", tc.added.join(" +")));
        }
        if !tc.removed.is_empty() {
            parts.push(format!("-{}", tc.removed.join(" -")));
        }
        let _ = writeln!(s, "  shape: {} types {}", tc.field, parts.join(" "));
    }
    if stat {
        return;
    }
    let Some(docs) = &t.documents else { return };
    for d in &docs.added {
        let _ = writeln!(s, "  + {} {}", d.id, d.document);
    }
    more(s, t.added, docs.added.len(), "added");
    for d in &docs.removed {
        let _ = writeln!(s, "  - {} {}", d.id, d.document);
    }
    more(s, t.removed, docs.removed.len(), "removed");
    for d in &docs.changed {
        let _ = writeln!(s, "  ~ {}", d.id);
        for c in &d.changes {
            change(s, c);
        }
    }
    more(s, t.changed, docs.changed.len(), "changed");
}

fn change(s: &mut String, c: &FieldChange) {
    let show =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let _ = match c.kind {
        Status::Added => writeln!(s, "      + {}: {}", c.path, show(&c.new)),
        Status::Removed => writeln!(s, "      - {}: {}", c.path, show(&c.old)),
        _ => writeln!(s, "      ~ {}: {} → {}", c.path, show(&c.old), show(&c.new)),
    };
}

fn more(s: &mut String, total: u64, shown: usize, what: &str) {
    if total > shown as u64 {
        let _ = writeln!(s, "  … {} more {what} (--limit)", total - shown as u64);
    }
}
