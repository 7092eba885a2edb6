//! Hunk placement without the old tree: a patch file whose pre-images are not in the
//! repository (a series made for a release never imported, a traditional diff without
//! `index` lines) is applied hunk by hunk to the target's files. Each hunk goes, in order:
//! 1. where its whole text (context and removed lines) is, exactly: at the expected line, or
//!    the single such place in the file (several: the one inside the hunk's named function
//!    or entry, else the nearest, read with care);
//! 2. nowhere when its whole result is already there (upstream has the change);
//! 3. inside its enclosing C function or Kconfig entry, found by name in the target, with
//!    outer context trimmed, when that trimmed text occurs exactly once there; or, for a
//!    hunk that removes lines, where its changed block occurs exactly once in the file;
//! 4. otherwise it is a conflict: a marked region at its best guess (what the patch expected,
//!    what it wants), for a person to place.
//!
//! Every placement but an exact one at the expected line is listed with its confidence.

pub mod anchor;
pub mod tree;

use crate::queue::unidiff::Hunk;
use crate::rebase::resolve::Confidence;
use anchor::Anchor;

/// How one hunk was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Whole text at the expected line.
    Exact,
    /// Whole text, at another line.
    Offset,
    /// The hunk's result is already in the file: nothing changed.
    AlreadyThere,
    /// Trimmed context inside the named function/entry, or its changed block found once.
    Anchored,
}

#[derive(Debug, Clone)]
pub struct Placed {
    pub hunk: usize,
    pub how: How,
    pub confidence: Confidence,
    /// 1-based line in the result.
    pub line: usize,
    pub detail: String,
    /// The lines the hunk put there.
    pub text: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Unplaced {
    pub hunk: usize,
    /// 1-based line of its `<<<<<<<` marker in the result.
    pub line: usize,
    pub reason: String,
}

/// A file with the patch's hunks placed.
#[derive(Debug, Clone)]
pub struct FilePlacement {
    /// The new text; with a marked region per unplaced hunk.
    pub text: Vec<u8>,
    pub placed: Vec<Placed>,
    pub unplaced: Vec<Unplaced>,
}

/// Conflict marker labels.
pub struct Markers<'a> {
    pub ours: &'a str,
    pub base: &'a str,
    pub theirs: &'a str,
}

fn find_all(lines: &[Vec<u8>], needle: &[&[u8]], from: usize, to: usize) -> Vec<usize> {
    if needle.is_empty() || to < needle.len() {
        return Vec::new();
    }
    (from..=to - needle.len())
        .filter(|&s| {
            lines[s..s + needle.len()]
                .iter()
                .zip(needle)
                .all(|(a, b)| a.as_slice() == *b)
        })
        .collect()
}

fn non_blank(lines: &[&[u8]]) -> usize {
    lines.iter().filter(|l| !l.trim_ascii().is_empty()).count()
}

/// What stands at a line of the text being edited: a placed hunk or a marker to insert.
enum Slot {
    Placed(usize),
    Marker { hunk: usize, reason: String },
}

