//! Stage 2: both sides edited one list. When every line of the region (all three versions) is
//! an entry of the same kind of list, the result is the target's list plus the queue's new
//! entries, minus the entries the queue removed, without duplicates. Placement follows the
//! queue's neighbours when they are still there, else the new entries go last (upstream order
//! is never changed). A key or value collision (`select X` vs `select X if Y`, two `#define`s
//! or enum entries with one value) is refused: that is exactly the silent mis-merge to avoid.

use super::{norm, Confidence, Context, Decision, Region};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    KconfigSelect,
    KconfigDepends,
    MakeObj,
    Include,
    ExportSymbol,
    Define,
    EnumEntry,
    Initializer,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::KconfigSelect => "Kconfig select/imply list",
            Kind::KconfigDepends => "Kconfig depends-on list",
            Kind::MakeObj => "Makefile object list",
            Kind::Include => "#include block",
            Kind::ExportSymbol => "EXPORT_SYMBOL run",
            Kind::Define => "#define list",
            Kind::EnumEntry => "enum list",
            Kind::Initializer => "struct initializer",
        }
    }

    fn confidence(self) -> Confidence {
        match self {
            Kind::Define | Kind::EnumEntry | Kind::Initializer => Confidence::Medium,
            _ => Confidence::High,
        }
    }
}

/// A classified list entry: its identity and, for definitions, its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub key: String,
    pub value: Option<String>,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Strips a trailing C comment.
fn code(s: &str) -> &str {
    let s = s.split("/*").next().unwrap_or(s);
    s.split("//").next().unwrap_or(s).trim()
}

pub fn classify(path: &str, line: &str) -> Option<Entry> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let t = norm(line);
    let entry = |kind, key: &str, value: Option<String>| {
        Some(Entry {
            kind,
            key: key.to_string(),
            value,
        })
    };
    if file.starts_with("Kconfig") {
        let mut w = t.split_whitespace();
        return match (w.next(), w.next()) {
            (Some("select" | "imply"), Some(sym)) if is_ident(sym) => {
                entry(Kind::KconfigSelect, sym, None)
            }
            (Some("depends"), Some("on")) => entry(Kind::KconfigDepends, t, None),
            _ => None,
        };
    }
    if file == "Makefile" || file == "Kbuild" || file.ends_with(".mk") {
        let lhs = t.split(['+', ':', '=']).next().unwrap_or("").trim();
        let is_list = (lhs.starts_with("obj-") || lhs.starts_with("lib-"))
            && (t.contains("+=") || t.contains(":="));
        return is_list.then(|| Entry {
            kind: Kind::MakeObj,
            key: t.to_string(),
            value: None,
        });
    }
    if !(file.ends_with(".c") || file.ends_with(".h")) {
        return None;
    }
    if let Some(rest) = t.strip_prefix("#include") {
        let rest = rest.trim();
        if rest.starts_with('<') || rest.starts_with('"') {
            return entry(Kind::Include, rest, None);
        }
        return None;
    }
    for m in [
        "EXPORT_SYMBOL_GPL(",
        "EXPORT_SYMBOL_NS_GPL(",
        "EXPORT_SYMBOL_NS(",
        "EXPORT_SYMBOL(",
    ] {
        if let Some(rest) = t.strip_prefix(m) {
            let name = rest.split([',', ')']).next().unwrap_or("").trim();
            if is_ident(name) && t.ends_with(");") {
                return entry(Kind::ExportSymbol, name, None);
            }
        }
    }
    if let Some(rest) = t.strip_prefix("#define") {
        let rest = rest.trim_start();
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, value) = rest.split_at(name_end);
        // Function-like macros and line continuations are code, not list entries.
        if !is_ident(name) || value.starts_with('(') || t.ends_with('\\') {
            return None;
        }
        let value = code(value);
        return entry(
            Kind::Define,
            name,
            (!value.is_empty()).then(|| value.to_string()),
        );
    }
    let c = code(t);
    if let Some(body) = c.strip_suffix(',') {
        if let Some(field) = body.strip_prefix('.') {
            let (f, v) = field.split_once('=')?;
            let f = f.trim();
            return is_ident(f).then(|| Entry {
                kind: Kind::Initializer,
                key: f.to_string(),
                value: Some(v.trim().to_string()),
            });
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
            None => (body.trim(), None),
        };
        if is_ident(name) && name.chars().any(|c| c.is_ascii_uppercase()) {
            return entry(Kind::EnumEntry, name, value);
        }
    }
    None
}

