//! The resolution cascade end to end on a small real git repository: one queue patch per stage
//! and per refusal, replayed onto an "upstream" release that breaks it the way kernel releases
//! do. Each patch is checked three ways: `--strict` gives git's conflict, the cascade's verdict,
//! and the ported file's exact content (or, for refusals, that the conflict stays with a reason).

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const KCONFIG: &str = "config X86_64\n\tdef_bool y\n\tselect HAVE_ARCH_A\n\tselect HAVE_ARCH_X\n\nconfig OTHER\n\tbool\n";
const MAKEFILE: &str =
    "obj-y := irqdesc.o handle.o\nobj-$(CONFIG_AUTOPROBE) += autoprobe.o\n\n# end\n";
const FLAGS: &str =
    "#ifndef FLAGS_H\n#define FLAGS_H\n\n#define F_SHARED\t0x1\n#define F_PERCPU\t0x2\n\n#endif\n";
const CORE: &str = "static void schedule_debug(int prev)\n{\n\tint a = prev;\n\n\tWARN(state() == CONTEXT_USER);\n\tcount(a);\n}\n\nint other(void)\n{\n\treturn 0;\n}\n";
const ENTRY: &str = "void enter(void)\n{\n\tprepare();\n\tcheck(x);\n\tgo(y);\n\tdone();\n}\n";
const VARS: &str = "/* tunables */\nint alpha = 1;\nint beta = 2;\n";
const TAIL: &str = "int first(void)\n{\n\treturn 1;\n}\n";
const SAME: &str = "static int limit = 1;\nstatic int other = 2;\n";
const HOOK: &str = "void h(void)\n{\n\tfoo();\n\tbar(old);\n}\n";
const ALPHA: &str = "static int alpha(int x)\n{\n\tint y0 = x;\n\tint y1 = x * 1;\n\tint y2 = x * 2;\n\tint y3 = x * 3;\n\tint y4 = x * 4;\n\tint y5 = x * 5;\n\tint y6 = x * 6;\n\tint y7 = x * 7;\n\tint y8 = x * 8;\n\treturn y1 + y8;\n}\n\n";
const BETA: &str = "static void beta(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\td->count++;\n\tkick(d);\n\tspin_unlock(&d->lock);\n}\n\n";
const GAMMA: &str = "int gamma(void)\n{\n\treturn alpha(1);\n}\n";

