//! Streams a JSONL entry as batches of whole lines and processes the batches
//! in parallel. One thread decompresses and cuts batches at line ends; rayon
//! workers process a window of batches at a time; results are merged in input
//! order, so the outcome never depends on the thread count.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Bytes per batch: large enough to amortize scheduling, small enough to
/// keep a window of batches in a few tens of MiB.
pub const BATCH_BYTES: usize = 1 << 20;

/// A run of whole lines from one entry.
#[derive(Debug, Default)]
pub struct Batch {
    /// The 1-based number of the first line in `data`.
    pub first_line: usize,
    /// The bytes, ending with `\n` except possibly for the file's last line.
    pub data: Vec<u8>,
}

impl Batch {
    /// The lines of the batch with their 1-based numbers, without the `\n`.
    /// A file's final empty remainder (after the last `\n`) is not a line.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &[u8])> {
        let data = match self.data.last() {
            Some(b'\n') => &self.data[..self.data.len() - 1],
            _ => &self.data[..],
        };
        let empty = self.data.is_empty();
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
        ends.filter(move |_| !empty)
            .enumerate()
            .map(move |(i, end)| {
                let line = &data[start..end];
                start = end + 1;
                (self.first_line + i, line)
            })
    }
}

/// Where a JSONL stream comes from: an archive entry or a local file (a
/// table rewritten by a migration).
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Entry(&'a Archive, usize),
    File(&'a Path),
}

impl Source<'_> {
    /// Streams the uncompressed bytes through `f`.
    pub fn with_reader<T>(self, f: impl FnOnce(&mut dyn Read) -> std::io::Result<T>) -> Result<T> {
        match self {
            Source::Entry(archive, entry) => archive.with_reader(entry, f),
            Source::File(path) => {
                let read_err = |source| Error::Read {
                    path: path.to_owned(),
                    source,
                };
                let mut file = std::fs::File::open(path).map_err(read_err)?;
                f(&mut file).map_err(read_err)
            }
        }
    }
}

/// Reads `entry` and calls `per_batch` on each batch in parallel, then
/// `merge` on the results in file order.
pub fn scan<B: Send>(
    archive: &Archive,
    entry: usize,
    progress: &Progress,
    per_batch: impl Fn(&Batch) -> B + Sync,
    merge: impl FnMut(B),
) -> Result<()> {
    scan_source(Source::Entry(archive, entry), progress, per_batch, merge)
}

/// [`scan`] over any [`Source`].
pub fn scan_source<B: Send>(
    source: Source<'_>,
    progress: &Progress,
    per_batch: impl Fn(&Batch) -> B + Sync,
    merge: impl FnMut(B),
) -> Result<()> {
    let never = AtomicBool::new(false);
    scan_source_until(source, progress, BATCH_BYTES, &never, per_batch, merge)
}

