//! Build script: notes whether the real exports used by some tests are
//! beside this checkout (`../shared/fixtures/real`). Without them those
//! tests show as ignored, so a count of passed tests never reads as "tested
//! on real exports" when they did not run.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(real_fixtures)");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real");
    if dir.is_dir() {
        println!("cargo::rustc-cfg=real_fixtures");
    }
}
