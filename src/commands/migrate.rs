//! `migrate`: run migrations on a snapshot and write the result. With no
//! migration named, every entry is copied through unchanged (raw, without
//! recompression, when the input is a ZIP).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::archive::{ArchiveWriter, Compression, Destination, is_stdout};
use crate::cli::MigrateArgs;
use crate::engine::{Db, MAX_NOW_MS, default_now, preflight, write_snapshot};
use crate::migrations::function::WholeFunction;
use crate::migrations::user::{self, Found, OnThrow, UserMigration};
use crate::migrations::{self, ALL, Migration, Mode, REGISTRY, Report};
use crate::progress::Progress;
use crate::snapshot::Snapshot;

/// One migration to run: a built-in, or one of the functions folder.
enum Step {
    Builtin(&'static dyn Migration),
    User(UserMigration),
    Function(WholeFunction),
}

impl Step {
    fn migration(&self) -> &dyn Migration {
        match self {
            Step::Builtin(m) => *m,
            Step::User(m) => m,
            Step::Function(m) => m,
        }
    }
}

/// A migrate command line, checked and typed.
struct Plan {
    input: PathBuf,
    output: Option<Destination>,
    migrations: Vec<Step>,
    mode: Mode,
    limits: crate::limits::LimitMode,
    now: Option<u64>,
    report: Option<PathBuf>,
    json: bool,
    strict: bool,
    diff: bool,
    new_app: bool,
    on_throw: OnThrow,
    compression: Compression,
    /// `--schema`: the target schema the result is checked against.
    schema: Option<crate::schema::Schema>,
}

/// What `--report` and `--json` write.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunReport<'a> {
    snapshot: String,
    output: Option<String>,
    mode: Mode,
    limits: crate::limits::LimitMode,
    now: u64,
    migrations: &'a [Report],
    errors: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<crate::diff::Diff>,
    /// With --schema: the result checked against the target schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<crate::schema::StateCheck>,
}

