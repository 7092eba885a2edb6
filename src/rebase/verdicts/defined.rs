//! The definitions form of `upstream-equivalent`: the functions, macros, types and Kconfig
//! symbols a patch introduces are all defined already, in the very files it puts them in.
//!
//! A patch series that upstream took in a reworked form (a feature merged under the same
//! names with other code around it) no longer matches line by line, but what it introduces
//! is there: applying it would define each name a second time. Judged only when the line-wise
//! verdicts found nothing, always medium confidence (the user confirms), and only when every
//! name it introduces is defined in the target's file, so that a patch adding even one name
//! upstream lacks keeps its normal course.

use std::collections::BTreeMap;

use super::Evidence;
use crate::syntax::defs::{Defs, Kind};

/// Distinct names the patch must introduce before their presence proves anything: one
/// shared name can be a coincidence (a helper upstream added for another purpose).
const MIN_NAMES: usize = 2;

/// The kinds that name a piece of the patch's own design. Struct members and variables are
/// left out: their names (`lock`, `count`, `flags`) recur everywhere.
const KINDS: [Kind; 4] = [Kind::Function, Kind::Macro, Kind::Type, Kind::Kconfig];

/// Names a patch introduces and, for each, where the target defines it (if it does).
#[derive(Debug, Default)]
pub struct Tally {
    /// Name → (the target's path and 1-based line defining it) or None if it does not.
    names: BTreeMap<String, Option<(String, usize)>>,
}

impl Tally {
    /// Counts one file: `old` and `new`, its text before and after the patch (old empty for a
    /// new file); `target`, the target's file at `target_path` (None if it has none).
    pub fn count(
        &mut self,
        path: &str,
        old: &str,
        new: &str,
        target_path: &str,
        target: Option<&str>,
    ) {
        let before = scan(path, old);
        let after = scan(path, new);
        let there = target.map(|t| (scan(target_path, t), t));
        for kind in KINDS {
            for name in after.names_of(&[kind]) {
                if before.has(name, kind) || include_guard(name) {
                    continue;
                }
                let found = there
                    .as_ref()
                    .filter(|(defs, _)| defs.has(name, kind))
                    .map(|(_, text)| (target_path.to_string(), line_of(text, name)));
                let entry = self.names.entry(name.to_string()).or_insert(None);
                // Introduced in two files (a declaration and a definition): one is enough.
                if entry.is_none() {
                    *entry = found;
                }
            }
        }
    }

    /// The evidence when every name the patch introduces (and at least two) is defined in
    /// the target's file.
    pub fn verdict(self) -> Option<Vec<Evidence>> {
        if self.names.len() < MIN_NAMES || self.names.values().any(Option::is_none) {
            return None;
        }
        let total = self.names.len();
        let mut by_path: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
        for (name, found) in self.names {
            let (path, line) = found?;
            let e = by_path.entry(path).or_insert((line, Vec::new()));
            e.0 = e.0.min(line);
            e.1.push(name);
        }
        Some(
            by_path
                .into_iter()
                .map(|(path, (line, names))| Evidence {
                    path,
                    line,
                    what: format!(
                        "defines `{}` already: every one of the {total} name(s) the patch introduces is defined in the file it puts it in",
                        names.join("`, `")
                    ),
                    text: String::new(),
                })
                .collect(),
        )
    }
}

fn scan(path: &str, text: &str) -> Defs {
    let mut d = Defs::default();
    d.scan(path, text.as_bytes());
    d
}

/// `_LINUX_FOO_H`, `__ASM_BAR_H__`: a header's guard says nothing about its content.
fn include_guard(name: &str) -> bool {
    let core = name.trim_end_matches('_');
    core.ends_with("_H") && !name.chars().any(|c| c.is_ascii_lowercase())
}

/// The 1-based line of the first line naming `name` as a whole word (1 if none does).
fn line_of(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            l.match_indices(name).any(|(at, _)| {
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(l[..at].chars().next_back()) && !word(l[at + name.len()..].chars().next())
            })
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "#include <linux/sched.h>\n\nvoid kmap_flush(void)\n{\n}\n";
    const NEW: &str = "#include <linux/sched.h>\n\n#define KMAP_SLOTS 16\n\nvoid kmap_flush(void)\n{\n}\n\nvoid kmap_sched_in(struct task_struct *t)\n{\n\tkmap_flush();\n}\n";

    #[test]
    fn names_the_target_defines_in_the_same_file_are_evidence() {
        let target = "#include <linux/sched.h>\n\nvoid kmap_flush(void)\n{\n}\n\n#define KMAP_SLOTS (KM_MAX_IDX * 2)\n\nvoid kmap_sched_in(struct task_struct *task)\n{\n\tif (task->kmap_ctrl.idx)\n\t\tkmap_flush();\n}\n";
        let mut t = Tally::default();
        t.count("mm/highmem.c", OLD, NEW, "mm/highmem.c", Some(target));
        let ev = t.verdict().expect("both names are defined");
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].path.as_str(), ev[0].line), ("mm/highmem.c", 7));
        assert!(
            ev[0].what.contains("`KMAP_SLOTS`, `kmap_sched_in`"),
            "{}",
            ev[0].what
        );
    }

    #[test]
    fn one_name_upstream_lacks_is_no_verdict() {
        let target = "void kmap_flush(void)\n{\n}\n#define KMAP_SLOTS 8\n";
        let mut t = Tally::default();
        t.count("mm/highmem.c", OLD, NEW, "mm/highmem.c", Some(target));
        assert_eq!(t.verdict(), None);
    }

    #[test]
    fn a_name_defined_in_another_file_or_a_missing_file_does_not_count() {
        let mut t = Tally::default();
        t.count("mm/highmem.c", OLD, NEW, "mm/highmem.c", None);
        assert_eq!(t.verdict(), None);
    }

    #[test]
    fn a_single_name_or_an_include_guard_proves_nothing() {
        let old = "int a;\n";
        let new = "#ifndef _LINUX_KMAP_H\n#define _LINUX_KMAP_H\nint a;\nvoid kmap_sched_out(void)\n{\n}\n#endif\n";
        let target = "#ifndef _LINUX_KMAP_H\n#define _LINUX_KMAP_H\nint a;\nvoid kmap_sched_out(void)\n{\n}\n#endif\n";
        let mut t = Tally::default();
        t.count(
            "include/linux/kmap.h",
            old,
            new,
            "include/linux/kmap.h",
            Some(target),
        );
        assert_eq!(t.verdict(), None);
    }

    #[test]
    fn kconfig_symbols_count_by_entry() {
        let old = "config HIGHMEM\n\tbool \"High memory\"\n";
        let new = "config HIGHMEM\n\tbool \"High memory\"\n\tselect KMAP_LOCAL\n\nconfig KMAP_LOCAL\n\tbool\n\nconfig KMAP_LOCAL_NON_LINEAR_PTE_ARRAY\n\tbool\n";
        let target = "config KMAP_LOCAL\n\tbool\n\nconfig KMAP_LOCAL_NON_LINEAR_PTE_ARRAY\n\tbool\n\nconfig HIGHMEM\n\tbool \"High memory\"\n\tselect KMAP_LOCAL\n";
        let mut t = Tally::default();
        t.count("mm/Kconfig", old, new, "mm/Kconfig", Some(target));
        let ev = t.verdict().expect("both symbols are there");
        assert_eq!(ev[0].line, 1);
    }
}
