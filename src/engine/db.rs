//! [`Db`]: the tables a migration reads and changes.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashSet as HashSet;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Preflight;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::layout::ComponentPath;
use crate::lines::{Batch, Source, copy_source, scan_source, scan_source_until, try_scan_source};
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use crate::value::{self, LegacySchema, Spliced, TableFormat, Value, check_field_name};

/// The fields of a document, system fields included.
pub type Fields = value::Map;

/// One part of a table's current content, in order.
#[derive(Debug, Clone)]
pub(crate) enum Segment {
    /// An entry of the input archive.
    Entry(usize),
    /// A file in the run's temporary folder.
    File(PathBuf),
}

/// A root table as the migrations have left it so far.
#[derive(Debug)]
pub(crate) struct TableState {
    pub number: u32,
    pub format: TableFormat,
    pub segments: Vec<Segment>,
    /// Created by this run (needs a `_tables` line and a sidecar).
    pub is_new: bool,
    /// Its documents differ from the input's: write the segments.
    pub touched: bool,
    /// The input has its `documents.jsonl` (else, once touched, the output
    /// needs a new entry for it).
    pub has_documents: bool,
    /// The input has its `generated_schema.jsonl`.
    pub has_schema: bool,
    /// No row gives `_id` or `_creationTime` twice (the preflight checked),
    /// so a row's prefix tells its system fields.
    pub prefix_ok: bool,
}

/// A document as a migration sees it.
#[derive(Debug)]
pub struct Doc<'a> {
    pub fields: &'a Fields,
    entry: &'a str,
    line: usize,
}

impl Doc<'_> {
    /// The `_id`, or "" when the row has none.
    pub fn id(&self) -> &str {
        self.fields.get("_id").and_then(Value::as_str).unwrap_or("")
    }

    /// A field's value, if present.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// JS truthiness of a field (missing is falsy).
    pub fn truthy(&self, field: &str) -> bool {
        self.fields.get(field).is_some_and(Value::is_truthy)
    }

    /// The fields named, as they are (absent ones stay absent).
    pub fn pick(&self, names: &[&str]) -> Fields {
        pick_fields(self.fields, names)
    }

    /// Its `_creationTime` as [`Db::collect`] orders by it (0 when absent).
    pub fn creation_time(&self) -> f64 {
        creation_time(self.fields)
    }

    /// What identifies the document in reports: its `_id`, or entry and line.
    pub fn key(&self) -> String {
        match self.id() {
            "" => format!("{} line {}", self.entry, self.line),
            id => id.to_owned(),
        }
    }
}

/// What a migration does with one document.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Keep,
    /// New fields; `_id` and `_creationTime` must be kept as they are.
    Replace(Fields),
    /// Set (`Some`) or remove (`None`) top-level fields, as `ctx.db.patch`
    /// does with a value or `undefined`; the other fields stay. Cheaper than
    /// `Replace` (the engine patches the document it decoded, no copy).
    Patch(Vec<(String, Option<Value>)>),
    Delete,
}

/// The effect of a migration on one document of a [`Db::map`].
#[derive(Debug, Clone)]
pub struct Effect {
    pub change: Change,
    /// A new document (without system fields) for the map's insert table.
    pub insert: Option<Fields>,
    /// A new document for the map's insert table made of these fields of
    /// this one, as they are (absent ones stay absent): the same as the
    /// `insert` of those fields, but one the engine may copy from the row's
    /// text without decoding it. At most one of the two is set.
    pub copy_into: Option<&'static [&'static str]>,
    pub warnings: Vec<String>,
    /// Bit `i` set adds one to [`MapResult::tally`]`[i]`: counters a
    /// migration keeps per document (applied only if the document's effect
    /// was applied).
    pub tally: u8,
    /// The code being reproduced counts before it writes: a write that
    /// fails (the schema rejects it, or it cannot be encoded) still adds
    /// `tally`.
    pub counts_before_write: bool,
    /// The write throws this (a transaction limit, `--limits enforce`):
    /// nothing is applied, and the tally counts only if
    /// `counts_before_write`.
    pub fails: Option<String>,
    /// The effect is applied, then a later step of the same per-document
    /// `try` throws this: the document is also listed as an error.
    pub error_after: Option<String>,
}

impl Effect {
    /// Leave the document as it is.
    pub fn keep() -> Effect {
        Effect {
            change: Change::Keep,
            insert: None,
            copy_into: None,
            warnings: Vec::new(),
            tally: 0,
            counts_before_write: false,
            fails: None,
            error_after: None,
        }
    }

    /// Change the document.
    pub fn change(change: Change) -> Effect {
        Effect {
            change,
            ..Effect::keep()
        }
    }
}

/// A document a migration could not handle; it is left unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocError {
    pub table: String,
    pub id: String,
    pub reason: String,
    /// Where user code threw (its stack), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// Rows a migration inserted, updated and deleted in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableChanges {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

/// The outcome of a [`Db::map`].
#[derive(Debug, Default)]
pub struct MapResult {
    pub rows: u64,
    pub updated: u64,
    pub deleted: u64,
    pub inserted: u64,
    /// Documents `f` (or the engine) refused, in file order.
    pub errors: Vec<DocError>,
    pub warnings: Vec<String>,
    /// Per-document counters set through [`Effect::tally`].
    pub tally: [u64; 8],
}

/// A batch's keyed results and, when asked for, its documents' IDs.
type ScanBatch<K, T> = (Vec<(K, T)>, Option<Vec<[u8; 16]>>);

/// The order `collect()` returns rows in: `_creationTime`, then `_id`.
fn order_key(doc: &Doc) -> (f64, String) {
    (creation_time(doc.fields), doc.id().to_owned())
}

/// The results of a scan keyed by [`order_key`], in that order.
fn sorted<T>(mut keyed: Vec<((f64, String), T)>) -> Vec<T> {
    keyed.sort_by(|((ta, ia), _), ((tb, ib), _)| ta.total_cmp(tb).then_with(|| ia.cmp(ib)));
    keyed.into_iter().map(|(_, t)| t).collect()
}

/// The tables of the root component, as migrations change them.
pub struct Db<'s> {
    pub(crate) snap: &'s Snapshot,
    pub(crate) tables: BTreeMap<String, TableState>,
    used_numbers: BTreeSet<u32>,
    new_format: TableFormat,
    now_ms: u64,
    next_seq: u64,
    temp: crate::scratch::Scratch,
    temp_files: u64,
    quiet: bool,
    migration: String,
    /// Put before progress labels (the step counter, `[2/5] `).
    label: String,
    changes: BTreeMap<String, TableChanges>,
    /// The table [`Db::will_insert_into`] named: scans of it also collect
    /// its IDs.
    insert_hint: Option<String>,
    /// The IDs of the hinted table from its last whole scan, while the table
    /// is unchanged; the next insert into it takes them instead of a pass.
    hinted_ids: std::sync::Mutex<Option<(String, HashSet<[u8; 16]>)>>,
    /// A schema enforced on writes, as a deployment with schema validation
    /// on enforces it (`migrate --schema --mode original`).
    enforcer: Option<std::sync::Arc<crate::schema::Enforcer>>,
    /// How Convex's transaction limits are counted (`migrate --limits`).
    limit_mode: crate::limits::LimitMode,
}

