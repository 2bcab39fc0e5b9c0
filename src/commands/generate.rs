//! `generate`: write a synthetic VideoAI snapshot.

use std::process::ExitCode;

use crate::cli::GenerateArgs;
use crate::generate::{Plan, write_snapshot};

pub fn run(args: &GenerateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    super::check_output(None, &args.output)?;
    if args.videos == 0 {
        anyhow::bail!("--videos must be at least 1");
    }
    write_snapshot(
        &args.output,
        Plan::new(args.seed, args.videos),
        args.compression.into(),
    )?;
    if !quiet {
        eprintln!("wrote {} ({} videos)", args.output.display(), args.videos);
    }
    Ok(ExitCode::SUCCESS)
}
