//! Test result parsers (KTAP, TAP, `evl test`, payload markers) and crash detection.
//!
//! A console log goes in, a [`TestReport`] comes out: built once as data, then rendered by
//! [`render`] as a human summary, JSON or JUnit XML.

pub mod crash;
pub mod evl;
pub mod junit;
pub mod ktap;
pub mod lava;
pub mod marker;
pub mod render;

use std::path::PathBuf;

use serde::Serialize;

pub use crash::{CrashEvent, CrashKind};

/// Outcome of one test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
    /// Promised by a plan or started, but never reported (the kernel or payload died first).
    Crashed,
}

impl Verdict {
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Crashed)
    }
}

/// Which parser produced a test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// KTAP from the kernel (KUnit) or TAP from kselftest.
    Ktap,
    /// `evl test` result lines.
    Evl,
    /// The payload marker protocol (see [`marker`]).
    Marker,
    /// Boot-time self tests recognised in the kernel log (IRQ pipeline torture tests).
    Boot,
    /// A LAVA lab's result (`lavacli results`).
    Lava,
}

/// One test case with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    /// Dotted path of the enclosing suites (`kunit_example`, `suite.param_test`), may be empty.
    pub suite: String,
    pub name: String,
    pub verdict: Verdict,
    pub source: Source,
    /// The directive text (`# SKIP reason`), a failure message or the console excerpt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl TestCase {
    pub fn full_name(&self) -> String {
        if self.suite.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.suite, self.name)
        }
    }
}

/// How the boot ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BootEnd {
    /// The init printed the completion marker.
    Completed { payload_status: Option<i32> },
    /// A fatal kernel event (panic, killed init) ended the boot.
    Crashed,
    /// The guest printed nothing for `seconds`.
    NoOutput { seconds: u64 },
    /// The whole boot took longer than `seconds`.
    GlobalTimeout { seconds: u64 },
    /// QEMU exited before the completion marker without a recognised fatal event.
    Exited { status: Option<i32> },
}

/// One wording of the boot end for every report (human, JUnit, CI table, bisect evidence).
impl std::fmt::Display for BootEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BootEnd::Completed {
                payload_status: Some(s),
            } => write!(f, "completed (payload exit status {s})"),
            BootEnd::Completed {
                payload_status: None,
            } => f.write_str("completed"),
            BootEnd::Crashed => f.write_str("crashed (fatal kernel event)"),
            BootEnd::NoOutput { seconds } => write!(f, "hung: no console output for {seconds} s"),
            BootEnd::GlobalTimeout { seconds } => write!(f, "timed out after {seconds} s"),
            BootEnd::Exited { status: Some(s) } => {
                write!(
                    f,
                    "QEMU exited with status {s} before the completion marker"
                )
            }
            BootEnd::Exited { status: None } => {
                f.write_str("QEMU was killed before the completion marker")
            }
        }
    }
}

/// Latency figures from a `latmus` `RTS|` line, in microseconds as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyRecord {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    pub overruns: u64,
    pub msw: u64,
    pub duration: String,
}

/// Counts per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub crashed: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped + self.crashed
    }
}

