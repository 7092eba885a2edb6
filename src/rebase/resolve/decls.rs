//! Stage 4: per-declaration merge of C. When each version of the region is a run of whole
//! top-level declarations (functions, structs, variables, prototypes), the versions are
//! matched by declaration name: a declaration changed on one side only takes that side, new
//! declarations from both sides are kept (the queue's after their queue-side neighbour), and a
//! declaration changed differently on both sides is refused. Also gives the enclosing function
//! of a point, for the report.

use tree_sitter::{Node, Parser};

use super::{norm, Confidence, Context, Decision, Region};

fn is_c(path: &str) -> bool {
    path.ends_with(".c") || path.ends_with(".h")
}

fn parse(text: &str) -> Option<tree_sitter::Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_c::LANGUAGE.into()).ok()?;
    parser.parse(text, None)
}

/// The name a top-level declaration introduces.
fn decl_name(node: Node<'_>, src: &[u8]) -> Option<String> {
    fn declarator_name(mut n: Node<'_>, src: &[u8]) -> Option<String> {
        loop {
            match n.kind() {
                "identifier" | "type_identifier" | "field_identifier" => {
                    return n.utf8_text(src).ok().map(str::to_string)
                }
                _ => n = n.child_by_field_name("declarator")?,
            }
        }
    }
    match node.kind() {
        "function_definition" | "declaration" => {
            declarator_name(node.child_by_field_name("declarator")?, src)
        }
        "struct_specifier" | "union_specifier" | "enum_specifier" => node
            .child_by_field_name("name")?
            .utf8_text(src)
            .ok()
            .map(|s| format!("{} {s}", node.kind().trim_end_matches("_specifier"))),
        "type_definition" => declarator_name(node.child_by_field_name("declarator")?, src),
        "preproc_def" | "preproc_function_def" => node
            .child_by_field_name("name")?
            .utf8_text(src)
            .ok()
            .map(|s| format!("#define {s}")),
        _ => None,
    }
}

/// A region version split into named declarations: (name, its lines, with the blank and
/// comment lines before it). `None` when it is not only whole, well-formed declarations.
fn split(lines: &[String]) -> Option<Vec<(String, Vec<String>)>> {
    let text = lines.concat();
    let tree = parse(&text)?;
    let root = tree.root_node();
    if root.has_error() {
        return None;
    }
    let src = text.as_bytes();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut next_line = 0;
    let mut first_comment = None;
    let mut cursor = root.walk();
    for node in root.children(&mut cursor) {
        let first_line = || {
            lines
                .get(node.start_position().row)
                .map_or(String::new(), |l| norm(l).to_string())
        };
        if node.kind() == "comment" {
            first_comment.get_or_insert_with(first_line);
            continue;
        }
        // A conditional block (`#ifdef CONFIG_X ... #endif`) is one unit, named by its
        // condition; a struct/enum written as a declaration (`struct s { ... };`) by its type.
        let name = if node.kind().starts_with("preproc_if") {
            Some(first_line())
        } else {
            decl_name(node, src).or_else(|| {
                (node.kind() == "declaration")
                    .then(|| node.child_by_field_name("type"))
                    .flatten()
                    .and_then(|t| decl_name(t, src))
            })
        }?;
        let start = node.start_position().row;
        // A declaration that ends the text ends on the row after the last line: that row is
        // not a line of its own.
        let last = lines.len().checked_sub(1)?;
        let (end, column) = match node.end_position() {
            p if p.row > last => (last, lines[last].len()),
            p => (p.row, p.column),
        };
        let rest = lines[end].get(column..).unwrap_or("");
        if start < next_line
            || start > end
            || lines[end].trim_end().len() != column && !rest.trim().is_empty()
        {
            // Two declarations share a line: too clever to split safely.
            return None;
        }
        out.push((name, lines[next_line..=end].to_vec()));
        next_line = end + 1;
    }
    if out.is_empty() {
        // Only comments: one unit, named by its first line.
        return Some(vec![(
            format!("comment {}", first_comment?),
            lines.to_vec(),
        )]);
    }
    // Trailing blank/comment lines belong to the last declaration.
    out.last_mut()?.1.extend(lines[next_line..].iter().cloned());
    Some(out)
}

