//! A minimal, deterministic ZIP writer with parallel deflate.
//!
//! The `zip` crate compresses an entry on one thread and cannot take data
//! compressed elsewhere, so new entries are written here: the stream is cut
//! into 1 MiB chunks, each deflated on the pool as soon as it is full (with
//! the previous chunk's last 32 KiB as its dictionary, ending on a sync flush,
//! as pigz does), and the pieces are written in order as they finish, one raw
//! deflate stream.
//! Chunk boundaries depend only on the data, so the bytes never depend on the
//! thread count. Untouched entries are copied as their compressed bytes.
//! Sizes and CRC are patched into the local header after the data (no data
//! descriptors); Zip64 fields are used when an entry or the archive needs
//! them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::mpsc;

use flate2::{Compress, Compression as Level, FlushCompress, Status};

/// Uncompressed bytes per independently compressed chunk.
const CHUNK: usize = 1 << 20;
/// Dictionary carried from one chunk to the next (deflate's window).
const DICTIONARY: usize = 32 * 1024;
const U32_MAX: u64 = 0xFFFF_FFFF;
/// DOS date 1980-01-01, time 00:00:00: the fixed timestamp of every entry.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
/// `-rw-r--r--` regular file, in the high half of the external attributes.
const EXTERNAL_ATTRIBUTES: u32 = 0o100_644 << 16;

/// One central directory record.
struct Central {
    name: Vec<u8>,
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
    zip64: bool,
}

/// The entry being streamed.
struct Current {
    central: Central,
    level: Option<u32>,
    crc: crc32fast::Hasher,
    pending: Vec<u8>,
    /// The last bytes of the previous chunk (the next one's dictionary).
    tail: Vec<u8>,
    /// Chunks handed to the pool, chunks written, and the finished ones
    /// waiting for their turn.
    sent: usize,
    written: usize,
    waiting: BTreeMap<usize, io::Result<Vec<u8>>>,
    done_tx: mpsc::Sender<(usize, io::Result<Vec<u8>>)>,
    done_rx: mpsc::Receiver<(usize, io::Result<Vec<u8>>)>,
}

/// Writes a ZIP to a file.
pub struct ZipOut {
    out: BufWriter<File>,
    pos: u64,
    entries: Vec<Central>,
    current: Option<Current>,
}

impl ZipOut {
    pub fn new(file: File) -> ZipOut {
        ZipOut {
            out: BufWriter::with_capacity(1 << 20, file),
            pos: 0,
            entries: Vec::new(),
            current: None,
        }
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.pos += data.len() as u64;
        Ok(())
    }

    /// Starts an entry; `level` is the deflate level, `None` to store.
    /// `large` asks for Zip64 sizes (needed for 4 GiB or more).
    pub fn start(&mut self, name: &str, level: Option<u32>, large: bool) -> io::Result<()> {
        self.finish_entry()?;
        let central = Central {
            name: name.as_bytes().to_vec(),
            method: if level.is_some() { 8 } else { 0 },
            crc: 0,
            compressed: 0,
            uncompressed: 0,
            offset: self.pos,
            zip64: large,
        };
        self.local_header(&central)?;
        let (done_tx, done_rx) = mpsc::channel();
        self.current = Some(Current {
            central,
            level,
            crc: crc32fast::Hasher::new(),
            pending: Vec::new(),
            tail: Vec::new(),
            sent: 0,
            written: 0,
            waiting: BTreeMap::new(),
            done_tx,
            done_rx,
        });
        Ok(())
    }

    /// Appends uncompressed bytes to the current entry.
    pub fn write_data(&mut self, mut data: &[u8]) -> io::Result<()> {
        let cur = self.current.as_mut().expect("an entry is started");
        cur.crc.update(data);
        cur.central.uncompressed += data.len() as u64;
        if cur.level.is_none() {
            cur.central.compressed += data.len() as u64;
            return self.write(data);
        }
        while !data.is_empty() {
            let cur = self.current.as_mut().expect("an entry is started");
            let take = (CHUNK - cur.pending.len()).min(data.len());
            cur.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if cur.pending.len() == CHUNK {
                let chunk = std::mem::replace(&mut cur.pending, Vec::with_capacity(CHUNK));
                self.dispatch(chunk, false)?;
            }
        }
        Ok(())
    }

