//! How a long wait shows on stderr: a bar on a terminal, a few plain lines in a CI log when
//! asked (`-v`), nothing otherwise (`-q`, or a log nobody asked to fill). The command line
//! sets the mode once; the library's long steps (kernel import, boots, the ci matrix) ask it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    /// Bars and spinners redrawn in place (a terminal).
    Bars,
    /// A line when a step starts, at each quarter and when it ends (a CI log with `-v`).
    Lines,
}

static MODE: AtomicU8 = AtomicU8::new(0);

pub fn set_mode(mode: Mode) {
    MODE.store(mode as u8, Ordering::Relaxed);
}

pub fn mode() -> Mode {
    match MODE.load(Ordering::Relaxed) {
        1 => Mode::Bars,
        2 => Mode::Lines,
        _ => Mode::Off,
    }
}

/// What a step counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Files,
}

/// One long step with a known total.
pub struct Step {
    what: String,
    unit: Unit,
    total: u64,
    done: u64,
    quarter: u64,
    start: Instant,
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Step {
    pub fn new(what: impl Into<String>, total: u64, unit: Unit) -> Step {
        let what = what.into();
        let mode = mode();
        let bar = (mode == Mode::Bars).then(|| {
            let template = match unit {
                Unit::Bytes => "  {msg} {bar:30} {bytes}/{total_bytes} {elapsed}",
                Unit::Files => "  {msg} {bar:30} {pos}/{len} files {elapsed}",
            };
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(what.clone());
            bar
        });
        let lines = mode == Mode::Lines;
        if lines {
            eprintln!("dovetail-port: {what} ({}) ...", amount(total, unit));
        }
        Step {
            what,
            unit,
            total,
            done: 0,
            quarter: 0,
            start: Instant::now(),
            bar,
            lines,
        }
    }

    pub fn inc(&mut self, n: u64) {
        self.done = self.done.saturating_add(n);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        if self.lines && self.total > 0 {
            let quarter = (self.done.min(self.total) * 4 / self.total).min(3);
            if quarter > self.quarter {
                self.quarter = quarter;
                eprintln!("dovetail-port: {}: {}%", self.what, quarter * 25);
            }
        }
    }

    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode_shows() {
            eprintln!(
                "dovetail-port: {}: {} in {:.1} s",
                self.what,
                amount(self.done, self.unit),
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn mode_shows(&self) -> bool {
        self.lines || self.bar.is_some()
    }
}

fn amount(n: u64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{:.0} MiB", n as f64 / (1024.0 * 1024.0)),
        Unit::Files => format!("{n} files"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_count() {
        assert_eq!(amount(3 << 20, Unit::Bytes), "3 MiB");
        assert_eq!(amount(81234, Unit::Files), "81234 files");
    }
}
