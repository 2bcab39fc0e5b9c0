//! One pass over a snapshot that checks every rule the importer enforces
//! (docs/export-format.md, sections 1 to 7) and gathers the figures
//! `inspect` shows. `validate` and `inspect` both call [`check_snapshot`].
//!
//! Each table's documents are scanned in parallel batches ([`crate::lines`]);
//! per-batch results are merged in file order, so reports are identical for
//! any thread count.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::layout::{ComponentPath, EntryKind};
use crate::lines::{self, Batch};
use crate::progress::Progress;
use crate::schema::{Inferred, Schema, TableNames, TableSchema};
use crate::snapshot::{Snapshot, StorageMetadata, Table, TablesLine, parse_storage_line};
use crate::value::{
    self, MAX_ARRAY_LEN, MAX_DOCUMENT_NESTING, MAX_DOCUMENT_SIZE, MAX_OBJECT_FIELDS, TableFormat,
    Value,
};

/// How many problems are kept in memory; all are counted.
pub const MAX_KEPT_PROBLEMS: usize = 10_000;
const MAX_EXACT_F64_INT: f64 = 9_007_199_254_740_992.0;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `convex import` would fail on it.
    Error,
    /// The import goes through, but not as the user probably expects.
    Warning,
}

/// One finding, with where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub severity: Severity,
    pub entry: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    /// The entry cannot be read as snapshot data at this point (not JSON, not
    /// an object, an unparsable sidecar): `inspect` and `migrate` stop here.
    #[serde(skip)]
    pub unreadable: bool,
}

impl Problem {
    fn error(entry: &str, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            entry: entry.to_owned(),
            line,
            message: message.into(),
            unreadable: false,
        }
    }

    fn unreadable(entry: &str, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            unreadable: true,
            ..Problem::error(entry, line, message)
        }
    }

    fn warning(entry: &str, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(entry, line, message)
        }
    }

    /// A line-level format error becomes an unreadable problem; anything
    /// else (I/O, a CRC mismatch, a broken ZIP) stays an error.
    fn from_error(err: Error) -> Result<Problem> {
        match err {
            Error::Line {
                entry,
                line,
                message,
            } => Ok(Problem::unreadable(&entry, Some(line), message)),
            other => Err(other),
        }
    }

    /// The problem as an error that stops a command.
    pub fn into_error(self) -> Error {
        match self.line {
            Some(line) => Error::Line {
                entry: self.entry,
                line,
                message: self.message,
            },
            None => Error::Entry {
                entry: self.entry,
                message: self.message,
            },
        }
    }
}

/// Every problem found, capped at [`MAX_KEPT_PROBLEMS`], with totals.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problems {
    pub errors: usize,
    pub warnings: usize,
    pub list: Vec<Problem>,
    /// The first unreadable problem, kept even past the cap.
    #[serde(skip)]
    pub first_unreadable: Option<Problem>,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        if p.unreadable && self.first_unreadable.is_none() {
            self.first_unreadable = Some(p.clone());
        }
        match p.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.list.len() < MAX_KEPT_PROBLEMS {
            self.list.push(p);
        }
    }

    /// Total number of problems, kept or not.
    pub fn total(&self) -> usize {
        self.errors + self.warnings
    }
}

/// How often a top-level field appears and with which value types.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldStats {
    pub present: u64,
    pub types: BTreeMap<&'static str, u64>,
}

/// What one table holds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableSummary {
    pub name: String,
    /// The number from `_tables`, or from the first row's `_id`.
    pub number: Option<u32>,
    pub rows: u64,
    pub compressed_bytes: Option<u64>,
    pub uncompressed_bytes: u64,
    pub format: &'static str,
    pub fields: BTreeMap<String, FieldStats>,
    /// Largest document in Convex's size metric.
    pub max_document_size: usize,
}

/// `_storage` of one component.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSummary {
    pub metadata_rows: u64,
    pub files: u64,
    pub bytes: u64,
}

/// One component.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSummary {
    pub path: String,
    pub tables: Vec<TableSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSummary>,
}

