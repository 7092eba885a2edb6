//! Benchmark: our in-memory replay against git's merge-ort (`git merge-tree --write-tree
//! --merge-base`, then `git commit-tree`, per commit), on the real Debian 6.1 → 6.12 trees,
//! for the sample queue and a synthetic 300-commit queue. Prints both times and the ratio.
//!
//! Run with `bench/rebase` (or `cargo bench --bench rebase`).

use std::path::Path;
use std::time::Instant;

use dovetail_port::kernels::{self, KernelCache};
use dovetail_port::process::Git;
use dovetail_port::queue::{apply, patchfile, Author};
use dovetail_port::rebase::engine::{self, QueueSpec, StartOptions};
use git2::{Oid, Repository};

const SYNTHETIC: usize = 300;

fn main() {
    let cache = KernelCache::default_location();
    cache.ensure().expect("kernel cache");
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo_path = tmp.path().join("bench.git");
    kernels::shared_clone(&cache, &repo_path).expect("clone");
    let repo = Repository::open(&repo_path).expect("open");
    let base = repo
        .revparse_single("v6.1")
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id();

    println!(
        "{:<22} {:>7} {:>12} {:>12} {:>8} {:>14} {:>12}",
        "queue", "commits", "ours (s)", "git ort (s)", "ratio", "ours commits/s", "same result"
    );
    let sample_dir = dovetail_port::data::folder("patchsets/sample");
    if sample_dir.join("series").exists() {
        let patches = patchfile::read_queue(&sample_dir).expect("sample queue");
        let author = Author {
            name: "bench".into(),
            email: "bench@invalid".into(),
            time: 1_700_000_000,
            offset: 0,
        };
        let ids = apply::apply_series(&repo, base, &patches, &author).expect("apply sample");
        let tip = *ids.last().unwrap();
        repo.reference("refs/heads/sample", tip, true, "bench")
            .unwrap();
        compare(&repo, &repo_path, "sample", "v6.1..sample");
    }
    let tip = synthetic_queue(&repo, base, SYNTHETIC);
    repo.reference("refs/heads/synthetic", tip, true, "bench")
        .unwrap();
    compare(&repo, &repo_path, "synthetic-300", "v6.1..synthetic");
}

