//! `rebase --series` without the old tree: patch files whose pre-image blobs are not in the
//! repository (traditional diffs, series made on a release never imported) are placed hunk by
//! hunk on the target, each placement with its confidence; a hunk with nowhere safe to go is
//! a conflict. Small real repositories holding only the target.

use crate::common;

use std::path::Path;

use common::{git, json_run, tool, write};

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    target_repo(&dir);
    (tmp, dir)
}

/// The target: a C file with two functions, a Kconfig, and the header and Kconfig entry
/// defining what the patches use.
fn target_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    write(
        dir,
        "kernel/irq.c",
        "/* new header line 1 */\n/* new header line 2 */\n#include <linux/irq.h>\n\n\
int helper(int x)\n{\n\treturn x + 1;\n}\n\n\
static int irq_setup(struct irq_desc *desc, int flags)\n{\n\tint ret;\n\n\
\tret = helper(flags);\n\tif (ret < 0)\n\t\treturn ret;\n\tdesc->flags = ret;\n\
\treturn 0;\n}\n",
    );
    write(
        dir,
        "kernel/Kconfig",
        "config IRQ_A\n\tbool \"A\"\n\nconfig IRQ_PIPELINE\n\tbool \"Pipeline\"\n\tdepends on GENERIC_IRQ\n\tdefault n\n\nconfig IRQ_Z\n\tbool\n",
    );
    // What the queue's patches call and select, defined elsewhere in the target as in a real
    // tree (else they are `needs-api`).
    write(
        dir,
        "include/linux/irq.h",
        "struct irq_desc;\nvoid trace_irq_setup(struct irq_desc *desc);\n",
    );
    write(dir, "init/Kconfig", "config IRQ_WORK\n\tbool\n");
    common::commit_all(dir, "target");
    git(dir, &["tag", "v2"]);
}

fn series(dir: &Path, lines: &str, patches: &[(&str, &[u8])]) -> String {
    let s = dir.join("queue");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::write(s.join("series"), lines).unwrap();
    for (name, text) in patches {
        std::fs::write(s.join(name), text).unwrap();
    }
    s.to_string_lossy().into_owned()
}

fn rebase(dir: &Path, series: &str) -> (i32, serde_json::Value) {
    json_run(
        dir,
        &[
            "rebase", "v2", "--series", series, "--branch", "out", "--report", "json",
        ],
    )
}

fn show(dir: &Path, spec: &str) -> String {
    git(dir, &["show", spec])
}

// Made on an old release where the file had no header lines: every line number is off by two,
// and traditional headers (quilt's `linux.orig/` prefix, dates after a tab).
const SHIFTED: &[u8] = b"Description: irq: check flags\n\
--- linux.orig/kernel/irq.c\t2020-01-01 00:00:00.000000000 +0000\n\
+++ linux/kernel/irq.c\t2020-01-02 00:00:00.000000000 +0000\n\
@@ -12,4 +12,6 @@ static int irq_setup(struct irq_desc *desc, int flags)\n\
\x20\tret = helper(flags);\n \tif (ret < 0)\n \t\treturn ret;\n+\tif (ret > 255)\n+\t\treturn -EINVAL;\n \tdesc->flags = ret;\n";

// The old release had a comment after irq_setup() that the target no longer has: the
// hunk's trailing context differs, but the function is there by name.
const ANCHORED: &str = "Subject: irq: trace setup\n\n\
diff --git a/kernel/irq.c b/kernel/irq.c\n\
index 1234567..89abcde 100644\n\
--- a/kernel/irq.c\n+++ b/kernel/irq.c\n\
@@ -20,6 +20,7 @@ static int irq_setup(struct irq_desc *desc, int flags)\n\
\x20\tif (ret < 0)\n \t\treturn ret;\n \tdesc->flags = ret;\n+\ttrace_irq_setup(desc);\n \treturn 0;\n }\n \
/* old trailing comment */\n";

// A second hunk changing that comment: nowhere to go, and no name to anchor it.
const COMMENT_HUNK: &str =
    "@@ -40,1 +41,1 @@\n-/* old trailing comment */\n+/* new trailing comment */\n";

// Changes a function the target does not have: nowhere safe.
const NOWHERE: &[u8] = b"--- a/kernel/irq.c\n+++ b/kernel/irq.c\n\
@@ -40,3 +40,4 @@ static void irq_gone(void)\n \tfoo();\n \tbar();\n+\tbaz();\n \tqux();\n";

