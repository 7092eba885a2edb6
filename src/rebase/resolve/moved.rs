//! Stage: the target moved a block (most often a whole function) elsewhere in the same file,
//! and the patch changed lines inside it. Git sees "ours deleted these lines, theirs edited
//! them" and conflicts; the block is still there, verbatim, at its new place. The patch's
//! change is carried to that place and the region takes the target's side (the deletion).
//!
//! Unlike the other stages this one edits the file outside the region, so it runs as a pass
//! over the whole file before the region-by-region cascade. It only acts when the block is
//! found exactly once (whitespace aside) and the change merges into it without overlap.
//! When the block itself was broken up (the target inserted lines into it while moving it)
//! but the patch only inserts lines at one point, the lines around that point are enough:
//! found together exactly once, they take the insertion, as `patch` places a hunk whose
//! context moved.

use super::diff3::{Region, Segment};
use similar::{Algorithm, DiffOp};

use super::{norm, Confidence};

/// A block that moved: region `region`'s change goes into plain segment `segment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub region: usize,
    pub segment: usize,
    /// Where the block starts in that segment, and its length there.
    pub offset: usize,
    pub len: usize,
    /// The block with the patch's change.
    pub lines: Vec<String>,
    pub confidence: Confidence,
    /// The block's first line, to name it.
    pub head: String,
}

/// Lines a block needs to be recognised: a few `}` and blank lines would match anywhere.
const MIN_MEANINGFUL: usize = 3;
/// Lines on each side of an insertion point that locate it when the block is not found whole.
const ANCHOR: usize = 3;

fn meaningful(lines: &[String]) -> usize {
    lines.iter().filter(|l| super::meaningful(l)).count()
}

