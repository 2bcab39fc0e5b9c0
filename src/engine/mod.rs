//! The migration engine. It opens a snapshot's root tables for migrations,
//! runs their per-document work in parallel, keeps every change in temporary
//! JSONL files, and at the end writes the new snapshot.
//!
//! Migrations never see the archive, the clock or the terminal: they get a
//! [`Db`] (tables, `now`, new IDs) and return counters. A table is a list of
//! segments (the original entry, a rewritten file, appended inserts); a table
//! nobody changed stays the original entry and is raw-copied into the output.

pub mod db;
mod output;
mod preflight;
pub mod store;

pub use db::{Change, Db, Doc, DocError, Effect, Fields, MapResult, Rewrite, TableChanges};
pub use output::write_snapshot;
pub use preflight::{Preflight, check_line, preflight};

/// The `_creationTime` step between two rows inserted one after the other.
pub const CREATION_TIME_STEP_MS: f64 = 0.001;

/// `now` must stay below this so that `now + 0.001 × seq` is exact enough to
/// keep new `_creationTime`s distinct (10^13 ms is in the year 2286).
pub const MAX_NOW_MS: u64 = 10_000_000_000_000;

/// The `now` a run uses when `--now` is not given: the latest valid
/// `_creationTime` in the snapshot (the preflight counts only those the
/// importer accepts, in (0, 2^53)), rounded up to the next whole
/// millisecond; 1 when there is none.
pub fn default_now(max_creation_time: Option<f64>) -> crate::error::Result<u64> {
    let now = match max_creation_time {
        Some(t) if t.is_finite() && t > 0.0 => t.floor() as u64 + 1,
        _ => 1,
    };
    if now >= MAX_NOW_MS {
        return Err(crate::error::Error::Usage(format!(
            "the latest _creationTime in the snapshot ({now} ms) is past the year 2286, where new _creationTimes would lose precision; give --now"
        )));
    }
    Ok(now)
}
