//! Full parse of one file with the C front end ([`crate::syntax::c`], normalised), turned
//! into our own data: functions with their calls (and whether each call is guarded to
//! in-band), entry-point registrations, struct-member assignments and comments that
//! matter (markers and suppressions).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::Node;

use super::cond::{self, Tri as Fixed};
use super::kconfig::Kconfig;
use super::rules::RuleSet;
use super::switch;
use crate::syntax::c::{self as csyntax, declarator_name, text};

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
    /// What each argument designates, when it is a variable or a member path of one
    /// (`&x->obnd.ring`), for object-sensitive member calls.
    pub args: Vec<Option<Access>>,
    /// For a member call, the object path called through (`ring->wait_input`).
    pub object: Option<Access>,
}

/// A variable and the member path below it: `&x->obnd.ring` is `x` with `[obnd, ring]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Access {
    /// The variable at the root, when the root is a plain identifier.
    pub base: Option<String>,
    pub fields: Vec<String>,
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
    /// Declared `__noreturn` or `__cold`: an error path that ends or reports, not followed.
    pub terminal: bool,
    /// Nests deeper than [`MAX_NESTING`]: nothing below that depth was analysed.
    pub too_deep: bool,
    /// Parameter names in order (empty names for unnamed ones).
    pub params: Vec<String>,
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
    /// The member path stored into, ending with `member`: `x->ibnd.ring.wait_input = f`
    /// gives `[ibnd, ring, wait_input]`, a nested initialiser its designators.
    pub path: Vec<String>,
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
    /// Function name -> index of its first definition in `functions`.
    pub by_name: HashMap<String, usize>,
    /// Set (to the size) when the file is larger than [`MAX_PARSE_BYTES`]: not parsed.
    pub too_large: Option<usize>,
}

impl ParsedFile {
    pub fn functions_with_errors(&self) -> usize {
        self.functions.iter().filter(|f| f.has_error).count()
    }

    /// The first function of that name defined in this file.
    pub fn function_named(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// Larger files are not parsed (reported as notes): the largest C file of a kernel tree is
/// under 2 MB (6.1: a 1.7 MB wireless table); a generated 20 MB one would take a minute.
pub const MAX_PARSE_BYTES: usize = 8 << 20;

/// How deep the syntax tree is followed (statements, expressions, initialisers). Real
/// kernel functions stay far below; deeper input is not recursed into, and its function
/// is reported as not fully analysed.
pub const MAX_NESTING: usize = 1000;
/// A member path longer than this is not tracked (the call falls back to every store).
const MAX_PATH: usize = 8;
/// Conditions are evaluated to this depth; deeper parts count as unknown.
const MAX_COND_DEPTH: usize = 64;

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

fn push_store(
    stores: &mut Vec<MemberStore>,
    member: String,
    path: Vec<String>,
    value: Node,
    src: &[u8],
) {
    if let Some(function) = function_ref(value, src) {
        let start = value.start_position();
        stores.push(MemberStore {
            member,
            path,
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

/// A condition's value in oob context (Kleene logic): `running_oob()` is true there,
/// `running_inband()` false, anything else (`hard_irqs_disabled()`, a flag) unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    fn or(self, o: Tri) -> Tri {
        self.not().and(o.not()).not()
    }
}

/// The name a call calls when it is a plain identifier (`f(...)`).
pub(super) fn called_name<'s>(call: Node, src: &'s [u8]) -> Option<&'s str> {
    call.child_by_field_name("function")
        .filter(|f| f.kind() == "identifier")
        .map(|f| text(f, src))
}

/// The last named child that is not a comment (the expression inside parentheses).
pub(super) fn last_named(node: Node) -> Option<Node> {
    let mut c = node.walk();
    let last = node
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment")
        .last();
    last
}

/// The argument `i` of a call node, skipping comments.
pub(super) fn call_arg(call: Node, i: usize) -> Option<Node> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    let found = args
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment")
        .nth(i);
    found
}

/// Evaluates a condition for oob context: through parentheses, `!`, `&&`, `||`,
/// `== 0`/`!= 0`, `likely()`/`unlikely()`/`WARN_ON()`-style wrappers (rules).
pub fn eval_oob(node: Node, src: &[u8], rules: &RuleSet) -> Tri {
    eval_at(node, src, rules, 0)
}

fn eval_at(node: Node, src: &[u8], rules: &RuleSet, depth: usize) -> Tri {
    if depth > MAX_COND_DEPTH {
        return Tri::Unknown;
    }
    let sub = |n: Option<Node>| n.map_or(Tri::Unknown, |n| eval_at(n, src, rules, depth + 1));
    match node.kind() {
        "parenthesized_expression" => sub(last_named(node)),
        "unary_expression" => {
            let op = node.child_by_field_name("operator").map(|o| text(o, src));
            match op {
                Some("!") => sub(node.child_by_field_name("argument")).not(),
                _ => Tri::Unknown,
            }
        }
        "binary_expression" => {
            let op = node
                .child_by_field_name("operator")
                .map_or("", |o| text(o, src));
            let left = node.child_by_field_name("left");
            let right = node.child_by_field_name("right");
            let is_zero = |n: Option<Node>| n.is_some_and(|n| text(n, src).trim() == "0");
            match op {
                "&&" => sub(left).and(sub(right)),
                "||" => sub(left).or(sub(right)),
                "==" if is_zero(right) => sub(left).not(),
                "==" if is_zero(left) => sub(right).not(),
                "!=" if is_zero(right) => sub(left),
                "!=" if is_zero(left) => sub(right),
                _ => Tri::Unknown,
            }
        }
        "call_expression" => {
            let Some(name) = called_name(node, src) else {
                return Tri::Unknown;
            };
            if rules.oob_checks.iter().any(|c| c == name) {
                Tri::True
            } else if rules.inband_checks.iter().any(|c| c == name) {
                Tri::False
            } else if let Some(&i) = rules.condition_wrappers.get(name) {
                sub(call_arg(node, i))
            } else if rules.assertion_macros.contains(name) {
                // `if (stage_mismatch())`, a macro of the tree: its expansion's value.
                macro_value(text(node, src), false, rules, depth)
            } else {
                Tri::Unknown
            }
        }
        _ => Tri::Unknown,
    }
}

/// The value in oob context of an expression given as text (a macro's expansion); only
/// parsed when it names a stage test, as nothing else can be known.
fn eval_text(expr: &str, rules: &RuleSet, depth: usize) -> Tri {
    let names = rules.oob_checks.iter().chain(&rules.inband_checks);
    if depth > MAX_COND_DEPTH || !names.into_iter().any(|c| expr.contains(c.as_str())) {
        return Tri::Unknown;
    }
    with_expression(expr, |e, src| eval_at(e, src, rules, depth)).unwrap_or(Tri::Unknown)
}

/// Parses `expr` as the expression of a statement and runs `f` on its node.
fn with_expression<T>(expr: &str, f: impl FnOnce(Node, &[u8]) -> T) -> Option<T> {
    let wrapped = format!("void f(void) {{ {expr}; }}");
    let parsed = csyntax::parse(wrapped.as_bytes())?;
    let src = &parsed.text[..];
    let e = parsed
        .tree
        .root_node()
        .named_child(0)
        .and_then(|f| f.child_by_field_name("body"))
        .and_then(|b| b.named_child(0))
        .filter(|s| s.kind() == "expression_statement")
        .and_then(|s| s.named_child(0))?;
    Some(f(e, src))
}

/// Does this statement always leave the enclosing block (return/goto/break/continue)?
fn exits(node: Node) -> bool {
    match node.kind() {
        "return_statement" | "goto_statement" | "break_statement" | "continue_statement" => true,
        "compound_statement" => {
            let mut c = node.walk();
            let last = node
                .named_children(&mut c)
                .filter(|n| n.kind() != "comment")
                .last();
            last.is_some_and(exits)
        }
        "else_clause" => node.named_child(0).is_some_and(exits),
        _ => false,
    }
}

/// What one parse reads conditions with: the rules (oob tests, wrappers) and the
/// configuration (`IS_ENABLED(CONFIG_X)`).
#[derive(Clone, Copy)]
struct Ctx<'c> {
    src: &'c [u8],
    rules: &'c RuleSet,
    config: &'c Kconfig,
}

