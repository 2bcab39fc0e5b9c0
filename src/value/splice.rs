//! A patch applied to a stored row's text: the fields it sets are encoded
//! and put in place, the others are copied as they are, so the row is
//! never decoded as a whole. Only for uniform rows whose top-level keys
//! are plain and sorted (as Convex writes them), and only when the result
//! is certainly within the importer's limits: in every other case
//! [`patch_row`] says `None` and the caller decodes the row and patches
//! the value, which gives the same document (the tests check it) and the
//! exact error when there is one.

use super::{
    MAX_ARRAY_LEN, MAX_DOCUMENT_NESTING, MAX_DOCUMENT_SIZE, MAX_OBJECT_FIELDS, TableFormat,
    TopLevel, Value, check_field_name, encode_into,
};

/// What a patch does to a row.
#[derive(Debug, PartialEq)]
pub enum Spliced {
    /// Every field it sets already holds that value (bit for bit), and
    /// every field it removes is absent: no write.
    Unchanged,
    /// The new row.
    Row(Vec<u8>),
}

/// The row `line` (uniform format) with `patch` applied (`None` removes a
/// field), or `None` when only a full decode can say.
pub fn patch_row(line: &[u8], patch: &[(String, Option<Value>)]) -> Option<Spliced> {
    // The patch's fields, sorted and each encoded.
    let mut sets: Vec<(&str, Option<Vec<u8>>)> = Vec::with_capacity(patch.len());
    for (k, v) in patch {
        if k.starts_with('_') || check_field_name(k).is_err() {
            return None;
        }
        let encoded = match v {
            None => None,
            Some(v) => {
                let m = v.measure();
                if m.nesting + 1 > MAX_DOCUMENT_NESTING
                    || m.max_fields > MAX_OBJECT_FIELDS
                    || m.max_array > MAX_ARRAY_LEN
                    || !names_valid(v)
                {
                    return None;
                }
                let mut out = Vec::new();
                encode_into(v, &TableFormat::Uniform, &mut out).ok()?;
                Some(out)
            }
        };
        sets.push((k.as_str(), encoded));
    }
    sets.sort_by(|a, b| a.0.cmp(b.0));
    if sets.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }

    let mut out = Vec::with_capacity(line.len() + 64);
    out.push(b'{');
    let mut changed = false;
    let mut fields = 0usize;
    let mut write_field = |out: &mut Vec<u8>, key: &[u8], value: &[u8], escape: bool| {
        if fields > 0 {
            out.push(b',');
        }
        fields += 1;
        if escape {
            serde_json::to_writer(&mut *out, std::str::from_utf8(key).expect("a str"))
                .expect("writing to a Vec cannot fail");
        } else {
            out.push(b'"');
            out.extend_from_slice(key);
            out.push(b'"');
        }
        out.push(b':');
        out.extend_from_slice(value);
    };
    let mut next = sets.iter().peekable();
    let mut previous: Option<&[u8]> = None;
    let mut walk = TopLevel::new(line);
    for (key, span, plain) in &mut walk {
        if !in_canonical_order(previous, key, plain) {
            return None;
        }
        previous = Some(key);
        // The patch's fields that sort before this one are new.
        while let Some((k, v)) = next.next_if(|(k, _)| k.as_bytes() < key) {
            if let Some(v) = v {
                write_field(&mut out, k.as_bytes(), v, true);
                changed = true;
            }
        }
        match next.next_if(|(k, _)| k.as_bytes() == key) {
            None => write_field(&mut out, key, &line[span], false),
            Some((_, None)) => changed = true,
            Some((_, Some(v))) => {
                let old = &line[span];
                if old != v.as_slice() && !same_field(old, v) {
                    changed = true;
                }
                write_field(&mut out, key, v, false);
            }
        }
    }
    if walk.unusual {
        return None;
    }
    for (k, v) in next {
        if let Some(v) = v {
            write_field(&mut out, k.as_bytes(), v, true);
            changed = true;
        }
    }
    out.push(b'}');
    if !changed {
        return Some(Spliced::Unchanged);
    }
    // Convex's size of a value is at most 9 bytes per byte of its uniform
    // JSON text (a number: 9 for at least 1), so a short row is within the
    // limit; a long one is measured exactly by the caller.
    if fields > MAX_OBJECT_FIELDS || out.len().saturating_mul(9) > MAX_DOCUMENT_SIZE {
        return None;
    }
    Some(Spliced::Row(out))
}

