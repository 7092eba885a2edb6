//! The other side of a patch's references: the functions, macros and Kconfig symbols its
//! removed lines define and its added lines do not define again, and what one line of a tree's
//! file does with such a name (defines it, uses it, neither). `rebase` asks whether the tree
//! right after a ported patch still uses what the patch took away.

use super::{
    clean, idents, is_c_word, kconfig_define, kconfig_uses, lines_refs, next_byte, prev_byte,
    removed_lines, word, Defs, Kind, Lang, HOST_ONLY,
};

/// A definition a patch removes and does not make again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub name: String,
    /// A Kconfig symbol; otherwise a C function or macro (enum constants count as macros).
    pub kconfig: bool,
    /// Where the patch removed it: the path and 1-based line in the old file.
    pub path: String,
    pub line: usize,
}

/// The functions, macros and Kconfig symbols `diff`'s removed lines define that `added` (what
/// its added lines define) does not: a rename within the patch removes nothing.
pub fn patch_removes(diff: &str, added: &Defs) -> Vec<Removed> {
    let removed = removed_lines(diff);
    let mut out: Vec<Removed> = Vec::new();
    let mut k = 0;
    while k < removed.len() {
        let hunk = removed[k].hunk;
        let end = removed[k..]
            .iter()
            .position(|a| a.hunk != hunk)
            .map_or(removed.len(), |n| k + n);
        let run = &removed[k..end];
        k = end;
        let lines: Vec<&str> = run.iter().map(|a| a.text.as_str()).collect();
        let (_, defines) = lines_refs(&run[0].path, &run[0].section, &lines);
        for name in defines.names_of(&[Kind::Function, Kind::Macro, Kind::Kconfig]) {
            let kconfig = defines.has(name, Kind::Kconfig);
            let again = if kconfig {
                added.has(name, Kind::Kconfig)
            } else {
                added.has_c(name)
            };
            if again || out.iter().any(|r| r.name == name && r.kconfig == kconfig) {
                continue;
            }
            // The first removed line of the run that holds the name, for the evidence.
            let at = run
                .iter()
                .find(|a| has_word(a.text.as_bytes(), name))
                .unwrap_or(&run[0]);
            out.push(Removed {
                name: name.to_string(),
                kconfig,
                path: at.path.clone(),
                line: at.line,
            });
        }
    }
    out
}

/// Whether `text` holds `name` as a whole word.
fn has_word(text: &[u8], name: &str) -> bool {
    idents(text).iter().any(|id| word(text, id) == name)
}

/// Whether a tree's file can define or use what [`patch_removes`] reports: C sources and
/// headers, Kconfig files and Makefiles, outside the host programs' folders (`tools/` and
/// `scripts/` carry their own copies of kernel definitions).
pub fn is_searched(path: &str) -> bool {
    let top = path.split('/').next().unwrap_or("");
    Lang::of(path).is_some() && !HOST_ONLY.contains(&top.as_bytes())
}

/// What one line of a file does with a name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineRef {
    /// Defines it as a C function, macro, enum constant or variable.
    pub defines_c: bool,
    /// Defines it as a Kconfig symbol.
    pub defines_kconfig: bool,
    /// Uses it as a C name (not as a struct member, not in a comment or string).
    pub uses_c: bool,
    /// Uses it as a Kconfig symbol (`CONFIG_X`, or a Kconfig expression or `select`).
    pub uses_kconfig: bool,
}

/// What line `line` of file `path` does with `name`, read alone: a line inside a block
/// comment that does not start with `*` is taken as code. A line that may define the name is
/// read as defining it, so a check built on this rarely flags a name that is still defined.
pub fn line_ref(path: &str, line: &[u8], name: &str) -> LineRef {
    let mut out = LineRef::default();
    match Lang::of(path) {
        Some(Lang::C) => {
            let t = line.trim_ascii_start();
            if t.starts_with(b"*") {
                return out;
            }
            let code = clean(line, &mut false);
            let mut defs = Defs::default();
            super::CScan::default().line(line, &mut defs);
            out.defines_c = defs.has(name, Kind::Function)
                || defs.has(name, Kind::Macro)
                || defs.has(name, Kind::Variable)
                || enumerator(&code, name);
            let directive = code.trim_ascii_start().strip_prefix(b"#");
            if directive.is_some_and(|d| d.trim_ascii_start().starts_with(b"undef")) {
                return out;
            }
            for id in idents(&code) {
                let w = word(&code, &id);
                if w == name && !is_c_word(w) {
                    let member = prev_byte(&code, id.start) == Some(b'.')
                        || code[..id.start].trim_ascii_end().ends_with(b"->");
                    out.uses_c |= !member;
                }
                out.uses_kconfig |= is_config(w, name);
            }
            if out.defines_c {
                // The defining line names itself; it is no use.
                out.uses_c = false;
            }
        }
        Some(Lang::Kconfig) => {
            let mut defs = Defs::default();
            kconfig_define(line, &mut defs);
            out.defines_kconfig = defs.has(name, Kind::Kconfig);
            let mut uses = Vec::new();
            kconfig_uses(&String::from_utf8_lossy(line), 0, &mut uses);
            out.uses_kconfig = uses.iter().any(|(n, _, _)| n == name);
        }
        Some(Lang::Make) => {
            let code = line.split(|&b| b == b'#').next().unwrap_or(b"");
            out.uses_kconfig = idents(code)
                .iter()
                .any(|id| is_config(word(code, id), name));
        }
        None => {}
    }
    out
}

