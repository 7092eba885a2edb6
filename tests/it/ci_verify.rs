//! The `ci` queue gate with `[queue] verify = "build"` on a real kernel: the sample queue on
//! Debian's 6.12 with a compile error seeded in patch 4 (tests/it/common `bisect_seeded_repo`,
//! the queue `bisect_real` bisects). The queue replays cleanly, the replayed result does not
//! build, and the gate's bisection names patch 4 with gcc's error in the JUnit XML and the
//! markdown summary. The build folder is the fork's own bisection workspace in the cache, so
//! later runs build incrementally; the cached verdicts of the queue's trees are dropped first
//! so every step really builds.

use crate::common;

use std::path::Path;

use common::*;

const GUILTY_SUBJECT: &str = "irq_pipeline: count handled interrupts in the sample core";

/// Drops every cached verdict of `trees` (any setup, any kind of check).
fn forget_verdicts(trees: &[String]) {
    let root = dovetail_port::kernels::cache_root().join("bisect/verdicts");
    for entry in walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy();
        if trees.iter().any(|t| name == format!("{t}.json")) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

/// (classname, name, failure message, failure text) of every failing JUnit case.
fn junit_failures(xml: &str) -> Vec<(String, String, String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|c| {
            let f = c.children().find(|n| n.has_tag_name("failure"))?;
            Some((
                c.attribute("classname").unwrap_or("").to_string(),
                c.attribute("name").unwrap_or("").to_string(),
                f.attribute("message").unwrap_or("").to_string(),
                f.text().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

#[test]
fn the_queue_gate_names_the_patch_that_breaks_the_build() {
    if !common::kernel_tier() {
        return;
    }
    let repo = bisect_seeded_repo();
    let gitdir = format!("--git-dir={}", repo.display());
    let commits: Vec<String> = git(
        &repo,
        &[&gitdir, "rev-list", "--reverse", "v6.12..bisect-both"],
    )
    .lines()
    .map(String::from)
    .collect();
    assert_eq!(commits.len(), 11);
    let guilty = &commits[3][..12];
    let trees: Vec<String> = commits
        .iter()
        .map(|c| git(&repo, &[&gitdir, "rev-parse", &format!("{c}^{{tree}}")]))
        .collect();
    forget_verdicts(&trees);
    let refs_before = git(&repo, &[&gitdir, "for-each-ref"]);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dovetail-port.toml");
    std::fs::write(
        &config,
        "[queue]\nbase = \"v6.12\"\nhead = \"bisect-both\"\nverify = \"build\"\n",
    )
    .unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let o = tool(
        Path::new("/"),
        &[
            "ci",
            "-C",
            repo.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--make-jobs",
            "2",
            "--junit",
            &file("junit.xml"),
            "--summary-md",
            &file("summary.md"),
        ],
    );
    let table = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{table}\n{}", stderr(&o));
    assert!(table.contains("CI FAILED"), "{table}");
    assert!(table.contains("patch #4 breaks it"), "{table}");

    // JUnit: the queue gate fails, and the guilty patch is a failing case of its own with
    // the first compiler error.
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let failures = junit_failures(&xml);
    let case = failures
        .iter()
        .find(|(_, name, _, _)| name == &format!("{guilty} {GUILTY_SUBJECT}"))
        .unwrap_or_else(|| panic!("no failing case for patch 4: {failures:#?}"));
    assert_eq!(case.0, "queue", "{case:?}");
    assert!(case.2.starts_with("breaks-build onto v6.12"), "{case:?}");
    assert!(case.3.contains("kernel/irq/handle.c:"), "{case:?}");
    assert!(case.3.contains("add_interrupt_randomness"), "{case:?}");
    assert!(
        failures
            .iter()
            .any(|(_, name, _, text)| name == "queue" && text.contains(guilty)),
        "{failures:#?}"
    );
    // No other patch is blamed.
    assert_eq!(
        failures
            .iter()
            .filter(|(class, ..)| class == "queue")
            .count(),
        1,
        "{failures:#?}"
    );

    // The markdown summary: the queue gate failed, its details name the patch and the error.
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("| `queue` | queue | ❌ failed |"), "{md}");
    assert!(
        md.contains(&format!("breaks-build: {guilty} {GUILTY_SUBJECT}")),
        "{md}"
    );
    assert!(md.contains("kernel/irq/handle.c:"), "{md}");

    // The gate replayed and bisected in scratch places: the fork's refs did not move.
    assert_eq!(git(&repo, &[&gitdir, "for-each-ref"]), refs_before);
}
