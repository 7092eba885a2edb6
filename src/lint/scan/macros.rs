//! Function-like `#define`s whose body starts with a call (`#define inband_context_only()
//! EVL_WARN_ON_ONCE(CORE, !running_inband())`) or is a `do { ... } while (0)` block with a
//! call among its statements (`#define oob_context_only() do { WARN_ON_ONCE(...); }
//! while (0)`): the candidates for helper assertions and guard conditions, which
//! [`AssertionMacros`](crate::lint::macros::AssertionMacros) keeps when their call chain
//! reaches a listed assertion, wrapper or stage test. A guard statement, `if (COND)
//! return ...;` alone or in such a block, counts with the calls of its condition. Most
//! directives are object-like
//! register `#define`s: they are dropped at the byte after the name.

/// A function-like macro: its parameters and its body (continuations joined, comments
/// removed, trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    pub name: String,
    pub params: Vec<String>,
    /// The expression, or for a statement macro the text inside `do { ... } while (0)`.
    pub body: String,
    /// A `do { ... } while (0)` macro: a statement, never a condition.
    pub statement: bool,
}

impl MacroDef {
    /// The names the body's calls lead with: the expression's, or each top-level
    /// statement's of a statement macro.
    pub fn heads(&self) -> Vec<&str> {
        if self.statement {
            statements(&self.body)
                .flat_map(|s| match guard(s) {
                    Some(cond) => called_names(cond),
                    None => call_head(s).into_iter().collect(),
                })
                .collect()
        } else {
            call_head(&self.body).into_iter().collect()
        }
    }
}

/// The condition of a guard statement, `if (COND) return ...` or `if (COND) goto ...`
/// (also braced, `if (COND) { ...; return ...; }`): the statement leaves the block when
/// COND holds. `None` for anything else (an `else`, a branch that may fall through).
pub fn guard(stmt: &str) -> Option<&str> {
    let rest = stmt.strip_prefix("if")?.trim_start();
    if !rest.starts_with('(') {
        return None;
    }
    let close = matching_paren(rest)?;
    let cond = &rest[1..close];
    let then = rest[close + 1..].trim();
    let leaves = |s: &str| {
        let n = ident_len(s.as_bytes());
        matches!(&s[..n], "return" | "goto")
    };
    let exits = match then.strip_prefix('{') {
        Some(inner) => {
            let inner = inner.strip_suffix('}')?;
            // One block, nothing after it (no `else`).
            matching_brace(then)? == then.len() - 1 && statements(inner).last().is_some_and(leaves)
        }
        None => leaves(then) && !then.contains("else"),
    };
    exits.then_some(cond.trim())
}

/// The offset of the `)` closing the `(` at the start of `s`, outside quotes.
fn matching_paren(s: &str) -> Option<usize> {
    matching(s, b'(', b')')
}

fn matching_brace(s: &str) -> Option<usize> {
    matching(s, b'{', b'}')
}

fn matching(s: &str, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code_bytes(s) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The bytes of `s` outside quotes (`"..."`, `'...'`, a backslash escaping the next byte
/// inside them) with their offsets: where brackets, `;` and `,` are structure.
pub fn code_bytes(s: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let b = s.as_bytes();
    let (mut i, mut quote) = (0, None::<u8>);
    std::iter::from_fn(move || {
        while i < b.len() {
            let (at, c) = (i, b[i]);
            i += 1;
            match quote {
                Some(_) if c == b'\\' => i += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if matches!(c, b'"' | b'\'') => quote = Some(c),
                None => return Some((at, c)),
            }
        }
        None
    })
}

/// Every name called in `text` (an identifier followed by `(`), keywords aside.
fn called_names(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let n = if i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            ident_len(&b[i..])
        } else {
            0
        };
        if n == 0 {
            i += 1;
            continue;
        }
        if let Some(name) = call_head(&text[i..]) {
            out.push(name);
        }
        i += n;
    }
    out
}

