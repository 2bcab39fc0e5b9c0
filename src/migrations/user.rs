//! A migration from the user's own functions folder: `migrateOne` of
//! `@convex-dev/migrations` or convex-helpers' `makeMigration`, run in the
//! embedded JavaScript engine with the component's semantics:
//!
//! - documents are visited in pages of the migration's batch size, in the
//!   order of the table's index (`by_creation_time`, or `customRange`'s
//!   index, bounds and filter); each page is read when it starts, so each
//!   call receives its document as the page read it;
//! - a full page is always followed by one more, so documents inserted into
//!   the table meanwhile are visited when a page reaches them;
//! - each call runs after the one before it (a page at once with
//!   `parallelize`), and `ctx.db` sees every write made before it;
//! - a returned object with keys is applied as `ctx.db.patch`.
//!
//! A call that throws, or asks for something that cannot exist offline, is
//! listed with its `_id`, message and stack, and the run fails (nothing is
//! written). With `--on-throw stop`, the run does instead what the
//! deployment does: the failing page rolls back, the pages before it stay,
//! and the migration stops there.

use std::collections::BTreeMap;
use std::sync::Arc;

mod stream;

use sha2::{Digest, Sha256};

use super::{LogLine, Migration, Mode, Outcome};
use crate::engine::db::same_value;
use crate::engine::store::{
    Base, Finished, Found as Scanned, IndexKey, IndexSpec, Keep, Range, SchemaIndexes, Tx, Writes,
    compare_values, field,
};
use crate::engine::{Db, DocError};
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::js::{self, Export, FunctionName, Host, JsError, Limits, Project, Worker};
use crate::limits::{Crossing, LimitMode, TxMeter, doc_size, doc_size_with_system};
use crate::progress::Progress;
use crate::value::{self, Map, Spliced, TableFormat, Value};

/// What to do when a call throws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnThrow {
    /// Go on to find every document that throws; the run fails.
    #[default]
    List,
    /// As the deployment: the failing page rolls back, the migration stops.
    Stop,
}

/// A migration of the user's functions folder.
pub struct UserMigration {
    pub project: Arc<Project>,
    pub name: FunctionName,
    /// The module file (`migrations.ts`) and its export.
    pub file: String,
    pub display: String,
    pub on_throw: OnThrow,
    pub limits: Limits,
    /// Run it even where the snapshot's migrations component records it as
    /// done (the component's `reset: true`).
    pub reset: bool,
}

impl Migration for UserMigration {
    fn name(&self) -> &str {
        &self.display
    }

    fn description(&self) -> &'static str {
        "a migration of the functions folder"
    }

    fn has_modes(&self) -> bool {
        false
    }

    fn run(&self, db: &mut Db, _mode: Mode) -> Result<Outcome> {
        run(self, db)
    }
}

/// The schema's indexes (`schema.ts`'s default export), per table.
pub(super) fn schema_indexes(worker: &Worker) -> std::result::Result<SchemaIndexes, JsError> {
    let Some(file) = worker.project().schema_file() else {
        return Ok(BTreeMap::new());
    };
    let json = worker.eval_export(&file, "default", "(s) => JSON.stringify(Object.fromEntries(Object.entries((s && s.tables) || {}).map(([t, d]) => [t, (d.indexes || []).map((i) => [i.indexDescriptor, i.fields])])))")?;
    serde_json::from_str(&json).map_err(|e| JsError {
        message: format!("internal: reading the schema's indexes: {e}"),
        stack: None,
    })
}

/// `Math.random()`'s seed for a call: from the migration and the document.
pub(super) fn seed(migration: &str, id: &str) -> [u32; 4] {
    let mut h = Sha256::new();
    h.update(migration.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    let d = h.finalize();
    std::array::from_fn(|i| u32::from_le_bytes(d[4 * i..4 * i + 4].try_into().expect("4 bytes")))
}

/// What the snapshot's migrations component records about one migration.
struct ComponentState {
    done: bool,
    processed: f64,
    cursor: Option<String>,
}

/// The row of the migration `name` in the `migrations` table of the
/// component at `path` (as `@convex-dev/migrations` keeps its state:
/// `name`, `isDone`, `cursor`, `processed`), if the snapshot has one.
fn component_state(
    snap: &crate::snapshot::Snapshot,
    path: &str,
    name: &str,
) -> Result<Option<ComponentState>> {
    let at = crate::layout::ComponentPath(path.split('/').map(str::to_owned).collect());
    let Some(entry) = snap
        .components
        .get(&at)
        .and_then(|c| c.tables.get("migrations"))
        .and_then(|t| t.documents)
    else {
        return Ok(None);
    };
    let data = snap.archive.read_all(entry)?;
    for line in data.split(|b| *b == b'\n') {
        // The preflight has checked every line is a JSON object.
        let Ok(row) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if row["name"].as_str() == Some(name) {
            return Ok(Some(ComponentState {
                done: row["isDone"].as_bool() == Some(true),
                processed: row["processed"].as_f64().unwrap_or(0.0),
                cursor: row["cursor"].as_str().map(str::to_owned),
            }));
        }
    }
    Ok(None)
}

/// The visit order of a migration: its index, range, filters and direction.
struct Order {
    table: String,
    spec: IndexSpec,
    range: Range,
    filters: Vec<serde_json::Value>,
    descending: bool,
}

pub(super) fn js_error(context: &str, e: JsError) -> Error {
    Error::Usage(format!("{context}: {}", e.with_location()))
}

/// Documents per chunk of pages run ahead in one fresh runtime, and chunks
/// per window. Both are fixed, so which pages run ahead, and in which
/// runtime, never depends on the number of threads.
const CHUNK_DOCS: usize = 2048;
const WINDOW_CHUNKS: usize = 16;

/// A page as a scan found it: its documents, the cursor before it.
struct Planned {
    after: Option<IndexKey>,
    found: Vec<Scanned>,
}

impl Planned {
    fn full(&self, batch: usize) -> bool {
        self.found.len() == batch
    }
    fn ids(&self) -> Vec<[u8; 16]> {
        self.found.iter().map(|f| f.key.id).collect()
    }
    fn last(&self) -> Option<&IndexKey> {
        self.found.last().map(|f| &f.key)
    }
}

/// A page ready for JavaScript: the documents as one JSON array, which of
/// them hold tagged values, their `_id`s and seeds.
struct PageDocs {
    text: String,
    tagged: Vec<u32>,
    ids: Vec<String>,
    seeds: Vec<u32>,
    /// Each document's size as the page read it (its text's length: an
    /// estimate of Convex's size, for the limits).
    sizes: Vec<usize>,
}

fn page_docs(m: &UserMigration, number: u32, found: &mut [Scanned]) -> Result<PageDocs> {
    let mut text = String::with_capacity(found.len() * 1024 + 2);
    let mut tagged = Vec::new();
    let mut ids = Vec::with_capacity(found.len());
    let mut seeds = Vec::with_capacity(4 * found.len());
    let mut sizes = Vec::with_capacity(found.len());
    text.push('[');
    for (i, f) in found.iter_mut().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let before = text.len();
        let plain = match (&f.line, f.decoded()) {
            (Some(line), None) => js::bridge::plain_row(line, f.format()),
            _ => None,
        };
        match plain {
            Some(row) => text.push_str(row),
            None => {
                let t = js::bridge::encode(&Value::Object(f.doc()?));
                if t.starts_with('T') {
                    tagged.push(i as u32);
                }
                text.push_str(&t[1..]);
            }
        }
        sizes.push(text.len() - before);
        let id = DocumentId::new(number, f.key.id).encode();
        seeds.extend(seed(&m.display, &id));
        ids.push(id);
    }
    text.push(']');
    Ok(PageDocs {
        text,
        tagged,
        ids,
        seeds,
        sizes,
    })
}

