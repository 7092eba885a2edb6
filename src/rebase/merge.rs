//! Replaying one patch onto a tree: a three-way merge of only the paths the patch touches
//! (base = what the patch expects, ours = the tip, theirs = what the patch wants), writing new
//! blobs and trees into the object database. No worktree, no index, no whole-tree merge.

use git2::{Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

use super::change::{Entry, PathChange};
use super::follow::Follower;
use super::Result;

/// How one path of a patch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathStatus {
    /// The target had the file exactly as the patch expected: the patch's version is taken.
    Clean,
    /// The target changed the file; the three-way merge combined both without conflict.
    Merged,
    /// The target already has what the patch wants for this path.
    AlreadyPresent,
    Conflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Both sides changed the same lines.
    Content,
    /// The patch adds a file the target also added, differently.
    AddAdd,
    /// The patch changes a file the target deleted (and no moved copy was found).
    ModifyDelete,
    /// The patch deletes a file the target changed.
    DeleteModify,
}

/// One path's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathResult {
    /// The path in the result (after following a move, or the patch's own rename).
    pub path: String,
    pub status: PathStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictKind>,
    /// Set when the target had moved the file: (old path, new path, similarity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed: Option<(String, String, f32)>,
    /// For conflicts: the merged text with diff3 markers (ours / base / theirs).
    #[serde(skip)]
    pub merged_text: Option<Vec<u8>>,
}

/// The outcome of replaying one patch on a tree.
pub struct Replayed {
    pub paths: Vec<PathResult>,
    /// The new tree when nothing conflicted.
    pub tree: Option<Oid>,
    /// Tree updates computed even when some path conflicted (for materialising a conflict).
    pub updates: Vec<Update>,
}

#[derive(Debug, Clone)]
pub enum Update {
    Write { path: String, id: Oid, mode: i32 },
    Remove { path: String },
}

/// Labels for conflict markers.
pub struct Labels<'a> {
    pub ours: &'a str,
    pub base: &'a str,
    pub theirs: &'a str,
}

pub fn replay(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    changes: &[PathChange],
    follower: &mut Follower,
    labels: &Labels<'_>,
) -> Result<Replayed> {
    let mut results = Vec::new();
    let mut updates = Vec::new();
    for change in changes {
        results.push(replay_path(
            repo,
            ours,
            base_tree,
            change,
            follower,
            labels,
            &mut updates,
        )?);
    }
    let conflicted = results.iter().any(|r| r.status == PathStatus::Conflict);
    let tree = if conflicted {
        None
    } else {
        Some(apply_updates(repo, ours, &updates)?)
    };
    Ok(Replayed {
        paths: results,
        tree,
        updates,
    })
}

pub fn apply_updates(repo: &Repository, tree: &Tree<'_>, updates: &[Update]) -> Result<Oid> {
    if updates.is_empty() {
        return Ok(tree.id());
    }
    let mut builder = git2::build::TreeUpdateBuilder::new();
    for update in updates {
        match update {
            Update::Write { path, id, mode } => {
                builder.upsert(path.as_str(), *id, file_mode(*mode));
            }
            Update::Remove { path } => {
                builder.remove(path.as_str());
            }
        }
    }
    Ok(builder.create_updated(repo, tree)?)
}

fn file_mode(mode: i32) -> git2::FileMode {
    match mode {
        0o100755 => git2::FileMode::BlobExecutable,
        0o120000 => git2::FileMode::Link,
        _ => git2::FileMode::Blob,
    }
}

