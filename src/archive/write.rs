//! The only writer of snapshots: a ZIP, or a directory of the same entries.
//! Output is deterministic (fixed entry timestamps and permissions, entries
//! in the order they are added) and atomic: bytes go to a scratch folder
//! beside the target, and the result is renamed into place only by
//! [`ArchiveWriter::finish`]. Dropping the writer without finishing removes
//! the scratch folder, so a failed or interrupted run leaves nothing partial
//! (see [`crate::scratch`]). A ZIP for standard output is finished in full
//! first, then copied: a failed run writes nothing there either.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write as _};
use std::path::{Component, Path, PathBuf};

use std::os::unix::fs::OpenOptionsExt as _;

use super::zipout::ZipOut;

use crate::error::{Error, Result};
use crate::scratch::Scratch;

/// The deflate level of `--compression default`: 5, not the level 6 that
/// Convex's own export uses. Measured with zlib-rs on generated and real
/// rows, level 5 deflates about a quarter faster and comes out 0.1% to 2.2%
/// larger (BENCHMARKS.md, "Deflate at level 5").
pub const DEFAULT_LEVEL: u32 = 5;

/// How new or changed entries are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression (method 0).
    Stored,
    /// Deflate at level 1.
    Fast,
    /// Deflate at [`DEFAULT_LEVEL`].
    #[default]
    Default,
    /// Deflate at level 9.
    Best,
}

impl Compression {
    /// The deflate level, or `None` to store.
    fn level(self) -> Option<u32> {
        match self {
            Compression::Stored => None,
            Compression::Fast => Some(1),
            Compression::Default => Some(DEFAULT_LEVEL),
            Compression::Best => Some(9),
        }
    }
}

/// Where a snapshot is written: a ZIP file, a folder, or (a ZIP) standard
/// output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The target path; `-` is standard output.
    pub path: PathBuf,
    pub kind: OutputKind,
    /// `--force`: an existing file may be overwritten, an existing snapshot
    /// folder replaced.
    pub replace: bool,
}

/// What an output path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Zip,
    Dir,
}

impl Destination {
    /// A new ZIP file at `path` (which must not exist).
    pub fn zip(path: &Path) -> Destination {
        Destination {
            path: path.to_owned(),
            kind: OutputKind::Zip,
            replace: false,
        }
    }

    /// True when the bytes go to standard output.
    pub fn is_stdout(&self) -> bool {
        is_stdout(&self.path)
    }
}

/// True for the path `-`.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes a snapshot to a temporary file (or folder) and renames it into place.
pub struct ArchiveWriter {
    sink: Sink,
    dest: Destination,
    compression: Compression,
    /// Holds the temporary output; removed when the writer is dropped.
    scratch: Scratch,
}

enum Sink {
    Zip {
        zip: Box<ZipOut>,
        path: PathBuf,
    },
    Dir {
        root: PathBuf,
        current: Option<BufWriter<File>>,
    },
}

const LARGE_FILE: u64 = 0xFFFF_FFFF;

/// The folder a path lies in (`.` for a bare name).
pub fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

