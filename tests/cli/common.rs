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
