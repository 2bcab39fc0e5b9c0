//! Compares two snapshots as Convex data: tables matched by name per
//! component, documents matched by `_id`, values compared as Convex values
//! (an Int64 5 differs from a Float64 5.0; key order and the table's value
//! format do not matter), plus `_tables` numbers, `_storage` files and each
//! table's shape.
//!
//! Memory stays proportional to what differs plus an index of IDs: side A is
//! indexed as (internal ID → 128-bit hash of the canonical encoding), side B
//! is streamed against it in parallel, and only the documents that are
//! listed in detail (at most `limit` per kind and table) are read again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::layout::ComponentPath;
use crate::lines::{self, Batch, Source};
use crate::progress::Progress;
use crate::snapshot::{Component, Snapshot, Table};
use crate::value::{self, TableFormat, Value};

/// What to compare and how much to show.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these tables (`name`, or `component/name`); all when empty.
    pub tables: Vec<String>,
    /// Documents listed in detail per kind (added, removed, changed) and table.
    pub limit: usize,
    /// Counts only: no document details.
    pub stat: bool,
    pub quiet: bool,
}

/// How a table, component or file differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Same,
    Added,
    Removed,
    Changed,
}

/// The whole comparison.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    pub a: String,
    pub b: String,
    pub equal: bool,
    pub components: Vec<ComponentDiff>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentDiff {
    pub path: String,
    pub status: Status,
    pub tables: Vec<TableDiff>,
    /// Tables whose `_tables` number differs.
    pub numbers: Vec<NumberChange>,
    pub storage: StorageDiff,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberChange {
    pub table: String,
    pub a: u32,
    pub b: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableDiff {
    pub name: String,
    pub status: Status,
    pub number_a: Option<u32>,
    pub number_b: Option<u32>,
    pub rows_a: u64,
    pub rows_b: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// Listed documents (absent with `--stat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<Details>,
    pub shape: ShapeDiff,
}

/// Documents listed in detail, each list sorted by `_id`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    pub added: Vec<Document>,
    pub removed: Vec<Document>,
    pub changed: Vec<ChangedDocument>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub id: String,
    pub document: serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedDocument {
    pub id: String,
    pub changes: Vec<FieldChange>,
}

/// One changed field, by path (`a.b`, `tags[2]`).
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub path: String,
    pub kind: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
    /// The Convex type of `old` (`int64`, `float64`, …): JSON readers see
    /// an Int64 `50` and a Float64 `50.0` as the same number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_type: Option<&'static str>,
}

/// Top-level fields and value types that appear or disappear.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeDiff {
    pub fields_added: Vec<String>,
    pub fields_removed: Vec<String>,
    pub types_changed: Vec<TypeChange>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeChange {
    pub field: String,
    pub added: Vec<&'static str>,
    pub removed: Vec<&'static str>,
}

/// `_storage` files by ID, compared by SHA-256.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl ShapeDiff {
    fn is_empty(&self) -> bool {
        self.fields_added.is_empty()
            && self.fields_removed.is_empty()
            && self.types_changed.is_empty()
    }
}

