//! Helpers shared by the integration tests: real git repositories driven by the real `git`,
//! and the real `dovetail-port` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The variable that turns the kernel tier on.
pub const KERNEL_TESTS: &str = "DOVETAIL_PORT_KERNEL_TESTS";

/// Whether a kernel-tier test runs: one that needs the imported Debian kernel trees, builds a
/// kernel or boots QEMU runs only with `DOVETAIL_PORT_KERNEL_TESTS=1` (`scripts/test` sets it).
/// Otherwise it says so in one line on stderr, written past libtest's capture so it shows, and
/// the test returns. `scripts/test` reads these lines to run exactly those tests in its kernel
/// tier: keep the `kernel tier: skipped <binary>::<test> ` prefix.
pub fn kernel_tier() -> bool {
    use std::io::Write;
    if std::env::var_os(KERNEL_TESTS).is_some_and(|v| v == "1") {
        return true;
    }
    // libtest runs each test on a thread named after it; the binary is `<name>-<hash>`.
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe.file_stem().unwrap_or_default().to_string_lossy();
    let binary = stem.rsplit_once('-').map_or(&*stem, |(name, _)| name);
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    // One write of one whole line: libtest prints results on stdout from other threads into
    // the same pipe, and a line written piece by piece gets them in its middle.
    let line = format!(
        "\nkernel tier: skipped {binary}::{test} (needs the Debian kernel trees, a kernel build or QEMU; set {KERNEL_TESTS}=1 to run it)\n"
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dovetail-port"))
}

/// Runs the tool in `dir`, returning the output (never panics on a non-zero exit).
pub fn tool(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run dovetail-port")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs git with a fixed identity and clock; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A numbered block of lines, so edits far apart merge cleanly.
pub fn lines(prefix: &str, n: usize) -> String {
    (1..=n).map(|i| format!("{prefix} line {i}\n")).collect()
}

pub fn replace_line(text: &str, old: &str, new: &str) -> String {
    assert!(text.contains(old), "{old:?} not in text");
    text.replacen(old, new, 1)
}

/// Everything about the user's state that must not move: refs, HEAD, index, worktree status.
pub fn user_state(dir: &Path) -> String {
    let refs = git(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        ],
    );
    let head = git(dir, &["symbolic-ref", "-q", "HEAD"]);
    let head_id = git(dir, &["rev-parse", "HEAD"]);
    let index = git(dir, &["ls-files", "-s"]);
    let status = git(dir, &["status", "--porcelain"]);
    format!("{refs}\n{head} {head_id}\n{index}\n{status}")
}

/// A throw-away bare clone of the real kernel cache (Debian 6.1 and 6.12, tags v6.1/v6.12),
/// sharing its objects, inside `tmp`.
pub fn real_repo(tmp: &Path) -> PathBuf {
    use dovetail_port::kernels::{self, KernelCache};
    let cache = KernelCache::default_location();
    cache
        .ensure()
        .expect("Debian kernel sources (run ./scripts/setup)");
    let repo = tmp.join("kernel.git");
    kernels::shared_clone(&cache, &repo).unwrap();
    repo
}

/// The sample queue's folder.
pub fn sample_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("patchsets/sample")
        .to_string_lossy()
        .into_owned()
}

pub const CI_FORK_DRIVER: &str = "drivers/misc/oob_demo";

/// The Debian 6.1 fork of the ci and boot end-to-end tests, at `<cache>/ci-test/fork-6.1`:
/// a clone sharing the kernel cache's objects, HEAD = `v6.1` (Debian's linux-source-6.1) plus
/// one queue commit adding an oob driver (not wired into any Makefile, so the kernel it builds
/// is the 6.1 tree's). Created once, then only checked out, so its build stays incremental.
/// Returns (fork, queue commit).
pub fn ci_fork() -> (PathBuf, String) {
    use dovetail_port::kernels::{cache_root, KernelCache};
    use std::fs::File;
    let cache = KernelCache::default_location();
    cache.ensure().expect("kernel cache");
    let dir = cache_root().join("ci-test");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    let fork = dir.join("fork-6.1");
    let ready = dir.join("fork-6.1.ready");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&fork);
        let st = Command::new("git")
            .args(["clone", "-q", "--shared", "--no-checkout"])
            .arg(cache.repo_path())
            .arg(&fork)
            .status()
            .unwrap();
        assert!(st.success());
        git(&fork, &["checkout", "-q", "-b", "dovetail", "v6.1"]);
        let src =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ci/oob_demo/oob_demo.c");
        write(
            &fork,
            &format!("{CI_FORK_DRIVER}/oob_demo.c"),
            &std::fs::read_to_string(src).unwrap(),
        );
        git(&fork, &["add", "-f", CI_FORK_DRIVER]);
        git(&fork, &["commit", "-q", "-m", "misc: oob demo driver"]);
        File::create(&ready).unwrap();
    }
    git(&fork, &["checkout", "-q", "dovetail"]);
    let head = git(&fork, &["rev-parse", "HEAD"]);
    assert_eq!(
        git(&fork, &["log", "--format=%s", "-1"]),
        "misc: oob demo driver"
    );
    (fork, head)
}