/// The result of a full pass.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub snapshot: String,
    pub kind: &'static str,
    pub entries: usize,
    pub documents: u64,
    pub components: Vec<ComponentSummary>,
    pub problems: Problems,
    /// What `--schema` found, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaOutcome>,
    /// The shape of each root table's documents, when asked (`infer`).
    #[serde(skip)]
    pub inferred: BTreeMap<String, Inferred>,
    /// Table numbers to names in the root component, as an import maps them.
    #[serde(skip)]
    pub names: TableNames,
}

/// What to check besides the importer's rules.
#[derive(Default)]
pub struct CheckOptions<'a> {
    /// Check the root component's documents against this schema.
    pub schema: Option<&'a Schema>,
    /// Gather each root table's shape for a draft schema.
    pub infer: bool,
}

/// The schema check's totals.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaOutcome {
    pub file: String,
    /// `schemaValidation`: when false, mismatches are warnings, as the
    /// deployment enforces nothing.
    pub enforced: bool,
    pub tables_checked: Vec<String>,
    /// Tables of the snapshot the schema does not list: the deployment does
    /// not validate them.
    pub not_in_schema: Vec<String>,
    /// Tables of the schema the snapshot has no documents for (empty).
    pub not_in_snapshot: Vec<String>,
    pub documents_checked: u64,
    pub documents_failing: u64,
    /// Documents a `.staged(...)` validator would reject (not enforced).
    pub documents_failing_staged: u64,
}

/// The most mismatches listed for one document.
const MAX_MISMATCHES_PER_DOCUMENT: usize = 10;

impl Report {
    /// Fails with the first line that cannot be read as snapshot data.
    pub fn ensure_readable(&self) -> Result<()> {
        match &self.problems.first_unreadable {
            Some(p) => Err(p.clone().into_error()),
            None => Ok(()),
        }
    }
}

/// What the importer refuses in a `_storage` metadata line's optional
/// fields (`import_file_storage.rs`): a `contentType` that is not a MIME
/// type, a `sha256` that is not the base64 of 32 bytes, an `internalId`
/// that is not a UUID, a `_creationTime` that is negative or not finite.
fn storage_field_problems(row: &StorageMetadata) -> Vec<String> {
    use base64::Engine as _;
    let mut out = Vec::new();
    if let Some(t) = &row.content_type {
        let mime = t.split(';').next().unwrap_or("").trim();
        let valid = mime.split_once('/').is_some_and(|(a, b)| {
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
            };
            token(a) && token(b)
        });
        if !valid {
            out.push(format!(
                "contentType {t:?} is not a MIME type; the import fails"
            ));
        }
    }
    if let Some(h) = &row.sha256 {
        let ok = base64::engine::general_purpose::STANDARD
            .decode(h)
            .is_ok_and(|b| b.len() == 32);
        if !ok {
            out.push(format!(
                "sha256 {h:?} is not the base64 of a SHA-256 digest; the import fails"
            ));
        }
    }
    if let Some(u) = &row.internal_id {
        // The forms `uuid`'s parser takes: simple, hyphenated, braced, URN.
        let inner = u
            .strip_prefix("urn:uuid:")
            .or_else(|| u.strip_prefix('{').and_then(|b| b.strip_suffix('}')))
            .unwrap_or(u);
        let hex = |g: &str| g.bytes().all(|c| c.is_ascii_hexdigit());
        let groups: Vec<&str> = inner.split('-').collect();
        let ok = (groups.len() == 1 && inner.len() == 32 && hex(inner))
            || (groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
                && groups.iter().all(|g| hex(g)));
        if !ok {
            out.push(format!("internalId {u:?} is not a UUID; the import fails"));
        }
    }
    if let Some(t) = row.creation_time
        && !(t.is_finite() && t >= 0.0)
    {
        out.push(format!(
            "_creationTime {t} must be a finite, non-negative number"
        ));
    }
    out
}

/// Per-batch result of a table scan.
#[derive(Default)]
struct BatchOut {
    rows: u64,
    problems: Vec<Problem>,
    ids: Vec<([u8; 16], usize)>,
    numbers: BTreeMap<u32, (u64, usize)>,
    /// Per field: rows present, and rows per value type (by `Value::type_index`).
    fields: rustc_hash::FxHashMap<String, (u64, [u64; 8])>,
    max_size: usize,
    /// Documents checked against the schema, failing it, failing its
    /// staged validator.
    schema: (u64, u64, u64),
    /// Schema mismatches counted but not written (errors, warnings): the
    /// list was full before this batch began.
    unwritten: (usize, usize),
    inferred: Option<Inferred>,
}

