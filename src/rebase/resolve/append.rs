//! Stage 5: both sides appended lines at the end of the file (a new function, an export, a
//! comment), which git cannot order. The end of a file is an anchor of its own: the target's
//! lines come first and the queue's follow, as if the queue had appended to the new file.
//! Refused when the two additions share a line, where concatenating would duplicate it.

use super::{blank, meaningful, norm, Confidence, Context, Decision, Region};

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if !ctx.at_end || !blank(&r.base) || blank(&r.ours) || blank(&r.theirs) {
        return Decision::Pass;
    }
    if let Some(shared) = r
        .theirs
        .iter()
        .filter(|l| meaningful(l))
        .find(|t| r.ours.iter().any(|o| norm(o) == norm(t)))
    {
        return Decision::Refuse(format!(
            "both sides appended `{}` at the end of the file; merge the two additions by hand",
            norm(shared)
        ));
    }
    let mut lines = r.ours.clone();
    let glued = lines.last().is_some_and(|l| !l.trim().is_empty())
        && r.theirs.first().is_some_and(|l| !l.trim().is_empty());
    if glued {
        lines.push("\n".to_string());
    }
    lines.extend(r.theirs.iter().cloned());
    Decision::Resolve {
        lines,
        confidence: Confidence::Medium,
        detail: format!(
            "both sides appended at the end of the file: the target's {} line(s) first, then the queue's {}",
            r.ours.len(),
            r.theirs.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_inclusive('\n').map(str::to_string).collect()
    }

    fn run(at_end: bool, ours: &str, theirs: &str) -> Decision {
        let ctx = Context {
            path: "kernel/x.c",
            before: String::new(),
            after: String::new(),
            at_end,
            target: None,
        };
        resolve(
            &ctx,
            &Region {
                ours: v(ours),
                base: vec![],
                theirs: v(theirs),
            },
        )
    }

    #[test]
    fn the_queues_lines_follow_the_targets_at_the_end() {
        let Decision::Resolve { lines, .. } = run(true, "\treturn 0;\n}\n", "/* queue */\n") else {
            panic!("appended");
        };
        assert_eq!(lines.concat(), "\treturn 0;\n}\n\n/* queue */\n");
        assert!(
            matches!(run(false, "a();\n", "b();\n"), Decision::Pass),
            "not at the end"
        );
    }

    #[test]
    fn a_shared_line_is_refused() {
        let d = run(
            true,
            "EXPORT_SYMBOL(foo);\nint a;\n",
            "EXPORT_SYMBOL(foo);\nint b;\n",
        );
        assert!(matches!(d, Decision::Refuse(r) if r.contains("EXPORT_SYMBOL(foo);")));
    }
}
