//! A run of C lines split into its top-level items, each with the blank and comment lines
//! before it: what the rebase cascade merges per declaration.

use super::{decl_name, parse};

/// One top-level item: its name (see [`decl_name`]; a conditional block is named by its
/// first line) and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    pub lines: Vec<String>,
}

/// `lines` (each with its newline) split into named top-level items. `None` when they are not
/// only whole, well-formed items, or when two items share a line.
pub fn split_top_level(lines: &[String]) -> Option<Vec<Unit>> {
    let text = lines.concat();
    let parsed = parse(text.as_bytes())?;
    let root = parsed.tree.root_node();
    if root.has_error() {
        return None;
    }
    let src = &parsed.text[..];
    let mut out: Vec<Unit> = Vec::new();
    let mut next_line = 0;
    let mut first_comment = None;
    let mut cursor = root.walk();
    for node in root.children(&mut cursor) {
        let first_line = || {
            lines
                .get(node.start_position().row)
                .map_or(String::new(), |l| l.trim().to_string())
        };
        if node.kind() == "comment" {
            first_comment.get_or_insert_with(first_line);
            continue;
        }
        // `struct s { ... };` is a specifier and a lone `;`: the `;` ends the item before it.
        if node.kind() == ";" {
            let after_specifier = node
                .prev_sibling()
                .is_some_and(|p| p.kind().ends_with("_specifier"));
            if after_specifier && !out.is_empty() {
                continue;
            }
            return None;
        }
        let end_node = match node.next_sibling() {
            Some(semi) if semi.kind() == ";" && node.kind().ends_with("_specifier") => semi,
            _ => node,
        };
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
        // An item that ends the text ends on the row after the last line: that row is not a
        // line of its own.
        let last = lines.len().checked_sub(1)?;
        let (end, column) = match end_node.end_position() {
            p if p.row > last => (last, lines[last].len()),
            p => (p.row, p.column),
        };
        let rest = lines[end].get(column..).unwrap_or("");
        if start < next_line
            || start > end
            || lines[end].trim_end().len() != column && !rest.trim().is_empty()
        {
            // Two items share a line: too clever to split safely.
            return None;
        }
        out.push(Unit {
            name,
            lines: lines[next_line..=end].to_vec(),
        });
        next_line = end + 1;
    }
    if out.is_empty() {
        // Only comments: one unit, named by its first line.
        return Some(vec![Unit {
            name: format!("comment {}", first_comment?),
            lines: lines.to_vec(),
        }]);
    }
    // Trailing blank/comment lines belong to the last item.
    out.last_mut()?
        .lines
        .extend(lines[next_line..].iter().cloned());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_inclusive('\n').map(str::to_string).collect()
    }

    fn names(s: &str) -> Option<Vec<String>> {
        split_top_level(&v(s)).map(|u| u.into_iter().map(|u| u.name).collect())
    }

    #[test]
    fn a_define_that_ends_the_text_splits_without_panicking() {
        // A preprocessor definition's node takes its newline, so it ends on the row after the
        // last line (seen on a real distribution queue).
        let units = split_top_level(&v("int a;\n#define B 1\n")).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].name, "#define B");
        assert_eq!(units[1].lines, v("#define B 1\n"));
        // Without a final newline, the last item ends at the very end of the text.
        let units = split_top_level(&v("int a;\nint b;")).unwrap();
        assert_eq!(units[1].lines, v("int b;"));
    }

    #[test]
    fn items_and_their_names() {
        assert_eq!(
            names("/* lead */\nstatic int __init f(void)\n{\n}\n\nstruct s { int x; };\ntypedef int t_t;\n"),
            Some(vec!["f".into(), "struct s".into(), "t_t".into()])
        );
        assert_eq!(
            names("/* only a comment */\n"),
            Some(vec!["comment /* only a comment */".into()])
        );
        assert_eq!(
            names("#ifdef CONFIG_X\nint a;\n#endif\n"),
            Some(vec!["#ifdef CONFIG_X".into()])
        );
    }

    #[test]
    fn what_cannot_be_split() {
        // Two items on one line, a statement, a stray `;`, no text at all.
        assert_eq!(names("int a; int b;\n"), None);
        assert_eq!(names("int f(void)\n{\n}\n;\n"), None);
        assert_eq!(names("\tx = 1;\n"), None);
        assert_eq!(names(""), None);
    }
}
