//! Helpers: run the binary, build ZIPs and directories from literal entries.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use convex_snapshot::id::DocumentId;

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `convex-snapshot` with these arguments.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_convex-snapshot"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run the binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A valid ID of row `n` in table `number`.
pub fn id(number: u32, n: u8) -> String {
    let mut internal = [n; 16];
    internal[0] = 0x10;
    DocumentId::new(number, internal).encode()
}

/// Writes a ZIP with Stored entries, as the backend's own test helper does.
pub fn make_zip(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::DEFAULT);
    for (name, data) in entries {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// Writes the entries as files under `dir/name/`.
pub fn make_dir(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    let root = dir.join(name);
    for (name, data) in entries {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    root
}

/// Every entry of a ZIP: name and uncompressed bytes, in archive order.
pub fn read_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

/// A one-table uniform snapshot: `_tables`, the documents and the sidecar.
pub fn one_table(table: &str, number: u32, docs: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "_tables/documents.jsonl".into(),
            format!("{{\"name\":\"{table}\",\"id\":{number}}}\n").into_bytes(),
        ),
        (format!("{table}/documents.jsonl"), docs.as_bytes().to_vec()),
        (
            format!("{table}/generated_schema.jsonl"),
            b"\"uniform\"\n".to_vec(),
        ),
    ]
}

/// Borrows owned entries for `make_zip`/`make_dir`.
pub fn refs(entries: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect()
}

/// Files left in a directory (to check that nothing partial was written).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The generated sample shipped in `fixtures/`.
pub fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/videoai-sample.zip")
}

/// Writes a ZIP laid out byte for byte the way Convex's exporter (async_zip
/// 0.0.18) writes it (docs/export-format.md, section 1): streamed entries with
/// flags 0x0808, Zip64 always, 0xFFFFFFFF sizes in the local header, a data
/// descriptor whose sizes are the 4-byte 0xFFFFFFFF quirk, the real sizes only
/// in the central directory's Zip64 extra field, DOS time 0, mode 0644.
/// Entries are Stored here (the layout, not the codec, is what is tested).
pub fn make_convex_style_zip(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    fn u16le(v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn u32le(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn u64le(v: &mut Vec<u8>, x: u64) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u64;
        let crc = crc32(data);
        // Local header.
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, 0x0808);
        u16le(&mut out, 0); // Stored
        u16le(&mut out, 0);
        u16le(&mut out, 0);
        u32le(&mut out, 0);
        u32le(&mut out, 0xFFFF_FFFF);
        u32le(&mut out, 0xFFFF_FFFF);
        u16le(&mut out, name.len() as u16);
        u16le(&mut out, 20);
        out.extend_from_slice(name.as_bytes());
        u16le(&mut out, 0x0001);
        u16le(&mut out, 16);
        u64le(&mut out, 0);
        u64le(&mut out, 0);
        out.extend_from_slice(data);
        // Data descriptor with the 4-byte 0xFFFFFFFF sizes quirk.
        u32le(&mut out, 0x0807_4b50);
        u32le(&mut out, crc);
        u32le(&mut out, 0xFFFF_FFFF);
        u32le(&mut out, 0xFFFF_FFFF);
        // Central directory entry.
        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, 0x033F);
        u16le(&mut central, 20);
        u16le(&mut central, 0x0808);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u32le(&mut central, crc);
        u32le(&mut central, 0xFFFF_FFFF);
        u32le(&mut central, 0xFFFF_FFFF);
        u16le(&mut central, name.len() as u16);
        u16le(&mut central, 28);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u32le(&mut central, 0o644 << 16);
        u32le(&mut central, 0xFFFF_FFFF);
        central.extend_from_slice(name.as_bytes());
        u16le(&mut central, 0x0001);
        u16le(&mut central, 24);
        u64le(&mut central, data.len() as u64);
        u64le(&mut central, data.len() as u64);
        u64le(&mut central, offset);
    }
    let cd_offset = out.len() as u64;
    let cd_len = central.len() as u64;
    out.extend_from_slice(&central);
    let zip64_eocd = out.len() as u64;
    let n = entries.len() as u64;
    u32le(&mut out, 0x0606_4b50);
    u64le(&mut out, 44);
    u16le(&mut out, 0x033F);
    u16le(&mut out, 46);
    u32le(&mut out, 0);
    u32le(&mut out, 0);
    u64le(&mut out, n);
    u64le(&mut out, n);
    u64le(&mut out, cd_len);
    u64le(&mut out, cd_offset);
    u32le(&mut out, 0x0706_4b50);
    u32le(&mut out, 0);
    u64le(&mut out, zip64_eocd);
    u32le(&mut out, 1);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, n as u16);
    u16le(&mut out, n as u16);
    u32le(&mut out, cd_len as u32);
    u32le(&mut out, cd_offset as u32);
    u16le(&mut out, 0);
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

/// CRC-32 (IEEE), bit by bit: test code, no speed needed.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One entry of [`raw_zip`], with central directory fields that may lie.
#[derive(Clone, Copy, Default)]
pub struct RawEntry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    pub deflate: bool,
    /// Override what the central directory declares.
    pub cd_size: Option<u32>,
    pub cd_compressed: Option<u32>,
    pub cd_crc: Option<u32>,
    /// Point this entry's central record at entry N's local header.
    pub same_offset_as: Option<usize>,
}

impl<'a> RawEntry<'a> {
    pub fn new(name: &'a str, data: &'a [u8]) -> RawEntry<'a> {
        RawEntry {
            name,
            data,
            ..RawEntry::default()
        }
    }
}

/// A plain ZIP (no Zip64, no data descriptors) built byte by byte, so tests
/// can make its central directory say what they want.
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    fn u16le(v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn u32le(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        let body = if e.deflate {
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            z.write_all(e.data).unwrap();
            z.finish().unwrap()
        } else {
            e.data.to_vec()
        };
        let crc = crc32(e.data);
        let method: u16 = if e.deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        offsets.push(offset);
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, 0);
        u16le(&mut out, method);
        u16le(&mut out, 0);
        u16le(&mut out, 0x21);
        u32le(&mut out, crc);
        u32le(&mut out, body.len() as u32);
        u32le(&mut out, e.data.len() as u32);
        u16le(&mut out, e.name.len() as u16);
        u16le(&mut out, 0);
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&body);
        let offset = e.same_offset_as.map_or(offset, |i| offsets[i]);
        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, 0x031E);
        u16le(&mut central, 20);
        u16le(&mut central, 0);
        u16le(&mut central, method);
        u16le(&mut central, 0);
        u16le(&mut central, 0x21);
        u32le(&mut central, e.cd_crc.unwrap_or(crc));
        u32le(&mut central, e.cd_compressed.unwrap_or(body.len() as u32));
        u32le(&mut central, e.cd_size.unwrap_or(e.data.len() as u32));
        u16le(&mut central, e.name.len() as u16);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u32le(&mut central, 0o100644 << 16);
        u32le(&mut central, offset);
        central.extend_from_slice(e.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, entries.len() as u16);
    u16le(&mut out, entries.len() as u16);
    u32le(&mut out, central.len() as u32);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

/// Runs with these arguments and standard input from `stdin`.
pub fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: &[u8]) -> (Run, Vec<u8>) {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_convex-snapshot"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        out.stdout,
    )
}
