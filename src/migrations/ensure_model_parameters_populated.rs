//! `ensureModelParametersPopulated` (videoai-app.md 4.5): give each model
//! without parameters a per-model definition row in `modelParameters`.
//!
//! `original` treats a model as populated when any row of either structure
//! names it (so a per-video row from `migrateVideoParameters` hides it) and
//! inserts one row per model document, duplicates included. `fixed` looks at
//! definition rows only and deduplicates models by `modelId`.

use rustc_hash::FxHashSet as HashSet;

use super::app_data::definition_row;
use super::js::{SameValueZero, same_value_zero};
use super::{Migration, Mode, Outcome, SetKey, set_key};
use crate::engine::{Db, DocError, Fields};
use crate::error::Result;
use crate::limits::{LimitMode, Replayed, TxMeter, doc_size, doc_size_with_system, thousands};
use crate::value::Value;

pub struct EnsureModelParametersPopulated;

/// A model as the definition step needs it.
pub(crate) struct ModelInfo {
    pub key: String,
    pub model_id: Option<Value>,
    pub model_type: Option<String>,
}

/// All models in (`_creationTime`, `_id`) order.
pub(crate) fn models(db: &Db) -> Result<Vec<ModelInfo>> {
    db.collect_fields("models", &["modelId", "modelType"], |m| {
        Some(ModelInfo {
            key: m.key(),
            model_id: m.get("modelId").cloned(),
            model_type: m.get("modelType").and_then(Value::as_str).map(String::from),
        })
    })
}

/// The `modelId`s that already have a row.
pub(crate) enum Existing {
    /// The original's `new Set(existingParams.map(p => p.modelId))` over
    /// every row, asked with `.has(model.modelId)`: JavaScript's
    /// SameValueZero, so a `-0` finds `0`, a NaN finds a NaN, and an object
    /// or array finds nothing (another read, another object).
    Js(HashSet<SameValueZero>),
    /// `fixed`: the definition rows' (no truthy `videoId`) `modelId`s.
    Keys(HashSet<Option<SetKey>>),
}

impl Existing {
    pub(crate) fn none() -> Existing {
        Existing::Keys(HashSet::default())
    }

    fn has(&self, model_id: Option<&Value>) -> bool {
        match self {
            Existing::Js(set) => same_value_zero(model_id).is_some_and(|k| set.contains(&k)),
            Existing::Keys(set) => set.contains(&set_key(model_id)),
        }
    }
}

pub(crate) fn existing_model_ids(db: &Db, mode: Mode) -> Result<Existing> {
    Ok(match mode {
        Mode::Original => Existing::Js(
            db.gather_fields("modelParameters", &["modelId"], |r| {
                same_value_zero(r.get("modelId"))
            })?
            .into_iter()
            .collect(),
        ),
        Mode::Fixed => Existing::Keys(
            db.gather_fields("modelParameters", &["modelId", "videoId"], |r| {
                (!r.truthy("videoId")).then(|| set_key(r.get("modelId")))
            })?
            .into_iter()
            .collect(),
        ),
    })
}

/// The models that need a definition row, and the rows to insert (keyed by
/// the model's `_id`). `fixed` skips repeated `modelId`s and models without
/// a string `modelId` (with a warning).
pub(crate) fn definitions_needed(
    models: &[ModelInfo],
    existing: &Existing,
    mode: Mode,
    now: f64,
    warnings: &mut Vec<String>,
) -> Vec<(String, Fields)> {
    let mut planned = HashSet::default();
    let mut rows = Vec::new();
    for m in models {
        if existing.has(m.model_id.as_ref()) {
            continue;
        }
        let id = set_key(m.model_id.as_ref());
        if mode == Mode::Fixed {
            if !matches!(m.model_id, Some(Value::String(_))) {
                warnings.push(format!(
                    "model {} has no string modelId; no definition row made",
                    m.key
                ));
                continue;
            }
            if !planned.insert(id) {
                continue;
            }
        }
        rows.push((
            m.key.clone(),
            definition_row(m.model_id.as_ref(), m.model_type.as_deref(), now),
        ));
    }
    rows
}

