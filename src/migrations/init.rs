//! `init` (videoai-app.md section 3): seed the default configurations,
//! models, credit packages and plans, then a definition row in
//! `modelParameters` for every model.
//!
//! `original` does nothing when any configuration exists, and otherwise
//! inserts everything, duplicates included. `fixed` inserts each default
//! that is missing by its natural key (`key`, `modelId`, `packageId`,
//! `planId`) and a definition row for each `modelId` that has none.

use rustc_hash::FxHashSet as HashSet;

use super::app_data;
use super::ensure_model_parameters_populated::{
    Existing, definitions_needed, existing_model_ids, insert_counted, models,
};
use super::{Migration, Mode, Outcome, SetKey, set_key};
use crate::engine::{Db, Fields};
use crate::error::Result;
use crate::limits::{LimitMode, TxMeter, doc_size, doc_size_with_system, thousands};
use crate::value::Value;

pub struct Init;

/// The defaults of one table: (table, natural key field, rows, counter name).
type Defaults = (
    &'static str,
    &'static str,
    Vec<(String, Fields)>,
    &'static str,
);

impl Migration for Init {
    fn name(&self) -> &'static str {
        "init"
    }

    fn description(&self) -> &'static str {
        "seed default configurations, models, credit packages, plans and model parameters"
    }

    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome> {
        let now = db.now();
        let mut out = Outcome::default();
        out.result.push(("success", true.into()));
        let defaults: [Defaults; 4] = [
            (
                "configurations",
                "key",
                app_data::configurations(now),
                "configurationsCreated",
            ),
            ("models", "modelId", app_data::models(now), "modelsCreated"),
            (
                "creditPackages",
                "packageId",
                app_data::credit_packages(now),
                "creditPackagesCreated",
            ),
            (
                "subscriptionPlans",
                "planId",
                app_data::subscription_plans(now),
                "subscriptionPlansCreated",
            ),
        ];
        if mode == Mode::Original
            && !db
                .gather_fields("configurations", &[], |_| Some(()))?
                .is_empty()
        {
            // "Database already initialized, skipping initialization".
            for (_, _, _, counter) in &defaults {
                out.count(counter, 0);
            }
            out.count("modelParametersCreated", 0).count("errors", 0);
            return Ok(out);
        }
        // The original has no try/catch: a throw ends the mutation, and the
        // deployment rolls all of it back.
        let threw = |out: &mut Outcome, why: String| {
            for (_, _, _, counter) in &defaults {
                out.count(counter, 0);
            }
            out.count("modelParametersCreated", 0).count("errors", 1);
            out.result[0] = ("success", false.into());
            out.fails_run = Some(format!(
                "init threw: {why}; on the deployment the whole mutation rolls back, so nothing of it is kept"
            ));
        };
        if mode == Mode::Original {
            if let Some(why) = first_rejected(db, &defaults, now)? {
                threw(&mut out, why);
                return Ok(out);
            }
            // The deployed function is one mutation: count what it reads
            // and writes against Convex's limits.
            let (crossing, limit) = replay(db, &defaults, now)?;
            out.warnings.extend(crossing);
            if let Some(why) = limit {
                threw(&mut out, why);
                return Ok(out);
            }
        }
        for (table, key_field, rows, counter) in defaults {
            let rows = match mode {
                Mode::Original => rows,
                Mode::Fixed => {
                    let have: HashSet<Option<SetKey>> = db
                        .gather_fields(table, &[key_field], |d| Some(set_key(d.get(key_field))))?
                        .into_iter()
                        .collect();
                    rows.into_iter()
                        .filter(|(key, _)| {
                            !have.contains(&set_key(Some(&Value::String(key.clone()))))
                        })
                        .collect()
                }
            };
            let created = insert_counted(db, table, rows, &mut out.errors)?;
            out.count(counter, created);
        }
        let models = models(db)?;
        let existing = match mode {
            // The original inserts a row for every model, whatever exists.
            Mode::Original => Existing::none(),
            Mode::Fixed => existing_model_ids(db, mode)?,
        };
        let rows = definitions_needed(&models, &existing, mode, now, &mut out.warnings);
        let created = insert_counted(db, "modelParameters", rows, &mut out.errors)?;
        let errors = out.errors.len() as u64;
        out.count("modelParametersCreated", created)
            .count("errors", errors);
        Ok(out)
    }
}