/// [`scan_source`] in batches of about `batch_bytes` (whole lines), that
/// stops reading once `stop` is set (by `per_batch` or `merge`): the
/// batches read before it still merge, in order; the rest of the source is
/// not read.
pub fn scan_source_until<B: Send>(
    source: Source<'_>,
    progress: &Progress,
    batch_bytes: usize,
    stop: &AtomicBool,
    per_batch: impl Fn(&Batch) -> B + Sync,
    mut merge: impl FnMut(B),
) -> Result<()> {
    let go_on = || !stop.load(Ordering::Relaxed);
    if rayon::current_num_threads() == 1 {
        // One thread means one: decompress and process in turn, here.
        // One buffer, reused batch after batch.
        let spare = std::cell::Cell::new(Vec::new());
        return source.with_reader(|r| {
            read_batches(
                r,
                progress,
                batch_bytes,
                || spare.take(),
                |batch| {
                    merge(per_batch(&batch));
                    spare.set(batch.data);
                    go_on()
                },
            )
        });
    }
    // Batches go to the pool as they arrive and results merge here, in
    // order, while later batches are still being processed: no barrier
    // between reading, processing and merging. At most `window` batches are
    // in flight, which bounds memory.
    let window = rayon::current_num_threads() * 3;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Batch>(window);
        // Processed batches hand their buffers back to the reader: no
        // fresh megabyte to allocate and zero for each batch.
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let reader = scope.spawn(move || {
            source.with_reader(|r| {
                read_batches(
                    r,
                    progress,
                    batch_bytes,
                    || free_rx.try_recv().unwrap_or_default(),
                    |batch| go_on() && tx.send(batch).is_ok(),
                )
            })
        });
        let (done_tx, done_rx) = mpsc::channel::<(usize, std::thread::Result<B>)>();
        let per_batch = &per_batch;
        rayon::in_place_scope(|pool| {
            let mut waiting: BTreeMap<usize, B> = BTreeMap::new();
            let mut next = 0usize;
            let mut sent = 0usize;
            let mut take = |waiting: &mut BTreeMap<usize, B>, next: &mut usize, block: bool| {
                let got = if block {
                    done_rx.recv().ok()
                } else {
                    done_rx.try_recv().ok()
                };
                if let Some((i, b)) = got {
                    // A panic in `per_batch` resurfaces here, not as a hang.
                    waiting.insert(i, b.unwrap_or_else(|p| std::panic::resume_unwind(p)));
                }
                while let Some(b) = waiting.remove(next) {
                    merge(b);
                    *next += 1;
                }
            };
            for batch in rx {
                while sent - next >= window {
                    take(&mut waiting, &mut next, true);
                }
                let done_tx = done_tx.clone();
                let free_tx = free_tx.clone();
                let i = sent;
                pool.spawn(move |_| {
                    let result = panic::catch_unwind(AssertUnwindSafe(|| per_batch(&batch)));
                    let _ = free_tx.send(batch.data);
                    let _ = done_tx.send((i, result));
                });
                sent += 1;
                take(&mut waiting, &mut next, false);
            }
            while next < sent {
                take(&mut waiting, &mut next, true);
            }
        });
        reader
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("the reader thread panicked".into())))
    })
}

/// [`scan_source`] where a batch may fail: the batches still merge in file
/// order, and the first error (in file order) is returned at the end.
pub fn try_scan_source<B: Send>(
    source: Source<'_>,
    progress: &Progress,
    per_batch: impl Fn(&Batch) -> Result<B> + Sync,
    mut merge: impl FnMut(B),
) -> Result<()> {
    let mut failed = None;
    scan_source(source, progress, per_batch, |r| match r {
        Ok(b) if failed.is_none() => merge(b),
        Ok(_) => {}
        Err(e) => {
            failed.get_or_insert(e);
        }
    })?;
    failed.map_or(Ok(()), Err)
}

/// Streams a source's bytes, as they are, to `write`. Returns whether they
/// end with a newline (an empty source does).
pub fn copy_source(source: Source<'_>, mut write: impl FnMut(&[u8]) -> Result<()>) -> Result<bool> {
    let mut failed = None;
    let last = source.with_reader(|r| {
        let mut last = b'\n';
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if let Err(e) = write(&buf[..n]) {
                failed = Some(e);
                break;
            }
            last = buf[n - 1];
        }
        Ok(last)
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(last == b'\n'),
    }
}

