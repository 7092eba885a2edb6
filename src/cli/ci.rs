//! `ci`, `ci init`, `ci emit gitlab|github|lava`.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{EXIT_ATTENTION, EXIT_OK};
use dovetail_port::boot::Accel;
use dovetail_port::ci::{self, config::Config, emit, report, Event, Only, RunOptions, Status};

/// Gate a kernel fork: queue check, lint, build, boot and tests; emit CI pipelines.
///
/// With no subcommand, runs the gate described by dovetail-port.toml (found in --tree or a
/// parent): the queue check (the commits base..head replayed in memory onto `onto` by the
/// rebase engine, in a scratch repository: nothing in the fork moves), the lint in diff mode
/// against the queue base, then every matrix entry's build, boot under QEMU and tests.
/// Entries sharing arch, config and fragments share one build directory. A failing gate does
/// not stop the others unless --fail-fast. Progress is shown live; a summary table ends the
/// run.
///
/// Exit status: 0 every gate passed, 1 a gate failed (conflict, new lint finding, failed
/// test, crash, hang, build error), 2 the gate could not start (bad config, unknown entry).
///
/// Examples:
///
///   dovetail-port ci --tree ~/linux-evl --jobs 2 --junit junit.xml
///
///   dovetail-port ci --only lint --codequality gl-code-quality.json
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CiArgs {
    #[command(subcommand)]
    command: Option<CiCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum CiCommand {
    /// Write a commented dovetail-port.toml fitted to the tree in --tree (arches present,
    /// Dovetail/EVL detected, the nearest tag as queue base).
    ///
    /// Examples:
    ///
    ///   dovetail-port ci init
    ///
    ///   dovetail-port ci init --tree ~/linux-evl --force
    Init {
        #[command(flatten)]
        dir: super::TreeArg,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Write the gate as CI pipelines or LAVA jobs.
    ///
    /// Examples:
    ///
    ///   dovetail-port ci emit gitlab -o .gitlab-ci.yml
    ///
    ///   dovetail-port ci emit lava -o lava-jobs/
    Emit(EmitArgs),
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
enum Target {
    /// .gitlab-ci.yml: queue-check and lint jobs, then one parallel job per matrix entry.
    Gitlab,
    /// A GitHub Actions workflow with the matrix as a job matrix (fail-fast off).
    Github,
    /// One LAVA job definition per matrix entry and device type (QEMU and [[lava.boards]]).
    Lava,
}

#[derive(Args, Debug)]
struct EmitArgs {
    target: Target,
    #[command(flatten)]
    dir: super::TreeArg,
    /// Output file (gitlab/github; default stdout) or folder (lava; default
    /// .dovetail-port/lava in the fork).
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
enum OnlyArg {
    /// The queue check only.
    Queue,
    /// The lint only.
    Lint,
    /// Build every matrix entry, boot none.
    Build,
    /// Build and boot every matrix entry (no queue check, no lint).
    Boot,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum AccelArg {
    Auto,
    Kvm,
    Tcg,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    dir: super::TreeArg,
    /// Use this config file instead of <root>/dovetail-port.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run only one kind of gate.
    #[arg(long, value_enum)]
    only: Option<OnlyArg>,
    /// Only this matrix entry (repeatable).
    #[arg(long, value_name = "NAME")]
    entry: Vec<String>,
    /// Matrix entries built and booted at once; make jobs are split between them.
    #[arg(long, value_name = "N", default_value_t = 1)]
    jobs: usize,
    /// Total make jobs. Default: the number of CPUs.
    #[arg(long, value_name = "N")]
    make_jobs: Option<usize>,
    /// Stop starting gates after the first failure (the rest are reported as skipped).
    #[arg(long)]
    fail_fast: bool,
    /// QEMU accelerator for the boots.
    #[arg(long, value_enum, default_value = "auto")]
    accel: AccelArg,
    /// Write JUnit XML (one suite per gate; KUnit cases, findings, conflicts as cases).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the lint's SARIF 2.1.0 log (for code-scanning upload).
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Write a markdown summary for a merge-request comment.
    #[arg(long, value_name = "FILE")]
    summary_md: Option<PathBuf>,
    /// Write the whole report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the lint findings as a GitLab Code Quality report (artifacts:reports:
    /// codequality), so they show in merge-request diffs.
    #[arg(long, value_name = "FILE")]
    codequality: Option<PathBuf>,
}

pub fn run(args: CiArgs) -> anyhow::Result<u8> {
    match args.command {
        Some(CiCommand::Init { dir, force }) => {
            let path = ci::init::write(&dir, force)?;
            println!("wrote {}", path.display());
            Ok(EXIT_OK)
        }
        Some(CiCommand::Emit(e)) => run_emit(e),
        None => run_gate(args.run),
    }
}

fn load(dir: &std::path::Path, file: Option<&PathBuf>) -> anyhow::Result<(PathBuf, Config)> {
    let (root, path) = match file {
        Some(f) => (
            dir.canonicalize()
                .with_context(|| format!("{}", dir.display()))?,
            f.clone(),
        ),
        None => {
            let root = ci::find_root(dir)?;
            let p = root.join(ci::config::FILE_NAME);
            (root, p)
        }
    };
    let config = Config::load(&path)?;
    Ok((root, config))
}

fn write(path: &PathBuf, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn run_emit(e: EmitArgs) -> anyhow::Result<u8> {
    let (root, config) = load(&e.dir, None)?;
    match e.target {
        Target::Gitlab | Target::Github => {
            let text = if e.target == Target::Gitlab {
                emit::gitlab(&config)
            } else {
                emit::github(&config)
            };
            match &e.output {
                Some(p) => {
                    write(p, &text)?;
                    eprintln!("wrote {}", p.display());
                }
                None => print!("{text}"),
            }
        }
        Target::Lava => {
            let dir = e
                .output
                .clone()
                .unwrap_or_else(|| root.join(".dovetail-port/lava"));
            let jobs = emit::lava(&config);
            if jobs.is_empty() {
                anyhow::bail!("no LAVA job to write: the matrix has no booting entry on an arch LAVA's qemu device runs, and no [[lava.boards]]");
            }
            for (name, text) in jobs {
                let p = dir.join(name);
                write(&p, &text)?;
                println!("{}", p.display());
            }
        }
    }
    Ok(EXIT_OK)
}

fn run_gate(a: RunArgs) -> anyhow::Result<u8> {
    let (root, mut config) = load(&a.dir, a.config.as_ref())?;
    // Files named in the config are written every run; command-line ones win.
    let out = |cli: &Option<PathBuf>, conf: &Option<PathBuf>| {
        cli.clone().or_else(|| conf.as_ref().map(|p| root.join(p)))
    };
    let junit = out(&a.junit, &config.outputs.junit);
    let sarif = out(&a.sarif, &config.outputs.sarif);
    let summary_md = out(&a.summary_md, &config.outputs.summary_md);
    config.outputs.junit = None;
    let opts = RunOptions {
        root: root.clone(),
        config,
        only: a.only.map(|o| match o {
            OnlyArg::Queue => Only::Queue,
            OnlyArg::Lint => Only::Lint,
            OnlyArg::Build => Only::Build,
            OnlyArg::Boot => Only::Boot,
        }),
        jobs: a.jobs.max(1),
        make_jobs: a.make_jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        fail_fast: a.fail_fast,
        entries: a.entry.clone(),
        accel: match a.accel {
            AccelArg::Auto => Accel::Auto,
            AccelArg::Kvm => Accel::Kvm,
            AccelArg::Tcg => Accel::Tcg,
        },
    };

    // Spinners on a terminal; in a CI log with -v, a line per phase and per finished gate;
    // otherwise only the summary table.
    let mode = dovetail_port::progress::mode();
    let live = mode == dovetail_port::progress::Mode::Bars;
    let lines = mode == dovetail_port::progress::Mode::Lines;
    let multi = MultiProgress::new();
    let bars: Mutex<std::collections::HashMap<String, ProgressBar>> = Mutex::default();
    let style = ProgressStyle::with_template("{spinner} {prefix:<24} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let on_event = |ev: Event| match ev {
        Event::Phase { gate, phase } => {
            if live {
                let mut b = bars.lock().unwrap();
                let bar = b.entry(gate.clone()).or_insert_with(|| {
                    let pb = multi.add(ProgressBar::new_spinner());
                    pb.set_style(style.clone());
                    pb.set_prefix(gate.clone());
                    pb.enable_steady_tick(std::time::Duration::from_millis(200));
                    pb
                });
                bar.set_message(phase);
            } else if lines && !phase.starts_with("replaying") {
                eprintln!("ci: {gate}: {phase}");
            }
        }
        Event::Done(g) => {
            let line = format!(
                "{} {}: {} ({:.0} s) {}",
                match g.status {
                    Status::Passed => "ok  ",
                    Status::Failed => "FAIL",
                    Status::Error => "ERR ",
                    Status::Skipped => "skip",
                },
                g.name,
                g.status.as_str(),
                g.secs,
                g.summary
            );
            if let Some(bar) = bars.lock().unwrap().remove(&g.name) {
                bar.finish_and_clear();
            }
            if live {
                let _ = multi.println(&line);
            } else if lines {
                eprintln!("ci: {line}");
            }
        }
    };
    let rep = ci::run(&opts, &on_event)?;
    print!("{}", report::table(&rep));
    if let Some(p) = &junit {
        write(p, &report::junit(&rep))?;
    }
    if let Some(p) = &summary_md {
        write(p, &report::markdown(&rep))?;
    }
    if let Some(p) = &a.json {
        write(p, &report::json(&rep))?;
    }
    if let Some(p) = &a.codequality {
        match &rep.sarif {
            Some(s) => write(
                p,
                &(serde_json::to_string_pretty(&ci::codequality::from_sarif(s))? + "\n"),
            )?,
            None => eprintln!(
                "ci: no Code Quality report written to {}: the lint gate did not run or did not finish",
                p.display()
            ),
        }
    }
    if let Some(p) = &sarif {
        match &rep.sarif {
            Some(s) => write(p, &(serde_json::to_string_pretty(s)? + "\n"))?,
            None => eprintln!(
                "ci: no SARIF written to {}: the lint gate did not run or did not finish",
                p.display()
            ),
        }
    }
    Ok(if rep.passed() {
        EXIT_OK
    } else {
        EXIT_ATTENTION
    })
}
