//! bench/accuracy: the project's measure of `rebase` on a real queue nobody here wrote.
//!
//! Debian's bullseye kernel queue (`linux` 5.10.x: debian/patches then debian/patches-rt, one
//! commit per patch file) is forward-ported onto bookworm's upstream base (`linux` 6.1.x) by
//! every tool in the same run, and each result is scored against the queue Debian's kernel
//! maintainers carry on 6.1 (their own port: the ground truth). See `--help`.
//!
//! Run with `bench/accuracy` (or `cargo bench --bench accuracy -- ARGS`).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Serialize;

use dovetail_port::accuracy::change::{parse_diff, Change};
use dovetail_port::accuracy::prepare::{prepare, Prepared, NEW_BRANCH, OLD_BRANCH};
use dovetail_port::accuracy::score::{self, Grade, Outcome, Tally, Truth};
use dovetail_port::accuracy::series::{self, SeriesPatch};
use dovetail_port::kernels::debian::{Config, DebianLinux};
use dovetail_port::kernels::{self};
use dovetail_port::process::Git;

/// Replay Debian's 5.10 kernel queue onto 6.1 with dovetail-port, git's merge-ort and
/// `patch --fuzz=2`, and score each against the Debian maintainers' own 6.1 queue.
///
/// The first run fetches the newest `linux` 5.10.x and 6.1.x source packages with apt (a
/// private state folder, verified by Debian's archive keyring; the host's apt is not touched),
/// imports both upstream orig tarballs into a cached bare repository and builds each release's
/// quilt queue (debian/patches/series, then debian/patches-rt/series) as commits, one per
/// patch file, each with a `Series-Path:` trailer. Later runs reuse all of it.
///
/// The cached repository (printed at the start) holds, for anyone to replay:
///   tags v5.10.N, v6.1.M                 the upstream orig tarballs
///   branch debian-5.10-queue             Debian's 5.10 queue on v5.10.N
///   branch debian-6.1-queue              Debian's 6.1 queue on v6.1.M (the answer)
///
/// Tools, each on its own throw-away clone:
///   dovetail-port            `rebase --queue v5.10.N..debian-5.10-queue v6.1.M` (cascade on)
///   dovetail-port --strict   the same, cascade off (git-equivalent conflicts)
///   merge-ort                `git merge-tree --write-tree --merge-base=C^ TIP C` per commit,
///                            chained like a rebase; a conflicted commit is left out
///   patch --fuzz=2           `patch -p1 --fuzz=2` of each patch file on a 6.1 checkout; a
///                            patch with a rejected hunk is undone and left out
///   dovetail-port --series   `rebase --series` of the same patch files in a repository that
///                            holds only 6.1 (the 5.10 blobs their `index` lines name are
///                            absent): forward-porting without the old tree
///
/// Scoring: a 5.10 patch is kept when the 6.1 queue has one with the same series path or the
/// same subject (`[PATCH n/m]` tags and whitespace ignored). A kept patch's port is
/// identical (same added and removed lines per file, positions ignored), different, or
/// missing (conflict, or dropped by the tool). A dropped patch is carried anyway (the tool
/// applied a change) or not. A tool that crashes is recorded with its exit status; the
/// others still run.
///
/// Examples:
///   bench/accuracy
///   bench/accuracy --json /tmp/accuracy.json
///   bench/accuracy --prepare-only        # fetch and build the queues, print where they are
///   cargo bench --bench accuracy -- --tools merge-ort,patch
#[derive(Parser, Debug)]
#[command(name = "bench/accuracy", verbatim_doc_comment)]
struct Args {
    /// Write every patch's result per tool as JSON here (default:
    /// target/bench-accuracy/results.json).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Fetch the newest uploads again and rebuild the queues.
    #[arg(long)]
    refresh: bool,
    /// Only fetch and build the queues, print where they are, and stop.
    #[arg(long)]
    prepare_only: bool,
    /// Tools to run, comma-separated: dovetail-port, strict, merge-ort, patch, series
    /// (`dovetail-port rebase --series` of the 5.10 patch files in a repository holding only
    /// 6.1: no old tree).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "dovetail-port,strict,merge-ort,patch,series"
    )]
    tools: Vec<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let config = Config::load()?;
    let cache = DebianLinux::default_location();
    let prepared = prepare(&cache, &config, args.refresh)?;
    let repo = cache.repo_path();
    let range = format!("{}..{OLD_BRANCH}", prepared.old.tag());
    let target = prepared.new.tag();
    println!("repository: {}", repo.display());
    println!(
        "  {OLD_BRANCH}: Debian {} queue, {} commits on {} (replay it: --queue {range})",
        prepared.old.version,
        prepared.old_queue.patches.len() - prepared.old_queue.failed().count(),
        prepared.old.tag()
    );
    println!(
        "  {NEW_BRANCH}: Debian {} queue, {} commits on {target} (the maintainers' port)",
        prepared.new.version,
        prepared.new_queue.patches.len() - prepared.new_queue.failed().count(),
    );
    for (name, q) in [
        (&prepared.old.version, &prepared.old_queue),
        (&prepared.new.version, &prepared.new_queue),
    ] {
        for f in q.failed() {
            println!(
                "  does not apply in Debian {name}'s own series (left out): {} ({})",
                f.series_path,
                f.error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
            );
        }
    }
    if args.prepare_only {
        return Ok(());
    }

    let debian_old = cache.debian_dir(&prepared.old);
    let debian_new = cache.debian_dir(&prepared.new);
    let old_patches = series::read_series(&debian_old, &config.series)?;
    let new_patches = series::read_series(&debian_new, &config.series)?;
    // Only what became a commit is the queue; every tool replays exactly that.
    let built: Vec<(&SeriesPatch, &str)> = old_patches
        .iter()
        .zip(&prepared.old_queue.patches)
        .filter_map(|(p, b)| b.commit.as_deref().map(|c| (p, c)))
        .collect();
    let queue: Vec<SeriesPatch> = built.iter().map(|(p, _)| (*p).clone()).collect();
    let commits: Vec<String> = built.iter().map(|(_, c)| c.to_string()).collect();
    let truth_changes = new_patches
        .iter()
        .map(|p| fs::read(&p.file).map(|b| parse_diff(&b)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let truth = Truth::new(&new_patches, truth_changes);

    let scratch = tempfile::Builder::new()
        .prefix("bench-accuracy-")
        .tempdir()?;
    let mut runs: Vec<ToolRun> = Vec::new();
    for tool in &args.tools {
        let clone = scratch.path().join(format!("{tool}.git"));
        kernels::shared_clone_of(&repo, &clone)?;
        eprintln!(
            "bench/accuracy: running {tool} on {} commits ...",
            commits.len()
        );
        let run = match tool.as_str() {
            "dovetail-port" => dovetail(&clone, &range, &target, &commits, false)?,
            "strict" => dovetail(&clone, &range, &target, &commits, true)?,
            "merge-ort" => merge_ort(&clone, &target, &commits)?,
            "patch" => patch_fuzz(&clone, &target, &queue, scratch.path())?,
            "series" => {
                let only = target_only_repo(&cache, &target)?;
                let clone = scratch.path().join("series-only.git");
                kernels::shared_clone_of(&only, &clone)?;
                series_no_base(
                    &clone,
                    &target,
                    &queue,
                    &debian_old,
                    &config.series,
                    scratch.path(),
                )?
            }
            other => {
                bail!("unknown tool `{other}`: use dovetail-port, strict, merge-ort, patch, series")
            }
        };
        eprintln!(
            "bench/accuracy: {} done in {:.1} s ({})",
            run.name, run.seconds, run.status
        );
        runs.push(run);
    }

    let scored: Vec<Scored> = runs
        .iter()
        .map(|r| score::score(&queue, &r.outcomes, &truth))
        .collect();
    print_table(&runs, &scored, queue.len(), &prepared);
    let json = args.json.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-accuracy/results.json")
    });
    write_json(&json, &prepared, &queue, &truth, &runs, &scored)?;
    println!("per-patch results: {}", json.display());
    Ok(())
}

