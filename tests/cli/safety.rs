//! Nothing lost, nothing leaked: outputs and reports never land on an
//! input or on each other, an existing output needs --force, interrupted
//! runs leave no temporary copy of user data (and later runs sweep what a
//! killed one left), and inputs that are not regular files are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Names in `dir` that start with the scratch prefix.
fn scratch_in(dir: &Path) -> Vec<String> {
    files_in(dir)
        .into_iter()
        .filter(|f| f.starts_with(".convex-snapshot-"))
        .collect()
}

#[test]
fn the_report_gets_the_same_guards_as_the_output_and_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zip");
    std::fs::copy(sample(), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let folder = make_dir(dir.path(), "folder", &refs(&read_zip(&sample())));
    let out = dir.path().join("out.zip");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "migrate",
                s(&input),
                "--all",
                "--dry-run",
                "--report",
                s(&input),
            ],
            "would write into the input snapshot",
        ),
        (
            vec![
                "migrate",
                s(&folder),
                "--all",
                "--dry-run",
                "--report",
                Box::leak(format!("{}/r.json", s(&folder)).into_boxed_str()),
            ],
            "would write into the input snapshot",
        ),
        (
            vec![
                "migrate",
                s(&input),
                "-o",
                s(&out),
                "--all",
                "--report",
                s(&out),
            ],
            "is where the output snapshot goes",
        ),
        (
            vec![
                "migrate",
                s(&input),
                "-o",
                s(&out),
                "--all",
                "--report",
                s(&input),
            ],
            "would write into the input snapshot",
        ),
        (
            vec![
                "migrate",
                s(&input),
                "--all",
                "--dry-run",
                "--report",
                s(dir.path()),
            ],
            "names a folder",
        ),
    ];
    for (args, needle) in cases {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
    assert!(!out.exists());
    // An existing report needs --force; written whole, nothing left beside it.
    let report = dir.path().join("run.json");
    std::fs::write(&report, "keep me").unwrap();
    let r = run(&[
        "migrate",
        s(&input),
        "analyzeStorageDistribution",
        "--report",
        s(&report),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "keep me");
    let r = run(&[
        "migrate",
        s(&input),
        "analyzeStorageDistribution",
        "--report",
        s(&report),
        "--force",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        v["migrations"][0]["migration"],
        "analyzeStorageDistribution"
    );
    assert!(scratch_in(dir.path()).is_empty());
    // `--report -` is standard output.
    let r = run(&[
        "migrate",
        s(&input),
        "analyzeStorageDistribution",
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["migrations"][0]["result"]["allVideos"], 120);
}

#[test]
fn an_existing_output_needs_force_and_a_replaced_folder_must_be_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zip");
    std::fs::write(&out, "old").unwrap();
    let r = run(&["migrate", s(&sample()), "-o", s(&out)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("already exists; choose another path, or give --force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    let r = run(&["migrate", s(&sample()), "-o", s(&out), "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_zip(&out), read_zip(&sample()));
    for cmd in [
        vec!["pack", s(&sample()), "-o", s(&out)],
        vec!["generate", "-o", s(&out), "--videos", "3"],
    ] {
        let r = run(&cmd);
        assert_eq!(r.code, 2, "{cmd:?}");
        assert!(r.stderr.contains("--force"), "{}", r.stderr);
    }
    // Folders: an empty one is used, a snapshot folder is replaced with
    // --force, anything else is never replaced.
    let folder = dir.path().join("unpacked");
    std::fs::create_dir(&folder).unwrap();
    assert_eq!(run(&["unpack", s(&sample()), s(&folder)]).code, 0);
    let r = run(&["unpack", s(&sample()), s(&folder)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    assert_eq!(
        run(&["unpack", s(&sample()), s(&folder), "--force"]).code,
        0
    );
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "precious").unwrap();
    let r = run(&["unpack", s(&sample()), s(&mine), "--force"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("notes.txt is not a snapshot file"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "precious"
    );
    assert!(scratch_in(dir.path()).is_empty());
}

#[test]
fn folder_names_any_name_for_unpack_and_a_trailing_slash_for_migrate() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["unp.v2", "x.zip"] {
        let out = dir.path().join(name);
        let r = run(&["unpack", s(&sample()), s(&out)]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert!(out.join("_tables/documents.jsonl").is_file());
    }
    let dotted = format!("{}/backup-2026.12.02", s(dir.path()));
    let r = run(&["migrate", s(&sample()), "-o", &dotted]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("add a trailing /"), "{}", r.stderr);
    let r = run(&[
        "migrate",
        s(&sample()),
        "-o",
        &format!("{dotted}/"),
        "cleanupVideoFields",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(Path::new(&dotted).join("videos/documents.jsonl").is_file());
    let r = run(&["unpack", s(&sample()), "-"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot be written to standard output"),
        "{}",
        r.stderr
    );
}

#[test]
fn dash_is_standard_input_and_output() {
    let zip = std::fs::read(sample()).unwrap();
    let (r, _) = run_with_stdin(&["validate", "-"], &zip);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("(standard input): 10 tables"),
        "{}",
        r.stdout
    );
    // A ZIP on standard output reads back as the same snapshot.
    let (r, bytes) = run_with_stdin(
        &["migrate", "-", "-o", "-", "cleanupVideoFields", "-q"],
        &zip,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let piped = dir.path().join("piped.zip");
    std::fs::write(&piped, &bytes).unwrap();
    let direct = dir.path().join("direct.zip");
    assert_eq!(
        run(&[
            "migrate",
            s(&sample()),
            "-o",
            s(&direct),
            "cleanupVideoFields",
            "-q"
        ])
        .code,
        0
    );
    assert_eq!(
        std::fs::read(&direct).unwrap(),
        bytes,
        "the same bytes either way"
    );
    let (r, bytes) = run_with_stdin(&["generate", "-o", "-", "--videos", "3"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(bytes.starts_with(b"PK"));
    // Two users of standard output, or two inputs from it, are refused.
    let r = run(&["migrate", s(&sample()), "-o", "-", "--all", "--json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("standard output"), "{}", r.stderr);
    let r = run(&["diff", "-", "-"]);
    assert_eq!(r.code, 2);
    // Bad input on standard input: one error, no spool left.
    let (r, _) = run_with_stdin(&["inspect", "-"], b"not a zip");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("(standard input) is not a readable ZIP archive"),
        "{}",
        r.stderr
    );
}

#[test]
fn folder_inputs_refuse_links_fifos_and_devices() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let base = make_dir(dir.path(), "snap", &refs(&one_table("users", 10001, "")));
    std::os::unix::fs::symlink(&outside, base.join("linked")).unwrap();
    let r = run(&["inspect", s(&base)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("linked is a symbolic link"),
        "{}",
        r.stderr
    );
    std::fs::remove_file(base.join("linked")).unwrap();
    let fifo = base.join("users/pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for cmd in ["inspect", "validate"] {
        let r = run(&[cmd, s(&base)]);
        assert_eq!(r.code, 2, "{cmd}");
        assert!(r.stderr.contains("pipe is a FIFO"), "{}", r.stderr);
    }
    let r = run(&["inspect", "/dev/zero"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/dev/zero is a device"), "{}", r.stderr);
    let r = run(&["pack", s(&base), "-o", s(&dir.path().join("p.zip"))]);
    assert_eq!(r.code, 2);
}

#[test]
fn threads_and_clocks_are_bounded() {
    let r = run(&["--threads", "100000", "inspect", s(&sample())]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--threads must be between 1 and 256"),
        "{}",
        r.stderr
    );
    for now in ["0", "10000000000000"] {
        let r = run(&["migrate", s(&sample()), "--all", "--dry-run", "--now", now]);
        assert_eq!(r.code, 2, "--now {now}");
    }
    // A _creationTime far past 2^53 does not become the default clock.
    let dir = tempfile::tempdir().unwrap();
    let docs = format!(
        "{{\"_creationTime\":1e300,\"_id\":\"{}\",\"model\":\"m\"}}\n{{\"_creationTime\":1700000000000.5,\"_id\":\"{}\",\"model\":\"m\"}}\n",
        id(10002, 1),
        id(10002, 2)
    );
    let input = make_zip(
        dir.path(),
        "in.zip",
        &refs(&one_table("videos", 10002, &docs)),
    );
    let r = run(&[
        "migrate",
        s(&input),
        "cleanupVideoFields",
        "--dry-run",
        "--json",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["now"], 1_700_000_000_001u64);
}

#[test]
fn another_apps_snapshot_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let docs = format!("{{\"_creationTime\":1.5,\"_id\":\"{}\"}}\n", id(10001, 1));
    let input = make_zip(
        dir.path(),
        "other.zip",
        &refs(&one_table("todos", 10001, &docs)),
    );
    let out = dir.path().join("out.zip");
    let r = run(&["migrate", s(&input), "-o", s(&out), "--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the snapshot has no videos table, which migrateVideoParameters works on"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("[1/5] migrateVideoParameters"),
        "{}",
        r.stderr
    );
    std::fs::remove_file(&out).unwrap();
    // --strict fails on it, and says why even with -q.
    let r = run(&[
        "migrate",
        s(&input),
        "-o",
        s(&out),
        "--all",
        "--strict",
        "-q",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "--strict: 5 migration(s) found no table of the app's to work on; nothing written"
        ),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    // init refuses it unless told.
    let r = run(&["migrate", s(&input), "-o", s(&out), "init"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Give --new-app to seed it anyway"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "migrate",
        s(&input),
        "-o",
        s(&out),
        "init",
        "--new-app",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A generated snapshot big enough that a debug build takes a while on it.
fn big_snapshot(dir: &Path) -> PathBuf {
    let p = dir.join("big.zip");
    let r = run(&[
        "generate",
        "-o",
        s(&p),
        "--videos",
        "20000",
        "--compression",
        "fast",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p
}

/// Starts `args`, waits until a scratch folder appears in `watch`, sends
/// `signal`, and returns the exit code.
fn interrupt(args: &[&str], watch: &Path, signal: &str) -> Option<i32> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convex-snapshot"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while scratch_in(watch).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{args:?} ended before it could be interrupted: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no scratch folder appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success()
    );
    child.wait().unwrap().code()
}

#[test]
fn interrupted_runs_leave_no_temporary_copy_and_the_old_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_snapshot(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let old = out.join("old.zip");
    std::fs::write(&old, "the previous output").unwrap();
    let unpacked = out.join("u");
    let folder = dir.path().join("folder");
    assert_eq!(run(&["unpack", s(&input), s(&folder), "-q"]).code, 0);
    let runs: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["migrate", s(&input), "-o", s(&old), "--all", "--force"],
            "-INT",
        ),
        (
            vec!["migrate", s(&input), "-o", s(&old), "--all", "--force"],
            "-TERM",
        ),
        (vec!["unpack", s(&input), s(&unpacked)], "-INT"),
        (
            vec![
                "pack",
                s(&folder),
                "-o",
                s(&old),
                "--force",
                "--compression",
                "best",
            ],
            "-TERM",
        ),
        (
            vec!["generate", "-o", s(&old), "--videos", "200000", "--force"],
            "-INT",
        ),
    ];
    for (args, signal) in runs {
        let code = interrupt(&args, &out, signal);
        assert_eq!(code, Some(130), "{args:?} {signal}");
        assert!(
            scratch_in(&out).is_empty(),
            "{args:?} {signal}: {:?}",
            files_in(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&old).unwrap(),
            "the previous output"
        );
        assert!(!unpacked.exists());
    }
}

#[test]
fn a_killed_runs_leftovers_are_swept_and_a_live_runs_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_snapshot(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // SIGKILL cannot be caught: the folder stays, its lock dies.
    let code = interrupt(
        &["migrate", s(&input), "-o", s(&out.join("a.zip")), "--all"],
        &out,
        "-KILL",
    );
    assert_eq!(code, None);
    let left = scratch_in(&out);
    assert_eq!(left.len(), 1, "{left:?}");
    // A folder that looks like ours but whose lock a live process holds.
    let held = out.join(".convex-snapshot-held");
    std::fs::create_dir(&held).unwrap();
    let lock = std::fs::File::create(held.join("lock")).unwrap();
    lock.lock().unwrap();
    // Both are older than the next run.
    let past = std::time::SystemTime::now() - Duration::from_secs(5);
    for name in scratch_in(&out) {
        let p = out.join(&name);
        std::fs::File::open(&p).unwrap().set_modified(past).unwrap();
        std::fs::File::open(p.join("lock"))
            .unwrap()
            .set_modified(past)
            .unwrap();
    }
    let r = run(&[
        "migrate",
        s(&sample()),
        "-o",
        s(&out.join("b.zip")),
        "cleanupVideoFields",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(scratch_in(&out), vec![".convex-snapshot-held".to_string()]);
    drop(lock);
}
