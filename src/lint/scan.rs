//! The fast lexical pass over every file: which functions a file defines (for the
//! cross-file index), declared lock types, and whether the file may declare oob entry
//! points. No parsing here: a byte-level tokenizer that skips comments, strings and
//! preprocessor lines, and the code that preprocessor conditionals leave out for the
//! configuration ([`cond`](super::cond)). Full tree-sitter parses happen later, only where
//! needed, on the same regions.

use std::collections::BTreeMap;

use super::cond::{Conditionals, Include};
use super::kconfig::Kconfig;

/// A function definition seen lexically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefSeen {
    pub name: String,
    pub is_static: bool,
}

/// What the lexical pass learned from one file.
#[derive(Debug, Default, Clone)]
pub struct FileScan {
    pub defs: Vec<DefSeen>,
    /// Functions a prototype declares `__noreturn` or `__cold` (`void panic(...)
    /// __noreturn __cold;`): error paths even where the definition does not repeat it.
    pub terminal_decls: Vec<DefSeen>,
    /// (struct name, field name) -> lock type, for fields declared with a lock type.
    pub lock_fields: Vec<(String, String, String)>,
    /// Variables (file-scope or local) declared with a lock type or `DEFINE_*` macro:
    /// (name, type, file_scope).
    pub lock_vars: Vec<(String, String, bool)>,
    /// The file mentions an entry-point needle (fops member, registration, marker).
    pub may_have_entries: bool,
    /// Struct members this file stores a function name in (`.m = fn,`, `x->m = fn;`),
    /// sorted, without duplicates.
    pub member_stores: Vec<String>,
    /// Byte ranges the configuration leaves out (not scanned, blanked before parsing).
    pub inactive: Vec<(usize, usize)>,
    /// The `#include`s, each marked when it is in a left-out region.
    pub includes: Vec<Include>,
}

/// Recognises `.member = [&]name` / `->member = [&]name` followed by `,` `;` `}` or `)`,
/// one token at a time.
#[derive(Default)]
struct StoreMatcher {
    state: u8,
    member: Option<(usize, usize)>,
}

impl StoreMatcher {
    fn ident(&mut self, start: usize, end: usize) {
        self.state = match self.state {
            1 => {
                self.member = Some((start, end));
                2
            }
            3 | 4 => 5,
            _ => 0,
        };
    }

    /// Punctuation `b` (with the byte after it); returns a completed store's member.
    fn punct(&mut self, b: u8, next: u8) -> Option<(usize, usize)> {
        let (state, done) = match (b, self.state) {
            (b'.', _) => (1, None),
            (b'-', _) if next == b'>' => (1, None),
            (b'>', 1) => (1, None),
            (b'=', 2) if next != b'=' => (3, None),
            (b'&', 3) => (4, None),
            (b',' | b';' | b'}' | b')', 5) => (0, self.member),
            _ => (0, None),
        };
        self.state = state;
        done
    }
}

