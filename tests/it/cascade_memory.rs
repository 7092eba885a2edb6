//! Recorded resolutions end to end on small real git repositories: a conflict resolved by hand
//! on `--continue` is recorded, applied again by a later rebase onto a release where the code
//! around it moved, shared to another clone by export/import, and ignored by `--strict`. Also:
//! regions the cascade can place are placed in the file the user gets, even when another
//! region of the same file stays a conflict.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const PROBE: &str = "#include <linux/dev.h>\n\nstatic int probe(struct dev *d)\n{\n\tint ret;\n\n\tret = setup(d, 0);\n\tif (ret)\n\t\treturn ret;\n\treturn 0;\n}\n";
const RESOLVED: &str = "\tret = setup(d, IRQF_SHARED | IRQF_OOB);\n";

/// v1 → queue (one patch), v2 (upstream changed the same argument: a true conflict, which a
/// word-level merge cannot settle), v3 (v2 plus code that moves the
/// region down and rewrites a line near it).
fn fixture(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "drivers/foo.c", PROBE);
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "drivers/foo.c",
        &replace_line(PROBE, "setup(d, 0)", "setup(d, IRQF_OOB)"),
    );
    commit_all(dir, "foo: request the irq out-of-band");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    let v2 = replace_line(PROBE, "setup(d, 0)", "setup(d, IRQF_SHARED)");
    write(dir, "drivers/foo.c", &v2);
    commit_all(dir, "foo: rename setup");
    git(dir, &["tag", "v2"]);
    let v3 = replace_line(
        &v2,
        "\nstatic int probe",
        "\nstatic int helper(void)\n{\n\treturn 1;\n}\n\nstatic int probe",
    );
    let v3 = replace_line(&v3, "\tint ret;\n", "\tint ret = 0;\n");
    write(dir, "drivers/foo.c", &v3);
    commit_all(dir, "foo: add a helper");
    git(dir, &["tag", "v3"]);
    git(dir, &["checkout", "-q", "queue"]);
}

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = tool(dir, args);
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap_or(-1), v)
}

/// `rebase TARGET --queue v1..queue` into `branch`, JSON report.
fn rebase(dir: &Path, target: &str, branch: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "rebase",
        target,
        "--queue",
        "v1..queue",
        "--branch",
        branch,
        "--report",
        "json",
    ];
    args.extend_from_slice(extra);
    json(dir, &args)
}

fn file_at(dir: &Path, branch: &str, path: &str) -> String {
    git(dir, &["show", &format!("{branch}:{path}")]) + "\n"
}

