//! `analyzeStorageDistribution` (videoai-app.md 4.4): count completed videos
//! by where their file lives. Read-only and the same in both modes; the
//! report adds `neitherStorageVideos` (completed, with neither key) and
//! `allVideos` to the original three counters.

use super::{Migration, Mode, Outcome};
use crate::engine::Db;
use crate::error::Result;
use crate::limits::{LimitMode, TxMeter, doc_size};
use crate::value::Value;

pub struct AnalyzeStorageDistribution;

const R2: u8 = 1;
const CONVEX: u8 = 2;
const NEITHER: u8 = 4;

impl Migration for AnalyzeStorageDistribution {
    fn name(&self) -> &'static str {
        "analyzeStorageDistribution"
    }

    fn description(&self) -> &'static str {
        "count completed videos stored in R2, in Convex storage, or neither (read-only)"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["videos"]
    }

    fn read_only(&self) -> bool {
        true
    }

    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome> {
        // The deployed query is one transaction: its
        // `withIndex("by_status", q => q.eq("status", "completed"))
        // .collect()` reads one range, every completed video.
        let mut meter = TxMeter::new(match mode {
            Mode::Original => db.limit_mode(),
            Mode::Fixed => LimitMode::Off,
        });
        let mut threw = None;
        if meter.mode() != LimitMode::Off {
            let completed = Value::String("completed".into());
            let sizes = db.collect("videos", |v| {
                (v.get("status") == Some(&completed)).then(|| doc_size(v.fields))
            })?;
            let at = || "its query of completed videos".to_string();
            threw = meter.collect("by_status completed", sizes, &at).err();
        }
        let crossing = meter
            .take_crossing()
            .map(|c| format!("limits: {}", c.describe(self.name())));
        let (all, counts) = db.tally("videos", &["status", "r2FileKey", "convexFileId"], |v| {
            if v.get("status") != Some(&Value::String("completed".into())) {
                0
            } else if v.truthy("r2FileKey") {
                R2
            } else if v.truthy("convexFileId") {
                CONVEX
            } else {
                NEITHER
            }
        })?;
        let [r2, convex, neither, ..] = counts;
        let mut out = Outcome::default();
        out.count("r2StorageVideos", r2)
            .count("convexStorageVideos", convex)
            .count("totalVideos", r2 + convex + neither)
            .count("neitherStorageVideos", neither)
            .count("allVideos", all);
        out.warnings.extend(crossing);
        if let Some(message) = threw {
            // A query has no try/catch: it throws, and returns nothing.
            out.fails_run = Some(format!(
                "{} threw: {message}; with --limits enforce the query fails as on the deployment, and returns nothing",
                self.name()
            ));
        }
        Ok(out)
    }
}
