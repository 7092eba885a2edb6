//! Renderers for a [`CiReport`]: the terminal table, markdown for a merge-request comment,
//! JUnit XML (one suite per gate, KUnit cases and lint findings as test cases) and JSON.

use std::fmt::Write;

use super::run::{CiReport, GateKind, GateResult, Status};
use crate::markdown::{cell, code_block};
use crate::results::junit::{Case, Outcome, Suite, Suites};
use crate::results::render::{crash_cases, junit_case};

fn kind(k: GateKind) -> &'static str {
    match k {
        GateKind::Queue => "queue",
        GateKind::Lint => "lint",
        GateKind::Build => "build",
        GateKind::Boot => "boot",
    }
}

/// The final table.
pub fn table(r: &CiReport) -> String {
    let w = r
        .gates
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$}  {:<5}  {:<7}  {:>7}  details",
        "gate", "kind", "status", "time"
    );
    for g in &r.gates {
        let _ = writeln!(
            s,
            "{:<w$}  {:<5}  {:<7}  {:>6.0}s  {}",
            g.name,
            kind(g.kind),
            g.status.as_str().to_uppercase(),
            g.secs,
            g.summary
        );
    }
    for g in r.gates.iter().filter(|g| g.detail.is_some()) {
        let _ = writeln!(s, "\n{} ({}):", g.name, g.status.as_str());
        for l in g.detail.as_deref().unwrap_or("").lines().take(40) {
            let _ = writeln!(s, "  {l}");
        }
        if let Some(log) = &g.log {
            let _ = writeln!(s, "  log: {}", log.display());
        }
    }
    let failed = r
        .gates
        .iter()
        .filter(|g| g.status != Status::Passed)
        .count();
    let _ = writeln!(
        s,
        "\n{} ({} gate(s), {} not passed, {:.0} s)",
        if r.passed() { "CI PASSED" } else { "CI FAILED" },
        r.gates.len(),
        failed,
        r.secs
    );
    s
}

/// A merge-request comment.
pub fn markdown(r: &CiReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### dovetail-port ci: {}\n",
        if r.passed() {
            "✅ passed"
        } else {
            "❌ failed"
        }
    );
    s.push_str("| gate | kind | status | time | details |\n|---|---|---|---:|---|\n");
    for g in &r.gates {
        let icon = match g.status {
            Status::Passed => "✅",
            Status::Failed => "❌",
            Status::Error => "⚠️",
            Status::Skipped => "⏭️",
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {icon} {} | {:.0} s | {} |",
            g.name,
            kind(g.kind),
            g.status.as_str(),
            g.secs,
            cell(&g.summary)
        );
    }
    for g in r.gates.iter().filter(|g| g.detail.is_some()) {
        let _ = writeln!(
            s,
            "\n<details><summary><code>{}</code> {}</summary>\n\n{}\n</details>",
            g.name,
            g.status.as_str(),
            code_block(
                "",
                &g.detail
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .take(60)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        );
    }
    s
}

/// JUnit XML: a `<testsuite>` per gate. The gate itself is a test case (so an error or a
/// hang shows up), then its parts: each conflicting patch, each lint finding, each KUnit case
/// and kernel event.
pub fn junit(r: &CiReport) -> String {
    Suites {
        name: "dovetail-port ci".into(),
        time: Some(r.secs),
        suites: r.gates.iter().map(gate_suite).collect(),
    }
    .to_xml()
}

fn gate_suite(g: &GateResult) -> Suite {
    let detail = || g.detail.clone().unwrap_or_default();
    let mut cases = vec![Case {
        class: format!("ci.{}", kind(g.kind)),
        name: g.name.clone(),
        outcome: match g.status {
            Status::Passed => Outcome::Passed,
            Status::Failed => Outcome::failure(&g.summary, detail()),
            Status::Error => Outcome::error(&g.summary, detail()),
            Status::Skipped => Outcome::skipped(&g.summary),
        },
    }];
    if let Some(q) = &g.queue {
        for (subject, id) in &q.conflicts {
            cases.push(Case {
                class: "queue".into(),
                name: format!("{id} {subject}"),
                outcome: Outcome::failure(format!("conflicts onto {}", q.onto), ""),
            });
        }
        if let Some(b) = &q.breaks {
            cases.push(Case {
                class: "queue".into(),
                name: format!("{} {}", b.commit, b.subject),
                outcome: Outcome::failure(format!("{} onto {}", b.verdict, q.onto), &b.evidence),
            });
        }
    }
    for f in &g.findings {
        cases.push(Case {
            class: format!("lint.{}", f.rule),
            name: format!("{}:{}", f.file, f.line),
            outcome: Outcome::failure(&f.message, &f.chain),
        });
    }
    if let Some(t) = &g.tests {
        for c in &t.cases {
            let suite = if c.suite.is_empty() {
                "tests"
            } else {
                &c.suite
            };
            cases.push(junit_case(c, format!("{}.{suite}", g.name)));
        }
        cases.extend(crash_cases(t, &format!("{}.kernel", g.name)));
    }
    Suite {
        name: g.name.clone(),
        time: Some(g.secs),
        cases,
    }
}

