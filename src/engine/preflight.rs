//! One light pass before a migration or a copy: `_tables` and every
//! `generated_schema.jsonl` must parse and every line of every table must be
//! a JSON object (what `convex import` reads first), and it yields
//! the latest `_creationTime` (the default clock) and the table number the
//! first row of each table implies. It reads only `_id` and `_creationTime`;
//! a table a migration reads is fully decoded then, and `validate` checks
//! everything else.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::layout::{ComponentPath, EntryKind};
use crate::lines;
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use crate::value;

/// What the pass found.
#[derive(Debug, Default)]
pub struct Preflight {
    /// The latest valid `_creationTime` of any document.
    pub max_creation_time: Option<f64>,
    /// Per table, the number its first row's `_id` encodes.
    pub first_numbers: BTreeMap<(ComponentPath, String), u32>,
}

/// The system fields of a row. serde's derive refuses a second `_id` or
/// `_creationTime`, which the engine's prefix reader relies on.
#[derive(Deserialize)]
struct System<'a> {
    #[serde(rename = "_id", default, borrow)]
    id: Option<AnyValue<'a>>,
    #[serde(rename = "_creationTime", default, borrow)]
    creation_time: Option<AnyValue<'a>>,
}

impl<'a> System<'a> {
    /// The system fields of a line, by the quick skim when it is sure (its
    /// values still read by serde_json), else by serde_json.
    fn read(text: &'a str) -> serde_json::Result<System<'a>> {
        let quick = value::skim_object(text).and_then(|s| {
            let read = |v: Option<&'a str>| v.map(serde_json::from_str).transpose().ok();
            Some(System {
                id: read(s.id)?,
                creation_time: read(s.creation_time)?,
            })
        });
        quick.map_or_else(|| serde_json::from_str(text), Ok)
    }
}

/// Any JSON value, keeping only a number or a string (borrowed when it has
/// no escapes): no allocation for the usual `_id` and `_creationTime`.
enum AnyValue<'a> {
    Number(f64),
    Str(std::borrow::Cow<'a, str>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for AnyValue<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = AnyValue<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(AnyValue::Other)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AnyValue::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(AnyValue::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AnyValue::Number(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AnyValue::Str(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AnyValue::Str(v.to_owned().into()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(AnyValue::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(AnyValue::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(AnyValue::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Runs the pass over every table of every component.
pub fn preflight(snap: &Snapshot, quiet: bool) -> Result<Preflight> {
    let tables: Vec<(usize, &ComponentPath, &String)> = snap
        .kinds
        .iter()
        .enumerate()
        .filter_map(|(i, k)| match k {
            EntryKind::Documents(c, t) => Some((i, c, t)),
            _ => None,
        })
        .collect();
    let total = tables
        .iter()
        .map(|(i, _, _)| snap.archive.entries()[*i].size)
        .sum();
    let progress = Progress::bytes(total, "reading", quiet);
    // The small files the importer parses first: `_tables` and sidecars.
    for comp in snap.components.values() {
        if let Some(entry) = comp.tables_entry {
            snap.read_tables(entry)?;
        }
        for table in comp.tables.values() {
            snap.table_format(table)?;
        }
    }
    // Tables are read side by side, one reader each, up to one per worker:
    // one reader alone cannot decompress as fast as the workers check.
    let sizes: Vec<u64> = tables
        .iter()
        .map(|(i, _, _)| snap.archive.entries()[*i].size)
        .collect();
    let lanes = lanes(&sizes, rayon::current_num_threads());
    let mut results: Vec<Option<Result<TableScan>>> = (0..tables.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter()
            .map(|lane| {
                let (tables, progress) = (&tables, &progress);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    for &t in lane {
                        let scanned = scan_table(snap, tables[t].0, progress);
                        let failed = scanned.is_err();
                        done.push((t, scanned));
                        if failed {
                            break; // its later tables cannot hold an earlier error
                        }
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            let done = handle
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (t, scanned) in done {
                results[t] = Some(scanned);
            }
        }
    });
    // In table order: the first error is the one a single reader would meet.
    let mut out = Preflight::default();
    for ((_, comp, table), scanned) in tables.iter().zip(results) {
        let Some(scanned) = scanned else { continue };
        let (max, first) = scanned?;
        if let Some(t) = max {
            out.max_creation_time = Some(out.max_creation_time.map_or(t, |m: f64| m.max(t)));
        }
        if let Some(n) = first {
            out.first_numbers
                .insert(((*comp).clone(), (*table).clone()), n);
        }
    }
    progress.finish();
    Ok(out)
}

/// The latest `_creationTime` of a table and the number its first row's
/// `_id` encodes.
type TableScan = (Option<f64>, Option<u32>);

/// Splits tables (by their sizes) into at most `readers` lanes of about equal
/// bytes, each lane in table order.
fn lanes(sizes: &[u64], readers: usize) -> Vec<Vec<usize>> {
    let mut lanes: Vec<(u64, Vec<usize>)> =
        vec![(0, Vec::new()); readers.clamp(1, sizes.len().max(1))];
    let mut largest_first: Vec<usize> = (0..sizes.len()).collect();
    largest_first.sort_by_key(|&t| (std::cmp::Reverse(sizes[t]), t));
    for t in largest_first {
        let lane = lanes
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .expect("one lane");
        lane.0 += sizes[t];
        lane.1.push(t);
    }
    lanes
        .into_iter()
        .map(|(_, mut tables)| {
            tables.sort_unstable();
            tables
        })
        .filter(|tables| !tables.is_empty())
        .collect()
}

/// Checks every line of one table (see [`preflight`]).
fn scan_table(snap: &Snapshot, entry: usize, progress: &Progress) -> Result<TableScan> {
    let name = snap.entry_name(entry);
    let (mut max, mut first): TableScan = (None, None);
    lines::try_scan_source(
        lines::Source::Entry(&snap.archive, entry),
        progress,
        |batch| -> Result<(Option<f64>, Option<u32>)> {
            let mut max: Option<f64> = None;
            let mut first = None;
            for (line_no, line) in batch.lines() {
                let start = line.iter().position(|b| !b.is_ascii_whitespace());
                if start.map(|s| line[s]) != Some(b'{') {
                    // Not an object: the full parser says what it is.
                    let message = match value::parse_json_line(line) {
                        Err(e) => e.0,
                        Ok(json) => {
                            format!("expected a JSON object, found {}", value::json_kind(&json))
                        }
                    };
                    return Err(Error::line(name, line_no, message));
                }
                // UTF-8 checked once for the line, not per string.
                let sys: System = match std::str::from_utf8(line) {
                    Ok(text) => System::read(text),
                    Err(_) => serde_json::from_slice(line),
                }
                .map_err(|e| Error::line(name, line_no, format!("not valid JSON: {e}")))?;
                if let Some(AnyValue::Number(t)) = sys.creation_time
                    && t.is_finite()
                {
                    max = Some(max.map_or(t, |m| m.max(t)));
                }
                if line_no == 1 {
                    first = match &sys.id {
                        Some(AnyValue::Str(s)) => DocumentId::decode(s).ok(),
                        _ => None,
                    }
                    .map(|id| id.table_number);
                }
            }
            Ok((max, first))
        },
        |(batch_max, f): TableScan| {
            if let Some(t) = batch_max {
                max = Some(max.map_or(t, |m: f64| m.max(t)));
            }
            first = first.or(f);
        },
    )?;
    Ok((max, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(line: &str) -> std::result::Result<System<'_>, serde_json::Error> {
        serde_json::from_str(line)
    }

    #[test]
    fn system_fields_are_read_without_copying_plain_strings() {
        let s = system(r#"{"_creationTime":5.5,"_id":"abc","x":{"_id":[1,{"a":null}]}}"#).unwrap();
        assert!(matches!(s.creation_time, Some(AnyValue::Number(t)) if t == 5.5));
        assert!(matches!(
            s.id,
            Some(AnyValue::Str(std::borrow::Cow::Borrowed("abc")))
        ));
        let s = system(r#"{"_id":"a\u0062","_creationTime":7}"#).unwrap();
        assert!(matches!(s.id, Some(AnyValue::Str(ref id)) if id == "ab"));
        assert!(matches!(s.creation_time, Some(AnyValue::Number(t)) if t == 7.0));
        for odd in [
            r#"{"_id":{"a":1},"_creationTime":"5"}"#,
            r#"{"_id":[1],"_creationTime":null}"#,
        ] {
            let s = system(odd).unwrap();
            assert!(matches!(s.id, Some(AnyValue::Other)), "{odd}");
            assert!(
                !matches!(s.creation_time, Some(AnyValue::Number(_))),
                "{odd}"
            );
        }
        assert!(system("{}").unwrap().id.is_none());
    }

    /// What the quick skim reads must be what serde_json reads, on every
    /// row of a generated snapshot and on many mangled copies of them.
    #[test]
    fn the_skim_agrees_with_serde_json() {
        let (_dir, path) = crate::generate::test_snapshot(3, 300);
        let snap = Snapshot::open(&path).unwrap();
        let mut rows = Vec::new();
        for (entry, kind) in snap.kinds.iter().enumerate() {
            if let EntryKind::Documents(..) = kind {
                let mut text = String::new();
                snap.archive
                    .with_reader(entry, |r| r.read_to_string(&mut text))
                    .unwrap();
                rows.extend(text.lines().map(String::from));
            }
        }
        let mut state = 7u64;
        let mut next = move |n: usize| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % n as u64) as usize
        };
        let specials = [
            "\"",
            ",",
            "{",
            "}",
            "[",
            "]",
            ":",
            "\\",
            " ",
            "\t",
            "\u{1}",
            "0",
            "-",
            ".",
            "e",
            "+",
            "u",
            "\\u",
            "\\ud800",
            "1e400",
            "tru",
            "\"_id\":1,",
            "\"_creationTime\":\"x\",",
            "00",
            "-0",
            "01",
            "1.",
            "1.e5",
            "1e",
            "1e+",
            "-",
            "-a",
            "[]",
            "{}",
            "[,",
            "nul",
            "falsey",
        ];
        let mut lines = rows.clone();
        for row in &rows {
            for _ in 0..6 {
                let mut bytes = row.as_bytes().to_vec();
                let mut at = next(bytes.len());
                if next(2) == 0 {
                    // Right after a `:`, `,` or `[`, where a value starts.
                    let starts: Vec<usize> = (0..bytes.len())
                        .filter(|&i| matches!(bytes[i], b':' | b',' | b'['))
                        .collect();
                    at = starts[next(starts.len())] + 1;
                }
                match next(3) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => {
                        let s = specials[next(specials.len())].as_bytes();
                        bytes.splice(at..at, s.iter().copied());
                    }
                    _ => bytes.truncate(at),
                }
                if let Ok(text) = String::from_utf8(bytes) {
                    lines.push(text);
                }
            }
        }
        let (mut skimmed, mut valid) = (0, 0);
        let same = |a: &Option<AnyValue>, b: &Option<AnyValue>| match (a, b) {
            (Some(AnyValue::Number(x)), Some(AnyValue::Number(y))) => x.to_bits() == y.to_bits(),
            (Some(AnyValue::Str(x)), Some(AnyValue::Str(y))) => x == y,
            (Some(AnyValue::Other), Some(AnyValue::Other)) | (None, None) => true,
            _ => false,
        };
        for line in &lines {
            // The skim answers only for lines serde_json reads as JSON...
            if value::skim_object(line).is_some() {
                skimmed += 1;
                let skipped = serde_json::from_str::<serde::de::IgnoredAny>(line);
                assert!(skipped.is_ok(), "skim accepted what serde refuses: {line}");
            }
            // ...and the preflight's reading is serde_json's, success or not.
            match (System::read(line), serde_json::from_str::<System>(line)) {
                (Ok(quick), Ok(full)) => {
                    valid += 1;
                    assert!(same(&quick.id, &full.id), "{line}");
                    assert!(same(&quick.creation_time, &full.creation_time), "{line}");
                }
                (Err(quick), Err(full)) => assert_eq!(quick.to_string(), full.to_string()),
                (quick, full) => panic!("{:?} vs {:?}: {line}", quick.err(), full.err()),
            }
        }
        // All the unmangled rows and many mangled ones are skimmed; many
        // mangled ones are not.
        assert!(
            skimmed >= rows.len() && skimmed < lines.len() - 1000,
            "{skimmed} of {}",
            lines.len()
        );
        assert!(
            valid > skimmed - 100 && valid < lines.len(),
            "{valid} valid"
        );
    }

    #[test]
    fn lanes_balance_bytes_and_keep_table_order() {
        let sizes = [5, 900, 20, 400, 380, 1, 0];
        let two = lanes(&sizes, 2);
        assert_eq!(two, vec![vec![1], vec![0, 2, 3, 4, 5, 6]]);
        let mut all: Vec<usize> = lanes(&sizes, 3).concat();
        all.sort_unstable();
        assert_eq!(all, (0..sizes.len()).collect::<Vec<_>>());
        assert_eq!(lanes(&sizes, 1), vec![(0..sizes.len()).collect::<Vec<_>>()]);
        assert_eq!(lanes(&[7], 4), vec![vec![0]]);
        assert!(lanes(&[], 2).is_empty());
    }

    #[test]
    fn a_second_system_field_or_bad_json_is_refused() {
        // The engine's prefix reader relies on the first refusal.
        assert!(system(r#"{"_id":"a","_id":"b"}"#).is_err());
        assert!(system(r#"{"_creationTime":1,"x":2,"_creationTime":3}"#).is_err());
        assert!(system(r#"{"_id":"a","x":[1,]}"#).is_err());
        assert!(system(r#"{"_id":"a"} x"#).is_err());
    }
}
