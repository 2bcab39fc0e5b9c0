//! Convex's per-transaction limits, counted offline (`migrate --limits`).
//!
//! A transaction is what the deployment runs as one mutation or query: a
//! whole function, one page of a `migrateOne` migration (the migrations
//! component runs each page as one mutation), or one run of a built-in
//! migration in `--mode original` (the deployed code is one
//! `internalMutation`). [`TxMeter`] counts what it reads and writes and
//! finds the first limit it crosses.
//!
//! The limits and their messages are Convex's, from
//! <https://docs.convex.dev/production/state/limits> ("Transactions") and
//! the backend's checks that raise them (`crates/database/src/reads.rs`
//! and `writes.rs` of `get-convex/convex-backend`, values from
//! `crates/common/src/knobs.rs`):
//! - documents read: at most 32,000 (`TooManyDocumentsRead`), each
//!   document a read returns counted every time it is read, filtered out
//!   or not;
//! - data read: at most 16 MiB (`TooManyBytesRead`), the sum of those
//!   documents' sizes;
//! - index ranges read: at most 4,096 (`TooManyReads`), the distinct
//!   intervals of the read set;
//! - documents written: at most 16,000 (`TooManyWrites`), every insert,
//!   patch, replace and delete;
//! - data written: at most 16 MiB (`TooManyBytesWritten`), each write's
//!   new document size plus its ID's.
//!
//! What we approximate, and say so in the README: a distinct `db.get` ID is
//! one range and a distinct query (table, index, bounds) is one range (the
//! backend merges overlapping ranges of one index, which only makes its
//! count lower for queries over overlapping bounds); an ID's size in a
//! write is counted as 16 bytes. The 1 second of user-code time is not
//! counted: our engine's speed says nothing about V8's.

use std::collections::HashSet;

use serde::Serialize;

pub use crate::progress::with_commas as thousands;

/// `--limits` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LimitMode {
    /// Count, and report the first limit each transaction would cross.
    #[default]
    Warn,
    /// Behave as the deployment would: the operation that crosses a limit
    /// throws inside the function.
    Enforce,
    /// Do not count.
    Off,
}

/// One of Convex's transaction limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    DocumentsRead,
    BytesRead,
    IndexRanges,
    DocumentsWritten,
    BytesWritten,
}

/// Appended by the backend to the read limits' messages.
const OVER_LIMIT_HELP: &str = "Consider using smaller limits in your queries, paginating your queries, or using indexed queries with a selective index range expressions.";

/// An ID's share of a write's size (see the module notes).
const ID_SIZE: u64 = 16;

impl Limit {
    /// The most a transaction may do.
    pub fn max(self) -> u64 {
        match self {
            Limit::DocumentsRead => 32_000,
            Limit::BytesRead | Limit::BytesWritten => 1 << 24,
            Limit::IndexRanges => 4_096,
            Limit::DocumentsWritten => 16_000,
        }
    }

    /// What the deployment throws, word for word.
    pub fn message(self) -> String {
        match self {
            Limit::DocumentsRead => format!(
                "Too many documents read in a single function execution (limit: 32000). {OVER_LIMIT_HELP}"
            ),
            Limit::BytesRead => format!(
                "Too many bytes read in a single function execution (limit: 16777216 bytes). {OVER_LIMIT_HELP}"
            ),
            Limit::IndexRanges => format!(
                "Too many reads in a single function execution (limit: 4096). {OVER_LIMIT_HELP}"
            ),
            Limit::DocumentsWritten => {
                "Too many writes in a single function execution (limit: 16000)".into()
            }
            Limit::BytesWritten => {
                "Too many bytes written in a single function execution (limit: 16777216 bytes)"
                    .into()
            }
        }
    }

    /// What the count counts, for a sentence ("its 4,097th index range").
    fn noun(self) -> &'static str {
        match self {
            Limit::DocumentsRead => "document read",
            Limit::BytesRead => "byte read",
            Limit::IndexRanges => "index range",
            Limit::DocumentsWritten => "document written",
            Limit::BytesWritten => "byte written",
        }
    }
}

/// The first limit a transaction crossed, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crossing {
    pub limit: Limit,
    /// The count the crossing operation brought it to.
    pub count: u64,
    /// Where: the operation and the document (`db.get of users j97…`).
    pub at: String,
}

