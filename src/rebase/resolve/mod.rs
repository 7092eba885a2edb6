//! The conflict-resolution cascade: after git's three-way file merge leaves conflict regions,
//! each region is offered to a fixed sequence of narrow, conservative resolvers. A region is
//! only replaced when one of them is sure; every placement is recorded with its method and
//! confidence so the report can list it for review. Anything ambiguous stays a conflict.
//!
//! Order (the first that accepts a region wins):
//! Before them, one pass over the whole file: `moved`, the target moved a block the patch
//! changed elsewhere in the file → the change is carried to the block's new place.
//! 0. `memory`: a resolution a human recorded for the same conflict (same file, enclosing
//!    declaration and changed lines), adapted when the context moved;
//! 1. `upstream`: the queue's hunk is already in the target's text of the region;
//!    then `drift`: the queue deletes a block (a Kconfig entry by name) the target only added
//!    to → the target's version is deleted;
//! 2. `lists`: both sides edited the same list (Kconfig select/depends, Makefile obj-, #include,
//!    EXPORT_SYMBOL, #define/enum entries) → ordered union, refusing key or value collisions;
//!    then `words`: the sides changed adjacent lines, or other words of one line → merged
//!    finer; then `deleted_anchor`: the queue inserted next to lines the target deleted →
//!    placed where they were, when every name it uses still resolves in the target; then
//!    `includes`: the queue added `#include` lines next to includes the target rewrote →
//!    put before (or after) the target's includes of the region;
//! 3. `reanchor`: one side only inserted lines next to lines the other side rewrote → the
//!    insertion is placed against the rewritten lines by `similar` alignment;
//! 4. `decls`: both sides added whole, different top-level C declarations at the same spot;
//! 5. `append`: both sides appended at the end of the file → the target's lines, then the
//!    queue's.

pub mod append;
pub mod attribute;
pub mod decls;
pub mod deleted_anchor;
pub mod diff3;
pub mod drift;
pub mod elsewhere;
pub mod includes;
pub mod isolate;
pub mod kconfig_entries;
pub mod lists;
pub mod memory;
pub mod moved;
pub mod names;
pub mod reanchor;
#[cfg(test)]
mod testing;
pub mod upstream;
pub mod words;

use serde::{Deserialize, Serialize};

use crate::syntax::defs::{self, Lookup};
pub use diff3::{Region, Segment};

/// The stage that placed a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A resolution recorded on an earlier `--continue` for the same conflict.
    Recorded,
    /// The target moved the block the patch changed; the change went to its new place.
    MovedBlock,
    /// The queue's change to this region is already in the target: the target's text is kept.
    HunkUpstream,
    /// Ordered union of two edits of one list.
    ListUnion,
    /// An insertion re-placed against context the other side rewrote.
    #[serde(rename = "re-anchor")]
    Reanchor,
    /// Two different whole top-level C declarations added at the same spot.
    Declarations,
    /// Both sides appended at the end of the file: the target's lines, then the queue's.
    Append,
    /// A patch file's hunk placed by its exact text at another line (no old tree).
    HunkOffset,
    /// A patch file's hunk placed with trimmed context inside its named function or entry.
    HunkAnchored,
    /// The queue deletes a block the target only added to: the target's version is deleted.
    DeletionDrift,
    /// Adjacent lines, or different words of one line, changed by each side: both kept.
    WordMerge,
    /// The queue's insertion placed where the lines it was next to were, which the target
    /// deleted (every name it uses resolving in the target).
    DeletedAnchor,
    /// A hunk of a file the target split or moved into a folder, placed in the one file new
    /// since the base that holds its lines.
    HunkFollowed,
    /// `#include` lines the queue added next to includes the target rewrote, put with the
    /// target's includes.
    Includes,
    /// A file the target removed with nothing of it left: the patch's change to it dropped.
    FileGone,
    /// A Kconfig file merged entry by entry: the patch's change to an entry went to the
    /// target's entry of that name, wherever the target moved it.
    KconfigEntry,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Recorded => "recorded",
            Method::MovedBlock => "moved-block",
            Method::HunkUpstream => "hunk-upstream",
            Method::ListUnion => "list-union",
            Method::Reanchor => "re-anchor",
            Method::Declarations => "declarations",
            Method::Append => "append",
            Method::HunkOffset => "hunk-offset",
            Method::HunkAnchored => "hunk-anchored",
            Method::DeletionDrift => "deletion-drift",
            Method::WordMerge => "word-merge",
            Method::DeletedAnchor => "deleted-anchor",
            Method::HunkFollowed => "hunk-followed",
            Method::Includes => "includes",
            Method::FileGone => "file-gone",
            Method::KconfigEntry => "kconfig-entry",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// Mechanical and checked (exact text, no collisions): review is a formality.
    High,
    /// Sound by construction but context-dependent: read it.
    Medium,
}

