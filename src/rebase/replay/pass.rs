//! Replaying runs of the queue: the first pass over the whole queue, and the tail behind a
//! patch whose outcome changed (a resolution taken, a verdict overridden). Each ends with the
//! tree-wide questions (obsolete candidates, code moved to another file) answered in one read
//! of the target tree.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use git2::{Oid, Repository};

use super::patches::{Loaded, Patches};
use super::{replay_checked, Replay};
use crate::queue::range;
use crate::rebase::follow::Follower;
use crate::rebase::inuse;
use crate::rebase::merge::{self, Update};
use crate::rebase::resolve::elsewhere::MovedSearch;
use crate::rebase::session::{PatchState, QueueSource, Session};
use crate::rebase::treescan;
use crate::rebase::upstream::UpstreamIds;
use crate::rebase::verdicts::{self, Decision};
use crate::rebase::{Result, Verdict};
use crate::syntax::defs::removed;

/// A patch that may be obsolete: confirmed when none of its probes occurs in the target tree.
pub(crate) struct Candidate {
    index: usize,
    probes: Vec<String>,
}

/// Called after each patch of the first pass: (done, total).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Test hook standing in for a kill: abort the process right after patch N is saved.
fn crash_after(n: usize) -> bool {
    std::env::var("DOVETAIL_PORT_CRASH_AFTER").is_ok_and(|v| v.parse::<usize>().ok() == Some(n))
}

/// How often the first pass saves the session. A kill loses at most this much work, which a
/// resumed run replays (objects are content-addressed, so replaying is harmless); saving after
/// every patch cost more than the replay itself at kernel scale.
const SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

pub(crate) fn first_pass(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    progress: Progress<'_>,
) -> Result<()> {
    let git_dir = repo.path().to_path_buf();
    let total = loaded.len();
    let target_tree = repo
        .find_commit(Oid::from_str(&session.target_id)?)?
        .tree()?
        .id();
    let mut follower = Follower::new(target_tree);
    let started = Instant::now();
    let mut saved = Instant::now();
    let mut upstream = None;
    let first = session.next;
    let mut candidates = Vec::new();
    let mut removing = Vec::new();
    while session.next < total {
        let i = session.next;
        let Replay { mut state, probes } = replay_checked(repo, session, loaded, i, &mut follower)?;
        if matches!(
            state.verdict,
            Some(Verdict::Conflict | Verdict::UpstreamEquivalent)
        ) {
            check_upstream(repo, session, loaded, i, &mut upstream, &mut state)?;
        }
        if let Some(probes) = probes.filter(|_| state.upstream.is_none()) {
            candidates.push(Candidate { index: i, probes });
        }
        if state.new_commit.is_some() {
            removing.extend(super::removals(repo, session, loaded, i)?);
        }
        session.patches[i] = state;
        session.next += 1;
        let crash = crash_after(session.next);
        if crash || saved.elapsed() >= SAVE_INTERVAL {
            session.save(&git_dir)?;
            saved = Instant::now();
        }
        if crash {
            std::process::abort();
        }
        progress(session.next, total);
    }
    let moved_from = (!session.strict).then_some(first);
    search_target(repo, target_tree, session, moved_from, candidates, removing);
    session.replay_seconds += started.elapsed().as_secs_f64();
    session.save_synced(&git_dir)?;
    Ok(())
}

/// A conflicting commit whose patch-id an upstream commit has is already upstream.
fn check_upstream(
    repo: &Repository,
    session: &Session,
    loaded: &Loaded,
    i: usize,
    upstream: &mut Option<Option<UpstreamIds>>,
    state: &mut PatchState,
) -> Result<()> {
    let (Patches::Commits(commits), QueueSource::Range { base, .. }) =
        (&loaded.patches, &session.source)
    else {
        return Ok(());
    };
    if upstream.is_none() {
        let mut paths = std::collections::HashSet::new();
        for id in commits {
            paths.extend(range::touched_paths(repo, *id)?);
        }
        let target = Oid::from_str(&session.target_id)?;
        *upstream = Some(UpstreamIds::collect(
            repo,
            Oid::from_str(base)?,
            target,
            &paths,
        )?);
    }
    if let Some(Some(ids)) = upstream {
        if let Some(found) = ids.find(repo, commits[i])? {
            state.verdict = Some(Verdict::AlreadyUpstream);
            state.upstream = Some(found.to_string());
            state.notes.push(format!(
                "same patch-id as upstream commit {} (its text conflicts only because upstream changed it later)",
                range::short(found)
            ));
            state.conflicts.clear();
            state.finding = None;
        }
    }
    Ok(())
}

