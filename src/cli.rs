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
  convex-snapshot migrate snapshot.zip -o migrated.zip --all
  convex-snapshot list

A SNAPSHOT given as - is read from standard input; -o - writes a ZIP to
standard output. An existing output is refused unless --force.

Exit codes: 0 success; 1 the command ran but found something (validate found
problems); 2 usage, I/O or format error (nothing is written); 130 interrupted
(nothing is written, temporary files are removed).")]
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
  convex-snapshot inspect ./export-dir --json | jq '.components[0].tables'
  convex-snapshot inspect snapshot.zip --schema-ts > convex/schema.ts

--schema-ts drafts the app's schema.ts from its documents (the root
component's tables): the types each field holds, v.optional where a field is
sometimes absent, v.id(\"t\") where every value is an ID of table t. Indexes
are not in an export; add yours.")]
    Inspect(InspectArgs),
    /// Check every rule `npx convex import` enforces and list each problem.
    #[command(after_help = "Examples:
  convex-snapshot validate snapshot.zip
  convex-snapshot validate snapshot.zip --json --max-problems 1000
  convex-snapshot validate snapshot.zip --schema
  convex-snapshot validate snapshot.zip --schema app/convex/schema.ts

--schema checks the app's documents (the root component's tables) against
its schema.ts as a deployment checks them when the schema is pushed: each
mismatch is listed with the document's _id, the field path, what the schema
expects and what the document holds. Tables the schema does not list are not
checked, as on a deployment. With schemaValidation: false in the schema,
mismatches are warnings. Put --schema after the snapshot (alone it takes
./convex).

Exits 0 when the snapshot would import cleanly, 1 when it found errors (or
warnings, with --deny-warnings), 2 when the snapshot cannot be read at all
or the schema cannot be loaded.")]
    Validate(ValidateArgs),
    /// Run migrations on a snapshot and write the result as a new ZIP.
    #[command(after_help = "Examples:
  convex-snapshot migrate snapshot.zip -o migrated.zip --all
  convex-snapshot migrate snapshot.zip -o out.zip init migrations:migrateVideoParameters
  convex-snapshot migrate snapshot.zip -o rehearsal.zip --all --mode original --report run.json
  convex-snapshot migrate snapshot.zip analyzeStorageDistribution
  convex-snapshot migrate snapshot.zip --all --dry-run --json | jq '.migrations[].result'
  convex-snapshot migrate snapshot.zip cleanupVideoFields --dry-run --diff
  convex-snapshot migrate snapshot.zip -o out.zip migrations:setDefaultTitle   # ./convex/migrations.ts
  convex-snapshot migrate snapshot.zip -o out.zip --functions app/convex internal.migrations.all
  convex-snapshot migrate snapshot.zip migrations:backfill --dry-run --diff --report run.json
  convex-snapshot migrate snapshot.zip -o out.zip migrations:backfill --strict --schema convex/
  convex-snapshot migrate ./export-dir -o ./migrated-dir/ --all
  convex-snapshot migrate snapshot.zip -o copy.zip
  convex-snapshot migrate snapshot.zip -o out.zip --all --force     # replace out.zip
  convex-snapshot migrate - -o - --all < snapshot.zip > migrated.zip

Migrations run in the order given, each on the previous one's result. Your
own (`migrations.define`, `makeMigration`, a `runner`) run from the functions
folder's .ts/.js files as the @convex-dev/migrations component runs them on a
deployment: pages of batchSize documents, one transaction each. `--all`
runs migrateVideoParameters, migrateParameterStructure,
ensureModelParametersPopulated, cleanupVideoFields, analyzeStorageDistribution.
See `convex-snapshot list`. With no migration named, the snapshot is copied
through. Untouched entries are copied without recompression. The output is
written to a temporary file beside OUT and renamed on success.

Exit codes: 0 done (documents a built-in could not handle are reported and
left unchanged); 1 your code threw on some document (nothing written; with
--on-throw stop, what the deployment would keep is written), or --strict and
some document failed, or a migration found none of the app's tables (nothing
written); 2 usage, I/O or format error
(nothing written); 130 interrupted (nothing written).")]
    Migrate(MigrateArgs),
    /// Show what differs between two snapshots, document by document.
    #[command(after_help = "Examples:
  convex-snapshot diff before.zip after.zip
  convex-snapshot diff before.zip after.zip --stat
  convex-snapshot diff export.zip ./export-dir --table videos --limit 50 --json

