//! `dovetail-port lint` on EVL 5.x shapes (tests/fixtures/lint/evl_helpers, written here):
//! helper assertions defined as macros in the tree (`inband_context_only()` stops the walk
//! like `WARN_ON(running_oob());`), the `evl_spin_lock*()` API on an `evl_spinlock_t`
//! (oob-safe), and switches to in-band that cover only their own block. Before this work
//! the byte-order switch rule hid all three seeded violations (0 findings).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[test]
fn helper_assertions_evl_locks_and_switches_by_control_flow() {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/evl_helpers");
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["lint", "-q", "--format", "json"])
        .arg(&tree)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f["rule"].as_str().unwrap(),
                f["line"],
                f["chain_text"].as_str().unwrap()
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            // After oob_context_only() and assert_evl_lock(): still oob.
            "oob-inband-alloc:25 helper_oob_ioctl() -> helper_drop_pool() -> kfree()",
            "oob-inband-spinlock:55 helper_oob_ioctl() -> helper_signal() -> spin_lock()",
            // msleep(2), on the path that did not switch; msleep(1) after the switch is not.
            "oob-might-sleep:46 helper_oob_ioctl() -> helper_syscall() -> msleep()",
        ]
    );
}
