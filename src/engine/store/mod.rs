//! Random access to a run's tables for user code (`ctx.db`): a document by
//! its `_id`, a table in the order of one of its indexes, and the writes the
//! run has made so far, layered over the snapshot.
//!
//! [`Base`] is the state before a migration: each table it touches is copied
//! once into a scratch file (the input's entries cannot be read at an
//! offset), with the offset of every row and a map from `_id` to row; an
//! index is a sorted list of its keys, built when first used. It is
//! read-only and shared. [`Writes`] are the changes on top: committed ones
//! (documents in a scratch log, by `_id`) and a stack of open layers, one per
//! unit that can still roll back (a call, a page), as a transaction does.
//!
//! Index order is Convex's: by the index's fields (Convex's order of values:
//! undefined < null < Int64 < Float64 < boolean < string < bytes < array <
//! object), then `_creationTime`, then `_id`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustc_hash::FxHashMap;

mod writes;
pub use writes::{Counts, Finished, Found, Reads, Tx, Writes};

use super::db::{OwnedSegment, TableSource};
use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::lines::{Source, try_scan_source};
use crate::progress::Progress;
use crate::value::{self, Map, TableFormat, Value};

/// Convex's order of values; `None` is `undefined` (a missing field).
pub fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Int64(_)) => 2,
            Some(Value::Float64(_)) => 3,
            Some(Value::Bool(_)) => 4,
            Some(Value::String(_)) => 5,
            Some(Value::Bytes(_)) => 6,
            Some(Value::Array(_)) => 7,
            Some(Value::Object(_)) => 9,
        }
    }
    match (a, b) {
        (Some(Value::Int64(x)), Some(Value::Int64(y))) => x.cmp(y),
        (Some(Value::Float64(x)), Some(Value::Float64(y))) => float_order(*x, *y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::String(x)), Some(Value::String(y))) => x.as_bytes().cmp(y.as_bytes()),
        (Some(Value::Bytes(x)), Some(Value::Bytes(y))) => x.cmp(y),
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(Some(p), Some(q));
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            for ((ka, va), (kb, vb)) in x.iter().zip(y) {
                let c = ka
                    .as_bytes()
                    .cmp(kb.as_bytes())
                    .then_with(|| compare_values(Some(va), Some(vb)));
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// IEEE doubles by their bits as a total order: negative NaNs, -Infinity …
/// -0 < 0 … Infinity, positive NaNs (Convex's `compareValues`).
fn float_order(x: f64, y: f64) -> Ordering {
    let key = |f: f64| {
        let bits = f.to_bits();
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    };
    key(x).cmp(&key(y))
}

/// The value at a field path (`a.b`), if any.
pub fn field<'v>(doc: &'v Map, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut v = doc.get(parts.next()?)?;
    for part in parts {
        v = v.as_object()?.get(part)?;
    }
    Some(v)
}

/// The internal bytes of a document's `_id`.
fn internal_of(doc: &Map) -> Option<[u8; 16]> {
    doc.get("_id")
        .and_then(Value::as_str)
        .and_then(|s| DocumentId::decode(s).ok())
        .map(|id| id.internal)
}

fn creation_time(doc: &Map) -> f64 {
    match doc.get("_creationTime") {
        Some(Value::Float64(t)) => *t,
        _ => 0.0,
    }
}

/// A batch of rows read for a copy: its bytes, and each row's length and
/// `_id`.
type RowBatch = (Vec<u8>, Vec<(u32, Option<[u8; 16]>)>);

/// A document by table number and internal `_id`.
pub type DocKey = (u32, [u8; 16]);

/// Which documents a scan keeps (a query's filters).
pub type Keep<'a> = &'a dyn Fn(&Map) -> std::result::Result<bool, String>;

/// The indexes of a schema, per table: (name, fields).
pub type SchemaIndexes = BTreeMap<String, Vec<(String, Vec<String>)>>;

