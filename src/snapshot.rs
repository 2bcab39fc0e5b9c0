//! The snapshot model: an opened archive seen as components, tables,
//! `_tables` listings, table formats and `_storage`, without reading any
//! table's documents yet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::layout::{ComponentPath, EntryKind, classify};
use crate::value::{LegacySchema, TableFormat};

/// One user table of a component.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Index of `documents.jsonl`, if shipped.
    pub documents: Option<usize>,
    /// Index of `generated_schema.jsonl`, if shipped.
    pub schema: Option<usize>,
}

/// One component (the root has the empty path).
#[derive(Debug, Clone, Default)]
pub struct Component {
    /// Index of `_tables/documents.jsonl`.
    pub tables_entry: Option<usize>,
    /// User tables by name (sorted, so reports are stable).
    pub tables: BTreeMap<String, Table>,
    /// Index of `_storage/documents.jsonl`.
    pub storage_metadata: Option<usize>,
    /// Blob entries: (entry index, id part of the file name).
    pub blobs: Vec<(usize, String)>,
    /// System tables the importer skips.
    pub system_tables: Vec<usize>,
}

/// A `_tables` line: `{"name":"users","id":10001}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablesLine {
    pub name: String,
    pub id: u32,
}

/// An opened snapshot.
#[derive(Debug)]
pub struct Snapshot {
    pub archive: Archive,
    /// The kind of each entry, by entry index.
    pub kinds: Vec<EntryKind>,
    pub components: BTreeMap<ComponentPath, Component>,
}

impl Snapshot {
    /// Opens a ZIP or directory and sorts its entries into components. Two
    /// entries that the importer would read as the same file (the same
    /// table's documents, schema or `_tables` under different leading
    /// folders, or two blobs of one storage ID) are an error naming both; so
    /// is an archive with no `_tables` and no table at all.
    pub fn open(path: &std::path::Path) -> Result<Snapshot> {
        let archive = Archive::open(path)?;
        let mut components: BTreeMap<ComponentPath, Component> = BTreeMap::new();
        let mut kinds = Vec::with_capacity(archive.entries().len());
        let mut blob_ids: BTreeMap<(ComponentPath, String), usize> = BTreeMap::new();
        let name = |i: usize| archive.entries()[i].name.as_str();
        let claim = |slot: &mut Option<usize>, i: usize, what: &str| match slot.replace(i) {
            Some(first) => Err(Error::Entry {
                entry: name(i).to_owned(),
                message: format!(
                    "is {what} as {}; the importer would read both, so the snapshot is ambiguous (remove one)",
                    name(first)
                ),
            }),
            None => Ok(()),
        };
        for (i, e) in archive.entries().iter().enumerate() {
            let kind = classify(&e.name, e.is_dir);
            match &kind {
                EntryKind::Tables(c) => {
                    let slot = &mut components.entry(c.clone()).or_default().tables_entry;
                    claim(slot, i, "the same component's _tables listing")?;
                }
                EntryKind::Documents(c, t) => {
                    let comp = components.entry(c.clone()).or_default();
                    let slot = &mut comp.tables.entry(t.clone()).or_default().documents;
                    claim(slot, i, &format!("the documents of the same table {t}"))?;
                }
                EntryKind::GeneratedSchema(c, t) => {
                    let comp = components.entry(c.clone()).or_default();
                    let slot = &mut comp.tables.entry(t.clone()).or_default().schema;
                    claim(
                        slot,
                        i,
                        &format!("the generated schema of the same table {t}"),
                    )?;
                }
                EntryKind::StorageMetadata(c) => {
                    let slot = &mut components.entry(c.clone()).or_default().storage_metadata;
                    claim(slot, i, "the same component's _storage metadata")?;
                }
                EntryKind::StorageBlob(c, id) => {
                    let mut slot = blob_ids.get(&(c.clone(), id.clone())).copied();
                    claim(&mut slot, i, &format!("a file of the same storage ID {id}"))?;
                    blob_ids.insert((c.clone(), id.clone()), i);
                    components
                        .entry(c.clone())
                        .or_default()
                        .blobs
                        .push((i, id.clone()));
                }
                EntryKind::SystemTable(c, _) => {
                    components
                        .entry(c.clone())
                        .or_default()
                        .system_tables
                        .push(i);
                }
                _ => {}
            }
            kinds.push(kind);
        }
        let is_export = kinds
            .iter()
            .any(|k| matches!(k, EntryKind::Tables(_) | EntryKind::Documents(..)));
        if !is_export {
            return Err(Error::Usage(format!(
                "{} is not a Convex export: it has no _tables/documents.jsonl and no <table>/documents.jsonl (`npx convex export` always writes _tables/documents.jsonl)",
                archive.path().display()
            )));
        }
        Ok(Snapshot {
            archive,
            kinds,
            components,
        })
    }

