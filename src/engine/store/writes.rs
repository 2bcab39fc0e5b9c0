//! The writes of a run over [`Base`]: the committed ones ([`Writes`]:
//! documents in a scratch log, by `_id`, and in the order of each index a
//! scan used) and the open ones of one transaction ([`Tx`]: a stack of
//! layers, one per unit that can still roll back, as a call and a page
//! are).
//!
//! A transaction reads the committed state through `&Writes`, so several
//! can run side by side, each on its own thread, over the same state. One
//! that records its reads (see [`Writes::begin`]) can then be checked
//! against what was committed since it began ([`Writes::conflicts`]): with
//! no overlap it saw exactly what a transaction run after those commits
//! would have seen, and its writes are what that one would have written.
//! This is how Convex's own optimistic concurrency control decides, per
//! transaction, between committing and running again.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Base, DocKey, IndexKey, IndexSpec, Keep, Range, decode};
use crate::engine::db::{encode_checked, new_internal_id_avoiding};
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::value::{self, Map, TableFormat, Value};

/// Where a committed write's document is: in the log, or deleted.
type Committed = Option<(u64, u32)>;

/// A document a transaction wrote: its row, and its value once decoded
/// (a patch applied to a row's text has none until something reads it).
struct Written {
    bytes: Vec<u8>,
    doc: std::cell::OnceCell<Map>,
}

impl Written {
    fn new(bytes: Vec<u8>, doc: Option<Map>) -> Written {
        let cell = std::cell::OnceCell::new();
        if let Some(d) = doc {
            let _ = cell.set(d);
        }
        Written { bytes, doc: cell }
    }

    fn doc(&self, format: &TableFormat) -> Result<&Map> {
        if let Some(d) = self.doc.get() {
            return Ok(d);
        }
        let d = decode(&self.bytes, format)?;
        Ok(self.doc.get_or_init(|| d))
    }
}

/// One open layer of writes (a call's or a page's): documents by table
/// number and `_id` (`None` = deleted), new rows in order, new tables.
#[derive(Default)]
struct Layer {
    docs: FxHashMap<DocKey, Option<Written>>,
    inserted: Vec<DocKey>,
    created: Vec<(String, u32)>,
}

/// What a transaction read from below its own writes: documents, tables it
/// scanned (any index, any range), and names and numbers of tables that
/// did not exist.
#[derive(Default, Debug)]
pub struct Reads {
    docs: FxHashSet<DocKey>,
    tables: FxHashSet<u32>,
    missing_names: BTreeSet<String>,
    missing_numbers: BTreeSet<u32>,
    /// It read a document it inserted itself (whose `_creationTime` depends
    /// on how many rows were inserted before it).
    saw_inserted: bool,
}

/// What one run of user code changed in a table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub inserted: u64,
    pub patched: u64,
    pub replaced: u64,
    pub deleted: u64,
}

impl Counts {
    fn add(&mut self, c: &Counts) {
        self.inserted += c.inserted;
        self.patched += c.patched;
        self.replaced += c.replaced;
        self.deleted += c.deleted;
    }
}

/// The open writes of one transaction.
pub struct Tx {
    layers: Vec<Layer>,
    layer_counts: Vec<BTreeMap<String, Counts>>,
    /// Base documents this transaction read, kept while it runs to spare
    /// reading them again.
    base_cache: RefCell<FxHashMap<DocKey, Vec<u8>>>,
    reads: Option<RefCell<Reads>>,
    /// The committed row count when it began (new rows' `_creationTime`).
    seq_base: u64,
}

impl Tx {
    /// Opens a layer (a unit that can roll back).
    pub fn open(&mut self) {
        self.layers.push(Layer::default());
        self.layer_counts.push(BTreeMap::new());
    }

    /// How many layers are open.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Closes the top layer into the one below it (which must exist).
    pub fn close(&mut self) {
        assert!(self.layers.len() >= 2, "a layer below");
        let layer = self.layers.pop().expect("an open layer");
        let counts = self.layer_counts.pop().expect("an open layer");
        let below = self.layers.last_mut().expect("a layer below");
        below.docs.extend(layer.docs);
        below.inserted.extend(layer.inserted);
        below.created.extend(layer.created);
        let into = self.layer_counts.last_mut().expect("a layer below");
        for (table, c) in counts {
            into.entry(table).or_default().add(&c);
        }
    }

    /// Drops the top layer and its writes.
    pub fn discard(&mut self) {
        self.layers.pop().expect("an open layer");
        self.layer_counts.pop().expect("an open layer");
    }

