//! Preprocessor conditionals evaluated for one kernel configuration: which regions of a
//! file the build compiles. `#ifdef`/`#ifndef`/`#if`/`#elif`/`#else` on Kconfig symbols
//! (`defined(CONFIG_X)`, `IS_ENABLED(CONFIG_X)`, `IS_BUILTIN`, `IS_MODULE`, `!`, `&&`,
//! `||`, comparisons of known numbers) are decided from the [`Kconfig`]; anything else
//! (include guards, `__GNUC__`, `LINUX_VERSION_CODE`, arithmetic) is unknown, and an
//! unknown condition leaves both branches in, as a reader who knows nothing would.
//!
//! Without this, both Kconfig alternatives of a name count: include/linux/spinlock_rt.h
//! gives `spin_unlock()` the PREEMPT_RT body (`rt_spin_unlock()`, which sleeps) next to
//! the real one, and `spin_unlock()` looks in-band only.

use std::collections::HashSet;

use super::kconfig::{Kconfig, Value};

/// A three-valued truth: what is known of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    No,
    Yes,
    Unknown,
}

impl Tri {
    fn of(v: Option<i64>) -> Tri {
        match v {
            Some(0) => Tri::No,
            Some(_) => Tri::Yes,
            None => Tri::Unknown,
        }
    }

    pub(super) fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Yes => Tri::No,
            Tri::Unknown => Tri::Unknown,
        }
    }

    pub(super) fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        }
    }

    pub(super) fn and(self, other: Tri) -> Tri {
        self.not().or(other.not()).not()
    }

    fn int(self) -> Option<i64> {
        match self {
            Tri::No => Some(0),
            Tri::Yes => Some(1),
            Tri::Unknown => None,
        }
    }
}

/// What the configuration says of macro names, with the file's own `#define`/`#undef`
/// of `CONFIG_` names taken as unknown (the vDSO and boot code redefine a few).
struct Macros<'a> {
    config: &'a Kconfig,
    redefined: &'a HashSet<String>,
}

impl Macros<'_> {
    /// The Kconfig symbol a `CONFIG_` macro name stands for, and whether it is the
    /// `_MODULE` form autoconf.h defines for `=m`.
    fn symbol<'n>(&self, name: &'n str) -> Option<(&'n str, bool)> {
        if self.redefined.contains(name) {
            return None;
        }
        let sym = name.strip_prefix("CONFIG_")?;
        match sym.strip_suffix("_MODULE") {
            // A symbol whose own name ends in _MODULE (CONFIG_TRIM_UNUSED_KSYMS_MODULE...)
            // is taken as itself when the configuration knows it.
            Some(base) if self.config.get(sym).is_none_or(|v| v == Value::No) => Some((base, true)),
            _ => Some((sym, false)),
        }
    }

    fn defined(&self, name: &str) -> Tri {
        let Some((sym, module_form)) = self.symbol(name) else {
            return Tri::Unknown;
        };
        match (self.config.get(sym), module_form) {
            (None, _) => Tri::Unknown,
            (Some(Value::Module), true) => Tri::Yes,
            (Some(_), true) | (Some(Value::No | Value::Module), false) => Tri::No,
            (Some(Value::Yes | Value::Other(_)), false) => Tri::Yes,
        }
    }

    /// The value of a bare name in `#if`: 1 for `=y`, the number of an int/hex symbol,
    /// 0 for an undefined one.
    fn value(&self, name: &str) -> Option<i64> {
        if let Some((sym, false)) = self.symbol(name) {
            if let Some(Value::Other(v)) = self.config.get(sym) {
                return parse_int(&v);
            }
        }
        self.defined(name).int()
    }

    /// `IS_ENABLED(CONFIG_X)` and friends, by the symbol's tristate.
    fn is(&self, test: &str, name: &str) -> Tri {
        let Some((sym, false)) = self.symbol(name) else {
            return Tri::Unknown;
        };
        let Some(v) = self.config.get(sym) else {
            return Tri::Unknown;
        };
        let (y, m) = (v == Value::Yes, v == Value::Module);
        match test {
            "IS_ENABLED" => Tri::of(Some((y || m) as i64)),
            "IS_BUILTIN" => Tri::of(Some(y as i64)),
            "IS_MODULE" => Tri::of(Some(m as i64)),
            // Reachable from a module too when =m: that depends on who includes it.
            "IS_REACHABLE" if m => Tri::Unknown,
            "IS_REACHABLE" => Tri::of(Some(y as i64)),
            _ => Tri::Unknown,
        }
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim_end_matches(['u', 'U', 'l', 'L']);
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None if t.len() > 1 && t.starts_with('0') => i64::from_str_radix(&t[1..], 8).ok(),
        None => t.parse().ok(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Num(Option<i64>),
    Punct(&'static str),
    /// Anything else (strings, unknown operators): the expression is not understood.
    Other,
}

const PUNCTS: &[&str] = &[
    "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "!", "<", ">", "(", ")", ",",
];

fn tokenize(expr: &str) -> Vec<Tok> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(expr[s..i].to_string()));
        } else if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Num(parse_int(&expr[s..i])));
        } else if let Some(p) = PUNCTS.iter().find(|p| b[i..].starts_with(p.as_bytes())) {
            i += p.len();
            out.push(Tok::Punct(p));
        } else {
            i += 1;
            out.push(Tok::Other);
        }
    }
    out
}