/// Everything learnt from one boot: verdicts, crash events, how it ended, where the log is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    pub arch: String,
    pub kernel: Option<PathBuf>,
    pub console_log: Option<PathBuf>,
    pub accel: Option<String>,
    pub duration_secs: f64,
    pub end: BootEnd,
    pub counts: Counts,
    pub cases: Vec<TestCase>,
    pub crashes: Vec<CrashEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<LatencyRecord>,
    /// Notes for the reader (accel fallback, parser remarks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl TestReport {
    /// `--max-latency`: a regression gate on latmus's worst case. Adds one case, `latmus.max`,
    /// failing when a run's maximum exceeds `max_us` or when no `RTS|` line was seen at all
    /// (a gate that checked nothing must not pass). Under QEMU the bound only catches
    /// regressions against earlier runs of the same setup; absolute bounds need hardware.
    pub fn gate_latency(&mut self, max_us: f64) {
        let worst = self
            .latency
            .iter()
            .map(|l| l.max)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let (verdict, message) = match worst {
            None => (
                Verdict::Fail,
                "no latmus `RTS|` summary line in the payload output: run latmus in the payload (e.g. `latmus -T 10`)".to_string(),
            ),
            Some(w) if w > max_us => (
                Verdict::Fail,
                format!("worst-case latency {w} us exceeds the bound of {max_us} us"),
            ),
            Some(w) => (
                Verdict::Pass,
                format!("worst-case latency {w} us within {max_us} us"),
            ),
        };
        match verdict {
            Verdict::Pass => self.counts.passed += 1,
            _ => self.counts.failed += 1,
        }
        self.cases.push(TestCase {
            suite: "latmus".into(),
            name: "max".into(),
            verdict,
            source: Source::Evl,
            message: Some(message),
        });
    }

    /// True when nothing failed, crashed or hung, and the boot reached the completion marker.
    pub fn passed(&self) -> bool {
        self.counts.failed == 0
            && self.counts.crashed == 0
            && self.crashes.is_empty()
            && matches!(self.end, BootEnd::Completed { .. })
    }

    /// Keeps the cases kunit.py's `filter_glob` would run: `SUITE_GLOB` or
    /// `SUITE_GLOB.TEST_GLOB` (`list*`, `list-kernel-test.*add*`); counts follow. Cases that
    /// are not KUnit's (boot self tests, payload markers) are kept. An invalid glob is an
    /// error naming it.
    pub fn retain_glob(&mut self, filter: &str) -> Result<(), globset::Error> {
        let (suite, test) = match filter.split_once('.') {
            Some((s, t)) => (s, Some(t)),
            None => (filter, None),
        };
        let suite = globset::Glob::new(suite)?.compile_matcher();
        let test = test
            .map(|t| globset::Glob::new(t).map(|g| g.compile_matcher()))
            .transpose()?;
        self.cases.retain(|c| {
            c.source != Source::Ktap
                || (suite.is_match(&c.suite) && test.as_ref().is_none_or(|t| t.is_match(&c.name)))
        });
        self.recount();
        Ok(())
    }

    /// Sets `counts` from `cases`.
    pub fn recount(&mut self) {
        let mut counts = Counts::default();
        for c in &self.cases {
            match c.verdict {
                Verdict::Pass => counts.passed += 1,
                Verdict::Fail => counts.failed += 1,
                Verdict::Skip => counts.skipped += 1,
                Verdict::Crashed => counts.crashed += 1,
            }
        }
        self.counts = counts;
    }

    pub fn failing_cases(&self) -> impl Iterator<Item = &TestCase> {
        self.cases.iter().filter(|c| c.verdict.is_failure())
    }
}

/// Strips a printk timestamp (`[    1.234567] `) and a trailing carriage return.
pub fn strip_timestamp(line: &str) -> &str {
    let line = line.trim_end_matches(['\r', '\n']);
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let stamp = &rest[..end];
            if !stamp.is_empty() && stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                let after = &rest[end + 1..];
                return after.strip_prefix(' ').unwrap_or(after);
            }
        }
    }
    line
}

/// Parses a whole console log into a report (verdicts and crash events). The caller fills in
/// how the boot ended and the run metadata.
pub fn analyse(console: &str, end: BootEnd) -> TestReport {
    let lines: Vec<&str> = console.lines().collect();
    let mut cases = Vec::new();
    let mut notes = Vec::new();

    // Payload output sits between the begin and done markers; kernel KTAP can be anywhere.
    let payload = marker::payload_section(&lines);
    cases.extend(ktap::parse_cases(&lines, &mut notes));
    cases.extend(boot_selftests(&lines));
    if let Some((start, stop)) = payload {
        let section = &lines[start..stop];
        cases.extend(marker::parse(section));
        cases.extend(evl::parse(section));
    }
    let latency = payload
        .map(|(s, e)| evl::latencies(&lines[s..e]))
        .unwrap_or_default();
    let crashes = crash::detect(&lines);

    let mut counts = Counts::default();
    for c in &cases {
        match c.verdict {
            Verdict::Pass => counts.passed += 1,
            Verdict::Fail => counts.failed += 1,
            Verdict::Skip => counts.skipped += 1,
            Verdict::Crashed => counts.crashed += 1,
        }
    }
    TestReport {
        arch: String::new(),
        kernel: None,
        console_log: None,
        accel: None,
        duration_secs: 0.0,
        end,
        counts,
        cases,
        crashes,
        latency,
        notes,
    }
}

