//! The queue gate: does `base..head` still replay onto `onto`? The rebase engine runs in a
//! scratch bare repository that borrows the fork's objects (alternates), so its session,
//! commits and result branch land there and vanish with it: the fork gains nothing.

use std::path::Path;

use crate::rebase::engine::{self, QueueSpec, StartOptions};
use crate::rebase::session::Session;
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
}

impl QueueCheck {
    pub fn passed(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// Runs the check. `progress(done, total)` after each patch.
pub fn check(
    root: &Path,
    q: &QueueConfig,
    progress: &mut dyn FnMut(usize, usize),
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
    let session: Session = engine::start(&opts, progress).map_err(CiError::Rebase)?;
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
    })
}
