//! The check every command runs before it reads a snapshot for real (all
//! but `validate`, which lists instead of stopping): everything that makes
//! the snapshot readable, exactly as the importer reads it. It stops at the
//! first problem, in entry order, with the message `validate` gives:
//! - every entry is read through once (CRC-32 and the central directory's
//!   sizes checked: see `archive`), so what is later copied raw is known good;
//! - `_tables` and every `generated_schema.jsonl` parse (also a sidecar of a
//!   table without documents: the importer parses them all);
//! - every line of every `documents.jsonl` is a Convex document in its
//!   table's format ([`value::read_row`]), by a strict skim that accepts
//!   only what the full decode accepts and asks the decoder otherwise;
//! - no `_id` appears twice in a table;
//! - every `_storage/documents.jsonl` line is a metadata row.
//!
//! It also yields the latest valid `_creationTime` (the default clock), the
//! table number each table's first row implies, and which tables repeat a
//! system key in a row (where the engine must not read system fields from
//! a row's prefix). It decodes no value it does not have to; the rules that
//! do not stop reading (ID validity, limits, names) are `validate`'s.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::layout::{ComponentPath, EntryKind};
use crate::lines;
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use crate::value::{self, TableFormat, Value};

/// What the pass found.
#[derive(Debug, Default)]
pub struct Preflight {
    /// The latest valid `_creationTime` of any document (a Float64 in
    /// (0, 2^53), as the importer requires).
    pub max_creation_time: Option<f64>,
    /// Per table, the number its first row's `_id` encodes.
    pub first_numbers: BTreeMap<(ComponentPath, String), u32>,
    /// Tables with a row that gives `_id` or `_creationTime` twice (the
    /// importer keeps the last) or writes a top-level key with escapes.
    pub repeated_keys: BTreeSet<(ComponentPath, String)>,
}

/// Below this a `_creationTime` is exact and valid (`MAX_EXACT_F64_INT`).
const MAX_CREATION_TIME: f64 = 9_007_199_254_740_992.0;

/// What one row tells the preflight.
#[derive(Debug, Default, PartialEq)]
struct RowFacts {
    /// The table number and internal bytes of a valid `_id`.
    id: Option<(u32, [u8; 16])>,
    /// A valid `_creationTime`.
    creation_time: Option<f64>,
    /// `_id` or `_creationTime` given twice, or an escaped top-level key.
    repeated: bool,
}

/// The preflight's verdict on one row: `Ok` exactly when
/// [`value::read_row`] reads it, else the same message (the fuzz targets
/// and tests hold the two together).
pub fn check_line(line: &[u8], line_no: usize, format: &TableFormat) -> Result<(), String> {
    check_row(line, line_no, format).map(|_| ())
}

/// Checks one row as [`value::read_row`] would and reads its facts: by the
/// strict skim when it is sure, else by the full decode.
fn check_row(line: &[u8], line_no: usize, format: &TableFormat) -> Result<RowFacts, String> {
    if !matches!(format, TableFormat::Legacy(_))
        && let Ok(text) = std::str::from_utf8(line)
        && let Some(skim) = value::skim_object(text)
        && let Some(facts) = skimmed_facts(&skim, format)
    {
        return Ok(facts);
    }
    decoded_facts(line, line_no, format)
}

/// [`check_row`] by the full decode alone.
fn decoded_facts(line: &[u8], line_no: usize, format: &TableFormat) -> Result<RowFacts, String> {
    let doc = value::read_row(line, line_no, format).map_err(|e| e.0)?;
    let Value::Object(fields) = &doc else {
        unreachable!("read_row returns documents")
    };
    let id = match fields.get("_id") {
        Some(Value::String(s)) => DocumentId::decode(s)
            .ok()
            .map(|id| (id.table_number, id.internal)),
        _ => None,
    };
    let creation_time = match fields.get("_creationTime") {
        Some(Value::Float64(t)) if *t > 0.0 && *t < MAX_CREATION_TIME => Some(*t),
        _ => None,
    };
    // The full decode keeps the last of repeated keys, as the importer does;
    // note the rows where a prefix reader would see another one.
    let mut counts = [0u8; 2];
    let mut repeated = false;
    let mut keys = value::TopLevel::new(line);
    for (key, _, plain) in &mut keys {
        repeated |= !plain;
        match key {
            b"_id" => counts[0] += 1,
            b"_creationTime" => counts[1] += 1,
            _ => {}
        }
    }
    repeated |= keys.unusual || counts.iter().any(|&c| c > 1);
    Ok(RowFacts {
        id,
        creation_time,
        repeated,
    })
}

