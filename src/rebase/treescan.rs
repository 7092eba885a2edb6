//! One read of a whole tree for the first pass's tree-wide questions (is an obsolete
//! candidate's code anywhere? where did a conflict's code move?). Reading and inflating every
//! blob of a kernel tree is most of their cost, so the questions share one read, and the blobs
//! are spread over the machine's cores, each thread with its own handle on the repository
//! (a `git2::Repository` is not shared between threads).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

/// A blob of the tree: its path (lossy UTF-8, `/`-separated) and id, in tree order.
pub struct Blob {
    pub path: String,
    pub id: Oid,
}

/// Every blob of `tree`, in git's tree order (None when the tree cannot be read).
pub fn blobs(repo: &Repository, tree: Oid) -> Option<Vec<Blob>> {
    let tree = repo.find_tree(tree).ok()?;
    let mut out = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |parent, e| {
        if e.kind() == Some(ObjectType::Blob) {
            let name = String::from_utf8_lossy(e.name_bytes());
            out.push(Blob {
                path: format!("{parent}{name}"),
                id: e.id(),
            });
        }
        TreeWalkResult::Ok
    })
    .ok()?;
    Some(out)
}

/// Calls `visit(state, index, blob, content)` for every blob of `list` on up to `threads`
/// threads, each with its own state made by `init`; returns the states. A blob that cannot be
/// read is passed over, as a search that does not find it would.
pub fn visit<S, I, V>(git_dir: &Path, list: &[Blob], threads: usize, init: I, visit: V) -> Vec<S>
where
    S: Send,
    I: Fn() -> S + Sync,
    V: Fn(&mut S, usize, &Blob, &[u8]) + Sync,
{
    let next = AtomicUsize::new(0);
    let work = |repo: Option<Repository>| {
        let mut state = init();
        let Some(repo) = repo else {
            return state;
        };
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(blob) = list.get(i) else {
                break;
            };
            if let Ok(b) = repo.find_blob(blob.id) {
                visit(&mut state, i, blob, b.content());
            }
        }
        state
    };
    let threads = threads.clamp(1, 16);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| work(Repository::open(git_dir).ok())))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// The threads a tree read uses: the machine's cores.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blob_is_visited_once_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let mut root = repo.treebuilder(None).unwrap();
        let mut sub = repo.treebuilder(None).unwrap();
        for i in 0..50 {
            let id = repo.blob(format!("line {i}\n").as_bytes()).unwrap();
            sub.insert(format!("f{i:02}"), id, 0o100644).unwrap();
        }
        let sub = sub.write().unwrap();
        root.insert("d", sub, 0o040000).unwrap();
        let odd = repo.blob(b"\xff\xfe not utf-8\n").unwrap();
        root.insert(b"\xe9t\xe9".as_slice(), odd, 0o100644).unwrap();
        let tree = root.write().unwrap();
        let list = blobs(&repo, tree).unwrap();
        assert_eq!(list.len(), 51);
        assert_eq!(list[0].path, "d/f00");
        let states = visit(
            dir.path(),
            &list,
            3,
            Vec::new,
            |seen: &mut Vec<usize>, i, _, data| {
                assert!(!data.is_empty());
                seen.push(i);
            },
        );
        assert_eq!(states.len(), 3);
        let mut all: Vec<usize> = states.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..51).collect::<Vec<_>>());
    }
}
