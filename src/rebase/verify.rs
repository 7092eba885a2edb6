//! `rebase --verify`: once every patch is ported, check the result (build, boot or tests) and,
//! when it fails, bisect the ported queue to name the patch that broke it. That patch's
//! verdict becomes `breaks-build`/`breaks-boot`/`breaks-test`, with the evidence, in the
//! session: the port is written, but it is not done.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::session::Session;
use super::{RebaseError, Result, Verdict};
use crate::bisect::{self, BisectOptions, CheckSpec, KernelSetup, Outcome};
use crate::kbuild::BaseConfig;

/// What the result must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyKind {
    /// The kernel builds.
    Build,
    /// It builds and boots in QEMU without a kernel event.
    Boot,
    /// It builds, boots, and the named tests (KUnit suites, `suite.case`) pass.
    Test,
}

impl VerifyKind {
    /// The verdict a patch gets when it is the one that breaks this check.
    pub fn breaks(self) -> Verdict {
        match self {
            VerifyKind::Build => Verdict::BreaksBuild,
            VerifyKind::Boot => Verdict::BreaksBoot,
            VerifyKind::Test => Verdict::BreaksTest,
        }
    }
}

/// The check and the kernel it is run on, kept in the session so that a `--continue` that
/// finishes the port verifies it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySetup {
    pub kind: VerifyKind,
    /// With `test`: the suites or cases that must pass.
    #[serde(default)]
    pub tests: Vec<String>,
    /// Architecture profile (default x86_64).
    #[serde(default)]
    pub arch: Option<String>,
    /// Base configuration: a make target or a .config file.
    pub config: String,
    #[serde(default)]
    pub fragments: Vec<String>,
    /// The built-in KUnit fragment.
    pub kunit: bool,
    /// The bisection's workspace (source tree, build folder); default: one per repository
    /// under the cache, shared with `dovetail-port bisect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<PathBuf>,
}

impl VerifySetup {
    pub fn new(kind: VerifyKind) -> Self {
        VerifySetup {
            kind,
            tests: Vec::new(),
            arch: None,
            config: "tinyconfig".into(),
            fragments: Vec::new(),
            kunit: true,
            workspace: None,
        }
    }

    fn check(&self) -> Result<CheckSpec> {
        Ok(match self.kind {
            VerifyKind::Build => CheckSpec::Build,
            VerifyKind::Boot => CheckSpec::Boot,
            VerifyKind::Test if self.tests.is_empty() => {
                return Err(RebaseError::Verify(
                    "--verify test needs the tests to run: add --verify-test NAME (a KUnit suite or suite.case)".into(),
                ))
            }
            VerifyKind::Test => CheckSpec::Test(self.tests.clone()),
        })
    }

    fn kernel(&self, progress: bool) -> KernelSetup {
        KernelSetup {
            arch: Some(self.arch.clone().unwrap_or_else(|| "x86_64".into())),
            base: BaseConfig::parse(&self.config),
            fragments: self.fragments.clone(),
            kunit: self.kunit,
            jobs: None,
            cross: None,
            boot_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(120),
            progress,
        }
    }
}

/// What the verification found, kept in the session and shown in the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    /// `build`, `boot`, `test NAME...`.
    pub check: String,
    /// `passes`, `found`, `ambiguous` or `base-fails`.
    pub outcome: String,
    /// 1-based number of the patch that breaks the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guilty: Option<usize>,
    /// With `ambiguous`: the patches among which the guilty one is (1-based).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<usize>,
    /// The compiler error, kernel event or failing test, as the bisection reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Trees checked (the head included), checks run this time, builds and boots run.
    pub checks: usize,
    pub checks_run: usize,
    pub builds_run: usize,
    pub boots_run: usize,
    /// Checks a plain binary bisection would have needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_bisection_checks: Option<usize>,
}

impl Verification {
    /// Whether the result passes the check.
    pub fn passed(&self) -> bool {
        self.outcome == "passes"
    }

