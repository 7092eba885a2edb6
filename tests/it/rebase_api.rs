//! The identifier checks of `rebase` on small real repositories: `needs-api` for a patch that
//! applies but calls what upstream removed, `blocked` for a patch that uses what only an
//! unported earlier patch defines (replayed once that patch is resolved), and a cascade
//! placement refused because it would name a Kconfig symbol the target no longer defines.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn verdicts(report: &Value) -> Vec<String> {
    report["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdict"].as_str().unwrap_or("-").to_string())
        .collect()
}

const API_C: &str =
    "int old_api(int x)\n{\n\treturn x;\n}\n\nint kept_api(int x)\n{\n\treturn x + 1;\n}\n";
const KCONFIG: &str = "config OLD_SYM\n\tbool \"old\"\n\nconfig KEPT_SYM\n\tbool \"kept\"\n";

/// v1, and v2 where upstream renamed `old_api` and removed `OLD_SYM`.
fn upstream(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "kernel/api.c", API_C);
    write(dir, "kernel/Kconfig", KCONFIG);
    write(dir, "kernel/core.c", &lines("core", 30));
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "up"]);
    write(dir, "kernel/api.c", &API_C.replace("old_api", "new_api"));
    write(dir, "kernel/Kconfig", "config KEPT_SYM\n\tbool \"kept\"\n");
    write(
        dir,
        "kernel/core.c",
        &replace_line(&lines("core", 30), "core line 10\n", "alpha upstream\n"),
    );
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "-b", "queue", "v1"]);
}

#[test]
fn a_patch_that_calls_a_removed_api_is_applied_and_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    upstream(dir);
    write(
        dir,
        "kernel/evl.c",
        "int evl_setup(void)\n{\n\tif (IS_ENABLED(CONFIG_OLD_SYM))\n\t\treturn old_api(1);\n\treturn kept_api(2);\n}\n",
    );
    commit_all(dir, "evl: setup");
    let (code, report) = json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdicts(&report), ["needs-api"]);
    let p = &report["patches"][0];
    assert!(p["new_commit"].is_string(), "still applied: {p}");
    let ids: Vec<(String, String, u64)> = p["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_string(),
                u["path"].as_str().unwrap().to_string(),
                u["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("OLD_SYM".to_string(), "kernel/evl.c".to_string(), 3),
            ("old_api".to_string(), "kernel/evl.c".to_string(), 4)
        ]
    );
    // The human report lists it for review.
    let human = stdout(&tool(dir, &["rebase", "--status"]));
    rebase_snapshot_settings().bind(|| insta::assert_snapshot!(human));
}

/// A queue commit that defines `evl_core_hook` in a file whose line 10 upstream changed too.
fn commit_core_hook(dir: &Path, message: &str) {
    let core = replace_line(&lines("core", 30), "core line 10\n", "beta queue\n");
    write(
        dir,
        "kernel/core.c",
        &format!("{core}\nint evl_core_hook(int x)\n{{\n\treturn x;\n}}\n"),
    );
    commit_all(dir, message);
}

/// Starts the session onto v2, expected to stop at a conflict.
fn start_v2(dir: &Path) -> Value {
    let (code, report) = json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 1, "{report}");
    report
}

