//! Byte-offset-preserving normalisation of kernel C before tree-sitter sees it.
//!
//! Kernel macros defeat a plain C grammar: annotations such as `__user`/`__rcu`, attribute
//! macros with arguments, and `list_for_each_entry(...)`-style loop macros. Every rewrite
//! here keeps the length of the text, so positions in the parse tree stay positions in the
//! original file.

use std::sync::OnceLock;

use regex::bytes::Regex;

/// Annotations blanked when they appear as a whole word.
const WORDS: &[&str] = &[
    "__user",
    "__rcu",
    "__iomem",
    "__percpu",
    "__force",
    "__bitwise",
    "__init",
    "__exit",
    "__initdata",
    "__initconst",
    "__exitdata",
    "__must_check",
    "__always_inline",
    "noinline",
    "notrace",
    "__cold",
    "__hot",
    "__maybe_unused",
    "__always_unused",
    "__read_mostly",
    "__ro_after_init",
    "__cacheline_aligned",
    "__cacheline_aligned_in_smp",
    "____cacheline_aligned",
    "____cacheline_aligned_in_smp",
    "asmlinkage",
    "__visible",
    "__noreturn",
    "__latent_entropy",
    "__weak",
    "__sched",
    "__packed",
    "__kprobes",
    "__irq_entry",
    "__ref",
    "__refdata",
    "__net_init",
    "__net_exit",
    "__devinit",
    "__noinstr",
    "noinstr",
    "__used",
    "__pure",
    "__attribute_const__",
    "__nocfi",
    "__rcu_ref",
    "__private",
    "__safe",
    "__nocast",
    "__iomem_ptr",
    "__flatten",
    "__no_kcsan",
    "__no_sanitize_address",
    "__no_profile",
    "__mustcheck",
    "__deprecated",
    "__counted_by",
    "__randomize_layout",
    "__no_randomize_layout",
    "__designated_init",
    "__aligned_largest",
    "__malloc",
    "__alloc_size",
];

/// Annotations with a parenthesised argument, blanked with their argument.
const CALL_LIKE: &[&str] = &[
    "__attribute__",
    "__attribute",
    "__acquires",
    "__releases",
    "__must_hold",
    "__aligned",
    "__printf",
    "__scanf",
    "__section",
    "__free",
    "__cond_acquires",
    "__cond_releases",
    "__alloc_size",
    "__counted_by",
    "__diagnose_as",
    "__assume_aligned",
    "__nonstring",
    "__guarded_by",
    "__pt_guarded_by",
    "__no_sanitize_or_inline",
    "__cleanup",
];

fn words_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alt = WORDS.join("|");
        Regex::new(&format!(r"\b(?:{alt})\b")).unwrap()
    })
}

fn call_like_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alt = CALL_LIKE.join("|");
        Regex::new(&format!(r"\b(?:{alt})\s*\(")).unwrap()
    })
}

/// Loop macros: `list_for_each_entry(pos, head, member) {` becomes
/// `while              (pos, head, member) {`, a comma expression in a while loop.
fn loop_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b(?:[a-z0-9_]*_for_each[a-z0-9_]*|for_each_[a-z0-9_]+)\s*\(").unwrap()
    })
}

/// Type names given as macro arguments (`container_of(p, struct foo, node)`,
/// `min_t(unsigned int, a, b)`): a C grammar cannot take a type as an argument, so the words
/// are joined into one identifier (`struct_foo`), keeping the length.
fn type_arg_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"[(,]\s*((?:struct|union|enum)[ \t]+[A-Za-z_][A-Za-z0-9_]*|(?:unsigned|signed)(?:[ \t]+(?:long|int|char|short))+|long[ \t]+(?:long|int)(?:[ \t]+int)?|short[ \t]+int)\s*[,)]",
        )
        .unwrap()
    })
}

