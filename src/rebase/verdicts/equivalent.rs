//! `upstream-equivalent`, judged per hunk over the target's whole file: the lines the hunk
//! brings are there (anywhere in the file: upstream may have put them elsewhere), the lines it
//! takes away are gone, and every identifier it introduces is already named in the file.

use std::collections::HashSet;

use super::hunks::{identifiers, shape, Hunk, Lines};
use super::Evidence;
use crate::rebase::resolve::{meaningful, Confidence};

/// What one hunk shows about the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    /// The target has the hunk's change.
    Present {
        confidence: Confidence,
        evidence: Evidence,
    },
    /// It does not (or not clearly).
    Absent,
}

/// Share of the brought lines that must be in the target, verbatim, for a medium verdict
/// (the rest must at least have all their identifiers in the file).
const MOST: f32 = 0.6;
/// How far from the hunk's context lines (plus its own length) found lines may stand.
const RADIUS: usize = 8;
/// Context lines shorter than this are too common to anchor a place (`help`, `}`).
const DISTINCTIVE: usize = 12;

/// Judges `h` against the target's file `path` (its trimmed lines `target`); `old` is the
/// text of the file the patch was made on (identifiers it had are not introduced by it).
pub fn judge(path: &str, h: &Hunk, target: &Lines<'_>, old_identifiers: &HashSet<&str>) -> Judged {
    if h.taken.iter().any(|l| target.has(l)) {
        return Judged::Absent;
    }
    if h.brought.is_empty() {
        return removal(path, h, target);
    }
    let present: Vec<&String> = h.brought.iter().filter(|l| target.has(l)).collect();
    let named = target.named();
    // Identifiers the hunk introduces must already be named in the target's file.
    let introduced = h
        .brought
        .iter()
        .flat_map(|l| identifiers(l))
        .filter(|w| !old_identifiers.contains(w));
    let mut unknown = introduced.filter(|w| !named.contains(w)).peekable();
    if unknown.peek().is_some() {
        return Judged::Absent;
    }
    let all = present.len() == h.brought.len();
    // Lines of the target with the same words and operators in another order.
    let reworded: Vec<(&String, usize)> = if all {
        Vec::new()
    } else {
        h.brought
            .iter()
            .filter(|l| !target.has(l))
            .filter_map(|l| {
                shape(l)
                    .and_then(|s| target.with_shape(&s))
                    .map(|at| (l, at))
            })
            .collect()
    };
    // Found at the hunk's place: next to its context, with none of the lines it removes
    // there. The same line elsewhere (another Kconfig entry's `depends on`) proves nothing.
    let mut places: Vec<usize> = present.iter().flat_map(|l| target.positions(l)).collect();
    places.extend(reworded.iter().map(|(_, at)| *at));
    let radius = RADIUS + h.added.len();
    let around: Vec<&String> = h.before.iter().chain(&h.after).collect();
    // Distinctive context lines when there are (every Kconfig entry has a `help`), else any
    // that says something; a hunk without either is anchored by its own lines.
    let mut context: Vec<&String> = around
        .iter()
        .copied()
        .filter(|l| l.len() >= DISTINCTIVE)
        .collect();
    if context.is_empty() {
        context = around.into_iter().filter(|l| meaningful(l)).collect();
    }
    let anchored = places.iter().any(|&at| {
        let near = target.around(at, radius);
        (context.is_empty() || context.iter().any(|c| near.contains(&c.as_str())))
            && !h
                .removed
                .iter()
                .any(|r| near.contains(&r.as_str()) && !h.added.contains(r))
    });
    if !anchored {
        return Judged::Absent;
    }
    let matched = present.len() + reworded.len();
    // Reworded lines alone must account for every line.
    let enough = if present.is_empty() {
        matched == h.brought.len()
    } else {
        matched as f32 >= MOST * h.brought.len() as f32
    };
    if !all && !enough {
        return Judged::Absent;
    }
    // Verbatim: the hunk's added lines stand in the target as one block.
    let block = target.find_block(&h.added);
    let confidence = if all && block.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let line = block
        .or_else(|| present.first().and_then(|l| target.line_of(l)))
        .or_else(|| reworded.first().map(|(_, at)| *at))
        .unwrap_or(0);
    let shown: Vec<&str> = if block.is_some() {
        h.added.iter().map(String::as_str).collect()
    } else {
        let mut v: Vec<&str> = present.iter().map(|l| l.as_str()).collect();
        v.extend(reworded.iter().map(|(_, at)| target.lines[at - 1]));
        v
    };
    Judged::Present {
        confidence,
        evidence: Evidence {
            path: path.to_string(),
            line,
            what: format!(
                "{} of the {} line(s) the patch brings are in the target{}{}",
                present.len(),
                h.brought.len(),
                if reworded.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {} more with the same words in another order",
                        reworded.len()
                    )
                },
                if block.is_some() {
                    ", as one block"
                } else {
                    ", with other text around them"
                }
            ),
            text: lines_text(&shown),
        },
    }
}

