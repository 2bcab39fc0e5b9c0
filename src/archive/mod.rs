//! The archive layer: the only code that knows about ZIP files and paths.
//!
//! A snapshot is read from a `.zip` (as `npx convex export` writes it) or from
//! a directory holding the same entries. Entries are listed once, in archive
//! order (ZIP) or in a canonical order (directory, see [`canonical_order`]),
//! and each can be streamed on any thread: ZIP readers share one open file
//! through positional reads, so opening an entry costs no re-parse.

mod write;
mod zipout;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zip::ZipArchive;

use crate::error::{Error, Result};

pub use write::{ArchiveWriter, Compression, is_zip_path};

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
}

impl Archive {
    /// Opens a `.zip` file or a directory.
    pub fn open(path: &Path) -> Result<Archive> {
        let meta = std::fs::metadata(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            return Self::open_dir(path);
        }
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let shared = SharedFile {
            file: Arc::new(file),
            pos: 0,
            len: meta.len(),
        };
        let mut zip = ZipArchive::new(shared).map_err(|source| Error::Zip {
            path: path.to_owned(),
            source,
        })?;
        let mut entries = Vec::with_capacity(zip.len());
        let mut seen = std::collections::HashSet::new();
        for index in 0..zip.len() {
            let f = zip.by_index_raw(index).map_err(|source| Error::Zip {
                path: path.to_owned(),
                source,
            })?;
            let name = String::from_utf8_lossy(f.name_raw()).into_owned();
            if !seen.insert(name.clone()) {
                return Err(Error::Entry {
                    entry: name,
                    message: "appears twice in the ZIP".into(),
                });
            }
            entries.push(Entry {
                size: f.size(),
                compressed_size: Some(f.compressed_size()),
                crc32: Some(f.crc32()),
                is_dir: f.is_dir(),
                name,
                index,
            });
        }
        Ok(Archive {
            path: path.to_owned(),
            source: Source::Zip(zip),
            entries,
        })
    }

    fn open_dir(root: &Path) -> Result<Archive> {
        let mut names = Vec::new();
        walk(root, root, &mut names)?;
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
                index,
            })
            .collect();
        Ok(Archive {
            path: root.to_owned(),
            source: Source::Dir(root.to_owned()),
            entries,
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
                let mut file = zip
                    .by_index(e.index)
                    .map_err(|err| Error::entry(&e.name, err))?;
                f(&mut file).map_err(wrap)
            }
            Source::Dir(root) => {
                let path = root.join(&e.name);
                let mut file = File::open(&path).map_err(|source| Error::Read { path, source })?;
                f(&mut file).map_err(wrap)
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

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> Result<()> {
    let read_err = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    for item in std::fs::read_dir(dir).map_err(read_err)? {
        let item = item.map_err(read_err)?;
        let path = item.path();
        let meta = std::fs::metadata(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).expect("walk stays under root");
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, meta.len()));
        }
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
