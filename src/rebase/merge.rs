//! Replaying one patch onto a tree: a three-way merge of only the paths the patch touches
//! (base = what the patch expects, ours = the tip, theirs = what the patch wants), writing new
//! blobs and trees into the object database. No worktree, no index, no whole-tree merge.

use std::collections::HashSet;
use std::path::Path;

use git2::{Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

use super::change::{Entry, PathChange};
use super::follow::Follower;
use super::Result;
use crate::process::Git;

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
    /// The three-way merge conflicted; the resolution cascade resolved every region (each
    /// placement is listed in `placements` for review).
    AutoResolved,
}

impl PathStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PathStatus::Clean => "clean",
            PathStatus::Merged => "merged",
            PathStatus::AlreadyPresent => "already-present",
            PathStatus::Conflict => "conflict",
            PathStatus::AutoResolved => "auto-resolved",
        }
    }
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
    /// Both sides changed a binary file: there are no lines to merge.
    Binary,
}

impl ConflictKind {
    /// The name people read, as git says it (`modify/delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Content => "content",
            ConflictKind::AddAdd => "add/add",
            ConflictKind::ModifyDelete => "modify/delete",
            ConflictKind::DeleteModify => "delete/modify",
            ConflictKind::Binary => "binary",
        }
    }
}

impl std::fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Conflict regions the cascade resolved (when `status` is `auto-resolved`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<super::resolve::Placement>,
    /// Why the cascade left regions of a conflict alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<super::resolve::Refusal>,
    /// For conflicts: the three versions, as git's index stages 1 (base), 2 (ours) and
    /// 3 (theirs) give them to `git status`, `git diff` and merge tools.
    #[serde(skip)]
    pub stages: Option<Stages>,
}

impl PathResult {
    /// A path's result with nothing more to say than its status.
    pub fn new(path: &str, status: PathStatus, conflict: Option<ConflictKind>) -> PathResult {
        PathResult {
            path: path.to_string(),
            status,
            conflict,
            followed: None,
            merged_text: None,
            placements: Vec::new(),
            refusals: Vec::new(),
            stages: None,
        }
    }
}

/// The versions of a conflicted path; `None` where that side has no file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stages {
    pub base: Option<Entry>,
    pub ours: Option<Entry>,
    pub theirs: Option<Entry>,
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

/// How conflicts are treated.
#[derive(Debug, Clone, Copy, Default)]
pub struct MergeOptions<'a> {
    /// Offer content conflicts to the resolution cascade (off: git's result exactly).
    pub cascade: bool,
    /// Resolutions recorded in the repository, tried first by the cascade.
    pub memory: Option<&'a super::resolve::memory::Memory>,
    /// What the target and the queue define: a placement naming anything else is refused.
    pub known: Option<&'a dyn crate::syntax::defs::Lookup>,
    /// Carry the hunks of a file the target split into the files that hold them now
    /// (off: a modify/delete conflict, as git leaves it).
    pub follow_hunks: bool,
}