/// A hunk that only removes lines: upstream removed them too when the lines around them now
/// stand together, with nothing between: all of its context (high confidence), or the two
/// lines before and the one after it, one of them saying something (medium: upstream also
/// edited further away, e.g. added a `select` below).
fn removal(path: &str, h: &Hunk, target: &Lines<'_>) -> Judged {
    if h.taken.is_empty() || h.before.is_empty() || h.after.is_empty() {
        return Judged::Absent;
    }
    let joined: Vec<String> = h.before.iter().chain(&h.after).cloned().collect();
    let near: Vec<String> = h.before[h.before.len().saturating_sub(2)..]
        .iter()
        .chain(&h.after[..1])
        .cloned()
        .collect();
    let (line, confidence, shown) = match target.find_block(&joined) {
        Some(line) => (line, Confidence::High, &joined),
        None if near.iter().any(|l| l.len() >= DISTINCTIVE) => match target.find_block(&near) {
            Some(line) => (line, Confidence::Medium, &near),
            None => return Judged::Absent,
        },
        None => return Judged::Absent,
    };
    Judged::Present {
        confidence,
        evidence: Evidence {
            path: path.to_string(),
            line,
            what: format!(
                "the {} line(s) the patch removes are gone from the target, and the lines around them now stand together",
                h.taken.len()
            ),
            text: lines_text(&shown.iter().map(String::as_str).collect::<Vec<_>>()),
        },
    }
}

pub(super) fn lines_text(lines: &[&str]) -> String {
    lines.iter().take(12).fold(String::new(), |mut s, l| {
        s.push_str(l);
        s.push('\n');
        s
    })
}

#[cfg(test)]
mod tests {
    use super::super::hunks::hunks;
    use super::*;

    fn judged(old: &str, new: &str, target: &str) -> Judged {
        let h = hunks("k.c", old, new);
        assert_eq!(h.len(), 1, "{h:?}");
        let t = Lines::new(target);
        let ids: HashSet<&str> = old.lines().flat_map(identifiers).collect();
        judge("k.c", &h[0], &t, &ids)
    }

    const OLD: &str =
        "int f(void)\n{\n\ta();\n\tb();\n\tc();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";

