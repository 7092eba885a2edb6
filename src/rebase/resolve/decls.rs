//! Stage 4: per-declaration merge of C. When each version of the region is a run of whole
//! top-level declarations (functions, structs, variables, prototypes), the versions are
//! matched by declaration name: a declaration changed on one side only takes that side, new
//! declarations from both sides are kept (the queue's after their queue-side neighbour), and a
//! declaration changed differently on both sides is refused. The split into declarations is
//! the C front end's ([`crate::syntax::c::split_top_level`]).

use crate::syntax::c::{is_c_path, split_top_level as split, Unit};

use super::{norm, Confidence, Context, Decision, Region};

fn same(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| norm(x) == norm(y))
}

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if !is_c_path(ctx.path) {
        return Decision::Pass;
    }
    let base = if super::blank(&r.base) {
        Some(Vec::new())
    } else {
        split(&r.base)
    };
    let (Some(base), Some(ours), Some(theirs)) = (base, split(&r.ours), split(&r.theirs)) else {
        return Decision::Pass;
    };
    let find = |v: &[Unit], n: &str| v.iter().position(|u| u.name == n);
    let mut result = ours.clone();
    let mut taken_theirs = 0;
    let mut added = 0;
    for Unit { name, lines: b } in &base {
        let (o, t) = (find(&ours, name), find(&theirs, name));
        match (o, t) {
            (Some(o), Some(t)) => {
                let (ol, tl) = (&ours[o].lines, &theirs[t].lines);
                if same(tl, b) || same(ol, tl) {
                    continue;
                }
                if same(ol, b) {
                    let at = find(&result, name).expect("from ours");
                    result[at].lines = tl.clone();
                    taken_theirs += 1;
                } else {
                    return Decision::Refuse(format!(
                        "`{name}` was changed on both sides; merge it by hand"
                    ));
                }
            }
            (Some(o), None) => {
                if !same(&ours[o].lines, b) {
                    return Decision::Refuse(format!(
                        "the queue removes `{name}`, which the target changed"
                    ));
                }
                let at = find(&result, name).expect("from ours");
                result.remove(at);
                taken_theirs += 1;
            }
            (None, Some(t)) => {
                if !same(&theirs[t].lines, b) {
                    return Decision::Refuse(format!(
                        "the queue changes `{name}`, which the target removed or renamed"
                    ));
                }
            }
            (None, None) => {}
        }
    }
    for (j, Unit { name, lines: tl }) in theirs.iter().enumerate() {
        if find(&base, name).is_some() {
            continue;
        }
        if let Some(o) = find(&result, name) {
            if same(&result[o].lines, tl) {
                continue;
            }
            return Decision::Refuse(format!(
                "both sides added `{name}`, differently; merge it by hand"
            ));
        }
        let at = theirs[..j]
            .iter()
            .rev()
            .find_map(|u| find(&result, &u.name))
            .map(|i| i + 1)
            .unwrap_or(result.len());
        let mut block = tl.clone();
        // Keep declarations apart when the queue's block was glued to a neighbour.
        if at > 0 && !block[0].trim().is_empty() {
            if let Some(prev) = result[at - 1].lines.last() {
                if !prev.trim().is_empty() {
                    block.insert(0, "\n".to_string());
                }
            }
        }
        result.insert(
            at,
            Unit {
                name: name.clone(),
                lines: block,
            },
        );
        added += 1;
    }
    if taken_theirs + added == 0 {
        return Decision::Pass;
    }
    Decision::Resolve {
        lines: result.into_iter().flat_map(|u| u.lines).collect(),
        confidence: Confidence::Medium,
        detail: format!(
            "different top-level declarations: {taken_theirs} changed/removed by the queue only, {added} added by the queue, merged per declaration"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_inclusive('\n').map(str::to_string).collect()
    }

    #[test]
    fn a_region_made_of_a_definition_that_ends_the_text() {
        // Seen on a real distribution queue: both added, different names, both kept.
        assert!(matches!(
            run("#define A 1\n", "", "#define B 1\n"),
            Decision::Resolve { .. }
        ));
    }

    fn run(ours: &str, base: &str, theirs: &str) -> Decision {
        let ctx = Context {
            path: "kernel/x.c",
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
    fn both_added_different_functions() {
        let d = run(
            "int up(void)\n{\n\treturn 1;\n}\n",
            "",
            "static void queue(void)\n{\n}\n",
        );
        match d {
            Decision::Resolve { lines, .. } => assert_eq!(
                lines.concat(),
                "int up(void)\n{\n\treturn 1;\n}\n\nstatic void queue(void)\n{\n}\n"
            ),
            _ => panic!("should resolve"),
        }
    }

    #[test]
    fn one_function_changed_on_each_side() {
        let base = "int a(void)\n{\n\treturn 1;\n}\nint b(void)\n{\n\treturn 2;\n}\n";
        let ours = "int a(void)\n{\n\treturn 10;\n}\nint b(void)\n{\n\treturn 2;\n}\n";
        let theirs = "int a(void)\n{\n\treturn 1;\n}\nint b(void)\n{\n\treturn 20;\n}\n";
        match run(ours, base, theirs) {
            Decision::Resolve { lines, .. } => assert_eq!(
                lines.concat(),
                "int a(void)\n{\n\treturn 10;\n}\nint b(void)\n{\n\treturn 20;\n}\n"
            ),
            _ => panic!("should resolve"),
        }
    }

    #[test]
    fn same_function_changed_on_both_sides_is_refused() {
        let base = "int a(void)\n{\n\treturn 1;\n}\n";
        let d = run(
            "int a(void)\n{\n\treturn 10;\n}\n",
            base,
            "int a(void)\n{\n\treturn 11;\n}\n",
        );
        assert!(matches!(d, Decision::Refuse(_)));
        let d = run("int a;\n", "", "long a;\n");
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn conditional_blocks_and_comments_are_units() {
        let ours = "\n#ifdef CONFIG_XEN_PV\nint xen_hook(void)\n{\n\treturn 0;\n}\n#endif\n";
        let theirs = "/* added by the queue */\n";
        let Decision::Resolve { lines, .. } = run(ours, "", theirs) else {
            panic!("both kept");
        };
        // Kept apart from the block before it by a blank line, as declarations are.
        assert_eq!(lines.concat(), format!("{ours}\n{theirs}"));
        // The same condition added twice, differently: refused.
        let other = "\n#ifdef CONFIG_XEN_PV\nint xen_other(void);\n#endif\n";
        assert!(
            matches!(run(ours, "", other), Decision::Refuse(r) if r.contains("#ifdef CONFIG_XEN_PV"))
        );
    }

    #[test]
    fn partial_code_passes() {
        assert!(matches!(
            run("\tx = 1;\n", "\tx = 0;\n", "\tx = 2;\n"),
            Decision::Pass
        ));
    }
}
