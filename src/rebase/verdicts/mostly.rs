//! The patch-wide form of `upstream-equivalent`, for a change upstream took and then kept
//! editing: hunk by hunk the text no longer matches (its context moved on, a line was
//! reworded), but over the whole patch nearly every line it brings stands in the target, in
//! the function or Kconfig entry the patch put it in, and nearly every line it takes away is
//! gone. Judged only when the per-hunk verdict found nothing, and always medium confidence:
//! the user confirms it.

use std::collections::HashMap;

use super::hunks::{Hunk, Lines, Scope};
use super::Evidence;
use crate::syntax::kconfig::is_kconfig_path;

/// Lines the patch must bring, over all its files, before a share of them proves anything.
const MIN_BROUGHT: usize = 3;
/// Share of the brought lines that must stand in the target (in their scope): most of them.
const PRESENT: f32 = 0.5;
/// Share of the taken lines that may still stand in the target.
const KEPT: f32 = 0.2;

/// The counts over a whole patch.
#[derive(Debug, Default)]
pub struct Tally {
    brought: usize,
    present: usize,
    taken: usize,
    kept: usize,
    /// A file shows the change is not there at all (the target has it as the patch found it,
    /// still has a file the patch deletes, or it cannot be read as text).
    contradicted: bool,
    /// Per target path: the first line found and how many lines were found there.
    found: Vec<(String, usize, usize)>,
}

impl Tally {
    pub fn contradict(&mut self) {
        self.contradicted = true;
    }

    pub fn contradicted(&self) -> bool {
        self.contradicted
    }

    /// A file the patch adds that the target does not have: its lines count as absent.
    pub fn absent(&mut self, brought: usize) {
        self.brought += brought;
    }

    /// Counts hunk `h` against the target's file `path` (`target`, its trimmed lines; `scopes`,
    /// what encloses each of them).
    pub fn count(&mut self, path: &str, h: &Hunk, target: &Lines<'_>, scopes: &mut Scopes<'_>) {
        self.brought += h.brought.len();
        self.taken += h.taken.len();
        self.kept += h.taken.iter().filter(|l| target.has(l)).count();
        let mut first = None;
        let mut n = 0;
        for l in &h.brought {
            let at = target
                .positions(l)
                .into_iter()
                .find(|&at| scopes.within(h.scope.as_ref(), at));
            if let Some(at) = at {
                first.get_or_insert(at);
                n += 1;
            }
        }
        self.present += n;
        if let Some(at) = first {
            match self.found.iter_mut().find(|(p, _, _)| p == path) {
                Some(f) => {
                    f.1 = f.1.min(at);
                    f.2 += n;
                }
                None => self.found.push((path.to_string(), at, n)),
            }
        }
    }

    /// The evidence when the counts say the target has the change.
    pub fn verdict(self) -> Option<Vec<Evidence>> {
        if self.contradicted || self.brought < MIN_BROUGHT {
            return None;
        }
        if (self.present as f32) < PRESENT * self.brought as f32
            || self.kept as f32 > KEPT * self.taken as f32
        {
            return None;
        }
        let (brought, present, taken, kept) = (self.brought, self.present, self.taken, self.kept);
        Some(
            self.found
                .into_iter()
                .map(|(path, line, n)| Evidence {
                    path,
                    line,
                    what: format!(
                        "{n} line(s) the patch brings stand here; over the whole patch {present} of {brought} are in the target and {} of the {taken} it removes are gone, with other text around them",
                        taken - kept
                    ),
                    text: String::new(),
                })
                .collect(),
        )
    }
}

/// Per line, the index of the scope it stands in; and the scopes by name.
type ScopeMap = (Vec<Option<usize>>, HashMap<String, usize>);

/// What encloses each line of a target file (C function or Kconfig entry), built on first
/// need.
pub struct Scopes<'a> {
    path: &'a str,
    text: &'a str,
    map: Option<ScopeMap>,
}

impl<'a> Scopes<'a> {
    pub fn new(path: &'a str, text: &'a str) -> Self {
        Scopes {
            path,
            text,
            map: None,
        }
    }

    /// Whether 1-based line `at` stands in `scope`. A hunk without a scope, or whose scope
    /// the target no longer has (renamed, split), may be anywhere in the file.
    fn within(&mut self, scope: Option<&Scope>, at: usize) -> bool {
        let Some(scope) = scope else { return true };
        let (lines, names) = self
            .map
            .get_or_insert_with(|| scope_map(self.path, self.text));
        match names.get(scope.name()) {
            None => true,
            Some(&id) => lines.get(at - 1).copied().flatten() == Some(id),
        }
    }
}

fn scope_map(path: &str, text: &str) -> ScopeMap {
    let lines: Vec<&str> = text.lines().collect();
    let mut per_line = vec![None; lines.len()];
    let mut names: HashMap<String, usize> = HashMap::new();
    let id_of = |name: String, names: &mut HashMap<String, usize>| {
        let next = names.len();
        *names.entry(name).or_insert(next)
    };
    if is_kconfig_path(path) {
        // Through the Kconfig reader: help prose ("if you say Y here...") is no statement.
        let mut current = None;
        let mut from = 0;
        for st in crate::syntax::kconfig::statements(text.as_bytes()) {
            let at = (st.line - 1).min(per_line.len());
            per_line[from..at].fill(current);
            from = at;
            match st.keyword.as_str() {
                "config" | "menuconfig" => {
                    current = st
                        .rest
                        .split_whitespace()
                        .next()
                        .map(|n| id_of(n.to_string(), &mut names));
                }
                "choice" | "endchoice" | "menu" | "endmenu" | "if" | "endif" | "source"
                | "comment" | "mainmenu" => current = None,
                _ => {}
            }
        }
        per_line[from..].fill(current);
        return (per_line, names);
    }
    // C: a function runs from its opening brace in column 0 to the next closing one.
    let mut from = 0;
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('{') {
            let header = lines[from..=i].join("\n");
            let name = crate::syntax::c::enclosing(path, &header);
            let end = (i + 1..lines.len())
                .find(|&k| lines[k].starts_with('}'))
                .unwrap_or(lines.len() - 1);
            if let Some(name) = name {
                let id = id_of(name, &mut names);
                for slot in &mut per_line[i..=end] {
                    *slot = Some(id);
                }
            }
            from = end + 1;
            i = end + 1;
        } else {
            i += 1;
        }
    }
    (per_line, names)
}

