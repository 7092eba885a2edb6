//! The session's transitions: a start replays the whole queue; `--continue` takes a
//! resolution (or answers a verdict) and replays what follows; `--skip` drops a patch;
//! `--abort` forgets the session; `--status` reads it. Each takes the session lock, and a
//! session left in progress waits at its first stop, in queue order.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::conflict::{materialize, take_resolution};
use super::{Active, PatchState, QueueSource, Session, FORMAT_VERSION};
use crate::queue::patchfile;
use crate::queue::range;
use crate::queue::topics::Topics;
use crate::rebase::collateral::Rules as CollateralRules;
use crate::rebase::follow::Follower;
use crate::rebase::replay::blocked;
use crate::rebase::replay::pass::{first_pass, parent_of, replay_tail, Progress};
use crate::rebase::replay::patches::Loaded;
use crate::rebase::replay::{replay_checked, Replay};
use crate::rebase::verdicts::Decision;
use crate::rebase::{lock, worktree};
use crate::rebase::{RebaseError, Result, Verdict};

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

/// Where `--continue`/`--skip` left the session.
#[derive(Debug)]
pub struct Moved {
    pub session: Session,
    pub step: Step,
}

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
    // Keep big trees parsed once read: libgit2 caches none over 4 KiB by default, and a
    // kernel's `include/linux` or `drivers/` were inflated again at every lookup through them.
    // SAFETY: a global setting, set before any repository of this run is read.
    let _ = unsafe { git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 1 << 20) };
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
        in_use: Vec::new(),
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

/// `--continue`: resumes a killed first pass, takes the user's resolution of the conflict in
/// the worktree, replays the patches after it on top of it, then moves to the next conflict
/// in queue order (or finishes).
pub fn resume(repo_path: &Path, progress: Progress<'_>) -> Result<Moved> {
    resume_with(repo_path, false, progress)
}

/// `--continue`, or with `apply` `--continue --apply`: on an `upstream-equivalent` or
/// `obsolete` verdict, drop the patch (its suggestion) or force it through.
pub fn resume_with(repo_path: &Path, apply: bool, progress: Progress<'_>) -> Result<Moved> {
    crate::rebase::timing::mark("start");
    let repo = open_repo(repo_path)?;
    let git_dir = repo.path().to_path_buf();
    let _lock = lock::acquire(&lock::session_path(&git_dir), "a rebase session")?;
    let mut session = load_in_progress(&git_dir)?;
    let mut loaded = Loaded::from_source(&session.source, &git_dir)?;
    crate::rebase::timing::mark("session loaded");
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
        crate::rebase::timing::mark("decided");
    } else if let Some(active) = session.active.clone() {
        if !Session::worktree(&git_dir).join(".git").exists() {
            // The worktree was deleted: check the conflict out again rather than read nothing.
            let worktree = materialize(&repo, &mut session, &loaded, active.index)?;
            session.patches[active.index]
                .notes
                .push("the session worktree was missing and was checked out again".into());
            session.save(&git_dir)?;
            let step = Step::Waiting {
                worktree,
                index: active.index,
            };
            return Ok(Moved { session, step });
        }
        // Where the patches after it stood before: on what preceded the conflict.
        let old_base = parent_of(&session, active.index);
        take_resolution(&repo, &mut session, &mut loaded, &active)?;
        crate::rebase::timing::mark("resolution taken");
        replay_tail(&repo, &mut session, &loaded, active.index + 1, &old_base)?;
        crate::rebase::timing::mark("tail replayed");
    }
    let step = advance(&repo, &mut session, &loaded)?;
    Ok(Moved { session, step })
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
    let Replay { state, .. } = replay_checked(repo, session, loaded, i, &mut follower)?;
    session.patches[i] = state;
    replay_tail(repo, session, loaded, i + 1, &old_base)
}

/// `--skip`: drops the conflict in the worktree (or the next pending one) and moves on. The
/// patches after it were replayed without it already, so nothing is replayed again; the ones
/// it blocked learn that it will not come.
pub fn skip(repo_path: &Path) -> Result<Moved> {
    crate::rebase::timing::mark("start");
    let repo = open_repo(repo_path)?;
    let git_dir = repo.path().to_path_buf();
    let _lock = lock::acquire(&lock::session_path(&git_dir), "a rebase session")?;
    let mut session = load_in_progress(&git_dir)?;
    let loaded = Loaded::from_source(&session.source, &git_dir)?;
    crate::rebase::timing::mark("session loaded");
    let index = match session.active.take() {
        Some(a) => Some(a.index),
        None => session.patches.iter().position(PatchState::stops),
    };
    if let Some(i) = index {
        session.patches[i].verdict = Some(Verdict::Skipped);
        session.patches[i].notes.push("skipped by the user".into());
        blocked::after_skip(&mut session, i);
    }
    session.save(&git_dir)?;
    crate::rebase::timing::mark("session saved");
    let step = advance(&repo, &mut session, &loaded)?;
    Ok(Moved { session, step })
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
        crate::rebase::timing::mark("saved");
        return Ok(Step::Waiting { worktree, index: i });
    }
    finish(repo, session)?;
    Ok(Step::Finished)
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
