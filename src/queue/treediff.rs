//! Comparing two trees by walking only the subtrees whose ids differ. A queue commit touches a
//! handful of paths in a tree of ~80 000 files; libgit2's tree diff iterates every entry, this
//! visits a few dozen.

use git2::{ObjectType, Oid, Repository, Tree};

/// One changed file: its path and its entry (id, mode) on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub path: String,
    pub old: Option<(Oid, i32)>,
    pub new: Option<(Oid, i32)>,
}

/// The files that differ between `old` (None: empty) and `new`, in path order.
pub fn changed_files(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<Changed>, git2::Error> {
    let mut out = Vec::new();
    walk(repo, old, Some(new), "", &mut out)?;
    Ok(out)
}

/// Every name of either tree, in byte order.
fn all_names(old: Option<&Tree<'_>>, new: Option<&Tree<'_>>) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = [old, new]
        .into_iter()
        .flatten()
        .flat_map(|t| t.iter().map(|e| e.name_bytes().to_vec()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The names of either tree but those both hold with the same id and mode, in byte order:
/// the two trees' entries walked side by side in git's tree order, so the thousands of equal
/// entries of a big folder (`include/linux`) cost a comparison each instead of a copy, a sort
/// and two lookups. `None` when a tree is not in git's order (git's fsck refuses such trees):
/// the caller compares every name.
fn differing_names(old: Option<&Tree<'_>>, new: Option<&Tree<'_>>) -> Option<Vec<Vec<u8>>> {
    let (a, b) = (entries(old), entries(new));
    let ordered = |v: &[git2::TreeEntry<'_>]| {
        v.windows(2)
            .all(|w| git_order(&w[0], &w[1]) == std::cmp::Ordering::Less)
    };
    if !ordered(&a) || !ordered(&b) {
        return None;
    }
    let (mut i, mut j) = (0, 0);
    let mut names = Vec::new();
    loop {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => git_order(x, y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => break,
        };
        match order {
            std::cmp::Ordering::Less => {
                names.push(a[i].name_bytes().to_vec());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                names.push(b[j].name_bytes().to_vec());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if a[i].id() != b[j].id() || a[i].filemode() != b[j].filemode() {
                    names.push(a[i].name_bytes().to_vec());
                }
                i += 1;
                j += 1;
            }
        }
    }
    names.sort();
    names.dedup();
    Some(names)
}

fn entries<'t>(tree: Option<&'t Tree<'_>>) -> Vec<git2::TreeEntry<'t>> {
    tree.map_or_else(Vec::new, |t| t.iter().collect())
}

/// Git's order of tree entries: by name, a folder's name read as if it ended in `/`.
fn git_order(a: &git2::TreeEntry<'_>, b: &git2::TreeEntry<'_>) -> std::cmp::Ordering {
    let (x, y) = (a.name_bytes(), b.name_bytes());
    let n = x.len().min(y.len());
    x[..n].cmp(&y[..n]).then_with(|| {
        let end = |name: &[u8], e: &git2::TreeEntry<'_>| {
            name.get(n)
                .copied()
                .unwrap_or(if e.filemode() & 0o170000 == 0o040000 {
                    b'/'
                } else {
                    0
                })
        };
        end(x, a).cmp(&end(y, b))
    })
}

fn walk(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &str,
    out: &mut Vec<Changed>,
) -> Result<(), git2::Error> {
    for name in differing_names(old, new).unwrap_or_else(|| all_names(old, new)) {
        // Paths travel as text through the engine and its reports: a name that is not UTF-8
        // is refused by name rather than silently dropped or renamed.
        let Ok(name_str) = String::from_utf8(name.clone()) else {
            return Err(git2::Error::from_str(&format!(
                "file name `{prefix}{}` is not UTF-8: rename it (dovetail-port carries paths as text and never renames one silently)",
                name.escape_ascii()
            )));
        };
        let o = old.and_then(|t| t.get_name(&name_str));
        let n = new.and_then(|t| t.get_name(&name_str));
        if let (Some(a), Some(b)) = (&o, &n) {
            if a.id() == b.id() && a.filemode() == b.filemode() {
                continue;
            }
        }
        let path = format!("{prefix}{name_str}");
        let is_tree = |e: &Option<git2::TreeEntry<'_>>| {
            e.as_ref()
                .is_some_and(|e| e.kind() == Some(ObjectType::Tree))
        };
        let blob = |e: &Option<git2::TreeEntry<'_>>| {
            e.as_ref()
                .filter(|e| {
                    e.kind() != Some(ObjectType::Tree) && e.kind() != Some(ObjectType::Commit)
                })
                .map(|e| (e.id(), e.filemode()))
        };
        if is_tree(&o) || is_tree(&n) {
            let ot = if is_tree(&o) {
                Some(repo.find_tree(o.as_ref().unwrap().id())?)
            } else {
                None
            };
            let nt = if is_tree(&n) {
                Some(repo.find_tree(n.as_ref().unwrap().id())?)
            } else {
                None
            };
            walk(repo, ot.as_ref(), nt.as_ref(), &format!("{path}/"), out)?;
        }
        let (ob, nb) = (blob(&o), blob(&n));
        if ob.is_some() || nb.is_some() {
            out.push(Changed {
                path,
                old: ob,
                new: nb,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `files`, found in `repo`.
    fn tree<'r>(repo: &'r Repository, files: &[(&str, &str)]) -> Tree<'r> {
        repo.find_tree(crate::testing::tree(repo, files)).unwrap()
    }

    #[test]
    fn a_folder_and_a_file_of_one_name_sort_apart_but_compare_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(tmp.path()).unwrap();
        // In git's order `foo.c` sits between the file `foo` and the folder `foo/`.
        let old = tree(
            &repo,
            &[("a", "a"), ("foo.c", "1"), ("foo/x", "x"), ("z/same", "s")],
        );
        let new = tree(
            &repo,
            &[
                ("a", "a"),
                ("foo", "now a file"),
                ("foo.c", "2"),
                ("z/same", "s"),
            ],
        );
        let changed = changed_files(&repo, Some(&old), &new).unwrap();
        let paths: Vec<(&str, bool, bool)> = changed
            .iter()
            .map(|c| (c.path.as_str(), c.old.is_some(), c.new.is_some()))
            .collect();
        assert_eq!(
            paths,
            [
                ("foo/x", true, false),
                ("foo", false, true),
                ("foo.c", true, true)
            ]
        );
        // The same as comparing every name of both trees.
        assert_eq!(
            differing_names(Some(&old), Some(&new)).unwrap(),
            all_names(Some(&old), Some(&new))
                .into_iter()
                .filter(|n| n != b"a" && n != b"z")
                .collect::<Vec<_>>()
        );
        assert!(changed_files(&repo, Some(&old), &old).unwrap().is_empty());
        assert_eq!(changed_files(&repo, None, &old).unwrap().len(), 4);
    }
}
