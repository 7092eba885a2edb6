//! A conflict handed to a human: checked out in the session's worktree on top of the patches
//! before it, and the resolution read back from there and committed in its place.

use std::path::PathBuf;

use git2::{Oid, Repository};

use super::{Active, Session};
use crate::process::Git;
use crate::rebase::follow::Follower;
use crate::rebase::merge::{self, Labels, PathStatus, Update};
use crate::rebase::replay::pass::parent_of;
use crate::rebase::replay::patches::Loaded;
use crate::rebase::replay::{commit, merge_options, replay_patch};
use crate::rebase::resolve::memory::{self, Memory};
use crate::rebase::{lock, worktree};
use crate::rebase::{RebaseError, Result, Verdict};
use crate::syntax::defs::Lookup;

/// Checks the conflict of patch `i` out in the session's worktree, on top of the patches
/// before it: diff3 markers in the files, the three versions as index stages.
pub(crate) fn materialize(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
) -> Result<PathBuf> {
    let git_dir = repo.path().to_path_buf();
    let parent = parent_of(session, i);
    let target_tree = repo
        .find_commit(Oid::from_str(&session.target_id)?)?
        .tree()?
        .id();
    let mut follower = Follower::new(target_tree);
    let tip = repo.find_commit(Oid::from_str(&parent)?)?;
    let ours = tip.tree()?;
    let changes = loaded.changes(repo, i)?;
    let labels = Labels {
        ours: "ours (target + queue)",
        base: "base (queue's old base)",
        theirs: "theirs (the patch)",
    };
    // The same placements as the first pass made, so the user finishes what it left.
    let placing = match loaded.api(repo, session)? {
        Some(api) => Some(api.placing(session, i, &|j| loaded.refs(repo, api, j))?),
        None => None,
    };
    let base_tree = loaded.base_tree(repo, i)?;
    let replayed = replay_patch(
        repo,
        loaded,
        i,
        &ours,
        base_tree.as_ref(),
        &changes,
        &mut follower,
        &labels,
        merge_options(session, loaded, placing.as_ref().map(|p| p as &dyn Lookup)),
    )?;
    crate::rebase::timing::mark("conflict replayed");
    // The worktree moves once the conflict is known: its index takes the three versions
    // in the same write.
    let staged: Vec<(&str, merge::Stages)> = replayed
        .paths
        .iter()
        .filter(|p| p.status == PathStatus::Conflict)
        .map(|p| (p.path.as_str(), p.stages.unwrap_or_default()))
        .collect();
    let worktree = worktree::checkout(&git_dir, &parent, &staged)?;
    crate::rebase::timing::mark("worktree switched");
    let name = session.patches[i].short_key();
    let out = worktree::Checkout::new(&worktree, &name);
    for update in &replayed.updates {
        match update {
            Update::Write { path, id, mode } => out.write_blob(repo, path, *id, *mode)?,
            Update::Remove { path } => out.remove(path)?,
        }
    }
    let mut conflicted = Vec::new();
    let mut marked = Vec::new();
    for p in &replayed.paths {
        if p.status != PathStatus::Conflict {
            continue;
        }
        let stages = p.stages.unwrap_or_default();
        if p.conflict == Some(merge::ConflictKind::Binary) {
            // No lines to mark: the three versions side by side, and no file until the user
            // puts the one they want there.
            out.remove(&p.path)?;
            for ((side, _), entry) in worktree::binary_sides(&p.path).iter().zip([
                stages.ours,
                stages.base,
                stages.theirs,
            ]) {
                if let Some(e) = entry {
                    out.write_blob(repo, side, e.id, 0o100644)?;
                }
            }
            marked.push(Oid::zero().to_string());
        } else {
            let text = p.merged_text.as_deref().unwrap_or_default();
            if p.merged_text.is_some() {
                out.write(&p.path, text, 0o100644)?;
            }
            marked.push(repo.blob(text)?.to_string());
        }
        conflicted.push(p.path.clone());
    }
    session.active = Some(Active {
        index: i,
        conflicted,
        marked,
    });
    Ok(worktree)
}

/// Whether a line is a conflict marker line git or we leave.
fn is_marker(line: &[u8]) -> bool {
    [b"<<<<<<< ".as_slice(), b">>>>>>> ", b"||||||| "]
        .iter()
        .any(|m| line.starts_with(m))
}

