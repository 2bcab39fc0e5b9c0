//! Your own migrations against the same change written in Rust, on the
//! generated VideoAI snapshot (the one `benches/e2e.sh` uses):
//!
//! - document-only: `cleanupVideoFields` (fixed mode, the built-in) against
//!   `benches/convex/migrations.ts:cleanupVideoFields` (the same change as a
//!   `migrateOne`), over `videos`;
//! - one `ctx.db.get` per document: `copyVideoStatus` over
//!   `creditTransactions`, in JavaScript, against a Rust migration here that
//!   does the same through the engine's `Db` API.
//!
//! Each pair must write byte-identical snapshots (checked). For each case:
//! the whole migrate (open, check, migrate, write the ZIP) wall time, and
//! the migration step alone, in wall time and in CPU seconds of the
//! process, with documents per CPU second.
//!
//!   cargo bench --bench user_code                       # 1,000,000 videos, 3 runs
//!   VIDEOS=100000 RUNS=1 cargo bench --bench user_code  # a quick look
//!
//! Results go to stdout as a Markdown table. See BENCHMARKS.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use convex_snapshot::archive::{ArchiveWriter, Compression, Destination};
use convex_snapshot::engine::{Change, Db, Effect, default_now, preflight, write_snapshot};
use convex_snapshot::error::Result;
use convex_snapshot::js::{Limits, Project};
use convex_snapshot::migrations::user::{Found, OnThrow, UserMigration};
use convex_snapshot::migrations::{self, Migration, Mode, Outcome};
use convex_snapshot::progress::Progress;
use convex_snapshot::snapshot::Snapshot;
use convex_snapshot::value::Value;

/// The Rust side of the lookup case: each transaction gets its video's
/// status, or "deleted". A Rust migration reads the table it looks up once
/// (a map of `_id` to status), then maps the other.
struct CopyVideoStatus;

impl Migration for CopyVideoStatus {
    fn name(&self) -> &str {
        "copyVideoStatus (Rust)"
    }

    fn description(&self) -> &'static str {
        "each credit transaction records its video's status"
    }

    fn run(&self, db: &mut Db, _mode: Mode) -> Result<Outcome> {
        let status: HashMap<String, Value> = db
            .gather_fields("videos", &["status"], |v| {
                Some((v.id().to_owned(), v.get("status")?.clone()))
            })?
            .into_iter()
            .collect();
        let deleted = Value::String("deleted".into());
        let result = db.map("creditTransactions", None, |tx| {
            let Some(Value::String(video)) = tx.get("videoId") else {
                return Ok(Effect::keep());
            };
            let s = status.get(video.as_str()).unwrap_or(&deleted).clone();
            Ok(Effect::change(Change::Patch(vec![(
                "videoStatus".into(),
                Some(s),
            )])))
        })?;
        let mut out = Outcome::default();
        out.count("visited", result.rows);
        Ok(out)
    }
}

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted from after the command name.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

struct Timing {
    whole: f64,
    step_wall: f64,
    step_cpu: f64,
    docs: u64,
}

fn run_once(input: &Path, m: &dyn Migration, out: &Path) -> Timing {
    let _ = std::fs::remove_file(out);
    let start = Instant::now();
    let snap = Snapshot::open(input).unwrap();
    let pre = preflight(&snap, true).unwrap();
    let now = default_now(pre.max_creation_time).unwrap();
    let mut db = Db::open(&snap, &pre, now, out.parent().unwrap(), true).unwrap();
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let report = migrations::run(m, &mut db, Mode::Fixed).unwrap();
    let (step_wall, step_cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    assert_eq!(report.errors(), 0, "{}", report.summary(""));
    let docs = report
        .result
        .get("visited")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let mut writer = ArchiveWriter::create(&Destination::zip(out), Compression::Default).unwrap();
    write_snapshot(&db, &mut writer, &Progress::hidden()).unwrap();
    writer.finish().unwrap();
    Timing {
        whole: start.elapsed().as_secs_f64(),
        step_wall,
        step_cpu,
        docs,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let videos: u64 = std::env::var("VIDEOS")
        .ok()
        .map(|v| v.parse().expect("VIDEOS is a number"))
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .map(|v| v.parse().expect("RUNS is a number"))
        .unwrap_or(3);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work).unwrap();
    let input = work.join(format!("videoai-{videos}.zip"));
    if !input.exists() {
        eprintln!("generating {} ({videos} videos)", input.display());
        convex_snapshot::generate::write_snapshot(
            &Destination::zip(&input),
            convex_snapshot::generate::Plan::new(1, videos),
            Compression::Default,
        )
        .unwrap();
    }
    let project = Arc::new(Project::at(&root.join("benches/convex")));
    let user = |name: &str| -> UserMigration {
        let Some(Found::Migration { file, name }) =
            convex_snapshot::migrations::user::find(&project, name).unwrap()
        else {
            panic!("benches/convex has no migration {name}");
        };
        UserMigration {
            project: project.clone(),
            display: name.canonical(),
            name,
            file,
            on_throw: OnThrow::List,
            limits: Limits::default(),
            reset: false,
        }
    };
    let builtin = migrations::find("cleanupVideoFields").unwrap();
    let js_cleanup = user("migrations:cleanupVideoFields");
    let js_lookup = user("migrations:copyVideoStatus");
    let pairs: [(&str, &dyn Migration, &dyn Migration); 2] = [
        (
            "document-only (cleanupVideoFields, videos)",
            builtin,
            &js_cleanup,
        ),
        (
            "one ctx.db.get per document (copyVideoStatus, creditTransactions)",
            &CopyVideoStatus,
            &js_lookup,
        ),
    ];
    println!(
        "{videos} videos, {} threads, median of {runs}\n",
        rayon::current_num_threads()
    );
    println!(
        "| case | code | whole migrate | migration step | step CPU | documents per CPU-second | whole, JS / Rust |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (case, rust, js) in pairs {
        let outs = [
            work.join("user-code-rust.zip"),
            work.join("user-code-js.zip"),
        ];
        let mut t: [Vec<Timing>; 2] = [Vec::new(), Vec::new()];
        // Interleaved, so both sides see the same machine.
        for _ in 0..runs {
            for (i, m) in [rust, js].into_iter().enumerate() {
                t[i].push(run_once(&input, m, &outs[i]));
            }
        }
        assert!(
            std::fs::read(&outs[0]).unwrap() == std::fs::read(&outs[1]).unwrap(),
            "{case}: the JavaScript and the Rust outputs differ"
        );
        // The documents each side went through: the JavaScript visits every
        // document of the table, and reports it.
        let docs = t[1][0].docs;
        let whole: Vec<f64> = t
            .iter()
            .map(|v| median(v.iter().map(|x| x.whole).collect()))
            .collect();
        for (i, label) in ["Rust", "JS"].iter().enumerate() {
            let step = median(t[i].iter().map(|x| x.step_wall).collect());
            let cpu = median(t[i].iter().map(|x| x.step_cpu).collect());
            let ratio = if i == 1 {
                format!("{:.2}x", whole[1] / whole[0])
            } else {
                String::new()
            };
            println!(
                "| {case} | {label} | {:.2} s | {step:.2} s | {cpu:.2} s | {} | {ratio} |",
                whole[i],
                convex_snapshot::progress::with_commas((docs as f64 / cpu) as u64),
            );
        }
        for o in &outs {
            let _ = std::fs::remove_file(o);
        }
    }
}