/// The most bytes one read of a table's scratch copy takes.
const READ_SPAN: u64 = 1 << 20;

/// One table's rows, copied where they can be read at an offset.
pub struct Rows {
    file: File,
    path: PathBuf,
    /// Offset and length of each row, in file order.
    offsets: Vec<(u64, u32)>,
    /// Each row's `_id` (internal bytes), when it has a valid one.
    row_ids: Vec<Option<[u8; 16]>>,
    by_id: FxHashMap<[u8; 16], u32>,
    pub format: TableFormat,
    pub number: u32,
}

impl Rows {
    /// The raw text of row `i`.
    pub fn line(&self, i: u32) -> Result<Vec<u8>> {
        let (off, len) = self.offsets[i as usize];
        let mut buf = vec![0u8; len as usize];
        self.read_at(&mut buf, off)?;
        Ok(buf)
    }

    /// The raw text of each of `rows`, in their order. Rows that lie next
    /// to each other in the file (a page of an index that follows the
    /// file's order) come in one read.
    pub fn lines(&self, rows: &[u32]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(rows.len());
        let mut i = 0;
        while i < rows.len() {
            let (start, _) = self.offsets[rows[i] as usize];
            let mut j = i + 1;
            let mut end = self.end_of(rows[i]);
            while j < rows.len() {
                let (off, _) = self.offsets[rows[j] as usize];
                if off != end + 1 || end - start > READ_SPAN {
                    break;
                }
                end = self.end_of(rows[j]);
                j += 1;
            }
            let mut buf = vec![0u8; (end - start) as usize];
            self.read_at(&mut buf, start)?;
            for &r in &rows[i..j] {
                let (off, len) = self.offsets[r as usize];
                let from = (off - start) as usize;
                out.push(buf[from..from + len as usize].to_vec());
            }
            i = j;
        }
        Ok(out)
    }

    /// Calls `f` with every row's index and text, in file order, reading
    /// the file in large blocks.
    pub fn each_line(&self, mut f: impl FnMut(u32, &[u8]) -> Result<()>) -> Result<()> {
        let total = self.offsets.last().map_or(0, |&(o, l)| o + u64::from(l));
        let mut buf: Vec<u8> = Vec::new();
        let mut buf_at = 0u64;
        for (i, &(off, len)) in self.offsets.iter().enumerate() {
            let end = off + u64::from(len);
            if off < buf_at || end > buf_at + buf.len() as u64 {
                let want = (total - off).min(READ_SPAN.max(u64::from(len)));
                buf.resize(want as usize, 0);
                self.read_at(&mut buf, off)?;
                buf_at = off;
            }
            let from = (off - buf_at) as usize;
            f(i as u32, &buf[from..from + len as usize])?;
        }
        Ok(())
    }

    fn end_of(&self, row: u32) -> u64 {
        let (off, len) = self.offsets[row as usize];
        off + u64::from(len)
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, at)
            .map_err(|source| Error::Read {
                path: self.path.clone(),
                source,
            })
    }

    /// Row `i`, decoded.
    pub fn doc(&self, i: u32) -> Result<Map> {
        let line = self.line(i)?;
        match value::decode_line(&line, &self.format) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Error::Usage("internal: a row that is not an object".into())),
            Err(e) => Err(Error::Usage(format!(
                "internal: a checked row no longer decodes: {e}"
            ))),
        }
    }

    /// The row of an `_id`.
    pub fn find(&self, internal: &[u8; 16]) -> Option<u32> {
        self.by_id.get(internal).copied()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// The `_id` of row `i`.
    pub fn id_of(&self, i: u32) -> Option<[u8; 16]> {
        self.row_ids[i as usize]
    }
}

/// An index's order: its fields, then `_creationTime`, then `_id`; or
/// `_id` alone (`by_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexSpec {
    pub name: String,
    /// The declared fields (empty for `by_creation_time` and `by_id`).
    pub fields: Vec<String>,
    pub by_id: bool,
}

