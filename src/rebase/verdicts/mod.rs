//! Verdicts judged before any merge: the target already has the patch's change in another
//! form (`upstream-equivalent`), or what it changes is gone (`obsolete`). Each comes with its
//! evidence (file:line in the target, the lines, a confidence) and is never applied silently:
//! the session stops on it like on a conflict, `--continue` drops the patch (the verdict's
//! suggestion), `--continue --apply` forces it through.
//!
//! Judged before the merge so that no resolver of the cascade carries a change upstream
//! already has, and so that a merge git would call clean cannot add a second copy of it.

pub mod defined;
pub mod equivalent;
pub mod hunks;
pub mod mostly;
pub mod obsolete;

use std::collections::HashSet;

use git2::{Repository, Tree};
use serde::{Deserialize, Serialize};

use super::change::{Entry, PathChange};
use super::follow::Follower;
use super::resolve::{meaningful, Confidence};
use super::{Result, Verdict};
use equivalent::Judged;
use hunks::{hunks, identifiers, Lines};

/// One piece of evidence: where in the target, what was found, the lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The target's path (or the patch's path, for a file the target no longer has).
    pub path: String,
    /// 1-based line in the target; 0 when the evidence is an absence.
    pub line: usize,
    pub what: String,
    /// The matching (or missing) lines.
    pub text: String,
}

/// What the user decided about a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// `--continue`: the patch is dropped, as the verdict suggests.
    Dropped,
    /// `--continue --apply`: the patch was forced through.
    Applied,
}

/// A verdict with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub verdict: Verdict,
    pub confidence: Confidence,
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

impl Finding {
    /// The one-line reason shown in the report.
    pub fn summary(&self) -> String {
        let first = self.evidence.first();
        let at = first.map_or(String::new(), |e| {
            if e.line > 0 {
                format!(" ({}:{})", e.path, e.line)
            } else {
                format!(" ({})", e.path)
            }
        });
        let what = match self.verdict {
            Verdict::Obsolete => "what the patch changes is gone from the target",
            _ => "the target already has the patch's change",
        };
        format!("{what}{at}; --continue drops it, --continue --apply forces it through")
    }
}

/// What the judge says about one patch before its merge.
#[derive(Debug, PartialEq)]
pub enum Judgement {
    /// Neither verdict applies: merge as usual.
    None,
    Equivalent(Finding),
    /// Obsolete from the files alone; `probes` must be absent tree-wide to confirm.
    ObsoleteCandidate(Finding, Vec<String>),
}

/// Patch text larger than this is not judged (a whole new subsystem is not a backport).
const MAX_TEXT: usize = 2 << 20;

/// Judges a patch (`changes`, made on `base_tree`) against `ours`, the tree it would land on.
pub fn judge(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    changes: &[PathChange],
    follower: &mut Follower,
) -> Result<Judgement> {
    let mut present = Vec::new();
    let mut gone = Vec::new();
    let mut open = false;
    let mut tally = mostly::Tally::default();
    let mut defined = defined::Tally::default();
    let touched: HashSet<&str> = PathChange::touched(changes);
    for change in changes {
        match judge_path(
            repo,
            ours,
            base_tree,
            change,
            follower,
            &touched,
            (&mut tally, &mut defined),
        )? {
            PathJudged::Neutral => {}
            PathJudged::Open if tally.contradicted() => return Ok(Judgement::None),
            PathJudged::Open => open = true,
            PathJudged::Hunks(p, g) => {
                present.extend(p);
                gone.extend(g);
            }
        }
    }
    if open {
        // Hunk by hunk the change is not there; over the whole patch it may be: its lines,
        // or else the names it introduces.
        return Ok(match tally.verdict().or_else(|| defined.verdict()) {
            Some(evidence) => Judgement::Equivalent(Finding {
                verdict: Verdict::UpstreamEquivalent,
                confidence: Confidence::Medium,
                evidence,
                decision: None,
            }),
            None => Judgement::None,
        });
    }
    let lowest = |c: &mut dyn Iterator<Item = Confidence>| c.max().unwrap_or(Confidence::High);
    if gone.is_empty() {
        if present.is_empty() {
            return Ok(Judgement::None);
        }
        let confidence = lowest(&mut present.iter().map(|(c, _)| *c));
        return Ok(Judgement::Equivalent(Finding {
            verdict: Verdict::UpstreamEquivalent,
            confidence,
            evidence: present.into_iter().map(|(_, e)| e).collect(),
            decision: None,
        }));
    }
    let confidence = lowest(
        &mut gone
            .iter()
            .map(|c: &obsolete::Candidate| c.confidence)
            .chain(present.iter().map(|(c, _)| *c)),
    );
    let probes = gone.iter().flat_map(|c| c.probes.clone()).collect();
    let evidence = gone
        .into_iter()
        .map(|c| c.evidence)
        .chain(present.into_iter().map(|(_, e)| e))
        .collect();
    Ok(Judgement::ObsoleteCandidate(
        Finding {
            verdict: Verdict::Obsolete,
            confidence,
            evidence,
            decision: None,
        },
        probes,
    ))
}