    /// Hands a chunk to the pool (each with the previous chunk's tail as its
    /// dictionary) and writes the compressed chunks that are ready, in order,
    /// while later ones are still being compressed. At most a small window is
    /// in flight; with one thread, compresses here.
    fn dispatch(&mut self, chunk: Vec<u8>, last: bool) -> io::Result<()> {
        let threads = rayon::current_num_threads();
        let cur = self.current.as_mut().expect("an entry is started");
        let level = cur.level.expect("deflated entry");
        let keep = chunk.len().min(DICTIONARY);
        let dict = std::mem::replace(&mut cur.tail, chunk[chunk.len() - keep..].to_vec());
        let i = cur.sent;
        cur.sent += 1;
        if threads == 1 {
            let c = deflate_chunk(&chunk, &dict, level, last);
            cur.waiting.insert(i, c);
        } else {
            let tx = cur.done_tx.clone();
            rayon::spawn(move || {
                let _ = tx.send((i, deflate_chunk(&chunk, &dict, level, last)));
            });
        }
        let window = 2 * threads + 1;
        self.write_ready(|in_flight| in_flight >= window || last)
    }

    /// Writes finished chunks in order; waits for more while `wait` says so
    /// (given the number still in flight).
    fn write_ready(&mut self, wait: impl Fn(usize) -> bool) -> io::Result<()> {
        loop {
            let cur = self.current.as_mut().expect("an entry is started");
            while let Ok((i, c)) = cur.done_rx.try_recv() {
                cur.waiting.insert(i, c);
            }
            while let Some(c) = cur.waiting.remove(&cur.written) {
                let c = c?;
                cur.written += 1;
                cur.central.compressed += c.len() as u64;
                self.out.write_all(&c)?;
                self.pos += c.len() as u64;
            }
            let in_flight = cur.sent - cur.written;
            if in_flight == 0 || !wait(in_flight) {
                return Ok(());
            }
            let (i, c) = cur
                .done_rx
                .recv()
                .map_err(|_| io::Error::other("a compression job was lost"))?;
            cur.waiting.insert(i, c);
        }
    }

