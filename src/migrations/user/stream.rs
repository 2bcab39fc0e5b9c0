//! The streaming run of a user migration whose calls read nothing but the
//! document they are given: no `ctx.db`, only the returned patch.
//!
//! Such a call's result depends on its document alone (the page read it
//! before any call of the page wrote, and nothing else writes the table),
//! so the order and grouping of the calls cannot change what is written.
//! The table's rows then stream in file order, a chunk of rows per fresh
//! runtime, chunks side by side on the thread pool, and the patches apply
//! to the rows as they pass: no scratch copy of the table, no index, no
//! pages. What the component's order does decide is put back afterwards:
//! failures and `console` lines are sorted into the component's visit
//! order (`by_creation_time`), and Convex's limits are counted page by
//! page in that order, as the paged run counts them.
//!
//! The first call that touches `ctx.db` ends the attempt: the pass stops,
//! what it wrote is dropped, and the migration runs paged from the start
//! (see `super::run`), so the result is always the component's.
//!
//! Module state (a top-level `let` that calls change) lives as long as a
//! runtime: one chunk of rows here, one chunk of pages in the paged run.
//! Which documents share one is not specified, as on a deployment, where
//! a mutation may or may not find the module state an earlier one left.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    OnThrow, Patched, UserMigration, apply_patch, doc_error, flush_failures, js_error,
    limits_warning, log_line, seed, threw,
};
use crate::engine::store::{Counts, IndexKey};
use crate::engine::{Db, DocError};
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::js::{self, Host, JsError, Worker};
use crate::limits::{LimitMode, TxMeter};
use crate::migrations::{LogLine, Outcome};
use crate::value::{self, TableFormat, Value};

/// The rows each runtime takes: each runtime costs its start and the
/// loading of the modules (about 2 ms), which a few MiB of rows amortize.
const CHUNK_BYTES: usize = 4 << 20;

/// What the migration is, as far as streaming is concerned.
pub(super) struct Plan<'a> {
    pub table: &'a str,
    pub batch: usize,
    pub now_ms: f64,
    pub notes: Vec<String>,
}

/// The table's number and format when the migration can stream: its calls
/// run one after another over the table's whole default order, a throw is
/// listed (not rolled back page by page), the limits are not enforced
/// (an enforced limit throws into the call, which only the paged run can
/// do at the right call), and every row is in the uniform format.
pub(super) fn eligible(
    m: &UserMigration,
    db: &Db,
    worker: &Worker,
    table: &str,
    parallelize: bool,
) -> Option<(u32, TableFormat, bool)> {
    if parallelize || m.on_throw != OnThrow::List || db.limit_mode() == LimitMode::Enforce {
        return None;
    }
    if !matches!(worker.custom_range(&m.file, &m.name.export), Ok(None)) {
        return None;
    }
    db.table_format(table)
        .filter(|(_, f, _)| matches!(f, TableFormat::Uniform))
}

/// One document as the component's page would have read it.
struct Visit {
    key: IndexKey,
    /// Its size as read (its text's length, as the paged run counts it).
    read: u32,
    /// The size of the write its patch made, if it made one.
    write: Option<u32>,
}

/// The rows a chunk replaced (by index), with their new text.
type Replaced = Vec<(usize, Vec<u8>)>;

/// What one chunk of rows gave, in file order.
#[derive(Default)]
struct Chunk {
    rows: u64,
    /// Every document, when the limits are counted.
    visits: Vec<Visit>,
    errors: Vec<(IndexKey, DocError)>,
    logs: Vec<(IndexKey, LogLine)>,
    patched: u64,
}

