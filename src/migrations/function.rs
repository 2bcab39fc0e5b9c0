//! A whole function of the user's functions folder: an exported `mutation`
//! or `internalMutation` run once over the snapshot as one transaction, as
//! `npx convex run` runs it on a deployment, or a `query` /
//! `internalQuery` run read-only for what it returns.
//!
//! - `args` is checked against the function's `args` validator before the
//!   handler runs, and the value it returns against `returns`, as the
//!   deployment checks both (Convex docs, "Argument and return value
//!   validation": <https://docs.convex.dev/functions/validation>).
//! - `ctx.db` is the one the migrations of `user.rs` get: reads see the
//!   function's own writes, and a query or a `.collect()` returns documents
//!   in index order, then `_creationTime`, then `_id`.
//! - A mutation is one transaction (Convex docs, "Mutations":
//!   <https://docs.convex.dev/functions/mutation-functions>, "mutations run
//!   transactionally"): when the handler throws, nothing it wrote stays,
//!   the report shows the error and its stack in the user's files, and the
//!   run fails.
//! - `Date.now()` is the run's `--now`; `Math.random()` is seeded from the
//!   function's name.

use std::sync::Arc;

use super::user::{PageHost, js_error, schema_indexes, seed, writes_mut};
use super::{Migration, Mode, Outcome};
use crate::engine::store::{Base, Writes};
use crate::engine::{Db, DocError};
use crate::error::{Error, Result};
use crate::js::{self, FunctionName, Limits, Project, Worker};
use crate::limits::TxMeter;
use crate::schema::TableNames;
use crate::value::Value;

/// A mutation or a query of the functions folder, with its arguments.
pub struct WholeFunction {
    pub project: Arc<Project>,
    pub name: FunctionName,
    /// The module file (`migrations.ts`).
    pub file: String,
    pub display: String,
    /// `true` for a query: it runs read-only and needs no output.
    pub query: bool,
    /// The arguments, as JSON text (`{}` when none were given).
    pub args: String,
    pub limits: Limits,
}

impl Migration for WholeFunction {
    fn name(&self) -> &str {
        &self.display
    }

    fn description(&self) -> &'static str {
        if self.query {
            "a query of the functions folder"
        } else {
            "a mutation of the functions folder"
        }
    }

    fn read_only(&self) -> bool {
        self.query
    }

    fn has_modes(&self) -> bool {
        false
    }

    fn run(&self, db: &mut Db, _mode: Mode) -> Result<Outcome> {
        run(self, db)
    }
}

/// A function's validators, as `exportArgs()` and `exportReturns()` give
/// them (the JSON a deploy pushes).
#[derive(serde::Deserialize)]
struct Meta {
    args: serde_json::Value,
    returns: serde_json::Value,
}

/// The numbers of the snapshot's tables, for `v.id` in `args` and
/// `returns`.
fn table_names(db: &Db) -> TableNames {
    TableNames(
        db.table_numbers()
            .into_iter()
            .map(|(name, n)| (n, name))
            .collect(),
    )
}

/// Checks `value` against a validator's JSON; the message says what fails
/// where, as the deployment's `ArgumentValidationError` /
/// `ReturnsValidationError` do.
fn check(
    what: &str,
    validator: &serde_json::Value,
    value: &Value,
    names: &TableNames,
) -> std::result::Result<(), String> {
    if validator.is_null() {
        return Ok(());
    }
    let v = crate::schema::validator(validator)
        .map_err(|e| format!("the function's {what} validator: {e}"))?;
    let mismatches = v.explain_value(value, names);
    if mismatches.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = mismatches
        .iter()
        .take(10)
        .map(|m| {
            if m.path.is_empty() {
                m.message.clone()
            } else {
                format!("{}: {}", m.path, m.message)
            }
        })
        .collect();
    Err(list.join("; "))
}