    /// Copies an entry whose compressed bytes, CRC and sizes are known.
    pub fn raw_entry(
        &mut self,
        name: &str,
        method: u16,
        crc: u32,
        compressed: u64,
        uncompressed: u64,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        self.finish_entry()?;
        let central = Central {
            name: name.as_bytes().to_vec(),
            method,
            crc,
            compressed,
            uncompressed,
            offset: self.pos,
            zip64: compressed >= U32_MAX || uncompressed >= U32_MAX,
        };
        self.local_header(&central)?;
        let copied = io::copy(data, &mut self.out)?;
        self.pos += copied;
        if copied != compressed {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: copied {copied} of {compressed} compressed bytes"),
            ));
        }
        self.entries.push(central);
        Ok(())
    }

    fn local_header(&mut self, c: &Central) -> io::Result<()> {
        let mut h = Vec::with_capacity(30 + c.name.len() + 20);
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&(if c.zip64 { 45u16 } else { 20 }).to_le_bytes());
        h.extend_from_slice(&flags(&c.name).to_le_bytes());
        h.extend_from_slice(&c.method.to_le_bytes());
        h.extend_from_slice(&DOS_TIME.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&c.crc.to_le_bytes());
        if c.zip64 {
            h.extend_from_slice(&u32::MAX.to_le_bytes());
            h.extend_from_slice(&u32::MAX.to_le_bytes());
        } else {
            h.extend_from_slice(&(c.compressed as u32).to_le_bytes());
            h.extend_from_slice(&(c.uncompressed as u32).to_le_bytes());
        }
        h.extend_from_slice(&(c.name.len() as u16).to_le_bytes());
        h.extend_from_slice(&(if c.zip64 { 20u16 } else { 0 }).to_le_bytes());
        h.extend_from_slice(&c.name);
        if c.zip64 {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&c.uncompressed.to_le_bytes());
            h.extend_from_slice(&c.compressed.to_le_bytes());
        }
        self.write(&h)
    }

    /// Ends the current entry: final chunk, then CRC and sizes patched into
    /// its local header.
    fn finish_entry(&mut self) -> io::Result<()> {
        let Some(cur) = self.current.as_ref() else {
            return Ok(());
        };
        if cur.level.is_some() {
            let chunk = std::mem::take(&mut self.current.as_mut().expect("checked").pending);
            self.dispatch(chunk, true)?;
        }
        let mut cur = self.current.take().expect("checked above");
        cur.central.crc = cur.crc.finalize();
        let c = &cur.central;
        if !c.zip64 && (c.compressed >= U32_MAX || c.uncompressed >= U32_MAX) {
            return Err(io::Error::other(format!(
                "{} reached 4 GiB without Zip64 sizes",
                String::from_utf8_lossy(&c.name)
            )));
        }
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(c.offset + 14))?;
        file.write_all(&c.crc.to_le_bytes())?;
        if c.zip64 {
            file.seek(SeekFrom::Start(c.offset + 30 + c.name.len() as u64 + 4))?;
            file.write_all(&c.uncompressed.to_le_bytes())?;
            file.write_all(&c.compressed.to_le_bytes())?;
        } else {
            file.write_all(&(c.compressed as u32).to_le_bytes())?;
            file.write_all(&(c.uncompressed as u32).to_le_bytes())?;
        }
        file.seek(SeekFrom::Start(self.pos))?;
        self.entries.push(cur.central);
        Ok(())
    }

    /// Writes the central directory and returns the file.
    pub fn finish(mut self) -> io::Result<File> {
        self.finish_entry()?;
        let cd_start = self.pos;
        let entries = std::mem::take(&mut self.entries);
        for c in &entries {
            let big_offset = c.offset >= U32_MAX;
            let mut extra = Vec::new();
            if c.zip64 {
                extra.extend_from_slice(&c.uncompressed.to_le_bytes());
                extra.extend_from_slice(&c.compressed.to_le_bytes());
            }
            if big_offset {
                extra.extend_from_slice(&c.offset.to_le_bytes());
            }
            let mut h = Vec::with_capacity(46 + c.name.len() + 28);
            h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            let version: u16 = if c.zip64 || big_offset { 45 } else { 20 };
            h.extend_from_slice(&((3 << 8) | version).to_le_bytes());
            h.extend_from_slice(&version.to_le_bytes());
            h.extend_from_slice(&flags(&c.name).to_le_bytes());
            h.extend_from_slice(&c.method.to_le_bytes());
            h.extend_from_slice(&DOS_TIME.to_le_bytes());
            h.extend_from_slice(&DOS_DATE.to_le_bytes());
            h.extend_from_slice(&c.crc.to_le_bytes());
            let (cs, us) = if c.zip64 {
                (u32::MAX, u32::MAX)
            } else {
                (c.compressed as u32, c.uncompressed as u32)
            };
            h.extend_from_slice(&cs.to_le_bytes());
            h.extend_from_slice(&us.to_le_bytes());
            h.extend_from_slice(&(c.name.len() as u16).to_le_bytes());
            let extra_len = if extra.is_empty() { 0 } else { extra.len() + 4 };
            h.extend_from_slice(&(extra_len as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // comment
            h.extend_from_slice(&0u16.to_le_bytes()); // disk
            h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            h.extend_from_slice(&EXTERNAL_ATTRIBUTES.to_le_bytes());
            let offset = if big_offset {
                u32::MAX
            } else {
                c.offset as u32
            };
            h.extend_from_slice(&offset.to_le_bytes());
            h.extend_from_slice(&c.name);
            if !extra.is_empty() {
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
                h.extend_from_slice(&extra);
            }
            self.write(&h)?;
        }
        let cd_size = self.pos - cd_start;
        let count = entries.len() as u64;
        let zip64 = count >= 0xFFFF || cd_start >= U32_MAX || cd_size >= U32_MAX;
        let mut t = Vec::new();
        if zip64 {
            let record = self.pos;
            t.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            t.extend_from_slice(&44u64.to_le_bytes());
            t.extend_from_slice(&((3u16 << 8) | 45).to_le_bytes());
            t.extend_from_slice(&45u16.to_le_bytes());
            t.extend_from_slice(&0u32.to_le_bytes());
            t.extend_from_slice(&0u32.to_le_bytes());
            t.extend_from_slice(&count.to_le_bytes());
            t.extend_from_slice(&count.to_le_bytes());
            t.extend_from_slice(&cd_size.to_le_bytes());
            t.extend_from_slice(&cd_start.to_le_bytes());
            t.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            t.extend_from_slice(&0u32.to_le_bytes());
            t.extend_from_slice(&record.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
        }
        let n16 = count.min(0xFFFF) as u16;
        t.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes());
        t.extend_from_slice(&n16.to_le_bytes());
        t.extend_from_slice(&n16.to_le_bytes());
        t.extend_from_slice(&(cd_size.min(U32_MAX) as u32).to_le_bytes());
        t.extend_from_slice(&(cd_start.min(U32_MAX) as u32).to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes());
        self.write(&t)?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// General-purpose flags: bit 11 when the name is not ASCII (UTF-8 names).
fn flags(name: &[u8]) -> u16 {
    if name.is_ascii() { 0 } else { 1 << 11 }
}

/// Deflates one chunk as part of a longer raw stream. Level 9 is not always
/// smaller than the lower levels (zlib's lazy matching can lose), so `best`
/// also tries level 6 and the default level and keeps the smallest: chunks
/// end on a byte boundary and are primed with raw bytes, so each may take
/// any of them without changing the others, and `--compression best` is
/// never larger than the default.
fn deflate_chunk(data: &[u8], dict: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    let mut out = deflate_at(data, dict, level, last)?;
    if level <= 6 {
        return Ok(out);
    }
    for other in [6, super::write::DEFAULT_LEVEL] {
        let alt = deflate_at(data, dict, other, last)?;
        if alt.len() < out.len() {
            out = alt;
        }
    }
    Ok(out)
}

/// Deflates one chunk at one level: primed with the previous chunk's tail,
/// ended by a sync flush (or the final block).
fn deflate_at(data: &[u8], dict: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Level::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 3 + 1024);
    let mut input = data;
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let before = c.total_in();
        let status = c
            .compress_vec(input, &mut out, flush)
            .map_err(io::Error::other)?;
        input = &input[(c.total_in() - before) as usize..];
        let room_left = out.capacity() > out.len();
        match status {
            Status::StreamEnd => break,
            _ if !last && input.is_empty() && room_left => break,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(level: Option<u32>, data: &[u8], threads: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.zip");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut z = ZipOut::new(File::create(&path).unwrap());
            z.start("a/documents.jsonl", level, false).unwrap();
            for piece in data.chunks(777_777) {
                z.write_data(piece).unwrap();
            }
            z.start("empty", level, false).unwrap();
            z.start("é.txt", level, true).unwrap();
            z.write_data(b"hello").unwrap();
            z.finish().unwrap();
        });
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn best_is_never_larger_than_default_chunk_by_chunk() {
        // A `_tables` listing: one of the many real texts on which zlib's
        // level 9 comes out larger than level 6 (142 bytes against 140).
        let data: Vec<u8> = crate::generate::TABLES
            .iter()
            .flat_map(|(name, n)| format!("{{\"name\":\"{name}\",\"id\":{n}}}\n").into_bytes())
            .collect();
        let nine_alone = deflate_at(&data, &[], 9, true).unwrap();
        assert!(nine_alone.len() > deflate_at(&data, &[], 6, true).unwrap().len());
        let nine = build(Some(9), &data, 2);
        for lower in [6, super::super::write::DEFAULT_LEVEL] {
            let other = build(Some(lower), &data, 2);
            assert!(
                nine.len() <= other.len(),
                "{} > {}",
                nine.len(),
                other.len()
            );
        }
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(nine)).unwrap();
        let mut got = Vec::new();
        zip.by_index(0).unwrap().read_to_end(&mut got).unwrap();
        assert!(got == data);
    }

    #[test]
    fn entries_read_back_and_bytes_do_not_depend_on_threads() {
        let data: Vec<u8> = (0..5_000_000u32)
            .map(|i| b"{\"a\":1.0,\"name\":\"x\"}\n"[(i % 21) as usize] ^ ((i / 4093) % 3) as u8)
            .collect();
        for level in [None, Some(1), Some(6)] {
            let one = build(level, &data, 1);
            assert_eq!(one, build(level, &data, 3), "{level:?}");
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(one)).unwrap();
            assert_eq!(zip.len(), 3);
            let mut got = Vec::new();
            zip.by_index(0).unwrap().read_to_end(&mut got).unwrap();
            assert!(got == data, "{level:?}: data differs");
            let mut e = Vec::new();
            zip.by_index(1).unwrap().read_to_end(&mut e).unwrap();
            assert!(e.is_empty());
            let mut f = zip.by_name("é.txt").unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            assert_eq!(s, "hello");
        }
    }
}
