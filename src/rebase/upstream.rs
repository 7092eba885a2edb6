//! Already upstream by patch-id: when the repository has the history between the queue's base
//! and the target, a queue patch whose patch-id equals an upstream commit's is already in the
//! target even if later upstream work makes its text conflict. (Imported release tarballs have
//! no such history; there, the merge result equal to the target is the only evidence.)

use std::collections::{HashMap, HashSet};

use git2::{Oid, Repository};

use super::Result;
use crate::queue::treediff;

/// Upstream commits walked at most, so a huge history cannot stall a run.
const MAX_COMMITS: usize = 50_000;

/// Patch-ids of the upstream commits that touch any of the queue's paths.
pub struct UpstreamIds {
    by_patch_id: HashMap<Oid, Oid>,
    pub truncated: bool,
}

impl UpstreamIds {
    /// None when the queue's base and the target share no history.
    pub fn collect(
        repo: &Repository,
        queue_base: Oid,
        target: Oid,
        paths: &HashSet<String>,
    ) -> Result<Option<UpstreamIds>> {
        let Ok(merge_base) = repo.merge_base(queue_base, target) else {
            return Ok(None);
        };
        if merge_base == target {
            return Ok(None);
        }
        let mut walk = repo.revwalk()?;
        walk.push(target)?;
        walk.hide(merge_base)?;
        let mut by_patch_id = HashMap::new();
        let mut truncated = false;
        for (n, id) in walk.enumerate() {
            if n >= MAX_COMMITS {
                truncated = true;
                break;
            }
            let commit = repo.find_commit(id?)?;
            if commit.parent_count() != 1 {
                continue;
            }
            let parent_tree = commit.parent(0)?.tree()?;
            let changed = treediff::changed_files(repo, Some(&parent_tree), &commit.tree()?)?;
            if changed.iter().any(|c| paths.contains(&c.path)) {
                by_patch_id.insert(patch_id(repo, commit.id())?, commit.id());
            }
        }
        Ok(Some(UpstreamIds {
            by_patch_id,
            truncated,
        }))
    }

    /// The upstream commit carrying the same change as queue commit `id`, if any.
    pub fn find(&self, repo: &Repository, id: Oid) -> Result<Option<Oid>> {
        Ok(self.by_patch_id.get(&patch_id(repo, id)?).copied())
    }
}

/// git's stable patch-id of a commit against its first parent.
pub fn patch_id(repo: &Repository, id: Oid) -> Result<Oid> {
    let commit = repo.find_commit(id)?;
    let parent = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
    // With the binary data in the diff: without it, two commits that change one binary file
    // differently both read "Binary files differ" and would share a patch-id.
    let mut opts = git2::DiffOptions::new();
    opts.show_binary(true);
    let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&commit.tree()?), Some(&mut opts))?;
    Ok(diff.patchid(None)?)
}
