//! Fuzz target: `convex_snapshot::invariants::small_snapshot` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // One worker: the readers then run inline, with no threads to start
        // per input (the same code paths as `--threads 1`).
        let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    },
    |data: &[u8]| {
        convex_snapshot::invariants::small_snapshot(data);
    }
);
