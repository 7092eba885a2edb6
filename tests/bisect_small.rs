//! `bisect --run` on small generated repositories with a fake check command: the step
//! choice (patches that cannot matter never run, topics as units), the verdict cache, the
//! untouched user state, exit codes, Ctrl-C and resume.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// The fake check: records the commit it judged in $1, writes a kbuild-like dependency file
/// for kernel/a.c and kernel/b.c (the only "compiled" sources) in the build folder the tool
/// offers, and fails when kernel/a.c holds `BUG` (exit 125 when its last line holds `SKIP`).
/// With a second argument naming an existing file, checks after the second one sleep.
const CHECK: &str = r#"
echo "$DOVETAIL_PORT_BISECT_COMMIT" >> "$1"
mkdir -p "$DOVETAIL_PORT_BISECT_OUT/kernel"
{
  printf 'source_kernel/a.o := %s/kernel/a.c\n\n' "$DOVETAIL_PORT_BISECT_TREE"
  printf 'deps_kernel/a.o := \\\n  %s/kernel/b.c \\\n\n' "$DOVETAIL_PORT_BISECT_TREE"
} > "$DOVETAIL_PORT_BISECT_OUT/kernel/.a.o.cmd"
if [ -n "$2" ] && [ -e "$2" ] && [ "$(wc -l < "$1")" -ge 2 ]; then sleep 30; fi
if grep -q BUG kernel/a.c; then echo "kernel/a.c: BUG found at line $(grep -n BUG kernel/a.c | cut -d: -f1)"; exit 1; fi
if tail -n 1 kernel/a.c | grep -q SKIP; then exit 125; fi
exit 0
"#;

struct Fixture {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    cache: PathBuf,
    runs: PathBuf,
    ids: Vec<String>,
}

/// base + 12 patches; patch 6 puts BUG into kernel/a.c.
fn fixture(patches: &[(&str, &str, &str)]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("linux");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, "Makefile", "all:\n");
    write(&repo, "Kconfig", "config X\n\tbool\n");
    write(&repo, "kernel/a.c", &lines("a", 20));
    write(&repo, "kernel/b.c", &lines("b", 20));
    write(&repo, "drivers/unused.c", &lines("u", 5));
    write(&repo, "arch/arm64/x.c", &lines("x", 5));
    write(&repo, "Documentation/a.rst", &lines("d", 5));
    commit_all(&repo, "base");
    git(&repo, &["tag", "base"]);
    let mut ids = Vec::new();
    for (i, (subject, path, text)) in patches.iter().enumerate() {
        let old = std::fs::read_to_string(repo.join(path)).unwrap_or_default();
        write(&repo, path, &format!("{old}{text} {i}\n"));
        ids.push(commit_all(&repo, subject));
    }
    let cache = tmp.path().join("cache");
    let runs = tmp.path().join("runs.txt");
    Fixture {
        _tmp: tmp,
        repo,
        cache,
        runs,
        ids,
    }
}

fn queue() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("docs: explain", "Documentation/a.rst", "doc"),
        ("arm64: hook", "arch/arm64/x.c", "x"),
        ("dovetail: a", "kernel/a.c", "fine"),
        ("dovetail: b", "kernel/b.c", "fine"),
        ("docs: more", "Documentation/a.rst", "doc"),
        ("dovetail: break a", "kernel/a.c", "BUG"),
        ("arm64: more", "arch/arm64/x.c", "x"),
        ("dovetail: b again", "kernel/b.c", "fine"),
        ("drivers: unused", "drivers/unused.c", "u"),
        ("dovetail: a again", "kernel/a.c", "fine"),
        ("docs: last", "Documentation/a.rst", "doc"),
        ("dovetail: b last", "kernel/b.c", "fine"),
    ]
}

fn bisect_cmd(f: &Fixture, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(&f.repo)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .env("DOVETAIL_PORT_CACHE", &f.cache)
        .args(["bisect", "--queue", "base..main", "--format", "json"])
        .args(extra);
    c
}

fn bisect(f: &Fixture, extra: &[&str], check_args: &[&Path]) -> Output {
    let mut c = bisect_cmd(f, extra);
    c.args(["--run", "--", "sh", "-c", CHECK, "check"])
        .arg(&f.runs)
        .args(check_args);
    c.output().unwrap()
}

