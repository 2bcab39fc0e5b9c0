//! Fuzz target: `convex_snapshot::invariants::id_round_trip` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    convex_snapshot::invariants::id_round_trip(data);
});
