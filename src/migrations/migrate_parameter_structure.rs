//! `migrateParameterStructure` (videoai-app.md 4.3): move per-video rows
//! from `modelParameters` to `videoParameters`.
//!
//! `original`: if any row has a truthy `videoId` and truthy `parameters`,
//! copy each such row to `videoParameters` and delete **every**
//! `modelParameters` row, definition rows included; otherwise do nothing.
//! `fixed`: move per-video rows unless `videoParameters` already has a row
//! for that video (`duplicatesDropped`), delete per-video rows with falsy
//! `parameters` (`invalidDropped`), keep the per-model definition rows.

use rustc_hash::FxHashSet as HashSet;

use super::{Migration, Mode, Outcome, SetKey, doc_key, set_key};
use crate::engine::{Change, Db, Doc, Effect};
use crate::error::Result;
use crate::limits::{LimitMode, Replayed, TxMeter, doc_size, doc_size_with_system, thousands};

pub struct MigrateParameterStructure;

const MOVED: u8 = 1;
const DUPLICATE: u8 = 2;
const INVALID: u8 = 4;

/// A row with a truthy `videoId` and truthy `parameters`.
fn is_old_structure(row: &Doc) -> bool {
    row.truthy("videoId") && row.truthy("parameters")
}

/// The fields of a per-video row its `videoParameters` row is made of,
/// copied as they are (absent ones stay absent).
const MOVED_FIELDS: &[&str] = &[
    "videoId",
    "modelId",
    "parameters",
    "parameterMapping",
    "createdAt",
];

/// What the migration reads of a row to decide what to do with it: the
/// moved row is copied by the engine ([`Effect::copy_into`]).
const READS: &[&str] = &["videoId", "parameters"];

impl Migration for MigrateParameterStructure {
    fn name(&self) -> &'static str {
        "migrateParameterStructure"
    }

    fn description(&self) -> &'static str {
        "move per-video modelParameters rows to videoParameters"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["modelParameters"]
    }

    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome> {
        let mut out = Outcome::default();
        out.result.push(("success", true.into()));
        let result = match mode {
            Mode::Original => {
                // The deployed function is one mutation: count what it
                // reads and writes against Convex's limits.
                let replayed = replay(db)?;
                if let Some(failure) = replayed.whole {
                    // The `collect()` itself threw: the outer catch returns.
                    out.result[0].1 = false.into();
                    out.count("migratedRecords", 0).count("errors", 1);
                    out.warnings.push(failure);
                    return Ok(out);
                }
                out.warnings.extend(replayed.crossing.clone());
                let has_old = !db
                    .gather_fields("modelParameters", &["videoId", "parameters"], |r| {
                        is_old_structure(r).then_some(())
                    })?
                    .is_empty();
                if !has_old {
                    out.count("migratedRecords", 0).count("errors", 0);
                    return Ok(out);
                }
                let into = Some("videoParameters");
                db.map_reading_all("modelParameters", into, READS, |row| {
                    let old = is_old_structure(row);
                    // With --limits enforce, the write that crosses a limit
                    // throws inside the per-row try/catch: at the insert
                    // nothing happens; at the delete the row was moved and
                    // counted, and stays.
                    Ok(match replayed.failure(row.id()) {
                        Some(f) if f.after_first_write => Effect {
                            copy_into: Some(MOVED_FIELDS),
                            tally: MOVED,
                            error_after: Some(f.message.clone()),
                            ..Effect::keep()
                        },
                        Some(f) => Effect {
                            fails: Some(f.message.clone()),
                            ..Effect::keep()
                        },
                        None => Effect {
                            copy_into: old.then_some(MOVED_FIELDS),
                            tally: if old { MOVED } else { 0 },
                            ..Effect::change(Change::Delete)
                        },
                    })
                })?
            }
            Mode::Fixed => {
                let duplicates = duplicates(db)?;
                let into = Some("videoParameters");
                // `move`: the set goes with the closure, freed once the
                // pass is done.
                db.map_reading_all("modelParameters", into, READS, move |row| {
                    if !row.truthy("videoId") {
                        return Ok(Effect::keep()); // a per-model definition row
                    }
                    let (insert, tally) = if !row.truthy("parameters") {
                        (None, INVALID)
                    } else if duplicates.contains(&doc_key(row)) {
                        (None, DUPLICATE)
                    } else {
                        (Some(MOVED_FIELDS), MOVED)
                    };
                    let warnings = if tally == INVALID {
                        vec![format!(
                            "modelParameters {}: videoId {} has no parameters; row deleted, nothing moved",
                            row.key(),
                            set_key(row.get("videoId"))
                                .map(|k| k.to_string())
                                .unwrap_or_default()
                        )]
                    } else {
                        Vec::new()
                    };
                    Ok(Effect {
                        copy_into: insert,
                        tally,
                        warnings,
                        ..Effect::change(Change::Delete)
                    })
                })?
            }
        };
        out.count("migratedRecords", result.tally[0])
            .count("errors", result.errors.len() as u64);
        if mode == Mode::Fixed {
            out.count("duplicatesDropped", result.tally[1])
                .count("invalidDropped", result.tally[2]);
        }
        out.warnings.extend(result.warnings);
        out.errors = result.errors;
        Ok(out)
    }
}