/// Resolves the v2 conflict by hand, as a user would, and returns the tool's output.
fn resolve_by_hand(dir: &Path) -> String {
    let (code, report) = json(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 1);
    assert_eq!(report["patches"][0]["verdict"], "conflict");
    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let file = dir.join(".git/dovetail-port/worktree/drivers/foo.c");
    let marked = std::fs::read_to_string(&file).unwrap();
    assert!(marked.contains("<<<<<<< "), "{marked}");
    let mut resolved = String::new();
    let mut inside = false;
    for line in marked.split_inclusive('\n') {
        if line.starts_with("<<<<<<< ") {
            inside = true;
            resolved.push_str(RESOLVED);
        } else if line.starts_with(">>>>>>> ") {
            inside = false;
        } else if !inside {
            resolved.push_str(line);
        }
    }
    std::fs::write(&file, resolved).unwrap();
    let out = tool(dir, &["rebase", "--continue", "--report", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn recorded_placement(report: &Value) -> &Value {
    let p = &report["patches"][0];
    assert_eq!(p["verdict"], "relocated", "{p:#}");
    let placements = p["paths"][0]["placements"].as_array().unwrap();
    assert_eq!(placements.len(), 1, "{p:#}");
    &placements[0]
}

#[test]
fn a_hand_resolution_is_recorded_and_reused_where_the_code_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let done: Value = serde_json::from_str(&resolve_by_hand(dir)).unwrap();
    assert_eq!(done["patches"][0]["verdict"], "resolved");
    let notes = done["patches"][0]["notes"].to_string();
    assert!(notes.contains("1 resolution(s) recorded"), "{notes}");

    let list = tool(dir, &["resolutions", "list"]);
    assert_eq!(list.status.code(), Some(0));
    let line = stdout(&list);
    assert!(line.contains("drivers/foo.c  probe"), "{line}");
    let key = line.split_whitespace().next().unwrap().to_string();
    let shown = stdout(&tool(dir, &["resolutions", "show", &key[..8]]));
    assert!(shown.contains("scope:    probe"), "{shown}");
    assert!(
        shown.contains("setup(d, IRQF_SHARED | IRQF_OOB)"),
        "{shown}"
    );

    // v3: the region moved down five lines and a line near it changed; the same change met
    // the same upstream change, so the recorded resolution applies.
    let (code, report) = rebase(dir, "v3", "on-v3", &[]);
    assert_eq!(code, 0, "{report:#}");
    let placement = recorded_placement(&report);
    assert_eq!(placement["method"], "recorded");
    assert_eq!(placement["confidence"], "high");
    assert!(placement["detail"]
        .as_str()
        .unwrap()
        .contains("foo: request the irq out-of-band"));
    let ported = file_at(dir, "on-v3", "drivers/foo.c");
    assert!(ported.contains("\tint ret = 0;\n"), "{ported}");
    assert!(ported.contains(RESOLVED), "{ported}");
    assert!(ported.contains("static int helper(void)"), "{ported}");
    assert!(!ported.contains("<<<<<<<"));

    // --strict is git's behaviour: the conflict stays.
    let (code, strict) = rebase(dir, "v3", "strict", &["--strict"]);
    assert_eq!(code, 1);
    assert_eq!(strict["patches"][0]["verdict"], "conflict");
    assert_eq!(tool(dir, &["rebase", "--abort"]).status.code(), Some(0));

    // After --abort and a finished session, the record is still there; forget removes it.
    assert!(stdout(&tool(dir, &["resolutions", "list"])).contains(&key));
    let out = tool(dir, &["resolutions", "forget", &key[..10]]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, report) = rebase(dir, "v3", "forgotten", &[]);
    assert_eq!(code, 1, "nothing recorded any more: {report:#}");
    assert_eq!(tool(dir, &["rebase", "--abort"]).status.code(), Some(0));
}

#[test]
fn exported_resolutions_resolve_the_conflict_in_another_clone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    std::fs::create_dir(&dir).unwrap();
    fixture(&dir);
    resolve_by_hand(&dir);
    let bundle = tmp.path().join("team.json");
    let out = tool(&dir, &["resolutions", "export", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let other = tmp.path().join("b");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            dir.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(git(&other, &["branch", "--show-current"]), "queue");
    let (code, before) = json(
        &other,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 1, "a clone has no records: {before:#}");
    assert_eq!(tool(&other, &["rebase", "--abort"]).status.code(), Some(0));

    let out = tool(&other, &["resolutions", "import", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 new"), "{}", stdout(&out));
    let again = stdout(&tool(
        &other,
        &["resolutions", "import", bundle.to_str().unwrap()],
    ));
    assert!(again.contains("0 new, 1 already known"), "{again}");

    let (code, report) = json(
        &other,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(recorded_placement(&report)["method"], "recorded");
    let ported = file_at(&other, "queue-on-v2", "drivers/foo.c");
    assert!(ported.contains(RESOLVED), "{ported}");

    // A file that is not a bundle is refused by name.
    std::fs::write(tmp.path().join("junk.json"), "{\"format\": \"other\"}").unwrap();
    let out = tool(
        &other,
        &[
            "resolutions",
            "import",
            tmp.path().join("junk.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.json"), "{}", stderr(&out));
}

#[test]
fn placed_regions_are_applied_in_the_file_left_for_the_user() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "master"]);
    let text = format!(
        "#include <linux/a.h>\n#include <linux/b.h>\n\n{}\nint limit = 1;\n",
        lines("/* filler */", 12)
    );
    write(dir, "kernel/x.c", &text);
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    let queue = replace_line(&text, "b.h>\n", "b.h>\n#include <linux/irqstage.h>\n");
    write(
        dir,
        "kernel/x.c",
        &replace_line(&queue, "limit = 1", "limit = 2"),
    );
    commit_all(dir, "x: oob");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    let up = replace_line(&text, "b.h>\n", "b.h>\n#include <linux/cleanup.h>\n");
    write(
        dir,
        "kernel/x.c",
        &replace_line(&up, "limit = 1", "limit = 3"),
    );
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "queue"]);

    let (code, report) = json(
        dir,
        &["rebase", "v2", "--queue", "v1..queue", "--report", "json"],
    );
    assert_eq!(code, 1);
    let p = &report["patches"][0];
    assert_eq!(p["verdict"], "conflict");
    assert_eq!(
        p["paths"][0]["placements"][0]["method"], "list-union",
        "{p:#}"
    );
    assert_eq!(p["conflicts"].as_array().unwrap().len(), 1, "{p:#}");

    let out = tool(dir, &["rebase", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let file = dir.join(".git/dovetail-port/worktree/kernel/x.c");
    let marked = std::fs::read_to_string(&file).unwrap();
    assert_eq!(marked.matches("<<<<<<< ").count(), 1, "{marked}");
    assert!(
        marked.starts_with(
            "#include <linux/a.h>\n#include <linux/b.h>\n#include <linux/cleanup.h>\n#include <linux/irqstage.h>\n"
        ),
        "{marked}"
    );
    let line = p["conflicts"][0]["line"].as_u64().unwrap() as usize;
    assert!(
        marked
            .lines()
            .nth(line - 1)
            .unwrap()
            .starts_with("<<<<<<< "),
        "conflict line {line} must point at the marker in the checked-out file:\n{marked}"
    );
}
