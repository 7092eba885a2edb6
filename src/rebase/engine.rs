//! The run: first pass over the whole queue, then conflicts one by one on --continue/--skip.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::rc::Rc;

use git2::{Oid, Repository};

use super::api::{self as api_check, Api};
use super::change::{self, PathChange};
use super::collateral::Rules as CollateralRules;
use super::follow::Follower;
use super::interdiff;
use super::merge::{self, Labels, PathStatus, Replayed, Update};
use super::placement;
use super::resolve::elsewhere::MovedSearch;
use super::resolve::memory::{self, Memory};
use super::session::{Active, ConflictHunk, PatchState, QueueSource, Session, FORMAT_VERSION};
use super::upstream::UpstreamIds;
use super::verdicts::{self, Decision, Judgement};
use super::{lock, treescan, worktree};
use super::{RebaseError, Result, Verdict};
use crate::queue::patchfile::{self, PatchFile};
use crate::queue::range;
use crate::queue::topics::Topics;
use crate::queue::Author;
use crate::syntax::defs::{Lookup, PatchRefs};

/// What the queue is.
#[derive(Debug, Clone)]
pub enum QueueSpec {
    /// `BASE..HEAD` in the repository.
    Range(String),
    /// Patch files: a quilt/format-patch directory or one file.
    Series(PathBuf),
}

#[derive(Debug, Clone)]
pub struct StartOptions {
    pub repo: PathBuf,
    pub target: String,
    pub queue: QueueSpec,
    /// Result branch; default `<queue branch>-on-<target>`.
    pub branch: Option<String>,
    pub force: bool,
    pub topics: Option<PathBuf>,
    /// Leave every conflict git leaves (no resolution cascade).
    pub strict: bool,
    /// Collateral-evolution rules (default: patchsets/collateral.toml).
    pub collateral: Option<PathBuf>,
}

/// Called after each patch of the first pass: (done, total).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// What `--continue`/`--skip` left for the caller to tell the user.
#[derive(Debug)]
pub enum Step {
    /// Every patch has its final verdict and the branch is written.
    Finished,
    /// A conflict waits in the worktree.
    Waiting { worktree: PathBuf, index: usize },
}

