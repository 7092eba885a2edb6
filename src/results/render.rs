//! Renderers for a [`TestReport`]: a human summary, JSON and JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::junit::{Case, Outcome, Suite, Suites};
use super::{BootEnd, TestReport, Verdict};

/// Output formats offered by the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Junit,
}

pub fn render(report: &TestReport, format: Format) -> String {
    match format {
        Format::Human => human(report),
        Format::Json => json(report),
        Format::Junit => junit(report),
    }
}

pub fn human(r: &TestReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} boot: {} in {:.1} s{}",
        if r.arch.is_empty() { "guest" } else { &r.arch },
        r.end,
        r.duration_secs,
        r.accel
            .as_deref()
            .map(|a| format!(" (accel {a})"))
            .unwrap_or_default()
    );
    for case in r.failing_cases() {
        let _ = writeln!(
            s,
            "  {} {}",
            if case.verdict == Verdict::Crashed {
                "CRASHED"
            } else {
                "FAIL   "
            },
            case.full_name()
        );
        if let Some(m) = &case.message {
            for line in m.lines().take(12) {
                let _ = writeln!(s, "          {line}");
            }
        }
    }
    for ev in &r.crashes {
        let _ = writeln!(
            s,
            "  {:?} at console line {}: {}",
            ev.kind, ev.line, ev.summary
        );
        for line in ev.excerpt.lines().take(15) {
            let _ = writeln!(s, "          {line}");
        }
    }
    for l in &r.latency {
        let _ = writeln!(
            s,
            "  latency (us): min {} avg {} max {} overruns {} msw {} ({})",
            l.min, l.avg, l.max, l.overruns, l.msw, l.duration
        );
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    let c = &r.counts;
    let _ = writeln!(
        s,
        "{} tests: {} passed, {} failed, {} crashed, {} skipped; {} kernel event(s){}",
        c.total(),
        c.passed,
        c.failed,
        c.crashed,
        c.skipped,
        r.crashes.len(),
        r.console_log
            .as_ref()
            .map(|p| format!("; console log: {}", p.display()))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "{}", if r.passed() { "PASSED" } else { "FAILED" });
    s
}

pub fn json(r: &TestReport) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("passed".into(), serde_json::Value::Bool(r.passed()));
    }
    crate::schema::stamp(&mut v);
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// JUnit XML: one `<testsuite>` per suite path, plus a `kernel` suite holding crash events and
/// how the boot ended, so CI shows a panic or a hang as a failed test too.
pub fn junit(r: &TestReport) -> String {
    let mut by_suite: BTreeMap<&str, Vec<&super::TestCase>> = BTreeMap::new();
    for c in &r.cases {
        by_suite.entry(c.suite.as_str()).or_default().push(c);
    }
    let mut suites: Vec<Suite> = by_suite
        .into_iter()
        .map(|(suite, cases)| {
            let name = if suite.is_empty() { "tests" } else { suite };
            Suite {
                name: name.to_string(),
                time: None,
                cases: cases
                    .into_iter()
                    .map(|case| junit_case(case, name.to_string()))
                    .collect(),
            }
        })
        .collect();
    suites.push(Suite {
        name: "kernel".into(),
        time: None,
        cases: kernel_cases(r, "kernel"),
    });
    Suites {
        name: "dovetail-port".into(),
        time: Some(r.duration_secs),
        suites,
    }
    .to_xml()
}

/// The kernel's own cases: the boot (failed unless it completed), then each crash event.
fn kernel_cases(r: &TestReport, class: &str) -> Vec<Case> {
    let boot = match r.end {
        BootEnd::Completed { .. } => Outcome::Passed,
        _ => Outcome::failure(r.end.to_string(), ""),
    };
    let mut cases = vec![Case {
        class: class.to_string(),
        name: "boot".into(),
        outcome: boot,
    }];
    cases.extend(crash_cases(r, class));
    cases
}

/// A test case as a JUnit case of class `class`, its message as the body.
pub fn junit_case(case: &super::TestCase, class: String) -> Case {
    let msg = case.message.clone().unwrap_or_default();
    Case {
        class,
        name: case.name.clone(),
        outcome: match case.verdict {
            Verdict::Pass => Outcome::Passed,
            Verdict::Skip => Outcome::skipped(msg),
            Verdict::Fail => Outcome::failure("test failed", msg),
            Verdict::Crashed => Outcome::error("never reported (crashed)", msg),
        },
    }
}

/// Each crash event of the boot as a failed case of class `class`, its excerpt as the body.
pub fn crash_cases<'a>(r: &'a TestReport, class: &'a str) -> impl Iterator<Item = Case> + 'a {
    r.crashes.iter().enumerate().map(move |(i, ev)| Case {
        class: class.to_string(),
        name: format!("event {} ({:?}, line {})", i + 1, ev.kind, ev.line),
        outcome: Outcome::failure(&ev.summary, &ev.excerpt),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{analyse, BootEnd};
    use super::*;

    #[test]
    fn junit_counts_and_escapes() {
        let log = "KTAP version 1\n1..1\n    # Subtest: s<1>\n    1..2\n    ok 1 a\n    not ok 2 b&c\nnot ok 1 s<1>\n";
        let r = analyse(
            log,
            BootEnd::Completed {
                payload_status: Some(0),
            },
        );
        let x = junit(&r);
        assert!(x.contains("<testsuite name=\"s&lt;1&gt;\" tests=\"2\" failures=\"1\""));
        assert!(x.contains("name=\"b&amp;c\""));
        assert!(x.contains("<testcase classname=\"kernel\" name=\"boot\"/>"));
        let h = human(&r);
        assert!(h.contains("FAIL    s<1>.b&c"));
        assert!(h.ends_with("FAILED\n"));
        let j: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(j["counts"]["failed"], 1);
        assert_eq!(j["passed"], false);
    }
}
