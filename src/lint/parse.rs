//! Full parse of one file with tree-sitter-c (after [`normalize`](super::normalize)), turned
//! into our own data: functions with their calls (and whether each call is guarded to
//! in-band), entry-point registrations, struct-member assignments and comments that
//! matter (markers and suppressions).

use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::{Node, Parser};

use super::normalize::normalize;
use super::rules::RuleSet;

/// What a call names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `foo(...)`: a function or a function-like macro.
    Name(String),
    /// `x->member(...)` / `x.member(...)`: resolved through member assignments.
    Member(String),
}

/// The lock expression given to a spin-lock call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockArg {
    /// `&name` or `name`.
    Var(String),
    /// `&base->field` (base is a plain variable when `base` is Some).
    Field {
        base: Option<String>,
        field: String,
    },
    Other,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub target: Target,
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
    pub byte: usize,
    /// Runs in-band whatever the caller's stage (guarded by a `running_inband()`-style test
    /// or placed after an explicit switch to in-band).
    pub inband: bool,
    pub lock_arg: Option<LockArg>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub is_static: bool,
    pub start_line: u32,
    pub end_line: u32,
    pub start_byte: usize,
    pub end_byte: usize,
    pub has_error: bool,
    pub calls: Vec<Call>,
    /// Local variable / parameter -> struct type name (`struct foo *p` gives p -> foo).
    pub var_structs: Vec<(String, String)>,
}

/// An entry point declared in this file, by the name of the function it designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    pub function: String,
    pub kind: String,
    pub line: u32,
}

#[derive(Debug, Clone)]
pub struct SuppressionComment {
    pub rules: Vec<String>,
    pub reason: String,
    /// Lines (1-based) the comment covers: its own lines and the next one.
    pub first_line: u32,
    pub last_line: u32,
    /// Index of the function the comment annotates as a whole, if any.
    pub function: Option<usize>,
}

/// A function stored in a struct member: `.member = fn` in an initialiser or
/// `x->member = fn` in an assignment. The position is the stored value's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStore {
    pub member: String,
    pub function: String,
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
}

#[derive(Debug, Default, Clone)]
pub struct ParsedFile {
    pub functions: Vec<Function>,
    pub entries: Vec<EntryRef>,
    /// Functions stored in struct members (`.member = fn`, `x->member = fn`).
    pub member_assigns: Vec<MemberStore>,
    pub suppressions: Vec<SuppressionComment>,
    /// Top-level syntax errors outside any function.
    pub errors_outside_functions: usize,
}

impl ParsedFile {
    pub fn functions_with_errors(&self) -> usize {
        self.functions.iter().filter(|f| f.has_error).count()
    }
}

fn suppress_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"dovetail-port:\s*allow\(([^)]*)\)\s*([^*]*)").unwrap())
}

fn call_in_error_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(").unwrap())
}

const KEYWORDS: &[&str] = &[
    "if",
    "while",
    "for",
    "switch",
    "return",
    "sizeof",
    "typeof",
    "__typeof__",
    "defined",
    "asm",
    "__asm__",
    "volatile",
    "__volatile__",
    "case",
    "do",
    "else",
    "goto",
];

fn text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or("")
}

/// The function name a pointer-valued expression designates: `foo`, `&foo`, `(cast)foo`.
fn function_ref(node: Node, src: &[u8]) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text(node, src).to_string()),
        "pointer_expression" | "cast_expression" | "parenthesized_expression" => {
            let inner = node
                .child_by_field_name("argument")
                .or_else(|| node.child_by_field_name("value"))
                .or_else(|| node.named_child(node.named_child_count().saturating_sub(1)));
            inner.and_then(|n| function_ref(n, src))
        }
        _ => None,
    }
}

fn push_store(stores: &mut Vec<MemberStore>, member: String, value: Node, src: &[u8]) {
    if let Some(function) = function_ref(value, src) {
        let start = value.start_position();
        stores.push(MemberStore {
            member,
            function,
            line: start.row as u32 + 1,
            column: start.column as u32 + 1,
            end_column: value.end_position().column as u32 + 1,
        });
    }
}