pub fn replay(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    changes: &[PathChange],
    follower: &mut Follower,
    labels: &Labels<'_>,
    options: MergeOptions<'_>,
) -> Result<Replayed> {
    let mut results = Vec::new();
    let mut updates = Vec::new();
    let touched: HashSet<&str> = PathChange::touched(changes);
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
        if options.follow_hunks {
            if let Some(last) = results.last_mut() {
                follow_hunks(
                    repo,
                    ours,
                    base_tree,
                    change,
                    follower,
                    &touched,
                    labels,
                    last,
                    &mut updates,
                )?;
            }
        }
        if options.cascade {
            if let Some(last) = results.last_mut() {
                cascade_path(repo, ours, last, &mut updates, options)?;
            }
        }
    }
    if let (true, Some(known)) = (options.follow_hunks, options.known) {
        drop_gone_files(repo, ours, changes, &mut results, known)?;
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
    let result = PathResult::new;

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

    let ours_version = match (change.base, &change.new_path) {
        (None, Some(path)) => Entry::at(ours, path),
        _ => ours_entry,
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
                    finish_merge(&path, merged, ConflictKind::AddAdd, updates)
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
                        if merged.clean && merged.id == o.id && dest == op {
                            // The merge changed nothing: the target already has the patch's change.
                            result(&dest, PathStatus::AlreadyPresent, None)
                        } else {
                            finish_merge(&dest, merged, ConflictKind::Content, updates)
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
    if res.status == PathStatus::Conflict {
        res.stages = Some(Stages {
            base: change.base,
            ours: ours_version,
            theirs: change.theirs,
        });
    }
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
    /// The merged blob, already in the object store.
    id: Oid,
    /// The merged text, kept only for conflicts (it carries the markers).
    conflict_text: Option<Vec<u8>>,
    binary: bool,
    mode: i32,
}

/// Base lines that must separate every change of one side from every change of the other
/// for the in-process merge to be taken. Diff algorithms differ only in where they put the
/// edges of a change; when the two sides' changes are this far apart, Myers (libgit2) and
/// histogram (merge-ort) give the same merged text, and no conflict.
const FAR_APART: u32 = 8;

/// The common case without spawning git: both sides' changes far apart, merged by libgit2.
/// None when the changes come close (then git's own merge decides).
fn merge_far_apart(
    repo: &Repository,
    b: &git2::Blob<'_>,
    o: &git2::Blob<'_>,
    t: &git2::Blob<'_>,
) -> Result<Option<Oid>> {
    let (base, ours, theirs) = (b.id(), o.id(), t.id());
    let ranges = |new: &git2::Blob<'_>| -> Result<Vec<(u32, u32)>> {
        let mut opts = git2::DiffOptions::new();
        opts.context_lines(0).interhunk_lines(0);
        let patch = git2::Patch::from_blobs(b, None, new, None, Some(&mut opts))?;
        let mut out = Vec::new();
        for h in 0..patch.num_hunks() {
            let (hunk, _) = patch.hunk(h)?;
            // A pure insertion sits after old_start; count it as touching that line.
            out.push((hunk.old_start(), hunk.old_start() + hunk.old_lines().max(1)));
        }
        Ok(out)
    };
    let (ro, rt) = (ranges(o)?, ranges(t)?);
    let close = ro.iter().any(|&(os, oe)| {
        rt.iter()
            .any(|&(ts, te)| os < te + FAR_APART && ts < oe + FAR_APART)
    });
    if close {
        return Ok(None);
    }
    let entry = |id: Oid| git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100644,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: b"f".to_vec(),
    };
    let out = repo.merge_file_from_index(&entry(base), &entry(ours), &entry(theirs), None)?;
    if !out.is_automergeable() {
        return Ok(None);
    }
    Ok(Some(repo.blob(out.content())?))
}

/// Merges file contents with git's own merge-ort file merge (histogram diff, as merge-ort
/// uses): libgit2's merge only has Myers and patience, which place hunks differently and would
/// make our results differ from what `git rebase`/`git merge-tree` give for the same commits.
/// That merge runs in process ([`super::xmerge`], the xdiff code `git merge-file --diff3
/// --diff-algorithm=histogram` runs); `git merge-file --object-id` itself only when it cannot.
/// Nothing touches a worktree.
fn merge_blobs(
    repo: &Repository,
    path: &str,
    base: Oid,
    ours: Entry,
    theirs: Entry,
    labels: &Labels<'_>,
) -> Result<Merge> {
    // Read once: the binary check and the in-process merge both need the three blobs.
    let blobs = [
        repo.find_blob(base)?,
        repo.find_blob(ours.id)?,
        repo.find_blob(theirs.id)?,
    ];
    if blobs.iter().any(|b| b.is_binary()) {
        return Ok(Merge {
            clean: false,
            id: ours.id,
            conflict_text: Some(
                b"binary file changed on both sides: pick one version by hand\n".to_vec(),
            ),
            binary: true,
            mode: ours.mode,
        });
    }
    if let Some(id) = merge_far_apart(repo, &blobs[0], &blobs[1], &blobs[2])? {
        return Ok(Merge {
            clean: true,
            id,
            conflict_text: None,
            binary: false,
            mode: ours.mode,
        });
    }
    let texts = [blobs[0].content(), blobs[1].content(), blobs[2].content()];
    let ours_mode = ours.mode;
    let in_process = super::xmerge::merge(
        texts[0],
        texts[1],
        texts[2],
        [labels.ours, labels.base, labels.theirs],
    );
    let (id, conflict_text) = match in_process {
        Some((text, conflicts)) => {
            let id = repo.blob(&text)?;
            if super::xmerge::checking() {
                let (git_id, git_text) = git_merge_file(repo, base, ours.id, theirs.id, labels)?;
                let ours_text = (conflicts > 0).then_some(&text);
                if git_id != id || git_text.as_ref() != ours_text {
                    eprintln!(
                        "dovetail-port: in-process merge differs from git merge-file for {path} \
                         (base {base}, ours {}, theirs {}): {id} vs git's {git_id}",
                        ours.id, theirs.id
                    );
                    return Ok(git_merge(git_id, git_text, ours_mode));
                }
            }
            (id, (conflicts > 0).then_some(text))
        }
        None => git_merge_file(repo, base, ours.id, theirs.id, labels)?,
    };
    Ok(git_merge(id, conflict_text, ours_mode))
}

