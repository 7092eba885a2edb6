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
            "  {} at console line {}: {}",
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
        name: format!("event {} ({}, line {})", i + 1, ev.kind, ev.line),
        outcome: Outcome::failure(&ev.summary, &ev.excerpt),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{analyse, BootEnd, LatencyRecord};
    use super::*;

    /// A boot with every part the renderers show: a failing KTAP case whose names need XML
    /// escaping, a skipped one with its reason, a kernel event with its excerpt, a latency
    /// record and a note; times and paths fixed.
    fn report() -> TestReport {
        let log = "KTAP version 1\n1..1\n    # Subtest: s<1>\n    1..3\n    ok 1 a\n    # b&c: expected 1, got 2\n    not ok 2 b&c\n    ok 3 d # SKIP needs \"debugfs\"\nnot ok 1 s<1>\n[    2.000000] ------------[ cut here ]------------\n[    2.000001] WARNING: CPU: 0 PID: 1 at kernel/irq/pipeline.c:42 sync_stage+0x1c/0x40\n[    2.000002] Call Trace:\n[    2.000003] ---[ end trace 0000000000000000 ]---\n";
        let mut r = analyse(
            log,
            BootEnd::Completed {
                payload_status: Some(0),
            },
        );
        r.arch = "x86_64".into();
        r.accel = Some("kvm".into());
        r.duration_secs = 12.25;
        r.console_log = Some("/runs/x86_64/console.log".into());
        r.latency.push(LatencyRecord {
            min: 1.5,
            avg: 2.25,
            max: 11.0,
            overruns: 0,
            msw: 0,
            duration: "00:00:10".into(),
        });
        r.notes.push("no KVM for arm64 guests here: TCG".into());
        r
    }

    #[test]
    fn human_json_and_junit() {
        let r = report();
        insta::assert_snapshot!("human", human(&r));
        insta::assert_snapshot!("json", json(&r));
        let x = junit(&r);
        insta::assert_snapshot!("junit", x);
        // A strict parser reads the escaped names back.
        let doc = roxmltree::Document::parse(&x).unwrap_or_else(|e| panic!("{e}\n{x}"));
        let names: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .filter_map(|n| n.attribute("name"))
            .collect();
        assert_eq!(names, ["s<1>", "kernel"]);
        let j: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(j["passed"], false);
    }
}
