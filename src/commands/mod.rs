//! One file per subcommand. `run` sets up the thread pool and sends each
//! subcommand to its function; each returns the exit code for a run that
//! completed (0, or 1 when it found something) or an error (exit 2).

mod diff;
mod generate;
mod inspect;
mod list;
pub(crate) mod migrate;
mod pack;
mod unpack;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::archive::{Destination, OutputKind, is_stdout, is_zip_path};
use crate::cli::{Cli, Command};

/// Exit code 1: the command ran and found something.
pub const FOUND: u8 = 1;

/// The most worker threads `--threads` may ask for: more only costs memory
/// and scheduling (every batch window scales with the thread count).
const MAX_THREADS: usize = 256;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(n) = cli.global.threads {
        if !(1..=MAX_THREADS).contains(&n) {
            bail!(
                "--threads must be between 1 and {MAX_THREADS} (this machine has {} cores)",
                cores()
            );
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot start the worker threads")?;
    }
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Inspect(args) => inspect::run(&args, quiet),
        Command::Validate(args) => validate::run(&args, quiet),
        Command::Migrate(args) => migrate::run(&args, quiet),
        Command::List(args) => list::run(&args),
        Command::Diff(args) => diff::run(&args, quiet),
        Command::Unpack(args) => unpack::run(&args, quiet),
        Command::Pack(args) => pack::run(&args, quiet),
        Command::Generate(args) => generate::run(&args, quiet),
    }
}

/// True when the error is a closed stdout (`| head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let kind = e
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                e.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Resolves a path that may not exist yet to an absolute one.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Ok(p);
    }
    let parent = crate::archive::parent_of(path);
    let file = path
        .file_name()
        .with_context(|| format!("{} does not name a file", path.display()))?;
    let parent = parent
        .canonicalize()
        .with_context(|| format!("output folder {} does not exist", parent.display()))?;
    Ok(parent.join(file))
}

/// Which kinds of output a command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writes {
    /// A ZIP only (`pack`, `generate`); `-` is standard output.
    Zip,
    /// A folder only (`unpack`): any name is a folder.
    Dir,
    /// Either (`migrate`): `.zip` is a ZIP; a trailing `/`, no extension or
    /// an existing folder is a folder.
    Either,
}

/// Checks an output path before any work and says where and how it will be
/// written. It must not be an input, lie inside an input folder, or hold an
/// input; an existing output is refused unless `force` (and a folder is
/// replaced only when it holds a snapshot and nothing else).
fn destination(
    inputs: &[&Path],
    output: &Path,
    force: bool,
    writes: Writes,
) -> anyhow::Result<Destination> {
    let text = output.to_string_lossy();
    if is_stdout(output) {
        if writes == Writes::Dir {
            bail!("a folder cannot be written to standard output; name a folder");
        }
        return Ok(Destination {
            path: output.to_owned(),
            kind: OutputKind::Zip,
            replace: false,
        });
    }
    let kind = match writes {
        Writes::Zip if is_zip_path(output) => OutputKind::Zip,
        Writes::Zip => bail!(
            "output {} must end in .zip (`npx convex import` reads the format from the extension), or be - for standard output",
            output.display()
        ),
        Writes::Dir => OutputKind::Dir,
        Writes::Either if text.ends_with('/') => OutputKind::Dir,
        Writes::Either if is_zip_path(output) => OutputKind::Zip,
        Writes::Either if output.is_dir() || output.extension().is_none() => OutputKind::Dir,
        Writes::Either => bail!(
            "output {} must end in .zip, or name a folder (add a trailing /, as in {}/)",
            output.display(),
            text.trim_end_matches('/')
        ),
    };
    let out = absolute(output)?;
    for input in inputs {
        if is_stdout(input) {
            continue;
        }
        let Ok(input) = input.canonicalize() else {
            continue;
        };
        if input == out {
            bail!(
                "output {} is the input snapshot; choose another path (the input is never modified)",
                output.display()
            );
        }
        if input.is_dir() && out.starts_with(&input) {
            bail!(
                "output {} is inside the input folder; choose a path outside it (the input is never modified)",
                output.display()
            );
        }
        if kind == OutputKind::Dir && input.starts_with(&out) {
            bail!(
                "the input {} is inside the output folder {}; choose another output",
                input.display(),
                output.display()
            );
        }
    }
    let meta = std::fs::symlink_metadata(output).ok();
    match (&meta, kind) {
        (Some(m), OutputKind::Zip) if m.is_dir() => {
            bail!("output {} is a folder, not a ZIP", output.display())
        }
        (Some(m), OutputKind::Dir) if !m.is_dir() => {
            bail!("output {} exists and is not a folder", output.display())
        }
        (Some(_), OutputKind::Zip) if !force => bail!(
            "output {} already exists; choose another path, or give --force to overwrite it",
            output.display()
        ),
        (Some(_), OutputKind::Dir) if std::fs::read_dir(output)?.next().is_some() => {
            if !force {
                bail!(
                    "output folder {} exists and is not empty; choose another path, or give --force to replace it",
                    output.display()
                );
            }
            if let Err(why) = holds_only_a_snapshot(output) {
                bail!(
                    "--force replaces only a folder that holds a snapshot, and {} does not ({why})",
                    output.display()
                );
            }
        }
        _ => {}
    }
    Ok(Destination {
        path: output.to_owned(),
        kind,
        replace: force,
    })
}

