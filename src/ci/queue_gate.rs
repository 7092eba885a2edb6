//! The queue gate: does `base..head` still replay onto `onto`? The rebase engine runs in a
//! scratch bare repository that borrows the fork's objects (alternates), so its session,
//! commits and result branch land there and vanish with it: the fork gains nothing.

use std::path::Path;

use crate::rebase::engine::{self, QueueSpec, StartOptions};
use crate::rebase::session::Session;
use crate::rebase::verify::{self, VerifySetup};
use crate::rebase::Verdict;

use super::config::QueueConfig;
use super::CiError;

/// The engine's verdicts, without the session.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueCheck {
    pub range: String,
    pub onto: String,
    pub patches: usize,
    /// (subject, commit) of every patch that conflicts.
    pub conflicts: Vec<(String, String)>,
    pub counts: std::collections::BTreeMap<String, usize>,
    /// `verify`: the check's one-line outcome, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// Whether the verified result passes (true when nothing was verified).
    pub verified: bool,
    /// The patch that breaks the verified check, with its evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaks: Option<Broken>,
}

/// The queue patch `verify` found breaking the result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Broken {
    pub subject: String,
    /// The queue's own commit, abbreviated.
    pub commit: String,
    /// `breaks-build`, `breaks-boot` or `breaks-test`.
    pub verdict: String,
    pub evidence: String,
}

impl QueueCheck {
    pub fn passed(&self) -> bool {
        self.conflicts.is_empty() && self.verified
    }
}

/// How the queue's verification builds: the first matrix entry's kernel, or x86_64
/// tinyconfig when there is none.
pub struct VerifyKernel {
    pub arch: Option<String>,
    pub config: String,
    pub fragments: Vec<String>,
}

/// Runs the check. `progress(done, total)` after each patch.
pub fn check(
    root: &Path,
    q: &QueueConfig,
    kernel: &VerifyKernel,
    progress: &mut dyn FnMut(usize, usize),
    verify_progress: &mut dyn FnMut(&str),
) -> Result<QueueCheck, CiError> {
    let repo = engine::open_repo(root).map_err(CiError::Rebase)?;
    let resolve = |spec: &str| -> Result<git2::Oid, CiError> {
        repo.revparse_single(spec)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|_| CiError::UnknownRef {
                spec: spec.to_string(),
                repo: root.to_path_buf(),
            })
    };
    let base = resolve(&q.base)?;
    let head = resolve(&q.head)?;
    let onto_spec = q.onto.clone().unwrap_or_else(|| q.base.clone());
    let onto = resolve(&onto_spec)?;

    if base == head || repo.graph_descendant_of(base, head)? {
        // Nothing on top of the base: nothing to replay.
        return Ok(QueueCheck {
            range: format!("{}..{}", q.base, q.head),
            onto: onto_spec,
            patches: 0,
            conflicts: Vec::new(),
            counts: Default::default(),
            verification: None,
            verified: true,
            breaks: None,
        });
    }
    let scratch = tempfile::Builder::new()
        .prefix("dovetail-port-ci-queue")
        .tempdir()
        .map_err(|e| CiError::Io {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let objects = repo.path().join("objects");
    // A worktree's git dir has no objects of its own: borrow the common dir's.
    let objects = if objects.is_dir() {
        objects
    } else {
        repo.commondir().join("objects")
    };
    let scratch_repo = git2::Repository::init_bare(scratch.path())?;
    let alternates = scratch.path().join("objects/info/alternates");
    std::fs::write(
        &alternates,
        format!(
            "{}\n",
            objects.canonicalize().unwrap_or(objects.clone()).display()
        ),
    )
    .map_err(|e| CiError::Io {
        path: alternates.clone(),
        source: e,
    })?;
    drop(scratch_repo);

    let topics = q.topics.as_ref().map(|t| root.join(t));
    let opts = StartOptions {
        repo: scratch.path().to_path_buf(),
        target: onto.to_string(),
        queue: QueueSpec::Range(format!("{base}..{head}")),
        branch: Some("ci-queue-check".into()),
        force: true,
        topics,
        // The gate reports what a maintainer would face, so it uses the resolution cascade.
        strict: false,
        collateral: None,
    };
    let mut session: Session = engine::start(&opts, progress).map_err(CiError::Rebase)?;
    if let (Some(kind), true) = (q.verify, session.finished) {
        let mut setup = VerifySetup::new(kind);
        setup.tests = q.verify_tests.clone();
        setup.arch = kernel.arch.clone();
        setup.config = kernel.config.clone();
        setup.fragments = kernel.fragments.clone();
        // The fork's own bisection workspace: builds stay incremental from run to run.
        setup.workspace = Some(crate::bisect::workspace::Workspace::default_root(
            repo.path(),
        ));
        session = verify::configure(scratch.path(), setup).map_err(CiError::Rebase)?;
        verify::run(scratch.path(), &mut session, false, verify_progress)
            .map_err(CiError::Rebase)?;
    }
    let verification = session.verification.as_ref();
    let breaks = verification.and_then(|v| v.guilty).map(|n| {
        let p = &session.patches[n - 1];
        Broken {
            subject: p.subject.clone(),
            commit: p.key.chars().take(12).collect(),
            verdict: p.verdict_name().to_string(),
            evidence: verification
                .and_then(|v| v.evidence.clone())
                .unwrap_or_default(),
        }
    });
    let mut counts = std::collections::BTreeMap::new();
    let mut conflicts = Vec::new();
    for p in &session.patches {
        let v = p.verdict.map_or("not-replayed", Verdict::as_str);
        *counts.entry(v.to_string()).or_insert(0) += 1;
        if p.verdict == Some(Verdict::Conflict) {
            conflicts.push((p.subject.clone(), p.key.chars().take(12).collect()));
        }
    }
    Ok(QueueCheck {
        range: format!("{}..{}", q.base, q.head),
        onto: onto_spec,
        patches: session.patches.len(),
        conflicts,
        counts,
        verification: verification.map(|v| v.summary()),
        verified: verification.is_none_or(|v| v.passed()),
        breaks,
    })
}