/// A recursive-descent evaluator over `||`, `&&`, comparisons, `!` and primaries.
/// `Err` means the expression is not understood at all (unknown operator).
struct Eval<'a> {
    toks: &'a [Tok],
    pos: usize,
    macros: &'a Macros<'a>,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn at(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        let at = self.at(p);
        if at {
            self.pos += 1;
        }
        at
    }

    fn or(&mut self) -> Result<Tri, ()> {
        let mut v = self.and()?;
        while self.eat("||") {
            v = v.or(self.and()?);
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Tri, ()> {
        let mut v = self.cmp()?;
        while self.eat("&&") {
            v = v.not().or(self.cmp()?.not()).not();
        }
        Ok(v)
    }

    fn cmp(&mut self) -> Result<Tri, ()> {
        let left = self.unary()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let right = self.unary()?;
                let v = left.zip(right).map(|(a, b)| match op {
                    "==" => a == b,
                    "!=" => a != b,
                    "<=" => a <= b,
                    ">=" => a >= b,
                    "<" => a < b,
                    _ => a > b,
                } as i64);
                return Ok(Tri::of(v));
            }
        }
        Ok(Tri::of(left))
    }

    fn unary(&mut self) -> Result<Option<i64>, ()> {
        if self.eat("!") {
            return Ok(Tri::of(self.unary()?).not().int());
        }
        self.primary()
    }

    /// The name inside `(NAME)` or after `defined`.
    fn name_arg(&mut self, parens: bool) -> Result<String, ()> {
        if parens && !self.eat("(") {
            return Err(());
        }
        let Some(Tok::Ident(n)) = self.peek().cloned() else {
            return Err(());
        };
        self.pos += 1;
        if parens && !self.eat(")") {
            return Err(());
        }
        Ok(n)
    }

    fn primary(&mut self) -> Result<Option<i64>, ()> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Punct("(")) => {
                self.pos += 1;
                let v = self.or()?;
                if !self.eat(")") {
                    return Err(());
                }
                Ok(v.int())
            }
            Some(Tok::Ident(id)) => {
                self.pos += 1;
                if id == "defined" {
                    let parens = self.at("(");
                    let name = self.name_arg(parens)?;
                    return Ok(self.macros.defined(&name).int());
                }
                if !self.at("(") {
                    return Ok(self.macros.value(&id));
                }
                if id.starts_with("IS_") {
                    let save = self.pos;
                    if let Ok(name) = self.name_arg(true) {
                        return Ok(self.macros.is(&id, &name).int());
                    }
                    self.pos = save;
                }
                // Another function-like macro (KERNEL_VERSION(...), __has_attribute(...)):
                // its value is unknown; skip its balanced arguments.
                let mut depth = 0usize;
                while let Some(t) = self.peek().cloned() {
                    self.pos += 1;
                    match t {
                        Tok::Punct("(") => depth += 1,
                        Tok::Punct(")") => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(None);
                            }
                        }
                        _ => {}
                    }
                }
                Err(())
            }
            _ => Err(()),
        }
    }
}