/// A merge's outcome from its blob and, when it conflicted, its text.
fn git_merge(id: Oid, conflict_text: Option<Vec<u8>>, mode: i32) -> Merge {
    Merge {
        clean: conflict_text.is_none(),
        id,
        conflict_text,
        binary: false,
        mode,
    }
}

/// `git merge-file --object-id`: the merged blob (written by git) and, when it conflicted,
/// its text.
fn git_merge_file(
    repo: &Repository,
    base: Oid,
    ours: Oid,
    theirs: Oid,
    labels: &Labels<'_>,
) -> Result<(Oid, Option<Vec<u8>>)> {
    let (o, b, t) = (ours.to_string(), base.to_string(), theirs.to_string());
    // Exit codes 0..=127 count the conflicts; above is an error.
    let out = Git::new(repo.path())
        .command([
            "merge-file",
            "--object-id",
            "--diff3",
            "--diff-algorithm=histogram",
            "-L",
            labels.ours,
            "-L",
            labels.base,
            "-L",
            labels.theirs,
            &o,
            &b,
            &t,
        ])
        .success(0..=127)
        .output()?;
    let id = Oid::from_str(String::from_utf8_lossy(&out.stdout).trim())?;
    let conflict_text = if out.code == 0 {
        None
    } else {
        Some(repo.find_blob(id)?.content().to_vec())
    };
    Ok((id, conflict_text))
}

fn finish_merge(
    path: &str,
    merged: Merge,
    kind: ConflictKind,
    updates: &mut Vec<Update>,
) -> PathResult {
    updates.push(Update::Write {
        path: path.to_string(),
        id: merged.id,
        mode: merged.mode,
    });
    PathResult {
        path: path.to_string(),
        status: if merged.clean {
            PathStatus::Merged
        } else {
            PathStatus::Conflict
        },
        conflict: (!merged.clean).then_some(if merged.binary {
            ConflictKind::Binary
        } else {
            kind
        }),
        followed: None,
        merged_text: merged.conflict_text,
        placements: Vec::new(),
        refusals: Vec::new(),
        stages: None,
    }
}

/// A modify/delete conflict whose file the target split or moved into a folder: each hunk
/// carried to the file new since the base that holds its lines; failing that, the file
/// followed whole to the one there that holds most of it and merged. A conflict left says
/// why no hunk was carried.
#[allow(clippy::too_many_arguments)]
fn follow_hunks(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    change: &PathChange,
    follower: &mut Follower,
    touched: &HashSet<&str>,
    labels: &Labels<'_>,
    res: &mut PathResult,
    updates: &mut Vec<Update>,
) -> Result<()> {
    let (Some(old), Some(base), Some(theirs)) = (&change.old_path, change.base, change.theirs)
    else {
        return Ok(());
    };
    if res.conflict != Some(ConflictKind::ModifyDelete) || change.new_path.as_ref() != Some(old) {
        return Ok(());
    }
    let routed = super::follow::hunks::route(
        repo, ours, base_tree, follower, old, base.id, theirs.id, touched,
    )?;
    let no = match routed {
        Ok(r) => {
            for (path, id, mode) in r.writes.iter().cloned() {
                updates.push(Update::Write { path, id, mode });
            }
            res.status = if r.writes.is_empty() {
                PathStatus::AlreadyPresent
            } else {
                PathStatus::AutoResolved
            };
            res.conflict = None;
            res.merged_text = None;
            res.stages = None;
            res.placements = r.placements;
            return Ok(());
        }
        Err(no) => no,
    };
    // Hunk by hunk it does not fit (the target edited the lines too); whole, it may have
    // moved to one file of the folder, to be merged like any followed file.
    if let Some(found) = follower.find_split(repo, ours, base_tree, old, base.id, touched)? {
        if let Some(o) = Entry::at(ours, &found.path) {
            let mode = if theirs.mode != base.mode {
                theirs.mode
            } else {
                o.mode
            };
            let merged = merge_blobs(repo, &found.path, base.id, o, theirs, labels)?;
            let merged = Merge { mode, ..merged };
            let mut followed = if merged.clean && merged.id == o.id {
                PathResult::new(&found.path, PathStatus::AlreadyPresent, None)
            } else {
                finish_merge(&found.path, merged, ConflictKind::Content, updates)
            };
            followed.followed = Some((old.clone(), found.path.clone(), found.similarity));
            if followed.status == PathStatus::Conflict {
                followed.stages = Some(Stages {
                    base: Some(base),
                    ours: Some(o),
                    theirs: Some(theirs),
                });
            }
            *res = followed;
        }
    }
    if let Some(reason) = no.reason(old) {
        res.refusals.push(super::resolve::Refusal {
            path: old.clone(),
            line: 1,
            reason,
        });
    }
    Ok(())
}

