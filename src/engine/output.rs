//! Writes the snapshot a run produced: every input entry in its order, with
//! changed tables streamed from their segments, untouched entries copied raw,
//! `_tables` extended for new tables, and new tables placed before the first
//! `_storage` entry (or after the last table).

use crate::archive::ArchiveWriter;
use crate::error::Result;
use crate::layout::EntryKind;
use crate::lines::{Source, copy_source};
use crate::progress::Progress;
use crate::value::TableFormat;

use super::db::{Db, Segment, TableState};

const LARGE_ENTRY: u64 = 0xFFFF_FFFF;

/// Writes the snapshot held by `db` into `writer`, counting uncompressed
/// bytes on `progress`.
pub fn write_snapshot(db: &Db, writer: &mut ArchiveWriter, progress: &Progress) -> Result<()> {
    let snap = db.snap;
    let entries = snap.archive.entries();
    // Tables the input has no documents entry for but this run filled:
    // created ones, and listed-but-empty ones that got rows.
    let mut new_tables: Vec<(&String, &TableState)> = db
        .tables
        .iter()
        .filter(|(_, t)| t.is_new || (t.touched && !t.has_documents))
        .collect();
    new_tables.sort_by_key(|(_, t)| t.number);
    let created: Vec<(&String, &TableState)> = new_tables
        .iter()
        .copied()
        .filter(|(_, t)| t.is_new)
        .collect();
    let root_tables_entry = snap
        .kinds
        .iter()
        .position(|k| matches!(k, EntryKind::Tables(c) if c.is_root()));
    // New tables go before the first `_storage` entry, else after the last
    // table entry, else after `_tables`, else at the end.
    let is_table =
        |k: &EntryKind| matches!(k, EntryKind::Documents(..) | EntryKind::GeneratedSchema(..));
    let insert_at = snap
        .kinds
        .iter()
        .position(|k| {
            matches!(
                k,
                EntryKind::StorageMetadata(_) | EntryKind::StorageBlob(..)
            )
        })
        .or_else(|| snap.kinds.iter().rposition(is_table).map(|i| i + 1))
        .or_else(|| root_tables_entry.map(|i| i + 1))
        .unwrap_or(entries.len());
    for i in 0..=entries.len() {
        if i == insert_at {
            if root_tables_entry.is_none() && !created.is_empty() {
                // No `_tables` in the input: list every root table we ship.
                let mut all: Vec<(&String, &TableState)> = db.tables.iter().collect();
                all.sort_by_key(|(_, t)| t.number);
                let mut data = Vec::new();
                for (name, t) in all {
                    data.extend_from_slice(&tables_line(name, t.number));
                }
                writer.add_bytes("_tables/documents.jsonl", &data)?;
            }
            for (name, state) in &new_tables {
                write_table(
                    db,
                    writer,
                    &format!("{name}/documents.jsonl"),
                    state,
                    progress,
                )?;
                let sidecar: Option<&[u8]> = match &state.format {
                    _ if state.has_schema => None, // the input's is copied
                    TableFormat::Uniform => Some(b"\"uniform\"\n"),
                    TableFormat::Legacy(_) => Some(b"\"unknown\"\n"),
                    TableFormat::Missing => None,
                };
                if let Some(data) = sidecar {
                    writer.add_bytes(&format!("{name}/generated_schema.jsonl"), data)?;
                }
            }
        }
        if i == entries.len() {
            break;
        }
        match &snap.kinds[i] {
            EntryKind::Tables(c) if c.is_root() && !created.is_empty() => {
                let mut lines: Vec<(u32, Vec<u8>)> = Vec::new();
                let data = snap.archive.read_all(i)?;
                let parsed = snap.read_tables(i)?;
                let mut raw = data.split(|&b| b == b'\n');
                for (_, line) in parsed {
                    // `read_tables` reads one JSON value per line, in order.
                    let bytes = raw.by_ref().find(|l| !l.is_empty()).unwrap_or_default();
                    let mut bytes = bytes.to_vec();
                    bytes.push(b'\n');
                    lines.push((line.id, bytes));
                }
                for (name, t) in &created {
                    let at = lines.partition_point(|(n, _)| *n < t.number);
                    lines.insert(at, (t.number, tables_line(name, t.number)));
                }
                let out: Vec<u8> = lines.into_iter().flat_map(|(_, l)| l).collect();
                writer.add_bytes(&entries[i].name, &out)?;
            }
            EntryKind::Documents(c, t) if c.is_root() => match db.tables.get(t) {
                Some(state) if state.touched => {
                    write_table(db, writer, &entries[i].name, state, progress)?
                }
                _ => {
                    snap.archive.copy_entry_to(i, writer)?;
                    progress.inc(entries[i].size);
                }
            },
            _ => {
                snap.archive.copy_entry_to(i, writer)?;
                progress.inc(entries[i].size);
            }
        }
    }
    Ok(())
}

fn tables_line(name: &str, number: u32) -> Vec<u8> {
    let mut line = serde_json::to_vec(&serde_json::json!({ "name": name, "id": number }))
        .expect("serializable");
    line.push(b'\n');
    line
}

/// Streams a table's segments into one entry, making sure each segment
/// starts on a new line.
fn write_table(
    db: &Db,
    writer: &mut ArchiveWriter,
    name: &str,
    state: &TableState,
    progress: &Progress,
) -> Result<()> {
    let size = db.segments_size(state);
    writer.start_entry(name, size >= LARGE_ENTRY)?;
    let mut ends_line = true;
    for seg in &state.segments {
        let source = match seg {
            Segment::Entry(e) => Source::Entry(&db.snap.archive, *e),
            Segment::File(p) => Source::File(p),
        };
        if !ends_line {
            writer.write_chunk(b"\n")?;
        }
        ends_line = copy_source(source, |data| {
            progress.inc(data.len() as u64);
            writer.write_chunk(data)
        })?;
    }
    Ok(())
}