/// Under an enforced schema (`migrate --schema --mode original`), the
/// first row of the original's inserts the schema refuses: the defaults,
/// then a definition row for every model, those already there and the
/// seeded ones, as it would insert them.
fn first_rejected(db: &Db, defaults: &[Defaults], now: f64) -> Result<Option<String>> {
    for (table, _, rows, _) in defaults {
        if let Some(why) = rows.iter().find_map(|(_, r)| db.schema_rejects(table, r)) {
            return Ok(Some(why));
        }
    }
    let seeded = defaults
        .iter()
        .filter(|(t, ..)| *t == "models")
        .flat_map(|(_, _, rows, _)| rows.iter().map(|(_, r)| r));
    let existing = models(db)?;
    let definitions = existing
        .iter()
        .map(|m| app_data::definition_row(m.model_id.as_ref(), m.model_type.as_deref(), now))
        .chain(seeded.map(|r| {
            app_data::definition_row(
                r.get("modelId"),
                r.get("modelType").and_then(Value::as_str),
                now,
            )
        }));
    Ok(definitions
        .into_iter()
        .find_map(|r| db.schema_rejects("modelParameters", &r)))
}

/// Replays the deployed function's database calls in its order (section 3
/// of the app's notes), on a first run: `ctx.db.query("configurations")
/// .first()` (one range, nothing found), an insert per default, then
/// `ctx.db.query("models").collect()` (one range, every model read, the
/// new ones included) and an insert per model. The first crossing, as a
/// report line, and with `--limits enforce` what threw.
fn replay(db: &Db, defaults: &[Defaults], now: f64) -> Result<(Option<String>, Option<String>)> {
    let mode = db.limit_mode();
    if mode == LimitMode::Off {
        return Ok((None, None));
    }
    let mut meter = TxMeter::new(mode);
    let existing = models(db)?;
    let sizes = db.collect("models", |m| Some(doc_size(m.fields)))?;
    let seeded: Vec<&Fields> = defaults
        .iter()
        .filter(|(t, ..)| *t == "models")
        .flat_map(|(_, _, rows, _)| rows.iter().map(|(_, r)| r))
        .collect();
    let threw = (|| {
        meter.range("first configurations", &|| {
            "its ctx.db.query(\"configurations\").first()".into()
        })?;
        for (table, _, rows, _) in defaults {
            for (key, row) in rows {
                let at = || format!("the insert of {key} into {table}");
                meter.write(doc_size_with_system(doc_size(row)), &at)?;
            }
        }
        let read = sizes
            .iter()
            .copied()
            .chain(seeded.iter().map(|r| doc_size_with_system(doc_size(r))));
        meter.collect("collect models", read, &|| {
            "its ctx.db.query(\"models\").collect()".into()
        })?;
        let definitions = existing
            .iter()
            .map(|m| app_data::definition_row(m.model_id.as_ref(), m.model_type.as_deref(), now))
            .chain(seeded.iter().map(|r| {
                app_data::definition_row(
                    r.get("modelId"),
                    r.get("modelType").and_then(Value::as_str),
                    now,
                )
            }));
        for (i, row) in definitions.enumerate() {
            let at = || {
                format!(
                    "the insert of model parameters number {}",
                    thousands(i as u64 + 1)
                )
            };
            meter.write(doc_size_with_system(doc_size(&row)), &at)?;
        }
        Ok::<(), String>(())
    })()
    .err();
    let crossing = meter
        .take_crossing()
        .map(|c| format!("limits: {}", c.describe("init")));
    Ok((crossing, threw))
}
