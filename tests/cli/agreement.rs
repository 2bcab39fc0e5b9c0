//! One definition of valid: every command reads a snapshot the same way.
//! Each case below is a snapshot that some command once read differently
//! from the others. An unreadable one is refused by every command with the
//! same message and nothing written (`validate` lists it, the others stop
//! with exit 2); a readable one is read by all of them.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A good one-table snapshot to diff against.
fn good(dir: &Path) -> PathBuf {
    let docs = format!("{{\"_creationTime\":1.5,\"_id\":\"{}\"}}\n", id(10001, 1));
    make_zip(dir, "good.zip", &refs(&one_table("users", 10001, &docs)))
}

/// Every command that reads a snapshot, on `input`: (what ran, result).
fn every_command(dir: &Path, input: &Path) -> Vec<(String, Run)> {
    let good = good(dir);
    let out = |n: &str| dir.join(n);
    let runs: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["validate".into(), input.into()],
        vec!["inspect".into(), input.into()],
        vec!["unpack".into(), input.into(), out("unpacked").into()],
        vec!["diff".into(), input.into(), good.clone().into()],
        vec!["diff".into(), good.clone().into(), input.into()],
        vec![
            "migrate".into(),
            input.into(),
            "-o".into(),
            out("copy.zip").into(),
        ],
        vec![
            "migrate".into(),
            input.into(),
            "-o".into(),
            out("copy-dir/").into(),
        ],
        vec![
            "migrate".into(),
            input.into(),
            "cleanupVideoFields".into(),
            "--dry-run".into(),
        ],
        vec![
            "pack".into(),
            input.into(),
            "-o".into(),
            out("packed.zip").into(),
        ],
    ];
    runs.into_iter()
        .map(|args| {
            let shown = args
                .iter()
                .take(1)
                .chain(args.iter().skip(3).take(1))
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            (shown, run(&args))
        })
        .collect()
}

/// Every command refuses `input`, naming `needle`, and writes nothing.
#[track_caller]
fn refused_by_all(case: &str, dir: &Path, input: &Path, needle: &str) {
    let before = files_in(dir);
    for (cmd, r) in every_command(dir, input) {
        let said = format!("{}{}", r.stdout, r.stderr);
        if cmd == "validate" {
            assert!(
                r.code == 1 || r.code == 2,
                "{case}: validate exit {}",
                r.code
            );
        } else {
            assert_eq!(r.code, 2, "{case}: {cmd} accepted it: {said}");
            assert_eq!(r.stderr.lines().count(), 1, "{case}: {cmd}: {}", r.stderr);
        }
        assert!(
            said.contains(needle),
            "{case}: {cmd}: {needle:?} not in {said}"
        );
        let mut now = files_in(dir);
        now.retain(|f| f != "good.zip");
        let mut was = before.clone();
        was.retain(|f| f != "good.zip");
        assert_eq!(now, was, "{case}: {cmd} left files behind");
    }
}

/// Every command reads `input`.
#[track_caller]
fn read_by_all(case: &str, dir: &Path, input: &Path) {
    for (cmd, r) in every_command(dir, input) {
        match cmd.as_str() {
            "validate" => assert!(r.code <= 1, "{case}: {}{}", r.stdout, r.stderr),
            "diff" => assert!(r.code <= 1, "{case}: diff: {}", r.stderr),
            _ => assert_eq!(r.code, 0, "{case}: {cmd}: {}", r.stderr),
        }
        assert!(
            !r.stdout.contains("unreadable") && !r.stderr.contains("error:"),
            "{case}: {cmd}: {}{}",
            r.stdout,
            r.stderr
        );
    }
}

/// A snapshot's entries: name and bytes.
type Entries = Vec<(String, Vec<u8>)>;

fn zip_of(dir: &Path, name: &str, entries: &[(String, Vec<u8>)]) -> PathBuf {
    make_zip(dir, name, &refs(entries))
}

fn users(docs: &str) -> Entries {
    one_table("users", 10001, docs)
}

fn row(extra: &str) -> String {
    format!(
        "{{\"_creationTime\":1.5,\"_id\":\"{}\"{extra}}}\n",
        id(10001, 1)
    )
}

