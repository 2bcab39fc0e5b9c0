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
        if mode == Mode::Original
            && let Some(why) = first_rejected(db, &defaults, now)?
        {
            // The original has no try/catch: the throw ends the mutation,
            // and the deployment rolls all of it back.
            for (_, _, _, counter) in &defaults {
                out.count(counter, 0);
            }
            out.count("modelParametersCreated", 0).count("errors", 1);
            out.result[0] = ("success", false.into());
            out.fails_run = Some(format!(
                "init threw: {why}; on the deployment the whole mutation rolls back, so nothing of it is kept"
            ));
            return Ok(out);
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