fn lock_arg(node: Node, src: &[u8]) -> LockArg {
    let mut n = node;
    loop {
        match n.kind() {
            "pointer_expression" | "parenthesized_expression" => {
                match n
                    .child_by_field_name("argument")
                    .or_else(|| n.named_child(0))
                {
                    Some(inner) => n = inner,
                    None => return LockArg::Other,
                }
            }
            "identifier" => return LockArg::Var(text(n, src).to_string()),
            "field_expression" => {
                let field = n
                    .child_by_field_name("field")
                    .map(|f| text(f, src).to_string());
                let base = n
                    .child_by_field_name("argument")
                    .filter(|b| b.kind() == "identifier")
                    .map(|b| text(b, src).to_string());
                return match field {
                    Some(field) => LockArg::Field { base, field },
                    None => LockArg::Other,
                };
            }
            _ => return LockArg::Other,
        }
    }
}

/// Which branch of a condition runs in-band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polarity {
    /// The then-branch runs in-band.
    ThenInband,
    /// The else-branch (and what follows an early exit) runs in-band.
    ElseInband,
    None,
}

fn condition_polarity(cond: &str, rules: &RuleSet) -> Polarity {
    let c: String = cond.chars().filter(|c| !c.is_whitespace()).collect();
    if c.contains("||") {
        return Polarity::None;
    }
    for name in &rules.inband_checks {
        if c.contains(&format!("!{name}(")) {
            return Polarity::ElseInband;
        }
        if c.contains(&format!("{name}(")) {
            return Polarity::ThenInband;
        }
    }
    for name in &rules.oob_checks {
        if c.contains(&format!("!{name}(")) {
            return Polarity::ThenInband;
        }
        if c.contains(&format!("{name}(")) {
            return Polarity::ElseInband;
        }
    }
    Polarity::None
}

/// Does this statement always leave the enclosing block (return/goto/break/continue)?
fn exits(node: Node) -> bool {
    match node.kind() {
        "return_statement" | "goto_statement" | "break_statement" | "continue_statement" => true,
        "compound_statement" => {
            let count = node.named_child_count();
            count > 0 && node.named_child(count - 1).is_some_and(exits)
        }
        "expression_statement" => false,
        _ => false,
    }
}

/// Is the code at `node` guarded to run in-band, looking at its ancestors up to `stop`?
fn guarded_inband(node: Node, stop: Node, src: &[u8], rules: &RuleSet) -> bool {
    let mut child = node;
    while let Some(parent) = child.parent() {
        if parent.id() == stop.id() {
            break;
        }
        match parent.kind() {
            "if_statement" => {
                let pol = parent
                    .child_by_field_name("condition")
                    .map_or(Polarity::None, |c| condition_polarity(text(c, src), rules));
                let in_then = parent
                    .child_by_field_name("consequence")
                    .is_some_and(|c| c.id() == child.id());
                let in_else = parent
                    .child_by_field_name("alternative")
                    .is_some_and(|c| c.id() == child.id());
                if (pol == Polarity::ThenInband && in_then)
                    || (pol == Polarity::ElseInband && in_else)
                {
                    return true;
                }
            }
            "compound_statement" => {
                // `if (running_oob()) return -EPERM;` earlier in the block: in-band after it.
                let mut sib = child.prev_named_sibling();
                while let Some(s) = sib {
                    if s.kind() == "if_statement" && s.child_by_field_name("alternative").is_none()
                    {
                        let pol = s
                            .child_by_field_name("condition")
                            .map_or(Polarity::None, |c| condition_polarity(text(c, src), rules));
                        if pol == Polarity::ElseInband
                            && s.child_by_field_name("consequence").is_some_and(exits)
                        {
                            return true;
                        }
                    }
                    sib = s.prev_named_sibling();
                }
            }
            _ => {}
        }
        child = parent;
    }
    false
}

