//! The replay: each patch of the queue on the tip of the ones before it, in memory. A patch
//! is judged against the target first (upstream-equivalent, obsolete), then merged path by
//! path (or placed hunk by hunk), then checked for identifiers the target no longer defines.
//! `pass` runs it over the queue; `patches` reads what is replayed.

pub(crate) mod blocked;
pub mod pass;
pub mod patches;

use git2::{Oid, Repository};

use super::api::{self as api_check};
use super::change::PathChange;
use super::follow::Follower;
use super::interdiff;
use super::inuse;
use super::merge::{self, Labels, PathStatus, Replayed, Update};
use super::placement;
use super::session::{ConflictHunk, PatchState, QueueSource, Session};
use super::verdicts::{self, Decision, Judgement};
use super::worktree;
use super::{Result, Verdict};
use crate::syntax::defs::Lookup;
use patches::{committer, Loaded};

/// What replaying one patch decided.
pub(crate) struct Replay {
    /// The patch's new state (its verdict, commit, paths, notes).
    pub(crate) state: PatchState,
    /// For an obsolete candidate: the probes that must occur nowhere in the target tree to
    /// confirm the verdict.
    pub(crate) probes: Option<Vec<String>>,
}

/// Replays patch `i` with the identifier checks: `blocked` (not replayed) when it uses names
/// only an unported earlier patch defines; `needs-api` (applied) when it uses functions,
/// macros or Kconfig symbols the target no longer defines; the cascade refuses placements
/// that name what the target and the queue do not define.
pub(crate) fn replay_checked(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
    follower: &mut Follower,
) -> Result<Replay> {
    let Some(api) = loaded.api(repo, session)? else {
        return replay_one(repo, session, loaded, i, follower, None);
    };
    let refs_of = |j: usize| loaded.refs(repo, api, j);
    let refs = refs_of(i)?;
    if let Some((k, uses)) = api.blocker(session, i, &refs, &refs_of)? {
        let mut state = session.patches[i].clone();
        clear_outcome(&mut state);
        state.paths.clear();
        state.verdict = Some(Verdict::Blocked);
        state.blocked_by = Some(session.patches[k].key.clone());
        state.notes.push(blocked::note(session, k, &uses));
        state.identifiers = uses;
        return Ok(Replay {
            state,
            probes: None,
        });
    }
    let placing = api.placing(session, i, &refs_of)?;
    let Replay { mut state, probes } =
        replay_one(repo, session, loaded, i, follower, Some(&placing))?;
    if state.new_commit.is_some() {
        let missing = api.missing(session, i, &refs, &refs_of)?;
        if !missing.is_empty() {
            state.notes.push(format!(
                "needs-api: applied ({}), but uses {}, which {} no longer defines",
                state.verdict_name(),
                api_check::describe(&missing),
                session.target
            ));
            state.verdict = Some(Verdict::NeedsApi);
            state.identifiers = missing;
        }
    }
    Ok(Replay { state, probes })
}

/// What applied patch `i` removes that was there to remove, for the `removes-in-use` search
/// at the end of the pass (none under `--strict`, like the other identifier checks).
pub(crate) fn removals(
    repo: &Repository,
    session: &Session,
    loaded: &Loaded,
    i: usize,
) -> Result<Option<inuse::Candidate>> {
    let Some(api) = loaded.api(repo, session)? else {
        return Ok(None);
    };
    let refs_of = |j: usize| loaded.refs(repo, api, j);
    let refs = refs_of(i)?;
    if refs.removes.is_empty() {
        return Ok(None);
    }
    let removed = api.removals(session, i, &refs, &refs_of)?;
    Ok((!removed.is_empty()).then_some(inuse::Candidate { index: i, removed }))
}

/// Forgets what an earlier replay of the patch decided.
pub(crate) fn clear_outcome(state: &mut PatchState) {
    state.conflicts.clear();
    state.notes.clear();
    state.new_commit = None;
    state.interdiff = None;
    state.identifiers.clear();
    state.in_use.clear();
    state.blocked_by = None;
}