impl IndexSpec {
    pub fn by_creation_time() -> IndexSpec {
        IndexSpec {
            name: "by_creation_time".into(),
            fields: Vec::new(),
            by_id: false,
        }
    }

    /// The fields a range may constrain, in order.
    pub fn range_fields(&self) -> Vec<&str> {
        if self.by_id {
            vec!["_id"]
        } else if self.fields.is_empty() {
            vec!["_creationTime"]
        } else {
            self.fields.iter().map(String::as_str).collect()
        }
    }
}

/// A position in an index: the values of its fields, `_creationTime`, and
/// the `_id`'s internal bytes.
#[derive(Debug, Clone)]
pub struct IndexKey {
    pub values: Box<[Option<Value>]>,
    pub creation_time: f64,
    pub id: [u8; 16],
}

impl IndexKey {
    /// The key of a document in `spec`.
    pub fn of(spec: &IndexSpec, doc: &Map) -> IndexKey {
        IndexKey {
            values: spec.fields.iter().map(|f| field(doc, f).cloned()).collect(),
            creation_time: creation_time(doc),
            id: internal_of(doc).unwrap_or_default(),
        }
    }

    /// The order of two keys of one index.
    pub fn cmp(&self, other: &IndexKey, by_id: bool) -> Ordering {
        if by_id {
            return self.id.cmp(&other.id);
        }
        for (a, b) in self.values.iter().zip(other.values.iter()) {
            let c = compare_values(a.as_ref(), b.as_ref());
            if c != Ordering::Equal {
                return c;
            }
        }
        float_order(self.creation_time, other.creation_time).then_with(|| self.id.cmp(&other.id))
    }

    /// The value of the `i`-th range field (see [`IndexSpec::range_fields`])
    /// of a key of table `number`.
    fn range_value(&self, spec: &IndexSpec, i: usize, number: u32) -> Option<Value> {
        if spec.by_id {
            return Some(Value::String(DocumentId::new(number, self.id).encode()));
        }
        if spec.fields.is_empty() {
            return Some(Value::Float64(self.creation_time));
        }
        self.values.get(i).cloned().flatten()
    }
}

/// An index of a table: every row's key, sorted.
pub struct Sorted {
    pub spec: IndexSpec,
    pub entries: Vec<(IndexKey, u32)>,
}

/// A table the store knows: where its rows are.
#[derive(Debug, Clone)]
struct TableInfo {
    source: TableSource,
}

type Lazy<T> = Arc<OnceLock<std::result::Result<Arc<T>, String>>>;

/// The tables as they were before the migration: shared, read-only.
pub struct Base {
    archive: Archive,
    tables: BTreeMap<String, TableInfo>,
    by_number: BTreeMap<u32, String>,
    rows: Mutex<FxHashMap<String, Lazy<Rows>>>,
    sorted: Mutex<FxHashMap<(String, IndexSpec), Lazy<Sorted>>>,
    /// The indexes `schema.ts` defines, per table: (name, fields).
    pub schema_indexes: SchemaIndexes,
    /// `_storage`'s system documents, when the snapshot has them.
    storage: Option<Vec<Map>>,
    dir: PathBuf,
    files: std::sync::atomic::AtomicU64,
}

impl Base {
    /// The tables of `db`, before the migration; scratch files go in `dir`
    /// (which must outlive the store).
    pub fn new(
        db: &super::Db,
        dir: &Path,
        schema_indexes: BTreeMap<String, Vec<(String, Vec<String>)>>,
    ) -> Result<Base> {
        let mut tables = BTreeMap::new();
        let mut by_number = BTreeMap::new();
        for source in db.table_sources() {
            by_number.insert(source.number, source.name.clone());
            tables.insert(source.name.clone(), TableInfo { source });
        }
        let storage = storage_documents(db.archive())?;
        Ok(Base {
            archive: db.archive().clone(),
            tables,
            by_number,
            rows: Mutex::default(),
            sorted: Mutex::default(),
            schema_indexes,
            storage,
            dir: dir.to_owned(),
            files: Default::default(),
        })
    }