/// Runs the migration streaming, or gives `None` when a call touched
/// `ctx.db` (nothing has changed then: run it paged).
pub(super) fn run(
    m: &UserMigration,
    db: &mut Db,
    plan: Plan<'_>,
    (number, format, prefix_ok): (u32, TableFormat, bool),
) -> Result<Option<Outcome>> {
    let touched = AtomicBool::new(false);
    let metered = db.limit_mode() != LimitMode::Off;
    let mut all = Chunk::default();
    let mut visited = 0u64;
    let rewrite = db.rewrite_rows(
        plan.table,
        CHUNK_BYTES,
        &touched,
        |lines| {
            run_chunk(
                m,
                plan.table,
                (number, &format, prefix_ok),
                plan.now_ms,
                metered,
                lines,
                &touched,
            )
        },
        |chunk: Chunk| {
            visited += chunk.rows;
            all.visits.extend(chunk.visits);
            all.errors.extend(chunk.errors);
            all.logs.extend(chunk.logs);
            all.patched += chunk.patched;
        },
    )?;
    if touched.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let Chunk {
        rows: _,
        mut visits,
        mut errors,
        mut logs,
        patched,
    } = all;
    // The component's visit order; sorts are stable, so what one document
    // printed stays in the order it printed it.
    errors.sort_by(|a, b| a.0.cmp(&b.0, false));
    logs.sort_by(|a, b| a.0.cmp(&b.0, false));
    visits.sort_by(|a, b| a.key.cmp(&b.key, false));
    let pages = visited / plan.batch as u64 + 1;
    let crossings = replay_limits(db.limit_mode(), &visits, plan.batch, number);

    let mut out = Outcome::default();
    let failed = errors.len();
    if failed == 0 {
        db.install_rewrite(plan.table, rewrite);
    }
    out.count("visited", visited)
        .count("pages", pages)
        .count("failed", failed as u64);
    let mut counts: std::collections::BTreeMap<String, Counts> = Default::default();
    if patched > 0 {
        counts.insert(
            plan.table.to_owned(),
            Counts {
                patched,
                ..Counts::default()
            },
        );
    }
    out.result.push((
        "writes",
        serde_json::to_value(&counts).expect("serializable"),
    ));
    out.result.push(("streamed", true.into()));
    if failed > 0 {
        out.fails_run = Some(threw(failed, plan.table, &m.display));
    }
    out.warnings
        .extend(limits_warning(&m.display, &crossings, pages));
    out.errors = errors.into_iter().map(|(_, e)| e).collect();
    out.logs = logs.into_iter().map(|(_, l)| l).collect();
    out.warnings.extend(plan.notes);
    Ok(Some(out))
}

/// Counts each page's transaction against Convex's limits as the paged run
/// does: the component's read of the page (one range, each document), then
/// the pages's patches in call order. Gives the pages that crossed one,
/// with the first limit each crossed.
fn replay_limits(
    mode: LimitMode,
    visits: &[Visit],
    batch: usize,
    number: u32,
) -> Vec<(u64, crate::limits::Crossing)> {
    let id = |v: &Visit| DocumentId::new(number, v.key.id).encode();
    let mut crossings = Vec::new();
    if mode == LimitMode::Off {
        return crossings;
    }
    for (i, page) in visits.chunks(batch).enumerate() {
        let mut meter = TxMeter::new(mode);
        let page_at = || {
            format!(
                "the page read of {} (the component's)",
                page.first().map(id).unwrap_or_default()
            )
        };
        // Not enforced here (see `eligible`): these only note a crossing.
        let _ = meter.range("page", &page_at);
        for v in page {
            let _ = meter.read(v.read as usize, &page_at);
        }
        for v in page {
            if let Some(size) = v.write {
                let _ = meter.write(size as usize, &|| format!("db.patch({})", id(v)));
            }
        }
        if let Some(c) = meter.take_crossing() {
            crossings.push((i as u64 + 1, c));
        }
    }
    crossings
}

