//! Stage: the queue adds `#include` lines next to includes the target rewrote (a header
//! renamed, the file's head reorganised when it moved). Which include line the queue's were
//! next to no longer exists, but where includes go does: the queue's lines go before the
//! target's first include line of the region when they were at its start, after its last one
//! when they were at its end. Headers the file already includes are not added twice.

use super::words::hunks;
use super::{Confidence, Context, Decision, Region};

fn include(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    rest.strip_prefix("include").map(str::trim)
}

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    let queue = hunks(&r.base, &r.theirs);
    let [(del, add)] = queue.as_slice() else {
        return Decision::Pass;
    };
    let added = &r.theirs[add.clone()];
    if !del.is_empty() || added.iter().any(|l| include(l).is_none()) {
        return Decision::Pass;
    }
    let at_start = del.start == 0;
    let at_end = del.start == r.base.len();
    if !(at_start || at_end) || r.ours.iter().all(|l| include(l).is_none()) {
        return Decision::Pass;
    }
    // The target's includes next to where the queue's go: the first or the last of the region.
    let at = if at_start {
        match r.ours.first() {
            Some(l) if include(l).is_some() => 0,
            _ => return Decision::Pass,
        }
    } else {
        match r.ours.last() {
            Some(l) if include(l).is_some() => r.ours.len(),
            _ => return Decision::Pass,
        }
    };
    let file_has = |header: &str| {
        ctx.before
            .lines()
            .chain(r.ours.iter().map(String::as_str))
            .chain(ctx.after.lines())
            .any(|l| include(l) == Some(header))
    };
    let new: Vec<&String> = added
        .iter()
        .filter(|l| include(l).is_some_and(|h| !file_has(h)))
        .collect();
    let mut lines = r.ours.clone();
    lines.splice(at..at, new.iter().map(|l| l.to_string()));
    let names: Vec<&str> = new.iter().filter_map(|l| include(l)).collect();
    let detail = if names.is_empty() {
        "the queue's #include lines are all in the target's file already".to_string()
    } else {
        format!(
            "the target rewrote the includes around the queue's {}; added {} the target's {} include line of the region",
            names.join(", "),
            if at_start { "before" } else { "after" },
            if at_start { "first" } else { "last" },
        )
    };
    Decision::Resolve {
        lines,
        confidence: Confidence::Medium,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{resolved, v};
    use super::*;

    fn run(ours: &[&str], base: &[&str], theirs: &[&str]) -> Decision {
        super::super::testing::run(resolve, "kernel/module/signing.c", "", [ours, base, theirs])
    }

    #[test]
    fn includes_added_before_a_renamed_header_go_before_the_targets_first() {
        let d = run(
            &[
                "#include <uapi/linux/module.h>",
                "#include \"internal.h\"",
                "",
                "static bool sig_enforce;",
            ],
            &["#include \"module-internal.h\""],
            &[
                "#include <crypto/hash.h>",
                "#include <keys/system_keyring.h>",
                "#include \"module-internal.h\"",
            ],
        );
        let (lines, confidence, detail) = resolved(d);
        assert_eq!(
            lines,
            v(&[
                "#include <crypto/hash.h>",
                "#include <keys/system_keyring.h>",
                "#include <uapi/linux/module.h>",
                "#include \"internal.h\"",
                "",
                "static bool sig_enforce;",
            ])
        );
        assert_eq!(confidence, Confidence::Medium);
        assert!(detail.contains("<crypto/hash.h>"), "{detail}");
    }

    #[test]
    fn includes_added_at_the_end_go_after_the_targets_last() {
        let (lines, _, _) = resolved(run(
            &["#include <linux/a.h>", "#include <linux/b2.h>"],
            &["#include <linux/b.h>"],
            &["#include <linux/b.h>", "#include <linux/c.h>"],
        ));
        assert_eq!(
            lines,
            v(&[
                "#include <linux/a.h>",
                "#include <linux/b2.h>",
                "#include <linux/c.h>"
            ])
        );
    }

    #[test]
    fn a_header_the_file_already_includes_is_not_added_twice() {
        let (lines, _, detail) = resolved(run(
            &["#include <linux/a.h>", "#include <crypto/hash.h>"],
            &["#include <linux/old.h>"],
            &["#include <crypto/hash.h>", "#include <linux/old.h>"],
        ));
        assert_eq!(
            lines,
            v(&["#include <linux/a.h>", "#include <crypto/hash.h>"])
        );
        assert!(detail.contains("already"), "{detail}");
    }

    #[test]
    fn anything_but_include_lines_passes() {
        // Code added with the include, an insertion in the middle, or no include next to it.
        let ours = ["#include <linux/a.h>", "int x;"];
        for theirs in [
            &["#include <linux/c.h>", "int y;", "#include <linux/old.h>"][..],
            &[
                "#include <linux/old.h>",
                "#include <linux/c.h>",
                "#include <linux/old2.h>",
            ][..],
        ] {
            let base: &[&str] = if theirs.len() == 3 && theirs[2].ends_with("old2.h>") {
                &["#include <linux/old.h>", "#include <linux/old2.h>"]
            } else {
                &["#include <linux/old.h>"]
            };
            assert!(
                matches!(run(&ours, base, theirs), Decision::Pass),
                "{theirs:?}"
            );
        }
        let d = run(
            &["int x;", "#include <linux/a.h>"],
            &["#include <linux/old.h>"],
            &["#include <linux/c.h>", "#include <linux/old.h>"],
        );
        assert!(matches!(d, Decision::Pass));
    }
}
