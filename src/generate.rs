//! A deterministic generator of realistic VideoAI snapshots
//! (videoai-app.md sections 2 and 7), in the current uniform format with
//! valid IDs and `_tables` numbers. It exercises every branch the migrations
//! of section 4 take (model substrings, `parseInt` cases, JS truthiness,
//! falsy deprecated fields, per-video and per-model rows, duplicates,
//! storage buckets) and holds Int64, Bytes, NaN and infinite values.
//!
//! Each row is derived from `(seed, table, index)` alone, so tables are
//! streamed row by row in `_id` order without holding any table in memory:
//! IDs are made monotonic in the row index (random low bits, the day number
//! in the last two internal bytes, as Convex does).

use crate::value::Map;
use std::io::Write;

use sha2::{Digest, Sha256};

use crate::archive::{ArchiveWriter, Compression, Destination};
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::migrations::app_data;
use crate::progress::Progress;
use crate::value::{TableFormat, Value, encode_document};

/// The export's README text.
pub const README: &str = "# Welcome to your Convex snapshot export!\n\nThis ZIP file contains a snapshot of the tables in your Convex deployment.\n\nDocuments for each table are listed as lines of JSON in\n<table_name>/documents.jsonl files.\n\nFor details on the format and how to use this snapshot with npx convex import,\ncheck out [the docs](https://docs.convex.dev/database/import-export/export) or\nask us in [Discord](http://convex.dev/community).\n";

const MS_PER_DAY: f64 = 86_400_000.0;
/// 2025-07-01T00:00:00Z: the first video.
const START_MS: f64 = 1_751_328_000_000.0;
/// 2025-08-02T23:16:00Z: `371620d`, when `createVideo` moved to `videoParameters`.
const CUTOVER_MS: f64 = 1_754_176_560_000.0;
/// 2025-08-04T00:00:00Z: the last video.
const END_MS: f64 = 1_754_265_600_000.0;
/// The storage table's number in modern deployments.
const STORAGE_TABLE: u32 = 540;
/// At most this many videos keep a Convex-storage blob.
const MAX_BLOBS: u64 = 24;

/// The tables, in `_tables` order, with their numbers.
pub const TABLES: [(&str, u32); 10] = [
    ("userProfiles", 10001),
    ("videos", 10002),
    ("creditTransactions", 10003),
    ("creditPackages", 10004),
    ("subscriptionPlans", 10005),
    ("subscriptions", 10006),
    ("configurations", 10007),
    ("models", 10008),
    ("modelParameters", 10009),
    ("videoParameters", 10010),
];

fn number(table: &str) -> u32 {
    TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, n)| *n)
        .unwrap_or(STORAGE_TABLE)
}

/// SplitMix64: tiny, well known, and stable across crate versions (the
/// generator's output must never change under a dependency update).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `state` (the tests' generated inputs).
    pub fn seeded(state: u64) -> Rng {
        Rng(state)
    }

    fn new(seed: u64, table: &str, index: u64) -> Rng {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(table.as_bytes());
        h.update(index.to_le_bytes());
        let d = h.finalize();
        Rng(u64::from_le_bytes(d[..8].try_into().expect("8 bytes")))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The ID of row `index` of `count` rows of `table`, monotonic in `index`.
fn id_for(seed: u64, table: &str, index: u64, count: u64, created_ms: f64) -> String {
    let mut rng = Rng::new(seed, &format!("id:{table}"), index);
    let span = u64::MAX / count.max(1);
    let high = index * span + rng.below(span.max(1));
    let mut internal = [0u8; 16];
    internal[..8].copy_from_slice(&high.to_be_bytes());
    internal[8..14].copy_from_slice(&rng.next().to_be_bytes()[..6]);
    let day = (created_ms / MS_PER_DAY) as u16;
    internal[14..].copy_from_slice(&day.to_be_bytes());
    DocumentId::new(number(table), internal).encode()
}

fn f(x: f64) -> Value {
    Value::Float64(x)
}

fn s(x: &str) -> Value {
    Value::String(x.to_owned())
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().collect())
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|x| s(x)).collect())
}

/// Sizes of each table for a given number of videos.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub seed: u64,
    pub videos: u64,
    pub users: u64,
}

/// A generated snapshot (`seed`, `videos`) in a fresh temporary folder,
/// for tests; the folder goes when the returned guard is dropped.
#[cfg(test)]
pub(crate) fn test_snapshot(seed: u64, videos: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("in.zip");
    write_snapshot(
        &crate::archive::Destination::zip(&path),
        Plan::new(seed, videos),
        crate::archive::Compression::Fast,
    )
    .expect("the generator writes its snapshot");
    (dir, path)
}