/// Modify/delete conflicts on files the target removed with nothing of them left
/// ([`super::follow::gone`]) are dropped from the patch, when another of its paths changes
/// the tree: the rest of the patch lands, and the drop is listed for review.
fn drop_gone_files(
    repo: &Repository,
    ours: &Tree<'_>,
    changes: &[PathChange],
    results: &mut [PathResult],
    known: &dyn crate::syntax::defs::Lookup,
) -> Result<()> {
    let lands = |r: &PathResult| {
        matches!(
            r.status,
            PathStatus::Clean | PathStatus::Merged | PathStatus::AutoResolved
        )
    };
    if !results.iter().any(lands) {
        return Ok(());
    }
    for (change, res) in changes.iter().zip(results.iter_mut()) {
        let (Some(old), Some(base)) = (&change.old_path, change.base) else {
            continue;
        };
        if res.status != PathStatus::Conflict || res.conflict != Some(ConflictKind::ModifyDelete) {
            continue;
        }
        let blob = repo.find_blob(base.id)?;
        let (gone, build_file) = match super::follow::gone::gone(old, blob.content(), known) {
            Some(g) => (g, false),
            None => match super::follow::gone::build_file_gone(
                old,
                blob.content(),
                old.rsplit_once('/')
                    .is_some_and(|(folder, _)| ours.get_path(Path::new(folder)).is_ok()),
                known,
            ) {
                Some(g) => (g, true),
                None => continue,
            },
        };
        let shown: Vec<&str> = gone.names.iter().take(4).map(String::as_str).collect();
        res.status = PathStatus::AutoResolved;
        res.conflict = None;
        res.merged_text = None;
        res.stages = None;
        res.refusals.clear();
        res.placements = vec![super::resolve::Placement {
            path: old.clone(),
            line: 0,
            method: super::resolve::Method::FileGone,
            confidence: super::resolve::Confidence::Medium,
            detail: if build_file {
                format!(
                    "the target removed {old} with its whole folder, and the Kconfig symbols it defined or built on ({}{}) are defined nowhere in it: the patch's change to it is dropped",
                    shown.join(", "),
                    if gone.names.len() > shown.len() { ", ..." } else { "" }
                )
            } else {
                format!(
                    "the target removed {old}, and {} of the {} names it defined ({}{}) are defined nowhere in it: the patch's change to it is dropped",
                    gone.names.len(),
                    gone.of,
                    shown.join(", "),
                    if gone.names.len() > shown.len() { ", ..." } else { "" }
                )
            },
            text: String::new(),
        }];
    }
    Ok(())
}