/// Replays patch `i` on the session's tip; on success moves the tip. An obsolete candidate
/// comes back as a conflict with the probes that must be absent tree-wide to confirm it.
pub(crate) fn replay_one(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
    follower: &mut Follower,
    known: Option<&dyn Lookup>,
) -> Result<Replay> {
    let mut state = session.patches[i].clone();
    // A verdict the user overrode with --apply stays overridden; any other is judged again.
    let forced = state
        .finding
        .as_ref()
        .is_some_and(|f| f.decision == Some(Decision::Applied));
    clear_outcome(&mut state);
    if !forced {
        state.finding = None;
    }
    let changes = loaded.changes(repo, i)?;
    if changes.is_empty() {
        state.verdict = Some(Verdict::Empty);
        state.paths.clear();
        return Ok(Replay {
            state,
            probes: None,
        });
    }
    let tip = repo.find_commit(Oid::from_str(&session.tip)?)?;
    let ours = tip.tree()?;
    let base_tree = loaded.base_tree(repo, i)?;
    let mut options = merge_options(session, loaded, known);
    let mut probes = None;
    if !session.strict && !forced {
        // Before any merge: no resolver may carry a change the target already has.
        match verdicts::judge(repo, &ours, base_tree.as_ref(), &changes, follower)? {
            Judgement::None => {}
            Judgement::Equivalent(f) => {
                state.finding = Some(f);
                options.cascade = false;
            }
            Judgement::ObsoleteCandidate(f, p) => {
                state.finding = Some(f);
                probes = Some(p);
                options.cascade = false;
            }
        }
    }
    let short_key = state.short_key();
    let ours_label = format!("{} (+queue)", session.target);
    let base_label = format!("{short_key}^ (queue base)");
    let theirs_label = format!("{short_key} ({})", state.subject);
    let labels = Labels {
        ours: &ours_label,
        base: &base_label,
        theirs: &theirs_label,
    };
    let mut replay = |options| {
        replay_patch(
            repo,
            loaded,
            i,
            &ours,
            base_tree.as_ref(),
            &changes,
            follower,
            &labels,
            options,
        )
    };
    let replayed = replay(options)?;
    if forced {
        state.notes.push(
            "forced through with --apply: the verdict's suggestion (drop it) was overridden".into(),
        );
    } else if let Some(f) = state.finding.clone() {
        state.paths = replayed.paths.clone();
        if replayed.tree == Some(ours.id()) {
            // The plain merge changes nothing: already upstream, as before any judging.
            state.finding = None;
            state.verdict = Some(Verdict::AlreadyUpstream);
            return Ok(Replay {
                state,
                probes: None,
            });
        }
        if f.verdict == Verdict::UpstreamEquivalent && replayed.tree.is_none() {
            // The plain merge conflicts; when the cascade settles it to the target's own
            // tree, nothing of the patch is carried: already upstream, no decision needed.
            let cascaded = replay(merge_options(session, loaded, known))?;
            if cascaded.tree == Some(ours.id()) {
                state.paths = cascaded.paths.clone();
                state.finding = None;
                state.verdict = Some(Verdict::AlreadyUpstream);
                return Ok(Replay {
                    state,
                    probes: None,
                });
            }
        }
        if f.verdict == Verdict::UpstreamEquivalent {
            state.verdict = Some(Verdict::UpstreamEquivalent);
            state.notes.push(f.summary());
            return Ok(Replay {
                state,
                probes: None,
            });
        }
        if replayed.tree.is_some() {
            // It merges: not obsolete after all.
            state.finding = None;
            probes = None;
        }
    }
    for update in &replayed.updates {
        if let Update::Write { path, .. } = update {
            worktree::check_tree_parents(&ours, &short_key, path)?;
        }
    }
    state.paths = replayed.paths.clone();
    for p in &replayed.paths {
        if let Some((old, new, sim)) = &p.followed {
            state.notes.push(format!(
                "{old} was moved to {new} in {} (found by content, {:.0}% similar)",
                session.target,
                sim * 100.0
            ));
        }
    }
    match replayed.tree {
        None => {
            state.verdict = Some(Verdict::Conflict);
            state.conflicts = conflict_hunks(&replayed);
            attribute(repo, session, &replayed, &mut state.conflicts)?;
        }
        Some(tree) if tree == ours.id() => {
            state.verdict = Some(Verdict::AlreadyUpstream);
        }
        Some(tree) => {
            let all_clean = replayed.paths.iter().all(|p| p.status == PathStatus::Clean);
            let followed = replayed.paths.iter().any(|p| p.followed.is_some());
            let cascaded = replayed
                .paths
                .iter()
                .any(|p| p.status == PathStatus::AutoResolved);
            state.verdict = Some(if cascaded {
                Verdict::Relocated
            } else if all_clean && !followed {
                Verdict::Clean
            } else {
                Verdict::Merged
            });
            let id = commit(repo, loaded, i, &tip, tree)?;
            state.new_commit = Some(id.to_string());
            if state.verdict != Some(Verdict::Clean) {
                state.interdiff = interdiff_for(repo, loaded, i, &tip, id, &replayed)?;
            }
            session.tip = id.to_string();
        }
    }
    Ok(Replay { state, probes })
}

/// Patch `i` on `ours`: a three-way merge of its paths, or, for a patch file whose
/// pre-images the repository lacks, its hunks placed one by one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn replay_patch<'a>(
    repo: &Repository,
    loaded: &Loaded,
    i: usize,
    ours: &git2::Tree<'_>,
    base_tree: Option<&git2::Tree<'_>>,
    changes: &[PathChange],
    follower: &mut Follower,
    labels: &Labels<'_>,
    options: merge::MergeOptions<'a>,
) -> Result<Replayed> {
    if let Some(patch) = loaded.placed(repo, i) {
        return placement::tree::replay(repo, ours, patch, labels);
    }
    merge::replay(repo, ours, base_tree, changes, follower, labels, options)
}