/// What one table is checked against besides the importer's rules.
#[derive(Clone, Copy)]
struct TableChecks<'a> {
    /// The table's number in `_tables`, if listed.
    listed_number: Option<u32>,
    /// Set once the kept list of problems is full. Batches are merged in
    /// file order, so every batch that sees it set comes after the last
    /// problem kept: its mismatches need counting, not writing.
    list_full: &'a std::sync::atomic::AtomicBool,
    schema: Option<(&'a TableSchema, &'a TableNames, Severity)>,
    infer: bool,
}

/// The number a table's first row's `_id` encodes, if it has one.
fn first_row_number(snap: &Snapshot, entry: usize) -> Result<Option<u32>> {
    use std::io::BufRead as _;
    let line = snap.archive.with_reader(entry, |r| {
        let mut line = Vec::new();
        std::io::BufReader::new(std::io::Read::take(&mut *r, 2 << 20))
            .read_until(b'\n', &mut line)?;
        Ok(line)
    })?;
    Ok(serde_json::from_slice::<serde_json::Value>(&line)
        .ok()
        .and_then(|j| j.get("_id")?.as_str().map(str::to_owned))
        .and_then(|id| DocumentId::decode(&id).ok())
        .map(|id| id.table_number))
}

/// Checks the whole snapshot.
pub fn check_snapshot(snap: &Snapshot, quiet: bool) -> Result<Report> {
    check_snapshot_with(snap, quiet, &CheckOptions::default())
}