pub fn open_repo(path: &Path) -> Result<Repository> {
    // Like git itself, trust the object store's hashes instead of re-hashing every object
    // read: at kernel scale the re-hash was the largest single cost of a replay.
    git2::opts::strict_hash_verification(false);
    let repo = Repository::discover(path).map_err(|source| RebaseError::NotARepo {
        path: path.to_path_buf(),
        source,
    })?;
    // From inside a linked worktree (the session's own, where the user resolves a conflict),
    // the session is the main repository's.
    if repo.is_worktree() {
        return Repository::open(repo.commondir()).map_err(|source| RebaseError::NotARepo {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(repo)
}

/// The queue's patches.
enum Patches {
    Commits(Vec<Oid>),
    Files(Vec<PatchFile>),
}

/// What a run reads once per invocation: the patches, the recorded resolutions and, on first
/// use, the definitions of the target and the base.
struct Loaded {
    patches: Patches,
    memory: Memory,
    api: std::cell::OnceCell<Option<Api>>,
}

impl Loaded {
    fn from_source(source: &QueueSource, git_dir: &Path) -> Result<Loaded> {
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
    fn api(&self, repo: &Repository, session: &Session) -> Result<Option<&Api>> {
        if session.strict {
            return Ok(None);
        }
        if self.api.get().is_none() {
            let _ = self.api.set(Some(Api::load(repo, session)?));
        }
        Ok(self.api.get().and_then(Option::as_ref))
    }

    /// What patch `i`'s added lines define and use.
    fn refs(&self, repo: &Repository, api: &Api, i: usize) -> Result<Rc<PatchRefs>> {
        api.refs(i, || {
            let paths: Vec<String> = self
                .changes(repo, i)?
                .into_iter()
                .filter_map(|c| c.new_path)
                .collect();
            self.original_diff(repo, i, &paths)
        })
    }

    fn len(&self) -> usize {
        match &self.patches {
            Patches::Commits(c) => c.len(),
            Patches::Files(f) => f.len(),
        }
    }

    /// Patch file `i` when it is placed hunk by hunk (its pre-images are not in the repository).
    fn placed(&self, repo: &Repository, i: usize) -> Option<&PatchFile> {
        match &self.patches {
            Patches::Files(f) if placement::tree::needs_placement(repo, &f[i]) => Some(&f[i]),
            _ => None,
        }
    }

    /// What patch `i` changes; a path git's checkout would refuse is an error naming it.
    fn changes(&self, repo: &Repository, i: usize) -> Result<Vec<PathChange>> {
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

    fn base_tree<'r>(&self, repo: &'r Repository, i: usize) -> Result<Option<git2::Tree<'r>>> {
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

    /// (message, author, committer-less) for making the new commit.
    fn message_and_author(&self, repo: &Repository, i: usize) -> Result<(String, Author)> {
        match &self.patches {
            Patches::Commits(c) => {
                let commit = repo.find_commit(c[i])?;
                let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
                let author = Author::from_signature(&commit.author());
                Ok((message, author))
            }
            Patches::Files(f) => {
                let p = &f[i];
                let author = match &p.author {
                    Some(a) => a.clone(),
                    None => Author::from_signature(&committer(repo)?),
                };
                Ok((p.message.clone(), author))
            }
        }
    }

    fn original_diff(&self, repo: &Repository, i: usize, paths: &[String]) -> Result<String> {
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

fn committer(repo: &Repository) -> Result<git2::Signature<'static>> {
    Ok(repo
        .signature()
        .or_else(|_| git2::Signature::now("dovetail-port", "dovetail-port@localhost"))?
        .to_owned())
}

/// Starts a session: checks the inputs, replays the whole queue, and finishes when nothing
/// conflicted. Nothing of the user's is touched.
pub fn start(opts: &StartOptions, progress: Progress<'_>) -> Result<Session> {
    let repo = open_repo(&opts.repo)?;
    let git_dir = repo.path().to_path_buf();
    let _lock = lock::acquire(&lock::session_path(&git_dir), "a rebase session")?;
    if let Some(existing) = Session::load(&git_dir)? {
        if existing.in_progress() {
            return Err(RebaseError::SessionInProgress {
                path: Session::file(&git_dir),
                pending: existing.pending(),
            });
        }
    }
    let target_id =
        range::resolve(&repo, &opts.target).map_err(|_| RebaseError::UnknownTarget {
            target: opts.target.clone(),
            repo: repo.path().to_path_buf(),
        })?;
    let collateral_rules = match &opts.collateral {
        Some(p) => CollateralRules::load(p)?,
        None => CollateralRules::builtin()?,
    };
    let topics = match &opts.topics {
        Some(p) => Topics::load(p)?,
        None => Topics::builtin()?,
    };
    let (source, patches, queue_name) = match &opts.queue {
        QueueSpec::Range(spec) => {
            let r = range::parse_range(&repo, spec)?;
            let ids = range::commits(&repo, r)?;
            let mut states = Vec::new();
            for id in &ids {
                let c = range::describe(&repo, *id, &topics)?;
                states.push(new_state(id.to_string(), c.subject, c.topic));
            }
            let head = spec.split_once("..").map(|(_, h)| h).unwrap_or(spec);
            let name = repo
                .find_branch(head, git2::BranchType::Local)
                .ok()
                .map(|_| head.to_string())
                .unwrap_or_else(|| "queue".to_string());
            let source = QueueSource::Range {
                spec: spec.clone(),
                base: r.base.to_string(),
                commits: ids.iter().map(|i| i.to_string()).collect(),
            };
            (source, states, name)
        }
        QueueSpec::Series(path) => {
            let files = patchfile::read_queue(path)?;
            let mut states = Vec::new();
            for f in &files {
                let paths = touched_in_diff(&f.diff);
                let topic = topics.classify(&f.subject, &paths);
                let key = format!("{}:{}", f.path.display(), f.line);
                states.push(new_state(key, f.subject.clone(), topic));
            }
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "queue".into());
            let source = QueueSource::Series {
                path: std::fs::canonicalize(path).unwrap_or(path.clone()),
            };
            (source, states, name)
        }
    };
    let branch = opts
        .branch
        .clone()
        .unwrap_or_else(|| format!("{queue_name}-on-{}", sanitize(&opts.target)));
    if !git2::Branch::name_is_valid(&branch)? {
        return Err(RebaseError::BadBranch(branch));
    }
    if !opts.force && repo.find_branch(&branch, git2::BranchType::Local).is_ok() {
        return Err(RebaseError::BranchExists(branch));
    }
    let mut session = Session {
        version: FORMAT_VERSION,
        target: opts.target.clone(),
        target_id: target_id.to_string(),
        source,
        branch,
        force: opts.force,
        tip: target_id.to_string(),
        next: 0,
        patches,
        active: None,
        finished: false,
        replay_seconds: 0.0,
        strict: opts.strict,
        collateral: Vec::new(),
        verify: None,
        verification: None,
    };
    let mut run = |session: &mut Session| -> Result<()> {
        session.save(&git_dir)?;
        let loaded = Loaded::from_source(&session.source, &git_dir)?;
        first_pass(&repo, session, &loaded, progress)?;
        // Needs the queue's old base; patch files have none.
        if let QueueSource::Range { base, commits, .. } = &session.source {
            if let Some(head) = commits.last() {
                session.collateral = collateral_rules.scan(
                    &repo,
                    Oid::from_str(base)?,
                    Oid::from_str(head)?,
                    target_id,
                )?;
                session.save_synced(&git_dir)?;
            }
        }
        if session.pending() == 0 {
            finish(&repo, session)?;
        }
        Ok(())
    };
    if let Err(e) = run(&mut session) {
        // An error is not a half-started session: the next start begins afresh.
        let _ = Session::remove(&git_dir);
        return Err(e);
    }
    Ok(session)
}

fn new_state(key: String, subject: String, topic: String) -> PatchState {
    PatchState {
        key,
        subject,
        topic,
        verdict: None,
        new_commit: None,
        paths: Vec::new(),
        conflicts: Vec::new(),
        interdiff: None,
        notes: Vec::new(),
        upstream: None,
        identifiers: Vec::new(),
        blocked_by: None,
        finding: None,
    }
}

/// The files a queue patch touches, for its topic. Quilt patches strip one component too,
/// whatever their prefix (`a/`, `linux-5.10.orig/`).
fn touched_in_diff(diff: &[u8]) -> Vec<String> {
    crate::syntax::diff_header::file_headers(diff, 1)
        .iter()
        .flat_map(|h| h.paths())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

fn sanitize(target: &str) -> String {
    target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Test hook standing in for a kill: abort the process right after patch N is saved.
fn crash_after(n: usize) -> bool {
    std::env::var("DOVETAIL_PORT_CRASH_AFTER").is_ok_and(|v| v.parse::<usize>().ok() == Some(n))
}

/// How often the first pass saves the session. A kill loses at most this much work, which a
/// resumed run replays (objects are content-addressed, so replaying is harmless); saving after
/// every patch cost more than the replay itself at kernel scale.
const SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

fn first_pass(
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
    while session.next < total {
        let i = session.next;
        let (mut state, probes) = replay_checked(repo, session, loaded, i, &mut follower)?;
        if matches!(
            state.verdict,
            Some(Verdict::Conflict | Verdict::UpstreamEquivalent)
        ) {
            check_upstream(repo, session, loaded, i, &mut upstream, &mut state)?;
        }
        if let Some(p) = probes.filter(|_| state.upstream.is_none()) {
            candidates.push((i, p));
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
    search_target(repo, target_tree, session, moved_from, candidates);
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

/// Replays patch `i` with the identifier checks: `blocked` (not replayed) when it uses names
/// only an unported earlier patch defines; `needs-api` (applied) when it uses functions,
/// macros or Kconfig symbols the target no longer defines; the cascade refuses placements
/// that name what the target and the queue do not define.
fn replay_checked(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
    follower: &mut Follower,
) -> Result<(PatchState, Option<Vec<String>>)> {
    let Some(api) = loaded.api(repo, session)? else {
        return replay_one(repo, session, loaded, i, follower, None);
    };
    let refs_of = |j: usize| loaded.refs(repo, api, j);
    let refs = refs_of(i)?;
    if let Some((k, uses)) = api.blocker(session, i, &refs, &refs_of)? {
        let mut state = session.patches[i].clone();
        clear_outcome(&mut state);
        state.paths.clear();
        let by = &session.patches[k];
        state.verdict = Some(Verdict::Blocked);
        state.blocked_by = Some(by.key.clone());
        state.notes.push(format!(
            "blocked by #{} {} ({}): uses {}, which only that patch defines; replayed when it is resolved (--continue)",
            k + 1,
            by.subject,
            by.verdict_name(),
            api_check::describe(&uses)
        ));
        state.identifiers = uses;
        return Ok((state, None));
    }
    let placing = api.placing(session, i, &refs_of)?;
    let (mut state, probes) = replay_one(repo, session, loaded, i, follower, Some(&placing))?;
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
    Ok((state, probes))
}

/// Forgets what an earlier replay of the patch decided.
fn clear_outcome(state: &mut PatchState) {
    state.conflicts.clear();
    state.notes.clear();
    state.new_commit = None;
    state.interdiff = None;
    state.identifiers.clear();
    state.blocked_by = None;
}

/// The first pass's tree-wide questions, answered in one read of the target tree: obsolete
/// candidates (patch index, probes) are obsolete when no probe occurs anywhere in the target
/// (the others stay conflicts), and conflicts from patch `moved_from` on whose code moved to
/// another file get a refusal saying where it is now.
fn search_target(
    repo: &Repository,
    target_tree: Oid,
    session: &mut Session,
    moved_from: Option<usize>,
    candidates: Vec<(usize, Vec<String>)>,
) {
    let probes: Vec<&[String]> = candidates.iter().map(|(_, p)| p.as_slice()).collect();
    let obsolete = verdicts::ObsoleteSearch::new(&probes);
    let moved = moved_from.and_then(|first| MovedSearch::new(&session.patches[first..]));
    if obsolete.is_none() && moved.is_none() {
        return;
    }
    let Some(blobs) = treescan::blobs(repo, target_tree) else {
        return;
    };
    let Some(states) = treescan::visit(
        repo.path(),
        &blobs,
        treescan::threads(),
        || (HashSet::new(), Vec::new()),
        |(found, hits), blob, data| {
            if let Some(o) = &obsolete {
                o.visit(data, found);
            }
            if let Some(m) = moved.as_ref().filter(|m| m.wants(&blob.path)) {
                m.visit(&blob.path, data, hits);
            }
        },
    ) else {
        return;
    };
    let (mut found, mut hits) = (HashSet::new(), Vec::new());
    for (f, h) in states {
        found.extend(f);
        hits.extend(h);
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
fn settle_obsolete(
    patches: &mut [PatchState],
    candidates: &[(usize, Vec<String>)],
    confirmed: Vec<bool>,
) {
    for ((i, _), yes) in candidates.iter().zip(confirmed) {
        let state = &mut patches[*i];
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

/// Replays patch `i` on the session's tip; on success moves the tip. An obsolete candidate
/// comes back as a conflict with the probes that must be absent tree-wide to confirm it.
fn replay_one(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
    follower: &mut Follower,
    known: Option<&dyn Lookup>,
) -> Result<(PatchState, Option<Vec<String>>)> {
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
        return Ok((state, None));
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
            return Ok((state, None));
        }
        if f.verdict == Verdict::UpstreamEquivalent && replayed.tree.is_none() {
            // The plain merge conflicts; when the cascade settles it to the target's own
            // tree, nothing of the patch is carried: already upstream, no decision needed.
            let cascaded = replay(merge_options(session, loaded, known))?;
            if cascaded.tree == Some(ours.id()) {
                state.paths = cascaded.paths.clone();
                state.finding = None;
                state.verdict = Some(Verdict::AlreadyUpstream);
                return Ok((state, None));
            }
        }
        if f.verdict == Verdict::UpstreamEquivalent {
            state.verdict = Some(Verdict::UpstreamEquivalent);
            state.notes.push(f.summary());
            return Ok((state, None));
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
    Ok((state, probes))
}

/// Patch `i` on `ours`: a three-way merge of its paths, or, for a patch file whose
/// pre-images the repository lacks, its hunks placed one by one.
#[allow(clippy::too_many_arguments)]
fn replay_patch<'a>(
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
fn attribute(
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

fn merge_options<'a>(
    session: &Session,
    loaded: &'a Loaded,
    known: Option<&'a dyn Lookup>,
) -> merge::MergeOptions<'a> {
    merge::MergeOptions {
        cascade: !session.strict,
        memory: Some(&loaded.memory),
        known,
    }
}

fn commit(
    repo: &Repository,
    loaded: &Loaded,
    i: usize,
    parent: &git2::Commit<'_>,
    tree: Oid,
) -> Result<Oid> {
    let (message, author) = loaded.message_and_author(repo, i)?;
    let tree = repo.find_tree(tree)?;
    let committer = committer(repo)?;
    Ok(repo.commit(
        None,
        &author.to_signature()?,
        &committer,
        &message,
        &tree,
        &[parent],
    )?)
}

fn interdiff_for(
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

fn conflict_hunks(replayed: &Replayed) -> Vec<ConflictHunk> {
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

/// `--continue`: resumes a killed first pass, takes the user's resolution of the conflict in
/// the worktree, replays the patches after it on top of it, then moves to the next conflict
/// in queue order (or finishes).
pub fn resume(repo_path: &Path, progress: Progress<'_>) -> Result<(Session, Step)> {
    resume_with(repo_path, false, progress)
}

/// `--continue`, or with `apply` `--continue --apply`: on an `upstream-equivalent` or
/// `obsolete` verdict, drop the patch (its suggestion) or force it through.
pub fn resume_with(
    repo_path: &Path,
    apply: bool,
    progress: Progress<'_>,
) -> Result<(Session, Step)> {
    let repo = open_repo(repo_path)?;
    let git_dir = repo.path().to_path_buf();
    let _lock = lock::acquire(&lock::session_path(&git_dir), "a rebase session")?;
    let mut session = load_in_progress(&git_dir)?;
    let mut loaded = Loaded::from_source(&session.source, &git_dir)?;
    if session.next < loaded.len() {
        first_pass(&repo, &mut session, &loaded, progress)?;
    }
    let verdict = session
        .active
        .as_ref()
        .filter(|a| session.patches[a.index].awaits_decision())
        .map(|a| a.index);
    if apply && verdict.is_none() {
        return Err(RebaseError::NothingToApply);
    }
    if let Some(i) = verdict {
        decide(&repo, &mut session, &loaded, i, apply)?;
    } else if let Some(active) = session.active.clone() {
        if !Session::worktree(&git_dir).join(".git").exists() {
            // The worktree was deleted: check the conflict out again rather than read nothing.
            let worktree = materialize(&repo, &mut session, &loaded, active.index)?;
            session.patches[active.index]
                .notes
                .push("the session worktree was missing and was checked out again".into());
            session.save(&git_dir)?;
            return Ok((
                session,
                Step::Waiting {
                    worktree,
                    index: active.index,
                },
            ));
        }
        // Where the patches after it stood before: on what preceded the conflict.
        let old_base = parent_of(&session, active.index);
        take_resolution(&repo, &mut session, &mut loaded, &active)?;
        replay_tail(&repo, &mut session, &loaded, active.index + 1, &old_base)?;
    }
    let step = advance(&repo, &mut session, &loaded)?;
    Ok((session, step))
}

/// The user's answer to the verdict on patch `i`: dropped (its suggestion), or forced through
/// on the patches before it, the patches after it replayed on top.
fn decide(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
    apply: bool,
) -> Result<()> {
    session.active = None;
    let Some(finding) = session.patches[i].finding.as_mut() else {
        return Ok(());
    };
    if !apply {
        finding.decision = Some(Decision::Dropped);
        session.patches[i]
            .notes
            .push("dropped, as the verdict suggests (--continue)".into());
        return session.save(repo.path());
    }
    finding.decision = Some(Decision::Applied);
    let old_base = parent_of(session, i);
    session.tip = old_base.clone();
    let target_tree = repo
        .find_commit(Oid::from_str(&session.target_id)?)?
        .tree()?
        .id();
    let mut follower = Follower::new(target_tree);
    let (state, _) = replay_checked(repo, session, loaded, i, &mut follower)?;
    session.patches[i] = state;
    replay_tail(repo, session, loaded, i + 1, &old_base)
}

/// `--skip`: drops the conflict in the worktree (or the next pending one) and moves on. The
/// patches after it were replayed without it already, so nothing is replayed again.
pub fn skip(repo_path: &Path) -> Result<(Session, Step)> {
    let repo = open_repo(repo_path)?;
    let git_dir = repo.path().to_path_buf();
    let _lock = lock::acquire(&lock::session_path(&git_dir), "a rebase session")?;
    let mut session = load_in_progress(&git_dir)?;
    let loaded = Loaded::from_source(&session.source, &git_dir)?;
    let index = match session.active.take() {
        Some(a) => Some(a.index),
        None => session.patches.iter().position(PatchState::stops),
    };
    if let Some(i) = index {
        session.patches[i].verdict = Some(Verdict::Skipped);
        session.patches[i].notes.push("skipped by the user".into());
    }
    session.save(&git_dir)?;
    let step = advance(&repo, &mut session, &loaded)?;
    Ok((session, step))
}

/// `--abort`: forgets the session and removes its worktree. Branches were never moved.
pub fn abort(repo_path: &Path) -> Result<Session> {
    let repo = open_repo(repo_path)?;
    let git_dir = repo.path().to_path_buf();
    let _lock = lock::acquire(&lock::session_path(&git_dir), "a rebase session")?;
    let session =
        Session::load(&git_dir)?.ok_or_else(|| RebaseError::NoSession(git_dir.clone()))?;
    worktree::remove(&git_dir);
    Session::remove(&git_dir)?;
    Ok(session)
}

pub fn status(repo_path: &Path) -> Result<Session> {
    let repo = open_repo(repo_path)?;
    let git_dir = repo.path().to_path_buf();
    Session::load(&git_dir)?.ok_or(RebaseError::NoSession(git_dir))
}

fn load_in_progress(git_dir: &Path) -> Result<Session> {
    match Session::load(git_dir)? {
        Some(s) if s.in_progress() => Ok(s),
        _ => Err(RebaseError::NoSession(git_dir.to_path_buf())),
    }
}

/// The commit patch `i` is replayed on: the result of the last earlier patch that made one,
/// or the target. Queue order is kept: patch `i` never lands on top of a later patch.
fn parent_of(session: &Session, i: usize) -> String {
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
fn replay_tail(
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
        // A blocked patch is checked again: the patch it waited for may be resolved now.
        let blocked = p.verdict == Some(Verdict::Blocked);
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
        let (mut state, probes) = replay_checked(repo, session, loaded, i, &mut follower)?;
        if let Some(p) = probes {
            candidates.push((i, p));
        }
        if previous != state.verdict && previous.is_some() {
            state.notes.push(format!(
                "replayed after an earlier patch's resolution: was {}",
                previous.map_or("-", Verdict::as_str)
            ));
        }
        session.patches[i] = state;
        if let Some(old) = old_commit {
            old_tip = old;
        }
        new_tip = session.tip.clone();
        differ = differing_paths(repo, &old_tip, &new_tip)?;
    }
    session.tip = new_tip;
    search_target(repo, target_tree, session, None, candidates);
    session.save(&git_dir)?;
    Ok(())
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
    for c in loaded.changes(repo, i)? {
        if [&c.old_path, &c.new_path]
            .into_iter()
            .flatten()
            .any(|p| hit(p))
        {
            return Ok(true);
        }
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

/// Checks out the first pending conflict, in queue order, or finishes.
fn advance(repo: &Repository, session: &mut Session, loaded: &Loaded) -> Result<Step> {
    let git_dir = repo.path().to_path_buf();
    if let Some(i) = session.patches.iter().position(PatchState::stops) {
        if session.patches[i].awaits_decision() {
            // Nothing to edit: the user reads the evidence and confirms or overrides.
            session.active = Some(Active {
                index: i,
                conflicted: Vec::new(),
                marked: Vec::new(),
            });
            session.save(&git_dir)?;
            return Ok(Step::Waiting {
                worktree: Session::worktree(&git_dir),
                index: i,
            });
        }
        let worktree = materialize(repo, session, loaded, i)?;
        session.save(&git_dir)?;
        return Ok(Step::Waiting { worktree, index: i });
    }
    finish(repo, session)?;
    Ok(Step::Finished)
}

/// Checks the conflict of patch `i` out in the session's worktree, on top of the patches
/// before it: diff3 markers in the files, the three versions as index stages.
fn materialize(
    repo: &Repository,
    session: &mut Session,
    loaded: &Loaded,
    i: usize,
) -> Result<PathBuf> {
    let git_dir = repo.path().to_path_buf();
    let parent = parent_of(session, i);
    let worktree = worktree::checkout(&git_dir, &parent)?;
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
    let mut staged = Vec::new();
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
        staged.push((p.path.as_str(), stages));
    }
    worktree::stage_conflicts(&worktree, &staged)?;
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
fn take_resolution(
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
    crate::process::run("git", ["add", "-A"], Some(&worktree))?;
    let out = crate::process::run("git", ["write-tree"], Some(&worktree))?;
    let tree = Oid::from_str(String::from_utf8_lossy(&out.stdout).trim())?;
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
            let scope = super::resolve::decls::enclosing(path, &r.before);
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

/// Writes the result branch (the only ref the tool moves) and closes the session.
fn finish(repo: &Repository, session: &mut Session) -> Result<()> {
    session.tip = parent_of(session, session.patches.len());
    let tip = Oid::from_str(&session.tip)?;
    let name = format!("refs/heads/{}", session.branch);
    let exists = repo.find_reference(&name).is_ok();
    if exists && !session.force {
        return Err(RebaseError::BranchExists(session.branch.clone()));
    }
    let message = format!("dovetail-port rebase onto {}", session.target);
    repo.reference(&name, tip, session.force, &message)?;
    session.finished = true;
    session.active = None;
    worktree::remove(repo.path());
    session.save_synced(repo.path())?;
    Ok(())
}