impl Crossing {
    /// One sentence for a report: "`what` would read its 4,097th index
    /// range at … (4,096 is the limit): on the deployment this mutation
    /// throws '…'".
    pub fn describe(&self, what: &str) -> String {
        let verb = match self.limit {
            Limit::DocumentsRead | Limit::BytesRead | Limit::IndexRanges => "read",
            Limit::DocumentsWritten | Limit::BytesWritten => "write",
        };
        let noun = self.limit.noun();
        let noun = noun
            .strip_suffix(" read")
            .or_else(|| noun.strip_suffix(" written"))
            .unwrap_or(noun);
        format!(
            "{what} would {verb} its {} {noun} at {} ({} is the limit): on the deployment this throws '{}'",
            ordinal(self.count),
            self.at,
            thousands(self.limit.max()),
            self.limit.message()
        )
    }
}

/// `4097` as `4,097th`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{}{suffix}", thousands(n))
}

/// Convex's size of a document (`Value::size` of the object).
pub fn doc_size(m: &crate::value::Map) -> usize {
    2 + m.iter().map(|(k, v)| k.len() + 1 + v.size()).sum::<usize>()
}

/// The size of a new document whose own fields are `size` bytes, with the
/// system fields Convex adds: `_id` (a 32-character ID) and
/// `_creationTime` (a number).
pub fn doc_size_with_system(size: usize) -> usize {
    size + (3 + 1 + 32 + 2) + (13 + 1 + 9)
}

/// What one transaction has read and written so far.
#[derive(Debug, Default)]
pub struct TxMeter {
    mode: LimitMode,
    docs_read: u64,
    bytes_read: u64,
    ranges: HashSet<String>,
    docs_written: u64,
    bytes_written: u64,
    first: Option<Crossing>,
}

impl TxMeter {
    pub fn new(mode: LimitMode) -> TxMeter {
        TxMeter {
            mode,
            ..TxMeter::default()
        }
    }

    pub fn mode(&self) -> LimitMode {
        self.mode
    }

    /// The first limit crossed, if any.
    pub fn crossing(&self) -> Option<&Crossing> {
        self.first.as_ref()
    }

    /// Takes the first crossing, to report it.
    pub fn take_crossing(&mut self) -> Option<Crossing> {
        self.first.take()
    }

    /// Notes `count` against `limit`: an error (enforce) or a note (warn)
    /// when it is past it.
    fn check(&mut self, limit: Limit, count: u64, at: &dyn Fn() -> String) -> Result<(), String> {
        if count <= limit.max() {
            return Ok(());
        }
        if self.first.is_none() {
            self.first = Some(Crossing {
                limit,
                count,
                at: at(),
            });
        }
        match self.mode {
            LimitMode::Enforce => Err(limit.message()),
            LimitMode::Warn | LimitMode::Off => Ok(()),
        }
    }

    /// A read of one index range, named by `key` (the same key twice is one
    /// range).
    pub fn range(&mut self, key: &str, at: &dyn Fn() -> String) -> Result<(), String> {
        if self.mode == LimitMode::Off {
            return Ok(());
        }
        if !self.ranges.contains(key) {
            self.ranges.insert(key.to_owned());
        }
        self.check(Limit::IndexRanges, self.ranges.len() as u64, at)
    }

    /// A document of `size` bytes read.
    pub fn read(&mut self, size: usize, at: &dyn Fn() -> String) -> Result<(), String> {
        if self.mode == LimitMode::Off {
            return Ok(());
        }
        self.docs_read += 1;
        self.bytes_read += size as u64;
        self.check(Limit::DocumentsRead, self.docs_read, at)?;
        self.check(Limit::BytesRead, self.bytes_read, at)
    }

    /// A write whose new document is `size` bytes (0 for a delete).
    pub fn write(&mut self, size: usize, at: &dyn Fn() -> String) -> Result<(), String> {
        if self.mode == LimitMode::Off {
            return Ok(());
        }
        self.docs_written += 1;
        self.bytes_written += size as u64 + ID_SIZE;
        self.check(Limit::DocumentsWritten, self.docs_written, at)?;
        self.check(Limit::BytesWritten, self.bytes_written, at)
    }

    /// A query that returns documents of these sizes (`.collect()`, or a
    /// `.first()` that found one): one range, each document read. Stops at
    /// the first error, as the throwing call would.
    pub fn collect(
        &mut self,
        key: &str,
        sizes: impl IntoIterator<Item = usize>,
        at: &dyn Fn() -> String,
    ) -> Result<(), String> {
        self.range(key, at)?;
        for size in sizes {
            self.read(size, at)?;
        }
        Ok(())
    }
}

