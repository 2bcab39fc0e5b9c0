//! The differential property test of `--mode original`: our own TypeScript
//! transcription of the app's `init` and five migrations
//! (`tests/differential/convex/`), run by the JavaScript engine as whole
//! functions, against the built-ins' `--mode original`, on generated
//! snapshots that put every Convex value type (and none) in every field the
//! code reads. Reports and documents must agree, modulo the documents' `_id`
//! and `_creationTime` and the random seeds (`Math.random()` there, a hash of
//! the video's `_id` here).

use serde_json::{Value as Json, json};

use crate::common::*;
use crate::user_migrations::{Case, case, doc, report};

const FILES: [(&str, &str); 4] = [
    ("init.ts", include_str!("../differential/convex/init.ts")),
    (
        "migrations.ts",
        include_str!("../differential/convex/migrations.ts"),
    ),
    (
        "modelData.ts",
        include_str!("../differential/convex/modelData.ts"),
    ),
    (
        "schema.ts",
        include_str!("../differential/convex/schema.ts"),
    ),
];

/// The chain run both ways, as (the function's name, the built-in's).
/// `ensureModelParametersPopulated` runs thrice, so that it meets
/// `modelParameters` rows of every kind (its `Set` of `modelId`s).
const STEPS: [(&str, &str); 8] = [
    ("init", "init"),
    (ENSURE, "ensureModelParametersPopulated"),
    (
        "migrations:migrateVideoParameters",
        "migrateVideoParameters",
    ),
    (ENSURE, "ensureModelParametersPopulated"),
    (
        "migrations:migrateParameterStructure",
        "migrateParameterStructure",
    ),
    (ENSURE, "ensureModelParametersPopulated"),
    ("migrations:cleanupVideoFields", "cleanupVideoFields"),
    (
        "migrations:analyzeStorageDistribution",
        "analyzeStorageDistribution",
    ),
];

const ENSURE: &str = "migrations:ensureModelParametersPopulated";

const VIDEOS: u32 = 10001;
const MODEL_PARAMETERS: u32 = 10002;
const MODELS: u32 = 10003;
const CONFIGURATIONS: u32 = 10004;
const VIDEO_PARAMETERS: u32 = 10005;
const CREDIT_PACKAGES: u32 = 10006;
const SUBSCRIPTION_PLANS: u32 = 10007;

/// The snapshot generator's SplitMix64, so every case is reproducible.
struct Rng(convex_snapshot::generate::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0.pick(items)
    }
}

/// Scalars of every Convex type, in the export's uniform encoding: Int64 as
/// a bare integer, Float64 with a `.` or an exponent (`$float` for NaN and
/// the infinities), Bytes as `$bytes`; and the edge cases JavaScript treats
/// specially (`0n`, `-0`, NaN, `""`, strings `parseInt` reads in part).
const SCALARS: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "1",
    "-5",
    "9007199254740993",
    "0.0",
    "-0.0",
    "1.5",
    "8.0",
    "1e21",
    "5e-7",
    r#"{"$float":"AAAAAAAA+H8="}"#,
    r#"{"$float":"AAAAAAAA8H8="}"#,
    r#"{"$float":"AAAAAAAA8P8="}"#,
    r#""""#,
    r#""8""#,
    r#"" 8s""#,
    r#""0x10""#,
    r#""-0""#,
    r#""abc""#,
    r#""é""#,
    r#""a😀""#,
    r#""completed""#,
    r#""720p""#,
    r#"{"$bytes":"AQI="}"#,
    r#"{"$bytes":""}"#,
];

/// Strings the code branches on.
const MODEL_NAMES: &[&str] = &[
    r#""google/veo-3""#,
    r#""google/veo""#,
    r#""bytedance/seedance-1-pro""#,
    r#""seedance""#,
    r#""minimax/hailuo-02""#,
    r#""luma/ray-2-540p""#,
    r#""Google/Veo-3""#,
];

