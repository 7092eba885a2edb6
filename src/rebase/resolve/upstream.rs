//! Stage 1: the queue's hunk is already in the target. The queue's change to the region (lines
//! it adds, lines it removes, against the base) is compared with the target's text of the
//! region: when every added line is there and no removed line is, the target's text is kept.

use super::{norm, Confidence, Context, Decision, Region};

pub fn resolve(_ctx: &Context<'_>, r: &Region) -> Decision {
    let (added, removed) = change(&r.base, &r.theirs);
    // Only lines that say something: an added `}` or blank line proves nothing.
    let meaningful: Vec<&str> = added
        .iter()
        .copied()
        .filter(|l| super::meaningful(l))
        .collect();
    if meaningful.is_empty() {
        return Decision::Pass;
    }
    // Every added line, in the patch's order, among the target's lines of the region.
    let ours: Vec<&str> = r.ours.iter().map(|l| norm(l)).collect();
    let mut rest = ours.iter();
    if !added.iter().all(|a| rest.any(|o| o == a)) {
        return Decision::Pass;
    }
    if removed
        .iter()
        .any(|l| !l.is_empty() && ours.contains(l) && !r.theirs.iter().any(|t| norm(t) == *l))
    {
        return Decision::Pass;
    }
    // Short generic lines (`return 0;`) found in the target may be a coincidence.
    let confidence = if meaningful.len() == added.iter().filter(|l| !l.is_empty()).count() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Decision::Resolve {
        lines: r.ours.clone(),
        confidence,
        detail: format!(
            "the queue's {} added line(s) are already in the target here; the target's text is kept",
            added.len()
        ),
    }
}

/// Lines added and removed going from `a` to `b` (trimmed), by line diff.
pub(crate) fn change<'a>(a: &'a [String], b: &'a [String]) -> (Vec<&'a str>, Vec<&'a str>) {
    let a_n: Vec<&str> = a.iter().map(|l| norm(l)).collect();
    let b_n: Vec<&str> = b.iter().map(|l| norm(l)).collect();
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &a_n, &b_n);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for op in ops {
        for change in op.iter_changes(&a_n, &b_n) {
            match change.tag() {
                similar::ChangeTag::Insert => added.push(change.value()),
                similar::ChangeTag::Delete => removed.push(change.value()),
                similar::ChangeTag::Equal => {}
            }
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| format!("{l}\n")).collect()
    }

    fn ctx() -> Context<'static> {
        Context {
            path: "a.c",
            before: String::new(),
            at_end: false,
            target: None,
        }
    }

    #[test]
    fn keeps_target_when_change_is_there() {
        let r = Region {
            ours: v(&["\tfoo(1);", "\tbar(new_arg);"]),
            base: v(&["\tbar(old);"]),
            theirs: v(&["\tbar(old);", "\tfoo(1);"]),
        };
        // bar(old) is still in theirs (not removed), foo(1) is added and present in ours.
        assert!(matches!(resolve(&ctx(), &r), Decision::Resolve { .. }));
    }

    #[test]
    fn passes_when_an_added_line_is_missing() {
        let r = Region {
            ours: v(&["\tbar(new_arg);"]),
            base: v(&["\tbar(old);"]),
            theirs: v(&["\tbar(old);", "\tfoo(1);"]),
        };
        assert!(matches!(resolve(&ctx(), &r), Decision::Pass));
    }

    #[test]
    fn passes_when_added_lines_are_there_in_another_order() {
        let r = Region {
            ours: v(&["\tsecond_call();", "\tfirst_call();", "\tbar(new);"]),
            base: v(&["\tbar(old);"]),
            theirs: v(&["\tfirst_call();", "\tsecond_call();", "\tbar(old);"]),
        };
        assert!(matches!(resolve(&ctx(), &r), Decision::Pass));
    }

    #[test]
    fn passes_when_a_removed_line_is_still_there() {
        let r = Region {
            ours: v(&["\tgone();", "\tfoo(1);", "\tx = 2;"]),
            base: v(&["\tgone();", "\tx = 1;"]),
            theirs: v(&["\tfoo(1);", "\tx = 1;"]),
        };
        assert!(matches!(resolve(&ctx(), &r), Decision::Pass));
    }
}