impl StorageDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares two opened snapshots.
pub fn diff(a: &Snapshot, b: &Snapshot, opts: &Options) -> Result<Diff> {
    check_table_names(a, b, &opts.tables)?;
    let total: u64 = [a, b]
        .iter()
        .flat_map(|s| s.archive.entries())
        .map(|e| e.size)
        .sum();
    let progress = Progress::bytes(total, "comparing", opts.quiet);
    let paths: BTreeSet<&ComponentPath> = a.components.keys().chain(b.components.keys()).collect();
    let empty = Component::default();
    let mut components = Vec::new();
    for path in paths {
        let ca = a.components.get(path);
        let cb = b.components.get(path);
        let (na, nb) = (numbers(a, ca)?, numbers(b, cb)?);
        let names: BTreeSet<&String> = ca
            .iter()
            .chain(cb.iter())
            .flat_map(|c| c.tables.keys())
            .chain(na.keys())
            .chain(nb.keys())
            .collect();
        let mut tables = Vec::new();
        for name in names {
            let qualified = qualify(path, name);
            if !opts.tables.is_empty() && !opts.tables.contains(&qualified) {
                continue;
            }
            let ta = ca.and_then(|c| c.tables.get(name));
            let tb = cb.and_then(|c| c.tables.get(name));
            let in_a = ta.is_some() || na.contains_key(name);
            let in_b = tb.is_some() || nb.contains_key(name);
            let mut t = diff_table(
                Side::new(a, ta)?,
                Side::new(b, tb)?,
                &qualified,
                opts,
                &progress,
            )?;
            t.number_a = na.get(name).copied();
            t.number_b = nb.get(name).copied();
            t.status = match (in_a, in_b) {
                (true, false) => Status::Removed,
                (false, true) => Status::Added,
                _ if t.added + t.removed + t.changed > 0 || !t.shape.is_empty() => Status::Changed,
                _ => Status::Same,
            };
            tables.push(t);
        }
        let numbers = na
            .iter()
            .filter_map(|(name, &x)| {
                let y = *nb.get(name)?;
                (x != y).then(|| NumberChange {
                    table: name.clone(),
                    a: x,
                    b: y,
                })
            })
            .collect::<Vec<_>>();
        let storage = diff_storage(a, ca.unwrap_or(&empty), b, cb.unwrap_or(&empty))?;
        let status = match (ca, cb) {
            (Some(_), None) => Status::Removed,
            (None, Some(_)) => Status::Added,
            _ if tables.iter().any(|t| t.status != Status::Same)
                || !numbers.is_empty()
                || !storage.is_empty() =>
            {
                Status::Changed
            }
            _ => Status::Same,
        };
        components.push(ComponentDiff {
            path: path.to_string(),
            status,
            tables,
            numbers,
            storage,
        });
    }
    progress.finish();
    Ok(Diff {
        a: a.archive.path().display().to_string(),
        b: b.archive.path().display().to_string(),
        equal: components.iter().all(|c| c.status == Status::Same),
        components,
    })
}

