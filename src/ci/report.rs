//! Renderers for a [`CiReport`]: the terminal table, markdown for a merge-request comment,
//! JUnit XML (one suite per gate, KUnit cases and lint findings as test cases) and JSON.

use std::fmt::Write;

use super::run::{CiReport, GateKind, GateResult, Status};
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

fn md_cell(t: &str) -> String {
    t.replace('|', "\\|").replace('\n', " ")
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
            md_cell(&g.summary)
        );
    }
    for g in r.gates.iter().filter(|g| g.detail.is_some()) {
        let _ = writeln!(
            s,
            "\n<details><summary><code>{}</code> {}</summary>\n\n```\n{}\n```\n</details>",
            g.name,
            g.status.as_str(),
            g.detail
                .as_deref()
                .unwrap_or("")
                .lines()
                .take(60)
                .collect::<Vec<_>>()
                .join("\n")
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
    use crate::ci::queue_gate::{Broken, QueueCheck};
    use crate::ci::run::{GateKind, GateResult, Status};

    #[test]
    fn a_patch_that_breaks_the_verified_build_is_a_junit_failure_with_its_evidence() {
        let queue = QueueCheck {
            range: "v6.12..HEAD".into(),
            onto: "v6.12".into(),
            patches: 15,
            conflicts: Vec::new(),
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
        assert!(!queue.passed());
        let r = CiReport {
            root: "/fork".into(),
            gates: vec![GateResult {
                name: "queue".into(),
                kind: GateKind::Queue,
                status: Status::Failed,
                summary: "15 patch(es)".into(),
                detail: None,
                secs: 1.0,
                log: None,
                tests: None,
                findings: Vec::new(),
                queue: Some(queue),
            }],
            sarif: None,
            secs: 1.0,
        };
        let x = junit(&r);
        assert!(
            x.contains(
                "<testcase classname=\"queue\" name=\"0123456789ab irq_pipeline: count &lt;handled&gt; interrupts\""
            ),
            "{x}"
        );
        assert!(x.contains("message=\"breaks-build onto v6.12\""), "{x}");
        assert!(x.contains("kernel/irq/handle.c:196:9: expected"), "{x}");
        assert!(x.contains("failures=\"2\""), "{x}");
    }
}
