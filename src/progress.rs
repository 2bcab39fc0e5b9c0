//! The only module that draws progress bars. Bars go to stderr and are hidden
//! when stderr is not a terminal, with `--quiet`, or for work too small to
//! take about a second.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work below this many bytes finishes in well under a second; no bar.
const MIN_BYTES_FOR_BAR: u64 = 64 << 20;

/// A byte-counting progress bar that may be hidden. Cheap to clone and safe
/// to update from any thread.
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar for `total` bytes of work, labelled `message`.
    pub fn bytes(total: u64, message: &str, quiet: bool) -> Progress {
        let show = !quiet && total >= MIN_BYTES_FOR_BAR && std::io::stderr().is_terminal();
        if !show {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg} [{bar:20}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(message.to_owned());
        Progress(bar)
    }

    /// A bar that never draws.
    pub fn hidden() -> Progress {
        Progress(ProgressBar::hidden())
    }

    /// Records `n` more bytes done.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Formats a byte count for people: `12.30 KiB`.
pub fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}
