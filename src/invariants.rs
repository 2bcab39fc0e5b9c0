//! Properties that must hold for any input, however malformed. The fuzz
//! targets in `fuzz/` feed them arbitrary bytes, and `tests/` runs them on
//! every input that ever broke one, so the two can never drift apart. Each
//! function panics when its property fails; an error for bad input is not a
//! failure.

use std::io::Read as _;

use crate::engine::db::same_value;
use crate::id::DocumentId;
use crate::value::{self, LegacySchema, TableFormat};

/// The three table formats, as a table of that format would decode a row.
fn formats() -> [TableFormat; 3] {
    let unknown = LegacySchema::parse("unknown", std::iter::empty()).expect("a valid shape");
    [
        TableFormat::Uniform,
        TableFormat::Missing,
        TableFormat::Legacy(Box::new(unknown)),
    ]
}

/// For each format: the preflight's fast verdict on a line is the full
/// decoder's, and a line that decodes re-encodes to text that decodes to
/// the same value, and encodes to the same text again.
pub fn line_round_trip(line: &[u8]) {
    for format in formats() {
        let read = value::read_row(line, 1, &format);
        let checked = crate::engine::check_line(line, 1, &format);
        match (&read, &checked) {
            (Ok(_), Ok(())) => {}
            (Err(a), Err(b)) => assert_eq!(&a.0, b, "{}: messages differ", format.name()),
            _ => panic!(
                "{}: preflight {checked:?}, decoder {:?}",
                format.name(),
                read.as_ref().map(|_| ())
            ),
        }
        let Ok(doc) = read else { continue };
        let text = value::encode_document(&doc, &format)
            .unwrap_or_else(|e| panic!("{}: a decoded row does not encode: {e}", format.name()));
        let back = value::read_row(&text, 1, &format)
            .unwrap_or_else(|e| panic!("{}: re-encoded row does not decode: {e}", format.name()));
        assert!(
            same_value(&doc, &back),
            "{}: round trip changed the value",
            format.name()
        );
        let again = value::encode_document(&back, &format).expect("encodes");
        assert_eq!(text, again, "{}: encoding is not stable", format.name());
    }
}

/// A text that decodes as an ID encodes back to itself; any table number
/// and internal bytes round-trip.
pub fn id_round_trip(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(id) = DocumentId::decode(text)
    {
        assert_eq!(id.encode(), text, "decode accepted a non-canonical ID");
    }
    if data.len() >= 20 {
        let number = u32::from_le_bytes(data[..4].try_into().expect("4 bytes"));
        let internal: [u8; 16] = data[4..20].try_into().expect("16 bytes");
        if number > 0 {
            let id = DocumentId::new(number, internal);
            let back = DocumentId::decode(&id.encode()).expect("an encoded ID decodes");
            assert_eq!((back.table_number, back.internal), (number, internal));
        }
    }
}

/// Opening arbitrary bytes as a ZIP snapshot never panics, every entry reads
/// through or fails cleanly, and the preflight and `validate`'s check agree:
/// what one finds unreadable, so does the other.
pub fn open_and_check(zip: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.zip");
    if std::fs::write(&path, zip).is_err() {
        return;
    }
    check_snapshot_at(&path);
}

/// [`open_and_check`] of a snapshot on disk.
pub fn check_snapshot_at(path: &std::path::Path) {
    let Ok(snap) = crate::snapshot::Snapshot::open(path) else {
        return;
    };
    for i in 0..snap.archive.entries().len() {
        let _ = snap.archive.with_reader(i, |r| {
            std::io::copy(&mut r.take(64 << 20), &mut std::io::sink())
        });
    }
    let pre = crate::engine::preflight(&snap, true);
    let check = crate::check::check_snapshot(&snap, true);
    let check_readable = check
        .as_ref()
        .map(|r| r.problems.first_unreadable.is_none());
    match (&pre, &check_readable) {
        (Ok(_), Ok(true)) | (Err(_), Ok(false)) | (Err(_), Err(_)) => {}
        _ => panic!(
            "preflight says {:?}, validate's check says {:?}",
            pre.as_ref().map(|_| "readable"),
            check.as_ref().map(|r| r.problems.first_unreadable.clone())
        ),
    }
}

/// A small snapshot made from arbitrary bytes: the input is cut at `\0`
/// into a `_tables` listing, a table's documents, its sidecar and a
/// `_storage` metadata file, so the fuzzer works on contents rather than on
/// the ZIP container.
pub fn small_snapshot(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    let mut next = || parts.next().unwrap_or_default().to_vec();
    let (tables, docs, sidecar, storage) = (next(), next(), next(), next());
    let Ok(dir) = tempfile::tempdir() else { return };
    let root = dir.path().join("snap");
    let files = [
        ("_tables/documents.jsonl", tables),
        ("t/documents.jsonl", docs),
        ("t/generated_schema.jsonl", sidecar),
        ("_storage/documents.jsonl", storage),
    ];
    for (name, bytes) in files {
        let p = root.join(name);
        if std::fs::create_dir_all(p.parent().expect("a folder")).is_err()
            || std::fs::write(&p, bytes).is_err()
        {
            return;
        }
    }
    check_snapshot_at(&root);
}

/// A patch spliced into a row's text (`value::patch_row`, the fast path of
/// your migrations' patches) gives exactly the document that patching the
/// decoded row gives, and only rows the full path would accept. `data` is a
/// row, a newline, and a patch written as a uniform object, where the
/// string `"-"` removes a field.
pub fn splice_agrees(data: &[u8]) {
    let (line, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => return,
    };
    let Ok(value::Value::Object(old)) = value::decode_line(line, &TableFormat::Uniform) else {
        return;
    };
    let Ok(value::Value::Object(p)) = value::decode_line(rest, &TableFormat::Uniform) else {
        return;
    };
    let patch: Vec<(String, Option<value::Value>)> = p
        .iter()
        .map(|(k, v)| {
            let removed = matches!(v, value::Value::String(s) if s == "-");
            (k.to_owned(), (!removed).then(|| v.clone()))
        })
        .collect();
    let Some(got) = value::patch_row(line, &patch) else {
        return;
    };
    let mut new = old.clone();
    for (k, v) in &patch {
        match v {
            Some(v) => {
                new.insert(k.clone(), v.clone());
            }
            None => {
                new.remove(k);
            }
        }
    }
    let old = value::Value::Object(old);
    match got {
        value::Spliced::Unchanged => assert!(
            same_value(&old, &value::Value::Object(new)),
            "splice says unchanged, the value changed"
        ),
        value::Spliced::Row(bytes) => {
            let back = value::decode_line(&bytes, &TableFormat::Uniform)
                .unwrap_or_else(|e| panic!("a spliced row does not decode: {e:?}"));
            let (new, checked) = crate::engine::db::encode_checked_map(new, &TableFormat::Uniform);
            let new = value::Value::Object(new);
            assert!(
                !same_value(&old, &new),
                "splice wrote a row the patch leaves as it was"
            );
            assert!(
                same_value(&back, &new),
                "the spliced row is another document"
            );
            assert!(
                checked.is_ok(),
                "splice wrote a row the full path refuses: {checked:?}"
            );
        }
    }
}