pub fn resolve(ctx: &Context<'_>, r: &Region) -> Decision {
    let mut kind = None;
    let mut classify_all = |lines: &[String]| -> Option<Vec<Entry>> {
        let mut out = Vec::new();
        for l in lines {
            let e = classify(ctx.path, l)?;
            match kind {
                None => kind = Some(e.kind),
                Some(k) if k == e.kind => {}
                Some(_) => return None,
            }
            out.push(e);
        }
        Some(out)
    };
    let (Some(ours), Some(base), Some(theirs)) = (
        classify_all(&r.ours),
        classify_all(&r.base),
        classify_all(&r.theirs),
    ) else {
        return Decision::Pass;
    };
    let Some(kind) = kind else {
        return Decision::Pass;
    };
    let text = |l: &String| norm(l).to_string();
    let base_t: Vec<String> = r.base.iter().map(text).collect();
    let theirs_t: Vec<String> = r.theirs.iter().map(text).collect();

    let mut result: Vec<(String, Entry)> = r.ours.iter().cloned().zip(ours).collect();
    // The queue's removals.
    for (b, be) in base_t.iter().zip(&base) {
        if theirs_t.contains(b) {
            continue;
        }
        if let Some(pos) = result.iter().position(|(l, _)| norm(l) == b) {
            result.remove(pos);
        } else if let Some((l, _)) = result.iter().find(|(_, e)| e.key == be.key) {
            return Decision::Refuse(format!(
                "the queue removes `{b}`, which the target changed to `{}`",
                norm(l)
            ));
        } else if theirs.iter().any(|te| te.key == be.key) {
            // The queue changes an entry the target no longer has (renamed or removed
            // upstream): the change has nowhere to go, and keeping it would name a stale
            // entry. (An entry both sides removed is no such case.)
            return Decision::Refuse(format!(
                "the queue removes `{b}`, which the target does not have (renamed or removed upstream?)"
            ));
        }
    }
    // The queue's additions, next to their neighbours in the queue's list.
    let mut added = 0;
    for (j, (t, te)) in r.theirs.iter().zip(&theirs).enumerate() {
        let tn = norm(t);
        if base_t.iter().any(|b| b == tn) || result.iter().any(|(l, _)| norm(l) == tn) {
            continue;
        }
        if let Some((l, _)) = result.iter().find(|(_, e)| e.key == te.key) {
            return Decision::Refuse(format!(
                "both sides set `{}`: target `{}`, queue `{tn}`",
                te.key,
                norm(l)
            ));
        }
        if let Some(v) = &te.value {
            if let Some((l, _)) = result
                .iter()
                .find(|(_, e)| e.value.as_deref() == Some(v.as_str()) && looks_numeric(v))
            {
                return Decision::Refuse(format!(
                    "value collision: the queue's `{tn}` and the target's `{}` both use {v}; pick a free value by hand",
                    norm(l)
                ));
            }
        }
        let after = theirs_t[..j]
            .iter()
            .rev()
            .find_map(|p| result.iter().position(|(l, _)| norm(l) == p))
            .map(|i| i + 1);
        let before = || {
            theirs_t[j + 1..]
                .iter()
                .find_map(|p| result.iter().position(|(l, _)| norm(l) == p))
        };
        let mut at = after.or_else(before).unwrap_or(result.len());
        if after.is_some() {
            // Upstream's own new entries at the same spot come first.
            while at < result.len() && {
                let n = norm(&result[at].0);
                !base_t.iter().any(|b| b == n) && !theirs_t.iter().any(|t| t == n)
            } {
                at += 1;
            }
        }
        result.insert(at, (t.clone(), te.clone()));
        added += 1;
    }
    Decision::Resolve {
        lines: result.into_iter().map(|(l, _)| l).collect(),
        confidence: kind.confidence(),
        detail: format!(
            "{}: the target's entries in upstream order plus the queue's {added} new one(s), no duplicates",
            kind.describe()
        ),
    }
}

