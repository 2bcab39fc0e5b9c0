//! The built-in migrations: `init` and the five functions of the VideoAI
//! app's `convex/migrations.ts`, each in `fixed` and `original` mode
//! (videoai-app.md section 6).
//!
//! A migration is one file here implementing [`Migration`], plus one line in
//! [`REGISTRY`]. It sees only the [`Db`] (tables, `now`, new IDs) and
//! returns its counters; the engine does the I/O, the parallelism and the
//! bookkeeping of what changed.

mod analyze_storage_distribution;
pub mod app_data;
mod cleanup_video_fields;
mod ensure_model_parameters_populated;
pub mod function;
mod init;
pub mod js;
mod migrate_parameter_structure;
pub mod migrate_video_parameters;
pub mod user;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{Db, DocError, TableChanges};
use crate::error::Result;

/// Which behaviour to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// What the app's guide promises: idempotent, deterministic.
    Fixed,
    /// What the deployed TypeScript does, bug for bug (seeds and clock made
    /// deterministic).
    Original,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fixed => "fixed",
            Mode::Original => "original",
        }
    }
}

/// A migration the tool can run.
pub trait Migration: Sync {
    /// The function's name in the app (`migrateVideoParameters`).
    fn name(&self) -> &str;
    /// One line for `convex-snapshot list`.
    fn description(&self) -> &'static str;
    /// True when it never writes (it then needs no output archive).
    fn read_only(&self) -> bool {
        false
    }
    /// The app's tables it works on: when the snapshot has none of them,
    /// it is probably another app's, and the report says so.
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    /// True when `--mode` changes what it does (the built-ins).
    fn has_modes(&self) -> bool {
        true
    }
    /// Runs on `db`. Per-document errors go in the outcome; an `Err` stops
    /// the whole run.
    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome>;
}

/// Every built-in migration. Add new ones here.
pub static REGISTRY: &[&dyn Migration] = &[
    &init::Init,
    &migrate_video_parameters::MigrateVideoParameters,
    &cleanup_video_fields::CleanupVideoFields,
    &migrate_parameter_structure::MigrateParameterStructure,
    &ensure_model_parameters_populated::EnsureModelParametersPopulated,
    &analyze_storage_distribution::AnalyzeStorageDistribution,
];

/// What `--all` runs: the working order of videoai-app.md section 5.
pub const ALL: [&str; 5] = [
    "migrateVideoParameters",
    "migrateParameterStructure",
    "ensureModelParametersPopulated",
    "cleanupVideoFields",
    "analyzeStorageDistribution",
];

/// Finds a migration by any spelling the guide or the Convex CLI uses:
/// `X`, `migrations.X`, `migrations:X`, `api.migrations.X`,
/// `internal.migrations.X`; `init`, `api.init`, `init:default`.
pub fn find(name: &str) -> Option<&'static dyn Migration> {
    let bare = name
        .trim()
        .trim_start_matches("api.")
        .trim_start_matches("internal.");
    let bare = bare
        .strip_prefix("migrations.")
        .or_else(|| bare.strip_prefix("migrations:"))
        .unwrap_or(bare);
    let bare = match bare {
        "init:default" | "init.default" | "init.js" | "init.ts" => "init",
        other => other,
    };
    REGISTRY.iter().copied().find(|m| m.name() == bare)
}

/// What one migration returns.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The original return fields, in the original order, then the extras
    /// of fixed mode.
    pub result: Vec<(&'static str, serde_json::Value)>,
    pub warnings: Vec<String>,
    pub errors: Vec<DocError>,
    /// What user code printed, with the document it ran on.
    pub logs: Vec<LogLine>,
    /// Why the run must fail whatever the flags (user code threw), if it must.
    pub fails_run: Option<String>,
}

/// A line user code printed (`console.log` and friends).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// The `_id` of the document the call ran on.
    pub id: String,
    pub level: String,
    pub text: String,
}

impl Outcome {
    /// Adds a counter.
    pub fn count(&mut self, name: &'static str, n: u64) -> &mut Self {
        self.result.push((name, n.into()));
        self
    }
}