/// The first pass's tree-wide questions, answered in one read of the target tree: obsolete
/// candidates are obsolete when no probe occurs anywhere in the target
/// (the others stay conflicts), conflicts from patch `moved_from` on whose code moved to
/// another file get a refusal saying where it is now, and applied patches that remove
/// definitions are `removes-in-use` when the tree right after them still uses one.
fn search_target(
    repo: &Repository,
    target_tree: Oid,
    session: &mut Session,
    moved_from: Option<usize>,
    candidates: Vec<Candidate>,
    removing: Vec<inuse::Candidate>,
) {
    let probes: Vec<&[String]> = candidates.iter().map(|c| c.probes.as_slice()).collect();
    let obsolete = verdicts::ObsoleteSearch::new(&probes);
    let moved = moved_from.and_then(|first| MovedSearch::new(&session.patches[first..]));
    let in_use = inuse::InUseSearch::new(&removing);
    if obsolete.is_none() && moved.is_none() && in_use.is_none() {
        return;
    }
    // The questions' probes in one automaton, the obsolete ones first, then the moved code's,
    // then the removed names: one pass over each blob instead of three (the scan's cost is
    // the search, once the blob is read).
    let split = obsolete.as_ref().map_or(0, |o| o.probes().len());
    let split_in_use = split + moved.as_ref().map_or(0, |m| m.probes().len());
    let all: Vec<&str> = obsolete
        .iter()
        .flat_map(|o| o.probes().iter().copied())
        .chain(
            moved
                .iter()
                .flat_map(|m| m.probes().iter().map(String::as_str)),
        )
        .chain(
            in_use
                .iter()
                .flat_map(|s| s.probes().iter().map(String::as_str)),
        )
        .collect();
    let Some(searcher) = treescan::searcher(&all) else {
        return;
    };
    let Some(blobs) = treescan::blobs(repo, target_tree) else {
        return;
    };
    let Some(states) = treescan::visit(
        repo.path(),
        &blobs,
        treescan::threads(),
        || {
            (
                HashSet::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                HashMap::new(),
            )
        },
        |(found, hits, spans, names, in_use_hits), blob, data| {
            // Most files hold no probe at all, which one standard search (it stops at the
            // first match) tells faster than the overlapping search below.
            if !searcher.is_match(data) {
                return;
            }
            let moved = moved.as_ref().filter(|m| m.wants(&blob.path));
            let in_use = in_use.as_ref().filter(|_| removed::is_searched(&blob.path));
            spans.clear();
            names.clear();
            for m in searcher.find_overlapping_iter(data) {
                let p = m.pattern().as_usize();
                if p < split {
                    found.insert(p);
                } else if p >= split_in_use {
                    if in_use.is_some() {
                        names.push((m.start(), m.end(), p - split_in_use));
                    }
                } else if moved.is_some() {
                    spans.push((m.start(), m.end()));
                }
            }
            if let Some(m) = moved {
                m.visit(&blob.path, data, spans, hits);
            }
            if let Some(s) = in_use.filter(|_| !names.is_empty()) {
                let found = s.visit(&blob.path, data, names);
                if !found.is_empty() {
                    in_use_hits.insert(blob.path.clone(), found);
                }
            }
        },
    ) else {
        return;
    };
    let (mut found, mut hits, mut in_use_hits) = (HashSet::new(), Vec::new(), HashMap::new());
    for (f, h, _, _, u) in states {
        found.extend(f);
        hits.extend(h);
        in_use_hits.extend(u);
    }
    if let Some(s) = &in_use {
        s.settle(
            repo,
            target_tree,
            &in_use_hits,
            &removing,
            &mut session.patches,
        );
    }
    if let Some(o) = &obsolete {
        let confirmed = o.settle(&found);
        settle_obsolete(&mut session.patches, &candidates, confirmed);
    }
    if let (Some(m), Some(first)) = (moved, moved_from) {
        // Threads finish files in any order: tree order (path, then line) keeps the
        // choice among equal spots the same from run to run.
        hits.sort();
        m.annotate(repo, target_tree, &hits, &mut session.patches[first..]);
    }
}

