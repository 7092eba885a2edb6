//! The bisection's report: built once as data, rendered for people or as JSON.

use serde::Serialize;

use super::evidence::Evidence;
use super::search::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// One patch fails while its predecessor passes.
    Found,
    /// The head passes: nothing to bisect.
    HeadPasses,
    /// The guilty patch is one of several that could not be told apart (untestable trees).
    Ambiguous,
    /// The base fails the check too: nothing in the queue is to blame.
    BaseFails,
}

/// One queue patch, as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct PatchRef {
    /// 1-based position in the queue.
    pub position: usize,
    pub commit: String,
    pub subject: String,
    pub topic: String,
}

/// One checked tree.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// None for the base.
    pub patch: Option<PatchRef>,
    pub tree: String,
    pub verdict: Verdict,
    /// Taken from the verdict cache: nothing was built.
    pub cached: bool,
    pub built: bool,
    pub booted: bool,
    pub secs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub patch: PatchRef,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guilty {
    pub patch: PatchRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BisectReport {
    pub queue: String,
    pub check: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guilty: Option<Guilty>,
    /// With `ambiguous`: the patches among which the guilty one is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<PatchRef>,
    /// Patches in the queue.
    pub patches: usize,
    pub steps: Vec<Step>,
    /// Patches never checked because they cannot change the checked build.
    pub cannot_matter: Vec<Skipped>,
    /// Trees checked (cached or not), the head included.
    pub checks: usize,
    /// Checks that ran this time (not from the cache).
    pub checks_run: usize,
    pub builds_run: usize,
    pub boots_run: usize,
    /// Trees a plain binary bisection checks for the same answer, the head included (one
    /// check more than `git bisect run`, which takes the head's failure on trust).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_bisection_checks: Option<usize>,
    pub secs: f64,
    pub workspace: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn name(p: &PatchRef) -> String {
    format!(
        "#{} {} {} [{}]",
        p.position,
        &p.commit[..p.commit.len().min(12)],
        p.subject,
        p.topic
    )
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::Untestable => "untestable",
    }
}

/// The report for people.
pub fn human(r: &BisectReport) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "bisect {} over {} ({} patches)\n",
        r.check, r.queue, r.patches
    ));
    for step in &r.steps {
        let who = step.patch.as_ref().map_or("base".to_string(), name);
        let how = if step.cached {
            "cached".to_string()
        } else {
            format!("{:.0} s", step.secs)
        };
        s.push_str(&format!(
            "  {:<10} {who} ({how})\n",
            verdict_word(step.verdict)
        ));
        if step.verdict != Verdict::Pass {
            if let Some(e) = &step.evidence {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("");
                s.push_str(&format!("             {first}\n"));
            }
        }
    }
    if !r.cannot_matter.is_empty() {
        s.push_str(&format!(
            "cannot matter ({}, never built):\n",
            r.cannot_matter.len()
        ));
        for k in &r.cannot_matter {
            s.push_str(&format!("  {}: {}\n", name(&k.patch), k.reason));
        }
    }
    match r.outcome {
        Outcome::Found => {
            if let Some(g) = &r.guilty {
                s.push_str(&format!("\nguilty: {}\n", name(&g.patch)));
                if let Some(e) = &g.evidence {
                    for l in e.to_string().lines() {
                        s.push_str(&format!("  {l}\n"));
                    }
                }
            }
        }
        Outcome::HeadPasses => s.push_str("\nthe head passes: nothing to bisect\n"),
        Outcome::Ambiguous => {
            s.push_str("\nthe guilty patch is one of these (the others could not be checked):\n");
            for c in &r.candidates {
                s.push_str(&format!("  {}\n", name(c)));
            }
        }
        Outcome::BaseFails => {
            s.push_str("\nthe base fails too: no patch of the queue is to blame\n")
        }
    }
    for n in &r.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    let plain = r
        .plain_bisection_checks
        .map(|p| format!(", plain bisection: {p}"))
        .unwrap_or_default();
    s.push_str(&format!(
        "\nchecks: {} ({} run, {} cached; {} builds, {} boots){plain}; {:.0} s\n",
        r.checks,
        r.checks_run,
        r.checks - r.checks_run,
        r.builds_run,
        r.boots_run,
        r.secs
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(position: usize, subject: &str, topic: &str) -> PatchRef {
        PatchRef {
            position,
            commit: format!("{position:02}{}", "ab".repeat(19)),
            subject: subject.into(),
            topic: topic.into(),
        }
    }

    fn step(patch: Option<PatchRef>, verdict: Verdict, evidence: Option<Evidence>) -> Step {
        Step {
            tree: format!("{:040}", patch.as_ref().map_or(0, |p| p.position)),
            patch,
            verdict,
            cached: false,
            built: true,
            booted: false,
            secs: 12.4,
            evidence,
        }
    }

    /// A found patch, with the base, a cached step, an untestable one and patches that
    /// cannot matter.
    fn found() -> BisectReport {
        let error = Evidence::CompileError {
            file: "kernel/irq/pipeline.c".into(),
            line: 42,
            column: Some(9),
            message: "implicit declaration of function 'sync_stage'".into(),
            log: Some("/work/build.log".into()),
        };
        let mut cached = step(Some(patch(2, "irq: b", "irq")), Verdict::Pass, None);
        cached.cached = true;
        let crash = Evidence::KernelEvent {
            event: "Oops".into(),
            summary: "Oops: general protection fault".into(),
            line: 310,
            excerpt: "RIP: 0010:sync_stage+0x1c/0x40\nCall Trace:".into(),
            console_log: None,
        };
        BisectReport {
            queue: "v6.12..dovetail".into(),
            check: "build x86_64".into(),
            outcome: Outcome::Found,
            guilty: Some(Guilty {
                patch: patch(4, "irq_pipeline: sync the stage", "irq"),
                evidence: Some(error.clone()),
            }),
            candidates: Vec::new(),
            patches: 6,
            steps: vec![
                step(None, Verdict::Pass, None),
                step(
                    Some(patch(6, "evl: last", "evl")),
                    Verdict::Fail,
                    Some(crash),
                ),
                cached,
                step(
                    Some(patch(3, "irq: c", "irq")),
                    Verdict::Untestable,
                    Some(Evidence::ConfigDropped {
                        options: vec!["IRQ_PIPELINE (no such option)".into()],
                    }),
                ),
                step(
                    Some(patch(4, "irq_pipeline: sync the stage", "irq")),
                    Verdict::Fail,
                    Some(error),
                ),
            ],
            cannot_matter: vec![Skipped {
                patch: patch(5, "docs: dovetail", "docs"),
                reason: "touches only Documentation/".into(),
            }],
            checks: 5,
            checks_run: 4,
            builds_run: 4,
            boots_run: 0,
            plain_bisection_checks: Some(4),
            secs: 49.6,
            workspace: "/cache/bisect/linux".into(),
            notes: vec!["the head fails with another error than the guilty patch".into()],
        }
    }

    #[test]
    fn found_human_and_json() {
        let r = found();
        insta::assert_snapshot!("found_human", human(&r));
        insta::assert_snapshot!("found_json", crate::schema::to_json(&r));
    }

    #[test]
    fn every_other_outcome() {
        let mut r = found();
        r.guilty = None;
        r.notes.clear();
        r.cannot_matter.clear();
        r.plain_bisection_checks = None;
        r.steps.truncate(1);
        (r.checks, r.checks_run, r.builds_run) = (2, 2, 2);
        r.outcome = Outcome::HeadPasses;
        insta::assert_snapshot!("head_passes", human(&r));
        r.outcome = Outcome::BaseFails;
        r.steps[0].verdict = Verdict::Fail;
        r.steps[0].evidence = Some(Evidence::Command {
            status: 2,
            output_tail: "make: *** [Makefile:1] Error 2".into(),
        });
        insta::assert_snapshot!("base_fails", human(&r));
        r.outcome = Outcome::Ambiguous;
        r.candidates = vec![patch(2, "irq: b", "irq"), patch(3, "irq: c", "irq")];
        insta::assert_snapshot!("ambiguous", human(&r));
        insta::assert_snapshot!("ambiguous_json", crate::schema::to_json(&r));
    }
}