pub fn run(args: &MigrateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let plan = plan(args)?;
    let snap = Snapshot::open(&plan.input)?;
    // Refuse input that `convex import` could not read, before any work.
    let pre = preflight(&snap, quiet)?;

    if plan.migrations.is_empty() {
        if plan.schema.is_some() {
            bail!(
                "--schema checks what migrations leave, and none is named; to check the snapshot as it is: convex-snapshot validate {} --schema",
                shown(&plan.input)
            );
        }
        let output = plan.output.as_ref().expect("plan requires -o");
        return copy_from(&snap, output, plan.compression, quiet);
    }
    let is_init = |s: &Step| matches!(s, Step::Builtin(m) if m.name() == "init");
    if plan.migrations.iter().any(is_init) && !plan.new_app {
        let app_tables = crate::generate::TABLES.map(|(t, _)| t);
        let root = snap.components.get(&Default::default());
        let has_any = root.is_some_and(|c| app_tables.iter().any(|t| c.tables.contains_key(*t)));
        if !has_any {
            bail!(
                "init seeds the VideoAI app's tables, and this snapshot has none of them ({}); it looks like another app's. Give --new-app to seed it anyway",
                app_tables.join(", ")
            );
        }
    }

    let now = match plan.now {
        Some(now) => now,
        None => default_now(pre.max_creation_time)?,
    };
    let temp_in = match &plan.output {
        Some(out) if !out.is_stdout() => crate::archive::parent_of(&out.path),
        _ => std::env::temp_dir(),
    };
    let mut db = Db::open(&snap, &pre, now, &temp_in, quiet)?;
    let root = snap
        .components
        .get(&Default::default())
        .cloned()
        .unwrap_or_default();
    let system = crate::check::system_table_names(&snap, &root)?;
    // `--mode original` reproduces deployed code: under a target schema
    // with validation on, the deployment refuses the writes it rejects, and
    // the built-ins see those throws as the original code would.
    let enforcer = match (&plan.schema, plan.mode) {
        (Some(s), Mode::Original) => {
            let mut names = system.clone();
            for (name, number) in db.table_numbers() {
                names.0.insert(number, name);
            }
            crate::schema::Enforcer::new(s.clone(), names).map(std::sync::Arc::new)
        }
        _ => None,
    };
    let mut reports = Vec::new();
    let steps = plan.migrations.len();
    for (i, m) in plan.migrations.iter().enumerate() {
        let m = m.migration();
        let step = if steps > 1 {
            format!("[{}/{steps}] ", i + 1)
        } else {
            String::new()
        };
        db.set_label(&step);
        let builtin = matches!(plan.migrations[i], Step::Builtin(_));
        db.enforce_schema(enforcer.clone().filter(|_| builtin));
        // Fixed mode is ours, not deployed code: no deployment limits.
        db.set_limit_mode(if builtin && plan.mode == Mode::Fixed {
            crate::limits::LimitMode::Off
        } else {
            plan.limits
        });
        let report = migrations::run(m, &mut db, plan.mode)
            .with_context(|| format!("running {}", m.name()))?;
        if !quiet {
            eprintln!("{}", report.summary(&step));
        }
        let stop = report.fails_run.is_some() && plan.on_throw == OnThrow::Stop;
        reports.push(report);
        if stop {
            // As on the deployment: a failed migration ends its series.
            break;
        }
    }
    let errors: usize = reports.iter().map(Report::errors).sum();
    let missing = reports
        .iter()
        .filter(|r| !r.missing_tables.is_empty())
        .count();
    let thrown: Vec<&str> = reports
        .iter()
        .filter_map(|r| r.fails_run.as_deref())
        .collect();
    let as_deployed = plan.on_throw == OnThrow::Stop && !thrown.is_empty();
    // The result against the target schema, before anything is written.
    let schema = match &plan.schema {
        Some(s) => {
            let root = snap
                .components
                .get(&Default::default())
                .cloned()
                .unwrap_or_default();
            let system = crate::check::system_table_names(&snap, &root)?;
            let check = crate::schema::check_db(&db, s, system)?;
            if !quiet || (plan.strict && check.documents_failing > 0) {
                eprintln!("{}", check.render(SCHEMA_SHOWN));
            }
            Some(check)
        }
        None => None,
    };
    let off_schema = schema
        .as_ref()
        .filter(|c| c.enforced)
        .map_or(0, |c| c.documents_failing);
    let failed = (plan.strict && errors + missing + off_schema as usize > 0)
        || (!thrown.is_empty() && !as_deployed);
    let written = match (&plan.output, failed) {
        (Some(output), false) => {
            let mut writer = ArchiveWriter::create(output, plan.compression)?;
            let progress = Progress::bytes(db.output_size(), "writing", quiet);
            write_snapshot(&db, &mut writer, &progress)?;
            progress.finish();
            writer
                .finish()
                .with_context(|| format!("writing {}", output.path.display()))?;
            Some(shown(&output.path))
        }
        _ => None,
    };
    let diff = if plan.diff {
        Some(diff_run(
            &snap,
            &db,
            plan.output
                .as_ref()
                .filter(|o| written.is_some() && !o.is_stdout()),
            &temp_in,
            quiet,
        )?)
    } else {
        None
    };
    let run_report = RunReport {
        snapshot: shown(&plan.input),
        output: written.clone(),
        mode: plan.mode,
        limits: plan.limits,
        now,
        migrations: &reports,
        errors,
        diff,
        schema,
    };
    if let Some(path) = &plan.report {
        let mut data = serde_json::to_vec_pretty(&run_report)?;
        data.push(b'\n');
        super::write_atomically(path, &data)
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
    // Why a run failed is printed even with --quiet: it hides progress,
    // not the reason for an exit code.
    if failed && !thrown.is_empty() {
        eprintln!("{}", thrown.join("; "));
    } else if failed {
        let mut why = Vec::new();
        if errors > 0 {
            why.push(format!("{errors} document(s) could not be migrated"));
        }
        if missing > 0 {
            why.push(format!(
                "{missing} migration(s) found no table of the app's to work on"
            ));
        }
        if off_schema > 0 {
            why.push(format!(
                "{off_schema} document(s) would not pass the schema"
            ));
        }
        eprintln!("--strict: {}; nothing written", why.join(" and "));
    } else if as_deployed {
        eprintln!(
            "{}; {}",
            thrown.join("; "),
            match &written {
                Some(out) => format!("wrote {out} as the deployment would be left"),
                None => "nothing written (dry run)".into(),
            }
        );
    } else if !quiet {
        match &written {
            Some(out) if out != "-" => eprintln!("wrote {out}"),
            Some(_) => {}
            None => eprintln!("nothing written (dry run or read-only migrations)"),
        }
    }
    Ok(if failed || as_deployed {
        ExitCode::from(super::FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

/// How many schema mismatches a run prints (the report lists more).
const SCHEMA_SHOWN: usize = 20;

/// A path as reports show it (`-` stays `-`).
fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// The diff between the input and the run's result: the written output, or
/// (dry run) a throw-away uncompressed ZIP in a scratch folder.
fn diff_run(
    input: &Snapshot,
    db: &Db,
    written: Option<&Destination>,
    temp_in: &Path,
    quiet: bool,
) -> anyhow::Result<crate::diff::Diff> {
    let scratch = crate::scratch::Scratch::new_in(temp_in)?;
    let path = match written {
        Some(dest) => dest.path.clone(),
        None => {
            let p = scratch.path().join("result.zip");
            let mut writer = ArchiveWriter::create_zip(&p, Compression::Stored)?;
            write_snapshot(db, &mut writer, &Progress::hidden())?;
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
/// after checking that every entry can be read.
pub fn copy_through(
    input: &Path,
    output: &Destination,
    compression: Compression,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let snap = Snapshot::open(input)?;
    preflight(&snap, quiet)?;
    copy_from(&snap, output, compression, quiet)
}

fn copy_from(
    snap: &Snapshot,
    output: &Destination,
    compression: Compression,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let mut writer = ArchiveWriter::create(output, compression)?;
    let total = snap.archive.entries().iter().map(|e| e.size).sum();
    let progress = Progress::bytes(total, "writing", quiet);
    for (i, e) in snap.archive.entries().iter().enumerate() {
        snap.archive.copy_entry_to(i, &mut writer)?;
        progress.inc(e.size);
    }
    progress.finish();
    writer
        .finish()
        .with_context(|| format!("writing {}", output.path.display()))?;
    if !quiet && !output.is_stdout() {
        eprintln!(
            "wrote {} ({} entries copied unchanged)",
            output.path.display(),
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
    let project = crate::js::Project::find(args.functions.as_deref())
        .map_err(anyhow::Error::msg)?
        .map(std::sync::Arc::new);
    if !(args.timeout > 0.0 && args.timeout <= 3600.0) {
        bail!("--timeout must be between 0 and 3600 seconds");
    }
    let limits = crate::js::Limits {
        call_time: std::time::Duration::from_secs_f64(args.timeout),
        ..crate::js::Limits::default()
    };
    let on_throw = match args.on_throw {
        crate::cli::OnThrowArg::List => OnThrow::List,
        crate::cli::OnThrowArg::Stop => OnThrow::Stop,
    };
    let mut migrations = Vec::new();
    let mut ran: Vec<String> = Vec::new();
    for name in names {
        for mut step in resolve(
            name,
            project.as_ref(),
            on_throw,
            limits,
            args.args.as_deref(),
        )? {
            if let Step::User(u) = &mut step {
                u.reset = args.reset;
                // A runner skips a migration that already ran.
                if ran.contains(&u.display) {
                    continue;
                }
                ran.push(u.display.clone());
            }
            migrations.push(step);
        }
    }
    let migrations: Vec<Step> = migrations;
    if args.args.is_some() && !migrations.iter().any(|m| matches!(m, Step::Function(_))) {
        bail!(
            "--args gives the arguments of a whole function (a mutation or a query of the functions folder), and none is named"
        );
    }
    let writes = migrations.is_empty() || migrations.iter().any(|m| !m.migration().read_only());
    let output = if args.dry_run {
        None
    } else {
        match &args.output {
            Some(out) => Some(super::destination(
                &[&args.snapshot],
                out,
                args.force,
                super::Writes::Either,
            )?),
            None if writes => {
                bail!("-o OUT.zip is required to write the result (or use --dry-run)")
            }
            None => None,
        }
    };
    if migrations.is_empty() && output.is_none() {
        bail!("nothing to do: name a migration (see `convex-snapshot list`) or give -o to copy");
    }
    if let Some(report) = &args.report {
        super::check_report(report, &[&args.snapshot], output.as_ref(), args.force)?;
    }
    let stdout_users = [
        output.as_ref().is_some_and(Destination::is_stdout),
        args.json,
        args.diff && !args.json,
        args.report.as_deref().is_some_and(is_stdout),
    ];
    if stdout_users.iter().filter(|u| **u).count() > 1 {
        bail!("only one of -o -, --json, --diff and --report - can write to standard output");
    }
    let now = args.now.as_deref().map(parse_now).transpose()?;
    Ok(Plan {
        input: args.snapshot.clone(),
        output,
        migrations,
        mode: args.mode.into(),
        limits: args.limits,
        now,
        report: args.report.clone(),
        json: args.json,
        strict: args.strict,
        diff: args.diff,
        new_app: args.new_app,
        on_throw,
        compression: args.compression.into(),
        schema: args.schema.as_deref().map(super::load_schema).transpose()?,
    })
}

/// What a name on the command line runs: a built-in, a migration of the
/// functions folder, or a runner's list. A name both answer is an error
/// that says how to pick each.
fn resolve(
    name: &str,
    project: Option<&std::sync::Arc<crate::js::Project>>,
    on_throw: OnThrow,
    limits: crate::js::Limits,
    function_args: Option<&str>,
) -> anyhow::Result<Vec<Step>> {
    let (forced, bare) = match name.split_once(':') {
        Some(("builtin", rest)) => (Some(true), rest),
        Some(("user", rest)) => (Some(false), rest),
        _ => (None, name),
    };
    let builtin = migrations::find(bare).filter(|_| forced != Some(false));
    let found = match (project, forced) {
        (Some(p), None | Some(false)) => user::find(p, bare)?,
        _ => None,
    };
    let user_steps =
        |found: Found, p: &std::sync::Arc<crate::js::Project>| -> anyhow::Result<Vec<Step>> {
            let one = |file: String, fname: crate::js::FunctionName| {
                Step::User(UserMigration {
                    project: p.clone(),
                    display: fname.canonical(),
                    name: fname,
                    file,
                    on_throw,
                    limits,
                    reset: false,
                })
            };
            match found {
                Found::Function { file, name, query } => Ok(vec![Step::Function(WholeFunction {
                    project: p.clone(),
                    display: name.canonical(),
                    name,
                    file,
                    query,
                    args: function_args.unwrap_or("{}").to_owned(),
                    limits,
                })]),
                Found::Migration { file, name } => Ok(vec![one(file, name)]),
                Found::Runner { list, .. } => list
                    .iter()
                    .map(|n| match user::find(p, n)? {
                        Some(Found::Migration { file, name }) => Ok(one(file, name)),
                        _ => bail!(
                            "the runner {bare} lists {n}, which is not a migration of {}",
                            p.root.display()
                        ),
                    })
                    .collect(),
            }
        };
    match (builtin, found, project) {
        (Some(b), Some(_), Some(p)) => bail!(
            "{name:?} names both the built-in migration {} and a migration of {}: write builtin:{} for the built-in, or user:{bare} for yours",
            b.name(),
            p.root.display(),
            b.name()
        ),
        (Some(b), None, _) => Ok(vec![Step::Builtin(b)]),
        (None, Some(f), Some(p)) => user_steps(f, p),
        _ => {
            let known: Vec<&str> = REGISTRY.iter().map(|m| m.name()).collect();
            let folder = match project {
                Some(p) => format!(
                    "it is not in {} either (see `convex-snapshot list`)",
                    p.root.display()
                ),
                None => "and there is no functions folder here (./convex, or --functions DIR)"
                    .to_owned(),
            };
            bail!(
                "unknown migration {name:?}; the built-in ones are: {}, and {folder}",
                known.join(", ")
            )
        }
    }
}

/// `--now`: milliseconds since 1970, or an RFC 3339 time. It must make valid
/// `_creationTime`s for new rows: after 1970, and early enough that
/// `now + 0.001 × seq` stays exact (before [`MAX_NOW_MS`], in 2286).
fn parse_now(text: &str) -> anyhow::Result<u64> {
    let ms = match text.parse::<u64>() {
        Ok(ms) => ms,
        Err(_) => {
            let ts: jiff::Timestamp = text.parse().with_context(|| {
                format!(
                    "--now {text:?} is neither milliseconds nor an RFC 3339 time (2025-08-03T12:00:00Z)"
                )
            })?;
            let ms = ts.as_millisecond();
            if ms <= 0 {
                bail!("--now {text:?} is not after 1970");
            }
            ms as u64
        }
    };
    if ms == 0 {
        bail!("--now 0 would give new documents a _creationTime of 0, which the importer refuses");
    }
    if ms >= MAX_NOW_MS {
        bail!(
            "--now {text} is past the year 2286, where new _creationTimes would lose precision; give an earlier time"
        );
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_accepts_milliseconds_and_rfc3339_that_make_valid_creation_times() {
        assert_eq!(parse_now("1754240000000").unwrap(), 1_754_240_000_000);
        assert_eq!(
            parse_now("2025-08-03T17:06:40Z").unwrap(),
            1_754_240_800_000
        );
        assert_eq!(
            parse_now("2025-08-03T19:06:40.5+02:00").unwrap(),
            1_754_240_800_500
        );
        assert_eq!(parse_now("1").unwrap(), 1);
        for bad in [
            "yesterday",
            "1960-01-01T00:00:00Z",
            "0",
            "10000000000000",
            "-5",
        ] {
            assert!(parse_now(bad).is_err(), "{bad}");
        }
    }
}