Documents are matched by _id per table (components included) and compared as
Convex values: an Int64 5 differs from a Float64 5.0; key order and the
table's value format do not matter.

Exit codes: 0 the snapshots hold the same data; 1 they differ; 2 error.")]
    Diff(DiffArgs),
    /// Write a snapshot as a directory that reads well under `git diff`.
    #[command(after_help = "Examples:
  convex-snapshot unpack before.zip before/
  convex-snapshot unpack after.zip after/ && git diff --no-index before after

The same entries as the snapshot; each table's documents one per line, keys
in Convex's order, sorted by _id, so the result is stable across runs.
`convex-snapshot pack` turns it back into a ZIP.")]
    Unpack(UnpackArgs),
    /// Build an importable ZIP from a directory snapshot.
    #[command(after_help = "Examples:
  convex-snapshot pack before/ -o before.zip
  convex-snapshot pack ./unzipped-export -o export.zip --compression best")]
    Pack(PackArgs),
    /// List the migrations: the built-in ones, and your own (the functions
    /// folder's, with their tables and where they are defined).
    #[command(after_help = "Examples:
  convex-snapshot list
  convex-snapshot list --functions ./convex")]
    List(ListArgs),
    /// Generate a synthetic VideoAI snapshot (for tests, demos and benchmarks).
    #[command(after_help = "Examples:
  convex-snapshot generate -o videoai.zip --videos 200
  convex-snapshot generate -o big.zip --videos 1000000 --compression fast")]
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The snapshot: a .zip file, a directory, or `-` (a ZIP on standard input).
    pub snapshot: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print a draft schema.ts drawn from the documents (every field with
    /// the types it holds) instead of the report. It accepts the snapshot
    /// it came from: `validate --schema` passes on it.
    #[arg(long, conflicts_with = "json")]
    pub schema_ts: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The snapshot: a .zip file, a directory, or `-` (a ZIP on standard input).
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
    /// Also check every document of the app against its schema.ts, as the
    /// deployment would before taking it: a schema.ts file, or a functions
    /// folder holding one (alone: convex.json's `functions` setting, else
    /// ./convex).
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        default_missing_value = "",
        value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from)
    )]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The snapshot: a .zip file, a directory, or `-` (a ZIP on standard input).
    pub snapshot: PathBuf,
    /// Migrations to run, in order: your own, from the functions folder, as
    /// `npx convex run` names them (`migrations:setDefault`,
    /// `dir/file:export`, `api.file.export`, `internal.file.export`; a
    /// runner runs its list), and the built-in VideoAI ones
    /// (`migrateVideoParameters`, `init`, …). `builtin:NAME` or `user:NAME`
    /// picks one when both have the name.
    #[arg(value_name = "NAME")]
    pub migrations: Vec<String>,
    /// The Convex functions folder your migrations are in (default:
    /// convex.json's `functions` setting, else ./convex when it exists).
    #[arg(long, value_name = "DIR")]
    pub functions: Option<PathBuf>,
    /// When your migration throws on a document: `list` goes on to list
    /// every document that throws and writes nothing; `stop` does what the
    /// deployment does (the failing page rolls back, the pages before it
    /// stay, the migration stops) and writes that.
    #[arg(long, value_enum, default_value_t = OnThrowArg::List, value_name = "WHAT")]
    pub on_throw: OnThrowArg,
    /// The arguments of a whole function you run (a mutation or a query of
    /// the functions folder), as JSON, as `npx convex run` takes them:
    /// `--args '{"limit": 10}'`. Checked against the function's `args`
    /// validator first.
    #[arg(long, value_name = "JSON")]
    pub args: Option<String>,
    /// Run your migrations even where the snapshot's migrations component
    /// records them as done (as the component's `reset: true`); without it,
    /// a migration done on the deployment is skipped, as the component
    /// skips it.
    #[arg(long)]
    pub reset: bool,
    /// The longest one call of your code may run (an endless loop is then an
    /// error for that document, not a hang).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Where to write the new snapshot: a .zip, `-` (a ZIP on standard
    /// output), or a folder (no extension, or a trailing `/`). It must not
    /// exist, unless --force. Not needed with --dry-run or for read-only
    /// migrations alone.
    #[arg(short, long, value_name = "OUT.zip")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file (or replace an existing snapshot
    /// folder); without it an existing output is refused.
    #[arg(long)]
    pub force: bool,

    /// Run the five migrations in the order that works (see below), after
    /// any NAMEs given (`init --all`).
    #[arg(long)]
    pub all: bool,
    /// `fixed`: what the app's guide promises (idempotent); `original`: what
    /// the deployed code does, bug for bug.
    #[arg(long, value_enum, default_value_t = ModeArg::Fixed)]
    pub mode: ModeArg,
    /// Convex's per-transaction limits (documents and bytes read, index
    /// ranges, documents and bytes written), counted for your own code and
    /// for --mode original: `warn` reports the first limit each transaction
    /// would cross; `enforce` throws there, as the deployment does; `off`.
    #[arg(long, value_enum, default_value_t = crate::limits::LimitMode::Warn)]
    pub limits: crate::limits::LimitMode,
    /// The clock migrations read, as milliseconds since 1970 or an RFC 3339
    /// time (default: the latest _creationTime in the snapshot, rounded up
    /// to the next millisecond, so re-runs give the same bytes).
    #[arg(long, value_name = "MS|RFC3339")]
    pub now: Option<String>,
    /// Compute everything and print the reports, but write no archive.
    #[arg(long)]
    pub dry_run: bool,
    /// Show what the run changes, as `convex-snapshot diff` would (on
    /// stdout, or in the --json report).
    #[arg(long)]
    pub diff: bool,
    /// Also write the reports as JSON to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the reports as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1, write nothing) if any document could not be migrated,
    /// or a migration found none of the app's tables it works on, or (with
    /// --schema) a document would not pass the schema.
    #[arg(long)]
    pub strict: bool,
    /// Check every document the run leaves (written or untouched) against
    /// this schema.ts before anything is written: a schema.ts file, or a
    /// functions folder holding one (alone: convex.json's `functions`
    /// setting, else ./convex). Put it after the snapshot.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        default_missing_value = "",
        value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from)
    )]
    pub schema: Option<PathBuf>,
    /// Let `init` seed a snapshot that has none of the VideoAI app's tables
    /// (without it, `init` refuses: the snapshot is probably another app's).
    #[arg(long)]
    pub new_app: bool,
    /// Compression of entries written anew.
    #[arg(long, value_enum, default_value_t = CompressionArg::Default)]
    pub compression: CompressionArg,
}