/// Runs the calls of one chunk of rows in a fresh runtime. Gives the rows
/// their patches replaced (by index), and what the calls gave.
fn run_chunk(
    m: &UserMigration,
    table: &str,
    (number, format, prefix_ok): (u32, &TableFormat, bool),
    now_ms: f64,
    metered: bool,
    lines: &[&[u8]],
    touched: &AtomicBool,
) -> Result<(Replaced, Chunk)> {
    if lines.is_empty() {
        return Ok((Vec::new(), Chunk::default()));
    }
    let mut keys = Vec::with_capacity(lines.len());
    let mut ids = Vec::with_capacity(lines.len());
    let mut seeds = Vec::with_capacity(4 * lines.len());
    let mut sizes = Vec::with_capacity(lines.len());
    let mut tagged = Vec::new();
    let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum::<usize>() + 2);
    let mut data = Vec::with_capacity(text.capacity());
    let mut spans = Vec::with_capacity(lines.len());
    let internal_error =
        |e: String| Error::Usage(format!("{}: internal: a checked row: {e}", m.display));
    text.push('[');
    for (i, line) in lines.iter().enumerate() {
        let prefix = prefix_ok
            .then(|| crate::engine::db::system_prefix(line))
            .flatten();
        let system = match prefix {
            Some(_) => None,
            None => Some(
                value::decode_fields_of_valid_json(line, format, &["_creationTime", "_id"])
                    .map_err(|e| internal_error(e.0))?,
            ),
        };
        let (creation_time, id) = match (&prefix, &system) {
            (Some((t, id)), _) => (*t, Some(*id)),
            (None, Some(s)) => (
                match s.get("_creationTime") {
                    Some(Value::Float64(t)) => *t,
                    _ => 0.0,
                },
                s.get("_id").and_then(Value::as_str),
            ),
            (None, None) => unreachable!("one or the other"),
        };
        let Some(internal) = id
            .and_then(|s| DocumentId::decode(s).ok())
            .filter(|d| d.table_number == number)
            .map(|d| d.internal)
        else {
            // Not a row the paged run would key the same way: let it run.
            touched.store(true, Ordering::Relaxed);
            return Ok((Vec::new(), Chunk::default()));
        };
        // As `IndexKey::of` keys it in `by_creation_time`.
        let key = IndexKey {
            values: Box::new([]),
            creation_time,
            id: internal,
        };
        if i > 0 {
            text.push(',');
        }
        let before = text.len();
        match js::bridge::plain_row(line, format) {
            Some(row) => text.push_str(row),
            None => {
                let doc = value::decode_line(line, format).map_err(|e| internal_error(e.0))?;
                let t = js::bridge::encode(&doc);
                if t.starts_with('T') {
                    tagged.push(i as u32);
                }
                text.push_str(&t[1..]);
            }
        }
        sizes.push(text.len() - before);
        let id = DocumentId::new(number, internal).encode();
        seeds.extend(seed(&m.display, &id));
        ids.push(id);
        keys.push(key);
        spans.push((data.len(), line.len()));
        data.extend_from_slice(line);
    }
    text.push(']');

    let new_worker = || {
        Worker::new(m.project.clone(), now_ms, m.limits)
            .map_err(|e| js_error("starting the JavaScript engine", e))
    };
    let mut worker = new_worker()?;
    let mut skip: Vec<u32> = Vec::new();
    let mut aborted: Vec<(u32, JsError)> = Vec::new();
    let mut host = StreamHost {
        format: format.clone(),
        ids,
        data,
        spans,
        touched: false,
        replaced: Vec::new(),
        writes: Vec::new(),
        logs: Vec::new(),
    };
    // As the paged run: a call that stops the whole chunk (its time or the
    // memory ran out) fails alone, and the chunk runs again without it.
    let mut errors = loop {
        host.replaced.clear();
        host.writes.clear();
        host.logs.clear();
        let (r, back) = worker.with_host(host, |w| {
            w.run_page(
                &m.file,
                &m.name.export,
                text.clone(),
                tagged.clone(),
                seeds.clone(),
                false,
                false,
                skip.clone(),
            )
        });
        host = back;
        if host.touched {
            touched.store(true, Ordering::Relaxed);
            return Ok((Vec::new(), Chunk::default()));
        }
        match r {
            Ok(errors) => break errors,
            Err(abort) => {
                let Some(call) = abort.call.filter(|c| !skip.contains(c)) else {
                    return Err(js_error(&m.display, abort.error));
                };
                if abort.fatal {
                    worker = new_worker()?;
                }
                aborted.push((call, abort.error));
                skip.push(call);
            }
        }
    };
    errors.extend(aborted);
    errors.sort_by_key(|(i, _)| *i);

    let mut chunk = Chunk {
        patched: host.replaced.len() as u64,
        ..Chunk::default()
    };
    for (i, e) in &errors {
        let i = *i as usize;
        chunk
            .errors
            .push((keys[i].clone(), doc_error(table, &host.ids[i], e, "")));
    }
    for (call, line) in host.logs.drain(..) {
        let i = call.map_or(0, |c| c as usize);
        chunk.logs.push((keys[i].clone(), line));
    }
    if metered {
        let mut writes = host.writes.iter().peekable();
        chunk.visits = keys
            .into_iter()
            .zip(sizes)
            .enumerate()
            .map(|(i, (key, read))| Visit {
                key,
                read: read as u32,
                write: writes
                    .next_if(|(c, _)| *c as usize == i)
                    .map(|(_, s)| *s as u32),
            })
            .collect();
    }
    chunk.rows = lines.len() as u64;
    Ok((host.replaced, chunk))
}

