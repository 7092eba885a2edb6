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

fn walk(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &str,
    out: &mut Vec<Changed>,
) -> Result<(), git2::Error> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    for t in [old, new].into_iter().flatten() {
        for e in t.iter() {
            names.push(e.name_bytes().to_vec());
        }
    }
    names.sort();
    names.dedup();
    for name in names {
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
