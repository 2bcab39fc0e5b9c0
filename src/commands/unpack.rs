//! `unpack`: write a snapshot as a directory for `git diff`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::archive::ArchiveWriter;
use crate::cli::UnpackArgs;
use crate::snapshot::Snapshot;

pub fn run(args: &UnpackArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if super::check_output(Some(&args.snapshot), &args.dir)? != super::OutputKind::Dir {
        bail!("{} names a ZIP; unpack writes a folder", args.dir.display());
    }
    let snap = Snapshot::open(&args.snapshot)?;
    let mut writer = ArchiveWriter::create_dir(&args.dir)?;
    crate::unpack::unpack(&snap, &mut writer, quiet)?;
    writer
        .finish()
        .with_context(|| format!("writing {}", args.dir.display()))?;
    if !quiet {
        eprintln!(
            "unpacked {} entries into {}",
            snap.archive.entries().len(),
            args.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
