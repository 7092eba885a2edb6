//! After the replay: conflicts whose code the target moved to another file. When most of the
//! lines a region's base shows are gone from the file but turn up together in another file of
//! the target (typically a function moved into a header, renamed or merged on the way), the
//! region stays a conflict, and a refusal says where the code is now, so the change can be
//! carried there by hand. Carrying it automatically would be unsafe: the new place may need
//! includes or declarations the old file had.
//!
//! One fixed-string search (Aho-Corasick) over the target's tree per rebase, for every such region's most
//! distinctive lines, scoped to the regions' top-level folders (the arch folder for arch code)
//! and the include folders, where moved code goes; each hit is scored by how many of its
//! region's lines sit around it.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use git2::{Oid, Repository};

use super::diff3::{self, Segment};
use super::{norm, Refusal};
use crate::rebase::merge::PathStatus;
use crate::rebase::session::PatchState;
use crate::rebase::treescan;

/// Lines shorter than this are too common to locate code by (`return 0;`, `}`).
const DISTINCTIVE: usize = 12;
/// How many of the region's lines are searched for.
const PROBES: usize = 3;
/// Regions of one file looked at.
const MAX_REGIONS: usize = 4;
/// Distinctive lines that must be gone from the file before a region is searched for.
const MIN_GONE: usize = 4;

/// A conflict region that may have moved: its marker line and lines.
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    path: String,
    /// 1-based line of its `<<<<<<<` marker.
    line: usize,
    /// The region's distinctive base lines.
    base: Vec<String>,
    /// The searched ones: gone-from-the-file lines first, longest first.
    probes: Vec<String>,
}

/// The regions of `text` (a diff3 merge result of `path`) that may have moved to another file:
/// most of the distinctive lines their base shows are no longer in the file.
fn candidates(path: &str, text: &str) -> Vec<Candidate> {
    let Some(segments) = diff3::parse(text) else {
        return Vec::new();
    };
    // The target's version of the file: the plain runs and each region's `ours` side.
    let in_file: HashSet<&str> = segments
        .iter()
        .flat_map(|s| match s {
            Segment::Plain(l) => l.iter(),
            Segment::Conflict(r) => r.ours.iter(),
        })
        .map(|l| norm(l))
        .collect();
    let mut out = Vec::new();
    let mut line = 1;
    for seg in &segments {
        let r = match seg {
            Segment::Plain(l) => {
                line += l.len();
                continue;
            }
            Segment::Conflict(r) => r,
        };
        let marker = line;
        line += r.ours.len() + r.base.len() + r.theirs.len() + 4;
        let base = distinctive(&r.base);
        let (mut gone, mut kept): (Vec<&str>, Vec<&str>) =
            base.iter().partition(|l| !in_file.contains(*l));
        // A few deleted lines are an edit; code that moved takes a body with it.
        if gone.len() < MIN_GONE || gone.len() * 2 < base.len() || out.len() == MAX_REGIONS {
            continue;
        }
        gone.sort_by_key(|l| std::cmp::Reverse(l.len()));
        kept.sort_by_key(|l| std::cmp::Reverse(l.len()));
        out.push(Candidate {
            path: path.to_string(),
            line: marker,
            probes: gone
                .into_iter()
                .chain(kept)
                .take(PROBES)
                .map(String::from)
                .collect(),
            base: base.into_iter().map(String::from).collect(),
        });
    }
    out
}

/// The search for conflicts whose code the target has in another file: its probes are
/// searched for in the target's blobs under the regions' scopes, each blob's matches are
/// turned into hits by [`MovedSearch::visit`], then [`MovedSearch::annotate`] adds a refusal
/// saying where the code is now.
pub struct MovedSearch {
    /// (patch, path result, region) of every candidate.
    found: Vec<(usize, usize, Candidate)>,
    scopes: Vec<String>,
    /// The distinct probes of all regions.
    probes: Vec<String>,
}

impl MovedSearch {
    /// None when no conflict region of `patches` looks moved.
    pub fn new(patches: &[PatchState]) -> Option<Self> {
        let mut found: Vec<(usize, usize, Candidate)> = Vec::new();
        for (i, p) in patches.iter().enumerate() {
            for (j, r) in p.paths.iter().enumerate() {
                if r.status != PathStatus::Conflict {
                    continue;
                }
                let Some(text) = &r.merged_text else { continue };
                let text = String::from_utf8_lossy(text);
                found.extend(candidates(&r.path, &text).into_iter().map(|c| (i, j, c)));
            }
        }
        let probes: BTreeSet<&str> = found
            .iter()
            .flat_map(|(_, _, c)| c.probes.iter().map(String::as_str))
            .collect();
        if probes.is_empty() {
            return None;
        }
        let probes = probes.into_iter().map(String::from).collect();
        let scopes: BTreeSet<String> = found.iter().flat_map(|(_, _, c)| scope(&c.path)).collect();
        Some(MovedSearch {
            scopes: scopes.into_iter().collect(),
            found,
            probes,
        })
    }