fn runs(f: &Fixture) -> Vec<String> {
    std::fs::read_to_string(&f.runs)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn json(o: &Output) -> Value {
    let v = serde_json::from_str(&stdout(o)).unwrap_or_else(|e| {
        panic!("{e}: stdout {} stderr {}", stdout(o), stderr(o));
    });
    common::assert_schema("bisect", &v);
    v
}

#[test]
fn names_the_guilty_patch_skipping_what_cannot_matter_and_reuses_verdicts() {
    let f = fixture(&queue());
    let before = user_state(&f.repo);
    let out = bisect(&f, &["--arch", "x86_64"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "found");
    let g = &r["guilty"];
    assert_eq!(g["patch"]["position"], 6);
    assert_eq!(g["patch"]["commit"], f.ids[5].as_str());
    assert_eq!(g["patch"]["subject"], "dovetail: break a");
    assert_eq!(g["patch"]["topic"], "dovetail");
    assert_eq!(g["evidence"]["kind"], "command");
    assert_eq!(g["evidence"]["status"], 1);
    assert!(g["evidence"]["output_tail"]
        .as_str()
        .unwrap()
        .contains("kernel/a.c: BUG found at line 22"));

    // Documentation, arm64 on an x86_64 check, and a source no "build" compiled: named and
    // never run.
    let skipped: Vec<u64> = r["cannot_matter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["patch"]["position"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, [1, 2, 5, 7, 9, 11]);
    let reasons = r["cannot_matter"].to_string();
    assert!(
        reasons.contains("another architecture's folder"),
        "{reasons}"
    );
    assert!(reasons.contains("not compiled in this configuration"));
    let ran = runs(&f);
    for i in skipped {
        assert!(
            !ran.contains(&f.ids[i as usize - 1]),
            "patch {i} cannot matter but ran"
        );
    }
    // The head first, then a search over the 6 patches that can matter.
    assert_eq!(ran[0], f.ids[11]);
    assert_eq!(r["checks_run"].as_u64().unwrap() as usize, ran.len());
    assert!(ran.len() < r["plain_bisection_checks"].as_u64().unwrap() as usize);
    assert_eq!(r["plain_bisection_checks"], 5);

    // The user's repository did not move and has no extra worktree.
    assert_eq!(user_state(&f.repo), before);
    assert_eq!(git(&f.repo, &["worktree", "list"]).lines().count(), 1);

    // A second run reuses every verdict: nothing runs.
    let again = bisect(&f, &["--arch", "x86_64"], &[]);
    assert_eq!(again.status.code(), Some(0));
    let r2 = json(&again);
    assert_eq!(r2["checks_run"], 0);
    assert_eq!(r2["guilty"]["patch"]["position"], 6);
    assert_eq!(runs(&f).len(), ran.len());
    // --no-cache checks again; the complete "build" of the first run is known from the start
    // now, so the unused driver is out of the search at once.
    let fresh = json(&bisect(&f, &["--arch", "x86_64", "--no-cache"], &[]));
    assert_eq!(fresh["guilty"]["patch"]["position"], 6);
    let n = fresh["checks_run"].as_u64().unwrap();
    assert!(n > 0 && n <= r["checks_run"].as_u64().unwrap(), "{n}");

    // --no-skip bisects every patch: more checks for the same answer.
    let all = bisect(&f, &["--no-skip", "--no-cache"], &[]);
    let r3 = json(&all);
    assert_eq!(r3["guilty"]["patch"]["position"], 6);
    assert_eq!(r3["cannot_matter"].as_array().unwrap().len(), 0);
}

#[test]
fn without_arch_the_build_still_says_what_was_not_compiled() {
    let f = fixture(&queue());
    let out = bisect(&f, &[], &[]);
    let r = json(&out);
    assert_eq!(r["guilty"]["patch"]["position"], 6);
    let arm64: Vec<&Value> = r["cannot_matter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["patch"]["subject"].as_str().unwrap().starts_with("arm64"))
        .collect();
    assert_eq!(arm64.len(), 2);
    // Not for being another arch's folder (no --arch), but because nothing built it.
    for s in arm64 {
        let reason = s["reason"].as_str().unwrap();
        assert!(reason.contains("not compiled"), "{reason}");
    }
}

#[test]
fn a_passing_head_exits_1_and_bad_input_exits_2() {
    let mut q = queue();
    q[5] = ("dovetail: fine a", "kernel/a.c", "fine");
    let f = fixture(&q);
    let out = bisect(&f, &[], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json(&out)["outcome"], "head-passes");
    assert_eq!(runs(&f).len(), 1);

    let mut c = bisect_cmd(&f, &[]);
    let out = c.args(["--queue", "nope..main"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No check at all, or --run without a command: refused before anything runs.
    let out = bisect_cmd(&f, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bisect_cmd(&f, &["--run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(runs(&f).len(), 1);
    // A bad range names itself.
    let out = Command::new(bin())
        .current_dir(&f.repo)
        .env("DOVETAIL_PORT_CACHE", &f.cache)
        .args(["bisect", "--queue", "main", "--run", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("BASE..HEAD"), "{}", stderr(&out));
}

#[test]
fn untestable_trees_are_stepped_around_and_named_when_ambiguous() {
    let mut q = queue();
    // 3 makes kernel/a.c untestable (its last line), 4 and 6 leave it so, 8 breaks it.
    q[2] = ("dovetail: a", "kernel/a.c", "SKIP");
    q[3] = ("dovetail: b", "kernel/b.c", "fine");
    q[5] = ("dovetail: b2", "kernel/b.c", "fine");
    q[7] = ("dovetail: break a", "kernel/a.c", "BUG");
    let f = fixture(&q);
    let out = bisect(&f, &["--arch", "x86_64"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "ambiguous");
    let c: Vec<u64> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["position"].as_u64().unwrap())
        .collect();
    assert_eq!(c, [3, 4, 6, 8]);
}

#[test]
fn a_topic_is_tried_as_a_unit_first() {
    // Topics by subject: 4 irq_pipeline patches then 2 evl ones. Of the 6 suspects, a plain
    // bisection checks patch 3 next; the end of the irq_pipeline topic (patch 4) costs no
    // more in the worst case, so it goes first.
    let q: Vec<(&str, &str, &str)> = vec![
        ("irq_pipeline: 1", "kernel/a.c", "fine"),
        ("irq_pipeline: 2", "kernel/b.c", "fine"),
        ("irq_pipeline: 3", "kernel/a.c", "fine"),
        ("irq_pipeline: 4", "kernel/b.c", "fine"),
        ("evl: 5", "kernel/a.c", "BUG"),
        ("evl: 6", "kernel/b.c", "fine"),
    ];
    let f = fixture(&q);
    let out = bisect(&f, &[], &[]);
    let r = json(&out);
    assert_eq!(r["guilty"]["patch"]["position"], 5);
    assert_eq!(r["guilty"]["patch"]["topic"], "evl");
    let ran = runs(&f);
    assert_eq!(ran, [f.ids[5].clone(), f.ids[3].clone(), f.ids[4].clone()]);
}

#[test]
fn ctrl_c_leaves_nothing_behind_and_a_rerun_resumes() {
    let f = fixture(&queue());
    let before = user_state(&f.repo);
    let slow = f.repo.parent().unwrap().join("slow");
    // Head checked and cached, then the second check sleeps: interrupt it like a terminal's
    // Ctrl-C (SIGINT to the whole process group).
    let mut c = bisect_cmd(&f, &["--arch", "x86_64"]);
    c.args(["--run", "--", "sh", "-c", CHECK, "check"])
        .arg(&f.runs)
        .arg(&slow);
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    // A terminal's Ctrl-C kills by default; a suite started in the background (`cmd &` in a
    // script) runs with SIGINT ignored, which the tool would inherit.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::fs::write(&slow, "").unwrap();
    let mut child = c.spawn().unwrap();
    let t0 = std::time::Instant::now();
    while runs(&f).len() < 2 {
        assert!(t0.elapsed().as_secs() < 60, "the check never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pgid = child.id() as i32;
    let st = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(user_state(&f.repo), before);
    assert_eq!(git(&f.repo, &["worktree", "list"]).lines().count(), 1);

    std::fs::remove_file(&slow).unwrap();
    let out = bisect(&f, &["--arch", "x86_64"], &[&slow]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["guilty"]["patch"]["position"], 6);
    // The head's verdict came from the cache.
    assert_eq!(r["steps"][0]["cached"], true);
    assert_eq!(r["steps"][0]["patch"]["position"], 12);
}
