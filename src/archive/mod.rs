//! The archive layer: the only code that knows about ZIP files and paths.
//!
//! A snapshot is read from a `.zip` (as `npx convex export` writes it) or from
//! a directory holding the same entries. Entries are listed once, in archive
//! order (ZIP) or in a canonical order (directory, see [`canonical_order`]),
//! and each can be streamed on any thread: ZIP readers share one open file
//! through positional reads, so opening an entry costs no re-parse.

mod checked;
mod write;
mod zipout;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zip::ZipArchive;

use crate::error::{Error, Result};

pub use write::{
    ArchiveWriter, Compression, Destination, OutputKind, is_stdout, is_zip_path, parent_of,
};

use crate::scratch::Scratch;
use checked::{Checked, Declared};

/// One file of the snapshot.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The path inside the snapshot, `/`-separated.
    pub name: String,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// Compressed size in bytes (ZIP only).
    pub compressed_size: Option<u64>,
    /// CRC-32 recorded in the ZIP's central directory (ZIP only).
    pub crc32: Option<u32>,
    /// A directory entry (ZIP only; the importer ignores them).
    pub is_dir: bool,
    /// Compression method (ZIP only: 0 stored, 8 deflate).
    method: u16,
    index: usize,
}

/// A `Read + Seek` over a shared file using positional reads, so that cloning
/// a ZIP reader for another thread is cheap.
#[derive(Debug, Clone)]
struct SharedFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let next = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = next.ok_or_else(|| io::Error::other("seek before the start of the file"))?;
        Ok(self.pos)
    }
}

#[derive(Debug, Clone)]
enum Source {
    Zip(ZipArchive<SharedFile>),
    Dir(PathBuf),
}

/// An opened snapshot archive.
#[derive(Debug, Clone)]
pub struct Archive {
    path: PathBuf,
    source: Source,
    entries: Vec<Entry>,
    /// The copy of standard input, for `-`; removed with the last clone.
    _spool: Option<Arc<Scratch>>,
}

/// How a path given as input names the standard input.
const STDIN: &str = "-";

impl Archive {
    /// Opens a `.zip` file or a directory; `-` reads a ZIP from standard
    /// input (copied to a scratch file first, as a ZIP is read from its end).
    pub fn open(path: &Path) -> Result<Archive> {
        if path.as_os_str() == STDIN {
            return Self::open_stdin();
        }
        let meta = std::fs::metadata(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            return Self::open_dir(path);
        }
        if !meta.is_file() {
            return Err(not_a_file(path));
        }
        Self::open_zip(path, path, meta.len(), None)
    }

    fn open_stdin() -> Result<Archive> {
        let shown = Path::new("(standard input)");
        let spool = Scratch::new_in(&std::env::temp_dir())?;
        let file = spool.path().join("input.zip");
        let werr = |source| Error::Write {
            path: file.clone(),
            source,
        };
        let mut out = File::create(&file).map_err(werr)?;
        let len = io::copy(&mut io::stdin().lock(), &mut out).map_err(|source| Error::Read {
            path: shown.to_owned(),
            source,
        })?;
        out.sync_all().map_err(werr)?;
        drop(out);
        Self::open_zip(&file, shown, len, Some(Arc::new(spool)))
    }

    fn open_zip(
        file: &Path,
        shown: &Path,
        len: u64,
        spool: Option<Arc<Scratch>>,
    ) -> Result<Archive> {
        let zerr = |source| Error::Zip {
            path: shown.to_owned(),
            source,
        };
        let opened = File::open(file).map_err(|source| Error::Read {
            path: shown.to_owned(),
            source,
        })?;
        let shared = SharedFile {
            file: Arc::new(opened),
            pos: 0,
            len,
        };
        let mut zip = ZipArchive::new(shared).map_err(zerr)?;
        if zip.has_duplicate_names() {
            return Err(duplicate_names(file, zip.central_directory_start()));
        }
        let mut entries = Vec::with_capacity(zip.len());
        // Where each entry's local header and data lie: [start, end).
        let mut spans = Vec::with_capacity(zip.len());
        for index in 0..zip.len() {
            let f = zip.by_index_raw(index).map_err(zerr)?;
            let name = String::from_utf8_lossy(f.name_raw()).into_owned();
            if f.encrypted() {
                return Err(Error::entry(
                    &name,
                    "is encrypted; the importer cannot read it",
                ));
            }
            let method = match f.compression() {
                zip::CompressionMethod::Stored => 0,
                zip::CompressionMethod::Deflated => 8,
                #[allow(deprecated)]
                other => other.to_u16(),
            };
            let data_start = f.data_start().unwrap_or(f.header_start());
            spans.push((
                f.header_start(),
                data_start.saturating_add(f.compressed_size()),
                index,
            ));
            entries.push(Entry {
                size: f.size(),
                compressed_size: Some(f.compressed_size()),
                crc32: Some(f.crc32()),
                is_dir: f.is_dir(),
                method,
                name,
                index,
            });
        }
        check_spans(&mut spans, zip.central_directory_start(), &entries)?;
        Ok(Archive {
            path: shown.to_owned(),
            source: Source::Zip(zip),
            entries,
            _spool: spool,
        })
    }