/// (file, subject, queue version, upstream version)
fn cases() -> Vec<(&'static str, &'static str, String, String)> {
    vec![
        (
            "arch/x86/Kconfig",
            "x86: select HAVE_DOVETAIL",
            KCONFIG.replace(
                "\tselect HAVE_ARCH_X\n",
                "\tselect HAVE_ARCH_X\n\tselect HAVE_DOVETAIL\n",
            ),
            KCONFIG.replace(
                "\tselect HAVE_ARCH_X\n",
                "\tselect HAVE_ARCH_X\n\tselect EXECMEM if DYNAMIC_FTRACE\n",
            ),
        ),
        (
            "kernel/irq/Makefile",
            "irq_pipeline: build pipeline.o",
            MAKEFILE.replace(
                "autoprobe.o\n",
                "autoprobe.o\nobj-$(CONFIG_IRQ_PIPELINE) += pipeline.o\n",
            ),
            MAKEFILE.replace(
                "autoprobe.o\n",
                "autoprobe.o\nobj-$(CONFIG_IRQ_SIM) += irq_sim.o\n",
            ),
        ),
        (
            "include/linux/flags.h",
            "irq_pipeline: add F_OOB",
            FLAGS.replace("0x2\n", "0x2\n#define F_OOB\t\t0x4\n"),
            FLAGS.replace("0x2\n", "0x2\n#define F_ONESHOT\t0x4\n"),
        ),
        (
            "kernel/sched/core.c",
            "sched: warn on oob",
            CORE.replace(
                "CONTEXT_USER);\n",
                "CONTEXT_USER);\n\tWARN(running_oob());\n",
            ),
            CORE.replace("CONTEXT_USER", "CT_STATE_USER")
                .replace("\tcount(a);\n", "\tcount(a, 1);\n"),
        ),
        (
            "kernel/entry/common.c",
            "entry: hook between rewritten lines",
            ENTRY.replace("\tcheck(x);\n", "\tcheck(x);\n\toob_hook();\n"),
            ENTRY.replace(
                "\tcheck(x);\n\tgo(y);\n",
                "\tvalidate(x, flags);\n\tlaunch(y, flags);\n",
            ),
        ),
        (
            "kernel/vars.c",
            "vars: tune beta",
            VARS.replace("beta = 2", "beta = 3"),
            VARS.replace("alpha = 1", "alpha = 10"),
        ),
        (
            "kernel/tail.c",
            "tail: add queue_fn",
            format!("{TAIL}\nstatic void queue_fn(void)\n{{\n}}\n"),
            format!("{TAIL}\nint upstream_fn(void)\n{{\n\treturn 2;\n}}\n"),
        ),
        (
            "kernel/same.c",
            "same: change limit",
            SAME.replace("limit = 1", "limit = 11"),
            SAME.replace("limit = 1", "limit = 12"),
        ),
        (
            "kernel/moved.c",
            "moved: notify the oob stage",
            format!(
                "{ALPHA}{}{GAMMA}",
                BETA.replace("\td->count++;\n", "\td->count++;\n\toob_notify(d);\n")
            ),
            format!("{BETA}{ALPHA}{GAMMA}"),
        ),
        (
            "kernel/hook.c",
            "hook: call pipeline_hook",
            HOOK.replace("\tfoo();\n", "\tfoo();\n\tpipeline_hook();\n"),
            HOOK.replace(
                "\tfoo();\n\tbar(old);\n",
                "\tfoo();\n\tpipeline_hook();\n\tbar(new);\n",
            ),
        ),
    ]
}

fn fixture(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    let moved = format!("{ALPHA}{BETA}{GAMMA}");
    for (file, text) in [
        ("arch/x86/Kconfig", KCONFIG),
        ("kernel/irq/Makefile", MAKEFILE),
        ("include/linux/flags.h", FLAGS),
        ("kernel/sched/core.c", CORE),
        ("kernel/entry/common.c", ENTRY),
        ("kernel/vars.c", VARS),
        ("kernel/tail.c", TAIL),
        ("kernel/same.c", SAME),
        ("kernel/moved.c", moved.as_str()),
        ("kernel/hook.c", HOOK),
    ] {
        write(dir, file, text);
    }
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    for (file, subject, queue, _) in cases() {
        write(dir, file, &queue);
        commit_all(dir, subject);
    }
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(dir, "README", "unrelated upstream work\n");
    commit_all(dir, "upstream: unrelated");
    for (file, _, _, upstream) in cases() {
        write(dir, file, &upstream);
    }
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "queue"]);
}

fn run(dir: &Path, extra: &[&str]) -> Value {
    rebase_v2_json(dir, extra)
}

fn ported(dir: &Path, report: &Value, i: usize, file: &str) -> String {
    let c = report["patches"][i]["new_commit"].as_str().unwrap();
    git(dir, &["show", &format!("{c}:{file}")]) + "\n"
}

fn placement(report: &Value, i: usize) -> &Value {
    &report["patches"][i]["paths"][0]["placements"][0]
}

fn refusal(report: &Value, i: usize) -> String {
    report["patches"][i]["paths"][0]["refusals"][0]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("patch {} has no refusal", i + 1))
        .to_string()
}

