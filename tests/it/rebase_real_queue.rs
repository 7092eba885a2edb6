//! The resolution cascade over every conflict region of a real queue nobody here wrote:
//! Debian's 5.10 kernel queue (general + PREEMPT_RT, a few hundred patches) forward-ported onto
//! 6.1, the material of `bench/accuracy` (fetched and imported once, cached). No stage may
//! fail on any region (a failing stage would show as `internal error in <stage>`), every
//! patch gets a verdict, and the queue's order holds through a resolution.

use crate::common;

use common::*;
use dovetail_port::accuracy::prepare::{prepare, OLD_BRANCH};
use dovetail_port::kernels::debian::{Config, DebianLinux};
use serde_json::Value;

#[test]
fn the_cascade_runs_over_every_region_of_a_real_queue_without_failing() {
    if !common::kernel_tier() {
        return;
    }
    let config = Config::load().expect("patchsets/debian-linux.toml");
    let cache = DebianLinux::default_location();
    let prepared = prepare(&cache, &config, false).expect("Debian's 5.10 and 6.1 queues");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--shared",
            "--bare",
            cache.repo_path().to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    );
    let range = format!("{}..{OLD_BRANCH}", prepared.old.tag());
    let target = prepared.new.tag();
    let out = tool(
        &repo,
        &["rebase", &target, "--queue", &range, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let patches = report["patches"].as_array().unwrap();
    let queued = git(&repo, &["rev-list", "--count", &range]);
    assert_eq!(patches.len().to_string(), queued);
    assert!(patches.iter().all(|p| p["verdict"].is_string()));

    let mut regions = 0;
    let mut placed = 0;
    for p in patches {
        for path in p["paths"].as_array().into_iter().flatten() {
            for r in path["refusals"].as_array().into_iter().flatten() {
                regions += 1;
                let reason = r["reason"].as_str().unwrap_or("");
                assert!(
                    !reason.contains("internal error"),
                    "{} {}: {reason}",
                    p["subject"],
                    path["path"]
                );
            }
            placed += path["placements"].as_array().map_or(0, Vec::len);
        }
    }
    let conflicts = patches
        .iter()
        .filter(|p| p["verdict"] == "conflict")
        .count();
    // Hundreds of real regions went through the cascade: placed or refused with a reason.
    assert!(conflicts > 100, "{conflicts} conflicts");
    assert!(regions + placed > 200, "{regions} refused, {placed} placed");

    // Resolve the first conflict as the patch has it; the branch keeps the queue's order.
    let out = tool(&repo, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let wt = repo.join("dovetail-port/worktree");
    let unmerged = git(&wt, &["diff", "--name-only", "--diff-filter=U"]);
    assert!(!unmerged.is_empty(), "the conflict is in the index");
    for path in unmerged.lines() {
        git(&wt, &["checkout", "--theirs", "--", path]);
    }
    let out = tool(&repo, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = tool(&repo, &["rebase", "--status", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let patches = report["patches"].as_array().unwrap();
    let first = patches
        .iter()
        .position(|p| p["verdict"] == "resolved")
        .expect("one patch resolved");
    // Every commit of the result stands on the one of the patch before it.
    let mut parent = report["target_id"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| git(&repo, &["rev-parse", &format!("{target}^{{commit}}")]));
    for p in patches {
        if let Some(c) = p["new_commit"].as_str() {
            assert_eq!(
                git(&repo, &["rev-parse", &format!("{c}^")]),
                parent,
                "{}",
                p["subject"]
            );
            parent = c.to_string();
        }
    }
    assert!(first < patches.len());
    tool(&repo, &["rebase", "--abort"]);
}