    /// Keeps base rows this transaction will read (a page's documents).
    pub fn remember(&self, rows: FxHashMap<DocKey, Vec<u8>>) {
        let mut cache = self.base_cache.borrow_mut();
        if cache.is_empty() {
            *cache = rows;
        } else {
            cache.extend(rows);
        }
    }

    /// The base rows kept (for a transaction that runs again).
    pub fn forget(&mut self) -> FxHashMap<DocKey, Vec<u8>> {
        std::mem::take(self.base_cache.get_mut())
    }

    /// The transaction, finished with its one remaining layer: ready for
    /// [`Writes::commit`].
    pub fn finish(mut self) -> Finished {
        assert_eq!(self.layers.len(), 1, "one layer left");
        Finished {
            layer: self.layers.pop().expect("one layer"),
            counts: self.layer_counts.pop().expect("one layer"),
            reads: self.reads.map(RefCell::into_inner),
            seq_base: self.seq_base,
        }
    }

    fn pending_inserts(&self) -> u64 {
        self.layers.iter().map(|l| l.inserted.len() as u64).sum()
    }

    fn note(&self, f: impl FnOnce(&mut Reads)) {
        if let Some(r) = &self.reads {
            f(&mut r.borrow_mut());
        }
    }

    fn inserted_here(&self, key: &DocKey) -> bool {
        self.layers.iter().any(|l| l.inserted.contains(key))
    }
}

/// A finished transaction, not yet committed.
pub struct Finished {
    layer: Layer,
    counts: BTreeMap<String, Counts>,
    reads: Option<Reads>,
    seq_base: u64,
}

impl Finished {
    /// What it changed, per table.
    pub fn counts(&self) -> &BTreeMap<String, Counts> {
        &self.counts
    }
}

/// A document a scan found: its key, and its decoded value or its row's
/// text (decoded on demand).
pub struct Found {
    pub key: IndexKey,
    doc: Option<Map>,
    /// The stored row, for a document the run has not written.
    pub line: Option<Vec<u8>>,
    format: TableFormat,
}

impl Found {
    /// The document (decoding its row the first time).
    pub fn doc(&mut self) -> Result<Map> {
        if self.doc.is_none() {
            let line = self.line.as_ref().expect("a row or a value");
            self.doc = Some(decode(line, &self.format)?);
        }
        Ok(self.doc.clone().expect("just set"))
    }

    /// The document, when already decoded.
    pub fn decoded(&self) -> Option<&Map> {
        self.doc.as_ref()
    }

    /// How its row's values are encoded.
    pub fn format(&self) -> &TableFormat {
        &self.format
    }
}

/// An index key that orders itself (in a tree of one index's keys).
#[derive(Debug, Clone)]
struct OrdKey(IndexKey, bool);

impl PartialEq for OrdKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for OrdKey {}
impl PartialOrd for OrdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0, self.1)
    }
}

/// The committed writes of one table in one index's order.
#[derive(Default)]
struct WrittenIndex {
    keys: BTreeMap<OrdKey, ()>,
    by_id: FxHashMap<[u8; 16], OrdKey>,
}

impl WrittenIndex {
    /// Moves a document to its new key (`None`: deleted).
    fn set(&mut self, id: &[u8; 16], key: Option<IndexKey>, by_id: bool) {
        if let Some(old) = self.by_id.remove(id) {
            self.keys.remove(&old);
        }
        if let Some(key) = key {
            let k = OrdKey(key, by_id);
            self.keys.insert(k.clone(), ());
            self.by_id.insert(*id, k);
        }
    }
}

type WrittenIndexes = FxHashMap<(u32, IndexSpec), WrittenIndex>;

/// What was committed since [`Writes::start_epoch`]: what a transaction
/// that began then may not have seen.
#[derive(Default)]
struct Epoch {
    docs: FxHashSet<DocKey>,
    tables: FxHashSet<u32>,
}

/// The committed writes of a run over [`Base`].
pub struct Writes {
    base: Arc<Base>,
    log: File,
    log_path: PathBuf,
    log_len: u64,
    committed: FxHashMap<DocKey, Committed>,
    /// New rows per table number, in insertion order.
    inserted: BTreeMap<u32, Vec<[u8; 16]>>,
    /// Tables created by the run: name → number.
    created: BTreeMap<String, u32>,
    used_numbers: BTreeSet<u32>,
    new_format: TableFormat,
    migration: String,
    now_ms: u64,
    /// The sequence number of the first new row of this run.
    first_seq: u64,
    /// New rows committed.
    committed_inserts: u64,
    /// Counts per table, by what was done.
    pub counts: BTreeMap<String, Counts>,
    /// The committed writes in the order of the indexes scans used.
    written_indexes: RwLock<WrittenIndexes>,
    epoch: Epoch,
}