/// The gate of the ci end-to-end test: queue + lint over the driver, one x86_64 tinyconfig +
/// KUnit entry.
pub const CI_FORK_CONFIG: &str = r#"
[queue]
base = "v6.1"

[lint]
paths = ["drivers/misc/oob_demo"]
baseline = "lint-baseline.json"

[[matrix]]
name = "x86_64-kunit"
arch = "x86_64"
config = "tinyconfig"
tests = ["kunit"]
run = "echo '@@dpt@@ ok payload-ran'"

[timeouts]
boot = 600
idle = 120
"#;

/// Where `dovetail-port ci` builds the fork's x86_64 KUnit entry, from the tool's own rule, so
/// a test building the same tree with the same keys (x86_64, tinyconfig, QEMU + KUnit
/// fragments) there shares the one kernel build.
pub fn ci_fork_build_dir(fork: &Path) -> PathBuf {
    let config = dovetail_port::ci::Config::parse(CI_FORK_CONFIG, &fork.join("dovetail-port.toml"))
        .expect("the ci test's config");
    dovetail_port::ci::run::build_dir(fork, &config, &config.matrix[0])
}

/// Runs the host's python3 (PyYAML, lava-common, junitparser) on `code`; panics on failure.
pub fn python(code: &str, args: &[&Path]) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", code])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The sample queue forward-ported onto Debian's 6.12 (the patches git merges without a
/// conflict: 1-7, 13-15 and 18, eleven commits) with two seeded faults, for `bisect`:
/// `bisect-both` breaks the build in patch 4 (a missing `;` in kernel/irq/handle.c, kept by
/// every later patch) and a KUnit case in patch 15 (`irq_pipeline_sample_switch_oob()`
/// stores the opposite stage); `bisect-kunit` has only the KUnit fault. Created once in
/// `<cache>/bisect-test/kernel.git` (sharing the kernel cache's objects, fixed identities,
/// so the same commits every time). Returns the repository.
pub fn bisect_seeded_repo() -> PathBuf {
    use dovetail_port::kernels::{cache_root, KernelCache};
    use dovetail_port::queue::{apply, patchfile, range, Author};
    use std::fs::File;
    let cache = KernelCache::default_location();
    cache.ensure().expect("kernel cache");
    let dir = cache_root().join("bisect-test");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    let repo_path = dir.join("kernel.git");
    // The marker holds the sample queue's fingerprint: a changed queue rebuilds the repository.
    let ready = dir.join("kernel.git.ready");
    let mut files: Vec<PathBuf> = std::fs::read_dir(sample_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    files.sort();
    let mut queue_bytes = Vec::new();
    for path in &files {
        queue_bytes.extend(path.file_name().unwrap().as_encoded_bytes());
        queue_bytes.extend(std::fs::read(path).unwrap());
    }
    let fingerprint = git2::Oid::hash_object(git2::ObjectType::Blob, &queue_bytes)
        .unwrap()
        .to_string();
    if std::fs::read_to_string(&ready).is_ok_and(|f| f == fingerprint) {
        return repo_path;
    }
    let _ = std::fs::remove_dir_all(&repo_path);
    dovetail_port::kernels::shared_clone(&cache, &repo_path).unwrap();
    let repo = git2::Repository::open(&repo_path).unwrap();
    let who = Author {
        name: "Dovetail Port Sample".into(),
        email: "sample@dovetail-port.invalid".into(),
        time: 1_767_607_200,
        offset: 0,
    };
    let sig = who.to_signature().unwrap();
    let patches = patchfile::read_queue(Path::new(&sample_dir())).unwrap();
    let on_61 = apply::apply_series(
        &repo,
        range::resolve(&repo, "v6.1").unwrap(),
        &patches,
        &who,
    )
    .unwrap();
    // Forward-port with git's own merge: what merges cleanly goes in, conflicts stay out.
    let mut ported: Vec<git2::Oid> = Vec::new();
    let mut tip = range::resolve(&repo, "v6.12").unwrap();
    for id in on_61 {
        let out = Command::new("git")
            .arg(format!("--git-dir={}", repo_path.display()))
            .args(["merge-tree", "--write-tree"])
            .arg(format!("--merge-base={id}^"))
            .arg(tip.to_string())
            .arg(id.to_string())
            .output()
            .unwrap();
        if !out.status.success() {
            continue;
        }
        let tree =
            git2::Oid::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap())
                .unwrap();
        let parent = repo.find_commit(tip).unwrap();
        if tree == parent.tree_id() {
            continue;
        }
        let c = repo.find_commit(id).unwrap();
        let msg = String::from_utf8_lossy(c.message_bytes()).into_owned();
        tip = repo
            .commit(
                None,
                &sig,
                &sig,
                &msg,
                &repo.find_tree(tree).unwrap(),
                &[&parent],
            )
            .unwrap();
        ported.push(tip);
    }
    assert_eq!(ported.len(), 11, "the sample queue's clean ports on 6.12");
    // Rewrites the queue with `path` replaced by `fault(text)` from patch `from` (1-based) on.
    let seed = |queue: &[git2::Oid], from: usize, path: &str, old: &str, new: &str| {
        let mut out = Vec::new();
        let mut parent = repo
            .find_commit(range::resolve(&repo, "v6.12").unwrap())
            .unwrap();
        for (i, id) in queue.iter().enumerate() {
            let c = repo.find_commit(*id).unwrap();
            let mut tree = c.tree().unwrap();
            if i + 1 >= from {
                let entry = tree.get_path(Path::new(path)).unwrap();
                let text =
                    String::from_utf8(repo.find_blob(entry.id()).unwrap().content().to_vec())
                        .unwrap();
                assert!(
                    text.contains(old),
                    "{path} of patch {} lacks {old:?}",
                    i + 1
                );
                let blob = repo.blob(text.replacen(old, new, 1).as_bytes()).unwrap();
                let new_tree = git2::build::TreeUpdateBuilder::new()
                    .upsert(path, blob, git2::FileMode::Blob)
                    .create_updated(&repo, &tree)
                    .unwrap();
                tree = repo.find_tree(new_tree).unwrap();
            }
            let msg = String::from_utf8_lossy(c.message_bytes()).into_owned();
            let nid = repo
                .commit(None, &sig, &sig, &msg, &tree, &[&parent])
                .unwrap();
            parent = repo.find_commit(nid).unwrap();
            out.push(nid);
        }
        out
    };
    let kunit = seed(
        &ported,
        10,
        "kernel/irq/pipeline_sample.c",
        "raw_cpu_write(irq_pipeline_sample_oob, oob);",
        "raw_cpu_write(irq_pipeline_sample_oob, !oob);",
    );
    let both = seed(
        &kunit,
        4,
        "kernel/irq/handle.c",
        "irq_pipeline_sample_handled(desc);",
        "irq_pipeline_sample_handled(desc)",
    );
    for (name, q) in [("bisect-kunit", &kunit), ("bisect-both", &both)] {
        repo.reference(
            &format!("refs/heads/{name}"),
            *q.last().unwrap(),
            true,
            "seeded",
        )
        .unwrap();
    }
    std::fs::write(&ready, fingerprint).unwrap();
    repo_path
}