/// One auto-resolved conflict region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Placement {
    pub path: String,
    /// 1-based line of the region in the result.
    pub line: usize,
    pub method: Method,
    pub confidence: Confidence,
    /// What was decided, in one sentence.
    pub detail: String,
    /// The lines that replaced the conflict region.
    pub text: String,
}

/// Why a region stayed a conflict, when a resolver recognised it but refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refusal {
    pub path: String,
    /// 1-based line of the region's `<<<<<<<` marker in the conflicted file.
    pub line: usize,
    pub reason: String,
}

/// What a resolver says about one region.
pub enum Decision {
    /// Not this resolver's kind of region.
    Pass,
    /// Recognised, but unsafe: the region stays a conflict, with this reason.
    Refuse(String),
    Resolve {
        lines: Vec<String>,
        confidence: Confidence,
        detail: String,
    },
}

/// The cascade's result for one file.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The fully resolved text, when every region was resolved.
    pub text: Option<Vec<u8>>,
    /// When only some regions were resolved: the text with those placed and the others still
    /// between their diff3 markers, as the user gets it to finish by hand.
    pub marked: Option<Vec<u8>>,
    pub placements: Vec<Placement>,
    pub refusals: Vec<Refusal>,
}

/// Runs the cascade on a diff3-style merge result (`git merge-file --diff3`), with the
/// repository's recorded resolutions when there are any.
pub fn cascade(path: &str, merged: &[u8], memory: Option<&memory::Memory>) -> Outcome {
    cascade_in(path, merged, memory, None, None)
}

/// [`cascade`] with the target: `known` refuses any placement whose new lines name a
/// function, macro or Kconfig symbol the target (with the queue) does not define; `target`
/// serves the stages that look names up in the target tree.
pub fn cascade_in(
    path: &str,
    merged: &[u8],
    memory: Option<&memory::Memory>,
    known: Option<&dyn Lookup>,
    target: Option<&names::Target<'_>>,
) -> Outcome {
    let Ok(text) = std::str::from_utf8(merged) else {
        return Outcome::default();
    };
    let Some(mut segments) = diff3::parse(text) else {
        return Outcome::default();
    };
    let original: Vec<&str> = text.split_inclusive('\n').collect();
    // Lengths in the diff3 text, before moved blocks change the plain runs.
    let shown_len: Vec<usize> = segments
        .iter()
        .map(|seg| match seg {
            Segment::Plain(l) => l.len(),
            Segment::Conflict(r) => r.ours.len() + r.base.len() + r.theirs.len() + 4,
        })
        .collect();
    // A stage that fails on this input places nothing: the regions stay conflicts.
    let moves = isolate::run("moved-block", || moved::find(path, &segments)).unwrap_or_default();
    let mut by_offset: Vec<&moved::Move> = moves.iter().collect();
    by_offset.sort_by_key(|m| std::cmp::Reverse((m.segment, m.offset)));
    for m in by_offset {
        if let Segment::Plain(lines) = &mut segments[m.segment] {
            lines.splice(m.offset..m.offset + m.len, m.lines.iter().cloned());
        }
    }
    // Where each segment starts in the result, to number the moved blocks' new places.
    let mut starts = vec![0; segments.len()];
    let mut moved_placements = Vec::new();
    let mut out = Outcome::default();
    let mut result: Vec<String> = Vec::new();
    // The same, with refused regions kept between their markers.
    let mut marked: Vec<String> = Vec::new();
    let mut all = true;
    // Line in the diff3 text, where the conflict hunks shown to the user are numbered.
    let mut marked_line = 1;
    for (k, seg) in segments.iter().enumerate() {
        starts[k] = result.len();
        match seg {
            Segment::Plain(lines) => {
                marked_line += shown_len[k];
                result.extend(lines.iter().cloned());
                marked.extend(lines.iter().cloned());
            }
            Segment::Conflict(region) => {
                let line = result.len() + 1;
                let shown_at = marked_line;
                let len = shown_len[k];
                marked_line += len;
                if let Some(m) = moves.iter().find(|m| m.region == k) {
                    moved_placements.push((out.placements.len(), m));
                    out.placements.push(Placement {
                        path: path.to_string(),
                        line,
                        method: Method::MovedBlock,
                        confidence: m.confidence,
                        detail: format!(
                            "the target moved `{}` ({} lines) elsewhere in the file; the patch's change to it is applied there",
                            m.head, m.len
                        ),
                        text: m.lines.concat(),
                    });
                    marked.extend(region.ours.iter().cloned());
                    result.extend(region.ours.iter().cloned());
                    continue;
                }
                let ctx = Context {
                    path,
                    before: before_lines(&segments, k),
                    after: after_lines(&segments, k),
                    at_end: segments[k + 1..].iter().all(|s| match s {
                        Segment::Plain(l) => blank(l),
                        Segment::Conflict(_) => false,
                    }),
                    target,
                };
                match resolve_region(&ctx, region, memory, known) {
                    (Some((method, lines, confidence, detail)), _) => {
                        out.placements.push(Placement {
                            path: path.to_string(),
                            line,
                            method,
                            confidence,
                            detail,
                            text: lines.concat(),
                        });
                        marked.extend(lines.iter().cloned());
                        result.extend(lines);
                    }
                    (None, reasons) => {
                        all = false;
                        // Numbered as in the text the user gets: the one with placed regions.
                        let at = marked.len() + 1;
                        for reason in reasons {
                            out.refusals.push(Refusal {
                                path: path.to_string(),
                                line: at,
                                reason,
                            });
                        }
                        result.extend(region.ours.iter().cloned());
                        let from = shown_at - 1;
                        marked.extend(original[from..from + len].iter().map(|l| l.to_string()));
                    }
                }
            }
        }
    }
    for (i, m) in moved_placements {
        let earlier: isize = moves
            .iter()
            .filter(|o| o.segment == m.segment && o.offset < m.offset)
            .map(|o| o.lines.len() as isize - o.len as isize)
            .sum();
        out.placements[i].line = (starts[m.segment] + m.offset + 1).saturating_add_signed(earlier);
    }
    if all {
        out.text = Some(result.concat().into_bytes());
    } else if !out.placements.is_empty() {
        out.marked = Some(marked.concat().into_bytes());
    }
    out
}