/// `base` = pre + block + post, `ours` = pre + post: the block ours deleted, as (pre, post).
fn deleted_block(r: &Region) -> Option<(usize, usize)> {
    let pre = r
        .base
        .iter()
        .zip(&r.ours)
        .take_while(|(a, b)| a == b)
        .count();
    let rest = r.ours.len() - pre;
    let post = r.base[pre..]
        .iter()
        .rev()
        .zip(r.ours[pre..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(rest);
    (pre + post == r.ours.len() && r.base.len() > r.ours.len()).then_some((pre, post))
}

/// Every moved block the file's conflict regions can be carried to.
pub fn find(path: &str, segments: &[Segment]) -> Vec<Move> {
    let mut out: Vec<Move> = Vec::new();
    for (k, seg) in segments.iter().enumerate() {
        let Segment::Conflict(r) = seg else { continue };
        let Some((pre, post)) = deleted_block(r) else {
            continue;
        };
        let block = &r.base[pre..r.base.len() - post];
        if meaningful(block) < MIN_MEANINGFUL {
            continue;
        }
        // The patch must leave the lines around the block as they were.
        if r.theirs.len() < pre + post
            || r.theirs[..pre] != r.base[..pre]
            || r.theirs[r.theirs.len() - post..] != r.base[r.base.len() - post..]
        {
            continue;
        }
        let changed = &r.theirs[pre..r.theirs.len() - post];
        if changed == block {
            continue;
        }
        let Some(Placed {
            segment,
            offset,
            len,
            lines: merged,
            confidence,
        }) = locate(path, segments, block, changed)
        else {
            continue;
        };
        if out
            .iter()
            .any(|m| m.segment == segment && m.offset == offset)
        {
            continue;
        }
        out.push(Move {
            region: k,
            segment,
            offset,
            len,
            lines: merged,
            confidence,
            head: block
                .iter()
                .find(|l| !norm(l).is_empty())
                .map(|l| norm(l).to_string())
                .unwrap_or_default(),
        });
    }
    out
}

/// The target's text of the file, run by run: (segment, lines, whether it is outside any
/// conflict). A block is only placed in an unconflicted run, and must appear nowhere else.
fn target_texts(segments: &[Segment]) -> impl Iterator<Item = (usize, &[String], bool)> {
    segments.iter().enumerate().map(|(j, seg)| match seg {
        Segment::Plain(l) => (j, l.as_slice(), true),
        Segment::Conflict(r) => (j, r.ours.as_slice(), false),
    })
}

/// Where a moved block is now and what it becomes with the patch's change.
struct Placed {
    segment: usize,
    offset: usize,
    len: usize,
    lines: Vec<String>,
    confidence: Confidence,
}

/// The block verbatim (whitespace aside) at one place; else, for a single C function, the
/// one function of that name, which the target may have changed too: the patch's change is
/// then merged into it line by line, and refused where the two changes touch.
fn locate(
    path: &str,
    segments: &[Segment],
    block: &[String],
    changed: &[String],
) -> Option<Placed> {
    if let Some((segment, offset)) = unique_place(segments, block) {
        let Segment::Plain(lines) = &segments[segment] else {
            return None;
        };
        let found = &lines[offset..offset + block.len()];
        return Some(Placed {
            segment,
            offset,
            len: block.len(),
            lines: carry(block, found, changed),
            confidence: if found == block {
                Confidence::High
            } else {
                Confidence::Medium
            },
        });
    }
    if let Some(placed) = insertion_anchor(segments, block, changed) {
        return Some(placed);
    }
    let (lead, core) = function_core(block)?;
    let trail = block.len() - lead - core.len();
    // The patch must leave the blank lines around the function alone.
    if changed.len() < lead + trail
        || changed[..lead] != block[..lead]
        || changed[changed.len() - trail..] != block[block.len() - trail..]
    {
        return None;
    }
    let changed_core = &changed[lead..changed.len() - trail];
    let name = function_name(path, core)?;
    let (segment, offset, len) = unique_function(path, segments, &name)?;
    let Segment::Plain(lines) = &segments[segment] else {
        return None;
    };
    let merged = super::memory::merge3(core, &lines[offset..offset + len], changed_core)?;
    Some(Placed {
        segment,
        offset,
        len,
        lines: merged,
        confidence: Confidence::Medium,
    })
}

/// `changed` is `block` with lines inserted at one point: the lines around that point (up to
/// [`ANCHOR`] each side, meaningful ones on both sides) found together exactly once in the
/// file's unconflicted text, with the insertion between them.
fn insertion_anchor(segments: &[Segment], block: &[String], changed: &[String]) -> Option<Placed> {
    // Where the lines go: after the longest run of unchanged lines before them.
    let (_, pre) = super::reanchor::insertion(block, changed)?;
    let inserted = &changed[pre..pre + changed.len() - block.len()];
    let lo = pre.saturating_sub(ANCHOR);
    let hi = (pre + ANCHOR).min(block.len());
    let (before, after) = (&block[lo..pre], &block[pre..hi]);
    if meaningful(before) == 0
        || meaningful(after) == 0
        || meaningful(before) + meaningful(after) < MIN_MEANINGFUL
        || meaningful(inserted) == 0
    {
        return None;
    }
    let window = &block[lo..hi];
    let (segment, offset) = unique_place(segments, window)?;
    let Segment::Plain(lines) = &segments[segment] else {
        return None;
    };
    let mut placed = lines[offset..offset + window.len()].to_vec();
    placed.splice(pre - lo..pre - lo, inserted.iter().cloned());
    Some(Placed {
        segment,
        offset,
        len: window.len(),
        lines: placed,
        confidence: Confidence::Medium,
    })
}

/// A block that is one C function in kernel style (header, `{` and `}` in column 0), with
/// blank lines around it: (leading blank lines, the function's lines).
fn function_core(block: &[String]) -> Option<(usize, &[String])> {
    let lead = block.iter().take_while(|l| l.trim().is_empty()).count();
    let trail = block
        .iter()
        .rev()
        .take_while(|l| l.trim().is_empty())
        .count();
    if lead + trail >= block.len() {
        return None;
    }
    let core = &block[lead..block.len() - trail];
    let opens = core.iter().filter(|l| l.starts_with('{')).count();
    let closes = core.iter().filter(|l| l.starts_with('}')).count();
    let last = core.last()?;
    (opens == 1
        && closes == 1
        && last.starts_with('}')
        && !core[0].starts_with(char::is_whitespace))
    .then_some((lead, core))
}

/// The name of the function a core block defines, from its header.
fn function_name(path: &str, core: &[String]) -> Option<String> {
    let open = core.iter().position(|l| l.starts_with('{'))?;
    crate::syntax::c::enclosing(path, &core[..=open].concat())
}

/// The one function named `name` in the file's unconflicted text: (segment, offset, length
/// from its header to its closing `}`), `None` when there is not exactly one.
fn unique_function(path: &str, segments: &[Segment], name: &str) -> Option<(usize, usize, usize)> {
    let call = format!("{name}(");
    let mut found = None;
    for (j, lines, plain) in target_texts(segments) {
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with(char::is_whitespace) || !line.contains(&call) {
                continue;
            }
            let Some(open) = lines[i..].iter().position(|l| l.starts_with('{')) else {
                continue;
            };
            // A header runs to its `{` without ending a statement first.
            if lines[i..i + open]
                .iter()
                .any(|l| l.trim_end().ends_with(';'))
            {
                continue;
            }
            let Some(close) = lines[i + open..].iter().position(|l| l.starts_with('}')) else {
                continue;
            };
            let len = open + close + 1;
            if function_name(path, &lines[i..i + len]).as_deref() != Some(name) {
                continue;
            }
            if !plain || found.is_some() {
                return None;
            }
            found = Some((j, i, len));
        }
    }
    found
}

/// The patch's change from `block` to `changed`, applied to `found` (the same lines as
/// `block` but for whitespace): unchanged lines keep the target's spelling.
fn carry(block: &[String], found: &[String], changed: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for op in similar::capture_diff_slices(Algorithm::Myers, block, changed) {
        match op {
            DiffOp::Equal { old_index, len, .. } => {
                out.extend_from_slice(&found[old_index..old_index + len])
            }
            other => {
                let (_, _, new) = other.as_tag_tuple();
                out.extend_from_slice(&changed[new]);
            }
        }
    }
    out
}

/// The one place, in the file's unconflicted text, where `block` is (whitespace aside); `None`
/// when it is nowhere, more than once, or also on the target's side of a conflict.
fn unique_place(segments: &[Segment], block: &[String]) -> Option<(usize, usize)> {
    let want: Vec<&str> = block.iter().map(|l| norm(l)).collect();
    let hits = |lines: &[String]| -> Vec<usize> {
        let have: Vec<&str> = lines.iter().map(|l| norm(l)).collect();
        if have.len() < want.len() {
            return Vec::new();
        }
        (0..=have.len() - want.len())
            .filter(|&i| have[i..i + want.len()] == want[..])
            .collect()
    };
    let mut found = None;
    for (j, lines, plain) in target_texts(segments) {
        for i in hits(lines) {
            if !plain || found.is_some() {
                return None;
            }
            found = Some((j, i));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::diff3;
    use super::*;

    const MOVED: &str = "static void beta(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\td->count++;\n\tkick(d);\n\tspin_unlock(&d->lock);\n}\n\nstatic int alpha(void)\n{\n\treturn 1;\n}\n\n<<<<<<< ours\n||||||| base\nstatic void beta(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\td->count++;\n\tkick(d);\n\tspin_unlock(&d->lock);\n}\n\n=======\nstatic void beta(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\td->count++;\n\toob_notify(d);\n\tkick(d);\n\tspin_unlock(&d->lock);\n}\n\n>>>>>>> theirs\nint gamma(void)\n{\n\treturn alpha();\n}\n";

    #[test]
    fn an_insertion_follows_its_anchor_lines_when_the_block_was_broken_up() {
        // kbuild's Makefile: upstream moved the M= block and put other lines inside the old
        // run; the patch inserts a check right after it.
        let text = "ifeq (\"$(origin C)\", \"command line\")\n  KBUILD_CHECKSRC = $(C)\nendif\n\nexport KBUILD_CHECKSRC\n\nifeq (\"$(origin M)\", \"command line\")\n  KBUILD_EXTMOD := $(M)\nendif\n\n$(if $(word 2, $(KBUILD_EXTMOD)), \\\n\t$(error multiple))\n\n<<<<<<< ours\n||||||| base\nifeq (\"$(origin C)\", \"command line\")\n  KBUILD_CHECKSRC = $(C)\nendif\n\nifeq (\"$(origin M)\", \"command line\")\n  KBUILD_EXTMOD := $(M)\nendif\n\n$(if $(word 2, $(KBUILD_EXTMOD)), \\\n\t$(error multiple))\n\nexport KBUILD_CHECKSRC KBUILD_EXTMOD\n=======\nifeq (\"$(origin C)\", \"command line\")\n  KBUILD_CHECKSRC = $(C)\nendif\n\nifeq (\"$(origin M)\", \"command line\")\n  KBUILD_EXTMOD := $(M)\nendif\n\nifdef SUBDIRS\n  $(error SUBDIRS was removed)\nendif\n\n$(if $(word 2, $(KBUILD_EXTMOD)), \\\n\t$(error multiple))\n\nexport KBUILD_CHECKSRC KBUILD_EXTMOD\n>>>>>>> theirs\nrest\n";
        let segments = diff3::parse(text).unwrap();
        let moves = find("Makefile", &segments);
        assert_eq!(moves.len(), 1, "{moves:?}");
        let m = &moves[0];
        assert_eq!(m.confidence, Confidence::Medium);
        assert_eq!(
            m.lines.concat(),
            "  KBUILD_EXTMOD := $(M)\nendif\n\nifdef SUBDIRS\n  $(error SUBDIRS was removed)\nendif\n\n$(if $(word 2, $(KBUILD_EXTMOD)), \\\n\t$(error multiple))\n\n"
        );
        // The same anchor lines twice in the file: no place is sure.
        let twice = text.replacen("rest\n", "ifeq (\"$(origin M)\", \"command line\")\n  KBUILD_EXTMOD := $(M)\nendif\n\n$(if $(word 2, $(KBUILD_EXTMOD)), \\\n\t$(error multiple))\n\n", 1);
        assert!(find("Makefile", &diff3::parse(&twice).unwrap()).is_empty());
    }

    #[test]
    fn carries_the_change_into_the_moved_function() {
        let segments = diff3::parse(MOVED).unwrap();
        let moves = find("k.c", &segments);
        assert_eq!(moves.len(), 1);
        let m = &moves[0];
        assert_eq!((m.region, m.segment, m.offset, m.len), (1, 0, 0, 8));
        assert!(m.lines.contains(&"\toob_notify(d);\n".to_string()));
        assert_eq!(m.lines[4], "\toob_notify(d);\n");
        assert_eq!(m.confidence, Confidence::High);
        assert_eq!(m.head, "static void beta(struct dev *d)");
    }

    #[test]
    fn a_moved_function_the_target_also_changed_gets_the_change_merged() {
        // Upstream moved beta up and renamed its unlock call; the patch added a line far
        // enough from the rename.
        let changed_upstream = MOVED.replacen(
            "\tkick(d);\n\tspin_unlock(&d->lock);\n}\n\nstatic int alpha",
            "\tkick(d);\n\tsettle(d);\n\tspin_unlock(&d->lock);\n}\n\nstatic int alpha",
            1,
        );
        let segments = diff3::parse(&changed_upstream).unwrap();
        let moves = find("k.c", &segments);
        assert_eq!(moves.len(), 1);
        let text = moves[0].lines.concat();
        assert!(
            text.contains("\td->count++;\n\toob_notify(d);\n\tkick(d);\n\tsettle(d);\n"),
            "{text}"
        );
        assert_eq!(moves[0].confidence, Confidence::Medium);
        // The target changed the very line next to the patch's: refused.
        let clash = MOVED.replacen(
            "\td->count++;\n\tkick(d);\n",
            "\td->count += 2;\n\tkick(d);\n",
            1,
        );
        assert!(find("k.c", &diff3::parse(&clash).unwrap()).is_empty());
    }

    #[test]
    fn a_block_found_twice_is_refused() {
        let twice = MOVED.replace(
            "static int alpha(void)",
            "static void beta(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\td->count++;\n\tkick(d);\n\tspin_unlock(&d->lock);\n}\n\nstatic int alpha(void)",
        );
        assert!(find("k.c", &diff3::parse(&twice).unwrap()).is_empty());
    }

    #[test]
    fn the_targets_whitespace_is_kept_and_a_missing_block_passes() {
        // The moved copy was reindented: found by its text, the patch's line lands in it and
        // the other lines keep the target's spelling.
        let reindented = MOVED.replacen("\tkick(d);\n", "        kick(d);\n", 1);
        let moves = find("k.c", &diff3::parse(&reindented).unwrap());
        assert_eq!(moves.len(), 1);
        assert_eq!(moves[0].lines[4], "\toob_notify(d);\n");
        assert_eq!(moves[0].lines[5], "        kick(d);\n");
        assert_eq!(moves[0].confidence, Confidence::Medium);
        // The block is not in the file any more: nothing to carry.
        let gone = MOVED.replacen("\tkick(d);\n", "\tkick_all(d);\n", 1);
        assert!(find("k.c", &diff3::parse(&gone).unwrap()).is_empty());
    }
}
