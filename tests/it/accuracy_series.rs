//! bench/accuracy's series-to-commits import on a small real git repository: a quilt layout
//! like Debian's (two series folders, a mail patch, a DEP-3 traditional diff, one patch that
//! does not apply), turned into one commit per patch file with its series path as a trailer,
//! and the change of each commit read back as the scoring sees it.

use std::path::Path;
use std::process::Command;

use dovetail_port::accuracy::change::parse_diff;
use dovetail_port::accuracy::series::{build_queue, read_series, trailer_of};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const MAIL: &str = "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001
From: Jane Doe <jane@example.org>
Date: Tue, 2 Jan 2024 10:00:00 +0100
Subject: [PATCH 01/02] kernel: add b

Why b.

Signed-off-by: Jane Doe <jane@example.org>
---
 kernel/a.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/kernel/a.c b/kernel/a.c
--- a/kernel/a.c
+++ b/kernel/a.c
@@ -1,3 +1,4 @@
 one
+b
 two
 three
-- 
2.40.0
";

// Context shifted by one line (offset), traditional headers, DEP-3 description.
const DEP3: &str = "Description: Replace three
Author: Ben <ben@example.org>

--- linux.orig/kernel/a.c
+++ linux/kernel/a.c
@@ -2,2 +2,2 @@
 two
-three
+THREE
";

const BROKEN: &str = "Subject: touch a line that is not there

--- a/kernel/a.c
+++ b/kernel/a.c
@@ -1,1 +1,1 @@
-nonexistent
+x
";

const RT: &str = "From: Rt Dev <rt@example.org>
Date: Wed, 3 Jan 2024 10:00:00 +0000
Subject: [PATCH 1/1] rt: new file

---
diff --git a/kernel/rt.c b/kernel/rt.c
new file mode 100644
--- /dev/null
+++ b/kernel/rt.c
@@ -0,0 +1 @@
+rt
";

#[test]
fn a_quilt_series_becomes_one_commit_per_patch_with_its_series_path() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("kernel")).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("kernel/a.c"), "one\ntwo\nthree\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "base"]);
    git(&repo, &["tag", "v1"]);

    let debian = tmp.path().join("debian");
    std::fs::create_dir_all(debian.join("patches/bugfix")).unwrap();
    std::fs::create_dir_all(debian.join("patches-rt")).unwrap();
    std::fs::write(
        debian.join("patches/series"),
        "# general\nbugfix/add-b.patch\n\nbugfix/broken.patch\nbugfix/three.patch\n",
    )
    .unwrap();
    std::fs::write(debian.join("patches/bugfix/add-b.patch"), MAIL).unwrap();
    std::fs::write(debian.join("patches/bugfix/broken.patch"), BROKEN).unwrap();
    std::fs::write(debian.join("patches/bugfix/three.patch"), DEP3).unwrap();
    std::fs::write(debian.join("patches-rt/series"), "0001-rt.patch\n").unwrap();
    std::fs::write(debian.join("patches-rt/0001-rt.patch"), RT).unwrap();

    let series = ["patches".to_string(), "patches-rt".to_string()];
    let patches = read_series(&debian, &series).unwrap();
    let paths: Vec<&str> = patches.iter().map(|p| p.series_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "patches/bugfix/add-b.patch",
            "patches/bugfix/broken.patch",
            "patches/bugfix/three.patch",
            "patches-rt/0001-rt.patch"
        ]
    );
    assert_eq!(patches[0].subject, "kernel: add b");
    assert_eq!(patches[2].subject, "Replace three");
    assert_eq!(patches[3].subject, "rt: new file");

    let git_dir = repo.join(".git");
    let q = build_queue(&git_dir, "v1", &patches).unwrap();
    assert_eq!(q.base, git(&repo, &["rev-parse", "v1"]));
    // The broken patch is reported, not dropped silently, and the rest goes on.
    let failed: Vec<&str> = q.failed().map(|p| p.series_path.as_str()).collect();
    assert_eq!(failed, ["patches/bugfix/broken.patch"]);
    assert!(q.patches[1]
        .error
        .as_deref()
        .unwrap()
        .contains("kernel/a.c"));
    let log = git(&repo, &["rev-list", "--reverse", &format!("v1..{}", q.tip)]);
    let commits: Vec<&str> = log.lines().collect();
    assert_eq!(commits.len(), 3);
    assert_eq!(q.patches[3].commit.as_deref(), Some(commits[2]));

    // Message, author and trailer of the mail patch; the DEP-3 one gets the team's name.
    let msg = git(&repo, &["log", "-1", "--format=%B", commits[0]]);
    assert!(msg.starts_with("kernel: add b\n\nWhy b."), "{msg}");
    assert!(
        msg.ends_with(
            "Signed-off-by: Jane Doe <jane@example.org>\nSeries-Path: patches/bugfix/add-b.patch"
        ),
        "{msg}"
    );
    assert_eq!(trailer_of(&msg), Some("patches/bugfix/add-b.patch"));
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%an <%ae> %at", commits[0]]),
        "Jane Doe <jane@example.org> 1704186000"
    );
    let msg = git(&repo, &["log", "-1", "--format=%B", commits[1]]);
    assert_eq!(trailer_of(&msg), Some("patches/bugfix/three.patch"));
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%an", commits[1]]),
        "Debian kernel team"
    );

    // The result tree is every applying patch in order.
    assert_eq!(
        git(&repo, &["show", &format!("{}:kernel/a.c", q.tip)]),
        "one\nb\ntwo\nTHREE"
    );
    assert_eq!(
        git(&repo, &["show", &format!("{}:kernel/rt.c", q.tip)]),
        "rt"
    );

    // What each commit changes equals what its patch file says, positions aside.
    for (p, c) in [(&patches[0], commits[0]), (&patches[2], commits[1])] {
        let diff = git(&repo, &["diff-tree", "-p", &format!("{c}^"), c]);
        let from_file = parse_diff(&std::fs::read(&p.file).unwrap());
        assert_eq!(parse_diff(diff.as_bytes()), from_file, "{}", p.series_path);
    }

    // Same series, same base: same commits.
    let again = build_queue(&git_dir, "v1", &patches).unwrap();
    assert_eq!(again.tip, q.tip);
}
