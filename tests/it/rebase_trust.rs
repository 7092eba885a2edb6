//! What a user must be able to trust of `rebase`, on small real repositories: the queue's
//! order survives resolutions, nothing is written outside the repository, binary conflicts
//! are never committed as placeholder text, one session at a time, and bad input leaves no
//! session behind.

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

/// base → queue p1, p2, p3 and base → up, where p2 conflicts with up and p3 edits the lines
/// p2 adds (so p3 can only apply on top of p2).
fn three_patches(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "a.c", &lines("a", 20));
    write(dir, "b.c", &lines("b", 20));
    write(dir, "c.c", &lines("c", 20));
    commit_all(dir, "base");
    git(dir, &["tag", "base"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "a.c",
        &replace_line(&lines("a", 20), "a line 3\n", "a line 3 P1\n"),
    );
    commit_all(dir, "p1");
    let b = replace_line(&lines("b", 20), "b line 10\n", "b line 10 P2\n");
    let b = replace_line(&b, "b line 16\n", "b line 16\nadded by p2\n");
    write(dir, "b.c", &b);
    commit_all(dir, "p2");
    write(
        dir,
        "b.c",
        &replace_line(&b, "added by p2\n", "added by p2, then p3\n"),
    );
    write(
        dir,
        "c.c",
        &replace_line(&lines("c", 20), "c line 1\n", "c line 1 P3\n"),
    );
    commit_all(dir, "p3");
    git(dir, &["checkout", "-q", "-b", "up", "base"]);
    write(
        dir,
        "b.c",
        &replace_line(&lines("b", 20), "b line 10\n", "b line 10 UP\n"),
    );
    commit_all(dir, "upstream");
    git(dir, &["checkout", "-q", "queue"]);
}

#[test]
fn a_resolved_conflict_keeps_the_queue_order_and_later_patches_are_replayed_on_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    let (code, report) = json_run(
        dir,
        &[
            "rebase",
            "up",
            "--strict",
            "--queue",
            "base..queue",
            "--report",
            "json",
        ],
    );
    assert_eq!(code, 1);
    // p3 cannot apply without p2: both wait.
    assert_eq!(verdicts(&report), ["clean", "conflict", "conflict"]);

    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("patch #2 `p2`"), "{}", stdout(&out));
    let wt = dir.join(".git/dovetail-port/worktree");
    let text = std::fs::read_to_string(wt.join("b.c")).unwrap();
    assert!(
        text.contains("<<<<<<<") && !text.contains("then p3"),
        "{text}"
    );
    // The conflict stands on p1 only.
    assert!(std::fs::read_to_string(wt.join("a.c"))
        .unwrap()
        .contains("P1"));
    assert!(!std::fs::read_to_string(wt.join("c.c"))
        .unwrap()
        .contains("P3"));

    let resolved = replace_line(&lines("b", 20), "b line 10\n", "b line 10 UP P2\n");
    let resolved = replace_line(&resolved, "b line 16\n", "b line 16\nadded by p2\n");
    std::fs::write(wt.join("b.c"), &resolved).unwrap();
    let (code, report) = json_run(dir, &["rebase", "--continue", "--report", "json"]);
    assert_eq!(code, 0, "p3 now applies on p2's resolution");
    assert_eq!(verdicts(&report), ["clean", "resolved", "merged"]);

    let branch = "queue-on-up";
    assert_eq!(
        git(
            dir,
            &["log", "--reverse", "--format=%s", &format!("up..{branch}")]
        ),
        "p1\np2\np3"
    );
    let b = git(dir, &["show", &format!("{branch}:b.c")]);
    assert!(
        b.contains("b line 10 UP P2\n") && b.contains("b line 16\nadded by p2, then p3\n"),
        "{b}"
    );
    // Each commit holds its own patch only: p2's commit has neither p3 line.
    let p2 = git(dir, &["show", &format!("{branch}~1:c.c")]);
    assert!(!p2.contains("P3"));
}

