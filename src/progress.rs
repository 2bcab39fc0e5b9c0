//! The only module that draws progress bars. Bars go to stderr and are hidden
//! when stderr is not a terminal, with `--quiet`, or for work too small to
//! take about a second.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work below this many bytes finishes in well under a second; no bar.
const MIN_BYTES_FOR_BAR: u64 = 64 << 20;
/// Documents a migration of your own gets through in about a second.
const MIN_DOCS_FOR_BAR: u64 = 100_000;

/// A byte-counting progress bar that may be hidden, showing rows read as
/// well. Cheap to clone and safe to update from any thread.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    rows: Arc<AtomicU64>,
}

impl Progress {
    /// A bar for `total` bytes of work, labelled `message`.
    pub fn bytes(total: u64, message: &str, quiet: bool) -> Progress {
        let show = !quiet && total >= MIN_BYTES_FOR_BAR && std::io::stderr().is_terminal();
        if !show {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let rows = Arc::new(AtomicU64::new(0));
        let counted = rows.clone();
        let style = ProgressStyle::with_template(
            "{msg} [{bar:20}] {bytes}/{total_bytes}{rows} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("static template")
        .with_key(
            "rows",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let n = counted.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = write!(w, ", {} rows", with_commas(n));
                }
            },
        )
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(message.to_owned());
        Progress { bar, rows }
    }

    /// A bar for work counted in documents (a migration of your own, whose
    /// pace is the JavaScript's, not the bytes'), about `total` of them.
    pub fn docs(total: u64, message: &str, quiet: bool) -> Progress {
        let show = !quiet && total >= MIN_DOCS_FOR_BAR && std::io::stderr().is_terminal();
        if !show {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg} [{bar:20}] {human_pos}/{human_len} documents{rate} eta {eta}",
        )
        .expect("static template")
        .with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let secs = s.elapsed().as_secs_f64();
                if secs >= 0.5 {
                    let _ = write!(w, ", {}/s", with_commas((s.pos() as f64 / secs) as u64));
                }
            },
        )
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(message.to_owned());
        Progress {
            bar,
            rows: Arc::default(),
        }
    }

    /// A spinner for work whose size is not known ahead (`generate`),
    /// counting rows. `big` says whether the work is large enough to show.
    pub fn rows(message: &str, quiet: bool, big: bool) -> Progress {
        if quiet || !big || !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let rows = Arc::new(AtomicU64::new(0));
        let counted = rows.clone();
        let style = ProgressStyle::with_template("{spinner} {msg}: {rows} rows, {elapsed}")
            .expect("static template")
            .with_key(
                "rows",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&with_commas(counted.load(Ordering::Relaxed)));
                },
            );
        bar.set_style(style);
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress { bar, rows }
    }

    /// A bar that never draws.
    pub fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
            rows: Arc::default(),
        }
    }

    /// Records `n` more bytes (or documents) done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Records `n` more rows read.
    pub fn add_rows(&self, n: u64) {
        self.rows.fetch_add(n, Ordering::Relaxed);
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `1234567` as `1,234,567`.
pub fn with_commas(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a byte count for people: `12.30 KiB`.
pub fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_with_thousands_separators() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(super::with_commas(n), s);
        }
    }
}
