//! The benchmark's real material, ready to replay: Debian's two kernel releases and their
//! queues as branches of one cached repository (shared by `bench/accuracy` and the test that
//! runs the cascade over every conflict region of the real queue).

use std::fs;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::series::{self, BuiltQueue};
use crate::kernels::debian::{Config, DebianLinux, SourcePackage};
use crate::process::Git;

/// The old release's queue, as commits on its upstream tag.
pub const OLD_BRANCH: &str = "debian-5.10-queue";
/// The maintainers' own port, on the new release's upstream tag.
pub const NEW_BRANCH: &str = "debian-6.1-queue";

#[derive(Debug, Serialize, Deserialize)]
pub struct Prepared {
    pub old: SourcePackage,
    pub new: SourcePackage,
    pub old_queue: BuiltQueue,
    pub new_queue: BuiltQueue,
}

/// Fetches (once) both releases' source packages, imports their upstream trees and builds both
/// queues as branches of the cache's repository; later calls reuse what is there.
pub fn prepare(cache: &DebianLinux, config: &Config, refresh: bool) -> Result<Prepared> {
    let _lock = cache.lock()?;
    let state = cache.root().join("queues.json");
    let repo = cache.repo_path();
    let pkgs = cache.fetch(config, &[&config.old, &config.new], refresh)?;
    let [old, new]: [SourcePackage; 2] = pkgs
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected two packages"))?;
    if let Ok(text) = fs::read_to_string(&state) {
        if let Ok(p) = serde_json::from_str::<Prepared>(&text) {
            let refs_ok = [OLD_BRANCH, NEW_BRANCH]
                .iter()
                .all(|b| repo.join("refs/heads").join(b).exists());
            if !refresh && p.old == old && p.new == new && refs_ok {
                return Ok(p);
            }
        }
    }
    let mut queues = Vec::new();
    for (pkg, branch) in [(&old, OLD_BRANCH), (&new, NEW_BRANCH)] {
        let tag = cache.ensure_imported(pkg)?;
        let debian = cache.ensure_debian_dir(config, pkg)?;
        let patches = series::read_series(&debian, &config.series)?;
        eprintln!(
            "bench/accuracy: committing Debian {}'s {} patches on {tag} ...",
            pkg.version,
            patches.len()
        );
        let q = series::build_queue(&repo, &tag, &patches)?;
        Git::new(&repo).run(["update-ref", &format!("refs/heads/{branch}"), &q.tip])?;
        queues.push(q);
    }
    let new_queue = queues.pop().expect("two queues");
    let old_queue = queues.pop().expect("two queues");
    let p = Prepared {
        old,
        new,
        old_queue,
        new_queue,
    };
    fs::write(&state, serde_json::to_string_pretty(&p)? + "\n")?;
    Ok(p)
}
