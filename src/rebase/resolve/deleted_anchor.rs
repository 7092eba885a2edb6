//! Stage: insertion at a deleted anchor. The queue inserted lines next to lines the target then
//! deleted (both neighbours of the insertion point gone, so re-anchoring has nothing to hold
//! on to). The lines go where the deleted ones were, but only when that place is still the same
//! place: the deleted lines opened or closed no block and no `#if` (else the insertion would
//! change scope), the enclosing C function or Kconfig entry is the same before and after, and
//! every name the inserted lines use still resolves in the target ([`names::unresolved`]).
//! In prose (documentation text) no line opens a scope and none names code: the place is the
//! same when the lines before and after it are indented as they were around the insertion.

use similar::{Algorithm, DiffOp};

use super::{names, norm, reanchor, Confidence, Context, Decision, Region};

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if super::blank(&r.base) {
        return Decision::Pass;
    }
    let Some((lo, hi)) = reanchor::insertion(&r.base, &r.theirs) else {
        return Decision::Pass;
    };
    let b: Vec<&str> = r.base.iter().map(|l| norm(l)).collect();
    let o: Vec<&str> = r.ours.iter().map(|l| norm(l)).collect();
    // For each base line the target deleted: where it was in the target's text, and the
    // deleted run it belongs to. Unchanged and rewritten lines are re-anchoring's business.
    let mut gone: Vec<Option<(usize, std::ops::Range<usize>)>> = vec![None; b.len()];
    for op in similar::capture_diff_slices(Algorithm::Myers, &b, &o) {
        if let DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } = op
        {
            for g in &mut gone[old_index..old_index + old_len] {
                *g = Some((new_index, old_index..old_index + old_len));
            }
        }
    }
    let mut place: Option<(usize, usize, std::ops::Range<usize>)> = None;
    for k in lo..=hi {
        let neighbours = [k.checked_sub(1), (k < b.len()).then_some(k)];
        let mut here = None;
        for i in neighbours.into_iter().flatten() {
            let Some((at, run)) = gone[i].clone() else {
                return Decision::Pass;
            };
            if here.as_ref().is_some_and(|(a, _)| *a != at) {
                return Decision::Pass;
            }
            here = Some((at, run));
        }
        let Some((at, run)) = here else {
            return Decision::Pass;
        };
        match &place {
            Some((_, p, _)) if *p != at => {
                return Decision::Refuse(
                    "two places where the deleted anchor lines were; place the insertion by hand"
                        .into(),
                )
            }
            Some(_) => {}
            None => place = Some((k, at, run)),
        }
    }
    let Some((k, at, run)) = place else {
        return Decision::Pass;
    };
    let n_ins = r.theirs.len() - r.base.len();
    let block = &r.theirs[k..k + n_ins];
    if !block.iter().any(|l| super::meaningful(l)) {
        // A blank line or a lone brace: nothing worth placing by guess.
        return Decision::Pass;
    }
    if crate::syntax::is_prose_path(ctx.path) {
        return place_in_prose(ctx, r, k, at, block, &run);
    }
    let kconfig = crate::syntax::kconfig::is_kconfig_path(ctx.path);
    if let Some(line) = r.base[run.clone()]
        .iter()
        .find(|l| opens_or_closes(l, kconfig))
    {
        return Decision::Refuse(format!(
            "the target deleted `{}` next to the insertion: placing it there would change its scope",
            line.trim()
        ));
    }
    let was = format!("{}{}", ctx.before, r.base[..k].concat());
    let now = format!("{}{}", ctx.before, r.ours[..at].concat());
    let (scope_was, scope_now) = if kconfig {
        (kconfig_entry(&was), kconfig_entry(&now))
    } else {
        (
            crate::syntax::c::enclosing(ctx.path, &was),
            crate::syntax::c::enclosing(ctx.path, &now),
        )
    };
    if scope_was != scope_now {
        return Decision::Refuse(format!(
            "the insertion was in {} and would land in {}",
            scope(&scope_was),
            scope(&scope_now)
        ));
    }
    let Some(missing) = names::unresolved(ctx, block, &r.theirs) else {
        return Decision::Pass;
    };
    if !missing.is_empty() {
        return Decision::Refuse(format!(
            "its anchor line was deleted, and the inserted lines use `{}`, which the target does not define",
            missing.join("`, `")
        ));
    }
    let mut lines = r.ours.clone();
    for (i, l) in block.iter().enumerate() {
        lines.insert(at + i, l.clone());
    }
    let mut detail = format!(
        "the queue's {n_ins} line(s) were inserted next to `{}`, which the target deleted; placed where it was (every name they use resolves in the target)",
        r.base[run.start].trim()
    );
    if let Some(s) = scope_now {
        detail.push_str(&format!(" (inside `{s}`)"));
    }
    Decision::Resolve {
        lines,
        confidence: Confidence::Medium,
        detail,
    }
}