    /// The name of entry `i`.
    pub fn entry_name(&self, i: usize) -> &str {
        &self.archive.entries()[i].name
    }

    /// Reads a component's `_tables/documents.jsonl`. Each line must be an
    /// object with a string `name` and a positive number `id` (read as the
    /// importer does: as f64, then cast to u32, so `10001.0` works).
    pub fn read_tables(&self, entry: usize) -> Result<Vec<(usize, TablesLine)>> {
        let name = self.entry_name(entry).to_owned();
        let data = self.archive.read_all(entry)?;
        let mut out = Vec::new();
        let mut reader = &data[..];
        let mut line = 0;
        while !reader.is_empty() {
            line += 1;
            let row: serde_json::Value = match jsonl::read(&mut reader) {
                Ok(v) => v,
                Err(e) => {
                    return Err(Error::Line {
                        entry: name,
                        line,
                        message: jsonl_error(e),
                    });
                }
            };
            let bad = |message: String| Error::Line {
                entry: name.clone(),
                line,
                message,
            };
            let table = row
                .get("name")
                .and_then(|v| v.as_str())
                .ok_or_else(|| bad("expected an object with a string \"name\"".into()))?;
            let id = row.get("id").and_then(|v| v.as_f64()).unwrap_or(0.0);
            if !(id >= 1.0 && id <= f64::from(u32::MAX)) {
                return Err(bad(format!(
                    "table {table:?} requires a positive \"id\" (received {})",
                    row.get("id")
                        .map(|v| v.to_string())
                        .unwrap_or("nothing".into())
                )));
            }
            out.push((
                line,
                TablesLine {
                    name: table.to_owned(),
                    id: id as u32,
                },
            ));
        }
        Ok(out)
    }

    /// Detects a table's value format from line 1 of `generated_schema.jsonl`
    /// (section 3): `"uniform"`, a legacy shape, or missing.
    pub fn table_format(&self, table: &Table) -> Result<TableFormat> {
        let Some(entry) = table.schema else {
            return Ok(TableFormat::Missing);
        };
        let name = self.entry_name(entry).to_owned();
        let data = self.archive.read_all(entry)?;
        parse_generated_schema(&data).map_err(|(line, message)| Error::Line {
            entry: name,
            line,
            message,
        })
    }
}

/// Parses a `generated_schema.jsonl`; errors carry the line number.
pub fn parse_generated_schema(data: &[u8]) -> Result<TableFormat, (usize, String)> {
    let mut lines = data
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    let (_, first) = lines.next().unwrap_or((1, &[]));
    let json: serde_json::Value = serde_json::from_slice(first)
        .map_err(|e| (1, format!("generated schema is not valid JSON: {e}")))?;
    let Some(text) = json.as_str() else {
        return Err((1, "first line of generated_schema must be a string".into()));
    };
    if text == "uniform" {
        return Ok(TableFormat::Uniform);
    }
    LegacySchema::parse(text, lines)
        .map(|s| TableFormat::Legacy(Box::new(s)))
        .map_err(|e| (1, format!("cannot parse generated schema: {e}")))
}

/// A line of `_storage/documents.jsonl`, as the importer reads it
/// (`FileStorageZipMetadata` in the backend's `exports` crate): only `_id`
/// is required; the others must have these types when present.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageMetadata {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_creationTime")]
    pub creation_time: Option<f64>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub content_type: Option<String>,
    pub internal_id: Option<String>,
}

/// Reads one `_storage/documents.jsonl` line the way the importer does: a
/// JSON row (the same line rules as documents: no blank line) that
/// deserializes into [`StorageMetadata`].
pub fn parse_storage_line(line: &[u8], line_no: usize) -> Result<StorageMetadata, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(
            "blank line: the importer fails with \"wasn't valid JSON: EOF while parsing\"".into(),
        );
    }
    if line_no == 1 && line.starts_with(b"\xEF\xBB\xBF") {
        return Err(
            "starts with a UTF-8 byte order mark, which the importer rejects inside a ZIP".into(),
        );
    }
    let json = crate::value::parse_json_line(line).map_err(|e| e.0)?;
    if !json.is_object() {
        return Err(format!(
            "expected a JSON object, found {}",
            crate::value::json_kind(&json)
        ));
    }
    serde_json::from_value(json).map_err(|e| format!("not a valid _storage metadata line: {e}"))
}

/// A readable message for a `jsonl` read error.
pub fn jsonl_error(e: jsonl::ReadError) -> String {
    match e {
        jsonl::ReadError::Deserialize(e) => format!("not valid JSON: {e}"),
        jsonl::ReadError::Io(e) => e.to_string(),
        jsonl::ReadError::Eof => "unexpected end of file".into(),
    }
}
