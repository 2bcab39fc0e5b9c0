//! `unpack`: a snapshot as a directory that reads well under `git diff`:
//! the same entries, each table's documents one per line, re-encoded in the
//! table's own format (keys in Convex's order) and sorted by `_id`, so two
//! unpacks of the same data are byte-identical whatever order the rows had.
//!
//! A table is sorted in memory: peak memory grows with the largest table's
//! bytes (exports are already in `_id` order, so most tables only pass
//! through the sort).

use crate::archive::ArchiveWriter;
use crate::error::{Error, Result};
use crate::layout::EntryKind;
use crate::lines;
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use crate::value::{self, Value};

/// A row: its `_id` (if any), line number and canonical bytes.
type Row = (Option<String>, usize, Vec<u8>);

/// Writes every entry of `snap` into `writer`, tables in canonical form.
pub fn unpack(snap: &Snapshot, writer: &mut ArchiveWriter, quiet: bool) -> Result<()> {
    let total: u64 = snap.archive.entries().iter().map(|e| e.size).sum();
    let progress = Progress::bytes(total, "unpacking", quiet);
    for (i, kind) in snap.kinds.iter().enumerate() {
        let EntryKind::Documents(path, name) = kind else {
            progress.inc(snap.archive.entries()[i].size);
            snap.archive.copy_entry_to(i, writer)?;
            continue;
        };
        let table = &snap.components[path].tables[name];
        let format = snap.table_format(table)?;
        let entry = snap.entry_name(i).to_owned();
        let mut rows: Vec<Row> = Vec::new();
        lines::try_scan_source(
            lines::Source::Entry(&snap.archive, i),
            &progress,
            |batch| -> Result<Vec<Row>> {
                let mut out = Vec::new();
                for (line_no, line) in batch.lines() {
                    let bad = |e| Error::line(&entry, line_no, e);
                    let doc = value::decode_line(line, &format).map_err(bad)?;
                    let bytes = value::encode_document(&doc, &format)
                        .map_err(|e| Error::line(&entry, line_no, e))?;
                    let id = doc
                        .as_object()
                        .and_then(|f| f.get("_id"))
                        .and_then(Value::as_str)
                        .map(String::from);
                    out.push((id, line_no, bytes));
                }
                Ok(out)
            },
            |v| rows.extend(v),
        )?;
        // By `_id`; rows without one keep their file order, after the rest.
        rows.sort_by(|a, b| match (&a.0, &b.0) {
            (Some(x), Some(y)) => x.cmp(y).then(a.1.cmp(&b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        let size: u64 = rows.iter().map(|r| r.2.len() as u64 + 1).sum();
        writer.start_entry(&entry, size >= 0xFFFF_FFFF)?;
        for (_, _, bytes) in rows {
            writer.write_chunk(&bytes)?;
            writer.write_chunk(b"\n")?;
        }
    }
    progress.finish();
    Ok(())
}
