//! The demo, the project's built-in default job: Debian's 6.1 and 6.12 kernels, the sample
//! queue from `patchsets/sample/` applied on 6.1, forward-ported onto 6.12, then the later
//! stages on the result.

use std::path::{Path, PathBuf};

use crate::kernels::{self, KernelCache};
use crate::process::Git;
use crate::queue::{apply, patchfile, range, Author};
use crate::rebase::engine::{self, QueueSpec, StartOptions};
use crate::rebase::session::Session;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Kernel(#[from] kernels::KernelError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error(transparent)]
    Rebase(#[from] crate::rebase::RebaseError),
    #[error("{0}")]
    Git(#[from] git2::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    #[error(transparent)]
    Boot(#[from] crate::boot::BootError),
    #[error(transparent)]
    Lint(#[from] crate::lint::LintError),
}

pub type Result<T> = std::result::Result<T, DemoError>;

pub const OLD: &str = "6.1";
pub const NEW: &str = "6.12";
pub const QUEUE_BRANCH: &str = "sample-queue";

/// The demo's own repository (sharing the kernel cache's objects), kept between runs so the
/// checkout and the kernel build are incremental.
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    pub fn new(root: PathBuf) -> Self {
        Workspace { root }
    }

    pub fn default_location() -> Self {
        Workspace::new(kernels::cache_root().join("demo"))
    }

    pub fn repo(&self) -> PathBuf {
        self.root.join("repo.git")
    }

    /// Where the rebased result is checked out for lint and build.
    pub fn tree(&self) -> PathBuf {
        self.root.join("tree")
    }

    pub fn sample_dir() -> PathBuf {
        crate::data::folder("patchsets/sample")
    }

    /// Makes the repository (once) and (re)creates the sample queue branch on v6.1.
    pub fn prepare(&self, cache: &KernelCache) -> Result<git2::Repository> {
        cache.ensure()?;
        let repo_path = self.repo();
        if !repo_path.join("HEAD").exists() {
            std::fs::create_dir_all(&self.root).map_err(|source| DemoError::Io {
                path: self.root.clone(),
                source,
            })?;
            let _ = std::fs::remove_dir_all(&repo_path);
            kernels::shared_clone(cache, &repo_path)?;
        }
        let repo = git2::Repository::open(&repo_path)?;
        // A previous demo's session (unfinished, or written by another version of the tool)
        // would block a new one: the demo owns this repository, so it clears it.
        match Session::load(repo.path()) {
            Ok(None) => {}
            Ok(Some(_)) => {
                engine::abort(&repo_path)?;
            }
            Err(_) => {
                Session::remove(repo.path())?;
                let _ = std::fs::remove_dir_all(Session::worktree(repo.path()));
                let _ = Git::new(&repo_path).run(["worktree", "prune"]);
            }
        }
        let patches = patchfile::read_queue(&Self::sample_dir())?;
        let base = range::resolve(&repo, &KernelCache::tag(OLD))?;
        let fallback = Author {
            name: "dovetail-port demo".into(),
            email: "demo@dovetail-port.invalid".into(),
            time: 1_700_000_000,
            offset: 0,
        };
        let ids = apply::apply_series(&repo, base, &patches, &fallback)?;
        let tip = *ids.last().unwrap_or(&base);
        repo.reference(
            &format!("refs/heads/{QUEUE_BRANCH}"),
            tip,
            true,
            "dovetail-port demo: sample queue",
        )?;
        Ok(repo)
    }

    /// Forward-ports the sample queue onto v6.12 (result branch overwritten each run).
    pub fn rebase(&self, progress: engine::Progress<'_>) -> Result<Session> {
        let opts = StartOptions {
            repo: self.repo(),
            target: KernelCache::tag(NEW),
            queue: QueueSpec::Range(format!("{}..{QUEUE_BRANCH}", KernelCache::tag(OLD))),
            branch: None,
            force: true,
            topics: None,
            strict: false,
            collateral: None,
        };
        Ok(engine::start(&opts, progress)?)
    }

    /// Checks `commit` out in the demo tree (incrementally when it exists), for lint and build.
    pub fn checkout(&self, commit: &str) -> Result<PathBuf> {
        let tree = self.tree();
        if tree.join(".git").exists() {
            let wt = Git::in_work_tree(&tree);
            wt.run(["checkout", "-q", "--force", "--detach", commit])?;
            wt.run(["clean", "-q", "-fdx"])?;
        } else {
            Git::new(&self.repo()).add_detached_worktree(&tree, commit)?;
        }
        Ok(tree)
    }
}

impl Workspace {
    /// Lints the directories the queue touches in the checked-out result, as a maintainer
    /// would before pushing the forward port.
    pub fn lint(&self, tree: &Path, session: &Session) -> Result<crate::lint::LintReport> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for p in session.patches.iter().flat_map(|p| &p.paths) {
            if let Some((dir, _)) = p.path.rsplit_once('/') {
                let d = tree.join(dir);
                if d.is_dir() && !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        dirs.sort();
        let opts = crate::lint::LintOptions {
            paths: dirs,
            root: Some(tree.to_path_buf()),
            entries: Vec::new(),
            rules: Vec::new(),
            extra_rules: Vec::new(),
            parse_all: true,
            baseline: None,
            diff: None,
            arch: None,
            kconfig: None,
            progress: true,
            skip_unreadable: false,
        };
        Ok(crate::lint::run(&opts)?)
    }

    /// Builds the checked-out result for x86_64 (tinyconfig + QEMU + KUnit + the sample
    /// queue's own options), boots it under QEMU and collects the KUnit verdicts.
    pub fn build_and_boot(&self, tree: &Path) -> Result<crate::boot::TestOutcome> {
        let mut opts = crate::boot::TestOptions::new("x86_64", tree);
        opts.build.fragments.push(
            Self::sample_dir()
                .join("demo.config")
                .to_string_lossy()
                .into_owned(),
        );
        opts.build.progress = true;
        Ok(crate::boot::test(&opts)?)
    }
}
