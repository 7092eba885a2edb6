//! Stage: deletion drift. The queue deletes a block (a Kconfig entry, a few statements) that
//! the target meanwhile edited a little: a `select` added to the entry, a line added inside the
//! block. The maintainer's answer is to delete the target's version of the block. Taken only
//! when the queue's change to the region is that one deletion, the target's edits inside the
//! block are indented additions that belong to it (for C, each naming something the block
//! names; for a Kconfig entry matched by its `config NAME` line, any edit of its attributes),
//! and nothing the target changed touches the block's edges (then whose it is is unclear).

use std::collections::BTreeSet;
use std::ops::Range;

use super::{words::hunks, Confidence, Context, Decision, Region};

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    let queue = hunks(&r.base, &r.theirs);
    let [(del, repl)] = queue.as_slice() else {
        return Decision::Pass;
    };
    if del.is_empty() || !repl.is_empty() {
        return Decision::Pass;
    }
    let kconfig = ctx
        .path
        .rsplit('/')
        .next()
        .is_some_and(|f| f.starts_with("Kconfig"));
    // The entry a Kconfig deletion starts with, which the target must still have as is.
    let entry = kconfig.then(|| config_name(&r.base[del.start])).flatten();
    let block_names = names(&r.base[del.clone()]);
    let mut dropped = Vec::new();
    let mut kept: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for (old, new) in hunks(&r.base, &r.ours) {
        let added = &r.ours[new.clone()];
        let inside = if old.is_empty() {
            del.start < old.start && old.start < del.end
                || kconfig && old.start == del.end && attribute_of_entry(&r.base[..del.end], added)
        } else {
            entry.is_some() && del.start < old.start && old.end <= del.end
        };
        let outside = if old.is_empty() {
            old.start < del.start || old.start > del.end
        } else {
            old.end <= del.start || old.start >= del.end
        };
        if inside {
            if let Some(line) = added.iter().find(|l| !belongs(l, kconfig, &block_names)) {
                return Decision::Refuse(format!(
                    "the queue deletes lines the target added `{}` to, which may not be part of what the queue removes",
                    line.trim()
                ));
            }
            dropped.extend(added.iter().map(|l| l.trim().to_string()));
        } else if outside {
            kept.push((old, new));
        } else {
            return Decision::Pass;
        }
    }
    if dropped.is_empty() {
        return Decision::Pass;
    }
    // The target's text with its version of the block left out.
    let mut lines = Vec::new();
    let mut at = 0;
    let mut changes: Vec<(Range<usize>, &[String])> = kept
        .iter()
        .map(|(o, n)| (o.clone(), &r.ours[n.clone()]))
        .collect();
    changes.push((del.clone(), &[]));
    changes.sort_by_key(|(o, _)| (o.start, o.end));
    for (old, text) in changes {
        lines.extend_from_slice(&r.base[at..old.start]);
        lines.extend_from_slice(text);
        at = old.end;
    }
    lines.extend_from_slice(&r.base[at..]);
    let what = match &entry {
        Some(name) => format!("the Kconfig entry `{name}`"),
        None => format!("{} line(s)", del.len()),
    };
    Decision::Resolve {
        lines,
        confidence: Confidence::Medium,
        detail: format!(
            "the queue deletes {what}; the target's version, which also has `{}`, is deleted",
            dropped.join("`, `")
        ),
    }
}

/// `NAME` of a `config NAME` or `menuconfig NAME` line.
fn config_name(line: &str) -> Option<String> {
    let mut w = line.split_whitespace();
    match w.next() {
        Some("config" | "menuconfig") => w.next().map(str::to_string),
        _ => None,
    }
}

/// Lines added at the end of a Kconfig block that extend its last entry (indented attributes,
/// the block's last line being one too).
fn attribute_of_entry(block: &[String], added: &[String]) -> bool {
    let indented = |l: &String| l.starts_with([' ', '\t']) && !l.trim().is_empty();
    block.last().is_some_and(indented) && added.iter().all(indented)
}