/// `IS_ENABLED(CONFIG_X)` (or `IS_BUILTIN`, `IS_MODULE`, `IS_REACHABLE`) in C code, by
/// the configuration: `if (IS_ENABLED(CONFIG_KASAN))` is a branch the build compiles
/// away when KASAN is off.
pub fn is_test(config: &Kconfig, test: &str, name: &str) -> Tri {
    let redefined = HashSet::new();
    Macros {
        config,
        redefined: &redefined,
    }
    .is(test, name)
}

/// Evaluates the expression of an `#if`/`#elif` (comments already removed).
pub fn eval(expr: &str, config: &Kconfig) -> Tri {
    eval_with(expr, config, &HashSet::new())
}

fn eval_with(expr: &str, config: &Kconfig, redefined: &HashSet<String>) -> Tri {
    let toks = tokenize(expr);
    let macros = Macros { config, redefined };
    let mut e = Eval {
        toks: &toks,
        pos: 0,
        macros: &macros,
    };
    match e.or() {
        Ok(v) if e.pos == toks.len() => v,
        _ => Tri::Unknown,
    }
}

/// An `#include` seen by the lexical pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// As written: `linux/spinlock_rt.h`.
    pub path: String,
    /// `<...>` rather than `"..."`.
    pub angle: bool,
    /// In a region the configuration leaves out.
    pub inactive: bool,
}

/// One open `#if` group.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Has an earlier branch of the group been taken?
    taken: Tri,
    /// Is the current branch compiled?
    branch: Tri,
}

/// Follows the conditionals of one file, directive by directive, in order.
pub struct Conditionals<'a> {
    config: &'a Kconfig,
    stack: Vec<Frame>,
    redefined: HashSet<String>,
    active: bool,
    /// Where the current inactive region started.
    inactive_from: Option<usize>,
    /// Byte ranges the configuration leaves out, in order.
    pub inactive: Vec<(usize, usize)>,
    pub includes: Vec<Include>,
}

impl<'a> Conditionals<'a> {
    pub fn new(config: &'a Kconfig) -> Self {
        Conditionals {
            config,
            stack: Vec::new(),
            redefined: HashSet::new(),
            active: true,
            inactive_from: None,
            inactive: Vec::new(),
            includes: Vec::new(),
        }
    }

    /// Is the code after the last directive compiled (or maybe compiled)?
    pub fn active(&self) -> bool {
        self.active
    }