/// What running one page gave: its writes (unless it stopped), the calls
/// that failed, what they printed.
struct PageRun {
    finished: Option<Finished>,
    errors: Vec<(u32, JsError)>,
    logs: Vec<LogLine>,
    /// The first of Convex's limits the page's transaction crossed.
    crossing: Option<Crossing>,
}

/// What a migration needs to run a page.
struct Job<'a> {
    m: &'a UserMigration,
    number: u32,
    parallel: bool,
    now_ms: f64,
    limits: LimitMode,
}

impl Job<'_> {
    fn worker(&self) -> Result<Worker> {
        Worker::new(self.m.project.clone(), self.now_ms, self.m.limits)
            .map_err(|e| js_error("starting the JavaScript engine", e))
    }

    /// Runs a page in `worker` over the committed state of `writes`
    /// (recording what it reads when `record`). A call that stops the whole
    /// page (its time or the memory ran out) fails alone: the page runs
    /// again without it.
    fn run(
        &self,
        worker: &mut Worker,
        writes: &Arc<Writes>,
        found: &mut [Scanned],
        record: bool,
    ) -> Result<PageRun> {
        let docs = page_docs(self.m, self.number, found)?;
        let stop = self.m.on_throw == OnThrow::Stop;
        let mut skip: Vec<u32> = Vec::new();
        let mut aborted: Vec<(u32, JsError)> = Vec::new();
        // The page's rows, kept for its calls' reads of their documents.
        let mut rows: rustc_hash::FxHashMap<_, _> = found
            .iter_mut()
            .filter_map(|f| Some(((self.number, f.key.id), f.line.take()?)))
            .collect();
        loop {
            let tx = writes.begin(record);
            tx.remember(std::mem::take(&mut rows));
            let mut meter = TxMeter::new(self.limits);
            // The component's own read of the page: one range, its
            // documents.
            let page_at = || {
                format!(
                    "the page read of {} (the component's)",
                    docs.ids.first().map_or("", String::as_str)
                )
            };
            meter
                .range("page", &page_at)
                .map_err(|e| Error::Usage(format!("{}: {e}", self.m.display)))?;
            for size in &docs.sizes {
                meter
                    .read(*size, &page_at)
                    .map_err(|e| Error::Usage(format!("{}: {e}", self.m.display)))?;
            }
            let host = PageHost {
                writes: writes.clone(),
                tx,
                ids: docs.ids.clone(),
                current: None,
                inserts: 0,
                logs: Vec::new(),
                meter,
            };
            let (r, host) = worker.with_host(host, |w| {
                w.run_page(
                    &self.m.file,
                    &self.m.name.export,
                    docs.text.clone(),
                    docs.tagged.clone(),
                    docs.seeds.clone(),
                    self.parallel,
                    stop,
                    skip.clone(),
                )
            });
            match r {
                Ok(mut errors) => {
                    let PageHost {
                        mut tx,
                        logs,
                        mut meter,
                        ..
                    } = host;
                    while tx.depth() > 1 {
                        tx.discard();
                    }
                    errors.extend(aborted);
                    errors.sort_by_key(|(i, _)| *i);
                    return Ok(PageRun {
                        finished: Some(tx.finish()),
                        errors,
                        logs,
                        crossing: meter.take_crossing(),
                    });
                }
                Err(abort) => {
                    let PageHost {
                        mut tx,
                        logs,
                        mut meter,
                        ..
                    } = host;
                    rows = tx.forget();
                    let Some(call) = abort.call.filter(|c| !skip.contains(c)) else {
                        return Err(js_error(&self.m.display, abort.error));
                    };
                    if abort.fatal {
                        *worker = self.worker()?;
                    }
                    aborted.push((call, abort.error));
                    if stop {
                        return Ok(PageRun {
                            finished: None,
                            errors: aborted,
                            logs,
                            crossing: meter.take_crossing(),
                        });
                    }
                    skip.push(call);
                }
            }
        }
    }
}

/// The run so far: what its pages gave, where it is.
struct Tally<'a> {
    table: &'a str,
    number: u32,
    batch: usize,
    parallel: bool,
    stop: bool,
    errors: Vec<DocError>,
    logs: Vec<LogLine>,
    visited: u64,
    pages: u64,
    stopped_at: Option<(u64, String)>,
    cursor: Option<IndexKey>,
    progress: Progress,
    /// The pages that crossed one of Convex's limits, with the first each
    /// crossed.
    crossings: Vec<(u64, Crossing)>,
}