/// The row a new document made of some of `line`'s fields encodes to (the
/// uniform format): the `system` fields (`_creationTime` and `_id`, given
/// encoded) and the fields of `line` named in `names`, copied as they are
/// (absent ones stay absent). `None` when only a full decode can say: a row
/// [`patch_row`] would leave to it, or a name that is not a plain field.
pub fn row_of_fields(line: &[u8], names: &[&str], system: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    if names
        .iter()
        .any(|n| n.starts_with('_') || check_field_name(n).is_err())
    {
        return None;
    }
    let mut picked: Vec<(&[u8], &[u8])> = system.iter().map(|(k, v)| (k.as_bytes(), *v)).collect();
    let mut previous: Option<&[u8]> = None;
    let mut walk = TopLevel::new(line);
    for (key, span, plain) in &mut walk {
        if !in_canonical_order(previous, key, plain) {
            return None;
        }
        previous = Some(key);
        if names.iter().any(|n| n.as_bytes() == key) {
            picked.push((key, &line[span]));
        }
    }
    if walk.unusual {
        return None;
    }
    picked.sort_by(|a, b| a.0.cmp(b.0));
    if picked.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let mut out = Vec::with_capacity(line.len());
    out.push(b'{');
    for (i, (key, value)) in picked.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Plain keys (checked above, or the system fields' names) need no
        // escapes.
        out.push(b'"');
        out.extend_from_slice(key);
        out.extend_from_slice(b"\":");
        out.extend_from_slice(value);
    }
    out.push(b'}');
    // As in `patch_row`: a short row is certainly within the size limit.
    if picked.len() > MAX_OBJECT_FIELDS || out.len().saturating_mul(9) > MAX_DOCUMENT_SIZE {
        return None;
    }
    Some(out)
}

/// Whether `key` may follow `previous` in a row as Convex writes it: a
/// plain key, after the previous one in byte order, and no `_` field other
/// than the system ones.
fn in_canonical_order(previous: Option<&[u8]>, key: &[u8], plain: bool) -> bool {
    plain
        && previous.is_none_or(|p| p < key)
        && (key.first() != Some(&b'_') || key == b"_id" || key == b"_creationTime")
}

/// True when a field's old text `old` and the new encoding `new` are the
/// same value (the texts differ, but the row may spell the same value
/// another way, `1.50` for `1.5`).
fn same_field(old: &[u8], new: &[u8]) -> bool {
    let value = |text: &[u8]| {
        let mut wrapped = Vec::with_capacity(text.len() + 6);
        wrapped.extend_from_slice(b"{\"v\":");
        wrapped.extend_from_slice(text);
        wrapped.push(b'}');
        match super::decode_line(&wrapped, &TableFormat::Uniform) {
            Ok(Value::Object(mut m)) => m.remove("v"),
            _ => None,
        }
    };
    match (value(old), value(new)) {
        (Some(a), Some(b)) => crate::engine::db::same_value(&a, &b),
        _ => false,
    }
}

