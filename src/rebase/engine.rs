//! The rebase's entry point: one mode per invocation (start, `--continue`, `--skip`,
//! `--abort`, `--status`), run on the session. The replay lives in `replay`, the session's
//! state and transitions in `session`, the worktree where a conflict waits in `worktree`.

use std::path::Path;

pub use super::replay::pass::Progress;
pub use super::session::transitions::{
    abort, open_repo, resume, resume_with, skip, start, status, Moved, QueueSpec, StartOptions,
    Step,
};
use super::session::Session;
use super::Result;

/// What one invocation asks of the session; the modes exclude each other, as git rebase's do.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Start a session: replay the whole queue (in the repository its options name).
    Start(StartOptions),
    /// Take the resolution from the worktree (or resume a killed run) and go on. With
    /// `apply`, force through the patch an upstream-equivalent or obsolete verdict stopped on.
    Continue { apply: bool },
    /// Drop the patch the session stopped on and go on.
    Skip,
    /// Forget the session and remove its worktree.
    Abort,
    /// Read the session as it stands.
    Status,
}

/// What a mode left, for the caller to tell the user.
#[derive(Debug)]
pub enum Outcome {
    /// The whole queue was replayed; finished unless something stops the session.
    Started(Session),
    /// `--continue` or `--skip`: the session moved to its next stop, or finished.
    Moved(Moved),
    /// The session as it was when forgotten.
    Aborted(Session),
    /// The session as it stands.
    Status(Session),
}

/// Runs `mode` on the session of the repository at `repo` (a start names its repository in
/// its options). `progress` hears of each patch a first pass replays.
pub fn run(repo: &Path, mode: Mode, progress: Progress<'_>) -> Result<Outcome> {
    Ok(match mode {
        Mode::Start(opts) => Outcome::Started(start(&opts, progress)?),
        Mode::Continue { apply } => Outcome::Moved(resume_with(repo, apply, progress)?),
        Mode::Skip => Outcome::Moved(skip(repo)?),
        Mode::Abort => Outcome::Aborted(abort(repo)?),
        Mode::Status => Outcome::Status(status(repo)?),
    })
}
