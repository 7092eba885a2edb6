//! Helper assertions the linted tree defines as macros: `#define inband_context_only()
//! EVL_WARN_ON_ONCE(CORE, !running_inband())` (EVL's include/evl/assert.h). A statement
//! calling one counts as the assertion its body makes, so `inband_context_only();` reads
//! like `WARN_ON(running_oob());`. The lexical pass records every function-like macro
//! whose body starts with a call ([`scan::macros`](super::scan::macros)); a macro is kept
//! when that call is a listed assertion (`assertions` in `rules/oob-entries.toml`) or,
//! within [`MAX_LEVELS`], another kept macro (`assert_evl_lock(l)` is
//! `assert_hard_lock(&(l)->_lock)`). Expansion substitutes the arguments' text.

use std::collections::HashMap;

use super::scan::macros::{ident_len, MacroDef};

/// Macro levels followed from a statement down to a listed assertion.
pub const MAX_LEVELS: usize = 3;
/// Longest expansion kept (the bodies are short; arguments could be anything).
const MAX_EXPANSION: usize = 4096;

/// The function-like macros whose expansion is a listed assertion, by name (every
/// definition the build sees of that name).
#[derive(Debug, Default, Clone)]
pub struct AssertionMacros {
    defs: HashMap<String, Vec<MacroDef>>,
}

impl AssertionMacros {
    /// Keeps, of `all`, the names every recorded definition of which leads to a listed
    /// assertion within [`MAX_LEVELS`]. A listed name is never a macro here: its meaning
    /// is the rules'.
    pub fn build<'a>(all: impl IntoIterator<Item = &'a MacroDef>, assertions: &[String]) -> Self {
        let listed = |n: &str| assertions.iter().any(|a| a == n);
        let mut by_name: HashMap<&str, Vec<&MacroDef>> = HashMap::new();
        for d in all {
            if !listed(&d.name) {
                by_name.entry(d.name.as_str()).or_default().push(d);
            }
        }
        let mut defs: HashMap<String, Vec<MacroDef>> = HashMap::new();
        for _ in 0..MAX_LEVELS {
            let found: Vec<&str> = by_name
                .iter()
                .filter(|(name, ds)| {
                    !defs.contains_key(**name)
                        && ds.iter().all(|d| {
                            let lead = leading_name(&d.body);
                            listed(lead) || defs.contains_key(lead)
                        })
                })
                .map(|(name, _)| *name)
                .collect();
            if found.is_empty() {
                break;
            }
            for name in found {
                let mut ds: Vec<MacroDef> = by_name[name].iter().map(|d| (*d).clone()).collect();
                ds.dedup();
                defs.insert(name.to_string(), ds);
            }
        }
        AssertionMacros { defs }
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// The listed-assertion calls the call text `call` (`assert_evl_lock(&x->lock)`)
    /// expands to, one per definition path; empty when it is not a kept macro's call.
    pub fn expand(&self, call: &str) -> Vec<String> {
        let mut out = Vec::new();
        if split_call(call).is_none_or(|(name, _)| !self.contains(name)) {
            return out;
        }
        self.expand_into(call, MAX_LEVELS, &mut out);
        out
    }

    fn expand_into(&self, call: &str, levels: usize, out: &mut Vec<String>) {
        let Some((name, args)) = split_call(call) else {
            return;
        };
        let Some(defs) = self.defs.get(name) else {
            out.push(call.to_string());
            return;
        };
        if levels == 0 {
            return;
        }
        for d in defs {
            if let Some(text) = substitute(d, &args) {
                self.expand_into(&text, levels - 1, out);
            }
        }
    }
}

/// The name a body's leading call calls.
fn leading_name(body: &str) -> &str {
    &body[..ident_len(body.as_bytes())]
}