/// `CONFIG_NAME` or `CONFIG_NAME_MODULE`.
fn is_config(w: &str, name: &str) -> bool {
    w.strip_prefix("CONFIG_")
        .is_some_and(|s| s == name || s.strip_suffix("_MODULE") == Some(name))
}

/// An indented `NAME,` or `NAME = value,` line: an enum constant (read alone, a line cannot
/// tell an enum body from an argument list; taking it as a definition errs the safe way).
fn enumerator(code: &[u8], name: &str) -> bool {
    if !code.first().is_some_and(|b| b.is_ascii_whitespace()) {
        return false;
    }
    let ids = idents(code);
    let Some(first) = ids.first() else {
        return false;
    };
    let at_start = code[..first.start].iter().all(|b| b.is_ascii_whitespace());
    at_start
        && word(code, first) == name
        && matches!(next_byte(code, first.end), None | Some(b',' | b'=' | b'}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::defs::patch_refs;

    fn removes(diff: &str) -> Vec<(String, bool, String, usize)> {
        patch_removes(diff, &patch_refs(diff).defines)
            .into_iter()
            .map(|r| (r.name, r.kconfig, r.path, r.line))
            .collect()
    }

    #[test]
    fn removed_definitions_not_made_again() {
        let diff = "diff --git a/lib/x.c b/lib/x.c\n--- a/lib/x.c\n+++ b/lib/x.c\n\
@@ -10,9 +10,5 @@\n int keep;\n-int old_fn(int a)\n-{\n-\treturn a;\n-}\n\
-#define OLD_MACRO(x) (x)\n-static int renamed(void)\n+static int renamed(void)\n \
{\n-\tcall_only(1);\n+\tcall_only(2);\n }\n\
diff --git a/lib/Kconfig b/lib/Kconfig\n--- a/lib/Kconfig\n+++ b/lib/Kconfig\n\
@@ -3,3 +3,0 @@\n-config OLD_SYM\n-\tbool \"old\"\n-\tselect OTHER\n";
        assert_eq!(
            removes(diff),
            [
                ("OLD_MACRO".into(), false, "lib/x.c".into(), 15),
                ("old_fn".into(), false, "lib/x.c".into(), 11),
                ("OLD_SYM".into(), true, "lib/Kconfig".into(), 3),
            ]
        );
    }

    #[test]
    fn a_line_s_definitions_and_uses_of_a_name() {
        let c = |l: &str, n: &str| line_ref("drivers/a.c", l.as_bytes(), n);
        assert!(c("int foo(int x)", "foo").defines_c);
        assert!(!c("int foo(int x)", "foo").uses_c);
        assert!(c("#define FOO 1", "FOO").defines_c);
        assert!(c("\tFOO_STATE,", "FOO_STATE").defines_c);
        assert!(c("\tret = foo(x);", "foo").uses_c);
        assert!(c("\t.cb = foo,", "foo").uses_c);
        assert!(!c("\tp->foo(x);", "foo").uses_c, "a member");
        assert!(!c("\ts.foo = 1;", "foo").uses_c, "a member");
        assert!(!c("\t/* foo() is gone */", "foo").uses_c, "a comment");
        assert!(!c(" * foo() is gone", "foo").uses_c, "a comment");
        assert!(!c("\tpr_info(\"foo\");", "foo").uses_c, "a string");
        assert!(!c("#undef FOO", "FOO").uses_c);
        assert!(c("#ifdef CONFIG_BAR", "BAR").uses_kconfig);
        assert!(c("\tif (IS_ENABLED(CONFIG_BAR_MODULE))", "BAR").uses_kconfig);
        assert!(!c("#ifdef CONFIG_BARX", "BAR").uses_kconfig);
        let k = |l: &str| line_ref("arch/Kconfig", l.as_bytes(), "BAR");
        assert!(k("config BAR").defines_kconfig);
        assert!(k("\tselect BAR if X86").uses_kconfig);
        assert!(k("\tdepends on FOO && !BAR").uses_kconfig);
        assert!(!k("\thelp text mentions BAR").uses_kconfig);
        let m = line_ref("drivers/Makefile", b"obj-$(CONFIG_BAR) += bar.o", "BAR");
        assert!(m.uses_kconfig);
        assert!(!line_ref("Documentation/x.rst", b"foo()", "foo").uses_c);
        assert!(is_searched("drivers/gpu/i915.c") && is_searched("lib/Kconfig.debug"));
        assert!(!is_searched("tools/lib/x.c") && !is_searched("README"));
    }
}
