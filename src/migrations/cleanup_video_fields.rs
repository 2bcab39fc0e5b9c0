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
        let result = db.map("videos", None, |video| {
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
                ..Effect::change(Change::Patch(patch))
            })
        })?;
        let mut out = Outcome::default();
        out.result.push(("success", true.into()));
        out.count("thumbnailFieldsRemoved", result.tally[0])
            .count("titleFieldsRemoved", result.tally[1])
            .count("cdnFieldsRemoved", result.tally[2])
            .count("errors", result.errors.len() as u64);
        out.warnings = result.warnings;
        out.errors = result.errors;
        Ok(out)
    }
}