/// `Ok` when every file under `dir` is something a snapshot holds (tables,
/// `_tables`, schemas, `_storage`, `README.md`), else which file is not.
fn holds_only_a_snapshot(dir: &Path) -> Result<(), String> {
    use crate::layout::{EntryKind, classify};
    let archive = crate::archive::Archive::open(dir).map_err(|e| e.to_string())?;
    for e in archive.entries() {
        if matches!(
            classify(&e.name, e.is_dir),
            EntryKind::Other | EntryKind::BadComponent(_)
        ) {
            return Err(format!("{} is not a snapshot file", e.name));
        }
    }
    Ok(())
}

/// Checks where a JSON report goes (`--report FILE`) with the same guards
/// as an output: not an input, not inside an input folder, not the output
/// or inside an output folder, not an existing file without `force`.
fn check_report(
    report: &Path,
    inputs: &[&Path],
    output: Option<&Destination>,
    force: bool,
) -> anyhow::Result<()> {
    if is_stdout(report) {
        return Ok(());
    }
    if report.is_dir() || report.to_string_lossy().ends_with('/') {
        bail!("--report {} names a folder; give a file", report.display());
    }
    let at = absolute(report)?;
    for input in inputs.iter().filter(|i| !is_stdout(i)) {
        let Ok(input) = input.canonicalize() else {
            continue;
        };
        if input == at || (input.is_dir() && at.starts_with(&input)) {
            bail!(
                "--report {} would write into the input snapshot; choose another path (the input is never modified)",
                report.display()
            );
        }
    }
    if let Some(out) = output.filter(|o| !o.is_stdout()) {
        let out_at = absolute(&out.path)?;
        if out_at == at || (out.kind == OutputKind::Dir && at.starts_with(&out_at)) {
            bail!(
                "--report {} is where the output snapshot goes; choose another path",
                report.display()
            );
        }
    }
    if report.exists() && !force {
        bail!(
            "--report {} already exists; choose another path, or give --force to overwrite it",
            report.display()
        );
    }
    Ok(())
}

/// Writes a small file atomically: into a scratch folder beside it, then
/// renamed into place; `-` is standard output.
fn write_atomically(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    if is_stdout(path) {
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, data)?;
        return Ok(std::io::Write::flush(&mut out)?);
    }
    let scratch = crate::scratch::Scratch::new_in(&crate::archive::parent_of(path))?;
    let tmp = scratch.path().join("report.json");
    std::fs::write(&tmp, data).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The schema `--schema` names: a file or folder, or (alone) the project's.
pub(crate) fn load_schema(given: &std::path::Path) -> anyhow::Result<crate::schema::Schema> {
    let path = if given.as_os_str().is_empty() {
        let project = crate::js::Project::find(None)
            .map_err(anyhow::Error::msg)?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--schema: no functions folder here (no convex.json `functions` setting, no ./convex); name the schema: --schema path/to/convex"
                )
            })?;
        project.root.clone()
    } else {
        given.to_owned()
    };
    crate::schema::Schema::load(&path).map_err(|e| anyhow::anyhow!("--schema {}", e.0))
}