/// `name(a, b(c, d))` as `name` and `["a", "b(c, d)"]`: the call at the start of `text`,
/// split at its top-level commas; `None` when `text` does not start with a call.
pub fn split_call(text: &str) -> Option<(&str, Vec<&str>)> {
    let text = text.trim();
    let n = ident_len(text.as_bytes());
    let open = n + text[n..].find('(')?;
    if n == 0 || !text[n..open].trim().is_empty() {
        return None;
    }
    let (mut depth, mut from, mut args) = (0usize, open + 1, Vec::new());
    let mut quote: Option<u8> = None;
    let bytes = text.as_bytes();
    let mut i = open + 1;
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (Some(_), b'\\') => i += 1,
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')') if depth == 0 => {
                let last = text[from..i].trim();
                if !last.is_empty() || !args.is_empty() {
                    args.push(last);
                }
                return Some((&text[..n], args));
            }
            (None, b')' | b']' | b'}') => depth = depth.saturating_sub(1),
            (None, b',') if depth == 0 => {
                args.push(text[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The body of `d` with its parameters replaced by `args` (the variadic one by the rest,
/// comma-separated); `None` when the argument count does not fit or the text grows past
/// [`MAX_EXPANSION`].
fn substitute(d: &MacroDef, args: &[&str]) -> Option<String> {
    let variadic = d.params.last().is_some_and(|p| p == "__VA_ARGS__");
    let fixed = d.params.len() - usize::from(variadic);
    if args.len() < fixed || (!variadic && args.len() > d.params.len()) {
        return None;
    }
    let rest = args[fixed.min(args.len())..].join(", ");
    let value = |p: &str| -> Option<&str> {
        let i = d.params.iter().position(|q| q == p)?;
        Some(if variadic && i == fixed {
            &rest
        } else {
            args[i]
        })
    };
    let body = d.body.as_bytes();
    let mut out = String::with_capacity(d.body.len());
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < body.len() {
        let b = body[i];
        if let Some(q) = quote {
            out.push(b as char);
            if b == b'\\' && i + 1 < body.len() {
                out.push(body[i + 1] as char);
                i += 1;
            } else if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let n = ident_len(&body[i..]);
        if n > 0 && (i == 0 || !(body[i - 1].is_ascii_alphanumeric() || body[i - 1] == b'_')) {
            let word = &d.body[i..i + n];
            out.push_str(value(word).unwrap_or(word));
            i += n;
        } else {
            if matches!(b, b'"' | b'\'') {
                quote = Some(b);
            }
            // Multi-byte characters are copied whole.
            let len = d.body[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&d.body[i..i + len]);
            i += len;
        }
        if out.len() > MAX_EXPANSION {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::scan::macros::call_macro;

    fn table(lines: &[&str]) -> AssertionMacros {
        let defs: Vec<MacroDef> = lines
            .iter()
            .map(|l| call_macro(l.as_bytes()).unwrap())
            .collect();
        let listed = ["EVL_WARN_ON_ONCE".to_string(), "WARN_ON".to_string()];
        AssertionMacros::build(&defs, &listed)
    }

    #[test]
    fn helper_assertions_expand_through_two_levels() {
        let t = table(&[
            "#define inband_context_only() EVL_WARN_ON_ONCE(CORE, !running_inband())",
            "#define assert_hard_lock(__lock) EVL_WARN_ON_ONCE(CORE, !(raw_spin_is_locked(__lock) && hard_irqs_disabled()))",
            "#define assert_evl_lock(__lock) assert_hard_lock(&(__lock)->_lock)",
            "#define EVL_WARN_ON_ONCE(s, c) WARN_ON_ONCE(EVL_DEBUG(s) && (c))",
            "#define unrelated(x) foo(x)",
            "#define mixed(x) WARN_ON(x)",
            "#define mixed(x) foo(x)",
        ]);
        assert_eq!(
            t.expand("inband_context_only()"),
            ["EVL_WARN_ON_ONCE(CORE, !running_inband())"]
        );
        assert_eq!(
            t.expand("assert_evl_lock(&rq->lock)"),
            ["EVL_WARN_ON_ONCE(CORE, !(raw_spin_is_locked(&(&rq->lock)->_lock) && hard_irqs_disabled()))"]
        );
        assert!(t.contains("assert_hard_lock"));
        // Listed names keep the rules' meaning; other calls and mixed definitions are not kept.
        assert!(!t.contains("EVL_WARN_ON_ONCE"));
        assert!(!t.contains("unrelated"));
        assert!(!t.contains("mixed"));
        assert!(t.expand("assert_hard_lock()").is_empty(), "argument count");
    }

    #[test]
    fn expansion_is_bounded() {
        // A macro cycle is never kept; a chain deeper than MAX_LEVELS is not either.
        let t = table(&["#define a(x) b(x)", "#define b(x) a(x)"]);
        assert!(t.is_empty());
        let t = table(&[
            "#define l1() l2()",
            "#define l2() l3()",
            "#define l3() l4()",
            "#define l4() WARN_ON(running_oob())",
        ]);
        assert!(t.contains("l2") && !t.contains("l1"));
        assert_eq!(t.expand("l2()"), ["WARN_ON(running_oob())"]);
    }

    #[test]
    fn calls_split_at_top_level_commas() {
        assert_eq!(
            split_call(" f(a, g(b, c), \"x,)\", {1, 2})"),
            Some(("f", vec!["a", "g(b, c)", "\"x,)\"", "{1, 2}"]))
        );
        assert_eq!(split_call("f()"), Some(("f", vec![])));
        assert_eq!(split_call("f(a"), None);
        assert_eq!(split_call("(f)(a)"), None);
        assert_eq!(split_call("f x(a)"), None);
    }
}