    /// One directive line, `line` = `src[start..end]` from its `#` to the end of the
    /// line (continuations included).
    pub fn directive(&mut self, line: &[u8], start: usize, end: usize) {
        // Most directives are #defines (millions in the register headers): only a
        // `CONFIG_` name matters, so look no further than needed.
        let mut i = 0;
        while i < line.len() && matches!(line[i], b'#' | b' ' | b'\t') {
            i += 1;
        }
        if line[i..].starts_with(b"define") {
            let mut j = i + b"define".len();
            while j < line.len() && matches!(line[j], b' ' | b'\t') {
                j += 1;
            }
            if !(self.active && line[j..].starts_with(b"CONFIG_")) {
                return;
            }
        }
        let (word, after) = directive_word(line);
        if !matches!(
            word,
            b"if"
                | b"ifdef"
                | b"ifndef"
                | b"elif"
                | b"elifdef"
                | b"elifndef"
                | b"else"
                | b"endif"
                | b"include"
                | b"include_next"
                | b"define"
                | b"undef"
        ) {
            return;
        }
        if word == b"define" || word == b"undef" {
            let (name, _) = directive_word(&line[after..]);
            if self.active && name.starts_with(b"CONFIG_") {
                self.redefined
                    .insert(String::from_utf8_lossy(name).into_owned());
            }
            return;
        }
        let text = clean(&line[after..]);
        let rest = text.trim();
        match word {
            b"if" | b"ifdef" | b"ifndef" => {
                let c = self.condition(word, rest);
                self.stack.push(Frame {
                    taken: c,
                    branch: c,
                });
            }
            b"elif" | b"elifdef" | b"elifndef" => {
                let kind = &word[2..];
                let c = self.condition(kind, rest);
                if let Some(f) = self.stack.last_mut() {
                    f.branch = match f.taken {
                        Tri::Yes => Tri::No,
                        Tri::No => c,
                        Tri::Unknown if c == Tri::No => Tri::No,
                        Tri::Unknown => Tri::Unknown,
                    };
                    f.taken = f.taken.or(c);
                }
            }
            b"else" => {
                if let Some(f) = self.stack.last_mut() {
                    f.branch = f.taken.not();
                    f.taken = Tri::Yes;
                }
            }
            b"endif" => {
                self.stack.pop();
            }
            _ => {
                if let Some(inc) = include_path(rest) {
                    self.includes.push(Include {
                        path: inc.0.to_string(),
                        angle: inc.1,
                        inactive: !self.active,
                    });
                }
            }
        }
        let active = self.stack.iter().all(|f| f.branch != Tri::No);
        match (self.active, active) {
            (true, false) => self.inactive_from = Some(end),
            (false, true) => {
                if let Some(from) = self.inactive_from.take() {
                    self.inactive.push((from, start));
                }
            }
            _ => {}
        }
        self.active = active;
    }

    fn condition(&self, kind: &[u8], rest: &str) -> Tri {
        let name = || rest.split_whitespace().next().unwrap_or("");
        let macros = Macros {
            config: self.config,
            redefined: &self.redefined,
        };
        match kind {
            b"ifdef" => macros.defined(name()),
            b"ifndef" => macros.defined(name()).not(),
            _ => eval_with(rest, self.config, &self.redefined),
        }
    }

    /// Ends the file: an inactive region still open runs to `len`.
    pub fn finish(mut self, len: usize) -> (Vec<(usize, usize)>, Vec<Include>) {
        if let Some(from) = self.inactive_from.take() {
            self.inactive.push((from, len));
        }
        (self.inactive, self.includes)
    }
}