#[test]
fn rows_the_importer_parser_refuses_are_refused_everywhere() {
    let deep = format!(",\"a\":{}{}", "[".repeat(200), "]".repeat(200));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "lone surrogate",
            row(",\"a\":\"\\ud800\""),
            "users/documents.jsonl line 1: not valid JSON: unexpected end of hex escape",
        ),
        (
            "lone trailing surrogate",
            row(",\"a\":\"x\\udc00\""),
            "line 1: not valid JSON: lone leading surrogate in hex escape",
        ),
        (
            "number out of range",
            row(",\"a\":1e400"),
            "line 1: not valid JSON: number out of range",
        ),
        (
            "too deep for the parser",
            row(&deep),
            "line 1: not valid JSON: recursion limit exceeded",
        ),
        (
            "a $ key inside a value",
            row(",\"a\":{\"b\":{\"$x\":1}}"),
            "line 1: not a valid Convex value: field name \"$x\" starts with '$'",
        ),
        (
            "bad base64 in $bytes",
            row(",\"a\":{\"$bytes\":\"!!\"}"),
            "line 1: not a valid Convex value: $bytes is not valid base64",
        ),
        (
            "a non-ASCII key",
            row(",\"a\":{\"é\":1}"),
            "not printable ASCII",
        ),
        (
            "a blank line",
            format!("{}\n{}", row(""), row("")),
            "line 2: blank line",
        ),
        (
            "a truncated row",
            "{\"_creationTime\":1.5,\"_id\"".into(),
            "line 1: not valid JSON",
        ),
        (
            "an array row",
            "[1,2]\n".into(),
            "line 1: expected a JSON object, found an array",
        ),
        (
            "a byte order mark",
            format!("\u{feff}{}", row("")),
            "line 1: starts with a UTF-8 byte order mark",
        ),
        (
            "a duplicate _id",
            format!("{}{}", row(""), row(",\"x\":1")),
            "users/documents.jsonl line 2: DuplicateId: same _id as line 1",
        ),
    ];
    for (case, docs, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let input = zip_of(dir.path(), "in.zip", &users(&docs));
        refused_by_all(case, dir.path(), &input, needle);
    }
}

#[test]
fn sidecars_listings_and_storage_metadata_are_checked_everywhere() {
    let meta_ok = format!(
        "{{\"_id\":\"{}\",\"size\":2}}\n",
        convex_snapshot::id::DocumentId::new(540, [3; 16]).encode()
    );
    let blob = format!(
        "_storage/{}",
        convex_snapshot::id::DocumentId::new(540, [3; 16]).encode()
    );
    let cases: Vec<(&str, Entries, &str)> = vec![
        (
            "an unparsable sidecar of a table without documents",
            {
                let mut e = users(&row(""));
                e.push(("drafts/generated_schema.jsonl".into(), b"{oops\n".to_vec()));
                e
            },
            "drafts/generated_schema.jsonl line 1: generated schema is not valid JSON",
        ),
        (
            "a _tables line that is not JSON",
            {
                let mut e = users(&row(""));
                e[0].1.extend_from_slice(b"{nope\n");
                e
            },
            "_tables/documents.jsonl line 2: not valid JSON",
        ),
        (
            "a blank _storage metadata line",
            {
                let mut e = users(&row(""));
                e.push((
                    "_storage/documents.jsonl".into(),
                    format!("\n{meta_ok}").into_bytes(),
                ));
                e.push((blob.clone(), b"hi".to_vec()));
                e
            },
            "_storage/documents.jsonl line 1: blank line",
        ),
        (
            "a truncated _storage metadata line",
            {
                let mut e = users(&row(""));
                e.push(("_storage/documents.jsonl".into(), b"{\"_id\":\"k".to_vec()));
                e
            },
            "_storage/documents.jsonl line 1: not valid JSON",
        ),
        (
            "a _storage metadata line that is not an object",
            {
                let mut e = users(&row(""));
                e.push(("_storage/documents.jsonl".into(), b"[1]\n".to_vec()));
                e
            },
            "_storage/documents.jsonl line 1: expected a JSON object, found an array",
        ),
        (
            "a _storage metadata line without an _id",
            {
                let mut e = users(&row(""));
                e.push((
                    "_storage/documents.jsonl".into(),
                    b"{\"size\":1}\n".to_vec(),
                ));
                e
            },
            "_storage/documents.jsonl line 1: not a valid _storage metadata line: missing field `_id`",
        ),
    ];
    for (case, entries, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let input = zip_of(dir.path(), "in.zip", &entries);
        refused_by_all(case, dir.path(), &input, needle);
        // The same as a folder.
        let dir = tempfile::tempdir().unwrap();
        let input = make_dir(dir.path(), "in", &refs(&entries));
        refused_by_all(case, dir.path(), &input, needle);
    }
}