pub fn json(r: &CiReport) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("passed".into(), r.passed().into());
    }
    crate::schema::stamp(&mut v);
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::lint_gate::Finding;
    use crate::ci::queue_gate::{Broken, QueueCheck};
    use crate::ci::run::{GateKind, GateResult, Status};
    use crate::results::{analyse, BootEnd};

    fn gate(name: &str, kind: GateKind, status: Status, summary: &str, secs: f64) -> GateResult {
        GateResult {
            name: name.into(),
            kind,
            status,
            summary: summary.into(),
            detail: None,
            secs,
            log: None,
            tests: None,
            findings: Vec::new(),
            queue: None,
        }
    }

    /// A run with one gate of each kind and status: a queue with a conflict and a patch that
    /// breaks the verified build, a lint finding, a failed build with its log, a boot whose
    /// KUnit suite fails and a skipped boot. Names and messages need escaping in XML and
    /// markdown.
    fn report() -> CiReport {
        let queue = QueueCheck {
            range: "v6.12..HEAD".into(),
            onto: "v6.12".into(),
            patches: 15,
            conflicts: vec![("sched: add a | hook".into(), "fedcba987654".into())],
            counts: Default::default(),
            verification: Some("verify build: the result fails; patch #4 breaks it".into()),
            verified: false,
            breaks: Some(Broken {
                subject: "irq_pipeline: count <handled> interrupts".into(),
                commit: "0123456789ab".into(),
                verdict: "breaks-build".into(),
                evidence: "kernel/irq/handle.c:196:9: expected ';'".into(),
            }),
        };
        let mut q = gate(
            "queue",
            GateKind::Queue,
            Status::Failed,
            "15 patch(es): 1 conflict",
            3.4,
        );
        q.detail = Some("conflict: fedcba987654 sched: add a | hook".into());
        q.queue = Some(queue);
        let mut lint = gate("lint", GateKind::Lint, Status::Failed, "1 new finding", 0.6);
        lint.detail = Some("drivers/x.c:8: mutex_lock() in oob context".into());
        lint.findings.push(Finding {
            rule: "oob-sleeping-lock".into(),
            message: "in-band-only `mutex_lock()` called in oob context".into(),
            chain: "x_oob_ioctl() -> mutex_lock()".into(),
            file: "drivers/x.c".into(),
            line: 8,
        });
        let mut build = gate("arm64", GateKind::Build, Status::Error, "make failed", 61.0);
        build.detail = Some("arch/arm64/kernel/irq.c:12: error: unknown type".into());
        build.log = Some("/ci/arm64/build.log".into());
        let log = "KTAP version 1\n1..1\n    # Subtest: evl\n    1..2\n    ok 1 clock\n    not ok 2 sched\nnot ok 1 evl\n";
        let mut tests = analyse(log, BootEnd::NoOutput { seconds: 30 });
        tests.duration_secs = 42.0;
        let mut boot = gate(
            "x86_64-kunit",
            GateKind::Boot,
            Status::Failed,
            "1 of 2 test(s) failed",
            42.0,
        );
        boot.tests = Some(tests);
        let skipped = gate(
            "riscv64",
            GateKind::Boot,
            Status::Skipped,
            "needs arm64 first",
            0.0,
        );
        CiReport {
            root: "/fork".into(),
            gates: vec![q, lint, build, boot, skipped],
            sarif: None,
            secs: 107.0,
        }
    }

    #[test]
    fn table_markdown_junit_and_json() {
        let r = report();
        insta::assert_snapshot!("table", table(&r));
        insta::assert_snapshot!("markdown", markdown(&r));
        insta::assert_snapshot!("json", json(&r));
        let x = junit(&r);
        insta::assert_snapshot!("junit", x);
        // A strict parser reads it back, the breaking patch's subject unescaped.
        let doc = roxmltree::Document::parse(&x).unwrap_or_else(|e| panic!("{e}\n{x}"));
        assert!(doc.descendants().any(|n| n.attribute("name")
            == Some("0123456789ab irq_pipeline: count <handled> interrupts")));
    }

    #[test]
    fn a_passing_run() {
        let r = CiReport {
            root: "/fork".into(),
            gates: vec![gate(
                "queue",
                GateKind::Queue,
                Status::Passed,
                "15 patch(es)",
                2.0,
            )],
            sarif: None,
            secs: 2.0,
        };
        insta::assert_snapshot!("passing_table", table(&r));
        insta::assert_snapshot!("passing_markdown", markdown(&r));
    }
}