/// What a resolver may know about a region's surroundings.
pub struct Context<'a> {
    pub path: &'a str,
    /// The target-side text before the region (for finding the enclosing declaration).
    pub before: String,
    /// The target-side text after the region (with `before`, the whole file around it).
    pub after: String,
    /// Nothing but blank lines follows the region: it is at the end of the file.
    pub at_end: bool,
    /// The target tree, where placed lines' names are looked up (none in unit tests).
    pub target: Option<&'a names::Target<'a>>,
}

fn before_lines(segments: &[Segment], k: usize) -> String {
    let mut s = String::new();
    for seg in &segments[..k] {
        match seg {
            Segment::Plain(l) => s.extend(l.iter().map(String::as_str)),
            Segment::Conflict(r) => s.extend(r.ours.iter().map(String::as_str)),
        }
    }
    s
}

fn after_lines(segments: &[Segment], k: usize) -> String {
    before_lines(&segments[k + 1..], segments.len() - k - 1)
}

type Resolved = (Method, Vec<String>, Confidence, String);

/// One stage of the cascade.
type Stage = fn(&Context<'_>, &Region) -> Decision;

fn resolve_region(
    ctx: &Context<'_>,
    region: &Region,
    memory: Option<&memory::Memory>,
    known: Option<&dyn Lookup>,
) -> (Option<Resolved>, Vec<String>) {
    // A human's earlier decision for this very conflict comes before any heuristic, and a
    // recorded resolution that no longer fits is a refusal the user must see.
    if let Some(memory) = memory {
        let decision = isolate::run(Method::Recorded.as_str(), || memory.resolve(ctx, region))
            .unwrap_or_else(Decision::Refuse);
        match decision {
            Decision::Pass => {}
            Decision::Refuse(reason) => {
                return (
                    None,
                    vec![format!("{}: {reason}", Method::Recorded.as_str())],
                )
            }
            Decision::Resolve {
                lines,
                confidence,
                detail,
            } => return (Some((Method::Recorded, lines, confidence, detail)), vec![]),
        }
    }
    let stages: [(Method, Stage); 9] = [
        (Method::HunkUpstream, upstream::resolve),
        (Method::DeletionDrift, drift::resolve),
        (Method::ListUnion, lists::resolve),
        (Method::WordMerge, words::resolve),
        (Method::DeletedAnchor, deleted_anchor::resolve),
        (Method::Includes, includes::resolve),
        (Method::Reanchor, reanchor::resolve),
        (Method::Declarations, decls::resolve),
        (Method::Append, append::resolve),
    ];
    let mut reasons = Vec::new();
    for (method, stage) in stages {
        let decision =
            isolate::run(method.as_str(), || stage(ctx, region)).unwrap_or_else(Decision::Refuse);
        match decision {
            Decision::Pass => {}
            Decision::Refuse(reason) => {
                // A refusal is final: a later, looser stage must not overrule it.
                reasons.push(format!("{}: {reason}", method.as_str()));
                return (None, reasons);
            }
            Decision::Resolve {
                lines,
                confidence,
                detail,
            } => {
                if let Some(reason) =
                    known.and_then(|k| undefined_in_placement(ctx, region, &lines, k))
                {
                    reasons.push(format!("{}: {reason}", method.as_str()));
                    return (None, reasons);
                }
                return (Some((method, lines, confidence, detail)), reasons);
            }
        }
    }
    (None, reasons)
}

/// Why a placement must not stand: its new lines (those not already the target's) name
/// functions, macros or Kconfig symbols the target does not define.
fn undefined_in_placement(
    ctx: &Context<'_>,
    region: &Region,
    lines: &[String],
    known: &dyn Lookup,
) -> Option<String> {
    let new: Vec<&str> = lines
        .iter()
        .filter(|l| !region.ours.iter().any(|o| norm(o) == norm(l)))
        .map(|l| l.trim_end_matches('\n'))
        .collect();
    undefined_names(ctx.path, &new, known)
}

/// Why lines about to be placed in `path` must not be: they name functions, macros or
/// Kconfig symbols the target does not define.
pub(crate) fn undefined_names(path: &str, new: &[&str], known: &dyn Lookup) -> Option<String> {
    let (uses, _) = defs::lines_refs(path, "", new);
    let mut names: Vec<String> = Vec::new();
    for (name, kind, _) in uses {
        if !matches!(kind, defs::UseKind::Call | defs::UseKind::Kconfig) || names.contains(&name) {
            continue;
        }
        let used = defs::Use {
            name: name.clone(),
            kind,
            path: path.to_string(),
            line: 0,
        };
        if known.missing(&used) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "the placed lines name `{}`, which the target does not define (renamed or removed upstream)",
        names.join("`, `")
    ))
}