    /// The table's number and format, if the snapshot has it.
    pub fn table(&self, name: &str) -> Option<(u32, &TableFormat)> {
        self.tables
            .get(name)
            .map(|t| (t.source.number, &t.source.format))
    }

    /// The name of the table with this number.
    pub fn table_name(&self, number: u32) -> Option<&str> {
        self.by_number.get(&number).map(String::as_str)
    }

    /// The numbers of the snapshot's tables.
    pub fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_number.keys().copied()
    }

    /// `_storage`'s system documents.
    pub fn storage(&self) -> &[Map] {
        self.storage.as_deref().unwrap_or_default()
    }

    /// A table's rows (copied once, on first use).
    pub fn rows(&self, name: &str) -> Result<Option<Arc<Rows>>> {
        let Some(info) = self.tables.get(name) else {
            return Ok(None);
        };
        let lazy = self
            .rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_owned())
            .or_default()
            .clone();
        lazy.get_or_init(|| {
            self.load(&info.source)
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map(Some)
        .map_err(Error::Usage)
    }

    fn load(&self, t: &TableSource) -> Result<Rows> {
        let n = self
            .files
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.dir.join(format!("store-{n:04}-{}.jsonl", t.name));
        let werr = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(werr)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut offsets = Vec::new();
        let mut row_ids = Vec::new();
        let mut by_id = FxHashMap::default();
        let mut pos = 0u64;
        for seg in &t.segments {
            let source = match seg {
                OwnedSegment::Entry(e) => Source::Entry(&self.archive, *e),
                OwnedSegment::File(p) => Source::File(p),
            };
            let entry = match seg {
                OwnedSegment::Entry(e) => self.archive.entries()[*e].name.clone(),
                OwnedSegment::File(_) => {
                    format!("{}/documents.jsonl (as changed by this run)", t.name)
                }
            };
            let mut failed: Option<Error> = None;
            try_scan_source(
                source,
                &Progress::hidden(),
                |batch| -> Result<RowBatch> {
                    let mut ids = Vec::new();
                    for (line_no, line) in batch.lines() {
                        let id = match value::decode_fields_of_valid_json(line, &t.format, &["_id"])
                        {
                            Ok(f) => internal_of(&f),
                            Err(e) => return Err(Error::line(&entry, line_no, e)),
                        };
                        ids.push((line.len() as u32, id));
                    }
                    Ok((batch.data.clone(), ids))
                },
                |(data, ids)| {
                    if failed.is_some() {
                        return;
                    }
                    if let Err(e) = out.write_all(&data) {
                        failed = Some(Error::Write {
                            path: path.clone(),
                            source: e,
                        });
                        return;
                    }
                    let mut at = pos;
                    for (len, id) in ids {
                        let row = offsets.len() as u32;
                        offsets.push((at, len));
                        row_ids.push(id);
                        if let Some(id) = id {
                            by_id.insert(id, row);
                        }
                        at += u64::from(len) + 1;
                    }
                    pos += data.len() as u64;
                    // A segment that does not end with a newline gets one.
                    if data.last() != Some(&b'\n') {
                        let _ = out.write_all(b"\n");
                        pos += 1;
                    }
                },
            )?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        out.flush().map_err(werr)?;
        let file = out.into_inner().map_err(|e| werr(e.into_error()))?;
        Ok(Rows {
            file,
            path,
            offsets,
            row_ids,
            by_id,
            format: t.format.clone(),
            number: t.number,
        })
    }

    /// A table's index (built once, on first use).
    pub fn sorted(&self, table: &str, spec: &IndexSpec) -> Result<Option<Arc<Sorted>>> {
        let Some(rows) = self.rows(table)? else {
            return Ok(None);
        };
        let lazy = self
            .sorted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((table.to_owned(), spec.clone()))
            .or_default()
            .clone();
        lazy.get_or_init(|| {
            use rayon::prelude::*;
            // Only the top-level fields the key needs are decoded.
            let mut names: Vec<&str> = spec
                .fields
                .iter()
                .map(|f| f.split('.').next().unwrap_or(f))
                .collect();
            names.extend(["_creationTime", "_id"]);
            let mut entries = (0..rows.len() as u32)
                .into_par_iter()
                .map(|i| {
                    let line = rows.line(i).map_err(|e| format!("{e:#}"))?;
                    let doc = value::decode_fields_of_valid_json(&line, &rows.format, &names)
                        .map_err(|e| format!("internal: a checked row no longer decodes: {e}"))?;
                    Ok((IndexKey::of(spec, &doc), i))
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
            entries.par_sort_by(|a, b| a.0.cmp(&b.0, spec.by_id));
            Ok(Arc::new(Sorted {
                spec: spec.clone(),
                entries,
            }))
        })
        .clone()
        .map(Some)
        .map_err(Error::Usage)
    }

    /// The index `name` of `table`: `by_creation_time`, `by_id`, or one
    /// `schema.ts` defines.
    pub fn index_spec(&self, table: &str, name: &str) -> std::result::Result<IndexSpec, String> {
        match name {
            "by_creation_time" => Ok(IndexSpec::by_creation_time()),
            "by_id" => Ok(IndexSpec {
                name: name.into(),
                fields: Vec::new(),
                by_id: true,
            }),
            _ => self
                .schema_indexes
                .get(table)
                .and_then(|list| list.iter().find(|(n, _)| n == name))
                .map(|(_, fields)| IndexSpec {
                    name: name.into(),
                    fields: fields.clone(),
                    by_id: false,
                })
                .ok_or_else(|| {
                    let known: Vec<&str> = self
                        .schema_indexes
                        .get(table)
                        .map(|l| l.iter().map(|(n, _)| n.as_str()).collect())
                        .unwrap_or_default();
                    format!(
                        "Index {table}.{name} not found (the indexes schema.ts defines for {table}: {}; and by_creation_time, by_id)",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    )
                }),
        }
    }
}

/// `_storage` as the system documents Convex code sees.
fn storage_documents(archive: &Archive) -> Result<Option<Vec<Map>>> {
    let Some(entry) = archive.find("_storage/documents.jsonl") else {
        return Ok(None);
    };
    let data = archive.read_all(entry)?;
    let mut docs = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let meta = crate::snapshot::parse_storage_line(line, i + 1)
            .map_err(|e| Error::line("_storage/documents.jsonl", i + 1, e))?;
        let mut m = Map::new();
        m.insert("_id".into(), Value::String(meta.id));
        m.insert(
            "_creationTime".into(),
            Value::Float64(meta.creation_time.unwrap_or(0.0)),
        );
        if let Some(t) = meta.content_type {
            m.insert("contentType".into(), Value::String(t));
        }
        m.insert(
            "sha256".into(),
            Value::String(meta.sha256.unwrap_or_default()),
        );
        m.insert("size".into(), Value::Float64(meta.size.unwrap_or(0) as f64));
        docs.push(m);
    }
    docs.sort_by(|a, b| float_order(creation_time(a), creation_time(b)));
    Ok(Some(docs))
}

fn decode(bytes: &[u8], format: &TableFormat) -> Result<Map> {
    match value::decode_line(bytes, format) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::Usage(
            "internal: a written row no longer decodes".into(),
        )),
    }
}