impl Plan {
    /// The plan for `videos` videos.
    pub fn new(seed: u64, videos: u64) -> Plan {
        Plan {
            seed,
            videos,
            users: (videos / 8).max(3),
        }
    }

    fn user_clerk_id(&self, u: u64) -> String {
        let mut rng = Rng::new(self.seed, "clerk", u);
        format!("user_{:016x}{:011x}", rng.next(), rng.next() >> 20)
    }

    fn user_created(&self, u: u64) -> f64 {
        START_MS - 20.0 * MS_PER_DAY + (u as f64) * 1000.0 * 37.0 % (15.0 * MS_PER_DAY)
    }
}

const MODELS: [&str; 10] = [
    "google/veo-3",
    "google/veo-3-fast",
    "bytedance/seedance-1-pro",
    "minimax/hailuo-02",
    "minimax/hailuo-02",
    "minimax/hailuo-02",
    "luma/ray-2-540p",
    "luma/ray-flash-2-540p",
    "stability-ai/stable-video-diffusion",
    "acme/unknown-model",
];

const DURATIONS: [&str; 16] = [
    "5", "5", "5", "6", "8", "8", "10", "6", " 8s", "5.9", "0x10", "", "abc", "-3", "1e3", "08",
];

const PROMPTS: [&str; 8] = [
    "A golden retriever surfing a wave at sunset, cinematic drone shot",
    "Neon city street in the rain, slow dolly forward",
    "Timelapse of clouds over mountains",
    "A paper boat drifting down a gutter stream, macro lens",
    "Astronaut riding a horse on the moon, photorealistic",
    "Café au lait being poured in slow motion — très élégant ☕",
    "A fox running through fresh snow, tracking shot",
    "Close-up of a hummingbird drinking from a red flower",
];

/// Everything about video `i` that several tables need.
struct VideoSpec {
    id: String,
    created: f64,
    creation_time: f64,
    user: u64,
    model: Option<Value>,
    prompt: &'static str,
    duration: Option<&'static str>,
    quality: &'static str,
    settings: Option<Value>,
    status: &'static str,
    old_era: bool,
    has_per_video_row: bool,
    has_video_parameters_row: bool,
    storage: Storage,
    credits_cost: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Storage {
    R2,
    EmptyR2Key,
    Convex(u64),
    Neither,
}

impl Plan {
    fn video(&self, i: u64) -> VideoSpec {
        let mut rng = Rng::new(self.seed, "videos", i);
        let span = END_MS - START_MS;
        let created = (START_MS + span * (i as f64 + 0.5) / self.videos as f64).floor()
            + rng.below(900) as f64;
        let old_era = created < CUTOVER_MS;
        let model = match rng.below(100) {
            0 => None,
            1 => Some(f(3.0)),
            _ => Some(s(rng.pick(&MODELS))),
        };
        let duration = if rng.chance(3) {
            None
        } else {
            Some(rng.pick(&DURATIONS))
        };
        let settings = match rng.below(14) {
            0 | 1 => None,
            2 => Some(obj(vec![])),
            3 | 4 => Some(obj(vec![(
                "resolution",
                s(rng.pick(&["720p", "1080p", "480p"])),
            )])),
            5 | 6 => Some(obj(vec![
                ("aspectRatio", s(rng.pick(&["16:9", "9:16", "1:1"]))),
                ("resolution", s("1080p")),
                ("cameraPosition", s(rng.pick(&["fixed", "front", ""]))),
            ])),
            7 => Some(obj(vec![
                ("startImageUrl", s("https://example.invalid/start.png")),
                ("loop", Value::Bool(false)),
            ])),
            8 => Some(obj(vec![
                ("prompt", s("override prompt from the form")),
                ("duration", s("9")),
                ("quality", s("ultra")),
            ])),
            9 => Some(Value::Null),
            10 => Some(s("fast")),
            11 => Some(obj(vec![("seed", f(123.0)), ("resolution", s(""))])),
            12 => Some(f(1.0)),
            _ => Some(obj(vec![("aspectRatio", s("16:9"))])),
        };
        let status = match rng.below(20) {
            0 => "pending",
            1 => "processing",
            2 => "failed",
            3 => "canceled",
            _ => "completed",
        };
        let storage = match rng.below(10) {
            _ if status != "completed" => Storage::Neither,
            0 if old_era && i < MAX_BLOBS * 10 => Storage::Convex(i),
            1 => Storage::Neither,
            2 => Storage::EmptyR2Key,
            _ => Storage::R2,
        };
        let has_per_video_row = old_era && !rng.chance(15);
        let has_video_parameters_row = !old_era || rng.chance(30);
        let quality = rng.pick(&["standard", "standard", "high", "ultra"]);
        let prompt = rng.pick(&PROMPTS);
        let user = rng.below(self.users);
        VideoSpec {
            id: id_for(self.seed, "videos", i, self.videos, created),
            created,
            creation_time: created + 0.25 + rng.below(700) as f64 / 1000.0,
            user,
            model,
            prompt,
            duration,
            quality,
            settings,
            status,
            old_era,
            has_per_video_row,
            has_video_parameters_row,
            storage,
            credits_cost: (1 + rng.below(140)) as f64,
        }
    }