    fn open_dir(root: &Path) -> Result<Archive> {
        let mut names = Vec::new();
        walk(root, &mut names)?;
        canonical_order(&mut names);
        let entries = names
            .into_iter()
            .enumerate()
            .map(|(index, (name, size))| Entry {
                name,
                size,
                compressed_size: None,
                crc32: None,
                is_dir: false,
                method: 0,
                index,
            })
            .collect();
        Ok(Archive {
            path: root.to_owned(),
            source: Source::Dir(root.to_owned()),
            entries,
            _spool: None,
        })
    }

    /// The path the archive was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the snapshot is a ZIP file, false for a directory.
    pub fn is_zip(&self) -> bool {
        matches!(self.source, Source::Zip(_))
    }

    /// Every entry, in archive order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this name, if any.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }

    /// Streams one entry's uncompressed bytes through `f`. For a ZIP the CRC
    /// is checked when `f` reads to the end.
    pub fn with_reader<T>(
        &self,
        entry: usize,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> Result<T> {
        let e = &self.entries[entry];
        let wrap = |err: io::Error| Error::entry(&e.name, err);
        match &self.source {
            Source::Zip(zip) => {
                let mut zip = zip.clone();
                let raw = zip
                    .by_index_raw(e.index)
                    .map_err(|err| Error::entry(&e.name, err))?;
                let declared = Declared {
                    method: e.method,
                    compressed: e.compressed_size.unwrap_or(0),
                    size: e.size,
                    crc: e.crc32.unwrap_or(0),
                };
                let mut checked = Checked::new(raw, declared).map_err(wrap)?;
                f(&mut checked).map_err(wrap)
            }
            Source::Dir(root) => {
                let path = root.join(&e.name);
                let file = open_regular(&path)?;
                // Sizes were taken when the folder was listed; a file that
                // changes while it is read is an error, not a guess.
                let mut sized = SizedFile {
                    file,
                    left: e.size,
                    path: &path,
                };
                f(&mut sized).map_err(wrap)
            }
        }
    }

    /// Reads a whole entry into memory (for small entries such as `_tables`).
    pub fn read_all(&self, entry: usize) -> Result<Vec<u8>> {
        self.with_reader(entry, |r| {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf)?;
            Ok(buf)
        })
    }

    /// Copies an entry unchanged into `writer`: a raw copy of the compressed
    /// bytes for a ZIP source, a fresh compression for a directory source.
    pub fn copy_entry_to(&self, entry: usize, writer: &mut ArchiveWriter) -> Result<()> {
        let e = &self.entries[entry];
        match &self.source {
            Source::Zip(zip) if !writer.is_dir() => {
                let mut zip = zip.clone();
                let file = zip
                    .by_index_raw(e.index)
                    .map_err(|err| Error::entry(&e.name, err))?;
                writer.raw_copy(file, &e.name)
            }
            _ => self.with_reader(entry, |r| writer.add_stream(&e.name, e.size, r)),
        }
    }
}

/// Lists the regular files under `root` with their sizes. Anything else (a
/// symbolic link, a FIFO, a device, a socket) is refused with its path: a
/// link could reach outside the snapshot, and a FIFO or device would hang or
/// never end. Names must be UTF-8 (entry names are).
fn walk(root: &Path, out: &mut Vec<(String, u64)>) -> Result<()> {
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let read_err = |source| Error::Read {
            path: dir.clone(),
            source,
        };
        for item in std::fs::read_dir(&dir).map_err(read_err)? {
            let item = item.map_err(read_err)?;
            let path = item.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            if meta.is_dir() {
                dirs.push(path);
                continue;
            }
            if !meta.is_file() {
                return Err(not_a_file(&path));
            }
            let rel = path.strip_prefix(root).expect("walk stays under root");
            let mut parts = Vec::new();
            for c in rel.components() {
                let Some(part) = c.as_os_str().to_str() else {
                    return Err(Error::Usage(format!(
                        "{}: the file name is not UTF-8, which no snapshot entry can be",
                        path.display()
                    )));
                };
                parts.push(part);
            }
            out.push((parts.join("/"), meta.len()));
        }
    }
    Ok(())
}

