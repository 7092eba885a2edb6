//! What a patch changes, independent of where: per file, the multiset of lines it adds and the
//! multiset of lines it removes. Hunk positions, line numbers and context are ignored, so a
//! port that lands the same lines elsewhere in the file compares equal to the original.
//! A line removed and added again in one file counts as moved, not changed, so diffs of
//! the same edit that differ only in how the diff algorithm aligned it compare equal; a patch
//! whose whole change is such moves (a `select` taken from one Kconfig block to another) is
//! still a change, compared by the lines it moves.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::syntax::diff_header::file_diffs;

/// One file's added and removed lines, each with its count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub added: BTreeMap<String, usize>,
    pub removed: BTreeMap<String, usize>,
}

impl FileChange {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    fn count(m: &BTreeMap<String, usize>) -> usize {
        m.values().sum()
    }
}

/// A whole patch's change, by path (the new path; the old one for a deletion).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Change {
    pub files: BTreeMap<String, FileChange>,
    /// Files changed in binary form (no lines to compare).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub binary: Vec<String>,
    /// Per file, the lines both removed and added (moved), left out of `files`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub moved: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Equal when the lines added and removed are; a change that only moves lines compares by
/// the lines it moves.
impl PartialEq for Change {
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files
            && self.binary == other.binary
            && (!self.net_is_empty() || self.moved == other.moved)
    }
}

impl Eq for Change {}

impl Change {
    /// Nothing added, removed or moved: the patch left the tree as it was.
    pub fn is_empty(&self) -> bool {
        self.net_is_empty() && self.moved.is_empty()
    }

    fn net_is_empty(&self) -> bool {
        self.files.is_empty() && self.binary.is_empty()
    }

    pub fn lines_added(&self) -> usize {
        self.files
            .values()
            .map(|f| FileChange::count(&f.added))
            .sum()
    }

    pub fn lines_removed(&self) -> usize {
        self.files
            .values()
            .map(|f| FileChange::count(&f.removed))
            .sum()
    }

    /// Files whose changes differ between `self` and `other` (in either).
    pub fn differing_files(&self, other: &Change) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .iter()
            .filter(|(p, f)| other.files.get(*p) != Some(f))
            .map(|(p, _)| p.clone())
            .collect();
        out.extend(
            other
                .files
                .keys()
                .filter(|p| !self.files.contains_key(*p))
                .cloned(),
        );
        out
    }
}

/// Parses unified diff text (git or traditional, any mail or DEP-3 header before it, any
/// signature after it) into a [`Change`], through the one diff reader
/// ([`file_diffs`]): hunk line counts decide where a hunk ends, so a removed line that
/// starts with `-- ` is not taken for a header. Never fails: what is not a diff is skipped.
pub fn parse_diff(bytes: &[u8]) -> Change {
    let mut change = Change::default();
    for file in file_diffs(bytes, 1) {
        let Some(path) = file.path() else { continue };
        let path = String::from_utf8_lossy(path).into_owned();
        if file.header.binary {
            change.binary.push(path.clone());
        }
        if file.bodies.is_empty() {
            continue;
        }
        let entry = change.files.entry(path).or_default();
        for (sign, line) in file.changed_lines() {
            let line = String::from_utf8_lossy(line).into_owned();
            let side = if sign == b'+' {
                &mut entry.added
            } else {
                &mut entry.removed
            };
            *side.entry(line).or_insert(0) += 1;
        }
    }
    // A line removed and added again is moved, not changed (see the module comment).
    for (path, f) in change.files.iter_mut() {
        let common: Vec<(String, usize)> = f
            .added
            .iter()
            .filter_map(|(l, &n)| f.removed.get(l).map(|&m| (l.clone(), n.min(m))))
            .collect();
        if !common.is_empty() {
            change
                .moved
                .insert(path.clone(), common.iter().cloned().collect());
        }
        for (l, n) in common {
            for side in [&mut f.added, &mut f.removed] {
                let left = side[&l] - n;
                if left == 0 {
                    side.remove(&l);
                } else {
                    side.insert(l.clone(), left);
                }
            }
        }
    }
    change.files.retain(|_, f| !f.is_empty());
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIT: &str = "From: A <a@b>
Subject: [PATCH 2/3] x: y

body
---
 a.c | 2 +-
diff --git a/a.c b/a.c
index 1..2 100644
--- a/a.c
+++ b/a.c
@@ -1,3 +1,3 @@
 ctx
--- old comment
+-- new comment
 ctx
@@ -10,2 +10,4 @@ fn
 ctx

+added twice
+added twice
diff --git a/gone.c b/gone.c
deleted file mode 100644
--- a/gone.c
+++ /dev/null
@@ -1 +0,0 @@
-bye
\\ No newline at end of file
-- 
2.40.0
";

    #[test]
    fn counts_lines_per_file_and_ignores_headers_context_and_signature() {
        let c = parse_diff(GIT.as_bytes());
        assert_eq!(c.files.len(), 2, "{c:?}");
        let a = &c.files["a.c"];
        assert_eq!(a.removed.get("-- old comment"), Some(&1));
        assert_eq!(a.added.get("-- new comment"), Some(&1));
        assert_eq!(a.added.get("added twice"), Some(&2));
        assert_eq!(c.files["gone.c"].removed.get("bye"), Some(&1));
        assert_eq!((c.lines_added(), c.lines_removed()), (3, 2));
    }

    #[test]
    fn positions_do_not_matter_but_lines_do() {
        let at = |n: usize, line: &str| {
            format!("--- a/f\n+++ b/f\n@@ -{n},2 +{n},3 @@\n x\n+{line}\n y\n").into_bytes()
        };
        assert_eq!(parse_diff(&at(5, "z")), parse_diff(&at(500, "z")));
        assert_ne!(parse_diff(&at(5, "z")), parse_diff(&at(5, "z ")));
        let c = parse_diff(&at(5, "z"));
        let d = parse_diff(&at(5, "w"));
        assert_eq!(c.differing_files(&d), ["f"]);
    }

    #[test]
    fn traditional_diffs_strip_one_component_and_timestamps() {
        let t = "Description: fix\nAuthor: Ben\n\n--- linux.orig/drivers/x.c\t2020-01-01\n+++ linux/drivers/x.c\t2020-01-02\n@@ -1 +1 @@\n-a\n+b\n";
        let c = parse_diff(t.as_bytes());
        assert_eq!(c.files.keys().collect::<Vec<_>>(), ["drivers/x.c"]);
    }

    #[test]
    fn moved_lines_compare_only_when_nothing_else_changed_and_garbage_is_empty() {
        let moved_a = parse_diff(b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n b\n+a\n");
        let moved_c = parse_diff(b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-c\n b\n+c\n");
        // A patch that only moves a line (a select from one Kconfig block to another) is a
        // change: neither empty nor equal to another move.
        assert!(!moved_a.is_empty() && moved_a.files.is_empty());
        assert_ne!(moved_a, moved_c);
        assert_eq!(moved_a, moved_a.clone());
        // Next to a real change, a move is how the diff aligned it: ignored.
        let x_then_move = parse_diff(b"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-a\n b\n+a\n-x\n+y\n");
        let x_only = parse_diff(b"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+y\n");
        assert_eq!(x_then_move, x_only);
        assert!(parse_diff(b"hello\n@@ nonsense @@\n\xff\xfe").is_empty());
    }
}
