//! What arch-status needs to know about one C (or assembly) file: which functions and
//! macros it defines (and whether their body is still a scaffold TODO), which functions it
//! calls from where, which identifiers it uses and what it includes. C is parsed by the C
//! front end ([`crate::syntax::c`], normalised as the lint does); `.S` files are scanned as
//! tokens because tree-sitter has no kernel asm.

use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::Node;

use crate::syntax::c::{self as csyntax, declarator_name, function_of, text};

/// The marker the scaffold puts in every body a porter still has to write. A definition
/// whose text carries it counts as a stub, never as done.
pub const TODO_MARKER: &str = "TODO(dovetail-port)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefKind {
    Function,
    Macro,
    Enumerator,
    Label,
}

#[derive(Debug, Clone)]
pub struct Def {
    pub name: String,
    pub kind: DefKind,
    pub line: usize,
    /// The body still carries [`TODO_MARKER`].
    pub stub: bool,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub callee: String,
    /// Enclosing function, when the call is inside one.
    pub caller: Option<String>,
    pub line: usize,
}

#[derive(Debug, Default, Clone)]
pub struct CIndex {
    pub defs: Vec<Def>,
    pub calls: Vec<Call>,
    /// Every identifier occurrence outside comments and strings, with its line.
    pub idents: Vec<(String, usize)>,
    pub includes: Vec<(String, usize)>,
    /// tree-sitter reported syntax errors (kernel macros often cause some).
    pub has_error: bool,
}

fn ident_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").unwrap())
}

fn call_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(").unwrap())
}

/// Parse C source text; returns whether tree-sitter saw errors alongside the index.
pub fn index_c(text: &str) -> CIndex {
    let Some(parsed) = csyntax::parse(text.as_bytes()) else {
        return index_asm(text);
    };
    let root = parsed.tree.root_node();
    let mut idx = CIndex {
        has_error: root.has_error(),
        ..Default::default()
    };
    let src = &parsed.text[..];
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        visit(node, src, &mut idx);
        for child in node.children(&mut cursor) {
            stack.push(child);
        }
    }
    if idx.has_error {
        fallback_defs(text, &mut idx);
    }
    idx.defs.sort_by_key(|d| d.line);
    idx.calls.sort_by_key(|c| c.line);
    idx.idents.sort_by_key(|i| i.1);
    idx
}

fn line_of(node: Node) -> usize {
    node.start_position().row + 1
}

fn visit(node: Node, src: &[u8], idx: &mut CIndex) {
    match node.kind() {
        "function_definition" => {
            if let Some(decl) = node.child_by_field_name("declarator") {
                if let Some(name) = declarator_name(decl, src) {
                    idx.defs.push(Def {
                        name: name.to_string(),
                        kind: DefKind::Function,
                        line: line_of(node),
                        stub: text(node, src).contains(TODO_MARKER),
                    });
                }
            }
        }
        "preproc_def" | "preproc_function_def" => {
            if let Some(name) = node.child_by_field_name("name") {
                let body = text(node, src);
                idx.defs.push(Def {
                    name: text(name, src).to_string(),
                    kind: DefKind::Macro,
                    line: line_of(node),
                    stub: body.contains(TODO_MARKER),
                });
                if let Some(value) = node.child_by_field_name("value") {
                    scan_macro_body(value, src, idx);
                }
            }
        }
        "enumerator" => {
            if let Some(name) = node.child_by_field_name("name") {
                idx.defs.push(Def {
                    name: text(name, src).to_string(),
                    kind: DefKind::Enumerator,
                    line: line_of(node),
                    stub: false,
                });
            }
        }
        "call_expression" => {
            if let Some(f) = node.child_by_field_name("function") {
                if f.kind() == "identifier" {
                    idx.calls.push(Call {
                        callee: text(f, src).to_string(),
                        caller: function_of(node, src).map(str::to_string),
                        line: line_of(node),
                    });
                }
            }
        }
        "identifier" | "type_identifier" | "field_identifier" => {
            // A macro's own name is a definition, not a use.
            let is_macro_name = node.parent().is_some_and(|p| {
                p.kind().starts_with("preproc_") && p.child_by_field_name("name") == Some(node)
            });
            if is_macro_name {
                return;
            }
            idx.idents
                .push((text(node, src).to_string(), line_of(node)));
        }
        "preproc_include" => {
            if let Some(path) = node.child_by_field_name("path") {
                let p = text(path, src).trim_matches(|c| c == '<' || c == '>' || c == '"');
                idx.includes.push((p.to_string(), line_of(node)));
            }
        }
        "preproc_arg"
            if node.parent().is_some_and(|p| {
                !p.kind().starts_with("preproc_def") && p.kind() != "preproc_function_def"
            }) =>
        {
            scan_macro_body(node, src, idx);
        }
        _ => {}
    }
}

