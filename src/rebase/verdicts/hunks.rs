//! A patch's change to one file as hunks, with what the verdicts compare: the lines it brings
//! (added and absent from the old file), the lines it takes away (removed and absent from the
//! new file), its context, and what encloses it (C function, Kconfig entry).

use std::collections::{HashMap, HashSet};

use crate::rebase::resolve::{meaningful, norm};

/// Lines around a change kept as its context, as `diff -U3` shows them.
const CONTEXT: usize = 3;

/// One hunk of the patch's change to a file, lines trimmed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hunk {
    /// Meaningful lines the patch adds that the old file did not have anywhere.
    pub brought: Vec<String>,
    /// Every added line, in order (blank ones dropped).
    pub added: Vec<String>,
    /// Meaningful lines the patch removes that the new file no longer has anywhere.
    pub taken: Vec<String>,
    /// Every non-blank line the patch removes (some may stand elsewhere in the file).
    pub removed: Vec<String>,
    /// Context lines before and after the change (blank ones dropped).
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// The C function or Kconfig entry the change sits in, in the old file.
    pub scope: Option<Scope>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Function(String),
    Kconfig(String),
}

impl Scope {
    pub fn name(&self) -> &str {
        match self {
            Scope::Function(n) | Scope::Kconfig(n) => n,
        }
    }
}

/// The hunks of the change from `old` to `new` (texts of `path`).
pub fn hunks(path: &str, old: &str, new: &str) -> Vec<Hunk> {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let old_set: HashSet<&str> = old_lines.iter().map(|l| norm(l)).collect();
    let new_set: HashSet<&str> = new_lines.iter().map(|l| norm(l)).collect();
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_millis(50))
        .diff_slices(&old_lines, &new_lines);
    let mut out = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        let mut h = Hunk::default();
        let mut first_change = None;
        for op in &group {
            for change in diff.iter_changes(op) {
                let line = norm(change.value());
                match change.tag() {
                    similar::ChangeTag::Equal => {
                        if line.is_empty() {
                            continue;
                        }
                        if first_change.is_none() {
                            h.before.push(line.to_string());
                        } else {
                            h.after.push(line.to_string());
                        }
                    }
                    similar::ChangeTag::Insert => {
                        first_change.get_or_insert(op.old_range().start);
                        // Context seen after a change belongs to the hunk's middle, not after.
                        h.after.clear();
                        if line.is_empty() {
                            continue;
                        }
                        h.added.push(line.to_string());
                        if meaningful(line) && !old_set.contains(line) {
                            h.brought.push(line.to_string());
                        }
                    }
                    similar::ChangeTag::Delete => {
                        first_change.get_or_insert(op.old_range().start);
                        h.after.clear();
                        // Every removed line counts next to the hunk's place (`b();` beside
                        // the found lines says the removal was not made); only meaningful ones
                        // are searched for in the whole file.
                        h.removed.push(line.to_string());
                        if meaningful(line) && !new_set.contains(line) {
                            h.taken.push(line.to_string());
                        }
                    }
                }
            }
        }
        let at = first_change.unwrap_or(0).min(old_lines.len());
        h.scope = scope(path, &old_lines[..at]);
        out.push(h);
    }
    out
}

/// What encloses the end of `before` (the old file's lines above a change).
fn scope(path: &str, before: &[&str]) -> Option<Scope> {
    if crate::syntax::kconfig::is_kconfig_path(path) {
        return before.iter().rev().find_map(|l| {
            let rest = l
                .strip_prefix("config ")
                .or_else(|| l.strip_prefix("menuconfig "))?;
            let name = rest.trim();
            (!name.is_empty()).then(|| Scope::Kconfig(name.to_string()))
        });
    }
    let mut text = String::new();
    for l in before {
        text.push_str(l);
        text.push('\n');
    }
    crate::syntax::c::enclosing(path, &text).map(Scope::Function)
}