    /// One line for the report.
    pub fn summary(&self) -> String {
        match (self.outcome.as_str(), self.guilty) {
            ("passes", _) => format!("verify {}: the result passes", self.check),
            ("found", Some(n)) => format!(
                "verify {}: the result fails; patch #{n} breaks it ({} check(s), {} build(s) run{})",
                self.check,
                self.checks,
                self.builds_run,
                self.plain_bisection_checks
                    .map(|p| format!("; a plain bisection checks {p}"))
                    .unwrap_or_default()
            ),
            ("ambiguous", _) => format!(
                "verify {}: the result fails; the patch that breaks it is one of {} (their trees could not be checked)",
                self.check,
                self.candidates
                    .iter()
                    .map(|n| format!("#{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ("base-fails", _) => format!(
                "verify {}: the target itself fails the check: no patch of the queue is to blame",
                self.check
            ),
            (other, _) => format!("verify {}: {other}", self.check),
        }
    }
}

/// Records the check to run once the port is complete (a later `--continue` runs it too).
pub fn configure(repo_path: &Path, setup: VerifySetup) -> Result<Session> {
    let repo = super::engine::open_repo(repo_path)?;
    let mut session = super::engine::status(repo_path)?;
    setup.check()?;
    session.verify = Some(setup);
    session.verification = None;
    session.save(repo.path())?;
    Ok(session)
}

/// Runs the session's check on the finished result, if one is set and not yet run, and
/// marks the patch that breaks it. `progress` gets one line per bisection event.
pub fn run(
    repo_path: &Path,
    session: &mut Session,
    show_build_progress: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let Some(setup) = session.verify.clone() else {
        return Ok(());
    };
    if !session.finished || session.verification.is_some() {
        return Ok(());
    }
    let repo = super::engine::open_repo(repo_path)?;
    let mut opts = BisectOptions::new(
        repo_path,
        &format!("{}..{}", session.target_id, session.tip),
        setup.check()?,
    );
    opts.kernel = setup.kernel(show_build_progress);
    opts.workspace = setup.workspace.clone();
    let report = bisect::run(&opts, progress).map_err(|e| RebaseError::Verify(e.to_string()))?;
    let number_of = |commit: &str| {
        session
            .patches
            .iter()
            .position(|p| p.new_commit.as_deref() == Some(commit))
            .map(|i| i + 1)
    };
    let guilty = report
        .guilty
        .as_ref()
        .and_then(|g| number_of(&g.patch.commit));
    let evidence = report
        .guilty
        .as_ref()
        .and_then(|g| g.evidence.as_ref())
        .map(|e| e.to_string());
    let verification = Verification {
        check: report.check.clone(),
        outcome: match report.outcome {
            Outcome::HeadPasses => "passes",
            Outcome::Found => "found",
            Outcome::Ambiguous => "ambiguous",
            Outcome::BaseFails => "base-fails",
        }
        .into(),
        guilty,
        candidates: report
            .candidates
            .iter()
            .filter_map(|p| number_of(&p.commit))
            .collect(),
        evidence: evidence.clone(),
        checks: report.checks,
        checks_run: report.checks_run,
        builds_run: report.builds_run,
        boots_run: report.boots_run,
        plain_bisection_checks: report.plain_bisection_checks,
    };
    if let Some(n) = guilty {
        let p = &mut session.patches[n - 1];
        let was = p.verdict_name();
        let first = evidence
            .as_deref()
            .and_then(|e| e.lines().next())
            .unwrap_or("no evidence recorded");
        p.notes.push(format!(
            "ported ({was}), but breaks the {}: {first}",
            verification.check
        ));
        p.verdict = Some(setup.kind.breaks());
    }
    session.verification = Some(verification);
    session.save_synced(repo.path())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_check_needs_names_and_maps_to_its_verdict() {
        let mut s = VerifySetup::new(VerifyKind::Test);
        let err = s.check().unwrap_err().to_string();
        assert!(err.contains("--verify-test NAME"), "{err}");
        s.tests = vec!["irq_pipeline_sample".into()];
        assert_eq!(
            s.check().unwrap(),
            CheckSpec::Test(vec!["irq_pipeline_sample".into()])
        );
        assert_eq!(VerifyKind::Test.breaks().as_str(), "breaks-test");
        assert_eq!(VerifyKind::Build.breaks().as_str(), "breaks-build");
        // A session written before the field existed, or by a typo, is told apart.
        let bad = serde_json::from_str::<VerifySetup>(
            r#"{"kind":"build","config":"tinyconfig","kunit":true,"arhc":"arm64"}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn summary_names_the_guilty_patch_and_the_cost() {
        let v = Verification {
            check: "build".into(),
            outcome: "found".into(),
            guilty: Some(4),
            candidates: Vec::new(),
            evidence: None,
            checks: 4,
            checks_run: 0,
            builds_run: 0,
            boots_run: 0,
            plain_bisection_checks: Some(5),
        };
        assert!(!v.passed());
        assert_eq!(
            v.summary(),
            "verify build: the result fails; patch #4 breaks it (4 check(s), 0 build(s) run; a plain bisection checks 5)"
        );
    }
}
