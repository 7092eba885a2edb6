//! Helper assertions and guard conditions the linted tree defines as macros: `#define
//! inband_context_only() EVL_WARN_ON_ONCE(CORE, !running_inband())` (EVL's
//! include/evl/assert.h), `#define oob_only() do { WARN_ON_ONCE(running_inband()); }
//! while (0)`, `#define stage_mismatch() unlikely(running_inband())`. A statement calling
//! one counts as the assertion its body makes, so `inband_context_only();` reads like
//! `WARN_ON(running_oob());`, and a condition calling one has the value its expansion has
//! in oob context, so `if (stage_mismatch()) return -EPERM;` reads like `if
//! (unlikely(running_inband())) return -EPERM;`. The lexical pass records every
//! function-like macro whose body starts with a call or is a `do { ... } while (0)` block
//! with calls ([`scan::macros`](super::scan::macros)); a macro is kept when a call it
//! leads with is a listed name (an assertion, a condition wrapper, a stage test: the
//! rules of `rules/oob-entries.toml`) or, within [`MAX_LEVELS`], another kept macro
//! (`assert_evl_lock(l)` is `assert_hard_lock(&(l)->_lock)`). Expansion substitutes the
//! arguments' text.

use std::collections::HashMap;
use std::sync::Mutex;

use super::parse::Tri;
use super::scan::macros::{code_bytes, guard, ident_len, statements, MacroDef};

/// Macro levels followed from a statement down to a listed assertion.
pub const MAX_LEVELS: usize = 3;
/// Longest expansion kept (the bodies are short; arguments could be anything).
const MAX_EXPANSION: usize = 4096;

/// What a leaf or a whole evaluation is asked: `(text, statement)`, `statement` being true
/// for a statement's assertion and false for a condition's value.
pub type Leaf<'a> = &'a mut dyn FnMut(&str, bool) -> Tri;

/// The function-like macros leading to a listed name, by name (every definition the
/// build sees of that name).
#[derive(Debug, Default)]
pub struct AssertionMacros {
    defs: HashMap<String, Vec<MacroDef>>,
    /// Values already computed by [`AssertionMacros::eval_cached`], by text, mode and depth.
    cache: Mutex<HashMap<(String, bool, usize), Tri>>,
}

impl Clone for AssertionMacros {
    fn clone(&self) -> Self {
        AssertionMacros {
            defs: self.defs.clone(),
            cache: Mutex::default(),
        }
    }
}

impl AssertionMacros {
    /// Keeps, of `all`, the names every recorded definition of which leads to a listed
    /// name within [`MAX_LEVELS`]. A listed name is never a macro here: its meaning is
    /// the rules'.
    pub fn build<'a>(all: impl IntoIterator<Item = &'a MacroDef>, listed: &[String]) -> Self {
        let listed = |n: &str| listed.iter().any(|a| a == n);
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
                            d.heads()
                                .into_iter()
                                .any(|h| listed(h) || defs.contains_key(h))
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
        AssertionMacros {
            defs,
            cache: Mutex::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// What the text `call` (`assert_evl_lock(&x->lock)`, `stage_mismatch() && x`),
    /// leading with a kept macro's call, means in oob context, by every definition of
    /// that macro: `leaf` judges a text leading with a listed name. As a `statement`
    /// (`inband_context_only();`) it is true when, in every definition, some statement of
    /// the body is (a `do { } while (0)` body runs them all), a guard statement `if (COND)
    /// return ...;` being true when COND is; as a condition, the value every definition
    /// agrees on, unknown otherwise or for a statement macro.
    pub fn eval(&self, call: &str, statement: bool, leaf: Leaf) -> Tri {
        match split_call(call) {
            Some((name, _, _)) if self.contains(name) => {
                self.eval_levels(call, statement, MAX_LEVELS, leaf)
            }
            _ => Tri::Unknown,
        }
    }

    /// [`AssertionMacros::eval`], remembered by `call`, `statement` and `depth` (the
    /// caller's nesting, which bounds what `leaf` may read): the same condition macro met
    /// thousands of times is expanded and parsed once. `leaf` must give the same value for
    /// the same arguments at the same `depth` everywhere it is used with this table.
    pub fn eval_cached(&self, call: &str, statement: bool, depth: usize, leaf: Leaf) -> Tri {
        let key = (call.trim().to_string(), statement, depth);
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(&key).copied()) {
            return v;
        }
        let v = self.eval(call, statement, leaf);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, v);
        }
        v
    }

    fn eval_levels(&self, text: &str, statement: bool, levels: usize, leaf: Leaf) -> Tri {
        let text = text.trim();
        let Some((name, args, end)) = split_call(text) else {
            return leaf(text, statement);
        };
        let Some(defs) = self.defs.get(name) else {
            return leaf(text, statement);
        };
        let rest = text[end..].trim();
        if levels == 0 {
            return Tri::Unknown;
        }
        let mut agreed: Option<Tri> = None;
        for d in defs {
            let Some(body) = substitute(d, &args) else {
                return Tri::Unknown;
            };
            let v = if d.statement {
                // `do { ... } while (0)` is a whole statement: nothing may follow it.
                if !statement || !rest.is_empty() {
                    return Tri::Unknown;
                }
                let asserts = statements(&body).any(|s| {
                    // `if (running_oob()) return -EPERM;`: the rest runs where COND fails.
                    let (text, statement) = guard(s).map_or((s, true), |c| (c, false));
                    self.eval_levels(text, statement, levels - 1, leaf) == Tri::True
                });
                if asserts {
                    Tri::True
                } else {
                    Tri::Unknown
                }
            } else {
                // Textual, as the preprocessor does: `m(x) && y` is the body, then `&& y`.
                let whole = format!("{body} {rest}");
                self.eval_levels(whole.trim_end(), statement, levels - 1, leaf)
            };
            agreed = match agreed {
                Some(a) if a != v => return Tri::Unknown,
                _ => Some(v),
            };
        }
        agreed.unwrap_or(Tri::Unknown)
    }
}