#[test]
fn each_stage_resolves_its_case_and_refuses_the_unsafe_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);

    // --strict is git: every case conflicts (that is what makes each one a real test).
    let strict = run(dir, &["--strict"]);
    assert_eq!(verdicts(&strict), ["conflict"; 10]);
    assert_eq!(strict["cascade"]["conflicts_left"], 10);

    let r = run(dir, &[]);
    assert_eq!(
        verdicts(&r),
        [
            "relocated",        // Kconfig select union
            "relocated",        // Makefile obj- union
            "conflict",         // #define value collision: refused
            "relocated",        // re-anchored after a rewritten context line
            "conflict",         // insertion point inside rewritten lines: refused
            "relocated",        // different declarations changed
            "relocated",        // both appended different functions
            "conflict",         // same function changed on both sides: refused
            "relocated",        // the function upstream moved gets the change
            "already-upstream", // the queue's hunk is already upstream
        ]
    );
    assert_eq!(r["cascade"]["git_conflicts"], 10);
    assert_eq!(r["cascade"]["conflicts_left"], 3);
    assert_eq!(r["review"].as_array().unwrap().len(), 7);

    // Kconfig: upstream's lines in upstream order, then the queue's.
    assert_eq!(
        ported(dir, &r, 0, "arch/x86/Kconfig"),
        KCONFIG.replace(
            "\tselect HAVE_ARCH_X\n",
            "\tselect HAVE_ARCH_X\n\tselect EXECMEM if DYNAMIC_FTRACE\n\tselect HAVE_DOVETAIL\n"
        )
    );
    assert_eq!(placement(&r, 0)["method"], "list-union");
    assert_eq!(placement(&r, 0)["confidence"], "high");

    assert_eq!(
        ported(dir, &r, 1, "kernel/irq/Makefile"),
        MAKEFILE.replace(
            "autoprobe.o\n",
            "autoprobe.o\nobj-$(CONFIG_IRQ_SIM) += irq_sim.o\nobj-$(CONFIG_IRQ_PIPELINE) += pipeline.o\n"
        )
    );

    // Attribution: the line-range log names the upstream commit that took the bit, not the
    // unrelated one.
    let v2 = git(dir, &["rev-parse", "v2"]);
    assert_eq!(
        r["patches"][2]["conflicts"][0]["changed_upstream_by"],
        serde_json::json!([format!("{} v2", &v2[..12])])
    );
    let why = refusal(&r, 2);
    assert!(
        why.contains("value collision") && why.contains("0x4"),
        "{why}"
    );

    assert_eq!(
        ported(dir, &r, 3, "kernel/sched/core.c"),
        CORE.replace(
            "CONTEXT_USER);\n",
            "CT_STATE_USER);\n\tWARN(running_oob());\n"
        )
        .replace("\tcount(a);\n", "\tcount(a, 1);\n")
    );
    assert_eq!(placement(&r, 3)["method"], "re-anchor");
    assert_eq!(placement(&r, 3)["confidence"], "medium");
    let detail = placement(&r, 3)["detail"].as_str().unwrap();
    assert!(detail.contains("schedule_debug"), "{detail}");

    let why = refusal(&r, 4);
    assert!(why.contains("inside lines the other side rewrote"), "{why}");

    assert_eq!(
        ported(dir, &r, 5, "kernel/vars.c"),
        "/* tunables */\nint alpha = 10;\nint beta = 3;\n"
    );
    // Adjacent lines, one changed by each side: the word-level merge takes it first.
    assert_eq!(placement(&r, 5)["method"], "word-merge");

    assert_eq!(
        ported(dir, &r, 6, "kernel/tail.c"),
        format!("{TAIL}\nint upstream_fn(void)\n{{\n\treturn 2;\n}}\n\nstatic void queue_fn(void)\n{{\n}}\n")
    );

    let why = refusal(&r, 7);
    assert!(why.contains("`limit` was changed on both sides"), "{why}");

    // The moved function is where upstream put it, with the queue's line in it.
    assert_eq!(
        ported(dir, &r, 8, "kernel/moved.c"),
        format!(
            "{}{ALPHA}{GAMMA}",
            BETA.replace("\td->count++;\n", "\td->count++;\n\toob_notify(d);\n")
        )
    );
    assert_eq!(placement(&r, 8)["method"], "moved-block");
    assert_eq!(placement(&r, 8)["confidence"], "high");
    assert_eq!(placement(&r, 8)["line"], 1);

    assert_eq!(placement(&r, 9)["method"], "hunk-upstream");
    assert!(r["patches"][9]["new_commit"].is_null());

    // The reports list every placement for review, with method and confidence, and each
    // refusal with the upstream commit that made it.
    let human = stdout(&tool(dir, &["rebase", "v2", "--queue", "v1..queue"]));
    let status = |format: &str| stdout(&tool(dir, &["rebase", "--status", "--format", format]));
    rebase_snapshot_settings().bind(|| {
        insta::assert_snapshot!("human", human);
        insta::assert_snapshot!("json", status("json"));
        insta::assert_snapshot!("markdown", status("md"));
        insta::assert_snapshot!("explain", stdout(&tool(dir, &["rebase", "--explain", "4"])));
    });
}