/// Trimmed text of a line, for comparisons that ignore trailing whitespace and indentation.
pub(crate) fn norm(line: &str) -> &str {
    line.trim()
}

/// Whether a line says something: an added `}`, blank line or `return;` proves nothing.
pub(crate) fn meaningful(line: &str) -> bool {
    line.chars().filter(|c| c.is_alphanumeric()).count() >= 3
}

/// Only blank lines (or none).
pub(crate) fn blank(lines: &[String]) -> bool {
    lines.iter().all(|l| l.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELECTS: &str = "config A\n<<<<<<< ours\n\tselect UP\n||||||| base\n=======\n\tselect Q\n>>>>>>> theirs\n\thelp\n";

    #[test]
    fn resolves_a_whole_file_and_records_the_placement() {
        let out = cascade("arch/x86/Kconfig", SELECTS.as_bytes(), None);
        assert_eq!(
            String::from_utf8(out.text.unwrap()).unwrap(),
            "config A\n\tselect UP\n\tselect Q\n\thelp\n"
        );
        assert_eq!(out.placements.len(), 1);
        assert_eq!(out.placements[0].line, 2);
        assert_eq!(out.placements[0].method, Method::ListUnion);
    }

    #[test]
    fn a_moved_block_gets_the_change_and_the_region_takes_the_deletion() {
        let text = "int a(void)\n{\n\tone();\n\ttwo();\n\tthree();\n}\n\n<<<<<<< ours\n||||||| base\nint a(void)\n{\n\tone();\n\ttwo();\n\tthree();\n}\n\n=======\nint a(void)\n{\n\tone();\n\ttwo();\n\thook();\n\tthree();\n}\n\n>>>>>>> theirs\nint b;\n";
        let out = cascade("k.c", text.as_bytes(), None);
        assert_eq!(
            String::from_utf8(out.text.unwrap()).unwrap(),
            "int a(void)\n{\n\tone();\n\ttwo();\n\thook();\n\tthree();\n}\n\nint b;\n"
        );
        assert_eq!(out.placements.len(), 1);
        assert_eq!(out.placements[0].method, Method::MovedBlock);
        assert_eq!(
            out.placements[0].line, 1,
            "numbered at the block's new place"
        );
    }

    #[test]
    fn one_refused_region_keeps_the_file_in_conflict() {
        let text = format!(
            "{SELECTS}<<<<<<< ours\n\tselect X if Y\n||||||| base\n=======\n\tselect X\n>>>>>>> theirs\n"
        );
        let out = cascade("arch/x86/Kconfig", text.as_bytes(), None);
        assert!(out.text.is_none());
        assert_eq!(out.refusals.len(), 1);
        // The resolved region is placed in the text the user gets; the refused one keeps its
        // markers and is numbered where its `<<<<<<<` line lands there.
        let marked = String::from_utf8(out.marked.unwrap()).unwrap();
        assert_eq!(
            marked,
            "config A\n\tselect UP\n\tselect Q\n\thelp\n<<<<<<< ours\n\tselect X if Y\n||||||| base\n=======\n\tselect X\n>>>>>>> theirs\n"
        );
        assert_eq!(out.refusals[0].line, 5);
        assert_eq!(marked.lines().nth(4), Some("<<<<<<< ours"));
        assert!(out.refusals[0]
            .reason
            .starts_with("list-union: both sides set `X`"));
    }
}