/// Places `hunks` (in patch order) on `target`, the file `path` of the target tree.
pub fn place(path: &str, target: &[u8], hunks: &[Hunk], markers: &Markers<'_>) -> FilePlacement {
    let mut cur: Vec<Vec<u8>> = target
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let mut placed: Vec<Placed> = Vec::new();
    // Line of each placed hunk and of each marker to insert, kept right as later hunks land.
    let mut slots: Vec<(usize, Slot)> = Vec::new();
    // Old line numbers to current ones, as patch(1) tracks it: the last hunk's offset.
    let mut shift: isize = 0;
    for (h, hunk) in hunks.iter().enumerate() {
        let old = hunk.old_lines();
        let new = hunk.new_lines();
        let expected = (hunk.old_start as isize - 1 + shift).clamp(0, cur.len() as isize) as usize;
        let anchors = anchor::anchors_of(path, hunk);
        let anchored: Option<(Anchor, (usize, usize))> = anchors
            .iter()
            .find_map(|a| anchor::range(path, &cur, a).map(|r| (a.clone(), r)));
        let Some(choice) = choose(&cur, hunk, &old, &new, expected, anchored.as_ref()) else {
            let at = anchored.as_ref().map_or(expected, |(_, (s, _))| *s);
            let reason = match (&anchored, anchors.first()) {
                (Some((a, _)), _) => format!(
                    "its lines are not in {} of the target, not even with trimmed context",
                    a.describe()
                ),
                (None, None) => "its lines are not in the target's file, and it names no function or entry to anchor it".to_string(),
                (None, Some(a)) => format!(
                    "its lines are not in the target's file, and {} is not (once) in it",
                    a.describe()
                ),
            };
            slots.push((at, Slot::Marker { hunk: h, reason }));
            continue;
        };
        let (a, b) = choice.trim;
        let new_part = &new[a..new.len() - b];
        let removed = if choice.how == How::AlreadyThere {
            new_part.len()
        } else {
            old.len() - a - b
        };
        let start = choice.start;
        cur.splice(start..start + removed, new_part.iter().map(|l| l.to_vec()));
        for (p, _) in &mut slots {
            if *p >= start + removed {
                *p = *p - removed + new_part.len();
            } else if *p > start {
                *p = start;
            }
        }
        slots.push((start, Slot::Placed(placed.len())));
        placed.push(Placed {
            hunk: h,
            how: choice.how,
            confidence: choice.confidence,
            line: 0,
            detail: choice.detail,
            text: new_part.concat(),
        });
        let full_start = start as isize - a as isize;
        shift =
            full_start - (hunk.old_start as isize - 1) + new.len() as isize - old.len() as isize;
    }
    // The marked regions go in last, top to bottom, so no hunk was matched against them.
    let mut markers_in: Vec<(usize, usize, String)> = slots
        .iter()
        .filter_map(|(p, s)| match s {
            Slot::Marker { hunk, reason } => Some((*p, *hunk, reason.clone())),
            Slot::Placed(_) => None,
        })
        .collect();
    markers_in.sort_by_key(|&(p, h, _)| (p, h));
    let mut added_before: Vec<(usize, usize)> = Vec::new(); // (original position, lines)
    let mut unplaced = Vec::new();
    let mut offset = 0;
    for (p, h, reason) in markers_in {
        let block = marked_region(&hunks[h], markers);
        let at = (p + offset).min(cur.len());
        let n = block.len();
        cur.splice(at..at, block);
        unplaced.push(Unplaced {
            hunk: h,
            line: at + 1,
            reason,
        });
        added_before.push((p, n));
        offset += n;
    }
    for (p, s) in &slots {
        if let Slot::Placed(i) = s {
            let before: usize = added_before
                .iter()
                .filter(|(at, _)| at <= p)
                .map(|(_, n)| n)
                .sum();
            placed[*i].line = p + before + 1;
        }
    }
    FilePlacement {
        text: cur.concat(),
        placed,
        unplaced,
    }
}

struct Choice {
    /// Where the (trimmed) text starts in the current lines.
    start: usize,
    /// Context lines dropped (top, bottom).
    trim: (usize, usize),
    how: How,
    confidence: Confidence,
    detail: String,
}