/// An index range: equalities on the first fields, then at most a lower
/// and an upper bound on the next one.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// Values the first range fields must equal.
    pub eq: Vec<Option<Value>>,
    /// Bounds on the field after them: (value, inclusive).
    pub lower: Option<(Option<Value>, bool)>,
    pub upper: Option<(Option<Value>, bool)>,
}

impl Range {
    /// Builds a range from `withIndex`'s operations, checking that they
    /// follow the index's fields in order, as Convex does.
    pub fn new(
        spec: &IndexSpec,
        ops: Vec<(String, String, Option<Value>)>,
    ) -> std::result::Result<Range, String> {
        let fields = spec.range_fields();
        let mut r = Range::default();
        for (op, f, v) in ops {
            let at = r.eq.len();
            let bad = || {
                format!(
                    "Uh oh! Index range for {} is not valid: {op}(\"{f}\", …) must follow the index's fields in order ({}): equalities first, then one range on the next field",
                    spec.name,
                    fields.join(", ")
                )
            };
            match op.as_str() {
                "eq" if r.lower.is_none()
                    && r.upper.is_none()
                    && fields.get(at) == Some(&f.as_str()) =>
                {
                    r.eq.push(v)
                }
                "gt" | "gte" if r.lower.is_none() && fields.get(at) == Some(&f.as_str()) => {
                    r.lower = Some((v, op == "gte"));
                }
                "lt" | "lte" if r.upper.is_none() && fields.get(at) == Some(&f.as_str()) => {
                    r.upper = Some((v, op == "lte"));
                }
                _ => return Err(bad()),
            }
        }
        Ok(r)
    }