/// `ctx.db` for a chunk run: only the returned patches, applied to the
/// chunk's own rows; anything else marks the chunk as touched and fails
/// the call (the whole run then goes paged).
struct StreamHost {
    format: TableFormat,
    ids: Vec<String>,
    /// The chunk's rows, one after another, and where each is.
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    touched: bool,
    /// The rows patched, by index, with their new text.
    replaced: Vec<(usize, Vec<u8>)>,
    /// The size of each write, by call, in call order.
    writes: Vec<(u32, usize)>,
    logs: Vec<(Option<u32>, LogLine)>,
}

const TOUCHED: &str = "internal: ctx.db in a streaming run";

impl StreamHost {
    fn touch<T>(&mut self) -> std::result::Result<T, String> {
        self.touched = true;
        Err(TOUCHED.into())
    }

    /// Applies call `call`'s patch to its row.
    fn patch_call(&mut self, call: usize, patch: &str) -> std::result::Result<(), String> {
        let fields = js::bridge::decode_patch(patch)?;
        let (at, len) = self.spans[call];
        let row = &self.data[at..at + len];
        let (size, row) = match apply_patch(row, &self.format, fields, &self.ids[call])? {
            Patched::Same(size) => (size, None),
            Patched::Row(new) => (new.len(), Some(new)),
            Patched::Doc(doc, size) => {
                // As the paged run: the write counts before its encoding can
                // fail.
                self.writes.push((call as u32, size));
                let (_, bytes) = crate::engine::db::encode_checked_map(doc, &self.format);
                self.replaced.push((call, bytes?));
                return Ok(());
            }
        };
        self.writes.push((call as u32, size));
        if let Some(row) = row {
            self.replaced.push((call, row));
        }
        Ok(())
    }
}

impl Host for StreamHost {
    fn get(
        &mut self,
        _: Option<&str>,
        _: &str,
        _: bool,
    ) -> std::result::Result<Option<String>, String> {
        self.touch()
    }
    fn query(&mut self, _: &str, _: Option<usize>) -> std::result::Result<String, String> {
        self.touch()
    }
    fn paginate(
        &mut self,
        _: &str,
        _: f64,
        _: Option<&str>,
    ) -> std::result::Result<String, String> {
        self.touch()
    }
    fn insert(&mut self, _: &str, _: &str) -> std::result::Result<String, String> {
        self.touch()
    }
    fn patch(&mut self, _: Option<&str>, _: &str, _: &str) -> std::result::Result<(), String> {
        self.touch()
    }
    fn replace(&mut self, _: Option<&str>, _: &str, _: &str) -> std::result::Result<(), String> {
        self.touch()
    }
    fn remove(&mut self, _: Option<&str>, _: &str) -> std::result::Result<(), String> {
        self.touch()
    }
    fn normalize_id(&mut self, _: &str, _: &str) -> Option<String> {
        self.touched = true;
        None
    }
    fn begin(&mut self, _: u32) {
        self.touched = true;
    }
    fn end(&mut self, _: bool) {}

    fn flush(
        &mut self,
        _: &str,
        calls: &[u32],
        ids: &[String],
        patches: &[String],
    ) -> std::result::Result<Option<String>, String> {
        let mut failed: Vec<(u32, String)> = Vec::new();
        for ((call, id), patch) in calls.iter().zip(ids).zip(patches) {
            let i = *call as usize;
            // The call changed its document's `_id` before returning: only
            // the paged run looks that up as the deployment would.
            if self.ids.get(i) != Some(id) {
                return self.touch();
            }
            if let Err(e) = self.patch_call(i, patch) {
                failed.push((*call, e));
            }
        }
        Ok(flush_failures(failed))
    }

    fn log(&mut self, call: Option<u32>, level: &str, text: &str) {
        let line = log_line(&self.ids, call, level, text);
        let call = call.filter(|c| (*c as usize) < self.ids.len());
        self.logs.push((call, line));
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}
