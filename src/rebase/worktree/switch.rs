//! Moving the session's worktree by the paths that differ, not by the whole tree. In a kernel
//! worktree (80 000 files) `git reset --hard` + `git clean -fdx` cost over a second and
//! `git add -A` a second full pass; here what differs is found once — `git diff-index
//! --cached` (the index against the new tip, through git's cache tree) and one walk of the
//! worktree against the index read here ([`scan`]: every tracked file's stat data, as
//! `git status` compares it, so user edits anywhere are seen, and the untracked files) — and
//! only those paths are written, removed or entered in the index, with fresh stat data so git
//! does not hash them again.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use git2::{IndexEntry, IndexTime, ObjectType, Oid, Repository};

use super::{scan, Checkout};
use crate::process::Git;
use crate::rebase::merge::Stages;
use crate::rebase::{RebaseError, Result};

/// The worktree's index, read once, and the modification time (seconds) its file had: the
/// entries written in that second or later cannot be trusted by their times alone.
fn read_index(repo: &Repository) -> Result<(git2::Index, u32)> {
    let file = repo.path().join("index");
    let stamp = std::fs::metadata(&file).map_or(0, |m| m.mtime() as u32);
    Ok((repo.index()?, stamp))
}

/// NUL-separated names; `None` when one is not UTF-8.
fn split_z(out: &[u8]) -> Option<Vec<String>> {
    out.split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8(p.to_vec()).ok())
        .collect()
}

/// `git add -A` then `git write-tree` in `worktree`, looking at each file once: the paths
/// `git diff-files` and `git ls-files -o --exclude-standard` name are hashed into the index
/// (removed when gone), an unmerged path taking its file as the resolution. Returns the
/// tree, or `None` when a path is not UTF-8 (the caller runs git's `add -A`).
pub fn take_all(worktree: &Path) -> Result<Option<Oid>> {
    let repo = Repository::open(worktree)?;
    let (mut index, stamp) = read_index(&repo)?;
    let Some(found) = scan::scan(worktree, &index, stamp) else {
        return Ok(None);
    };
    crate::rebase::timing::mark("take_all: scan");
    // Which untracked files are ignored is git's to say, asked only when there are some.
    let untracked = if found.untracked.is_empty() {
        Vec::new()
    } else {
        let git = Git::in_work_tree(worktree);
        let Some(listed) = split_z(&git.run(["ls-files", "-o", "-z", "--exclude-standard"])?)
        else {
            return Ok(None);
        };
        listed
    };
    // A repository of its own inside (listed as `dir/`) is git's to add as a submodule.
    if untracked.iter().any(|p| p.ends_with('/')) {
        return Ok(None);
    }
    let paths: BTreeSet<&String> = found.changed.iter().chain(&untracked).collect();
    for path in paths {
        let rel = Path::new(path);
        // A file or symlink is added; a missing path, or a folder in its place, leaves.
        match std::fs::symlink_metadata(worktree.join(rel)) {
            Ok(m) if !m.is_dir() => index.add_path(rel)?,
            _ => index.remove_path(rel)?,
        }
    }
    index.write()?;
    // Git writes the tree through the index's cache tree, the folders a change invalidated
    // only; libgit2's `write_tree` then reads every tree of the result back (5 000 in a kernel).
    let git = Git::in_work_tree(worktree);
    let tree = git.run(["write-tree"])?;
    if found.untracked.is_empty() {
        remember_clean(worktree);
    }
    Ok(Some(Oid::from_str(String::from_utf8_lossy(&tree).trim())?))
}

/// The worktrees `take_all` left matching their index, with nothing untracked, and the
/// index file as it left each. The switch to the next conflict follows in the same run,
/// under the session lock: while the index file is that one, walking the 78 000 files again
/// would find nothing to write but racily clean entries (their files hold what the index
/// says already), so the switch trusts this instead. Anything untracked (a build's ignored
/// files) makes the switch walk again. By worktree, so one process's sessions (the tests')
/// never take each other's.
static CLEAN: std::sync::Mutex<Vec<(std::path::PathBuf, IndexFile)>> =
    std::sync::Mutex::new(Vec::new());

/// What identifies an index file as written: size, inode, modification time.
type IndexFile = (u64, u64, i64, i64);

fn index_file(worktree: &Path) -> Option<IndexFile> {
    let repo = Repository::open(worktree).ok()?;
    let m = std::fs::metadata(repo.path().join("index")).ok()?;
    Some((m.size(), m.ino(), m.mtime(), m.mtime_nsec()))
}

fn remember_clean(worktree: &Path) {
    if let (Some(index), Ok(mut clean)) = (index_file(worktree), CLEAN.lock()) {
        clean.retain(|(w, _)| w != worktree);
        clean.push((worktree.to_path_buf(), index));
    }
}