/// Macro bodies are opaque to tree-sitter: take their identifiers and calls as tokens.
fn scan_macro_body(node: Node, src: &[u8], idx: &mut CIndex) {
    let text = text(node, src);
    let base = line_of(node);
    for (offset, line) in text.lines().enumerate() {
        let code = strip_c_comments_line(line);
        for m in ident_re().find_iter(&code) {
            idx.idents.push((m.as_str().to_string(), base + offset));
        }
        for c in call_re().captures_iter(&code) {
            idx.calls.push(Call {
                callee: c[1].to_string(),
                caller: None,
                line: base + offset,
            });
        }
    }
}

fn strip_c_comments_line(line: &str) -> String {
    let mut out = line.to_string();
    while let Some(start) = out.find("/*") {
        match out[start..].find("*/") {
            Some(end) => out.replace_range(start..start + end + 2, " "),
            None => out.truncate(start),
        }
    }
    if let Some(pos) = out.find("//") {
        out.truncate(pos);
    }
    out
}

/// When kernel macros confuse tree-sitter, a definition can hide inside an ERROR node:
/// look for `name(` at the start of a declaration line followed by an opening brace.
fn fallback_defs(text: &str, idx: &mut CIndex) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^[A-Za-z_][A-Za-z0-9_ \t\*]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*\([^;]*$").unwrap()
    });
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(c) = re.captures(line) else { continue };
        let name = &c[1];
        if idx.defs.iter().any(|d| d.name == name) || is_keyword(name) {
            continue;
        }
        // Find the opening brace within the next few lines, then the matching close.
        let Some(open) = (i..(i + 6).min(lines.len())).find(|&j| {
            let l = lines[j].trim_end();
            l.ends_with('{') || l == "{"
        }) else {
            continue;
        };
        let mut depth = 0i32;
        let mut stub = false;
        for l in &lines[open..] {
            stub |= l.contains(TODO_MARKER);
            depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
            if depth <= 0 {
                break;
            }
        }
        idx.defs.push(Def {
            name: name.to_string(),
            kind: DefKind::Function,
            line: i + 1,
            stub,
        });
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "if" | "for" | "while" | "switch" | "return" | "sizeof" | "else" | "do"
    )
}

/// Assembly: labels and `SYM_*_START(name)`/`ENTRY(name)` define; every identifier is a use
/// and, since a branch is how asm calls, also a call.
pub fn index_asm(text: &str) -> CIndex {
    static LABEL: OnceLock<Regex> = OnceLock::new();
    static SYM: OnceLock<Regex> = OnceLock::new();
    let label = LABEL.get_or_init(|| Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*):").unwrap());
    let sym = SYM.get_or_init(|| {
        Regex::new(
            r"\b(?:SYM_[A-Z_]*START[A-Z_]*|ENTRY|ENDPROC_START)\(\s*([A-Za-z_][A-Za-z0-9_]*)",
        )
        .unwrap()
    });
    let mut idx = CIndex::default();
    let mut in_block_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut line = raw.to_string();
        if in_block_comment {
            match line.find("*/") {
                Some(end) => {
                    line = line[end + 2..].to_string();
                    in_block_comment = false;
                }
                None => continue,
            }
        }
        if let Some(start) = line.find("/*") {
            if !line[start..].contains("*/") {
                in_block_comment = true;
            }
        }
        let code = strip_c_comments_line(&line);
        let code = code.split(" //").next().unwrap_or("");
        if code.trim_start().starts_with('#') {
            let t = code.trim_start();
            if let Some(rest) = t.strip_prefix("#include") {
                let p = rest
                    .trim()
                    .trim_matches(|c| c == '<' || c == '>' || c == '"');
                idx.includes.push((p.to_string(), lineno));
                continue;
            }
        }
        if let Some(c) = label.captures(code) {
            idx.defs.push(Def {
                name: c[1].to_string(),
                kind: DefKind::Label,
                line: lineno,
                stub: false,
            });
        }
        if let Some(c) = sym.captures(code) {
            idx.defs.push(Def {
                name: c[1].to_string(),
                kind: DefKind::Label,
                line: lineno,
                stub: false,
            });
        }
        for m in ident_re().find_iter(code) {
            idx.idents.push((m.as_str().to_string(), lineno));
            idx.calls.push(Call {
                callee: m.as_str().to_string(),
                caller: None,
                line: lineno,
            });
        }
    }
    idx
}

/// Index a file by its extension: `.S`/`.s` as assembly, anything else as C.
pub fn index_file(path: &std::path::Path, text: &str) -> CIndex {
    match path.extension().and_then(|e| e.to_str()) {
        Some("S") | Some("s") => index_asm(text),
        _ => index_c(text),
    }
}

/// True when tree-sitter-c parses the text, as it is, without any error node.
pub fn parses_cleanly(text: &str) -> bool {
    csyntax::parse_plain(text.as_bytes()).is_some_and(|t| !t.root_node().has_error())
}

