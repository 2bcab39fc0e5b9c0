//! `validate`: every rule the importer enforces, each problem listed with its
//! entry and line. Exit 0 when clean, 1 when it found errors.

use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::check::{Problem, Severity, check_snapshot};
use crate::cli::ValidateArgs;
use crate::snapshot::Snapshot;

#[derive(Serialize)]
struct Output<'a> {
    snapshot: &'a str,
    ok: bool,
    tables: usize,
    documents: u64,
    errors: usize,
    warnings: usize,
    /// Problems listed (capped by --max-problems); `errors + warnings` is the total.
    problems: &'a [Problem],
}

/// `error: entry line N: message`.
pub fn format_problem(p: &Problem) -> String {
    let sev = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    match p.line {
        Some(line) => format!("{sev}: {} line {line}: {}", p.entry, p.message),
        None => format!("{sev}: {}: {}", p.entry, p.message),
    }
}

pub fn run(args: &ValidateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let snap = Snapshot::open(&args.snapshot)?;
    let report = check_snapshot(&snap, quiet)?;
    let p = &report.problems;
    let failed = p.errors > 0 || (args.deny_warnings && p.warnings > 0);
    let shown = &p.list[..p.list.len().min(args.max_problems)];
    let tables = report.components.iter().map(|c| c.tables.len()).sum();
    let mut out = std::io::stdout().lock();
    if args.json {
        let o = Output {
            snapshot: &report.snapshot,
            ok: !failed,
            tables,
            documents: report.documents,
            errors: p.errors,
            warnings: p.warnings,
            problems: shown,
        };
        serde_json::to_writer_pretty(&mut out, &o)?;
        writeln!(out)?;
    } else {
        for prob in shown {
            writeln!(out, "{}", format_problem(prob))?;
        }
        if p.total() > shown.len() {
            writeln!(
                out,
                "… {} more not shown (raise --max-problems)",
                p.total() - shown.len()
            )?;
        }
        writeln!(
            out,
            "{}: {tables} tables, {} documents: {} errors, {} warnings",
            report.snapshot, report.documents, p.errors, p.warnings
        )?;
    }
    Ok(if failed {
        ExitCode::from(super::FOUND)
    } else {
        ExitCode::SUCCESS
    })
}