/// The facts of a skimmed row, or `None` when its system values need the
/// parser (an escaped `_id`, say).
fn skimmed_facts(skim: &value::Skimmed, format: &TableFormat) -> Option<RowFacts> {
    let id = match skim.id {
        None => None,
        Some(raw) => match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(s) if !s.contains('\\') => DocumentId::decode(s)
                .ok()
                .map(|id| (id.table_number, id.internal)),
            Some(_) => return None,
            None => None, // not a string: validate's problem
        },
    };
    let creation_time = match skim.creation_time {
        Some(raw) if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
            // A number: in the uniform format only a float literal is a
            // Float64; without a sidecar every number is.
            let float = !matches!(format, TableFormat::Uniform) || raw.contains(['.', 'e', 'E']);
            let t: f64 = serde_json::from_str(raw).ok()?;
            (float && t > 0.0 && t < MAX_CREATION_TIME).then_some(t)
        }
        _ => None,
    };
    Some(RowFacts {
        id,
        creation_time,
        repeated: false,
    })
}

/// What one table's scan found.
#[derive(Debug, Default)]
struct TableScan {
    max: Option<f64>,
    first: Option<u32>,
    repeated: bool,
}

/// What one entry's check found.
enum Checked {
    Table(TableScan),
    Other,
}