/// How many warnings and error details a report keeps (all are counted).
pub const MAX_LISTED: usize = 100;

/// The report of one migration, as printed and written with `--report`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub migration: String,
    /// The `--mode` it ran in (none for a migration without modes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Under the original names, plus fixed mode's extras.
    pub result: serde_json::Map<String, serde_json::Value>,
    pub warnings: Listed<String>,
    pub error_details: Listed<DocError>,
    /// The app's tables it works on that the snapshot lacks (it then did
    /// nothing, and `--strict` fails).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_tables: Vec<String>,
    /// What user code printed.
    #[serde(skip_serializing_if = "Listed::is_empty")]
    pub logs: Listed<LogLine>,
    /// Why this migration fails the run (user code threw), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fails_run: Option<String>,
    /// Rows inserted, updated and deleted per table.
    pub tables: BTreeMap<String, TableChanges>,
}

/// A capped list with the total count.
#[derive(Debug, Serialize)]
pub struct Listed<T> {
    pub total: usize,
    pub listed: Vec<T>,
}

impl<T> Listed<T> {
    fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn new(mut all: Vec<T>) -> Listed<T> {
        let total = all.len();
        all.truncate(MAX_LISTED);
        Listed { total, listed: all }
    }
}

/// Runs one migration and builds its report.
pub fn run(migration: &dyn Migration, db: &mut Db, mode: Mode) -> Result<Report> {
    db.begin(migration.name());
    let missing: Vec<String> = migration
        .needs()
        .iter()
        .filter(|t| !db.exists(t))
        .map(|t| t.to_string())
        .collect();
    let mut outcome = migration.run(db, mode)?;
    for t in &missing {
        outcome.warnings.insert(
            0,
            format!(
                "the snapshot has no {t} table, which {} works on: it did nothing (is this the VideoAI app's snapshot?)",
                migration.name()
            ),
        );
    }
    Ok(Report {
        migration: migration.name().to_owned(),
        mode: migration.has_modes().then_some(mode),
        result: outcome
            .result
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        warnings: Listed::new(outcome.warnings),
        error_details: Listed::new(outcome.errors),
        missing_tables: missing,
        logs: Listed::new(outcome.logs),
        fails_run: outcome.fails_run,
        tables: db.take_changes(),
    })
}

impl Report {
    /// Number of per-document errors.
    pub fn errors(&self) -> usize {
        self.error_details.total
    }

    /// A few readable lines for stderr, after `prefix` (the step counter).
    pub fn summary(&self, prefix: &str) -> String {
        use std::fmt::Write as _;
        let mut s = match self.mode {
            Some(mode) => format!("{prefix}{} ({}):", self.migration, mode.name()),
            None => format!("{prefix}{}:", self.migration),
        };
        // Counters inline; structured results (per-table writes) are in
        // the tables' lines below and in --json.
        let mut writes = None;
        for (k, v) in &self.result {
            if k == "writes" {
                writes = v.as_object();
            } else if !(v.is_object() || v.is_array()) {
                let _ = write!(s, " {k}={v}");
            }
        }
        for (table, c) in &self.tables {
            let w = writes.and_then(|w| w.get(table));
            let n = |k: &str| w.and_then(|w| w.get(k)).and_then(|v| v.as_u64());
            match (n("patched"), n("replaced")) {
                (Some(patched), Some(replaced)) => {
                    let _ = write!(
                        s,
                        "\n  {table}: {} inserted, {} updated ({patched} patched, {replaced} replaced), {} deleted",
                        c.inserted, c.updated, c.deleted
                    );
                }
                _ => {
                    let _ = write!(
                        s,
                        "\n  {table}: {} inserted, {} updated, {} deleted",
                        c.inserted, c.updated, c.deleted
                    );
                }
            }
        }
        const SHOWN: usize = 5;
        for w in self.warnings.listed.iter().take(SHOWN) {
            let _ = write!(s, "\n  warning: {w}");
        }
        if self.warnings.total > SHOWN {
            let more = self.warnings.total - SHOWN;
            let _ = write!(s, "\n  … {more} more warnings (all counted in --report)");
        }
        for e in self.error_details.listed.iter().take(SHOWN) {
            let _ = write!(s, "\n  error: {} {}: {}", e.table, e.id, e.reason);
        }
        for l in self.logs.listed.iter().take(SHOWN) {
            let _ = write!(s, "\n  console.{} [{}]: {}", l.level, l.id, l.text);
        }
        if self.logs.total > SHOWN {
            let more = self.logs.total - SHOWN;
            let _ = write!(s, "\n  … {more} more lines printed (all in --report)");
        }
        if self.error_details.total > SHOWN {
            let more = self.error_details.total - SHOWN;
            let _ = write!(s, "\n  … {more} more errors (all counted in --report)");
        }
        s
    }
}

