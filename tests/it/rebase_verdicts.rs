//! `upstream-equivalent` and `obsolete` on small real git repositories: each verdict with its
//! evidence, the look-alikes that must not get it, and the session's stop on them
//! (`--continue` drops the patch, `--continue --apply` forces it through).

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const FOO: &str = "#include <linux/kernel.h>\n\nstatic int setup_device(struct dev *d)\n{\n\tprepare_clocks(d);\n\tenable_power_domain(d);\n\tprogram_the_registers(d);\n\treturn start_the_device(d);\n}\n\nstatic void stop_device(struct dev *d)\n{\n\tdisable_power_domain(d);\n}\n";

const LEGACY: &str = "static int legacy_probe(struct dev *d)\n{\n\tif (d->legacy_mode_enabled)\n\t\tsetup_legacy_registers(d);\n\treturn program_legacy_device(d);\n}\n";

/// v1 → v2 (upstream) and v1 → queue. Upstream: takes `d->lock` at the top of setup_device,
/// deletes drivers/legacy.c (no copy anywhere), and moves `old_helper` from util.c to
/// helpers.c. The queue, one patch each:
/// 1. takes `d->lock` in setup_device too, lower down (upstream's change, another place);
/// 2. takes `d->lock` in stop_device and calls its own hook (looks alike, is not);
/// 3. edits drivers/legacy.c (gone: obsolete);
/// 4. edits `old_helper` (moved: not obsolete, a conflict);
/// 5. an unrelated change.
fn fixture(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "drivers/foo.c", FOO);
    write(dir, "drivers/legacy.c", LEGACY);
    let util = format!(
        "{}\nint old_helper(int x)\n{{\n\tint value = compute_the_value(x);\n\treturn adjust_the_value(value);\n}}\n",
        lines("util", 12)
    );
    write(dir, "lib/util.c", &util);
    write(dir, "lib/other.c", &lines("other", 10));
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);

    git(dir, &["checkout", "-q", "-b", "queue"]);
    let q1 = replace_line(
        FOO,
        "\tprogram_the_registers(d);\n",
        "\tprogram_the_registers(d);\n\tmutex_lock(&d->lock);\n",
    );
    write(dir, "drivers/foo.c", &q1);
    commit_all(dir, "foo: lock the device while starting it");
    let q2 = replace_line(
        &q1,
        "\tdisable_power_domain(d);\n",
        "\tmutex_lock(&d->lock);\n\tqueue_only_stop_hook(d);\n\tdisable_power_domain(d);\n",
    );
    write(dir, "drivers/foo.c", &q2);
    commit_all(dir, "foo: call the stop hook");
    write(
        dir,
        "drivers/legacy.c",
        &replace_line(
            LEGACY,
            "setup_legacy_registers(d);",
            "setup_legacy_registers(d, LEGACY_FAST);",
        ),
    );
    commit_all(dir, "legacy: use the fast register setup");
    write(
        dir,
        "lib/util.c",
        &replace_line(
            &util,
            "\treturn adjust_the_value(value);\n",
            "\treturn adjust_the_value(value) + 1;\n",
        ),
    );
    commit_all(dir, "util: round the helper up");
    write(
        dir,
        "lib/other.c",
        &replace_line(
            &lines("other", 10),
            "other line 5\n",
            "other line 5 queue\n",
        ),
    );
    commit_all(dir, "other: a change of its own");

    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(
        dir,
        "drivers/foo.c",
        &replace_line(
            FOO,
            "{\n\tprepare_clocks(d);\n",
            "{\n\tmutex_lock(&d->lock);\n\tprepare_clocks(d);\n",
        ),
    );
    git(dir, &["rm", "-q", "drivers/legacy.c"]);
    write(dir, "lib/util.c", &lines("util", 12));
    write(
        dir,
        "lib/helpers.c",
        "int old_helper(int x)\n{\n\tint value = compute_the_value(x);\n\treturn adjust_the_value(value);\n}\n",
    );
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
}