/// Whether `worktree` is still as `take_all` left it (once: the switch moves it).
fn still_clean(worktree: &Path) -> bool {
    let Ok(mut clean) = CLEAN.lock() else {
        return false;
    };
    let Some(at) = clean.iter().position(|(w, _)| w == worktree) else {
        return false;
    };
    let (_, index) = clean.swap_remove(at);
    index_file(worktree) == Some(index)
}

/// Moves `worktree` (and its detached HEAD) to commit `tip`, as `git reset --hard TIP` and
/// `git clean -fdx` would leave it: the paths where the index or a file differs from `tip`
/// are written from it or removed, untracked and ignored files are removed (a nested
/// repository is kept, as `git clean` without `-ff` keeps it). `Ok(false)`, having changed
/// nothing, when a path is not UTF-8 or `tip` holds a submodule there: the caller resets
/// the whole tree.
pub fn switch(worktree: &Path, tip: &str, conflicts: &[(&str, Stages)]) -> Result<bool> {
    let git = Git::in_work_tree(worktree);
    let repo = Repository::open(worktree)?;
    let tip_id = Oid::from_str(tip)?;
    let tree = repo.find_commit(tip_id)?.tree()?;
    let clean = still_clean(worktree);
    let (mut index, stamp) = read_index(&repo)?;
    crate::rebase::timing::mark("switch: index read");
    // Git compares the index with the tip through its cache tree, while the walk runs.
    let (staged, found) = std::thread::scope(|s| {
        let staged = s.spawn(|| {
            git.run([
                "diff-index",
                "--cached",
                "--name-only",
                "--no-renames",
                "-z",
                tip,
            ])
        });
        let found = if clean {
            Some(scan::Found::default())
        } else {
            scan::scan(worktree, &index, stamp)
        };
        let staged = staged
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (staged, found)
    });
    let (Some(staged), Some(found)) = (split_z(&staged?), found) else {
        return Ok(false);
    };
    crate::rebase::timing::mark("switch: scan");
    let paths: BTreeSet<&String> = staged.iter().chain(&found.changed).collect();
    let mut writes = Vec::new();
    let mut removes = Vec::new();
    for path in paths {
        match tree.get_path(Path::new(path)) {
            Ok(e) if e.kind() == Some(ObjectType::Blob) => {
                writes.push((path, e.id(), e.filemode()));
            }
            Ok(e) if e.kind() == Some(ObjectType::Commit) => return Ok(false),
            _ => removes.push(path),
        }
    }
    for path in &found.untracked {
        remove_untracked(worktree, path)?;
    }
    let out = Checkout::new(worktree, "the session worktree");
    for path in removes {
        out.remove(path)?;
        prune_empty_parents(worktree, path);
        index.remove_path(Path::new(path))?;
    }
    for (path, id, mode) in writes {
        out.write_blob(&repo, path, id, mode)?;
        let file = worktree.join(path);
        let meta = std::fs::symlink_metadata(&file).map_err(|source| RebaseError::Io {
            path: file.clone(),
            source,
        })?;
        index.remove_path(Path::new(path))?;
        index.add(&entry(path, id, mode as u32, Some(&meta)))?;
    }
    stage(&mut index, conflicts)?;
    index.write()?;
    crate::rebase::timing::mark("switch: index written");
    repo.set_head_detached(tip_id)?;
    Ok(true)
}

/// Puts each conflicted path's versions in `index` as stages 1, 2 and 3 in place of its
/// stage-0 entry, as `git merge` leaves a conflict.
pub(super) fn stage(index: &mut git2::Index, conflicts: &[(&str, Stages)]) -> Result<()> {
    for (path, stages) in conflicts {
        index.remove_path(Path::new(path))?;
        for (stage, side) in [(1, stages.base), (2, stages.ours), (3, stages.theirs)] {
            if let Some(e) = side {
                let mut staged = entry(path, e.id, e.mode as u32, None);
                staged.flags = stage << 12;
                index.add(&staged)?;
            }
        }
    }
    Ok(())
}