fn same(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| norm(x) == norm(y))
}

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    if !is_c(ctx.path) {
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
    let find = |v: &[(String, Vec<String>)], n: &str| v.iter().position(|(m, _)| m == n);
    let mut result = ours.clone();
    let mut taken_theirs = 0;
    let mut added = 0;
    for (name, b) in &base {
        let (o, t) = (find(&ours, name), find(&theirs, name));
        match (o, t) {
            (Some(o), Some(t)) => {
                let (ol, tl) = (&ours[o].1, &theirs[t].1);
                if same(tl, b) || same(ol, tl) {
                    continue;
                }
                if same(ol, b) {
                    let at = find(&result, name).expect("from ours");
                    result[at].1 = tl.clone();
                    taken_theirs += 1;
                } else {
                    return Decision::Refuse(format!(
                        "`{name}` was changed on both sides; merge it by hand"
                    ));
                }
            }
            (Some(o), None) => {
                if !same(&ours[o].1, b) {
                    return Decision::Refuse(format!(
                        "the queue removes `{name}`, which the target changed"
                    ));
                }
                let at = find(&result, name).expect("from ours");
                result.remove(at);
                taken_theirs += 1;
            }
            (None, Some(t)) => {
                if !same(&theirs[t].1, b) {
                    return Decision::Refuse(format!(
                        "the queue changes `{name}`, which the target removed or renamed"
                    ));
                }
            }
            (None, None) => {}
        }
    }
    for (j, (name, tl)) in theirs.iter().enumerate() {
        if find(&base, name).is_some() {
            continue;
        }
        if let Some(o) = find(&result, name) {
            if same(&result[o].1, tl) {
                continue;
            }
            return Decision::Refuse(format!(
                "both sides added `{name}`, differently; merge it by hand"
            ));
        }
        let at = theirs[..j]
            .iter()
            .rev()
            .find_map(|(p, _)| find(&result, p))
            .map(|i| i + 1)
            .unwrap_or(result.len());
        let mut block = tl.clone();
        // Keep declarations apart when the queue's block was glued to a neighbour.
        if at > 0 && !block[0].trim().is_empty() {
            if let Some(prev) = result[at - 1].1.last() {
                if !prev.trim().is_empty() {
                    block.insert(0, "\n".to_string());
                }
            }
        }
        result.insert(at, (name.clone(), block));
        added += 1;
    }
    if taken_theirs + added == 0 {
        return Decision::Pass;
    }
    Decision::Resolve {
        lines: result.into_iter().flat_map(|(_, l)| l).collect(),
        confidence: Confidence::Medium,
        detail: format!(
            "different top-level declarations: {taken_theirs} changed/removed by the queue only, {added} added by the queue, merged per declaration"
        ),
    }
}

/// The function enclosing the end of `before`, a prefix of a C file. Kernel style opens a
/// function body with `{` in column 0 and closes it with `}` in column 0, which survives any
/// preprocessor maze; tree-sitter then names the function from its header alone (parsing the
/// whole prefix would trip over macros and `#ifdef`s in earlier functions).
pub fn enclosing(path: &str, before: &str) -> Option<String> {
    if !is_c(path) {
        return None;
    }
    let lines: Vec<&str> = before.lines().collect();
    let open = lines.iter().rposition(|l| l.starts_with('{'))?;
    if lines[open..].iter().any(|l| l.starts_with('}')) {
        return None;
    }
    // The header: back to the previous blank line, closing brace, or end of a statement.
    let mut start = open;
    while start > 0 {
        let prev = lines[start - 1].trim_end();
        if prev.is_empty()
            || prev.starts_with('}')
            || prev.ends_with(';')
            || prev.starts_with('#')
            || prev.ends_with("*/")
        {
            break;
        }
        start -= 1;
    }
    let text = format!("{}\n{{}}\n", lines[start..open].join("\n"));
    let tree = parse(&text)?;
    let root = tree.root_node();
    let mut cursor = root.walk();
    let node = root
        .children(&mut cursor)
        .find(|n| n.kind() == "function_definition")?;
    decl_name(node, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_inclusive('\n').map(str::to_string).collect()
    }

    #[test]
    fn a_define_that_ends_the_text_splits_without_panicking() {
        // A preprocessor definition's node takes its newline, so it ends on the row after the
        // last line (seen on a real distribution queue).
        let units = split(&v("int a;\n#define B 1\n")).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].0, "#define B");
        assert_eq!(units[1].1, v("#define B 1\n"));
        // And the stage itself, on a region made of such a definition.
        let _ = run("#define A 1\n", "", "#define B 1\n");
    }

    fn run(ours: &str, base: &str, theirs: &str) -> Decision {
        let ctx = Context {
            path: "kernel/x.c",
            before: String::new(),
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

    #[test]
    fn enclosing_function_of_a_prefix() {
        let before = "int x;\n\nstatic inline void schedule_debug(struct task_struct *prev,\n\t\t\t\t  bool preempt)\n{\n#ifdef CONFIG_X\n\tif (a)\n\t\tpanic(\"x\");\n#endif\n\tint a = 1;\n";
        assert_eq!(enclosing("k.c", before).as_deref(), Some("schedule_debug"));
        assert_eq!(enclosing("k.c", "int x;\n"), None);
        assert_eq!(enclosing("k.c", "void f(void)\n{\n}\nint y;\n"), None);
    }
}
