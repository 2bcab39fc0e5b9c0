//! Criterion benchmarks of the hot loops: the ID codec, line parsing and
//! decoding (whole lines and a few fields), value encoding, and one
//! migration over a batch of videos. Run with `cargo bench --bench
//! hot_loops`.

use std::hint::black_box;

use convex_snapshot::id::DocumentId;
use convex_snapshot::value::{
    TableFormat, decode_document, decode_fields, decode_fields_of_valid_json, decode_line,
    encode_document, parse_json_line,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const VIDEO: &str = r#"{"_creationTime":1754230000789.2,"_id":"jd7a1b2c3d4e5f6g7h8j9k0m1n2p3q4r","actualDuration":5.0,"clerkId":"user_30aBcDeFgHiJkLmNoPqRsTuVwXy","codec":"h264","createdAt":1754230000789.0,"creditsCost":7.0,"dimensions":{"height":720.0,"width":1280.0},"downloadCount":1.0,"duration":"5","fileSize":4718592.0,"format":"mp4","generationMetrics":{"downloadTime":2350.0,"processingTime":0.0,"queueTime":0.0,"totalTime":2350.0},"generationSettings":{"resolution":"720p"},"isFavorite":false,"isPublic":true,"model":"google/veo-3","processingCompletedAt":1754230092300.0,"processingStartedAt":1754230001500.0,"prompt":"A golden retriever surfing a wave at sunset, cinematic drone shot","quality":"standard","r2FileKey":"videos/user_30aBcDeFgHiJkLmNoPqRsTuVwXy/1754230090000-k3j4h5g6f7d8s.mp4","replicateJobId":"9x2kqv1m7drj00cr8tzbq3wa4c","shareCount":0.0,"status":"completed","updatedAt":1754230092300.0,"videoUrl":"https://replicate.delivery/xezq/AbCdEf123/output.mp4","viewCount":3.0}"#;

fn ids(c: &mut Criterion) {
    let id = DocumentId::new(10002, *b"0123456789abcdef");
    let text = id.encode();
    c.bench_function("id_encode", |b| b.iter(|| black_box(&id).encode()));
    c.bench_function("id_decode", |b| {
        b.iter(|| DocumentId::decode(black_box(&text)))
    });
}

fn lines(c: &mut Criterion) {
    let mut g = c.benchmark_group("video_line");
    g.throughput(Throughput::Bytes(VIDEO.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| parse_json_line(black_box(VIDEO.as_bytes())))
    });
    let json = parse_json_line(VIDEO.as_bytes()).unwrap();
    g.bench_function("decode_uniform", |b| {
        b.iter(|| decode_document(black_box(&json), &TableFormat::Uniform))
    });
    g.bench_function("decode_line_direct", |b| {
        b.iter(|| decode_line(black_box(VIDEO.as_bytes()), &TableFormat::Uniform))
    });
    // Three fields of the line (as analyzeStorageDistribution reads): the
    // parser skipping the rest, and the byte scanner the engine uses.
    let names = ["status", "r2FileKey", "convexFileId"];
    g.bench_function("decode_fields_parser", |b| {
        b.iter(|| decode_fields(black_box(VIDEO.as_bytes()), &TableFormat::Uniform, &names))
    });
    g.bench_function("decode_fields_scanner", |b| {
        b.iter(|| {
            decode_fields_of_valid_json(black_box(VIDEO.as_bytes()), &TableFormat::Uniform, &names)
        })
    });
    let value = decode_document(&json, &TableFormat::Uniform).unwrap();
    g.bench_function("encode_uniform", |b| {
        b.iter(|| encode_document(black_box(&value), &TableFormat::Uniform))
    });
    g.finish();
}

/// `migrateVideoParameters` then `cleanupVideoFields` (fixed mode) over a
/// generated snapshot of 2,000 videos: parse, decode, migrate, re-encode and
/// write the temporary table files; no ZIP is written.
fn migration(c: &mut Criterion) {
    use convex_snapshot::archive::Compression;
    use convex_snapshot::engine::{Db, preflight};
    use convex_snapshot::generate::{Plan, write_snapshot};
    use convex_snapshot::migrations::{self, Mode};
    use convex_snapshot::snapshot::Snapshot;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.zip");
    let dest = convex_snapshot::archive::Destination::zip(&path);
    write_snapshot(&dest, Plan::new(1, 2000), Compression::Fast).unwrap();
    let snap = Snapshot::open(&path).unwrap();
    let pre = preflight(&snap, true).unwrap();
    let report = convex_snapshot::check::check_snapshot(&snap, true).unwrap();
    let videos_bytes: u64 = report.components[0]
        .tables
        .iter()
        .find(|t| t.name == "videos")
        .map(|t| t.uncompressed_bytes)
        .unwrap();
    let mut g = c.benchmark_group("migration");
    g.throughput(Throughput::Bytes(videos_bytes));
    g.sample_size(20);
    for name in ["migrateVideoParameters", "cleanupVideoFields"] {
        let m = migrations::find(name).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut db = Db::open(&snap, &pre, 1_754_240_000_000, dir.path(), true).unwrap();
                black_box(migrations::run(m, &mut db, Mode::Fixed).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ids, lines, migration);
criterion_main!(benches);