#[test]
fn a_patch_using_what_a_conflicting_patch_defines_is_blocked_until_it_is_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    upstream(dir);
    write(dir, "kernel/a.c", "int a;\n");
    commit_all(dir, "p1: clean");
    commit_core_hook(dir, "p2: core hook (conflicts)");
    write(
        dir,
        "kernel/user.c",
        "int user(void)\n{\n\treturn evl_core_hook(3);\n}\n",
    );
    commit_all(dir, "p3: uses the hook");
    let report = start_v2(dir);
    assert_eq!(verdicts(&report), ["clean", "conflict", "blocked"]);
    let p3 = &report["patches"][2];
    assert_eq!(p3["blocked_by"], report["patches"][1]["key"]);
    assert_eq!(p3["identifiers"][0]["name"], "evl_core_hook");
    assert!(p3["new_commit"].is_null());

    // Resolve p2; p3 is replayed on top of it, in queue order.
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let wt = dir.join(".git/dovetail-port/worktree");
    let resolved = format!(
        "{}\nint evl_core_hook(int x)\n{{\n\treturn x;\n}}\n",
        replace_line(
            &lines("core", 30),
            "core line 10\n",
            "alpha upstream beta queue\n"
        )
    );
    std::fs::write(wt.join("kernel/core.c"), resolved).unwrap();
    let (code, report) = json_run(dir, &["rebase", "--continue", "--report", "json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdicts(&report), ["clean", "resolved", "clean"]);
    let log = git(dir, &["log", "--format=%s", "queue-on-v2"]);
    assert_eq!(
        log.lines().take(3).collect::<Vec<_>>(),
        [
            "p3: uses the hook",
            "p2: core hook (conflicts)",
            "p1: clean"
        ]
    );
}

#[test]
fn skipping_a_blocker_tells_the_patches_it_blocked_directly_or_through_a_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    upstream(dir);
    commit_core_hook(dir, "p1: core hook (conflicts)");
    write(
        dir,
        "kernel/user.c",
        "int evl_user_hook(int x)\n{\n\treturn evl_core_hook(x);\n}\n",
    );
    commit_all(dir, "p2: user hook on the core hook");
    write(
        dir,
        "kernel/more.c",
        "int more(void)\n{\n\treturn evl_user_hook(3);\n}\n",
    );
    commit_all(dir, "p3: uses the user hook");
    let report = start_v2(dir);
    assert_eq!(verdicts(&report), ["conflict", "blocked", "blocked"]);
    assert_eq!(
        report["patches"][2]["blocked_by"],
        report["patches"][1]["key"]
    );
    let notes = |report: &Value, i: usize| -> Vec<String> {
        report["patches"][i]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    };
    assert!(notes(&report, 1)[0].contains("replayed when it is resolved (--continue)"));

    assert_eq!(tool(dir, &["rebase", "--continue"]).status.code(), Some(1));
    let (code, report) = json_run(dir, &["rebase", "--skip", "--report", "json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdicts(&report), ["skipped", "blocked", "blocked"]);
    // Both still wait for what only p1 defined, and each says p1 will not come.
    let direct = notes(&report, 1);
    let chained = notes(&report, 2);
    assert_eq!(direct.len(), 1, "{direct:?}");
    assert_eq!(chained.len(), 1, "{chained:?}");
    for n in [&direct[0], &chained[0]] {
        assert!(!n.contains("replayed when"), "stale: {n}");
        assert!(n.contains("resolve #1 instead of skipping it"), "{n}");
    }
    assert!(
        direct[0]
            .starts_with("blocked by #1 p1: core hook (conflicts) (skipped): uses `evl_core_hook`"),
        "{}",
        direct[0]
    );
    assert!(direct[0].contains("; it was skipped, so this patch stays out of the result"));
    assert!(
        chained[0].starts_with(
            "blocked by #2 p2: user hook on the core hook (blocked): uses `evl_user_hook`"
        ),
        "{}",
        chained[0]
    );
    assert!(chained[0].contains("; #2 waits for #1 p1: core hook (conflicts), which was skipped"));
    // The human report says the same.
    let human = stdout(&tool(dir, &["rebase", "--status"]));
    for n in [&direct[0], &chained[0]] {
        assert!(human.contains(n.as_str()), "{n}\n{human}");
    }
    assert!(!human.contains("replayed when it is resolved"), "{human}");
}

#[test]
fn a_placement_naming_a_removed_kconfig_symbol_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "kernel/Kconfig", KCONFIG);
    write(
        dir,
        "arch/x86/Kconfig",
        "config X86\n\tdef_bool y\n\tselect KEPT_SYM\n\thelp\n\t  x86.\n",
    );
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "up"]);
    write(
        dir,
        "kernel/Kconfig",
        "config KEPT_SYM\n\tbool \"kept\"\n\nconfig UP_SYM\n\tbool \"up\"\n",
    );
    write(
        dir,
        "arch/x86/Kconfig",
        "config X86\n\tdef_bool y\n\tselect KEPT_SYM\n\tselect UP_SYM\n\thelp\n\t  x86.\n",
    );
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "-b", "queue", "v1"]);
    write(
        dir,
        "arch/x86/Kconfig",
        "config X86\n\tdef_bool y\n\tselect KEPT_SYM\n\tselect OLD_SYM\n\thelp\n\t  x86.\n",
    );
    commit_all(dir, "x86: select OLD_SYM");
    let (code, report) = json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(verdicts(&report), ["conflict"]);
    let reasons: Vec<&str> = report["patches"][0]["paths"][0]["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("list-union:") && r.contains("`OLD_SYM`")),
        "{reasons:?}"
    );
}

