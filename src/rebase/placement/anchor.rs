//! Where a hunk belongs by name: the C function or Kconfig entry that encloses it, found in
//! the target's file. The name comes from the hunk itself (the `@@ ... @@ heading` git and
//! `diff -p` write, or a `config FOO` line among its lines), never from the old tree.

use crate::queue::unidiff::{Hunk, Kind};
use crate::syntax::c::{enclosing, is_c_path};

/// A named place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A C function, by name.
    Function(String),
    /// A Kconfig `config`/`menuconfig` entry, by symbol.
    Kconfig(String),
    /// The exact heading line (a `struct foo {`, a Makefile target...): found verbatim.
    Heading(Vec<u8>),
}

impl Anchor {
    pub fn describe(&self) -> String {
        match self {
            Anchor::Function(n) => format!("function {n}()"),
            Anchor::Kconfig(n) => format!("Kconfig entry {n}"),
            Anchor::Heading(h) => format!("`{}`", String::from_utf8_lossy(h).trim()),
        }
    }
}

/// `config FOO` / `menuconfig FOO` → `FOO`.
fn kconfig_symbol(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text
        .strip_prefix("config ")
        .or_else(|| text.strip_prefix("menuconfig "))?;
    let name = rest.trim();
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| name.to_string())
}

/// What names the hunk's place, most specific first.
pub fn anchors_of(path: &str, hunk: &Hunk) -> Vec<Anchor> {
    let mut out = Vec::new();
    let heading = hunk.heading.trim_ascii();
    if crate::syntax::kconfig::is_kconfig_path(path) {
        // The entry holding the first change: the last `config` line before it in the hunk,
        // else the heading's.
        let first_change = hunk.lines.iter().position(|l| l.kind != Kind::Context);
        let inside = hunk.lines[..first_change.unwrap_or(0)]
            .iter()
            .rev()
            .find_map(|l| kconfig_symbol(l.text.trim_ascii_end()));
        if let Some(sym) = inside.or_else(|| kconfig_symbol(heading)) {
            out.push(Anchor::Kconfig(sym));
        }
    }
    if heading.is_empty() {
        return out;
    }
    if is_c_path(path) {
        let probe = format!("{}\n{{\n", String::from_utf8_lossy(heading));
        if let Some(name) = enclosing(path, &probe) {
            out.push(Anchor::Function(name));
        }
    }
    out.push(Anchor::Heading(heading.to_vec()));
    out
}

/// The lines `[start, end)` of `anchor` in `lines`; `None` when it is absent or not unique.
pub fn range(path: &str, lines: &[Vec<u8>], anchor: &Anchor) -> Option<(usize, usize)> {
    match anchor {
        Anchor::Kconfig(sym) => {
            let start = unique(lines, |l| {
                kconfig_symbol(l.trim_ascii_end()).as_deref() == Some(sym)
            })?;
            // An entry ends where the next unindented line starts.
            let end = (start + 1..lines.len())
                .find(|&k| lines[k].first().is_some_and(|b| !b.is_ascii_whitespace()))
                .unwrap_or(lines.len());
            Some((start, end))
        }
        Anchor::Function(name) => function_range(path, lines, name),
        Anchor::Heading(h) => {
            let start = unique(lines, |l| l.trim_ascii() == h.as_slice())?;
            let end = if is_c_path(path) {
                // To the closing brace in column 0 (kernel style), labels notwithstanding.
                (start + 1..lines.len()).find(|&k| lines[k].starts_with(b"}"))? + 1
            } else {
                // Where git would start the next heading: an unindented word.
                (start + 1..lines.len())
                    .find(|&k| {
                        lines[k]
                            .first()
                            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b'$')
                    })
                    .unwrap_or(lines.len())
            };
            Some((start, end))
        }
    }
}

fn unique(lines: &[Vec<u8>], hit: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut found = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| hit(l))
        .map(|(k, _)| k);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The definition of C function `name`: from its header to its closing `}` in column 0.
/// Kernel style opens a body with `{` in column 0; only bodies whose header mentions
/// `name(` are parsed (tree-sitter names the function, as for the report).
fn function_range(path: &str, lines: &[Vec<u8>], name: &str) -> Option<(usize, usize)> {
    let call = format!("{name}(");
    let mut found = None;
    for open in (0..lines.len()).filter(|&k| lines[k].starts_with(b"{")) {
        let header_from = open.saturating_sub(6);
        let mentions = lines[header_from..open]
            .iter()
            .any(|l| l.windows(call.len()).any(|w| w == call.as_bytes()));
        if !mentions {
            continue;
        }
        let prefix: Vec<u8> = lines[header_from..=open].concat();
        if enclosing(path, &String::from_utf8_lossy(&prefix)).as_deref() != Some(name) {
            continue;
        }
        if found.is_some() {
            return None; // two definitions (#ifdef variants): not a safe anchor
        }
        let start = (header_from..open)
            .find(|&k| lines[k].windows(call.len()).any(|w| w == call.as_bytes()))
            .unwrap_or(open);
        // Back over the return type line(s) written above the name.
        let mut s = start;
        while s > 0 && {
            let prev = lines[s - 1].trim_ascii_end();
            !prev.is_empty()
                && !prev.ends_with(b";")
                && !prev.starts_with(b"}")
                && !prev.starts_with(b"#")
                && !prev.ends_with(b"*/")
        } {
            s -= 1;
        }
        let end = (open + 1..lines.len()).find(|&k| lines[k].starts_with(b"}"))? + 1;
        found = Some((s, end));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::unidiff::parse;

    fn lines(text: &str) -> Vec<Vec<u8>> {
        text.split_inclusive('\n')
            .map(|l| l.as_bytes().to_vec())
            .collect()
    }

    #[test]
    fn a_c_function_by_its_heading_name() {
        let d = b"--- a/k.c\n+++ b/k.c\n@@ -10,1 +10,1 @@ static int foo(int a)\n-\tx;\n+\ty;\n";
        let hunk = &parse(d, 1).unwrap()[0].hunks[0];
        let anchors = anchors_of("k.c", hunk);
        assert_eq!(anchors[0], Anchor::Function("foo".into()));
        let text = lines("int bar(void)\n{\n\treturn 0;\n}\n\nstatic long\nfoo(int a, int b)\n{\nout:\n\tx;\n}\n");
        assert_eq!(range("k.c", &text, &anchors[0]), Some((5, 11)));
        assert_eq!(range("k.c", &text, &Anchor::Function("baz".into())), None);
    }

    #[test]
    fn a_kconfig_entry_from_the_hunk_lines() {
        let d = b"--- a/Kconfig\n+++ b/Kconfig\n@@ -1,3 +1,4 @@\n config FOO\n \tbool\n+\tselect BAR\n \tdefault y\n";
        let hunk = &parse(d, 1).unwrap()[0].hunks[0];
        let anchors = anchors_of("arch/x86/Kconfig", hunk);
        assert_eq!(anchors, [Anchor::Kconfig("FOO".into())]);
        let text = lines("config A\n\tbool\n\nconfig FOO\n\ttristate\n\thelp\n\t  x\n\nconfig Z\n");
        assert_eq!(range("Kconfig", &text, &anchors[0]), Some((3, 8)));
    }
}