#[test]
fn container_damage_is_refused_everywhere() {
    let docs = row("");
    let tables = b"{\"name\":\"users\",\"id\":10001}\n".to_vec();
    let blob_name = format!(
        "_storage/{}",
        convex_snapshot::id::DocumentId::new(540, [3; 16]).encode()
    );
    let docs = docs.as_bytes();
    let base = |d: &'static [u8]| {
        vec![
            RawEntry::new(
                "_tables/documents.jsonl",
                Box::leak(tables.clone().into_boxed_slice()),
            ),
            RawEntry::new("users/documents.jsonl", d),
            RawEntry::new("users/generated_schema.jsonl", b"\"uniform\"\n"),
        ]
    };
    let docs: &'static [u8] = Box::leak(docs.to_vec().into_boxed_slice());
    let with = |i: usize, f: &dyn Fn(&mut RawEntry)| {
        let mut e = base(docs);
        f(&mut e[i]);
        raw_zip(&e)
    };
    let mut cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "declared size larger than the data",
            with(1, &|e| {
                e.deflate = true;
                e.cd_size = Some(e.data.len() as u32 + 5)
            }),
            "users/documents.jsonl: the data is 63 bytes, but the central directory declares 68".into(),
        ),
        (
            "declared size smaller than the data (deflated)",
            with(1, &|e| {
                e.deflate = true;
                e.cd_size = Some(e.data.len() as u32 - 5)
            }),
            "users/documents.jsonl: File is larger than its declared uncompressed size".into(),
        ),
        (
            "stored sizes that differ",
            with(1, &|e| e.cd_size = Some(e.data.len() as u32 - 5)),
            "users/documents.jsonl: a stored entry must have equal sizes".into(),
        ),
        (
            "declared compressed size too small",
            with(1, &|e| {
                e.deflate = true;
                e.cd_compressed = Some(5)
            }),
            "users/documents.jsonl: the deflate data is cut short".into(),
        ),
        (
            "a CRC mismatch in the README",
            {
                let mut e = base(docs);
                e.push(RawEntry {
                    cd_crc: Some(7),
                    ..RawEntry::new("README.md", b"hello")
                });
                raw_zip(&e)
            },
            "README.md: Invalid checksum".into(),
        ),
        (
            "a CRC mismatch in a _storage blob",
            {
                let mut e = base(docs);
                e.push(RawEntry {
                    cd_crc: Some(7),
                    ..RawEntry::new(Box::leak(blob_name.clone().into_boxed_str()), b"blob bytes")
                });
                raw_zip(&e)
            },
            format!("{blob_name}: Invalid checksum"),
        ),
        (
            "a CRC mismatch in _storage/documents.jsonl",
            {
                let mut e = base(docs);
                e.push(RawEntry {
                    cd_crc: Some(7),
                    ..RawEntry::new("_storage/documents.jsonl", b"")
                });
                raw_zip(&e)
            },
            "_storage/documents.jsonl: Invalid checksum".into(),
        ),
        (
            "two entries with the same name",
            {
                let mut e = base(docs);
                e.push(RawEntry::new("users/documents.jsonl", docs));
                raw_zip(&e)
            },
            "users/documents.jsonl: the ZIP holds this name twice (central directory records 2 and 4)"
                .into(),
        ),
        (
            "two entries for one table",
            {
                let mut e = base(docs);
                e.push(RawEntry::new("snapshot/users/documents.jsonl", docs));
                raw_zip(&e)
            },
            "snapshot/users/documents.jsonl: is the documents of the same table users as users/documents.jsonl"
                .into(),
        ),
        (
            "two _tables listings",
            {
                let mut e = base(docs);
                e.push(RawEntry::new("backup/_tables/documents.jsonl", Box::leak(tables.clone().into_boxed_slice())));
                raw_zip(&e)
            },
            "backup/_tables/documents.jsonl: is the same component's _tables listing as _tables/documents.jsonl"
                .into(),
        ),
        (
            "two blobs of one storage ID",
            {
                let mut e = base(docs);
                let png = format!("{blob_name}.png");
                let jpg = format!("{blob_name}.jpg");
                e.push(RawEntry::new(Box::leak(png.into_boxed_str()), b"a"));
                e.push(RawEntry::new(Box::leak(jpg.into_boxed_str()), b"b"));
                raw_zip(&e)
            },
            "is a file of the same storage ID".into(),
        ),
        (
            "entries that share bytes",
            {
                let mut e = base(docs);
                e.push(RawEntry {
                    same_offset_as: Some(1),
                    ..RawEntry::new("other/documents.jsonl", docs)
                });
                raw_zip(&e)
            },
            "its data overlaps the entry".into(),
        ),
    ];
    // The whole snapshot a ZIP bomb of one endless line.
    let endless: &'static [u8] = Box::leak(vec![b' '; 9 << 20].into_boxed_slice());
    cases.push((
        "a line over 8 MiB",
        {
            let mut e = base(docs);
            e[1] = RawEntry {
                deflate: true,
                ..RawEntry::new("users/documents.jsonl", endless)
            };
            raw_zip(&e)
        },
        "users/documents.jsonl: line 1 is longer than 8 MiB".into(),
    ));
    for (case, bytes, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.zip");
        std::fs::write(&input, bytes).unwrap();
        refused_by_all(case, dir.path(), &input, &needle);
    }
}

