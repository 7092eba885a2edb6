//! `removes-in-use`, the mirror of `needs-api`: a ported patch that removes a function, macro
//! or Kconfig symbol the tree right after it still uses. The queue must bisect, so a later
//! patch that mends the users does not excuse it. Answered in the pass's one read of the
//! target tree: the target's files that hold a removed name are read once for every patch,
//! and the files the queue changed up to a patch are read from that patch's own tree.

use std::collections::{HashMap, HashSet};

use aho_corasick::AhoCorasick;
use git2::{Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

use super::session::PatchState;
use super::treescan;
use super::Verdict;
use crate::queue::treediff;
use crate::syntax::defs::removed::{self, LineRef, Removed};

/// Users listed per name; the others are counted.
pub const MAX_USERS: usize = 5;

/// A line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub path: String,
    /// 1-based.
    pub line: usize,
    pub text: String,
}

/// A definition a ported patch removes that the tree right after it still uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InUse {
    pub name: String,
    /// `function or macro` or `Kconfig symbol`.
    pub kind: String,
    /// Where the patch removed it (path, line in the file before the patch).
    pub removed_at: String,
    /// The first users, in path and line order.
    pub users: Vec<Site>,
    /// Users not listed.
    #[serde(default)]
    pub more: usize,
}

/// A ported patch that removes definitions.
pub struct Candidate {
    pub index: usize,
    pub removed: Vec<Removed>,
}

/// A line of a file that defines or uses a probed name.
#[derive(Debug, Clone)]
pub struct Hit {
    probe: usize,
    line: usize,
    what: LineRef,
    text: String,
}

/// The removed names of every candidate, searched as fixed strings.
pub struct InUseSearch {
    probes: Vec<String>,
    searcher: AhoCorasick,
}

impl InUseSearch {
    pub fn new(candidates: &[Candidate]) -> Option<InUseSearch> {
        let mut probes: Vec<String> = candidates
            .iter()
            .flat_map(|c| c.removed.iter().map(|r| r.name.clone()))
            .collect();
        probes.sort_unstable();
        probes.dedup();
        if probes.is_empty() {
            return None;
        }
        let searcher = treescan::searcher(&probes)?;
        Some(InUseSearch { probes, searcher })
    }

    pub fn probes(&self) -> &[String] {
        &self.probes
    }

    /// The lines of file `path` that define or use a probe, given where the probes occur in
    /// it (start, end, probe).
    pub fn visit(&self, path: &str, data: &[u8], spans: &mut [(usize, usize, usize)]) -> Vec<Hit> {
        spans.sort_unstable();
        let mut out: Vec<Hit> = Vec::new();
        let (mut line, mut counted) = (1usize, 0usize);
        for &(start, end, probe) in spans.iter() {
            line += data[counted..start].iter().filter(|&&b| b == b'\n').count();
            counted = start;
            if out.iter().any(|h| h.line == line && h.probe == probe) {
                continue;
            }
            let (from, to) = treescan::line_around(data, start, end);
            let text = &data[from..to];
            let what = removed::line_ref(path, text, &self.probes[probe]);
            if what != LineRef::default() {
                out.push(Hit {
                    probe,
                    line,
                    what,
                    text: String::from_utf8_lossy(text)
                        .trim()
                        .chars()
                        .take(160)
                        .collect(),
                });
            }
        }
        out
    }

    /// A blob read alone (a file the queue changed), searched as the tree read does.
    fn scan_blob(&self, repo: &Repository, path: &str, id: Oid) -> Vec<Hit> {
        let Ok(blob) = repo.find_blob(id) else {
            return Vec::new();
        };
        let data = blob.content();
        if !self.searcher.is_match(data) {
            return Vec::new();
        }
        let mut spans: Vec<(usize, usize, usize)> = self
            .searcher
            .find_overlapping_iter(data)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        self.visit(path, data, &mut spans)
    }

