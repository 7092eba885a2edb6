//! `bisect` on real kernels: the sample queue forward-ported onto Debian's 6.12 with two
//! seeded faults (tests/it/common `bisect_seeded_repo`), x86_64 tinyconfig + KUnit builds in one
//! reused workspace, QEMU boots with the KUnit verdicts. Each fault is named with its
//! evidence in fewer checks than a plain bisection; the cached rerun builds nothing.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// The workspace (source tree + build folder) persists between test runs so the builds stay
/// incremental; the verdicts go to a fresh cache each run, so every step really runs.
fn bisect(repo: &Path, verdicts: &Path, args: &[&str]) -> (Output, Value) {
    let ws: PathBuf = dovetail_port::kernels::cache_root().join("bisect-test/workspace");
    let out = Command::new(bin())
        .current_dir(repo)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .env("DOVETAIL_PORT_CACHE", verdicts)
        .arg("bisect")
        .args(args)
        .arg("--workspace")
        .arg(&ws)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", stdout(&out), stderr(&out)));
    (out, report)
}

fn positions(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["patch"]["position"].as_u64().unwrap())
        .collect()
}

#[test]
fn seeded_build_and_kunit_faults_are_named_with_their_evidence() {
    if !common::kernel_tier() {
        return;
    }
    let repo = bisect_seeded_repo();
    let verdicts = tempfile::tempdir().unwrap();

    // 1. The compile error seeded in patch 4 (kept by every later patch).
    let (out, r) = bisect(
        &repo,
        verdicts.path(),
        &["--queue", "v6.12..bisect-both", "--build"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let g = &r["guilty"];
    assert_eq!(g["patch"]["position"], 4, "{r:#}");
    assert_eq!(
        g["patch"]["subject"],
        "irq_pipeline: count handled interrupts in the sample core"
    );
    assert_eq!(g["patch"]["topic"], "irq_pipeline");
    let e = &g["evidence"];
    assert_eq!(e["kind"], "compile_error", "{e:#}");
    assert_eq!(e["file"], "kernel/irq/handle.c");
    assert!(e["line"].as_u64().unwrap() > 190, "{e:#}");
    assert!(e["column"].as_u64().is_some());
    // gcc quotes with ‘’ in a UTF-8 locale, '' in the C locale.
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.starts_with("expected ") && msg.ends_with("before ‘add_interrupt_randomness’")
            || msg.ends_with("before 'add_interrupt_randomness'"),
        "{e:#}"
    );
    // Patches touching only other sources cannot cause a compile error in handle.c:
    // smp_processor_id (5), chip.c (6), sun4i (13), the perf watchdog (14).
    let skipped = positions(&r["cannot_matter"]);
    for p in [5, 6, 8, 9] {
        assert!(
            skipped.contains(&p),
            "patch {p} should be skipped: {skipped:?}"
        );
    }
    let checks = r["checks"].as_u64().unwrap();
    let plain = r["plain_bisection_checks"].as_u64().unwrap();
    assert!(checks < plain, "{checks} checks, plain bisection {plain}");
    assert_eq!(r["builds_run"], r["checks_run"]);
    eprintln!(
        "build fault: {checks} checks ({} builds) vs plain {plain}, {:.0} s",
        r["builds_run"],
        r["secs"].as_f64().unwrap()
    );

    // 2. The same bisection again: every verdict comes from the cache, nothing is built.
    let (out, again) = bisect(
        &repo,
        verdicts.path(),
        &["--queue", "v6.12..bisect-both", "--build"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(again["builds_run"], 0);
    assert_eq!(again["checks_run"], 0);
    assert_eq!(again["guilty"]["patch"]["position"], 4);

    // 2b. `rebase --verify build` names the same patch in the session: the queue replayed
    // onto its own base keeps every tree, so the verdicts cached above answer every step.
    let ws: PathBuf = dovetail_port::kernels::cache_root().join("bisect-test/workspace");
    let rebase = Command::new(bin())
        .current_dir(&repo)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .env("DOVETAIL_PORT_CACHE", verdicts.path())
        .args(["rebase", "v6.12", "--queue", "v6.12..bisect-both"])
        .args(["--branch", "verify-test", "--force", "--verify", "build"])
        .arg("--workspace")
        .arg(&ws)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(rebase.status.code(), Some(1), "{}", stderr(&rebase));
    let r: Value = serde_json::from_str(&stdout(&rebase)).unwrap();
    let v = &r["verification"];
    assert_eq!(v["outcome"], "found", "{v:#}");
    assert_eq!(v["guilty"], 4, "{v:#}");
    assert_eq!(v["builds_run"], 0, "{v:#}");
    assert!(
        v["evidence"]
            .as_str()
            .unwrap()
            .contains("kernel/irq/handle.c"),
        "{v:#}"
    );
    let verdicts_of: Vec<&str> = r["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts_of[3], "breaks-build", "{verdicts_of:?}");
    assert_eq!(
        verdicts_of
            .iter()
            .filter(|v| v.starts_with("breaks"))
            .count(),
        1,
        "{verdicts_of:?}"
    );
    // The session keeps it: --status shows the verdict and exits 1.
    let status = Command::new(bin())
        .current_dir(&repo)
        .args(["rebase", "--status"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    let text = stdout(&status);
    assert!(text.contains("breaks-build"), "{text}");
    assert!(text.contains("patch #4 breaks it"), "{text}");

    // 3. The KUnit fault of patch 15 (position 10), on the queue without the build fault,
    // with the sample's own options so its suite is built. Trees before the suite's Kconfig
    // patch cannot take that configuration: untestable, stepped around.
    let demo_config = Path::new(env!("CARGO_MANIFEST_DIR")).join("patchsets/sample/demo.config");
    let (out, r) = bisect(
        &repo,
        verdicts.path(),
        &[
            "--queue",
            "v6.12..bisect-kunit",
            "--test",
            "irq_pipeline_sample",
            "--fragment",
            demo_config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let g = &r["guilty"];
    assert_eq!(g["patch"]["position"], 10, "{r:#}");
    assert_eq!(
        g["patch"]["subject"],
        "evl: add a debug check for out-of-band stage switches"
    );
    assert_eq!(g["patch"]["topic"], "evl");
    let e = &g["evidence"];
    assert_eq!(e["kind"], "test_case", "{e:#}");
    assert_eq!(e["name"], "irq_pipeline_sample.sample_switches_stage");
    assert_eq!(e["verdict"], "fail");
    assert!(
        e["log"]
            .as_str()
            .unwrap()
            .contains("pipeline_sample_kunit.c"),
        "{e:#}"
    );
    // The patches the built configuration does not compile were never built.
    let skipped = positions(&r["cannot_matter"]);
    for p in [5, 8] {
        assert!(
            skipped.contains(&p),
            "patch {p} should be skipped: {skipped:?}"
        );
    }
    let builds = r["builds_run"].as_u64().unwrap();
    let plain = r["plain_bisection_checks"].as_u64().unwrap();
    assert!(builds < plain, "{builds} builds, plain bisection {plain}");
    assert!(r["boots_run"].as_u64().unwrap() >= 2);
    eprintln!(
        "KUnit fault: {} checks ({builds} builds, {} boots) vs plain {plain}, {:.0} s",
        r["checks"],
        r["boots_run"],
        r["secs"].as_f64().unwrap()
    );
}
