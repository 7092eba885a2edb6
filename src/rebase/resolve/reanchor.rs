//! Stage 3: re-anchoring. One side only inserted lines (its copy of the region is the base
//! with a block added at one point); the other side rewrote lines around that point. The
//! insertion point, a boundary between two base lines, is carried over to the rewritten text
//! by a line alignment (`similar`): an unchanged neighbour anchors it exactly; a neighbour the
//! other side rewrote anchors it only when the rewrite still resembles it and the boundary is
//! at the rewrite's edge. A point inside rewritten lines, or context the other side deleted,
//! is refused.

use similar::{Algorithm, DiffOp};

use super::{norm, Confidence, Context, Decision, Region};

/// How similar a rewritten context line must stay to anchor an insertion.
const MIN_CONTEXT_RATIO: f32 = 0.6;

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if super::blank(&r.base) {
        // Both sides inserted at one point: nothing to anchor to (the declarations stage may
        // still recognise two different whole declarations).
        return Decision::Pass;
    }
    let (inserting, other, who) = if let Some(k) = insertion(&r.base, &r.theirs) {
        ((k, &r.theirs), &r.ours, "queue")
    } else if let Some(k) = insertion(&r.base, &r.ours) {
        ((k, &r.ours), &r.theirs, "target")
    } else {
        return Decision::Pass;
    };
    let ((k_lo, k_hi), ins_side) = inserting;
    let mut spots = Vec::new();
    for k in k_lo..=k_hi {
        match map_point(&r.base, other, k) {
            Mapped::At(at, conf, why) => spots.push((k, at, conf, why)),
            Mapped::SamePoint => return Decision::Pass,
            Mapped::Refuse(why) => return Decision::Refuse(why),
        }
    }
    let first = &spots[0];
    if spots.iter().any(|s| s.1 != first.1) {
        return Decision::Refuse(
            "two equally good insertion points for the same lines; place them by hand".into(),
        );
    }
    let (k, at, confidence, why) = first.clone();
    let n_ins = ins_side.len() - r.base.len();
    let block = &ins_side[k..k + n_ins];
    let mut lines = other.clone();
    for (i, l) in block.iter().enumerate() {
        lines.insert(at + i, l.clone());
    }
    let whose = if who == "queue" { "target" } else { "queue" };
    let mut detail = format!(
        "the {who}'s {n_ins} inserted line(s) placed in the {whose}'s rewritten text: {why}"
    );
    if let Some(f) = crate::syntax::c::enclosing(ctx.path, &ctx.before) {
        detail.push_str(&format!(" (inside `{f}`)"));
    }
    Decision::Resolve {
        lines,
        confidence,
        detail,
    }
}

/// When `side` is `base` plus one inserted block, the range of possible insertion points.
pub(super) fn insertion(base: &[String], side: &[String]) -> Option<(usize, usize)> {
    if side.len() <= base.len() {
        return None;
    }
    let eq = |a: &String, b: &String| norm(a) == norm(b);
    let n = base.len();
    let p = base.iter().zip(side).take_while(|(a, b)| eq(a, b)).count();
    let s = base
        .iter()
        .rev()
        .zip(side.iter().rev())
        .take_while(|(a, b)| eq(a, b))
        .count()
        .min(n);
    (p + s >= n).then_some((n - s, p.min(n)))
}

enum Mapped {
    At(usize, Confidence, String),
    /// The other side also inserted exactly there: not this stage's case.
    SamePoint,
    Refuse(String),
}

