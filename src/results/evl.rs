//! `evl test` output (libevl's test runner) and `latmus` summary lines.
//!
//! `evl test` prints one line per test: `NAME: OK`, `NAME: no kernel support`,
//! `** NAME: BROKEN` (the test's stderr comes before it), `NAME: no such test`, or, for tests
//! exiting with EXIT_NO_STATUS, `NAME: <value>`. It prints no summary; we count.

use super::{strip_timestamp, LatencyRecord, Source, TestCase, Verdict};

fn is_test_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/'))
}

/// Decodes one `evl test` result line.
pub fn parse_line(line: &str) -> Option<(String, Verdict, Option<String>)> {
    let line = line.trim_end();
    let (broken, body) = match line.strip_prefix("** ") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (name, status) = body.split_once(": ")?;
    if !is_test_name(name) {
        return None;
    }
    // Tests built by ESHI live under eshi/: keep that in the name, it is a distinct binary.
    let name = name.to_string();
    let status = status.trim();
    match status {
        "OK" if !broken => Some((name, Verdict::Pass, None)),
        "BROKEN" => Some((name, Verdict::Fail, None)),
        "no kernel support" => Some((name, Verdict::Skip, Some(status.to_string()))),
        "no such test" => Some((name, Verdict::Fail, Some(status.to_string()))),
        // EXIT_NO_STATUS: the test prints a figure (e.g. `sched-quota-accuracy: 98.7%`).
        _ if !broken && status.starts_with(|c: char| c.is_ascii_digit()) => {
            Some((name, Verdict::Pass, Some(status.to_string())))
        }
        _ => None,
    }
}

/// Test cases from `evl test` lines in the payload section. Kernel messages (timestamped)
/// and marker lines are not considered.
pub fn parse(section: &[&str]) -> Vec<TestCase> {
    let mut out = Vec::new();
    let mut stderr: Vec<&str> = Vec::new();
    for raw in section {
        let raw = raw.trim_end_matches('\r');
        if strip_timestamp(raw) != raw || raw.contains(super::marker::MARKER) {
            continue;
        }
        match parse_line(raw) {
            Some((name, verdict, mut message)) => {
                if verdict == Verdict::Fail && message.is_none() && !stderr.is_empty() {
                    message = Some(stderr.join("\n"));
                }
                out.push(TestCase {
                    suite: "evl".into(),
                    name,
                    verdict,
                    source: Source::Evl,
                    message,
                });
                stderr.clear();
            }
            None => {
                if raw.contains("FAILED") || raw.contains("error") {
                    stderr.push(raw);
                    if stderr.len() > 8 {
                        stderr.remove(0);
                    }
                }
            }
        }
    }
    out
}

/// `latmus` summary lines: `RTS|min|avg|max|overruns|msw|duration`.
pub fn latencies(section: &[&str]) -> Vec<LatencyRecord> {
    section
        .iter()
        .filter_map(|raw| {
            let at = raw.find("RTS|")?;
            let fields: Vec<&str> = raw[at + 4..].trim().split('|').map(str::trim).collect();
            if fields.len() < 6 {
                return None;
            }
            Some(LatencyRecord {
                min: fields[0].parse().ok()?,
                avg: fields[1].parse().ok()?,
                max: fields[2].parse().ok()?,
                overruns: fields[3].parse().ok()?,
                msw: fields[4].parse().ok()?,
                duration: fields[5].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines() {
        assert_eq!(
            parse_line("basic-xbuf: OK"),
            Some(("basic-xbuf".into(), Verdict::Pass, None))
        );
        assert_eq!(
            parse_line("** monitor-pi: BROKEN"),
            Some(("monitor-pi".into(), Verdict::Fail, None))
        );
        assert_eq!(
            parse_line("stax-lock: no kernel support").map(|r| r.1),
            Some(Verdict::Skip)
        );
        assert_eq!(
            parse_line("sched-quota-accuracy: 98.7%").map(|r| (r.1, r.2)),
            Some((Verdict::Pass, Some("98.7%".into())))
        );
        assert_eq!(parse_line("Freeing unused kernel memory: 1000K"), None);
        assert_eq!(
            parse_line("basic-xbuf.c:42: FAILED: evl_create (=EINVAL)"),
            None
        );
        assert_eq!(parse_line("foo: something else"), None);
    }

    #[test]
    fn broken_test_keeps_its_stderr() {
        let log = "\
clone-fork-exec: OK
fault.c:71: FAILED: evl_attach_self (=ENOSYS)
** fault: BROKEN
[    4.1] evl: kernel says hi: OK
stax-warn: no kernel support
";
        let lines: Vec<&str> = log.lines().collect();
        let cases = parse(&lines);
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[1].verdict, Verdict::Fail);
        assert!(cases[1].message.as_deref().unwrap().contains("fault.c:71"));
    }

    #[test]
    fn latency_gate_fails_above_the_bound_and_without_a_summary() {
        let console = "@@dpt@@ begin\nRTS|      1.234|      2.345|     12.500|       0|     0|    00:00:10/00:00:10\n@@dpt@@ done 0\n";
        let mut r = super::super::analyse(
            console,
            super::super::BootEnd::Completed {
                payload_status: Some(0),
            },
        );
        let got = r.latency.len();
        assert_eq!(got, 1, "{console}");
        let mut tight = r.clone();
        tight.gate_latency(10.0);
        assert_eq!(tight.counts.failed, 1);
        assert!(tight
            .cases
            .last()
            .unwrap()
            .message
            .as_ref()
            .unwrap()
            .contains("12.5 us exceeds"));
        r.gate_latency(20.0);
        assert_eq!(r.counts.failed, 0);
        assert_eq!(r.cases.last().unwrap().full_name(), "latmus.max");
        let mut none = super::super::analyse(
            "",
            super::super::BootEnd::Completed {
                payload_status: Some(0),
            },
        );
        none.gate_latency(20.0);
        assert_eq!(none.counts.failed, 1, "a gate that saw nothing fails");
    }

    #[test]
    fn latmus_summary() {
        let lines =
            ["RTS|      1.234|      2.345|     12.500|       0|     0|    00:00:10/00:00:10"];
        let l = latencies(&lines);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].max, 12.5);
        assert_eq!(l[0].duration, "00:00:10/00:00:10");
    }
}