/// Offers a content conflict to the resolution cascade; a fully resolved path gets the
/// resolved blob (replacing the conflicted one in `updates`).
fn cascade_path(
    repo: &Repository,
    ours: &Tree<'_>,
    res: &mut PathResult,
    updates: &mut [Update],
    options: MergeOptions<'_>,
) -> Result<()> {
    if res.status != PathStatus::Conflict
        || !matches!(
            res.conflict,
            Some(ConflictKind::Content | ConflictKind::AddAdd)
        )
    {
        return Ok(());
    }
    let Some(text) = &res.merged_text else {
        return Ok(());
    };
    let target = super::resolve::names::Target::new(repo, ours.id(), &res.path);
    // Stages are isolated one by one; this catches the cascade's own bookkeeping too.
    let outcome = super::resolve::isolate::run("the cascade", || {
        super::resolve::cascade_in(
            &res.path,
            text,
            options.memory,
            options.known,
            Some(&target),
        )
    })
    .unwrap_or_else(|reason| super::resolve::Outcome {
        refusals: vec![super::resolve::Refusal {
            path: res.path.clone(),
            line: 1,
            reason,
        }],
        ..Default::default()
    });
    if outcome.text.is_none() {
        if let Some(merged) = kconfig_entries(repo, res, options)? {
            return finish_cascade(repo, ours, res, updates, merged);
        }
    }
    res.refusals.extend(outcome.refusals);
    if let Some(marked) = outcome.marked {
        // Some regions placed, others refused: the user finishes from the placed text.
        res.placements = outcome.placements;
        res.merged_text = Some(marked);
        return Ok(());
    }
    let Some(resolved) = outcome.text else {
        return Ok(());
    };
    finish_cascade(repo, ours, res, updates, (resolved, outcome.placements))
}

/// A conflict the cascade resolved whole: the path gets the resolved blob, replacing the
/// conflicted one in `updates`.
fn finish_cascade(
    repo: &Repository,
    ours: &Tree<'_>,
    res: &mut PathResult,
    updates: &mut [Update],
    (resolved, placements): (Vec<u8>, Vec<super::resolve::Placement>),
) -> Result<()> {
    let id = repo.blob(&resolved)?;
    for u in updates.iter_mut() {
        if let Update::Write { path, id: old, .. } = u {
            if *path == res.path {
                *old = id;
            }
        }
    }
    res.placements = placements;
    res.refusals.clear();
    res.conflict = None;
    res.merged_text = None;
    res.status = if Entry::at(ours, &res.path).is_some_and(|e| e.id == id) {
        PathStatus::AlreadyPresent
    } else {
        PathStatus::AutoResolved
    };
    Ok(())
}

/// A Kconfig file the line cascade left conflicted, merged entry by entry instead (the
/// target moved the entries the patch changed). Every placed line must name only symbols the
/// target defines.
fn kconfig_entries(
    repo: &Repository,
    res: &PathResult,
    options: MergeOptions<'_>,
) -> Result<Option<(Vec<u8>, Vec<super::resolve::Placement>)>> {
    use super::resolve::{kconfig_entries, Confidence, Method, Placement};
    let Some(Stages {
        base: Some(base),
        ours: Some(ours),
        theirs: Some(theirs),
    }) = res.stages
    else {
        return Ok(None);
    };
    if !crate::syntax::kconfig::is_kconfig_path(&res.path) {
        return Ok(None);
    }
    let blob = |id: Oid| -> Result<Vec<u8>> { Ok(repo.find_blob(id)?.content().to_vec()) };
    let (b, o, t) = (blob(base.id)?, blob(ours.id)?, blob(theirs.id)?);
    let Some(merged) =
        super::resolve::isolate::run("kconfig-entry", || kconfig_entries::merge(&b, &o, &t))
            .ok()
            .flatten()
    else {
        return Ok(None);
    };
    if let Some(known) = options.known {
        let added: Vec<&str> = merged
            .carried
            .iter()
            .flat_map(|c| c.added.iter().map(|l| l.trim_end_matches('\n')))
            .collect();
        if super::resolve::undefined_names(&res.path, &added, known).is_some() {
            return Ok(None);
        }
    }
    let placements = merged
        .carried
        .iter()
        .map(|c| Placement {
            path: res.path.clone(),
            line: c.line,
            method: Method::KconfigEntry,
            confidence: if c.verbatim {
                Confidence::High
            } else {
                Confidence::Medium
            },
            detail: format!(
                "the patch changed `{}`, which the target {}: the change is merged into the target's entry of that name",
                c.name,
                if c.verbatim {
                    "has as it was, with the lines around it moved or changed"
                } else {
                    "edited too"
                }
            ),
            text: c.text.clone(),
        })
        .collect();
    Ok(Some((merged.text, placements)))
}

#[cfg(test)]
mod tests {
    use super::PathStatus;

    #[test]
    fn status_names_are_the_json_names() {
        for st in [
            PathStatus::Clean,
            PathStatus::Merged,
            PathStatus::AlreadyPresent,
            PathStatus::Conflict,
            PathStatus::AutoResolved,
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
    }
}