/// The key a JS `Set` or index would compare a value by: a string (kept as
/// the 16 internal bytes and table number when it is a canonical document
/// ID, so an index of a million IDs holds no heap strings), or a tagged
/// encoding of any other value. Two keys are equal exactly when the JS
/// values are: an ID string has one canonical form, so the compact form is
/// a bijection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SetKey {
    Id(u32, [u8; 16]),
    Text(Box<str>),
}

impl std::fmt::Display for SetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetKey::Id(table, internal) => {
                f.write_str(&crate::id::DocumentId::new(*table, *internal).encode())
            }
            SetKey::Text(s) => f.write_str(s),
        }
    }
}

/// The [`SetKey`] of a value, or `None` for `undefined`.
pub(crate) fn set_key(v: Option<&crate::value::Value>) -> Option<SetKey> {
    Some(match v? {
        crate::value::Value::String(s) => match crate::id::DocumentId::decode(s) {
            Ok(id) => SetKey::Id(id.table_number, id.internal),
            Err(_) => SetKey::Text(s.as_str().into()),
        },
        other => SetKey::Text(format!("\u{0}{other:?}").into()),
    })
}

/// The [`SetKey`] of a document's `_id` (its report key when it has none).
pub(crate) fn doc_key(doc: &crate::engine::Doc) -> SetKey {
    set_key(doc.get("_id")).unwrap_or_else(|| SetKey::Text(doc.key().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keys_are_equal_exactly_when_the_values_are() {
        use crate::value::Value;
        let id = "j9700712gen69dwtfm03rc5d2s7jwabf";
        let key = |v: Value| set_key(Some(&v)).unwrap();
        let s = |t: &str| Value::String(t.to_owned());
        assert!(matches!(key(s(id)), SetKey::Id(..)));
        assert_eq!(key(s(id)), key(s(id)));
        assert_eq!(key(s(id)).to_string(), id);
        // Not canonical IDs: kept as text, and unequal to the ID.
        for other in [&id[..31], "J9700712gen69dwtfm03rc5d2s7jwabf", "videoId"] {
            assert!(matches!(key(s(other)), SetKey::Text(_)), "{other}");
            assert_ne!(key(s(other)), key(s(id)));
            assert_eq!(key(s(other)).to_string(), other);
        }
        assert_ne!(key(Value::Float64(1.0)), key(s("1")));
        assert_ne!(key(Value::Float64(1.0)), key(Value::Int64(1)));
        assert_eq!(set_key(None), None);
    }

    #[test]
    fn names_are_unique_documented_and_found_by_every_spelling() {
        let mut names: Vec<_> = REGISTRY.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
        for m in REGISTRY {
            assert!(
                !m.description().is_empty(),
                "{} has no description",
                m.name()
            );
            assert!(find(m.name()).is_some());
        }
        for spelling in [
            "migrateVideoParameters",
            "migrations.migrateVideoParameters",
            "migrations:migrateVideoParameters",
            "api.migrations.migrateVideoParameters",
            "internal.migrations.migrateVideoParameters",
        ] {
            assert_eq!(
                find(spelling).map(|m| m.name()),
                Some("migrateVideoParameters")
            );
        }
        assert_eq!(find("api.init").map(|m| m.name()), Some("init"));
        assert_eq!(find("init").map(|m| m.name()), Some("init"));
        assert!(find("migrateVideo").is_none());
        for name in ALL {
            assert!(find(name).is_some(), "{name}");
        }
    }
}

/// The example of docs/adding-a-migration.md, run for real.
#[cfg(test)]
mod architecture_example {
    use super::*;
    use crate::engine::{Change, Db, Effect};
    use crate::value::Value;

    pub struct MyMigration;
    impl Migration for MyMigration {
        fn name(&self) -> &'static str {
            "myMigration"
        }
        fn description(&self) -> &'static str {
            "upper-case every video's status"
        }
        fn run(&self, db: &mut Db, _mode: Mode) -> Result<Outcome> {
            let r = db.map("videos", None, |doc| {
                let Some(Value::String(s)) = doc.get("status") else {
                    return Ok(Effect::keep());
                };
                let status = Value::String(s.to_uppercase());
                Ok(Effect::change(Change::Patch(vec![(
                    "status".into(),
                    Some(status),
                )])))
            })?;
            let mut out = Outcome::default();
            out.count("updated", r.updated)
                .count("errors", r.errors.len() as u64);
            out.errors = r.errors;
            Ok(out)
        }
    }

    #[test]
    fn a_user_migration_runs_through_the_engine() {
        let (dir, path) = crate::generate::test_snapshot(1, 40);
        let snap = crate::snapshot::Snapshot::open(&path).unwrap();
        let check = crate::engine::preflight(&snap, true).unwrap();
        let mut db = Db::open(&snap, &check, 1_754_240_000_000, dir.path(), true).unwrap();
        let report = run(&MyMigration, &mut db, Mode::Fixed).unwrap();
        let updated = report.result["updated"].as_u64().unwrap();
        assert!(updated > 30, "{updated}");
        assert_eq!(report.tables["videos"].updated, updated);
        let statuses = db
            .gather("videos", |d| {
                d.get("status").and_then(Value::as_str).map(String::from)
            })
            .unwrap();
        assert!(statuses.iter().all(|s| s == &s.to_uppercase()));

        // Patching a field to the value it has is no change; patching `_id`
        // is a per-document error that leaves the document as it was.
        db.begin("again");
        let again = db
            .map("videos", None, |doc| {
                let status = doc.get("status").cloned();
                Ok(Effect::change(Change::Patch(vec![(
                    "status".into(),
                    status,
                )])))
            })
            .unwrap();
        assert_eq!((again.updated, again.errors.len()), (0, 0));
        let bad = db
            .map("videos", None, |_| {
                let id = Value::String("x".into());
                Ok(Effect::change(Change::Patch(vec![(
                    "_id".into(),
                    Some(id),
                )])))
            })
            .unwrap();
        assert_eq!((bad.updated, bad.errors.len() as u64), (0, bad.rows));
        assert!(bad.errors[0].reason.contains("may not change _id"));
        // Names a patch sets are checked, at the top and inside values.
        let nested: Value = Value::Object([("$x", Value::Null)].into_iter().collect());
        for (name, value) in [
            ("$status", Value::Null),
            ("_status", Value::Null),
            ("status", nested),
        ] {
            let bad = db
                .map("videos", None, |_| {
                    Ok(Effect::change(Change::Patch(vec![(
                        name.into(),
                        Some(value.clone()),
                    )])))
                })
                .unwrap();
            assert_eq!(
                (bad.updated, bad.errors.len() as u64),
                (0, bad.rows),
                "{name}"
            );
            assert!(bad.errors[0].reason.contains("'$'") || bad.errors[0].reason.contains("'_'"));
        }
        let removed = db
            .map("videos", None, |_| {
                Ok(Effect::change(Change::Patch(vec![("status".into(), None)])))
            })
            .unwrap();
        assert_eq!(removed.updated, removed.rows);
        assert!(
            db.gather("videos", |d| d.get("status").cloned())
                .unwrap()
                .is_empty()
        );
    }
}