/// Checks the whole snapshot, and what `options` asks besides.
pub fn check_snapshot_with(
    snap: &Snapshot,
    quiet: bool,
    options: &CheckOptions<'_>,
) -> Result<Report> {
    let archive = &snap.archive;
    let total: u64 = archive.entries().iter().map(|e| e.size).sum();
    let progress = Progress::bytes(total, "checking", quiet);
    let mut problems = Problems::default();

    // Entries by themselves.
    for (i, kind) in snap.kinds.iter().enumerate() {
        let name = snap.entry_name(i);
        match kind {
            EntryKind::BadComponent(msg) => problems.push(Problem::error(
                name,
                None,
                format!("InvalidComponentName: {msg}; the import would fail"),
            )),
            EntryKind::Documents(_, table) => {
                if let Err(msg) = value::check_identifier(table) {
                    problems.push(Problem::error(
                        name,
                        None,
                        format!("InvalidTableName: table name {msg}; the import would fail"),
                    ));
                }
            }
            EntryKind::SystemTable(_, table) => problems.push(Problem::warning(
                name,
                None,
                format!("system table {table} is skipped by the importer"),
            )),
            EntryKind::StorageBlob(_, id) => {
                if let Err(e) = DocumentId::decode(id) {
                    problems.push(Problem::error(
                        name,
                        None,
                        format!("InvalidStorageId: {id:?} is not a storage ID ({e}); files under _storage/ must be named by their _id, or the import fails"),
                    ));
                }
            }
            EntryKind::Other => problems.push(Problem::warning(
                name,
                None,
                "ignored by the importer (not a table, schema or storage file)",
            )),
            _ => {}
        }
    }
    // Entries nothing below reads are still read through once, so their CRC
    // and sizes are checked as the other commands check them.
    for (i, kind) in snap.kinds.iter().enumerate() {
        if matches!(
            kind,
            EntryKind::Readme
                | EntryKind::Other
                | EntryKind::Directory
                | EntryKind::SystemTable(..)
                | EntryKind::BadComponent(_)
        ) {
            archive.with_reader(i, |r| std::io::copy(r, &mut std::io::sink()))?;
            progress.inc(archive.entries()[i].size);
        }
    }

    let mut components = Vec::new();
    let mut documents = 0;
    let mut outcome = options.schema.map(|s| SchemaOutcome {
        file: s.file.clone(),
        enforced: s.validation,
        tables_checked: Vec::new(),
        not_in_schema: Vec::new(),
        not_in_snapshot: Vec::new(),
        documents_checked: 0,
        documents_failing: 0,
        documents_failing_staged: 0,
    });
    let mut inferred = BTreeMap::new();
    let mut root_names = TableNames::default();
    let list_full = std::sync::atomic::AtomicBool::new(false);
    for (path, comp) in &snap.components {
        let listed = check_tables_listing(snap, path, comp, &mut problems)?;
        let root = path.is_root();
        if root && (options.schema.is_some() || options.infer) {
            root_names = table_names(snap, comp, &listed)?;
        }
        let mut tables = Vec::new();
        for (name, table) in &comp.tables {
            let Some(doc_entry) = table.documents else {
                if let Some(s) = table.schema {
                    // The importer parses every sidecar, even this one.
                    match snap.table_format(table) {
                        Ok(_) => problems.push(Problem::warning(
                            snap.entry_name(s),
                            None,
                            "generated_schema.jsonl without a documents.jsonl is ignored",
                        )),
                        Err(e) => problems.push(Problem::from_error(e)?),
                    }
                }
                continue;
            };
            let listed_number = listed.get(name).copied();
            let severity = match options.schema {
                Some(s) if !s.validation => Severity::Warning,
                _ => Severity::Error,
            };
            let table_schema = options
                .schema
                .filter(|_| root)
                .and_then(|s| s.tables.get(name));
            let checks = TableChecks {
                listed_number,
                list_full: &list_full,
                schema: table_schema.map(|t| (t, &root_names, severity)),
                infer: root && options.infer,
            };
            let (summary, extra) = check_table(
                snap,
                name,
                table,
                doc_entry,
                checks,
                &progress,
                &mut problems,
            )?;
            if let Some(o) = outcome.as_mut().filter(|_| root) {
                if table_schema.is_some() {
                    o.tables_checked.push(name.clone());
                    o.documents_checked += extra.schema.0;
                    o.documents_failing += extra.schema.1;
                    o.documents_failing_staged += extra.schema.2;
                } else {
                    o.not_in_schema.push(name.clone());
                }
            }
            if let Some(i) = extra.inferred {
                inferred.insert(name.clone(), i);
            }
            documents += summary.rows;
            tables.push(summary);
        }
        if root && options.infer {
            // Tables `_tables` lists with no documents file are empty tables.
            for name in listed.keys() {
                inferred.entry(name.clone()).or_default();
            }
        }
        if let (Some(o), Some(s), true) = (outcome.as_mut(), options.schema, root) {
            for t in s.tables.keys() {
                let has_documents = comp.tables.get(t).is_some_and(|t| t.documents.is_some());
                if !has_documents {
                    o.not_in_snapshot.push(t.clone());
                }
            }
        }
        let storage = if comp.storage_metadata.is_some() || !comp.blobs.is_empty() {
            Some(check_storage(snap, comp, &progress, &mut problems)?)
        } else {
            None
        };
        components.push(ComponentSummary {
            path: path.to_string(),
            tables,
            storage,
        });
    }
    progress.finish();
    Ok(Report {
        snapshot: archive.path().display().to_string(),
        kind: if archive.is_zip() { "zip" } else { "directory" },
        entries: archive.entries().len(),
        documents,
        components,
        problems,
        schema: outcome,
        inferred,
        names: root_names,
    })
}

/// Table numbers to names as an import of this component maps them:
/// `_tables`, else each table's first `_id`; `_storage` by its rows' IDs,
/// else the number modern deployments give it (540), and
/// `_scheduled_functions` (539), the system tables user IDs point to.
fn table_names(
    snap: &Snapshot,
    comp: &crate::snapshot::Component,
    listed: &HashMap<String, u32>,
) -> Result<TableNames> {
    let TableNames(mut names) = system_table_names(snap, comp)?;
    for (name, table) in &comp.tables {
        let number = match (listed.get(name), table.documents) {
            (Some(n), _) => Some(*n),
            (None, Some(e)) => first_row_number(snap, e)?,
            (None, None) => None,
        };
        if let Some(n) = number {
            names.insert(n, name.clone());
        }
    }
    for (name, n) in listed {
        names.entry(*n).or_insert_with(|| name.clone());
    }
    Ok(TableNames(names))
}