/// The prose case of [`resolve`]: the neighbours' indentation stands in for the scope (an
/// option's description, a list item, a table row keep their level).
fn place_in_prose(
    ctx: &Context<'_>,
    r: &Region,
    k: usize,
    at: usize,
    block: &[String],
    run: &std::ops::Range<usize>,
) -> Decision {
    let before = |own: &[String], i: usize| {
        own[..i]
            .iter()
            .map(String::as_str)
            .rev()
            .chain(ctx.before.lines().rev())
            .find(|l| !l.trim().is_empty())
            .map(|l| indent(l).to_string())
    };
    let after = |own: &[String], i: usize| {
        own[i..]
            .iter()
            .map(String::as_str)
            .chain(ctx.after.lines())
            .find(|l| !l.trim().is_empty())
            .map(|l| indent(l).to_string())
    };
    let n_ins = block.len();
    let was = (before(&r.theirs, k), after(&r.theirs, k + n_ins));
    let now = (before(&r.ours, at), after(&r.ours, at));
    if was != now {
        return Decision::Refuse(
            "its anchor lines were deleted, and the lines around where they were are indented otherwise: place it by hand".into(),
        );
    }
    let mut lines = r.ours.clone();
    for (i, l) in block.iter().enumerate() {
        lines.insert(at + i, l.clone());
    }
    Decision::Resolve {
        lines,
        confidence: Confidence::Medium,
        detail: format!(
            "the queue's {n_ins} line(s) were inserted next to `{}`, which the target deleted; placed where it was, between lines indented as before (documentation text)",
            r.base[run.start].trim()
        ),
    }
}

/// A line's leading blanks.
fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

fn scope(s: &Option<String>) -> String {
    s.as_ref()
        .map_or("the top level".to_string(), |s| format!("`{s}`"))
}

/// A line whose removal changes what the lines around it belong to.
fn opens_or_closes(line: &str, kconfig: bool) -> bool {
    let t = line.trim();
    if kconfig {
        // Only attribute lines of an entry (indented) may go.
        return !line.starts_with([' ', '\t']) && !t.is_empty();
    }
    let first = t
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
        .next()
        .unwrap_or("");
    t.contains(['{', '}'])
        || t.starts_with('#') && !t.starts_with("#include") && !t.starts_with("#define")
        || matches!(
            first,
            "if" | "else"
                | "for"
                | "while"
                | "do"
                | "switch"
                | "case"
                | "default"
                | "return"
                | "goto"
                | "break"
                | "continue"
        )
        || t.ends_with(':')
}