#[allow(clippy::too_many_arguments)]
fn replay_path(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    change: &PathChange,
    follower: &mut Follower,
    labels: &Labels<'_>,
    updates: &mut Vec<Update>,
) -> Result<PathResult> {
    let result = |path: &str, status, conflict| PathResult {
        path: path.to_string(),
        status,
        conflict,
        followed: None,
        merged_text: None,
    };

    // Where the file lives in the target, following a move when the old path is gone.
    let mut followed = None;
    let (ours_path, ours_entry) = match (&change.old_path, change.base) {
        (Some(old), Some(base)) => match Entry::at(ours, old) {
            Some(e) => (Some(old.clone()), Some(e)),
            None => match follower.find(repo, ours, base_tree, old, base.id)? {
                Some(found) => {
                    followed = Some((old.clone(), found.path.clone(), found.similarity));
                    let e = Entry::at(ours, &found.path);
                    (Some(found.path), e)
                }
                None => (None, None),
            },
        },
        _ => (None, None),
    };

    let mut res = match (change.base, change.theirs) {
        // The patch adds a file.
        (None, Some(theirs)) => {
            let path = change.new_path.clone().unwrap_or_default();
            match Entry::at(ours, &path) {
                None => {
                    updates.push(write(&path, theirs));
                    result(&path, PathStatus::Clean, None)
                }
                Some(o) if o.id == theirs.id => result(&path, PathStatus::AlreadyPresent, None),
                Some(o) => {
                    let empty = repo.blob(b"")?;
                    let merged = merge_blobs(repo, &path, empty, o, theirs, labels)?;
                    finish_merge(repo, &path, merged, ConflictKind::AddAdd, updates)?
                }
            }
        }
        // The patch deletes a file.
        (Some(base), None) => {
            let shown = change.old_path.clone().unwrap_or_default();
            match (ours_path, ours_entry) {
                (None, _) | (_, None) => result(&shown, PathStatus::AlreadyPresent, None),
                (Some(p), Some(o)) if o.id == base.id => {
                    updates.push(Update::Remove { path: p.clone() });
                    result(&p, PathStatus::Clean, None)
                }
                (Some(p), Some(o)) => {
                    let mut r = result(&p, PathStatus::Conflict, Some(ConflictKind::DeleteModify));
                    r.merged_text = Some(repo.find_blob(o.id)?.content().to_vec());
                    r
                }
            }
        }
        // The patch modifies (and maybe renames) a file.
        (Some(base), Some(theirs)) => {
            let renamed_by_patch = change.old_path != change.new_path;
            match (ours_path, ours_entry) {
                (Some(op), Some(o)) => {
                    // The patch's own rename wins; otherwise the file stays where the target has it.
                    let dest = if renamed_by_patch {
                        change.new_path.clone().unwrap_or(op.clone())
                    } else {
                        op.clone()
                    };
                    if dest != op {
                        updates.push(Update::Remove { path: op.clone() });
                    }
                    let mode = if theirs.mode != base.mode {
                        theirs.mode
                    } else {
                        o.mode
                    };
                    if o.id == base.id {
                        updates.push(Update::Write {
                            path: dest.clone(),
                            id: theirs.id,
                            mode,
                        });
                        result(&dest, PathStatus::Clean, None)
                    } else if o.id == theirs.id {
                        if dest != op {
                            updates.push(Update::Write {
                                path: dest.clone(),
                                id: o.id,
                                mode,
                            });
                        }
                        result(&dest, PathStatus::AlreadyPresent, None)
                    } else {
                        let merged = merge_blobs(repo, &dest, base.id, o, theirs, labels)?;
                        let merged = Merge { mode, ..merged };
                        let r = finish_merge(repo, &dest, merged, ConflictKind::Content, updates)?;
                        if r.status == PathStatus::Merged
                            && updates.last().is_some_and(
                                |u| matches!(u, Update::Write { id, .. } if *id == o.id),
                            )
                            && dest == op
                        {
                            // The merge changed nothing: the target already has the patch's change.
                            updates.pop();
                            PathResult {
                                status: PathStatus::AlreadyPresent,
                                ..r
                            }
                        } else {
                            r
                        }
                    }
                }
                _ => {
                    let shown = change.old_path.clone().unwrap_or_default();
                    let mut r = result(
                        &shown,
                        PathStatus::Conflict,
                        Some(ConflictKind::ModifyDelete),
                    );
                    r.merged_text = Some(repo.find_blob(theirs.id)?.content().to_vec());
                    r
                }
            }
        }
        (None, None) => result(change.display(), PathStatus::AlreadyPresent, None),
    };
    res.followed = followed;
    Ok(res)
}

fn write(path: &str, e: Entry) -> Update {
    Update::Write {
        path: path.to_string(),
        id: e.id,
        mode: e.mode,
    }
}

struct Merge {
    clean: bool,
    content: Vec<u8>,
    mode: i32,
}

fn merge_blobs(
    repo: &Repository,
    path: &str,
    base: Oid,
    ours: Entry,
    theirs: Entry,
    labels: &Labels<'_>,
) -> Result<Merge> {
    let entry = |id: Oid, mode: i32| git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: mode as u32,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    };
    let mut opts = git2::MergeFileOptions::new();
    opts.style_diff3(true)
        .our_label(labels.ours)
        .ancestor_label(labels.base)
        .their_label(labels.theirs);
    let out = repo.merge_file_from_index(
        &entry(base, ours.mode),
        &entry(ours.id, ours.mode),
        &entry(theirs.id, theirs.mode),
        Some(&mut opts),
    )?;
    Ok(Merge {
        clean: out.is_automergeable(),
        content: out.content().to_vec(),
        mode: ours.mode,
    })
}

fn finish_merge(
    repo: &Repository,
    path: &str,
    merged: Merge,
    kind: ConflictKind,
    updates: &mut Vec<Update>,
) -> Result<PathResult> {
    let id = repo.blob(&merged.content)?;
    updates.push(Update::Write {
        path: path.to_string(),
        id,
        mode: merged.mode,
    });
    Ok(PathResult {
        path: path.to_string(),
        status: if merged.clean {
            PathStatus::Merged
        } else {
            PathStatus::Conflict
        },
        conflict: (!merged.clean).then_some(kind),
        followed: None,
        merged_text: (!merged.clean).then_some(merged.content),
    })
}
