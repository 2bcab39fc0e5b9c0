//! The `convex-snapshot` binary: parse arguments, run, report. All work is in
//! the library; this only prints the error chain once and picks the exit code.

use std::process::ExitCode;

use clap::Parser as _;
use convex_snapshot::{cli::Cli, commands};
use mimalloc::MiMalloc;

/// Documents are many small allocations freed in parallel; mimalloc does that
/// markedly faster than glibc's allocator (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    // Before any temporary file exists: Ctrl-C must leave none behind.
    convex_snapshot::scratch::install_signal_cleanup();
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) if commands::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