/// Refuses a `--table` neither snapshot has, listing the tables they have.
fn check_table_names(a: &Snapshot, b: &Snapshot, wanted: &[String]) -> Result<()> {
    let mut known = BTreeSet::new();
    for snap in [a, b] {
        for (path, comp) in &snap.components {
            let names: Vec<&String> = comp.tables.keys().collect();
            if let Some(entry) = comp.tables_entry {
                let listed = snap.read_tables(entry)?;
                let listed: Vec<String> = listed.into_iter().map(|(_, t)| t.name).collect();
                for name in listed {
                    known.insert(qualify(path, &name));
                }
            }
            known.extend(names.into_iter().map(|n| qualify(path, n)));
        }
    }
    for t in wanted {
        if !known.contains(t) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "--table {t}: neither snapshot has such a table; they have: {}",
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// `name`, or `component/name` outside the root.
fn qualify(path: &ComponentPath, name: &str) -> String {
    if path.is_root() {
        name.to_owned()
    } else {
        format!("{path}/{name}")
    }
}

/// A component's `_tables` listing: name → number.
fn numbers(snap: &Snapshot, comp: Option<&Component>) -> Result<BTreeMap<String, u32>> {
    let Some(entry) = comp.and_then(|c| c.tables_entry) else {
        return Ok(BTreeMap::new());
    };
    Ok(snap
        .read_tables(entry)?
        .into_iter()
        .map(|(_, l)| (l.name, l.id))
        .collect())
}

/// One side of a table comparison.
struct Side<'a> {
    snap: &'a Snapshot,
    entry: Option<usize>,
    format: TableFormat,
}

impl<'a> Side<'a> {
    fn new(snap: &'a Snapshot, table: Option<&Table>) -> Result<Side<'a>> {
        let format = match table {
            Some(t) => snap.table_format(t)?,
            None => TableFormat::Uniform,
        };
        Ok(Side {
            snap,
            entry: table.and_then(|t| t.documents),
            format,
        })
    }

    /// Scans the side's documents in parallel batches.
    fn scan<B: Send>(
        &self,
        progress: &Progress,
        per_doc: impl Fn(Key, &Value) -> Option<B> + Sync,
        merge: impl FnMut(Vec<B>),
    ) -> Result<()> {
        let Some(entry) = self.entry else {
            return Ok(());
        };
        let name = self.snap.entry_name(entry);
        lines::try_scan_source(
            Source::Entry(&self.snap.archive, entry),
            progress,
            |batch: &Batch| -> Result<Vec<B>> {
                let mut out = Vec::new();
                for (line_no, line) in batch.lines() {
                    let doc = value::decode_line(line, &self.format)
                        .map_err(|e| Error::line(name, line_no, e))?;
                    let key = key_of(&doc, line_no);
                    if let Some(b) = per_doc(key, &doc) {
                        out.push(b);
                    }
                }
                Ok(out)
            },
            merge,
        )
    }
}

/// What identifies a document: the internal bytes of its `_id`, or a hash
/// of the `_id` text (or line number) when it is not a valid ID.
type Key = [u8; 16];

fn key_of(doc: &Value, line: usize) -> Key {
    let id = doc
        .as_object()
        .and_then(|f| f.get("_id"))
        .and_then(Value::as_str);
    if let Some(id) = id.and_then(|s| DocumentId::decode(s).ok()) {
        return id.internal;
    }
    let text = match id {
        Some(s) => format!("id:{s}"),
        None => format!("line:{line}"),
    };
    Sha256::digest(text.as_bytes())[..16]
        .try_into()
        .expect("16 bytes")
}

/// 128 bits of SHA-256 of the canonical (uniform) encoding: equal values,
/// equal hashes, whatever the table's format or key order.
fn value_hash(doc: &Value) -> [u8; 16] {
    let bytes = value::encode_document(doc, &TableFormat::Uniform).unwrap_or_default();
    Sha256::digest(&bytes)[..16].try_into().expect("16 bytes")
}

/// Per-field type counts of a table.
type Shape = BTreeMap<String, BTreeSet<&'static str>>;

fn add_shape(shape: &mut Shape, doc: &Value) {
    if let Some(fields) = doc.as_object() {
        for (k, v) in fields {
            shape.entry(k.clone()).or_default().insert(v.type_name());
        }
    }
}

fn diff_table(
    a: Side,
    b: Side,
    name: &str,
    opts: &Options,
    progress: &Progress,
) -> Result<TableDiff> {
    // Pass 1: index A.
    let mut index: HashMap<Key, ([u8; 16], AtomicBool)> = HashMap::new();
    let mut shape_a = Shape::new();
    let mut rows_a = 0;
    a.scan(
        progress,
        |key, doc| {
            let mut types = Shape::new();
            add_shape(&mut types, doc);
            Some((key, value_hash(doc), types))
        },
        |v| {
            for (key, hash, types) in v {
                rows_a += 1;
                index.insert(key, (hash, AtomicBool::new(false)));
                for (f, t) in types {
                    shape_a.entry(f).or_default().extend(t);
                }
            }
        },
    )?;
    // Pass 2: stream B against the index.
    enum Seen {
        Added(Key),
        Changed(Key),
        Same,
    }
    let mut added: Vec<Key> = Vec::new();
    let mut changed: Vec<Key> = Vec::new();
    let mut shape_b = Shape::new();
    let mut rows_b = 0;
    b.scan(
        progress,
        |key, doc| {
            let mut types = Shape::new();
            add_shape(&mut types, doc);
            let seen = match index.get(&key) {
                None => Seen::Added(key),
                Some((hash, seen)) => {
                    seen.store(true, Ordering::Relaxed);
                    if *hash == value_hash(doc) {
                        Seen::Same
                    } else {
                        Seen::Changed(key)
                    }
                }
            };
            Some((seen, types))
        },
        |v| {
            for (seen, types) in v {
                rows_b += 1;
                match seen {
                    Seen::Added(k) => added.push(k),
                    Seen::Changed(k) => changed.push(k),
                    Seen::Same => {}
                }
                for (f, t) in types {
                    shape_b.entry(f).or_default().extend(t);
                }
            }
        },
    )?;
    let mut removed: Vec<Key> = index
        .iter()
        .filter(|(_, (_, seen))| !seen.load(Ordering::Relaxed))
        .map(|(k, _)| *k)
        .collect();
    drop(index);
    let counts = (
        added.len() as u64,
        removed.len() as u64,
        changed.len() as u64,
    );
    let documents = if opts.stat {
        None
    } else {
        for list in [&mut added, &mut removed, &mut changed] {
            list.sort_unstable();
            list.truncate(opts.limit);
        }
        Some(details(&a, &b, &added, &removed, &changed)?)
    };
    Ok(TableDiff {
        name: name.to_owned(),
        status: Status::Same,
        number_a: None,
        number_b: None,
        rows_a,
        rows_b,
        added: counts.0,
        removed: counts.1,
        changed: counts.2,
        documents,
        shape: shape_diff(&shape_a, &shape_b),
    })
}

/// Reads the listed documents back and describes them.
fn details(a: &Side, b: &Side, added: &[Key], removed: &[Key], changed: &[Key]) -> Result<Details> {
    let collect = |side: &Side, wanted: HashSet<Key>| -> Result<HashMap<Key, Value>> {
        let mut out = HashMap::new();
        if wanted.is_empty() {
            return Ok(out);
        }
        side.scan(
            &Progress::hidden(),
            |key, doc| wanted.contains(&key).then(|| (key, doc.clone())),
            |v| out.extend(v),
        )?;
        Ok(out)
    };
    let from_a = collect(a, removed.iter().chain(changed).copied().collect())?;
    let from_b = collect(b, added.iter().chain(changed).copied().collect())?;
    let id_of = |doc: &Value| {
        doc.as_object()
            .and_then(|f| f.get("_id"))
            .and_then(Value::as_str)
            .unwrap_or("(no _id)")
            .to_owned()
    };
    let listed = |keys: &[Key], docs: &HashMap<Key, Value>| -> Vec<Document> {
        let mut v: Vec<Document> = keys
            .iter()
            .filter_map(|k| docs.get(k))
            .map(|d| Document {
                id: id_of(d),
                document: to_json(d),
            })
            .collect();
        v.sort_by(|x, y| x.id.cmp(&y.id));
        v
    };
    let mut changed_docs: Vec<ChangedDocument> = changed
        .iter()
        .filter_map(|k| Some((from_a.get(k)?, from_b.get(k)?)))
        .map(|(x, y)| {
            let mut changes = Vec::new();
            diff_values("", x, y, &mut changes);
            ChangedDocument {
                id: id_of(y),
                changes,
            }
        })
        .collect();
    changed_docs.sort_by(|x, y| x.id.cmp(&y.id));
    Ok(Details {
        added: listed(added, &from_b),
        removed: listed(removed, &from_a),
        changed: changed_docs,
    })
}

/// A value as uniform-format JSON (`5` for Int64, `5.0` for Float64).
pub fn to_json(v: &Value) -> serde_json::Value {
    serde_json::from_str(&v.to_json()).unwrap_or(serde_json::Value::Null)
}

/// Field-level changes between two values, by path.
pub fn diff_values(path: &str, a: &Value, b: &Value, out: &mut Vec<FieldChange>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff_optional(join(k), x.get(k), y.get(k), out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                diff_optional(format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        _ if value_hash(a) == value_hash(b) => {}
        _ => out.push(FieldChange {
            path: path.to_owned(),
            kind: Status::Changed,
            old: Some(to_json(a)),
            new: Some(to_json(b)),
            old_type: Some(a.type_name()),
            new_type: Some(b.type_name()),
        }),
    }
}

/// A field or element that may be on either side.
fn diff_optional(path: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Some(va), Some(vb)) => diff_values(&path, va, vb, out),
        (Some(va), None) => out.push(FieldChange {
            path,
            kind: Status::Removed,
            old: Some(to_json(va)),
            new: None,
            old_type: Some(va.type_name()),
            new_type: None,
        }),
        (None, Some(vb)) => out.push(FieldChange {
            path,
            kind: Status::Added,
            old: None,
            new: Some(to_json(vb)),
            old_type: None,
            new_type: Some(vb.type_name()),
        }),
        (None, None) => {}
    }
}

fn shape_diff(a: &Shape, b: &Shape) -> ShapeDiff {
    let mut d = ShapeDiff::default();
    for (field, ta) in a {
        match b.get(field) {
            None => d.fields_removed.push(field.clone()),
            Some(tb) if ta != tb => d.types_changed.push(TypeChange {
                field: field.clone(),
                added: tb.difference(ta).copied().collect(),
                removed: ta.difference(tb).copied().collect(),
            }),
            Some(_) => {}
        }
    }
    d.fields_added = b.keys().filter(|f| !a.contains_key(*f)).cloned().collect();
    d
}

/// `_storage` files by ID: the metadata's `sha256` when it has one, else the
/// blob's own SHA-256.
fn diff_storage(a: &Snapshot, ca: &Component, b: &Snapshot, cb: &Component) -> Result<StorageDiff> {
    let (fa, fb) = (storage_files(a, ca)?, storage_files(b, cb)?);
    let mut d = StorageDiff::default();
    for (id, ha) in &fa {
        match fb.get(id) {
            None => d.removed.push(id.clone()),
            Some(hb) if hb != ha => d.changed.push(id.clone()),
            Some(_) => {}
        }
    }
    d.added = fb
        .keys()
        .filter(|id| !fa.contains_key(*id))
        .cloned()
        .collect();
    Ok(d)
}

fn storage_files(snap: &Snapshot, comp: &Component) -> Result<BTreeMap<String, String>> {
    use base64::Engine as _;
    let mut files = BTreeMap::new();
    if let Some(entry) = comp.storage_metadata {
        let data = snap.archive.read_all(entry)?;
        for (i, line) in data.split(|&c| c == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let row: serde_json::Value = serde_json::from_slice(line).map_err(|e| Error::Line {
                entry: snap.entry_name(entry).to_owned(),
                line: i + 1,
                message: format!("not valid JSON: {e}"),
            })?;
            if let Some(id) = row.get("_id").and_then(|v| v.as_str()) {
                let sha = row.get("sha256").and_then(|v| v.as_str()).unwrap_or("");
                files.insert(id.to_owned(), sha.to_owned());
            }
        }
    }
    for (entry, id) in &comp.blobs {
        let known = files.get(id).is_some_and(|s| !s.is_empty());
        if !known {
            let data = snap.archive.read_all(*entry)?;
            let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&data));
            files.insert(id.clone(), sha);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn field_changes_have_paths() {
        let a = obj(&[
            ("n", Value::Int64(5)),
            ("o", obj(&[("x", Value::Float64(1.0))])),
            ("arr", Value::Array(vec![Value::Null, Value::Bool(true)])),
            ("gone", Value::Null),
        ]);
        let b = obj(&[
            ("n", Value::Float64(5.0)),
            ("o", obj(&[("x", Value::Float64(1.0)), ("y", Value::Null)])),
            ("arr", Value::Array(vec![Value::Null])),
        ]);
        let mut out = Vec::new();
        diff_values("", &a, &b, &mut out);
        let paths: Vec<(&str, Status)> = out.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(
            paths,
            [
                ("arr[1]", Status::Removed),
                ("gone", Status::Removed),
                ("n", Status::Changed),
                ("o.y", Status::Added),
            ]
        );
        assert_eq!(out[2].old, Some(serde_json::json!(5)));
        assert_eq!(out[2].new, Some(serde_json::json!(5.0)));
    }
}
