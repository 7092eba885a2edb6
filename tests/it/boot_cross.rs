//! Extended test: a full arm64 cross build and boot. Run it with
//! `cargo test --release --test it boot_cross -- --ignored`. Ignored by default, so the suite's
//! totals count it as ignored rather than passed.
//! Builds the 6.12 tree for arm64 with the cross compiler (tinyconfig + QEMU virt + KUnit, plus
//! a board's device tree through --make-target), boots it in qemu-system-aarch64 with
//! Debian's arm64 busybox-static (fetched by `dovetail-port busybox`) running a payload
//! command, then once more with the build's minimal nolibc init, and checks the verdicts.

use crate::common;

use std::path::Path;
use std::process::Command;

use dovetail_port::kernels::{cache_root, KernelCache};

fn test_json(tree: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let work = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args([
            "test", "--arch", "arm64", "-j2", "--format", "json", "--tree",
        ])
        .arg(tree)
        .arg("--out")
        .arg(out)
        .arg("--work-dir")
        .arg(work.path())
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {stderr}");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["arch"], "arm64");
    assert_eq!(r["end"]["kind"], "completed", "{r}");
    assert!(r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["suite"] == "list-kunit-test" && c["verdict"] == "pass"));
    assert!(r["counts"]["passed"].as_u64().unwrap() > 100);
    r
}

#[test]
#[ignore = "extended: a full arm64 cross build; run with --ignored"]
fn arm64_cross_build_boots_busybox_payload_and_reports_kunit() {
    if !common::kernel_tier() {
        return;
    }
    let tree = KernelCache::default_location()
        .ensure()
        .unwrap()
        .source_tree("6.12");
    let fetched = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["busybox", "--arch", "arm64"])
        .output()
        .unwrap();
    assert!(fetched.status.success(), "{fetched:?}");
    let out = cache_root().join("out/test-6.12-arm64-kunit");
    let dtb = "broadcom/bcm2711-rpi-4-b.dtb";
    let r = test_json(
        &tree,
        &out,
        &[
            "--make-target",
            dtb,
            "--run",
            "echo \"@@dpt@@ ok machine-$(uname -m)\"",
        ],
    );
    assert!(out.join("arch/arm64/boot/dts").join(dtb).is_file());
    assert!(
        r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "machine-aarch64" && c["verdict"] == "pass"),
        "{r}"
    );
    // The build's own minimal init still boots KUnit-only guests without any busybox.
    let mini = out.join("dovetail-port-init");
    test_json(&tree, &out, &["--init", mini.to_str().unwrap()]);
}
