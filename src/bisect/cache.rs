//! Step verdicts cached by tree id: a tree is checked once per check setup, whatever commit
//! or queue it sits in, so a second bisection over the same (or a rewritten) queue reuses
//! every verdict it can. One small JSON file per tree, written atomically (a Ctrl-C leaves
//! either the whole verdict or none).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::evidence::Evidence;
use super::search::Verdict;
use super::BisectError;

/// The result of checking one tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// A kernel build ran (make was called).
    pub built: bool,
    /// A guest was booted.
    pub booted: bool,
    pub secs: f64,
}

/// Verdicts of one check kind (`build`, `boot`, `test-…`, `run-…`) under one setup (arch,
/// configuration, fragments), in `<root>/<setup>/<kind>/<tree>.json`.
#[derive(Debug, Clone)]
pub struct VerdictCache {
    dir: PathBuf,
    setup_dir: PathBuf,
}

impl VerdictCache {
    pub fn new(root: &Path, setup: &str, kind: &str) -> Self {
        let setup_dir = root.join(setup);
        VerdictCache {
            dir: setup_dir.join(kind),
            setup_dir,
        }
    }

    /// The default root: `<cache>/bisect/verdicts`.
    pub fn default_root() -> PathBuf {
        crate::kernels::cache_root().join("bisect").join("verdicts")
    }

    fn read(path: &Path) -> Option<StepOutcome> {
        let text = std::fs::read(path).ok()?;
        // A file from another version or damaged: ignored, the tree is checked again.
        serde_json::from_slice(&text).ok()
    }

    pub fn get(&self, tree: git2::Oid) -> Option<StepOutcome> {
        Self::read(&self.dir.join(format!("{tree}.json")))
    }

    /// The verdict another kind of check under the same setup recorded for `tree`.
    pub fn get_kind(&self, kind: &str, tree: git2::Oid) -> Option<StepOutcome> {
        Self::read(&self.setup_dir.join(kind).join(format!("{tree}.json")))
    }

    /// A name for this cache's setup and kind, for files kept beside the build.
    pub fn name(&self) -> String {
        let part = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        format!("{}-{}", part(&self.setup_dir), part(&self.dir))
    }

    /// The cache of another kind of check under the same setup.
    pub fn sibling(&self, kind: &str) -> VerdictCache {
        VerdictCache {
            dir: self.setup_dir.join(kind),
            setup_dir: self.setup_dir.clone(),
        }
    }

    pub fn put(&self, tree: git2::Oid, outcome: &StepOutcome) -> Result<(), BisectError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BisectError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let dest = self.dir.join(format!("{tree}.json"));
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io(&self.dir))?;
        let text = serde_json::to_vec_pretty(outcome).map_err(|e| BisectError::Io {
            path: dest.clone(),
            source: std::io::Error::other(e),
        })?;
        std::io::Write::write_all(&mut tmp, &text).map_err(io(&dest))?;
        tmp.persist(&dest).map_err(|e| BisectError::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// A stable short hash of some text (git's blob hash), for cache keys and folder names.
pub fn key_of(text: &str) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
        .map(|o| o.to_string()[..16].to_string())
        .unwrap_or_else(|_| "0".repeat(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_per_kind_and_setup() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = git2::Oid::from_str("4b825dc642cb6eb9a060e54bf8d69288fbee4904").unwrap();
        let build = VerdictCache::new(tmp.path(), "x86_64-a", "build");
        assert!(build.get(tree).is_none());
        let step = StepOutcome {
            verdict: Verdict::Fail,
            evidence: Some(Evidence::Command {
                status: 1,
                output_tail: "boom".into(),
            }),
            built: true,
            booted: false,
            secs: 1.5,
        };
        build.put(tree, &step).unwrap();
        assert_eq!(build.get(tree), Some(step.clone()));
        let boot = VerdictCache::new(tmp.path(), "x86_64-a", "boot");
        assert!(boot.get(tree).is_none());
        assert_eq!(boot.get_kind("build", tree), Some(step));
        assert!(VerdictCache::new(tmp.path(), "x86_64-b", "build")
            .get(tree)
            .is_none());
        // A damaged file is a miss, not an error.
        std::fs::write(tmp.path().join(format!("x86_64-a/build/{tree}.json")), "{").unwrap();
        assert!(build.get(tree).is_none());
        assert_eq!(key_of("a"), key_of("a"));
        assert_ne!(key_of("a"), key_of("b"));
    }
}