/// Reads the user's resolution from the worktree and commits it on the patch's parent.
pub(crate) fn take_resolution(
    repo: &Repository,
    session: &mut Session,
    loaded: &mut Loaded,
    active: &Active,
) -> Result<()> {
    let git_dir = repo.path().to_path_buf();
    let worktree = Session::worktree(&git_dir);
    let i = active.index;
    let name = session.patches[i].short_key();
    let files = worktree::Checkout::new(&worktree, &name);
    let mut remaining = Vec::new();
    let mut binary_open = Vec::new();
    let binary: Vec<&String> = session.patches[i]
        .paths
        .iter()
        .filter(|p| p.conflict == Some(merge::ConflictKind::Binary))
        .map(|p| &p.path)
        .collect();
    for path in &active.conflicted {
        let file = worktree.join(path);
        if binary.contains(&path) {
            if std::fs::symlink_metadata(&file).is_err() {
                binary_open.push(format!("  {} (still missing)", file.display()));
            }
            continue;
        }
        if let Some(content) = files.read(path) {
            if let Some(n) = content.split(|&b| b == b'\n').position(is_marker) {
                remaining.push(format!("  {}:{}", file.display(), n + 1));
            }
        }
    }
    if !remaining.is_empty() {
        return Err(RebaseError::MarkersRemain(remaining.join("\n")));
    }
    if !binary_open.is_empty() {
        return Err(RebaseError::BinaryUnresolved(binary_open.join("\n")));
    }
    for path in &binary {
        for (side, _) in worktree::binary_sides(path) {
            files.remove(&side)?;
        }
    }
    let recorded = if session.strict {
        0
    } else {
        let _store = lock::acquire(
            &lock::resolutions_path(&git_dir),
            "a change to the resolution store",
        )?;
        record_resolutions(repo, session, loaded, active)?
    };
    crate::rebase::timing::mark("resolutions recorded");
    let tree = match worktree::take_all(&worktree)? {
        Some(tree) => tree,
        None => {
            let git = Git::in_work_tree(&worktree);
            git.run(["add", "-A"])?;
            Oid::from_str(String::from_utf8_lossy(&git.run(["write-tree"])?).trim())?
        }
    };
    crate::rebase::timing::mark("take_all");
    let tip = repo.find_commit(Oid::from_str(&parent_of(session, i))?)?;
    let state = &mut session.patches[i];
    if tree == tip.tree()?.id() {
        state.verdict = Some(Verdict::Skipped);
        state.new_commit = None;
        state.notes.push("resolved to no change: dropped".into());
    } else {
        let id = commit(repo, loaded, i, &tip, tree)?;
        state.verdict = Some(Verdict::Resolved);
        state.new_commit = Some(id.to_string());
        state.notes.push("resolved by hand".into());
    }
    if recorded > 0 {
        state.notes.push(format!(
            "{recorded} resolution(s) recorded in .git/dovetail-port/resolutions for the next time this conflict comes up"
        ));
    }
    session.active = None;
    session.save(&git_dir)?;
    Ok(())
}

/// Records what the user made of each conflict region, keyed by what the conflict is.
fn record_resolutions(
    repo: &Repository,
    session: &Session,
    loaded: &mut Loaded,
    active: &Active,
) -> Result<usize> {
    let worktree = Session::worktree(repo.path());
    let state = &session.patches[active.index];
    let files = worktree::Checkout::new(&worktree, &state.key);
    let recorded_for = format!("{} {}", state.short_key(), state.subject);
    // Another process may have recorded resolutions since this run loaded them.
    loaded.memory = Memory::load(repo.path())?;
    let mut count = 0;
    for (path, marked) in active.conflicted.iter().zip(&active.marked) {
        let Ok(marked) = Oid::from_str(marked) else {
            continue;
        };
        if marked.is_zero() {
            continue; // a binary conflict: no regions
        }
        let marked = repo.find_blob(marked)?;
        let resolved = files.read(path).unwrap_or_default();
        let (Ok(marked), Ok(resolved)) = (
            std::str::from_utf8(marked.content()),
            String::from_utf8(resolved),
        ) else {
            continue;
        };
        for r in memory::extract(marked, &resolved) {
            let scope = crate::syntax::c::enclosing(path, &r.before);
            let record = memory::Record {
                key: memory::key(path, scope.as_deref(), &r.region),
                path: path.clone(),
                scope,
                ours_change: memory::change_lines(&r.region.base, &r.region.ours),
                theirs_change: memory::change_lines(&r.region.base, &r.region.theirs),
                ours: r.region.ours,
                base: r.region.base,
                theirs: r.region.theirs,
                resolution: r.resolution,
                recorded_for: recorded_for.clone(),
            };
            loaded.memory.save(repo.path(), record)?;
            count += 1;
        }
    }
    Ok(count)
}