/// The per-video rows that are not moved: an earlier row of the same
/// video, in `collect()`'s (`_creationTime`, `_id`) order, moves first, or
/// the video already has a `videoParameters` row. The rows are read in file
/// order and only each video's first row is kept, so no table-sized sort or
/// list of keys is made; `videoParameters` is read after, so that its set
/// and the map of first rows do not both grow at once.
fn duplicates(db: &mut Db) -> Result<HashSet<SetKey>> {
    use std::collections::hash_map::Entry;
    let id_text = |row: &SetKey, has_id: bool| {
        if has_id {
            row.to_string()
        } else {
            String::new()
        }
    };
    let mut first: rustc_hash::FxHashMap<SetKey, (f64, SetKey, bool)> = Default::default();
    let mut duplicates = HashSet::default();
    let old_row = |r: &Doc| {
        is_old_structure(r).then(|| {
            let video = set_key(r.get("videoId")).expect("truthy videoId is present");
            // `collect()` breaks ties by the `_id` text, "" when there is
            // none; `doc_key` spells a string `_id` as it is.
            let has_id = r.get("_id").and_then(|v| v.as_str()).is_some();
            (video, r.creation_time(), doc_key(r), has_id)
        })
    };
    let fields = &["videoId", "parameters"];
    db.each_fields(
        "modelParameters",
        fields,
        old_row,
        |(video, time, row, has_id)| {
            match first.entry(video) {
                Entry::Vacant(slot) => {
                    slot.insert((time, row, has_id));
                }
                Entry::Occupied(mut slot) => {
                    let (t, r, h) = slot.get();
                    // Strictly earlier; on a tie the row first in the file
                    // stays first, as the stable sort of `collect()` keeps it.
                    let earlier = time
                        .total_cmp(t)
                        .then_with(|| id_text(&row, has_id).cmp(&id_text(r, *h)))
                        .is_lt();
                    if earlier {
                        let (_, later, _) = slot.insert((time, row, has_id));
                        duplicates.insert(later);
                    } else {
                        duplicates.insert(row);
                    }
                }
            }
        },
    )?;
    // The videos that already have a videoParameters row: their first rows
    // are not moved either.
    db.will_insert_into("videoParameters");
    let has_row: HashSet<SetKey> = db
        .gather_fields("videoParameters", &["videoId"], |r| {
            set_key(r.get("videoId"))
        })?
        .into_iter()
        .collect();
    for (video, (_, row, _)) in first {
        if has_row.contains(&video) {
            duplicates.insert(row);
        }
    }
    Ok(duplicates)
}

/// Replays the deployed function's database calls in its order (section
/// 4.3 of the app's notes): `ctx.db.query("modelParameters").collect()`
/// (one range, every row read); then, if any row has the old structure, per
/// row an insert into `videoParameters` (old rows only) and a delete.
fn replay(db: &Db) -> Result<Replayed> {
    let mode = db.limit_mode();
    if mode == LimitMode::Off {
        return Ok(Replayed::off());
    }
    let rows = db.collect("modelParameters", |r| {
        let moved =
            is_old_structure(r).then(|| doc_size_with_system(doc_size(&r.pick(MOVED_FIELDS))));
        Some((r.id().to_owned(), doc_size(r.fields), moved))
    })?;
    let mut meter = TxMeter::new(mode);
    let name = "migrateParameterStructure";
    let sizes = rows.iter().map(|r| r.1);
    if let Err(whole) = Replayed::collect_all(&mut meter, name, "modelParameters", sizes) {
        return Ok(whole);
    }
    let mut out = Replayed::default();
    if rows.iter().all(|r| r.2.is_none()) {
        return Ok(out); // "No old structure found to migrate": no writes
    }
    for (i, (id, _, moved)) in rows.iter().enumerate() {
        let number = thousands(i as u64 + 1);
        let mut inserted = false;
        let step = (|| {
            if let Some(size) = moved {
                meter.write(*size, &|| {
                    format!(
                        "the insert into videoParameters for row {id} (number {number} of the loop)"
                    )
                })?;
                inserted = true;
            }
            meter.write(0, &|| {
                format!("the delete of row {id} (number {number} of the loop)")
            })
        })();
        out.failed(id, step, inserted);
    }
    out.finish(&mut meter, name);
    Ok(out)
}
