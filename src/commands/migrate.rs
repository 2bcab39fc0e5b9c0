//! `migrate`: run migrations on a snapshot and write the result. With no
//! migration named, every entry is copied through unchanged (raw, without
//! recompression, when the input is a ZIP).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::archive::{ArchiveWriter, Compression};
use crate::cli::MigrateArgs;
use crate::engine::{Db, default_now, preflight, write_snapshot};
use crate::migrations::{self, ALL, Migration, Mode, REGISTRY, Report};
use crate::snapshot::Snapshot;

/// `now` must stay below this so that `now + 0.001 × seq` is exact enough to
/// keep new `_creationTime`s distinct (10^13 ms is in the year 2286).
const MAX_NOW_MS: u64 = 10_000_000_000_000;

/// A migrate command line, checked and typed.
struct Plan {
    input: PathBuf,
    output: Option<PathBuf>,
    migrations: Vec<&'static dyn Migration>,
    mode: Mode,
    now: Option<u64>,
    report: Option<PathBuf>,
    json: bool,
    strict: bool,
    diff: bool,
    compression: Compression,
}

/// What `--report` and `--json` write.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunReport<'a> {
    snapshot: String,
    output: Option<String>,
    mode: Mode,
    now: u64,
    migrations: &'a [Report],
    errors: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<crate::diff::Diff>,
}