    /// The key lies before the range (the range starts later).
    fn before(&self, key: &IndexKey, spec: &IndexSpec, id: u32) -> bool {
        for (i, want) in self.eq.iter().enumerate() {
            match compare_values(key.range_value(spec, i, id).as_ref(), want.as_ref()) {
                Ordering::Less => return true,
                Ordering::Greater => return false,
                Ordering::Equal => {}
            }
        }
        match &self.lower {
            Some((v, inclusive)) => {
                let c = compare_values(
                    key.range_value(spec, self.eq.len(), id).as_ref(),
                    v.as_ref(),
                );
                c == Ordering::Less || (c == Ordering::Equal && !inclusive)
            }
            None => false,
        }
    }

    /// The key lies after the range (the range ended before it).
    fn after(&self, key: &IndexKey, spec: &IndexSpec, id: u32) -> bool {
        for (i, want) in self.eq.iter().enumerate() {
            match compare_values(key.range_value(spec, i, id).as_ref(), want.as_ref()) {
                Ordering::Greater => return true,
                Ordering::Less => return false,
                Ordering::Equal => {}
            }
        }
        match &self.upper {
            Some((v, inclusive)) => {
                let c = compare_values(
                    key.range_value(spec, self.eq.len(), id).as_ref(),
                    v.as_ref(),
                );
                c == Ordering::Greater || (c == Ordering::Equal && !inclusive)
            }
            None => false,
        }
    }