#[test]
fn skipping_keeps_the_later_patches_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    tool(dir, &["rebase", "up", "--strict", "--queue", "base..queue"]);
    assert_eq!(tool(dir, &["rebase", "--continue"]).status.code(), Some(1));
    // Skipping p2: p3 still conflicts (it edits p2's lines) and is checked out on p1.
    let out = tool(dir, &["rebase", "--skip"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("patch #3 `p3`"), "{}", stdout(&out));
    let (code, report) = json_run(dir, &["rebase", "--skip", "--report", "json"]);
    assert_eq!(code, 0);
    assert_eq!(verdicts(&report), ["clean", "skipped", "skipped"]);
    assert_eq!(git(dir, &["log", "--format=%s", "up..queue-on-up"]), "p1");
}

#[test]
fn the_conflict_is_a_git_conflict_in_the_worktree_and_commands_work_from_there() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    tool(dir, &["rebase", "up", "--strict", "--queue", "base..queue"]);
    tool(dir, &["rebase", "--continue"]);
    let wt = dir.join(".git/dovetail-port/worktree");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "UU b.c");
    // Stage 1 is the patch's base, 2 the target's, 3 the patch's.
    assert!(git(&wt, &["show", ":2:b.c"]).contains("b line 10 UP"));
    assert!(git(&wt, &["show", ":3:b.c"]).contains("added by p2"));
    assert_eq!(git(&wt, &["show", ":1:b.c"]) + "\n", lines("b", 20));
    // --status from inside the worktree finds the session.
    let out = tool(&wt, &["rebase", "--status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("p2"));
    // The user resolves with git's own tools there, then continues from there.
    git(&wt, &["checkout", "--theirs", "b.c"]);
    let out = tool(&wt, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!wt.exists());
}

#[test]
fn a_deleted_worktree_is_checked_out_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    tool(dir, &["rebase", "up", "--strict", "--queue", "base..queue"]);
    tool(dir, &["rebase", "--continue"]);
    let wt = dir.join(".git/dovetail-port/worktree");
    std::fs::remove_dir_all(&wt).unwrap();
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(std::fs::read_to_string(wt.join("b.c"))
        .unwrap()
        .contains("<<<<<<<"));
}

#[test]
fn nothing_is_written_through_a_symlink_of_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = &tmp.path().join("repo");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("f"), "precious\n").unwrap();
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "d/f", &lines("f", 10));
    commit_all(dir, "base");
    git(dir, &["tag", "base"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "d/f",
        &replace_line(&lines("f", 10), "f line 2\n", "f line 2 Q\n"),
    );
    commit_all(dir, "edit d/f");
    git(dir, &["checkout", "-q", "-b", "up", "base"]);
    std::fs::remove_dir_all(dir.join("d")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("d")).unwrap();
    commit_all(dir, "d is now a symlink");
    git(dir, &["checkout", "-q", "queue"]);
    let out = tool(dir, &["rebase", "up", "--strict", "--queue", "base..queue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("path `d/f`") && stderr(&out).contains("symlink"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("f")).unwrap(),
        "precious\n"
    );
}

#[test]
fn a_series_with_a_path_out_of_the_tree_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = &tmp.path().join("repo");
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "a", "a\n");
    commit_all(dir, "base");
    let series = tmp.path().join("series");
    std::fs::create_dir(&series).unwrap();
    for (name, path) in [
        ("0001-up.patch", "../escape"),
        ("0001-git.patch", ".git/hooks/x"),
    ] {
        let _ = std::fs::remove_file(series.join("0001-up.patch"));
        let _ = std::fs::remove_file(series.join("0001-git.patch"));
        std::fs::write(
            series.join(name),
            format!("From: A <a@b.c>\nSubject: [PATCH] evil\n\n---\ndiff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..78981922\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+a\n"),
        )
        .unwrap();
        let out = tool(
            dir,
            &["rebase", "HEAD", "--series", series.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2), "{path}: {}", stdout(&out));
        assert!(stderr(&out).contains(path), "{path}: {}", stderr(&out));
        assert!(!dir.join(".git/dovetail-port/session.json").exists());
        assert!(!tmp.path().join("escape").exists());
    }
}

