//! The fast lexical pass over every file: which functions a file defines (for the
//! cross-file index), declared lock types, and whether the file may declare oob entry
//! points. No parsing here: a [`lexer`] turns the bytes into tokens (skipping comments),
//! and small recognisers, each with its own state, are fed the tokens in turn:
//! [`nesting`] (brace and parenthesis depth, read by the others), [`defs`], [`structs`],
//! [`locks`], [`stores`], and the preprocessor conditionals ([`cond`](super::cond)), which leave
//! out the code the configuration does not compile. Full tree-sitter parses happen
//! later, only where needed, on the same regions.

use std::collections::BTreeMap;

use super::cond::{Conditionals, Include};
use super::kconfig::Kconfig;
use defs::FunctionDefs;
use lexer::{Kind, Lexer};
use locks::LockDecls;
use nesting::Nesting;
use stores::MemberStores;
use structs::StructBodies;

// The per-token methods (`Lexer::next`, each recogniser's `ident`/`punct`) are
// `#[inline]`: called from `scan` across codegen units, they cost 15% of a whole-tree
// lint's CPU time otherwise.
mod defs;
mod lexer;
mod locks;
pub mod macros;
mod nesting;
mod stores;
mod structs;

/// A function definition seen lexically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefSeen {
    pub name: String,
    pub is_static: bool,
    /// A `__weak` default: another (strong) definition replaces it at link time.
    pub is_weak: bool,
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
    /// Function-like macros whose body starts with a call (helper-assertion candidates).
    pub call_macros: Vec<macros::MacroDef>,
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
    let mut conds = Conditionals::new(config);
    let mut nesting = Nesting::default();
    let mut defs = FunctionDefs::new(src);
    let mut structs = StructBodies::new(src);
    let mut locks = LockDecls::new(src, lock_types, defines);
    let mut stores = MemberStores::new(src);
    let mut call_macros = Vec::new();
    for t in Lexer::new(src) {
        match t.kind {
            Kind::Directive => {
                let line = &src[t.start..t.end];
                if conds.active() {
                    call_macros.extend(macros::call_macro(line));
                }
                conds.directive(line, t.start, t.end)
            }
            Kind::Literal => {}
            // Left out by the configuration: the build never sees these tokens.
            _ if !conds.active() => {}
            Kind::Ident => {
                let at = nesting.level();
                defs.ident(t.start, t.end, at);
                locks.ident(t.start, t.end, at, structs.name.as_deref());
                structs.ident(t.start, t.end, at);
                stores.ident(t.start, t.end);
            }
            Kind::Punct(b) => {
                let at = nesting.punct(b);
                locks.punct(b);
                stores.punct(t.start);
                let struct_body = structs.punct(b, at);
                defs.punct(b, at, struct_body);
            }
        }
    }
    let (inactive, includes) = conds.finish(src.len());
    FileScan {
        defs: defs.defs,
        terminal_decls: defs.terminal_decls,
        lock_fields: locks.fields,
        lock_vars: locks.vars,
        may_have_entries: needles.matches(src),
        member_stores: stores.finish(),
        inactive,
        includes,
        call_macros,
    }
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

/// Feeds the identifiers and punctuation of `src` to `f` with their levels, the way
/// [`scan`] does with no conditionals: for the recognisers' own tests.
#[cfg(test)]
fn each_token(src: &[u8], mut f: impl FnMut(lexer::Token, nesting::Level)) {
    let mut nesting = Nesting::default();
    for t in Lexer::new(src) {
        match t.kind {
            Kind::Ident => f(t, nesting.level()),
            Kind::Punct(b) => f(t, nesting.punct(b)),
            Kind::Directive | Kind::Literal => {}
        }
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
                    is_static: false,
                    is_weak: false
                },
                DefSeen {
                    name: "c".into(),
                    is_static: true,
                    is_weak: false
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