#[test]
fn hunks_land_by_exact_text_or_by_function_and_the_rest_conflicts() {
    let (tmp, dir) = setup();
    let s = series(
        tmp.path(),
        "shifted.patch\nchanged.patch\n",
        &[
            ("shifted.patch", SHIFTED),
            (
                "changed.patch",
                format!("{ANCHORED}{COMMENT_HUNK}").as_bytes(),
            ),
        ],
    );
    let (code, report) = rebase(&dir, &s);
    let patches = report["patches"].as_array().unwrap();
    let verdicts: Vec<&str> = patches
        .iter()
        .map(|p| p["verdict"].as_str().unwrap())
        .collect();
    // Offset by two lines, found once: merged (high confidence). The changed context: its
    // trailing comment hunk has nowhere to go, so the patch conflicts...
    assert_eq!(verdicts, ["merged", "conflict"], "{report:#}");
    assert_eq!(code, 1);
    let pl = &patches[0]["paths"][0]["placements"][0];
    assert_eq!(pl["method"], "hunk-offset", "{pl}");
    assert_eq!(pl["confidence"], "high");
    // ... while its first hunk was placed inside irq_setup() with trimmed context.
    let p1 = &patches[1]["paths"][0];
    assert_eq!(p1["placements"][0]["method"], "hunk-anchored", "{p1}");
    assert_eq!(p1["placements"][0]["confidence"], "medium");
    assert!(p1["placements"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("irq_setup"));
    assert!(p1["refusals"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("hunk #2 placed nowhere"));
    let hunk = patches[1]["conflicts"][0]["text"].as_str().unwrap();
    assert!(hunk.contains("/* new trailing comment */"), "{hunk}");

    // --skip the conflict: the branch is the target plus the first patch.
    let out = tool(&dir, &["rebase", "--skip"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = show(&dir, "out:kernel/irq.c");
    assert!(
        text.contains("\tif (ret < 0)\n\t\treturn ret;\n\tif (ret > 255)\n\t\treturn -EINVAL;\n\tdesc->flags = ret;\n"),
        "{text}"
    );
    assert!(!text.contains("trace_irq_setup"));
}

#[test]
fn an_anchored_hunk_alone_is_relocated_and_nowhere_is_a_conflict() {
    let (tmp, dir) = setup();
    let s = series(
        tmp.path(),
        "anchored.patch\nnowhere.patch -p1\n",
        &[
            ("anchored.patch", ANCHORED.as_bytes()),
            ("nowhere.patch", NOWHERE),
        ],
    );
    let (_, report) = rebase(&dir, &s);
    let patches = report["patches"].as_array().unwrap();
    assert_eq!(patches[0]["verdict"], "relocated", "{report:#}");
    assert_eq!(patches[1]["verdict"], "conflict", "{report:#}");
    let refusal = patches[1]["paths"][0]["refusals"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(refusal.contains("irq_gone"), "{refusal}");
    // The review section lists the anchored placement with its confidence.
    let review = report["review"].as_array().unwrap();
    assert!(review
        .iter()
        .any(|r| r["method"] == "hunk-anchored" && r["confidence"] == "medium"));
    // --continue checks the conflict out: a marked region (what the patch expected, what it
    // wants) where irq_gone() would be, nothing of the target's replaced; the anchored hunk
    // of the patch before it is in place.
    assert_eq!(tool(&dir, &["rebase", "--continue"]).status.code(), Some(1));
    let marked =
        std::fs::read_to_string(dir.join(".git/dovetail-port/worktree/kernel/irq.c")).unwrap();
    assert!(
        marked.contains("=======\n\tfoo();\n\tbar();\n\tbaz();\n\tqux();\n>>>>>>> "),
        "{marked}"
    );
    assert!(
        marked.contains("\tdesc->flags = ret;\n\ttrace_irq_setup(desc);\n\treturn 0;\n"),
        "{marked}"
    );
}

#[test]
fn p0_patches_kconfig_entries_and_latin1_names_and_lines() {
    let (tmp, dir) = setup();
    // -p0 names; the entry's context changed (`default n` added upstream after `depends`).
    let kconfig: &[u8] = b"--- kernel/Kconfig\n+++ kernel/Kconfig\n\
@@ -4,4 +4,5 @@\n config IRQ_PIPELINE\n \tbool \"Pipeline\"\n \tdepends on GENERIC_IRQ\n+\tselect IRQ_WORK\n \n";
    // A new file with a Latin-1 name and a Latin-1 line, and a Latin-1 line in a context
    // hunk of an existing file (made by the target below).
    let latin1: &[u8] =
        b"--- /dev/null\n+++ b/docs/caf\xe9.txt\n@@ -0,0 +1,2 @@\n+na\xefve\n+r\xe9sum\xe9\n";
    let s = series(
        tmp.path(),
        "kconfig.patch -p0\n# a comment\nlatin1.patch\n",
        &[("kconfig.patch", kconfig), ("latin1.patch", latin1)],
    );
    let (code, report) = rebase(&dir, &s);
    assert_eq!(code, 0, "{report:#}");
    let patches = report["patches"].as_array().unwrap();
    assert_eq!(patches[0]["verdict"], "relocated", "{report:#}");
    assert_eq!(patches[1]["verdict"], "clean", "{report:#}");
    let k = show(&dir, "out:kernel/Kconfig");
    assert!(
        k.contains("config IRQ_PIPELINE\n\tbool \"Pipeline\"\n\tdepends on GENERIC_IRQ\n\tselect IRQ_WORK\n\tdefault n\n"),
        "{k}"
    );
    // The name and the content are the patch's bytes.
    let listing = std::process::Command::new("git")
        .args(["ls-tree", "-r", "-z", "--name-only", "out", "docs"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(listing.stdout, b"docs/caf\xe9.txt\0");
    let tree = git(&dir, &["ls-tree", "out", "docs/"]);
    let id = tree.split_whitespace().nth(2).unwrap().to_string();
    let content = std::process::Command::new("git")
        .args(["cat-file", "blob", &id])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(content.stdout, b"na\xefve\nr\xe9sum\xe9\n");
}