/// The longest line read. A document within Convex's limits (1 MiB by its
/// size metric) takes at most about 7 MiB of JSON text: the metric counts
/// every value at least a seventh of its text (an empty `{"$bytes":""},` is
/// 14 bytes of text for 2 of metric; `false,` is 6 for 1; a `\u0000`
/// escape 6 for 1). Only insignificant whitespace could make a longer line
/// valid, which no exporter writes; such lines are refused early, and a
/// line-less stream (a ZIP bomb of one line) cannot grow memory without end.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// Cuts a stream into batches of whole lines and hands each to `each`
/// (which returns false to stop). `buffer` gives the vector each batch is
/// read into: an empty one, or one a finished batch gave back. A line longer
/// than a batch grows its batch (by doubling: linear time) up to
/// [`MAX_LINE_BYTES`].
fn read_batches(
    r: &mut dyn Read,
    progress: &Progress,
    batch_bytes: usize,
    mut buffer: impl FnMut() -> Vec<u8>,
    mut each: impl FnMut(Batch) -> bool,
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut next_line = 1usize;
    loop {
        let mut data = buffer();
        let start = carry.len();
        // Old bytes are overwritten; only growth is zeroed.
        data.resize(start + batch_bytes, 0);
        data[..start].copy_from_slice(&carry);
        carry.clear();
        let mut filled = start;
        while filled < data.len() {
            let n = r.read(&mut data[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        progress.inc((filled - start) as u64);
        data.truncate(filled);
        let mut eof = filled < start + batch_bytes;
        // The carry holds no newline; look only at what is new.
        let mut searched = start;
        let mut cut = memchr::memrchr(b'\n', &data[searched..]).map(|c| searched + c);
        while cut.is_none() && !eof {
            // One line fills the whole batch: read on into it.
            if data.len() > MAX_LINE_BYTES {
                return Err(too_long(next_line));
            }
            searched = data.len();
            let want = data.len() as u64;
            let got = r.take(want).read_to_end(&mut data)?;
            progress.inc(got as u64);
            eof = (got as u64) < want;
            cut = memchr::memrchr(b'\n', &data[searched..]).map(|c| searched + c);
        }
        if !eof && let Some(cut) = cut {
            carry.extend_from_slice(&data[cut + 1..]);
            data.truncate(cut + 1);
        }
        if data.is_empty() {
            break;
        }
        // Count the lines, and refuse one over the limit (a line completed
        // after the batch grew).
        let (mut lines, mut line_start) = (0usize, 0usize);
        for end in memchr::memchr_iter(b'\n', &data).chain(std::iter::once(data.len())) {
            if end == data.len() && end == line_start {
                break; // nothing after the last newline
            }
            if end - line_start > MAX_LINE_BYTES {
                return Err(too_long(next_line + lines));
            }
            lines += 1;
            line_start = end + 1;
        }
        let batch = Batch {
            first_line: next_line,
            data,
        };
        progress.add_rows(lines as u64);
        next_line += lines;
        if !each(batch) || eof {
            break;
        }
    }
    Ok(())
}

fn too_long(line: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "line {line} is longer than {} MiB: no document within Convex's 1 MiB limit takes that much JSON, so the import would fail",
            MAX_LINE_BYTES >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stop set by a batch ends the reading: the batches merged are a
    /// prefix of the file, in order, on one thread and on several.
    #[test]
    fn a_stop_ends_the_scan_after_a_prefix_of_the_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.jsonl");
        let line = format!("{}\n", "x".repeat(1023));
        std::fs::write(&path, line.repeat(64 * 40)).unwrap();
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let stop = AtomicBool::new(false);
            let mut merged = Vec::new();
            pool.install(|| {
                scan_source_until(
                    Source::File(&path),
                    &Progress::hidden(),
                    64 << 10,
                    &stop,
                    |b| {
                        if b.first_line > 64 * 3 {
                            stop.store(true, Ordering::Relaxed);
                        }
                        b.first_line
                    },
                    |first| merged.push(first),
                )
            })
            .unwrap();
            let whole: Vec<usize> = (0..40).map(|i| 1 + 64 * i).collect();
            assert!(
                merged.len() >= 4 && merged.len() < 40,
                "{threads}: {merged:?}"
            );
            assert_eq!(merged, whole[..merged.len()], "{threads} threads");
        }
    }

    #[test]
    fn batch_lines_number_from_first_line() {
        let b = Batch {
            first_line: 7,
            data: b"a\n\nc\n".to_vec(),
        };
        let lines: Vec<_> = b.lines().collect();
        assert_eq!(lines, vec![(7, &b"a"[..]), (8, &b""[..]), (9, &b"c"[..])]);
        let last = Batch {
            first_line: 1,
            data: b"x\ny".to_vec(),
        };
        assert_eq!(last.lines().count(), 2);
        assert_eq!(Batch::default().lines().count(), 0);
    }

    #[test]
    fn reused_buffers_with_stale_bytes_give_the_same_batches() {
        // Lines of many lengths, one longer than a batch, and no final `\n`.
        let mut input = Vec::new();
        for i in 0..40_000usize {
            input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 97));
            input.push(b'\n');
            if i == 20_000 {
                input.extend(std::iter::repeat_n(b'L', BATCH_BYTES + 10));
                input.push(b'\n');
            }
        }
        input.extend_from_slice(b"last");
        let read = |reuse: bool| {
            let mut batches: Vec<Batch> = Vec::new();
            let mut spare: Vec<Vec<u8>> = Vec::new();
            let spare = std::cell::RefCell::new(&mut spare);
            read_batches(
                &mut &input[..],
                &Progress::hidden(),
                BATCH_BYTES,
                || match reuse {
                    true => spare
                        .borrow_mut()
                        .pop()
                        .unwrap_or_else(|| vec![b'x'; 3 << 20]),
                    false => Vec::new(),
                },
                |b| {
                    if reuse {
                        spare.borrow_mut().push(vec![b'\n'; b.data.len() / 2]);
                    }
                    batches.push(b);
                    true
                },
            )
            .unwrap();
            batches
        };
        let (fresh, reused) = (read(false), read(true));
        assert!(fresh.len() >= 3, "{} batches", fresh.len());
        assert_eq!(fresh.len(), reused.len());
        for (a, b) in fresh.iter().zip(&reused) {
            assert_eq!((a.first_line, &a.data), (b.first_line, &b.data));
        }
        let joined: Vec<u8> = reused.iter().flat_map(|b| b.data.clone()).collect();
        assert_eq!(joined, input);
        let last = reused.last().unwrap();
        assert_eq!(last.lines().last(), Some((40_002, &b"last"[..])));
    }

    fn batches_of(input: &[u8]) -> std::io::Result<Vec<Batch>> {
        let mut out = Vec::new();
        read_batches(
            &mut &input[..],
            &Progress::hidden(),
            BATCH_BYTES,
            Vec::new,
            |b| {
                out.push(b);
                true
            },
        )?;
        Ok(out)
    }

    #[test]
    fn a_line_up_to_the_limit_is_read_and_one_over_it_is_refused_by_number() {
        let mut input = b"{}\n{}\n".to_vec();
        input.extend(std::iter::repeat_n(b' ', MAX_LINE_BYTES));
        input.extend_from_slice(b"\n{}\n");
        let batches = batches_of(&input).unwrap();
        let lines: Vec<(usize, usize)> = batches
            .iter()
            .flat_map(|b| b.lines().map(|(n, l)| (n, l.len())).collect::<Vec<_>>())
            .collect();
        assert_eq!(lines, vec![(1, 2), (2, 2), (3, MAX_LINE_BYTES), (4, 2)]);
        // One byte more, in the middle of a file and at its end without a
        // newline, and a line-less stream: refused, naming the line.
        let mut over = b"{}\n{}\n".to_vec();
        over.extend(std::iter::repeat_n(b' ', MAX_LINE_BYTES + 1));
        let mut middle = over.clone();
        middle.extend_from_slice(b"\n{}\n");
        for input in [over, middle] {
            let err = batches_of(&input).unwrap_err();
            assert!(
                err.to_string().starts_with("line 3 is longer than 8 MiB"),
                "{err}"
            );
        }
        let endless = std::io::repeat(b'x');
        let err = read_batches(
            &mut endless.take(1 << 40),
            &Progress::hidden(),
            BATCH_BYTES,
            Vec::new,
            |_| true,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 1 is longer"), "{err}");
    }
}