/// Marks the confirmed obsolete candidates; the others stay conflicts.
fn settle_obsolete(patches: &mut [PatchState], candidates: &[Candidate], confirmed: Vec<bool>) {
    for (c, yes) in candidates.iter().zip(confirmed) {
        let state = &mut patches[c.index];
        if !yes {
            state.finding = None;
            continue;
        }
        state.verdict = Some(Verdict::Obsolete);
        state.conflicts.clear();
        if let Some(f) = &state.finding {
            state.notes.push(f.summary());
        }
    }
}

/// The commit patch `i` is replayed on: the result of the last earlier patch that made one,
/// or the target. Queue order is kept: patch `i` never lands on top of a later patch.
pub(crate) fn parent_of(session: &Session, i: usize) -> String {
    session.patches[..i]
        .iter()
        .rev()
        .find_map(|p| p.new_commit.clone())
        .unwrap_or_else(|| session.target_id.clone())
}

/// Replays patches `from..` on top of what precedes them, after an earlier patch's outcome
/// changed (a resolution taken): each gets a new commit or its new verdict, in queue order.
/// `old_base` is what patch `from` stood on before. Only a patch whose paths differ between
/// the old and the new chain is merged again; any other keeps its verdict and, when it had a
/// commit, has the same change committed on its new parent (a resolution touches a handful of
/// paths; the queue behind it hundreds of patches).
pub(crate) fn replay_tail(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    from: usize,
    old_base: &str,
) -> Result<()> {
    let git_dir = repo.path().to_path_buf();
    let target_tree = repo
        .find_commit(Oid::from_str(&session.target_id)?)?
        .tree()?
        .id();
    let mut follower = Follower::new(target_tree);
    let mut old_tip = old_base.to_string();
    let mut new_tip = parent_of(session, from);
    let mut differ = differing_paths(repo, &old_tip, &new_tip)?;
    let mut candidates = Vec::new();
    let mut removing = Vec::new();
    // The patches whose outcome changed: the one before `from`, then those replayed here.
    let mut moved: Vec<usize> = from.checked_sub(1).into_iter().collect();
    for i in from..session.patches.len() {
        let p = &session.patches[i];
        // Decisions that do not depend on the patch's place: a user's skip or drop, an
        // upstream twin.
        let dropped = p
            .finding
            .as_ref()
            .is_some_and(|f| f.decision == Some(Decision::Dropped));
        if p.verdict == Some(Verdict::Skipped) || p.upstream.is_some() || dropped {
            continue;
        }
        let old_commit = p.new_commit.clone();
        // A blocked patch is checked again when the patch it waited for, or one defining a
        // name it uses, changed: it may be unblocked now.
        let blocked = p.verdict == Some(Verdict::Blocked);
        if blocked && !unblockable(repo, session, loaded, i, &moved)? {
            continue;
        }
        if !blocked && !touches(repo, loaded, i, p, &differ)? {
            if let Some(old) = old_commit {
                let id = recommit(repo, &old, &new_tip)?;
                session.patches[i].new_commit = Some(id.to_string());
                old_tip = old;
                new_tip = id.to_string();
            }
            continue;
        }
        let previous = p.verdict;
        session.tip = new_tip.clone();
        let Replay { mut state, probes } = replay_checked(repo, session, loaded, i, &mut follower)?;
        if let Some(probes) = probes {
            candidates.push(Candidate { index: i, probes });
        }
        if state.new_commit.is_some() {
            removing.extend(super::removals(repo, session, loaded, i)?);
        }
        if previous != state.verdict && previous.is_some() {
            state.notes.push(format!(
                "replayed after an earlier patch's resolution: was {}",
                previous.map_or("-", Verdict::as_str)
            ));
        }
        if previous != state.verdict || old_commit.is_some() != state.new_commit.is_some() {
            moved.push(i);
        }
        session.patches[i] = state;
        if let Some(old) = old_commit {
            old_tip = old;
        }
        new_tip = session.tip.clone();
        differ = differing_paths(repo, &old_tip, &new_tip)?;
    }
    session.tip = new_tip;
    search_target(repo, target_tree, session, None, candidates, removing);
    session.save(&git_dir)?;
    Ok(())
}