/// The name `text` calls when it starts with `name(` (not a keyword such as `if (`).
fn call_head(text: &str) -> Option<&str> {
    let n = ident_len(text.as_bytes());
    let name = &text[..n];
    let keyword = matches!(
        name,
        "if" | "for" | "while" | "switch" | "return" | "sizeof" | "do" | "goto"
    );
    (n > 0 && !keyword && text[n..].trim_start().starts_with('(')).then_some(name)
}

/// The top-level statements of a block's text, split at `;` outside brackets and quotes,
/// trimmed, empty ones dropped.
pub fn statements(block: &str) -> impl Iterator<Item = &str> {
    let (mut depth, mut from) = (0usize, 0);
    let mut cuts = Vec::new();
    for (i, c) in code_bytes(block) {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => {
                cuts.push((from, i));
                from = i + 1;
            }
            _ => {}
        }
    }
    cuts.push((from, block.len()));
    cuts.into_iter()
        .map(move |(a, z)| block[a..z.min(block.len())].trim())
        .filter(|s| !s.is_empty())
}

/// The inside of `do { ... } while (0)` (the whole body), or `None`.
fn do_while_zero(body: &str) -> Option<&str> {
    let rest = body.strip_prefix("do")?.trim_start().strip_prefix('{')?;
    let close = rest.rfind('}')?;
    let tail: String = rest[close + 1..].split_whitespace().collect();
    (tail == "while(0)").then(|| rest[..close].trim())
}

/// Longer bodies are not helper assertions (and not worth keeping).
const MAX_BODY: usize = 512;

/// The macro a directive line (`#` to the end, continuations included) defines, when it
/// is function-like and its body starts with `name(`.
pub fn call_macro(line: &[u8]) -> Option<MacroDef> {
    let mut i = 0;
    while i < line.len() && matches!(line[i], b'#' | b' ' | b'\t') {
        i += 1;
    }
    let rest = line[i..].strip_prefix(b"define")?;
    let lead = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    if lead == 0 {
        return None;
    }
    let rest = &rest[lead..];
    let name_len = ident_len(rest);
    // Function-like only when `(` follows the name at once.
    if name_len == 0 || rest.get(name_len) != Some(&b'(') || rest.len() > 4 * MAX_BODY {
        return None;
    }
    let text = super::super::cond::clean(&rest[name_len + 1..]);
    let close = text.find(')')?;
    let params = text[..close]
        .split(',')
        .map(|p| {
            let p = p.trim();
            match p.strip_suffix("...") {
                Some("") => "__VA_ARGS__".to_string(),
                Some(named) => named.trim().to_string(),
                None => p.to_string(),
            }
        })
        .filter(|p| !p.is_empty())
        .collect();
    let body = text[close + 1..].trim();
    if body.len() > MAX_BODY {
        return None;
    }
    let has_call =
        |s: &str| call_head(s).is_some() || guard(s).is_some_and(|c| !called_names(c).is_empty());
    let (body, statement) = match do_while_zero(body) {
        Some(inner) if statements(inner).any(has_call) => (inner, true),
        Some(_) => return None,
        // `#define require_inband(r) if (!running_inband()) return r`: a statement.
        None if guard(body).is_some_and(|c| !called_names(c).is_empty()) => (body, true),
        None => {
            call_head(body)?;
            (body, false)
        }
    };
    Some(MacroDef {
        name: String::from_utf8_lossy(&rest[..name_len]).into_owned(),
        params,
        body: body.to_string(),
        statement,
    })
}

