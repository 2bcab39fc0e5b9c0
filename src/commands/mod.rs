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

use crate::cli::{Cli, Command};

/// Exit code 1: the command ran and found something.
pub const FOUND: u8 = 1;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(n) = cli.global.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
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
        Command::List => list::run(),
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
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file = path
        .file_name()
        .with_context(|| format!("{} does not name a file", path.display()))?;
    let parent = parent
        .canonicalize()
        .with_context(|| format!("output folder {} does not exist", parent.display()))?;
    Ok(parent.join(file))
}

/// Checks an output path before any work and says which kind it is: a path
/// ending in `.zip` is a ZIP (not a folder); a path without an extension, or
/// an existing empty folder, is a directory snapshot. It must not be the
/// input, nor lie inside an input folder (the input is never modified).
fn check_output(input: Option<&Path>, output: &Path) -> anyhow::Result<OutputKind> {
    let kind = if crate::archive::is_zip_path(output) {
        if output.is_dir() {
            bail!("output {} is a directory", output.display());
        }
        OutputKind::Zip
    } else if output.is_dir() || output.extension().is_none() {
        if output.exists() && !output.is_dir() {
            bail!("output {} exists and is not a folder", output.display());
        }
        if output.is_dir() && std::fs::read_dir(output)?.next().is_some() {
            bail!("output folder {} exists and is not empty", output.display());
        }
        OutputKind::Dir
    } else {
        bail!(
            "output {} must end in .zip (`npx convex import` reads the format from the extension), or name a folder",
            output.display()
        );
    };
    let out = absolute(output)?;
    if let Some(input) = input
        && let Ok(input) = input.canonicalize()
    {
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
    }
    Ok(kind)
}

/// What an output path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Zip,
    Dir,
}
