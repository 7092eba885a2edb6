//! End to end on the real Debian 6.1 tree: one x86_64 tinyconfig + QEMU + KUnit build, booted
//! under QEMU/TCG for the passing path and each failure path.
//!
//! The tree is the ci end-to-end test's fork (Debian's linux-source-6.1 plus a driver that no
//! Makefile builds) and the build directory is the one `dovetail-port ci` uses for its x86_64
//! KUnit entry (same tree, arch, config and fragments), so the suite compiles this kernel once
//! for both tests, and incrementally after the first run.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn bin() -> Command {
    Command::new(common::bin())
}

/// (tree, out dir), set up once per test process.
fn tree_and_out() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let (fork, _) = common::ci_fork();
        let out = common::ci_fork_build_dir(&fork);
        (fork, out)
    })
}

/// Builds once per test process; the out dir lock serialises concurrent builders.
fn built() -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let (tree, out_dir) = tree_and_out();
            let out = bin()
                .args(["build", "--arch", "x86_64", "-j2", "--tree"])
                .arg(tree)
                .arg("--out")
                .arg(out_dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "build failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out_dir.join("arch/x86/boot/bzImage")
        })
        .clone()
}

fn boot(work: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let kernel = built();
    let out = bin()
        .args([
            "boot", "--arch", "x86_64", "--format", "json", "--accel", "tcg",
        ])
        .arg("--kernel")
        .arg(&kernel)
        .arg("--work-dir")
        .arg(work)
        .args(extra)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    common::assert_schema("test-report", &json);
    (out, json)
}

fn case<'a>(report: &'a serde_json::Value, suite: &str, name: &str) -> &'a serde_json::Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["suite"] == suite && c["name"] == name)
        .unwrap_or_else(|| panic!("no case {suite}.{name} in report"))
}

#[test]
fn test_command_builds_boots_and_reports_kunit_and_payload_verdicts() {
    if !common::kernel_tier() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let junit = work.path().join("junit.xml");
    let (tree, out_dir) = tree_and_out();
    let out = bin()
        .args(["test", "--arch", "x86_64", "-j2", "--format", "json", "--tree"])
        .arg(tree)
        .arg("--out")
        .arg(out_dir)
        .arg("--work-dir")
        .arg(work.path())
        .arg("--junit")
        .arg(&junit)
        .args([
            "--run",
            // The marker protocol, plus lines in `evl test`'s format (no EVL kernel here).
            "echo \"@@dpt@@ ok kernel-release $(uname -r)\"; printf 'basic-xbuf: OK\\nstax-lock: no kernel support\\n'",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_schema("test-report", &r);
    assert_eq!(r["passed"], true);
    assert_eq!(r["end"]["kind"], "completed");
    assert_eq!(r["end"]["payload_status"], 0);
    // auto: KVM where it works, TCG here (KVM fails on this host and the probe falls back).
    assert!(r["accel"] == "tcg" || r["accel"] == "kvm", "{}", r["accel"]);
    // Real KUnit suites from the fragment, parsed from the real console.
    for (suite, name) in [
        ("list-kunit-test", "list_test_list_init"),
        ("bits-test", "genmask_test"),
        ("cmdline", "cmdline_test_noint"),
        ("example", "example_simple_test"),
        ("hlist", "hlist_test_init"),
        ("time_test_cases", "time64_to_tm_test_date_range"),
    ] {
        assert_eq!(case(&r, suite, name)["verdict"], "pass", "{suite}.{name}");
    }
    assert_eq!(case(&r, "example", "example_skip_test")["verdict"], "skip");
    let release = case(&r, "payload", "kernel-release");
    assert_eq!(release["verdict"], "pass");
    // The guest runs the 6.1 tree's kernel (its message is the guest's `uname -r`).
    assert!(
        release["message"].as_str().unwrap().starts_with("6.1.192"),
        "{release}"
    );
    assert_eq!(case(&r, "evl", "basic-xbuf")["verdict"], "pass");
    assert_eq!(case(&r, "evl", "stax-lock")["verdict"], "skip");
    // 87 of the 6.1 suites' KUnit cases pass here (plus the payload's two).
    assert!(
        r["counts"]["passed"].as_u64().unwrap() >= 85,
        "{}",
        r["counts"]
    );
    assert_eq!(r["counts"]["failed"], 0);
    let log = std::fs::read_to_string(work.path().join("console.log")).unwrap();
    assert!(
        log.contains("Linux version 6.1.192"),
        "the 6.1 kernel's banner is missing from the console log"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"list-kunit-test\""));
    assert!(xml.contains("<testcase classname=\"kernel\" name=\"boot\"/>"));
}

#[test]
fn payload_failure_exits_1_and_names_the_test() {
    if !common::kernel_tier() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (out, r) = boot(
        work.path(),
        &["--run", "echo '@@dpt@@ fail widget-probe returned -EIO'"],
    );
    assert_eq!(out.status.code(), Some(1));
    let c = case(&r, "payload", "widget-probe");
    assert_eq!(c["verdict"], "fail");
    assert_eq!(c["message"], "returned -EIO");
    assert_eq!(r["end"]["kind"], "completed");
    // The human summary names it too.
    let work2 = tempfile::tempdir().unwrap();
    let human = bin()
        .args(["boot", "--accel", "tcg", "--kernel"])
        .arg(built())
        .arg("--work-dir")
        .arg(work2.path())
        .args(["--run", "echo '@@dpt@@ fail widget-probe'"])
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&human.stdout).contains("FAIL    payload.widget-probe"));
}

