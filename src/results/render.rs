//! Renderers for a [`TestReport`]: a human summary, JSON and JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write;

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

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters; consoles are full of them.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testsuite>` per suite path, plus a `kernel` suite holding crash events and
/// how the boot ended, so CI shows a panic or a hang as a failed test too.
pub fn junit(r: &TestReport) -> String {
    let mut suites: BTreeMap<&str, Vec<&super::TestCase>> = BTreeMap::new();
    for c in &r.cases {
        suites.entry(c.suite.as_str()).or_default().push(c);
    }
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let c = &r.counts;
    let boot_failed = !matches!(r.end, BootEnd::Completed { .. });
    let kernel_failures = r.crashes.len() + usize::from(boot_failed);
    let _ = writeln!(
        s,
        "<testsuites name=\"dovetail-port\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        c.total() + 1 + r.crashes.len(),
        c.failed + kernel_failures,
        c.crashed,
        c.skipped,
        r.duration_secs
    );
    for (suite, cases) in &suites {
        let name = if suite.is_empty() { "tests" } else { suite };
        let failures = cases.iter().filter(|c| c.verdict == Verdict::Fail).count();
        let errors = cases
            .iter()
            .filter(|c| c.verdict == Verdict::Crashed)
            .count();
        let skipped = cases.iter().filter(|c| c.verdict == Verdict::Skip).count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
            xml_escape(name),
            cases.len()
        );
        for case in cases {
            let _ = write!(
                s,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(name),
                xml_escape(&case.name)
            );
            let msg = xml_escape(case.message.as_deref().unwrap_or(""));
            match case.verdict {
                Verdict::Pass => s.push_str("/>\n"),
                Verdict::Skip => {
                    let _ = writeln!(s, ">\n      <skipped message=\"{msg}\"/>\n    </testcase>");
                }
                Verdict::Fail => {
                    let _ = writeln!(
                        s,
                        ">\n      <failure message=\"test failed\">{msg}</failure>\n    </testcase>"
                    );
                }
                Verdict::Crashed => {
                    let _ = writeln!(
                        s,
                        ">\n      <error message=\"never reported (crashed)\">{msg}</error>\n    </testcase>"
                    );
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    let _ = writeln!(
        s,
        "  <testsuite name=\"kernel\" tests=\"{}\" failures=\"{kernel_failures}\" errors=\"0\" skipped=\"0\">",
        1 + r.crashes.len()
    );
    if boot_failed {
        let _ = writeln!(
            s,
            "    <testcase classname=\"kernel\" name=\"boot\">\n      <failure message=\"{}\"/>\n    </testcase>",
            xml_escape(&r.end.to_string())
        );
    } else {
        s.push_str("    <testcase classname=\"kernel\" name=\"boot\"/>\n");
    }
    for (i, ev) in r.crashes.iter().enumerate() {
        let _ = writeln!(
            s,
            "    <testcase classname=\"kernel\" name=\"event {} ({:?}, line {})\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
            i + 1,
            ev.kind,
            ev.line,
            xml_escape(&ev.summary),
            xml_escape(&ev.excerpt)
        );
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
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