/// Re-reads a saved console (`console.log` of a boot, or any log with KTAP in it) into the
/// same report a boot gives, as kunit.py's `parse` does. How the boot ended is read back from
/// the log: the completion marker, else a fatal kernel event, else it stopped short.
pub fn reparse(console: &str, path: &std::path::Path) -> TestReport {
    let done = console
        .lines()
        .map(strip_timestamp)
        .find(|l| marker::is_done(l));
    let end = match done {
        Some(l) => BootEnd::Completed {
            payload_status: marker::done_status(l),
        },
        None => {
            let lines: Vec<&str> = console.lines().collect();
            if crash::detect(&lines).iter().any(|c| c.kind.is_fatal()) {
                BootEnd::Crashed
            } else {
                BootEnd::Exited { status: None }
            }
        }
    };
    let mut report = analyse(console, end);
    report.console_log = Some(path.to_path_buf());
    if done.is_none() && !report.cases.is_empty() {
        report
            .notes
            .push("the log has no completion marker: the boot was cut short".into());
    }
    report
}

/// Boot-time self tests that print their own verdict, e.g. Dovetail's
/// `CONFIG_IRQ_PIPELINE_TORTURE_TEST`.
fn boot_selftests(lines: &[&str]) -> Vec<TestCase> {
    let mut started = None;
    for (i, raw) in lines.iter().enumerate() {
        let l = strip_timestamp(raw);
        if l.contains("Starting IRQ pipeline tests") {
            started = Some(i);
        } else if started.is_some() && l.contains("IRQ pipeline tests OK") {
            return vec![TestCase {
                suite: "boot".into(),
                name: "irq_pipeline_torture".into(),
                verdict: Verdict::Pass,
                source: Source::Boot,
                message: None,
            }];
        }
    }
    match started {
        Some(i) => vec![TestCase {
            suite: "boot".into(),
            name: "irq_pipeline_torture".into(),
            verdict: Verdict::Fail,
            source: Source::Boot,
            message: Some(excerpt(lines, i, 20)),
        }],
        None => Vec::new(),
    }
}

/// Up to `count` lines of the log from `start`, timestamps kept (they help the reader).
pub fn excerpt(lines: &[&str], start: usize, count: usize) -> String {
    lines[start.min(lines.len())..(start + count).min(lines.len())]
        .iter()
        .map(|l| l.trim_end_matches('\r'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_stripped() {
        assert_eq!(strip_timestamp("[    1.234567] ok 1 foo"), "ok 1 foo");
        assert_eq!(strip_timestamp("[12.5]     ok 1 foo\r"), "    ok 1 foo");
        assert_eq!(strip_timestamp("[x] not a stamp"), "[x] not a stamp");
        assert_eq!(strip_timestamp("plain"), "plain");
    }

    #[test]
    fn torture_test_without_ok_is_a_failure() {
        let log = "[ 0.1] Starting IRQ pipeline tests...\n[ 0.2] Kernel panic - not syncing: x\n";
        let lines: Vec<&str> = log.lines().collect();
        let cases = boot_selftests(&lines);
        assert_eq!(cases[0].verdict, Verdict::Fail);
        let log = "Starting IRQ pipeline tests...\nIRQ pipeline tests OK.\n";
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(boot_selftests(&lines)[0].verdict, Verdict::Pass);
    }
}
