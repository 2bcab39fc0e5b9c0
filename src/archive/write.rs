//! The only writer of snapshots: a ZIP, or a directory of the same entries.
//! Output is deterministic (fixed entry timestamps and permissions, entries
//! in the order they are added) and atomic: bytes go to a temporary file or
//! folder beside the target, which is renamed into place only by
//! [`ArchiveWriter::finish`]. Dropping the writer without finishing deletes
//! the temporary output, so a failed run leaves nothing partial.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write as _};
use std::path::{Component, Path, PathBuf};

use super::zipout::ZipOut;

use crate::error::{Error, Result};

/// How new or changed entries are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression (method 0).
    Stored,
    /// Deflate at level 1.
    Fast,
    /// Deflate at level 6, the default level Convex's own export uses.
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
            Compression::Default => Some(6),
            Compression::Best => Some(9),
        }
    }
}

/// Writes a snapshot to a temporary file (or folder) and renames it into place.
pub struct ArchiveWriter {
    sink: Sink,
    target: PathBuf,
    compression: Compression,
}

enum Sink {
    Zip {
        zip: Box<ZipOut>,
        tmp_path: tempfile::TempPath,
    },
    Dir {
        tmp: tempfile::TempDir,
        current: Option<BufWriter<File>>,
    },
}

const LARGE_FILE: u64 = 0xFFFF_FFFF;

fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

impl ArchiveWriter {
    /// Starts a ZIP at `target` (written to a temporary file beside it).
    pub fn create(target: &Path, compression: Compression) -> Result<ArchiveWriter> {
        let werr = |source| Error::Write {
            path: target.to_owned(),
            source,
        };
        let tmp = tempfile::Builder::new()
            .prefix(".convex-snapshot-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(parent_of(target))
            .map_err(werr)?;
        let (file, tmp_path) = tmp.into_parts();
        Ok(ArchiveWriter {
            sink: Sink::Zip {
                zip: Box::new(ZipOut::new(file)),
                tmp_path,
            },
            target: target.to_owned(),
            compression,
        })
    }

    /// Starts a directory snapshot at `target`, which must not exist or be
    /// an empty folder (written to a temporary folder beside it).
    pub fn create_dir(target: &Path) -> Result<ArchiveWriter> {
        let werr = |source| Error::Write {
            path: target.to_owned(),
            source,
        };
        if target.exists() && !is_empty_dir(target) {
            return Err(Error::Usage(format!(
                "output folder {} exists and is not empty",
                target.display()
            )));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".convex-snapshot-")
            .tempdir_in(parent_of(target))
            .map_err(werr)?;
        Ok(ArchiveWriter {
            sink: Sink::Dir { tmp, current: None },
            target: target.to_owned(),
            compression: Compression::Stored,
        })
    }

    /// Starts a ZIP when `target` ends in `.zip`, else a directory.
    pub fn create_for(target: &Path, compression: Compression) -> Result<ArchiveWriter> {
        if is_zip_path(target) {
            Self::create(target, compression)
        } else {
            Self::create_dir(target)
        }
    }

    /// True when writing a directory (entries cannot be raw-copied).
    pub fn is_dir(&self) -> bool {
        matches!(self.sink, Sink::Dir { .. })
    }

    fn werr(&self, err: impl Into<io::Error>) -> Error {
        Error::Write {
            path: self.target.clone(),
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
            Sink::Dir { tmp, current } => {
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
                let path = tmp.path().join(rel);
                if name.ends_with('/') {
                    // A ZIP's directory entry (as `zip -r` writes): a folder.
                    std::fs::create_dir_all(path)?;
                    return Ok(());
                }
                if let Some(p) = path.parent() {
                    std::fs::create_dir_all(p)?;
                }
                *current = Some(BufWriter::with_capacity(1 << 20, File::create(path)?));
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

    /// Completes the output and renames it into place.
    pub fn finish(self) -> Result<()> {
        let target = self.target.clone();
        let werr = |source: io::Error| Error::Write {
            path: target.clone(),
            source,
        };
        match self.sink {
            Sink::Zip { zip, tmp_path } => {
                let file = zip.finish().map_err(werr)?;
                file.sync_all().map_err(werr)?;
                drop(file);
                tmp_path.persist(&self.target).map_err(|e| werr(e.error))?;
            }
            Sink::Dir { tmp, current } => {
                if let Some(mut f) = current {
                    f.flush().map_err(werr)?;
                }
                if self.target.exists() {
                    // Checked empty at creation; remove it so the rename can land.
                    std::fs::remove_dir(&self.target).map_err(werr)?;
                }
                let path = tmp.keep();
                if let Err(e) = std::fs::rename(&path, &self.target) {
                    let _ = std::fs::remove_dir_all(&path);
                    return Err(werr(e));
                }
            }
        }
        Ok(())
    }
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
