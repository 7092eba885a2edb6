//! Turning patch files into commits on a base, in the object database only (no worktree, no
//! index file): what `git am` does, without touching anything the user has checked out.

use git2::{Oid, Repository};

use super::patchfile::PatchFile;
use super::{Author, QueueError, Result};

/// Applies `patches` in order on `base`, returning the new commit ids (oldest first). Patches
/// without an author get `fallback`.
pub fn apply_series(
    repo: &Repository,
    base: Oid,
    patches: &[PatchFile],
    fallback: &Author,
) -> Result<Vec<Oid>> {
    let mut parent = repo.find_commit(base)?;
    let mut ids = Vec::with_capacity(patches.len());
    for patch in patches {
        let tree = parent.tree()?;
        let new_tree = if patch.diff.is_empty() {
            tree.id()
        } else {
            let diff = git2::Diff::from_buffer(&patch.diff)?;
            let mut index = repo.apply_to_tree(&tree, &diff, None).map_err(|source| {
                QueueError::DoesNotApply {
                    path: patch.path.clone(),
                    subject: patch.subject.clone(),
                    base: super::range::short(parent.id()),
                    source,
                }
            })?;
            index.write_tree_to(repo)?
        };
        let author = patch.author.as_ref().unwrap_or(fallback).to_signature()?;
        let new_tree = repo.find_tree(new_tree)?;
        let id = repo.commit(
            None,
            &author,
            &author,
            &patch.message,
            &new_tree,
            &[&parent],
        )?;
        parent = repo.find_commit(id)?;
        ids.push(id);
    }
    Ok(ids)
}