/// Where the rest of a block runs, by the statements passed so far.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rest {
    /// Where the block itself runs.
    Inherit,
    /// In-band only: after an early exit on an oob test, an assertion that the stage is
    /// in-band, or a switch to in-band.
    Inband,
    /// Possibly oob, whatever the block inherited: after a switch back to oob.
    Oob,
}

/// The guard state of one node of the syntax tree, computed once from its parent's
/// (so the analysis is linear in the function's size).
#[derive(Clone, Copy)]
struct Frame<'t> {
    node: Node<'t>,
    /// Code here cannot run in oob context.
    inband: bool,
    /// In a block: where the statements from here on run.
    rest: Rest,
    /// A switch to oob runs in this node and may fall out of it (it does not always
    /// return or jump away first).
    switched_oob: bool,
    /// For an `if` testing the result of a switch to oob: whether its consequence and
    /// its alternative are in-band, replacing what they inherit (the error branch keeps
    /// the stage from before the switch, the success branch is oob).
    branches: [Option<bool>; 2],
    /// In a block, after `ret = evl_switch_oob();` made in-band code oob: `ret`, whose
    /// error test in the next statement leads back to in-band.
    switch_result: Option<Node<'t>>,
    /// For an `if` testing the result of a switch to oob: which branch runs after a
    /// successful switch (0 the consequence, 1 the alternative).
    success_branch: Option<usize>,
    /// In a block, while `switch_result` is set: where the rest ran before the switch.
    before_switch: Rest,
    /// Inside a loop already searched for a switch back to oob and found without one.
    no_switch_within: bool,
    /// Code here is compiled away for the configuration (`if (IS_ENABLED(CONFIG_KASAN))`
    /// with KASAN off): its calls are not calls.
    dead: bool,
    /// In a block: the statements from here on are compiled away (after
    /// `if (!IS_ENABLED(CONFIG_X)) return;` with X off).
    rest_dead: bool,
    /// For an `if` or `?:`: its condition in oob context; for `&&`/`||`: its left side's.
    cond: Tri,
    /// The same condition by the configuration alone (`IS_ENABLED()`, `0`).
    fixed: Fixed,
}