    fn storage_id(&self, i: u64) -> String {
        id_for(self.seed, "_storage", i, self.videos * 10, START_MS)
    }

    fn blob(&self, i: u64) -> Vec<u8> {
        let mut rng = Rng::new(self.seed, "blob", i);
        let mut data = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41".to_vec();
        let len = 200 + rng.below(800) as usize;
        data.extend((0..len).map(|_| rng.next() as u8));
        data
    }

    fn video_doc(&self, i: u64, v: &VideoSpec) -> Value {
        let mut rng = Rng::new(self.seed, "video-extra", i);
        let mut d: Map = Map::new();
        let mut put = |k: &str, val: Value| {
            d.insert(k.to_owned(), val);
        };
        put("_id", s(&v.id));
        put("_creationTime", f(v.creation_time));
        put("clerkId", s(&self.user_clerk_id(v.user)));
        put("prompt", s(v.prompt));
        if let Some(m) = &v.model {
            put("model", m.clone());
        }
        put("quality", s(v.quality));
        if let Some(dur) = v.duration {
            put("duration", s(dur));
        }
        if let Some(g) = &v.settings {
            put("generationSettings", g.clone());
        }
        put("status", s(v.status));
        put("creditsCost", f(v.credits_cost));
        put("createdAt", f(v.created));
        put("isPublic", Value::Bool(rng.chance(60)));
        put("isFavorite", Value::Bool(rng.chance(10)));
        put("viewCount", f(rng.below(50) as f64));
        put("downloadCount", f(rng.below(5) as f64));
        put("shareCount", f(rng.below(3) as f64));
        if rng.chance(20) {
            put("tags", strings(&["demo", "nature"]));
        }
        let job = format!("{:026x}", rng.next());
        match v.status {
            "pending" => put("updatedAt", f(v.created)),
            "failed" => {
                put("replicateJobId", s(&job));
                put(
                    "errorMessage",
                    s("Prediction failed: NSFW content detected"),
                );
                put("updatedAt", f(v.created + 4000.0));
            }
            _ => {
                put("replicateJobId", s(&job));
                put("processingStartedAt", f(v.created + 1500.0));
                if v.status == "completed" {
                    let done = v.created + 60_000.0 + rng.below(60_000) as f64;
                    put("processingCompletedAt", f(done));
                    put("processingDuration", f(done - v.created - 1500.0));
                    put(
                        "videoUrl",
                        s(&format!("https://replicate.delivery/xezq/{job}/output.mp4")),
                    );
                    put("fileSize", f((1_000_000 + rng.below(9_000_000)) as f64));
                    put(
                        "actualDuration",
                        if rng.chance(2) {
                            f(f64::NAN)
                        } else {
                            f(5.0 + rng.below(4) as f64)
                        },
                    );
                    put(
                        "dimensions",
                        obj(vec![("width", f(1280.0)), ("height", f(720.0))]),
                    );
                    put("format", s("mp4"));
                    put("codec", s("h264"));
                    put(
                        "generationMetrics",
                        obj(vec![
                            ("queueTime", f(0.0)),
                            ("processingTime", f(0.0)),
                            ("downloadTime", f(2350.0)),
                            ("totalTime", f(2350.0)),
                        ]),
                    );
                    if rng.chance(3) {
                        put("estimatedCompletionTime", f(f64::INFINITY));
                    }
                    put("updatedAt", f(done));
                } else {
                    put("updatedAt", f(v.created + 2000.0));
                }
            }
        }
        match v.storage {
            Storage::R2 => put(
                "r2FileKey",
                s(&format!(
                    "videos/{}/{}.mp4",
                    self.user_clerk_id(v.user),
                    v.id
                )),
            ),
            Storage::EmptyR2Key => put("r2FileKey", s("")),
            Storage::Convex(b) => put("convexFileId", s(&self.storage_id(b))),
            Storage::Neither => {}
        }
        if v.old_era {
            // Pre-cleanup documents: deprecated fields, including falsy ones.
            match rng.below(6) {
                0 => put("title", s("Surf dog")),
                1 => put("title", s("")),
                2 => put("title", Value::Null),
                _ => {}
            }
            match rng.below(6) {
                0 => put(
                    "thumbnailUrl",
                    s("https://example-cdn.invalid/thumbs/x.jpg"),
                ),
                1 => put("thumbnailUrl", s("")),
                2 => put("thumbnailFileId", s(&self.storage_id(i + self.videos))),
                _ => {}
            }
            match rng.below(6) {
                0 => {
                    put(
                        "videoCdnUrl",
                        s("https://cdn.example.invalid/v.mp4?sig=abc"),
                    );
                    put("videoCdnUrlExpiresAt", f(v.created + 3_600_000.0));
                }
                1 => put("videoCdnUrl", s("")),
                2 => put("videoCdnUrlExpiresAt", f(0.0)),
                _ => {}
            }
            if rng.chance(10) {
                put("resolution", s("720p"));
                put("aspectRatio", s("16:9"));
            }
        }
        Value::Object(d)
    }