/// Runs the tool and reads its JSON report from stdout; panics with the output when it is not JSON.
/// A rebase report is also checked against docs/schemas/rebase.schema.json.
pub fn json_run(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = tool(dir, args);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    if args.first() == Some(&"rebase") {
        assert_schema("rebase", &v);
    }
    (code, v)
}

/// Checks a JSON report against its published schema, docs/schemas/NAME.schema.json;
/// panics listing every violation.
pub fn assert_schema(name: &str, v: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schemas")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{}: not a valid schema: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name} report does not match its schema: {errors:#?}\n{v:#}"
    );
}

/// Snapshot settings for the rebase report: the commits the replay writes carry the clock's
/// time (the queue's own commits are dated by [`git`]), and the replay's speed varies.
pub fn rebase_snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r#""(tip|new_commit)": "[0-9a-f]{40}""#,
        r#""$1": "[commit]""#,
    );
    s.add_filter(r"written at [0-9a-f]{12}", "written at [commit]");
    s.add_filter(
        r"replayed in [0-9.]+s \([0-9]+ patches/s\)",
        "replayed in [time]",
    );
    s.add_filter(
        r#""(replay_seconds|patches_per_second)": [0-9.e+-]+"#,
        r#""$1": "[time]""#,
    );
    s
}

/// Each patch's verdict in a `rebase --report json` report, in queue order.
pub fn verdicts(report: &serde_json::Value) -> Vec<&str> {
    report["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdict"].as_str().unwrap())
        .collect()
}

/// `rebase v2 --queue v1..queue --report json` plus `extra`, expected to leave conflicts
/// (exit 1); the session is aborted after, so the next run starts afresh.
pub fn rebase_v2_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["rebase", "v2", "--queue", "v1..queue", "--report", "json"];
    args.extend_from_slice(extra);
    let out = tool(dir, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(tool(dir, &["rebase", "--abort"]).status.code(), Some(0));
    v
}

/// Debian's source tree of `series` ("6.1", "6.12") from the kernel cache (kernel tier).
pub fn kernel_tree(series: &str) -> PathBuf {
    dovetail_port::kernels::KernelCache::default_location()
        .ensure()
        .expect("kernel cache")
        .source_tree(series)
}
