//! Stage: word-level merge. git conflicts when the two sides change the same line or adjacent
//! lines, though often they changed different things: upstream renamed an argument on the line
//! above the queue's change, or each side changed another word of one line. The region is merged
//! again, first by lines with adjacency allowed (a change of one line next to a change of the
//! next), then, where both sides rewrote the same lines one for one, word by word. Any overlap
//! that remains, an insertion against the other side's change, or a queue line naming what the
//! target no longer names in the region (a rename the queue's line would miss) passes or refuses.

use std::collections::BTreeSet;
use std::ops::Range;

use similar::{Algorithm, DiffOp};

use super::{Confidence, Context, Decision, Region};

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if super::blank(&r.base) {
        return Decision::Pass;
    }
    let mut by_words = 0;
    let mut shared = false;
    let mut partly = false;
    let merged = merge3(&r.base, &r.ours, &r.theirs, &mut shared, &mut |b, o, t| {
        // Both sides rewrote the same lines one for one: merge each line word by word.
        if b.len() != o.len() || b.len() != t.len() {
            return None;
        }
        let mut out = Vec::new();
        let mut shared_words = false;
        for ((b, o), t) in b.iter().zip(o).zip(t) {
            let (bw, ow, tw) = (split_words(b), split_words(o), split_words(t));
            let line = merge3(&bw, &ow, &tw, &mut shared_words, &mut |_, _, _| None)?;
            out.push(line.concat());
            by_words += 1;
        }
        partly |= shared_words;
        Some(out)
    });
    let Some(lines) = merged else {
        return Decision::Pass;
    };
    if shared || partly {
        // Part of the queue's change is already in the target: the rest may be too, in
        // another form (a fix upstream took with a correction).
        return Decision::Refuse(
            "the target made part of the queue's change here already; the rest may be in it in another form".into(),
        );
    }
    // A name one side dropped from the region that the merged lines still use (brought back
    // by the other side's lines) is most likely a rename that the other side's line misses.
    let kept = names(&lines);
    for (who, side) in [("target", &r.ours), ("queue", &r.theirs)] {
        let gone: Vec<String> = names(&r.base)
            .difference(&names(side))
            .filter(|n| kept.contains(*n))
            .cloned()
            .collect();
        if !gone.is_empty() {
            return Decision::Refuse(format!(
                "the {who} no longer uses `{}` in these lines, but the other side's changed lines still do; merge by hand",
                gone.join("`, `")
            ));
        }
    }
    let (confidence, how) = if by_words > 0 {
        (
            Confidence::Medium,
            format!("{by_words} line(s) changed by both sides merged word by word"),
        )
    } else {
        (
            Confidence::High,
            "the two sides changed different, adjacent lines".to_string(),
        )
    };
    let mut detail = format!("{how}: the target's and the queue's changes both kept");
    if let Some(f) = crate::syntax::c::enclosing(ctx.path, &ctx.before) {
        detail.push_str(&format!(" (inside `{f}`)"));
    }
    Decision::Resolve {
        lines,
        confidence,
        detail,
    }
}

/// Words, runs of blanks and single other characters of a line: the units a word-level merge
/// moves, so that concatenating them gives the line back.
fn split_words(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let kind = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c == ' ' || c == '\t' {
            1
        } else {
            2
        }
    };
    let mut last = None;
    for c in line.chars() {
        let k = kind(c);
        match out.last_mut() {
            Some(cur) if last == Some(k) && k != 2 => cur.push(c),
            _ => out.push(c.to_string()),
        }
        last = Some(k);
    }
    out
}

/// Identifier-like words of some lines.
fn names(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .flat_map(|l| split_words(l))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && w.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
        .collect()
}

/// The changes from `base` to `side`: (base range, side range), in order, each a maximal run of
/// non-equal diff operations.
pub(super) fn hunks<T: Eq + std::hash::Hash + Ord>(
    base: &[T],
    side: &[T],
) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for op in similar::capture_diff_slices(Algorithm::Myers, base, side) {
        if matches!(op, DiffOp::Equal { .. }) {
            continue;
        }
        let (old, new) = (op.old_range(), op.new_range());
        match out.last_mut() {
            Some((o, n)) if o.end == old.start && n.end == new.start => {
                o.end = old.end;
                n.end = new.end;
            }
            _ => out.push((old, new)),
        }
    }
    out
}

/// Whether two changes of the base collide: overlapping ranges, or an insertion at a point the
/// other change touches (then their order is unknown).
fn collide(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() || b.is_empty() {
        let (p, other) = if a.is_empty() {
            (a.start, b)
        } else {
            (b.start, a)
        };
        return other.start <= p && p <= other.end;
    }
    a.start < b.end && b.start < a.end
}

/// How both sides' changes of the same range are merged finer (`None`: they cannot be).
type Finer<'a, T> = dyn FnMut(&[T], &[T], &[T]) -> Option<Vec<T>> + 'a;