#[cfg(test)]
mod tests {
    use super::super::hunks::hunks;
    use super::*;

    fn counted(path: &str, old: &str, new: &str, target: &str) -> Tally {
        let mut t = Tally::default();
        let lines = Lines::new(target);
        let mut scopes = Scopes::new(path, target);
        for h in hunks(path, old, new) {
            t.count(path, &h, &lines, &mut scopes);
        }
        t
    }

    fn tally(old: &str, new: &str, target: &str) -> Option<Vec<Evidence>> {
        counted("k.c", old, new, target).verdict()
    }

    const OLD: &str = "int f(void)\n{\n\ta();\n\tb();\n\tc();\n\td();\n\te();\n\tfinal();\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";
    const NEW: &str = "int f(void)\n{\n\ta();\n\tlock_it(&x->lock);\n\tb();\n\tc();\n\td();\n\te();\n\tunlock_it(&x->lock);\n\tfinal();\n\tcount_it(x);\n}\n\nint g(void)\n{\n\treturn 0;\n}\n";

    #[test]
    fn lines_upstream_took_and_edited_around_are_found() {
        // Upstream has the three lines, with its own changes between them.
        let target = "int f(void)\n{\n\tnew_a();\n\tlock_it(&x->lock);\n\tb(1);\n\tc();\n\td(2);\n\te();\n\tunlock_it(&x->lock);\n\tfinal();\n\tcount_it(x);\n}\n\nint g(void)\n{\n\treturn 1;\n}\n";
        let found = tally(OLD, NEW, target).expect("equivalent");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 4);
    }

    #[test]
    fn the_lines_in_another_function_prove_nothing() {
        // The same calls, but in g: another function doing the same thing.
        let target = "int f(void)\n{\n\ta();\n\tb();\n\tc();\n\td();\n\te();\n\tfinal();\n}\n\nint g(void)\n{\n\tlock_it(&x->lock);\n\tunlock_it(&x->lock);\n\tcount_it(x);\n\treturn 0;\n}\n";
        assert_eq!(tally(OLD, NEW, target), None);
    }

    #[test]
    fn removed_lines_still_there_refute_it() {
        let old = "int f(void)\n{\n\told_one(x);\n\told_two(x);\n\tkeep();\n}\n";
        let new = "int f(void)\n{\n\tnew_one(x);\n\tnew_two(x);\n\tnew_three(x);\n\tkeep();\n}\n";
        let target = "int f(void)\n{\n\tnew_one(x);\n\tnew_two(x);\n\tnew_three(x);\n\told_one(x);\n\told_two(x);\n\tkeep();\n}\n";
        assert_eq!(tally(old, new, target), None);
        let taken =
            "int f(void)\n{\n\tnew_one(x);\n\tnew_two(x);\n\tnew_three(x);\n\tkeep(1);\n}\n";
        assert!(tally(old, new, taken).is_some());
    }

    #[test]
    fn a_contradicting_file_or_too_little_proves_nothing() {
        let target = NEW.replace("\ta();", "\ta(0);");
        let mut t = counted("k.c", OLD, NEW, &target);
        t.contradict();
        assert_eq!(t.verdict(), None);
        let small_old = "int f(void)\n{\n\ta();\n}\n";
        let small_new = "int f(void)\n{\n\ta();\n\tb_call(x);\n}\n";
        assert_eq!(tally(small_old, small_new, small_new), None);
    }

    #[test]
    fn kconfig_lines_count_in_their_entry_only() {
        let old = "config A\n\tbool \"a\"\n\nconfig B\n\tbool \"b\"\n";
        let new = "config A\n\tbool \"a\"\n\tdepends on X86_64\n\tselect IRQ_WORK\n\tselect HAVE_ONE\n\nconfig B\n\tbool \"b\"\n";
        let in_b = "config A\n\tbool \"a\"\n\nconfig B\n\tbool \"b\"\n\tdepends on X86_64\n\tselect IRQ_WORK\n\tselect HAVE_ONE\n";
        assert_eq!(counted("Kconfig", old, new, in_b).verdict(), None);
        let in_a = "config A\n\tbool \"a\"\n\tselect HAVE_ONE\n\tdepends on X86_64\n\tselect IRQ_WORK\n\thelp\n\t  A.\n\nconfig B\n\tbool \"b\"\n";
        assert!(counted("Kconfig", old, new, in_a).verdict().is_some());
        // Help prose ("if you say Y") is not an `if`: the lines after it are still in A.
        let after_help = "config A\n\tbool \"a\"\n\thelp\n\t  A.\n\t  if you say Y here, A.\n\tselect HAVE_ONE\n\tdepends on X86_64\n\tselect IRQ_WORK\n\nconfig B\n\tbool \"b\"\n";
        assert!(counted("Kconfig", old, new, after_help).verdict().is_some());
    }
}