#[test]
fn a_binary_conflict_is_three_files_and_never_a_placeholder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "master"]);
    std::fs::write(dir.join("fw.bin"), [0u8, 1, 2, 3, 0, 5]).unwrap();
    commit_all(dir, "base");
    git(dir, &["tag", "base"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    std::fs::write(dir.join("fw.bin"), [0u8, 9, 9, 9]).unwrap();
    commit_all(dir, "new firmware");
    git(dir, &["checkout", "-q", "-b", "up", "base"]);
    std::fs::write(dir.join("fw.bin"), [0u8, 7, 7]).unwrap();
    commit_all(dir, "upstream firmware");
    git(dir, &["checkout", "-q", "queue"]);
    tool(dir, &["rebase", "up", "--queue", "base..queue"]);
    tool(dir, &["rebase", "--continue"]);
    let wt = dir.join(".git/dovetail-port/worktree");
    assert_eq!(std::fs::read(wt.join("fw.bin.ours")).unwrap(), [0u8, 7, 7]);
    assert_eq!(
        std::fs::read(wt.join("fw.bin.theirs")).unwrap(),
        [0u8, 9, 9, 9]
    );
    assert_eq!(
        std::fs::read(wt.join("fw.bin.base")).unwrap(),
        [0u8, 1, 2, 3, 0, 5]
    );
    assert!(!wt.join("fw.bin").exists());
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("fw.bin"), "{}", stderr(&out));
    std::fs::copy(wt.join("fw.bin.theirs"), wt.join("fw.bin")).unwrap();
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let blob = std::process::Command::new("git")
        .args(["show", "queue-on-up:fw.bin"])
        .current_dir(dir)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(blob, [0u8, 9, 9, 9]);
    let files = git(dir, &["ls-tree", "-r", "--name-only", "queue-on-up"]);
    assert_eq!(files, "fw.bin", "the side files are not committed");
}

#[test]
fn an_invalid_branch_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    let out = tool(
        dir,
        &[
            "rebase",
            "up",
            "--queue",
            "base..queue",
            "--branch",
            "bad..name",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid branch name `bad..name`"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join(".git/dovetail-port/session.json").exists());
}

#[test]
fn a_second_run_is_refused_while_the_first_holds_the_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    // Hold the session lock as a running dovetail-port would (flock from util-linux).
    let lock = dir.join(".git/dovetail-port/session.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "pid 1 (dovetail-port rebase elsewhere)\n").unwrap();
    let mut holder = std::process::Command::new("flock")
        // -o: the lock stays with flock itself, not with the `sleep` it runs.
        .args(["-o", lock.to_str().unwrap(), "sleep", "30"])
        .spawn()
        .expect("flock (util-linux) runs");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = tool(dir, &["rebase", "up", "--queue", "base..queue"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already running") && stderr(&out).contains("rebase elsewhere"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join(".git/dovetail-port/session.json").exists());
    // Once the holder is gone, the same start runs.
    assert_eq!(
        tool(dir, &["rebase", "up", "--queue", "base..queue"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn a_resolutions_import_waits_for_no_one_and_says_who_holds_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_patches(dir);
    let bundle = dir.join("bundle.json");
    let out = tool(dir, &["resolutions", "export", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lock = dir.join(".git/dovetail-port/resolutions.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(
        &lock,
        "pid 1 (dovetail-port resolutions import team.json)\n",
    )
    .unwrap();
    let mut holder = std::process::Command::new("flock")
        .args(["-o", lock.to_str().unwrap(), "sleep", "30"])
        .spawn()
        .expect("flock (util-linux) runs");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = tool(dir, &["resolutions", "import", bundle.to_str().unwrap()]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("import team.json"),
        "{}",
        stderr(&out)
    );
    let out = tool(dir, &["resolutions", "import", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