/// Runs the pass over every entry of every component.
pub fn preflight(snap: &Snapshot, quiet: bool) -> Result<Preflight> {
    let entries = snap.archive.entries();
    // The small files the importer parses first: `_tables` and sidecars.
    let mut formats: BTreeMap<usize, TableFormat> = BTreeMap::new();
    let mut read_already = BTreeSet::new();
    for comp in snap.components.values() {
        if let Some(entry) = comp.tables_entry {
            snap.read_tables(entry)?;
            read_already.insert(entry);
        }
        for table in comp.tables.values() {
            let format = snap.table_format(table)?;
            read_already.extend(table.schema);
            if let Some(docs) = table.documents {
                formats.insert(docs, format);
            }
        }
    }
    // Everything else is read once, side by side, one reader per worker:
    // one reader alone cannot decompress as fast as the workers check.
    let work: Vec<usize> = (0..entries.len())
        .filter(|i| !read_already.contains(i))
        .collect();
    let sizes: Vec<u64> = work.iter().map(|&i| entries[i].size).collect();
    let progress = Progress::bytes(sizes.iter().sum(), "checking", quiet);
    let lanes = lanes(&sizes, rayon::current_num_threads());
    let mut results: Vec<Option<Result<Checked>>> = (0..work.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter()
            .map(|lane| {
                let (work, progress, formats) = (&work, &progress, &formats);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    for &w in lane {
                        let entry = work[w];
                        let checked = match formats.get(&entry) {
                            Some(format) => {
                                scan_table(snap, entry, format, progress).map(Checked::Table)
                            }
                            None => check_other(snap, entry, progress).map(|()| Checked::Other),
                        };
                        let failed = checked.is_err();
                        done.push((w, checked));
                        if failed {
                            break; // its later entries cannot hold an earlier error
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
            for (w, checked) in done {
                results[w] = Some(checked);
            }
        }
    });
    // In entry order: the first error is the one a single reader would meet.
    let mut out = Preflight::default();
    for (&entry, checked) in work.iter().zip(results) {
        let Some(checked) = checked else { continue };
        let Checked::Table(scan) = checked? else {
            continue;
        };
        let EntryKind::Documents(comp, table) = &snap.kinds[entry] else {
            continue;
        };
        let key = (comp.clone(), table.clone());
        if let Some(t) = scan.max {
            out.max_creation_time = Some(out.max_creation_time.map_or(t, |m: f64| m.max(t)));
        }
        if let Some(n) = scan.first {
            out.first_numbers.insert(key.clone(), n);
        }
        if scan.repeated {
            out.repeated_keys.insert(key);
        }
    }
    progress.finish();
    Ok(out)
}

/// Reads an entry that is not a table through (its CRC and sizes are
/// checked on the way); `_storage/documents.jsonl` is parsed line by line.
fn check_other(snap: &Snapshot, entry: usize, progress: &Progress) -> Result<()> {
    let name = snap.entry_name(entry);
    if let EntryKind::StorageMetadata(_) = snap.kinds[entry] {
        return lines::try_scan_source(
            lines::Source::Entry(&snap.archive, entry),
            progress,
            |batch| -> Result<()> {
                for (line_no, line) in batch.lines() {
                    crate::snapshot::parse_storage_line(line, line_no)
                        .map_err(|e| Error::line(name, line_no, e))?;
                }
                Ok(())
            },
            |()| {},
        );
    }
    snap.archive.with_reader(entry, |r| {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            progress.inc(n as u64);
        }
    })
}

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

/// The `_id`s of a run of rows, for ruling out a repeated one without
/// holding every ID: exports list rows in `_id` order, and strictly
/// ascending IDs cannot repeat. Only a table whose order breaks needs a set
/// of all its IDs (a second pass, [`find_duplicate`]).
#[derive(Debug, Default, Clone, Copy)]
struct IdRun {
    /// The first and last valid `_id` (internal bytes).
    first: Option<[u8; 16]>,
    last: Option<[u8; 16]>,
    /// Every `_id` is greater than the one before.
    ascending: bool,
}

impl IdRun {
    fn new() -> IdRun {
        IdRun {
            ascending: true,
            ..IdRun::default()
        }
    }

    fn push(&mut self, id: [u8; 16]) {
        if let Some(prev) = self.last {
            self.ascending &= id > prev;
        }
        self.first.get_or_insert(id);
        self.last = Some(id);
    }

    /// Appends the run that follows this one.
    fn then(&mut self, next: IdRun) {
        if let (Some(prev), Some(id)) = (self.last, next.first) {
            self.ascending &= id > prev;
        }
        self.first = self.first.or(next.first);
        self.ascending &= next.ascending;
        self.last = next.last.or(self.last);
    }
}

/// One batch's facts: the latest time, the first row's number, whether a
/// row repeats a system key, and its run of `_id`s.
type BatchFacts = (Option<f64>, Option<u32>, bool, IdRun);

/// Checks every line of one table (see [`preflight`]).
fn scan_table(
    snap: &Snapshot,
    entry: usize,
    format: &TableFormat,
    progress: &Progress,
) -> Result<TableScan> {
    let name = snap.entry_name(entry);
    let mut scan = TableScan::default();
    let mut ids = IdRun::new();
    lines::try_scan_source(
        lines::Source::Entry(&snap.archive, entry),
        progress,
        |batch| -> Result<BatchFacts> {
            let mut facts: BatchFacts = (None, None, false, IdRun::new());
            for (line_no, line) in batch.lines() {
                let row =
                    check_row(line, line_no, format).map_err(|e| Error::line(name, line_no, e))?;
                if let Some(t) = row.creation_time {
                    facts.0 = Some(facts.0.map_or(t, |m| m.max(t)));
                }
                if line_no == 1 {
                    facts.1 = row.id.map(|(n, _)| n);
                }
                facts.2 |= row.repeated;
                if let Some((_, internal)) = row.id {
                    facts.3.push(internal);
                }
            }
            Ok(facts)
        },
        |(max, first, repeated, run)| {
            if let Some(t) = max {
                scan.max = Some(scan.max.map_or(t, |m: f64| m.max(t)));
            }
            scan.first = scan.first.or(first);
            scan.repeated |= repeated;
            ids.then(run);
        },
    )?;
    let duplicate = match ids.ascending {
        true => None,
        false => find_duplicate(snap, entry, format)?,
    };
    match duplicate {
        Some((line, first)) => Err(Error::line(
            name,
            line,
            format!("DuplicateId: same _id as line {first}"),
        )),
        None => Ok(scan),
    }
}

/// The first row (in file order) whose `_id` an earlier row has, with that
/// earlier row's line: a second pass over a table whose rows are not in
/// `_id` order, holding the set of its IDs.
fn find_duplicate(
    snap: &Snapshot,
    entry: usize,
    format: &TableFormat,
) -> Result<Option<(usize, usize)>> {
    let name = snap.entry_name(entry);
    let mut seen: FxHashMap<[u8; 16], usize> = FxHashMap::default();
    let mut found = None;
    lines::try_scan_source(
        lines::Source::Entry(&snap.archive, entry),
        &Progress::hidden(),
        |batch| -> Result<Vec<([u8; 16], usize)>> {
            let mut out = Vec::new();
            for (line_no, line) in batch.lines() {
                let row =
                    check_row(line, line_no, format).map_err(|e| Error::line(name, line_no, e))?;
                out.extend(row.id.map(|(_, internal)| (internal, line_no)));
            }
            Ok(out)
        },
        |batch| {
            for (id, line) in batch {
                if let Some(first) = seen.insert(id, line) {
                    found.get_or_insert((line, first));
                }
            }
        },
    )?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the skim reads must be what the full decode reads, and it must
    /// refuse exactly what the decode refuses (with the decode's message),
    /// on every row of a generated snapshot and on many mangled copies.
    #[test]
    fn the_skim_agrees_with_the_full_decode() {
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
            "\\udc00",
            "\\ud800\\udc00",
            "\\u00e9",
            "1e400",
            "1e-400",
            "1e308",
            "tru",
            "\"_id\":1,",
            "\"_id\":\"x\",",
            "\"_creationTime\":\"x\",",
            "\"_creationTime\":5,",
            "\"_creationTime\":1e300,",
            "\"$bytes\":",
            "\"$x\":1,",
            "{\"$bytes\":\"AA==\"}",
            "{\"$float\":\"AAAAAAAA+H8=\"}",
            "\"é\":1,",
            "\u{7f}",
            "00",
            "-0",
            "01",
            "1.",
            "1.e5",
            "1e",
            "1e+",
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
                    // Right after a `:`, `,`, `{` or `[`, where a value or key starts.
                    let starts: Vec<usize> = (0..bytes.len())
                        .filter(|&i| matches!(bytes[i], b':' | b',' | b'[' | b'{'))
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
                lines.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        let format = TableFormat::Uniform;
        let (mut skimmed, mut valid) = (0, 0);
        for line in &lines {
            let full = decoded_facts(line.as_bytes(), 2, &format);
            if let Some(skim) = value::skim_object(line) {
                skimmed += 1;
                let facts = skimmed_facts(&skim, &format);
                let full = full.as_ref().unwrap_or_else(|e| {
                    panic!("skim accepted what the decode refuses ({e}): {line}")
                });
                if let Some(facts) = facts {
                    assert_eq!(&facts, full, "{line}");
                }
            }
            assert_eq!(check_row(line.as_bytes(), 2, &format), full, "{line}");
            valid += usize::from(full.is_ok());
        }
        // All the unmangled rows and many mangled ones are skimmed; many
        // mangled ones are not.
        assert!(
            skimmed >= rows.len() && skimmed < lines.len() - 1000,
            "{skimmed} of {}",
            lines.len()
        );
        assert!(valid >= skimmed && valid < lines.len(), "{valid} valid");
    }

    #[test]
    fn repeated_system_keys_keep_the_last_value_and_are_noted() {
        let a = crate::id::DocumentId::new(10001, [1; 16]).encode();
        let b = crate::id::DocumentId::new(10001, [2; 16]).encode();
        let row = format!(r#"{{"_creationTime":1.5,"_id":"{a}","_id":"{b}","_creationTime":2.5}}"#);
        let facts = check_row(row.as_bytes(), 1, &TableFormat::Uniform).unwrap();
        assert_eq!(facts.id, Some((10001, [2; 16])));
        assert_eq!(facts.creation_time, Some(2.5));
        assert!(facts.repeated);
        let escaped = format!(r#"{{"_creationTime":1.5,"\u005fid":"{a}"}}"#);
        assert!(
            check_row(escaped.as_bytes(), 1, &TableFormat::Uniform)
                .unwrap()
                .repeated
        );
        let plain = format!(r#"{{"_creationTime":1.5,"_id":"{a}","x":1,"x":2}}"#);
        let facts = check_row(plain.as_bytes(), 1, &TableFormat::Uniform).unwrap();
        assert!(!facts.repeated);
        // Only valid creation times count: a float in (0, 2^53).
        for (t, format, valid) in [
            ("5", TableFormat::Uniform, false),
            ("5", TableFormat::Missing, true),
            ("5.0", TableFormat::Uniform, true),
            ("1e300", TableFormat::Uniform, false),
            ("-1.0", TableFormat::Uniform, false),
            ("0.0", TableFormat::Uniform, false),
        ] {
            let row = format!(r#"{{"_creationTime":{t},"_id":"{a}"}}"#);
            let facts = check_row(row.as_bytes(), 1, &format).unwrap();
            assert_eq!(
                facts.creation_time.is_some(),
                valid,
                "{t} {}",
                format.name()
            );
        }
    }

    #[test]
    fn id_runs_see_the_order_of_the_whole_table_however_it_is_cut() {
        let run = |ids: &[u8]| {
            let mut r = IdRun::new();
            for &n in ids {
                r.push([n; 16]);
            }
            r
        };
        for (ids, ascending) in [
            (&[1, 2, 4, 7, 9][..], true),
            (&[1, 2, 4, 4, 9][..], false),
            (&[1, 3, 2][..], false),
            (&[][..], true),
        ] {
            for cut in 0..=ids.len() {
                for cut2 in cut..=ids.len() {
                    let mut joined = run(&ids[..cut]);
                    joined.then(IdRun::new());
                    joined.then(run(&ids[cut..cut2]));
                    joined.then(run(&ids[cut2..]));
                    assert_eq!(joined.ascending, ascending, "{ids:?} cut at {cut}, {cut2}");
                    assert_eq!(joined.first, ids.first().map(|&n| [n; 16]));
                    assert_eq!(joined.last, ids.last().map(|&n| [n; 16]));
                }
            }
        }
    }

    #[test]
    fn a_duplicate_id_is_found_in_sorted_and_unsorted_tables() {
        let dir = tempfile::tempdir().unwrap();
        let row = |n: u8, t: f64| {
            let id = crate::id::DocumentId::new(10001, [n; 16]).encode();
            format!("{{\"_creationTime\":{t:?},\"_id\":\"{id}\"}}\n")
        };
        for (docs, want) in [
            (
                format!("{}{}{}", row(1, 1.5), row(2, 2.5), row(2, 3.5)),
                Some("line 3: DuplicateId: same _id as line 2"),
            ),
            (
                format!(
                    "{}{}{}{}",
                    row(3, 1.5),
                    row(1, 2.5),
                    row(2, 3.5),
                    row(3, 4.5)
                ),
                Some("line 4: DuplicateId: same _id as line 1"),
            ),
            (
                format!("{}{}{}", row(3, 1.5), row(1, 2.5), row(2, 3.5)),
                None,
            ),
            (format!("{}{}", row(1, 1.5), row(2, 2.5)), None),
        ] {
            let root = dir.path().join(format!("s{}", docs.len()));
            std::fs::create_dir_all(root.join("t")).unwrap();
            std::fs::write(
                root.join("_tables/documents.jsonl")
                    .parent()
                    .map(|p| {
                        std::fs::create_dir_all(p).unwrap();
                        p.join("documents.jsonl")
                    })
                    .unwrap(),
                "{\"name\":\"t\",\"id\":10001}\n",
            )
            .unwrap();
            std::fs::write(root.join("t/documents.jsonl"), &docs).unwrap();
            std::fs::write(root.join("t/generated_schema.jsonl"), "\"uniform\"\n").unwrap();
            let snap = Snapshot::open(&root).unwrap();
            let got = preflight(&snap, true).err().map(|e| e.to_string());
            match want {
                Some(w) => assert!(got.as_deref().unwrap_or("").ends_with(w), "{got:?}"),
                None => assert_eq!(got, None),
            }
        }
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
}
