//! `validate`: every rule the importer enforces, each problem listed with its
//! entry and line. Exit 0 when clean, 1 when it found errors.

use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::check::{CheckOptions, Problem, SchemaOutcome, Severity, check_snapshot_with};
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
    /// With --schema: what the schema check covered and found.
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a SchemaOutcome>,
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
    let schema = args.schema.as_deref().map(super::load_schema).transpose()?;
    let snap = Snapshot::open(&args.snapshot)?;
    let options = CheckOptions {
        schema: schema.as_ref(),
        infer: false,
    };
    let report = check_snapshot_with(&snap, quiet, &options)?;
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
            schema: report.schema.as_ref(),
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
        if let Some(o) = &report.schema {
            writeln!(out, "{}", schema_summary(o))?;
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

/// One paragraph on what the schema check covered.
fn schema_summary(o: &SchemaOutcome) -> String {
    let list = |v: &[String]| v.join(", ");
    let mut s = format!(
        "schema {}: {} of {} documents in {} tables do not match",
        o.file,
        o.documents_failing,
        o.documents_checked,
        o.tables_checked.len()
    );
    if !o.enforced {
        s.push_str(" (schemaValidation is false: the deployment would not enforce it, so these are warnings)");
    }
    if o.documents_failing_staged > 0 {
        s.push_str(&format!(
            "; {} would fail a staged validator",
            o.documents_failing_staged
        ));
    }
    if !o.not_in_schema.is_empty() {
        s.push_str(&format!(
            "\n  not in the schema, so not checked (as on a deployment): {}",
            list(&o.not_in_schema)
        ));
    }
    if !o.not_in_snapshot.is_empty() {
        s.push_str(&format!(
            "\n  in the schema with no documents in the snapshot: {}",
            list(&o.not_in_snapshot)
        ));
    }
    s
}