/// An index entry; with the stat data of the file just written (`meta`), git takes it as
/// clean without reading it again. A conflict's stage has no file. The index keeps 32 bits
/// of each field, as git truncates them.
fn entry(path: &str, id: Oid, mode: u32, meta: Option<&std::fs::Metadata>) -> IndexEntry {
    let field = |f: fn(&std::fs::Metadata) -> i64| meta.map_or(0, |m| f(m) as u32);
    IndexEntry {
        ctime: IndexTime::new(field(|m| m.ctime()) as i32, field(|m| m.ctime_nsec())),
        mtime: IndexTime::new(field(|m| m.mtime()) as i32, field(|m| m.mtime_nsec())),
        dev: field(|m| m.dev() as i64),
        ino: field(|m| m.ino() as i64),
        mode,
        uid: field(|m| m.uid() as i64),
        gid: field(|m| m.gid() as i64),
        file_size: field(|m| m.size() as i64),
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// Removes an untracked file or folder (`dir/`) without following symlinks; a folder that
/// holds a repository of its own stays.
fn remove_untracked(worktree: &Path, path: &str) -> Result<()> {
    let target = worktree.join(path.trim_end_matches('/'));
    let Ok(meta) = std::fs::symlink_metadata(&target) else {
        return Ok(());
    };
    let result = if meta.is_dir() {
        if target.join(".git").exists() {
            return Ok(());
        }
        std::fs::remove_dir_all(&target)
    } else {
        std::fs::remove_file(&target)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RebaseError::Io {
            path: target,
            source,
        }),
    }
}

/// Removes the folders above a removed file that are left empty, as git's checkout does.
fn prune_empty_parents(worktree: &Path, path: &str) {
    let mut dir = Path::new(path).parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if std::fs::remove_dir(worktree.join(d)).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    }

    fn write(root: &Path, path: &str, text: &str) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// A repository with commits A and B (B edits, adds, deletes a folder's last file,
    /// changes a mode and a symlink into a file) and two worktrees at A. Returns (A, B).
    fn fixture(dir: &Path) -> (String, String) {
        git(dir, &["init", "-q", "-b", "main"]);
        for (p, t) in [
            ("a.txt", "a\n"),
            ("dir/b.txt", "b\n"),
            ("dir/sub/c.txt", "c\n"),
            ("keep.txt", "keep\n"),
            ("exec.sh", "#!/bin/sh\n"),
            (".gitignore", "*.o\nbuild/\n"),
        ] {
            write(dir, p, t);
        }
        git(dir, &["update-index", "--add", "--chmod=+x", "exec.sh"]);
        std::os::unix::fs::symlink("a.txt", dir.join("link")).unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["update-index", "--chmod=+x", "exec.sh"]);
        git(dir, &["commit", "-q", "-m", "A"]);
        let a = git(dir, &["rev-parse", "HEAD"]);
        write(dir, "a.txt", "a changed\n");
        std::fs::remove_file(dir.join("dir/sub/c.txt")).unwrap();
        write(dir, "new/d.txt", "d\n");
        std::fs::remove_file(dir.join("link")).unwrap();
        write(dir, "link", "now a file\n");
        git(dir, &["add", "-A"]);
        git(dir, &["update-index", "--chmod=-x", "exec.sh"]);
        git(dir, &["commit", "-q", "-m", "B"]);
        let b = git(dir, &["rev-parse", "HEAD"]);
        for wt in ["wt1", "wt2"] {
            git(dir, &["worktree", "add", "-q", "--detach", wt, &a]);
        }
        (a, b)
    }

    /// What a user may leave: edits to tracked files the commits do not touch, a deletion,
    /// a staged change edited again, a folder where a file was, untracked and ignored files,
    /// and an unmerged path (stages 1-3) with its resolution in the file.
    fn edit(wt: &Path) {
        write(wt, "keep.txt", "edited by the user\n");
        std::fs::remove_file(wt.join("dir/b.txt")).unwrap();
        // A rename within a folder: as many names as before, one of them untracked.
        write(wt, "dir/b2.txt", "b\n");
        write(wt, "a.txt", "staged\n");
        git(wt, &["add", "a.txt"]);
        write(wt, "a.txt", "staged then edited\n");
        write(wt, "untracked/u.txt", "u\n");
        write(wt, "x.o", "ignored\n");
        write(wt, "build/y.o", "ignored folder\n");
        // A tracked folder replaced by a symlink: its files are gone, the link untracked.
        std::fs::remove_dir_all(wt.join("dir/sub")).unwrap();
        std::os::unix::fs::symlink("nowhere", wt.join("dir/sub")).unwrap();
        let blob = |t: &str| {
            let out = Command::new("git")
                .args(["hash-object", "-w", "--stdin"])
                .current_dir(wt)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(t.as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let zero = "0".repeat(40);
        let info = format!(
            "0 {zero}\texec.sh\n100755 {} 1\texec.sh\n100755 {} 2\texec.sh\n100755 {} 3\texec.sh\n",
            blob("base\n"),
            blob("ours\n"),
            blob("theirs\n")
        );
        let mut child = Command::new("git")
            .args(["update-index", "--index-info"])
            .current_dir(wt)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(info.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        write(wt, "exec.sh", "resolved\n");
        assert!(git(wt, &["status", "--porcelain"]).contains("exec.sh"));
    }

    /// Every file and folder under `root` but `.git`, sorted.
    fn on_disk(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut todo = vec![root.to_path_buf()];
        while let Some(dir) = todo.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                if rel == ".git" {
                    continue;
                }
                if e.file_type().unwrap().is_dir() {
                    todo.push(e.path());
                    out.push(format!("{rel}/"));
                } else {
                    out.push(rel);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn take_all_takes_what_git_add_all_takes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fixture(dir);
        let (wt1, wt2) = (dir.join("wt1"), dir.join("wt2"));
        edit(&wt1);
        edit(&wt2);
        git(&wt2, &["add", "-A"]);
        let expected = git(&wt2, &["write-tree"]);
        let tree = take_all(&wt1).unwrap().expect("UTF-8 paths");
        assert_eq!(tree.to_string(), expected);
        assert_eq!(
            git(&wt1, &["ls-files", "-s"]),
            git(&wt2, &["ls-files", "-s"])
        );
        // The index's stat data is fresh: nothing left to hash, only the ignored files.
        assert_eq!(git(&wt1, &["diff-files", "--name-only"]), "");
        assert_eq!(
            git(&wt1, &["status", "--porcelain", "--ignored"]),
            git(&wt2, &["status", "--porcelain", "--ignored"])
        );
    }

    #[test]
    fn switch_leaves_what_reset_hard_and_clean_leave() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (_, b) = fixture(dir);
        let (wt1, wt2) = (dir.join("wt1"), dir.join("wt2"));
        edit(&wt1);
        edit(&wt2);
        git(&wt2, &["reset", "-q", "--hard", &b]);
        git(&wt2, &["clean", "-q", "-fdx"]);
        assert!(switch(&wt1, &b, &[]).unwrap());
        assert_eq!(git(&wt1, &["rev-parse", "HEAD"]), b);
        assert_same_checkout(&wt1, &wt2);
        // Entries written have their stat data: git finds nothing to look at again.
        assert_eq!(git(&wt1, &["diff-files", "--name-only"]), "");
    }

    #[test]
    fn the_switch_after_a_take_all_that_left_nothing_untracked_trusts_its_walk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (_, b) = fixture(dir);
        let (wt1, wt2) = (dir.join("wt1"), dir.join("wt2"));
        // A resolution: tracked files edited (one the tip changes too), one removed.
        for wt in [&wt1, &wt2] {
            write(wt, "keep.txt", "resolved\n");
            write(wt, "a.txt", "resolved too\n");
            std::fs::remove_file(wt.join("dir/b.txt")).unwrap();
        }
        take_all(&wt1).unwrap().unwrap();
        git(&wt2, &["add", "-A"]);
        // The switch takes the walk-free path: take_all remembered this worktree.
        assert!(remembered(&wt1));
        assert!(switch(&wt1, &b, &[]).unwrap());
        assert!(!remembered(&wt1), "the switch used it up");
        git(&wt2, &["reset", "-q", "--hard", &b]);
        assert_same_checkout(&wt1, &wt2);
        // An index written since (here by git) is not trusted.
        take_all(&wt1).unwrap().unwrap();
        let blob = git(&wt1, &["hash-object", "-w", "a.txt"]);
        let entry = format!("100644,{blob},keep.txt");
        git(&wt1, &["update-index", "--cacheinfo", &entry]);
        assert!(!still_clean(&wt1));
    }

    fn remembered(worktree: &Path) -> bool {
        CLEAN.lock().unwrap().iter().any(|(w, _)| w == worktree)
    }

    /// `wt1` holds what `wt2` holds, files, modes and index, with nothing left to look at.
    fn assert_same_checkout(wt1: &Path, wt2: &Path) {
        assert_eq!(on_disk(wt1), on_disk(wt2));
        assert_eq!(git(wt1, &["ls-files", "-s"]), git(wt2, &["ls-files", "-s"]));
        assert_eq!(git(wt1, &["status", "--porcelain", "--ignored"]), "");
        for f in [
            "a.txt",
            "keep.txt",
            "dir/b.txt",
            "exec.sh",
            "link",
            "new/d.txt",
        ] {
            let (one, two) = (wt1.join(f), wt2.join(f));
            assert_eq!(
                std::fs::read(&one).unwrap(),
                std::fs::read(&two).unwrap(),
                "{f}"
            );
            let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode();
            assert_eq!(mode(&one), mode(&two), "{f}");
        }
    }

    #[test]
    fn after_take_all_the_switch_still_removes_ignored_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (_, b) = fixture(dir);
        let wt = dir.join("wt1");
        edit(&wt);
        take_all(&wt).unwrap().unwrap();
        assert!(wt.join("x.o").exists() && wt.join("untracked/u.txt").exists());
        assert!(switch(&wt, &b, &[]).unwrap());
        assert_eq!(git(&wt, &["status", "--porcelain", "--ignored"]), "");
        assert!(!wt.join("x.o").exists() && !wt.join("build").exists());
        assert!(!wt.join("untracked").exists());
        assert_eq!(
            std::fs::read_to_string(wt.join("keep.txt")).unwrap(),
            "keep\n"
        );
    }
}
