//! `rebase` end to end on small real git repositories built here: every verdict, rename
//! following, the session commands, a killed run, patch-file queues, and bad input. These run
//! with `--strict` (git's conflicts exactly); the resolution cascade is in tests/cascade_*.rs.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const KCONFIG: &str = "config X86\n\tdef_bool y\n\tselect HAVE_ARCH_A\n\tselect HAVE_ARCH_X\n\tselect HAVE_ARCH_Z\n\thelp\n\t  x86.\n";

/// v1 → queue (9 patches) and v1 → v2 (the "upstream" release), laid out so each queue patch
/// meets one situation. Returns the repo dir.
fn fixture(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "kernel/irq/chip.c", &lines("chip", 40));
    write(dir, "kernel/sched/core.c", &lines("core", 40));
    write(dir, "arch/x86/Kconfig", KCONFIG);
    write(dir, "drivers/old/irq-foo.c", &lines("foo", 30));
    write(dir, "kernel/gone.c", &lines("gone", 10));
    write(dir, "README", "hello wrold\n");
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);

    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(dir, "kernel/irq/pipeline.c", "int pipeline;\n");
    commit_all(dir, "irq_pipeline: add pipeline.c");
    let chip = lines("chip", 40);
    write(
        dir,
        "kernel/irq/chip.c",
        &replace_line(&chip, "chip line 5\n", "chip line 5 PIPELINED\n"),
    );
    commit_all(dir, "irq_pipeline: hook chip");
    let core = lines("core", 40);
    write(
        dir,
        "kernel/sched/core.c",
        &replace_line(&core, "core line 10\n", "core line 10 OOB\n"),
    );
    commit_all(dir, "sched: dovetail: hook core");
    write(dir, "README", "hello world\n");
    commit_all(dir, "dovetail: fix readme typo");
    commit_all(dir, "dovetail: queue marker");
    let irq_foo = lines("foo", 30);
    write(
        dir,
        "drivers/old/irq-foo.c",
        &replace_line(&irq_foo, "foo line 3\n", "foo line 3 PIPELINE_SAFE\n"),
    );
    commit_all(dir, "irqchip: foo is pipeline-safe");
    write(
        dir,
        "arch/x86/Kconfig",
        &replace_line(
            KCONFIG,
            "\tselect HAVE_ARCH_X\n",
            "\tselect HAVE_ARCH_X\n\tselect HAVE_DOVETAIL\n",
        ),
    );
    commit_all(dir, "x86: dovetail: select HAVE_DOVETAIL");
    write(
        dir,
        "kernel/gone.c",
        &replace_line(&lines("gone", 10), "gone line 2\n", "gone line 2 OOB\n"),
    );
    commit_all(dir, "dovetail: touch gone.c");
    let core = std::fs::read_to_string(dir.join("kernel/sched/core.c")).unwrap();
    write(
        dir,
        "kernel/sched/core.c",
        &replace_line(&core, "core line 30\n", "core line 30 OOB\n"),
    );
    commit_all(dir, "sched: dovetail: second core hook");
    let chip_now = std::fs::read_to_string(dir.join("kernel/irq/chip.c")).unwrap();
    write(
        dir,
        "kernel/irq/chip.c",
        &replace_line(&chip_now, "chip line 20\n", "chip line 20 PIPE\n"),
    );
    commit_all(dir, "genirq: fix chip line 20");
    let picked = git(dir, &["rev-parse", "HEAD"]);

    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    // Upstream took the queue's chip fix, then changed the same line again.
    git(dir, &["cherry-pick", &picked]);
    let chip = replace_line(&chip, "chip line 20\n", "chip line 20 PIPE v2\n");
    write(
        dir,
        "kernel/irq/chip.c",
        &replace_line(&chip, "chip line 35\n", "chip line 35 upstream\n"),
    );
    write(
        dir,
        "kernel/sched/core.c",
        &replace_line(
            &lines("core", 40),
            "core line 10\n",
            "core line 10 upstream\n",
        ),
    );
    write(dir, "README", "hello world\n");
    std::fs::remove_file(dir.join("drivers/old/irq-foo.c")).unwrap();
    write(
        dir,
        "drivers/irqchip/irq-foo.c",
        &replace_line(&irq_foo, "foo line 25\n", "foo line 25 upstream\n"),
    );
    write(
        dir,
        "arch/x86/Kconfig",
        &replace_line(
            KCONFIG,
            "\tselect HAVE_ARCH_X\n",
            "\tselect HAVE_ARCH_X\n\tselect HAVE_ARCH_Y\n",
        ),
    );
    std::fs::remove_file(dir.join("kernel/gone.c")).unwrap();
    write(dir, "mm/new.c", "int upstream_only;\n");
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "queue"]);
}

