//! One read of a whole tree for the first pass's tree-wide questions (is an obsolete
//! candidate's code anywhere? where did a conflict's code move?). Reading and inflating every
//! blob of a kernel tree is most of their cost, so the questions share one read, and the blobs
//! are spread over the machine's cores, each thread with its own handle on the repository
//! (a `git2::Repository` is not shared between threads).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::{AhoCorasick, AhoCorasickKind};
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

/// Calls `visit(state, blob, content)` for every blob of `list` on up to `threads` threads,
/// each with its own state made by `init`; returns the states, or None when the repository
/// cannot be opened (a search that read nothing must not pass for one that found nothing).
/// A blob that cannot be read is passed over.
pub fn visit<S, I, V>(
    git_dir: &Path,
    list: &[Blob],
    threads: usize,
    init: I,
    visit: V,
) -> Option<Vec<S>>
where
    S: Send,
    I: Fn() -> S + Sync,
    V: Fn(&mut S, &Blob, &[u8]) + Sync,
{
    let repos = (0..threads.clamp(1, 16))
        .map(|_| Repository::open(git_dir).ok())
        .collect::<Option<Vec<_>>>()?;
    let next = AtomicUsize::new(0);
    let work = |repo: Repository| {
        let mut state = init();
        while let Some(blob) = list.get(next.fetch_add(1, Ordering::Relaxed)) {
            if let Ok(b) = repo.find_blob(blob.id) {
                visit(&mut state, blob, b.content());
            }
        }
        state
    };
    Some(std::thread::scope(|s| {
        let handles: Vec<_> = repos
            .into_iter()
            .map(|repo| s.spawn(|| work(repo)))
            .collect();
        // A thread's panic is the caller's: its blobs were not searched.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    }))
}

/// The fixed-string searcher for `probes` that runs over a whole tree: a DFA where it can be
/// built, which scans a kernel tree several times faster than the NFA `AhoCorasick::new` picks
/// for more than a hundred patterns (same matches, more memory); that NFA otherwise.
pub fn searcher<P: AsRef<[u8]>>(probes: &[P]) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .build(probes)
        .or_else(|_| AhoCorasick::new(probes))
        .ok()
}

/// The bounds of the line (without its newline) holding `data[start..end]`, a match that
/// holds no newline.
pub fn line_around(data: &[u8], start: usize, end: usize) -> (usize, usize) {
    let from = data[..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |k| k + 1);
    let to = data[end..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |k| end + k);
    (from, to)
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
            |seen: &mut Vec<(String, Vec<u8>)>, blob, data| {
                seen.push((blob.path.clone(), data.to_vec()));
            },
        )
        .unwrap();
        assert_eq!(states.len(), 3);
        let mut all: Vec<(String, Vec<u8>)> = states.into_iter().flatten().collect();
        all.sort();
        let mut want: Vec<(String, Vec<u8>)> = (0..50)
            .map(|i| (format!("d/f{i:02}"), format!("line {i}\n").into_bytes()))
            .collect();
        want.push(("\u{fffd}t\u{fffd}".into(), b"\xff\xfe not utf-8\n".to_vec()));
        want.sort();
        assert_eq!(all, want);
        // No repository: no answer, rather than an empty one.
        assert!(visit(&dir.path().join("absent"), &list, 2, || 0, |_, _, _| {}).is_none());
    }
}
