//! Stage 1: the queue's hunk is already in the target. The queue's change to the region (lines
//! it adds, lines it removes, against the base) is compared with the target's text of the
//! region: when every added line is there and no removed line is, the target's text is kept.

use super::{norm, Confidence, Context, Decision, Region};

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    let (added, removed) = change(&r.base, &r.theirs);
    // Only lines that say something: an added `}` or blank line proves nothing.
    let meaningful: Vec<&str> = added
        .iter()
        .copied()
        .filter(|l| super::meaningful(l))
        .collect();
    if added.iter().all(|l| l.is_empty()) {
        return deletion_upstream(ctx, r, &removed);
    }
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
    keep_target(
        r,
        meaningful.len() == added.iter().filter(|l| !l.is_empty()).count(),
        format!(
            "the queue's {} added line(s) are already in the target here",
            added.len()
        ),
    )
}

/// The queue's change is already made upstream: the target's text stands, with High
/// confidence when `sure`, else Medium.
fn keep_target(r: &Region, sure: bool, why: String) -> Decision {
    Decision::Resolve {
        lines: r.ours.clone(),
        confidence: if sure {
            Confidence::High
        } else {
            Confidence::Medium
        },
        detail: format!("{why}; the target's text is kept"),
    }
}

/// The queue only deletes lines, and the target no longer has any of them anywhere in the
/// file: the deletion is done upstream, and the target's text of the region (its own edits
/// around the deleted lines) is kept. A removed line the target still has, here or moved
/// elsewhere in the file, or one it edited in place (the deletion drifted: the `drift`
/// stage's case), leaves the region to later stages.
fn deletion_upstream(ctx: &Context<'_>, r: &Region, removed: &[&str]) -> Decision {
    let gone: Vec<&str> = removed
        .iter()
        .copied()
        .filter(|l| super::meaningful(l))
        .collect();
    if gone.is_empty() {
        return Decision::Pass;
    }
    let file_lines = ctx
        .before
        .lines()
        .chain(r.ours.iter().map(String::as_str))
        .chain(ctx.after.lines())
        .map(norm);
    let still_there: std::collections::HashSet<&str> = file_lines.collect();
    if gone.iter().any(|l| still_there.contains(l)) {
        return Decision::Pass;
    }
    // An edited copy of a removed line in the region: the target changed what the queue
    // deletes, not the same as deleting it.
    const EDITED: f32 = 0.6;
    let edited = gone.iter().any(|g| {
        r.ours
            .iter()
            .any(|o| similar::TextDiff::from_chars(*g, norm(o)).ratio() >= EDITED)
    });
    if edited {
        return Decision::Pass;
    }
    keep_target(
        r,
        gone.len() >= 2,
        format!(
            "the queue deletes {} line(s) the target no longer has anywhere in {}",
            gone.len(),
            ctx.path
        ),
    )
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
            after: String::new(),
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

    /// The queue un-exports a symbol; the target dropped the export and renamed the function
    /// below it.
    fn unexport() -> Region {
        Region {
            ours: v(&["unsigned int __nr_free_highpages(void)"]),
            base: v(&[
                "EXPORT_PER_CPU_SYMBOL(__kmap_atomic_idx);",
                "",
                "unsigned int nr_free_highpages (void)",
            ]),
            theirs: v(&["unsigned int nr_free_highpages (void)"]),
        }
    }

    #[test]
    fn a_deletion_the_target_already_made_keeps_the_target() {
        let r = unexport();
        match resolve(&ctx(), &r) {
            Decision::Resolve { lines, .. } => assert_eq!(lines, r.ours),
            _ => panic!("the deletion upstream is not recognised"),
        }
    }

    #[test]
    fn a_deletion_passes_when_the_line_moved_elsewhere_in_the_file_or_was_edited() {
        let r = unexport();
        let moved = Context {
            after: "int x;\nEXPORT_PER_CPU_SYMBOL(__kmap_atomic_idx);\n".into(),
            ..ctx()
        };
        assert!(matches!(resolve(&moved, &r), Decision::Pass));
        let edited = Region {
            ours: v(&[
                "EXPORT_PER_CPU_SYMBOL_GPL(__kmap_atomic_idx);",
                "unsigned int __nr_free_highpages(void)",
            ]),
            ..r
        };
        assert!(matches!(resolve(&ctx(), &edited), Decision::Pass));
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
