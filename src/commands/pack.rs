//! `pack`: build an importable ZIP from a directory snapshot (an `unpack`ed
//! one, or any unzipped export).

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::PackArgs;

pub fn run(args: &PackArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if super::check_output(Some(&args.dir), &args.output)? != super::OutputKind::Zip {
        bail!("{} must end in .zip", args.output.display());
    }
    super::migrate::copy_through(&args.dir, &args.output, args.compression.into(), quiet)
}