/// One commit per file: a line appended to each of the first `n` C files (sorted) that exist
/// in both releases, under the directories a Dovetail queue touches.
fn synthetic_queue(repo: &Repository, base: Oid, n: usize) -> Oid {
    let old = repo.find_commit(base).unwrap().tree().unwrap();
    let new = repo
        .revparse_single("v6.12")
        .unwrap()
        .peel_to_tree()
        .unwrap();
    let mut files = Vec::new();
    for dir in [
        "kernel",
        "drivers/irqchip",
        "drivers/clocksource",
        "arch/x86/kernel",
        "mm",
        "drivers/tty/serial",
    ] {
        let entry = old.get_path(Path::new(dir)).unwrap();
        let tree = repo.find_tree(entry.id()).unwrap();
        tree.walk(git2::TreeWalkMode::PreOrder, |root, e| {
            let path = format!("{dir}/{root}{}", e.name().unwrap_or(""));
            if path.ends_with(".c") && new.get_path(Path::new(&path)).is_ok() {
                files.push(path);
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    }
    files.sort();
    files.truncate(n);
    let sig =
        git2::Signature::new("bench", "bench@invalid", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let mut parent = repo.find_commit(base).unwrap();
    for (i, path) in files.iter().enumerate() {
        let tree = parent.tree().unwrap();
        let entry = tree.get_path(Path::new(path)).unwrap();
        let mut content = repo.find_blob(entry.id()).unwrap().content().to_vec();
        content.extend_from_slice(format!("/* dovetail-port bench {i} */\n").as_bytes());
        let blob = repo.blob(&content).unwrap();
        let mut b = git2::build::TreeUpdateBuilder::new();
        b.upsert(path.as_str(), blob, git2::FileMode::Blob);
        let new_tree = repo
            .find_tree(b.create_updated(repo, &tree).unwrap())
            .unwrap();
        let id = repo
            .commit(
                None,
                &sig,
                &sig,
                &format!("bench: touch {path}"),
                &new_tree,
                &[&parent],
            )
            .unwrap();
        parent = repo.find_commit(id).unwrap();
    }
    parent.id()
}

fn compare(repo: &Repository, repo_path: &Path, name: &str, range: &str) {
    let started = Instant::now();
    let session = engine::start(
        &StartOptions {
            repo: repo_path.to_path_buf(),
            target: "v6.12".into(),
            queue: QueueSpec::Range(range.into()),
            branch: Some(format!("{name}-ours")),
            force: true,
            topics: None,
            // DOVETAIL_PORT_BENCH_STRICT=1 measures without the resolution cascade (git's
            // conflicts exactly), to show the cascade costs nothing on patches that merge.
            strict: std::env::var_os("DOVETAIL_PORT_BENCH_STRICT").is_some(),
            collateral: None,
        },
        &mut |_, _| {},
    )
    .expect("our rebase");
    let ours = started.elapsed().as_secs_f64();
    if !session.finished {
        engine::abort(repo_path).expect("abort");
    }

    // git's merge-ort, one process per commit, as `git replay` would do it in memory.
    let (base, head) = range.split_once("..").unwrap();
    let list = git(
        repo_path,
        &["rev-list", "--reverse", &format!("{base}..{head}")],
    );
    let commits: Vec<&str> = list.lines().collect();
    let started = Instant::now();
    let mut tip = git(repo_path, &["rev-parse", "v6.12"]).trim().to_string();
    let mut git_trees = Vec::new();
    for c in &commits {
        if let Some(tree) = merge_tree(repo_path, &tip, c) {
            let new = git(
                repo_path,
                &["commit-tree", &tree, "-p", &tip, "-m", "bench"],
            );
            tip = new.trim().to_string();
            git_trees.push(Some(tree));
        } else {
            git_trees.push(None);
        }
    }
    let theirs = started.elapsed().as_secs_f64();

    // Same decisions? Replay each patch with git on the tip we had at that point: the same
    // conflict verdict, and for ported patches the same tree.
    let mut same = 0;
    let mut cascaded = 0;
    let mut checked = 0;
    let mut tip_at = git(repo_path, &["rev-parse", "v6.12"]).trim().to_string();
    for (p, c) in session.patches.iter().zip(&commits) {
        let git_tree = merge_tree(repo_path, &tip_at, c);
        let git_conflict = git_tree.is_none();
        let ours_conflict = p.verdict == Some(dovetail_port::rebase::Verdict::Conflict);
        checked += 1;
        match &p.new_commit {
            Some(new) => {
                let ours_tree = repo
                    .find_commit(Oid::from_str(new).unwrap())
                    .unwrap()
                    .tree_id()
                    .to_string();
                if git_tree.as_deref() == Some(ours_tree.as_str()) {
                    same += 1;
                } else if git_conflict
                    && p.verdict == Some(dovetail_port::rebase::Verdict::Relocated)
                {
                    cascaded += 1;
                    println!(
                        "  cascade: {} (git conflicts; auto-resolved, listed for review)",
                        p.subject
                    );
                } else {
                    println!(
                        "  differs: {} ({:?}; git conflict: {git_conflict})",
                        p.subject, p.verdict
                    );
                }
                tip_at = new.clone();
            }
            None => {
                let tip_tree = git(repo_path, &["rev-parse", &format!("{tip_at}^{{tree}}")]);
                if ours_conflict == git_conflict
                    && (ours_conflict || git_tree.as_deref() == Some(tip_tree.trim()))
                {
                    same += 1;
                } else {
                    println!(
                        "  differs: {} ({:?}; git conflict: {git_conflict})",
                        p.subject, p.verdict
                    );
                }
            }
        }
    }
    let both = checked;
    println!(
        "{:<22} {:>7} {:>12.3} {:>12.3} {:>7.2}x {:>14.0} {:>7}/{}",
        name,
        commits.len(),
        ours,
        theirs,
        ours / theirs,
        commits.len() as f64 / ours,
        same,
        both
    );
    let mut counts = std::collections::BTreeMap::new();
    for p in &session.patches {
        *counts
            .entry(p.verdict.map_or("-", |v| v.as_str()))
            .or_insert(0) += 1;
    }
    println!(
        "  our verdicts: {counts:?}; git merge-tree conflicts: {}; auto-resolved by the cascade: {cascaded}",
        git_trees.iter().filter(|t| t.is_none()).count()
    );
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Git::new(repo).run(args).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out).into_owned()
}

/// git's merge-ort on commit `c` and `tip`, the way `git replay` merges: the tree, or `None`
/// on a conflict (exit code 1); any other failure is a panic naming it.
fn merge_tree(repo: &Path, tip: &str, c: &str) -> Option<String> {
    let base = format!("--merge-base={c}^");
    let out = Git::new(repo)
        .command(["merge-tree", "--write-tree", &base, tip, c])
        .success([0, 1])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let tree = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    (out.code == 0).then_some(tree)
}
