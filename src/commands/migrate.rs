//! `migrate`: write a new snapshot ZIP from a snapshot. With no migration
//! named, every entry is copied through unchanged (raw, without recompression,
//! when the input is a ZIP).

use std::process::ExitCode;

use anyhow::Context as _;

use crate::archive::ArchiveWriter;
use crate::check::check_snapshot;
use crate::cli::MigrateArgs;
use crate::snapshot::Snapshot;

pub fn run(args: &MigrateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    super::check_output(Some(&args.snapshot), &args.output)?;
    // Refuse input that `convex import` could not read, before writing.
    let snap = Snapshot::open(&args.snapshot)?;
    check_snapshot(&snap, quiet)?.ensure_readable()?;
    let archive = &snap.archive;
    let mut writer = ArchiveWriter::create(&args.output, args.compression.into())?;
    for i in 0..archive.entries().len() {
        archive.copy_entry_to(i, &mut writer)?;
    }
    writer
        .finish()
        .with_context(|| format!("writing {}", args.output.display()))?;
    if !quiet {
        eprintln!(
            "wrote {} ({} entries copied unchanged)",
            args.output.display(),
            archive.entries().len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