#[test]
fn a_deep_legacy_shape_and_a_non_export_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let shape = format!("{}int64{}", "array<".repeat(5000), ">".repeat(5000));
    let mut e = users(&row(""));
    e[2].1 = format!("{}\n", serde_json::to_string(&shape).unwrap()).into_bytes();
    let input = zip_of(dir.path(), "in.zip", &e);
    refused_by_all(
        "a shape nested 5000 deep",
        dir.path(),
        &input,
        "users/generated_schema.jsonl line 1: cannot parse generated schema: the shape nests deeper than 128 levels",
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused_by_all(
        "an empty folder",
        dir.path(),
        &empty,
        "is not a Convex export",
    );
    let dir = tempfile::tempdir().unwrap();
    let input = make_zip(dir.path(), "photos.zip", &[("IMG_0001.jpg", b"jpeg")]);
    refused_by_all(
        "a ZIP of photos",
        dir.path(),
        &input,
        "is not a Convex export",
    );
}

#[test]
fn readable_snapshots_are_read_by_all() {
    let cases: Vec<(&str, String)> = vec![
        // The importer's parser keeps the last of a repeated key.
        (
            "a repeated _creationTime",
            row(",\"_creationTime\":2.5,\"name\":\"a\",\"name\":\"b\""),
        ),
        // Import errors that do not stop reading: validate lists them.
        (
            "an Int64 _creationTime",
            format!("{{\"_creationTime\":17,\"_id\":\"{}\"}}\n", id(10001, 1)),
        ),
        ("a system field", row(",\"_x\":1")),
        (
            "a \\u escape and a big float",
            row(",\"a\":\"\\u00e9\\ud83d\\ude00\",\"b\":1e300"),
        ),
    ];
    for (case, docs) in cases {
        let dir = tempfile::tempdir().unwrap();
        let input = zip_of(dir.path(), "in.zip", &users(&docs));
        read_by_all(case, dir.path(), &input);
    }
}

#[test]
fn a_repeated_key_reads_as_its_last_value_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let a = id(10002, 1);
    let b = id(10002, 2);
    let docs = format!(
        "{{\"_creationTime\":1.5,\"_id\":\"{a}\",\"thumbnailUrl\":\"x\",\"title\":\"first\",\"title\":\"last\",\"_creationTime\":2.5}}\n{{\"_creationTime\":3.5,\"_id\":\"{b}\",\"title\":\"t\"}}\n"
    );
    let input = zip_of(dir.path(), "in.zip", &one_table("videos", 10002, &docs));
    // validate: clean (the last _creationTime is a valid float).
    let r = run(&["validate".as_ref(), input.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // inspect sees the fields once.
    let r = run(&["inspect".as_ref(), input.as_os_str(), "--json".as_ref()]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["components"][0]["tables"][0]["fields"]["title"]["present"],
        2
    );
    // unpack writes the last values.
    let out = dir.path().join("u");
    assert_eq!(
        run(&["unpack".as_ref(), input.as_os_str(), out.as_os_str()]).code,
        0
    );
    let text = std::fs::read_to_string(out.join("videos/documents.jsonl")).unwrap();
    assert!(
        text.starts_with(&format!(
            "{{\"_creationTime\":2.5,\"_id\":\"{a}\",\"thumbnailUrl\":\"x\",\"title\":\"last\"}}"
        )),
        "{text}"
    );
    // A migration that rewrites the row keeps the last values too.
    let m = dir.path().join("m.zip");
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        m.as_os_str(),
        "cleanupVideoFields".as_ref(),
        "--now".as_ref(),
        "1754240000000".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = read_zip(&m)
        .into_iter()
        .find(|(n, _)| n == "videos/documents.jsonl")
        .unwrap()
        .1;
    let first = String::from_utf8(rows).unwrap();
    assert!(
        first.starts_with(&format!(
            "{{\"_creationTime\":2.5,\"_id\":\"{a}\",\"updatedAt\":"
        )),
        "{first}"
    );
    // diff against the unpacked copy: the same data.
    let r = run(&["diff".as_ref(), input.as_os_str(), out.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}
