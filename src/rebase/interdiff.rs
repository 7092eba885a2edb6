//! A range-diff-like view: for a patch whose change lines differ from the original, the old
//! hunk lines against the new ones. Line numbers and context are left out on purpose: they
//! always move across a release; what matters is whether the change itself changed.

use git2::{Repository, Tree};

use super::Result;
use crate::syntax::diff_header::file_diffs;

/// The patch text of `old → new`, limited to `paths` (blob by blob: no tree walk).
pub fn diff_text(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    paths: &[String],
) -> Result<String> {
    let mut text = String::new();
    let empty = repo.find_blob(repo.blob(b"")?)?;
    for path in paths {
        let blob = |tree: Option<&Tree<'_>>| -> Result<Option<git2::Blob<'_>>> {
            match tree.and_then(|t| t.get_path(std::path::Path::new(path)).ok()) {
                Some(e) if e.kind() == Some(git2::ObjectType::Blob) => {
                    Ok(Some(repo.find_blob(e.id())?))
                }
                _ => Ok(None),
            }
        };
        let (a, b) = (blob(old)?, blob(Some(new))?);
        if a.is_none() && b.is_none() {
            continue;
        }
        let p = std::path::Path::new(path);
        let mut patch = git2::Patch::from_blobs(
            a.as_ref().unwrap_or(&empty),
            Some(p),
            b.as_ref().unwrap_or(&empty),
            Some(p),
            None,
        )?;
        text.push_str(&String::from_utf8_lossy(&patch.to_buf()?));
    }
    Ok(text)
}

/// The `+`/`-` lines of a patch, per file (`## path`), in order: headers and context
/// dropped, hunk bodies read by their counts (a removed `-- x` line is a line, not a header).
pub fn change_lines(patch: &str) -> Vec<String> {
    let mut out = Vec::new();
    for file in file_diffs(patch.as_bytes(), 1) {
        if let Some(path) = file.path() {
            out.push(format!("## {}", String::from_utf8_lossy(path)));
        }
        out.extend(
            file.changed_lines()
                .map(|(sign, line)| format!("{}{}", sign as char, String::from_utf8_lossy(line))),
        );
    }
    out
}

/// None when the change lines are the same; else a unified diff of old vs new change lines.
pub fn interdiff(old_patch: &str, new_patch: &str) -> Option<String> {
    let old = change_lines(old_patch).join("\n") + "\n";
    let new = change_lines(new_patch).join("\n") + "\n";
    if old == new {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&old, &new);
    Some(
        diff.unified_diff()
            .context_radius(2)
            .header("original patch", "ported patch")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_change_with_moved_context_has_no_interdiff() {
        let a = "--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n x\n+new\n y\n";
        let b = "--- a/f\n+++ b/f\n@@ -10,3 +10,4 @@\n other\n+new\n context\n";
        assert_eq!(interdiff(a, b), None);
    }

    #[test]
    fn changed_line_shows_up() {
        let a = "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n x\n+select A\n";
        let b = "--- a/f\n+++ b/f\n@@ -1 +1,3 @@\n x\n+select A\n+select B\n";
        let d = interdiff(a, b).unwrap();
        assert!(d.contains("+select B"), "{d}");
    }

    #[test]
    fn a_removed_line_that_looks_like_a_header_is_a_line() {
        let p = "--- a/f\n+++ b/f\n@@ -1,2 +0,0 @@\n--- x\n-+++ b/g\n";
        assert_eq!(change_lines(p), ["## f", "--- x", "-+++ b/g"]);
    }
}
