//! `pack`: build an importable ZIP from a directory snapshot (an `unpack`ed
//! one, or any unzipped export).

use std::process::ExitCode;

use crate::cli::PackArgs;

pub fn run(args: &PackArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let dest = super::destination(&[&args.dir], &args.output, args.force, super::Writes::Zip)?;
    super::migrate::copy_through(&args.dir, &dest, args.compression.into(), quiet)
}