/// Names the upstream commits behind each content conflict, when the queue's base and the
/// target share history (a commit range queue); patch files and unrelated trees get nothing.
pub(crate) fn attribute(
    repo: &Repository,
    session: &Session,
    replayed: &Replayed,
    hunks: &mut [ConflictHunk],
) -> Result<()> {
    let QueueSource::Range { base, .. } = &session.source else {
        return Ok(());
    };
    let target = Oid::from_str(&session.target_id)?;
    let Ok(since) = repo.merge_base(Oid::from_str(base)?, target) else {
        return Ok(());
    };
    if since == target {
        return Ok(());
    }
    let skip: Vec<String> = session
        .patches
        .iter()
        .filter_map(|p| p.new_commit.clone())
        .collect();
    for p in &replayed.paths {
        let Some(text) = &p.merged_text else { continue };
        if p.conflict != Some(merge::ConflictKind::Content) {
            continue;
        }
        let ranges = super::resolve::attribute::ours_ranges(text);
        let mine = hunks.iter_mut().filter(|h| h.path == p.path);
        for (hunk, range) in mine.zip(ranges) {
            hunk.changed_upstream_by = super::resolve::attribute::culprits(
                repo.path(),
                &session.tip,
                &since.to_string(),
                &p.path,
                range,
                &skip,
            );
        }
    }
    Ok(())
}

pub(crate) fn merge_options<'a>(
    session: &Session,
    loaded: &'a Loaded,
    known: Option<&'a dyn Lookup>,
) -> merge::MergeOptions<'a> {
    merge::MergeOptions {
        cascade: !session.strict,
        memory: Some(&loaded.memory),
        known,
        follow_hunks: !session.strict,
    }
}

pub(crate) fn commit(
    repo: &Repository,
    loaded: &Loaded,
    i: usize,
    parent: &git2::Commit<'_>,
    tree: Oid,
) -> Result<Oid> {
    let authored = loaded.authored(repo, i)?;
    let tree = repo.find_tree(tree)?;
    let committer = committer(repo)?;
    Ok(repo.commit(
        None,
        &authored.author.to_signature()?,
        &committer,
        &authored.message,
        &tree,
        &[parent],
    )?)
}

pub(crate) fn interdiff_for(
    repo: &Repository,
    loaded: &Loaded,
    i: usize,
    parent: &git2::Commit<'_>,
    new: Oid,
    replayed: &Replayed,
) -> Result<Option<String>> {
    let mut paths: Vec<String> = replayed.paths.iter().map(|p| p.path.clone()).collect();
    for p in &replayed.paths {
        if let Some((old, _, _)) = &p.followed {
            paths.push(old.clone());
        }
    }
    let old = loaded.original_diff(repo, i, &paths)?;
    let new_commit = repo.find_commit(new)?;
    let new_text = interdiff::diff_text(repo, Some(&parent.tree()?), &new_commit.tree()?, &paths)?;
    Ok(interdiff::interdiff(&old, &new_text))
}

pub(crate) fn conflict_hunks(replayed: &Replayed) -> Vec<ConflictHunk> {
    let mut out = Vec::new();
    for p in &replayed.paths {
        let (Some(kind), Some(text)) = (p.conflict, &p.merged_text) else {
            continue;
        };
        if kind == merge::ConflictKind::Binary {
            out.push(ConflictHunk {
                path: p.path.clone(),
                kind,
                line: 0,
                text: String::from_utf8_lossy(text).trim().to_string(),
                changed_upstream_by: Vec::new(),
            });
            continue;
        }
        if kind != merge::ConflictKind::Content && kind != merge::ConflictKind::AddAdd {
            out.push(ConflictHunk {
                path: p.path.clone(),
                kind,
                line: 0,
                text: match kind {
                    merge::ConflictKind::ModifyDelete => "the target deleted this file and no moved copy was found; the patch modifies it".into(),
                    _ => "the patch deletes this file, which the target changed".into(),
                },
                changed_upstream_by: Vec::new(),
            });
            continue;
        }
        let text = String::from_utf8_lossy(text);
        let lines: Vec<&str> = text.lines().collect();
        let mut k = 0;
        while k < lines.len() {
            if lines[k].starts_with("<<<<<<< ") {
                let start = k;
                while k < lines.len() && !lines[k].starts_with(">>>>>>> ") {
                    k += 1;
                }
                let end = k.min(lines.len() - 1);
                out.push(ConflictHunk {
                    path: p.path.clone(),
                    kind,
                    line: start + 1,
                    text: lines[start..=end].join("\n"),
                    changed_upstream_by: Vec::new(),
                });
            }
            k += 1;
        }
    }
    out
}
