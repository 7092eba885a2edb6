//! Every JSON report matches its published schema in docs/schemas/: the real commands run on
//! real inputs (a git repository built here, the cached kernel trees, recorded consoles) and
//! their output is validated. The slow reports are checked where they are produced: the
//! rebase tests through `common::json_run`, ci, bisect and boot in their own tests.

use crate::arch_common;
use crate::common;

use std::path::Path;
use std::process::Command;

use common::{assert_schema, commit_all, git, write};
use serde_json::Value;

fn schemas_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas")
}

/// Runs the tool in `dir` and returns its exit code and its stdout as JSON.
fn report(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(common::bin())
        .current_dir(dir)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn every_schema_is_valid_and_requires_the_version() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(schemas_dir()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".schema.json") {
            continue;
        }
        let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(schema["properties"]["schema_version"]["const"], 1);
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .contains(&"schema_version".into()),
            "{}",
            path.display()
        );
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "arch-status",
            "bisect",
            "build",
            "busybox",
            "ci",
            "doctor",
            "lint",
            "new-arch",
            "queue-list",
            "rebase",
            "test-report"
        ]
        .map(|n| format!("{n}.schema.json"))
    );
    // A report without its version, or with a verdict nobody defined, is refused.
    let fixture = schemas_dir().join("../../tests/fixtures/results/x86_64-6.12-kunit-pass.log");
    let (_, mut v) = report(
        Path::new("."),
        &[
            "results",
            "parse",
            "--format",
            "json",
            fixture.to_str().unwrap(),
        ],
    );
    v["cases"][0]["verdict"] = "maybe".into();
    let bad = std::panic::catch_unwind(|| assert_schema("test-report", &v));
    assert!(bad.is_err());
    v["cases"][0]["verdict"] = "pass".into();
    assert_schema("test-report", &v);
    v.as_object_mut().unwrap().remove("schema_version");
    assert!(std::panic::catch_unwind(|| assert_schema("test-report", &v)).is_err());
}

#[test]
fn host_and_parse_reports() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_, v) = report(here, &["doctor", "--format", "json"]);
    assert_schema("doctor", &v);
    for log in std::fs::read_dir(here.join("tests/fixtures/results")).unwrap() {
        let log = log.unwrap().path();
        let (code, v) = report(
            here,
            &[
                "results",
                "parse",
                "--format",
                "json",
                log.to_str().unwrap(),
            ],
        );
        assert!(code == 0 || code == 1, "{}", log.display());
        assert_schema("test-report", &v);
    }
    let (code, v) = report(
        here,
        &["lint", "--format", "json", "tests/fixtures/lint/oob_driver"],
    );
    assert_eq!(code, 1);
    assert!(!v["findings"].as_array().unwrap().is_empty());
    assert_schema("lint", &v);
    // The host's own busybox: nothing is fetched.
    let (code, v) = report(here, &["busybox", "--arch", "x86_64", "--format", "json"]);
    assert_eq!(code, 0);
    assert_schema("busybox", &v);
}

#[test]
fn queue_and_rebase_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    write(dir, "kernel/irq.c", "void f(void)\n{\n\tx = 1;\n}\n");
    write(dir, "kernel/clean.c", "int a;\n");
    commit_all(dir, "base");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(dir, "kernel/irq.c", "void f(void)\n{\n\tx = 2;\n}\n");
    commit_all(dir, "irq_pipeline: two");
    write(dir, "kernel/dovetail.c", "int d;\n");
    commit_all(dir, "dovetail: add");
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "kernel/irq.c", "void f(void)\n{\n\tx = 3;\n}\n");
    commit_all(dir, "upstream");
    git(dir, &["tag", "v2"]);

    let (_, v) = report(
        dir,
        &["queue", "list", "--queue", "v1..queue", "--format", "json"],
    );
    assert_eq!(v["patches"].as_array().unwrap().len(), 2);
    assert_schema("queue-list", &v);
    // A conflict, then the session's status, both through common::json_run's check.
    let (code, v) = common::json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--format", "json"],
    );
    assert_eq!(code, 1);
    assert_eq!(v["patches"][0]["verdict"], "conflict");
    let (_, v) = common::json_run(dir, &["rebase", "--status", "--format", "json"]);
    assert_eq!(v["finished"], false);
}

#[test]
fn arch_and_build_reports() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_common::arch_tree("v6.1", &["riscv"]);
    let t = tree.path().to_str().unwrap();
    let (code, v) = report(
        Path::new("."),
        &[
            "new-arch",
            "riscv64",
            "-C",
            t,
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    assert!(!v["changes"].as_array().unwrap().is_empty());
    assert_schema("new-arch", &v);
    let (_, v) = report(
        Path::new("."),
        &["arch-status", "riscv", "--tree", t, "--format", "json"],
    );
    assert_schema("arch-status", &v);

    let source = arch_common::cache().source_tree("6.12");
    let out = tempfile::tempdir().unwrap();
    let (code, v) = report(
        Path::new("."),
        &[
            "build",
            "--config-only",
            "-C",
            source.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert!(v["image"].is_null());
    assert_schema("build", &v);
}

/// What the lava-submit job does with `lavacli results JOB --json` files: JUnit for the
/// pipeline page and a report in the same schema as a local boot's.
#[test]
fn lava_results_become_junit_and_a_test_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // As lavacli prints them (its JSON is the server's results list, extra fields included).
    std::fs::write(
        dir.join("results-1234.json"),
        r#"[{"suite": "lava", "name": "job", "result": "pass", "url": "/results/1234/lava/job"},
 {"suite": "0_dovetail", "name": "kunit", "result": "pass", "measurement": "None"}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("results-1235.json"),
        r#"[{"suite": "lava", "name": "job", "result": "pass"},
 {"suite": "0_dovetail", "name": "latmus", "result": "fail"},
 {"suite": "0_dovetail", "name": "evl-test", "result": "skip"}]"#,
    )
    .unwrap();
    let (code, v) = report(
        dir,
        &[
            "results",
            "lava",
            "results-1234.json",
            "results-1235.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(v["counts"]["failed"], 1);
    assert_eq!(v["cases"][3]["suite"], "1235.0_dovetail");
    assert_schema("test-report", &v);
    let out = Command::new(common::bin())
        .current_dir(dir)
        .args(["results", "lava", "results-1234.json", "results-1235.json"])
        .args(["--format", "junit", "-o", "lava-junit.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(dir.join("lava-junit.xml")).unwrap();
    assert!(xml.contains("name=\"1235.0_dovetail\""), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    // Not lavacli's output: an error naming the file.
    std::fs::write(dir.join("bad.json"), "{}").unwrap();
    let out = Command::new(common::bin())
        .current_dir(dir)
        .args(["results", "lava", "bad.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("bad.json"));
}