/// The Kconfig entry the end of `text` is in.
fn kconfig_entry(text: &str) -> Option<String> {
    let last = text
        .lines()
        .rev()
        .find(|l| !l.is_empty() && !l.starts_with([' ', '\t']))?;
    let mut w = last.split_whitespace();
    match w.next() {
        Some("config" | "menuconfig") => w.next().map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{resolved, v};
    use super::*;

    fn run(path: &str, before: &str, ours: &[&str], base: &[&str], theirs: &[&str]) -> Decision {
        super::super::testing::run(resolve, path, before, [ours, base, theirs])
    }

    const HEAD: &str = "static int oob_count;\n\nstatic void oob_sync(int cpu);\n\nvoid irq_enter(int cpu)\n{\n\tstruct irq_desc *desc;\n";

    #[test]
    fn placed_where_the_deleted_line_was() {
        let d = run(
            "kernel/irq.c",
            HEAD,
            &["\tcount();", "\tleave();"],
            &["\tcount();", "\told_hook();", "\tleave();"],
            &[
                "\tcount();",
                "\told_hook();",
                "\toob_sync(cpu);",
                "\tleave();",
            ],
        );
        // `old_hook` deleted; both its neighbours unchanged: re-anchoring's case.
        assert!(matches!(d, Decision::Pass));
        let d = run(
            "kernel/irq.c",
            HEAD,
            &["\tcount_all();"],
            &["\told_hook(desc);", "\tcount();"],
            &["\told_hook(desc);", "\toob_sync(cpu);", "\tcount();"],
        );
        assert!(matches!(d, Decision::Pass), "the line after was rewritten");
        let d = run(
            "kernel/irq.c",
            HEAD,
            &[],
            &["\told_hook(desc);", "\told_count();"],
            &["\told_hook(desc);", "\toob_sync(cpu);", "\told_count();"],
        );
        let (lines, confidence, detail) = resolved(d);
        assert_eq!(lines, v(&["\toob_sync(cpu);"]));
        assert_eq!(confidence, Confidence::Medium);
        assert!(detail.contains("irq_enter"), "{detail}");
    }

    #[test]
    fn refused_when_a_name_no_longer_resolves() {
        let d = run(
            "kernel/irq.c",
            HEAD,
            &[],
            &["\told_hook(desc);", "\told_count();"],
            &["\told_hook(desc);", "\toob_flush(desc);", "\told_count();"],
        );
        match d {
            Decision::Refuse(why) => assert!(why.contains("`oob_flush`"), "{why}"),
            _ => panic!("should refuse"),
        }
    }

    #[test]
    fn refused_when_the_deleted_lines_held_a_block() {
        let d = run(
            "kernel/irq.c",
            HEAD,
            &[],
            &["\tif (desc) {", "\t\told_hook(desc);", "\t}"],
            &[
                "\tif (desc) {",
                "\t\told_hook(desc);",
                "\t\toob_sync(cpu);",
                "\t}",
            ],
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn prose_goes_where_the_deleted_lines_were_when_the_levels_match() {
        // kernel-parameters.txt: upstream deleted an option the queue inserted before.
        let before = "\t\tigfx_off [Default Off]\n\t\t\tBypass the DMAR unit.\n";
        let after = "\t\tstrict [Default Off]\n\t\t\tDeprecated.\n";
        let ctx = |after: &str| Context {
            path: "Documentation/admin-guide/kernel-parameters.txt",
            before: before.into(),
            after: after.into(),
            at_end: false,
            target: None,
        };
        let region = Region {
            ours: vec![],
            base: v(&[
                "\t\tforcedac [X86-64]",
                "\t\t\tWith this option iommu will not look",
                "\t\t\tfor io virtual addresses below 32-bit.",
            ]),
            theirs: v(&[
                "\t\tintgpu_off [Default Off]",
                "\t\t\tBypass the DMAR unit for an integrated GPU only.",
                "\t\tforcedac [X86-64]",
                "\t\t\tWith this option iommu will not look",
                "\t\t\tfor io virtual addresses below 32-bit.",
            ]),
        };
        let (lines, confidence, detail) = resolved(resolve(&ctx(after), &region));
        assert_eq!(lines, region.theirs[..2].to_vec());
        assert_eq!(confidence, Confidence::Medium);
        assert!(detail.contains("forcedac"), "{detail}");
        // The next line is now a paragraph of another level: not the same place.
        let other = "Another section\n";
        assert!(matches!(resolve(&ctx(other), &region), Decision::Refuse(_)));
    }

    #[test]
    fn kconfig_attribute_next_to_a_deleted_one() {
        let before = "config IRQ_PIPELINE\n\tbool\n\nconfig X86\n\tdef_bool y\n";
        let d = run(
            "arch/x86/Kconfig",
            before,
            &[],
            &["\tselect OLD_THING"],
            &["\tselect OLD_THING", "\tselect IRQ_PIPELINE"],
        );
        let (lines, _, detail) = resolved(d);
        assert_eq!(lines, v(&["\tselect IRQ_PIPELINE"]));
        assert!(detail.contains("X86"), "{detail}");
        let d = run(
            "arch/x86/Kconfig",
            before,
            &[],
            &["\tselect OLD_THING"],
            &["\tselect OLD_THING", "\tselect GONE_SYMBOL"],
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }
}
