//! The session's worktree (`.git/dovetail-port/worktree`), where a conflict waits for a
//! human. Files are written the way git's checkout writes them: a path from a tree or a patch
//! never climbs out (`..`), never enters `.git`, and never passes through a symlink; symlinks
//! are written as symlinks. The conflict's three versions go into the worktree's index as
//! stages 1/2/3, so `git status`, `git diff` and `git mergetool` see an ordinary conflict.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::merge::Stages;
use super::session::Session;
use super::{RebaseError, Result};
use crate::process::Git;

mod scan;
mod switch;
pub use switch::take_all;

/// Why a repository path is unsafe to write, or `None` when it is an ordinary relative path.
pub fn unsafe_path(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    if path.starts_with('/') {
        return Some("is absolute");
    }
    if path.contains('\0') {
        return Some("contains a NUL byte");
    }
    for part in path.split('/') {
        match part {
            "" => return Some("has an empty component"),
            "." | ".." => return Some("has a `.` or `..` component"),
            _ if part.eq_ignore_ascii_case(".git") => return Some("has a `.git` component"),
            _ => {}
        }
    }
    None
}

/// Refuses an unsafe path with the patch it comes from.
pub fn check_path(patch: &str, path: &str) -> Result<()> {
    match unsafe_path(path) {
        None => Ok(()),
        Some(reason) => Err(RebaseError::UnsafePath {
            patch: patch.to_string(),
            path: path.to_string(),
            reason: reason.to_string(),
        }),
    }
}

/// Refuses a path that the tree it lands in has below a symlink or a file (a queue patch
/// that adds `link/x` where the target has a symlink `link`).
pub fn check_tree_parents(tree: &git2::Tree<'_>, patch: &str, path: &str) -> Result<()> {
    let mut end = 0;
    while let Some(k) = path[end..].find('/') {
        end += k;
        let prefix = &path[..end];
        if let Ok(e) = tree.get_path(Path::new(prefix)) {
            if e.kind() != Some(git2::ObjectType::Tree) {
                return Err(RebaseError::UnsafePath {
                    patch: patch.to_string(),
                    path: path.to_string(),
                    reason: format!("lies below `{prefix}`, a symlink or file in the tree"),
                });
            }
        }
        end += 1;
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RebaseError + '_ {
    move |source| RebaseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes into one worktree, checkout-style.
pub struct Checkout<'a> {
    root: &'a Path,
    /// Named in errors: the patch whose files are written.
    patch: &'a str,
}

impl<'a> Checkout<'a> {
    pub fn new(root: &'a Path, patch: &'a str) -> Self {
        Checkout { root, patch }
    }

    fn refuse(&self, path: &str, reason: &str) -> RebaseError {
        RebaseError::UnsafePath {
            patch: self.patch.to_string(),
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The file's place in the worktree, with every parent folder a real folder (created when
    /// missing). Refuses a parent that is a symlink or a file.
    fn place(&self, path: &str) -> Result<PathBuf> {
        check_path(self.patch, path)?;
        let mut dir = self.root.to_path_buf();
        let parts: Vec<&str> = path.split('/').collect();
        let (name, parents) = parts.split_last().expect("a checked path has a component");
        for part in parents {
            dir.push(part);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(self.refuse(path, "lies beyond a symlink in the worktree"))
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(self.refuse(path, "lies below a file in the worktree")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&dir).map_err(io(&dir))?;
                }
                Err(source) => return Err(RebaseError::Io { path: dir, source }),
            }
        }
        let file = dir.join(name);
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_dir()) {
            return Err(self.refuse(path, "is a folder in the worktree"));
        }
        Ok(file)
    }

    /// Writes `content` at `path`: a new file renamed into place, so an existing symlink there
    /// is replaced, never followed.
    pub fn write(&self, path: &str, content: &[u8], mode: i32) -> Result<()> {
        let file = self.place(path)?;
        let dir = file.parent().expect("placed under the root");
        if mode == 0o120000 {
            let _ = std::fs::remove_file(&file);
            std::os::unix::fs::symlink(OsStr::from_bytes(content), &file).map_err(io(&file))?;
            return Ok(());
        }
        // The modes git's checkout creates files with, the umask applied (a temporary file's
        // own 0600 would differ from the files around it).
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(if mode == 0o100755 { 0o777 } else { 0o666 });
        let mut tmp = tempfile::Builder::new()
            .prefix(".dovetail-port-")
            .permissions(perms)
            .tempfile_in(dir)
            .map_err(io(dir))?;
        tmp.write_all(content).map_err(io(&file))?;
        tmp.persist(&file).map_err(|e| RebaseError::Io {
            path: file.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Writes a blob from the object store.
    pub fn write_blob(&self, repo: &Repository, path: &str, id: Oid, mode: i32) -> Result<()> {
        self.write(path, repo.find_blob(id)?.content(), mode)
    }

    /// Removes the file at `path` (the link itself for a symlink); a missing file is fine.
    pub fn remove(&self, path: &str) -> Result<()> {
        let file = self.place(path)?;
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(RebaseError::Io { path: file, source }),
        }
    }

    /// Reads the file at `path` if it is a regular file inside the worktree.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let file = self.place(path).ok()?;
        let meta = std::fs::symlink_metadata(&file).ok()?;
        meta.is_file().then(|| std::fs::read(&file).ok()).flatten()
    }
}

/// Creates the session's worktree at `tip`, or moves the existing one there (what
/// `git reset --hard` and `git clean -fdx` leave, by the paths that differ), with
/// `conflicts` as index stages (see [`stage_conflicts`]).
pub fn checkout(git_dir: &Path, tip: &str, conflicts: &[(&str, Stages)]) -> Result<PathBuf> {
    let worktree = Session::worktree(git_dir);
    if worktree.join(".git").exists() {
        if switch::switch(&worktree, tip, conflicts)? {
            return Ok(worktree);
        }
        let wt = Git::in_work_tree(&worktree);
        wt.run(["reset", "-q", "--hard", tip])?;
        wt.run(["clean", "-q", "-fdx"])?;
    } else {
        Git::new(git_dir).add_detached_worktree(&worktree, tip)?;
    }
    stage_conflicts(&worktree, conflicts)?;
    Ok(worktree)
}

/// Puts a conflicted path's versions in the worktree's index as stages 1, 2 and 3 (replacing
/// its stage-0 entry), as `git merge` leaves a conflict.
pub fn stage_conflicts(worktree: &Path, conflicts: &[(&str, Stages)]) -> Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    let repo = Repository::open(worktree)?;
    let mut index = repo.index()?;
    switch::stage(&mut index, conflicts)?;
    index.write()?;
    Ok(())
}

