//! `ci` on small real git repositories: the queue gate (rebase engine in a scratch repository),
//! `ci init`, config errors, JUnit/markdown/JSON outputs. The kernel end to end is in ci_e2e.rs.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// A fork: `base` (tag v1.0), upstream moves on (`upstream` branch, tag v1.1) changing a line
/// the queue also changes, and the queue (`main`) has two commits on v1.0.
fn fork(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    write(dir, "kernel/sched.c", &lines("sched", 30));
    write(dir, "drivers/x.c", &lines("x", 30));
    commit_all(dir, "base");
    git(dir, &["tag", "v1.0"]);
    git(dir, &["checkout", "-q", "-b", "upstream"]);
    let t = std::fs::read_to_string(dir.join("kernel/sched.c")).unwrap();
    write(
        dir,
        "kernel/sched.c",
        &replace_line(&t, "sched line 10\n", "sched line 10 upstream\n"),
    );
    commit_all(dir, "upstream change");
    git(dir, &["tag", "v1.1"]);
    git(dir, &["checkout", "-q", "main"]);
    let t = std::fs::read_to_string(dir.join("kernel/sched.c")).unwrap();
    write(
        dir,
        "kernel/sched.c",
        &replace_line(&t, "sched line 10\n", "sched line 10 dovetail\n"),
    );
    commit_all(dir, "sched: add alternate scheduling hook");
    let t = std::fs::read_to_string(dir.join("drivers/x.c")).unwrap();
    write(
        dir,
        "drivers/x.c",
        &replace_line(&t, "x line 3\n", "x line 3 oob\n"),
    );
    commit_all(dir, "x: oob support");
}

fn config(dir: &Path, onto: &str) {
    write(
        dir,
        "dovetail-port.toml",
        &format!("[queue]\nbase = \"v1.0\"\nonto = \"{onto}\"\n"),
    );
}

fn python(code: &str, arg: &Path) -> std::process::Output {
    Command::new("/usr/bin/python3")
        .args(["-c", code])
        .arg(arg)
        .output()
        .unwrap()
}