/// Fetches, imports and builds both queues, once (under the cache's lock).
/// A tool's totals, and per patch the kept-as index and grade.
type Scored = (Tally, Vec<(Option<usize>, Grade)>);

/// One tool's run: per queue patch, its outcome.
struct ToolRun {
    name: String,
    /// `ok`, `exit 1`, `crashed (exit 101): <message>`...
    status: String,
    seconds: f64,
    outcomes: Vec<Outcome>,
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Git::new(repo).run(args)?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// The change from tree-ish `a` to tree-ish `b`, renames off (changes are per path).
fn change_between(repo: &Path, a: &str, b: &str) -> Result<Change> {
    let out = Git::new(repo).run([
        "diff-tree",
        "-p",
        "--no-renames",
        "--no-color",
        "--binary",
        a,
        b,
    ])?;
    Ok(parse_diff(&out))
}

/// `dovetail-port rebase` as a user runs it: the real binary, its JSON report.
fn dovetail(
    repo: &Path,
    range: &str,
    target: &str,
    commits: &[String],
    strict: bool,
) -> Result<ToolRun> {
    let bin = env!("CARGO_BIN_EXE_dovetail-port");
    let name = if strict {
        "dovetail-port --strict"
    } else {
        "dovetail-port"
    };
    let report = repo.with_extension("report.json");
    let mut cmd = Command::new(bin);
    cmd.arg("rebase")
        .arg("-C")
        .arg(repo)
        .args(["--queue", range, "--branch", "ported", "--force"])
        .args(["--report", "json", "--report-file"])
        .arg(&report);
    if strict {
        cmd.arg("--strict");
    }
    cmd.arg(target);
    let (status, seconds, entries) = run_dovetail(cmd, &report)?;
    let by_key: HashMap<String, (String, Option<String>)> = entries.into_iter().collect();
    let mut outcomes = Vec::with_capacity(commits.len());
    for c in commits {
        let outcome = match by_key.get(c) {
            None => Outcome::NoResult {
                reason: status.clone(),
            },
            Some((_, Some(new))) => Outcome::Ported {
                change: change_between(repo, &format!("{new}^"), new)?,
            },
            Some((v, None)) if waits(v) => Outcome::Conflict { verdict: v.clone() },
            // Nothing to apply (empty, already upstream...): ported as no change.
            Some((_, None)) => Outcome::Ported {
                change: Change::default(),
            },
        };
        outcomes.push(outcome);
    }
    Ok(ToolRun {
        name: name.into(),
        status,
        seconds,
        outcomes,
    })
}

/// One report entry: key, (verdict, new commit).
type Entry = (String, (String, Option<String>));

/// Runs a prepared `dovetail-port rebase` command: its status line, wall time and report
/// entries. A crash or error is a status, not a bench failure.
fn run_dovetail(mut cmd: Command, report: &Path) -> Result<(String, f64, Vec<Entry>)> {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let started = Instant::now();
    let out = cmd.output().context("running dovetail-port")?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = match out.status.code() {
        Some(0) => "ok".to_string(),
        Some(1) => "ok, conflicts left (exit 1)".to_string(),
        other => {
            let why = stderr
                .lines()
                .find(|l| l.contains("panicked at"))
                .or_else(|| stderr.lines().find(|l| l.starts_with("error")))
                .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
                .unwrap_or("")
                .trim();
            format!(
                "failed (exit {}): {why}",
                other.map_or("signal".into(), |c| c.to_string())
            )
        }
    };
    let parsed: Option<serde_json::Value> = fs::read(report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut entries = Vec::new();
    if let Some(patches) = parsed
        .as_ref()
        .and_then(|v| v.get("patches"))
        .and_then(|p| p.as_array())
    {
        for p in patches {
            let key = p.get("key").and_then(|k| k.as_str()).unwrap_or("");
            let verdict = p
                .get("verdict")
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_string();
            let commit = p
                .get("new_commit")
                .and_then(|c| c.as_str())
                .map(str::to_string);
            entries.push((key.to_string(), (verdict, commit)));
        }
    }
    Ok((status, seconds, entries))
}

/// git's merge-ort, one `merge-tree` per commit chained like a rebase (what `git replay` does
/// in memory); a conflicted commit is left out. Only the merges and commits are timed.
fn merge_ort(repo: &Path, target: &str, commits: &[String]) -> Result<ToolRun> {
    let mut tip = git(repo, &["rev-parse", &format!("{target}^{{commit}}")])?;
    let mut steps: Vec<Option<(String, String)>> = Vec::new();
    let started = Instant::now();
    let git_repo = Git::new(repo);
    for c in commits {
        // Exit code 1 is a conflict.
        let base = format!("--merge-base={c}^");
        let out = git_repo
            .command([
                "merge-tree",
                "--write-tree",
                "--no-messages",
                &base,
                &tip,
                c,
            ])
            .success([0, 1])
            .output()?;
        match out.code {
            0 => {
                let tree = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let new = git(
                    repo,
                    &["commit-tree", &tree, "-p", &tip, "-m", "merge-ort replay"],
                )?;
                steps.push(Some((tip.clone(), new.clone())));
                tip = new;
            }
            _ => steps.push(None),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut outcomes = Vec::with_capacity(steps.len());
    for s in steps {
        outcomes.push(match s {
            Some((from, to)) => Outcome::Ported {
                change: change_between(repo, &from, &to)?,
            },
            None => Outcome::Conflict {
                verdict: "conflict".into(),
            },
        });
    }
    Ok(ToolRun {
        name: "merge-ort".into(),
        status: "ok".into(),
        seconds,
        outcomes,
    })
}

/// `patch -p1 --fuzz=2` of each patch file on a checkout of the target, in series order. A
/// patch with a rejected hunk is a conflict and is undone (from patch's own backups), as a
/// maintainer would before going on. Only the patch runs are timed.
fn patch_fuzz(repo: &Path, target: &str, queue: &[SeriesPatch], scratch: &Path) -> Result<ToolRun> {
    let tree = scratch.join("patch-worktree");
    eprintln!("bench/accuracy: checking out {target} for patch ...");
    git(
        repo,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            &tree.display().to_string(),
            target,
        ],
    )?;
    let mut seconds = 0.0;
    let mut outcomes = Vec::with_capacity(queue.len());
    for (i, p) in queue.iter().enumerate() {
        let backup = scratch.join(format!("patch-backup-{i}"));
        let mut prefix = backup.clone().into_os_string();
        prefix.push("/");
        let started = Instant::now();
        let out = Command::new("patch")
            .current_dir(&tree)
            .args(["-p1", "--fuzz=2", "-f", "-s", "-b", "--reject-file=-", "-B"])
            .arg(&prefix)
            .arg("-i")
            .arg(&p.file)
            .stdin(Stdio::null())
            .output()?;
        seconds += started.elapsed().as_secs_f64();
        // Every file patch touched has a backup (an empty, mode-0 one for a file it created).
        let touched: Vec<PathBuf> = walkdir::WalkDir::new(&backup)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| e.path().strip_prefix(&backup).ok().map(Path::to_path_buf))
            .collect();
        let ok = out.status.success();
        let mut diff = Vec::new();
        for rel in &touched {
            let saved = backup.join(rel);
            let created = fs::metadata(&saved)
                .map(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.len() == 0 && m.permissions().mode() & 0o777 == 0
                })
                .unwrap_or(false);
            let live = tree.join(rel);
            if ok {
                let before = if created {
                    Vec::new()
                } else {
                    fs::read(&saved).with_context(|| format!("reading {}", saved.display()))?
                };
                let after = fs::read(&live).unwrap_or_default();
                diff.extend(unified(rel, &before, &after));
            } else if created {
                let _ = fs::remove_file(&live);
            } else {
                // patch removes folders a deletion emptied.
                if let Some(parent) = live.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::copy(&saved, &live).with_context(|| {
                    format!("restoring {} after {}", rel.display(), p.series_path)
                })?;
            }
        }
        let _ = fs::remove_dir_all(&backup);
        outcomes.push(if ok {
            Outcome::Ported {
                change: parse_diff(&diff),
            }
        } else {
            Outcome::Conflict {
                verdict: format!(
                    "rejected (exit {})",
                    out.status.code().map_or("signal".into(), |c| c.to_string())
                ),
            }
        });
    }
    Ok(ToolRun {
        name: "patch --fuzz=2".into(),
        status: "ok".into(),
        seconds,
        outcomes,
    })
}

/// A unified diff of one file, for [`parse_diff`].
fn unified(rel: &Path, before: &[u8], after: &[u8]) -> Vec<u8> {
    let (a, b) = (
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after),
    );
    let name = rel.to_string_lossy();
    similar::TextDiff::from_lines(a.as_ref(), b.as_ref())
        .unified_diff()
        .context_radius(1)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
        .into_bytes()
}