/// v1 and v2 (an unrelated upstream change) of a tree where `foo` is defined in lib/foo.c,
/// called from lib/user.c, and `OLD_SYM` is selected by arch/Kconfig.
fn removal_upstream(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(
        dir,
        "lib/foo.c",
        "int foo(int x)\n{\n\treturn x;\n}\n\nint bar(int x)\n{\n\treturn x + 1;\n}\n",
    );
    write(
        dir,
        "lib/user.c",
        "int user(void)\n{\n\t/* foo() in a comment is no use */\n\treturn foo(1);\n}\n",
    );
    write(
        dir,
        "lib/Kconfig",
        "config OLD_SYM\n\tbool\n\nconfig KEPT_SYM\n\tbool\n",
    );
    write(
        dir,
        "arch/Kconfig",
        "config ARCH_X\n\tbool\n\tselect OLD_SYM\n",
    );
    write(dir, "lib/core.c", &lines("core", 30));
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    write(
        dir,
        "lib/core.c",
        &replace_line(&lines("core", 30), "core line 10\n", "alpha upstream\n"),
    );
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "-b", "queue", "v1"]);
}

fn in_use(report: &Value, patch: usize) -> Vec<(String, Vec<String>)> {
    report["patches"][patch]["in_use"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    let users = u["users"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| format!("{}:{}", s["path"].as_str().unwrap(), s["line"]))
                        .collect();
                    (u["name"].as_str().unwrap().to_string(), users)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_patch_removing_what_the_tree_still_uses_is_applied_and_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    removal_upstream(dir);
    write(dir, "lib/a.c", "int a;\n");
    commit_all(dir, "p1: unrelated");
    write(dir, "lib/foo.c", "int bar(int x)\n{\n\treturn x + 1;\n}\n");
    write(dir, "lib/Kconfig", "config KEPT_SYM\n\tbool\n");
    commit_all(dir, "p2: remove foo and OLD_SYM");
    let (code, report) = json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdicts(&report), ["clean", "removes-in-use"]);
    assert!(
        report["patches"][1]["new_commit"].is_string(),
        "still applied"
    );
    assert_eq!(
        in_use(&report, 1),
        [
            ("OLD_SYM".to_string(), vec!["arch/Kconfig:3".to_string()]),
            ("foo".to_string(), vec!["lib/user.c:4".to_string()]),
        ]
    );
    assert_eq!(report["removes_in_use"][0]["patch"], 2);
    let human = stdout(&tool(dir, &["rebase", "--status"]));
    assert!(human.contains("lib/user.c:4: return foo(1);"), "{human}");
}

#[test]
fn removals_whose_users_are_gone_or_renamed_within_the_patch_are_not_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    removal_upstream(dir);
    // An earlier patch converts every caller, and the Kconfig user.
    write(
        dir,
        "lib/user.c",
        "int user(void)\n{\n\treturn bar(1);\n}\n",
    );
    write(dir, "arch/Kconfig", "config ARCH_X\n\tbool\n");
    commit_all(dir, "p1: convert the users");
    write(dir, "lib/foo.c", "int bar(int x)\n{\n\treturn x + 1;\n}\n");
    write(dir, "lib/Kconfig", "config KEPT_SYM\n\tbool\n");
    commit_all(dir, "p2: remove foo and OLD_SYM");
    // bar is removed and defined again with another signature: a change, not a removal.
    write(
        dir,
        "lib/foo.c",
        "long bar(long x)\n{\n\treturn x + 2;\n}\n",
    );
    commit_all(dir, "p3: change bar");
    let (code, report) = json_run(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdicts(&report), ["clean", "clean", "clean"]);
    assert!(report["removes_in_use"].as_array().unwrap().is_empty());
}