impl Tally<'_> {
    /// Takes a page's result in order: commits its writes (unless it
    /// failed as a whole), notes its failures and lines. True when the
    /// migration is over (the page was not full, or it threw and the run
    /// stops as the deployment does).
    fn take(&mut self, writes: &mut Arc<Writes>, found: &[Scanned], run: PageRun) -> Result<bool> {
        self.pages += 1;
        self.visited += found.len() as u64;
        self.progress.inc(found.len() as u64);
        if let Some(last) = found.last() {
            self.cursor = Some(last.key.clone());
        }
        let id_of = |i: u32| {
            found
                .get(i as usize)
                .map(|f| DocumentId::new(self.number, f.key.id).encode())
                .unwrap_or_default()
        };
        let failed = !run.errors.is_empty();
        let note = if self.parallel {
            " (in a page run with parallelize)"
        } else {
            ""
        };
        for (i, e) in &run.errors {
            self.errors.push(doc_error(self.table, &id_of(*i), e, note));
        }
        self.logs.extend(run.logs);
        if let Some(c) = run.crossing {
            self.crossings.push((self.pages, c));
        }
        if failed && self.stop {
            self.stopped_at = Some((self.pages, id_of(0)));
            return Ok(true);
        }
        if let Some(f) = run.finished
            && !(failed && self.parallel)
        {
            writes_mut(writes).commit(f)?;
        }
        Ok(found.len() < self.batch)
    }
}

pub(super) fn writes_mut(w: &mut Arc<Writes>) -> &mut Writes {
    Arc::get_mut(w).expect("no page holds the writes between pages")
}

/// Runs the planned pages over the committed state, recording their reads,
/// a chunk of pages per fresh runtime, chunks side by side on as many
/// threads as the run has. The threads are the run's own, not the thread
/// pool's: what user code reads may load a table, which uses the pool, and
/// a pool thread must never wait for work queued behind it.
fn run_ahead(
    job: &Job<'_>,
    writes: &Arc<Writes>,
    plan: &mut [Planned],
    chunk_pages: usize,
) -> Vec<Result<Vec<PageRun>>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let chunks: Vec<Mutex<&mut [Planned]>> = plan.chunks_mut(chunk_pages).map(Mutex::new).collect();
    let results: Vec<Mutex<Option<Result<Vec<PageRun>>>>> =
        chunks.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = rayon::current_num_threads().clamp(1, chunks.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(i) else { break };
                    let mut chunk = chunk.lock().unwrap_or_else(|p| p.into_inner());
                    let r = job.worker().and_then(|mut w| {
                        chunk
                            .iter_mut()
                            .map(|p| job.run(&mut w, writes, &mut p.found, true))
                            .collect()
                    });
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every chunk ran")
        })
        .collect()
}

fn run(m: &UserMigration, db: &mut Db) -> Result<Outcome> {
    let (now_ms, _) = db.clock();
    let mut worker = Worker::new(m.project.clone(), now_ms as f64, m.limits)
        .map_err(|e| js_error("starting the JavaScript engine", e))?;
    let export = m.name.export.as_str();
    let (table, batch, parallelize) = worker
        .migration_settings(&m.file, export)
        .map_err(|e| js_error(&m.display, e))?;
    // What the deployment's migrations component already did, as the
    // snapshot records it (its `migrations` table): a migration it marks
    // done is skipped, as the component's `migrate` skips it.
    let mut notes = Vec::new();
    let component = worker
        .eval_export(
            &m.file,
            export,
            "(f) => (f && f.__migration && f.__migration.component) || ''",
        )
        .map_err(|e| js_error(&m.display, e))?;
    if let Some(state) = (!component.is_empty() && !m.reset)
        .then(|| component_state(db.snapshot(), &component, &m.display))
        .transpose()?
        .flatten()
    {
        if state.done {
            let mut out = Outcome::default();
            out.count("visited", 0).count("pages", 0).count("failed", 0);
            out.result.push(("alreadyDone", true.into()));
            out.warnings.push(format!(
                "already done on the deployment: the snapshot's {component} component records {} as done ({} documents processed), so the component skips it, and so did this run (--reset runs it anyway)",
                m.display, state.processed
            ));
            return Ok(out);
        }
        if state.cursor.is_some() {
            notes.push(format!(
                "the snapshot's {component} component records {} as stopped partway, at a cursor of the deployment's own that cannot be read offline: this run went through every document, from the first",
                m.display
            ));
        }
    }
    let indexes = schema_indexes(&worker).map_err(|e| js_error("loading schema.ts", e))?;
    let batch = if batch.is_finite() && batch >= 1.0 {
        batch as usize
    } else {
        100
    };
    if let Some(table_format) = stream::eligible(m, db, &worker, &table, parallelize) {
        let plan = stream::Plan {
            table: &table,
            batch,
            now_ms: now_ms as f64,
            notes: notes.clone(),
        };
        if let Some(out) = stream::run(m, db, plan, table_format)? {
            return Ok(out);
        }
    }
    let scratch = crate::scratch::Scratch::new_in(db.temp_dir())?;
    let base = Arc::new(Base::new(db, scratch.path(), indexes)?);
    let mut writes = Arc::new(Writes::new(base.clone(), db, scratch.path())?);
    let order = order_of(&worker, m, &table, &base)?;
    let number = base.table(&order.table).map_or(0, |(n, _)| n);
    let job = Job {
        m,
        number,
        parallel: parallelize,
        now_ms: now_ms as f64,
        limits: db.limit_mode(),
    };
    let chunk_pages = CHUNK_DOCS.div_ceil(batch).max(1);
    let window_pages = chunk_pages * WINDOW_CHUNKS;

    let mut tally = Tally {
        table: &table,
        number,
        batch,
        parallel: parallelize,
        stop: m.on_throw == OnThrow::Stop,
        errors: Vec::new(),
        logs: Vec::new(),
        visited: 0,
        pages: 0,
        stopped_at: None,
        cursor: None,
        crossings: Vec::new(),
        progress: db.docs_progress(
            &order.table,
            base.rows(&order.table)?.map_or(0, |r| r.len() as u64),
        ),
    };
    // Pages to run in order before running ahead again (after a window
    // where most pages had to run again).
    let mut in_order = 0usize;
    let mut done = false;
    while !done {
        writes_mut(&mut writes).start_epoch();
        if in_order > 0 {
            in_order -= 1;
            let probe = writes.begin(false);
            let mut found = next_page(&writes, &probe, &order, tally.cursor.as_ref(), batch)?;
            drop(probe);
            let run = job.run(&mut worker, &writes, &mut found, false)?;
            done = tally.take(&mut writes, &found, run)?;
            continue;
        }
        // The next pages as the state now gives them, run ahead side by
        // side (a chunk of pages per fresh runtime) over that state.
        let mut plan: Vec<Planned> = Vec::new();
        let probe = writes.begin(false);
        let mut after = tally.cursor.clone();
        while plan.len() < window_pages {
            let found = next_page(&writes, &probe, &order, after.as_ref(), batch)?;
            let p = Planned {
                after: after.clone(),
                found,
            };
            after = p.last().cloned().or(after);
            let full = p.full(batch);
            plan.push(p);
            if !full {
                break;
            }
        }
        drop(probe);
        let mut runs = Vec::with_capacity(plan.len());
        for r in run_ahead(&job, &writes, &mut plan, chunk_pages) {
            runs.extend(r?);
        }
        // Then in order: a page whose documents and reads nothing since
        // has changed is taken as it ran; any other runs again.
        let planned = plan.len();
        let mut reran = 0usize;
        for (p, run) in plan.into_iter().zip(runs) {
            let same_page = writes.unchanged_since_epoch(
                &order.table,
                &order.spec,
                &order.range,
                p.after.as_ref(),
                if p.full(batch) { p.last() } else { None },
                order.descending,
                &p.ids(),
            )?;
            let valid = same_page && run.finished.as_ref().is_some_and(|f| !writes.conflicts(f));
            if valid {
                done = tally.take(&mut writes, &p.found, run)?;
            } else {
                reran += 1;
                drop(run);
                let probe = writes.begin(false);
                let mut found = next_page(&writes, &probe, &order, tally.cursor.as_ref(), batch)?;
                drop(probe);
                let run = job.run(&mut worker, &writes, &mut found, false)?;
                done = tally.take(&mut writes, &found, run)?;
                if !same_page {
                    // The pages planned after it may start elsewhere now.
                    break;
                }
            }
            if done {
                break;
            }
        }
        if reran * 2 > planned {
            in_order = planned;
        }
    }
    tally.progress.finish();
    let Tally {
        errors,
        logs,
        visited,
        pages,
        stopped_at,
        crossings,
        ..
    } = tally;
    let mut out = Outcome::default();
    let writes = Arc::try_unwrap(writes)
        .map_err(|_| Error::Usage("internal: the writes are still shared after the run".into()))?;
    let counts = writes.counts.clone();
    let failed_docs = errors.len();
    if failed_docs == 0 || m.on_throw == OnThrow::Stop {
        writes.apply(db)?;
    }
    drop(scratch);
    out.count("visited", visited)
        .count("pages", pages)
        .count("failed", failed_docs as u64);
    out.result.push((
        "writes",
        serde_json::to_value(&counts).expect("serializable"),
    ));
    out.result.push(("streamed", false.into()));
    if let Some((page, first)) = &stopped_at {
        out.warnings.push(format!(
            "stopped as the deployment would: page {page} (starting at {first}) threw and rolled back; the pages before it were kept, the rest untouched"
        ));
        out.fails_run = Some(format!("{} stopped at page {page}", m.display));
    } else if failed_docs > 0 {
        out.fails_run = Some(threw(failed_docs, &table, &m.display));
    }
    out.warnings
        .extend(limits_warning(&m.display, &crossings, pages));
    out.errors = errors;
    out.logs = logs;
    out.warnings.extend(notes);
    Ok(out)
}