/// Whether a line the target added inside the deleted block is part of it: indented (not a new
/// declaration or entry) and, in C, naming something the block names.
fn belongs(line: &str, kconfig: bool, block_names: &BTreeSet<String>) -> bool {
    if line.trim().is_empty() {
        return true;
    }
    if !line.starts_with([' ', '\t']) {
        return false;
    }
    kconfig
        || names(&[line.to_string()])
            .iter()
            .any(|n| block_names.contains(n))
}

fn names(lines: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in lines {
        for w in l.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            {
                out.insert(w.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{resolved, v};
    use super::*;

    fn run(path: &str, ours: &[&str], base: &[&str], theirs: &[&str]) -> Decision {
        super::super::testing::run(resolve, path, "", [ours, base, theirs])
    }

    #[test]
    fn a_kconfig_entry_the_target_added_a_select_to() {
        let d = run(
            "drivers/irqchip/Kconfig",
            &[
                "config OLD_GIC",
                "\tbool",
                "\tselect IRQ_DOMAIN",
                "\tselect GENERIC_IRQ_CHIP",
                "",
                "config NEXT",
            ],
            &[
                "config OLD_GIC",
                "\tbool",
                "\tselect IRQ_DOMAIN",
                "",
                "config NEXT",
            ],
            &["config NEXT"],
        );
        let (lines, _, detail) = resolved(d);
        assert_eq!(lines, v(&["config NEXT"]));
        assert!(detail.contains("`OLD_GIC`"), "{detail}");
        assert!(detail.contains("select GENERIC_IRQ_CHIP"), "{detail}");
    }

    #[test]
    fn a_kconfig_entry_whose_attributes_the_target_changed() {
        let d = run(
            "Kconfig",
            &[
                "config OLD",
                "\tbool \"old\"",
                "\tdepends on X86 || ARM64",
                "",
                "config NEXT",
            ],
            &[
                "config OLD",
                "\tbool \"old\"",
                "\tdepends on X86",
                "",
                "config NEXT",
            ],
            &["config NEXT"],
        );
        assert!(matches!(d, Decision::Resolve { .. }));
    }

    #[test]
    fn a_c_block_with_an_added_line_about_the_same_thing() {
        let d = run(
            "kernel/irq.c",
            &[
                "\told_setup(desc);",
                "\told_wait(desc, 1);",
                "\told_flush(desc);",
                "\treturn 0;",
            ],
            &["\told_setup(desc);", "\told_flush(desc);", "\treturn 0;"],
            &["\treturn 0;"],
        );
        assert_eq!(resolved(d).0, v(&["\treturn 0;"]));
    }

    #[test]
    fn unrelated_or_top_level_additions_are_refused() {
        let d = run(
            "kernel/irq.c",
            &[
                "\told_setup(desc);",
                "\tkick_watchdog();",
                "\told_flush(desc);",
                "\treturn 0;",
            ],
            &["\told_setup(desc);", "\told_flush(desc);", "\treturn 0;"],
            &["\treturn 0;"],
        );
        assert!(matches!(d, Decision::Refuse(_)));
        let d = run(
            "drivers/Kconfig",
            &[
                "config OLD",
                "\tbool",
                "config NEW_ONE",
                "\tbool",
                "",
                "config NEXT",
            ],
            &["config OLD", "\tbool", "", "config NEXT"],
            &["config NEXT"],
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn an_addition_at_the_edge_of_the_deleted_block_passes() {
        let d = run(
            "kernel/irq.c",
            &[
                "\tnew_first(desc);",
                "\told_setup(desc);",
                "\told_flush(desc);",
                "\treturn 0;",
            ],
            &["\told_setup(desc);", "\told_flush(desc);", "\treturn 0;"],
            &["\treturn 0;"],
        );
        assert!(matches!(d, Decision::Pass));
    }
}