    /// What to search for.
    pub fn probes(&self) -> &[String] {
        &self.probes
    }

    /// Whether the blob at `path` is searched: it is under one of the regions' scopes.
    pub fn wants(&self, path: &str) -> bool {
        self.scopes.iter().any(|s| path.starts_with(s.as_str()))
    }

    /// Adds to `hits` the lines of `data` (the blob at `path`) holding any probe, given where
    /// the probes occur in it (start, end), in the order an overlapping search reports them.
    pub fn visit(&self, path: &str, data: &[u8], matches: &[(usize, usize)], hits: &mut Vec<Hit>) {
        grep_blob(path, data, matches, hits);
    }

    /// Adds the refusals to `patches` (those [`MovedSearch::new`] saw), given every hit in
    /// the target tree `target`.
    pub fn annotate(
        self,
        repo: &Repository,
        target: Oid,
        hits: &[Hit],
        patches: &mut [PatchState],
    ) {
        let Ok(tree) = repo.find_tree(target) else {
            return;
        };
        for (i, j, c) in self.found {
            if let Some(spot) = locate(repo, &tree, &c, hits) {
                let refusals = &mut patches[i].paths[j].refusals;
                refusals.push(Refusal {
                    path: c.path.clone(),
                    line: c.line,
                    reason: spot.reason(c.base.len()),
                });
                refusals.sort_by_key(|r| r.line);
            }
        }
    }
}

/// The region's lines that can locate code, normalised, each once, in order.
fn distinctive(lines: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    lines
        .iter()
        .map(|l| norm(l))
        .filter(|l| l.len() >= DISTINCTIVE && !l.starts_with("//") && !l.starts_with('*'))
        .filter(|l| seen.insert(*l))
        .collect()
}

/// Where the code is now.
#[derive(Debug, PartialEq)]
struct Spot {
    path: String,
    line: usize,
    /// How many of the region's distinctive lines are around `line`.
    score: usize,
    function: Option<String>,
}

impl Spot {
    fn reason(&self, of: usize) -> String {
        format!(
            "the code this region changes is gone from this file, and {} of its {of} distinctive lines are in the target at {}:{}{}: the target moved it to another file; carry the change there by hand (with any include or declaration it needs)",
            self.score,
            self.path,
            self.line,
            self.function
                .as_ref()
                .map(|f| format!(" (in `{f}`)"))
                .unwrap_or_default()
        )
    }
}

/// The pathspecs searched: the file's top-level folder (its arch folder for arch code) and
/// the include folders.
fn scope(path: &str) -> Vec<String> {
    let mut parts = path.split('/');
    let mut v = vec!["include/".to_string()];
    match (parts.next(), parts.next()) {
        (Some("arch"), Some(a)) => {
            v.push(format!("arch/{a}/"));
        }
        (Some(top), Some(_)) => v.push(format!("{top}/")),
        _ => {}
    }
    v
}

/// One search hit: path, 1-based line, normalised text.
pub type Hit = (String, usize, String);