/// Why a run where `failed` documents of `table` threw fails.
fn threw(failed: usize, table: &str, display: &str) -> String {
    format!(
        "{failed} document(s) of {table} threw in {display}; nothing is written (see --on-throw stop to keep what the deployment would)"
    )
}

/// The warning for a run of `pages` pages, of which `crossings` crossed one
/// of Convex's limits (the first each crossed).
fn limits_warning(display: &str, crossings: &[(u64, Crossing)], pages: u64) -> Option<String> {
    let (page, first) = crossings.first()?;
    let what = format!("page {page} of {display}");
    let others = match crossings.len() {
        1 => String::new(),
        n => format!(" ({n} of its {pages} pages cross a limit; this is the first)"),
    };
    Some(format!("limits: {}{others}", first.describe(&what)))
}

fn doc_error(table: &str, id: &str, e: &JsError, note: &str) -> DocError {
    DocError {
        table: table.to_owned(),
        id: id.to_owned(),
        reason: format!("{}{note}", e.with_location()),
        stack: e.stack.clone().filter(|s| !s.is_empty()),
    }
}

/// The migration's visit order: `customRange`'s query, or the table by
/// `by_creation_time`.
fn order_of(worker: &Worker, m: &UserMigration, table: &str, base: &Base) -> Result<Order> {
    let desc = worker
        .custom_range(&m.file, &m.name.export)
        .map_err(|e| js_error(&format!("{}: customRange", m.display), e))?;
    let Some(desc) = desc else {
        return Ok(Order {
            table: table.to_owned(),
            spec: IndexSpec::by_creation_time(),
            range: Range::default(),
            filters: Vec::new(),
            descending: false,
        });
    };
    let q = Query::parse(&desc, base)
        .map_err(|e| Error::Usage(format!("{}: customRange: {e}", m.display)))?;
    Ok(Order {
        table: q.table,
        spec: q.spec,
        range: q.range,
        filters: q.filters,
        descending: q.descending,
    })
}