/// Removes the session's worktree and git's record of it.
pub fn remove(git_dir: &Path) {
    let worktree = Session::worktree(git_dir);
    if worktree.exists() {
        let repo = Git::new(git_dir);
        let _ = repo.run([
            OsStr::new("worktree"),
            OsStr::new("remove"),
            OsStr::new("--force"),
            worktree.as_os_str(),
        ]);
        let _ = std::fs::remove_dir_all(&worktree);
        let _ = repo.run(["worktree", "prune"]);
    }
}

/// The names the three versions of a binary conflict get beside it.
pub fn binary_sides(path: &str) -> [(String, &'static str); 3] {
    [
        (format!("{path}.ours"), "ours"),
        (format!("{path}.base"), "base"),
        (format!("{path}.theirs"), "theirs"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexically_unsafe_paths_are_named() {
        for p in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            ".git/config",
            "a/.GIT/hooks/x",
            "a//b",
        ] {
            assert!(unsafe_path(p).is_some(), "{p:?} should be refused");
        }
        for p in [
            "a",
            "arch/x86/Kconfig",
            ".gitignore",
            "a/..b",
            "dir/.git-blame",
        ] {
            assert_eq!(unsafe_path(p), None, "{p:?}");
        }
    }

    #[test]
    fn never_writes_through_a_symlink() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        let co = Checkout::new(root.path(), "p1");
        let err = co.write("link/x", b"boom", 0o100644).unwrap_err();
        assert!(err.to_string().contains("beyond a symlink"), "{err}");
        assert!(!outside.path().join("x").exists());
        // A symlink at the file's own place is replaced, not followed.
        let target = outside.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, root.path().join("f")).unwrap();
        co.write("f", b"new", 0o100644).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(root.path().join("f")).unwrap(),
            "new"
        );
        assert!(!std::fs::symlink_metadata(root.path().join("f"))
            .unwrap()
            .file_type()
            .is_symlink());
        // Symlinks are written as symlinks.
        co.write("l2", b"../elsewhere", 0o120000).unwrap();
        assert_eq!(
            std::fs::read_link(root.path().join("l2")).unwrap(),
            Path::new("../elsewhere")
        );
        assert!(co.write("../up", b"x", 0o100644).is_err());
        assert!(co.remove("link/x").is_err());
    }
}