fn start(dir: &Path) -> (i32, Value) {
    json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    )
}

#[test]
fn each_verdict_with_its_evidence_and_no_look_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let (code, report) = start(dir);
    assert_eq!(code, 1, "the session stops on the verdicts");
    assert_eq!(
        verdicts(&report),
        [
            "upstream-equivalent",
            "merged",
            "obsolete",
            "conflict",
            "clean"
        ],
        "{report:#}"
    );
    // Upstream's line, where upstream put it: drivers/foo.c line 5.
    let eq = &report["patches"][0]["finding"];
    assert_eq!(eq["confidence"], "high");
    assert_eq!(eq["evidence"][0]["path"], "drivers/foo.c");
    assert_eq!(eq["evidence"][0]["line"], 5);
    assert!(eq["evidence"][0]["text"]
        .as_str()
        .unwrap()
        .contains("mutex_lock(&d->lock);"));
    // The look-alike is ported, its own hook with it.
    let look_alike = report["patches"][1]["new_commit"].as_str().unwrap();
    let foo = git(dir, &["show", &format!("{look_alike}:drivers/foo.c")]);
    assert!(foo.contains("queue_only_stop_hook(d);"), "{foo}");
    assert_eq!(foo.matches("mutex_lock(&d->lock);").count(), 2, "{foo}");
    // The gone file: obsolete, naming it.
    let ob = &report["patches"][2]["finding"];
    assert_eq!(ob["verdict"], "obsolete");
    assert_eq!(ob["evidence"][0]["path"], "drivers/legacy.c");
    // The moved function is found tree-wide: a conflict, not obsolete.
    assert!(report["patches"][3].get("finding").is_none());
    // Both verdicts are listed for review with their evidence.
    let review: Vec<u64> = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["patch"].as_u64().unwrap())
        .collect();
    assert_eq!(review, [1, 3]);
    let human = stdout(&tool(dir, &["rebase", "--status"]));
    rebase_snapshot_settings().bind(|| insta::assert_snapshot!(human));
}