/// `name(a, b(c, d))` as `name`, `["a", "b(c, d)"]` and the offset after its `)`: the
/// call at the start of `text` (trimmed), split at its top-level commas; `None` when
/// `text` does not start with a call.
pub fn split_call(text: &str) -> Option<(&str, Vec<&str>, usize)> {
    let text = text.trim();
    let n = ident_len(text.as_bytes());
    let open = n + text[n..].find('(')?;
    if n == 0 || !text[n..open].trim().is_empty() {
        return None;
    }
    let (mut depth, mut from, mut args) = (0usize, open + 1, Vec::new());
    for (at, c) in code_bytes(&text[open + 1..]) {
        let i = open + 1 + at;
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' if depth == 0 => {
                let last = text[from..i].trim();
                if !last.is_empty() || !args.is_empty() {
                    args.push(last);
                }
                return Some((&text[..n], args, i + 1));
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                args.push(text[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
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
        let listed = ["EVL_WARN_ON_ONCE", "WARN_ON", "unlikely", "running_inband"];
        let listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
        AssertionMacros::build(&defs, &listed)
    }

    /// The texts `eval` hands the leaf (which says true to those leading with a listed
    /// name), and the result.
    fn leaves(t: &AssertionMacros, call: &str, statement: bool) -> (Vec<String>, Tri) {
        let mut seen = Vec::new();
        let v = t.eval(call, statement, &mut |s: &str, _| {
            seen.push(s.to_string());
            let listed = ["EVL_WARN_ON_ONCE(", "WARN_ON(", "unlikely("];
            if listed.iter().any(|l| s.starts_with(l)) {
                Tri::True
            } else {
                Tri::Unknown
            }
        });
        (seen, v)
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
            leaves(&t, "inband_context_only()", true),
            (
                vec!["EVL_WARN_ON_ONCE(CORE, !running_inband())".into()],
                Tri::True
            )
        );
        assert_eq!(
            leaves(&t, "assert_evl_lock(&rq->lock)", true).0,
            ["EVL_WARN_ON_ONCE(CORE, !(raw_spin_is_locked(&(&rq->lock)->_lock) && hard_irqs_disabled()))"]
        );
        assert!(t.contains("assert_hard_lock"));
        // Listed names keep the rules' meaning; other calls and mixed definitions are not kept.
        assert!(!t.contains("EVL_WARN_ON_ONCE"));
        assert!(!t.contains("unrelated"));
        assert!(!t.contains("mixed"));
        assert_eq!(
            leaves(&t, "assert_hard_lock()", true).1,
            Tri::Unknown,
            "argument count"
        );
        assert_eq!(leaves(&t, "unrelated(1)", true).1, Tri::Unknown);
    }

    #[test]
    fn statement_macros_assert_what_one_of_their_statements_does() {
        let t = table(&[
            "#define oob_only() do { trace_it(); WARN_ON(running_inband()); } while (0)",
            "#define inband_only() do { inband_context_only(); } while (0)",
            "#define inband_context_only() EVL_WARN_ON_ONCE(CORE, !running_inband())",
            "#define stage_mismatch() unlikely(running_inband())",
        ]);
        assert_eq!(
            leaves(&t, "oob_only()", true),
            (
                vec!["trace_it()".into(), "WARN_ON(running_inband())".into()],
                Tri::True
            )
        );
        assert_eq!(
            leaves(&t, "inband_only()", true).0,
            ["EVL_WARN_ON_ONCE(CORE, !running_inband())"]
        );
        // A statement macro is never a condition; an expression macro is, with what follows.
        assert_eq!(leaves(&t, "oob_only()", false).1, Tri::Unknown);
        assert_eq!(
            leaves(&t, "stage_mismatch() && x", false).0,
            ["unlikely(running_inband()) && x"]
        );
        // The leaf's verdict decides; definitions that disagree give unknown.
        let v = t.eval("stage_mismatch()", false, &mut |_, _| Tri::False);
        assert_eq!(v, Tri::False);
    }

    #[test]
    fn guard_statements_assert_their_condition() {
        let t = table(&[
            "#define inband_or_eperm() do { if (stage_bad()) return -EPERM; } while (0)",
            "#define need_inband(r) if (unlikely(!running_inband())) return r",
            "#define stage_bad() unlikely(running_inband())",
        ]);
        assert!(t.contains("inband_or_eperm") && t.contains("need_inband"));
        // The condition is read as a condition (through the condition macro), the guard
        // asserting when it is true.
        let mut seen = Vec::new();
        let v = t.eval("inband_or_eperm()", true, &mut |s, stmt| {
            seen.push((s.to_string(), stmt));
            Tri::True
        });
        assert_eq!(v, Tri::True);
        assert_eq!(seen, [("unlikely(running_inband())".to_string(), false)]);
        let mut seen = Vec::new();
        let v = t.eval("need_inband(-EPERM)", true, &mut |s, stmt| {
            seen.push((s.to_string(), stmt));
            Tri::False
        });
        assert_eq!(v, Tri::Unknown, "a false condition asserts nothing");
        assert_eq!(seen, [("unlikely(!running_inband())".to_string(), false)]);
        // A guard is a statement, never a condition.
        assert_eq!(
            t.eval("need_inband(1)", false, &mut |_, _| Tri::True),
            Tri::Unknown
        );
    }

    #[test]
    fn cached_values_are_computed_once_per_text_mode_and_depth() {
        let t = table(&["#define stage_bad() unlikely(running_inband())"]);
        let mut calls = 0;
        let mut leaf = |_: &str, _: bool| {
            calls += 1;
            Tri::False
        };
        for _ in 0..3 {
            assert_eq!(
                t.eval_cached("stage_bad()", false, 2, &mut leaf),
                Tri::False
            );
        }
        assert_eq!(
            t.eval_cached(" stage_bad() ", false, 2, &mut leaf),
            Tri::False
        );
        assert_eq!(
            t.eval_cached("stage_bad()", false, 3, &mut leaf),
            Tri::False
        );
        assert_eq!(t.eval_cached("stage_bad()", true, 2, &mut leaf), Tri::False);
        assert_eq!(calls, 3, "once per depth and mode");
        // A copy starts empty.
        let mut again = 0;
        t.clone().eval_cached("stage_bad()", false, 2, &mut |_, _| {
            again += 1;
            Tri::False
        });
        assert_eq!(again, 1);
    }

    #[test]
    fn definitions_must_agree() {
        let t = table(&[
            "#define check() unlikely(running_inband())",
            "#define check() unlikely(other())",
        ]);
        let v = t.eval("check()", false, &mut |s, _| {
            if s.contains("running_inband") {
                Tri::False
            } else {
                Tri::Unknown
            }
        });
        assert_eq!(v, Tri::Unknown);
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
        assert_eq!(leaves(&t, "l2()", true).0, ["WARN_ON(running_oob())"]);
    }

    #[test]
    fn calls_split_at_top_level_commas() {
        assert_eq!(
            split_call(" f(a, g(b, c), \"x,)\", {1, 2}) && y"),
            Some(("f", vec!["a", "g(b, c)", "\"x,)\"", "{1, 2}"], 28))
        );
        assert_eq!(split_call("f()"), Some(("f", vec![], 3)));
        assert_eq!(split_call("f(a"), None);
        assert_eq!(split_call("(f)(a)"), None);
        assert_eq!(split_call("f x(a)"), None);
    }
}