fn declarator_name(mut node: Node, src: &[u8]) -> Option<String> {
    loop {
        match node.kind() {
            "identifier" | "field_identifier" => return Some(text(node, src).to_string()),
            _ => node = node.child_by_field_name("declarator")?,
        }
    }
}

fn struct_type_name(ty: Node, src: &[u8]) -> Option<String> {
    (ty.kind() == "struct_specifier")
        .then(|| {
            ty.child_by_field_name("name")
                .map(|n| text(n, src).to_string())
        })
        .flatten()
}

/// Parses `src` (the original bytes; normalisation happens here).
pub fn parse_file(src: &[u8], rules: &RuleSet) -> ParsedFile {
    let norm = normalize(src);
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_c::LANGUAGE.into())
        .expect("tree-sitter-c grammar matches the tree-sitter version");
    let Some(tree) = parser.parse(&norm, None) else {
        return ParsedFile {
            errors_outside_functions: 1,
            ..Default::default()
        };
    };
    let src = &norm[..];
    let root = tree.root_node();
    let mut out = ParsedFile::default();
    let mut markers: Vec<usize> = Vec::new();
    let mut suppress_raw: Vec<(Vec<String>, String, u32, u32, usize)> = Vec::new();
    // Iterative DFS.
    let mut cursor = root.walk();
    let mut current: Option<(usize, Node)> = None;
    let mut seen_calls: std::collections::HashSet<usize> = Default::default();
    loop {
        let node = cursor.node();
        if let Some((_, f)) = current {
            if node.start_byte() >= f.end_byte() {
                current = None;
            }
        }
        let mut descend = true;
        match node.kind() {
            "function_definition" => {
                let name = node
                    .child_by_field_name("declarator")
                    .and_then(|d| declarator_name(d, src))
                    .unwrap_or_default();
                let mut is_static = false;
                let mut c = node.walk();
                for ch in node.children(&mut c) {
                    if ch.kind() == "storage_class_specifier" && text(ch, src) == "static" {
                        is_static = true;
                    }
                }
                out.functions.push(Function {
                    name,
                    is_static,
                    start_line: node.start_position().row as u32 + 1,
                    end_line: node.end_position().row as u32 + 1,
                    start_byte: node.start_byte(),
                    end_byte: node.end_byte(),
                    has_error: node.has_error(),
                    calls: Vec::new(),
                    var_structs: Vec::new(),
                });
                current = Some((out.functions.len() - 1, node));
            }
            "parameter_declaration" | "declaration" => {
                if let (Some((fi, _)), Some(ty)) = (current, node.child_by_field_name("type")) {
                    if let Some(s) = struct_type_name(ty, src) {
                        let mut c = node.walk();
                        for d in node.children_by_field_name("declarator", &mut c) {
                            if let Some(v) = declarator_name(d, src) {
                                out.functions[fi].var_structs.push((v, s.clone()));
                            }
                        }
                    }
                }
                if node.kind() == "declaration" {
                    fops_entries(node, src, rules, &mut out.entries);
                }
            }
            "initializer_pair" => {
                let member = node
                    .child_by_field_name("designator")
                    .filter(|d| d.kind() == "field_designator")
                    .and_then(|d| d.named_child(0))
                    .map(|f| text(f, src).to_string());
                if let (Some(m), Some(v)) = (member, node.child_by_field_name("value")) {
                    push_store(&mut out.member_assigns, m, v, src);
                }
            }
            "assignment_expression" => {
                let left = node
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "field_expression");
                let member = left
                    .and_then(|l| l.child_by_field_name("field"))
                    .map(|f| text(f, src).to_string());
                if let (Some(m), Some(v)) = (member, node.child_by_field_name("right")) {
                    push_store(&mut out.member_assigns, m, v, src);
                }
            }
            "call_expression" => {
                if let Some((fi, fnode)) = current {
                    if let Some(call) = make_call(node, fnode, src, rules) {
                        seen_calls.insert(call.byte);
                        registration(node, src, rules, &mut out.entries);
                        out.functions[fi].calls.push(call);
                    }
                }
            }
            "ERROR" => {
                if current.is_none() {
                    out.errors_outside_functions += 1;
                }
                if let Some((fi, fnode)) = current {
                    // Keep recall inside unparsed regions: `name(` sequences are calls.
                    let t = text(node, src);
                    for cap in call_in_error_re().captures_iter(t) {
                        let m = cap.get(1).unwrap();
                        if KEYWORDS.contains(&m.as_str()) {
                            continue;
                        }
                        let byte = node.start_byte() + m.start();
                        if seen_calls.contains(&byte) {
                            continue;
                        }
                        // Only names known to matter, so noise in ERROR text is not followed.
                        if rules.classify(m.as_str()) == super::rules::CallClass::Other {
                            continue;
                        }
                        let pos = line_col(src, byte);
                        let inband = guarded_inband(node, fnode, src, rules);
                        out.functions[fi].calls.push(Call {
                            target: Target::Name(m.as_str().to_string()),
                            line: pos.0,
                            column: pos.1,
                            end_column: pos.1 + m.as_str().len() as u32,
                            byte,
                            inband,
                            lock_arg: None,
                        });
                    }
                }
            }
            "comment" => {
                let t = text(node, src);
                if t.contains(&rules.marker) {
                    markers.push(node.end_byte());
                }
                if let Some(cap) = suppress_re().captures(t) {
                    let ids: Vec<String> = cap[1]
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    let reason = cap[2].trim().trim_end_matches("*/").trim().to_string();
                    suppress_raw.push((
                        ids,
                        reason,
                        node.start_position().row as u32 + 1,
                        node.end_position().row as u32 + 1,
                        node.end_byte(),
                    ));
                }
                descend = false;
            }
            "string_literal" | "char_literal" | "number_literal" => descend = false,
            _ => {}
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                finish(&mut out, markers, suppress_raw, rules);
                return out;
            }
        }
    }
}