#[test]
fn continue_drops_a_verdict_and_apply_forces_it_through() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    assert_eq!(start(dir).0, 1);
    // --apply with nothing to apply is refused.
    let out = tool(dir, &["rebase", "--continue", "--apply"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    // The first stop is the verdict on patch 1, in queue order.
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out)
            .contains("patch #1 `foo: lock the device while starting it`: upstream-equivalent"),
        "{}",
        stdout(&out)
    );
    // --continue --apply: forced through, on the target; the patches after it replayed on top.
    let out = tool(dir, &["rebase", "--continue", "--apply"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // ... and the next stop is the obsolete patch.
    assert!(stdout(&out).contains("patch #3"), "{}", stdout(&out));
    assert!(stdout(&out).contains(": obsolete"), "{}", stdout(&out));
    let (_, report) = json_run(dir, &["rebase", "--status", "--report", "json"]);
    let p1 = &report["patches"][0];
    assert_eq!(p1["finding"]["decision"], "applied");
    let forced = p1["new_commit"].as_str().expect("forced through: a commit");
    let foo = git(dir, &["show", &format!("{forced}:drivers/foo.c")]);
    assert_eq!(foo.matches("mutex_lock(&d->lock);").count(), 2);
    let p2 = report["patches"][1]["new_commit"].as_str().unwrap();
    assert_eq!(git(dir, &["rev-parse", &format!("{p2}^")]), forced);
    // --continue drops it (the default); the conflict waits next.
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("patch #4"), "{}", stdout(&out));
    let (_, report) = json_run(dir, &["rebase", "--status", "--report", "json"]);
    assert_eq!(report["patches"][2]["verdict"], "obsolete");
    assert_eq!(report["patches"][2]["finding"]["decision"], "dropped");
    assert!(report["patches"][2].get("new_commit").is_none());
    // Skip the real conflict; the branch is written without the obsolete patch.
    let out = tool(dir, &["rebase", "--skip"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = git(dir, &["log", "--format=%s", "v2..queue-on-v2"]);
    assert_eq!(
        log,
        "other: a change of its own\nfoo: call the stop hook\nfoo: lock the device while starting it"
    );
}

#[test]
fn strict_runs_judge_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let (_, report) = json_run(
        dir,
        &[
            "rebase",
            "v2",
            "--strict",
            "--queue",
            "v1..queue",
            "--report",
            "json",
        ],
    );
    assert_eq!(
        verdicts(&report),
        ["merged", "merged", "conflict", "conflict", "clean"]
    );
}

const SETUP: &str = "static int setup_device(struct dev *d)\n{\n\tprepare_clocks(d);\n\tenable_power_domain(d);\n\tprogram_the_registers(d);\n\treturn start_the_device(d);\n}\n\nstatic void stop_device(struct dev *d)\n{\n\tdisable_power_domain(d);\n}\n";

/// The queue's patch: locks the register programming in setup_device and records the start.
const LOCKED: &str = "static int setup_device(struct dev *d)\n{\n\tunsigned long flags;\n\n\tprepare_clocks(d);\n\tspin_lock_irqsave(&d->hw_lock, flags);\n\td->state = DEV_STARTING;\n\tenable_power_domain(d);\n\tprogram_the_registers_locked(d);\n\tspin_unlock_irqrestore(&d->hw_lock, flags);\n\trecord_the_start(d, DEV_TRACE_ID);\n\treturn start_the_device(d);\n}\n\nstatic void stop_device(struct dev *d)\n{\n\tdisable_power_domain(d);\n}\n";

/// A one-patch queue (LOCKED) on v1, and v2 = `upstream`.
fn took_and_edited(dir: &Path, upstream: &str) {
    one_patch(
        dir,
        "drivers/dev.c",
        [SETUP, LOCKED, upstream],
        "dev: lock the register programming",
    );
}

/// A repository where `path` is `texts[0]` at v1, the queue's one patch (`subject`) makes
/// it `texts[1]`, and v2 has `texts[2]`.
fn one_patch(dir: &Path, path: &str, texts: [&str; 3], subject: &str) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, path, texts[0]);
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(dir, path, texts[1]);
    commit_all(dir, subject);
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(dir, path, texts[2]);
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
}

#[test]
fn a_patch_upstream_took_and_kept_editing_is_equivalent_over_the_whole_patch() {
    // Upstream took the patch, then renamed the calls around it and traced the start its
    // own way: no hunk matches as it stands, but five of the six lines it brings are in
    // setup_device and the line it removes is gone.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let upstream = LOCKED
        .replace("prepare_clocks(d)", "prepare_all_clocks(d, CLK_ALL)")
        .replace("enable_power_domain(d)", "enable_power_domains(d, PD_ALL)")
        .replace("record_the_start(d, DEV_TRACE_ID)", "trace_device_start(d)");
    took_and_edited(dir, &upstream);
    let (code, report) = start(dir);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report), ["upstream-equivalent"], "{report:#}");
    let f = &report["patches"][0]["finding"];
    assert_eq!(f["confidence"], "medium");
    assert_eq!(f["evidence"][0]["path"], "drivers/dev.c");
    // The first of the found lines: the `flags` declaration, line 3 of upstream's file.
    assert_eq!(f["evidence"][0]["line"], 3, "{f:#}");
    assert!(f["evidence"][0]["what"]
        .as_str()
        .unwrap()
        .contains("5 of 6"));

    // The same lines, but in stop_device: another function doing the same thing.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let elsewhere = SETUP
        .replace("prepare_clocks(d)", "prepare_all_clocks(d, CLK_ALL)")
        .replace("enable_power_domain(d)", "enable_power_domains(d, PD_ALL)")
        .replace(
            "\tdisable_power_domain(d);\n",
            "\tunsigned long flags;\n\n\tspin_lock_irqsave(&d->hw_lock, flags);\n\td->state = DEV_STARTING;\n\tprogram_the_registers_locked(d);\n\tspin_unlock_irqrestore(&d->hw_lock, flags);\n\tdisable_power_domain(d);\n",
        );
    took_and_edited(dir, &elsewhere);
    let (_, report) = start(dir);
    assert_ne!(verdicts(&report), ["upstream-equivalent"], "{report:#}");
}

