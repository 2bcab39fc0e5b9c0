//! Integration tests: each runs the real binary on a small snapshot built in
//! the test from literal JSONL, so each reads like a spec. All integration
//! tests compile into this one binary.

mod agreement;
mod bad_input;
mod common;
mod diff;
mod differential;
mod fuzz_regressions;
mod generate;
mod inspect;
mod limits;
mod migrate;
mod migrations;
mod real_fixture;
mod safety;
mod schema;
mod unpack;
mod user_migrations;
mod validate;
mod whole_functions;