/// Three-way merge of token sequences where each side's changes must not collide with the
/// other's, except where both sides changed exactly the same range: identical changes are taken
/// once (and `shared` set), others go to `both` (which may merge them finer or give up with
/// `None`).
fn merge3<T: Eq + std::hash::Hash + Ord + Clone>(
    base: &[T],
    ours: &[T],
    theirs: &[T],
    shared: &mut bool,
    both: &mut Finer<'_, T>,
) -> Option<Vec<T>> {
    let (ho, ht) = (hunks(base, ours), hunks(base, theirs));
    // Each change with the text that replaces its base range.
    let mut changes: Vec<(Range<usize>, Vec<T>)> = Vec::new();
    let mut used = vec![false; ht.len()];
    for (old, new) in &ho {
        let mut text = ours[new.clone()].to_vec();
        for (j, (t_old, t_new)) in ht.iter().enumerate() {
            if !collide(old, t_old) {
                continue;
            }
            if t_old != old || used[j] {
                return None;
            }
            used[j] = true;
            let t_text = &theirs[t_new.clone()];
            if t_text == text.as_slice() {
                *shared = true;
            } else {
                text = both(&base[old.clone()], &text, t_text)?;
            }
        }
        changes.push((old.clone(), text));
    }
    for (j, (old, new)) in ht.iter().enumerate() {
        if !used[j] {
            if changes.iter().any(|(o, _)| collide(o, old)) {
                return None;
            }
            changes.push((old.clone(), theirs[new.clone()].to_vec()));
        }
    }
    changes.sort_by_key(|(o, _)| (o.start, o.end));
    let mut out = Vec::new();
    let mut at = 0;
    for (old, text) in changes {
        out.extend_from_slice(&base[at..old.start]);
        out.extend(text);
        at = old.end;
    }
    out.extend_from_slice(&base[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{resolved, v};
    use super::*;

    fn run(ours: &[&str], base: &[&str], theirs: &[&str]) -> Decision {
        super::super::testing::run(resolve, "kernel/irq/chip.c", "", [ours, base, theirs])
    }

    #[test]
    fn adjacent_lines_changed_by_each_side() {
        // Upstream renamed the argument on the line above the queue's change.
        let (lines, confidence, _) = resolved(run(
            &[
                "\tret = request_irq(irq, handler, IRQF_SHARED,",
                "\t\t\tname, desc);",
            ],
            &["\tret = request_irq(irq, handler, 0,", "\t\t\tname, desc);"],
            &[
                "\tret = request_irq(irq, handler, 0,",
                "\t\t\tname, oob_desc(desc));",
            ],
        ));
        assert_eq!(
            lines,
            v(&[
                "\tret = request_irq(irq, handler, IRQF_SHARED,",
                "\t\t\tname, oob_desc(desc));"
            ])
        );
        assert_eq!(confidence, Confidence::High);
    }

    #[test]
    fn different_words_of_one_line() {
        let (lines, confidence, _) = resolved(run(
            &["\tflags = irq_settings_get(desc, IRQ_NOPROBE);"],
            &["\tflags = irq_get(desc, IRQ_NOPROBE);"],
            &["\tflags = irq_get(desc, IRQ_NOPROBE | IRQ_OOB);"],
        ));
        assert_eq!(
            lines,
            v(&["\tflags = irq_settings_get(desc, IRQ_NOPROBE | IRQ_OOB);"])
        );
        assert_eq!(confidence, Confidence::Medium);
    }

    #[test]
    fn a_change_the_target_made_in_part_is_refused() {
        // The queue's patch as first written; upstream took it with the parenthesis fixed.
        let d = run(
            &["\tseq_printf(p, \"%10u \", per_cpu(irq_stat.__nmi_count, j));"],
            &["\tseq_printf(p, \"%10u \", nmi_count(j));"],
            &["\tseq_printf(p, \"%10u \", per_cpu(irq_stat.__nmi_count, j);"],
        );
        match d {
            Decision::Refuse(why) => assert!(why.contains("part of the queue's change"), "{why}"),
            _ => panic!("should refuse"),
        }
    }

    #[test]
    fn the_same_word_changed_twice_passes() {
        let d = run(
            &["\tx = f(a, 2);"],
            &["\tx = f(a, 1);"],
            &["\tx = f(a, 3);"],
        );
        assert!(matches!(d, Decision::Pass));
    }

    #[test]
    fn a_queue_line_using_a_name_the_target_renamed_is_refused() {
        // The target no longer has `irq` here; the queue's changed second line still uses it.
        let d = run(
            &["\tdesc = irq_data_to_desc(data);", "\tlock(desc);"],
            &["\tdesc = irq_to_desc(irq);", "\tlock(desc);"],
            &["\tdesc = irq_to_desc(irq);", "\tlock_oob(desc, irq);"],
        );
        match d {
            Decision::Refuse(why) => assert!(why.contains("`irq`"), "{why}"),
            _ => panic!("should refuse"),
        }
    }

    #[test]
    fn an_insertion_next_to_a_rewrite_is_left_to_re_anchoring() {
        let d = run(
            &["\tWARN(ct_state() == CT_STATE_USER);"],
            &["\tWARN(ct_state() == CONTEXT_USER);"],
            &["\tWARN(ct_state() == CONTEXT_USER);", "\tWARN(oob());"],
        );
        assert!(matches!(d, Decision::Pass));
    }

    #[test]
    fn words_split_and_join_back() {
        let l = "\tfoo->bar(x_1,  \"s\");\n";
        assert_eq!(split_words(l).concat(), l);
        assert_eq!(split_words("a->b(1)"), ["a", "-", ">", "b", "(", "1", ")"]);
    }
}