const RB_TYPE: &str = "#ifndef _LINUX_RB_TYPE_H\n#define _LINUX_RB_TYPE_H\n\nstruct rb_node {\n\tunsigned long  __rb_parent_color;\n\tstruct rb_node *rb_right;\n\tstruct rb_node *rb_left;\n} __attribute__((aligned(sizeof(long))));\n\nstruct rb_root {\n\tstruct rb_node *rb_node;\n};\n\n#define RB_ROOT\t(struct rb_root) { NULL, }\n\n#endif\n";

/// A queue patch adds include/rb_type.h; upstream added `upstream_file` (path, text).
fn new_file_fixture(dir: &Path, upstream_file: (&str, &str)) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "include/rbtree.h", &lines("rbtree", 8));
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(dir, "include/rb_type.h", RB_TYPE);
    commit_all(dir, "rbtree: split out the type definitions");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(dir, upstream_file.0, upstream_file.1);
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
}

#[test]
fn a_new_file_upstream_added_under_another_name_is_equivalent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let upstream = RB_TYPE
        .replace("_LINUX_RB_TYPE_H", "_LINUX_RB_TYPES_H")
        .replace("#define RB_ROOT\t", "#define RB_ROOT ");
    new_file_fixture(dir, ("include/rb_types.h", &upstream));
    let (code, report) = start(dir);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report), ["upstream-equivalent"], "{report:#}");
    let f = &report["patches"][0]["finding"];
    assert_eq!(f["evidence"][0]["path"], "include/rb_types.h", "{f:#}");

    // A new header of upstream's in the same folder with other content: not the patch's.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let other = "#ifndef _LINUX_RB_AUGMENT_H\n#define _LINUX_RB_AUGMENT_H\n\nstruct rb_augment_callbacks {\n\tvoid (*propagate)(struct rb_node *node, struct rb_node *stop);\n\tvoid (*copy)(struct rb_node *old, struct rb_node *new);\n};\n\n#endif\n";
    new_file_fixture(dir, ("include/rb_augment.h", other));
    let (code, report) = start(dir);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(verdicts(&report), ["clean"], "{report:#}");
}

const SCHED: &str = "#include <linux/sched.h>\n\nvoid context_switch(struct task_struct *prev, struct task_struct *next)\n{\n\tswitch_mm(prev, next);\n\tswitch_to(prev, next);\n}\n";

/// The queue saves a task's local mappings across a context switch with two helpers of its
/// own; upstream (`upstream`) reworked the same switch its own way.
fn helpers_fixture(dir: &Path, upstream: &str) {
    let queue = SCHED.replace(
        "void context_switch",
        "static void kmap_local_sched_out(void)\n{\n\tif (current->kmap_ctrl.idx)\n\t\t__kmap_local_sched_out();\n}\n\nstatic void kmap_local_sched_in(void)\n{\n\tif (current->kmap_ctrl.idx)\n\t\t__kmap_local_sched_in();\n}\n\nvoid context_switch",
    )
    .replace(
        "\tswitch_mm(prev, next);\n",
        "\tkmap_local_sched_out();\n\tswitch_mm(prev, next);\n\tkmap_local_sched_in();\n",
    );
    one_patch(
        dir,
        "kernel/sched/core.c",
        [SCHED, &queue, upstream],
        "sched: store local kmaps in the task",
    );
}