fn names_valid(v: &Value) -> bool {
    match v {
        Value::Object(fields) => fields
            .iter()
            .all(|(k, v)| check_field_name(k).is_ok() && names_valid(v)),
        Value::Array(items) => items.iter().all(names_valid),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Map, decode_line, encode_document};

    fn doc(line: &str) -> Map {
        match decode_line(line.as_bytes(), &TableFormat::Uniform).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    /// The full path: decode, patch the value, encode.
    fn by_value(line: &str, patch: &[(String, Option<Value>)]) -> Spliced {
        let old = doc(line);
        let mut new = old.clone();
        for (k, v) in patch {
            match v {
                Some(v) => {
                    new.insert(k.clone(), v.clone());
                }
                None => {
                    new.remove(k);
                }
            }
        }
        if crate::engine::db::same_value(&Value::Object(old), &Value::Object(new.clone())) {
            return Spliced::Unchanged;
        }
        Spliced::Row(encode_document(&Value::Object(new), &TableFormat::Uniform).unwrap())
    }

    #[test]
    fn a_spliced_row_is_the_row_a_patched_value_encodes_to() {
        let rows = [
            r#"{"_creationTime":1.5,"_id":"j97x","a":1.0,"b":"x","n":{"k":[1,2.0]},"z":null}"#,
            r#"{"_creationTime":1.5,"_id":"j97x"}"#,
            r#"{"_creationTime":1.5,"_id":"j97x","m":5,"s":"é\n\"q\""}"#,
        ];
        let s = |t: &str| Some(Value::String(t.into()));
        let patches: Vec<Vec<(String, Option<Value>)>> = vec![
            vec![("a".into(), Some(Value::Float64(2.0)))],
            vec![("a".into(), Some(Value::Float64(1.0)))],
            vec![("a".into(), Some(Value::Int64(1)))],
            vec![("b".into(), None), ("c".into(), s("new"))],
            vec![
                ("0first".into(), s("sorts first")),
                ("zz".into(), s("last")),
            ],
            vec![("gone".into(), None)],
            vec![
                ("m".into(), Some(Value::Int64(5))),
                ("s".into(), s("é\n\"q\"")),
            ],
            vec![("m".into(), Some(Value::Int64(6)))],
            vec![(
                "n".into(),
                Some(Value::Object(Map::from(vec![(
                    "k".to_owned(),
                    Value::Array(vec![Value::Int64(1), Value::Float64(2.0)]),
                )]))),
            )],
            vec![("x".into(), Some(Value::Float64(-0.0)))],
            vec![("x".into(), Some(Value::Float64(f64::NAN)))],
            vec![("x".into(), Some(Value::Bytes(vec![0, 255])))],
        ];
        for row in rows {
            for patch in &patches {
                let got = patch_row(row.as_bytes(), patch);
                assert_eq!(got, Some(by_value(row, patch)), "{row} {patch:?}");
            }
        }
        // The same value spelled another way is no change.
        assert_eq!(
            patch_row(
                br#"{"_id":"a","a":1.50}"#,
                &[("a".into(), Some(Value::Float64(1.5)))]
            ),
            Some(Spliced::Unchanged)
        );
    }

    #[test]
    fn a_copied_row_is_the_row_its_copied_values_encode_to() {
        let rows = [
            r#"{"_creationTime":1.5,"_id":"j97x","a":1.0,"b":"x","n":{"k":[1,2.0]},"z":null}"#,
            r#"{"_creationTime":1.5,"_id":"j97x"}"#,
            r#"{"A":true,"_creationTime":1.5,"_id":"j97x","m":5,"s":"é\n\"q\""}"#,
        ];
        let system: [(&str, &[u8]); 2] = [("_creationTime", b"2.5"), ("_id", br#""k57y""#)];
        for row in rows {
            for names in [&["a", "n", "s", "A"][..], &["z", "m"], &[], &["nope"]] {
                let old = doc(row);
                let mut new: Map = names
                    .iter()
                    .filter_map(|&n| old.get(n).map(|v| (n.to_owned(), v.clone())))
                    .collect();
                new.insert("_creationTime".into(), Value::Float64(2.5));
                new.insert("_id".into(), Value::String("k57y".into()));
                let want = encode_document(&Value::Object(new), &TableFormat::Uniform).unwrap();
                let got = row_of_fields(row.as_bytes(), names, &system);
                assert_eq!(got, Some(want), "{row} {names:?}");
            }
        }
        // What only a full decode can say.
        for (row, names) in [
            (&br#"{"b":1.0,"a":1.0}"#[..], &["a"][..]),
            (br#"{"\u0061":1.0}"#, &["a"]),
            (br#"{"_x":1.0}"#, &["a"]),
            (br#"{"a":1.0"#, &["a"]),
            (br#"{"a":1.0}"#, &["_id"]),
            (br#"{"a":1.0}"#, &["$a"]),
        ] {
            let got = row_of_fields(row, names, &system);
            assert_eq!(got, None, "{}", String::from_utf8_lossy(row));
        }
        let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_DOCUMENT_SIZE / 9));
        assert_eq!(row_of_fields(long.as_bytes(), &["a"], &system), None);
    }

    #[test]
    fn copied_rows_of_generated_tables_are_the_rows_their_values_encode_to() {
        use crate::lines::{Source, scan_source};
        let (_dir, path) = crate::generate::test_snapshot(7, 200);
        let snap = crate::snapshot::Snapshot::open(&path).unwrap();
        let system: [(&str, &[u8]); 2] = [("_creationTime", b"1.5"), ("_id", br#""x""#)];
        let mut checked = 0;
        for (i, entry) in snap.archive.entries().iter().enumerate() {
            if !entry.name.ends_with("/documents.jsonl") || entry.name.starts_with('_') {
                continue;
            }
            let mut lines: Vec<Vec<u8>> = Vec::new();
            let progress = crate::progress::Progress::hidden();
            let source = Source::Entry(&snap.archive, i);
            let each = |b: &crate::lines::Batch| -> Vec<Vec<u8>> {
                b.lines().map(|(_, l)| l.to_vec()).collect()
            };
            scan_source(source, &progress, each, |v| lines.extend(v)).unwrap();
            for (n, line) in lines.iter().enumerate() {
                let old = doc(std::str::from_utf8(line).unwrap());
                let all: Vec<&str> = old
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !k.starts_with('_'))
                    .collect();
                let every_other: Vec<&str> = all.iter().copied().skip(n % 2).step_by(2).collect();
                for names in [all.clone(), every_other, vec![], vec!["absent"]] {
                    let Some(got) = row_of_fields(line, &names, &system) else {
                        continue;
                    };
                    let mut new: Map = names
                        .iter()
                        .filter_map(|&k| old.get(k).map(|v| (k.to_owned(), v.clone())))
                        .collect();
                    new.insert("_creationTime".into(), Value::Float64(1.5));
                    new.insert("_id".into(), Value::String("x".into()));
                    let want = encode_document(&Value::Object(new), &TableFormat::Uniform).unwrap();
                    assert!(got == want, "{} row {}", entry.name, n + 1);
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "only {checked} rows copied");
    }

    #[test]
    fn anything_unsure_goes_to_the_full_path() {
        let row = br#"{"_creationTime":1.5,"_id":"j97x","a":1.0}"#;
        let set = |k: &str, v: Value| vec![(k.to_owned(), Some(v))];
        for patch in [
            set("_id", Value::String("j97x".into())),
            set("_hidden", Value::Null),
            set("$a", Value::Null),
            set("a", Value::String("x".repeat(MAX_DOCUMENT_SIZE / 9))),
            set(
                "a",
                Value::Object(Map::from(vec![("$bad".to_owned(), Value::Null)])),
            ),
        ] {
            assert_eq!(patch_row(row, &patch), None, "{patch:?}");
        }
        let fine = set("a", Value::Null);
        for row in [
            &br#"{"b":1.0,"a":1.0}"#[..],
            br#"{"a":1.0,"a":2.0}"#,
            br#"{"\u0061":1.0}"#,
            br#"{"_x":1.0}"#,
            br#"[1.0]"#,
            br#"{"a":1.0"#,
        ] {
            assert_eq!(
                patch_row(row, &fine),
                None,
                "{}",
                String::from_utf8_lossy(row)
            );
        }
    }
}
