//! Following a file the target moved. Only the paths a patch touches and cannot find are looked
//! for, and only among a few candidates: files with the same name elsewhere, and files of the
//! same kind in the same directory. A move creates its destination, so only files the patch's
//! base did not have can be one: a file the target deleted is never "followed" to a file that
//! already existed (which the same patch may edit too, making it conflict with itself). A
//! candidate must hold most of the old content, and clearly more than any other candidate: an
//! ambiguous move is refused, not guessed.

pub mod gone;
pub mod hunks;

use std::collections::HashMap;

use git2::{Oid, Repository, Tree};

use super::change::Entry;
use super::similarity::similarity;
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
        let mut in_base = base.map(|b| Folders::new(repo, b));
        let mut new_since_base =
            |path: &str| in_base.as_mut().is_none_or(|b| b.entry(path).is_none());
        let mut candidates: Vec<&String> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter(|p| new_since_base(p))
            .collect();
        for path in self.by_dir.get(dir).into_iter().flatten() {
            let same_ext = path.rsplit_once('.').map(|(_, e)| e) == ext;
            if same_ext && new_since_base(path) && !candidates.contains(&path) {
                candidates.push(path);
            }
        }
        let candidates: Vec<String> = candidates.into_iter().cloned().collect();
        best(repo, ours, old_path, old_blob, &candidates)
    }
}

/// The candidate holding most of `old_blob`'s lines, when it holds at least
/// [`MIN_SIMILARITY`] of them and clearly more than any other candidate.
pub(crate) fn best(
    repo: &Repository,
    ours: &Tree<'_>,
    old_path: &str,
    old_blob: Oid,
    candidates: &[String],
) -> Result<Option<Found>> {
    let old = repo.find_blob(old_blob)?;
    let old_text = String::from_utf8_lossy(old.content());
    let mut scored: Vec<(f32, &String)> = Vec::new();
    let mut in_ours = Folders::new(repo, ours);
    for path in candidates {
        if path == old_path {
            continue;
        }
        let Some(entry) = in_ours.entry(path) else {
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

/// [`Entry::at`] over one tree, each folder looked up once: a name thousands of files share
/// (`Makefile`, `Kconfig`) makes one `find` look up thousands of paths, whose folders share
/// their parents.
struct Folders<'a, 'r> {
    repo: &'r Repository,
    root: &'a Tree<'r>,
    /// Folder path (no trailing `/`) to its tree; None when the tree has no folder there.
    trees: HashMap<String, Option<Tree<'r>>>,
}

impl<'a, 'r> Folders<'a, 'r> {
    fn new(repo: &'r Repository, root: &'a Tree<'r>) -> Self {
        Folders {
            repo,
            root,
            trees: HashMap::new(),
        }
    }

    fn folder(&mut self, dir: &str) -> Option<Tree<'r>> {
        if dir.is_empty() {
            return Some(self.root.clone());
        }
        if let Some(t) = self.trees.get(dir) {
            return t.clone();
        }
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
        let tree = self.folder(parent).and_then(|p| {
            let e = p.get_name(name)?;
            if e.kind() != Some(git2::ObjectType::Tree) {
                return None;
            }
            self.repo.find_tree(e.id()).ok()
        });
        self.trees.insert(dir.to_string(), tree.clone());
        tree
    }

    /// The same as `Entry::at(root, path)`.
    fn entry(&mut self, path: &str) -> Option<Entry> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let tree = self.folder(dir)?;
        let entry = Entry::of(&tree.get_name(name)?);
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tree;

    const DRIVER: &str =
        "int probe(void)\n{\n\treturn 0;\n}\n\nint remove(void)\n{\n\treturn 1;\n}\n";

    #[test]
    fn follows_a_file_to_its_new_place() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let base = tree(
            &repo,
            &[("drivers/a/x.c", DRIVER), ("drivers/a/y.c", "int y;\n")],
        );
        let ours = tree(
            &repo,
            &[("drivers/b/x.c", DRIVER), ("drivers/a/y.c", "int y;\n")],
        );
        let (base, ours) = (repo.find_tree(base).unwrap(), repo.find_tree(ours).unwrap());
        let old = Entry::at(&base, "drivers/a/x.c").unwrap().id;
        let found = Follower::new(ours.id())
            .find(&repo, &ours, Some(&base), "drivers/a/x.c", old)
            .unwrap()
            .unwrap();
        assert_eq!(found.path, "drivers/b/x.c");
    }

    #[test]
    fn folders_find_what_entry_at_finds() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let t = tree(
            &repo,
            &[("a/b/x.c", "x\n"), ("a/y.c", "y\n"), ("top", "t\n")],
        );
        let t = repo.find_tree(t).unwrap();
        let mut folders = Folders::new(&repo, &t);
        for path in [
            "a/b/x.c", "a/y.c", "top", "a/b", "a", "a/b/none", "none/x.c", "top/x", "a/y.c/z",
        ] {
            assert_eq!(folders.entry(path), Entry::at(&t, path), "{path}");
        }
    }

    #[test]
    fn a_deleted_file_is_not_followed_to_a_file_the_base_had() {
        // The target deleted drivers/a/x.c; drivers/b/x.c existed already (with much the same
        // text) and is no move destination, even with the same name and content.
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let files = [("drivers/a/x.c", DRIVER), ("drivers/b/x.c", DRIVER)];
        let base = tree(&repo, &files);
        let ours = tree(&repo, &files[1..]);
        let (base, ours) = (repo.find_tree(base).unwrap(), repo.find_tree(ours).unwrap());
        let old = Entry::at(&base, "drivers/a/x.c").unwrap().id;
        let found = Follower::new(ours.id())
            .find(&repo, &ours, Some(&base), "drivers/a/x.c", old)
            .unwrap();
        assert_eq!(found, None);
    }
}