    #[test]
    fn the_change_verbatim_elsewhere_in_the_file_is_high() {
        let new = "int f(void)\n{\n\ta();\n\tb();\n\tlock_it(&x->lock);\n\tc();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        // Upstream put the same call in another place of the function.
        let target = "int f(void)\n{\n\tlock_it(&x->lock);\n\ta();\n\tb();\n\tc();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        match judged(OLD, new, target) {
            Judged::Present {
                confidence,
                evidence,
            } => {
                assert_eq!(confidence, Confidence::High);
                assert_eq!(evidence.line, 3);
            }
            j => panic!("{j:?}"),
        }
    }

    #[test]
    fn most_lines_with_the_rest_named_is_medium() {
        let new = "int f(void)\n{\n\ta();\n\tlock_it(&x->lock);\n\tb();\n\tc();\n\tunlock_it(&x->lock);\n\tif (x->flags & FLAG_DONE)\n\t\tcount++;\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        let target = "int f(void)\n{\n\ta();\n\tlock_it(&x->lock);\n\tb();\n\tc();\n\tunlock_it(&x->lock);\n\tif (x->flags & FLAG_DONE)\n\t\tcount += 1;\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        match judged(OLD, new, target) {
            Judged::Present { confidence, .. } => assert_eq!(confidence, Confidence::Medium),
            j => panic!("{j:?}"),
        }
    }

    #[test]
    fn the_same_words_in_another_order_are_medium_and_a_negation_is_not() {
        let old = "int f(struct d *d)\n{\n\tif (any_and(d->pending, online) >= nr_ids)\n\t\treturn 0;\n\treturn 1;\n}\n";
        let new = "int f(struct d *d)\n{\n\tif (!intersects(online, d->pending))\n\t\treturn 0;\n\treturn 1;\n}\n";
        let target = "int f(struct d *d)\n{\n\tif (!intersects(d->pending, online))\n\t\treturn 0;\n\treturn 1;\n}\n";
        match judged(old, new, target) {
            Judged::Present {
                confidence,
                evidence,
            } => {
                assert_eq!(confidence, Confidence::Medium);
                assert_eq!(evidence.line, 3);
            }
            j => panic!("{j:?}"),
        }
        let negated = target.replace("!intersects", "intersects");
        assert_eq!(judged(old, new, &negated), Judged::Absent);
    }

    #[test]
    fn the_same_line_in_another_entry_is_not_equivalent() {
        let old = "config A\n\tbool \"a\"\n\tdepends on DEBUG_KERNEL\n\thelp\n\t  A.\n\nconfig B\n\tbool \"b\"\n\tdepends on X86\n";
        let new = "config A\n\tbool \"a\"\n\tdepends on DEBUG_KERNEL && !PREEMPT_RT\n\thelp\n\t  A.\n\nconfig B\n\tbool \"b\"\n\tdepends on X86\n";
        let h = hunks("lib/Kconfig.debug", old, new);
        let ids: HashSet<&str> = old.lines().flat_map(identifiers).collect();
        // The target has the line, but in entry C, far from A.
        let far = format!(
            "config A\n\tbool \"a\"\n\tdepends on DEBUG_KERNEL\n\thelp\n\t  A.\n{}config C\n\tbool \"c\"\n\tdepends on DEBUG_KERNEL && !PREEMPT_RT\n",
            "\n".repeat(30)
        );
        assert_eq!(
            judge("lib/Kconfig.debug", &h[0], &Lines::new(&far), &ids),
            Judged::Absent
        );
    }

    #[test]
    fn similar_code_for_another_purpose_is_not_equivalent() {
        // The target gained the same lock call, but not the patch's other line, whose
        // function the target does not name at all.
        let new = "int f(void)\n{\n\ta();\n\tlock_it(&x->lock);\n\tpatch_only_hook(x);\n\tb();\n\tc();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        let target = "int f(void)\n{\n\ta();\n\tb();\n\tc();\n}\n\nint g(void)\n{\n\tlock_it(&x->lock);\n\treturn 0;\n}\n";
        assert_eq!(judged(OLD, new, target), Judged::Absent);
    }

    #[test]
    fn a_removed_line_still_in_the_target_is_not_equivalent() {
        let new =
            "int f(void)\n{\n\ta();\n\tb_new();\n\tc();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        let target = "int f(void)\n{\n\ta();\n\tb();\n\tb_new();\n\tc();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
        assert_eq!(judged(OLD, new, target), Judged::Absent);
    }

    #[test]
    fn a_removal_upstream_made_is_high_and_one_it_did_not_is_absent() {
        let old = "config A\n\tbool \"a\"\n\tdepends on X86\n\tdepends on !PREEMPT_RT\n\tselect B\n\thelp\n\t  A.\n";
        let new = "config A\n\tbool \"a\"\n\tdepends on X86\n\tselect B\n\thelp\n\t  A.\n";
        let h = hunks("Kconfig", old, new);
        let ids = HashSet::new();
        let lifted =
            "config A\n\tbool \"a\"\n\tdepends on X86\n\tselect B\n\tselect C\n\thelp\n\t  A.\n";
        assert!(matches!(
            judge("Kconfig", &h[0], &Lines::new(lifted), &ids),
            Judged::Present { .. }
        ));
        // Upstream changed the line instead: the patch's removal is not what it did.
        let changed = "config A\n\tbool \"a\"\n\tdepends on X86\n\tdepends on !PREEMPT_RT || ARM\n\tselect B\n\thelp\n\t  A.\n";
        assert_eq!(
            judge("Kconfig", &h[0], &Lines::new(changed), &ids),
            Judged::Absent
        );
    }
}