/// Carries boundary `k` of `base` (before base[k]) into `other`.
fn map_point(base: &[String], other: &[String], k: usize) -> Mapped {
    let b: Vec<&str> = base.iter().map(|l| norm(l)).collect();
    let o: Vec<&str> = other.iter().map(|l| norm(l)).collect();
    let ops = similar::capture_diff_slices(Algorithm::Myers, &b, &o);
    // Where base line i went in `other`, when unchanged.
    let mut same = vec![None; b.len()];
    for op in &ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *op
        {
            for d in 0..len {
                same[old_index + d] = Some(new_index + d);
            }
        }
    }
    let before = k.checked_sub(1).and_then(|i| same[i]);
    let after = same.get(k).copied().flatten();
    match (before, after) {
        (Some(x), Some(y)) if x + 1 == y => {
            return Mapped::At(y, Confidence::High, "between unchanged lines".into())
        }
        (Some(_), Some(_)) => return Mapped::SamePoint,
        (Some(x), None) => {
            return Mapped::At(x + 1, Confidence::High, "after an unchanged line".into())
        }
        (None, Some(y)) => {
            return Mapped::At(y, Confidence::High, "before an unchanged line".into())
        }
        (None, None) => {}
    }
    // Both neighbours changed: the point must sit at the edge of one rewrite that still
    // resembles the base lines it replaced.
    for op in &ops {
        let (old, new) = (op.old_range(), op.new_range());
        if old.is_empty() {
            continue;
        }
        let touches_end = old.end == k;
        let touches_start = old.start == k;
        if !(touches_end || touches_start) {
            if old.start < k && k < old.end {
                // Inside a rewrite: only a line-for-line rewrite where both neighbours still
                // resemble their old text carries the point over.
                let pair = |i: usize| {
                    let j = new.start + (i - old.start);
                    similar::TextDiff::from_chars(b[i], o[j]).ratio()
                };
                if old.len() == new.len()
                    && pair(k - 1) >= MIN_CONTEXT_RATIO
                    && pair(k) >= MIN_CONTEXT_RATIO
                {
                    return Mapped::At(
                        new.start + (k - old.start),
                        Confidence::Medium,
                        format!(
                            "between its context lines, both changed upstream ({:.0}%/{:.0}% similar): `{}` -> `{}`",
                            pair(k - 1) * 100.0,
                            pair(k) * 100.0,
                            b[k - 1],
                            o[new.start + (k - 1 - old.start)]
                        ),
                    );
                }
                return Mapped::Refuse(
                    "the insertion point is inside lines the other side rewrote".into(),
                );
            }
            continue;
        }
        if new.is_empty() {
            return Mapped::Refuse(
                "the lines the insertion was attached to were deleted on the other side".into(),
            );
        }
        let was = b[old.clone()].join("\n");
        let now = o[new.clone()].join("\n");
        let ratio = similar::TextDiff::from_chars(was.as_str(), now.as_str()).ratio();
        if ratio < MIN_CONTEXT_RATIO {
            return Mapped::Refuse(format!(
                "the context was rewritten beyond recognition ({:.0}% similar)",
                ratio * 100.0
            ));
        }
        // Ambiguous when the point touches two rewrites (end of one, start of the next).
        let at = if touches_end { new.end } else { new.start };
        return Mapped::At(
            at,
            Confidence::Medium,
            format!(
                "{} its context line(s), which changed upstream ({:.0}% similar): `{}` -> `{}`",
                if touches_end { "after" } else { "before" },
                ratio * 100.0,
                b[old.clone()].first().copied().unwrap_or(""),
                o[new].first().copied().unwrap_or("")
            ),
        );
    }
    Mapped::Refuse("no anchor for the insertion point".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| format!("{l}\n")).collect()
    }

    fn run(ours: &[&str], base: &[&str], theirs: &[&str]) -> Decision {
        let ctx = Context {
            path: "kernel/sched/core.c",
            before: String::new(),
            after: String::new(),
            at_end: false,
            target: None,
        };
        resolve(
            &ctx,
            &Region {
                ours: v(ours),
                base: v(base),
                theirs: v(theirs),
            },
        )
    }

    #[test]
    fn insertion_after_rewritten_line() {
        let d = run(
            &["\tWARN(ct_state() == CT_STATE_USER);"],
            &["\tWARN(ct_state() == CONTEXT_USER);"],
            &["\tWARN(ct_state() == CONTEXT_USER);", "\tWARN(oob());"],
        );
        match d {
            Decision::Resolve {
                lines, confidence, ..
            } => {
                assert_eq!(
                    lines,
                    v(&["\tWARN(ct_state() == CT_STATE_USER);", "\tWARN(oob());"])
                );
                assert_eq!(confidence, Confidence::Medium);
            }
            _ => panic!("should resolve"),
        }
    }

    #[test]
    fn refuses_point_inside_rewrite() {
        let d = run(
            &["\tvalidate(x, flags);", "\tlaunch(y, flags);"],
            &["\tcheck(x);", "\tgo(y);"],
            &["\tcheck(x);", "\tinserted();", "\tgo(y);"],
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn insertion_between_lines_rewritten_line_for_line() {
        let d = run(
            &["\tWARN(state() == CT_STATE_USER);", "\tcount(a, 1);"],
            &["\tWARN(state() == CONTEXT_USER);", "\tcount(a);"],
            &[
                "\tWARN(state() == CONTEXT_USER);",
                "\tWARN(oob());",
                "\tcount(a);",
            ],
        );
        match d {
            Decision::Resolve { lines, .. } => assert_eq!(
                lines,
                v(&[
                    "\tWARN(state() == CT_STATE_USER);",
                    "\tWARN(oob());",
                    "\tcount(a, 1);"
                ])
            ),
            _ => panic!("should resolve"),
        }
    }

    #[test]
    fn refuses_unrecognisable_context() {
        let d = run(
            &["\treturn completely_different(thing, 42);"],
            &["\tx = 1;"],
            &["\tx = 1;", "\ty = 2;"],
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn deleted_context_is_refused() {
        let d = run(&[], &["\tx = 1;"], &["\tx = 1;", "\ty = 2;"]);
        assert!(matches!(d, Decision::Refuse(_)));
    }
}