/// Whether blocked patch `i` may come out otherwise now that patches `moved` changed: one of
/// them blocked it, or defines a name it uses (the blocker's whole input besides the target).
fn unblockable(
    repo: &Repository,
    session: &Session,
    loaded: &Loaded,
    i: usize,
    moved: &[usize],
) -> Result<bool> {
    let Some(api) = loaded.api(repo, session)? else {
        return Ok(true);
    };
    let by = session.patches[i].blocked_by.as_deref();
    if moved
        .iter()
        .any(|&j| Some(session.patches[j].key.as_str()) == by)
    {
        return Ok(true);
    }
    let uses = loaded.refs(repo, api, i)?;
    for &j in moved {
        let defined = loaded.refs(repo, api, j)?;
        if uses.uses.iter().any(|u| defined.defines.resolves(u)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The paths whose files differ between two commits' trees.
fn differing_paths(
    repo: &Repository,
    a: &str,
    b: &str,
) -> Result<std::collections::HashSet<String>> {
    if a == b {
        return Ok(Default::default());
    }
    let ta = repo.find_commit(Oid::from_str(a)?)?.tree()?;
    let tb = repo.find_commit(Oid::from_str(b)?)?.tree()?;
    Ok(crate::queue::treediff::changed_files(repo, Some(&ta), &tb)?
        .into_iter()
        .map(|c| c.path)
        .collect())
}

/// Whether patch `i` reads or writes any of `paths` (its own paths, where it landed, and
/// where the target had moved them).
fn touches(
    repo: &Repository,
    loaded: &Loaded,
    i: usize,
    state: &PatchState,
    paths: &std::collections::HashSet<String>,
) -> Result<bool> {
    if paths.is_empty() {
        return Ok(false);
    }
    let hit = |p: &str| paths.contains(p);
    if loaded.touched(repo, i)?.iter().any(|p| hit(p)) {
        return Ok(true);
    }
    Ok(state.paths.iter().any(|r| {
        hit(&r.path)
            || r.followed
                .as_ref()
                .is_some_and(|(a, b, _)| hit(a) || hit(b))
    }))
}

/// The same change as commit `old` (same message, author and committer), on `parent`.
fn recommit(repo: &Repository, old: &str, parent: &str) -> Result<Oid> {
    let old = repo.find_commit(Oid::from_str(old)?)?;
    let old_parent = old.parent(0)?;
    let parent = repo.find_commit(Oid::from_str(parent)?)?;
    let changed =
        crate::queue::treediff::changed_files(repo, Some(&old_parent.tree()?), &old.tree()?)?;
    let updates: Vec<Update> = changed
        .into_iter()
        .map(|c| match c.new {
            Some((id, mode)) => Update::Write {
                path: c.path,
                id,
                mode,
            },
            None => Update::Remove { path: c.path },
        })
        .collect();
    let tree = repo.find_tree(merge::apply_updates(repo, &parent.tree()?, &updates)?)?;
    let (author, committer) = (old.author().to_owned(), old.committer().to_owned());
    let id = repo.commit(
        None,
        &author,
        &committer,
        &String::from_utf8_lossy(old.message_bytes()),
        &tree,
        &[&parent],
    )?;
    Ok(id)
}