    /// API parameters as `createVideo` would have stored them.
    fn api_parameters(&self, v: &VideoSpec, seed_rng: &mut Rng) -> Value {
        let mut p = vec![("prompt", s(v.prompt))];
        let dur = v
            .duration
            .and_then(|d| d.trim().parse::<f64>().ok())
            .unwrap_or(5.0);
        let model = v.model.as_ref().and_then(Value::as_str).unwrap_or("");
        if model.contains("google/veo") {
            p.push(("resolution", s("720p")));
            p.push(("seed", f(seed_rng.below(1_000_000) as f64)));
        } else if model.contains("seedance") {
            p.push(("duration", f(dur.trunc())));
            p.push(("aspect_ratio", s("16:9")));
            p.push(("resolution", s("480p")));
            p.push(("seed", f(seed_rng.below(1_000_000) as f64)));
        } else {
            p.push(("duration", f(dur.trunc())));
            p.push(("resolution", s("768p")));
        }
        obj(p)
    }

    fn parameter_mapping(&self, v: &VideoSpec) -> Value {
        let model = v
            .model
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        obj(vec![
            (
                "frontendParameters",
                obj(vec![
                    ("prompt", s(v.prompt)),
                    ("duration", s(v.duration.unwrap_or("5"))),
                    ("quality", s(v.quality)),
                ]),
            ),
            (
                "mappingLog",
                strings(&[&format!("Parameters mapped for {model}")]),
            ),
        ])
    }
}

/// planId, name, description, price, monthlyCredits, isPopular, features.
type PlanRow = (
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    bool,
    &'static [&'static str],
);
struct TableOut<'a> {
    writer: &'a mut ArchiveWriter,
    buf: Vec<u8>,
    rows: u64,
    progress: &'a Progress,
}

