//! The demo end to end, as `./scripts/demo` runs it: real Debian kernels, the sample queue
//! rebased 6.1 → 6.12, the result built for x86_64 and booted in QEMU with its KUnit tests.

mod common;

use common::*;

#[test]
fn demo_rebases_builds_boots_and_reports() {
    if !common::kernel_tier() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tool(dir.path(), &["demo"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    // Every stage ran, in order.
    let stages = [
        "== 1. kernels",
        "== 2. rebase",
        "== 3. lint",
        "== 4. build",
        "== 5. boot + test",
    ];
    let mut at = 0;
    for stage in stages {
        let pos = text[at..]
            .find(stage)
            .unwrap_or_else(|| panic!("missing stage {stage}:\n{text}"));
        at += pos;
    }
    // The rebase report: all 18 patches with a verdict, the rename followed, the patch 6.12
    // already has in another form stopped on for review, and the one calling a function 6.12
    // removed flagged.
    assert!(text.contains("18 patches:"), "{text}");
    assert!(text.contains("needs-api"), "{text}");
    assert!(
        text.contains("[upstream-equivalent, medium confidence]"),
        "{text}"
    );
    // The cascade placed two of git's four conflicts; two are left for a human.
    assert!(
        text.contains("2 conflict, ") && text.contains("2 relocated"),
        "{text}"
    );
    // The lint ran over real files of the result and parsed them.
    assert!(
        text.contains("lint: scanned ") && text.contains("parse errors in "),
        "{text}"
    );
    assert!(text.contains("kernel/watchdog_hld.c was moved to kernel/watchdog_perf.c"));
    // The queue's own KUnit suite ran on the booted 6.12 result and passed.
    assert!(
        text.contains("KUnit suite irq_pipeline_sample: 3/3 passed"),
        "{text}"
    );
    assert!(text.contains("tests passed"), "{text}");
}
