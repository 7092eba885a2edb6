//! The C front end: one tree-sitter-c set-up for every engine (lint, arch-status, the rebase
//! cascade). Kernel code is parsed after [`normalize`], which blanks kernel annotations and
//! rewrites loop macros without moving a byte, so node positions are positions in the file.

pub mod normalize;
mod toplevel;

pub use normalize::normalize;
pub use toplevel::{split_top_level, Unit};

use tree_sitter::{Node, Parser, Tree};

/// A C source or header, by its name.
pub fn is_c_path(path: &str) -> bool {
    path.ends_with(".c") || path.ends_with(".h")
}

/// A parser set to the C grammar.
pub fn parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_c::LANGUAGE.into())
        .expect("tree-sitter-c grammar matches the linked tree-sitter");
    parser
}

/// Kernel C parsed after normalisation. Node positions are positions in the original bytes;
/// names are read from `text`, the normalised bytes (the same length).
pub struct Parsed {
    pub tree: Tree,
    pub text: Vec<u8>,
}

/// Parses kernel C the way every engine should: normalised first.
pub fn parse(src: &[u8]) -> Option<Parsed> {
    let text = normalize(src);
    let tree = parser().parse(&text, None)?;
    Some(Parsed { tree, text })
}

/// Parses the bytes as they are, for checking that generated C is plain, valid C.
pub fn parse_plain(src: &[u8]) -> Option<Tree> {
    parser().parse(src, None)
}

/// A node's text, empty when it is not UTF-8.
pub fn text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or("")
}

/// The name a declarator introduces, through pointers, arrays, function parameters,
/// parentheses and initialisers: `*(*handler)(int)` names `handler`.
pub fn declarator_name<'a>(mut node: Node, src: &'a [u8]) -> Option<&'a str> {
    loop {
        match node.kind() {
            "identifier" | "type_identifier" | "field_identifier" => {
                return node.utf8_text(src).ok()
            }
            kind => {
                node = match node.child_by_field_name("declarator") {
                    Some(inner) => inner,
                    // Parenthesised and attributed declarators hold theirs without a field name.
                    None if kind.ends_with("declarator") => {
                        let mut c = node.walk();
                        let inner = node.named_children(&mut c).find(|n| {
                            n.kind().ends_with("declarator") || n.kind().ends_with("identifier")
                        });
                        inner?
                    }
                    None => return None,
                }
            }
        }
    }
}

/// The name a top-level item introduces: a function's or variable's name, `struct s`,
/// `#define M`, a typedef's name.
pub fn decl_name(node: Node<'_>, src: &[u8]) -> Option<String> {
    match node.kind() {
        "function_definition" | "declaration" | "type_definition" => {
            declarator_name(node.child_by_field_name("declarator")?, src).map(str::to_string)
        }
        "struct_specifier" | "union_specifier" | "enum_specifier" => node
            .child_by_field_name("name")?
            .utf8_text(src)
            .ok()
            .map(|s| format!("{} {s}", node.kind().trim_end_matches("_specifier"))),
        "preproc_def" | "preproc_function_def" => node
            .child_by_field_name("name")?
            .utf8_text(src)
            .ok()
            .map(|s| format!("#define {s}")),
        _ => None,
    }
}

/// The name of the function whose definition holds `node`.
pub fn function_of<'a>(mut node: Node, src: &'a [u8]) -> Option<&'a str> {
    while let Some(parent) = node.parent() {
        if parent.kind() == "function_definition" {
            return declarator_name(parent.child_by_field_name("declarator")?, src);
        }
        node = parent;
    }
    None
}