/// The system tables user documents' IDs can point to, by number:
/// `_storage` by its rows' IDs, else the number modern deployments give it
/// (540), and `_scheduled_functions` (539).
pub fn system_table_names(
    snap: &Snapshot,
    comp: &crate::snapshot::Component,
) -> Result<TableNames> {
    let mut names = BTreeMap::new();
    names.insert(539, "_scheduled_functions".to_owned());
    let storage = match comp.storage_metadata {
        Some(e) => first_row_number(snap, e)?,
        None => None,
    };
    names.insert(storage.unwrap_or(540), "_storage".to_owned());
    Ok(TableNames(names))
}

/// Checks `_tables` of a component and returns name → number.
fn check_tables_listing(
    snap: &Snapshot,
    path: &ComponentPath,
    comp: &crate::snapshot::Component,
    problems: &mut Problems,
) -> Result<HashMap<String, u32>> {
    let mut listed = HashMap::new();
    let Some(entry) = comp.tables_entry else {
        if !comp.tables.is_empty() {
            let prefix = if path.is_root() {
                String::new()
            } else {
                format!("component {path}: ")
            };
            problems.push(Problem::warning(
                "_tables/documents.jsonl",
                None,
                format!("{prefix}no _tables/documents.jsonl; table numbers will come from each table's first _id or be assigned fresh"),
            ));
        }
        return Ok(listed);
    };
    let name = snap.entry_name(entry).to_owned();
    let lines: Vec<(usize, TablesLine)> = match snap.read_tables(entry) {
        Ok(l) => l,
        Err(e) => {
            problems.push(Problem::from_error(e)?);
            return Ok(listed);
        }
    };
    let mut by_number: HashMap<u32, String> = HashMap::new();
    for (line, t) in &lines {
        if let Err(msg) = value::check_identifier(&t.name) {
            problems.push(Problem::error(
                &name,
                Some(*line),
                format!("InvalidName: {msg}"),
            ));
        } else if t.name.starts_with('_') {
            problems.push(Problem::error(
                &name,
                Some(*line),
                format!(
                    "invalid table name {:?}: starts with the metadata prefix '_'",
                    t.name
                ),
            ));
        }
        if listed.insert(t.name.clone(), t.id).is_some() {
            problems.push(Problem::error(
                &name,
                Some(*line),
                format!(
                    "DuplicateTableName: _tables contains duplicate entries for {}",
                    t.name
                ),
            ));
        }
        if let Some(other) = by_number.insert(t.id, t.name.clone()) {
            problems.push(Problem::error(
                &name,
                Some(*line),
                format!(
                    "InvalidId: conflict between `{other}` and `{}` with number {}",
                    t.name, t.id
                ),
            ));
        }
    }
    for (t, table) in &comp.tables {
        if table.documents.is_some() && !listed.contains_key(t) {
            problems.push(Problem::warning(
                &name,
                None,
                format!(
                    "table {t} is shipped but not listed; its number will come from its first _id"
                ),
            ));
        }
    }
    for (_, t) in &lines {
        if comp
            .tables
            .get(&t.name)
            .is_none_or(|tb| tb.documents.is_none())
        {
            problems.push(Problem::warning(
                &name,
                None,
                format!("table {} is listed but has no documents.jsonl; the import creates it empty (and --replace empties it)", t.name),
            ));
        }
    }
    Ok(listed)
}