#[test]
fn max_latency_gates_on_the_latmus_summary_of_the_payload() {
    if !common::kernel_tier() {
        return;
    }
    // latmus's summary line, printed by the payload as latmus would: the worst case is 15 us.
    let rts =
        "echo 'RTS|      1.000|      2.000|     15.000|       0|     0|    00:00:01/00:00:01'";
    let work = tempfile::tempdir().unwrap();
    let (out, r) = boot(work.path(), &["--run", rts, "--max-latency", "10"]);
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    assert_eq!(r["latency"][0]["max"], 15.0);
    let c = case(&r, "latmus", "max");
    assert_eq!(c["verdict"], "fail");
    assert!(c["message"].as_str().unwrap().contains("exceeds"), "{c}");
    let work = tempfile::tempdir().unwrap();
    let (out, r) = boot(work.path(), &["--run", rts, "--max-latency", "20"]);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(case(&r, "latmus", "max")["verdict"], "pass");
}

#[test]
fn init_that_exits_is_reported_as_killed_init() {
    if !common::kernel_tier() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let init = work.path().join("init.sh");
    std::fs::write(&init, "#!/bin/busybox sh\necho leaving\nexit 3\n").unwrap();
    let (out, r) = boot(
        work.path(),
        &["--init", init.to_str().unwrap(), "--timeout", "300"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r["end"]["kind"], "crashed");
    let ev = &r["crashes"][0];
    assert_eq!(ev["kind"], "killed_init");
    assert!(ev["summary"]
        .as_str()
        .unwrap()
        .contains("Attempted to kill init"));
}

fn qemu_running_with(path: &Path) -> bool {
    let out = Command::new("pgrep")
        .arg("-f")
        .arg(path.join("initramfs.cpio.gz"))
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn silent_guest_is_a_hang_and_qemu_is_gone() {
    if !common::kernel_tier() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // KUnit's time tests are silent for a few seconds under TCG: 30 s is well above that.
    let (out, r) = boot(
        work.path(),
        &[
            "--run",
            "sleep 600",
            "--idle-timeout",
            "30",
            "--timeout",
            "400",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r["end"]["kind"], "no_output");
    assert_eq!(r["end"]["seconds"], 30);
    assert!(!qemu_running_with(work.path()), "QEMU survived the hang");
}

#[test]
fn global_timeout_stops_a_chatty_guest() {
    if !common::kernel_tier() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (out, r) = boot(
        work.path(),
        &[
            "--run",
            "while true; do echo tick; sleep 1; done",
            "--idle-timeout",
            "60",
            // Long enough to boot even when the other tests' guests share the CPUs.
            "--timeout",
            "90",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r["end"]["kind"], "global_timeout");
    assert!(!qemu_running_with(work.path()), "QEMU survived the timeout");
    let log = std::fs::read_to_string(work.path().join("console.log")).unwrap();
    assert!(log.contains("tick"));
}