/// The function enclosing the end of `before`, a prefix of the C file `path`. Kernel style
/// opens a function body with `{` in column 0 and closes it with `}` in column 0, which
/// survives any preprocessor maze; tree-sitter then names the function from its header alone
/// (parsing the whole prefix would trip over macros and `#ifdef`s in earlier functions).
pub fn enclosing(path: &str, before: &str) -> Option<String> {
    if !is_c_path(path) {
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
    let header = format!("{}\n{{}}\n", lines[start..open].join("\n"));
    let parsed = parse(header.as_bytes())?;
    let root = parsed.tree.root_node();
    let mut cursor = root.walk();
    let node = root
        .children(&mut cursor)
        .find(|n| n.kind() == "function_definition")?;
    declarator_name(node.child_by_field_name("declarator")?, &parsed.text).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_function_name(src: &[u8]) -> Option<String> {
        let p = parse(src)?;
        let root = p.tree.root_node();
        let mut c = root.walk();
        let f = root
            .children(&mut c)
            .find(|n| n.kind() == "function_definition")?;
        declarator_name(f.child_by_field_name("declarator")?, &p.text).map(str::to_string)
    }

    #[test]
    fn declarator_names_through_pointers_and_parentheses() {
        assert_eq!(
            first_function_name(b"static int *(get)(void) { return 0; }").as_deref(),
            Some("get")
        );
        assert_eq!(
            first_function_name(b"void (*pick(int n))(void) { return 0; }").as_deref(),
            Some("pick")
        );
        let p = parse(b"int (*handler)(int), table[4] = {0};").unwrap();
        let root = p.tree.root_node();
        let decl = root.child(0).unwrap();
        let mut c = decl.walk();
        let names: Vec<&str> = decl
            .children_by_field_name("declarator", &mut c)
            .filter_map(|d| declarator_name(d, &p.text))
            .collect();
        assert_eq!(names, ["handler", "table"]);
    }

    #[test]
    fn kernel_annotations_do_not_hide_the_name() {
        // Without normalisation tree-sitter takes `__init` for the type and errs.
        let src = b"static int __init evl_init(void)\n{\n\treturn 0;\n}\n";
        assert!(parse_plain(src).unwrap().root_node().has_error());
        assert!(!parse(src).unwrap().tree.root_node().has_error());
        assert_eq!(first_function_name(src).as_deref(), Some("evl_init"));
    }

    #[test]
    fn non_utf8_bytes_parse_without_panicking() {
        let src = b"/* caf\xe9 */\nint f(void)\n{\n\treturn '\xff';\n}\n";
        assert_eq!(first_function_name(src).as_deref(), Some("f"));
        assert!(first_function_name(b"int \xff\xfe(void) { }").is_none());
        assert!(parse(b"").is_some());
    }

    #[test]
    fn function_of_a_call() {
        let src = b"void outer(void)\n{\n\tinner(1);\n}\n";
        let p = parse(src).unwrap();
        let root = p.tree.root_node();
        let call = root
            .descendant_for_byte_range(20, 25)
            .expect("the call's name");
        assert_eq!(text(call, &p.text), "inner");
        assert_eq!(function_of(call, &p.text), Some("outer"));
        assert_eq!(function_of(root, &p.text), None);
    }

    #[test]
    fn enclosing_function_of_a_prefix() {
        let before = "int x;\n\nstatic inline void schedule_debug(struct task_struct *prev,\n\t\t\t\t  bool preempt)\n{\n#ifdef CONFIG_X\n\tif (a)\n\t\tpanic(\"x\");\n#endif\n\tint a = 1;\n";
        assert_eq!(enclosing("k.c", before).as_deref(), Some("schedule_debug"));
        assert_eq!(enclosing("k.c", "int x;\n"), None);
        assert_eq!(enclosing("k.c", "void f(void)\n{\n}\nint y;\n"), None);
        assert_eq!(enclosing("k.S", before), None);
        // An annotated header is named as well, which the raw grammar could not do.
        let annotated = "static void __init __maybe_unused setup_oob(int cpu)\n{\n\tx();\n";
        assert_eq!(enclosing("k.c", annotated).as_deref(), Some("setup_oob"));
        // The prefix may end right after the brace.
        assert_eq!(enclosing("k.c", "int g(void)\n{").as_deref(), Some("g"));
    }
}