/// `--on-throw` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnThrowArg {
    /// List every document that throws; write nothing.
    List,
    /// Stop at the failing page, as the deployment does, and write that.
    Stop,
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// What the guide promises: deterministic, idempotent, no lost rows.
    Fixed,
    /// What the deployed TypeScript does, bugs included.
    Original,
}

impl From<ModeArg> for crate::migrations::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Fixed => Self::Fixed,
            ModeArg::Original => Self::Original,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The Convex functions folder (default: convex.json's `functions`
    /// setting, else ./convex when it exists).
    #[arg(long, value_name = "DIR")]
    pub functions: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first snapshot: a .zip file, a directory, or `-` (standard input).
    pub a: PathBuf,
    /// The second snapshot: a .zip file, a directory, or `-` (standard input).
    pub b: PathBuf,
    /// Print the differences as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Compare only this table (`name`, or `component/name`); repeatable.
    #[arg(long, value_name = "T")]
    pub table: Vec<String>,
    /// Counts only, no documents.
    #[arg(long)]
    pub stat: bool,
    /// Documents shown per table and kind (added, removed, changed).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// The snapshot: a .zip file, a directory, or `-` (a ZIP on standard input).
    pub snapshot: PathBuf,
    /// The folder to write, whatever its name (it must not exist or must be
    /// empty, unless --force).
    pub dir: PathBuf,
    /// Overwrite an existing output file (or replace an existing snapshot
    /// folder); without it an existing output is refused.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The directory snapshot.
    pub dir: PathBuf,
    /// Where to write the ZIP (`-`: standard output).
    #[arg(short, long, value_name = "OUT.zip")]
    pub output: PathBuf,
    /// Overwrite an existing output file (or replace an existing snapshot
    /// folder); without it an existing output is refused.
    #[arg(long)]
    pub force: bool,

    /// Compression of the entries.
    #[arg(long, value_enum, default_value_t = CompressionArg::Default)]
    pub compression: CompressionArg,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write the snapshot ZIP (`-`: standard output).
    #[arg(short, long, value_name = "OUT.zip")]
    pub output: PathBuf,
    /// Overwrite an existing output file (or replace an existing snapshot
    /// folder); without it an existing output is refused.
    #[arg(long)]
    pub force: bool,

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
    /// Deflate level 5: a quarter faster than level 6 (Convex's export),
    /// 0.1-2.2% larger.
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