fn check_table(
    snap: &Snapshot,
    name: &str,
    table: &Table,
    doc_entry: usize,
    checks: TableChecks<'_>,
    progress: &Progress,
    problems: &mut Problems,
) -> Result<(TableSummary, BatchOut)> {
    let entry_name = snap.entry_name(doc_entry).to_owned();
    let entry = &snap.archive.entries()[doc_entry];
    let format = match snap.table_format(table) {
        Ok(f) => f,
        Err(e) => {
            problems.push(Problem::from_error(e)?);
            TableFormat::Missing
        }
    };
    if table.schema.is_none() && entry.size > 0 {
        problems.push(Problem::warning(
            &entry_name,
            None,
            "no generated_schema.jsonl: every number imports as Float64 (Int64 is lost) and $bytes/$float values fail",
        ));
    }
    let mut out = BatchOut::default();
    let mut ids: HashMap<[u8; 16], usize> = HashMap::new();
    let mut id_problems = Vec::new();
    lines::scan(
        &snap.archive,
        doc_entry,
        progress,
        |batch| check_batch(batch, &format, &entry_name, checks),
        |b| {
            out.rows += b.rows;
            // Straight into the capped list: a table with many problems
            // never holds them all.
            for p in b.problems {
                problems.push(p);
            }
            problems.errors += b.unwritten.0;
            problems.warnings += b.unwritten.1;
            if problems.list.len() >= MAX_KEPT_PROBLEMS {
                checks
                    .list_full
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            for (id, line) in b.ids {
                if let Some(first) = ids.insert(id, line) {
                    // Unreadable: every other command stops here, as rows
                    // are matched by `_id`.
                    id_problems.push(Problem::unreadable(
                        &entry_name,
                        Some(line),
                        format!("DuplicateId: same _id as line {first}"),
                    ));
                }
            }
            for (n, (count, line)) in b.numbers {
                let e = out.numbers.entry(n).or_insert((0, line));
                e.0 += count;
            }
            for (f, (present, types)) in b.fields {
                let e = out.fields.entry(f).or_default();
                e.0 += present;
                for (t, c) in e.1.iter_mut().zip(types) {
                    *t += c;
                }
            }
            out.max_size = out.max_size.max(b.max_size);
            out.schema.0 += b.schema.0;
            out.schema.1 += b.schema.1;
            out.schema.2 += b.schema.2;
            if let Some(i) = b.inferred {
                match &mut out.inferred {
                    Some(all) => all.merge(i),
                    None => out.inferred = Some(i),
                }
            }
        },
    )?;
    let first_number = out
        .numbers
        .iter()
        .min_by_key(|(_, (_, line))| *line)
        .map(|(n, _)| *n);
    let number = checks.listed_number.or(first_number);
    if let Some(expected) = number {
        for (n, (count, line)) in &out.numbers {
            if *n != expected {
                out.problems.push(Problem::error(
                    &entry_name,
                    Some(*line),
                    format!("ImportConflict: {count} _id(s) encode table number {n} (first at this line), but table {name} has number {expected}"),
                ));
            }
        }
    }
    for p in std::mem::take(&mut out.problems)
        .into_iter()
        .chain(id_problems)
    {
        problems.push(p);
    }
    if checks.infer && out.inferred.is_none() {
        out.inferred = Some(Inferred::default());
    }
    let summary = TableSummary {
        name: name.to_owned(),
        number,
        rows: out.rows,
        compressed_bytes: entry.compressed_size,
        uncompressed_bytes: entry.size,
        format: format.name(),
        fields: std::mem::take(&mut out.fields)
            .into_iter()
            .map(|(name, (present, types))| {
                let types = Value::TYPE_NAMES
                    .iter()
                    .zip(types)
                    .filter(|(_, c)| *c > 0)
                    .map(|(n, c)| (*n, c))
                    .collect();
                (name, FieldStats { present, types })
            })
            .collect(),
        max_document_size: out.max_size,
    };
    Ok((summary, out))
}

fn check_batch(
    batch: &Batch,
    format: &TableFormat,
    entry: &str,
    checks: TableChecks<'_>,
) -> BatchOut {
    let mut out = BatchOut::default();
    for (line_no, line) in batch.lines() {
        out.rows += 1;
        let doc = match value::read_row(line, line_no, format) {
            Ok(doc) => doc,
            Err(e) => {
                out.problems
                    .push(Problem::unreadable(entry, Some(line_no), e.0));
                continue;
            }
        };
        let mut err = |msg: String| out.problems.push(Problem::error(entry, Some(line_no), msg));
        let Value::Object(fields) = &doc else {
            unreachable!("decode_document only returns objects")
        };
        match fields.get("_id") {
            None => {}
            Some(Value::String(s)) => match DocumentId::decode(s) {
                Ok(id) => {
                    out.ids.push((id.internal, line_no));
                    out.numbers.entry(id.table_number).or_insert((0, line_no)).0 += 1;
                }
                Err(e) => err(format!("InvalidId: invalid _id {s:?} ({e})")),
            },
            Some(other) => err(format!("_id must be a string, found {}", other.type_name())),
        }
        match fields.get("_creationTime") {
            None => {}
            Some(Value::Float64(t)) if !(*t > 0.0 && *t < MAX_EXACT_F64_INT) => err(format!(
                "CreationTimeInvalidFloat: _creationTime {t} must be a float in (0, 2^53)"
            )),
            Some(Value::Float64(_)) => {}
            Some(Value::Int64(t)) => err(format!(
                "InvalidCreationTimeError: _creationTime {t} is an Int64; write it as a float literal ({t}.0)"
            )),
            Some(other) => err(format!(
                "InvalidCreationTimeError: _creationTime must be a float, found {}",
                other.type_name()
            )),
        }
        for key in fields.keys() {
            if key.starts_with('_') && key != "_id" && key != "_creationTime" {
                err(format!(
                    "SystemField: top-level field {key:?} starts with '_'"
                ));
            }
        }
        let m = doc.measure();
        if m.nesting > MAX_DOCUMENT_NESTING {
            err(format!(
                "document nesting {} is deeper than {MAX_DOCUMENT_NESTING}",
                m.nesting
            ));
        }
        if m.max_fields > MAX_OBJECT_FIELDS {
            err(format!(
                "an object has {} fields; the limit is {MAX_OBJECT_FIELDS}",
                m.max_fields
            ));
        } else if m.max_array > MAX_ARRAY_LEN {
            err(format!(
                "an array has {} elements; the limit is {MAX_ARRAY_LEN}",
                m.max_array
            ));
        }
        let size = m.size;
        if size > MAX_DOCUMENT_SIZE {
            err(format!(
                "document size {size} is over the 1 MiB limit ({MAX_DOCUMENT_SIZE})"
            ));
        }
        out.max_size = out.max_size.max(size);
        if let Some((table, names, severity)) = checks.schema {
            out.schema.0 += 1;
            let id = fields
                .get("_id")
                .and_then(Value::as_str)
                .unwrap_or("(no _id)");
            if !table.document.accepts(fields, names) {
                out.schema.1 += 1;
                if checks.list_full.load(std::sync::atomic::Ordering::Relaxed) {
                    let n = table
                        .document
                        .count_mismatches(fields, names)
                        .min(MAX_MISMATCHES_PER_DOCUMENT);
                    match severity {
                        Severity::Error => out.unwritten.0 += n,
                        Severity::Warning => out.unwritten.1 += n,
                    }
                } else {
                    let all = table.document.explain(fields, names);
                    let n = all.len();
                    for (i, m) in all
                        .into_iter()
                        .take(MAX_MISMATCHES_PER_DOCUMENT)
                        .enumerate()
                    {
                        let at = if m.path.is_empty() {
                            String::new()
                        } else {
                            format!(" at {}", m.path)
                        };
                        let more = if i + 1 == MAX_MISMATCHES_PER_DOCUMENT
                            && n > MAX_MISMATCHES_PER_DOCUMENT
                        {
                            format!(
                                " (and {} more in this document)",
                                n - MAX_MISMATCHES_PER_DOCUMENT
                            )
                        } else {
                            String::new()
                        };
                        out.problems.push(Problem {
                            severity,
                            entry: entry.to_owned(),
                            line: Some(line_no),
                            message: format!(
                                "SchemaMismatch: document {id}{at}: {}{more}",
                                m.message
                            ),
                            unreadable: false,
                        });
                    }
                }
            }
            if let Some(staged) = &table.staged
                && !staged.accepts(fields, names)
            {
                out.schema.2 += 1;
                if checks.list_full.load(std::sync::atomic::Ordering::Relaxed) {
                    out.unwritten.1 += 1;
                } else {
                    let why = staged.explain(fields, names).into_iter().next().map_or(
                        String::new(),
                        |m| {
                            let at = if m.path.is_empty() {
                                String::new()
                            } else {
                                format!(" at {}", m.path)
                            };
                            format!(";{at} {}", m.message)
                        },
                    );
                    out.problems.push(Problem::warning(
                        entry,
                        Some(line_no),
                        format!("StagedSchemaMismatch: document {id} would fail the staged validator (not enforced yet){why}"),
                    ));
                }
            }
        }
        if checks.infer {
            out.inferred
                .get_or_insert_with(Inferred::default)
                .add_document(fields);
        }
        for (k, v) in fields {
            let s = match out.fields.get_mut(k) {
                Some(s) => s,
                None => out.fields.entry(k.clone()).or_default(),
            };
            s.0 += 1;
            s.1[v.type_index()] += 1;
        }
    }
    out
}

fn check_storage(
    snap: &Snapshot,
    comp: &crate::snapshot::Component,
    progress: &Progress,
    problems: &mut Problems,
) -> Result<StorageSummary> {
    let mut summary = StorageSummary::default();
    let mut meta: BTreeMap<String, (usize, Option<String>)> = BTreeMap::new();
    if let Some(entry) = comp.storage_metadata {
        let name = snap.entry_name(entry).to_owned();
        let mut rows: Vec<(usize, Result<StorageMetadata, String>)> = Vec::new();
        lines::scan(
            &snap.archive,
            entry,
            progress,
            |batch| {
                batch
                    .lines()
                    .map(|(n, line)| (n, parse_storage_line(line, n)))
                    .collect::<Vec<_>>()
            },
            |b| rows.extend(b),
        )?;
        let mut number = None;
        for (line, row) in rows {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    problems.push(Problem::unreadable(&name, Some(line), e));
                    continue;
                }
            };
            summary.metadata_rows += 1;
            let mut err = |m: String| problems.push(Problem::error(&name, Some(line), m));
            match DocumentId::decode(&row.id) {
                Ok(id) => {
                    let first = *number.get_or_insert(id.table_number);
                    if id.table_number != first {
                        err(format!(
                            "InvalidId: _storage entry has invalid ID {:?} (table {}, but the first entry's is {first})",
                            row.id, id.table_number
                        ));
                    }
                }
                Err(e) => err(format!(
                    "InvalidId: _storage entry has invalid ID {:?} ({e})",
                    row.id
                )),
            }
            for m in storage_field_problems(&row) {
                err(m);
            }
            if meta.insert(row.id.clone(), (line, row.sha256)).is_some() {
                // The importer keys the metadata by ID: the last line wins.
                problems.push(Problem::warning(
                    &name,
                    Some(line),
                    format!(
                        "storage ID {} is listed twice; the importer keeps this later line",
                        row.id
                    ),
                ));
            }
        }
    }
    // Hash blobs in parallel; results come back in entry order.
    let hashed: Result<Vec<(usize, String, u64, String)>> = comp
        .blobs
        .par_iter()
        .map(|(entry, id)| {
            let (hash, len) = snap.archive.with_reader(*entry, |r| {
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 1 << 16];
                let mut len = 0u64;
                loop {
                    let n = r.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                    len += n as u64;
                }
                Ok((h.finalize(), len))
            })?;
            progress.inc(len);
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
            Ok((*entry, id.clone(), len, b64))
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for (entry, id, len, b64) in hashed? {
        summary.files += 1;
        summary.bytes += len;
        seen.insert(id.clone());
        let name = snap.entry_name(entry);
        match meta.get(&id) {
            None => problems.push(Problem::warning(
                name,
                None,
                "blob has no _storage/documents.jsonl line: it imports without content type, hash check or creation time",
            )),
            Some((_, Some(expected))) if *expected != b64 => problems.push(Problem::error(
                name,
                None,
                format!("Sha256Mismatch: content hashes to {b64}, metadata says {expected}"),
            )),
            _ => {}
        }
    }
    if let Some(entry) = comp.storage_metadata {
        let name = snap.entry_name(entry);
        for (id, (line, _)) in &meta {
            if !seen.contains(id) {
                problems.push(Problem::warning(
                    name,
                    Some(*line),
                    format!("file {id} has no blob in the snapshot; the importer drops this line"),
                ));
            }
        }
    }
    Ok(summary)
}
