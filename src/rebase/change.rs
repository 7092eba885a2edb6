//! What a patch changes, path by path: the pre-image it expects (base) and the post-image it
//! wants (theirs). From a commit, base is its parent; from a patch file, base is the "fake
//! ancestor" rebuilt from the blob ids on its `index` lines.

use git2::{Oid, Repository, Tree};

use super::{RebaseError, Result};
use crate::queue::patchfile::PatchFile;
use crate::queue::treediff;

/// A blob in a tree: id and file mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: Oid,
    pub mode: i32,
}

impl Entry {
    pub fn at(tree: &Tree<'_>, path: &str) -> Option<Entry> {
        Entry::of(&tree.get_path(std::path::Path::new(path)).ok()?)
    }

    /// The file a tree entry names, if it is one.
    pub fn of(e: &git2::TreeEntry<'_>) -> Option<Entry> {
        // Only blobs (and symlinks) take part: a directory at the path is not a file.
        if e.kind() != Some(git2::ObjectType::Blob) {
            return None;
        }
        Some(Entry {
            id: e.id(),
            mode: e.filemode(),
        })
    }
}

/// One path of a patch.
#[derive(Debug, Clone)]
pub struct PathChange {
    /// Where the file was before the patch (None: the patch adds it).
    pub old_path: Option<String>,
    /// Where the file is after the patch (None: the patch deletes it).
    pub new_path: Option<String>,
    pub base: Option<Entry>,
    pub theirs: Option<Entry>,
}

impl PathChange {
    /// Every path a patch's changes name, before or after.
    pub fn touched(changes: &[PathChange]) -> std::collections::HashSet<&str> {
        changes
            .iter()
            .flat_map(|c| [c.old_path.as_deref(), c.new_path.as_deref()])
            .flatten()
            .collect()
    }

    /// The name to show for this path.
    pub fn display(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("?")
    }
}

/// The files a commit changes relative to its first parent, renames not paired.
pub fn changed_in_commit(repo: &Repository, id: Oid) -> Result<Vec<treediff::Changed>> {
    let commit = repo.find_commit(id)?;
    let tree = commit.tree()?;
    let parent_tree = match commit.parent(0) {
        Ok(p) => Some(p.tree()?),
        Err(_) => None,
    };
    treediff::changed_files(repo, parent_tree.as_ref(), &tree).map_err(|e| RebaseError::InCommit {
        commit: id.to_string(),
        message: e.message().to_string(),
    })
}

/// The path changes of a commit relative to its first parent, with renames inside the commit
/// paired up (same content, or most lines kept), as `git show -M` would.
pub fn from_commit(repo: &Repository, id: Oid) -> Result<Vec<PathChange>> {
    let entry = |e: Option<(Oid, i32)>| e.map(|(id, mode)| Entry { id, mode });
    let changed = changed_in_commit(repo, id)?;
    let mut changes: Vec<PathChange> = changed
        .into_iter()
        .map(|c| PathChange {
            old_path: c.old.map(|_| c.path.clone()),
            new_path: c.new.map(|_| c.path.clone()),
            base: entry(c.old),
            theirs: entry(c.new),
        })
        .collect();
    pair_renames(repo, &mut changes)?;
    Ok(changes)
}

/// Most files a commit can add and delete for renames to be looked for.
const RENAME_LIMIT: usize = 100;

