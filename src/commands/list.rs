//! `list`: the built-in migrations, one line each.

use std::io::Write as _;
use std::process::ExitCode;

use crate::migrations::{ALL, REGISTRY};

pub fn run() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let width = REGISTRY.iter().map(|m| m.name().len()).max().unwrap_or(0);
    for m in REGISTRY {
        writeln!(out, "{:width$}  {}", m.name(), m.description())?;
    }
    writeln!(out, "\n--all runs: {}", ALL.join(", "))?;
    Ok(ExitCode::SUCCESS)
}