/// Scans `src`. `lock_types` are the type names to record, `defines` maps `DEFINE_*`
/// macros to their types, `needles` decide `may_have_entries`, `config` decides the
/// preprocessor conditionals.
pub fn scan(
    src: &[u8],
    lock_types: &[&str],
    defines: &BTreeMap<String, String>,
    needles: &Needles,
    config: &Kconfig,
) -> FileScan {
    let mut out = FileScan {
        may_have_entries: needles.matches(src),
        ..Default::default()
    };
    let mut depth = 0usize;
    let mut paren = 0usize;
    // Byte ranges, turned into names only when kept (most are not).
    let mut candidate: Option<(usize, usize)> = None;
    let mut after_params = false;
    let mut saw_static = false;
    let mut last_ident: Option<(usize, usize)> = None;
    let mut prev_ident: Option<(usize, usize)> = None;
    // `struct NAME {` at depth 0: the struct whose body we are in.
    let mut struct_name: Option<String> = None;
    let mut pending_struct: Option<(usize, usize)> = None;
    let mut prev_was_struct_kw = false;
    let mut define_macro: Option<String> = None;
    // Top level: identifiers since the last `)` closing a parameter list (two or more
    // before a `(` mean `__printf(1, 2) void name(`: the name comes after the macro), and
    // whether the declaration carries a terminal attribute (in `__attribute__((...))` at
    // paren depth `attr_paren` when `attr_paren` is set).
    let mut idents_after_params = 0usize;
    let mut terminal_attr = false;
    let mut attr_paren: Option<usize> = None;
    let mut stores = StoreMatcher::default();
    let mut conds = Conditionals::new(config);
    let mut i = 0usize;
    let n = src.len();
    let mut line_start = true;
    while i < n {
        let b = src[i];
        match b {
            b'\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'#' if line_start => {
                // Preprocessor line, with continuations.
                let start = i;
                while i < n && src[i] != b'\n' {
                    if src[i] == b'\\' && i + 1 < n && src[i + 1] == b'\n' {
                        i += 1;
                    } else if src[i] == b'/' && i + 1 < n && src[i + 1] == b'*' {
                        i = skip_block_comment(src, i);
                        continue;
                    }
                    i += 1;
                }
                conds.directive(&src[start..i], start, i);
                continue;
            }
            _ => {}
        }
        line_start = false;
        if b == b'/' && i + 1 < n && src[i + 1] == b'/' {
            while i < n && src[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'/' && i + 1 < n && src[i + 1] == b'*' {
            i = skip_block_comment(src, i);
            continue;
        }
        if b == b'"' || b == b'\'' {
            i += 1;
            while i < n && src[i] != b {
                if src[i] == b'\\' {
                    i += 1;
                }
                if i < n && src[i] == b'\n' {
                    break;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if !conds.active() {
            // Left out by the configuration: the build never sees these tokens.
            i += 1;
            while i < n && IDENT[src[i] as usize] {
                i += 1;
            }
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < n && IDENT[src[i] as usize] {
                i += 1;
            }
            let word = &src[start..i];
            if depth == 0 && paren == 0 && word == b"static" {
                saw_static = true;
            }
            if depth == 0 {
                match word {
                    b"__noreturn" | b"__cold" | b"_Noreturn" => terminal_attr = true,
                    b"noreturn" | b"__noreturn__" | b"cold" | b"__cold__" => {
                        terminal_attr |= attr_paren.is_some_and(|p| paren > p)
                    }
                    b"__attribute__" | b"__attribute" if attr_paren.is_none() => {
                        attr_paren = Some(paren)
                    }
                    _ => {}
                }
                if paren == 0 && after_params {
                    idents_after_params += 1;
                }
            }
            // Lock declarations: `TYPE name ;|[|,|=` and `DEFINE_X(name)`.
            if let Some((ps, pe)) = prev_ident.filter(|&(s, e)| src[s..e].ends_with(b"_t")) {
                let prev = &src[ps..pe];
                if let Some(ty) = lock_types.iter().find(|t| t.as_bytes() == prev) {
                    let next = src[i..].iter().find(|c| !c.is_ascii_whitespace());
                    if matches!(next, Some(b';' | b'[' | b',' | b'=')) {
                        let name = String::from_utf8_lossy(word).into_owned();
                        match (&struct_name, depth) {
                            (Some(s), d) if d >= 1 => {
                                out.lock_fields.push((s.clone(), name, ty.to_string()))
                            }
                            _ => out.lock_vars.push((name, ty.to_string(), depth == 0)),
                        }
                    }
                }
            }
            if let Some(m) = define_macro.take() {
                let name = String::from_utf8_lossy(word).into_owned();
                if let Some(ty) = defines.get(&m) {
                    out.lock_vars.push((name, ty.clone(), depth == 0));
                }
            }
            if depth == 0 {
                pending_struct = if prev_was_struct_kw {
                    Some((start, i))
                } else {
                    None
                };
                prev_was_struct_kw = word == b"struct" || word == b"union";
            }
            let w = if word.starts_with(b"DEFINE_") {
                String::from_utf8_lossy(word)
            } else {
                std::borrow::Cow::Borrowed("")
            };
            if !w.is_empty() && defines.contains_key(w.as_ref()) {
                let next = src[i..].iter().position(|c| !c.is_ascii_whitespace());
                if next.is_some_and(|p| src[i + p] == b'(') {
                    define_macro = Some(w.into_owned());
                }
            }
            stores.ident(start, i);
            prev_ident = Some((start, i));
            if depth == 0 && paren == 0 {
                last_ident = Some((start, i));
            }
            continue;
        }
        prev_ident = None;
        if depth == 0 && b != b'(' {
            prev_was_struct_kw = false;
        }
        if let Some((s, e)) = stores.punct(b, src.get(i + 1).copied().unwrap_or(0)) {
            out.member_stores
                .push(String::from_utf8_lossy(&src[s..e]).into_owned());
        }
        match b {
            b'(' => {
                if depth == 0 {
                    pending_struct = None;
                }
                // `__printf(1, 2) void name(`: the name is the second identifier on.
                // After `__attribute__((...))`, the first one.
                let after_attr =
                    candidate.is_some_and(|(s, e)| src[s..e].starts_with(b"__attribute"));
                let renamed = after_params
                    && (idents_after_params >= 2 || (after_attr && idents_after_params >= 1));
                if depth == 0 && paren == 0 && (!after_params || renamed) {
                    candidate = last_ident;
                    after_params = false;
                }
                if define_macro.is_none() {
                    prev_ident = None;
                }
                paren += 1;
            }
            b')' => {
                paren = paren.saturating_sub(1);
                if attr_paren == Some(paren) {
                    attr_paren = None;
                }
                if depth == 0 && paren == 0 && candidate.is_some() {
                    after_params = true;
                    idents_after_params = 0;
                }
                define_macro = None;
            }
            b'{' => {
                if depth == 0 {
                    if let Some((s, e)) = pending_struct.take() {
                        struct_name = Some(String::from_utf8_lossy(&src[s..e]).into_owned());
                        candidate = None;
                    } else if after_params {
                        if let Some((s, e)) = candidate.take() {
                            out.defs.push(DefSeen {
                                name: String::from_utf8_lossy(&src[s..e]).into_owned(),
                                is_static: saw_static,
                            });
                        }
                    }
                    after_params = false;
                    terminal_attr = false;
                    attr_paren = None;
                    paren = 0;
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    struct_name = None;
                    saw_static = false;
                    candidate = None;
                    after_params = false;
                    terminal_attr = false;
                }
            }
            b';' | b'=' | b',' if depth == 0 && paren == 0 => {
                if after_params && terminal_attr && b != b'=' {
                    if let Some((s, e)) = candidate {
                        out.terminal_decls.push(DefSeen {
                            name: String::from_utf8_lossy(&src[s..e]).into_owned(),
                            is_static: saw_static,
                        });
                    }
                }
                if b == b';' {
                    saw_static = false;
                    terminal_attr = false;
                    attr_paren = None;
                }
                candidate = None;
                after_params = false;
                pending_struct = None;
            }
            _ => {}
        }
        i += 1;
    }
    out.member_stores.sort();
    out.member_stores.dedup();
    (out.inactive, out.includes) = conds.finish(n);
    out
}

/// Bytes that continue an identifier (`[A-Za-z0-9_]`), looked up rather than tested.
static IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// The offset after the `*/` closing the comment opened at `i` (the end of `src` if none).
fn skip_block_comment(src: &[u8], i: usize) -> usize {
    static END: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    // A literal search (SIMD memmem), not a byte loop: comments are a large share of C.
    let end = END.get_or_init(|| regex::bytes::Regex::new(r"\*/").expect("a literal"));
    let from = (i + 2).min(src.len());
    end.find_at(src, from).map_or(src.len(), |m| m.end())
}

/// The words that make a file worth a full parse, searched all at once.
pub struct Needles(Option<regex::bytes::Regex>);

impl Needles {
    pub fn new(words: &[String]) -> Needles {
        let alt: Vec<String> = words
            .iter()
            .filter(|w| !w.is_empty())
            .map(|w| regex::escape(w))
            .collect();
        if alt.is_empty() {
            return Needles(None);
        }
        Needles(regex::bytes::Regex::new(&alt.join("|")).ok())
    }

    pub fn matches(&self, src: &[u8]) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(src))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defines() -> BTreeMap<String, String> {
        [
            ("DEFINE_HARD_SPINLOCK", "hard_spinlock_t"),
            ("DEFINE_SPINLOCK", "spinlock_t"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    const TYPES: &[&str] = &["hard_spinlock_t", "spinlock_t", "raw_spinlock_t"];

    /// Scans with no entry needles and no known Kconfig symbol.
    fn scan_plain(src: &[u8]) -> FileScan {
        scan(
            src,
            TYPES,
            &defines(),
            &Needles::new(&[]),
            &Kconfig::default(),
        )
    }

    #[test]
    fn code_the_configuration_leaves_out_is_not_scanned() {
        let k = Kconfig::assumed(&[("PREEMPT_RT".to_string(), "n".to_string())].into());
        let src = b"#ifdef CONFIG_PREEMPT_RT\n#include <linux/spinlock_rt.h>\nvoid unlock(void) { rt(); }\nstruct s { spinlock_t l;\n#else\nvoid unlock(void) { raw(); }\n#endif\n#if 0\nint gone(void) {\n#endif\nint kept(void) { }\n";
        let s = scan(src, TYPES, &defines(), &Needles::new(&[]), &k);
        let names: Vec<&str> = s.defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["unlock", "kept"], "one unlock, braces balanced");
        assert!(s.lock_fields.is_empty());
        let left_out: Vec<&str> = s
            .inactive
            .iter()
            .map(|&(a, b)| std::str::from_utf8(&src[a..b]).unwrap().trim())
            .collect();
        assert_eq!(
            left_out,
            [
                "#include <linux/spinlock_rt.h>\nvoid unlock(void) { rt(); }\nstruct s { spinlock_t l;",
                "int gone(void) {"
            ]
        );
        assert_eq!(s.includes.len(), 1);
        assert!(s.includes[0].inactive);
        // Nothing known: every branch is read, as before.
        assert_eq!(
            scan_plain(src).defs.len(),
            1,
            "the unbalanced brace swallows the rest"
        );
    }

    #[test]
    fn finds_definitions_not_prototypes() {
        let src = b"static int a(void);\nint b(int x) { return a(); }\nstatic inline void c(void)\n__releases(x)\n{\n}\nstruct s { int (*f)(void); };\nint v = f(1);\n#define M(x) { x }\n";
        let s = scan_plain(src);
        assert_eq!(
            s.defs,
            vec![
                DefSeen {
                    name: "b".into(),
                    is_static: false
                },
                DefSeen {
                    name: "c".into(),
                    is_static: true
                },
            ]
        );
    }

    #[test]
    fn terminal_attributes_on_prototypes() {
        let src = b"void panic(const char *fmt, ...) __noreturn __cold;\n__printf(2, 3) void __noreturn evl_oops(struct rq *rq, const char *fmt, ...);\nstatic void die_now(int) __attribute__((format(printf, 1, 2), noreturn));\nextern void __attribute__((__cold__)) report(void);\nvoid plain(int cold);\nvoid __cold def(void) { }\n/* __noreturn */ void commented(void);\n__printf(1, 2) int after_macro(const char *f, ...) { return 0; }\n";
        let s = scan_plain(src);
        let got: Vec<(&str, bool)> = s
            .terminal_decls
            .iter()
            .map(|d| (d.name.as_str(), d.is_static))
            .collect();
        assert_eq!(
            got,
            [
                ("panic", false),
                ("evl_oops", false),
                ("die_now", true),
                ("report", false)
            ]
        );
        let defs: Vec<&str> = s.defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            defs,
            ["def", "after_macro"],
            "the name after `__printf(1, 2)`"
        );
    }

    #[test]
    fn records_lock_declarations() {
        let src = b"struct dev {\n\thard_spinlock_t lock;\n\tspinlock_t slow;\n};\nstatic DEFINE_HARD_SPINLOCK(glock);\nstatic DEFINE_SPINLOCK(other);\nstatic raw_spinlock_t rl;\nvoid f(void) { spinlock_t local; }\n";
        let s = scan_plain(src);
        assert!(s
            .lock_fields
            .contains(&("dev".into(), "lock".into(), "hard_spinlock_t".into())));
        assert!(s
            .lock_fields
            .contains(&("dev".into(), "slow".into(), "spinlock_t".into())));
        assert!(s
            .lock_vars
            .contains(&("glock".into(), "hard_spinlock_t".into(), true)));
        assert!(s
            .lock_vars
            .contains(&("other".into(), "spinlock_t".into(), true)));
        assert!(s
            .lock_vars
            .contains(&("rl".into(), "raw_spinlock_t".into(), true)));
        assert!(s
            .lock_vars
            .contains(&("local".into(), "spinlock_t".into(), false)));
    }

    #[test]
    fn records_member_stores() {
        let src = b"static const struct ops o = {\n\t.step = slow_step,\n\t.init = &my_init,\n\t.val = 3,\n\t.cb = (void *)x,\n};\nvoid p(struct d *d) { d->hook = sleepy; if (d->n == m) d->x.fn = f; y = d->q; }\n";
        let s = scan_plain(src);
        assert_eq!(s.member_stores, vec!["fn", "hook", "init", "step"]);
    }

    #[test]
    fn comments_and_strings_are_skipped() {
        let src = b"/* int fake(void) { } */\nconst char *s = \"int g(void) {\";\n// int h(void) {\nint real(void) { }\n";
        let s = scan(
            src,
            TYPES,
            &defines(),
            &Needles::new(&["oob_ioctl".to_string()]),
            &Kconfig::default(),
        );
        assert_eq!(s.defs.len(), 1);
        assert_eq!(s.defs[0].name, "real");
        assert!(!s.may_have_entries);
    }
}
