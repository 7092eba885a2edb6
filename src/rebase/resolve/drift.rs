//! Stage: deletion drift. The queue deletes a block (a Kconfig entry, a few statements) that
//! the target meanwhile edited a little: a `select` added to the entry, a line added inside the
//! block. The maintainer's answer is to delete the target's version of the block. Taken only
//! when the queue's change to the region is that one deletion, the target's edits inside the
//! block are indented additions that belong to it (for C, each naming something the block
//! names; for a Kconfig entry matched by its `config NAME` line, any edit of its attributes),
//! and nothing the target changed touches the block's edges (then whose it is is unclear).
//! Also: the queue deletes messages the target only reworded, one for one (see [`reworded`]).

use std::collections::BTreeSet;
use std::ops::Range;

use super::{words::hunks, Confidence, Context, Decision, Region};

/// Lines at least this similar (by characters, as `similar` rates them) are one line edited,
/// not one line replaced by another.
const REWORDED: f32 = 0.5;

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if let Some(d) = reworded(r) {
        return d;
    }
    let queue = hunks(&r.base, &r.theirs);
    let [(del, repl)] = queue.as_slice() else {
        return Decision::Pass;
    };
    if del.is_empty() || !repl.is_empty() {
        return Decision::Pass;
    }
    let kconfig = crate::syntax::kconfig::is_kconfig_path(ctx.path);
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
            // An entry added to a list the queue deletes whole (`!.rustfmt.toml` after
            // `!.mailmap`) is like its neighbour: part of the list.
            let neighbour = old.start.checked_sub(1).map(|b| r.base[b].as_str());
            let part = |l: &String| {
                belongs(l, kconfig, &block_names)
                    || old.is_empty() && neighbour.is_some_and(|n| sibling(l, n))
            };
            if let Some(line) = added.iter().find(|l| !part(l)) {
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

/// The queue deletes messages the target only reworded (`snd_printk(KERN_ERR "...")` now
/// `dev_err(dev, "...")`): each target edit is one line for one, similar to the base line and
/// printing the same message, and that base line is one the queue deletes outright (none of
/// the queue's lines in its place is like it). The queue's version is the answer; the rewording goes with the line.
fn reworded(r: &Region) -> Option<Decision> {
    let ours = hunks(&r.base, &r.ours);
    if ours.is_empty() {
        return None;
    }
    let mut deleted = vec![false; r.base.len()];
    for (del, repl) in hunks(&r.base, &r.theirs) {
        for b in del {
            let like = |t: &String| {
                similar::TextDiff::from_chars(r.base[b].trim(), t.trim()).ratio() >= REWORDED
            };
            deleted[b] = !r.theirs[repl.clone()].iter().any(like);
        }
    }
    let mut pairs = Vec::new();
    for (old, new) in ours {
        if old.len() != new.len() {
            return None;
        }
        for (b, o) in old.zip(new) {
            let (was, now) = (r.base[b].trim(), r.ours[o].trim());
            let alike = similar::TextDiff::from_chars(was, now).ratio() >= REWORDED;
            if !deleted[b] || !alike || !same_message(was, now) {
                return None;
            }
            pairs.push(now.to_string());
        }
    }
    Some(Decision::Resolve {
        lines: r.theirs.clone(),
        confidence: Confidence::Medium,
        detail: format!(
            "the queue deletes line(s) the target only reworded (now `{}`): they are deleted as the queue wants",
            pairs.join("`, `")
        ),
    })
}

/// Whether two lines print the same message: a string literal of at least 8 characters
/// both have. What else changed (`snd_printk(KERN_ERR` → `dev_err(dev`) is how it is
/// printed; a changed condition, guard or call without a message is not a rewording.
fn same_message(a: &str, b: &str) -> bool {
    fn literals(l: &str) -> Vec<&str> {
        l.split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| s.len() >= 8)
            .collect()
    }
    let theirs = literals(b);
    literals(a).iter().any(|s| theirs.contains(s))
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

/// Lines of one list: the same indentation and the same leading punctuation (`!.`, `&`,
/// `#include `), or, with none, the same first word.
fn sibling(line: &str, other: &str) -> bool {
    fn shape(l: &str) -> (&str, &str, &str) {
        let body = l.trim_start();
        let indent = &l[..l.len() - body.len()];
        let text = body.trim_end();
        let punct_end = text
            .find(|c: char| c.is_alphanumeric() || c == '_')
            .unwrap_or(text.len());
        let punct = &text[..punct_end];
        let word = if punct.is_empty() {
            text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
        } else {
            ""
        };
        (indent, punct, word)
    }
    let (a, b) = (shape(line), shape(other));
    !line.trim().is_empty() && a == b && !(a.1.is_empty() && a.2.is_empty())
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
    fn an_entry_the_target_added_to_a_list_the_queue_deletes_goes_with_it() {
        let d = run(
            ".gitignore",
            &[
                "#",
                "# We don't want to ignore the following even if they are dot-files",
                "#",
                "!.clang-format",
                "!.mailmap",
                "!.rustfmt.toml",
                "",
                "#",
            ],
            &[
                "#",
                "# We don't want to ignore the following even if they are dot-files",
                "#",
                "!.clang-format",
                "!.mailmap",
                "",
                "#",
            ],
            &["#"],
        );
        let (lines, _, detail) = resolved(d);
        assert_eq!(lines, v(&["#"]));
        assert!(detail.contains("!.rustfmt.toml"), "{detail}");
        // A line unlike its neighbour is not part of the list.
        let d = run(
            ".gitignore",
            &["!.clang-format", "!.mailmap", "/vmlinux", "", "#"],
            &["!.clang-format", "!.mailmap", "", "#"],
            &["#"],
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn a_line_the_target_reworded_is_deleted_as_the_queue_wants() {
        let d = run(
            "sound/isa/wavefront/wavefront_synth.c",
            &[
                "\tif (err < 0) {",
                "\t\tdev_err(dev->card->dev, \"firmware (%s) download failed!!!\\n\", path);",
            ],
            &[
                "\tif (err < 0) {",
                "\t\tsnd_printk(KERN_ERR \"firmware (%s) download failed!!!\\n\", path);",
            ],
            &["\tif (err)"],
        );
        let (lines, confidence, detail) = resolved(d);
        assert_eq!(lines, v(&["\tif (err)"]));
        assert_eq!(confidence, Confidence::Medium);
        assert!(detail.contains("dev_err"), "{detail}");
    }

    #[test]
    fn a_reworded_line_the_queue_keeps_or_a_rewritten_one_is_not_taken() {
        // A guard or a call the target changed is not a message reworded.
        let d = run(
            "arch/arm/include/asm/spinlock_types.h",
            &[
                "#ifndef __LINUX_SPINLOCK_TYPES_RAW_H",
                "# error \"please don't include this file directly\"",
            ],
            &[
                "#ifndef __LINUX_SPINLOCK_TYPES_H",
                "# error \"please don't include this file directly\"",
            ],
            &[],
        );
        assert!(!matches!(d, Decision::Resolve { .. }));
        let d = run(
            "kernel/printk/printk.c",
            &["\tlocal_irq_save(flags);", "\tflush(buf);"],
            &["\tprintk_safe_enter_irqsave(flags);", "\tflush(buf);"],
            &["\tflush(buf);"],
        );
        assert!(!matches!(d, Decision::Resolve { .. }));
        // The queue edits the line the target reworded (not a deletion): a real conflict.
        let d = run(
            "drivers/x.c",
            &["\tdev_err(dev, \"failed\\n\");"],
            &["\tpr_err(\"failed\\n\");"],
            &["\tpr_err(\"failed: %d\\n\", err);"],
        );
        assert!(!matches!(d, Decision::Resolve { .. }));
        // The target replaced the deleted line with something else entirely.
        let d = run(
            "drivers/x.c",
            &["\tif (err < 0) {", "\t\treturn recover_the_device(dev);"],
            &["\tif (err < 0) {", "\t\tpr_err(\"failed\\n\");"],
            &["\tif (err)"],
        );
        assert!(!matches!(d, Decision::Resolve { .. }));
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