/// Any Convex value: a scalar, or an array or object of them.
fn any(rng: &mut Rng, depth: u32) -> String {
    match rng.below(if depth == 0 { 2 } else { 8 }) {
        0 | 1 => rng.pick(SCALARS).to_owned(),
        2 | 3 => rng.pick(MODEL_NAMES).to_owned(),
        4 | 5 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| any(rng, depth - 1)).collect();
            format!("[{}]", items.join(","))
        }
        _ => object(
            rng,
            &["resolution", "startImageUrl", "prompt", "a", "0"],
            depth - 1,
        ),
    }
}

/// An object with some of these keys, each holding any value.
fn object(rng: &mut Rng, keys: &[&str], depth: u32) -> String {
    let mut fields = Vec::new();
    for k in keys {
        if rng.below(2) == 0 {
            fields.push(format!("\"{k}\":{}", any(rng, depth)));
        }
    }
    format!("{{{}}}", fields.join(","))
}

/// A field, present (with a value from `make`) or absent.
fn field(rng: &mut Rng, name: &str, make: impl FnOnce(&mut Rng) -> String) -> Option<String> {
    (rng.below(5) != 0).then(|| format!("\"{name}\":{}", make(rng)))
}

fn video(rng: &mut Rng) -> Vec<String> {
    let mut f = Vec::new();
    f.extend(field(rng, "model", |r| match r.below(3) {
        0 => r.pick(MODEL_NAMES).to_owned(),
        1 => format!("[{}]", r.pick(MODEL_NAMES)),
        _ => any(r, 2),
    }));
    f.extend(field(rng, "prompt", |r| any(r, 1)));
    f.extend(field(rng, "duration", |r| any(r, 1)));
    f.extend(field(rng, "quality", |r| any(r, 1)));
    f.extend(field(rng, "generationSettings", |r| match r.below(2) {
        0 => object(
            r,
            &[
                "resolution",
                "startImageUrl",
                "aspectRatio",
                "cameraPosition",
                "prompt",
                "duration",
                "seed",
            ],
            1,
        ),
        _ => any(r, 2),
    }));
    for name in [
        "thumbnailFileId",
        "thumbnailUrl",
        "title",
        "videoCdnUrl",
        "videoCdnUrlExpiresAt",
        "r2FileKey",
        "convexFileId",
        "createdAt",
    ] {
        f.extend(field(rng, name, |r| any(r, 1)));
    }
    f.extend(field(rng, "status", |r| match r.below(2) {
        0 => r#""completed""#.to_owned(),
        _ => any(r, 1),
    }));
    f
}

fn model_parameters(rng: &mut Rng, videos: u8) -> Vec<String> {
    let mut f = Vec::new();
    f.extend(field(rng, "videoId", |r| match r.below(3) {
        0 | 1 => format!("\"{}\"", id(VIDEOS, 1 + r.below(videos as usize) as u8)),
        _ => any(r, 1),
    }));
    f.extend(field(rng, "modelId", model_id));
    f.extend(field(rng, "parameters", |r| any(r, 2)));
    f.extend(field(rng, "parameterMapping", |r| any(r, 1)));
    f.extend(field(rng, "createdAt", |r| any(r, 0)));
    f
}

/// A `modelId`: the strings models use, and the values a JS `Set` treats
/// specially (`-0` and `0`, NaN, `0n`, objects).
fn model_id(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => rng.pick(MODEL_NAMES).to_owned(),
        1 | 2 => rng
            .pick(&[
                "0.0",
                "-0.0",
                "0",
                r#"{"$float":"AAAAAAAA+H8="}"#,
                "[]",
                "{}",
                "null",
            ])
            .to_owned(),
        _ => any(rng, 1),
    }
}

fn model(rng: &mut Rng) -> Vec<String> {
    let mut f = Vec::new();
    f.extend(field(rng, "modelId", model_id));
    f.extend(field(rng, "modelType", |r| match r.below(3) {
        0 | 1 => r
            .pick(&[
                r#""google_veo""#,
                r#""luma_ray""#,
                r#""stability_ai""#,
                r#""hailuo""#,
            ])
            .to_owned(),
        _ => any(r, 1),
    }));
    f.extend(field(rng, "parameterMappings", |r| any(r, 1)));
    f
}

