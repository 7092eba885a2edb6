//! `rebase` on the real Debian 6.1 and 6.12 kernel trees with the sample queue: every patch
//! gets the verdict recorded in patchsets/sample/expected.toml (which verify.sh derives from
//! git itself), and every ported commit's tree is what `git merge-tree` produces. `--strict`
//! (no resolution cascade) must reproduce git exactly; tests/it/cascade_real.rs has the cascade.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn expected_doc() -> toml::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("patchsets/sample/expected.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn expected() -> Vec<(String, String, String)> {
    let doc = expected_doc();
    doc["patch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["subject"].as_str().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
                p.get("renamed_to")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

fn check_report(report: &Value) {
    let patches = report["patches"].as_array().unwrap();
    let expected = expected();
    assert_eq!(patches.len(), expected.len());
    for (p, (subject, verdict, renamed_to)) in patches.iter().zip(&expected) {
        assert_eq!(p["subject"].as_str().unwrap(), subject);
        assert_eq!(
            p["verdict"].as_str().unwrap(),
            verdict,
            "verdict of `{subject}`"
        );
        if !renamed_to.is_empty() {
            let paths: Vec<&str> = p["paths"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["path"].as_str().unwrap())
                .collect();
            assert!(
                paths.contains(&renamed_to.as_str()),
                "`{subject}` should land in {renamed_to}: {paths:?}"
            );
            assert!(p["notes"][0]
                .as_str()
                .unwrap()
                .contains(renamed_to.as_str()));
        }
    }
}

#[test]
fn sample_queue_6_1_to_6_12_matches_git() {
    if !common::kernel_tier() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = real_repo(tmp.path());
    let out = tool(
        &repo,
        &[
            "queue",
            "import",
            &sample_dir(),
            "--onto",
            "v6.1",
            "--branch",
            "sample",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let refs_before = git(&repo, &["for-each-ref"]);

    let out = tool(
        &repo,
        &[
            "rebase",
            "v6.12",
            "--strict",
            "--queue",
            "v6.1..sample",
            "--report",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "conflicts are expected: {}",
        stderr(&out)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    check_report(&report);
    assert_eq!(
        git(&repo, &["for-each-ref"]),
        refs_before,
        "no ref moved while conflicts remain"
    );

    // Each decision is git's: the same tree for ported patches, a conflict where git has one.
    let mut tip = git(&repo, &["rev-parse", "v6.12"]);
    for p in report["patches"].as_array().unwrap() {
        let orig = p["key"].as_str().unwrap();
        let merged = std::process::Command::new("git")
            .args([
                "merge-tree",
                "--write-tree",
                &format!("--merge-base={orig}^"),
                &tip,
                orig,
            ])
            .current_dir(&repo)
            .output()
            .unwrap();
        let git_tree = String::from_utf8_lossy(&merged.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let subject = p["subject"].as_str().unwrap();
        match p["verdict"].as_str().unwrap() {
            "conflict" => assert_eq!(
                merged.status.code(),
                Some(1),
                "git agrees `{subject}` conflicts"
            ),
            "empty" => {}
            "already-upstream" => assert_eq!(
                git_tree,
                git(&repo, &["rev-parse", &format!("{tip}^{{tree}}")])
            ),
            _ => {
                let new = p["new_commit"].as_str().unwrap();
                assert_eq!(
                    git(&repo, &["rev-parse", &format!("{new}^{{tree}}")]),
                    git_tree,
                    "tree of `{subject}`"
                );
                tip = new.to_string();
            }
        }
    }
}

#[test]
fn sample_series_files_find_their_ancestor_by_index_lines() {
    if !common::kernel_tier() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = real_repo(tmp.path());
    // No queue branch and no base named: the pre-images come from the patches' index lines,
    // which name 6.1's blobs (the tarball import has the same blob ids).
    let out = tool(
        &repo,
        &[
            "rebase",
            "v6.12",
            "--strict",
            "--series",
            &sample_dir(),
            "--report",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    check_report(&report);
}