fn pair_renames(repo: &Repository, changes: &mut Vec<PathChange>) -> Result<()> {
    let deleted: Vec<usize> = (0..changes.len())
        .filter(|&i| changes[i].theirs.is_none())
        .collect();
    let added: Vec<usize> = (0..changes.len())
        .filter(|&i| changes[i].base.is_none())
        .collect();
    if deleted.is_empty()
        || added.is_empty()
        || deleted.len() * added.len() > RENAME_LIMIT * RENAME_LIMIT
    {
        return Ok(());
    }
    let text = |id: Oid| -> Result<String> {
        Ok(String::from_utf8_lossy(repo.find_blob(id)?.content()).into_owned())
    };
    let mut used = vec![false; changes.len()];
    let mut pairs = Vec::new();
    for &d in &deleted {
        let old = changes[d].base.expect("deleted has a base");
        let old_text = text(old.id)?;
        let mut best: Option<(f32, usize)> = None;
        for &a in &added {
            if used[a] {
                continue;
            }
            let new = changes[a].theirs.expect("added has a post-image");
            let score = if new.id == old.id {
                1.0
            } else {
                super::similarity::similarity(&old_text, &text(new.id)?)
            };
            if score >= 0.5 && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, a));
            }
        }
        if let Some((_, a)) = best {
            used[a] = true;
            used[d] = true;
            pairs.push((d, a));
        }
    }
    for &(d, a) in &pairs {
        changes[d].new_path = changes[a].new_path.clone();
        changes[d].theirs = changes[a].theirs;
    }
    let drop: Vec<usize> = pairs.iter().map(|&(_, a)| a).collect();
    let mut i = 0;
    changes.retain(|_| {
        let keep = !drop.contains(&i);
        i += 1;
        keep
    });
    Ok(())
}

fn deltas_to_changes(diff: &git2::Diff<'_>, patch: &PatchFile) -> Result<Vec<PathChange>> {
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let entry = |f: git2::DiffFile<'_>| {
            (!f.id().is_zero()).then(|| Entry {
                id: f.id(),
                mode: u32::from(f.mode()) as i32,
            })
        };
        let path = |f: git2::DiffFile<'_>| -> Result<Option<String>> {
            let Some(bytes) = f.path_bytes() else {
                return Ok(None);
            };
            match std::str::from_utf8(bytes) {
                Ok(p) => Ok(Some(p.to_string())),
                Err(_) => Err(RebaseError::InCommit {
                    commit: format!("{}:{}", patch.path.display(), patch.line),
                    message: format!(
                        "file name `{}` is not UTF-8: rename it (dovetail-port carries paths as text and never renames one silently)",
                        bytes.escape_ascii()
                    ),
                }),
            }
        };
        let (base, theirs) = (entry(delta.old_file()), entry(delta.new_file()));
        out.push(PathChange {
            old_path: if base.is_some() {
                path(delta.old_file())?
            } else {
                None
            },
            new_path: if theirs.is_some() {
                path(delta.new_file())?
            } else {
                None
            },
            base,
            theirs,
        });
    }
    Ok(out)
}

/// The path changes of a patch file, against the fake ancestor made of the blobs named on its
/// `index` lines. Those blobs must be in the repository: they are whenever the tree the series
/// was made on was imported (blob ids depend only on content).
pub fn from_patch_file(repo: &Repository, patch: &PatchFile) -> Result<Vec<PathChange>> {
    if patch.diff.is_empty() {
        return Ok(Vec::new());
    }
    let odb = repo.odb()?;
    let mut builder = git2::build::TreeUpdateBuilder::new();
    for (path, abbrev) in patch.index_lines() {
        if abbrev.bytes().all(|b| b == b'0') {
            continue; // a new file: no pre-image
        }
        let full = Oid::from_str(&format!("{abbrev:0<40}"))
            .ok()
            .and_then(|prefix| odb.exists_prefix(prefix, abbrev.len()).ok())
            .ok_or_else(|| RebaseError::MissingPreimage {
                patch: patch.path.clone(),
                subject: patch.subject.clone(),
                path: path.clone(),
                blob: abbrev.clone(),
            })?;
        builder.upsert(path.as_str(), full, git2::FileMode::Blob);
    }
    let empty = repo.find_tree(repo.treebuilder(None)?.write()?)?;
    let ancestor = repo.find_tree(builder.create_updated(repo, &empty)?)?;
    let diff = git2::Diff::from_buffer(&patch.diff)?;
    let mut index = repo
        .apply_to_tree(&ancestor, &diff, None)
        .map_err(|source| RebaseError::PatchDoesNotApplyToPreimage {
            patch: patch.path.clone(),
            subject: patch.subject.clone(),
            source,
        })?;
    let theirs = repo.find_tree(index.write_tree_to(repo)?)?;
    let mut diff = repo.diff_tree_to_tree(Some(&ancestor), Some(&theirs), None)?;
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))?;
    deltas_to_changes(&diff, patch)
}