    /// Flags every candidate whose removed names the tree right after it still uses and no
    /// longer defines: the target's hits (`target`, by path) for the files the queue has not
    /// changed by then, that tree's own files for the others.
    pub fn settle(
        &self,
        repo: &Repository,
        target_tree: Oid,
        target: &HashMap<String, Vec<Hit>>,
        candidates: &[Candidate],
        patches: &mut [PatchState],
    ) {
        let Ok(target_tree) = repo.find_tree(target_tree) else {
            return;
        };
        let mut cache: HashMap<(String, Oid), Vec<Hit>> = HashMap::new();
        for c in candidates {
            let Some(tree) = tree_after(repo, &patches[c.index]) else {
                continue;
            };
            let Ok(changed) = treediff::changed_files(repo, Some(&target_tree), &tree) else {
                continue;
            };
            let mut now: Vec<(&str, &[Hit])> = Vec::new();
            let changed_paths: HashSet<&str> = changed.iter().map(|ch| ch.path.as_str()).collect();
            for ch in &changed {
                if let Some((id, _)) = ch.new.filter(|_| removed::is_searched(&ch.path)) {
                    cache
                        .entry((ch.path.clone(), id))
                        .or_insert_with(|| self.scan_blob(repo, &ch.path, id));
                }
            }
            for ch in &changed {
                if let Some((id, _)) = ch.new {
                    if let Some(hits) = cache.get(&(ch.path.clone(), id)) {
                        now.push((&ch.path, hits));
                    }
                }
            }
            now.extend(
                target
                    .iter()
                    .filter(|(p, _)| !changed_paths.contains(p.as_str()))
                    .map(|(p, h)| (p.as_str(), h.as_slice())),
            );
            let found: Vec<InUse> = c
                .removed
                .iter()
                .filter_map(|r| self.in_use(r, &now))
                .collect();
            if !found.is_empty() {
                flag(&mut patches[c.index], found);
            }
        }
    }

    /// `r`'s users in a tree (its files' hits), when that tree no longer defines it.
    fn in_use(&self, r: &Removed, files: &[(&str, &[Hit])]) -> Option<InUse> {
        let probe = self.probes.binary_search(&r.name).ok()?;
        let mine = || {
            files
                .iter()
                .flat_map(|(p, hits)| hits.iter().map(move |h| (*p, h)))
                .filter(move |(_, h)| h.probe == probe)
        };
        let defined = mine().any(|(_, h)| {
            if r.kconfig {
                h.what.defines_kconfig
            } else {
                h.what.defines_c
            }
        });
        if defined {
            return None;
        }
        let mut users: Vec<Site> = mine()
            .filter(|(_, h)| {
                if r.kconfig {
                    h.what.uses_kconfig
                } else {
                    h.what.uses_c
                }
            })
            .map(|(p, h)| Site {
                path: p.to_string(),
                line: h.line,
                text: h.text.clone(),
            })
            .collect();
        if users.is_empty() {
            return None;
        }
        users.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        let more = users.len().saturating_sub(MAX_USERS);
        users.truncate(MAX_USERS);
        Some(InUse {
            name: r.name.clone(),
            kind: if r.kconfig {
                "Kconfig symbol"
            } else {
                "function or macro"
            }
            .into(),
            removed_at: format!("{}:{}", r.path, r.line),
            users,
            more,
        })
    }
}

fn tree_after<'r>(repo: &'r Repository, state: &PatchState) -> Option<Tree<'r>> {
    let id = Oid::from_str(state.new_commit.as_deref()?).ok()?;
    repo.find_commit(id).ok()?.tree().ok()
}

/// The verdict, the evidence and a note. The patch stays applied, as with `needs-api`: the
/// port is what the queue says, only its place in the new release is wrong, and whether to
/// keep the users' code, drop the removal or carry a conversion of the users is the
/// maintainer's call; dropping it silently would lose a change the queue wants. A patch
/// already `needs-api` keeps that verdict (one verdict a patch; both mean "applied, review")
/// and gets this evidence too.
fn flag(state: &mut PatchState, found: Vec<InUse>) {
    let names: Vec<String> = found
        .iter()
        .map(|u| {
            let first = &u.users[0];
            let others = u.users.len() - 1 + u.more;
            let also = if others > 0 {
                format!(" and {others} more")
            } else {
                String::new()
            };
            format!("`{}` ({}:{}{also})", u.name, first.path, first.line)
        })
        .collect();
    state.notes.push(format!(
        "removes-in-use: applied ({}), but removes {}, which the tree right after it still uses (a function or macro: the build breaks at this commit; a Kconfig symbol: the code it guards is dead)",
        state.verdict_name(),
        names.join(", ")
    ));
    if matches!(
        state.verdict,
        Some(Verdict::Clean | Verdict::Merged | Verdict::Relocated)
    ) {
        state.verdict = Some(Verdict::RemovesInUse);
    }
    state.in_use = found;
}
