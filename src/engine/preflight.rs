//! One light pass before a migration or a copy: `_tables` and every
//! `generated_schema.jsonl` must parse and every line of every table must be
//! a JSON object (what `convex import` reads first), and it yields
//! the latest `_creationTime` (the default clock) and the table number the
//! first row of each table implies. It reads only `_id` and `_creationTime`;
//! a table a migration reads is fully decoded then, and `validate` checks
//! everything else.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::layout::{ComponentPath, EntryKind};
use crate::lines;
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use crate::value;

/// What the pass found.
#[derive(Debug, Default)]
pub struct Preflight {
    /// The latest valid `_creationTime` of any document.
    pub max_creation_time: Option<f64>,
    /// Per table, the number its first row's `_id` encodes.
    pub first_numbers: BTreeMap<(ComponentPath, String), u32>,
}

#[derive(Deserialize)]
struct System {
    #[serde(rename = "_id", default)]
    id: Option<serde_json::Value>,
    #[serde(rename = "_creationTime", default)]
    creation_time: Option<serde_json::Value>,
}

/// Runs the pass over every table of every component.
pub fn preflight(snap: &Snapshot, quiet: bool) -> Result<Preflight> {
    let tables: Vec<(usize, &ComponentPath, &String)> = snap
        .kinds
        .iter()
        .enumerate()
        .filter_map(|(i, k)| match k {
            EntryKind::Documents(c, t) => Some((i, c, t)),
            _ => None,
        })
        .collect();
    let total = tables
        .iter()
        .map(|(i, _, _)| snap.archive.entries()[*i].size)
        .sum();
    let progress = Progress::bytes(total, "reading", quiet);
    // The small files the importer parses first: `_tables` and sidecars.
    for comp in snap.components.values() {
        if let Some(entry) = comp.tables_entry {
            snap.read_tables(entry)?;
        }
        for table in comp.tables.values() {
            snap.table_format(table)?;
        }
    }
    let mut out = Preflight::default();
    for (entry, comp, table) in tables {
        let name = snap.entry_name(entry);
        let mut first = None;
        lines::try_scan_source(
            lines::Source::Entry(&snap.archive, entry),
            &progress,
            |batch| -> Result<(Option<f64>, Option<u32>)> {
                let mut max: Option<f64> = None;
                let mut first = None;
                for (line_no, line) in batch.lines() {
                    let start = line.iter().position(|b| !b.is_ascii_whitespace());
                    if start.map(|s| line[s]) != Some(b'{') {
                        // Not an object: the full parser says what it is.
                        let message = match value::parse_json_line(line) {
                            Err(e) => e.0,
                            Ok(json) => {
                                format!("expected a JSON object, found {}", value::json_kind(&json))
                            }
                        };
                        return Err(Error::line(name, line_no, message));
                    }
                    // UTF-8 checked once for the line, not per string.
                    let sys: System = match std::str::from_utf8(line) {
                        Ok(text) => serde_json::from_str(text),
                        Err(_) => serde_json::from_slice(line),
                    }
                    .map_err(|e| Error::line(name, line_no, format!("not valid JSON: {e}")))?;
                    if let Some(t) = sys.creation_time.and_then(|v| v.as_f64())
                        && t.is_finite()
                    {
                        max = Some(max.map_or(t, |m| m.max(t)));
                    }
                    if line_no == 1 {
                        first = sys
                            .id
                            .as_ref()
                            .and_then(|v| v.as_str())
                            .and_then(|s| DocumentId::decode(s).ok())
                            .map(|id| id.table_number);
                    }
                }
                Ok((max, first))
            },
            |(max, f)| {
                if let Some(t) = max {
                    out.max_creation_time =
                        Some(out.max_creation_time.map_or(t, |m: f64| m.max(t)));
                }
                first = first.or(f);
            },
        )?;
        if let Some(n) = first {
            out.first_numbers.insert((comp.clone(), table.clone()), n);
        }
    }
    progress.finish();
    Ok(out)
}
