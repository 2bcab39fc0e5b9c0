//! `unpack`: write a snapshot as a directory for `git diff`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::archive::ArchiveWriter;
use crate::cli::UnpackArgs;
use crate::snapshot::Snapshot;

pub fn run(args: &UnpackArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let dest = super::destination(&[&args.snapshot], &args.dir, args.force, super::Writes::Dir)?;
    let snap = Snapshot::open(&args.snapshot)?;
    crate::engine::preflight(&snap, quiet)?;
    let mut writer = ArchiveWriter::create(&dest, Default::default())?;
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
