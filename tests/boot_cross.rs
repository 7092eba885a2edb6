//! Extended test (opt-in for CI time: a full arm64 kernel build, 5-16 min on 2 cores):
//! `cargo test --release --test boot_cross -- --ignored`. Ignored by default, so the suite's
//! totals count it as ignored rather than passed.
//! Builds the 6.12 tree for arm64 with the cross compiler (tinyconfig + QEMU virt + KUnit),
//! boots it in qemu-system-aarch64 with the minimal nolibc init, and checks KUnit verdicts.

use std::process::Command;

use dovetail_port::kernels::{cache_root, KernelCache};

#[test]
#[ignore = "extended: a full arm64 cross build; run with --ignored"]
fn arm64_cross_build_boots_and_reports_kunit() {
    let tree = KernelCache::default_location()
        .ensure()
        .unwrap()
        .source_tree("6.12");
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args([
            "test", "--arch", "arm64", "-j2", "--format", "json", "--tree",
        ])
        .arg(&tree)
        .arg("--out")
        .arg(cache_root().join("out/test-6.12-arm64-kunit"))
        .arg("--work-dir")
        .arg(work.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["arch"], "arm64");
    assert_eq!(r["end"]["kind"], "completed");
    let cases = r["cases"].as_array().unwrap();
    assert!(cases
        .iter()
        .any(|c| c["suite"] == "list-kunit-test" && c["verdict"] == "pass"));
    assert!(r["counts"]["passed"].as_u64().unwrap() > 100);
}
