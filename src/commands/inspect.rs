//! `inspect`: what a snapshot holds. Components, tables (number, rows, sizes,
//! value format), `_storage`, a field summary per table, and anything unusual
//! (the problems `validate` would list, capped).

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use crate::check::{CheckOptions, Report, check_snapshot_with};
use crate::cli::InspectArgs;
use crate::progress::human_bytes;
use crate::snapshot::Snapshot;

/// How many unusual findings `inspect` prints; `validate` lists them all.
const UNUSUAL_SHOWN: usize = 20;

pub fn run(args: &InspectArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let snap = Snapshot::open(&args.snapshot)?;
    let options = CheckOptions {
        schema: None,
        infer: args.schema_ts,
    };
    let report = check_snapshot_with(&snap, quiet, &options)?;
    report.ensure_readable()?;
    let mut out = std::io::stdout().lock();
    if args.schema_ts {
        let source = args
            .snapshot
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| args.snapshot.display().to_string());
        let text = crate::schema::draft_schema(
            &source,
            report.inferred.iter().map(|(k, v)| (k.as_str(), v)),
            &report.names,
        );
        out.write_all(text.as_bytes())?;
    } else if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&report).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &Report) -> String {
    let mut s = String::new();
    let tables: usize = r.components.iter().map(|c| c.tables.len()).sum();
    let _ = writeln!(
        s,
        "{} ({}, {} entries): {} components, {} tables, {} documents",
        r.snapshot,
        r.kind,
        r.entries,
        r.components.len(),
        tables,
        r.documents
    );
    for c in &r.components {
        let _ = writeln!(s, "\ncomponent {}", c.path);
        let width = c
            .tables
            .iter()
            .map(|t| t.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            s,
            "  {:<width$}  {:>6}  {:>9}  {:>11}  {:>12}  format",
            "table", "number", "rows", "compressed", "uncompressed"
        );
        for t in &c.tables {
            let _ = writeln!(
                s,
                "  {:<width$}  {:>6}  {:>9}  {:>11}  {:>12}  {}",
                t.name,
                t.number.map(|n| n.to_string()).unwrap_or("-".into()),
                t.rows,
                t.compressed_bytes.map(human_bytes).unwrap_or("-".into()),
                human_bytes(t.uncompressed_bytes),
                t.format
            );
        }
        if let Some(st) = &c.storage {
            let _ = writeln!(
                s,
                "  _storage: {} files, {} ({} metadata rows)",
                st.files,
                human_bytes(st.bytes),
                st.metadata_rows
            );
        }
        for t in c.tables.iter().filter(|t| t.rows > 0) {
            let _ = writeln!(s, "\n  fields of {} ({} rows)", t.name, t.rows);
            let fw = t.fields.keys().map(String::len).max().unwrap_or(5);
            for (name, f) in &t.fields {
                let types = f
                    .types
                    .iter()
                    .map(|(ty, n)| {
                        if f.types.len() == 1 {
                            ty.to_string()
                        } else {
                            format!("{ty} {n}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let pct = 100.0 * f.present as f64 / t.rows as f64;
                let _ = writeln!(s, "    {name:<fw$}  {pct:>5.1}%  {types}");
            }
        }
    }
    let p = &r.problems;
    if p.total() == 0 {
        let _ = writeln!(s, "\nnothing unusual");
    } else {
        let _ = writeln!(
            s,
            "\nunusual ({} errors, {} warnings; `validate` lists them all):",
            p.errors, p.warnings
        );
        for prob in p.list.iter().take(UNUSUAL_SHOWN) {
            let _ = writeln!(s, "  {}", super::validate::format_problem(prob));
        }
        if p.total() > UNUSUAL_SHOWN {
            let _ = writeln!(s, "  … and {} more", p.total() - UNUSUAL_SHOWN);
        }
    }
    s
}
