//! Reading a ZIP entry as the importer's ZIP reader does, and no more
//! leniently: the data must inflate to exactly the central directory's
//! uncompressed size, use exactly its compressed size, and match its CRC-32.
//! A stream that would grow past the declared size is stopped there, so a
//! ZIP bomb costs no more than its honest declaration.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

/// What the central directory says about an entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Declared {
    pub method: u16,
    pub compressed: u64,
    pub size: u64,
    pub crc: u32,
}

/// The uncompressed bytes of one entry, checked as they are read.
pub(super) struct Checked<R> {
    raw: R,
    declared: Declared,
    inflate: Option<Decompress>,
    input: Vec<u8>,
    at: usize,
    filled: usize,
    /// Compressed bytes read from `raw` so far.
    raw_read: u64,
    /// Uncompressed bytes produced so far.
    out: u64,
    crc: crc32fast::Hasher,
    done: bool,
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<R: Read> Checked<R> {
    /// Wraps the raw (compressed) bytes of an entry.
    pub fn new(raw: R, declared: Declared) -> io::Result<Checked<R>> {
        let inflate = match declared.method {
            0 => {
                if declared.compressed != declared.size {
                    return Err(bad(format!(
                        "a stored entry must have equal sizes, but the central directory says {} compressed and {} uncompressed bytes",
                        declared.compressed, declared.size
                    )));
                }
                None
            }
            8 => Some(Decompress::new(false)),
            other => {
                return Err(bad(format!(
                    "compressed with method {other} ({}), which convex-snapshot cannot read; recompress the ZIP with Deflate",
                    method_name(other)
                )));
            }
        };
        Ok(Checked {
            raw,
            declared,
            inflate,
            input: vec![0; if declared.method == 8 { 64 * 1024 } else { 0 }],
            at: 0,
            filled: 0,
            raw_read: 0,
            out: 0,
            crc: crc32fast::Hasher::new(),
            done: false,
        })
    }

    /// The checks at the end of the data.
    fn finish(&mut self) -> io::Result<()> {
        self.done = true;
        let d = self.declared;
        if self.out != d.size {
            return Err(bad(format!(
                "the data is {} bytes, but the central directory declares {} (uncompressed size)",
                self.out, d.size
            )));
        }
        let left = (self.filled - self.at) as u64 + (d.compressed - self.raw_read);
        if left > 0 {
            return Err(bad(format!(
                "the compressed data ends {left} bytes before its declared compressed size of {}",
                d.compressed
            )));
        }
        let crc = self.crc.clone().finalize();
        // A CRC of 0 in the central directory means "not recorded" to the
        // importer's reader (which then has no CRC to check either).
        if d.crc != 0 && crc != d.crc {
            return Err(bad(format!(
                "Invalid checksum: the data's CRC-32 is {crc:08x}, the central directory says {:08x}",
                d.crc
            )));
        }
        Ok(())
    }

    fn produced(&mut self, data: &[u8]) -> io::Result<()> {
        self.out += data.len() as u64;
        if self.out > self.declared.size {
            self.done = true;
            return Err(bad(format!(
                "File is larger than its declared uncompressed size of {} bytes",
                self.declared.size
            )));
        }
        self.crc.update(data);
        Ok(())
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.declared.compressed - self.raw_read;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.raw.read(&mut buf[..want])?;
        self.raw_read += n as u64;
        if n == 0 {
            return Err(bad(format!(
                "the ZIP ends inside this entry's data ({} of {} compressed bytes)",
                self.raw_read, self.declared.compressed
            )));
        }
        Ok(n)
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.inflate.is_none() {
            let n = self.read_raw(buf)?;
            if n == 0 {
                self.finish()?;
                return Ok(0);
            }
            self.produced(&buf[..n])?;
            if self.raw_read == self.declared.compressed {
                self.finish()?;
            }
            return Ok(n);
        }
        loop {
            if self.at == self.filled && self.raw_read < self.declared.compressed {
                let mut input = std::mem::take(&mut self.input);
                let n = self.read_raw(&mut input);
                self.input = input;
                self.filled = n?;
                self.at = 0;
            }
            let z = self.inflate.as_mut().expect("deflated entry");
            let (before_in, before_out) = (z.total_in(), z.total_out());
            let status = z
                .decompress(
                    &self.input[self.at..self.filled],
                    buf,
                    FlushDecompress::None,
                )
                .map_err(|e| bad(format!("the deflate data is corrupt: {e}")))?;
            let used = (z.total_in() - before_in) as usize;
            let made = (z.total_out() - before_out) as usize;
            self.at += used;
            self.produced(&buf[..made])?;
            if status == Status::StreamEnd {
                self.finish()?;
                return Ok(made);
            }
            if made > 0 {
                return Ok(made);
            }
            if used == 0 && self.at == self.filled && self.raw_read == self.declared.compressed {
                self.done = true;
                return Err(bad(format!(
                    "the deflate data is cut short: it needs more than its declared compressed size of {} bytes",
                    self.declared.compressed
                )));
            }
        }
    }
}

/// A readable name of a ZIP compression method.
pub(super) fn method_name(method: u16) -> &'static str {
    match method {
        0 => "stored",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        99 => "AES encryption",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    fn read(raw: &[u8], d: Declared) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        // Tiny reads exercise the refill paths.
        let mut r = Checked::new(raw, d)?;
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn accepts_exact_declarations_and_refuses_every_mismatch() {
        let data: Vec<u8> = (0..100_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 999) as u8)
            .collect();
        let crc = crc32fast::hash(&data);
        let z = deflate(&data);
        let ok = Declared {
            method: 8,
            compressed: z.len() as u64,
            size: data.len() as u64,
            crc,
        };
        assert_eq!(read(&z, ok).unwrap(), data);
        let stored = Declared {
            method: 0,
            compressed: data.len() as u64,
            size: data.len() as u64,
            crc,
        };
        assert_eq!(read(&data, stored).unwrap(), data);
        let cases = [
            (
                Declared {
                    size: ok.size - 1,
                    ..ok
                },
                "larger than its declared",
            ),
            (
                Declared {
                    size: ok.size + 1,
                    ..ok
                },
                "declares",
            ),
            (Declared { crc: crc ^ 1, ..ok }, "Invalid checksum"),
            (
                Declared {
                    compressed: ok.compressed - 3,
                    ..ok
                },
                "cut short",
            ),
            (
                Declared {
                    size: stored.size + 1,
                    ..stored
                },
                "equal sizes",
            ),
            (
                Declared {
                    crc: crc ^ 1,
                    ..stored
                },
                "Invalid checksum",
            ),
            (Declared { method: 93, ..ok }, "zstd"),
        ];
        for (d, needle) in cases {
            let raw = if d.method == 0 { &data } else { &z };
            let err = read(raw, d).unwrap_err();
            assert!(err.to_string().contains(needle), "{d:?}: {err}");
        }
        // More compressed bytes than the stream uses.
        let mut padded = z.clone();
        padded.extend_from_slice(b"junk");
        let d = Declared {
            compressed: ok.compressed + 4,
            ..ok
        };
        let err = read(&padded, d).unwrap_err();
        assert!(err.to_string().contains("ends 4 bytes before"), "{err}");
        // The ZIP itself is cut inside the data.
        let err = read(&z[..z.len() / 2], ok).unwrap_err();
        assert!(err.to_string().contains("ends inside"), "{err}");
        // Empty entries, stored and deflated.
        let empty = deflate(b"");
        let d = Declared {
            method: 8,
            compressed: empty.len() as u64,
            size: 0,
            crc: 0,
        };
        assert!(read(&empty, d).unwrap().is_empty());
        let d = Declared {
            method: 0,
            compressed: 0,
            size: 0,
            crc: 0,
        };
        assert!(read(b"", d).unwrap().is_empty());
    }

    #[test]
    fn a_bomb_stops_at_its_declared_size() {
        let zeros = vec![0u8; 50 << 20];
        let z = deflate(&zeros);
        let d = Declared {
            method: 8,
            compressed: z.len() as u64,
            size: 1 << 20,
            crc: 0,
        };
        let mut r = Checked::new(&z[..], d).unwrap();
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        let err = loop {
            match r.read(&mut buf) {
                Ok(0) => panic!("read to the end"),
                Ok(n) => total += n as u64,
                Err(e) => break e,
            }
        };
        assert!(total <= 1 << 20);
        assert!(err.to_string().contains("larger than its declared"));
    }
}
