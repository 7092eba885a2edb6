//! The session: everything a rebase run decided, saved after every patch under
//! `<git dir>/dovetail-port/` by write-then-rename, so a killed run resumes where it stopped.

pub mod conflict;
pub mod transitions;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::merge::{ConflictKind, PathResult};
use super::{RebaseError, Result, Verdict};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum QueueSource {
    /// Commits of a range, by full id.
    Range {
        spec: String,
        base: String,
        commits: Vec<String>,
    },
    /// Patch files (a series directory or file).
    Series { path: PathBuf },
}

/// A conflict region, as shown to the user (diff3 style: ours / base / theirs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConflictHunk {
    pub path: String,
    pub kind: ConflictKind,
    /// 1-based line of the region in the merged file.
    pub line: usize,
    pub text: String,
    /// Upstream commits that changed the target's side of the region (`id subject`), when the
    /// repository has the history between the queue's base and the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_upstream_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatchState {
    /// Commit id, or `file:line` for patch files.
    pub key: String,
    pub subject: String,
    pub topic: String,
    pub verdict: Option<Verdict>,
    /// The commit made for it in the result, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_commit: Option<String>,
    #[serde(default)]
    pub paths: Vec<PathResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictHunk>,
    /// Old vs new change lines, when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interdiff: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The upstream commit with the same patch-id, when one was found: that verdict does not
    /// depend on where in the queue the patch is replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The identifiers behind a `needs-api` or `blocked` verdict, with file:line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<crate::syntax::defs::Use>,
    /// The definitions behind a `removes-in-use` verdict, each with the lines that still use it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_use: Vec<crate::rebase::inuse::InUse>,
    /// For `blocked`: the key of the unported patch that defines them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// The evidence of an `upstream-equivalent` or `obsolete` verdict, and the user's decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<super::verdicts::Finding>,
}

impl PatchState {
    /// The verdict's name, `-` while the patch is not replayed yet.
    pub fn verdict_name(&self) -> &'static str {
        self.verdict.map_or("-", Verdict::as_str)
    }

    /// The key as people write it: an abbreviated commit id, or a patch file's name and line.
    pub fn short_key(&self) -> String {
        let key = self.key.rsplit('/').next().unwrap_or(&self.key);
        if key.contains(':') {
            key.to_string()
        } else {
            key.chars().take(12).collect()
        }
    }

    /// A verdict the session stops on until the user confirms or overrides it.
    pub fn awaits_decision(&self) -> bool {
        self.verdict.is_some_and(|v| {
            matches!(v, Verdict::UpstreamEquivalent | Verdict::Obsolete)
                && self.finding.as_ref().is_some_and(|f| f.decision.is_none())
        })
    }

    /// Where the session stops: a conflict, or a verdict waiting for the user.
    pub fn stops(&self) -> bool {
        self.verdict == Some(Verdict::Conflict) || self.awaits_decision()
    }

    /// Whether the report has more to say about it than its table row.
    pub fn has_details(&self) -> bool {
        !(self.notes.is_empty()
            && self.conflicts.is_empty()
            && self.interdiff.is_none()
            && self.finding.is_none())
    }
}

/// A conflict checked out in the session's worktree, waiting for the user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Active {
    pub index: usize,
    pub conflicted: Vec<String>,
    /// Blob ids of the conflicted files as checked out (with their markers), in the order of
    /// `conflicted`: what `--continue` compares the user's files with to record resolutions.
    #[serde(default)]
    pub marked: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub version: u32,
    pub target: String,
    pub target_id: String,
    pub source: QueueSource,
    pub branch: String,
    pub force: bool,
    /// The result so far.
    pub tip: String,
    /// The next patch the first pass replays; equals `patches.len()` once it is done.
    pub next: usize,
    pub patches: Vec<PatchState>,
    #[serde(default)]
    pub active: Option<Active>,
    #[serde(default)]
    pub finished: bool,
    /// Seconds the first pass took.
    #[serde(default)]
    pub replay_seconds: f64,
    /// `--strict`: no resolution cascade, git's conflicts exactly.
    #[serde(default)]
    pub strict: bool,
    /// New upstream code the queue's intent covers, to look at after the port.
    #[serde(default)]
    pub collateral: Vec<super::collateral::Todo>,
    /// `--verify`: the check the finished result must pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<super::verify::VerifySetup>,
    /// What that check found, once run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<super::verify::Verification>,
}

impl Session {
    pub fn dir(git_dir: &Path) -> PathBuf {
        git_dir.join("dovetail-port")
    }

    pub fn file(git_dir: &Path) -> PathBuf {
        Self::dir(git_dir).join("session.json")
    }

    pub fn worktree(git_dir: &Path) -> PathBuf {
        Self::dir(git_dir).join("worktree")
    }

    pub fn load(git_dir: &Path) -> Result<Option<Session>> {
        let path = Self::file(git_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RebaseError::Io { path, source }),
        };
        let session: Session =
            serde_json::from_str(&text).map_err(|e| RebaseError::BadSession {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if session.version != FORMAT_VERSION {
            return Err(RebaseError::BadSession {
                path,
                message: format!(
                    "format version {} (expected {FORMAT_VERSION})",
                    session.version
                ),
            });
        }
        Ok(Some(session))
    }

    /// Writes the session atomically: a reader, or a run resumed after a kill, sees the old or
    /// the new state, never half. (Rename is enough for a killed process; `sync` also flushes
    /// to disk, for the saves that close a step.)
    pub fn save(&self, git_dir: &Path) -> Result<()> {
        self.write(git_dir, false)
    }

    pub fn save_synced(&self, git_dir: &Path) -> Result<()> {
        self.write(git_dir, true)
    }

    fn write(&self, git_dir: &Path, sync: bool) -> Result<()> {
        let dir = Self::dir(git_dir);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RebaseError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let text = serde_json::to_vec_pretty(self).expect("session serialises");
        // A temporary file of its own (unique name): concurrent writers never share one.
        let mut tmp = tempfile::Builder::new()
            .prefix(".session-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(io(&dir))?;
        {
            use std::io::Write;
            tmp.write_all(&text).map_err(io(tmp.path()))?;
            if sync {
                tmp.as_file().sync_all().map_err(io(tmp.path()))?;
            }
        }
        let path = Self::file(git_dir);
        tmp.persist(&path).map_err(|e| RebaseError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    pub fn remove(git_dir: &Path) -> Result<()> {
        let path = Self::file(git_dir);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(RebaseError::Io { path, source }),
        }
    }

    /// Conflicts not yet resolved or skipped, and verdicts not yet confirmed.
    pub fn pending(&self) -> usize {
        self.patches.iter().filter(|p| p.stops()).count()
    }

    pub fn in_progress(&self) -> bool {
        !self.finished
    }
}
