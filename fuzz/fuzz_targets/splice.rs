//! Fuzz target: `convex_snapshot::invariants::splice_agrees` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    convex_snapshot::invariants::splice_agrees(data);
});
