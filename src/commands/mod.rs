//! One file per subcommand. `run` sets up the thread pool and sends each
//! subcommand to its function; each returns the exit code for a run that
//! completed (0, or 1 when it found something) or an error (exit 2).

mod generate;
mod inspect;
mod list;
mod migrate;
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

/// Checks an output ZIP path before any work: it must end in `.zip`, must not
/// be a directory, and must not be the input.
fn check_output(input: Option<&Path>, output: &Path) -> anyhow::Result<()> {
    if output.extension().and_then(|e| e.to_str()) != Some("zip") {
        bail!(
            "output {} must end in .zip (`npx convex import` reads the format from the extension)",
            output.display()
        );
    }
    if output.is_dir() {
        bail!("output {} is a directory", output.display());
    }
    let out = absolute(output)?;
    if let Some(input) = input
        && input.canonicalize().ok().as_deref() == Some(out.as_path())
    {
        bail!(
            "output {} is the input snapshot; choose another path (the input is never modified)",
            output.display()
        );
    }
    Ok(())
}