fn finish(
    out: &mut ParsedFile,
    markers: Vec<usize>,
    suppress_raw: Vec<(Vec<String>, String, u32, u32, usize)>,
    rules: &RuleSet,
) {
    // Switch to in-band: every call after the first switch in a body runs in-band.
    for f in &mut out.functions {
        f.calls.sort_by_key(|c| c.byte);
        let mut switched = false;
        for c in &mut f.calls {
            if switched {
                c.inband = true;
            }
            if let Target::Name(n) = &c.target {
                if !c.inband && rules.classify(n) == super::rules::CallClass::SwitchInband {
                    switched = true;
                }
            }
        }
    }
    for m in markers {
        let target = out
            .functions
            .iter()
            .find(|f| f.start_byte <= m && m < f.end_byte)
            .or_else(|| out.functions.iter().find(|f| f.start_byte >= m));
        if let Some(f) = target {
            out.entries.push(EntryRef {
                function: f.name.clone(),
                kind: "comment-marker".into(),
                line: f.start_line,
            });
        }
    }
    for (rules, reason, first, last, end_byte) in suppress_raw {
        // A comment right above a function, or inside its header before the body, covers it.
        let function = out.functions.iter().position(|f| {
            f.start_line == last + 1
                || (f.start_byte <= end_byte && first <= f.start_line + 1 && first >= f.start_line)
        });
        out.suppressions.push(SuppressionComment {
            rules,
            reason,
            first_line: first,
            last_line: last + 1,
            function,
        });
    }
}

fn line_col(src: &[u8], byte: usize) -> (u32, u32) {
    let before = &src[..byte];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let col = byte
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
    (line, col as u32 + 1)
}