/// Values whose reuse is a real clash (flag bits, numbers), as opposed to aliases of a name.
fn looks_numeric(v: &str) -> bool {
    let v = v.trim_matches(|c| c == '(' || c == ')');
    v.starts_with(|c: char| c.is_ascii_digit()) || v.starts_with("BIT(") || v.contains("<<")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| format!("{l}\n")).collect()
    }

    fn run(path: &str, ours: &[&str], base: &[&str], theirs: &[&str]) -> Decision {
        let ctx = Context {
            path,
            before: String::new(),
            after: String::new(),
            at_end: false,
            target: None,
        };
        resolve(
            &ctx,
            &Region {
                ours: v(ours),
                base: v(base),
                theirs: v(theirs),
            },
        )
    }

    fn lines(d: Decision) -> Vec<String> {
        match d {
            Decision::Resolve { lines, .. } => lines.iter().map(|l| norm(l).to_string()).collect(),
            Decision::Refuse(r) => panic!("refused: {r}"),
            Decision::Pass => panic!("passed"),
        }
    }

    #[test]
    fn kconfig_select_union_keeps_upstream_order() {
        let d = run(
            "arch/x86/Kconfig",
            &["\tselect B", "\tselect EXECMEM if DYNAMIC_FTRACE"],
            &["\tselect B"],
            &["\tselect B", "\tselect HAVE_X"],
        );
        assert_eq!(
            lines(d),
            [
                "select B",
                "select EXECMEM if DYNAMIC_FTRACE",
                "select HAVE_X"
            ]
        );
    }

    #[test]
    fn changing_an_entry_the_target_renamed_is_refused() {
        let d = run(
            "arch/x86/Kconfig",
            &["\tselect NEW_SYM"],
            &["\tselect OLD_SYM"],
            &["\tselect OLD_SYM if FOO"],
        );
        match d {
            Decision::Refuse(r) => assert!(r.contains("does not have"), "{r}"),
            _ => panic!("must refuse"),
        }
    }

    #[test]
    fn kconfig_same_symbol_differently_is_refused() {
        let d = run("Kconfig", &["\tselect A if B"], &[], &["\tselect A"]);
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn define_value_collision_is_refused() {
        let d = run(
            "include/linux/interrupt.h",
            &["#define IRQF_COND_ONESHOT\t0x00200000"],
            &[],
            &["#define IRQF_OOB\t\t0x00200000"],
        );
        match d {
            Decision::Refuse(r) => assert!(r.contains("0x00200000"), "{r}"),
            _ => panic!("must refuse"),
        }
    }

    #[test]
    fn makefile_and_includes_union_and_removals() {
        let d = run(
            "kernel/irq/Makefile",
            &["obj-y += a.o", "obj-$(CONFIG_X) += x.o"],
            &["obj-y += a.o", "obj-$(CONFIG_OLD) += old.o"],
            &["obj-y += a.o", "obj-$(CONFIG_Q) += q.o"],
        );
        assert_eq!(
            lines(d),
            [
                "obj-y += a.o",
                "obj-$(CONFIG_X) += x.o",
                "obj-$(CONFIG_Q) += q.o"
            ]
        );
        let d = run(
            "a.c",
            &["#include <linux/a.h>", "#include <linux/c.h>"],
            &["#include <linux/a.h>", "#include <linux/old.h>"],
            &["#include <linux/a.h>", "#include <linux/b.h>"],
        );
        assert_eq!(
            lines(d),
            [
                "#include <linux/a.h>",
                "#include <linux/c.h>",
                "#include <linux/b.h>"
            ]
        );
    }

    #[test]
    fn mixed_lines_pass() {
        let d = run(
            "a.c",
            &["#include <a.h>", "int x;"],
            &[],
            &["#include <b.h>"],
        );
        assert!(matches!(d, Decision::Pass));
    }

    #[test]
    fn classifies_entries() {
        assert_eq!(
            classify("a.c", "\tFOO_BAR = 3,").unwrap().kind,
            Kind::EnumEntry
        );
        assert_eq!(
            classify("a.c", "\t.name = \"x\",").unwrap().kind,
            Kind::Initializer
        );
        assert_eq!(
            classify("a.c", "EXPORT_SYMBOL_GPL(foo);").unwrap().key,
            "foo"
        );
        assert!(classify("a.c", "#define f(x) x").is_none());
        assert!(classify("a.c", "\tfoo(a, b),").is_none());
    }
}
