//! Switches back to oob (`evl_switch_oob()`) as the guard analysis reads them: the call
//! returns 0 with the caller oob, or an error with the caller still in-band. What a
//! condition on that result says about each branch of an `if`: `if (ret)`, `if (ret < 0)`,
//! `if (unlikely(ret))` on the variable the previous statement stored the result in, or
//! `if (evl_switch_oob())` on the call itself, or `if ((ret = evl_switch_oob()))` on the
//! value of an assignment of it.

use tree_sitter::Node;

use super::parse::{call_arg, called_name, last_named};
use super::rules::RuleSet;
use crate::syntax::c::text;

/// What a branch knows of the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It failed: the caller is where it was before the call.
    Failed,
    /// It succeeded, or may have: the caller may be oob.
    MaybeOob,
}

/// Is `n` the switch's result: the variable `var`, or (without one) the switch call or
/// an assignment of it (`ret = evl_switch_oob()` has the call's value)?
fn is_result(n: Node, src: &[u8], rules: &RuleSet, var: Option<&str>) -> bool {
    match (n.kind(), var) {
        ("parenthesized_expression", _) => {
            last_named(n).is_some_and(|i| is_result(i, src, rules, var))
        }
        ("identifier", Some(v)) => text(n, src) == v,
        ("call_expression", None) => {
            called_name(n, src).is_some_and(|c| rules.switch_oob.iter().any(|s| s == c))
        }
        ("assignment_expression", None) => {
            n.child_by_field_name("operator").map(|o| text(o, src)) == Some("=")
                && n.child_by_field_name("right")
                    .is_some_and(|r| is_result(r, src, rules, None))
        }
        _ => false,
    }
}

/// Does the text of `n` name a switch to oob (a call in a form [`test`] does not read)?
pub fn mentioned(n: Node, src: &[u8], rules: &RuleSet) -> bool {
    let t = text(n, src);
    rules.switch_oob.iter().any(|s| t.contains(s.as_str()))
}

/// A negative error constant: `-EPERM`, `-ERESTARTSYS`, `-4`.
fn is_error_code(n: Node, src: &[u8]) -> bool {
    n.kind() == "unary_expression"
        && n.child_by_field_name("operator").map(|o| text(o, src)) == Some("-")
        && n.child_by_field_name("argument")
            .is_some_and(|a| a.kind() == "identifier" || text(a, src).trim() != "0")
}

/// What the consequence and the alternative of an `if` on `cond` know of the switch,
/// when `cond` tests its result; `None` for any other condition.
pub fn test(cond: Node, src: &[u8], rules: &RuleSet, var: Option<&str>) -> Option<[Outcome; 2]> {
    use Outcome::{Failed, MaybeOob};
    if is_result(cond, src, rules, var) {
        return Some([Failed, MaybeOob]);
    }
    match cond.kind() {
        "parenthesized_expression" => test(last_named(cond)?, src, rules, var),
        "unary_expression"
            if cond.child_by_field_name("operator").map(|o| text(o, src)) == Some("!") =>
        {
            let [a, b] = test(cond.child_by_field_name("argument")?, src, rules, var)?;
            Some([b, a])
        }
        // `unlikely(ret)`: the same truth value.
        "call_expression" => {
            let i = *rules.condition_wrappers.get(called_name(cond, src)?)?;
            test(call_arg(cond, i)?, src, rules, var)
        }
        "binary_expression" => {
            let (l, r) = (
                cond.child_by_field_name("left")?,
                cond.child_by_field_name("right")?,
            );
            if !is_result(l, src, rules, var) {
                return None;
            }
            let zero = text(r, src).trim() == "0";
            let op = cond.child_by_field_name("operator").map(|o| text(o, src))?;
            match op {
                "!=" | "<" if zero => Some([Failed, MaybeOob]),
                "==" | ">=" if zero => Some([MaybeOob, Failed]),
                // One error among others: the other branch may still be any.
                "==" if is_error_code(r, src) => Some([Failed, MaybeOob]),
                "!=" if is_error_code(r, src) => Some([MaybeOob, Failed]),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The variable a statement stores a switch's result in: `ret = evl_switch_oob();` or
/// `int ret = evl_switch_oob();`.
pub fn result_var<'t>(stmt: Node<'t>, src: &[u8], rules: &RuleSet) -> Option<Node<'t>> {
    let (target, value) = match stmt.kind() {
        "expression_statement" => {
            let a = stmt
                .named_child(0)
                .filter(|a| a.kind() == "assignment_expression")?;
            if a.child_by_field_name("operator").map(|o| text(o, src)) != Some("=") {
                return None;
            }
            (
                a.child_by_field_name("left")?,
                a.child_by_field_name("right")?,
            )
        }
        "declaration" => {
            let d = stmt.child_by_field_name("declarator")?;
            if d.kind() != "init_declarator" {
                return None;
            }
            (
                d.child_by_field_name("declarator")?,
                d.child_by_field_name("value")?,
            )
        }
        _ => return None,
    };
    (target.kind() == "identifier" && is_result(value, src, rules, None)).then_some(target)
}
