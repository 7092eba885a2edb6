//! The marker protocol between the guest's init, the user's payload and the host.
//!
//! Kernel messages share the serial console with the payload and can land anywhere, so every
//! line meant for the host carries a unique marker and is found wherever it appears in a line:
//!
//! ```text
//! @@dpt@@ begin                 init is about to run the payload
//! @@dpt@@ ok NAME [message]     a payload test passed
//! @@dpt@@ fail NAME [message]   a payload test failed
//! @@dpt@@ skip NAME [reason]    a payload test was skipped
//! @@dpt@@ done STATUS           the payload exited with STATUS; init reboots next
//! ```

use super::{Source, TestCase, Verdict};

pub const MARKER: &str = "@@dpt@@";

/// A marker line, decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum Marker<'a> {
    Begin,
    Result {
        verdict: Verdict,
        name: &'a str,
        message: Option<&'a str>,
    },
    Done(Option<i32>),
}

pub fn decode(line: &str) -> Option<Marker<'_>> {
    let at = line.find(MARKER)?;
    let rest = line[at + MARKER.len()..].trim();
    let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let tail = tail.trim();
    match word {
        "begin" => Some(Marker::Begin),
        "done" => Some(Marker::Done(tail.split_whitespace().next()?.parse().ok())),
        "ok" | "fail" | "skip" => {
            let (name, message) = match tail.split_once(' ') {
                Some((n, m)) => (n, Some(m.trim())),
                None => (tail, None),
            };
            if name.is_empty() {
                return None;
            }
            let verdict = match word {
                "ok" => Verdict::Pass,
                "fail" => Verdict::Fail,
                _ => Verdict::Skip,
            };
            Some(Marker::Result {
                verdict,
                name,
                message,
            })
        }
        _ => None,
    }
}

/// True for the completion line the host waits for.
pub fn is_done(line: &str) -> bool {
    matches!(decode(line), Some(Marker::Done(_)))
}

/// The payload's status from a `done` line.
pub fn done_status(line: &str) -> Option<i32> {
    match decode(line) {
        Some(Marker::Done(status)) => status,
        _ => None,
    }
}

/// Line range (exclusive of both markers) between `begin` and `done`; up to the end of the log
/// when `done` never came.
pub fn payload_section(lines: &[&str]) -> Option<(usize, usize)> {
    let start = lines
        .iter()
        .position(|l| decode(l) == Some(Marker::Begin))?;
    let stop = lines[start + 1..]
        .iter()
        .position(|l| is_done(l))
        .map(|p| start + 1 + p)
        .unwrap_or(lines.len());
    Some((start + 1, stop))
}

/// Payload results reported through markers.
pub fn parse(section: &[&str]) -> Vec<TestCase> {
    section
        .iter()
        .filter_map(|l| match decode(l)? {
            Marker::Result {
                verdict,
                name,
                message,
            } => Some(TestCase {
                suite: "payload".into(),
                name: name.to_string(),
                verdict,
                source: Source::Marker,
                message: message.map(str::to_string),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_survive_interleaved_kernel_text() {
        assert_eq!(
            decode("[  3.2] random: crng init done@@dpt@@ ok alpha took 3 ms"),
            Some(Marker::Result {
                verdict: Verdict::Pass,
                name: "alpha",
                message: Some("took 3 ms")
            })
        );
        assert_eq!(decode("@@dpt@@ done 0"), Some(Marker::Done(Some(0))));
        assert_eq!(decode("@@dpt@@ done"), None);
        assert_eq!(decode("@@dpt@@ fail"), None);
        assert_eq!(decode("no marker here"), None);
    }

    #[test]
    fn section_and_results() {
        let log = "boot\n@@dpt@@ begin\n@@dpt@@ fail beta bad value\nx\n@@dpt@@ done 1\nafter\n";
        let lines: Vec<&str> = log.lines().collect();
        let (s, e) = payload_section(&lines).unwrap();
        assert_eq!((s, e), (2, 4));
        let cases = parse(&lines[s..e]);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].verdict, Verdict::Fail);
        assert_eq!(cases[0].message.as_deref(), Some("bad value"));
        assert_eq!(done_status(lines[4]), Some(1));
    }
}