/// Returns the normalised text, same length as `src`.
pub fn normalize(src: &[u8]) -> Vec<u8> {
    let mut out = src.to_vec();
    for m in words_re().find_iter(src) {
        blank(&mut out, m.start(), m.end());
    }
    for m in call_like_re().find_iter(src) {
        if let Some(close) = matching_paren(src, m.end() - 1) {
            blank(&mut out, m.start(), close + 1);
        }
    }
    let mut at = 0;
    // Overlapping matches share their delimiters (`, struct a, struct b,`): search again
    // from the closing delimiter.
    while let Some(c) = type_arg_re().captures_at(src, at) {
        let g = c.get(1).unwrap();
        let whole = c.get(0).unwrap();
        at = whole.end() - 1;
        // `(unsigned long)x` is a cast, not a macro argument: only join inside a call.
        if src[whole.start()] == b'(' {
            let before = src[..whole.start()]
                .iter()
                .rposition(|b| !b.is_ascii_whitespace());
            if !before.is_some_and(|p| src[p].is_ascii_alphanumeric() || src[p] == b'_') {
                continue;
            }
        }
        for b in &mut out[g.start()..g.end()] {
            if *b == b' ' || *b == b'\t' {
                *b = b'_';
            }
        }
    }
    // Matches come in order: the line start is searched from the previous match only, so
    // a line holding millions of them stays linear.
    let (mut searched, mut line_start) = (0usize, 0usize);
    for m in loop_re().find_iter(src) {
        // Only at statement position: the name must start a line's code (after
        // whitespace) so that definitions of such macros (`#define`) or helpers
        // called inside expressions are left alone.
        if let Some(p) = src[searched..m.start()].iter().rposition(|&b| b == b'\n') {
            line_start = searched + p + 1;
        }
        searched = m.start();
        let prefix = &src[line_start..m.start()];
        if !prefix.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let name_end = m.end() - 1;
        let name_end = src[..name_end]
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(name_end, |p| p + 1);
        if let Some(close) = matching_paren(src, m.end() - 1) {
            // A loop macro is followed by a statement; a helper call ends with `;`.
            let next = src[close + 1..].iter().find(|b| !b.is_ascii_whitespace());
            if next == Some(&b';') {
                continue;
            }
            out[m.start()..m.start() + 5].copy_from_slice(b"while");
            blank(&mut out, m.start() + 5, name_end);
        }
    }
    out
}

/// The longest macro argument list looked at (real ones are far shorter).
const MAX_PAREN_SPAN: usize = 16 * 1024;

fn blank(out: &mut [u8], start: usize, end: usize) {
    for b in &mut out[start..end] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

/// Index of the `)` matching the `(` at `open`, if any (strings are not special-cased:
/// annotation arguments rarely hold parentheses in strings). Gives up after
/// [`MAX_PAREN_SPAN`] bytes, so nested or unbalanced input cannot make it quadratic.
fn matching_paren(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let end = src.len().min(open.saturating_add(MAX_PAREN_SPAN));
    for (i, &b) in src[..end].iter().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b';' | b'{' | b'}' if depth <= 1 && i > open + 400 => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_length_and_blanks_annotations() {
        let src = b"static int __init foo(char __user *p) __acquires(x) { return 0; }";
        let out = normalize(src);
        assert_eq!(out.len(), src.len());
        let s = String::from_utf8(out).unwrap();
        assert!(!s.contains("__user") && !s.contains("__init") && !s.contains("__acquires"));
        assert!(s.contains("foo(char        *p)"));
    }

    #[test]
    fn loop_macros_become_while() {
        let src =
            b"void f(void)\n{\n\tlist_for_each_entry(pos, &head, node) {\n\t\tg(pos);\n\t}\n}\n";
        let s = String::from_utf8(normalize(src)).unwrap();
        assert!(
            s.contains("\twhile              (pos, &head, node) {"),
            "{s}"
        );
    }

    #[test]
    fn type_arguments_are_joined() {
        let src = b"p = container_of(n, struct foo, node); x = min_t(unsigned int, a, b);";
        let s = String::from_utf8(normalize(src)).unwrap();
        assert!(s.contains("container_of(n, struct_foo, node)"), "{s}");
        assert!(s.contains("min_t(unsigned_int, a, b)"), "{s}");
        let cast = b"x = (unsigned long)p + sizeof(unsigned long);";
        let s = String::from_utf8(normalize(cast)).unwrap();
        assert!(
            s.contains("(unsigned long)p") && s.contains("sizeof(unsigned_long)"),
            "{s}"
        );
        let decl = b"int f(struct foo *p, unsigned int n);";
        assert_eq!(normalize(decl), decl.to_vec());
    }

    #[test]
    fn helper_calls_ending_in_semicolon_are_left_alone() {
        let src = b"void f(void)\n{\n\tfor_each_cpu_do(x);\n}\n";
        assert_eq!(normalize(src), src.to_vec());
    }

    #[test]
    fn normalisation_reduces_parse_errors() {
        let src = b"static void f(struct list_head *h)\n{\n\tstruct foo *pos;\n\tlist_for_each_entry(pos, h, node)\n\t\tbar(pos);\n}\n";
        let mut parser = super::super::parser();
        let raw = parser.parse(src, None).unwrap();
        let norm = parser.parse(normalize(src), None).unwrap();
        assert!(raw.root_node().has_error());
        assert!(!norm.root_node().has_error());
    }
}