fn make_call(node: Node, fnode: Node, src: &[u8], rules: &RuleSet) -> Option<Call> {
    let func = node.child_by_field_name("function")?;
    let (target, name_node) = match func.kind() {
        "identifier" => (Target::Name(text(func, src).to_string()), func),
        "field_expression" => {
            let f = func.child_by_field_name("field")?;
            (Target::Member(text(f, src).to_string()), f)
        }
        "parenthesized_expression" => {
            // `(*ops->fn)(...)` or `(fn)(...)`.
            let inner = func.named_child(0)?;
            let inner = if inner.kind() == "pointer_expression" {
                inner.child_by_field_name("argument")?
            } else {
                inner
            };
            match inner.kind() {
                "identifier" => (Target::Name(text(inner, src).to_string()), inner),
                "field_expression" => {
                    let f = inner.child_by_field_name("field")?;
                    (Target::Member(text(f, src).to_string()), f)
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let lock = match &target {
        Target::Name(n) if rules.classify(n) == super::rules::CallClass::Lock => node
            .child_by_field_name("arguments")
            .and_then(|a| a.named_child(0))
            .map(|a| lock_arg(a, src)),
        _ => None,
    };
    let start = name_node.start_position();
    Some(Call {
        target,
        line: start.row as u32 + 1,
        column: start.column as u32 + 1,
        end_column: name_node.end_position().column as u32 + 1,
        byte: name_node.start_byte(),
        inband: guarded_inband(node, fnode, src, rules),
        lock_arg: lock,
    })
}

fn registration(node: Node, src: &[u8], rules: &RuleSet, entries: &mut Vec<EntryRef>) {
    let Some(func) = node
        .child_by_field_name("function")
        .filter(|f| f.kind() == "identifier")
    else {
        return;
    };
    let name = text(func, src);
    let Some(args) = node.child_by_field_name("arguments") else {
        return;
    };
    let mut c = args.walk();
    let argv: Vec<Node> = args
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment")
        .collect();
    for reg in rules.registrations.iter().filter(|r| r.function == name) {
        if let (Some(fa), Some(flag)) = (reg.flags_arg, &reg.requires_flag) {
            let ok = argv.get(fa).is_some_and(|a| {
                text(*a, src)
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == flag)
            });
            if !ok {
                continue;
            }
        }
        if let Some(f) = argv.get(reg.arg).and_then(|a| function_ref(*a, src)) {
            entries.push(EntryRef {
                function: f,
                kind: reg.kind.clone(),
                line: node.start_position().row as u32 + 1,
            });
        }
    }
}

/// `struct file_operations x = { .oob_ioctl = f, ... }`: only for the listed struct types.
fn fops_entries(decl: Node, src: &[u8], rules: &RuleSet, entries: &mut Vec<EntryRef>) {
    let Some(ty) = decl.child_by_field_name("type") else {
        return;
    };
    let Some(sname) = struct_type_name(ty, src) else {
        return;
    };
    if !rules.fops_struct_types.contains(&sname) {
        return;
    }
    let mut c = decl.walk();
    for d in decl.children_by_field_name("declarator", &mut c) {
        let Some(list) = d
            .child_by_field_name("value")
            .filter(|v| v.kind() == "initializer_list")
        else {
            continue;
        };
        let mut c2 = list.walk();
        for pair in list
            .named_children(&mut c2)
            .filter(|p| p.kind() == "initializer_pair")
        {
            let member = pair
                .child_by_field_name("designator")
                .and_then(|d| d.named_child(0))
                .map(|f| text(f, src).to_string());
            let Some(member) = member.filter(|m| rules.fops_members.contains(m)) else {
                continue;
            };
            if let Some(f) = pair
                .child_by_field_name("value")
                .and_then(|v| function_ref(v, src))
            {
                entries.push(EntryRef {
                    function: f,
                    kind: format!("fops.{member}"),
                    line: pair.start_position().row as u32 + 1,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::load(&[crate::data::folder("rules")]).unwrap()
    }

    fn names(f: &Function) -> Vec<(String, bool)> {
        f.calls
            .iter()
            .map(|c| match &c.target {
                Target::Name(n) => (n.clone(), c.inband),
                Target::Member(m) => (format!("->{m}"), c.inband),
            })
            .collect()
    }

    #[test]
    fn functions_calls_and_members() {
        let src = b"static int helper(struct dev *d)\n{\n\tmutex_lock(&d->m);\n\treturn d->ops->step(d);\n}\nint pub_fn(void) { return helper(0); }\n";
        let p = parse_file(src, &rules());
        assert_eq!(p.functions.len(), 2);
        assert!(p.functions[0].is_static && !p.functions[1].is_static);
        assert_eq!(
            names(&p.functions[0]),
            vec![("mutex_lock".into(), false), ("->step".into(), false)]
        );
        assert_eq!(
            p.functions[0].var_structs,
            vec![("d".to_string(), "dev".to_string())]
        );
        assert_eq!(p.functions[0].calls[0].line, 3);
        assert_eq!(p.functions[0].calls[0].column, 2);
    }

    #[test]
    fn fops_entries_only_for_file_operations() {
        let src = b"static const struct file_operations fops = {\n\t.oob_ioctl = my_ioctl,\n\t.oob_read = my_read,\n\t.open = my_open,\n};\nstatic struct mtd_oob_ops ops = { .oob_read = nand_thing };\n";
        let p = parse_file(src, &rules());
        let got: Vec<_> = p
            .entries
            .iter()
            .map(|e| (e.function.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("my_ioctl", "fops.oob_ioctl"), ("my_read", "fops.oob_read")]
        );
        let store = p
            .member_assigns
            .iter()
            .find(|m| m.member == "oob_read" && m.function == "nand_thing")
            .expect("the MTD member store is indexed");
        assert_eq!((store.line, store.column, store.end_column), (6, 47, 57));
    }

    #[test]
    fn irq_registration_needs_irqf_oob() {
        let src = b"int probe(void)\n{\n\trequest_irq(1, oob_handler, IRQF_OOB | IRQF_SHARED, \"x\", 0);\n\trequest_irq(2, plain_handler, 0, \"y\", 0);\n\tevl_run_kthread(&kt, runner, NULL, 1, 0, \"k\");\n\tevl_init_timer(&t, tick);\n\treturn 0;\n}\n";
        let p = parse_file(src, &rules());
        let got: Vec<_> = p
            .entries
            .iter()
            .map(|e| (e.function.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("oob_handler", "irqf-oob-handler"),
                ("runner", "evl-kthread"),
                ("tick", "evl-timer-handler")
            ]
        );
    }

    #[test]
    fn guards_mark_inband_calls() {
        let src = b"void f(void)\n{\n\tif (running_inband())\n\t\ta();\n\tif (running_oob())\n\t\tb();\n\telse\n\t\tc();\n\tif (!running_oob()) { d(); }\n\te();\n\tif (running_oob())\n\t\treturn;\n\tg();\n}\n";
        let p = parse_file(src, &rules());
        let got = names(&p.functions[0]);
        let inband: Vec<_> = got
            .iter()
            .filter(|(_, g)| *g)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(inband, vec!["a", "c", "d", "g"], "{got:?}");
    }

    #[test]
    fn markers_and_suppressions() {
        let src = b"/* dovetail-port: oob-entry */\nstatic void tick(void)\n{\n\tkfree(p); /* dovetail-port: allow(oob-inband-alloc) freed before start */\n}\n";
        let p = parse_file(src, &rules());
        assert_eq!(p.entries[0].function, "tick");
        assert_eq!(p.entries[0].kind, "comment-marker");
        let s = &p.suppressions[0];
        assert_eq!(s.rules, vec!["oob-inband-alloc"]);
        assert_eq!(s.reason, "freed before start");
        assert_eq!(s.first_line, 4);
    }

    #[test]
    fn lock_arguments() {
        let src = b"void f(struct dev *d)\n{\n\traw_spin_lock_irqsave(&d->lock, fl);\n\tspin_lock(&glock);\n\tspin_lock(&a->b.c);\n}\n";
        let p = parse_file(src, &rules());
        let args: Vec<_> = p.functions[0]
            .calls
            .iter()
            .map(|c| c.lock_arg.clone().unwrap())
            .collect();
        assert_eq!(
            args[0],
            LockArg::Field {
                base: Some("d".into()),
                field: "lock".into()
            }
        );
        assert_eq!(args[1], LockArg::Var("glock".into()));
        assert_eq!(
            args[2],
            LockArg::Field {
                base: None,
                field: "c".into()
            }
        );
    }
}