const EXPECTED: [&str; 10] = [
    "clean",
    "merged",
    "conflict",
    "already-upstream",
    "empty",
    "merged",
    "conflict",
    "conflict",
    "merged",
    "already-upstream",
];

fn verdicts(report: &Value) -> Vec<String> {
    report["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdict"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_verdict_and_nothing_of_the_user_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let before = user_state(dir);
    let (code, report) = json_run(
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
    assert_eq!(code, 1, "conflicts remain → exit 1");
    assert_eq!(verdicts(&report), EXPECTED);
    assert_eq!(
        user_state(dir),
        before,
        "user's refs, HEAD, index and worktree untouched"
    );
    assert!(
        git(dir, &["branch", "--list", "queue-on-v2"]).is_empty(),
        "no branch before the session ends"
    );

    // Rename followed by content, and said so.
    let foo = &report["patches"][5];
    assert_eq!(foo["paths"][0]["path"], "drivers/irqchip/irq-foo.c");
    assert!(foo["notes"][0]
        .as_str()
        .unwrap()
        .contains("moved to drivers/irqchip/irq-foo.c"));
    // Conflicts carry diff3 hunks naming the file and line.
    let kconfig = &report["patches"][6];
    assert_eq!(kconfig["conflicts"][0]["path"], "arch/x86/Kconfig");
    let hunk = kconfig["conflicts"][0]["text"].as_str().unwrap();
    assert!(
        hunk.contains("select HAVE_ARCH_Y")
            && hunk.contains("select HAVE_DOVETAIL")
            && hunk.contains("|||||||"),
        "{hunk}"
    );
    assert_eq!(
        report["patches"][7]["conflicts"][0]["kind"],
        "modify-delete"
    );

    // Each ported commit's tree is what git's merge-ort gives for the same merge.
    for (i, p) in report["patches"].as_array().unwrap().iter().enumerate() {
        let Some(new) = p["new_commit"].as_str() else {
            continue;
        };
        let orig = p["key"].as_str().unwrap();
        let parent = git(dir, &["rev-parse", &format!("{new}^")]);
        let ort = git(
            dir,
            &[
                "merge-tree",
                "--write-tree",
                &format!("--merge-base={orig}^"),
                &parent,
                orig,
            ],
        );
        let ours = git(dir, &["rev-parse", &format!("{new}^{{tree}}")]);
        assert_eq!(
            ours,
            ort.lines().next().unwrap(),
            "patch #{} differs from git merge-tree",
            i + 1
        );
    }
}

#[test]
fn continue_skip_and_finish_write_the_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let before = user_state(dir);
    assert_eq!(
        tool(dir, &["rebase", "v2", "--strict", "--queue", "v1..queue"])
            .status
            .code(),
        Some(1)
    );

    // A second start is refused while the session is open.
    let again = tool(dir, &["rebase", "v2", "--strict", "--queue", "v1..queue"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already in progress"),
        "{}",
        stderr(&again)
    );

    // First conflict: core.c, checked out with markers in the session worktree.
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let wt = dir.join(".git/dovetail-port/worktree");
    let core = std::fs::read_to_string(wt.join("kernel/sched/core.c")).unwrap();
    assert!(
        core.contains("<<<<<<<")
            && core.contains("core line 10 OOB")
            && core.contains("core line 10 upstream")
    );

    // Continuing with markers left is refused, naming the file and line.
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("kernel/sched/core.c:"),
        "{}",
        stderr(&out)
    );

    // The conflict stands on the patches before it only: the later core.c patch is not there.
    assert!(!core.contains("core line 30 OOB"), "{core}");
    // The worktree's index holds the three versions, as git leaves a conflict.
    assert_eq!(
        git(&wt, &["status", "--porcelain", "--", "kernel/sched/core.c"]),
        "UU kernel/sched/core.c"
    );

    // Resolve: keep both changes.
    let resolved = replace_line(
        &lines("core", 40),
        "core line 10\n",
        "core line 10 upstream OOB\n",
    );
    std::fs::write(wt.join("kernel/sched/core.c"), resolved).unwrap();
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "next conflict waits: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("x86: dovetail: select HAVE_DOVETAIL"));

    // Resolve the Kconfig select list by union, from inside the worktree as a user would.
    let kconfig = replace_line(
        KCONFIG,
        "\tselect HAVE_ARCH_X\n",
        "\tselect HAVE_ARCH_X\n\tselect HAVE_ARCH_Y\n\tselect HAVE_DOVETAIL\n",
    );
    std::fs::write(wt.join("arch/x86/Kconfig"), &kconfig).unwrap();
    let out = tool(&wt.join("arch"), &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "gone.c waits: {}", stdout(&out));

    // Drop the patch for the file upstream deleted.
    let out = tool(dir, &["rebase", "--skip", "--report", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut expected = EXPECTED.map(String::from).to_vec();
    expected[2] = "resolved".into();
    expected[6] = "resolved".into();
    expected[7] = "skipped".into();
    assert_eq!(verdicts(&report), expected);

    // The branch holds everything, the user's state did not move otherwise.
    let branch = "queue-on-v2";
    assert_eq!(
        git(dir, &["show", &format!("{branch}:arch/x86/Kconfig")]) + "\n",
        kconfig
    );
    let core = git(dir, &["show", &format!("{branch}:kernel/sched/core.c")]);
    assert!(core.contains("core line 10 upstream OOB") && core.contains("core line 30 OOB"));
    assert!(git(
        dir,
        &["show", &format!("{branch}:drivers/irqchip/irq-foo.c")]
    )
    .contains("foo line 3 PIPELINE_SAFE"));
    assert!(git(dir, &["show", &format!("{branch}:mm/new.c")]).contains("upstream_only"));
    // One commit per ported patch, in the queue's order.
    assert_eq!(
        git(
            dir,
            &["log", "--reverse", "--format=%s", &format!("v2..{branch}")]
        ),
        [
            "irq_pipeline: add pipeline.c",
            "irq_pipeline: hook chip",
            "sched: dovetail: hook core",
            "irqchip: foo is pipeline-safe",
            "x86: dovetail: select HAVE_DOVETAIL",
            "sched: dovetail: second core hook",
        ]
        .join("\n")
    );
    let after = user_state(dir);
    let after_without_branch: String = after
        .lines()
        .filter(|l| !l.contains(branch))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(after_without_branch.trim_end(), before.trim_end());
    assert!(!wt.exists(), "worktree removed at the end");
}

/// The worktree moves between conflicts by the paths that differ, but what the user did
/// anywhere in it counts as before: `--continue` commits every edit, new file and deletion
/// with the resolution (as `git add -A`), `--skip` drops them all, ignored files included
/// (as `git reset --hard` + `git clean -fdx`).
#[test]
fn edits_beyond_the_conflict_are_committed_by_continue_and_dropped_by_skip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    std::fs::write(dir.join(".git/info/exclude"), "*.o\n").unwrap();
    tool(dir, &["rebase", "v2", "--strict", "--queue", "v1..queue"]);
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let wt = dir.join(".git/dovetail-port/worktree");

    // The core.c conflict, resolved, with another file edited, a file added, one deleted
    // and a build product left.
    let resolved = replace_line(
        &lines("core", 40),
        "core line 10\n",
        "core line 10 upstream OOB\n",
    );
    std::fs::write(wt.join("kernel/sched/core.c"), resolved).unwrap();
    std::fs::write(wt.join("mm/new.c"), "int upstream_only;\nint mine;\n").unwrap();
    write(&wt, "kernel/irq/notes.txt", "why\n");
    std::fs::remove_file(wt.join("kernel/irq/pipeline.c")).unwrap();
    write(&wt, "kernel/sched/core.o", "obj\n");
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("x86: dovetail: select HAVE_DOVETAIL"));
    // The next conflict stands on the resolution, edits and all; the build product is gone.
    assert_eq!(
        std::fs::read_to_string(wt.join("mm/new.c")).unwrap(),
        "int upstream_only;\nint mine;\n"
    );
    assert!(wt.join("kernel/irq/notes.txt").exists());
    assert!(!wt.join("kernel/irq/pipeline.c").exists());
    assert!(!wt.join("kernel/sched/core.o").exists());
    assert_eq!(
        git(
            &wt,
            &["status", "--porcelain", "--ignored", "--", "kernel", "mm"]
        ),
        ""
    );
    let resolved_commit = git(
        &wt,
        &["log", "-1", "--format=%H", "--grep=hook core", "HEAD"],
    );
    let files = git(
        &wt,
        &["show", "--name-status", "--format=", &resolved_commit],
    );
    assert!(
        files.contains("M\tmm/new.c")
            && files.contains("A\tkernel/irq/notes.txt")
            && files.contains("D\tkernel/irq/pipeline.c"),
        "{files}"
    );

    // The Kconfig conflict is a git conflict: three stages, `UU` in git status.
    assert_eq!(
        git(&wt, &["status", "--porcelain", "--", "arch/x86/Kconfig"]),
        "UU arch/x86/Kconfig"
    );
    let stages = git(&wt, &["ls-files", "-s", "--", "arch/x86/Kconfig"]);
    let stages: Vec<&str> = stages
        .lines()
        .map(|l| l.split('\t').next().unwrap().rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(stages, ["1", "2", "3"]);

    // At the Kconfig conflict: an edit, a new file and a build product, then --skip.
    std::fs::write(wt.join("mm/new.c"), "again\n").unwrap();
    write(&wt, "scratch/new.c", "int x;\n");
    write(&wt, "arch/x86/boot.o", "obj\n");
    let out = tool(dir, &["rebase", "--skip"]);
    assert_eq!(out.status.code(), Some(1), "gone.c waits: {}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(wt.join("mm/new.c")).unwrap(),
        "int upstream_only;\nint mine;\n"
    );
    assert!(!wt.join("scratch").exists() && !wt.join("arch/x86/boot.o").exists());
    // Only the conflict differs from the worktree's HEAD, and git has nothing to rehash.
    let status = git(&wt, &["status", "--porcelain", "--ignored"]);
    assert!(
        status.lines().all(|l| l.contains("kernel/gone.c")),
        "{status}"
    );
}

#[test]
fn abort_forgets_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let before = user_state(dir);
    tool(dir, &["rebase", "v2", "--strict", "--queue", "v1..queue"]);
    assert_eq!(tool(dir, &["rebase", "--continue"]).status.code(), Some(1));
    let out = tool(dir, &["rebase", "--abort"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!dir.join(".git/dovetail-port/session.json").exists());
    assert!(!dir.join(".git/dovetail-port/worktree").exists());
    assert_eq!(user_state(dir), before);
    let out = tool(dir, &["rebase", "--status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no rebase session"));
}

#[test]
fn killed_run_resumes_with_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let out = std::process::Command::new(bin())
        .args(["rebase", "v2", "--strict", "--queue", "v1..queue"])
        .current_dir(dir)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .env("DOVETAIL_PORT_CRASH_AFTER", "4")
        .output()
        .unwrap();
    assert!(
        out.status.code().is_none(),
        "the run was killed by a signal"
    );
    let session: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".git/dovetail-port/session.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(session["next"], 4);
    let (code, report) = json_run(dir, &["rebase", "--status", "--report", "json"]);
    assert_eq!(code, 1);
    assert_eq!(verdicts_prefix(&report), EXPECTED[..4]);
    // --continue first finishes the interrupted pass, then checks out the first conflict.
    assert_eq!(tool(dir, &["rebase", "--continue"]).status.code(), Some(1));
    let (_, report) = json_run(dir, &["rebase", "--status", "--report", "json"]);
    assert_eq!(verdicts(&report), EXPECTED);
}

fn verdicts_prefix(report: &Value) -> Vec<String> {
    report["patches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["verdict"].as_str().map(String::from))
        .collect()
}

#[test]
fn patch_file_queue_uses_index_lines_as_ancestor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let series = tmp.path().join("series-out");
    let out = tool(
        dir,
        &[
            "queue",
            "export",
            "--queue",
            "v1..queue",
            "-o",
            series.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(series.join("series").exists());
    // Same verdicts from the files as from the commits, with v1 nowhere named.
    let (code, report) = json_run(
        dir,
        &[
            "rebase",
            "v2",
            "--strict",
            "--series",
            series.to_str().unwrap(),
            "--branch",
            "from-files",
            "--report",
            "json",
        ],
    );
    assert_eq!(code, 1);
    // Patch files carry no history, so the upstream pick of #10 cannot be seen by patch-id:
    // its text conflicts with upstream's later change.
    let mut expected = EXPECTED.map(String::from).to_vec();
    expected[9] = "conflict".into();
    assert_eq!(verdicts(&report), expected);
    // Import the files onto v1 again: the same trees as the original queue.
    let out = tool(
        dir,
        &[
            "queue",
            "import",
            series.to_str().unwrap(),
            "--onto",
            "v1",
            "--branch",
            "reimported",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        git(dir, &["rev-parse", "reimported^{tree}"]),
        git(dir, &["rev-parse", "queue^{tree}"])
    );
    assert_eq!(git(dir, &["rev-list", "--count", "v1..reimported"]), "10");
    // A second import onto the same branch is refused, and names the flags that allow it;
    // the branch stays where it was.
    let again = |extra: &[&str]| {
        let mut args = vec![
            "queue",
            "import",
            series.to_str().unwrap(),
            "--onto",
            "v2",
            "--branch",
            "reimported",
        ];
        args.extend_from_slice(extra);
        tool(dir, &args)
    };
    let before = git(dir, &["rev-parse", "reimported"]);
    let out = again(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("branch `reimported` already exists"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: choose another name with --branch, or pass --force"));
    assert_eq!(git(dir, &["rev-parse", "reimported"]), before);
}

#[test]
fn queue_list_classifies_topics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let out = tool(dir, &["queue", "list", "--queue", "v1..queue", "--json"]);
    assert!(out.status.success());
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let topics: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        [
            "irq_pipeline",
            "irq_pipeline",
            "dovetail",
            "dovetail",
            "dovetail",
            "irq_pipeline",
            "arch-x86",
            "dovetail",
            "dovetail",
            "irq_pipeline"
        ]
    );
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let out = tool(&plain, &["rebase", "v2", "--queue", "a..b"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );

    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    fixture(&repo);
    let before = user_state(&repo);
    let cases: &[(&[&str], &str)] = &[
        (
            &["rebase", "v9", "--queue", "v1..queue"],
            "target `v9` not found",
        ),
        (
            &["rebase", "v2", "--queue", "v2..queue"],
            "is not an ancestor of",
        ),
        (&["rebase", "v2", "--queue", "v1"], "is not a range"),
        (
            &["rebase", "v2", "--queue", "nope..queue"],
            "cannot resolve `nope`",
        ),
        (&["rebase", "v2", "--queue", "queue..queue"], "is empty"),
        (&["rebase", "v2"], "--queue BASE..HEAD or --series DIR"),
        (
            &["rebase", "v2", "--queue", "v1..queue", "--branch", "master"],
            "branch `master` already exists",
        ),
    ];
    for (args, needle) in cases {
        let out = tool(&repo, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(
            !repo.join(".git/dovetail-port/session.json").exists(),
            "{args:?} left a session"
        );
    }
    // Malformed and binary patch files name the file and line.
    let bad = dir.join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("0001-x.patch"), "From: A <a@b>\nSubject: [PATCH] x\n\n---\ndiff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n").unwrap();
    let out = tool(&repo, &["rebase", "v2", "--series", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("0001-x.patch:9: malformed diff"),
        "{}",
        stderr(&out)
    );
    assert_eq!(user_state(&repo), before);
}

#[test]
fn deleted_and_binary_files_conflict_by_kind_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "a.c", &lines("a", 10));
    std::fs::write(dir.join("fw.bin"), [0u8, 1, 2, 3, 0, 5]).unwrap();
    write(dir, "b.c", &lines("b", 10));
    commit_all(dir, "base");
    git(dir, &["tag", "base"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    std::fs::remove_file(dir.join("a.c")).unwrap();
    commit_all(dir, "drop a.c");
    std::fs::write(dir.join("fw.bin"), [0u8, 9, 9, 9]).unwrap();
    commit_all(dir, "new firmware");
    write(
        dir,
        "b.c",
        &replace_line(&lines("b", 10), "b line 1\n", "b line 1 Q\n"),
    );
    commit_all(dir, "touch b.c");
    git(dir, &["checkout", "-q", "-b", "up", "base"]);
    write(
        dir,
        "a.c",
        &replace_line(&lines("a", 10), "a line 5\n", "a line 5 U\n"),
    );
    std::fs::write(dir.join("fw.bin"), [0u8, 7, 7]).unwrap();
    commit_all(dir, "upstream");
    let (code, report) = json_run(
        dir,
        &["rebase", "up", "--queue", "base..queue", "--report", "json"],
    );
    assert_eq!(code, 1);
    assert_eq!(verdicts(&report), ["conflict", "conflict", "clean"]);
    assert_eq!(
        report["patches"][0]["conflicts"][0]["kind"],
        "delete-modify"
    );
    assert_eq!(report["patches"][1]["conflicts"][0]["kind"], "binary");
}