#[test]
fn a_patch_whose_every_new_name_upstream_defines_is_equivalent() {
    // Upstream merged the feature under the same names with other bodies and calls them from
    // another place: no line matches, but applying the patch would define both twice.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let upstream = "#include <linux/sched.h>\n\nstatic inline void kmap_local_sched_out(struct task_struct *prev)\n{\n\tif (unlikely(prev->kmap_ctrl.idx))\n\t\t__kmap_local_sched_out(prev);\n}\n\nstatic inline void kmap_local_sched_in(struct task_struct *next)\n{\n\tif (unlikely(next->kmap_ctrl.idx))\n\t\t__kmap_local_sched_in(next);\n}\n\nstatic void prepare_task_switch(struct task_struct *prev)\n{\n\tkmap_local_sched_out(prev);\n}\n\nvoid context_switch(struct task_struct *prev, struct task_struct *next)\n{\n\tprepare_task_switch(prev);\n\tswitch_mm_irqs_off(prev, next);\n\tswitch_to(prev, next);\n\tkmap_local_sched_in(next);\n}\n";
    helpers_fixture(dir, upstream);
    let (code, report) = start(dir);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report), ["upstream-equivalent"], "{report:#}");
    let f = &report["patches"][0]["finding"];
    assert_eq!(f["confidence"], "medium");
    assert_eq!(f["evidence"][0]["path"], "kernel/sched/core.c");
    // The first definition: kmap_local_sched_out on line 3 of upstream's file.
    assert_eq!(f["evidence"][0]["line"], 3, "{f:#}");
    let what = f["evidence"][0]["what"].as_str().unwrap();
    assert!(
        what.contains("`kmap_local_sched_in`, `kmap_local_sched_out`"),
        "{what}"
    );

    // Upstream has only one of the two: the patch brings something new, it is not judged.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let one = upstream
        .replace("static inline void kmap_local_sched_in(struct task_struct *next)\n{\n\tif (unlikely(next->kmap_ctrl.idx))\n\t\t__kmap_local_sched_in(next);\n}\n\n", "")
        .replace("\tkmap_local_sched_in(next);\n", "");
    helpers_fixture(dir, &one);
    let (_, report) = start(dir);
    assert_ne!(verdicts(&report), ["upstream-equivalent"], "{report:#}");
}

#[test]
fn names_in_a_file_upstream_has_as_the_patch_made_it_count_as_defined() {
    // The patch adds its helpers to a header (which upstream has exactly as the patch made
    // it) and calls them from core.c, which upstream calls them from elsewhere.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let header = "#ifndef _KMAP_H\n#define _KMAP_H\nstatic inline void kmap_local_sched_out(void)\n{\n\t__kmap_local_sched_out();\n}\n\nstatic inline void kmap_local_sched_in(void)\n{\n\t__kmap_local_sched_in();\n}\n#endif\n";
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "kernel/sched/core.c", SCHED);
    write(
        dir,
        "include/kmap.h",
        "#ifndef _KMAP_H\n#define _KMAP_H\n#endif\n",
    );
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(dir, "include/kmap.h", header);
    write(
        dir,
        "kernel/sched/core.c",
        &SCHED.replace(
            "\tswitch_mm(prev, next);\n",
            "\tkmap_local_sched_out();\n\tswitch_mm(prev, next);\n\tkmap_local_sched_in();\n",
        ),
    );
    commit_all(dir, "sched: store local kmaps in the task");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(dir, "include/kmap.h", header);
    write(
        dir,
        "kernel/sched/core.c",
        "#include <linux/sched.h>\n\nstatic void prepare_task_switch(struct task_struct *prev)\n{\n\tif (prev->kmap_ctrl.idx) kmap_local_sched_out();\n}\n\nvoid context_switch(struct task_struct *prev, struct task_struct *next)\n{\n\tprepare_task_switch(prev);\n\tswitch_mm_irqs_off(prev, next);\n\tswitch_to(prev, next);\n}\n\nvoid finish_task_switch(void)\n{\n\tif (current->kmap_ctrl.idx) kmap_local_sched_in();\n}\n",
    );
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
    let (code, report) = start(dir);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report), ["upstream-equivalent"], "{report:#}");
    let e = &report["patches"][0]["finding"]["evidence"][0];
    assert_eq!(e["path"], "include/kmap.h", "{report:#}");
    assert_eq!(e["line"], 3, "{e:#}");
}
