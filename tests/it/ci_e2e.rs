//! The gate end to end on the real Linux 6.1 tree: a fork (a clone sharing the kernel cache's
//! objects, at v6.1 plus a queue commit adding an oob driver with a seeded violation), a
//! two-entry gate (queue + lint over the driver with a baseline, and an x86_64 tinyconfig +
//! KUnit matrix entry booted under QEMU). The lint failure is reported, the boot entry still
//! runs, JUnit and SARIF are valid, exit 1; with the finding baselined, exit 0.
//!
//! The fork and its build directory live at stable places in the cache (the fork is reset,
//! never rebuilt, on later runs) so the kernel is compiled once and rebuilt incrementally.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The fork at its known state, untracked files (the gate's files of a previous run) removed.
fn fork() -> (PathBuf, String) {
    let (fork, head) = ci_fork();
    git(&fork, &["clean", "-q", "-fdx"]);
    (fork, head)
}

fn run_gate(fork: &Path, reports: &Path) -> std::process::Output {
    tool(
        fork,
        &[
            "ci",
            "--accel",
            "tcg",
            "--make-jobs",
            "2",
            "--junit",
            reports.join("junit.xml").to_str().unwrap(),
            "--sarif",
            reports.join("lint.sarif").to_str().unwrap(),
            "--summary-md",
            reports.join("summary.md").to_str().unwrap(),
        ],
    )
}

fn junit_cases(path: &Path) -> Vec<String> {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys\nfrom junitparser import JUnitXml\nx = JUnitXml.fromfile(sys.argv[1])\n\
for s in x:\n  for c in s:\n    r = c.result[0].__class__.__name__ if c.result else 'Pass'\n    print(f'{s.name}|{c.classname}|{c.name}|{r}')",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "junitparser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn row<'a>(table: &'a str, gate: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(gate))
        .unwrap_or_else(|| panic!("no row for {gate} in:\n{table}"))
}

#[test]
fn lint_failure_is_reported_the_boot_entry_still_runs_and_a_baseline_clears_it() {
    if !common::kernel_tier() {
        return;
    }
    let (fork, head) = fork();
    let refs_before = git(&fork, &["for-each-ref"]);
    write(&fork, "dovetail-port.toml", CI_FORK_CONFIG);
    // An empty baseline: the seeded violation is new.
    write(&fork, "lint-baseline.json", "");
    let o = tool(
        &fork,
        &[
            "lint",
            "--baseline",
            "lint-baseline.json",
            "--write-baseline",
            "--root",
            ".",
            "arch/x86/boot/string.c",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let reports = tempfile::tempdir().unwrap();

    let o = run_gate(&fork, reports.path());
    let table = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{table}\n{}", stderr(&o));
    assert!(row(&table, "queue").contains("PASSED"), "{table}");
    assert!(row(&table, "queue").contains("1 clean"), "{table}");
    let lint = row(&table, "lint");
    assert!(
        lint.contains("FAILED") && lint.contains("1 new finding"),
        "{table}"
    );
    assert!(
        table.contains("demo_oob_ioctl() -> demo_update_config() -> mutex_lock()"),
        "{table}"
    );
    // The failing lint did not stop the matrix: the kernel was built, booted, tested.
    let entry = row(&table, "x86_64-kunit");
    assert!(
        entry.contains("PASSED") && entry.contains("boot completed"),
        "{table}\n{}",
        stderr(&o)
    );
    assert!(table.contains("CI FAILED"), "{table}");

    let cases = junit_cases(&reports.path().join("junit.xml"));
    assert!(
        cases.contains(&"lint|ci.lint|lint|Failure".to_string()),
        "{cases:?}"
    );
    assert!(
        cases.iter().any(|c| c.starts_with(
            "lint|lint.oob-sleeping-lock|drivers/misc/oob_demo/oob_demo.c:17|Failure"
        )),
        "{cases:?}"
    );
    assert!(
        cases.contains(&"x86_64-kunit|ci.boot|x86_64-kunit|Pass".to_string()),
        "{cases:?}"
    );
    assert!(
        cases.contains(&"x86_64-kunit|x86_64-kunit.payload|payload-ran|Pass".to_string()),
        "{cases:?}"
    );
    let kunit_passed = cases
        .iter()
        .filter(|c| c.starts_with("x86_64-kunit|x86_64-kunit.") && c.ends_with("|Pass"))
        .count();
    assert!(
        kunit_passed > 50,
        "only {kunit_passed} passing cases: {cases:?}"
    );
    assert!(
        cases.contains(&"queue|ci.queue|queue|Pass".to_string()),
        "{cases:?}"
    );

    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.path().join("lint.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{sarif}");
    assert_eq!(results[0]["ruleId"], "oob-sleeping-lock");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "drivers/misc/oob_demo/oob_demo.c"
    );
    let md = std::fs::read_to_string(reports.path().join("summary.md")).unwrap();
    assert!(md.contains("| `lint` | lint | ❌ failed |"), "{md}");
    assert!(md.contains("| `x86_64-kunit` | boot | ✅ passed |"), "{md}");

    // Baseline the finding: every gate passes (the kernel build is incremental now).
    let o = tool(
        &fork,
        &[
            "lint",
            "--baseline",
            "lint-baseline.json",
            "--write-baseline",
            // Paths relative to the fork root, as the gate reports them.
            "--root",
            ".",
            CI_FORK_DRIVER,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_gate(&fork, reports.path());
    let table = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{table}\n{}", stderr(&o));
    assert!(
        row(&table, "lint").contains("0 new finding(s), 1 suppressed"),
        "{table}"
    );
    assert!(row(&table, "x86_64-kunit").contains("PASSED"), "{table}");
    assert!(table.contains("CI PASSED"), "{table}");
    let cases = junit_cases(&reports.path().join("junit.xml"));
    assert!(
        cases
            .iter()
            .all(|c| !c.ends_with("|Failure") && !c.ends_with("|Error")),
        "{cases:?}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.path().join("lint.sarif")).unwrap())
            .unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["suppressions"][0]["kind"], "external",
        "{sarif}"
    );

    // The gate moved nothing in the fork: same HEAD, same refs, no rebase session.
    assert_eq!(git(&fork, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&fork, &["for-each-ref"]), refs_before);
    assert!(!fork.join(".git/dovetail-port").exists());
}
