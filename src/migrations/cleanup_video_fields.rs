//! `cleanupVideoFields` (videoai-app.md 4.2): remove the deprecated video
//! fields `thumbnailFileId`, `thumbnailUrl`, `title`, `videoCdnUrl` and
//! `videoCdnUrlExpiresAt`.
//!
//! `original` counts videos by the original's tests (truthiness for
//! thumbnails and CDN fields, `!== undefined` for `title`) and only bumps
//! `updatedAt`: its patch removes nothing. `fixed` removes every present key
//! whatever its value, counts a category when one of its keys was present,
//! and sets `updatedAt` only on videos it changed.

use super::{Migration, Mode, Outcome};
use crate::engine::{Change, Db, Doc, Effect};
use crate::error::Result;
use crate::limits::{LimitMode, Replayed, TxMeter, doc_size, thousands};
use crate::value::Value;

pub struct CleanupVideoFields;

const THUMBNAIL: [&str; 2] = ["thumbnailFileId", "thumbnailUrl"];
const TITLE: [&str; 1] = ["title"];
const CDN: [&str; 2] = ["videoCdnUrl", "videoCdnUrlExpiresAt"];

impl Migration for CleanupVideoFields {
    fn name(&self) -> &'static str {
        "cleanupVideoFields"
    }

    fn description(&self) -> &'static str {
        "remove deprecated video fields (thumbnails, title, CDN URL and expiry)"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["videos"]
    }

    fn run(&self, db: &mut Db, mode: Mode) -> Result<Outcome> {
        let now = Value::Float64(db.now());
        let matches = |video: &Doc| -> u8 {
            let (thumbnail, cdn) = match mode {
                Mode::Original => (
                    THUMBNAIL.iter().any(|f| video.truthy(f)),
                    CDN.iter().any(|f| video.truthy(f)),
                ),
                Mode::Fixed => (
                    THUMBNAIL.iter().any(|f| video.get(f).is_some()),
                    CDN.iter().any(|f| video.get(f).is_some()),
                ),
            };
            let title = TITLE.iter().any(|f| video.get(f).is_some());
            u8::from(thumbnail) | u8::from(title) << 1 | u8::from(cdn) << 2
        };
        // The deployed function is one mutation: count what it reads and
        // writes against Convex's limits (never in fixed mode).
        let replayed = match mode {
            Mode::Original => replay(db, &now, &matches)?,
            Mode::Fixed => Replayed::off(),
        };
        let mut out = Outcome::default();
        if let Some(failure) = replayed.whole {
            // The `collect()` itself threw: the outer catch returns.
            out.result.push(("success", false.into()));
            out.count("thumbnailFieldsRemoved", 0)
                .count("titleFieldsRemoved", 0)
                .count("cdnFieldsRemoved", 0)
                .count("errors", 1);
            out.warnings.push(failure);
            return Ok(out);
        }
        // `matches` and the patch need only the five fields: the other 30
        // or so are copied as text, not decoded and encoded again.
        let fields: Vec<&str> = THUMBNAIL
            .iter()
            .chain(&TITLE)
            .chain(&CDN)
            .copied()
            .collect();
        let result = db.map_reading(
            "videos",
            None,
            &[],
            |_| true,
            &fields,
            |video| {
                let tally = matches(video);
                if tally == 0 {
                    return Ok(Effect::keep());
                }
                let mut patch = vec![("updatedAt".to_owned(), Some(now.clone()))];
                if mode == Mode::Fixed {
                    let removed = THUMBNAIL.iter().chain(&TITLE).chain(&CDN);
                    patch.extend(removed.map(|f| (f.to_string(), None)));
                }
                Ok(Effect {
                    tally,
                    // The original counts before it patches: a patch the
                    // schema refuses is counted as removed and as an error.
                    counts_before_write: mode == Mode::Original,
                    // With --limits enforce, the patch that crosses a limit
                    // throws inside the per-video try/catch.
                    fails: replayed.failure(video.id()).map(|f| f.message.clone()),
                    ..Effect::change(Change::Patch(patch))
                })
            },
        )?;
        out.result.push(("success", true.into()));
        out.count("thumbnailFieldsRemoved", result.tally[0])
            .count("titleFieldsRemoved", result.tally[1])
            .count("cdnFieldsRemoved", result.tally[2])
            .count("errors", result.errors.len() as u64);
        out.warnings = result.warnings;
        out.warnings.extend(replayed.crossing);
        out.errors = result.errors;
        Ok(out)
    }
}

/// Replays the deployed function's database calls in its order (section
/// 4.2 of the app's notes): `ctx.db.query("videos").collect()` (one range,
/// every video read), then one `ctx.db.patch(video._id, {updatedAt})` per
/// video that matched, whose new document is the video with `updatedAt` set.
fn replay(db: &Db, now: &Value, matches: &(dyn Fn(&Doc) -> u8 + Sync)) -> Result<Replayed> {
    let mode = db.limit_mode();
    if mode == LimitMode::Off {
        return Ok(Replayed::off());
    }
    let videos = db.collect("videos", |v| {
        let patched = (matches(v) != 0).then(|| {
            let mut fields = v.fields.clone();
            fields.insert("updatedAt".into(), now.clone());
            doc_size(&fields)
        });
        Some((v.id().to_owned(), doc_size(v.fields), patched))
    })?;
    let mut meter = TxMeter::new(mode);
    let name = "cleanupVideoFields";
    if let Err(whole) =
        Replayed::collect_all(&mut meter, name, "videos", videos.iter().map(|v| v.1))
    {
        return Ok(whole);
    }
    let mut out = Replayed::default();
    for (i, (id, _, patched)) in videos.iter().enumerate() {
        let Some(size) = patched else { continue };
        let at = || {
            format!(
                "the patch of video {id} (number {} of the loop)",
                thousands(i as u64 + 1)
            )
        };
        out.failed(id, meter.write(*size, &at), false);
    }
    out.finish(&mut meter, name);
    Ok(out)
}