/// The length of the C identifier at the start of `s` (0 when there is none).
pub fn ident_len(s: &[u8]) -> usize {
    if s.first().is_none_or(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_like_macros_whose_body_is_a_call() {
        let m = call_macro(
            b"#define inband_context_only()\tEVL_WARN_ON_ONCE(CONTEXT, !running_inband())",
        )
        .unwrap();
        assert_eq!(m.name, "inband_context_only");
        assert!(m.params.is_empty());
        assert_eq!(m.body, "EVL_WARN_ON_ONCE(CONTEXT, !running_inband())");
        let m = call_macro(
            b"# define assert_hard_lock(__lock) EVL_WARN_ON_ONCE(CORE, \\\n\t\t!(raw_spin_is_locked(__lock) && hard_irqs_disabled())) /* x */",
        )
        .unwrap();
        assert_eq!(m.params, ["__lock"]);
        assert_eq!(
            m.body,
            "EVL_WARN_ON_ONCE(CORE,  \t\t!(raw_spin_is_locked(__lock) && hard_irqs_disabled()))"
        );
        let m = call_macro(b"#define EVL_WARN(__subsys, __cond, __fmt...) WARN(c, __fmt)").unwrap();
        assert_eq!(m.params, ["__subsys", "__cond", "__fmt"]);
        assert_eq!(
            call_macro(b"#define V(...) f(__VA_ARGS__)").unwrap().params,
            ["__VA_ARGS__"]
        );
        // Object-like, not a call, or not a define.
        for line in [
            &b"#define REG_CTRL 0x10"[..],
            b"#define NOW (f(x))",
            b"#define A (x) f(x)",
            b"#define A(x) do { } while (0)",
            b"#define A(x) do { x = 1; if (x) f(x); } while (1)",
            b"#define A(x) do { x = 1; if (x) f(x); } while (0)",
            b"#define A(x) 42",
            b"#include <evl/assert.h>",
            b"#definefoo(x) f(x)",
        ] {
            assert_eq!(call_macro(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn do_while_zero_macros_are_statements_with_their_calls() {
        let m = call_macro(
            b"#define oob_context_only() do { \\\n\tWARN_ON_ONCE(running_inband()); \\\n} while (0)",
        )
        .unwrap();
        assert!(m.statement);
        assert_eq!(m.body, "WARN_ON_ONCE(running_inband());");
        assert_eq!(m.heads(), ["WARN_ON_ONCE"]);
        let m = call_macro(
            b"#define chk(l) do { int x = f(\"a;b\"); if (x) g(); EVL_WARN_ON(CORE, !h(l, {1; 2})); } while(0)",
        )
        .unwrap();
        assert_eq!(m.heads(), ["EVL_WARN_ON"]);
        assert_eq!(
            statements(&m.body).collect::<Vec<_>>(),
            [
                "int x = f(\"a;b\")",
                "if (x) g()",
                "EVL_WARN_ON(CORE, !h(l, {1; 2}))"
            ]
        );
        // Guards: a statement leaving the block when its condition holds.
        let m = call_macro(
            b"#define inband_or_eperm() do { if (running_oob()) return -EPERM; } while (0)",
        )
        .unwrap();
        assert!(m.statement);
        assert_eq!(m.heads(), ["running_oob"]);
        let m = call_macro(b"#define need_inband(r) if (unlikely(!running_inband())) return r")
            .unwrap();
        assert!(m.statement);
        assert_eq!(m.body, "if (unlikely(!running_inband())) return r");
        assert_eq!(m.heads(), ["unlikely", "running_inband"]);
        assert_eq!(
            guard("if (a(\")\") && b()) { x(); goto out; }"),
            Some("a(\")\") && b()")
        );
        for not_guard in [
            "if (running_oob()) return -EPERM; else x()",
            "if (running_oob()) x()",
            "if (running_oob()) { return 1; } else { y(); }",
            "if running_oob() return 1",
            "if (running_oob() return 1",
            "iff (x) return 1",
        ] {
            assert_eq!(guard(not_guard), None, "{not_guard}");
        }
        assert_eq!(
            call_macro(b"#define g(x) if (x) return -EPERM"),
            None,
            "no call"
        );
        let m = call_macro(b"#define e(x) f(x) && g(x)").unwrap();
        assert!(!m.statement);
        assert_eq!(m.heads(), ["f"]);
    }
}
