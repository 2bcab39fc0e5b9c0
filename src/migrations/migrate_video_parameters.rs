//! `migrateVideoParameters` (videoai-app.md 4.1): give every video a
//! per-video `modelParameters` row holding the API parameters its model
//! needs, derived from the video's own fields.
//!
//! `original` skips a video only when `modelParameters` has a row for it;
//! `fixed` also skips it when `videoParameters` has one, and leaves a NaN
//! duration out (with a warning) instead of storing NaN. Seeds come from the
//! video's `_id` instead of `Math.random()`.

use crate::value::Map;

use rustc_hash::FxHashSet as HashSet;

use sha2::{Digest, Sha256};

use super::js::{includes, or, parse_int, spread, to_js_string};
use super::{Migration, Mode, Outcome, SetKey, set_key};
use crate::engine::{Db, Doc, Effect, Fields};
use crate::error::Result;
use crate::limits::{LimitMode, Replayed, TxMeter, doc_size, doc_size_with_system, thousands};
use crate::value::Value;

pub struct MigrateVideoParameters;

/// The seed `Math.random()` stood for: the first 8 bytes of
/// SHA-256("seed:" + videoId), big-endian, modulo 1,000,000.
pub fn seed_for(video_id: &str) -> f64 {
    let digest = Sha256::digest(format!("seed:{video_id}").as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (n % 1_000_000) as f64
}

impl Migration for MigrateVideoParameters {
    fn name(&self) -> &'static str {
        "migrateVideoParameters"
    }

    fn description(&self) -> &'static str {
        "add a per-video modelParameters row with each video's API parameters"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["videos"]
    }

    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome> {
        // `original` skips a video when any modelParameters row names it.
        // `fixed` counts only rows migrateParameterStructure would move
        // (truthy parameters), plus any videoParameters row: a video whose
        // only row is empty gets a real one, so the chain is idempotent.
        let video_of = |d: &Doc| set_key(d.get("videoId"));
        db.will_insert_into("modelParameters");
        let mut migrated: HashSet<SetKey> = db
            .gather_fields(
                "modelParameters",
                &["videoId", "parameters"],
                |d| match mode {
                    Mode::Original => video_of(d),
                    Mode::Fixed => video_of(d).filter(|_| d.truthy("parameters")),
                },
            )?
            .into_iter()
            .collect();
        if mode == Mode::Fixed {
            migrated.extend(db.gather_fields("videoParameters", &["videoId"], video_of)?);
        }
        // Only videos not yet migrated are decoded in full.
        // The deployed function is one mutation: count what it reads and
        // writes against Convex's limits (never in fixed mode).
        let metered = match mode {
            Mode::Original => meter_original(db)?,
            Mode::Fixed => Replayed::off(),
        };
        if let Some(failure) = metered.whole {
            // The `collect()` itself threw: the outer catch returns.
            let mut out = Outcome::default();
            out.result.push(("success", false.into()));
            out.count("parametersCreated", 0)
                .count("alreadyExists", 0)
                .count("errors", 1);
            out.warnings.push(failure);
            return Ok(out);
        }
        let failing = &metered.failing;
        // `move`: the set goes with the filter, freed once the pass is done.
        let pending = move |video: &Doc| {
            let key = set_key(video.get("_id"));
            !key.is_some_and(|k| migrated.contains(&k)) || failing.contains_key(video.id())
        };
        // `pending` reads only `_id`, `parameter_row` only these: the rest
        // of a video is never decoded.
        let reads = [
            "prompt",
            "duration",
            "quality",
            "generationSettings",
            "model",
            "createdAt",
        ];
        let result = db.map_reading(
            "videos",
            Some("modelParameters"),
            &[],
            pending,
            &reads,
            |video| {
                if let Some(f) = failing.get(video.id()) {
                    return Err(f.message.clone());
                }
                let (row, warnings) = parameter_row(video, mode)?;
                Ok(Effect {
                    insert: Some(row),
                    warnings,
                    ..Effect::keep()
                })
            },
        )?;
        let mut out = Outcome::default();
        let errors = result.errors.len() as u64;
        out.result.push(("success", true.into()));
        out.count("parametersCreated", result.inserted)
            .count("alreadyExists", result.rows - result.inserted - errors)
            .count("errors", errors);
        out.warnings = result.warnings;
        out.warnings.extend(metered.crossing);
        out.errors = result.errors;
        Ok(out)
    }
}

