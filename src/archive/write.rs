//! The only writer of snapshot ZIPs. Output is deterministic (fixed entry
//! timestamps and permissions, entries in the order they are added) and
//! atomic: bytes go to a temporary file beside the target, which is renamed
//! over the target only by [`ArchiveWriter::finish`]. Dropping the writer
//! without finishing deletes the temporary file, so a failed run leaves no
//! partial output.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek};
use std::path::{Path, PathBuf};

use zip::write::{SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime};

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
    fn options(self) -> SimpleFileOptions {
        let base = SimpleFileOptions::default()
            .last_modified_time(DateTime::DEFAULT)
            .unix_permissions(0o644);
        match self {
            Compression::Stored => base.compression_method(CompressionMethod::Stored),
            Compression::Fast => base
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(1)),
            Compression::Default => base
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(6)),
            Compression::Best => base
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(9)),
        }
    }
}

/// Writes a snapshot ZIP to a temporary file and renames it into place.
pub struct ArchiveWriter {
    zip: ZipWriter<BufWriter<File>>,
    tmp_path: tempfile::TempPath,
    target: PathBuf,
    compression: Compression,
}

const LARGE_FILE: u64 = 0xFFFF_FFFF;

impl ArchiveWriter {
    /// Starts a new archive that will become `target` on success.
    pub fn create(target: &Path, compression: Compression) -> Result<ArchiveWriter> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let werr = |source| Error::Write {
            path: target.to_owned(),
            source,
        };
        let tmp = tempfile::Builder::new()
            .prefix(".convex-snapshot-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(&dir)
            .map_err(werr)?;
        let (file, tmp_path) = tmp.into_parts();
        Ok(ArchiveWriter {
            zip: ZipWriter::new(BufWriter::with_capacity(1 << 20, file)),
            tmp_path,
            target: target.to_owned(),
            compression,
        })
    }

    fn werr(&self, err: impl Into<io::Error>) -> Error {
        Error::Write {
            path: self.target.clone(),
            source: err.into(),
        }
    }

    /// Copies a ZIP entry without decompressing it.
    pub(super) fn raw_copy<R: Read + Seek>(
        &mut self,
        file: zip::read::ZipFile<'_, R>,
        name: &str,
    ) -> Result<()> {
        self.zip
            .raw_copy_file(file)
            .map_err(|e| Error::entry(name, format!("cannot copy: {e}")))
    }

    /// Adds an entry from a stream of `size` bytes.
    pub fn add_stream(&mut self, name: &str, size: u64, reader: &mut dyn Read) -> io::Result<()> {
        let opts = self.compression.options().large_file(size >= LARGE_FILE);
        self.zip.start_file(name, opts)?;
        io::copy(reader, &mut self.zip)?;
        Ok(())
    }

    /// Starts an entry whose bytes follow through [`ArchiveWriter::write_chunk`].
    /// `large` must be true when it may reach 4 GiB (Zip64 sizes).
    pub fn start_entry(&mut self, name: &str, large: bool) -> Result<()> {
        let opts = self.compression.options().large_file(large);
        self.zip.start_file(name, opts).map_err(|e| self.werr(e))
    }

    /// Appends bytes to the entry begun by [`ArchiveWriter::start_entry`].
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<()> {
        use std::io::Write as _;
        self.zip.write_all(data).map_err(|e| self.werr(e))
    }

    /// Adds an entry from bytes in memory.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add_stream(name, data.len() as u64, &mut &data[..])
            .map_err(|e| self.werr(e))
    }

    /// Finishes the ZIP, flushes it to disk and renames it over the target.
    pub fn finish(self) -> Result<()> {
        let target = self.target.clone();
        let werr = |source: io::Error| Error::Write {
            path: target.clone(),
            source,
        };
        let buf = self.zip.finish().map_err(|e| werr(e.into()))?;
        let file = buf.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        drop(file);
        self.tmp_path
            .persist(&self.target)
            .map_err(|e| werr(e.error))?;
        Ok(())
    }
}
