//! `--diff REV`: keep only findings whose call chain touches a function changed since REV
//! (lines added or modified in the working tree, from `git diff -U0`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Finding, LintError};
use crate::process::Git;

/// Changed line ranges (new-side, 1-based, inclusive) per file, relative to `root`.
pub type Changes = HashMap<String, Vec<(u32, u32)>>;

/// Runs git in `root` and returns the lines changed since `rev`.
pub fn changed_lines(root: &Path, rev: &str) -> Result<Changes, LintError> {
    let err = |message: String| LintError::Diff {
        rev: rev.to_string(),
        message,
    };
    let git = Git::in_work_tree(root);
    let top = git
        .run(["rev-parse", "--show-toplevel"])
        .map_err(|e| err(format!("{} is not in a git work tree: {e}", root.display())))?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    git.run([
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map_err(|_| err("no such commit in this repository (check the name, or fetch it)".into()))?;
    let out = git
        .run(["diff", "--no-color", "--no-ext-diff", "-U0", rev, "--", "."])
        .map_err(|e| err(e.to_string()))?;
    let root_abs = std::fs::canonicalize(root).map_err(|e| LintError::Io(root.to_path_buf(), e))?;
    let top_abs = std::fs::canonicalize(&top).unwrap_or(top);
    let prefix = root_abs
        .strip_prefix(&top_abs)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    Ok(parse_diff(&String::from_utf8_lossy(&out), &prefix))
}

/// Parses `git diff -U0` output; paths are made relative to `prefix` (root inside the repo).
/// Headers and hunks are told apart by the hunks' counts, so an added line that reads like a
/// header stays a line, and a C-quoted (non-ASCII) name is read as git wrote it.
pub fn parse_diff(text: &str, prefix: &Path) -> Changes {
    let mut changes: Changes = HashMap::new();
    for header in crate::syntax::diff_header::file_headers(text.as_bytes(), 1) {
        let Some(name) = header.new_path.as_deref() else {
            continue;
        };
        let name = String::from_utf8_lossy(name);
        let file = Path::new(&*name)
            .strip_prefix(prefix)
            .unwrap_or(Path::new(&*name))
            .to_string_lossy()
            .into_owned();
        let ranges = changes.entry(file).or_default();
        for h in &header.hunks {
            // A pure deletion (count 0) still changes the function around its start.
            let start = h.new_start.max(1) as u32;
            let end = if h.new_lines == 0 {
                start
            } else {
                (h.new_start + h.new_lines - 1) as u32
            };
            ranges.push((start, end));
        }
    }
    changes.retain(|_, ranges| !ranges.is_empty());
    changes
}

/// Does any function of the finding's chain overlap a changed range?
pub fn touches(f: &Finding, changes: &Changes) -> bool {
    // The finding's own line counts too: an ops-slot store may sit outside any function.
    let own = changes
        .get(&f.file)
        .is_some_and(|ranges| ranges.iter().any(|&(a, b)| a <= f.line && f.line <= b));
    own || f.chain.iter().any(|s| {
        changes.get(&s.file).is_some_and(|ranges| {
            ranges
                .iter()
                .any(|&(a, b)| a <= s.end_line && b >= s.start_line)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hunks() {
        let d = "diff --git a/x/a.c b/x/a.c\n--- a/x/a.c\n+++ b/x/a.c\n@@ -3,0 +4,2 @@ int f\n+a\n+b\n@@ -10 +12 @@\n-x\n+y\n@@ -20,3 +21,0 @@\n";
        let c = parse_diff(d, Path::new("x"));
        assert_eq!(c["a.c"], vec![(4, 5), (12, 12), (21, 21)]);
    }

    #[test]
    fn an_added_line_like_a_header_stays_a_line_and_quoted_names_are_read() {
        // The added line `++ b/evil.c` shows as `+++ b/evil.c` in the diff.
        let d = "diff --git a/a.c b/a.c\n--- a/a.c\n+++ b/a.c\n@@ -1,0 +2,2 @@\n+++ b/evil.c\n+x\n\
                 diff --git \"a/caf\\303\\251.c\" \"b/caf\\303\\251.c\"\n\
                 --- \"a/caf\\303\\251.c\"\n+++ \"b/caf\\303\\251.c\"\n@@ -7 +7 @@\n-a\n+b\n";
        let c = parse_diff(d, Path::new(""));
        assert_eq!(c["a.c"], vec![(2, 3)]);
        assert_eq!(c["caf\u{e9}.c"], vec![(7, 7)]);
        assert!(!c.contains_key("evil.c"), "{c:?}");
    }

    #[test]
    fn a_change_at_the_finding_itself_counts() {
        // An ops-slot finding: the store is at file scope, outside every chain function.
        let f: Finding = serde_json::from_value(serde_json::json!({
            "rule": "oob-inband-ops-slot", "severity": "error", "service": "msleep",
            "message": "m", "rationale": "r", "replacement": "p",
            "file": "impl.c", "line": 40, "column": 10, "end_column": 19,
            "entry": { "function": "e", "kind": "k", "file": "core.c", "line": 1,
                       "def_file": "core.c", "def_line": 1 },
            "chain": [{ "function": "e", "file": "core.c", "start_line": 1, "end_line": 9 },
                      { "function": "slow", "file": "impl.c", "start_line": 5, "end_line": 8 }],
            "chain_text": "e() -> ->step: slow() -> msleep()", "fingerprint": "0",
        }))
        .unwrap();
        let changes = |file: &str, a: u32, b: u32| -> Changes {
            [(file.to_string(), vec![(a, b)])].into_iter().collect()
        };
        assert!(touches(&f, &changes("impl.c", 40, 40)));
        assert!(touches(&f, &changes("impl.c", 6, 6)));
        assert!(!touches(&f, &changes("impl.c", 20, 30)));
        assert!(!touches(&f, &changes("core.c", 40, 40)));
    }
}