impl ArchiveWriter {
    /// Starts writing `dest`: into a scratch folder beside the target (or in
    /// the system's temporary folder for standard output).
    pub fn create(dest: &Destination, compression: Compression) -> Result<ArchiveWriter> {
        let werr = |source| Error::Write {
            path: dest.path.clone(),
            source,
        };
        let parent = match dest.is_stdout() {
            true => std::env::temp_dir(),
            false => parent_of(&dest.path),
        };
        let scratch = Scratch::new_in(&parent)?;
        let sink = match dest.kind {
            OutputKind::Zip => {
                let path = scratch.path().join("output.zip");
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o644)
                    .open(&path)
                    .map_err(werr)?;
                Sink::Zip {
                    zip: Box::new(ZipOut::new(file)),
                    path,
                }
            }
            OutputKind::Dir => {
                let root = scratch.path().join("output");
                std::fs::create_dir(&root).map_err(werr)?;
                Sink::Dir {
                    root,
                    current: None,
                }
            }
        };
        Ok(ArchiveWriter {
            sink,
            dest: dest.clone(),
            compression: match dest.kind {
                OutputKind::Zip => compression,
                OutputKind::Dir => Compression::Stored,
            },
            scratch,
        })
    }

    /// A ZIP at `path` that may replace a file there (for tests and
    /// throw-away archives inside a scratch folder).
    pub fn create_zip(path: &Path, compression: Compression) -> Result<ArchiveWriter> {
        let dest = Destination {
            path: path.to_owned(),
            kind: OutputKind::Zip,
            replace: true,
        };
        Self::create(&dest, compression)
    }

    /// True when writing a directory (entries cannot be raw-copied).
    pub fn is_dir(&self) -> bool {
        matches!(self.sink, Sink::Dir { .. })
    }

    fn werr(&self, err: impl Into<io::Error>) -> Error {
        Error::Write {
            path: self.dest.path.clone(),
            source: err.into(),
        }
    }

    /// Copies a ZIP entry's compressed bytes as they are (ZIP output only).
    pub(super) fn raw_copy<R: Read + Seek>(
        &mut self,
        mut file: zip::read::ZipFile<'_, R>,
        name: &str,
    ) -> Result<()> {
        let method = match file.compression() {
            zip::CompressionMethod::Stored => 0,
            zip::CompressionMethod::Deflated => 8,
            other => {
                return Err(Error::entry(
                    name,
                    format!("cannot copy an entry compressed with {other:?}"),
                ));
            }
        };
        let (crc, compressed, size) = (file.crc32(), file.compressed_size(), file.size());
        let r = match &mut self.sink {
            Sink::Zip { zip, .. } => zip.raw_entry(name, method, crc, compressed, size, &mut file),
            Sink::Dir { .. } => unreachable!("raw copies only go to ZIPs"),
        };
        r.map_err(|e| Error::entry(name, format!("cannot copy: {e}")))
    }

    /// Adds an entry from a reader.
    pub fn add_stream(&mut self, name: &str, size: u64, reader: &mut dyn Read) -> io::Result<()> {
        self.start(name, size >= LARGE_FILE)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.write_data(&buf[..n])?;
        }
        Ok(())
    }

    /// Appends bytes to the entry being written (nothing may go into a
    /// directory entry).
    fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Zip { zip, .. } => zip.write_data(data),
            Sink::Dir { current, .. } => match current.as_mut() {
                Some(f) => f.write_all(data),
                None if data.is_empty() => Ok(()),
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "data for a directory entry",
                )),
            },
        }
    }

    fn start(&mut self, name: &str, large: bool) -> io::Result<()> {
        match &mut self.sink {
            Sink::Zip { zip, .. } => zip.start(name, self.compression.level(), large),
            Sink::Dir { root, current } => {
                if let Some(mut f) = current.take() {
                    f.flush()?;
                }
                let rel = Path::new(name);
                let safe =
                    !name.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
                if !safe {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("entry name {name:?} is not a relative path inside the snapshot"),
                    ));
                }
                if name.ends_with('/') {
                    // A ZIP's directory entry (as `zip -r` writes): a folder.
                    return make_dirs(root, rel);
                }
                if let Some(p) = rel.parent() {
                    make_dirs(root, p)?;
                }
                let path = root.join(rel);
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)?;
                *current = Some(BufWriter::with_capacity(1 << 20, file));
                Ok(())
            }
        }
    }

    /// Starts an entry whose bytes follow through [`ArchiveWriter::write_chunk`].
    pub fn start_entry(&mut self, name: &str, large: bool) -> Result<()> {
        self.start(name, large).map_err(|e| self.werr(e))
    }

    /// Appends bytes to the entry being written.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<()> {
        self.write_data(data).map_err(|e| self.werr(e))
    }

    /// Adds a whole entry.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add_stream(name, data.len() as u64, &mut &data[..])
            .map_err(|e| self.werr(e))
    }

    /// Completes the output and moves it into place (or copies it to
    /// standard output). Without `replace`, an existing target is refused;
    /// with it, an existing file is overwritten (one rename) and an existing
    /// folder is moved aside first and removed after.
    pub fn finish(self) -> Result<()> {
        let ArchiveWriter {
            sink,
            dest,
            scratch,
            ..
        } = self;
        let werr = |source: io::Error| Error::Write {
            path: dest.path.clone(),
            source,
        };
        match sink {
            Sink::Zip { zip, path } => {
                let file = zip.finish().map_err(werr)?;
                file.sync_all().map_err(werr)?;
                drop(file);
                if dest.is_stdout() {
                    let mut file = File::open(&path).map_err(werr)?;
                    let mut out = io::stdout().lock();
                    io::copy(&mut file, &mut out).map_err(werr)?;
                    out.flush().map_err(werr)?;
                } else {
                    make_room(&dest, &scratch)?;
                    std::fs::rename(&path, &dest.path).map_err(werr)?;
                }
            }
            Sink::Dir { root, current } => {
                if let Some(mut f) = current {
                    f.flush().map_err(werr)?;
                }
                make_room(&dest, &scratch)?;
                std::fs::rename(&root, &dest.path).map_err(werr)?;
            }
        }
        drop(scratch);
        Ok(())
    }
}

/// Makes the folders of `rel` under `root`, which must exist (so a scratch
/// folder removed by the signal handler is not made again).
fn make_dirs(root: &Path, rel: &Path) -> io::Result<()> {
    let mut dir = root.to_owned();
    for part in rel.components() {
        dir.push(part);
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Clears the way for the final rename: an empty folder goes, and with
/// `replace` an existing folder is moved into the scratch folder (removed
/// with it); an existing file without `replace` is refused.
fn make_room(dest: &Destination, scratch: &Scratch) -> Result<()> {
    let werr = |source: io::Error| Error::Write {
        path: dest.path.clone(),
        source,
    };
    let Ok(meta) = std::fs::symlink_metadata(&dest.path) else {
        return Ok(());
    };
    if meta.is_dir() {
        if is_empty_dir(&dest.path) {
            return std::fs::remove_dir(&dest.path).map_err(werr);
        }
        if dest.replace && dest.kind == OutputKind::Dir {
            return std::fs::rename(&dest.path, scratch.path().join("replaced")).map_err(werr);
        }
    } else if dest.replace && dest.kind == OutputKind::Zip {
        return Ok(()); // the rename overwrites it
    }
    Err(Error::Usage(format!(
        "{} already exists; choose another path, or give --force to replace it",
        dest.path.display()
    )))
}

/// True for a path that names a ZIP (ends in `.zip`).
pub fn is_zip_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}
