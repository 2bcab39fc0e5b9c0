//! `generate`: write a synthetic VideoAI snapshot.

use std::process::ExitCode;

use crate::cli::GenerateArgs;
use crate::generate::{Plan, write_snapshot_with};
use crate::progress::Progress;

pub fn run(args: &GenerateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let dest = super::destination(&[], &args.output, args.force, super::Writes::Zip)?;
    if args.videos == 0 {
        anyhow::bail!("--videos must be at least 1");
    }
    let progress = Progress::rows("generating", quiet, args.videos >= 100_000);
    write_snapshot_with(
        &dest,
        Plan::new(args.seed, args.videos),
        args.compression.into(),
        &progress,
    )?;
    progress.finish();
    if !quiet && !dest.is_stdout() {
        eprintln!("wrote {} ({} videos)", args.output.display(), args.videos);
    }
    Ok(ExitCode::SUCCESS)
}