fn run(f: &WholeFunction, db: &mut Db) -> Result<Outcome> {
    let (now_ms, _) = db.clock();
    let mut worker = Worker::new(f.project.clone(), now_ms as f64, f.limits)
        .map_err(|e| js_error("starting the JavaScript engine", e))?;
    let export = f.name.export.as_str();
    let meta = worker
        .function_meta(&f.file, export)
        .map_err(|e| js_error(&f.display, e))?
        .ok_or_else(|| Error::Usage(format!("{} is not a registered function", f.display)))?;
    let meta: Meta = serde_json::from_str(&meta)
        .map_err(|e| Error::Usage(format!("internal: {}'s validators: {e}", f.display)))?;
    let names = table_names(db);
    let args_json: serde_json::Value = serde_json::from_str(&f.args)
        .map_err(|e| Error::Usage(format!("--args is not JSON: {e}")))?;
    if !args_json.is_object() {
        return Err(Error::Usage(format!(
            "--args must be a JSON object (the function's named arguments), got {}",
            crate::value::json_kind(&args_json)
        )));
    }
    let args = js::bridge::from_json(&args_json)
        .map_err(|e| Error::Usage(format!("--args: {e}")))?
        .unwrap_or(Value::Null);
    check("args", &meta.args, &args, &names).map_err(|e| {
        Error::Usage(format!(
            "ArgumentValidationError: the arguments of {} do not match its `args` validator: {e}",
            f.display
        ))
    })?;
    let args_text = js::bridge::encode(&args);
    let indexes = schema_indexes(&worker).map_err(|e| js_error("loading schema.ts", e))?;
    let scratch = crate::scratch::Scratch::new_in(db.temp_dir())?;
    let base = Arc::new(Base::new(db, scratch.path(), indexes)?);
    let mut writes = Arc::new(Writes::new(base, db, scratch.path())?);
    let host = PageHost {
        writes: writes.clone(),
        tx: writes.begin(false),
        ids: vec![f.display.clone()],
        current: Some(0),
        inserts: 0,
        logs: Vec::new(),
        meter: TxMeter::new(db.limit_mode()),
    };
    let plain = args_text.strip_prefix('P');
    let (result, host) = worker.with_host(host, |w| match plain {
        Some(text) => w.run_function(&f.file, export, text, seed(&f.display, "")),
        // Tagged values cannot come from --args JSON; keep the door shut.
        None => Err(js::JsError {
            message: "--args holds a value JSON cannot give".into(),
            stack: None,
        }),
    });
    let PageHost {
        writes: shared,
        mut tx,
        logs,
        mut meter,
        ..
    } = host;
    drop(shared);
    let mut out = Outcome {
        logs,
        ..Outcome::default()
    };
    if let Some(c) = meter.take_crossing() {
        let what = if f.query { "query" } else { "mutation" };
        out.warnings.push(format!(
            "limits: {} (one {what}, one transaction)",
            c.describe(&f.display)
        ));
    }
    match result {
        Ok(text) => {
            let value = js::bridge::decode(&text).map_err(|e| {
                Error::Usage(format!("internal: {}'s return value: {e}", f.display))
            })?;
            while tx.depth() > 1 {
                tx.close();
            }
            let refused = check("returns", &meta.returns, &value, &names);
            if refused.is_ok() && !f.query {
                writes_mut(&mut writes).commit(tx.finish())?;
            } else {
                drop(tx);
            }
            if let Err(e) = refused {
                out.fails_run = Some(format!(
                    "ReturnsValidationError: {} returned a value its `returns` validator rejects: {e}; on the deployment the mutation fails and rolls back, so nothing is written",
                    f.display
                ));
            }
            let shown: serde_json::Value =
                serde_json::from_str(&value.to_json()).unwrap_or(serde_json::Value::Null);
            out.result.push(("returned", shown));
            let writes = Arc::try_unwrap(writes).map_err(|_| {
                Error::Usage("internal: the writes are still shared after the run".into())
            })?;
            out.result.push((
                "writes",
                serde_json::to_value(&writes.counts).expect("serializable"),
            ));
            if out.fails_run.is_none() && !f.query {
                writes.apply(db)?;
            }
        }
        Err(e) => {
            drop(tx);
            out.errors.push(DocError {
                table: String::new(),
                id: f.display.clone(),
                reason: e.with_location(),
                stack: e.stack.clone().filter(|s| !s.is_empty()),
            });
            out.fails_run = Some(format!(
                "{} threw: {}; {}",
                f.display,
                e.with_location(),
                if f.query {
                    "a query that throws returns nothing"
                } else {
                    "the mutation rolled back as it does on the deployment, so nothing is written"
                }
            ));
        }
    }
    drop(scratch);
    Ok(out)
}