const WORK: &str = "\tunsigned long work = read_work_flags(current);\n\tif (work & WORK_ENTER_TRACE)\n\t\tsyscall = trace_enter(regs, syscall, work);\n\tif (work & WORK_ENTER_AUDIT)\n\t\taudit_enter(regs, syscall);\n\treturn syscall;\n";

/// v1 has `enter_work()` in kernel/entry/common.c; the queue hooks into it; v2 deletes it from
/// there and, with `header`, has its body in include/linux/entry.h as `enter_mode_work()`.
fn moved_to_header(dir: &Path, header: bool) -> Value {
    let other = "int other_entry(void)\n{\n\treturn 0;\n}\n";
    let func = format!("long enter_work(struct pt_regs *regs, long syscall)\n{{\n{WORK}}}\n\n");
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "kernel/entry/common.c", &format!("{func}{other}"));
    write(
        dir,
        "include/linux/entry.h",
        "#ifndef ENTRY_H\n#define ENTRY_H\n#endif\n",
    );
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    let hooked = func.replace(
        "\tif (work & WORK_ENTER_TRACE)\n",
        "\tif (running_oob())\n\t\treturn syscall;\n\tif (work & WORK_ENTER_TRACE)\n",
    );
    write(dir, "kernel/entry/common.c", &format!("{hooked}{other}"));
    commit_all(dir, "entry: skip syscall work on the oob stage");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(dir, "kernel/entry/common.c", other);
    if header {
        write(
            dir,
            "include/linux/entry.h",
            &format!("#ifndef ENTRY_H\n#define ENTRY_H\n\nstatic inline long enter_mode_work(struct pt_regs *regs, long syscall)\n{{\n{WORK}}}\n\n#endif\n"),
        );
    }
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "queue"]);
    let out = tool(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn code_moved_to_another_file_stays_a_conflict_that_says_where() {
    let d = tempfile::tempdir().unwrap();
    let report = moved_to_header(d.path(), true);
    assert_eq!(verdicts(&report), ["conflict"]);
    let reasons = report["patches"][0]["paths"][0]["refusals"].to_string();
    assert!(
        reasons.contains(
            "gone from this file, and 6 of its 7 distinctive lines are in the target at include/linux/entry.h:6 (in `enter_mode_work`)"
        ),
        "{reasons}"
    );

    // Deleted, not moved: nothing of what the patch edits is left anywhere, so the session
    // stops on it as obsolete (with the evidence), not as a conflict with no place to go.
    let d = tempfile::tempdir().unwrap();
    let report = moved_to_header(d.path(), false);
    assert_eq!(verdicts(&report), ["obsolete"]);
    let finding = report["patches"][0]["finding"].to_string();
    assert!(finding.contains("no longer in the target"), "{finding}");
}