impl<'t> Frame<'t> {
    fn new(node: Node<'t>, inband: bool, dead: bool, cx: &Ctx) -> Frame<'t> {
        let tested = match node.kind() {
            "if_statement" | "conditional_expression" => node.child_by_field_name("condition"),
            "binary_expression" if is_logical(node, cx.src) => node.child_by_field_name("left"),
            _ => None,
        };
        let (cond, fixed) = match tested {
            // Dead code's conditions do not matter.
            Some(c) if !dead => (eval_oob(c, cx.src, cx.rules), eval_fixed(c, cx, 0)),
            _ => (Tri::Unknown, Fixed::Unknown),
        };
        // `if (evl_switch_oob()) return -EPERM;`: the error branch runs where the `if`
        // does, the other one oob.
        // A switch in any other form of condition (`if ((ret += evl_switch_oob()))`):
        // either branch may run oob.
        let mut success_branch = None;
        let branches = match tested {
            Some(c) if !dead && node.kind() == "if_statement" => {
                match switch::test(c, cx.src, cx.rules, None) {
                    Some(t) => {
                        success_branch = t.iter().position(|o| *o == switch::Outcome::MaybeOob);
                        t.map(|o| Some(o == switch::Outcome::Failed && inband))
                    }
                    None if inband && switch::mentioned(c, cx.src, cx.rules) => {
                        [Some(false), Some(false)]
                    }
                    None => [None, None],
                }
            }
            _ => [None, None],
        };
        Frame {
            node,
            inband,
            rest: Rest::Inherit,
            switched_oob: false,
            branches,
            switch_result: None,
            success_branch,
            before_switch: Rest::Inherit,
            no_switch_within: false,
            dead,
            rest_dead: false,
            cond,
            fixed,
        }
    }

    /// Is code placed here, after the statements passed so far, in-band only?
    fn inband_here(&self) -> bool {
        match self.rest {
            Rest::Inherit => self.inband,
            Rest::Inband => true,
            Rest::Oob => false,
        }
    }

    /// The frame of a child reached through `field` of this node.
    fn child(&self, child: Node<'t>, field: Option<&str>, cx: &Ctx) -> Frame<'t> {
        let mut inband = self.inband_here();
        let mut dead = self.dead || self.rest_dead;
        match (self.node.kind(), field) {
            ("if_statement" | "conditional_expression", Some("consequence")) => {
                inband = self.branches[0].unwrap_or(inband);
                inband |= self.cond == Tri::False;
                dead |= self.fixed == Fixed::No;
            }
            ("if_statement" | "conditional_expression", Some("alternative")) => {
                inband = self.branches[1].unwrap_or(inband);
                inband |= self.cond == Tri::True;
                dead |= self.fixed == Fixed::Yes;
            }
            // `a && b` runs b only when a holds, `a || b` only when it does not.
            ("binary_expression", Some("right")) if is_logical(self.node, cx.src) => {
                let and = self.node.child_by_field_name("operator").map(|o| o.kind()) == Some("&&");
                let (skip, skip_fixed) = if and {
                    (Tri::False, Fixed::No)
                } else {
                    (Tri::True, Fixed::Yes)
                };
                inband |= self.cond == skip;
                dead |= self.fixed == skip_fixed;
            }
            _ => {}
        }
        let mut f = Frame::new(child, inband, dead, cx);
        f.no_switch_within = self.no_switch_within;
        // A loop whose body switches back to oob starts its next turn there: in-band code
        // before the switch in the body is oob too. Its text is searched once (a loop in
        // one found without a switch is not searched again), so this stays linear.
        let looping = matches!(
            child.kind(),
            "for_statement" | "while_statement" | "do_statement"
        );
        if looping && f.inband && !dead && !f.no_switch_within {
            let body = text(child, cx.src);
            if cx
                .rules
                .switch_oob
                .iter()
                .any(|s| body.contains(s.as_str()))
            {
                f.inband = false;
            } else {
                f.no_switch_within = true;
            }
        }
        // `ret = evl_switch_oob(); if (ret) { ... }`: the error branch is in-band again.
        if let (Some(var), false, "if_statement") = (self.switch_result, dead, child.kind()) {
            let name = text(var, cx.src);
            let tested = child.child_by_field_name("condition");
            if let Some(t) = tested.and_then(|c| switch::test(c, cx.src, cx.rules, Some(name))) {
                f.branches = t.map(|o| (o == switch::Outcome::Failed).then_some(true));
                f.success_branch = t.iter().position(|o| *o == switch::Outcome::MaybeOob);
            }
        }
        f
    }

    /// After the statement `done` (with its frame) in this block: where does the rest of
    /// the block run, and is it compiled away?
    fn after(&mut self, done: &Frame<'t>, cx: &Ctx) {
        // `if (!(ret = evl_switch_oob())) { ...; return 0; }`: only the failure path goes on,
        // where the switch was made from (unless it switches again).
        let failure_only = done.success_branch.is_some_and(|i| {
            let branch = |i: usize| {
                done.node
                    .child_by_field_name(["consequence", "alternative"][i])
            };
            branch(i).is_some_and(exits)
                && !branch(1 - i).is_some_and(|b| switch::mentioned(b, cx.src, cx.rules))
        });
        // A switch to oob inside a branch reaches past it unless the branch leaves.
        let switched = done.switched_oob && !exits(done.node) && !failure_only;
        self.switched_oob |= switched;
        // A block, or the statements of a `case` (`case X: evl_switch_inband(); ...`).
        if !matches!(self.node.kind(), "compound_statement" | "case_statement") {
            return;
        }
        let s = done.node;
        // A switch's result is tested in the statement right after it, or not at all.
        if self.switch_result.take().is_some() && failure_only {
            self.rest = self.before_switch;
        }
        if !self.rest_dead && s.kind() == "if_statement" {
            let then_exits = s.child_by_field_name("consequence").is_some_and(exits);
            let alt = s.child_by_field_name("alternative");
            // `if (!IS_ENABLED(CONFIG_X)) return;` with X off: nothing after it is built.
            self.rest_dead = match (done.fixed, alt) {
                (Fixed::Yes, None) => then_exits,
                (Fixed::Yes, Some(a)) => then_exits && exits(a),
                (Fixed::No, Some(a)) => exits(a),
                _ => false,
            };
        }
        if switched {
            // `ret = evl_switch_oob();`: possibly oob from here, in-band code or not.
            if self.inband_here() {
                self.switch_result = switch::result_var(s, cx.src, cx.rules);
                self.before_switch = self.rest;
            }
            self.rest = Rest::Oob;
            return;
        }
        if self.rest == Rest::Inband {
            return;
        }
        let (src, rules) = (cx.src, cx.rules);
        let inband = match s.kind() {
            "if_statement" => {
                let then_exits = s.child_by_field_name("consequence").is_some_and(exits);
                let alt = s.child_by_field_name("alternative");
                match (done.cond, alt) {
                    // `if (running_oob()) return;`: what follows is in-band.
                    (Tri::True, None) => then_exits,
                    (Tri::True, Some(a)) => then_exits && exits(a),
                    // `if (running_inband()) { ... } else return;`
                    (Tri::False, Some(a)) => exits(a),
                    _ => false,
                }
            }
            "expression_statement" => s
                .named_child(0)
                .filter(|c| c.kind() == "call_expression")
                .is_some_and(|c| {
                    let name = called_name(c, src).unwrap_or("");
                    // `evl_switch_inband();`: in-band for the rest of this block only, so
                    // a switch in one branch leaves the other paths as they were.
                    rules.classify(name) == super::rules::CallClass::SwitchInband
                        // `WARN_ON(running_oob());`: asserted in-band from here on.
                        || (rules.assertions.iter().any(|a| a == name)
                            && eval_oob(c, src, rules) == Tri::True)
                        // `inband_context_only();`, a macro of the tree expanding to one.
                        || (rules.assertion_macros.contains(name)
                            && macro_value(text(c, src), true, rules, 0) == Tri::True)
                }),
            _ => false,
        };
        if inband {
            self.rest = Rest::Inband;
        }
    }
}

/// What a macro of the tree means in oob context, cached (the same one is met thousands
/// of times): as a `statement` (`inband_context_only()`, `oob_only()` with a `do { }
/// while (0)` body, a guard `if (running_oob()) return -EPERM;`), true when every
/// definition makes a listed assertion, or leaves on a condition, that holds there; as a
/// condition (`stage_mismatch()`), its expansion's value.
fn macro_value(call: &str, statement: bool, rules: &RuleSet, depth: usize) -> Tri {
    rules
        .assertion_macros
        .eval_cached(call, statement, depth, &mut |e: &str, statement| {
            if !statement {
                return eval_text(e, rules, depth + 1);
            }
            let asserts = with_expression(e, |c, src| {
                c.kind() == "call_expression"
                    && called_name(c, src).is_some_and(|n| rules.assertions.iter().any(|a| a == n))
                    && eval_oob(c, src, rules) == Tri::True
            });
            if asserts == Some(true) {
                Tri::True
            } else {
                Tri::Unknown
            }
        })
}

/// `a && b` or `a || b`.
fn is_logical(node: Node, src: &[u8]) -> bool {
    node.child_by_field_name("operator")
        .is_some_and(|o| matches!(text(o, src), "&&" | "||"))
}

/// A condition's value by the configuration alone: `IS_ENABLED(CONFIG_X)`-style tests,
/// `0`/`1`, through parentheses, `!`, `&&`, `||` and the condition wrappers
/// (`unlikely()`); anything else is unknown.
fn eval_fixed(node: Node, cx: &Ctx, depth: usize) -> Fixed {
    if depth > MAX_COND_DEPTH {
        return Fixed::Unknown;
    }
    let sub = |n: Option<Node>| n.map_or(Fixed::Unknown, |n| eval_fixed(n, cx, depth + 1));
    let src = cx.src;
    match node.kind() {
        "parenthesized_expression" => sub(last_named(node)),
        "unary_expression"
            if node.child_by_field_name("operator").map(|o| text(o, src)) == Some("!") =>
        {
            sub(node.child_by_field_name("argument")).not()
        }
        "binary_expression" => {
            let (l, r) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            );
            match node.child_by_field_name("operator").map(|o| text(o, src)) {
                Some("&&") => sub(l).and(sub(r)),
                Some("||") => sub(l).or(sub(r)),
                _ => Fixed::Unknown,
            }
        }
        "number_literal" => match text(node, src) {
            "0" => Fixed::No,
            "1" => Fixed::Yes,
            _ => Fixed::Unknown,
        },
        "call_expression" => {
            let Some(name) = called_name(node, src) else {
                return Fixed::Unknown;
            };
            // `EVL_WARN_ON(CORE, c)` is `WARN_ON(IS_ENABLED(CONFIG_EVL_DEBUG_CORE) && c)`.
            // `EVL_ASSERT(CORE, c)` is `!WARN_ON(IS_ENABLED(CONFIG_EVL_DEBUG_CORE) && !c)`.
            let symbol_off = |pattern: &str| {
                let arg = call_arg(node, 0).map_or("", |a| text(a, src));
                let sym = format!("CONFIG_{}", pattern.replace("{0}", arg));
                cond::is_test(cx.config, "IS_ENABLED", &sym) == Fixed::No
            };
            if cx
                .rules
                .kconfig_tests
                .get(name)
                .is_some_and(|p| symbol_off(p))
            {
                return Fixed::No;
            }
            if cx
                .rules
                .kconfig_asserts
                .get(name)
                .is_some_and(|p| symbol_off(p))
            {
                return Fixed::Yes;
            }
            if let Some(&i) = cx.rules.condition_wrappers.get(name) {
                return sub(call_arg(node, i));
            }
            if !name.starts_with("IS_") {
                return Fixed::Unknown;
            }
            match call_arg(node, 0).filter(|a| a.kind() == "identifier") {
                Some(a) => cond::is_test(cx.config, name, text(a, src)),
                None => Fixed::Unknown,
            }
        }
        _ => Fixed::Unknown,
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

/// Parses `src` (the original bytes; normalisation happens here) with every `CONFIG_`
/// symbol unknown.
pub fn parse_file(src: &[u8], rules: &RuleSet) -> ParsedFile {
    parse_file_for(src, rules, &Kconfig::default())
}

/// Parses `src`, deciding `if (IS_ENABLED(CONFIG_X))`-style branches by `config`.
pub fn parse_file_for(src: &[u8], rules: &RuleSet, config: &Kconfig) -> ParsedFile {
    if src.len() > MAX_PARSE_BYTES {
        return ParsedFile {
            too_large: Some(src.len()),
            ..Default::default()
        };
    }
    let orig = src;
    let Some(csyntax::Parsed { tree, text: norm }) = csyntax::parse(src) else {
        return ParsedFile {
            errors_outside_functions: 1,
            ..Default::default()
        };
    };
    let src = &norm[..];
    let cx = Ctx { src, rules, config };
    let lines = LineIndex::new(src);
    let root = tree.root_node();
    let mut out = ParsedFile::default();
    let mut markers: Vec<usize> = Vec::new();
    let mut suppress_raw: Vec<(Vec<String>, String, u32, u32, usize)> = Vec::new();
    // Iterative DFS; `frames` holds the guard state of each node on the path from the root.
    let mut cursor = root.walk();
    let mut frames: Vec<Frame> = vec![Frame::new(root, false, false, &cx)];
    let mut current: Option<(usize, Node)> = None;
    let mut seen_calls: std::collections::HashSet<usize> = Default::default();
    loop {
        let node = cursor.node();
        if let Some((_, f)) = current {
            if node.start_byte() >= f.end_byte() {
                current = None;
            }
        }
        let here = *frames.last().expect("the root frame stays");
        let mut descend = true;
        match node.kind() {
            "function_definition" => {
                let declarator = node.child_by_field_name("declarator");
                let name = declarator
                    .and_then(|d| declarator_name(d, src))
                    .unwrap_or_default()
                    .to_string();
                let mut is_static = false;
                let mut c = node.walk();
                for ch in node.children(&mut c) {
                    if ch.kind() == "storage_class_specifier" && text(ch, src) == "static" {
                        is_static = true;
                    }
                }
                // The attributes were blanked for the parser: read them in the original.
                let head_end = node
                    .child_by_field_name("body")
                    .map_or(node.end_byte(), |b| b.start_byte());
                // Blanked words before the type (`__cold void f(...)`) are not in the node.
                let from = node.start_byte();
                let back = from.saturating_sub(256);
                let head_start = orig[back..from]
                    .iter()
                    .rposition(|b| matches!(b, b';' | b'}' | b'{' | b'/' | b'#'))
                    .map_or(back, |p| back + p + 1);
                let terminal = terminal_re().is_match(&orig[head_start..head_end]);
                out.functions.push(Function {
                    name,
                    is_static,
                    start_line: node.start_position().row as u32 + 1,
                    end_line: node.end_position().row as u32 + 1,
                    start_byte: node.start_byte(),
                    end_byte: node.end_byte(),
                    has_error: node.has_error(),
                    terminal,
                    too_deep: false,
                    params: declarator.map(|d| params(d, src)).unwrap_or_default(),
                    calls: Vec::new(),
                    var_structs: Vec::new(),
                });
                current = Some((out.functions.len() - 1, node));
            }
            // Compiled away: not code of this build (its comments still count).
            k if here.dead && k != "comment" => {}
            "parameter_declaration" | "declaration" => {
                if let (Some((fi, _)), Some(ty)) = (current, node.child_by_field_name("type")) {
                    if let Some(s) = struct_type_name(ty, src) {
                        let mut c = node.walk();
                        for d in node.children_by_field_name("declarator", &mut c) {
                            if let Some(v) = declarator_name(d, src) {
                                out.functions[fi]
                                    .var_structs
                                    .push((v.to_string(), s.clone()));
                            }
                        }
                    }
                }
                if node.kind() == "declaration" {
                    fops_entries(node, src, rules, &mut out.entries);
                }
            }
            "initializer_pair" => {
                let member = designator(node, src);
                if let (Some(m), Some(v)) = (member, node.child_by_field_name("value")) {
                    let path = initializer_path(&frames, m.clone(), src);
                    push_store(&mut out.member_assigns, m, path, v, src);
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
                    let path = left
                        .and_then(|l| access(l, src))
                        .map_or_else(|| vec![m.clone()], |a| a.fields);
                    push_store(&mut out.member_assigns, m, path, v, src);
                }
            }
            "call_expression" => {
                // `evl_switch_oob()`: the blocks around it may run oob again after it.
                if called_name(node, src).is_some_and(|n| rules.switch_oob.iter().any(|s| s == n)) {
                    if let Some(f) = frames.last_mut() {
                        f.switched_oob = true;
                    }
                }
                if let Some((fi, _)) = current {
                    if let Some(call) = make_call(node, here.inband, src, rules) {
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
                // An ERROR inside an ERROR: its text was read with the outer one.
                let nested = frames.len() > 1 && frames[frames.len() - 2].node.kind() == "ERROR";
                if let Some((fi, _)) = current.filter(|_| !nested) {
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
                        seen_calls.insert(byte);
                        let pos = lines.line_col(byte);
                        out.functions[fi].calls.push(Call {
                            target: Target::Name(m.as_str().to_string()),
                            line: pos.0,
                            column: pos.1,
                            end_column: pos.1 + m.as_str().len() as u32,
                            byte,
                            inband: here.inband,
                            lock_arg: None,
                            args: Vec::new(),
                            object: None,
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
        if descend && frames.len() >= MAX_NESTING && node.child_count() > 0 {
            // Refused, not recursed into: the function is reported as not fully analysed.
            descend = false;
            if let Some((fi, _)) = current {
                out.functions[fi].too_deep = true;
            }
        }
        if descend && cursor.goto_first_child() {
            let f = here.child(cursor.node(), cursor.field_name(), &cx);
            frames.push(f);
            continue;
        }
        loop {
            let done = frames.pop().expect("a frame per node on the path");
            if let Some(parent) = frames.last_mut() {
                parent.after(&done, &cx);
            }
            if cursor.goto_next_sibling() {
                let parent = *frames.last().expect("a sibling has a parent");
                let f = parent.child(cursor.node(), cursor.field_name(), &cx);
                frames.push(f);
                break;
            }
            if !cursor.goto_parent() {
                finish(&mut out, markers, suppress_raw);
                return out;
            }
        }
    }
}

/// Line and column (1-based) of byte offsets, from a table of line starts built once.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(src: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            src.iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex(starts)
    }

    fn line_col(&self, byte: usize) -> (u32, u32) {
        let line = self.0.partition_point(|&s| s <= byte).max(1);
        let col = byte - self.0[line - 1];
        (line as u32, col as u32 + 1)
    }
}

fn terminal_re() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::bytes::Regex::new(r"\b(?:__noreturn|__cold)\b").unwrap())
}

/// The member a designated initialiser names (`.member = ...`).
fn designator(pair: Node, src: &[u8]) -> Option<String> {
    pair.child_by_field_name("designator")
        .filter(|d| d.kind() == "field_designator")
        .and_then(|d| d.named_child(0))
        .map(|f| text(f, src).to_string())
}

/// The designators of the initialisers enclosing the one being visited (the last frame),
/// outermost first, then `member`: `.obnd = { .ring = { .wait_input = f } }`.
fn initializer_path(frames: &[Frame], member: String, src: &[u8]) -> Vec<String> {
    let mut path = vec![member];
    for f in frames.iter().rev().skip(1) {
        match f.node.kind() {
            "initializer_list" => {}
            "initializer_pair" if path.len() < MAX_PATH => match designator(f.node, src) {
                Some(d) => path.push(d),
                None => break,
            },
            _ => break,
        }
    }
    path.reverse();
    path
}

/// The parameter names of a function declarator (through pointer declarators).
fn params(mut decl: Node, src: &[u8]) -> Vec<String> {
    while decl.kind() != "function_declarator" {
        match decl.child_by_field_name("declarator") {
            Some(d) => decl = d,
            None => return Vec::new(),
        }
    }
    let Some(list) = decl.child_by_field_name("parameters") else {
        return Vec::new();
    };
    let mut c = list.walk();
    let v = list
        .named_children(&mut c)
        .filter(|p| p.kind() == "parameter_declaration")
        .map(|p| {
            p.child_by_field_name("declarator")
                .and_then(|d| declarator_name(d, src))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    v
}

/// What an expression designates as a variable and member path: `x`, `&x->a.b`,
/// `(struct t *)x->a`; `None` for anything else.
fn access(node: Node, src: &[u8]) -> Option<Access> {
    let mut fields = Vec::new();
    let mut n = node;
    loop {
        match n.kind() {
            "pointer_expression" | "parenthesized_expression" => {
                n = n
                    .child_by_field_name("argument")
                    .or_else(|| n.named_child(0))?;
            }
            "cast_expression" => n = n.child_by_field_name("value")?,
            "field_expression" => {
                if fields.len() >= MAX_PATH {
                    return None;
                }
                fields.push(text(n.child_by_field_name("field")?, src).to_string());
                n = n.child_by_field_name("argument")?;
            }
            "identifier" => {
                fields.reverse();
                return Some(Access {
                    base: Some(text(n, src).to_string()),
                    fields,
                });
            }
            _ if !fields.is_empty() => {
                fields.reverse();
                return Some(Access { base: None, fields });
            }
            _ => return None,
        }
    }
}

fn finish(
    out: &mut ParsedFile,
    markers: Vec<usize>,
    suppress_raw: Vec<(Vec<String>, String, u32, u32, usize)>,
) {
    for (i, f) in out.functions.iter().enumerate() {
        out.by_name.entry(f.name.clone()).or_insert(i);
    }
    for f in &mut out.functions {
        f.calls.sort_by_key(|c| c.byte);
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

fn make_call(node: Node, inband: bool, src: &[u8], rules: &RuleSet) -> Option<Call> {
    let func = node.child_by_field_name("function")?;
    let (target, name_node, object) = match func.kind() {
        "identifier" => (Target::Name(text(func, src).to_string()), func, None),
        "field_expression" => {
            let f = func.child_by_field_name("field")?;
            (
                Target::Member(text(f, src).to_string()),
                f,
                access(func, src),
            )
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
                "identifier" => (Target::Name(text(inner, src).to_string()), inner, None),
                "field_expression" => {
                    let f = inner.child_by_field_name("field")?;
                    (
                        Target::Member(text(f, src).to_string()),
                        f,
                        access(inner, src),
                    )
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
    let mut args = Vec::new();
    if let Some(list) = node.child_by_field_name("arguments") {
        let mut c = list.walk();
        args = list
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment")
            .take(16)
            .map(|a| access(a, src))
            .collect();
    }
    let start = name_node.start_position();
    Some(Call {
        target,
        line: start.row as u32 + 1,
        column: start.column as u32 + 1,
        end_column: name_node.end_position().column as u32 + 1,
        byte: name_node.start_byte(),
        inband,
        lock_arg: lock,
        args,
        object,
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
    fn guards_are_boolean_formulas() {
        let src = b"void put(struct e *e)\n{\n\tif (unlikely(running_oob() || hard_irqs_disabled())) {\n\t\tdefer(e);\n\t} else {\n\t\tdestroy(e);\n\t}\n\tif (likely(!running_oob() && x))\n\t\tslow();\n\tif (hard_irqs_disabled() || running_inband())\n\t\tmaybe();\n\tif (running_oob() == 0)\n\t\tzero();\n\tr = running_oob() ? fast() : slow2();\n}\nvoid early(void)\n{\n\tnow();\n\tif (WARN_ON(running_oob()))\n\t\treturn;\n\tafter();\n}\nvoid assert(void)\n{\n\tbefore();\n\tWARN_ON_ONCE(running_oob());\n\tlater();\n\tif (hard_irqs_disabled())\n\t\treturn;\n\tstill();\n}\n";
        let p = parse_file(src, &rules());
        let inband = |f: &Function| -> Vec<String> {
            names(f)
                .into_iter()
                .filter(|(_, g)| *g)
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(
            inband(&p.functions[0]),
            // `hard_irqs_disabled()` right of `running_oob() ||` runs only in-band.
            ["hard_irqs_disabled", "destroy", "slow", "zero", "slow2"],
            "{:?}",
            names(&p.functions[0])
        );
        assert_eq!(inband(&p.functions[1]), ["after"]);
        assert_eq!(
            inband(&p.functions[2]),
            ["later", "hard_irqs_disabled", "still"]
        );
    }

    #[test]
    fn configured_out_branches_have_no_calls() {
        let src = b"void f(struct rq *rq)\n{\n\tif (IS_ENABLED(CONFIG_KASAN))\n\t\tkasan_a();\n\telse\n\t\tplain_b();\n\tif (unlikely(IS_ENABLED(CONFIG_EVL_DEBUG_CORE) && rq->n))\n\t\tdump_c();\n\tIS_ENABLED(CONFIG_KASAN) && kasan_d();\n\tr = IS_BUILTIN(CONFIG_EVL) ? e() : f2();\n\tif (0)\n\t\tnever();\n\tif (IS_ENABLED(CONFIG_SMP) || running_inband())\n\t\tsmp_g();\n\tif (EVL_WARN_ON(CORE, rq->n))\n\t\twarn_i();\n\tif (!IS_ENABLED(CONFIG_KCSAN))\n\t\treturn;\n\tkcsan_h();\n}\n";
        let k = Kconfig::assumed(&[("EVL".to_string(), "y".to_string())].into()).with_off(&[
            "KASAN*".into(),
            "KCSAN*".into(),
            "EVL_DEBUG*".into(),
        ]);
        let called = |p: &ParsedFile| -> Vec<String> {
            names(&p.functions[0])
                .into_iter()
                .map(|(n, _)| n)
                .filter(|n| !n.starts_with("IS_") && n != "unlikely")
                .collect()
        };
        assert_eq!(
            called(&parse_file_for(src, &rules(), &k)),
            ["plain_b", "e", "running_inband", "smp_g", "EVL_WARN_ON"]
        );
        // Nothing known of the symbols: every branch but `if (0)` is code.
        assert_eq!(
            called(&parse_file(src, &rules())),
            [
                "kasan_a",
                "plain_b",
                "dump_c",
                "kasan_d",
                "e",
                "f2",
                "running_inband",
                "smp_g",
                "EVL_WARN_ON",
                "warn_i",
                "kcsan_h"
            ]
        );
    }

    #[test]
    fn logical_operators_guard_their_right_side() {
        let src = b"void f(void)\n{\n\trunning_inband() && slow_a();\n\trunning_oob() || slow_b();\n\trunning_oob() && fast_c();\n}\n";
        let p = parse_file(src, &rules());
        let inband: Vec<String> = names(&p.functions[0])
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(inband, ["slow_a", "slow_b"]);
    }

    #[test]
    fn member_paths_of_stores_calls_and_arguments() {
        let src = b"void build(struct x *x)\n{\n\tx->ibnd.ring.wait_input = in_wait;\n\tx->obnd.ring.wait_input = out_wait;\n}\nstatic struct t t = { .obnd = { .ring = { .wait_input = w } } };\nlong rd(struct x *x) { return do_read(&x->obnd.ring, 3); }\nint do_read(struct ring *ring, int n) { return ring->wait_input(ring, n); }\n__cold void oops(void) { }\n";
        let p = parse_file(src, &rules());
        let paths: Vec<String> = p.member_assigns.iter().map(|m| m.path.join(".")).collect();
        assert_eq!(
            paths,
            [
                "ibnd.ring.wait_input",
                "obnd.ring.wait_input",
                "obnd.ring.wait_input"
            ]
        );
        let rd = &p.functions[1];
        let a = rd.calls[0].args[0].as_ref().unwrap();
        assert_eq!(
            (a.base.as_deref(), a.fields.join(".")),
            (Some("x"), "obnd.ring".into())
        );
        let dr = &p.functions[2];
        assert_eq!(dr.params, ["ring", "n"]);
        let o = dr.calls[0].object.as_ref().unwrap();
        assert_eq!(
            (o.base.as_deref(), o.fields.join(".")),
            (Some("ring"), "wait_input".into())
        );
        assert!(p.functions[3].terminal && !dr.terminal);
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

    /// The in-band flag of each call of the first function, by name.
    fn stages(src: &str, rules: &RuleSet) -> Vec<(String, bool)> {
        names(&parse_file(src.as_bytes(), rules).functions[0])
    }

    #[test]
    fn switches_back_to_oob_follow_the_result() {
        let r = rules();
        let ib = |n: &str| (n.to_string(), true);
        let oob = |n: &str| (n.to_string(), false);
        // Through a variable tested in the next statement: the error branch keeps the
        // stage from before the call, the rest is oob.
        let src = "int f(void)\n{\n\tint ret;\n\tevl_switch_inband(0);\n\ta();\n\tret = evl_switch_oob();\n\tif (unlikely(ret)) {\n\t\tb();\n\t\treturn ret;\n\t}\n\tc();\n\tif (ret)\n\t\td();\n\treturn 0;\n}\n";
        assert_eq!(
            stages(src, &r),
            [
                oob("evl_switch_inband"),
                ib("a"),
                ib("evl_switch_oob"),
                oob("unlikely"),
                ib("b"),
                oob("c"),
                oob("d")
            ]
        );
        // Directly, with one error code, and declared: the other branch may be oob.
        let src = "int f(void)\n{\n\tevl_switch_inband(0);\n\tif (evl_switch_oob() == -ERESTARTSYS)\n\t\ta();\n\telse\n\t\tb();\n\tc();\n}\nint g(void)\n{\n\tevl_switch_inband(0);\n\tint ret = evl_switch_oob();\n\tif (!ret)\n\t\tok();\n\telse\n\t\tfailed();\n}\n";
        let p = parse_file(src.as_bytes(), &r);
        assert_eq!(
            names(&p.functions[0]),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                ib("a"),
                oob("b"),
                oob("c")
            ]
        );
        assert_eq!(
            names(&p.functions[1]),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                oob("ok"),
                ib("failed")
            ]
        );
    }

    /// `if ((ret = evl_switch_oob()))`: the assignment has the call's value, read like
    /// `ret = evl_switch_oob(); if (ret)`, with `!`, `< 0` and `unlikely()` too.
    #[test]
    fn switches_back_to_oob_assigned_in_the_condition() {
        let r = rules();
        let ib = |n: &str| (n.to_string(), true);
        let oob = |n: &str| (n.to_string(), false);
        let src = "int f(void)\n{\n\tevl_switch_inband(0);\n\tif ((ret = evl_switch_oob())) {\n\t\ta();\n\t\treturn ret;\n\t}\n\tb();\n}\nint g(void)\n{\n\tevl_switch_inband(0);\n\tif (unlikely((ret = evl_switch_oob()) < 0))\n\t\treturn c(ret);\n\td();\n}\nint h(void)\n{\n\tevl_switch_inband(0);\n\tif (!(ret = evl_switch_oob()))\n\t\te();\n\telse\n\t\tf2();\n\tg2();\n}\nint k(void)\n{\n\tevl_switch_inband(0);\n\tif ((ret += evl_switch_oob()))\n\t\tm();\n}\n";
        let p = parse_file(src.as_bytes(), &r);
        let st = |i: usize| names(&p.functions[i]);
        assert_eq!(
            st(0),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                ib("a"),
                oob("b")
            ]
        );
        assert_eq!(
            st(1),
            [
                oob("evl_switch_inband"),
                ib("unlikely"),
                ib("evl_switch_oob"),
                ib("c"),
                oob("d")
            ]
        );
        assert_eq!(
            st(2),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                oob("e"),
                ib("f2"),
                oob("g2")
            ]
        );
        // Not a plain assignment: the value is not the call's, nothing is known.
        assert_eq!(
            st(3),
            [oob("evl_switch_inband"), ib("evl_switch_oob"), oob("m")]
        );
        // When the success branch leaves, only the failure path goes on: still in-band,
        // for the switch tested directly or through its variable.
        let src = "int f(void)\n{\n\tevl_switch_inband(0);\n\tif (!(ret = evl_switch_oob())) {\n\t\ta();\n\t\treturn 0;\n\t}\n\tb();\n}\nint g(void)\n{\n\tevl_switch_inband(0);\n\tret = evl_switch_oob();\n\tif (!ret)\n\t\treturn c();\n\td();\n}\nint h(void)\n{\n\tevl_switch_inband(0);\n\tif (!evl_switch_oob())\n\t\treturn 0;\n\telse\n\t\tevl_switch_oob();\n\te();\n}\n";
        let p = parse_file(src.as_bytes(), &r);
        let st = |i: usize| names(&p.functions[i]);
        assert_eq!(
            st(0),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                oob("a"),
                ib("b")
            ]
        );
        assert_eq!(
            st(1),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                oob("c"),
                ib("d")
            ]
        );
        // The failure branch switching again: may be oob after it.
        assert_eq!(
            st(2),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                ib("evl_switch_oob"),
                oob("e")
            ]
        );
    }

    #[test]
    fn switches_back_to_oob_stay_conservative() {
        let r = rules();
        let ib = |n: &str| (n.to_string(), true);
        let oob = |n: &str| (n.to_string(), false);
        // A switch in a branch reaches past it (unless the branch leaves); a result tested
        // later than the next statement, or a switch from code that may already be oob,
        // proves nothing about the error branch.
        let src = "void f(int x)\n{\n\tevl_switch_inband(0);\n\tif (x)\n\t\tevl_switch_oob();\n\ta();\n}\nvoid g(int x)\n{\n\tevl_switch_inband(0);\n\tif (x) {\n\t\tevl_switch_oob();\n\t\treturn;\n\t}\n\tb();\n\tret = evl_switch_oob();\n\ttrace(ret);\n\tif (ret)\n\t\tc();\n}\nvoid h(void)\n{\n\tret = evl_switch_oob();\n\tif (ret)\n\t\td();\n\tevl_switch_inband(0);\n\te();\n}\n";
        let p = parse_file(src.as_bytes(), &r);
        assert_eq!(
            names(&p.functions[0]),
            [oob("evl_switch_inband"), ib("evl_switch_oob"), oob("a")]
        );
        assert_eq!(
            names(&p.functions[1]),
            [
                oob("evl_switch_inband"),
                ib("evl_switch_oob"),
                ib("b"),
                ib("evl_switch_oob"),
                oob("trace"),
                oob("c")
            ]
        );
        assert_eq!(
            names(&p.functions[2]),
            [
                oob("evl_switch_oob"),
                oob("d"),
                oob("evl_switch_inband"),
                ib("e")
            ]
        );
        // A loop switching back to oob in its body starts its next turn oob.
        let src = "void f(int n)\n{\n\tevl_switch_inband(0);\n\twhile (n--) {\n\t\ta();\n\t\tif (evl_switch_oob())\n\t\t\tbreak;\n\t\tb();\n\t}\n\tfor (;;)\n\t\tc();\n}\n";
        assert_eq!(
            stages(src, &r),
            [
                oob("evl_switch_inband"),
                oob("a"),
                oob("evl_switch_oob"),
                oob("b"),
                oob("c")
            ]
        );
    }
}