/// A cached bare repository holding only `target` (no 5.10 objects), for `--series` runs
/// that must not find the patches' pre-images.
fn target_only_repo(cache: &DebianLinux, target: &str) -> Result<PathBuf> {
    let _lock = cache.lock()?;
    let only = cache.root().join(format!("only-{target}.git"));
    if only.join("refs/tags").join(target).exists() {
        return Ok(only);
    }
    kernels::init_bare(&only)?;
    eprintln!(
        "bench/accuracy: copying {target} alone into {} ...",
        only.display()
    );
    git(
        &only,
        &[
            "fetch",
            "-q",
            "--no-tags",
            &cache.repo_path().display().to_string(),
            &format!("refs/tags/{target}:refs/tags/{target}"),
        ],
    )?;
    Ok(only)
}

/// `dovetail-port rebase --series`: the queue's patch files (the ones that are commits of the
/// queue, in order) as one quilt series, replayed in a repository without the old tree.
fn series_no_base(
    repo: &Path,
    target: &str,
    queue: &[SeriesPatch],
    debian_old: &Path,
    folders: &[String],
    scratch: &Path,
) -> Result<ToolRun> {
    let dir = scratch.join("series-queue");
    fs::create_dir_all(&dir)?;
    for f in folders {
        std::os::unix::fs::symlink(debian_old.join(f), dir.join(f))?;
    }
    let list: String = queue
        .iter()
        .map(|p| format!("{}\n", p.series_path))
        .collect();
    fs::write(dir.join("series"), list)?;
    let report = repo.with_extension("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dovetail-port"));
    cmd.arg("rebase")
        .arg("-C")
        .arg(repo)
        .arg("--series")
        .arg(&dir)
        .args([
            "--branch",
            "ported",
            "--force",
            "--report",
            "json",
            "--report-file",
        ])
        .arg(&report)
        .arg(target);
    let (status, seconds, entries) = run_dovetail(cmd, &report)?;
    // Keys are `FILE:LINE`; a file holding several mails has several entries.
    let mut by_file: HashMap<String, Vec<(String, Option<String>)>> = HashMap::new();
    for (key, v) in entries {
        let file = key.rsplit_once(':').map_or(key.as_str(), |(f, _)| f);
        by_file.entry(file.to_string()).or_default().push(v);
    }
    let mut outcomes = Vec::with_capacity(queue.len());
    for p in queue {
        let found = by_file
            .iter()
            .find(|(f, _)| f.ends_with(&p.series_path))
            .map(|(_, v)| v);
        let outcome = match found {
            None => Outcome::NoResult {
                reason: status.clone(),
            },
            Some(v) => {
                let waiting = v.iter().find(|(verdict, c)| c.is_none() && waits(verdict));
                let commits: Vec<&String> = v.iter().filter_map(|(_, c)| c.as_ref()).collect();
                match (waiting, commits.first(), commits.last()) {
                    (Some((verdict, _)), _, _) => Outcome::Conflict {
                        verdict: verdict.clone(),
                    },
                    (None, Some(first), Some(last)) => Outcome::Ported {
                        change: change_between(repo, &format!("{first}^"), last)?,
                    },
                    _ => Outcome::Ported {
                        change: Change::default(),
                    },
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(ToolRun {
        name: "dovetail-port --series".into(),
        status,
        seconds,
        outcomes,
    })
}

/// Verdicts that wait for a person: a conflict, a patch blocked by one, no verdict yet.
fn waits(verdict: &str) -> bool {
    matches!(verdict, "conflict" | "blocked" | "-")
}

fn print_table(runs: &[ToolRun], scored: &[Scored], queue: usize, prepared: &Prepared) {
    let ort = runs
        .iter()
        .position(|r| r.name == "merge-ort")
        .map(|i| runs[i].seconds);
    let t0 = scored.first().map(|s| &s.0);
    let (kept, dropped) = t0.map_or((0, 0), |t| (t.kept, t.dropped));
    println!();
    println!(
        "Debian {} queue ({queue} patches) onto {}, scored against Debian {}'s queue \
         ({kept} kept, {dropped} dropped by the maintainers)",
        prepared.old.version,
        prepared.new.tag(),
        prepared.new.version
    );
    let width = 26;
    print!("{:<40}", "");
    for r in runs {
        print!("{:>width$}", r.name);
    }
    println!();
    let row =
        |label: &str, f: &dyn Fn(&Tally) -> usize, whole: Option<&dyn Fn(&Tally) -> usize>| {
            print!("{label:<40}");
            for (t, _) in scored {
                let v = f(t);
                let cell = match whole {
                    Some(w) => format!("{v} ({:.0} %)", Tally::percent(v, w(t))),
                    None => v.to_string(),
                };
                print!("{cell:>width$}");
            }
            println!();
        };
    let kept_of: &dyn Fn(&Tally) -> usize = &|t| t.kept;
    let dropped_of: &dyn Fn(&Tally) -> usize = &|t| t.dropped;
    let all_of: &dyn Fn(&Tally) -> usize = &|t| t.patches;
    row(
        "kept: identical to the maintainers'",
        &|t| t.identical,
        Some(kept_of),
    );
    row("kept: different", &|t| t.different, Some(kept_of));
    row("kept: missing", &|t| t.missing, Some(kept_of));
    row("dropped: carried anyway", &|t| t.carried, Some(dropped_of));
    row("dropped: not carried", &|t| t.not_carried, Some(dropped_of));
    row("conflicts left for a human", &|t| t.conflicts, Some(all_of));
    row(
        "kept, but dropped by the tool",
        &|t| t.kept_but_dropped,
        None,
    );
    row("no result (tool failed first)", &|t| t.no_result, None);
    print!("{:<40}", "wall time (s)");
    for r in runs {
        print!("{:>width$}", format!("{:.1}", r.seconds));
    }
    println!();
    print!("{:<40}", "time vs merge-ort");
    for r in runs {
        let cell = ort.map_or("-".into(), |o| format!("{:.2}x", r.seconds / o));
        print!("{cell:>width$}");
    }
    println!();
    for r in runs.iter().filter(|r| !r.status.starts_with("ok")) {
        println!("{}: {}", r.name, r.status);
    }
    // The goals of issue 13, for the cascade.
    if let Some(i) = runs.iter().position(|r| r.name == "dovetail-port") {
        let t = &scored[i].0;
        if t.no_result > 0 {
            println!(
                "goals (dovetail-port): not measured, {} patches without a result ({})",
                t.no_result, runs[i].status
            );
            return;
        }
        let ratio = ort.map_or(f64::NAN, |o| runs[i].seconds / o);
        let goal = |ok: bool| if ok { "met" } else { "not met" };
        println!(
            "goals (dovetail-port): identical >= 85 % of kept: {:.0} % {}; carried <= 7 % of \
             dropped: {:.0} % {}; conflicts <= 13 % of the queue: {:.0} % {}; kept but dropped \
             <= 1: {} {}; time <= 1.0x merge-ort: {ratio:.2}x {}",
            Tally::percent(t.identical, t.kept),
            goal(Tally::percent(t.identical, t.kept) >= 85.0),
            Tally::percent(t.carried, t.dropped),
            goal(Tally::percent(t.carried, t.dropped) <= 7.0),
            Tally::percent(t.conflicts, t.patches),
            goal(Tally::percent(t.conflicts, t.patches) <= 13.0),
            t.kept_but_dropped,
            goal(t.kept_but_dropped <= 1),
            goal(ratio <= 1.0),
        );
    }
}

#[derive(Serialize)]
struct JsonTool<'a> {
    name: &'a str,
    status: &'a str,
    seconds: f64,
    seconds_vs_merge_ort: Option<f64>,
    tally: &'a Tally,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    grade: Grade,
    #[serde(flatten)]
    outcome: OutcomeSummary<'a>,
}

#[derive(Serialize)]
struct OutcomeSummary<'a> {
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    lines_added: usize,
    lines_removed: usize,
    /// Files where the tool's change differs from the maintainers' (kept patches).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files_differing: Vec<String>,
}

#[derive(Serialize)]
struct JsonPatch<'a> {
    series_path: &'a str,
    subject: &'a str,
    /// The maintainers' 6.1 patch that keeps it, if any.
    kept_as: Option<&'a str>,
    results: BTreeMap<&'a str, JsonResult<'a>>,
}