enum PathJudged {
    /// Proves nothing either way (the target has exactly the patch's version, or both
    /// deleted the file).
    Neutral,
    /// The target does not have this path's change: no verdict for the patch.
    Open,
    Hunks(Vec<(Confidence, Evidence)>, Vec<obsolete::Candidate>),
}

fn text(repo: &Repository, e: Entry) -> Result<Option<String>> {
    let blob = repo.find_blob(e.id)?;
    if blob.is_binary() || blob.size() > MAX_TEXT {
        return Ok(None);
    }
    Ok(String::from_utf8(blob.content().to_vec()).ok())
}

fn judge_path(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    change: &PathChange,
    follower: &mut Follower,
    touched: &HashSet<&str>,
    (tally, defined): (&mut mostly::Tally, &mut defined::Tally),
) -> Result<PathJudged> {
    let (Some(theirs), shown) = (change.theirs, change.display()) else {
        // A deletion: neutral when the target has no such file either.
        let gone = change
            .old_path
            .as_deref()
            .is_none_or(|p| Entry::at(ours, p).is_none());
        return Ok(if gone {
            PathJudged::Neutral
        } else {
            tally.contradict();
            PathJudged::Open
        });
    };
    // Where the target has the file, following a move.
    let target = match (&change.old_path, change.base) {
        (Some(old), Some(base)) => match Entry::at(ours, old) {
            Some(e) => Some((old.clone(), e)),
            None => {
                let found = match follower.find(repo, ours, base_tree, old, base.id)? {
                    Some(f) => Some(f),
                    // Moved into the folder the file became (as the merge follows it).
                    None => follower.find_split(repo, ours, base_tree, old, base.id, touched)?,
                };
                found.and_then(|f| Entry::at(ours, &f.path).map(|e| (f.path, e)))
            }
        },
        _ => match change.new_path.as_ref() {
            Some(p) => match Entry::at(ours, p) {
                Some(e) => Some((p.clone(), e)),
                // A file the patch adds that upstream added under another name
                // (`rbtree_type.h` beside `rbtree_types.h`): found by content.
                None if change.base.is_none() => follower
                    .find(repo, ours, base_tree, p, theirs.id)?
                    .and_then(|f| Entry::at(ours, &f.path).map(|e| (f.path, e))),
                None => None,
            },
            None => None,
        },
    };
    if let Some((path, _)) = target.as_ref().filter(|(_, e)| e.id == theirs.id) {
        // The target has exactly the patch's version: what the patch introduces here is
        // there, which the by-name form must count (the patch's other files may differ).
        if let Some((old, new, _)) = texts(repo, change.base, theirs, None)? {
            defined.count(shown, &old, &new, path, Some(&new));
        }
        return Ok(PathJudged::Neutral);
    }
    if let (Some(base), Some((_, t))) = (change.base, &target) {
        if base.id == t.id {
            // The target has the file as the patch found it: the change is not there.
            tally.contradict();
            return Ok(PathJudged::Open);
        }
    }
    let (old, new, target_text) = match texts(repo, change.base, theirs, target.as_ref())? {
        Some(t) => t,
        None => {
            tally.contradict();
            return Ok(PathJudged::Open);
        }
    };
    let target_path = target.as_ref().map_or(shown, |(p, _)| p.as_str());
    defined.count(shown, &old, &new, target_path, target_text.as_deref());
    // A new file the target does not have at all: nothing to compare with.
    if change.base.is_none() && target_text.is_none() {
        tally.absent(new.lines().filter(|l| meaningful(l.trim())).count());
        return Ok(PathJudged::Open);
    }
    let lines = target_text.as_deref().map(Lines::new);
    let mut scopes = target_text
        .as_deref()
        .map(|t| mostly::Scopes::new(target_path, t));
    let old_ids: HashSet<&str> = old.lines().flat_map(identifiers).collect();
    let (mut present, mut gone) = (Vec::new(), Vec::new());
    let mut open = false;
    for h in hunks(shown, &old, &new) {
        match (&lines, &mut scopes) {
            (Some(t), Some(s)) => tally.count(target_path, &h, t, s),
            _ => tally.absent(h.brought.len()),
        }
        if open {
            continue;
        }
        if let Some(t) = &lines {
            if let Judged::Present {
                confidence,
                evidence,
            } = equivalent::judge(target_path, &h, t, &old_ids)
            {
                present.push((confidence, evidence));
                continue;
            }
        }
        match obsolete::candidate(shown, &h, lines.as_ref()) {
            Some(c) => gone.push(c),
            None => open = true,
        }
    }
    Ok(if open {
        PathJudged::Open
    } else {
        PathJudged::Hunks(present, gone)
    })
}

