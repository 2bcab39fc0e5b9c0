//! The library's error type. Every variant says what went wrong and where: a
//! path, a ZIP entry, or an entry and a line.

use std::io;
use std::path::PathBuf;

/// An error that stops a command (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a readable ZIP archive", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{entry}: {message}")]
    Entry { entry: String, message: String },
    #[error("{entry} line {line}: {message}")]
    Line {
        entry: String,
        line: usize,
        message: String,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An error at a line of an entry.
    pub fn line(entry: &str, line: usize, message: impl std::fmt::Display) -> Error {
        Error::Line {
            entry: entry.to_owned(),
            line,
            message: message.to_string(),
        }
    }

    /// An error while reading a ZIP entry: a CRC mismatch, a truncated
    /// stream, bad deflate data.
    pub fn entry(entry: &str, err: impl std::fmt::Display) -> Error {
        Error::Entry {
            entry: entry.to_owned(),
            message: err.to_string(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
