//! The finer cascade stages on real patches: Debian's 5.10 queue patches that git leaves in
//! conflict on 6.1, each ported alone onto 6.1 by `rebase`, placed by the named stage, and
//! the result compared with the Debian maintainers' own port of the same patch (the same added
//! and removed lines in every file).

use crate::common;

use common::*;
use dovetail_port::accuracy::change::parse_diff;
use dovetail_port::accuracy::prepare::{prepare, NEW_BRANCH, OLD_BRANCH};
use dovetail_port::kernels::debian::{Config, DebianLinux};
use serde_json::Value;

/// The commit of `branch` (since `since`) whose subject is `subject`.
fn by_subject(repo: &std::path::Path, since: &str, branch: &str, subject: &str) -> String {
    let log = git(
        repo,
        &["log", "--format=%H %s", &format!("{since}..{branch}")],
    );
    log.lines()
        .find_map(|l| l.split_once(' ').filter(|(_, s)| *s == subject))
        .map(|(h, _)| h.to_string())
        .unwrap_or_else(|| panic!("no `{subject}` on {branch}"))
}

fn diff(repo: &std::path::Path, commit: &str) -> dovetail_port::accuracy::change::Change {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["diff", "--no-renames", &format!("{commit}^"), commit])
        .output()
        .unwrap();
    assert!(out.status.success());
    parse_diff(&out.stdout)
}

#[test]
fn finer_stages_port_real_patches_as_the_maintainers_did() {
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
    let (old_tag, new_tag) = (prepared.old.tag(), prepared.new.tag());
    for (k, (subject, method)) in [
        // drivers/net/appletalk/Kconfig: the queue deletes `config COPS`, to which 6.1 added
        // a `select` and a `depends on` (and narrowed its dependency).
        (
            "Add removal patches for: 3c359, smctr, keyspan, cops",
            "deletion-drift",
        ),
        // 6.1 deleted `MODULE_SUPPORTED_DEVICE` on the line above the queue's change.
        ("snd-pcsp: Disable autoload", "word-merge"),
        ("tty/serial/omap: Make the locking RT aware", "word-merge"),
    ]
    .into_iter()
    .enumerate()
    {
        let old = by_subject(&repo, &old_tag, OLD_BRANCH, subject);
        let out = tool(
            &repo,
            &[
                "rebase",
                &new_tag,
                "--queue",
                &format!("{old}^..{old}"),
                "--branch",
                &format!("finer-{k}"),
                "--format",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{subject}: {}", stderr(&out));
        let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let p = &report["patches"][0];
        let methods: Vec<&str> = p["paths"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|path| path["placements"].as_array().into_iter().flatten())
            .filter_map(|pl| pl["method"].as_str())
            .collect();
        assert!(methods.contains(&method), "{subject}: {methods:?}");
        let ported = diff(&repo, p["new_commit"].as_str().unwrap());
        let theirs = diff(&repo, &by_subject(&repo, &new_tag, NEW_BRANCH, subject));
        assert_eq!(
            ported.differing_files(&theirs),
            Vec::<String>::new(),
            "{subject}: the port differs from the maintainers'"
        );
    }
}
