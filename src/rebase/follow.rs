//! Following a file the target moved. Only the paths a patch touches and cannot find are looked
//! for, and only among a few candidates: files with the same name elsewhere, and files in the
//! same directory that the patch's base did not have. A candidate must hold most of the old
//! content, and clearly more than any other candidate: an ambiguous move is refused, not guessed.

use std::collections::HashMap;

use git2::{Oid, Repository, Tree};

use super::change::Entry;
use super::Result;

/// Lowest share of the old file's lines a moved file must keep.
const MIN_SIMILARITY: f32 = 0.5;
/// How much better than the runner-up the best candidate must be.
const MIN_MARGIN: f32 = 0.1;

/// A located move: where the old path lives now, and how sure we are.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub path: String,
    pub similarity: f32,
}

/// Index of the target tree by file name, built once per run on first need.
#[derive(Default)]
pub struct Follower {
    target: Option<Oid>,
    by_name: HashMap<String, Vec<String>>,
    by_dir: HashMap<String, Vec<String>>,
}

impl Follower {
    pub fn new(target_tree: Oid) -> Self {
        Follower {
            target: Some(target_tree),
            ..Default::default()
        }
    }

    fn ensure_index(&mut self, repo: &Repository) -> Result<()> {
        let Some(target) = self.target.take() else {
            return Ok(());
        };
        let tree = repo.find_tree(target)?;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                if let Some(name) = entry.name() {
                    let path = format!("{dir}{name}");
                    self.by_name
                        .entry(name.to_string())
                        .or_default()
                        .push(path.clone());
                    self.by_dir
                        .entry(dir.trim_end_matches('/').to_string())
                        .or_default()
                        .push(path);
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(())
    }

    /// Looks for `old_path` (whose content was `old_blob`) in `ours`.
    pub fn find(
        &mut self,
        repo: &Repository,
        ours: &Tree<'_>,
        base: Option<&Tree<'_>>,
        old_path: &str,
        old_blob: Oid,
    ) -> Result<Option<Found>> {
        self.ensure_index(repo)?;
        let (dir, name) = old_path.rsplit_once('/').unwrap_or(("", old_path));
        let ext = name.rsplit_once('.').map(|(_, e)| e);
        let mut candidates: Vec<&String> = self.by_name.get(name).into_iter().flatten().collect();
        for path in self.by_dir.get(dir).into_iter().flatten() {
            let same_ext = path.rsplit_once('.').map(|(_, e)| e) == ext;
            let new_here = base.is_none_or(|b| Entry::at(b, path).is_none());
            if same_ext && new_here && !candidates.contains(&path) {
                candidates.push(path);
            }
        }
        let old = repo.find_blob(old_blob)?;
        let old_text = String::from_utf8_lossy(old.content());
        let mut scored: Vec<(f32, &String)> = Vec::new();
        for path in candidates {
            if path == old_path {
                continue;
            }
            let Some(entry) = Entry::at(ours, path) else {
                continue;
            };
            let blob = repo.find_blob(entry.id)?;
            let text = String::from_utf8_lossy(blob.content());
            scored.push((similarity(&old_text, &text), path));
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        match scored.as_slice() {
            [(best, path), rest @ ..]
                if *best >= MIN_SIMILARITY
                    && rest
                        .first()
                        .is_none_or(|(second, _)| best - second >= MIN_MARGIN) =>
            {
                Ok(Some(Found {
                    path: (*path).clone(),
                    similarity: *best,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Share of `old`'s lines found unchanged in `new` (order-aware, via a line diff).
pub fn similarity(old: &str, new: &str) -> f32 {
    let diff = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_millis(500))
        .diff_lines(old, new);
    let total = old.lines().count().max(1);
    let kept: usize = diff
        .ops()
        .iter()
        .filter_map(|op| match op {
            similar::DiffOp::Equal { len, .. } => Some(*len),
            _ => None,
        })
        .sum();
    kept as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::similarity;

    #[test]
    fn similarity_counts_kept_lines() {
        assert_eq!(similarity("a\nb\nc\nd\n", "a\nb\nc\nd\n"), 1.0);
        assert_eq!(similarity("a\nb\nc\nd\n", "a\nX\nc\nY\n"), 0.5);
        assert!(similarity("a\nb\n", "x\ny\n") < 0.01);
    }
}
