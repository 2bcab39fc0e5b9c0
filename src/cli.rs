//! Command-line arguments (clap derive). The `///` comments are the help
//! text. Nothing here reaches the core: `commands` turns these into typed
//! options first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Read, check and transform Convex snapshot exports offline.
///
/// A SNAPSHOT is the ZIP that `npx convex export` writes, or a directory
/// holding the same entries unzipped.
#[derive(Debug, Parser)]
#[command(name = "convex-snapshot", version, propagate_version = true)]
#[command(after_help = "Examples:
  convex-snapshot inspect snapshot.zip
  convex-snapshot validate snapshot.zip --json
  convex-snapshot migrate snapshot.zip -o copy.zip

Exit codes: 0 success; 1 the command ran but found something (validate found
problems); 2 usage, I/O or format error (nothing is written).")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Hide progress bars and messages on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Worker threads (default: one per core). Output never depends on it.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show components, tables, storage and a field summary per table.
    #[command(after_help = "Examples:
  convex-snapshot inspect snapshot.zip
  convex-snapshot inspect ./export-dir --json | jq '.components[0].tables'")]
    Inspect(InspectArgs),
    /// Check every rule `npx convex import` enforces and list each problem.
    #[command(after_help = "Examples:
  convex-snapshot validate snapshot.zip
  convex-snapshot validate snapshot.zip --json --max-problems 1000

Exits 0 when the snapshot would import cleanly, 1 when it found errors (or
warnings, with --deny-warnings), 2 when the snapshot cannot be read at all.")]
    Validate(ValidateArgs),
    /// Write a new snapshot ZIP; with no migration named, copy it through.
    #[command(after_help = "Examples:
  convex-snapshot migrate snapshot.zip -o copy.zip
  convex-snapshot migrate ./export-dir -o snapshot.zip --compression best

Entries are copied without recompression when they come from a ZIP. The
output is written to a temporary file beside OUT and renamed on success.")]
    Migrate(MigrateArgs),
    /// Generate a synthetic VideoAI snapshot (for tests, demos and benchmarks).
    #[command(after_help = "Examples:
  convex-snapshot generate -o videoai.zip --videos 200
  convex-snapshot generate -o big.zip --videos 1000000 --compression fast")]
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The snapshot: a .zip file or a directory.
    pub snapshot: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The snapshot: a .zip file or a directory.
    pub snapshot: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// List at most this many problems (all are counted).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_problems: usize,
    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The snapshot: a .zip file or a directory.
    pub snapshot: PathBuf,
    /// Where to write the new snapshot ZIP.
    #[arg(short, long, value_name = "OUT.zip")]
    pub output: PathBuf,
    /// Compression of entries written anew.
    #[arg(long, value_enum, default_value_t = CompressionArg::Default)]
    pub compression: CompressionArg,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write the snapshot ZIP.
    #[arg(short, long, value_name = "OUT.zip")]
    pub output: PathBuf,
    /// Number of videos; other tables scale with it.
    #[arg(long, default_value_t = 120)]
    pub videos: u64,
    /// Seed of the generator; the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Compression of the entries.
    #[arg(long, value_enum, default_value_t = CompressionArg::Default)]
    pub compression: CompressionArg,
}

/// `--compression` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompressionArg {
    /// No compression.
    Stored,
    /// Deflate level 1.
    Fast,
    /// Deflate level 6, as Convex's export.
    Default,
    /// Deflate level 9.
    Best,
}

impl From<CompressionArg> for crate::archive::Compression {
    fn from(c: CompressionArg) -> Self {
        match c {
            CompressionArg::Stored => Self::Stored,
            CompressionArg::Fast => Self::Fast,
            CompressionArg::Default => Self::Default,
            CompressionArg::Best => Self::Best,
        }
    }
}