impl CIndex {
    pub fn def(&self, name: &str) -> Option<&Def> {
        // Prefer a real body over a stub when both exist (e.g. #ifdef branches).
        self.defs
            .iter()
            .filter(|d| d.name == name)
            .min_by_key(|d| d.stub)
    }

    pub fn call(&self, callee: &str, caller: Option<&str>) -> Option<&Call> {
        self.calls
            .iter()
            .find(|c| c.callee == callee && caller.is_none_or(|f| c.caller.as_deref() == Some(f)))
    }

    pub fn uses(&self, ident: &str) -> Option<usize> {
        self.idents
            .iter()
            .find(|(n, _)| n == ident)
            .map(|(_, l)| *l)
    }

    pub fn include(&self, header: &str) -> Option<usize> {
        self.includes
            .iter()
            .find(|(h, _)| h == header)
            .map(|(_, l)| *l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_definitions_calls_and_stubs() {
        let src = r#"
#include <asm/irq_pipeline.h>
#define TIMER_OOB_IPI (base + 1)
#define STUB_IPI 0 /* TODO(dovetail-port): pick one */
static inline unsigned long native_irq_save(void)
{
	return csr_read_clear(CSR_STATUS, SR_IE);
}
void arch_irq_pipeline_init(void)
{
	/* TODO(dovetail-port): nothing yet */
}
void handle_irq(struct pt_regs *regs)
{
	handle_irq_pipelined(regs);
}
"#;
        let idx = index_c(src);
        let save = idx.def("native_irq_save").unwrap();
        assert!(!save.stub);
        assert_eq!(save.line, 5);
        assert!(idx.def("arch_irq_pipeline_init").unwrap().stub);
        assert!(!idx.def("TIMER_OOB_IPI").unwrap().stub);
        assert!(idx.def("STUB_IPI").unwrap().stub);
        let call = idx
            .call("handle_irq_pipelined", Some("handle_irq"))
            .unwrap();
        assert_eq!(call.line, 15);
        assert!(idx.call("handle_irq_pipelined", Some("other")).is_none());
        assert_eq!(idx.include("asm/irq_pipeline.h"), Some(2));
        assert!(
            idx.uses("base").is_some(),
            "macro body identifiers are uses"
        );
        assert!(idx.uses("pick").is_none(), "comments are not uses");
    }

    #[test]
    fn kernel_annotations_do_not_hide_definitions() {
        let src = r#"
static inline notrace unsigned long arch_local_irq_save(void)
{
	int s = inband_irq_save();
	return s;
}

void __init arch_irq_pipeline_init(void)
{
}

static __always_inline
bool enter_trap(struct pt_regs *regs)
{
	oob_trap_notify(regs->cause, regs);
	return true;
}

asmlinkage __visible noinstr void do_irq(struct pt_regs *regs)
{
	struct irq_stage_data *prevd = handle_irq_pipelined_prepare(regs);
	handle_irq_pipelined_finish(prevd, regs);
}

#define DO_ERROR(name)						\
asmlinkage void name(struct pt_regs *regs)			\
{								\
	oob_trap_unwind(regs->cause, regs);			\
}

struct thread_info {
	unsigned long flags;
#define ti_local_flags(ti) ((ti)->local_flags)
	unsigned int local_flags;
};
"#;
        let idx = index_c(src);
        for name in [
            "arch_local_irq_save",
            "arch_irq_pipeline_init",
            "enter_trap",
            "do_irq",
            "ti_local_flags",
            "DO_ERROR",
        ] {
            assert!(idx.def(name).is_some(), "{name} not found: {:?}", idx.defs);
        }
        assert!(idx
            .call("inband_irq_save", Some("arch_local_irq_save"))
            .is_some());
        assert!(idx.call("oob_trap_notify", None).is_some());
        assert!(
            idx.call("oob_trap_unwind", None).is_some(),
            "calls in macro bodies count"
        );
        assert!(idx
            .call("handle_irq_pipelined_prepare", Some("do_irq"))
            .is_some());
    }

    #[test]
    fn asm_labels_and_branches() {
        let src = "ENTRY(handle_exception)\n\t/* call handle_irq_pipelined */\n\tcall handle_arch_irq_pipelined\nret_from_exception:\n";
        let idx = index_asm(src);
        assert!(idx.def("handle_exception").is_some());
        assert_eq!(idx.def("ret_from_exception").unwrap().line, 4);
        assert_eq!(idx.uses("handle_arch_irq_pipelined"), Some(3));
        assert!(idx.uses("handle_irq_pipelined").is_none());
    }

    #[test]
    fn clean_parse_detection() {
        assert!(parses_cleanly("int f(void) { return 0; }\n"));
        assert!(!parses_cleanly("int f(void) { return 0; \n"));
    }
}