    /// The key (of table `id`) lies in the range.
    pub fn contains(&self, key: &IndexKey, spec: &IndexSpec, id: u32) -> bool {
        !self.before(key, spec, id) && !self.after(key, spec, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows over a file of `texts`, one per line, with a gap of junk bytes
    /// before the third, so not every row lies next to the one before.
    fn rows_of(dir: &Path, texts: &[Vec<u8>]) -> Rows {
        let path = dir.join("rows.jsonl");
        let mut data = Vec::new();
        let mut offsets = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            if i == 2 {
                data.extend_from_slice(b"junk\n");
            }
            offsets.push((data.len() as u64, t.len() as u32));
            data.extend_from_slice(t);
            data.push(b'\n');
        }
        std::fs::write(&path, &data).unwrap();
        Rows {
            file: File::open(&path).unwrap(),
            path,
            row_ids: vec![None; texts.len()],
            offsets,
            by_id: FxHashMap::default(),
            format: TableFormat::Uniform,
            number: 10001,
        }
    }

    #[test]
    fn rows_read_together_and_in_blocks_give_each_row_as_read_alone() {
        let dir = tempfile::tempdir().unwrap();
        // Short rows, and rows longer than one read, so reads split and
        // refill at every kind of boundary.
        let texts: Vec<Vec<u8>> = (0..40u8)
            .map(|i| {
                let len = match i % 4 {
                    0 => 3,
                    1 => READ_SPAN as usize / 3,
                    2 => READ_SPAN as usize + 17,
                    _ => 1,
                };
                vec![b'a' + i % 26; len]
            })
            .collect();
        let rows = rows_of(dir.path(), &texts);
        let alone: Vec<Vec<u8>> = (0..texts.len() as u32)
            .map(|i| rows.line(i).unwrap())
            .collect();
        assert_eq!(alone, texts);
        let all: Vec<u32> = (0..texts.len() as u32).collect();
        assert_eq!(rows.lines(&all).unwrap(), texts);
        let picked = [5u32, 6, 7, 1, 2, 3, 39, 0, 0];
        let want: Vec<Vec<u8>> = picked.iter().map(|&i| texts[i as usize].clone()).collect();
        assert_eq!(rows.lines(&picked).unwrap(), want);
        let mut seen = Vec::new();
        rows.each_line(|i, line| {
            assert_eq!(i as usize, seen.len());
            seen.push(line.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, texts);
    }

    #[test]
    fn values_order_as_convex_orders_them() {
        let s = |t: &str| Some(Value::String(t.into()));
        let ordered = [
            None,
            Some(Value::Null),
            Some(Value::Int64(-5)),
            Some(Value::Int64(3)),
            Some(Value::Float64(f64::NEG_INFINITY)),
            Some(Value::Float64(-1.0)),
            Some(Value::Float64(-0.0)),
            Some(Value::Float64(0.0)),
            Some(Value::Float64(2.0)),
            Some(Value::Float64(f64::NAN)),
            Some(Value::Bool(false)),
            Some(Value::Bool(true)),
            s(""),
            s("B"),
            s("a"),
            s("é"),
            Some(Value::Bytes(vec![1])),
            Some(Value::Array(vec![])),
            Some(Value::Array(vec![Value::Null])),
            Some(Value::Object(Map::new())),
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(
                    compare_values(a.as_ref(), b.as_ref()),
                    i.cmp(&j),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn ranges_follow_the_index_fields() {
        let spec = IndexSpec {
            name: "by_a_b".into(),
            fields: vec!["a".into(), "b".into()],
            by_id: false,
        };
        let f = |x: f64| Some(Value::Float64(x));
        let r = Range::new(
            &spec,
            vec![
                ("eq".into(), "a".into(), f(1.0)),
                ("gte".into(), "b".into(), f(2.0)),
                ("lt".into(), "b".into(), f(4.0)),
            ],
        )
        .unwrap();
        let key = |a: f64, b: f64| IndexKey {
            values: vec![f(a), f(b)].into(),
            creation_time: 1.0,
            id: [0; 16],
        };
        assert!(r.before(&key(0.0, 9.0), &spec, 1));
        assert!(r.before(&key(1.0, 1.0), &spec, 1));
        assert!(r.contains(&key(1.0, 2.0), &spec, 1));
        assert!(r.contains(&key(1.0, 3.5), &spec, 1));
        assert!(r.after(&key(1.0, 4.0), &spec, 1));
        assert!(r.after(&key(2.0, 0.0), &spec, 1));
        for bad in [
            vec![("eq".to_string(), "b".to_string(), f(1.0))],
            vec![
                ("gt".into(), "a".into(), f(1.0)),
                ("eq".into(), "b".into(), f(1.0)),
            ],
            vec![
                ("gt".into(), "a".into(), f(1.0)),
                ("gt".into(), "a".into(), f(2.0)),
            ],
        ] {
            assert!(
                Range::new(&spec, bad)
                    .unwrap_err()
                    .contains("must follow the index's fields in order")
            );
        }
    }
}