impl TableOut<'_> {
    fn row(&mut self, doc: &Value) -> Result<()> {
        let line = encode_document(doc, &TableFormat::Uniform)
            .map_err(|e| Error::Usage(format!("generator produced an unencodable value: {e}")))?;
        self.buf.extend_from_slice(&line);
        self.buf.push(b'\n');
        self.rows += 1;
        self.progress.add_rows(1);
        if self.buf.len() >= 1 << 20 {
            self.writer.write_chunk(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.writer.write_chunk(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Writes a whole VideoAI snapshot ZIP to `dest`.
pub fn write_snapshot(dest: &Destination, plan: Plan, compression: Compression) -> Result<()> {
    write_snapshot_with(dest, plan, compression, &Progress::hidden())
}

/// [`write_snapshot`], counting rows on `progress`.
pub fn write_snapshot_with(
    dest: &Destination,
    plan: Plan,
    compression: Compression,
    progress: &Progress,
) -> Result<()> {
    let mut w = ArchiveWriter::create(dest, compression)?;
    w.add_bytes("README.md", README.as_bytes())?;
    let mut tables = Vec::new();
    for (name, n) in TABLES {
        tables.push(format!("{{\"name\":\"{name}\",\"id\":{n}}}\n"));
    }
    w.add_bytes("_tables/documents.jsonl", tables.concat().as_bytes())?;
    // Generous per-row bound, so Zip64 sizes are used before 4 GiB.
    let large = plan.videos.saturating_mul(4096) >= 0xFFFF_FFFF;
    for (name, _) in TABLES {
        w.start_entry(&format!("{name}/documents.jsonl"), large)?;
        let mut out = TableOut {
            writer: &mut w,
            buf: Vec::with_capacity(1 << 21),
            rows: 0,
            progress,
        };
        write_table(&plan, name, &mut out)?;
        out.finish()?;
        w.add_bytes(&format!("{name}/generated_schema.jsonl"), b"\"uniform\"\n")?;
    }
    write_storage(&plan, &mut w)?;
    w.finish()
}

fn write_storage(plan: &Plan, w: &mut ArchiveWriter) -> Result<()> {
    let mut meta = Vec::new();
    let mut blobs = Vec::new();
    for i in 0..plan.videos.min(MAX_BLOBS * 10) {
        let v = plan.video(i);
        if let Storage::Convex(b) = v.storage {
            let data = plan.blob(b);
            let hash = Sha256::digest(&data);
            use base64::Engine as _;
            let sha = base64::engine::general_purpose::STANDARD.encode(hash);
            let id = plan.storage_id(b);
            let mut line = Vec::new();
            write!(line, "{{\"_id\":\"{id}\",\"_creationTime\":",).expect("vec");
            crate::value::write_float(v.creation_time + 100.0, &mut line);
            writeln!(
                line,
                ",\"sha256\":\"{sha}\",\"size\":{},\"contentType\":\"video/mp4\",\"internalId\":\"{}\"}}",
                data.len(),
                uuid_like(plan.seed, b)
            )
            .expect("vec");
            meta.push((id.clone(), line));
            blobs.push((id, data));
        }
    }
    meta.sort();
    blobs.sort();
    let meta: Vec<u8> = meta.into_iter().flat_map(|(_, l)| l).collect();
    w.add_bytes("_storage/documents.jsonl", &meta)?;
    for (id, data) in blobs {
        w.add_bytes(&format!("_storage/{id}.mp4"), &data)?;
    }
    Ok(())
}

fn uuid_like(seed: u64, i: u64) -> String {
    let mut rng = Rng::new(seed, "uuid", i);
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn write_table(plan: &Plan, name: &str, out: &mut TableOut<'_>) -> Result<()> {
    let seed = plan.seed;
    match name {
        "userProfiles" => {
            for u in 0..plan.users {
                let created = plan.user_created(u);
                let mut rng = Rng::new(seed, name, u);
                out.row(&obj(vec![
                    ("_id", s(&id_for(seed, name, u, plan.users, created))),
                    ("_creationTime", f(created + 0.123)),
                    ("clerkId", s(&plan.user_clerk_id(u))),
                    ("credits", f(rng.below(500) as f64)),
                    ("totalCreditsUsed", f(rng.below(300) as f64)),
                    ("createdAt", f(created)),
                    ("updatedAt", f(created + rng.below(1_000_000) as f64)),
                ]))?;
            }
        }
        "videos" => {
            for i in 0..plan.videos {
                let v = plan.video(i);
                out.row(&plan.video_doc(i, &v))?;
            }
        }
        "creditTransactions" => {
            let count = plan.videos + plan.users;
            for i in 0..count {
                let mut rng = Rng::new(seed, name, i);
                let (doc, created) = if i < plan.videos {
                    let v = plan.video(i);
                    let before = (v.credits_cost + rng.below(400) as f64).floor();
                    (
                        vec![
                            ("clerkId", s(&plan.user_clerk_id(v.user))),
                            ("type", s("video_generation")),
                            ("amount", f(-v.credits_cost)),
                            ("description", s(&format!("Video generation: {}", v.prompt))),
                            ("videoId", s(&v.id)),
                            ("balanceBefore", f(before)),
                            ("balanceAfter", f(before - v.credits_cost)),
                        ],
                        v.created + 1.0,
                    )
                } else {
                    let u = i - plan.videos;
                    let created = plan.user_created(u) + 60_000.0;
                    (
                        vec![
                            ("clerkId", s(&plan.user_clerk_id(u))),
                            (
                                "type",
                                s(rng.pick(&["purchase", "bonus", "subscription_grant"])),
                            ),
                            ("amount", f(250.0)),
                            ("description", s("Credit purchase: Medium")),
                            (
                                "stripePaymentIntentId",
                                s(&format!("pi_{:020x}", rng.next())),
                            ),
                            ("balanceBefore", f(10.0)),
                            ("balanceAfter", f(260.0)),
                        ],
                        created,
                    )
                };
                let mut doc = doc;
                doc.push(("_id", s(&id_for(seed, name, i, count, created))));
                doc.push(("_creationTime", f(created + 0.5)));
                doc.push(("createdAt", f(created)));
                out.row(&obj(doc))?;
            }
        }
        "creditPackages" => {
            let pkgs = [
                (
                    "small",
                    "Small",
                    "Perfect for trying out video generation",
                    999.0,
                    100.0,
                    false,
                ),
                (
                    "medium",
                    "Medium",
                    "Great for regular video creation",
                    1999.0,
                    250.0,
                    true,
                ),
                (
                    "large",
                    "Large",
                    "Best value for frequent users",
                    3499.0,
                    500.0,
                    false,
                ),
            ];
            for (i, (id, nm, desc, price, credits, popular)) in pkgs.iter().enumerate() {
                let created = START_MS - 30.0 * MS_PER_DAY;
                out.row(&obj(vec![
                    ("_id", s(&id_for(seed, name, i as u64, 3, created))),
                    ("_creationTime", f(created + 1.0 + i as f64)),
                    ("packageId", s(id)),
                    ("name", s(nm)),
                    ("description", s(desc)),
                    ("price", f(*price)),
                    ("currency", s("usd")),
                    ("credits", f(*credits)),
                    ("isActive", Value::Bool(true)),
                    ("isPopular", Value::Bool(*popular)),
                    ("createdAt", f(created)),
                    ("updatedAt", f(created)),
                ]))?;
            }
        }
        "subscriptionPlans" => {
            let plans: [PlanRow; 3] = [
                (
                    "starter",
                    "Starter",
                    "Perfect for getting started with video generation",
                    999.0,
                    50.0,
                    false,
                    &["HD video quality", "Standard processing", "Basic support"],
                ),
                (
                    "pro",
                    "Pro",
                    "For creators who need more power and features",
                    2499.0,
                    150.0,
                    true,
                    &[
                        "Ultra HD video quality",
                        "Priority processing",
                        "Advanced analytics",
                        "Priority support",
                    ],
                ),
                (
                    "max",
                    "Max",
                    "Maximum features for professional creators",
                    4999.0,
                    350.0,
                    false,
                    &[
                        "Ultra HD video quality",
                        "Highest priority processing",
                        "Advanced analytics",
                        "Custom model access",
                        "Dedicated support",
                    ],
                ),
            ];
            for (i, (id, nm, desc, price, credits, popular, features)) in plans.iter().enumerate() {
                let created = START_MS - 30.0 * MS_PER_DAY;
                out.row(&obj(vec![
                    ("_id", s(&id_for(seed, name, i as u64, 3, created))),
                    ("_creationTime", f(created + 2.0 + i as f64)),
                    ("planId", s(id)),
                    ("name", s(nm)),
                    ("description", s(desc)),
                    ("price", f(*price)),
                    ("currency", s("usd")),
                    ("monthlyCredits", f(*credits)),
                    ("features", strings(features)),
                    ("isActive", Value::Bool(true)),
                    ("isPopular", Value::Bool(*popular)),
                    ("createdAt", f(created)),
                    ("updatedAt", f(created)),
                ]))?;
            }
        }
        "subscriptions" => {
            let count = plan.users / 3;
            for i in 0..count {
                let u = i * 3;
                let mut rng = Rng::new(seed, name, i);
                let created = plan.user_created(u) + 120_000.0;
                let tier = rng.pick(&["starter", "pro", "max"]);
                out.row(&obj(vec![
                    ("_id", s(&id_for(seed, name, i, count, created))),
                    ("_creationTime", f(created + 0.75)),
                    ("clerkId", s(&plan.user_clerk_id(u))),
                    (
                        "stripeSubscriptionId",
                        s(&format!("sub_{:016x}", rng.next())),
                    ),
                    (
                        "stripeCustomerId",
                        s(&format!("cus_{:014x}", rng.next() >> 8)),
                    ),
                    ("stripePriceId", s(&format!("price_{:016x}", rng.next()))),
                    ("tier", s(tier)),
                    (
                        "status",
                        s(rng.pick(&["active", "active", "canceled", "past_due", "trialing"])),
                    ),
                    ("currentPeriodStart", f(created)),
                    ("currentPeriodEnd", f(created + 30.0 * MS_PER_DAY)),
                    ("cancelAtPeriodEnd", Value::Bool(rng.chance(10))),
                    ("monthlyCredits", f(150.0)),
                    ("creditsGrantedAt", f(created)),
                    ("createdAt", f(created)),
                    ("updatedAt", f(created)),
                ]))?;
            }
        }
        "configurations" => {
            let created = START_MS - 30.0 * MS_PER_DAY;
            // init's 11 rows, then values of the other Convex types.
            let mut rows: Vec<_> = app_data::configurations(created)
                .into_iter()
                .map(|(_, fields)| fields)
                .collect();
            rows.extend(typed_configurations(created));
            let n = rows.len() as u64;
            for (i, mut fields) in rows.into_iter().enumerate() {
                fields.insert("_id".into(), s(&id_for(seed, name, i as u64, n, created)));
                fields.insert("_creationTime".into(), f(created + 0.3 + i as f64 / 10.0));
                out.row(&Value::Object(fields))?;
            }
        }
        "models" => {
            let created = START_MS - 30.0 * MS_PER_DAY;
            let models = production_models();
            let n = models.len() as u64;
            for (i, mut fields) in models.into_iter().enumerate() {
                fields.push(("_id", s(&id_for(seed, name, i as u64, n, created))));
                fields.push(("_creationTime", f(created + 5.2 + i as f64)));
                fields.push(("createdAt", f(created)));
                fields.push(("updatedAt", f(created)));
                out.row(&obj(fields))?;
            }
        }
        "modelParameters" => write_model_parameters(plan, out)?,
        "videoParameters" => {
            let rows: Vec<u64> = (0..plan.videos)
                .filter(|&i| plan.video(i).has_video_parameters_row)
                .collect();
            let count = rows.len() as u64;
            for (k, &i) in rows.iter().enumerate() {
                let v = plan.video(i);
                let mut seed_rng = Rng::new(seed, "vp-seed", i);
                let mut doc = vec![
                    ("_id", s(&id_for(seed, name, k as u64, count, v.created))),
                    ("_creationTime", f(v.creation_time + 0.7)),
                    ("videoId", s(&v.id)),
                    (
                        "modelId",
                        s(v.model
                            .as_ref()
                            .and_then(Value::as_str)
                            .unwrap_or("unknown")),
                    ),
                    ("parameters", plan.api_parameters(&v, &mut seed_rng)),
                    ("createdAt", f(v.created)),
                ];
                if k % 4 != 0 {
                    doc.push(("parameterMapping", plan.parameter_mapping(&v)));
                }
                out.row(&obj(doc))?;
            }
        }
        _ => unreachable!("unknown generated table {name}"),
    }
    Ok(())
}

/// modelParameters: per-model definition rows first (older), then per-video
/// rows for old-era videos, with a duplicate, an orphan, falsy parameters and
/// an empty-object parameters row among them.
fn write_model_parameters(plan: &Plan, out: &mut TableOut<'_>) -> Result<()> {
    let seed = plan.seed;
    let name = "modelParameters";
    let mut rows: Vec<Value> = Vec::new();
    let def_created = START_MS - 29.0 * MS_PER_DAY;
    for (model_id, model_type) in [
        ("minimax/hailuo-02", "hailuo"),
        ("google/veo-3", "google_veo"),
    ] {
        let (defs, rules, cons) = (
            app_data::definitions(Some(model_type)),
            app_data::mapping_rules(Some(model_type)),
            app_data::constraints(Some(model_type)),
        );
        rows.push(obj(vec![
            ("_creationTime", f(def_created + rows.len() as f64 + 0.5)),
            ("modelId", s(model_id)),
            ("parameterDefinitions", defs),
            ("mappingRules", rules),
            ("constraints", cons),
            ("parameterCategories", strings(&["basic", "advanced"])),
            ("createdAt", f(def_created)),
            ("updatedAt", f(def_created)),
        ]));
    }
    let mut per_video = 0u64;
    for i in 0..plan.videos {
        let v = plan.video(i);
        if !v.has_per_video_row {
            continue;
        }
        per_video += 1;
        let mut seed_rng = Rng::new(seed, "mp-seed", i);
        let model = v
            .model
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let parameters = match per_video % 23 {
            5 => Value::Null,
            11 => s(""),
            17 => obj(vec![]),
            _ => plan.api_parameters(&v, &mut seed_rng),
        };
        let row = obj(vec![
            ("_creationTime", f(v.creation_time + 0.9)),
            ("videoId", s(&v.id)),
            ("modelId", s(model)),
            ("parameters", parameters.clone()),
            ("parameterMapping", plan.parameter_mapping(&v)),
            ("createdAt", f(v.created)),
        ]);
        if per_video % 31 == 7 {
            // A second per-video row for the same video.
            rows.push(row.clone());
        }
        rows.push(row);
    }
    // An orphan: a per-video row whose video no longer exists.
    let orphan_created = START_MS + 3.0 * MS_PER_DAY;
    rows.push(obj(vec![
        ("_creationTime", f(orphan_created + 0.1)),
        (
            "videoId",
            s(&id_for(
                seed,
                "videos",
                plan.videos + 7,
                plan.videos + 8,
                orphan_created,
            )),
        ),
        ("modelId", s("minimax/hailuo-02")),
        (
            "parameters",
            obj(vec![("prompt", s("deleted video")), ("duration", f(5.0))]),
        ),
        ("createdAt", f(orphan_created)),
    ]));
    let count = rows.len() as u64;
    for (k, row) in rows.into_iter().enumerate() {
        let Value::Object(mut m) = row else {
            unreachable!()
        };
        let created = match m.get("createdAt") {
            Some(Value::Float64(c)) => *c,
            _ => START_MS,
        };
        m.insert(
            "_id".into(),
            s(&id_for(seed, name, k as u64, count, created)),
        );
        out.row(&Value::Object(m))?;
    }
    Ok(())
}

/// Configurations set by hand in the dashboard, holding an Int64, Bytes
/// and NaN: the values a JSON-number-only tool would damage.
fn typed_configurations(created: f64) -> Vec<Map> {
    let rows = [
        (
            "rate_limit_window_ms",
            "limits",
            "Rate Limit Window",
            "Window of the per-user rate limit, as an int64",
            Value::Int64(9_007_199_254_740_993),
            "number",
        ),
        (
            "webhook_signing_key",
            "security",
            "Webhook Signing Key",
            "Raw bytes of the webhook key",
            Value::Bytes(vec![0, 1, 2, 250, 251, 252, 253, 254, 255]),
            "object",
        ),
        (
            "experimental_ratio",
            "features",
            "Experimental Ratio",
            "Not set yet",
            f(f64::NAN),
            "number",
        ),
    ];
    rows.into_iter()
        .map(|(key, cat, nm, desc, value, dt)| {
            let Value::Object(fields) = obj(vec![
                ("key", s(key)),
                ("category", s(cat)),
                ("name", s(nm)),
                ("description", s(desc)),
                ("value", value),
                ("dataType", s(dt)),
                ("isActive", Value::Bool(true)),
                ("isEditable", Value::Bool(true)),
                ("createdAt", f(created)),
                ("updatedAt", f(created)),
            ]) else {
                unreachable!("obj makes objects")
            };
            fields
        })
        .collect()
}

fn production_models() -> Vec<Vec<(&'static str, Value)>> {
    let model = |id: &str,
                 nm: &str,
                 desc: &str,
                 ty: &str,
                 cost: f64,
                 fixed: Option<f64>,
                 default: bool,
                 premium: bool| {
        let mut v = vec![
            ("modelId", s(id)),
            ("name", s(nm)),
            ("description", s(desc)),
            ("replicateModelId", s(id)),
            ("costPerSecond", f(cost)),
            ("modelType", s(ty)),
            ("apiProvider", s("replicate")),
            ("isActive", Value::Bool(true)),
            ("isDefault", Value::Bool(default)),
            ("isPremium", Value::Bool(premium)),
            (
                "parameterMappings",
                obj(vec![
                    ("duration", s("duration")),
                    ("resolution", s("resolution")),
                ]),
            ),
        ];
        if let Some(d) = fixed {
            v.push(("fixedDuration", f(d)));
        }
        v
    };
    vec![
        model(
            "minimax/hailuo-02",
            "Standard Model",
            "Fast, reliable video generation",
            "hailuo",
            0.08,
            None,
            true,
            false,
        ),
        model(
            "bytedance/seedance-1-pro",
            "Advanced Model",
            "Professional videos with multiple aspect ratios and camera position",
            "seedance",
            0.28,
            None,
            false,
            false,
        ),
        model(
            "google/veo-3",
            "Premium Model",
            "Google's highest quality video model",
            "google_veo",
            0.75,
            Some(8.0),
            false,
            true,
        ),
        model(
            "luma/ray-flash-2-540p",
            "Luma Ray Flash",
            "Older fast model",
            "luma_ray",
            0.02,
            None,
            false,
            false,
        ),
        // A second document with the same modelId, as a partial re-seed leaves.
        model(
            "minimax/hailuo-02",
            "Standard Model",
            "Fast, reliable video generation",
            "hailuo",
            0.08,
            None,
            false,
            false,
        ),
    ]
}