pub fn run(args: &MigrateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let plan = plan(args)?;
    let snap = Snapshot::open(&plan.input)?;
    // Refuse input that `convex import` could not read, before any work.
    let pre = preflight(&snap, quiet)?;

    if plan.migrations.is_empty() {
        let output = plan.output.as_deref().expect("plan requires -o");
        return copy_from(&snap, output, plan.compression, quiet);
    }

    let now = plan
        .now
        .unwrap_or_else(|| default_now(pre.max_creation_time));
    if now >= MAX_NOW_MS {
        bail!(
            "the clock {now} ms is past the year 2286, where new _creationTimes would lose precision; give an earlier --now"
        );
    }
    let temp_in = match &plan.output {
        Some(out) => parent_dir(out),
        None => std::env::temp_dir(),
    };
    let mut db = Db::open(&snap, &pre, now, &temp_in, quiet)?;
    let mut reports = Vec::new();
    for m in &plan.migrations {
        let report = migrations::run(*m, &mut db, plan.mode)
            .with_context(|| format!("running {}", m.name()))?;
        if !quiet {
            eprintln!("{}", report.summary());
        }
        reports.push(report);
    }
    let errors: usize = reports.iter().map(Report::errors).sum();
    let failed = plan.strict && errors > 0;
    let written = match (&plan.output, failed) {
        (Some(output), false) => {
            let mut writer = ArchiveWriter::create_for(output, plan.compression)?;
            write_snapshot(&db, &mut writer)?;
            writer
                .finish()
                .with_context(|| format!("writing {}", output.display()))?;
            Some(output.display().to_string())
        }
        _ => None,
    };
    let diff = if plan.diff {
        Some(diff_run(
            &snap,
            &db,
            plan.output.as_deref().filter(|_| written.is_some()),
            &temp_in,
            quiet,
        )?)
    } else {
        None
    };
    let run_report = RunReport {
        snapshot: plan.input.display().to_string(),
        output: written.clone(),
        mode: plan.mode,
        now,
        migrations: &reports,
        errors,
        diff,
    };
    if let Some(path) = &plan.report {
        let mut data = serde_json::to_vec_pretty(&run_report)?;
        data.push(b'\n');
        std::fs::write(path, data)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    if plan.json {
        let mut data = serde_json::to_vec_pretty(&run_report)?;
        data.push(b'\n');
        std::io::Write::write_all(&mut std::io::stdout().lock(), &data)?;
    } else if let Some(d) = &run_report.diff {
        let text = crate::commands::diff::render(d, false);
        std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
    }
    if !quiet {
        match (&written, failed) {
            (_, true) => {
                eprintln!("--strict: {errors} document(s) could not be migrated; nothing written")
            }
            (Some(out), _) => eprintln!("wrote {out}"),
            (None, _) => eprintln!("nothing written (dry run or read-only migrations)"),
        }
    }
    Ok(if failed {
        ExitCode::from(super::FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

/// The diff between the input and the run's result: the written output, or
/// (dry run) a throw-away uncompressed ZIP in a temporary folder.
fn diff_run(
    input: &Snapshot,
    db: &Db,
    written: Option<&Path>,
    temp_in: &Path,
    quiet: bool,
) -> anyhow::Result<crate::diff::Diff> {
    let tmp = tempfile::Builder::new()
        .prefix(".convex-snapshot-diff-")
        .tempdir_in(temp_in)?;
    let path = match written {
        Some(p) => p.to_owned(),
        None => {
            let p = tmp.path().join("result.zip");
            let mut writer = ArchiveWriter::create(&p, Compression::Stored)?;
            write_snapshot(db, &mut writer)?;
            writer.finish()?;
            p
        }
    };
    let after = Snapshot::open(&path)?;
    let opts = crate::diff::Options {
        tables: Vec::new(),
        limit: 10,
        stat: false,
        quiet,
    };
    let mut d = crate::diff::diff(input, &after, &opts)?;
    if written.is_none() {
        d.b = "(result of this run)".into();
    }
    Ok(d)
}

/// Copies a snapshot through unchanged (`migrate` with no migration, `pack`),
/// after checking that every line can be read.
pub fn copy_through(
    input: &Path,
    output: &Path,
    compression: Compression,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let snap = Snapshot::open(input)?;
    preflight(&snap, quiet)?;
    copy_from(&snap, output, compression, quiet)
}

fn copy_from(
    snap: &Snapshot,
    output: &Path,
    compression: Compression,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let mut writer = ArchiveWriter::create_for(output, compression)?;
    for i in 0..snap.archive.entries().len() {
        snap.archive.copy_entry_to(i, &mut writer)?;
    }
    writer
        .finish()
        .with_context(|| format!("writing {}", output.display()))?;
    if !quiet {
        eprintln!(
            "wrote {} ({} entries copied unchanged)",
            output.display(),
            snap.archive.entries().len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Turns arguments into a [`Plan`], refusing bad combinations before any
/// work.
fn plan(args: &MigrateArgs) -> anyhow::Result<Plan> {
    let mut names: Vec<&str> = args.migrations.iter().map(String::as_str).collect();
    if args.all {
        names.extend(ALL);
    }
    let mut migrations = Vec::new();
    for name in names {
        let Some(m) = migrations::find(name) else {
            let known: Vec<&str> = REGISTRY.iter().map(|m| m.name()).collect();
            bail!(
                "unknown migration {name:?}; the built-in ones are: {} (see `convex-snapshot list`)",
                known.join(", ")
            );
        };
        migrations.push(m);
    }
    let writes = migrations.is_empty() || migrations.iter().any(|m| !m.read_only());
    let output = if args.dry_run {
        None
    } else {
        if let Some(out) = &args.output {
            super::check_output(Some(&args.snapshot), out)?;
        } else if writes {
            bail!("-o OUT.zip is required to write the result (or use --dry-run)");
        }
        args.output.clone()
    };
    if migrations.is_empty() && output.is_none() {
        bail!("nothing to do: name a migration (see `convex-snapshot list`) or give -o to copy");
    }
    let now = args.now.as_deref().map(parse_now).transpose()?;
    Ok(Plan {
        input: args.snapshot.clone(),
        output,
        migrations,
        mode: args.mode.into(),
        now,
        report: args.report.clone(),
        json: args.json,
        strict: args.strict,
        diff: args.diff,
        compression: args.compression.into(),
    })
}

/// `--now`: milliseconds since 1970, or an RFC 3339 time.
fn parse_now(text: &str) -> anyhow::Result<u64> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let ts: jiff::Timestamp = text.parse().with_context(|| {
        format!(
            "--now {text:?} is neither milliseconds nor an RFC 3339 time (2025-08-03T12:00:00Z)"
        )
    })?;
    let ms = ts.as_millisecond();
    if ms <= 0 {
        bail!("--now {text:?} is not after 1970");
    }
    Ok(ms as u64)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_accepts_milliseconds_and_rfc3339() {
        assert_eq!(parse_now("1754240000000").unwrap(), 1_754_240_000_000);
        assert_eq!(
            parse_now("2025-08-03T17:06:40Z").unwrap(),
            1_754_240_800_000
        );
        assert_eq!(
            parse_now("2025-08-03T19:06:40.5+02:00").unwrap(),
            1_754_240_800_500
        );
        assert!(parse_now("yesterday").is_err());
        assert!(parse_now("1960-01-01T00:00:00Z").is_err());
    }
}