/// Parses JUnit with junitparser and returns "suite|case|result" lines.
fn junit_cases(path: &Path) -> Vec<String> {
    let out = python(
        "import sys\nfrom junitparser import JUnitXml\nx = JUnitXml.fromfile(sys.argv[1])\n\
for s in x:\n  for c in s:\n    r = c.result[0].__class__.__name__ if c.result else 'Pass'\n    print(f'{s.name}|{c.name}|{r}')",
        path,
    );
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

#[test]
fn queue_gate_reports_the_conflict_and_nothing_of_the_fork_moves() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fork(dir);
    config(dir, "v1.1");
    git(dir, &["add", "dovetail-port.toml"]);
    let before = user_state(dir);
    let objects_before = git(dir, &["count-objects"]);
    let reports = tempfile::tempdir().unwrap();
    let junit = reports.path().join("junit.xml");
    let md = reports.path().join("summary.md");
    let json = reports.path().join("report.json");
    let o = tool(
        dir,
        &[
            "ci",
            "--only",
            "queue",
            "--junit",
            junit.to_str().unwrap(),
            "--summary-md",
            md.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("queue") && out.contains("FAILED"), "{out}");
    assert!(
        out.contains("sched: add alternate scheduling hook"),
        "{out}"
    );
    assert!(out.contains("CI FAILED"), "{out}");
    // Nothing of the user's moved, no session and no objects were left behind.
    assert_eq!(user_state(dir), before);
    assert_eq!(git(dir, &["count-objects"]), objects_before);
    assert!(!dir.join(".git/dovetail-port").exists());

    let cases = junit_cases(&junit);
    assert!(
        cases.contains(&"queue|queue|Failure".to_string()),
        "{cases:?}"
    );
    assert!(
        cases.iter().any(|c| c.starts_with("queue|")
            && c.contains("sched: add alternate scheduling hook|Failure")),
        "{cases:?}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| `queue` | queue | ❌ failed |"), "{md}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    common::assert_schema("ci", &j);
    assert_eq!(j["passed"], false);
    assert_eq!(j["gates"][0]["queue"]["counts"]["conflict"], 1);
    assert_eq!(j["gates"][0]["queue"]["counts"]["clean"], 1);

    // Onto its own base the queue replays cleanly: exit 0.
    config(dir, "v1.0");
    let o = tool(
        dir,
        &["ci", "--only", "queue", "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("2 clean"), "{}", stdout(&o));
    assert!(junit_cases(&junit).contains(&"queue|queue|Pass".to_string()));
    // From a subfolder, the config is found in the parent.
    let o = tool(&dir.join("drivers"), &["ci", "--only", "queue"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn init_writes_a_default_that_runs_and_refuses_to_overwrite() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fork(dir);
    // A kernel-like tree: version in the Makefile, arch folders, Dovetail's pipeline core.
    write(
        dir,
        "Makefile",
        "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n",
    );
    write(dir, "arch/x86/Kconfig", "");
    write(dir, "arch/arm64/Kconfig", "");
    write(dir, "kernel/irq/pipeline.c", "");
    commit_all(dir, "tree");
    git(dir, &["tag", "v1.2"]);
    let o = tool(dir, &["ci", "init"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.join("dovetail-port.toml")).unwrap();
    assert!(text.contains("base = \"v1.2\""), "{text}");
    assert!(text.contains("arch = \"x86_64\""), "{text}");
    assert!(text.contains("# arch = \"arm64\""), "{text}");
    assert!(!text.contains("riscv64"), "{text}");
    assert!(text.contains("fragments = [\"dovetail\"]"), "{text}");
    assert!(text.contains("tests = [\"kunit\", \"torture\"]"), "{text}");
    // The default's queue gate runs (HEAD is at the base tag: nothing to replay).
    let o = tool(dir, &["ci", "--only", "queue"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // A second init keeps the user's file.
    write(dir, "dovetail-port.toml", "# mine\n");
    let o = tool(dir, &["ci", "init"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("already exists") && stderr(&o).contains("hint: pass --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("dovetail-port.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn bad_input_is_a_one_line_error_naming_the_place() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fork(dir);
    let o = tool(dir, &["ci"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no dovetail-port.toml") && stderr(&o).contains("ci init"),
        "{}",
        stderr(&o)
    );

    write(
        dir,
        "dovetail-port.toml",
        "[queue]\nbase = \"v1.0\"\n\n[[matrix]]\narch = \"x86_64\"\ntests = [\"ktest\"]\n",
    );
    let o = tool(dir, &["ci"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("dovetail-port.toml:6:") && e.contains("ktest"),
        "{e}"
    );

    config(dir, "v9.9");
    let o = tool(dir, &["ci", "--only", "queue"]);
    // The gate ran and could not resolve its target: an error row, exit 1, named ref.
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("`v9.9` is not a commit"),
        "{}",
        stdout(&o)
    );

    config(dir, "v1.0");
    let o = tool(dir, &["ci", "--entry", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no matrix entry named `nope`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn lint_gate_counts_only_changed_functions_and_fail_fast_skips_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fork(dir);
    // Upstream code (in v1.0) with a violation, then the queue adds a driver with another one.
    let driver = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ci/oob_demo/oob_demo.c"),
    )
    .unwrap();
    git(dir, &["checkout", "-q", "-b", "old", "v1.0"]);
    write(dir, "drivers/old/old.c", &driver.replace("demo_", "old_"));
    commit_all(dir, "old driver");
    git(dir, &["tag", "-f", "v1.0"]);
    git(dir, &["checkout", "-q", "main"]);
    git(dir, &["rebase", "-q", "v1.0"]);
    write(dir, "drivers/new/new.c", &driver);
    commit_all(dir, "new oob driver");
    write(
        dir,
        "dovetail-port.toml",
        "[queue]\nbase = \"v1.0\"\nonto = \"v1.1\"\n[lint]\npaths = [\"drivers\"]\n",
    );
    let sarif = dir.join("../lint.sarif");
    let o = tool(
        dir,
        &["ci", "--only", "lint", "--sarif", sarif.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    // Diff mode against the queue base: the new driver's finding, not the old one's.
    assert!(out.contains("1 new finding(s)"), "{out}");
    assert!(
        out.contains("drivers/new/new.c:17: [oob-sleeping-lock]"),
        "{out}"
    );
    assert!(!out.contains("old.c"), "{out}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(s["runs"][0]["results"].as_array().unwrap().len(), 1);

    // `[lint] kconfig` reaches the engine: a missing .config is an error naming it.
    write(
        dir,
        "dovetail-port.toml",
        "[queue]\nbase = \"v1.0\"\n[lint]\npaths = [\"drivers\"]\nkconfig = \"nope.config\"\n",
    );
    let o = tool(dir, &["ci", "--only", "lint"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("nope.config"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    write(
        dir,
        "dovetail-port.toml",
        "[queue]\nbase = \"v1.0\"\nonto = \"v1.1\"\n[lint]\npaths = [\"drivers\"]\n",
    );

    // The queue conflicts onto v1.1; without --fail-fast the lint still runs.
    let o = tool(dir, &["ci"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("lint ") && l.contains("FAILED")),
        "{out}"
    );
    // With --fail-fast it is reported as skipped.
    let o = tool(dir, &["ci", "--fail-fast"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("queue ") && l.contains("FAILED")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("lint ")
            && l.contains("SKIPPED")
            && l.contains("not run (fail-fast")),
        "{out}"
    );
}
