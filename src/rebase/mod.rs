//! The replay engine: forward-ports a queue onto a new base in memory and ends with a verdict
//! for every patch. Conflicts are data queued in a resumable session, resolved git-style with
//! `--continue`/`--skip`/`--abort` in a dedicated worktree; the user's branches, worktree and
//! index never move, and the result branch is written only when the session completes.

pub mod api;
pub mod change;
pub mod collateral;
pub mod engine;
pub mod follow;
pub mod interdiff;
pub mod inuse;
pub mod lock;
pub mod merge;
pub mod placement;
pub mod replay;
pub mod report;
pub mod resolve;
pub mod session;
pub mod similarity;
pub mod timing;
pub mod treescan;
pub mod upstream;
pub mod verdicts;
pub mod verify;
pub mod worktree;
mod xmerge;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum RebaseError {
    #[error("{0}")]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "not a git repository: {path} ({source}); run in a kernel repository or pass --repo DIR"
    )]
    NotARepo { path: PathBuf, source: git2::Error },
    #[error("target `{target}` not found in {repo}: fetch it or name a tag, branch or commit that exists")]
    UnknownTarget { target: String, repo: PathBuf },
    #[error(
        "{patch}: `{subject}` needs blob {blob} of {path}, which is not in the repository: import the tree the series was made on first"
    )]
    MissingPreimage {
        patch: PathBuf,
        subject: String,
        path: String,
        blob: String,
    },
    #[error("{patch}: `{subject}` does not apply to the pre-image its index lines name: {source}")]
    PatchDoesNotApplyToPreimage {
        patch: PathBuf,
        subject: String,
        source: git2::Error,
    },
    #[error(
        "a rebase session is already in progress in {path} ({pending} conflict(s) pending): use --status, --continue, --skip or --abort"
    )]
    SessionInProgress { path: PathBuf, pending: usize },
    #[error("no rebase session in progress in {0}: start one with `dovetail-port rebase TARGET --queue BASE..HEAD`")]
    NoSession(PathBuf),
    #[error("session file {path} is unreadable ({message}): remove it with `dovetail-port rebase --abort`")]
    BadSession { path: PathBuf, message: String },
    #[error("branch `{0}` already exists: choose another with --branch NAME, or pass --force to overwrite it")]
    BranchExists(String),
    #[error("unresolved conflict markers remain:\n{0}\nedit the files, then run `dovetail-port rebase --continue` again")]
    MarkersRemain(String),
    #[error("{what} is already running in this repository ({holder}; lock {path}): wait for it to finish")]
    Locked {
        path: PathBuf,
        what: String,
        holder: String,
    },
    #[error("{patch}: path `{path}` {reason}; git's checkout refuses such paths too: fix the queue, or drop the patch with --skip")]
    UnsafePath {
        patch: String,
        path: String,
        reason: String,
    },
    #[error("{commit}: {message}")]
    InCommit { commit: String, message: String },
    #[error(
        "invalid branch name `{0}`: pick another with --branch NAME (see git check-ref-format)"
    )]
    BadBranch(String),
    #[error("binary conflict not resolved:\n{0}\nput the version you want at that path (e.g. copy FILE.theirs to FILE), then run `dovetail-port rebase --continue` again")]
    BinaryUnresolved(String),
    #[error("{0}")]
    Process(#[from] crate::process::ProcessError),
    #[error(transparent)]
    Memory(#[from] resolve::memory::MemoryError),
    #[error("verify: {0}")]
    Verify(String),
    #[error(transparent)]
    Collateral(#[from] collateral::CollateralError),
    #[error("--apply forces through a patch the session stopped on for an upstream-equivalent or obsolete verdict; the session is not stopped on one: use --continue alone")]
    NothingToApply,
}

pub type Result<T> = std::result::Result<T, RebaseError>;

/// The outcome of one patch. Every patch of the queue ends with exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every path it touches was unchanged in the target: applied as is.
    Clean,
    /// The target changed some of its files; the three-way merge had no conflict.
    Merged,
    /// Applied after re-anchoring hunks whose context moved.
    Relocated,
    /// The target already contains its change.
    AlreadyUpstream,
    /// The patch changes nothing.
    Empty,
    /// Needs a human: see the conflicting files and hunks.
    Conflict,
    /// Was a conflict; the user resolved it with --continue.
    Resolved,
    /// Was a conflict; the user dropped it with --skip.
    Skipped,
    /// Ported, but `--verify build` found it is the patch that breaks the build.
    BreaksBuild,
    /// Ported, but `--verify boot` found it is the patch that breaks the boot.
    BreaksBoot,
    /// Ported, but `--verify test` found it is the patch that makes a test fail.
    BreaksTest,
    /// Applied, but it uses functions, macros or Kconfig symbols the target no longer defines
    /// (listed with file:line): the build will tell; review it.
    NeedsApi,
    /// Applied, but it removes functions, macros or Kconfig symbols the tree right after it
    /// still uses (listed with file:line): the build breaks at this commit; review it.
    RemovesInUse,
    /// Not replayed: it uses names only an earlier, unported (conflicting or skipped) patch
    /// defines. Replayed when that patch is resolved.
    Blocked,
    /// The target already has its change in another form (see the finding's evidence).
    UpstreamEquivalent,
    /// What it changes is gone from the target (see the finding's evidence).
    Obsolete,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Merged => "merged",
            Verdict::Relocated => "relocated",
            Verdict::AlreadyUpstream => "already-upstream",
            Verdict::Empty => "empty",
            Verdict::Conflict => "conflict",
            Verdict::Resolved => "resolved",
            Verdict::Skipped => "skipped",
            Verdict::BreaksBuild => "breaks-build",
            Verdict::BreaksBoot => "breaks-boot",
            Verdict::BreaksTest => "breaks-test",
            Verdict::NeedsApi => "needs-api",
            Verdict::RemovesInUse => "removes-in-use",
            Verdict::Blocked => "blocked",
            Verdict::UpstreamEquivalent => "upstream-equivalent",
            Verdict::Obsolete => "obsolete",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the environment turns on a check of an in-process step against the git command it
/// replaces (set and neither empty nor `0`).
pub(crate) fn check_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}
