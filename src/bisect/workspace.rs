//! Where the steps run: a source folder of our own under the cache (never the user's
//! worktree), filled from the user's object store through a private index, so moving from
//! one step's tree to the next rewrites only the files that differ (make then rebuilds only
//! what they feed), and the user's HEAD, index, branches and worktree list never change.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::BisectError;
use crate::process::Git;

pub struct Workspace {
    root: PathBuf,
    git_dir: PathBuf,
    _lock: File,
}

impl Workspace {
    /// `<cache>/bisect/<repo name>-<hash of its git folder>`.
    pub fn default_root(git_dir: &Path) -> PathBuf {
        let canon = git_dir
            .canonicalize()
            .unwrap_or_else(|_| git_dir.to_path_buf());
        let mut name_of = canon.as_path();
        // `.../linux/.git` is named after `linux`.
        if name_of.file_name().is_some_and(|n| n == ".git") {
            name_of = name_of.parent().unwrap_or(name_of);
        }
        let name: String = name_of
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "repo".into())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        crate::kernels::cache_root().join("bisect").join(format!(
            "{name}-{}",
            super::cache::key_of(&canon.to_string_lossy())
        ))
    }

    /// Opens (creating) the workspace and takes its lock: one bisection per workspace.
    pub fn open(git_dir: &Path, root: PathBuf) -> Result<Self, BisectError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| BisectError::Io { path: p, source }
        };
        std::fs::create_dir_all(root.join("tree")).map_err(io(&root))?;
        let lock_path = root.join("lock");
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(BisectError::Busy(root));
        }
        // An index lock left by a killed checkout is ours (we hold the workspace lock).
        let _ = std::fs::remove_file(root.join("index.lock"));
        Ok(Workspace {
            root,
            git_dir: git_dir.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The source tree the steps build.
    pub fn tree(&self) -> PathBuf {
        self.root.join("tree")
    }

    /// The one out-of-tree build folder of an architecture, reused by every step.
    pub fn out(&self, arch: &str) -> PathBuf {
        self.root.join(format!("out-{arch}"))
    }

    /// Console logs and initramfs of the boots (overwritten by each step).
    pub fn boot_dir(&self) -> PathBuf {
        self.root.join("boot")
    }

    /// Makes the source folder hold exactly `tree`.
    pub fn checkout(&self, tree: git2::Oid) -> Result<(), BisectError> {
        let id = tree.to_string();
        let git = Git::new(&self.git_dir).with_work_tree(&self.tree());
        let index = self.root.join("index");
        let run = |args: &[&str]| -> Result<(), crate::process::ProcessError> {
            git.command(args)
                .current_dir(&self.root)
                .env("GIT_INDEX_FILE", &index)
                .output()
                .map(|_| ())
        };
        // Two-way: files equal in the index and the new tree keep their mtime.
        if run(&["read-tree", "-m", "-u", &id]).is_err() {
            // A checkout cut short leaves files the index does not describe: start over.
            run(&["read-tree", "--reset", "-u", &id])?;
        }
        Ok(())
    }
}