fn locate(repo: &Repository, tree: &git2::Tree<'_>, c: &Candidate, hits: &[Hit]) -> Option<Spot> {
    let window = c.base.len() * 2 + 10;
    // Each hit file's lines, read once however many hits it has.
    let mut files: std::collections::HashMap<&str, Vec<String>> = Default::default();
    let mut scored: Vec<(usize, &str, usize)> = Vec::new();
    let mut seen = HashSet::new();
    let mine = hits.iter().filter(|(file, _, text)| {
        *file != c.path && c.probes.iter().any(|p| text.contains(p.as_str()))
    });
    for (file, at, _) in mine {
        if !seen.insert((file, at)) {
            continue;
        }
        let lines = files.entry(file).or_insert_with(|| {
            tree.get_path(Path::new(file))
                .ok()
                .and_then(|e| repo.find_blob(e.id()).ok())
                .map(|b| {
                    String::from_utf8_lossy(b.content())
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        });
        let lo = at.saturating_sub(window).min(lines.len());
        let hi = (at + window).min(lines.len());
        let near: HashSet<&str> = lines[lo..hi].iter().map(|l| norm(l)).collect();
        let score = c.base.iter().filter(|l| near.contains(l.as_str())).count();
        scored.push((score, file, *at));
    }
    let top = scored.iter().map(|s| s.0).max()?;
    let mut at_top = scored.into_iter().filter(|s| s.0 == top);
    let (score, file, at) = at_top.next()?;
    let lines = &files[file];
    // One place only (several hits in the same stretch of one file are one place), two
    // distinctive lines at least, and half the region's.
    if at_top.any(|s| s.1 != file) || score < 2 || score * 2 < c.base.len() {
        return None;
    }
    // The hit may be the function's header line itself, its `{` just below.
    let function = [at, at + 2].into_iter().find_map(|end| {
        let before: String = lines[..end.min(lines.len())]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        crate::syntax::c::enclosing(file, &before)
    });
    Some(Spot {
        function,
        path: file.to_string(),
        line: at,
        score,
    })
}

/// The lines of `data` (the blob at `path`) that hold `matches` (probes' spans, ordered by
/// end), as `git grep -F -I` finds them. In process, in the tree scan's one Aho-Corasick pass
/// per file: `git grep` with a few hundred fixed strings took minutes over a distribution
/// queue's folders, this takes seconds, and a file without matches costs nothing more.
fn grep_blob(path: &str, data: &[u8], matches: &[(usize, usize)], hits: &mut Vec<Hit>) {
    // -I: binary files (a NUL in the first 8000 bytes, git's test) are not searched.
    if matches.is_empty() || data[..data.len().min(8000)].contains(&0) {
        return;
    }
    let mut last_line = None;
    // Lines counted so far, up to `counted_to`: matches come in order, so counting is one
    // pass over the file however many lines match.
    let (mut counted_to, mut count) = (0, 0);
    for &(m_start, m_end) in matches {
        let (start, end) = treescan::line_around(data, m_start, m_end);
        if last_line == Some(start) {
            continue;
        }
        last_line = Some(start);
        if start >= counted_to {
            count += data[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        } else {
            count = data[..start].iter().filter(|&&b| b == b'\n').count();
        }
        counted_to = start;
        let number = count + 1;
        let text = String::from_utf8_lossy(&data[start..end]);
        hits.push((path.to_string(), number, norm(&text).to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_the_top_folder_or_arch_and_include() {
        assert_eq!(scope("kernel/entry/common.c"), ["include/", "kernel/"]);
        assert_eq!(scope("arch/x86/kernel/irq.c"), ["include/", "arch/x86/"]);
        assert_eq!(scope("Makefile"), ["include/"]);
    }

    #[test]
    fn only_regions_whose_body_left_the_file_are_candidates() {
        let body = "\tunsigned long work = flags(current);\n\tif (work & WORK_TRACE)\n\t\tsyscall = trace_enter(regs);\n\tif (work & WORK_AUDIT)\n\t\taudit_enter(regs, syscall);\n";
        // The body is gone from the file (ours is empty): a candidate, gone lines probed.
        let moved = format!(
            "int other_function(void);\n<<<<<<< ours\n||||||| base\n{body}=======\n\tif (oob())\n{body}>>>>>>> theirs\n"
        );
        let c = candidates("k/a.c", &moved);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].line, 2);
        assert_eq!(c[0].base.len(), 5);
        assert_eq!(c[0].probes[0], "unsigned long work = flags(current);");
        assert_eq!(c[0].probes.len(), PROBES);
        // The same lines still in the file elsewhere: an edit, not a move.
        let kept = format!("{body}{moved}");
        assert!(candidates("k/a.c", &kept).is_empty());
        // Three lines deleted are an edit too.
        let small = "<<<<<<< ours\n||||||| base\n\tunsigned long work = flags(current);\n\tif (work & WORK_TRACE)\n\t\tsyscall = trace_enter(regs);\n=======\n\tx();\n>>>>>>> theirs\n";
        assert!(candidates("k/a.c", small).is_empty());
    }

    #[test]
    fn short_and_comment_lines_do_not_locate_code() {
        let lines: Vec<String> = [
            "\treturn 0;\n",
            "\t * a long comment line that says a lot\n",
            "\tunsigned long work = READ_ONCE(x);\n",
            "\tunsigned long work = READ_ONCE(x);\n",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(distinctive(&lines), ["unsigned long work = READ_ONCE(x);"]);
    }
}