fn choose(
    cur: &[Vec<u8>],
    hunk: &Hunk,
    old: &[&[u8]],
    new: &[&[u8]],
    expected: usize,
    anchored: Option<&(Anchor, (usize, usize))>,
) -> Option<Choice> {
    let exact = |start, how, confidence, detail: String| Choice {
        start,
        trim: (0, 0),
        how,
        confidence,
        detail,
    };
    // A hunk with no old lines: a file that was empty (or the start of one).
    if old.is_empty() {
        return (cur.is_empty() || hunk.old_start == 0).then(|| {
            exact(
                0,
                How::Exact,
                Confidence::High,
                "added at the start of the file".into(),
            )
        });
    }
    // 1. The whole text.
    let hits = find_all(cur, old, 0, cur.len());
    if let Some(&start) = hits.iter().min_by_key(|&&s| s.abs_diff(expected)) {
        let in_anchor: Vec<usize> = anchored.map_or(Vec::new(), |(_, (s, e))| {
            hits.iter().copied().filter(|h| h >= s && *h < *e).collect()
        });
        return Some(if start == expected {
            exact(start, How::Exact, Confidence::High, String::new())
        } else if hits.len() == 1 {
            exact(
                start,
                How::Offset,
                Confidence::High,
                format!(
                    "its exact text, found once, {} lines from where the patch says",
                    start.abs_diff(expected)
                ),
            )
        } else if let ([one], Some((a, _))) = (in_anchor.as_slice(), anchored) {
            exact(
                *one,
                How::Offset,
                Confidence::High,
                format!(
                    "its exact text is in the file {} times; once in {}",
                    hits.len(),
                    a.describe()
                ),
            )
        } else {
            exact(
                start,
                How::Offset,
                Confidence::Medium,
                format!("its exact text is in the file {} times: the nearest to where the patch says was taken", hits.len()),
            )
        });
    }
    // 2. Already applied: the whole result is there, and it says more than blank lines.
    let added = hunk
        .lines
        .iter()
        .any(|l| l.kind == crate::queue::unidiff::Kind::Add);
    if non_blank(new) >= 2 || (added && non_blank(new) >= 1) {
        let hits = find_all(cur, new, 0, cur.len());
        if let Some(&start) = hits.iter().min_by_key(|&&s| s.abs_diff(expected)) {
            let confidence = if added && hits.len() == 1 {
                Confidence::High
            } else {
                Confidence::Medium
            };
            return Some(exact(
                start,
                How::AlreadyThere,
                confidence,
                "the target already has the hunk's result: nothing to change".into(),
            ));
        }
    }
    // 3. Trimmed context inside the named function or entry.
    let (lead, trail) = hunk.outer_context();
    let removes = hunk
        .lines
        .iter()
        .any(|l| l.kind == crate::queue::unidiff::Kind::Remove);
    let trims = || {
        let mut t: Vec<(usize, usize)> = (0..=lead)
            .flat_map(|a| (0..=trail).map(move |b| (a, b)))
            .filter(|&(a, b)| (a, b) != (0, 0))
            .collect();
        t.sort_by_key(|&(a, b)| (a + b, a.abs_diff(b)));
        t
    };
    let enough = |a: usize, b: usize| {
        let kept = &old[a..old.len() - b];
        if removes {
            non_blank(kept) >= 1
        } else {
            // An insertion needs some context to stand on.
            non_blank(kept) >= 1 && lead + trail - a - b >= 1
        }
    };
    // The first trim (fewest context lines dropped) whose text occurs once in `from..to`.
    let once = |from: usize, to: usize, min_lines: usize| {
        trims().into_iter().find_map(|(a, b)| {
            let kept = &old[a..old.len() - b];
            if !enough(a, b) || non_blank(kept) < min_lines {
                return None;
            }
            match find_all(cur, kept, from, to).as_slice() {
                [one] => Some((*one, (a, b))),
                _ => None,
            }
        })
    };
    let anchored_choice = |(start, trim): (usize, (usize, usize)), detail: String| Choice {
        start,
        trim,
        how: How::Anchored,
        confidence: Confidence::Medium,
        detail,
    };
    if let Some((a_name, (s, e))) = anchored {
        if let Some(hit) = once(*s, *e, 1) {
            let (a, b) = hit.1;
            return Some(anchored_choice(
                hit,
                format!(
                    "placed in {} of the target, {a} context line(s) above and {b} below not matching",
                    a_name.describe()
                ),
            ));
        }
    }
    // 4. A removal whose changed block occurs once in the file.
    if removes {
        if let Some(hit) = once(0, cur.len(), 2) {
            let (a, b) = hit.1;
            return Some(anchored_choice(
                hit,
                format!("the lines it changes occur once in the file; {a} context line(s) above and {b} below not matching"),
            ));
        }
    }
    None
}

/// The marked region of a hunk that found no place: nothing of the target's is replaced;
/// between the markers, what the patch expected and what it wants.
fn marked_region(hunk: &Hunk, m: &Markers<'_>) -> Vec<Vec<u8>> {
    let line = |s: String| s.into_bytes();
    let with_nl = |l: &[u8]| {
        let mut v = l.to_vec();
        if !v.ends_with(b"\n") {
            v.push(b'\n');
        }
        v
    };
    let mut out = vec![line(format!("<<<<<<< {}\n", m.ours))];
    out.push(line(format!("||||||| {}\n", m.base)));
    out.extend(hunk.old_lines().into_iter().map(with_nl));
    out.push(b"=======\n".to_vec());
    out.extend(hunk.new_lines().into_iter().map(with_nl));
    out.push(line(format!(">>>>>>> {}\n", m.theirs)));
    out
}
