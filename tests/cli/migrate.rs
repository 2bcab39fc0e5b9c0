//! `migrate` with no migration: a copy that keeps every document, written
//! atomically and deterministically.

use crate::common::*;

#[test]
fn zip_copy_keeps_every_entry_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zip");
    let r = run(&[
        "migrate".as_ref(),
        sample().as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_zip(&out), read_zip(&sample()));
    // Raw copies: the compressed streams are the input's own.
    let a = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let b = zip::ZipArchive::new(std::fs::File::open(sample()).unwrap()).unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(sample()).unwrap()
    );
}

#[test]
fn directory_to_zip_keeps_every_file_in_export_order() {
    let entries = vec![
        (
            "users/documents.jsonl",
            &b"{\"_creationTime\":1.5,\"name\":\"b\"}\n"[..],
        ),
        ("users/generated_schema.jsonl", b"\"uniform\"\n"),
        (
            "_tables/documents.jsonl",
            b"{\"name\":\"users\",\"id\":10001}\n",
        ),
        ("README.md", b"readme"),
        ("_storage/documents.jsonl", b""),
    ];
    let dir = tempfile::tempdir().unwrap();
    let src = make_dir(dir.path(), "export", &entries);
    let out = dir.path().join("out.zip");
    let r = run(&[
        "migrate".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let got = read_zip(&out);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "README.md",
            "_tables/documents.jsonl",
            "users/documents.jsonl",
            "users/generated_schema.jsonl",
            "_storage/documents.jsonl"
        ]
    );
    for (name, data) in &entries {
        let (_, copied) = got.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(copied, data, "{name}");
    }
    // Same input, same bytes.
    let out2 = dir.path().join("out2.zip");
    let r = run(&[
        "migrate".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        out2.as_os_str(),
    ]);
    assert_eq!(r.code, 0);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

#[test]
fn output_must_not_be_the_input_and_must_be_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zip");
    std::fs::copy(sample(), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        input.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is the input snapshot"), "{}", r.stderr);
    let other_spelling = dir.path().join(".").join("in.zip");
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        other_spelling.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        dir.path().join("out.tar").as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("must end in .zip"), "{}", r.stderr);
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert_eq!(files_in(dir.path()), ["in.zip"]);
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("export");
    std::fs::create_dir(&src).unwrap();
    for (name, data) in read_zip(&sample()) {
        let p = src.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("out{threads}.zip"));
        let r = run(&[
            "--threads".as_ref(),
            threads.as_ref(),
            "migrate".as_ref(),
            src.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        outputs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn reads_and_copies_a_zip_laid_out_as_convex_writes_it() {
    let docs = format!(
        "{{\"_creationTime\":1754150400123.4,\"_id\":\"{}\",\"name\":\"Bea\",\"n\":5}}\n",
        id(10001, 1)
    );
    let mut entries = vec![("README.md".to_string(), b"# Welcome\n".to_vec())];
    entries.extend(one_table("users", 10001, &docs));
    let dir = tempfile::tempdir().unwrap();
    let input = make_convex_style_zip(dir.path(), "convex.zip", &refs(&entries));
    let r = run(&[
        "validate".as_ref(),
        input.as_os_str(),
        "--deny-warnings".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run(&["inspect".as_ref(), input.as_os_str(), "--json".as_ref()]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["components"][0]["tables"][0]["fields"]["n"]["types"]["int64"],
        1
    );
    let out = dir.path().join("out.zip");
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = read_zip(&out);
    assert_eq!(got, entries);
    let r = run(&[
        "validate".as_ref(),
        out.as_os_str(),
        "--deny-warnings".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}