/// Replays the deployed function's database calls in its order (section
/// 4.1 of the app's notes): `ctx.db.query("videos").collect()` (one range,
/// every video read), then per video a `withIndex("by_video_id", q =>
/// q.eq("videoId", video._id)).first()` (one range, its first row read if
/// there is one) and, when there is none and the row can be built, one
/// `ctx.db.insert`.
fn meter_original(db: &Db) -> Result<Replayed> {
    let mode = db.limit_mode();
    if mode == LimitMode::Off {
        return Ok(Replayed::off());
    }
    // The first row of each video by `by_video_id` (then `_creationTime`,
    // `_id`): the one `.first()` reads.
    let mut first_row: rustc_hash::FxHashMap<SetKey, usize> = Default::default();
    for (key, size) in db.collect("modelParameters", |d| {
        Some((set_key(d.get("videoId"))?, doc_size(d.fields)))
    })? {
        first_row.entry(key).or_insert(size);
    }
    let videos = db.collect("videos", |v| {
        let row = parameter_row(v, Mode::Original)
            .ok()
            .map(|(row, _)| doc_size(&row));
        Some((
            v.id().to_owned(),
            doc_size(v.fields),
            set_key(v.get("_id")),
            row,
        ))
    })?;
    let mut meter = TxMeter::new(mode);
    let name = "migrateVideoParameters";
    if let Err(whole) =
        Replayed::collect_all(&mut meter, name, "videos", videos.iter().map(|v| v.1))
    {
        return Ok(whole);
    }
    let mut out = Replayed::default();
    for (i, (id, _, key, row)) in videos.iter().enumerate() {
        let at = || {
            format!(
                "video {id} (number {} of the loop)",
                thousands(i as u64 + 1)
            )
        };
        let step = (|| {
            meter.range(&format!("by_video_id {id}"), &at)?;
            match key.as_ref().and_then(|k| first_row.get(k)) {
                Some(size) => meter.read(*size, &at),
                None => match row {
                    Some(size) => meter.write(doc_size_with_system(*size), &at),
                    None => Ok(()),
                },
            }
        })();
        out.failed(id, step, false);
    }
    out.finish(&mut meter, name);
    Ok(out)
}

/// The row `migrateVideoParameters` inserts for one video.
fn parameter_row(video: &Doc, mode: Mode) -> Result<(Fields, Vec<String>), String> {
    let mut warnings = Vec::new();
    // {prompt, duration, quality, ...(generationSettings || {})}
    let mut frontend: Map = Map::new();
    for field in ["prompt", "duration", "quality"] {
        if let Some(v) = video.get(field) {
            frontend.insert(field.into(), v.clone());
        }
    }
    let settings = video.get("generationSettings").filter(|v| v.is_truthy());
    frontend.extend(spread(settings)?);

    // `video.model.includes(...)`: a string or an array has it; any other
    // value throws a TypeError, which the per-video catch counts.
    let model = video.get("model");
    let is_veo = includes(model, "google/veo", "video.model")?;
    let is_seedance = !is_veo && includes(model, "seedance", "video.model")?;
    let model = model.expect("includes succeeded on a present value");
    let mut api: Map = Map::new();
    if let Some(p) = video.get("prompt") {
        api.insert("prompt".into(), p.clone());
    }
    let fp = |k: &str| frontend.get(k);
    let mut duration = || {
        let d = parse_int(video.get("duration"));
        if d.is_nan() && mode == Mode::Fixed {
            warnings.push(format!(
                "video {}: duration {} is not a number; duration left out of parameters",
                video.key(),
                video
                    .get("duration")
                    .map(Value::to_json)
                    .unwrap_or_else(|| "missing".into())
            ));
            None
        } else {
            Some(Value::Float64(d))
        }
    };
    let seed = Value::Float64(seed_for(video.id()));
    if is_veo {
        api.insert("resolution".into(), or(fp("resolution"), "720p"));
        if let Some(img) = fp("startImageUrl").filter(|v| v.is_truthy()) {
            api.insert("image".into(), img.clone());
        }
        api.insert("seed".into(), seed);
    } else if is_seedance {
        if let Some(d) = duration() {
            api.insert("duration".into(), d);
        }
        api.insert("aspect_ratio".into(), or(fp("aspectRatio"), "16:9"));
        api.insert("resolution".into(), or(fp("resolution"), "480p"));
        api.insert("seed".into(), seed);
        if let Some(cam) = fp("cameraPosition").filter(|v| v.is_truthy()) {
            api.insert("camera_position".into(), cam.clone());
        }
    } else {
        if let Some(d) = duration() {
            api.insert("duration".into(), d);
        }
        api.insert("resolution".into(), or(fp("resolution"), "768p"));
    }

    let mut row = Fields::new();
    let Some(id) = video.get("_id") else {
        return Err("the video has no _id to reference".into());
    };
    row.insert("videoId".into(), id.clone());
    row.insert("modelId".into(), model.clone());
    row.insert("parameters".into(), Value::Object(api));
    let mut mapping = Map::new();
    mapping.insert("frontendParameters".into(), Value::Object(frontend));
    mapping.insert(
        "mappingLog".into(),
        // `"Parameters mapped for " + video.model`: an array joins.
        Value::Array(vec![Value::String(format!(
            "Parameters mapped for {}",
            to_js_string(model)
        ))]),
    );
    row.insert("parameterMapping".into(), Value::Object(mapping));
    if let Some(c) = video.get("createdAt") {
        row.insert("createdAt".into(), c.clone());
    }
    Ok((row, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_in_range_and_stable() {
        let s = seed_for("jd79zz8y7x6w5v4t3s2r1q0p9n8m7k6j");
        assert!((0.0..1_000_000.0).contains(&s) && s.fract() == 0.0);
        assert_eq!(s, seed_for("jd79zz8y7x6w5v4t3s2r1q0p9n8m7k6j"));
        assert_ne!(s, seed_for("jd7a1b2c3d4e5f6g7h8j9k0m1n2p3q4r"));
    }
}
