//! Helpers the unit tests of several engines share.

use git2::{Oid, Repository};

/// A tree of `files` (path, content) in `repo`, the folders made from the paths.
pub fn tree(repo: &Repository, files: &[(&str, &str)]) -> Oid {
    let empty = repo.treebuilder(None).unwrap().write().unwrap();
    let mut b = git2::build::TreeUpdateBuilder::new();
    for (path, text) in files {
        b.upsert(
            *path,
            repo.blob(text.as_bytes()).unwrap(),
            git2::FileMode::Blob,
        );
    }
    b.create_updated(repo, &repo.find_tree(empty).unwrap())
        .unwrap()
}