/// What Convex's limits do to a built-in's deployed code on this snapshot:
/// the replay, in the code's order, of its database calls through one
/// [`TxMeter`] (`--mode original`; the deployed functions are one
/// transaction each).
#[derive(Debug, Default)]
pub struct Replayed {
    /// The first limit crossed, as a report line.
    pub crossing: Option<String>,
    /// With `--limits enforce`: the documents whose step threw the limit's
    /// error inside the per-document `try`/`catch`, by `_id`, with what
    /// threw (the error, and whether an earlier write of the same step had
    /// gone through).
    pub failing: std::collections::BTreeMap<String, Failed>,
    /// With `--limits enforce`: a read before the loop threw, so the
    /// function failed as a whole (its outer `catch`, if it has one, ran).
    pub whole: Option<String>,
}

/// How one document's step failed on a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub message: String,
    /// The step's first write went through before a later one threw.
    pub after_first_write: bool,
}

impl Replayed {
    /// Off: nothing counted.
    pub fn off() -> Replayed {
        Replayed::default()
    }

    /// The read before the loop threw `error` (enforce): `then` says what
    /// the function did about it.
    pub fn whole(meter: &TxMeter, name: &str, error: String, then: &str) -> Replayed {
        let line = meter.crossing().map_or(error, |c| c.describe(name));
        Replayed {
            whole: Some(format!("limits: {line}; with --limits enforce {then}")),
            ..Replayed::default()
        }
    }

    /// The deployed function's `ctx.db.query(table).collect()` before its
    /// loop, returning documents of these sizes; when it throws (enforce),
    /// the function's outer `catch` returns `{success: false}` having
    /// written nothing, and that is the replay's result.
    pub fn collect_all(
        meter: &mut TxMeter,
        name: &str,
        table: &str,
        sizes: impl IntoIterator<Item = usize>,
    ) -> Result<(), Replayed> {
        let at = || format!("its ctx.db.query(\"{table}\").collect()");
        meter
            .collect(&format!("collect {table}"), sizes, &at)
            .map_err(|e| {
                Replayed::whole(
                    meter,
                    name,
                    e,
                    "the function's outer catch returned {success: false} and wrote nothing",
                )
            })
    }

    /// Ends the replay: the report line of the first crossing, if any.
    pub fn finish(&mut self, meter: &mut TxMeter, name: &str) {
        if let Some(c) = meter.take_crossing() {
            let then = match meter.mode() {
                LimitMode::Enforce if !self.failing.is_empty() => format!(
                    "; with --limits enforce each later step that crossed it threw inside the per-document try/catch ({} counted in errors)",
                    thousands(self.failing.len() as u64)
                ),
                _ => String::new(),
            };
            self.crossing = Some(format!("limits: {}{then}", c.describe(name)));
        }
    }

    /// Notes that the step of document `id` threw `message` (enforce).
    pub fn failed(&mut self, id: &str, step: Result<(), String>, after_first_write: bool) {
        if let Err(message) = step {
            self.failing.insert(
                id.to_owned(),
                Failed {
                    message,
                    after_first_write,
                },
            );
        }
    }

    /// The failure of the document `id`, if its step threw.
    pub fn failure(&self, id: &str) -> Option<&Failed> {
        self.failing.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cross_one_past_the_limit() {
        let mut m = TxMeter::new(LimitMode::Enforce);
        let at = || "here".to_string();
        for i in 0..4096 {
            m.range(&i.to_string(), &at).unwrap();
        }
        // The same range again is not a new one.
        m.range("7", &at).unwrap();
        let e = m.range("4096", &at).unwrap_err();
        assert!(e.starts_with("Too many reads in a single function execution (limit: 4096)"));
        let c = m.crossing().unwrap();
        assert_eq!((c.limit, c.count), (Limit::IndexRanges, 4097));
        assert!(
            c.describe("f")
                .starts_with("f would read its 4,097th index range at here (4,096 is the limit)"),
            "{}",
            c.describe("f")
        );
    }

    #[test]
    fn warn_records_the_first_and_goes_on() {
        let mut m = TxMeter::new(LimitMode::Warn);
        let at = || "w".to_string();
        for _ in 0..16_001 {
            m.write(1, &at).unwrap();
        }
        for _ in 0..32_001 {
            m.read(1, &at).unwrap();
        }
        let c = m.take_crossing().unwrap();
        assert_eq!((c.limit, c.count), (Limit::DocumentsWritten, 16_001));
    }

    #[test]
    fn bytes_and_off() {
        let mut m = TxMeter::new(LimitMode::Enforce);
        let at = || String::new();
        m.read(1 << 24, &at).unwrap();
        assert!(m.read(1, &at).unwrap_err().contains("16777216 bytes"));
        let mut off = TxMeter::new(LimitMode::Off);
        for _ in 0..40_000 {
            off.read(1000, &at).unwrap();
        }
        assert!(off.crossing().is_none());
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(32_001), "32,001st");
    }
}