fn write_json(
    path: &Path,
    prepared: &Prepared,
    queue: &[SeriesPatch],
    truth: &Truth<'_>,
    runs: &[ToolRun],
    scored: &[Scored],
) -> Result<()> {
    let ort = runs
        .iter()
        .find(|r| r.name == "merge-ort")
        .map(|r| r.seconds);
    let tools: Vec<JsonTool> = runs
        .iter()
        .zip(scored)
        .map(|(r, (t, _))| JsonTool {
            name: &r.name,
            status: &r.status,
            seconds: r.seconds,
            seconds_vs_merge_ort: ort.map(|o| r.seconds / o),
            tally: t,
        })
        .collect();
    let mut patches = Vec::with_capacity(queue.len());
    for (i, p) in queue.iter().enumerate() {
        let kept = scored.first().and_then(|s| s.1[i].0);
        let mut results = BTreeMap::new();
        for (r, (_, grades)) in runs.iter().zip(scored) {
            let summary = match &r.outcomes[i] {
                Outcome::Ported { change } => OutcomeSummary {
                    outcome: "ported",
                    detail: None,
                    lines_added: change.lines_added(),
                    lines_removed: change.lines_removed(),
                    files_differing: kept
                        .filter(|_| !change.is_empty())
                        .map(|k| change.differing_files(truth.change(k)))
                        .unwrap_or_default(),
                },
                Outcome::Conflict { verdict } => OutcomeSummary {
                    outcome: "conflict",
                    detail: Some(verdict),
                    lines_added: 0,
                    lines_removed: 0,
                    files_differing: Vec::new(),
                },
                Outcome::NoResult { reason } => OutcomeSummary {
                    outcome: "no-result",
                    detail: Some(reason),
                    lines_added: 0,
                    lines_removed: 0,
                    files_differing: Vec::new(),
                },
            };
            results.insert(
                r.name.as_str(),
                JsonResult {
                    grade: grades[i].1,
                    outcome: summary,
                },
            );
        }
        patches.push(JsonPatch {
            series_path: &p.series_path,
            subject: &p.subject,
            kept_as: kept.map(|k| truth.patch(k).series_path.as_str()),
            results,
        });
    }
    let doc = serde_json::json!({
        "old": prepared.old,
        "new": prepared.new,
        "queue": {
            "branch": OLD_BRANCH,
            "range": format!("{}..{OLD_BRANCH}", prepared.old.tag()),
            "target": prepared.new.tag(),
            "answer_branch": NEW_BRANCH,
            "patches": queue.len(),
            "not_applying_on_old": prepared.old_queue.failed().collect::<Vec<_>>(),
        },
        "tools": tools,
        "patches": patches,
    });
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    Ok(())
}