/// Inserts rows, returning how many went in and the errors of the others.
pub(crate) fn insert_counted(
    db: &mut Db,
    table: &str,
    rows: Vec<(String, Fields)>,
    errors: &mut Vec<DocError>,
) -> Result<u64> {
    let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
    let mut created = 0;
    for (key, result) in keys.into_iter().zip(db.insert(table, rows)?) {
        match result {
            Ok(_) => created += 1,
            Err(reason) => errors.push(DocError {
                table: table.to_owned(),
                id: format!("new row for {key}"),
                reason,
                stack: None,
            }),
        }
    }
    Ok(created)
}

impl Migration for EnsureModelParametersPopulated {
    fn name(&self) -> &'static str {
        "ensureModelParametersPopulated"
    }

    fn description(&self) -> &'static str {
        "add a per-model definition row to modelParameters for models that have none"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["models"]
    }

    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome> {
        let mut out = Outcome::default();
        let models = models(db)?;
        let existing = existing_model_ids(db, mode)?;
        let mut rows = definitions_needed(&models, &existing, mode, db.now(), &mut out.warnings);
        // The deployed function is one mutation: count what it reads and
        // writes against Convex's limits (never in fixed mode).
        let replayed = match mode {
            Mode::Original => replay(db, &rows)?,
            Mode::Fixed => Replayed::off(),
        };
        if let Some(failure) = replayed.whole {
            // A `collect()` threw: the outer catch returns.
            out.result.push(("success", false.into()));
            out.count("modelsProcessed", 0)
                .count("parametersCreated", 0)
                .count("errors", 1);
            out.warnings.push(failure);
            return Ok(out);
        }
        out.warnings.extend(replayed.crossing.clone());
        let processed = rows.len() as u64;
        // With --limits enforce, an insert that crosses a limit throws
        // inside the per-model try/catch: counted in errors and processed.
        rows.retain(|(key, _)| match replayed.failure(key) {
            Some(f) => {
                out.errors.push(DocError {
                    table: "modelParameters".into(),
                    id: format!("new row for {key}"),
                    reason: f.message.clone(),
                    stack: None,
                });
                false
            }
            None => true,
        });
        let created = insert_counted(db, "modelParameters", rows, &mut out.errors)?;
        out.result.push(("success", true.into()));
        let errors = out.errors.len() as u64;
        out.count("modelsProcessed", processed)
            .count("parametersCreated", created)
            .count("errors", errors);
        Ok(out)
    }
}

/// Replays the deployed function's database calls in its order (section
/// 4.5 of the app's notes): `ctx.db.query("models").collect()` and
/// `ctx.db.query("modelParameters").collect()` (a range each, every
/// document read), then one insert per model that needs a row.
fn replay(db: &Db, rows: &[(String, Fields)]) -> Result<Replayed> {
    let mode = db.limit_mode();
    if mode == LimitMode::Off {
        return Ok(Replayed::off());
    }
    let mut meter = TxMeter::new(mode);
    let name = "ensureModelParametersPopulated";
    for table in ["models", "modelParameters"] {
        let sizes = db.collect(table, |d| Some(doc_size(d.fields)))?;
        if let Err(whole) = Replayed::collect_all(&mut meter, name, table, sizes) {
            return Ok(whole);
        }
    }
    let mut out = Replayed::default();
    for (i, (key, row)) in rows.iter().enumerate() {
        let at = || {
            format!(
                "the insert for model {key} (number {} of the loop)",
                thousands(i as u64 + 1)
            )
        };
        let step = meter.write(doc_size_with_system(doc_size(row)), &at);
        out.failed(key, step, false);
    }
    out.finish(&mut meter, name);
    Ok(out)
}