/// One generated snapshot, with the transcription as its functions folder.
fn generated(seed: u64) -> Case {
    let mut rng = Rng(convex_snapshot::generate::Rng::seeded(seed));
    let rows = |rng: &mut Rng, table: u32, n: u8, make: &mut dyn FnMut(&mut Rng) -> Vec<String>| {
        (1..=n)
            .map(|i| doc(table, i, &make(rng).join(",")))
            .collect::<Vec<_>>()
    };
    let videos = 40 + rng.below(30) as u8;
    let video_rows = rows(&mut rng, VIDEOS, videos, &mut video);
    let n = rng.below(30) as u8;
    let mut parameter_rows = rows(&mut rng, MODEL_PARAMETERS, n, &mut |r| {
        model_parameters(r, videos)
    });
    let n = rng.below(14) as u8;
    let mut model_rows = rows(&mut rng, MODELS, n, &mut model);
    // And in every case, the `modelId`s a JS `Set` tells apart or not, on
    // both sides: `0` (a bigint), `0.0` and `-0.0`, two NaNs, `{}`, `[]`,
    // `null`, none.
    // (The NaN here has other bits than the models' one: still one member.)
    for v in ["0.0", r#"{"$float":"AQAAAAAA+H8="}"#, "{}", "[]", "null"] {
        let at = parameter_rows.len() as u8 + 1;
        parameter_rows.push(doc(MODEL_PARAMETERS, at, &format!("\"modelId\":{v}")));
    }
    for v in [
        "0",
        "-0.0",
        r#"{"$float":"AAAAAAAA+H8="}"#,
        "{}",
        "[]",
        "null",
    ] {
        let at = model_rows.len() as u8 + 1;
        model_rows.push(doc(MODELS, at, &format!("\"modelId\":{v}")));
    }
    model_rows.push(doc(MODELS, model_rows.len() as u8 + 1, ""));
    // Half the cases are a first run of init (no configuration yet).
    let n = rng.below(2) as u8;
    let configuration_rows = rows(&mut rng, CONFIGURATIONS, n, &mut |_| {
        vec![r#""key":"profit_margin""#.to_owned()]
    });
    let files: Vec<(&str, &str)> = FILES.to_vec();
    case(
        &[
            ("videos", VIDEOS, video_rows),
            ("modelParameters", MODEL_PARAMETERS, parameter_rows),
            ("models", MODELS, model_rows),
            ("configurations", CONFIGURATIONS, configuration_rows),
            ("videoParameters", VIDEO_PARAMETERS, Vec::new()),
            ("creditPackages", CREDIT_PACKAGES, Vec::new()),
            ("subscriptionPlans", SUBSCRIPTION_PLANS, Vec::new()),
        ],
        &files,
    )
}

/// Object keys sorted, so that documents compare whatever their key order.
fn canonical(v: &Json) -> String {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Json::String((*k).clone()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// A table's documents without `_id` and `_creationTime`, with a random
/// seed (a whole number in [0, 999999] under `parameters.seed`) replaced by
/// a marker, sorted.
fn normalized(rows: &[Json]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            let m = row.as_object_mut().unwrap();
            m.remove("_id");
            m.remove("_creationTime");
            if let Some(Json::Object(p)) = m.get_mut("parameters")
                && let Some(seed) = p.get("seed").and_then(Json::as_f64)
                && seed.fract() == 0.0
                && (0.0..1_000_000.0).contains(&seed)
            {
                p.insert("seed".into(), Json::String("<seed>".into()));
            }
            canonical(&row)
        })
        .collect();
    out.sort();
    out
}

/// The first difference between the two runs of one generated snapshot, and
/// the built-in's report.
fn difference(seed: u64, seen: &mut Vec<Json>) -> Option<String> {
    let c = generated(seed);
    let user_names: Vec<String> = STEPS.iter().map(|(s, _)| format!("user:{s}")).collect();
    let user: Vec<&str> = ["--json", "-q", "--force"]
        .into_iter()
        .chain(user_names.iter().map(String::as_str))
        .collect();
    let (ur, ut) = c.migrate(&user);
    assert_eq!(ur.code, 0, "seed {seed}: {}", ur.stderr);
    let ours: Vec<String> = STEPS.iter().map(|(_, s)| format!("builtin:{s}")).collect();
    let builtin: Vec<&str> = ["--json", "-q", "--force", "--mode", "original"]
        .into_iter()
        .chain(ours.iter().map(String::as_str))
        .collect();
    let (br, bt) = c.migrate(&builtin);
    assert_eq!(br.code, 0, "seed {seed}: {}", br.stderr);
    let (ur, br) = (report(&ur), report(&br));
    seen.push(br.clone());
    // Each function's return value: the built-in reports the same keys with
    // the same values (and may add its own, such as init's counts).
    for (i, (step, _)) in STEPS.iter().enumerate() {
        let returned = &ur["migrations"][i]["result"]["returned"];
        let ours = &br["migrations"][i]["result"];
        if let Json::Object(fields) = returned {
            for (k, v) in fields {
                let same = match (v, &ours[k]) {
                    (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
                    (a, b) => a == b,
                };
                if !same {
                    return Some(format!(
                        "seed {seed}: {step} returned {k} = {v}, the built-in says {}",
                        ours[k]
                    ));
                }
            }
        } else if !returned.is_null() {
            return Some(format!("seed {seed}: {step} returned {returned}"));
        }
    }
    let (ut, bt) = (ut.unwrap(), bt.unwrap());
    let tables: std::collections::BTreeSet<&String> = ut.keys().chain(bt.keys()).collect();
    let empty = Vec::new();
    for t in tables {
        let (u, b) = (
            normalized(ut.get(t).unwrap_or(&empty)),
            normalized(bt.get(t).unwrap_or(&empty)),
        );
        if u != b {
            let only_user: Vec<&String> = u.iter().filter(|r| !b.contains(r)).take(2).collect();
            let only_ours: Vec<&String> = b.iter().filter(|r| !u.contains(r)).take(2).collect();
            return Some(format!(
                "seed {seed}: table {t}: {} rows from the TypeScript, {} from the built-in\nonly the TypeScript: {only_user:#?}\nonly the built-in: {only_ours:#?}",
                u.len(),
                b.len()
            ));
        }
    }
    None
}

#[test]
fn original_mode_matches_a_typescript_transcription_on_every_value_type() {
    let mut reports = Vec::new();
    let failures: Vec<String> = (1..=12u64)
        .filter_map(|seed| difference(seed, &mut reports))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The generated snapshots reach every branch that writes or fails.
    let total = |step: usize, key: &str| -> f64 {
        reports
            .iter()
            .map(|r| r["migrations"][step]["result"][key].as_f64().unwrap_or(0.0))
            .sum()
    };
    for (step, key) in [
        (0, "modelParametersCreated"),
        (1, "parametersCreated"),
        (2, "parametersCreated"),
        (2, "alreadyExists"),
        (2, "errors"),
        (3, "parametersCreated"),
        (4, "migratedRecords"),
        (5, "parametersCreated"),
        (6, "thumbnailFieldsRemoved"),
        (6, "titleFieldsRemoved"),
        (6, "cdnFieldsRemoved"),
        (7, "r2StorageVideos"),
        (7, "convexStorageVideos"),
    ] {
        assert!(
            total(step, key) > 0.0,
            "no case reached {key} of step {step}"
        );
    }
}

/// A valid ID of row `i` of table `number`, for tables past 255 rows.
fn big_id(number: u32, i: u32) -> String {
    let mut internal = [0u8; 16];
    internal[0] = 0x20;
    internal[1..5].copy_from_slice(&i.to_be_bytes());
    convex_snapshot::id::DocumentId::new(number, internal).encode()
}

fn big_doc(number: u32, i: u32, fields: &str) -> String {
    format!(
        "{{\"_creationTime\":{}.5,\"_id\":\"{}\",{fields}}}",
        1_700_000_000_000u64 + u64::from(i),
        big_id(number, i)
    )
}

/// At Convex's transaction limits the two agree too, with `--limits
/// enforce`: the host that meters the TypeScript's `ctx.db` calls and the
/// built-ins' replay of the deployed code's calls throw at the same call,
/// inside the same `try`/`catch`. 4,200 videos: the 4,097th `by_video_id`
/// lookup is one range too many; 8,200 old-structure rows: moving them is
/// 16,400 writes, past 16,000.
#[test]
fn original_mode_crosses_convex_limits_where_the_transcription_does() {
    let videos: Vec<String> = (0..4200)
        .map(|i| {
            let model = if i % 3 == 0 {
                "google/veo-3"
            } else {
                "minimax/hailuo-02"
            };
            big_doc(
                VIDEOS,
                i,
                &format!(
                    r#""model":"{model}","duration":"5","prompt":"p","title":"t","createdAt":1.0"#
                ),
            )
        })
        .collect();
    // A definition row first (one write, its delete), so that the 16,001st
    // write is the delete of a row already moved.
    let rows: Vec<String> = (0..8201)
        .map(|i| {
            if i == 0 {
                return big_doc(
                    MODEL_PARAMETERS,
                    i,
                    r#""modelId":"x","parameterDefinitions":{}"#,
                );
            }
            big_doc(
                MODEL_PARAMETERS,
                i,
                &format!(
                    r#""videoId":"{}","modelId":"minimax/hailuo-02","parameters":{{}}"#,
                    big_id(VIDEOS, i % 4100)
                ),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = FILES.to_vec();
    let c = case(
        &[
            ("videos", VIDEOS, videos),
            ("modelParameters", MODEL_PARAMETERS, rows),
            ("models", MODELS, vec![doc(MODELS, 1, r#""modelId":"x""#)]),
            ("videoParameters", VIDEO_PARAMETERS, Vec::new()),
        ],
        &files,
    );
    let chain = &STEPS[2..];
    let common = ["--json", "-q", "--limits", "enforce", "--timeout", "600"];
    let names: Vec<String> = chain.iter().map(|(s, _)| format!("user:{s}")).collect();
    let user: Vec<&str> = common
        .into_iter()
        .chain(names.iter().map(String::as_str))
        .collect();
    let (ur, ut) = c.migrate(&user);
    assert_eq!(ur.code, 0, "{}", ur.stderr);
    let ours: Vec<String> = chain.iter().map(|(_, s)| format!("builtin:{s}")).collect();
    let builtin: Vec<&str> = common
        .into_iter()
        .chain(["--mode", "original"])
        .chain(ours.iter().map(String::as_str))
        .collect();
    let (br, bt) = c.migrate(&builtin);
    assert_eq!(br.code, 0, "{}", br.stderr);
    let (ur, br) = (report(&ur), report(&br));
    for (i, (step, _)) in chain.iter().enumerate() {
        let returned = &ur["migrations"][i]["result"]["returned"];
        let ours = &br["migrations"][i]["result"];
        for (k, v) in returned.as_object().unwrap() {
            assert_eq!(
                v.as_f64(),
                ours[k].as_f64(),
                "{step} {k}: {returned} / {ours}"
            );
            if v.is_boolean() {
                assert_eq!(v, &ours[k], "{step} {k}");
            }
        }
        // Both name the limit in their report.
        let crossed = |r: &Json| {
            r["migrations"][i]["warnings"]["listed"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with("limits: "))
        };
        assert_eq!(crossed(&ur), crossed(&br), "{step}");
    }
    let at = |r: &Json, i: usize, k: &str| r["migrations"][i]["result"][k].as_f64().unwrap();
    // With the `collect()` as the first range, the 4,096th video's lookup
    // is the 4,097th: it and the 104 after it threw inside the catch.
    assert_eq!(at(&br, 0, "errors"), 105.0);
    // Moving 8,200 rows is 16,400 writes: the writes past the 16,000th threw.
    assert!(
        at(&br, 2, "errors") > 0.0,
        "{}",
        br["migrations"][2]["result"]
    );
    let (ut, bt) = (ut.unwrap(), bt.unwrap());
    for t in ["videos", "modelParameters", "videoParameters"] {
        assert!(
            normalized(&ut[t]) == normalized(&bt[t]),
            "table {t} differs: {} rows against {}",
            ut[t].len(),
            bt[t].len()
        );
    }
}

/// The read limits, with `--limits enforce`: 1,100 videos of 16 KB are
/// past 16 MiB, so `cleanupVideoFields`' `collect()` throws before its loop
/// (its outer `catch` returns `success: false`, nothing is written), and
/// the query `analyzeStorageDistribution` throws and fails the run, in the
/// transcription and the built-ins alike.
#[test]
fn a_collect_past_the_read_limit_fails_the_whole_function_in_both() {
    let text = "x".repeat(16 * 1024);
    let videos: Vec<String> = (0..1100)
        .map(|i| {
            big_doc(
                VIDEOS,
                i,
                &format!(r#""model":"m","status":"completed","r2FileKey":"k","title":"{text}""#),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = FILES.to_vec();
    let c = case(&[("videos", VIDEOS, videos)], &files);
    let common = ["--json", "-q", "--dry-run", "--limits", "enforce"];
    let run = |names: &[&str], original: bool| {
        let mut args: Vec<&str> = common.to_vec();
        if original {
            args.extend(["--mode", "original"]);
        }
        args.extend(names);
        c.migrate(&args).0
    };
    let user = run(&["user:migrations:cleanupVideoFields"], false);
    let ours = run(&["builtin:cleanupVideoFields"], true);
    assert_eq!(
        (user.code, ours.code),
        (0, 0),
        "{}\n{}",
        user.stderr,
        ours.stderr
    );
    let returned = &report(&user)["migrations"][0]["result"]["returned"];
    let result = &report(&ours)["migrations"][0]["result"];
    assert_eq!(returned["success"], json!(false), "{returned}");
    assert_eq!(result["success"], json!(false), "{result}");
    for k in ["errors", "titleFieldsRemoved"] {
        assert_eq!(returned[k].as_f64(), result[k].as_f64(), "{k}");
    }
    let warned = report(&ours)["migrations"][0]["warnings"]["listed"][0].clone();
    assert!(
        warned
            .as_str()
            .unwrap()
            .contains("byte at its ctx.db.query(\"videos\").collect()"),
        "{warned}"
    );
    let user = run(&["user:migrations:analyzeStorageDistribution"], false);
    let ours = run(&["builtin:analyzeStorageDistribution"], true);
    assert_eq!(
        (user.code, ours.code),
        (1, 1),
        "{}\n{}",
        user.stdout,
        ours.stdout
    );
    for r in [&user, &ours] {
        assert!(r.stderr.contains("Too many bytes read"), "{}", r.stderr);
    }
}

/// `init` on a first run reads every model after seeding its own three:
/// with 32,000 models already there that is the 32,001st document read or
/// more. It has no `try`/`catch`, so with `--limits enforce` the throw ends
/// the mutation and the run fails, in the transcription and the built-in
/// alike; with `warn` the built-in reports the crossing and goes on.
#[test]
fn init_past_the_read_limit_throws_in_both() {
    let models: Vec<String> = (0..32_000)
        .map(|i| big_doc(MODELS, i, r#""modelId":"m","modelType":"hailuo""#))
        .collect();
    let files: Vec<(&str, &str)> = FILES.to_vec();
    let c = case(
        &[
            ("models", MODELS, models),
            ("configurations", CONFIGURATIONS, Vec::new()),
        ],
        &files,
    );
    let common = ["--json", "-q", "--dry-run"];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = common.to_vec();
        args.extend(extra);
        c.migrate(&args).0
    };
    let user = run(&["--limits", "enforce", "user:init"]);
    let ours = run(&["--limits", "enforce", "--mode", "original", "builtin:init"]);
    assert_eq!(
        (user.code, ours.code),
        (1, 1),
        "{}\n{}",
        user.stderr,
        ours.stderr
    );
    for r in [&user, &ours] {
        assert!(r.stderr.contains("Too many documents read"), "{}", r.stderr);
    }
    let warned = run(&["--mode", "original", "builtin:init"]);
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    let rep = report(&warned);
    let line = rep["migrations"][0]["warnings"]["listed"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        line.starts_with("limits: init would read its 32,001st document at its ctx.db.query(\"models\").collect()"),
        "{line}"
    );
    assert_eq!(
        rep["migrations"][0]["result"]["modelParametersCreated"],
        json!(32_003)
    );
}