/// The error for an input that is neither a regular file nor a folder.
fn not_a_file(path: &Path) -> Error {
    let what = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => "a symbolic link",
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt as _;
            let t = m.file_type();
            if t.is_fifo() {
                "a FIFO"
            } else if t.is_char_device() || t.is_block_device() {
                "a device"
            } else if t.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            }
        }
        Err(_) => "not a regular file",
    };
    Error::Usage(format!(
        "{} is {what}; a snapshot is a ZIP file or a folder of regular files (links, FIFOs and devices are refused)",
        path.display()
    ))
}

/// Opens a file of a folder snapshot, which must still be a regular file.
fn open_regular(path: &Path) -> Result<File> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(not_a_file(path)),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    }
    File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// A file of a folder snapshot, read as exactly the size it had when the
/// folder was listed.
struct SizedFile<'a> {
    file: File,
    left: u64,
    path: &'a Path,
}

impl Read for SizedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let changed = || {
            io::Error::other(format!(
                "{} changed size while it was read",
                self.path.display()
            ))
        };
        if self.left == 0 {
            // One byte more would mean the file grew.
            let mut probe = [0u8; 1];
            return match self.file.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(changed()),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            return Err(changed());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The error for a ZIP whose central directory names an entry twice: the
/// zip crate keeps one of them, the importer reads both. Reads the central
/// directory's records to name the pair.
fn duplicate_names(file: &Path, cd_start: u64) -> Error {
    let names = std::fs::read(file)
        .ok()
        .and_then(|data| central_names(&data, cd_start))
        .unwrap_or_default();
    let mut first: std::collections::HashMap<&[u8], usize> = Default::default();
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = first.insert(name.as_slice(), i) {
            let name = String::from_utf8_lossy(name);
            return Error::Entry {
                entry: name.into_owned(),
                message: format!(
                    "the ZIP holds this name twice (central directory records {} and {}); the importer would read both, so the snapshot is ambiguous",
                    j + 1,
                    i + 1
                ),
            };
        }
    }
    Error::Usage(format!(
        "{}: the ZIP's central directory holds the same name twice",
        file.display()
    ))
}

/// The names of the central directory's records, in order.
fn central_names(data: &[u8], cd_start: u64) -> Option<Vec<Vec<u8>>> {
    let mut at = usize::try_from(cd_start).ok()?;
    let mut names = Vec::new();
    while data.get(at..at + 4) == Some(&0x0201_4b50u32.to_le_bytes()[..]) {
        let u16_at = |o: usize| {
            Some(u16::from_le_bytes(data.get(at + o..at + o + 2)?.try_into().ok()?) as usize)
        };
        let (name_len, extra, comment) = (u16_at(28)?, u16_at(30)?, u16_at(32)?);
        names.push(data.get(at + 46..at + 46 + name_len)?.to_vec());
        at += 46 + name_len + extra + comment;
    }
    Some(names)
}

/// Refuses entries whose local header and data overlap another's or run
/// into the central directory: ZIPs built so (overlapping-entry bombs) make
/// a few bytes inflate many times over.
fn check_spans(spans: &mut [(u64, u64, usize)], cd_start: u64, entries: &[Entry]) -> Result<()> {
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let ((_, end, a), (start, _, b)) = (pair[0], pair[1]);
        if end > start {
            return Err(Error::Entry {
                entry: entries[a].name.clone(),
                message: format!(
                    "its data overlaps the entry {}; a ZIP whose entries share bytes is refused (an overlapping-entry ZIP bomb)",
                    entries[b].name
                ),
            });
        }
    }
    if let Some(&(_, end, a)) = spans.last()
        && end > cd_start
    {
        return Err(Error::Entry {
            entry: entries[a].name.clone(),
            message: "its data runs into the ZIP's central directory".into(),
        });
    }
    Ok(())
}

/// Orders the entries of a directory snapshot the way an export lays them
/// out: `README.md`, the `_tables` files, the tables (`documents.jsonl`
/// before `generated_schema.jsonl`), then `_storage` metadata and blobs, then
/// anything else. Within a group, by path.
pub fn canonical_order<T>(names: &mut [(String, T)]) {
    fn rank(name: &str) -> u8 {
        let base = name.rsplit('/').next().unwrap_or(name);
        let parent = name.rsplit('/').nth(1).unwrap_or("");
        if name == "README.md" {
            0
        } else if parent == "_tables" {
            1
        } else if parent == "_storage" {
            if base == "documents.jsonl" { 3 } else { 4 }
        } else if base == "documents.jsonl" || base == "generated_schema.jsonl" {
            2
        } else {
            5
        }
    }
    names.sort_by(|(a, _), (b, _)| (rank(a), a).cmp(&(rank(b), b)));
}
