//! convex-snapshot: read, check and transform Convex snapshot exports offline.
//!
//! The library is the whole tool; `main.rs` only parses arguments and reports.
//! Data flows one way: `archive` (ZIP or directory in) → `snapshot` (tables,
//! formats, lazily parsed lines) → commands (`inspect`, `validate`, `migrate`)
//! → `archive` (deterministic ZIP out).

pub mod archive;
pub mod check;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod engine;
pub mod error;
pub mod generate;
pub mod id;
#[doc(hidden)]
pub mod invariants;
pub mod js;
pub mod layout;
pub mod limits;
pub mod lines;
pub mod migrations;
pub mod progress;
pub mod schema;
pub mod scratch;
pub mod snapshot;
pub mod unpack;
pub mod value;

/// ARCHITECTURE.md's code blocks, compiled by `cargo test` as doctests.
#[cfg(doctest)]
#[doc = include_str!("../ARCHITECTURE.md")]
pub struct ArchitectureDoc;

/// docs/adding-a-migration.md's example, compiled by `cargo test` as a
/// doctest, so it keeps compiling as printed.
#[cfg(doctest)]
#[doc = include_str!("../docs/adding-a-migration.md")]
pub struct AddingAMigrationDoc;
