//! Function-like `#define`s whose body starts with a call (`#define inband_context_only()
//! EVL_WARN_ON_ONCE(CORE, !running_inband())`): the candidates for helper assertions,
//! which [`AssertionMacros`](crate::lint::macros::AssertionMacros) keeps when their call
//! chain reaches a listed assertion. Most directives are object-like register `#define`s:
//! they are dropped at the byte after the name.

/// A function-like macro: its parameters and its body (continuations joined, comments
/// removed, trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    pub name: String,
    pub params: Vec<String>,
    pub body: String,
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
    let called = ident_len(body.as_bytes());
    let opens = body[called..].trim_start().starts_with('(');
    if called == 0 || !opens || body.len() > MAX_BODY {
        return None;
    }
    Some(MacroDef {
        name: String::from_utf8_lossy(&rest[..name_len]).into_owned(),
        params,
        body: body.to_string(),
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
            b"#define A(x) do { f(x); } while (0)",
            b"#define A(x) 42",
            b"#include <evl/assert.h>",
            b"#definefoo(x) f(x)",
        ] {
            assert_eq!(call_macro(line), None, "{}", String::from_utf8_lossy(line));
        }
    }
}