/// A file's trimmed lines, each with its first 1-based line number; the identifiers it names
/// and its lines by shape are built on first need, once per file however many hunks ask.
pub struct Lines<'a> {
    pub lines: Vec<&'a str>,
    first: HashMap<&'a str, usize>,
    named: std::cell::OnceCell<HashSet<&'a str>>,
    shapes: std::cell::OnceCell<HashMap<String, usize>>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let lines: Vec<&str> = text.lines().map(norm).collect();
        let mut first = HashMap::new();
        for (i, l) in lines.iter().enumerate() {
            first.entry(*l).or_insert(i + 1);
        }
        Lines {
            lines,
            first,
            named: Default::default(),
            shapes: Default::default(),
        }
    }

    /// Every identifier the file names.
    pub fn named(&self) -> &HashSet<&'a str> {
        self.named
            .get_or_init(|| self.lines.iter().flat_map(|l| identifiers(l)).collect())
    }

    /// 1-based line of a line with this shape (see [`shape`]).
    pub fn with_shape(&self, shape: &str) -> Option<usize> {
        self.shapes
            .get_or_init(|| {
                let mut m = HashMap::new();
                for (i, l) in self.lines.iter().enumerate() {
                    if let Some(s) = self::shape(l) {
                        m.entry(s).or_insert(i + 1);
                    }
                }
                m
            })
            .get(shape)
            .copied()
    }

    pub fn has(&self, line: &str) -> bool {
        self.first.contains_key(line)
    }

    /// 1-based line of the first occurrence.
    pub fn line_of(&self, line: &str) -> Option<usize> {
        self.first.get(line).copied()
    }

    /// 1-based lines equal to `line`.
    pub fn positions(&self, line: &str) -> Vec<usize> {
        if !self.has(line) {
            return Vec::new();
        }
        (0..self.lines.len())
            .filter(|&i| self.lines[i] == line)
            .map(|i| i + 1)
            .collect()
    }

    /// The trimmed lines within `radius` of 1-based line `at`.
    pub fn around(&self, at: usize, radius: usize) -> &[&'a str] {
        let lo = at.saturating_sub(radius + 1).min(self.lines.len());
        let hi = (at + radius).min(self.lines.len());
        &self.lines[lo..hi]
    }

    /// Where `block` (non-blank lines, in order) stands as one run, blank lines skipped.
    pub fn find_block(&self, block: &[String]) -> Option<usize> {
        let first = block.first()?;
        let starts = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == first.as_str());
        'start: for (i, _) in starts {
            let mut k = i;
            for want in block {
                while k < self.lines.len() && self.lines[k].is_empty() {
                    k += 1;
                }
                if k >= self.lines.len() || self.lines[k] != want.as_str() {
                    continue 'start;
                }
                k += 1;
            }
            return Some(i + 1);
        }
        None
    }
}

/// A line's words and operators, each sorted: the same for `f(a, b)` and `f(b, a)`, not for
/// `!f(a)` and `f(a)`. None for lines with fewer than two identifiers (too little to match).
pub fn shape(line: &str) -> Option<String> {
    if identifiers(line).count() < 2 {
        return None;
    }
    // Every word and number, not only identifiers: `limit = 11` is not `limit = 12`.
    let mut words: Vec<&str> = line
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    let mut ops: Vec<char> = line
        .chars()
        .filter(|c| !(c.is_alphanumeric() || *c == '_' || c.is_whitespace()))
        .collect();
    ops.sort_unstable();
    Some(format!(
        "{} {}",
        words.join(" "),
        ops.into_iter().collect::<String>()
    ))
}

/// C-like identifiers of a line (3 characters or more, not all digits).
pub fn identifiers(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 3 && !w.starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hunk_knows_what_it_brings_takes_and_where_it_is() {
        let old = "int f(void)\n{\n\ta();\n\tb();\n\told_call(x);\n\tc();\n}\n";
        let new = "int f(void)\n{\n\ta();\n\tb();\n\tnew_call(x, y);\n\tc();\n}\n";
        let h = hunks("k.c", old, new);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].brought, ["new_call(x, y);"]);
        assert_eq!(h[0].taken, ["old_call(x);"]);
        assert_eq!(h[0].before, ["{", "a();", "b();"]);
        assert_eq!(h[0].after, ["c();", "}"]);
        assert_eq!(h[0].scope, Some(Scope::Function("f".into())));
    }

    #[test]
    fn kconfig_hunks_name_their_entry() {
        let old = "config A\n\tbool \"a\"\n\tdepends on X86\n\nconfig B\n\tbool \"b\"\n";
        let new = "config A\n\tbool \"a\"\n\tdepends on X86 || ARM64\n\nconfig B\n\tbool \"b\"\n";
        let h = hunks("arch/Kconfig", old, new);
        assert_eq!(h[0].scope, Some(Scope::Kconfig("A".into())));
    }

    #[test]
    fn a_block_is_found_across_blank_lines_only() {
        let text = "x\n\none\n\ntwo\nthree\n";
        let l = Lines::new(text);
        let want = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(l.find_block(&want(&["one", "two"])), Some(3));
        assert_eq!(l.find_block(&want(&["one", "three"])), None);
    }
}