/// The texts of the base, the patch's and the target's file; None when one is not text.
fn texts(
    repo: &Repository,
    base: Option<Entry>,
    theirs: Entry,
    target: Option<&(String, Entry)>,
) -> Result<Option<(String, String, Option<String>)>> {
    let old = match base {
        Some(b) => match text(repo, b)? {
            Some(t) => t,
            None => return Ok(None),
        },
        None => String::new(),
    };
    let Some(new) = text(repo, theirs)? else {
        return Ok(None);
    };
    let target_text = match target {
        Some((_, e)) => match text(repo, *e)? {
            Some(t) => Some(t),
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some((old, new, target_text)))
}

/// The tree-wide search that confirms obsolete candidates: a candidate none of whose probes
/// occurs in any file of the target is obsolete. Its probes are searched for in every blob of
/// the tree (with the other tree-wide questions', in one pass); counts only which occur.
pub struct ObsoleteSearch<'c> {
    candidates: &'c [&'c [String]],
    probes: Vec<&'c str>,
}

impl<'c> ObsoleteSearch<'c> {
    /// None when there is nothing to search for.
    pub fn new(candidates: &'c [&'c [String]]) -> Option<Self> {
        let probes: Vec<&str> = candidates
            .iter()
            .flat_map(|c| c.iter().map(String::as_str))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if probes.is_empty() {
            return None;
        }
        Some(ObsoleteSearch { candidates, probes })
    }

    /// The distinct probes; [`ObsoleteSearch::settle`] takes the found ones by index.
    pub fn probes(&self) -> &[&'c str] {
        &self.probes
    }

    /// Per candidate, whether it is obsolete, given every probe found in the tree.
    pub fn settle(&self, found: &HashSet<usize>) -> Vec<bool> {
        let found: HashSet<&str> = found.iter().map(|&i| self.probes[i]).collect();
        self.candidates
            .iter()
            .map(|c| !c.is_empty() && c.iter().all(|p| !found.contains(p.as_str())))
            .collect()
    }
}