/// The next page: up to `n` documents after `cursor` in the order, as the
/// run sees the table now.
fn next_page(
    writes: &Writes,
    tx: &Tx,
    order: &Order,
    cursor: Option<&IndexKey>,
    n: usize,
) -> Result<Vec<Scanned>> {
    let keep = |doc: &Map| passes(&order.filters, doc);
    writes.scan_page(
        tx,
        &order.table,
        &order.spec,
        &order.range,
        cursor,
        order.descending,
        Some(n),
        (!order.filters.is_empty()).then_some(&keep as Keep<'_>),
    )
}

/// A query from user code, parsed.
struct Query {
    table: String,
    system: bool,
    spec: IndexSpec,
    range: Range,
    filters: Vec<serde_json::Value>,
    descending: bool,
}

impl Query {
    fn parse(desc: &str, base: &Base) -> std::result::Result<Query, String> {
        let d: serde_json::Value =
            serde_json::from_str(desc).map_err(|e| format!("internal: {e}"))?;
        let table = d["table"].as_str().unwrap_or_default().to_owned();
        let system = d["system"].as_bool().unwrap_or(false);
        let spec = match d["index"].as_str() {
            None => IndexSpec::by_creation_time(),
            Some(name) => base.index_spec(&table, name)?,
        };
        let mut ops = Vec::new();
        for op in d["range"].as_array().into_iter().flatten() {
            let value = js::bridge::from_json(&op[2])?;
            ops.push((
                op[0].as_str().unwrap_or_default().to_owned(),
                op[1].as_str().unwrap_or_default().to_owned(),
                value,
            ));
        }
        let range = Range::new(&spec, ops)?;
        let filters = d["filters"].as_array().cloned().unwrap_or_default();
        let descending = d["order"].as_str() == Some("desc");
        Ok(Query {
            table,
            system,
            spec,
            range,
            filters,
            descending,
        })
    }
}

/// True when every filter holds for `doc`.
fn passes(filters: &[serde_json::Value], doc: &Map) -> std::result::Result<bool, String> {
    for f in filters {
        if eval(f, doc)? != Some(Value::Bool(true)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A filter expression's value on `doc` (`None` is `undefined`).
fn eval(e: &serde_json::Value, doc: &Map) -> std::result::Result<Option<Value>, String> {
    let op = e["__expr"].as_str().unwrap_or_default();
    if op == "field" {
        return Ok(field(doc, e["path"].as_str().unwrap_or_default()).cloned());
    }
    if op == "literal" {
        return js::bridge::from_json(&e["value"]);
    }
    let args: Vec<Option<Value>> = e["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| eval(a, doc))
        .collect::<std::result::Result<_, _>>()?;
    let cmp = |i: usize, j: usize| compare_values(args[i].as_ref(), args[j].as_ref());
    let boolean = |v: &Option<Value>| match v {
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(format!(
            "q.{op} needs booleans, got {}",
            other.as_ref().map_or("undefined", Value::type_name)
        )),
    };
    use std::cmp::Ordering::*;
    Ok(Some(match op {
        "eq" => Value::Bool(cmp(0, 1) == Equal),
        "neq" => Value::Bool(cmp(0, 1) != Equal),
        "lt" => Value::Bool(cmp(0, 1) == Less),
        "lte" => Value::Bool(cmp(0, 1) != Greater),
        "gt" => Value::Bool(cmp(0, 1) == Greater),
        "gte" => Value::Bool(cmp(0, 1) != Less),
        "and" => Value::Bool(
            args.iter()
                .map(boolean)
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .all(|b| b),
        ),
        "or" => Value::Bool(
            args.iter()
                .map(boolean)
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .any(|b| b),
        ),
        "not" => Value::Bool(!boolean(&args[0])?),
        "add" | "sub" | "mul" | "div" | "mod" | "neg" => return arithmetic(op, &args),
        other => return Err(format!("unknown filter operator {other}")),
    }))
}

fn arithmetic(op: &str, args: &[Option<Value>]) -> std::result::Result<Option<Value>, String> {
    let bad = || format!("q.{op} needs two numbers of the same type");
    Ok(Some(match (op, args) {
        ("neg", [Some(Value::Float64(a))]) => Value::Float64(-a),
        ("neg", [Some(Value::Int64(a))]) => Value::Int64(a.wrapping_neg()),
        (_, [Some(Value::Float64(a)), Some(Value::Float64(b))]) => Value::Float64(match op {
            "add" => a + b,
            "sub" => a - b,
            "mul" => a * b,
            "div" => a / b,
            _ => a % b,
        }),
        (_, [Some(Value::Int64(a)), Some(Value::Int64(b))]) => Value::Int64(match op {
            "add" => a.wrapping_add(*b),
            "sub" => a.wrapping_sub(*b),
            "mul" => a.wrapping_mul(*b),
            "div" => a.checked_div(*b).ok_or("q.div by zero")?,
            _ => a.checked_rem(*b).ok_or("q.mod by zero")?,
        }),
        _ => return Err(bad()),
    }))
}

/// `ctx.db` of one page: reads see the committed writes and the page's
/// own; each call's writes go in a layer of their own.
pub(super) struct PageHost {
    pub(super) writes: Arc<Writes>,
    pub(super) tx: Tx,
    /// The page's documents' `_id`s (new rows' IDs derive from the calling
    /// document's).
    pub(super) ids: Vec<String>,
    /// The call that began last.
    pub(super) current: Option<u32>,
    /// Rows the current call (a whole page with parallelize) inserted.
    pub(super) inserts: u32,
    pub(super) logs: Vec<LogLine>,
    /// What the transaction read and wrote, against Convex's limits.
    pub(super) meter: TxMeter,
}

impl PageHost {
    /// What new rows' IDs derive from: the calling document's `_id` (the
    /// page's first with parallelize, where calls interleave).
    fn source(&self) -> &str {
        self.current
            .and_then(|c| self.ids.get(c as usize))
            .or(self.ids.first())
            .map_or("", String::as_str)
    }

    /// The table number and internal bytes of an ID, checked against the
    /// table a call named, as Convex checks them.
    fn resolve(
        &self,
        table: Option<&str>,
        id: &str,
        method: &str,
    ) -> std::result::Result<Option<(u32, [u8; 16])>, String> {
        let Ok(decoded) = DocumentId::decode(id) else {
            return Err(format!(
                "Invalid argument `id` for `db.{method}`: \"{id}\" is not a valid document ID"
            ));
        };
        if let Some(table) = table {
            let Some(number) = self.writes.number(&self.tx, table) else {
                return Err(format!(
                    "Invalid argument `id` for `db.{method}`: the table {table} does not exist"
                ));
            };
            if number != decoded.table_number {
                let actual = self
                    .writes
                    .table_name(&self.tx, decoded.table_number)
                    .unwrap_or_else(|| format!("number {}", decoded.table_number));
                return Err(format!(
                    "Invalid argument `id`, expected ID in table '{table}' but got ID in table '{actual}'"
                ));
            }
        }
        Ok(self
            .writes
            .table_name(&self.tx, decoded.table_number)
            .map(|_| (decoded.table_number, decoded.internal)))
    }

    fn system_table(&self, number: u32) -> bool {
        self.writes.table_name(&self.tx, number).is_none()
            && self.writes.base().storage().iter().any(|d| {
                d.get("_id")
                    .and_then(Value::as_str)
                    .and_then(|s| DocumentId::decode(s).ok())
                    .is_some_and(|i| i.table_number == number)
            })
    }

    /// The documents a query returns, after `after`, at most `limit`.
    fn run_query(
        &mut self,
        desc: &str,
        after: Option<&IndexKey>,
        limit: Option<usize>,
    ) -> std::result::Result<(Query, Vec<(IndexKey, Map)>), String> {
        let (q, docs, dropped) = self.scan_query(desc, after, limit)?;
        let Some(dropped) = dropped else {
            return Ok((q, docs));
        };
        // Convex counts each document a query reads, the ones its filter
        // drops too (reads.rs `record_read_document`); system tables are
        // not counted.
        let key = format!("query {desc} after {after:?}");
        let at = || format!("db.query of {}", q.table);
        self.meter.collect(&key, dropped, &at)?;
        for (_, d) in &docs {
            let id = d.get("_id").and_then(Value::as_str).unwrap_or("");
            self.meter.read(doc_size(d), &|| {
                format!("db.query of {} at its document {id}", q.table)
            })?;
        }
        Ok((q, docs))
    }

    /// The documents a query returns, and the sizes of those its filter
    /// dropped (`None` for a system table, whose reads are not counted).
    #[allow(clippy::type_complexity)]
    fn scan_query(
        &self,
        desc: &str,
        after: Option<&IndexKey>,
        limit: Option<usize>,
    ) -> std::result::Result<(Query, Vec<(IndexKey, Map)>, Option<Vec<usize>>), String> {
        let q = Query::parse(desc, self.writes.base())?;
        if q.system {
            if q.table != "_storage" {
                return Err(format!(
                    "the system table {} is not in a snapshot; only _storage is",
                    q.table
                ));
            }
            let spec = IndexSpec::by_creation_time();
            let mut docs: Vec<(IndexKey, Map)> = self
                .writes
                .base()
                .storage()
                .iter()
                .map(|d| (IndexKey::of(&spec, d), d.clone()))
                .collect();
            if q.descending {
                docs.reverse();
            }
            let mut out = Vec::new();
            for (k, d) in docs {
                let number = d
                    .get("_id")
                    .and_then(Value::as_str)
                    .and_then(|s| DocumentId::decode(s).ok())
                    .map_or(0, |i| i.table_number);
                let past = after.is_none_or(|a| {
                    let c = k.cmp(a, false);
                    if q.descending { c.is_lt() } else { c.is_gt() }
                });
                if past && q.range.contains(&k, &spec, number) && passes(&q.filters, &d)? {
                    out.push((k, d));
                }
                if limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
            }
            return Ok((q, out, None));
        }
        let counting = self.meter.mode() != LimitMode::Off;
        let dropped = std::cell::RefCell::new(Vec::new());
        let keep = |d: &Map| {
            let pass = passes(&q.filters, d);
            if counting && matches!(pass, Ok(false)) {
                dropped.borrow_mut().push(doc_size(d));
            }
            pass
        };
        let keep: Option<Keep<'_>> = (!q.filters.is_empty()).then_some(&keep);
        let found = self
            .writes
            .scan_page(
                &self.tx,
                &q.table,
                &q.spec,
                &q.range,
                after,
                q.descending,
                limit,
                keep,
            )
            .map_err(|e| format!("{e:#}"))?;
        let mut docs = Vec::with_capacity(found.len());
        for mut f in found {
            let doc = f.doc().map_err(|e| format!("{e:#}"))?;
            docs.push((f.key, doc));
        }
        Ok((q, docs, Some(dropped.into_inner())))
    }
}

/// What `ctx.db.patch` makes of a document, with the size the write counts
/// for Convex's limits.
pub(super) enum Patched {
    /// Every field it names already holds that value: no write.
    Same(usize),
    /// The row with the patch applied to its text (the other fields copied
    /// as they are).
    Row(Vec<u8>),
    /// The patched document, to encode.
    Doc(Map, usize),
}

/// Applies a patch's fields (`None` removes one) to the row `row` of the
/// document `id`, as `ctx.db.patch` does: `_id` and `_creationTime` may only
/// be given as they are. Uniform rows are patched as text where that is
/// exact (`value::patch_row`); the rest are decoded.
pub(super) fn apply_patch(
    row: &[u8],
    format: &TableFormat,
    fields: Vec<(String, Option<Value>)>,
    id: &str,
) -> std::result::Result<Patched, String> {
    if matches!(format, TableFormat::Uniform) {
        // The row's text length stands for its size here: decoding it to
        // measure would cost more than the patch.
        match value::patch_row(row, &fields) {
            Some(Spliced::Unchanged) => return Ok(Patched::Same(row.len())),
            Some(Spliced::Row(new)) => return Ok(Patched::Row(new)),
            None => {}
        }
    }
    let Value::Object(old) = value::decode_line(row, format).map_err(|e| e.0)? else {
        return Err(format!("Patch on non-existent document with ID \"{id}\""));
    };
    let mut doc = old.clone();
    for (k, v) in fields {
        if k == "_id" || k == "_creationTime" {
            if v.is_some() && v.as_ref() != doc.get(&k) {
                return Err(format!(
                    "Provided `{k}` field value does not match the document's ({id})"
                ));
            }
            continue;
        }
        match v {
            Some(v) => {
                doc.insert(k, v);
            }
            None => {
                doc.remove(&k);
            }
        }
    }
    let size = doc_size(&doc);
    if same_value(&Value::Object(old), &Value::Object(doc.clone())) {
        return Ok(Patched::Same(size));
    }
    Ok(Patched::Doc(doc, size))
}

/// A `console` line of call `call` of a page whose documents are `ids`
/// (the page's first when the call is not known: a module's top level).
pub(super) fn log_line(ids: &[String], call: Option<u32>, level: &str, text: &str) -> LogLine {
    let id = call
        .and_then(|c| ids.get(c as usize))
        .or(ids.first())
        .cloned()
        .unwrap_or_default();
    LogLine {
        id,
        level: level.to_owned(),
        text: text.to_owned(),
    }
}

/// What [`Host::flush`] gives for the patches that failed.
pub(super) fn flush_failures(failed: Vec<(u32, String)>) -> Option<String> {
    (!failed.is_empty()).then(|| serde_json::to_string(&failed).expect("serializable"))
}

fn encode_docs(docs: impl Iterator<Item = Map>) -> String {
    let items: Vec<Value> = docs.map(Value::Object).collect();
    js::bridge::encode(&Value::Array(items))
}

impl Host for PageHost {
    fn get(
        &mut self,
        table: Option<&str>,
        id: &str,
        system: bool,
    ) -> std::result::Result<Option<String>, String> {
        if system {
            let doc = self
                .writes
                .base()
                .storage()
                .iter()
                .find(|d| d.get("_id").and_then(Value::as_str) == Some(id));
            return Ok(doc.map(|d| js::bridge::encode(&Value::Object(d.clone()))));
        }
        let Some((number, internal)) = self.resolve(table, id, "get")? else {
            return Ok(None);
        };
        let at = || format!("db.get({id})");
        self.meter.range(&format!("get {id}"), &at)?;
        let doc = self
            .writes
            .get(&self.tx, number, &internal)
            .map_err(|e| format!("{e:#}"))?;
        if let Some(d) = &doc {
            self.meter.read(doc_size(d), &at)?;
        }
        Ok(doc.map(|d| js::bridge::encode(&Value::Object(d))))
    }

    fn query(&mut self, desc: &str, limit: Option<usize>) -> std::result::Result<String, String> {
        let (_, docs) = self.run_query(desc, None, limit)?;
        Ok(encode_docs(docs.into_iter().map(|(_, d)| d)))
    }

    fn paginate(
        &mut self,
        desc: &str,
        num_items: f64,
        cursor: Option<&str>,
    ) -> std::result::Result<String, String> {
        if num_items.is_nan() || num_items < 1.0 {
            return Err(format!(
                "paginate: numItems must be a positive number, got {num_items}"
            ));
        }
        let n = num_items as usize;
        let spec_of = Query::parse(desc, self.writes.base())?.spec;
        let after: Option<IndexKey> = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode_cursor(c, &spec_of)?),
        };
        let (_, docs) = self.run_query(desc, after.as_ref(), Some(n))?;
        let last = docs.last().map(|(k, _)| k.clone());
        let page: Vec<Map> = docs.into_iter().map(|(_, d)| d).collect();
        // As the migrations component sees it: a full page is never the
        // last; the next (perhaps empty) one is.
        let is_done = page.len() < n;
        let continue_cursor = last.map(|k| encode_cursor(&k)).unwrap_or_default();
        let mut result = Map::new();
        result.insert("continueCursor".into(), Value::String(continue_cursor));
        result.insert("isDone".into(), Value::Bool(is_done));
        result.insert(
            "page".into(),
            Value::Array(page.into_iter().map(Value::Object).collect()),
        );
        Ok(js::bridge::encode(&Value::Object(result)))
    }

    fn insert(&mut self, table: &str, value: &str) -> std::result::Result<String, String> {
        let v = js::bridge::decode(value)?;
        let Value::Object(fields) = v else {
            return Err("db.insert needs an object".into());
        };
        for system in ["_id", "_creationTime"] {
            if fields.contains_key(system) {
                return Err(format!(
                    "Failed to insert or update a document in table \"{table}\" because it does not match the schema: the system field {system} is set by Convex"
                ));
            }
        }
        self.meter
            .write(doc_size_with_system(doc_size(&fields)), &|| {
                format!("db.insert into {table}")
            })?;
        self.inserts += 1;
        let source = format!("{}#{}", self.source(), self.inserts);
        self.writes.insert(&mut self.tx, table, fields, &source)
    }

    fn patch(
        &mut self,
        table: Option<&str>,
        id: &str,
        patch: &str,
    ) -> std::result::Result<(), String> {
        let (number, internal) = self.target(table, id, "patch", "Patch")?;
        let fields = js::bridge::decode_patch(patch)?;
        let Some((row, format)) = self
            .writes
            .row(&self.tx, number, &internal)
            .map_err(|e| format!("{e:#}"))?
        else {
            return Err(format!("Patch on non-existent document with ID \"{id}\""));
        };
        let at = || format!("db.patch({id})");
        match apply_patch(&row, &format, fields, id)? {
            Patched::Same(size) => self.meter.write(size, &at),
            Patched::Row(new) => {
                self.meter.write(new.len(), &at)?;
                self.writes.put_row(&mut self.tx, number, &internal, new);
                Ok(())
            }
            Patched::Doc(doc, size) => {
                self.meter.write(size, &at)?;
                self.writes.put(&mut self.tx, number, &internal, doc, false)
            }
        }
    }

    fn replace(
        &mut self,
        table: Option<&str>,
        id: &str,
        value: &str,
    ) -> std::result::Result<(), String> {
        let (number, internal) = self.target(table, id, "replace", "Replace")?;
        let Some(doc) = self
            .writes
            .get(&self.tx, number, &internal)
            .map_err(|e| format!("{e:#}"))?
        else {
            return Err(format!("Replace on non-existent document with ID \"{id}\""));
        };
        let Value::Object(mut new) = js::bridge::decode(value)? else {
            return Err("db.replace needs an object".into());
        };
        for k in ["_id", "_creationTime"] {
            if let Some(v) = new.get(k)
                && Some(v) != doc.get(k)
            {
                return Err(format!(
                    "Provided `{k}` field value does not match the document's ({id})"
                ));
            }
            if let Some(v) = doc.get(k) {
                new.insert(k.to_owned(), v.clone());
            }
        }
        self.meter
            .write(doc_size(&new), &|| format!("db.replace({id})"))?;
        if same_value(&Value::Object(doc), &Value::Object(new.clone())) {
            return Ok(());
        }
        self.writes.put(&mut self.tx, number, &internal, new, true)
    }

    fn remove(&mut self, table: Option<&str>, id: &str) -> std::result::Result<(), String> {
        let (number, internal) = self.target(table, id, "delete", "Delete")?;
        if self
            .writes
            .get(&self.tx, number, &internal)
            .map_err(|e| format!("{e:#}"))?
            .is_none()
        {
            return Err("Delete on non-existent doc".into());
        }
        self.meter.write(0, &|| format!("db.delete({id})"))?;
        self.writes.delete(&mut self.tx, number, &internal);
        Ok(())
    }

    fn normalize_id(&mut self, table: &str, id: &str) -> Option<String> {
        let decoded = DocumentId::decode(id).ok()?;
        (self.writes.number(&self.tx, table) == Some(decoded.table_number)).then(|| id.to_owned())
    }

    fn begin(&mut self, call: u32) {
        self.tx.open();
        self.current = Some(call);
        self.inserts = 0;
    }

    fn end(&mut self, ok: bool) {
        if ok {
            self.tx.close();
        } else {
            self.tx.discard();
        }
    }

    fn flush(
        &mut self,
        table: &str,
        calls: &[u32],
        ids: &[String],
        patches: &[String],
    ) -> std::result::Result<Option<String>, String> {
        let mut failed: Vec<(u32, String)> = Vec::new();
        for ((call, id), patch) in calls.iter().zip(ids).zip(patches) {
            // A call that did not use `ctx.db` has nothing else to roll
            // back: a patch that fails writes nothing.
            if let Err(e) = self.patch(Some(table), id, patch) {
                failed.push((*call, e));
            }
        }
        Ok(flush_failures(failed))
    }

    fn log(&mut self, call: Option<u32>, level: &str, text: &str) {
        self.logs.push(log_line(&self.ids, call, level, text));
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

impl PageHost {
    /// The document a write names, which must exist in a user table.
    fn target(
        &self,
        table: Option<&str>,
        id: &str,
        method: &str,
        what: &str,
    ) -> std::result::Result<(u32, [u8; 16]), String> {
        if let Ok(d) = DocumentId::decode(id)
            && self.system_table(d.table_number)
        {
            return Err("System tables (prefixed with `_`) are read-only.".into());
        }
        match self.resolve(table, id, method)? {
            Some(t) => Ok(t),
            None => Err(format!("{what} on non-existent document with ID \"{id}\"")),
        }
    }
}

/// A page cursor: the key of the page's last document, as text.
fn encode_cursor(key: &IndexKey) -> String {
    let values: Vec<Value> = key
        .values
        .iter()
        .map(|v| match v {
            None => Value::Array(vec![]),
            Some(v) => Value::Array(vec![v.clone()]),
        })
        .collect();
    let mut m = Map::new();
    m.insert("v".into(), Value::Array(values));
    m.insert("t".into(), Value::Float64(key.creation_time));
    m.insert("i".into(), Value::Bytes(key.id.to_vec()));
    js::bridge::encode(&Value::Object(m))[1..].to_owned()
}

fn decode_cursor(text: &str, spec: &IndexSpec) -> std::result::Result<IndexKey, String> {
    let bad = || format!("{text:?} is not a cursor of this query");
    let Value::Object(m) = js::bridge::decode(text).map_err(|_| bad())? else {
        return Err(bad());
    };
    let values: Vec<Option<Value>> = match m.get("v") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::Array(x) => x.first().cloned(),
                _ => None,
            })
            .collect(),
        _ => return Err(bad()),
    };
    if values.len() != spec.fields.len() {
        return Err(bad());
    }
    let creation_time = match m.get("t") {
        Some(Value::Float64(t)) => *t,
        _ => return Err(bad()),
    };
    let id: [u8; 16] = match m.get("i") {
        Some(Value::Bytes(b)) => b.as_slice().try_into().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    Ok(IndexKey {
        values: values.into(),
        creation_time,
        id,
    })
}

/// The migrations and runners a functions folder defines, file by file,
/// with the line each is defined on.
pub struct Listing {
    pub file: String,
    /// The file's exports, or why the file does not load.
    pub exports: std::result::Result<Vec<(Export, usize)>, String>,
}

/// Loads every module of the folder and lists what each exports.
pub fn list(project: &Arc<Project>) -> Result<Vec<Listing>> {
    let worker = Worker::new(project.clone(), 0.0, Limits::default())
        .map_err(|e| js_error("starting the JavaScript engine", e))?;
    let mut out = Vec::new();
    for file in project.function_files() {
        let exports = worker
            .exports(&file)
            .map(|list| {
                let text = std::fs::read_to_string(project.root.join(&file)).unwrap_or_default();
                list.into_iter()
                    .map(|e| {
                        let line = text
                            .lines()
                            .position(|l| {
                                let l = l.trim_start();
                                l.starts_with(&format!("export const {} ", e.name))
                                    || l.starts_with(&format!("export const {}=", e.name))
                                    || (e.name == "default" && l.starts_with("export default"))
                            })
                            .map_or(0, |i| i + 1);
                        (e, line)
                    })
                    .collect()
            })
            .map_err(|e| e.with_location());
        out.push(Listing { file, exports });
    }
    Ok(out)
}

/// What a name in the folder is: a migration, or a runner of migrations.
pub enum Found {
    Migration {
        file: String,
        name: FunctionName,
    },
    Runner {
        file: String,
        list: Vec<String>,
    },
    /// A registered mutation (`query: false`) or query, run whole.
    Function {
        file: String,
        name: FunctionName,
        query: bool,
    },
}

/// Finds `name` in the folder: `Ok(None)` when the folder has no such
/// module or export, an error when it has one that is not a migration (or
/// does not load).
pub fn find(project: &Arc<Project>, name: &str) -> Result<Option<Found>> {
    let Some(parsed) = FunctionName::parse(name) else {
        return Ok(None);
    };
    let Some(file) = project.module_file(&parsed.module) else {
        return Ok(None);
    };
    let worker = Worker::new(project.clone(), 0.0, Limits::default())
        .map_err(|e| js_error("starting the JavaScript engine", e))?;
    let exports = worker.exports(&file).map_err(|e| js_error(&file, e))?;
    let Some(export) = exports.iter().find(|e| e.name == parsed.export) else {
        let migrations: Vec<String> = exports
            .iter()
            .filter(|e| e.kind == "migration" || e.kind == "runner")
            .map(|e| format!("{}:{}", parsed.module, e.name))
            .collect();
        return Err(Error::Usage(format!(
            "{file} has no export {}; its migrations are: {}",
            parsed.export,
            if migrations.is_empty() {
                "none".into()
            } else {
                migrations.join(", ")
            }
        )));
    };
    match export.kind.as_str() {
        "migration" => Ok(Some(Found::Migration { file, name: parsed })),
        "runner" => match &export.runner {
            Some(list) => Ok(Some(Found::Runner {
                file,
                list: list.clone(),
            })),
            None => Err(Error::Usage(format!(
                "{} is a generic runner (`migrations.runner()`), which takes the migration to run as an argument; name the migration itself instead",
                parsed.canonical()
            ))),
        },
        "mutation" | "query" => Ok(Some(Found::Function {
            file,
            query: export.kind == "query",
            name: parsed,
        })),
        "action" | "httpAction" => Err(Error::Usage(format!(
            "{} is an {}, which cannot run offline: actions call the outside world; run a mutation, a query or a migration",
            parsed.canonical(),
            export.kind
        ))),
        other => Err(Error::Usage(format!(
            "{} is a {other}, not a migration (`migrations.define` or `makeMigration`) or a registered mutation or query",
            parsed.canonical()
        ))),
    }
}