impl<'s> Db<'s> {
    /// Opens the root tables of a checked snapshot. Temporary files go in a
    /// fresh folder inside `temp_in`, removed when the `Db` is dropped.
    pub fn open(
        snap: &'s Snapshot,
        preflight: &Preflight,
        now_ms: u64,
        temp_in: &Path,
        quiet: bool,
    ) -> Result<Db<'s>> {
        let root_path = ComponentPath::default();
        let mut tables = BTreeMap::new();
        let mut used_numbers = BTreeSet::new();
        let mut formats = Vec::new();
        if let Some(root) = snap.components.get(&root_path) {
            let mut listed = BTreeMap::new();
            if let Some(entry) = root.tables_entry {
                for (_, line) in snap.read_tables(entry)? {
                    used_numbers.insert(line.id);
                    listed.insert(line.name, line.id);
                }
            }
            for (name, table) in &root.tables {
                let from_ids = preflight
                    .first_numbers
                    .get(&(root_path.clone(), name.clone()))
                    .copied();
                let Some(number) = listed.get(name).copied().or(from_ids) else {
                    // No rows and not listed: the importer gives it a fresh
                    // number; so will we, if a migration inserts into it.
                    continue;
                };
                used_numbers.insert(number);
                let format = snap.table_format(table)?;
                formats.push(format.name());
                let key = (root_path.clone(), name.clone());
                tables.insert(
                    name.clone(),
                    TableState {
                        number,
                        format,
                        segments: table.documents.map(Segment::Entry).into_iter().collect(),
                        is_new: false,
                        touched: false,
                        has_documents: table.documents.is_some(),
                        has_schema: table.schema.is_some(),
                        prefix_ok: !preflight.repeated_keys.contains(&key),
                    },
                );
            }
            // Listed tables without a documents.jsonl are empty tables.
            for (name, number) in listed {
                if tables.contains_key(&name) {
                    continue;
                }
                let schema = root.tables.get(&name).and_then(|t| t.schema);
                let format = match root.tables.get(&name) {
                    Some(t) if schema.is_some() => snap.table_format(t)?,
                    _ => new_format(&formats),
                };
                tables.insert(
                    name,
                    TableState {
                        number,
                        format,
                        segments: Vec::new(),
                        is_new: false,
                        touched: false,
                        has_documents: false,
                        has_schema: schema.is_some(),
                        prefix_ok: true,
                    },
                );
            }
        }
        let new_format = new_format(&formats);
        let temp = crate::scratch::Scratch::new_in(temp_in)?;
        Ok(Db {
            snap,
            tables,
            used_numbers,
            new_format,
            now_ms,
            next_seq: 0,
            temp,
            temp_files: 0,
            quiet,
            migration: String::new(),
            label: String::new(),
            changes: BTreeMap::new(),
            insert_hint: None,
            hinted_ids: std::sync::Mutex::new(None),
            enforcer: None,
            limit_mode: crate::limits::LimitMode::Off,
        })
    }

    /// Starts a migration: new IDs are derived from its name, and changes
    /// are counted for it from here.
    pub fn begin(&mut self, migration: &str) {
        self.migration = migration.to_owned();
        self.changes.clear();
        self.insert_hint = None;
    }

    /// A bar for a migration that goes through `table` document by
    /// document, about `total` of them.
    pub fn docs_progress(&self, table: &str, total: u64) -> Progress {
        Progress::docs(
            total,
            &format!("{}{}: {table}", self.label, self.migration),
            self.quiet,
        )
    }

    /// The snapshot this database reads.
    pub fn snapshot(&self) -> &'s Snapshot {
        self.snap
    }

    /// Sets what progress labels start with (the step counter).
    pub fn set_label(&mut self, label: &str) {
        self.label = label.to_owned();
    }

    /// About how many uncompressed bytes the output will hold (for the
    /// progress of the final write).
    pub fn output_size(&self) -> u64 {
        let archive = &self.snap.archive;
        let tables: u64 = self.tables.values().map(|t| self.segments_size(t)).sum();
        let others: u64 = archive
            .entries()
            .iter()
            .zip(&self.snap.kinds)
            .filter(|(_, k)| !matches!(k, crate::layout::EntryKind::Documents(c, _) if c.is_root()))
            .map(|(e, _)| e.size)
            .sum();
        tables + others
    }

    /// Says that this migration will insert into `table` after reading it:
    /// the reads of `table` from here also note its IDs, so the insert
    /// needs no pass of its own to avoid them. Only a matter of speed.
    pub fn will_insert_into(&mut self, table: &str) {
        self.insert_hint = Some(table.to_owned());
    }

    /// Forgets the noted IDs of `table`, whose rows are changing.
    fn forget_ids(&mut self, table: &str) {
        let ids = self.hinted_ids.get_mut().expect("not poisoned");
        if ids.as_ref().is_some_and(|(t, _)| t == table) {
            *ids = None;
        }
    }

    /// The rows each table gained and lost since [`Db::begin`].
    pub fn take_changes(&mut self) -> BTreeMap<String, TableChanges> {
        std::mem::take(&mut self.changes)
    }

    /// The run's clock, in milliseconds since the Unix epoch.
    pub fn now(&self) -> f64 {
        self.now_ms as f64
    }

    /// True when the root component has this table.
    pub fn exists(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// The names of the root tables (sorted).
    pub fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    /// Enforces `enforcer`'s schema on every write from now on (`None`:
    /// none), as a deployment with schema validation on does.
    pub fn enforce_schema(&mut self, enforcer: Option<std::sync::Arc<crate::schema::Enforcer>>) {
        self.enforcer = enforcer;
    }

    /// Counts Convex's transaction limits from now on (`migrate --limits`).
    pub fn set_limit_mode(&mut self, mode: crate::limits::LimitMode) {
        self.limit_mode = mode;
    }

    /// How Convex's transaction limits are counted.
    pub fn limit_mode(&self) -> crate::limits::LimitMode {
        self.limit_mode
    }

    /// Why the enforced schema would refuse `doc` in `table`, if it would.
    pub fn schema_rejects(&self, table: &str, doc: &Fields) -> Option<String> {
        self.enforcer.as_ref()?.rejects(table, doc)
    }

    /// Each root table's number, by name (sorted), new tables included.
    pub fn table_numbers(&self) -> Vec<(String, u32)> {
        self.tables
            .iter()
            .map(|(n, t)| (n.clone(), t.number))
            .collect()
    }

    /// Calls `f` on every document of `table` in parallel and returns what
    /// it kept, in (`_creationTime`, `_id`) order, as `collect()` returns
    /// rows in Convex. A missing table has no documents.
    pub fn collect<T: Send>(
        &self,
        table: &str,
        f: impl Fn(&Doc) -> Option<T> + Sync,
    ) -> Result<Vec<T>> {
        Ok(sorted(self.scan_docs(table, None, order_key, f)?))
    }

    /// [`Db::collect`] for when order does not matter (sets, counts): the
    /// results come in file order, without the cost of sorting.
    pub fn gather<T: Send>(
        &self,
        table: &str,
        f: impl Fn(&Doc) -> Option<T> + Sync,
    ) -> Result<Vec<T>> {
        let found = self.scan_docs(table, None, |_| (), f)?;
        Ok(found.into_iter().map(|((), t)| t).collect())
    }

    /// [`Db::collect`] reading only `fields` (plus `_id` and
    /// `_creationTime`): the documents `f` sees hold nothing else. Much
    /// cheaper when a migration needs a few fields of wide documents.
    pub fn collect_fields<T: Send>(
        &self,
        table: &str,
        fields: &[&str],
        f: impl Fn(&Doc) -> Option<T> + Sync,
    ) -> Result<Vec<T>> {
        Ok(sorted(self.scan_docs(table, Some(fields), order_key, f)?))
    }

    /// [`Db::gather`] reading only `fields` (see [`Db::collect_fields`]).
    pub fn gather_fields<T: Send>(
        &self,
        table: &str,
        fields: &[&str],
        f: impl Fn(&Doc) -> Option<T> + Sync,
    ) -> Result<Vec<T>> {
        let found = self.scan_docs(table, Some(fields), |_| (), f)?;
        Ok(found.into_iter().map(|((), t)| t).collect())
    }

    /// [`Db::gather_fields`] that hands each result, in file order, to
    /// `each` instead of keeping them all.
    pub fn each_fields<T: Send>(
        &self,
        table: &str,
        fields: &[&str],
        f: impl Fn(&Doc) -> Option<T> + Sync,
        mut each: impl FnMut(T),
    ) -> Result<()> {
        self.scan_docs_into(table, Some(fields), |_| (), f, |((), t)| each(t))
    }

    /// Counts documents: bit `i` of `f`'s result adds one to counter `i`.
    /// Returns the row count and the counters.
    /// Reads only `fields` (see [`Db::collect_fields`]).
    pub fn tally(
        &self,
        table: &str,
        fields: &[&str],
        f: impl Fn(&Doc) -> u8 + Sync,
    ) -> Result<(u64, [u64; 8])> {
        let bits = self.gather_fields(table, fields, |d| Some(f(d)))?;
        let mut counts = [0u64; 8];
        for b in &bits {
            for (i, c) in counts.iter_mut().enumerate() {
                *c += u64::from(b >> i & 1);
            }
        }
        Ok((bits.len() as u64, counts))
    }

    /// Calls `f` on every document (only `only`'s fields, if given) and
    /// keeps what it returns with `key` of the document: `()` when order
    /// does not matter, so a gather holds nothing more than its results.
    fn scan_docs<K: Send, T: Send>(
        &self,
        table: &str,
        only: Option<&[&str]>,
        key: impl Fn(&Doc) -> K + Sync,
        f: impl Fn(&Doc) -> Option<T> + Sync,
    ) -> Result<Vec<(K, T)>> {
        let mut keyed: Vec<(K, T)> = Vec::new();
        self.scan_docs_into(table, only, key, f, |kt| keyed.push(kt))?;
        Ok(keyed)
    }

    /// [`Db::scan_docs`] handing each result, in file order, to `sink`.
    fn scan_docs_into<K: Send, T: Send>(
        &self,
        table: &str,
        only: Option<&[&str]>,
        key: impl Fn(&Doc) -> K + Sync,
        f: impl Fn(&Doc) -> Option<T> + Sync,
        mut sink: impl FnMut((K, T)),
    ) -> Result<()> {
        let names: Option<Vec<&str>> =
            only.map(|o| o.iter().copied().chain(["_id", "_creationTime"]).collect());
        let Some(state) = self.tables.get(table) else {
            return Ok(());
        };
        let progress = self.progress(state, &format!("{}reading {table}", self.label));
        // The hinted table's IDs, as the insert target's own pass reads them;
        // `None` once a row's `_id` is not a string (that pass decides then).
        let mut ids = (self.insert_hint.as_deref() == Some(table)).then(HashSet::default);
        let want_ids = ids.is_some();
        for (source, entry) in self.sources(table, state) {
            try_scan_source(
                source,
                &progress,
                |batch| -> Result<ScanBatch<K, T>> {
                    let mut out = Vec::new();
                    let mut batch_ids = want_ids.then(Vec::new);
                    for (line_no, line) in batch.lines() {
                        let fields = match &names {
                            Some(n) => decode_some(
                                line,
                                &state.format,
                                state.prefix_ok,
                                n,
                                &entry,
                                line_no,
                            )?,
                            None => decode_line(line, &state.format, &entry, line_no)?,
                        };
                        let doc = Doc {
                            fields: &fields,
                            entry: &entry,
                            line: line_no,
                        };
                        if let Some(list) = &mut batch_ids {
                            match fields.get("_id") {
                                Some(Value::String(id)) => {
                                    list.extend(DocumentId::decode(id).ok().map(|i| i.internal));
                                }
                                None => {}
                                Some(_) => batch_ids = None,
                            }
                        }
                        if let Some(t) = f(&doc) {
                            out.push((key(&doc), t));
                        }
                    }
                    Ok((out, batch_ids))
                },
                |(v, batch_ids)| {
                    v.into_iter().for_each(&mut sink);
                    match (&mut ids, batch_ids) {
                        (Some(all), Some(batch_ids)) => all.extend(batch_ids),
                        _ => ids = None,
                    }
                },
            )?;
        }
        progress.finish();
        if let Some(ids) = ids {
            *self.hinted_ids.lock().expect("not poisoned") = Some((table.to_owned(), ids));
        }
        Ok(())
    }

    /// Calls `f` on every document of `table` in parallel and applies what it
    /// returns: keep, replace or delete the document, and insert a new one
    /// into `insert_into`. Unchanged documents keep their bytes. New rows get
    /// `_creationTime`s in the (`_creationTime`, `_id`) order of the
    /// documents that made them. A document for which `f` (or encoding its
    /// result) fails is left unchanged and listed in `errors`.
    pub fn map(
        &mut self,
        table: &str,
        insert_into: Option<&str>,
        f: impl Fn(&Doc) -> Result<Effect, String> + Sync,
    ) -> Result<MapResult> {
        self.map_inner(table, insert_into, None, None, |_| true, f)
    }

    /// [`Db::map`] that first reads only `filter_fields` (plus `_id` and
    /// `_creationTime`) and calls `f`, on the whole document, only where
    /// `filter` says so; the other documents are kept without decoding them.
    pub fn map_filtered(
        &mut self,
        table: &str,
        insert_into: Option<&str>,
        filter_fields: &[&str],
        filter: impl Fn(&Doc) -> bool + Sync,
        f: impl Fn(&Doc) -> Result<Effect, String> + Sync,
    ) -> Result<MapResult> {
        self.map_inner(table, insert_into, Some(filter_fields), None, filter, f)
    }

    /// [`Db::map_filtered`] for an `f` that reads only `reads` (and `_id`,
    /// `_creationTime`): where `filter` passes, `f` first sees only those
    /// fields. A document it keeps (inserting or not), or fails, is never
    /// decoded whole; a patch it returns is applied to the row's text, the
    /// other fields copied as they are (`value::patch_row`), and a delete
    /// or an [`Effect::copy_into`] needs only the text
    /// (`value::row_of_fields`), when that is exact: uniform rows, no
    /// schema enforced, nothing failed. Any other document is decoded whole
    /// and `f` runs again on it, as in [`Db::map`], so `f` must give the
    /// same answer on both.
    pub fn map_reading(
        &mut self,
        table: &str,
        insert_into: Option<&str>,
        filter_fields: &[&str],
        filter: impl Fn(&Doc) -> bool + Sync,
        reads: &[&str],
        f: impl Fn(&Doc) -> Result<Effect, String> + Sync,
    ) -> Result<MapResult> {
        self.map_inner(
            table,
            insert_into,
            Some(filter_fields),
            Some(reads),
            filter,
            f,
        )
    }

    /// [`Db::map_reading`] without a filter: `f` sees every document.
    pub fn map_reading_all(
        &mut self,
        table: &str,
        insert_into: Option<&str>,
        reads: &[&str],
        f: impl Fn(&Doc) -> Result<Effect, String> + Sync,
    ) -> Result<MapResult> {
        self.map_inner(table, insert_into, None, Some(reads), |_| true, f)
    }

    fn map_inner(
        &mut self,
        table: &str,
        insert_into: Option<&str>,
        filter_fields: Option<&[&str]>,
        reads: Option<&[&str]>,
        filter: impl Fn(&Doc) -> bool + Sync,
        f: impl Fn(&Doc) -> Result<Effect, String> + Sync,
    ) -> Result<MapResult> {
        let Some(state) = self.tables.get(table) else {
            return Ok(MapResult::default());
        };
        let target = match insert_into {
            Some(t) => Some(self.insert_target(t)?),
            None => None,
        };
        let out_path = self.temp_path(&self.temp_files, "rewrite");
        let ins_path = self.temp_path(&(self.temp_files + 1), "insert");
        let werr = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Write { path, source }
        };
        // The rewritten table is only written once a batch changes something:
        // then the unchanged bytes before it are copied from the source.
        let mut out_file: Option<BufWriter<File>> = None;
        let mut done_sources: Vec<Source<'_>> = Vec::new();
        let mut ins_file = BufWriter::new(File::create(&ins_path).map_err(werr(&ins_path))?);
        let mut result = MapResult::default();
        let mut new_ids: HashSet<[u8; 16]> = HashSet::default();
        let mut failed: Option<Error> = None;
        let filter_names: Option<Vec<&str>> =
            filter_fields.map(|f| f.iter().copied().chain(["_id", "_creationTime"]).collect());
        let read_names: Option<Vec<&str>> =
            reads.map(|f| f.iter().copied().chain(["_id", "_creationTime"]).collect());
        let ctx = MapContext {
            format: &state.format,
            prefix_ok: state.prefix_ok,
            table,
            target: target.as_ref(),
            migration: &self.migration,
            now_ms: self.now_ms,
            enforcer: self.enforcer.as_deref(),
            reads: read_names.as_deref(),
        };
        let progress = self.progress(state, &format!("{}{}: {table}", self.label, self.migration));
        // The (`_creationTime`, `_id`) of the document behind each new row,
        // in file order: new rows get their `_creationTime`s in that order
        // once the pass is done.
        let mut insert_keys: Vec<(f64, SourceKey)> = Vec::new();
        for (source, entry) in self.sources(table, state) {
            let mut consumed: u64 = 0;
            scan_source(
                source,
                &progress,
                |batch| map_batch(batch, &ctx, &entry, filter_names.as_deref(), &filter, &f),
                |b| {
                    if failed.is_some() {
                        return;
                    }
                    let b = match b {
                        Ok(b) => b,
                        Err(e) => {
                            failed = Some(e);
                            return;
                        }
                    };
                    for id in &b.new_ids {
                        if !new_ids.insert(*id) {
                            failed = Some(Error::Usage(format!(
                                "two new documents of {} got the same _id; please report this",
                                insert_into.unwrap_or(table)
                            )));
                        }
                    }
                    if out_file.is_none() && b.updated + b.deleted > 0 {
                        match start_rewrite(&out_path, &done_sources, source, consumed) {
                            Ok(f) => out_file = Some(f),
                            Err(e) => {
                                failed = Some(e);
                                return;
                            }
                        }
                    }
                    consumed += b.input_len;
                    let written = match &mut out_file {
                        Some(f) => f.write_all(&b.out),
                        None => Ok(()),
                    };
                    if let Err(e) = written.and_then(|()| ins_file.write_all(&b.inserts)) {
                        failed = Some(Error::Write {
                            path: out_path.clone(),
                            source: e,
                        });
                    }
                    result.rows += b.rows;
                    result.updated += b.updated;
                    result.deleted += b.deleted;
                    result.inserted += b.inserted;
                    insert_keys.extend(b.insert_keys);
                    result.errors.extend(b.errors);
                    result.warnings.extend(b.warnings);
                    for (t, n) in result.tally.iter_mut().zip(b.tally) {
                        *t += n;
                    }
                },
            )?;
            if let Some(e) = failed.take() {
                return Err(e);
            }
            done_sources.push(source);
        }
        progress.finish();
        // What `f` and `filter` own (a migration's lookup sets) is not
        // needed for the rest.
        drop((f, filter));
        if let Some(mut f) = out_file {
            f.flush().map_err(werr(&out_path))?;
        }
        ins_file.flush().map_err(werr(&ins_path))?;
        drop(ins_file);
        let ins_path = match result.inserted {
            0 => ins_path,
            _ => {
                let timed = self.temp_path(&(self.temp_files + 2), "insert");
                set_creation_times(&ins_path, &timed, &insert_keys, self.now_ms, self.next_seq)?;
                let _ = std::fs::remove_file(&ins_path);
                timed
            }
        };
        self.temp_files += 3;
        self.next_seq += result.inserted;
        if result.updated + result.deleted > 0 {
            self.forget_ids(table);
            let state = self.tables.get_mut(table).expect("checked above");
            state.segments = vec![Segment::File(out_path)];
            state.touched = true;
            let c = self.changes.entry(table.to_owned()).or_default();
            c.updated += result.updated;
            c.deleted += result.deleted;
        } else {
            let _ = std::fs::remove_file(&out_path);
        }
        match (insert_into, result.inserted) {
            (Some(t), n) if n > 0 => self.append_segment(t, ins_path, n),
            _ => {
                let _ = std::fs::remove_file(&ins_path);
            }
        }
        Ok(result)
    }

    /// A table's number and row format, and whether its rows' prefixes
    /// tell their system fields (see [`system_prefix`]), if the run has the
    /// table.
    pub fn table_format(&self, table: &str) -> Option<(u32, TableFormat, bool)> {
        self.tables
            .get(table)
            .map(|s| (s.number, s.format.clone(), s.prefix_ok))
    }

    /// Streams the rows of `table` in file order, batch by batch and in
    /// parallel, through `per_batch`, which gives the rows to replace (by
    /// their index in the batch, with their new text) and a result that
    /// `merge` takes in file order. The replaced rows go into a new file,
    /// the others are copied as they are; nothing changes in the `Db` until
    /// [`Db::install_rewrite`]. Setting `stop` ends the pass early (what it
    /// wrote is then of no use).
    pub fn rewrite_rows<B: Send>(
        &mut self,
        table: &str,
        batch_bytes: usize,
        stop: &AtomicBool,
        per_batch: impl Fn(&[&[u8]]) -> Result<(Vec<(usize, Vec<u8>)>, B)> + Sync,
        mut merge: impl FnMut(B),
    ) -> Result<Rewrite> {
        let path = self.temp_path(&self.temp_files, "rewrite");
        self.temp_files += 1;
        let mut rewrite = Rewrite {
            path,
            written: false,
            updated: 0,
        };
        let Some(state) = self.tables.get(table) else {
            return Ok(rewrite);
        };
        let werr = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Write { path, source }
        };
        let progress = self.progress(state, &format!("{}{}: {table}", self.label, self.migration));
        let mut out_file: Option<BufWriter<File>> = None;
        let mut done_sources: Vec<Source<'_>> = Vec::new();
        let mut failed: Option<Error> = None;
        for (source, _) in self.sources(table, state) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut consumed: u64 = 0;
            scan_source_until(
                source,
                &progress,
                batch_bytes,
                stop,
                |batch| -> Result<Option<RewriteBatch<B>>> {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(None);
                    }
                    let lines: Vec<&[u8]> = batch.lines().map(|(_, l)| l).collect();
                    let (mut changed, b) = per_batch(&lines)?;
                    let updated = changed.len() as u64;
                    let mut out = Vec::new();
                    if updated > 0 {
                        changed.sort_by_key(|(i, _)| *i);
                        out.reserve(batch.data.len() + 64);
                        let mut next = changed.into_iter().peekable();
                        for (i, line) in lines.iter().enumerate() {
                            match next.next_if(|(at, _)| *at == i) {
                                Some((_, row)) => out.extend_from_slice(&row),
                                None => out.extend_from_slice(line),
                            }
                            out.push(b'\n');
                        }
                    } else {
                        // Only needed once an earlier batch changed a row.
                        out.extend_from_slice(&batch.data);
                        if out.last().is_some_and(|b| *b != b'\n') {
                            out.push(b'\n');
                        }
                    }
                    Ok(Some(RewriteBatch {
                        input_len: batch.data.len() as u64,
                        updated,
                        out,
                        result: b,
                    }))
                },
                |r| {
                    if failed.is_some() {
                        return;
                    }
                    let RewriteBatch {
                        input_len,
                        updated,
                        out,
                        result: b,
                    } = match r {
                        Ok(Some(r)) => r,
                        Ok(None) => return,
                        Err(e) => {
                            failed = Some(e);
                            stop.store(true, Ordering::Relaxed);
                            return;
                        }
                    };
                    if out_file.is_none() && updated > 0 {
                        rewrite.written = true;
                        match start_rewrite(&rewrite.path, &done_sources, source, consumed) {
                            Ok(f) => out_file = Some(f),
                            Err(e) => {
                                failed = Some(e);
                                stop.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                    consumed += input_len;
                    rewrite.updated += updated;
                    if let Some(f) = &mut out_file
                        && let Err(e) = f.write_all(&out)
                    {
                        failed = Some(Error::Write {
                            path: rewrite.path.clone(),
                            source: e,
                        });
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                    merge(b);
                },
            )?;
            if let Some(e) = failed.take() {
                return Err(e);
            }
            done_sources.push(source);
        }
        progress.finish();
        if let Some(mut f) = out_file {
            f.flush().map_err(werr(&rewrite.path))?;
        }
        Ok(rewrite)
    }

    /// Makes a finished [`Db::rewrite_rows`] pass of `table` its content.
    pub fn install_rewrite(&mut self, table: &str, mut rewrite: Rewrite) {
        if rewrite.updated == 0 || !self.tables.contains_key(table) {
            return;
        }
        self.forget_ids(table);
        rewrite.written = false;
        let state = self.tables.get_mut(table).expect("checked above");
        state.segments = vec![Segment::File(rewrite.path.clone())];
        state.touched = true;
        self.changes.entry(table.to_owned()).or_default().updated += rewrite.updated;
    }

    /// Inserts documents (fields without `_id` and `_creationTime`) into
    /// `table`, creating it if needed, one after the other. `key` names the
    /// source of each row; the new `_id` derives from it. Returns each new
    /// `_id`, or why that row could not be written.
    pub fn insert(
        &mut self,
        table: &str,
        rows: Vec<(String, Fields)>,
    ) -> Result<Vec<Result<String, String>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let target = self.insert_target(table)?;
        let path = self.temp_path(&self.temp_files, "insert");
        self.temp_files += 1;
        let mut data = Vec::new();
        let mut out = Vec::new();
        let mut ids = HashSet::default();
        let mut inserted = 0;
        for (i, (key, fields)) in rows.into_iter().enumerate() {
            let seq = self.next_seq + i as u64;
            if let Some(why) = self.schema_rejects(table, &fields) {
                out.push(Err(why));
                continue;
            }
            match new_row(&target, &self.migration, self.now_ms, seq, &key, fields) {
                Ok((bytes, internal, id)) => {
                    if !ids.insert(internal) {
                        return Err(Error::Usage(format!(
                            "two new documents of {table} got the same _id; please report this"
                        )));
                    }
                    data.extend_from_slice(&bytes);
                    data.push(b'\n');
                    inserted += 1;
                    out.push(Ok(id));
                }
                Err(reason) => out.push(Err(reason)),
            }
        }
        self.next_seq += out.len() as u64;
        if inserted > 0 {
            std::fs::write(&path, &data).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            self.append_segment(table, path, inserted);
        }
        Ok(out)
    }

    fn append_segment(&mut self, table: &str, path: PathBuf, inserted: u64) {
        self.forget_ids(table);
        if !self.tables.contains_key(table) {
            let number = (10001..)
                .find(|n| !self.used_numbers.contains(n))
                .expect("a free table number");
            self.used_numbers.insert(number);
            self.tables.insert(
                table.to_owned(),
                TableState {
                    number,
                    format: self.new_format.clone(),
                    segments: Vec::new(),
                    is_new: true,
                    touched: true,
                    has_documents: false,
                    has_schema: false,
                    prefix_ok: true,
                },
            );
        }
        let state = self.tables.get_mut(table).expect("just made");
        state.segments.push(Segment::File(path));
        state.touched = true;
        self.changes.entry(table.to_owned()).or_default().inserted += inserted;
    }

    /// Number, format and current IDs of a table rows will be inserted into.
    /// A missing table gets the number it will have when created.
    fn insert_target(&self, table: &str) -> Result<InsertTarget> {
        value::check_identifier(table).map_err(|e| Error::Usage(format!("table name {e}")))?;
        let Some(state) = self.tables.get(table) else {
            let number = (10001..)
                .find(|n| !self.used_numbers.contains(n))
                .expect("a free table number");
            return Ok(InsertTarget {
                table: table.to_owned(),
                number,
                format: self.new_format.clone(),
                existing: HashSet::default(),
            });
        };
        // IDs noted by this migration's earlier read of the table, if any;
        // otherwise a pass of its own.
        let noted = self.hinted_ids.lock().expect("not poisoned").take();
        let existing = match noted.filter(|(t, _)| t == table) {
            Some((_, ids)) => ids,
            None => self.table_ids(table, state)?,
        };
        Ok(InsertTarget {
            table: table.to_owned(),
            number: state.number,
            format: state.format.clone(),
            existing,
        })
    }

    /// The internal bytes of every canonical `_id` of a table.
    fn table_ids(&self, table: &str, state: &TableState) -> Result<HashSet<[u8; 16]>> {
        let mut existing = HashSet::default();
        for (source, entry) in self.sources(table, state) {
            try_scan_source(
                source,
                &Progress::hidden(),
                |batch| -> Result<Vec<[u8; 16]>> {
                    let mut ids = Vec::new();
                    for (line_no, line) in batch.lines() {
                        let sys = system_fields(line, state.prefix_ok, &entry, line_no)?;
                        if let Some(id) = sys.id.and_then(|s| DocumentId::decode(&s).ok()) {
                            ids.push(id.internal);
                        }
                    }
                    Ok(ids)
                },
                |ids| existing.extend(ids),
            )?;
        }
        Ok(existing)
    }

    /// Where each segment of a table is read from, with a name for messages.
    fn sources<'a>(&'a self, table: &str, state: &'a TableState) -> Vec<(Source<'a>, String)> {
        // Segments live as long as `self`; collect them with their names.
        state
            .segments
            .iter()
            .map(|s| match s {
                Segment::Entry(e) => (
                    Source::Entry(&self.snap.archive, *e),
                    self.snap.entry_name(*e).to_owned(),
                ),
                Segment::File(p) => (
                    Source::File(p.as_path()),
                    format!("{table}/documents.jsonl (as changed by this run)"),
                ),
            })
            .collect()
    }

    fn progress(&self, state: &TableState, message: &str) -> Progress {
        Progress::bytes(self.segments_size(state), message, self.quiet)
    }

    /// Total uncompressed bytes of a table's segments.
    pub(crate) fn segments_size(&self, state: &TableState) -> u64 {
        state
            .segments
            .iter()
            .map(|s| match s {
                Segment::Entry(e) => self.snap.archive.entries()[*e].size,
                Segment::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            })
            .sum()
    }

    fn temp_path(&self, n: &u64, what: &str) -> PathBuf {
        self.temp.path().join(format!("{n:06}-{what}.jsonl"))
    }

    /// The root tables as owned descriptions of where their rows are, for
    /// readers that outlive a borrow of the `Db` (user code's store).
    pub(crate) fn table_sources(&self) -> Vec<TableSource> {
        self.tables
            .iter()
            .map(|(name, state)| TableSource {
                name: name.clone(),
                number: state.number,
                format: state.format.clone(),
                segments: state
                    .segments
                    .iter()
                    .map(|s| match s {
                        Segment::Entry(e) => OwnedSegment::Entry(*e),
                        Segment::File(p) => OwnedSegment::File(p.clone()),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The input archive (for owned readers of its entries).
    pub(crate) fn archive(&self) -> &crate::archive::Archive {
        &self.snap.archive
    }

    /// The table numbers in use, and the format a new table gets.
    pub(crate) fn numbers_in_use(&self) -> (BTreeSet<u32>, TableFormat) {
        (self.used_numbers.clone(), self.new_format.clone())
    }

    /// The migration being run (new IDs derive from it).
    pub(crate) fn migration(&self) -> &str {
        &self.migration
    }

    /// The clock in milliseconds, and the sequence number the next new row
    /// gets (new rows are `now + 0.001 ms × seq`).
    pub(crate) fn clock(&self) -> (u64, u64) {
        (self.now_ms, self.next_seq)
    }

    /// A folder for temporary files that lives as long as the `Db`.
    pub(crate) fn temp_dir(&self) -> &Path {
        self.temp.path()
    }

    /// A new file name in the `Db`'s temporary folder.
    pub(crate) fn temp_file(&mut self, what: &str) -> PathBuf {
        let path = self.temp_path(&self.temp_files, what);
        self.temp_files += 1;
        path
    }

    /// Replaces a table's rows by the JSONL file at `path` (in the table's
    /// format, every row checked), creating the table with `number` when
    /// it is new; `changes` and `inserted` are what the rewrite did, for
    /// the reports and the clock.
    pub(crate) fn set_table(
        &mut self,
        table: &str,
        number: u32,
        path: PathBuf,
        changes: TableChanges,
    ) {
        self.forget_ids(table);
        if !self.tables.contains_key(table) {
            self.used_numbers.insert(number);
            self.tables.insert(
                table.to_owned(),
                TableState {
                    number,
                    format: self.new_format.clone(),
                    segments: Vec::new(),
                    is_new: true,
                    touched: true,
                    has_documents: false,
                    has_schema: false,
                    prefix_ok: true,
                },
            );
        }
        let state = self.tables.get_mut(table).expect("just made");
        state.segments = vec![Segment::File(path)];
        state.touched = true;
        state.prefix_ok = true;
        self.next_seq += changes.inserted;
        let c = self.changes.entry(table.to_owned()).or_default();
        c.inserted += changes.inserted;
        c.updated += changes.updated;
        c.deleted += changes.deleted;
    }
}

/// Where a table's rows are, owned (see [`Db::table_sources`]).
#[derive(Debug, Clone)]
pub(crate) struct TableSource {
    pub name: String,
    pub number: u32,
    pub format: TableFormat,
    pub segments: Vec<OwnedSegment>,
}

/// A [`Segment`] that does not borrow the `Db`.
#[derive(Debug, Clone)]
pub(crate) enum OwnedSegment {
    /// An entry of the input archive.
    Entry(usize),
    /// A file in the run's temporary folder.
    File(PathBuf),
}

/// The format of tables this run creates: the snapshot's own (`uniform` if
/// any table is; legacy `unknown` for legacy snapshots; no sidecar when no
/// table has one).
fn new_format(formats: &[&str]) -> TableFormat {
    if formats.contains(&"uniform") || formats.is_empty() {
        TableFormat::Uniform
    } else if formats.contains(&"legacy") {
        TableFormat::Legacy(Box::new(
            LegacySchema::parse("unknown", std::iter::empty()).expect("valid shape"),
        ))
    } else {
        TableFormat::Missing
    }
}

struct InsertTarget {
    table: String,
    number: u32,
    format: TableFormat,
    existing: HashSet<[u8; 16]>,
}

struct MapContext<'a> {
    format: &'a TableFormat,
    prefix_ok: bool,
    table: &'a str,
    target: Option<&'a InsertTarget>,
    migration: &'a str,
    now_ms: u64,
    enforcer: Option<&'a crate::schema::Enforcer>,
    /// The only fields `f` reads, with the system fields (see
    /// [`Db::map_reading`]).
    reads: Option<&'a [&'a str]>,
}

#[derive(Default)]
struct MapBatch {
    /// Bytes of input the batch covered.
    input_len: u64,
    out: Vec<u8>,
    inserts: Vec<u8>,
    new_ids: Vec<[u8; 16]>,
    /// The (`_creationTime`, `_id`) of the source of each new row.
    insert_keys: Vec<(f64, SourceKey)>,
    rows: u64,
    updated: u64,
    deleted: u64,
    inserted: u64,
    errors: Vec<DocError>,
    warnings: Vec<String>,
    tally: [u64; 8],
}

#[allow(clippy::too_many_arguments)]
fn map_batch(
    batch: &Batch,
    ctx: &MapContext,
    entry: &str,
    filter_names: Option<&[&str]>,
    filter: &(impl Fn(&Doc) -> bool + Sync),
    f: &(impl Fn(&Doc) -> Result<Effect, String> + Sync),
) -> Result<MapBatch> {
    let mut out = MapBatch {
        input_len: batch.data.len() as u64,
        out: Vec::with_capacity(batch.data.len()),
        ..MapBatch::default()
    };
    for (line_no, line) in batch.lines() {
        out.rows += 1;
        if let Some(names) = filter_names {
            let some = decode_some(line, ctx.format, ctx.prefix_ok, names, entry, line_no)?;
            let doc = Doc {
                fields: &some,
                entry,
                line: line_no,
            };
            if !filter(&doc) {
                out.out.extend_from_slice(line);
                out.out.push(b'\n');
                continue;
            }
        }
        // When `f` reads only some fields, an effect that keeps the
        // document (or a failure) needs nothing more; a patch may be
        // spliced into the text.
        let mut known: Option<(Fields, Result<Effect, String>)> = None;
        if let Some(names) = ctx.reads {
            let some = decode_some(line, ctx.format, ctx.prefix_ok, names, entry, line_no)?;
            let effect = f(&Doc {
                fields: &some,
                entry,
                line: line_no,
            });
            let doc = Doc {
                fields: &some,
                entry,
                line: line_no,
            };
            if spliced(&mut out, line, &doc, ctx, &effect) {
                continue;
            }
            // A copy needs the fields `f` did not read.
            if effect.as_ref().map_or(true, |e| {
                matches!(e.change, Change::Keep) && e.copy_into.is_none()
            }) {
                known = Some((some, effect));
            }
        }
        let (mut fields, effect) = match known {
            Some(k) => k,
            None => {
                let fields = decode_line(line, ctx.format, entry, line_no)?;
                let effect = f(&Doc {
                    fields: &fields,
                    entry,
                    line: line_no,
                });
                (fields, effect)
            }
        };
        let key = |fields: &Fields| {
            Doc {
                fields,
                entry,
                line: line_no,
            }
            .key()
        };
        // A failure of `f` comes before any counting; one of the write
        // (the schema refuses it, or it cannot be encoded) counts the tally
        // when the code reproduced counts before writing.
        let applied = effect.map_err(|e| (e, 0)).and_then(|effect| {
            let counted = if effect.counts_before_write {
                effect.tally
            } else {
                0
            };
            if let Some(why) = effect.fails {
                return Err((why, counted));
            }
            let rejects = |table: &str, doc: &Fields| match ctx
                .enforcer
                .and_then(|e| e.rejects(table, doc))
            {
                Some(why) => Err((why, counted)),
                None => Ok(()),
            };
            let new = match (effect.insert, effect.copy_into) {
                (Some(_), Some(_)) => {
                    return Err(("internal: two inserts for one document".into(), 0));
                }
                (new, None) => new,
                (None, Some(names)) => Some(pick_fields(&fields, names)),
            };
            let insert = match (new, ctx.target) {
                // `_creationTime` is a stand-in until the pass is done.
                (Some(new), Some(target)) => {
                    rejects(&target.table, &new)?;
                    Some(at_write(
                        new_row(target, ctx.migration, ctx.now_ms, 0, &key(&fields), new),
                        counted,
                    )?)
                }
                (Some(_), None) => return Err(("internal: an insert without a table".into(), 0)),
                (None, _) => None,
            };
            let change = match effect.change {
                Change::Replace(new) => {
                    for system in ["_id", "_creationTime"] {
                        if new.get(system) != fields.get(system) {
                            return Err((format!("a migration may not change {system}"), 0));
                        }
                    }
                    if same_fields(&new, &fields) {
                        None
                    } else {
                        rejects(ctx.table, &new)?;
                        Some(Some(at_write(encode_checked(new, ctx.format), counted)?))
                    }
                }
                Change::Patch(patch) => {
                    if patch
                        .iter()
                        .any(|(k, _)| k == "_id" || k == "_creationTime")
                    {
                        return Err(("a migration may not change _id or _creationTime".into(), 0));
                    }
                    let changes = |(k, v): &(String, Option<Value>)| match v {
                        Some(v) => fields.get(k).is_none_or(|old| !same_value(old, v)),
                        None => fields.contains_key(k),
                    };
                    if patch.iter().any(changes) {
                        // Decoding checked the document's names; check the
                        // patch's, then the whole need not be walked again.
                        for (k, v) in &patch {
                            if let Some(v) = v {
                                at_write(check_field_name(k), counted)?;
                                at_write(check_names(v), counted)?;
                            }
                        }
                        // The decoded document is ours: patch it in place
                        // (on an error the row is written back as read).
                        for (k, v) in patch {
                            match v {
                                Some(v) => fields.insert(k, v),
                                None => fields.remove(&k),
                            };
                        }
                        rejects(ctx.table, &fields)?;
                        let doc = Value::Object(std::mem::take(&mut fields));
                        let bytes = encode_checked_value(&doc, ctx.format, Names::Checked);
                        let Value::Object(back) = doc else {
                            unreachable!("built as an object")
                        };
                        fields = back;
                        Some(Some(at_write(bytes, counted)?))
                    } else {
                        None
                    }
                }
                Change::Delete => Some(None),
                Change::Keep => None,
            };
            Ok((
                change,
                insert,
                effect.warnings,
                effect.tally,
                effect.error_after,
            ))
        });
        match applied {
            Err((reason, counted)) => {
                add_tally(&mut out.tally, counted);
                out.errors.push(DocError {
                    table: ctx.table.to_owned(),
                    id: key(&fields),
                    reason,
                    stack: None,
                });
                out.out.extend_from_slice(line);
                out.out.push(b'\n');
            }
            Ok((change, insert, warnings, tally, error_after)) => {
                if let Some(reason) = error_after {
                    out.errors.push(DocError {
                        table: ctx.table.to_owned(),
                        id: key(&fields),
                        reason,
                        stack: None,
                    });
                }
                add_tally(&mut out.tally, tally);
                match change {
                    None => {
                        out.out.extend_from_slice(line);
                        out.out.push(b'\n');
                    }
                    Some(Some(bytes)) => {
                        out.updated += 1;
                        out.out.extend_from_slice(&bytes);
                        out.out.push(b'\n');
                    }
                    Some(None) => out.deleted += 1,
                }
                if let Some((bytes, internal, _)) = insert {
                    out.inserted += 1;
                    // System fields are never patched: these are the source's.
                    out.insert_keys
                        .push((creation_time(&fields), SourceKey::new(key(&fields))));
                    out.inserts.extend_from_slice(&bytes);
                    out.inserts.push(b'\n');
                    out.new_ids.push(internal);
                }
                out.warnings.extend(warnings);
            }
        }
    }
    Ok(out)
}

/// Applies `effect`, which `f` gave on the row's named fields alone, to the
/// row's text when nothing but a patch spliced into it is needed (see
/// [`Db::map_reading`]); false leaves the row to the whole-document path.
fn spliced(
    out: &mut MapBatch,
    line: &[u8],
    some: &Doc,
    ctx: &MapContext,
    effect: &Result<Effect, String>,
) -> bool {
    let Ok(effect) = effect else { return false };
    if ctx.enforcer.is_some()
        || !matches!(ctx.format, TableFormat::Uniform)
        || effect.fails.is_some()
        || effect.error_after.is_some()
        || effect.insert.is_some()
    {
        return false;
    }
    // The copied row, as `new_row` would encode the copied fields.
    let copy = match (effect.copy_into, ctx.target) {
        (None, _) => None,
        (Some(names), Some(target)) if matches!(target.format, TableFormat::Uniform) => {
            let key = some.key();
            let internal = new_internal_id(
                ctx.migration,
                &target.table,
                &key,
                ctx.now_ms,
                &target.existing,
            );
            let id = DocumentId::new(target.number, internal).encode();
            let id = serde_json::to_vec(&id).expect("a string encodes");
            let mut time = Vec::new();
            value::write_float(creation_time_for(ctx.now_ms, 0), &mut time);
            let system: [(&str, &[u8]); 2] = [("_creationTime", &time), ("_id", &id)];
            match value::row_of_fields(line, names, &system) {
                Some(row) => Some((row, internal, key)),
                None => return false,
            }
        }
        _ => return false,
    };
    enum Then {
        Same,
        New(Vec<u8>),
        Gone,
    }
    let then = match &effect.change {
        Change::Keep => Then::Same,
        Change::Delete => Then::Gone,
        // `patch_row` leaves system and other `_` fields to the whole path.
        Change::Patch(patch) => match value::patch_row(line, patch) {
            Some(Spliced::Unchanged) => Then::Same,
            Some(Spliced::Row(row)) => Then::New(row),
            None => return false,
        },
        Change::Replace(_) => return false,
    };
    add_tally(&mut out.tally, effect.tally);
    match then {
        Then::New(row) => {
            out.updated += 1;
            out.out.extend_from_slice(&row);
            out.out.push(b'\n');
        }
        Then::Same => {
            out.out.extend_from_slice(line);
            out.out.push(b'\n');
        }
        Then::Gone => out.deleted += 1,
    }
    if let Some((row, internal, key)) = copy {
        out.inserted += 1;
        out.insert_keys
            .push((creation_time(some.fields), SourceKey::new(key)));
        out.inserts.extend_from_slice(&row);
        out.inserts.push(b'\n');
        out.new_ids.push(internal);
    }
    out.warnings.extend(effect.warnings.iter().cloned());
    true
}

/// Adds one to each counter of `tally` whose bit is set in `bits`
/// ([`Effect::tally`]).
fn add_tally(tally: &mut [u64; 8], bits: u8) {
    for (i, t) in tally.iter_mut().enumerate() {
        *t += u64::from(bits >> i & 1);
    }
}

/// A failure at a write, with the tally counted before it.
fn at_write<T>(r: Result<T, String>, counted: u8) -> Result<T, (String, u8)> {
    r.map_err(|e| (e, counted))
}

/// `_creationTime` (a Float64) and `_id` of a uniform row, read from its
/// start when it begins as Convex exports rows (see `SystemPrefix`). Only
/// for a table whose `prefix_ok` is set ([`Db::table_format`]).
pub(crate) fn system_prefix(line: &[u8]) -> Option<(f64, &str)> {
    let p = SystemPrefix::read(line)?;
    p.float_literal.then_some((p.creation_time, p.id))
}

/// One batch of a [`Db::rewrite_rows`] pass: its length in the source, the
/// rows it replaced, its rows as they are to be written, what `per_batch`
/// gave.
struct RewriteBatch<B> {
    input_len: u64,
    updated: u64,
    out: Vec<u8>,
    result: B,
}

/// A table's rows as [`Db::rewrite_rows`] wrote them, until installed; its
/// file is removed if it never is.
#[derive(Debug)]
pub struct Rewrite {
    path: PathBuf,
    written: bool,
    /// How many rows it replaced.
    pub updated: u64,
}

impl Drop for Rewrite {
    fn drop(&mut self) {
        if self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Opens the rewritten table file and copies into it the rows before the
/// first change: all of the earlier segments (each ending with a newline)
/// and the first `prefix` bytes of the current one (whole lines).
fn start_rewrite(
    path: &Path,
    done: &[Source<'_>],
    current: Source<'_>,
    prefix: u64,
) -> Result<BufWriter<File>> {
    use std::io::Read as _;
    let werr = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut f = BufWriter::with_capacity(1 << 20, File::create(path).map_err(werr)?);
    for source in done {
        let ends_line = copy_source(*source, |data| f.write_all(data).map_err(werr))?;
        if !ends_line {
            f.write_all(b"\n").map_err(werr)?;
        }
    }
    if prefix > 0 {
        current.with_reader(|r| std::io::copy(&mut r.take(prefix), &mut f).map(|_| ()))?;
    }
    Ok(f)
}

/// What a new row's source document is known by for ordering: its `_id`,
/// or its report key when it has none. A canonical ID (the only form that
/// decodes) is kept as its table number and bytes, so a map inserting
/// millions of rows holds no string per row; it orders as its text.
#[derive(Debug)]
enum SourceKey {
    Id(u32, [u8; 16]),
    Text(Box<str>),
}

impl SourceKey {
    fn new(key: String) -> SourceKey {
        match DocumentId::decode(&key) {
            Ok(id) => SourceKey::Id(id.table_number, id.internal),
            Err(_) => SourceKey::Text(key.into()),
        }
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            SourceKey::Id(table, internal) => DocumentId::new(*table, *internal).encode().into(),
            SourceKey::Text(text) => text.as_ref().into(),
        }
    }
}

/// Copies the new rows of a map from `from` to `to`, giving each the
/// `_creationTime` `now + (seq_base + rank)` steps, where rank orders the rows
/// by the (`_creationTime`, `_id`) of the documents that made them (file
/// order breaks ties): the order the original code inserts them in.
fn set_creation_times(
    from: &Path,
    to: &Path,
    keys: &[(f64, SourceKey)],
    now_ms: u64,
    seq_base: u64,
) -> Result<()> {
    use std::io::BufRead as _;
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (&keys[a as usize], &keys[b as usize]);
        ka.0.total_cmp(&kb.0)
            .then_with(|| ka.1.text().cmp(&kb.1.text()))
            .then(a.cmp(&b))
    });
    let mut rank = vec![0u32; keys.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    let rerr = |source| Error::Read {
        path: from.to_owned(),
        source,
    };
    let werr = |source| Error::Write {
        path: to.to_owned(),
        source,
    };
    let mut input = std::io::BufReader::with_capacity(1 << 20, File::open(from).map_err(rerr)?);
    let mut output = BufWriter::with_capacity(1 << 20, File::create(to).map_err(werr)?);
    let mut line = Vec::new();
    let mut number = Vec::new();
    for &r in &rank {
        line.clear();
        input.read_until(b'\n', &mut line).map_err(rerr)?;
        let span = value::top_level_value(&line, "_creationTime")
            .ok_or_else(|| Error::Usage("internal: a new row without _creationTime".into()))?;
        number.clear();
        value::write_float(
            creation_time_for(now_ms, seq_base + u64::from(r)),
            &mut number,
        );
        output
            .write_all(&line[..span.start])
            .and_then(|()| output.write_all(&number))
            .and_then(|()| output.write_all(&line[span.end..]))
            .map_err(werr)?;
    }
    output.flush().map_err(werr)
}

/// Builds and encodes a new document: a derived `_id` and a `_creationTime`
/// of `now + seq` steps.
fn new_row(
    target: &InsertTarget,
    migration: &str,
    now_ms: u64,
    seq: u64,
    key: &str,
    mut fields: Fields,
) -> Result<(Vec<u8>, [u8; 16], String), String> {
    let internal = new_internal_id(migration, &target.table, key, now_ms, &target.existing);
    let id = DocumentId::new(target.number, internal).encode();
    fields.insert("_id".into(), Value::String(id.clone()));
    fields.insert(
        "_creationTime".into(),
        Value::Float64(creation_time_for(now_ms, seq)),
    );
    let bytes = encode_checked(fields, &target.format)?;
    Ok((bytes, internal, id))
}

/// `now + seq` steps of [`super::CREATION_TIME_STEP_MS`], as the nearest
/// float to the exact decimal (so it prints as `1754240000000.001`).
pub fn creation_time_for(now_ms: u64, seq: u64) -> f64 {
    let step = (1.0 / super::CREATION_TIME_STEP_MS) as u64;
    (now_ms * step + seq) as f64 / step as f64
}

/// The internal bytes of a new ID: the first 14 bytes of SHA-256(migration,
/// table, source key), then the big-endian day number of `now`. On a clash
/// with an existing ID of the table, a counter is hashed in too.
pub fn new_internal_id(
    migration: &str,
    table: &str,
    key: &str,
    now_ms: u64,
    existing: &HashSet<[u8; 16]>,
) -> [u8; 16] {
    new_internal_id_avoiding(migration, table, key, now_ms, |id| existing.contains(id))
}

/// [`new_internal_id`] avoiding the IDs `exists` says are taken.
pub fn new_internal_id_avoiding(
    migration: &str,
    table: &str,
    key: &str,
    now_ms: u64,
    exists: impl Fn(&[u8; 16]) -> bool,
) -> [u8; 16] {
    let day = ((now_ms / 86_400_000) as u16).to_be_bytes();
    for attempt in 0u64.. {
        let mut h = Sha256::new();
        h.update(migration.as_bytes());
        h.update([0]);
        h.update(table.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        if attempt > 0 {
            h.update([0]);
            h.update(attempt.to_string().as_bytes());
        }
        let digest = h.finalize();
        let mut internal = [0u8; 16];
        internal[..14].copy_from_slice(&digest[..14]);
        internal[14..].copy_from_slice(&day);
        if !exists(&internal) {
            return internal;
        }
    }
    unreachable!("the counter is unbounded")
}

/// Encodes a document in a table's format after checking it against the
/// importer's limits; in a legacy or sidecar-less table, the result must
/// decode back to the same value.
pub(crate) fn encode_checked(fields: Fields, format: &TableFormat) -> Result<Vec<u8>, String> {
    encode_checked_value(&Value::Object(fields), format, Names::Unchecked)
}

/// [`encode_checked`] that gives the document back.
pub(crate) fn encode_checked_map(
    fields: Fields,
    format: &TableFormat,
) -> (Fields, Result<Vec<u8>, String>) {
    let doc = Value::Object(fields);
    let bytes = encode_checked_value(&doc, format, Names::Unchecked);
    match doc {
        Value::Object(fields) => (fields, bytes),
        _ => unreachable!("wrapped above"),
    }
}

/// Whether the field names inside a document still need checking.
#[derive(Clone, Copy, PartialEq)]
enum Names {
    Unchecked,
    /// Every name below the top level is valid: it was decoded (decoding
    /// checks names) or checked before it was set.
    Checked,
}

/// [`encode_checked`] of a document already wrapped as a [`Value::Object`].
fn encode_checked_value(
    doc: &Value,
    format: &TableFormat,
    names: Names,
) -> Result<Vec<u8>, String> {
    let Value::Object(fields) = doc else {
        return Err("internal: a document that is not an object".into());
    };
    for key in fields.keys() {
        if key.starts_with('_') && key != "_id" && key != "_creationTime" {
            return Err(format!("top-level field {key:?} starts with '_'"));
        }
    }
    if names == Names::Unchecked {
        check_names(doc)?;
    }
    let measure = doc.measure();
    if let Some(msg) = measure.limit_error() {
        return Err(format!("the new document breaks a limit: {msg}"));
    }
    // Convex's size counts 8 bytes per number and 2 per string: twice it
    // holds the usual JSON text without regrowing.
    let mut bytes = Vec::with_capacity(2 * measure.size + 64);
    value::encode_into(doc, format, &mut bytes).map_err(|e| e.0)?;
    if !matches!(format, TableFormat::Uniform) {
        let back = value::parse_json_line(&bytes)
            .and_then(|json| value::decode_document(&json, format))
            .map_err(|e| e.0)?;
        if !same_value(&back, doc) {
            return Err(format!(
                "the table's {} format cannot hold this document exactly (an Int64, Bytes or special float would change type)",
                format.name()
            ));
        }
    }
    Ok(bytes)
}

fn check_names(v: &Value) -> Result<(), String> {
    match v {
        Value::Object(fields) => {
            for (k, v) in fields {
                if k != "_id" && k != "_creationTime" {
                    check_field_name(k)?;
                }
                check_names(v)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_names),
        _ => Ok(()),
    }
}

/// Value equality with floats compared bit for bit (NaN equals NaN, -0 is
/// not 0).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float64(x), Value::Float64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => same_fields(x, y),
        _ => a == b,
    }
}

fn same_fields(x: &Fields, y: &Fields) -> bool {
    x.len() == y.len()
        && x.iter()
            .zip(y)
            .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}

fn decode_line(line: &[u8], format: &TableFormat, entry: &str, line_no: usize) -> Result<Fields> {
    match value::decode_line(line, format) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => unreachable!("decode_document only returns objects"),
        Err(e) => Err(Error::line(entry, line_no, e)),
    }
}

fn decode_some(
    line: &[u8],
    format: &TableFormat,
    prefix_ok: bool,
    names: &[&str],
    entry: &str,
    line_no: usize,
) -> Result<Fields> {
    if prefix_ok
        && matches!(format, TableFormat::Uniform)
        && names.iter().all(|n| matches!(*n, "_id" | "_creationTime"))
        && let Some(prefix) = SystemPrefix::read(line)
        && prefix.float_literal
    {
        let mut fields = Fields::new();
        if names.contains(&"_creationTime") {
            fields.insert("_creationTime".into(), Value::Float64(prefix.creation_time));
        }
        if names.contains(&"_id") {
            fields.insert("_id".into(), Value::String(prefix.id.to_owned()));
        }
        return Ok(fields);
    }
    value::decode_fields_of_valid_json(line, format, names)
        .map_err(|e| Error::line(entry, line_no, e))
}

/// The fields named of a document, as they are (absent ones stay absent).
fn pick_fields(fields: &Fields, names: &[&str]) -> Fields {
    names
        .iter()
        .filter_map(|&n| fields.get(n).map(|v| (n.to_owned(), v.clone())))
        .collect()
}

fn creation_time(fields: &Fields) -> f64 {
    match fields.get("_creationTime") {
        Some(Value::Float64(t)) => *t,
        Some(Value::Int64(t)) => *t as f64,
        _ => 0.0,
    }
}

struct SystemFields {
    id: Option<String>,
}

/// Reads only `_id` of a row (the last one, if the row repeats it, as the
/// importer's parser keeps the last).
fn system_fields(
    line: &[u8],
    prefix_ok: bool,
    entry: &str,
    line_no: usize,
) -> Result<SystemFields> {
    if prefix_ok && let Some(prefix) = SystemPrefix::read(line) {
        return Ok(SystemFields {
            id: Some(prefix.id.to_owned()),
        });
    }
    let row: serde_json::Value = serde_json::from_slice(line).map_err(|e| Error::Line {
        entry: entry.to_owned(),
        line: line_no,
        message: format!("cannot read _id: {e}"),
    })?;
    Ok(SystemFields {
        id: row.get("_id").and_then(|v| v.as_str()).map(String::from),
    })
}

/// `_creationTime` and `_id` read from the start of a row written the way
/// Convex exports it: `{"_creationTime":<number>,"_id":"<plain string>",`.
/// Every row the engine reads already passed a full JSON parse (the
/// preflight, or our own encoder), and that parse rejects a second `_id` or
/// `_creationTime`, so these are the values a full parse would give; any
/// other shape (escapes, spaces, other order) returns `None` and the caller
/// parses the whole line.
struct SystemPrefix<'a> {
    creation_time: f64,
    /// The number has a `.` or an exponent (a Float64 in the uniform format).
    float_literal: bool,
    id: &'a str,
}

impl<'a> SystemPrefix<'a> {
    fn read(line: &'a [u8]) -> Option<SystemPrefix<'a>> {
        let rest = line.strip_prefix(br#"{"_creationTime":"#)?;
        let end = rest
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))?;
        let number = &rest[..end];
        let rest = rest[end..].strip_prefix(br#","_id":""#)?;
        let close = memchr::memchr(b'"', rest)?;
        let id = &rest[..close];
        if !matches!(rest.get(close + 1), Some(b',' | b'}'))
            || !id.iter().all(|b| b.is_ascii_graphic() && *b != b'\\')
        {
            return None;
        }
        Some(SystemPrefix {
            // The parser's own reading of the number (and its refusals).
            creation_time: serde_json::from_slice(number).ok()?,
            float_literal: number.iter().any(|b| matches!(b, b'.' | b'e' | b'E')),
            id: std::str::from_utf8(id).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn creation_times_are_distinct_decimal_steps() {
        let now = 1_754_240_000_000;
        assert_eq!(creation_time_for(now, 0), 1_754_240_000_000.0);
        let t1 = creation_time_for(now, 1);
        let mut s = Vec::new();
        value::write_float(t1, &mut s);
        assert_eq!(s, b"1754240000000.001");
        let mut prev = creation_time_for(now, 0);
        for seq in 1..5000 {
            let t = creation_time_for(now, seq);
            assert!(t > prev, "seq {seq}");
            prev = t;
        }
    }

    #[test]
    fn hinted_scans_note_the_same_ids_the_insert_pass_reads() {
        let (dir, path) = crate::generate::test_snapshot(2, 200);
        let snap = crate::snapshot::Snapshot::open(&path).unwrap();
        let pre = super::super::preflight(&snap, true).unwrap();
        let mut db = Db::open(&snap, &pre, 1_754_240_000_000, dir.path(), true).unwrap();
        db.begin("m");
        let scanned = db.insert_target("modelParameters").unwrap().existing;
        assert!(scanned.len() > 100, "{}", scanned.len());
        // Without a hint nothing is noted; with one, a partial read notes
        // exactly the IDs the insert target's own pass finds, once.
        db.gather_fields("modelParameters", &["videoId"], |_| Some(()))
            .unwrap();
        assert!(db.hinted_ids.lock().unwrap().is_none());
        db.will_insert_into("modelParameters");
        db.gather_fields("videoParameters", &["videoId"], |_| Some(()))
            .unwrap();
        assert!(db.hinted_ids.lock().unwrap().is_none());
        db.gather_fields("modelParameters", &["videoId"], |_| Some(()))
            .unwrap();
        assert_eq!(
            db.insert_target("modelParameters").unwrap().existing,
            scanned
        );
        assert!(db.hinted_ids.lock().unwrap().is_none());
        // A change to the table forgets what was noted.
        db.gather_fields("modelParameters", &["videoId"], |_| Some(()))
            .unwrap();
        let r = db
            .map("modelParameters", None, |d| {
                Ok(match d.truthy("videoId") {
                    true => Effect::change(Change::Delete),
                    false => Effect::keep(),
                })
            })
            .unwrap();
        assert!(r.deleted > 0);
        assert!(db.hinted_ids.lock().unwrap().is_none());
        let left = db.insert_target("modelParameters").unwrap().existing;
        assert_eq!(left.len(), scanned.len() - r.deleted as usize);
        // `begin` ends the hint.
        db.begin("n");
        db.gather_fields("modelParameters", &["videoId"], |_| Some(()))
            .unwrap();
        assert!(db.hinted_ids.lock().unwrap().is_none());
    }

    /// What a `map` left of `table`: its result and the table's rows.
    fn mapped(
        patching: bool,
        f: &(dyn Fn(&Doc) -> Result<Effect, String> + Sync),
    ) -> (String, Vec<u8>) {
        let (dir, path) = crate::generate::test_snapshot(5, 300);
        let snap = crate::snapshot::Snapshot::open(&path).unwrap();
        let pre = super::super::preflight(&snap, true).unwrap();
        let mut db = Db::open(&snap, &pre, 1_754_240_000_000, dir.path(), true).unwrap();
        db.begin("m");
        let into = Some("modelParameters");
        // A filter that passes most documents.
        let some = |d: &Doc| !d.id().ends_with('a');
        let r = if patching {
            db.map_reading("videos", into, &[], some, &["title", "status", "zzz"], f)
        } else {
            db.map_filtered("videos", into, &[], some, f)
        }
        .unwrap();
        let mut rows = Vec::new();
        for table in ["videos", "modelParameters"] {
            let source = db
                .table_sources()
                .into_iter()
                .find(|t| t.name == table)
                .unwrap();
            for seg in source.segments {
                match seg {
                    OwnedSegment::File(p) => rows.extend(std::fs::read(p).unwrap()),
                    OwnedSegment::Entry(_) => assert_eq!(table, "modelParameters"),
                }
            }
        }
        let report = format!(
            "{} {} {} {} {:?} {:?} {:?}",
            r.rows, r.updated, r.deleted, r.inserted, r.tally, r.errors, r.warnings
        );
        (report, rows)
    }

    #[test]
    fn maps_on_named_fields_give_what_the_whole_document_path_gives() {
        // Every kind of effect, picked by the document's `_id`: keep, a
        // patch that changes (with a tally and a warning), one that
        // changes nothing, one too long to splice, an insert, a failure,
        // a patch the engine refuses, a delete, and copies of fields `f`
        // did not read (with a delete, a keep, and an error after it).
        const COPIED: &[&str] = &["status", "model", "title", "absent", "createdAt"];
        let f = |d: &Doc| -> Result<Effect, String> {
            let id = d.id().to_owned();
            let change = |patch| Effect::change(Change::Patch(patch));
            match id.as_bytes()[id.len() - 3] % 10 {
                0 => Ok(Effect::keep()),
                7 => Ok(Effect {
                    copy_into: Some(COPIED),
                    tally: 0b10000,
                    warnings: vec![format!("moved {id}")],
                    ..Effect::change(Change::Delete)
                }),
                8 => Ok(Effect {
                    copy_into: Some(COPIED),
                    error_after: (id.as_bytes()[id.len() - 2].is_multiple_of(2))
                        .then(|| format!("after {id}")),
                    ..Effect::keep()
                }),
                9 => Ok(Effect::change(Change::Delete)),
                // Too long for the splice to be sure of the size limit: the
                // whole document is patched instead.
                6 => Ok(Effect {
                    warnings: vec![format!("long {id}")],
                    ..change(vec![(
                        "title".into(),
                        Some(Value::String("x".repeat(120_000))),
                    )])
                }),
                5 => {
                    let mut row = Fields::new();
                    row.insert("videoId".into(), Value::String(id.clone()));
                    if let Some(status) = d.get("status") {
                        row.insert("status".into(), status.clone());
                    }
                    Ok(Effect {
                        insert: Some(row),
                        tally: 0b1000,
                        warnings: vec![format!("inserted for {id}")],
                        ..Effect::keep()
                    })
                }
                1 => Ok(Effect {
                    tally: 0b101,
                    warnings: vec![format!("changed {id}")],
                    ..change(vec![
                        ("title".into(), None),
                        ("zzz".into(), Some(Value::Int64(7))),
                        ("status".into(), Some(Value::String("é\n\"".into()))),
                    ])
                }),
                2 => Ok(Effect {
                    tally: 0b10,
                    ..change(vec![("status".into(), d.get("status").cloned())])
                }),
                3 => Err(format!("refused {id}")),
                _ => Ok(change(vec![("_id".into(), None)])),
            }
        };
        let whole = mapped(false, &f);
        let spliced = mapped(true, &f);
        assert_eq!(whole.0, spliced.0);
        assert!(whole.1 == spliced.1, "the rewritten rows differ");
        // Every kind of effect was met.
        for want in [
            "changed ",
            "refused ",
            "may not change _id",
            "inserted for ",
            "moved ",
            "after ",
        ] {
            assert!(whole.0.contains(want), "{want}: {}", whole.0);
        }
        // Copied rows carry the fields `f` did not read.
        let text = String::from_utf8_lossy(&spliced.1);
        assert!(text.contains(r#""model":"#), "no copied row");
    }

    #[test]
    fn new_ids_are_valid_and_avoid_existing_ones() {
        let now = 1_754_240_000_000u64;
        let a = new_internal_id("m", "t", "k", now, &HashSet::default());
        assert_eq!(a, new_internal_id("m", "t", "k", now, &HashSet::default()));
        assert_ne!(a, new_internal_id("m", "t", "k2", now, &HashSet::default()));
        assert_eq!(a[14..], ((now / 86_400_000) as u16).to_be_bytes());
        let b = new_internal_id("m", "t", "k", now, &HashSet::from_iter([a]));
        assert_ne!(a, b);
        let text = DocumentId::new(10011, a).encode();
        assert_eq!(DocumentId::decode(&text).unwrap().table_number, 10011);
    }

    #[test]
    fn system_prefix_agrees_with_a_full_parse() {
        let id = "j9700712gen69dwtfm03rc5d2s7jwabf";
        let lines = [
            format!(r#"{{"_creationTime":1754240000000.001,"_id":"{id}","a":1}}"#),
            format!(r#"{{"_creationTime":1700000000000,"_id":"{id}"}}"#),
            format!(r#"{{"_creationTime":1.7e12,"_id":"{id}","b":"_id"}}"#),
            format!(r#"{{"_creationTime":-0.0,"_id":"{id}","c":[]}}"#),
            format!(r#"{{"_creationTime":12345678901234567890123,"_id":"{id}"}}"#),
            // Shapes the prefix reader leaves to the full parse.
            format!(r#"{{"_creationTime":01,"_id":"{id}"}}"#),
            format!(r#"{{"_creationTime":1.,"_id":"{id}"}}"#),
            format!(r#"{{"_creationTime":1e999,"_id":"{id}"}}"#),
            r#"{"_creationTime":1.5,"_id":"a\u0062c","x":1}"#.to_owned(),
            format!(r#"{{ "_creationTime":1.5,"_id":"{id}"}}"#),
            format!(r#"{{"_id":"{id}","_creationTime":1.5}}"#),
            format!(r#"{{"_creationTime":1.5,"_id":"{id}" ,"x":1}}"#),
        ];
        #[derive(Deserialize)]
        struct Full {
            #[serde(rename = "_id")]
            id: Option<String>,
            #[serde(rename = "_creationTime")]
            creation_time: Option<f64>,
        }
        let mut fast = 0;
        for (i, line) in lines.iter().enumerate() {
            let full: Full = match serde_json::from_slice(line.as_bytes()) {
                Ok(f) => f,
                Err(_) => {
                    assert!(SystemPrefix::read(line.as_bytes()).is_none(), "{line}");
                    continue;
                }
            };
            let got = system_fields(line.as_bytes(), true, "t", 1).unwrap();
            assert_eq!(got.id, full.id, "{line}");
            let Some(prefix) = SystemPrefix::read(line.as_bytes()) else {
                continue;
            };
            fast += 1;
            assert_eq!(Some(prefix.id), full.id.as_deref(), "{line}");
            assert_eq!(
                Some(prefix.creation_time.to_bits()),
                full.creation_time.map(f64::to_bits),
                "{line}"
            );
            let names = ["_id", "_creationTime"];
            let some =
                decode_some(line.as_bytes(), &TableFormat::Uniform, true, &names, "t", 1).unwrap();
            let all = value::decode_fields(line.as_bytes(), &TableFormat::Uniform, &names).unwrap();
            assert!(same_fields(&some, &all), "{line}: {some:?} vs {all:?}");
            // Rows 1 and 4 have integer literals (Int64 in the uniform format).
            assert_eq!(prefix.float_literal, !matches!(i, 1 | 4), "{line}");
        }
        assert_eq!(fast, 5, "the plain rows take the fast path");
    }

    #[test]
    fn top_level_value_finds_only_the_top_level_key() {
        let doc = br#"{"A":{"_creationTime":1.0},"B":["_creationTime",2.0],"C":"\"_creationTime\":3","_creationTime":4.5,"_id":"x"}"#;
        let span = value::top_level_value(doc, "_creationTime").unwrap();
        assert_eq!(&doc[span], b"4.5");
        let last = br#"{"_id":"x","_creationTime":17}"#;
        let span = value::top_level_value(last, "_creationTime").unwrap();
        assert_eq!(&last[span], b"17");
        assert_eq!(
            value::top_level_value(br#"{"a":{"_creationTime":1.0}}"#, "_creationTime"),
            None
        );
    }

    #[test]
    fn same_value_compares_float_bits() {
        assert!(same_value(
            &Value::Float64(f64::NAN),
            &Value::Float64(f64::NAN)
        ));
        assert!(!same_value(&Value::Float64(0.0), &Value::Float64(-0.0)));
        assert!(!same_value(&Value::Int64(5), &Value::Float64(5.0)));
    }
}