/// The first word of a directive line (after `#` and blanks), and where it ends.
fn directive_word(line: &[u8]) -> (&[u8], usize) {
    let blank = |b: &u8| b.is_ascii_whitespace() || *b == b'#';
    let start = line.iter().position(|b| !blank(b)).unwrap_or(line.len());
    let len = line[start..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(line.len() - start);
    (&line[start..start + len], start + len)
}

/// The directive's text with line continuations joined and comments removed.
pub(super) fn clean(line: &[u8]) -> String {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b'\\' if line.get(i + 1) == Some(&b'\n') => {
                out.push(b' ');
                i += 2;
            }
            b'/' if line.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < line.len() && !(line[i] == b'*' && line[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                out.push(b' ');
            }
            b'/' if line.get(i + 1) == Some(&b'/') => break,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `<linux/x.h>` or `"x.h"`: the path and whether it is the angle form.
fn include_path(rest: &str) -> Option<(&str, bool)> {
    let (close, angle) = match rest.chars().next()? {
        '<' => ('>', true),
        '"' => ('"', false),
        _ => return None,
    };
    let inner = &rest[1..];
    Some((&inner[..inner.find(close)?], angle))
}

/// Replaces the bytes of `ranges` with spaces (newlines kept), so a parser sees what the
/// build compiles at the same lines and columns.
pub fn blank(src: &mut [u8], ranges: &[(usize, usize)]) {
    let len = src.len();
    for &(from, to) in ranges {
        for b in &mut src[from.min(len)..to.min(len)] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn assumed(pairs: &[(&str, &str)]) -> Kconfig {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Kconfig::assumed(&m)
    }

    fn dot_config(text: &str) -> Kconfig {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".config");
        std::fs::write(&f, text).unwrap();
        Kconfig::from_file(&f).unwrap()
    }

    #[test]
    fn simple_forms_on_known_symbols() {
        let k = assumed(&[("PREEMPT_RT", "n"), ("SMP", "y"), ("E1000", "m")]);
        let e = |s: &str| eval(s, &k);
        assert_eq!(e("defined(CONFIG_PREEMPT_RT)"), Tri::No);
        assert_eq!(e("!defined(CONFIG_PREEMPT_RT)"), Tri::Yes);
        assert_eq!(e("defined CONFIG_SMP"), Tri::Yes);
        assert_eq!(e("IS_ENABLED(CONFIG_PREEMPT_RT)"), Tri::No);
        assert_eq!(e("IS_ENABLED(CONFIG_E1000)"), Tri::Yes);
        assert_eq!(e("IS_BUILTIN(CONFIG_E1000)"), Tri::No);
        assert_eq!(e("IS_MODULE(CONFIG_E1000)"), Tri::Yes);
        assert_eq!(e("IS_REACHABLE(CONFIG_E1000)"), Tri::Unknown);
        // autoconf.h defines CONFIG_X_MODULE, not CONFIG_X, for =m.
        assert_eq!(e("defined(CONFIG_E1000)"), Tri::No);
        assert_eq!(e("defined(CONFIG_E1000_MODULE)"), Tri::Yes);
        assert_eq!(e("CONFIG_SMP"), Tri::Yes);
        assert_eq!(e("0"), Tri::No);
        assert_eq!(e("1"), Tri::Yes);
    }

    #[test]
    fn unknowns_keep_both_branches_unless_the_known_part_decides() {
        let k = assumed(&[("PREEMPT_RT", "n")]);
        let e = |s: &str| eval(s, &k);
        assert_eq!(e("defined(CONFIG_SMP)"), Tri::Unknown, "not assumed");
        assert_eq!(e("defined(__KERNEL__)"), Tri::Unknown);
        assert_eq!(
            e("defined(CONFIG_SMP) || defined(CONFIG_DEBUG_SPINLOCK)"),
            Tri::Unknown
        );
        assert_eq!(
            e("defined(CONFIG_SMP) && defined(CONFIG_PREEMPT_RT)"),
            Tri::No
        );
        assert_eq!(
            e("defined(CONFIG_SMP) || !defined(CONFIG_PREEMPT_RT)"),
            Tri::Yes
        );
        assert_eq!(
            e("LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0)"),
            Tri::Unknown
        );
        assert_eq!(e("__has_attribute(__fallthrough__)"), Tri::Unknown);
        // Not understood at all: unknown, whatever the known part says.
        assert_eq!(
            e("CONFIG_FOO + 1 > 2 && defined(CONFIG_PREEMPT_RT)"),
            Tri::Unknown
        );
        assert_eq!(e("defined(CONFIG_PREEMPT_RT"), Tri::Unknown);
        assert_eq!(e(""), Tri::Unknown);
    }

    #[test]
    fn a_dot_config_decides_every_config_symbol() {
        let k = dot_config("CONFIG_SMP=y\nCONFIG_NR_CPUS=64\nCONFIG_HZ=0x100\n");
        let e = |s: &str| eval(s, &k);
        assert_eq!(e("defined(CONFIG_DEBUG_SPINLOCK)"), Tri::No);
        assert_eq!(
            e("defined(CONFIG_SMP) || defined(CONFIG_DEBUG_SPINLOCK)"),
            Tri::Yes
        );
        assert_eq!(e("CONFIG_NR_CPUS > 1"), Tri::Yes);
        assert_eq!(e("CONFIG_HZ == 256"), Tri::Yes);
        assert_eq!(e("CONFIG_PREEMPT_RT"), Tri::No, "undefined in #if is 0");
        assert_eq!(
            e("defined(__ASSEMBLY__)"),
            Tri::Unknown,
            "not a Kconfig symbol"
        );
    }

    /// Runs the directives of `src` line by line; returns the inactive text and includes.
    fn regions(src: &str, k: &Kconfig) -> (Vec<String>, Vec<Include>) {
        let mut c = Conditionals::new(k);
        let b = src.as_bytes();
        let mut pos = 0;
        while pos < b.len() {
            let mut end = pos
                + b[pos..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .unwrap_or(b.len() - pos);
            if src[pos..end].trim_start().starts_with('#') {
                while end > 0 && b[end - 1] == b'\\' && end < b.len() {
                    end += 1 + b[end + 1..]
                        .iter()
                        .position(|&x| x == b'\n')
                        .unwrap_or(b.len() - end - 1);
                }
                c.directive(&b[pos..end], pos, end);
            }
            pos = end + 1;
        }
        let (ranges, includes) = c.finish(src.len());
        let text = ranges
            .iter()
            .map(|&(a, b)| src[a..b].split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        (text, includes)
    }

    #[test]
    fn branches_of_a_group_follow_the_configuration() {
        let k = assumed(&[("PREEMPT_RT", "n"), ("SMP", "y")]);
        let src = "\
#ifndef CONFIG_PREEMPT_RT
void spin_unlock(void) { raw(); }
#else
# include <linux/spinlock_rt.h>
void spin_unlock(void) { rt_spin_unlock(); }
#endif
#ifdef CONFIG_PREEMPT_RT
a();
#elif defined(CONFIG_SMP)
b();
#elif defined(CONFIG_X)
c();
#else
d();
#endif
#ifdef CONFIG_UNKNOWN
e();
#else
f();
#endif
#if 0
#ifdef CONFIG_SMP
g();
#endif
#endif
";
        let (out, includes) = regions(src, &k);
        assert_eq!(
            out,
            [
                "# include <linux/spinlock_rt.h> void spin_unlock(void) { rt_spin_unlock(); }",
                "a();",
                // One region: the #else between two left-out branches goes too.
                "c(); #else d();",
                "#ifdef CONFIG_SMP g(); #endif",
            ]
        );
        assert_eq!(
            includes,
            [Include {
                path: "linux/spinlock_rt.h".into(),
                angle: true,
                inactive: true
            }]
        );
    }

    #[test]
    fn unknown_conditions_keep_every_branch_but_a_known_false_one() {
        let k = assumed(&[("PREEMPT_RT", "n")]);
        let src = "\
#ifndef _GUARD_H
#define _GUARD_H
#if defined(CONFIG_X)
a();
#elif defined(CONFIG_PREEMPT_RT)
b();
#elif defined(CONFIG_Y)
c();
#else
d();
#endif
#include \"local.h\"
#endif
";
        let (out, includes) = regions(src, &k);
        assert_eq!(out, ["b();"]);
        assert_eq!(
            includes,
            [Include {
                path: "local.h".into(),
                angle: false,
                inactive: false
            }]
        );
    }

    #[test]
    fn a_file_redefining_a_config_macro_decides_nothing_on_it() {
        let k = dot_config("CONFIG_64BIT=y\n");
        let src = "#ifdef CONFIG_64BIT\na();\n#endif\n#undef CONFIG_64BIT\n#ifdef CONFIG_64BIT\nb();\n#else\nc();\n#endif\n#ifdef CONFIG_OTHER /* comment */\nd();\n#endif\n";
        let (out, _) = regions(src, &k);
        assert_eq!(out, ["d();"]);
    }

    #[test]
    fn continuations_and_comments_in_directives() {
        let k = assumed(&[("PREEMPT_RT", "n")]);
        let src = "#if defined(CONFIG_SMP) && /* why */ \\\n    defined(CONFIG_PREEMPT_RT) // tail\nx();\n#endif\n";
        let (out, _) = regions(src, &k);
        assert_eq!(out, ["x();"]);
    }

    #[test]
    fn blanking_keeps_lines_and_columns() {
        let mut s = b"a\n#if 0\nbc\nd\n#endif\ne".to_vec();
        blank(&mut s, &[(7, 13)]);
        assert_eq!(&s, b"a\n#if 0\n  \n \n#endif\ne");
    }
}