impl Writes {
    /// No writes yet, over `base`; the log goes in `dir`.
    pub fn new(base: Arc<Base>, db: &crate::engine::Db, dir: &Path) -> Result<Writes> {
        let log_path = dir.join("store-writes.jsonl");
        let log = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|source| Error::Write {
                path: log_path.clone(),
                source,
            })?;
        let (used_numbers, new_format) = db.numbers_in_use();
        let (now_ms, first_seq) = db.clock();
        Ok(Writes {
            base,
            log,
            log_path,
            log_len: 0,
            committed: FxHashMap::default(),
            inserted: BTreeMap::new(),
            created: BTreeMap::new(),
            used_numbers,
            new_format,
            migration: db.migration().to_owned(),
            now_ms,
            first_seq,
            committed_inserts: 0,
            counts: BTreeMap::new(),
            written_indexes: Default::default(),
            epoch: Epoch::default(),
        })
    }

    /// The store before the run.
    pub fn base(&self) -> &Arc<Base> {
        &self.base
    }

    /// A new transaction over the committed state, with one layer open;
    /// `record` keeps what it reads, for [`Writes::conflicts`].
    pub fn begin(&self, record: bool) -> Tx {
        let mut tx = Tx {
            layers: Vec::new(),
            layer_counts: Vec::new(),
            base_cache: RefCell::default(),
            reads: record.then(RefCell::default),
            seq_base: self.committed_inserts,
        };
        tx.open();
        tx
    }

    /// Forgets what was committed so far, for [`Writes::conflicts`]: the
    /// transactions begun from now on are checked against what follows.
    pub fn start_epoch(&mut self) {
        self.epoch = Epoch::default();
    }

    /// True when a recording transaction begun at the epoch's start may
    /// have seen something other than the state now: it read a document,
    /// scanned a table, or missed a table that was written or created
    /// since; or its new rows or tables clash with ones made since; or it
    /// read one of its own new rows whose `_creationTime` would now differ.
    pub fn conflicts(&self, f: &Finished) -> bool {
        let Some(reads) = &f.reads else {
            return true;
        };
        if reads.docs.iter().any(|k| self.epoch.docs.contains(k))
            || reads.tables.iter().any(|t| self.epoch.tables.contains(t))
            || reads
                .missing_names
                .iter()
                .any(|n| self.created.contains_key(n))
            || reads
                .missing_numbers
                .iter()
                .any(|n| self.created.values().any(|c| c == n))
            || (reads.saw_inserted && f.seq_base != self.committed_inserts)
        {
            return true;
        }
        let created_clash = f
            .layer
            .created
            .iter()
            .any(|(name, n)| match self.created.get(name) {
                Some(existing) => existing != n,
                None => self.created.values().any(|c| c == n),
            });
        created_clash
            || f.layer
                .inserted
                .iter()
                .any(|k| self.committed.contains_key(k))
    }

    /// Commits a finished transaction: its documents into the log, its new
    /// rows after the ones before (with the `_creationTime` their place in
    /// the run gives them), its counts into the run's.
    pub fn commit(&mut self, f: Finished) -> Result<()> {
        let Finished {
            mut layer,
            counts,
            seq_base,
            ..
        } = f;
        for (table, c) in counts {
            self.counts.entry(table).or_default().add(&c);
        }
        for (name, number) in layer.created {
            self.created.insert(name, number);
        }
        // New rows made in a transaction begun before other rows were
        // committed take their creation times from their place now.
        if seq_base != self.committed_inserts {
            for (i, key) in layer.inserted.iter().enumerate() {
                let seq = self.first_seq + self.committed_inserts + i as u64;
                let time = crate::engine::db::creation_time_for(self.now_ms, seq);
                let table = self.table_name_committed(key.0).unwrap_or_default();
                let format = self.format(&table);
                if let Some(Some(w)) = layer.docs.get_mut(key) {
                    let mut doc = w.doc(&format)?.clone();
                    doc.insert("_creationTime".into(), Value::Float64(time));
                    let bytes = encode_checked(doc.clone(), &format).map_err(Error::Usage)?;
                    *w = Written::new(bytes, Some(doc));
                }
            }
        }
        let indexes = self
            .written_indexes
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        let mut buf = Vec::new();
        let start = self.log_len;
        // In a fixed order: the log's layout is part of what a run does.
        let mut docs: Vec<(DocKey, Option<Written>)> = layer.docs.into_iter().collect();
        docs.sort_unstable_by_key(|a| a.0);
        for (key, doc) in docs {
            self.epoch.docs.insert(key);
            self.epoch.tables.insert(key.0);
            for ((t, spec), ix) in indexes.iter_mut() {
                if *t == key.0 {
                    let k = match &doc {
                        Some(w) => Some(key_of(&self.base, &self.new_format, spec, key, w)?),
                        None => None,
                    };
                    ix.set(&key.1, k, spec.by_id);
                }
            }
            let at = match doc {
                Some(w) => {
                    let off = start + buf.len() as u64;
                    buf.extend_from_slice(&w.bytes);
                    Some((off, w.bytes.len() as u32))
                }
                None => None,
            };
            self.committed.insert(key, at);
        }
        if !buf.is_empty() {
            self.log
                .write_all_at(&buf, start)
                .map_err(|source| Error::Write {
                    path: self.log_path.clone(),
                    source,
                })?;
            self.log_len += buf.len() as u64;
        }
        for (table, id) in layer.inserted {
            self.committed_inserts += 1;
            self.inserted.entry(table).or_default().push(id);
        }
        Ok(())
    }

    /// The number of a table: the snapshot's, or one this run created.
    pub fn number(&self, tx: &Tx, table: &str) -> Option<u32> {
        let n = self
            .base
            .table(table)
            .map(|(n, _)| n)
            .or_else(|| self.created.get(table).copied())
            .or_else(|| {
                tx.layers
                    .iter()
                    .rev()
                    .find_map(|l| l.created.iter().find(|(n, _)| n == table).map(|(_, n)| *n))
            });
        if n.is_none() {
            tx.note(|r| {
                r.missing_names.insert(table.to_owned());
            });
        }
        n
    }

    fn table_name_committed(&self, number: u32) -> Option<String> {
        if let Some(n) = self.base.table_name(number) {
            return Some(n.to_owned());
        }
        self.created
            .iter()
            .find(|(_, n)| **n == number)
            .map(|(name, _)| name.clone())
    }

    /// The name of the table with this number.
    pub fn table_name(&self, tx: &Tx, number: u32) -> Option<String> {
        let name = self.table_name_committed(number).or_else(|| {
            tx.layers.iter().find_map(|l| {
                l.created
                    .iter()
                    .find(|(_, n)| *n == number)
                    .map(|(name, _)| name.clone())
            })
        });
        if name.is_none() {
            tx.note(|r| {
                r.missing_numbers.insert(number);
            });
        }
        name
    }

    fn format_of(&self, number: u32) -> TableFormat {
        let table = self.table_name_committed(number).unwrap_or_default();
        self.format(&table)
    }

    fn format(&self, table: &str) -> TableFormat {
        self.base
            .table(table)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| self.new_format.clone())
    }

    fn read_log(&self, at: (u64, u32)) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; at.1 as usize];
        self.log
            .read_exact_at(&mut buf, at.0)
            .map_err(|source| Error::Read {
                path: self.log_path.clone(),
                source,
            })?;
        Ok(buf)
    }

    /// The current version of a document: `Some(None)` when the run deleted
    /// it, `None` when the run has not written it.
    fn written(&self, tx: &Tx, number: u32, id: &[u8; 16]) -> Result<Option<Option<Map>>> {
        let key = (number, *id);
        for layer in tx.layers.iter().rev() {
            if let Some(doc) = layer.docs.get(&key) {
                if tx.reads.is_some() && tx.inserted_here(&key) {
                    tx.note(|r| r.saw_inserted = true);
                }
                return match doc {
                    Some(w) => Ok(Some(Some(w.doc(&self.format_of(number))?.clone()))),
                    None => Ok(Some(None)),
                };
            }
        }
        tx.note(|r| {
            r.docs.insert(key);
        });
        match self.committed.get(&key) {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(at)) => {
                let table = self.table_name_committed(number).unwrap_or_default();
                decode(&self.read_log(*at)?, &self.format(&table)).map(|m| Some(Some(m)))
            }
        }
    }

    /// True when the run (or the transaction) has written this document.
    pub fn is_written(&self, tx: &Tx, number: u32, id: &[u8; 16]) -> bool {
        let key = (number, *id);
        self.committed.contains_key(&key) || tx.layers.iter().any(|l| l.docs.contains_key(&key))
    }

    /// A document as the transaction sees it now.
    pub fn get(&self, tx: &Tx, number: u32, id: &[u8; 16]) -> Result<Option<Map>> {
        if let Some(written) = self.written(tx, number, id)? {
            return Ok(written);
        }
        if let Some(line) = tx.base_cache.borrow().get(&(number, *id)) {
            let table = self.base.table_name(number).unwrap_or_default();
            return decode(line, &self.format(table)).map(Some);
        }
        let Some(table) = self.base.table_name(number) else {
            return Ok(None);
        };
        let Some(rows) = self.base.rows(table)? else {
            return Ok(None);
        };
        match rows.find(id) {
            Some(row) => rows.doc(row).map(Some),
            None => Ok(None),
        }
    }

    /// The documents of `table` in `spec`'s order (`descending` reverses
    /// it), within `range`, after the position `after` when given, that
    /// `keep` accepts, at most `limit` of them; as the transaction sees the
    /// table now: the base's index without the documents the run wrote,
    /// merged with the written ones at their current keys. Only the
    /// documents returned (or tested by `keep`) are read.
    #[allow(clippy::too_many_arguments)]
    pub fn scan_page(
        &self,
        tx: &Tx,
        table: &str,
        spec: &IndexSpec,
        range: &Range,
        after: Option<&IndexKey>,
        descending: bool,
        limit: Option<usize>,
        keep: Option<Keep<'_>>,
    ) -> Result<Vec<Found>> {
        let Some(number) = self.number(tx, table) else {
            return Ok(Vec::new());
        };
        tx.note(|r| {
            r.tables.insert(number);
            if tx
                .layers
                .iter()
                .any(|l| l.inserted.iter().any(|k| k.0 == number))
            {
                r.saw_inserted = true;
            }
        });
        let by_id = spec.by_id;
        let in_order = |a: &IndexKey, b: &IndexKey| {
            let c = a.cmp(b, by_id);
            if descending { c.reverse() } else { c }
        };
        let past_cursor = |k: &IndexKey| after.is_none_or(|a| in_order(k, a) == Ordering::Greater);
        // Source A: the base's index, within the range, from the cursor on.
        let sorted = self.base.sorted(table, spec)?;
        let rows = self.base.rows(table)?;
        let base: &[(IndexKey, u32)] = match &sorted {
            Some(s) => {
                let lo = s
                    .entries
                    .partition_point(|(k, _)| range.before(k, spec, number));
                let hi =
                    lo + s.entries[lo..].partition_point(|(k, _)| !range.after(k, spec, number));
                let part = &s.entries[lo..hi];
                match (after, descending) {
                    (None, _) => part,
                    (Some(a), false) => {
                        &part[part.partition_point(|(k, _)| k.cmp(a, by_id) != Ordering::Greater)..]
                    }
                    (Some(a), true) => {
                        &part[..part.partition_point(|(k, _)| k.cmp(a, by_id) == Ordering::Less)]
                    }
                }
            }
            None => &[],
        };
        // The base's entries in the scan's direction; their rows are read
        // ahead a window at a time (one read for rows side by side).
        let base_at = |k: usize| {
            (k < base.len()).then(|| &base[if descending { base.len() - 1 - k } else { k }])
        };
        let window = limit.map_or(256, |l| l.clamp(1, 1024));
        let mut ahead: FxHashMap<u32, Vec<u8>> = FxHashMap::default();
        let mut base_pos = 0usize;
        // Source B: committed writes, by their current keys.
        self.register_index(number, spec)?;
        let indexes = self
            .written_indexes
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let written = &indexes[&(number, spec.clone())];
        // From the cursor on, in the scan's direction, while in the range.
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map(|a| OrdKey(a.clone(), by_id));
        let tree: Box<dyn Iterator<Item = &OrdKey>> = match (&from, descending) {
            (None, false) => Box::new(written.keys.keys()),
            (None, true) => Box::new(written.keys.keys().rev()),
            (Some(f), false) => {
                Box::new(written.keys.range((Excluded(f), Unbounded)).map(|(k, _)| k))
            }
            (Some(f), true) => Box::new(
                written
                    .keys
                    .range((Unbounded, Excluded(f)))
                    .rev()
                    .map(|(k, _)| k),
            ),
        };
        let written_keys = tree
            .map(|k| &k.0)
            .skip_while(|k| {
                if descending {
                    range.after(k, spec, number)
                } else {
                    range.before(k, spec, number)
                }
            })
            .take_while(|k| {
                if descending {
                    !range.before(k, spec, number)
                } else {
                    !range.after(k, spec, number)
                }
            })
            .filter(|k| range.contains(k, spec, number));
        // Source C: open layers (the current call and page), newest first.
        // Borrowed, and cloned only when in the range: a long transaction
        // (a whole function) queries many times over many open writes.
        let format = self.format_of(number);
        let mut open: FxHashMap<[u8; 16], Option<&Map>> = FxHashMap::default();
        for layer in tx.layers.iter().rev() {
            for ((t, id), doc) in &layer.docs {
                if *t == number && !open.contains_key(id) {
                    let doc = match doc {
                        Some(w) => Some(w.doc(&format)?),
                        None => None,
                    };
                    open.insert(*id, doc);
                }
            }
        }
        let mut layered: Vec<(IndexKey, Map)> = open
            .values()
            .flatten()
            .map(|d| (IndexKey::of(spec, d), *d))
            .filter(|(k, _)| range.contains(k, spec, number) && past_cursor(k))
            .map(|(k, d)| (k, d.clone()))
            .collect();
        layered.sort_by(|a, b| in_order(&a.0, &b.0));
        let mut written_iter = written_keys.into_iter().peekable();
        let mut layered_iter = layered.into_iter().peekable();
        let mut next_base = base_at(0);
        let mut out = Vec::new();
        loop {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            // The smallest head of the three sources.
            let heads = [
                next_base.map(|(k, _)| k),
                written_iter.peek().copied(),
                layered_iter.peek().map(|(k, _)| k),
            ];
            let Some(pick) = (0..3)
                .filter(|i| heads[*i].is_some())
                .min_by(|a, b| in_order(heads[*a].expect("some"), heads[*b].expect("some")))
            else {
                break;
            };
            let candidate = match pick {
                0 => {
                    let (key, row) = next_base.expect("picked");
                    let at = base_pos;
                    base_pos += 1;
                    next_base = base_at(base_pos);
                    if self.is_written(tx, number, &key.id) {
                        continue;
                    }
                    let rows = rows.as_ref().expect("rows of an index");
                    if !ahead.contains_key(row) {
                        ahead.clear();
                        let next: Vec<u32> = (at..at + window)
                            .map_while(base_at)
                            .filter(|(k, _)| !self.is_written(tx, number, &k.id))
                            .map(|(_, r)| *r)
                            .collect();
                        ahead.extend(next.iter().copied().zip(rows.lines(&next)?));
                    }
                    let line = ahead.remove(row).expect("read ahead");
                    tx.base_cache
                        .borrow_mut()
                        .insert((number, key.id), line.clone());
                    Found {
                        key: key.clone(),
                        doc: None,
                        line: Some(line),
                        format: rows.format.clone(),
                    }
                }
                1 => {
                    let key = written_iter.next().expect("picked");
                    if open.contains_key(&key.id) {
                        continue; // an open layer has a newer version
                    }
                    match self.committed.get(&(number, key.id)) {
                        Some(Some(at)) => {
                            let table = self.table_name_committed(number).unwrap_or_default();
                            Found {
                                key: key.clone(),
                                doc: None,
                                line: Some(self.read_log(*at)?),
                                format: self.format(&table),
                            }
                        }
                        _ => continue,
                    }
                }
                _ => {
                    let (key, doc) = layered_iter.next().expect("picked");
                    Found {
                        key,
                        doc: Some(doc),
                        line: None,
                        format: TableFormat::Uniform,
                    }
                }
            };
            let mut candidate = candidate;
            let kept = match keep {
                None => true,
                Some(keep) => {
                    let doc = candidate.doc()?;
                    keep(&doc).map_err(Error::Usage)?
                }
            };
            if kept {
                out.push(candidate);
            }
        }
        Ok(out)
    }

    /// True when no document committed since the epoch began is among
    /// `ids`, or lies (by its key now) in the scan from `after` up to
    /// `last` (inclusive; to the range's end when `last` is `None`): then a
    /// scan now finds what a scan at the epoch's start found there.
    #[allow(clippy::too_many_arguments)]
    pub fn unchanged_since_epoch(
        &self,
        table: &str,
        spec: &IndexSpec,
        range: &Range,
        after: Option<&IndexKey>,
        last: Option<&IndexKey>,
        descending: bool,
        ids: &[[u8; 16]],
    ) -> Result<bool> {
        let Some(number) = self
            .base
            .table(table)
            .map(|(n, _)| n)
            .or_else(|| self.created.get(table).copied())
        else {
            return Ok(!self.created.contains_key(table));
        };
        if !self.epoch.tables.contains(&number) {
            return Ok(true);
        }
        if ids
            .iter()
            .any(|id| self.epoch.docs.contains(&(number, *id)))
        {
            return Ok(false);
        }
        self.register_index(number, spec)?;
        let indexes = self
            .written_indexes
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let written = &indexes[&(number, spec.clone())];
        let by_id = spec.by_id;
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let from = after.map(|a| OrdKey(a.clone(), by_id));
        let to = last.map(|l| OrdKey(l.clone(), by_id));
        let lower = |k: &Option<OrdKey>, incl: bool| match k {
            None => Unbounded,
            Some(k) if incl => Included(k.clone()),
            Some(k) => Excluded(k.clone()),
        };
        let keys: Box<dyn Iterator<Item = &OrdKey>> = if descending {
            Box::new(
                written
                    .keys
                    .range((lower(&to, true), lower(&from, false)))
                    .map(|(k, _)| k),
            )
        } else {
            Box::new(
                written
                    .keys
                    .range((lower(&from, false), lower(&to, true)))
                    .map(|(k, _)| k),
            )
        };
        for k in keys {
            if self.epoch.docs.contains(&(number, k.0.id)) && range.contains(&k.0, spec, number) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Starts keeping the committed writes of a table in `spec`'s order.
    fn register_index(&self, number: u32, spec: &IndexSpec) -> Result<()> {
        let key = (number, spec.clone());
        if self
            .written_indexes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&key)
        {
            return Ok(());
        }
        let mut index = WrittenIndex::default();
        for (k, at) in &self.committed {
            if k.0 != number {
                continue;
            }
            if let Some(at) = at {
                let table = self.table_name_committed(number).unwrap_or_default();
                let doc = decode(&self.read_log(*at)?, &self.format(&table))?;
                index.set(&k.1, Some(IndexKey::of(spec, &doc)), spec.by_id);
            }
        }
        self.written_indexes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert(index);
        Ok(())
    }

    /// Inserts a document (fields without system fields) into `table`; the
    /// new `_id` derives from the migration, the table and `source` (what
    /// made it: the calling document and a counter).
    pub fn insert(
        &self,
        tx: &mut Tx,
        table: &str,
        mut fields: Map,
        source: &str,
    ) -> std::result::Result<String, String> {
        value::check_identifier(table).map_err(|e| format!("Invalid table name: {e}"))?;
        let number = match self.number(tx, table) {
            Some(n) => n,
            None => {
                let n = (10001..)
                    .find(|n| {
                        !self.used_numbers.contains(n)
                            && self.table_name_committed(*n).is_none()
                            && !tx
                                .layers
                                .iter()
                                .any(|l| l.created.iter().any(|(_, c)| c == n))
                    })
                    .expect("a free table number");
                tx.layers
                    .last_mut()
                    .expect("an open layer")
                    .created
                    .push((table.to_owned(), n));
                n
            }
        };
        let rows = self.base.rows(table).map_err(|e| format!("{e:#}"))?;
        let internal =
            new_internal_id_avoiding(&self.migration, table, source, self.now_ms, |id| {
                rows.as_ref().is_some_and(|r| r.find(id).is_some())
                    || self.is_written(tx, number, id)
            });
        let id = DocumentId::new(number, internal).encode();
        let seq = self.first_seq + tx.seq_base + tx.pending_inserts();
        fields.insert("_id".into(), Value::String(id.clone()));
        fields.insert(
            "_creationTime".into(),
            Value::Float64(crate::engine::db::creation_time_for(self.now_ms, seq)),
        );
        let bytes = encode_checked(fields.clone(), &self.format(table))?;
        let layer = tx.layers.last_mut().expect("an open layer");
        layer
            .docs
            .insert((number, internal), Some(Written::new(bytes, Some(fields))));
        layer.inserted.push((number, internal));
        count(tx, table).inserted += 1;
        Ok(id)
    }

    /// The current row of a document and its table's format (`None` when
    /// it does not exist), as [`Writes::get`] sees it, without decoding.
    pub fn row(
        &self,
        tx: &Tx,
        number: u32,
        id: &[u8; 16],
    ) -> Result<Option<(Vec<u8>, TableFormat)>> {
        let key = (number, *id);
        let format = self.format_of(number);
        for layer in tx.layers.iter().rev() {
            if let Some(doc) = layer.docs.get(&key) {
                if tx.reads.is_some() && tx.inserted_here(&key) {
                    tx.note(|r| r.saw_inserted = true);
                }
                return Ok(doc.as_ref().map(|w| (w.bytes.clone(), format)));
            }
        }
        tx.note(|r| {
            r.docs.insert(key);
        });
        match self.committed.get(&key) {
            Some(None) => return Ok(None),
            Some(Some(at)) => return Ok(Some((self.read_log(*at)?, format))),
            None => {}
        }
        if let Some(line) = tx.base_cache.borrow().get(&key) {
            return Ok(Some((line.clone(), format)));
        }
        let Some(table) = self.base.table_name(number) else {
            return Ok(None);
        };
        let Some(rows) = self.base.rows(table)? else {
            return Ok(None);
        };
        match rows.find(id) {
            Some(row) => Ok(Some((rows.line(row)?, format))),
            None => Ok(None),
        }
    }

    /// Writes a new version of an existing document (a patch or a
    /// replacement, `replaced` says which for the counts); the caller has
    /// checked that it differs from the current one.
    pub fn put(
        &self,
        tx: &mut Tx,
        number: u32,
        id: &[u8; 16],
        new: Map,
        replaced: bool,
    ) -> std::result::Result<(), String> {
        let table = self.table_name(tx, number).unwrap_or_default();
        let (new, bytes) = crate::engine::db::encode_checked_map(new, &self.format(&table));
        let bytes = bytes?;
        self.put_written(
            tx,
            number,
            id,
            Written::new(bytes, Some(new)),
            &table,
            replaced,
        );
        Ok(())
    }

    /// Writes a patched row (see [`value::patch_row`]) of an existing
    /// document.
    pub fn put_row(&self, tx: &mut Tx, number: u32, id: &[u8; 16], row: Vec<u8>) {
        let table = self.table_name(tx, number).unwrap_or_default();
        self.put_written(tx, number, id, Written::new(row, None), &table, false);
    }

    fn put_written(
        &self,
        tx: &mut Tx,
        number: u32,
        id: &[u8; 16],
        w: Written,
        table: &str,
        replaced: bool,
    ) {
        tx.layers
            .last_mut()
            .expect("an open layer")
            .docs
            .insert((number, *id), Some(w));
        let c = count(tx, table);
        if replaced {
            c.replaced += 1;
        } else {
            c.patched += 1;
        }
    }

    /// Deletes a document.
    pub fn delete(&self, tx: &mut Tx, number: u32, id: &[u8; 16]) {
        let table = self.table_name(tx, number).unwrap_or_default();
        tx.layers
            .last_mut()
            .expect("an open layer")
            .docs
            .insert((number, *id), None);
        count(tx, &table).deleted += 1;
    }

    /// The run's result, table by table: each changed table's rows in a new
    /// file (unchanged rows as they were, changed ones in place, deleted
    /// ones gone, new ones at the end in the order they were made), written
    /// into the `Db`.
    pub fn apply(self, db: &mut crate::engine::Db) -> Result<()> {
        use std::io::Write as _;
        let mut touched: BTreeSet<u32> = self.committed.keys().map(|(t, _)| *t).collect();
        touched.extend(self.inserted.keys());
        for number in touched {
            let table = self.table_name_committed(number).expect("a known table");
            let path = db.temp_file("rewrite");
            let werr = |source| Error::Write {
                path: path.clone(),
                source,
            };
            let mut out =
                std::io::BufWriter::with_capacity(1 << 20, File::create(&path).map_err(werr)?);
            let mut changes = crate::engine::TableChanges::default();
            if let Some(rows) = self.base.rows(&table)? {
                rows.each_line(|i, line| {
                    let written = rows
                        .id_of(i)
                        .and_then(|id| self.committed.get(&(number, id)).copied());
                    match written {
                        None => {
                            out.write_all(line).map_err(werr)?;
                            out.write_all(b"\n").map_err(werr)?;
                        }
                        Some(None) => changes.deleted += 1,
                        Some(Some(at)) => {
                            changes.updated += 1;
                            out.write_all(&self.read_log(at)?).map_err(werr)?;
                            out.write_all(b"\n").map_err(werr)?;
                        }
                    }
                    Ok(())
                })?;
            }
            for id in self.inserted.get(&number).into_iter().flatten() {
                if let Some(Some(at)) = self.committed.get(&(number, *id)) {
                    changes.inserted += 1;
                    out.write_all(&self.read_log(*at)?).map_err(werr)?;
                    out.write_all(b"\n").map_err(werr)?;
                }
            }
            out.flush().map_err(werr)?;
            drop(out);
            db.set_table(&table, number, path, changes);
        }
        Ok(())
    }
}

/// A written document's key in `spec`: from its row's `_creationTime`
/// alone when the index has no fields, else from its value.
fn key_of(
    base: &Base,
    new_format: &TableFormat,
    spec: &IndexSpec,
    key: DocKey,
    w: &Written,
) -> Result<IndexKey> {
    if spec.fields.is_empty()
        && w.doc.get().is_none()
        && let Some(span) = value::top_level_value(&w.bytes, "_creationTime")
        && let Ok(t) = std::str::from_utf8(&w.bytes[span])
            .unwrap_or("")
            .parse::<f64>()
    {
        return Ok(IndexKey {
            values: Box::new([]),
            creation_time: t,
            id: key.1,
        });
    }
    let format = base
        .table_name(key.0)
        .and_then(|t| base.table(t))
        .map_or_else(|| new_format.clone(), |(_, f)| f.clone());
    Ok(IndexKey::of(spec, w.doc(&format)?))
}

fn count<'t>(tx: &'t mut Tx, table: &str) -> &'t mut Counts {
    tx.layer_counts
        .last_mut()
        .expect("an open layer")
        .entry(table.to_owned())
        .or_default()
}
