//! `unpack` and `pack`: stable, sorted, canonical directories that round-trip;
//! `migrate` between directories; `migrate --diff`.

use crate::common::*;

#[test]
fn unpack_sorts_rows_and_orders_keys_stably() {
    let a = id(10001, 1);
    let b = id(10001, 2);
    let shuffled = format!(
        "{{\"_id\":\"{b}\",\"_creationTime\":2.5,\"z\":1.0,\"a\":[1,2]}}\n{{\"_creationTime\":1.5,\"_id\":\"{a}\",\"n\":null}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let input = make_zip(
        dir.path(),
        "in.zip",
        &refs(&one_table("users", 10001, &shuffled)),
    );
    let out = dir.path().join("unpacked");
    let r = run(&[
        "unpack".as_ref(),
        input.as_os_str(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let docs = std::fs::read_to_string(out.join("users/documents.jsonl")).unwrap();
    assert_eq!(
        docs,
        format!(
            "{{\"_creationTime\":1.5,\"_id\":\"{a}\",\"n\":null}}\n{{\"_creationTime\":2.5,\"_id\":\"{b}\",\"a\":[1,2],\"z\":1.0}}\n"
        )
    );
    assert_eq!(
        std::fs::read(out.join("users/generated_schema.jsonl")).unwrap(),
        b"\"uniform\"\n"
    );
    // Again, from the unpacked folder: the same bytes.
    let again = dir.path().join("again");
    let r = run(&[
        "unpack".as_ref(),
        out.as_os_str(),
        again.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read(again.join("users/documents.jsonl")).unwrap(),
        docs.as_bytes()
    );
}

#[test]
fn unpack_then_pack_gives_back_every_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample");
    let r = run(&[
        "unpack".as_ref(),
        sample().as_os_str(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let packed = dir.path().join("packed.zip");
    let r = run(&[
        "pack".as_ref(),
        out.as_os_str(),
        "-o".as_ref(),
        packed.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut before = read_zip(&sample());
    let mut after = read_zip(&packed);
    before.sort();
    after.sort();
    assert_eq!(
        before, after,
        "the sample is canonical already: every entry comes back byte for byte"
    );
    let r = run(&["diff".as_ref(), sample().as_os_str(), packed.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = run(&["validate".as_ref(), packed.as_os_str()]);
    assert_eq!(v.code, 0, "{}", v.stdout);
}

#[test]
fn unpack_and_pack_refuse_bad_targets() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("x"), b"x").unwrap();
    let r = run(&["unpack".as_ref(), sample().as_os_str(), full.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    let r = run(&[
        "pack".as_ref(),
        full.as_os_str(),
        "-o".as_ref(),
        dir.path().join("out").as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    let r = run(&[
        "pack".as_ref(),
        full.as_os_str(),
        "-o".as_ref(),
        full.join("inside.zip").as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("inside the input folder"), "{}", r.stderr);
    assert_eq!(files_in(&full), ["x"]);
    assert_eq!(files_in(dir.path()), ["full"]);
}

#[test]
fn migrate_reads_and_writes_directories() {
    let dir = tempfile::tempdir().unwrap();
    let src = make_dir(dir.path(), "export", &refs(&read_zip(&sample())));
    let out = dir.path().join("migrated");
    let r = run(&[
        "migrate".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--all".as_ref(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.join("videoParameters/documents.jsonl").is_file());
    let v = run(&["validate".as_ref(), out.as_os_str()]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    // The same run to a ZIP holds the same data.
    let zip = dir.path().join("migrated.zip");
    let r = run(&[
        "migrate".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        zip.as_os_str(),
        "--all".as_ref(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = run(&["diff".as_ref(), zip.as_os_str(), out.as_os_str()]);
    assert_eq!(d.code, 0, "{}", d.stdout);
}

#[test]
fn dry_run_diff_shows_the_change_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zip");
    std::fs::copy(sample(), &input).unwrap();
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "cleanupVideoFields".as_ref(),
        "--dry-run".as_ref(),
        "--diff".as_ref(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("table videos: changed (120 → 120 rows): 0 added, 0 removed, 101 changed"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("shape: - fields thumbnailFileId, thumbnailUrl, title, videoCdnUrl, videoCdnUrlExpiresAt"), "{}", r.stdout);
    assert_eq!(files_in(dir.path()), ["in.zip"]);
    let r = run(&[
        "migrate".as_ref(),
        input.as_os_str(),
        "cleanupVideoFields".as_ref(),
        "--dry-run".as_ref(),
        "--diff".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
    ]);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["diff"]["equal"], serde_json::json!(false));
}

/// A ZIP with directory entries (as `zip -r` makes after an unzip and an
/// edit) unpacks and migrates into folders; the folders hold the same data.
#[test]
fn directory_entries_become_folders() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = read_zip(&sample());
    entries.insert(0, ("videos/".to_owned(), Vec::new()));
    entries.insert(0, ("_storage/".to_owned(), Vec::new()));
    let input = make_zip(dir.path(), "dirs.zip", &refs(&entries));
    let unpacked = dir.path().join("unpacked");
    let migrated = dir.path().join("migrated");
    for args in [
        vec!["unpack".as_ref(), input.as_os_str(), unpacked.as_os_str()],
        vec![
            "migrate".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            migrated.as_os_str(),
        ],
    ] {
        let mut args = args;
        args.push("-q".as_ref());
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    for out in [&unpacked, &migrated] {
        let r = run(&[
            "diff".as_ref(),
            sample().as_os_str(),
            out.as_os_str(),
            "-q".as_ref(),
        ]);
        assert_eq!(r.code, 0, "{}: {}{}", out.display(), r.stdout, r.stderr);
    }
}
