//! Every input that ever broke a property the fuzz targets check (see
//! fuzz/README.md), run through the same property on every `cargo test`:
//! `tests/fuzz_regressions/<target>/<name>` is fed to the target's function
//! in `convex_snapshot::invariants`.

use std::path::Path;

use crate::common::{read_zip, sample};
use convex_snapshot::invariants;

fn each(target: &str, property: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        let run = std::panic::catch_unwind(|| property(&data));
        assert!(run.is_ok(), "{} breaks its property again", path.display());
    }
    inputs.len()
}

#[test]
fn line_decoder_regressions() {
    assert!(each("line_decoder", invariants::line_round_trip) >= 7);
}

#[test]
fn id_codec_regressions() {
    assert!(each("id_codec", invariants::id_round_trip) >= 2);
}

#[test]
fn zip_open_regressions() {
    assert!(each("zip_open", invariants::open_and_check) >= 2);
}

#[test]
fn small_snapshot_regressions() {
    assert!(each("small_snapshot", invariants::small_snapshot) >= 3);
    // A line over the limit, made here rather than kept as a 9 MiB file.
    let mut long = b"{\"name\":\"t\",\"id\":10001}\n\0".to_vec();
    long.extend(std::iter::repeat_n(b' ', 9 << 20));
    long.extend_from_slice(b"\0\"uniform\"\n\0");
    invariants::small_snapshot(&long);
}

#[test]
fn splice_regressions() {
    assert!(each("splice", invariants::splice_agrees) >= 1);
}

/// The splice property on every row of the shipped fixture, with patches
/// of every kind: same value, another type, removals of present and absent
/// fields, new fields sorting first and last, nesting, Int64, -0, NaN,
/// bytes, escapes, a field name needing no escape but sorting oddly.
#[test]
fn splice_agrees_on_every_row_of_the_fixture() {
    let patches = [
        r#"{"status":"completed"}"#,
        r#"{"status":"-"}"#,
        r#"{"absent":"-"}"#,
        r#"{"AAA":1.0,"zzz":false}"#,
        r#"{"title":null,"updatedAt":{"$integer":"AQAAAAAAAAA="}}"#,
        r#"{"downloadCount":{"$float":"AAAAAAAAAIA="}}"#,
        r#"{"viewCount":{"$float":"AAAAAAAA+H8="}}"#,
        r#"{"blob":{"$bytes":"AAEC/w=="}}"#,
        r#"{"prompt":"é\n\"q\"\u0001","tags":["a",["b",{"c":1.0}]]}"#,
        r#"{"thumbnailFileId":"-","thumbnailUrl":"-","title":"-","videoCdnUrl":"-","videoCdnUrlExpiresAt":"-","updatedAt":1754240000000.0}"#,
        r#"{"clerkId":"user_1","dimensions":{"height":720.0,"width":1280.0}}"#,
    ];
    let mut n = 0;
    for (name, data) in read_zip(&sample()) {
        if !name.ends_with("/documents.jsonl") || name.starts_with('_') {
            continue;
        }
        for row in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            for p in patches {
                let mut input = row.to_vec();
                input.push(b'\n');
                input.extend_from_slice(p.as_bytes());
                invariants::splice_agrees(&input);
                n += 1;
            }
        }
    }
    assert!(n > 4000, "{n}");
}
