//! The queue's patches as one run reads them: commits of a range or patch files, with what
//! each changes, its message and author, and the identifier checks loaded on first use.

use std::path::Path;
use std::rc::Rc;

use git2::{Oid, Repository};

use crate::queue::patchfile::{self, PatchFile};
use crate::queue::Author;
use crate::rebase::api::Api;
use crate::rebase::change::{self, PathChange};
use crate::rebase::resolve::memory::Memory;
use crate::rebase::session::{QueueSource, Session};
use crate::rebase::Result;
use crate::rebase::{interdiff, placement, worktree};
use crate::syntax::defs::PatchRefs;

/// The queue's patches.
pub(crate) enum Patches {
    Commits(Vec<Oid>),
    Files(Vec<PatchFile>),
}

/// What a run reads once per invocation: the patches, the recorded resolutions and, on first
/// use, the definitions of the target and the base.
pub(crate) struct Loaded {
    pub(crate) patches: Patches,
    pub(crate) memory: Memory,
    api: std::cell::OnceCell<Option<Api>>,
}

impl Loaded {
    pub(crate) fn from_source(source: &QueueSource, git_dir: &Path) -> Result<Loaded> {
        let patches = match source {
            QueueSource::Range { commits, .. } => Patches::Commits(
                commits
                    .iter()
                    .map(|c| Oid::from_str(c))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            QueueSource::Series { path } => Patches::Files(patchfile::read_queue(path)?),
        };
        Ok(Loaded {
            patches,
            memory: Memory::load(git_dir)?,
            api: std::cell::OnceCell::new(),
        })
    }

    /// The identifier checks; none under `--strict` (git's result exactly).
    pub(crate) fn api(&self, repo: &Repository, session: &Session) -> Result<Option<&Api>> {
        if session.strict {
            return Ok(None);
        }
        if self.api.get().is_none() {
            let _ = self.api.set(Some(Api::load(repo, session)?));
        }
        Ok(self.api.get().and_then(Option::as_ref))
    }

    /// What patch `i`'s added lines define and use.
    pub(crate) fn refs(&self, repo: &Repository, api: &Api, i: usize) -> Result<Rc<PatchRefs>> {
        api.refs(i, || {
            let paths: Vec<String> = self
                .changes(repo, i)?
                .into_iter()
                .filter_map(|c| c.new_path)
                .collect();
            self.original_diff(repo, i, &paths)
        })
    }

    pub(crate) fn len(&self) -> usize {
        match &self.patches {
            Patches::Commits(c) => c.len(),
            Patches::Files(f) => f.len(),
        }
    }

    /// Patch file `i` when it is placed hunk by hunk (its pre-images are not in the repository).
    pub(crate) fn placed(&self, repo: &Repository, i: usize) -> Option<&PatchFile> {
        match &self.patches {
            Patches::Files(f) if placement::tree::needs_placement(repo, &f[i]) => Some(&f[i]),
            _ => None,
        }
    }

    /// What patch `i` changes; a path git's checkout would refuse is an error naming it.
    pub(crate) fn changes(&self, repo: &Repository, i: usize) -> Result<Vec<PathChange>> {
        let (changes, name) = match &self.patches {
            Patches::Commits(c) => (change::from_commit(repo, c[i])?, c[i].to_string()),
            Patches::Files(f) if self.placed(repo, i).is_some() => (
                placement::tree::path_changes(&f[i])?,
                format!("{}:{}", f[i].path.display(), f[i].line),
            ),
            Patches::Files(f) => (
                change::from_patch_file(repo, &f[i])?,
                format!("{}:{}", f[i].path.display(), f[i].line),
            ),
        };
        for c in &changes {
            for path in [&c.old_path, &c.new_path].into_iter().flatten() {
                worktree::check_path(&name, path)?;
            }
        }
        Ok(changes)
    }

    /// The paths patch `i` names, before or after (what [`Self::changes`] names, without
    /// reading blobs to pair renames), refused like its changes when git's checkout would.
    pub(crate) fn touched(&self, repo: &Repository, i: usize) -> Result<Vec<String>> {
        let Patches::Commits(c) = &self.patches else {
            let changes = self.changes(repo, i)?;
            return Ok(PathChange::touched(&changes)
                .into_iter()
                .map(str::to_string)
                .collect());
        };
        let changed = change::changed_in_commit(repo, c[i])?;
        let paths: Vec<String> = changed.into_iter().map(|c| c.path).collect();
        for path in &paths {
            worktree::check_path(&c[i].to_string(), path)?;
        }
        Ok(paths)
    }

    pub(crate) fn base_tree<'r>(
        &self,
        repo: &'r Repository,
        i: usize,
    ) -> Result<Option<git2::Tree<'r>>> {
        match &self.patches {
            Patches::Commits(c) => Ok(repo
                .find_commit(c[i])?
                .parent(0)
                .ok()
                .map(|p| p.tree())
                .transpose()?),
            Patches::Files(_) => Ok(None),
        }
    }

    /// The message and author of the new commit made for patch `i`.
    pub(crate) fn authored(&self, repo: &Repository, i: usize) -> Result<Authored> {
        match &self.patches {
            Patches::Commits(c) => {
                let commit = repo.find_commit(c[i])?;
                let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
                let author = Author::from_signature(&commit.author());
                Ok(Authored { message, author })
            }
            Patches::Files(f) => {
                let p = &f[i];
                let author = match &p.author {
                    Some(a) => a.clone(),
                    None => Author::from_signature(&committer(repo)?),
                };
                Ok(Authored {
                    message: p.message.clone(),
                    author,
                })
            }
        }
    }

    pub(crate) fn original_diff(
        &self,
        repo: &Repository,
        i: usize,
        paths: &[String],
    ) -> Result<String> {
        match &self.patches {
            Patches::Commits(c) => {
                let commit = repo.find_commit(c[i])?;
                let parent = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
                interdiff::diff_text(repo, parent.as_ref(), &commit.tree()?, paths)
            }
            Patches::Files(f) => Ok(String::from_utf8_lossy(&f[i].diff).into_owned()),
        }
    }
}

/// What a new commit for a queue patch says and who wrote it (the committer is this run's).
pub(crate) struct Authored {
    pub(crate) message: String,
    pub(crate) author: Author,
}

pub(crate) fn committer(repo: &Repository) -> Result<git2::Signature<'static>> {
    Ok(repo
        .signature()
        .or_else(|_| git2::Signature::now("dovetail-port", "dovetail-port@localhost"))?
        .to_owned())
}
