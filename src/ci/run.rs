//! The local gate: queue check, lint, then every matrix entry's build → boot → tests.
//! Each gate ends as a [`GateResult`]; a failing gate does not stop the others unless
//! `fail_fast`. Progress goes out as [`Event`]s; the caller decides how to show them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::config::{Config, MatrixEntry, TestKind};
use super::lint_gate::{self, Finding};
use super::queue_gate::{self, QueueCheck};
use crate::boot::{self, Accel, BootOptions};
use crate::kbuild::{self, BaseConfig, BuildOptions};
use crate::results::TestReport;

/// Which gates to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    Queue,
    Lint,
    /// Builds only (no boot).
    Build,
    /// Build and boot (the matrix).
    Boot,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The fork's root (where `dovetail-port.toml` is).
    pub root: PathBuf,
    pub config: Config,
    pub only: Option<Only>,
    /// Matrix entries run at once (each build gets `make_jobs / jobs` make jobs).
    pub jobs: usize,
    pub make_jobs: usize,
    pub fail_fast: bool,
    /// Only these matrix entries (all when empty).
    pub entries: Vec<String>,
    pub accel: Accel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// The gate could not run (bad input, missing tool, build error).
    Error,
    /// Not run (`--fail-fast` after a failure).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateKind {
    Queue,
    Lint,
    Build,
    Boot,
}

/// One row of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    /// `queue`, `lint`, or the matrix entry's name.
    pub name: String,
    pub kind: GateKind,
    pub status: Status,
    /// One line for the table.
    pub summary: String,
    /// Longer text for failures (errors, conflicts, findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub secs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueCheck>,
}

impl GateResult {
    fn new(name: &str, kind: GateKind) -> Self {
        GateResult {
            name: name.to_string(),
            kind,
            status: Status::Passed,
            summary: String::new(),
            detail: None,
            secs: 0.0,
            log: None,
            tests: None,
            findings: Vec::new(),
            queue: None,
        }
    }

    fn error(mut self, e: impl std::fmt::Display) -> Self {
        let text = e.to_string();
        self.status = Status::Error;
        self.summary = text.lines().next().unwrap_or("").to_string();
        self.detail = Some(text);
        self
    }
}

/// The whole run, built once and rendered by [`super::report`].
#[derive(Debug, Clone, Serialize)]
pub struct CiReport {
    pub root: PathBuf,
    pub gates: Vec<GateResult>,
    /// The lint's SARIF, when the lint ran.
    #[serde(skip)]
    pub sarif: Option<serde_json::Value>,
    pub secs: f64,
}

impl CiReport {
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.status == Status::Passed)
    }
}

/// Progress of a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// A gate moved to a phase (`replaying 3/12`, `building`, `booting`).
    Phase {
        gate: String,
        phase: String,
    },
    Done(Box<GateResult>),
}

/// Where a matrix entry's kernel is built: one directory per distinct build, stable across
/// runs so rebuilds are incremental.
pub fn build_dir(root: &Path, config: &Config, entry: &MatrixEntry) -> PathBuf {
    let fork = root
        .canonicalize()
        .unwrap_or_else(|_| root.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "fork".into());
    match &config.outputs.build_dir {
        Some(d) => root.join(d).join(entry.build_key()),
        None => crate::kernels::cache_root()
            .join("out")
            .join(format!("{fork}-{}", entry.build_key())),
    }
}

/// Reports and logs.
pub fn output_dir(root: &Path, config: &Config) -> PathBuf {
    root.join(
        config
            .outputs
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".dovetail-port/ci")),
    )
}

/// A fragment or base config given as a file in the fork resolves against the fork's root.
fn in_fork(root: &Path, s: &str) -> String {
    let p = root.join(s);
    if s.contains('/') || p.is_file() {
        p.display().to_string()
    } else {
        s.to_string()
    }
}

fn build_options(opts: &RunOptions, entry: &MatrixEntry) -> BuildOptions {
    let mut b = BuildOptions::new(&entry.arch, &opts.root);
    b.out = Some(build_dir(&opts.root, &opts.config, entry));
    b.base = BaseConfig::parse(&in_fork(&opts.root, &entry.config));
    b.fragments = entry
        .all_fragments()
        .iter()
        .map(|f| in_fork(&opts.root, f))
        .collect();
    b.kunit = entry.tests.contains(&TestKind::Kunit);
    b.jobs = (opts.make_jobs / opts.jobs.max(1)).max(1);
    b
}

fn boot_options(opts: &RunOptions, entry: &MatrixEntry, kernel: PathBuf) -> BootOptions {
    let mut b = BootOptions::new(&entry.arch, kernel);
    b.run = entry.guest_commands();
    b.payload = entry.payload.as_ref().map(|p| opts.root.join(p));
    b.accel = opts.accel;
    b.timeout = Duration::from_secs(opts.config.timeouts.boot);
    b.idle_timeout = Duration::from_secs(opts.config.timeouts.idle);
    b.work_dir = Some(output_dir(&opts.root, &opts.config).join(entry.name()));
    b
}

fn queue_gate(opts: &RunOptions, emit: &(dyn Fn(Event) + Sync)) -> Option<GateResult> {
    let q = opts.config.queue.as_ref()?;
    let t = Instant::now();
    let mut g = GateResult::new("queue", GateKind::Queue);
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut progress = |done: usize, total: usize| {
        if last.elapsed() >= Duration::from_millis(100) || done == total {
            last = Instant::now();
            emit(Event::Phase {
                gate: "queue".into(),
                phase: format!("replaying {done}/{total}"),
            });
        }
    };
    let kernel = match opts.config.matrix.first() {
        Some(e) => queue_gate::VerifyKernel {
            arch: Some(e.arch.clone()),
            config: in_fork(&opts.root, &e.config),
            fragments: e
                .all_fragments()
                .iter()
                .map(|f| in_fork(&opts.root, f))
                .collect(),
        },
        None => queue_gate::VerifyKernel {
            arch: None,
            config: "tinyconfig".into(),
            fragments: Vec::new(),
        },
    };
    let mut verify_progress = |line: &str| {
        emit(Event::Phase {
            gate: "queue".into(),
            phase: format!("verify: {}", line.trim()),
        })
    };
    let g = match queue_gate::check(&opts.root, q, &kernel, &mut progress, &mut verify_progress) {
        Ok(c) if c.patches == 0 => {
            g.summary = format!("queue {} is empty: nothing to replay", c.range);
            g.queue = Some(c);
            g
        }
        Ok(c) => {
            g.summary = format!(
                "{} patch(es) {} onto {}: {}",
                c.patches,
                c.range,
                c.onto,
                c.counts
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(v) = &c.verification {
                g.summary = format!("{}; {v}", g.summary);
            }
            if !c.conflicts.is_empty() {
                g.status = Status::Failed;
                g.detail = Some(
                    c.conflicts
                        .iter()
                        .map(|(s, id)| format!("conflict: {id} {s}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                        + "\nrun `dovetail-port rebase` to resolve them",
                );
            } else if !c.passed() {
                g.status = Status::Failed;
                g.detail = Some(match &c.breaks {
                    Some(b) => format!(
                        "{}: {} {}\n{}\nrun `dovetail-port bisect` on the queue for the full report",
                        b.verdict, b.commit, b.subject, b.evidence
                    ),
                    None => c.verification.clone().unwrap_or_default(),
                });
            }
            g.queue = Some(c);
            g
        }
        Err(e) => g.error(e),
    };
    Some(GateResult {
        secs: t.elapsed().as_secs_f64(),
        ..g
    })
}

fn lint_gate(opts: &RunOptions) -> Option<(GateResult, Option<serde_json::Value>)> {
    let l = opts.config.lint.as_ref()?;
    let t = Instant::now();
    let g = GateResult::new("lint", GateKind::Lint);
    let base = opts.config.queue.as_ref().map(|q| q.base.as_str());
    let (mut g, sarif) = match lint_gate::run(&opts.root, l, base) {
        Ok(r) => {
            let mut g = g;
            g.summary = format!(
                "{} file(s): {} new finding(s), {} suppressed/baselined{}",
                r.files,
                r.findings.len(),
                r.suppressed,
                if l.diff && base.is_some() {
                    " (changed functions only)"
                } else {
                    ""
                }
            );
            if !r.passed {
                g.status = Status::Failed;
                g.detail = Some(
                    r.findings
                        .iter()
                        .map(|f| {
                            format!(
                                "{}:{}: [{}] {}\n    {}",
                                f.file, f.line, f.rule, f.message, f.chain
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            g.findings = r.findings;
            (g, Some(r.sarif))
        }
        Err(e) => (g.error(e), None),
    };
    g.secs = t.elapsed().as_secs_f64();
    Some((g, sarif))
}

/// Build (and boot, unless `build_only` or the entry says no) one matrix entry.
fn entry_gate(
    opts: &RunOptions,
    entry: &MatrixEntry,
    build_only: bool,
    emit: &(dyn Fn(Event) + Sync),
) -> GateResult {
    let name = entry.name();
    let boots = entry.boot && !build_only;
    let t = Instant::now();
    let mut g = GateResult::new(
        &name,
        if boots {
            GateKind::Boot
        } else {
            GateKind::Build
        },
    );
    emit(Event::Phase {
        gate: name.clone(),
        phase: "building".into(),
    });
    let b = build_options(opts, entry);
    let built = match kbuild::build(&b) {
        Ok(o) => o,
        Err(e) => {
            let mut g = g.error(e);
            g.log = Some(b.out_dir().join("build.log"));
            g.secs = t.elapsed().as_secs_f64();
            return g;
        }
    };
    g.log = built.build_log.clone();
    let build_secs = built.make_secs + built.config_secs;
    let Some(image) = built.image.clone() else {
        return g.error("build produced no image");
    };
    if !boots {
        g.summary = format!(
            "built {} ({} options verified, {:.0} s)",
            image.display(),
            built.verified_options,
            build_secs
        );
        g.secs = t.elapsed().as_secs_f64();
        return g;
    }
    if entry.guest_commands().is_some() || entry.payload.is_some() {
        // Something to run in the guest: a foreign one needs Debian's busybox for its arch,
        // fetched once (the host's, or one already cached, comes back at once).
        emit(Event::Phase {
            gate: name.clone(),
            phase: "guest busybox".into(),
        });
        if let Err(e) = boot::busybox::fetch(&entry.arch, &Default::default()) {
            let mut g = g.error(e);
            g.secs = t.elapsed().as_secs_f64();
            return g;
        }
    }
    emit(Event::Phase {
        gate: name.clone(),
        phase: "booting".into(),
    });
    match boot::boot(&boot_options(opts, entry, image)) {
        Ok(r) => {
            let c = r.counts;
            g.summary = format!(
                "{} passed, {} failed, {} skipped, {} crashed; {} kernel event(s); boot {}",
                c.passed,
                c.failed,
                c.skipped,
                c.crashed,
                r.crashes.len(),
                r.end
            );
            if !r.passed() {
                g.status = Status::Failed;
                let mut d: Vec<String> = r
                    .failing_cases()
                    .map(|c| format!("{}: {:?}", c.full_name(), c.verdict))
                    .collect();
                d.extend(r.crashes.iter().map(|e| e.summary.clone()));
                g.detail = Some(d.join("\n"));
            }
            g.log = r.console_log.clone();
            g.tests = Some(r);
        }
        Err(e) => g = g.error(e),
    }
    g.secs = t.elapsed().as_secs_f64();
    g
}

fn skipped(name: &str, kind: GateKind) -> GateResult {
    let mut g = GateResult::new(name, kind);
    g.status = Status::Skipped;
    g.summary = "not run (fail-fast: an earlier gate failed)".into();
    g
}

/// Runs the selected gates. `Err` only for problems before any gate ran.
pub fn run(opts: &RunOptions, emit: &(dyn Fn(Event) + Sync)) -> Result<CiReport, super::CiError> {
    let t = Instant::now();
    let selected: Vec<&MatrixEntry> = opts
        .config
        .matrix
        .iter()
        .filter(|e| opts.entries.is_empty() || opts.entries.contains(&e.name()))
        .collect();
    for want in &opts.entries {
        if !opts.config.matrix.iter().any(|e| &e.name() == want) {
            return Err(super::CiError::UnknownEntry {
                name: want.clone(),
                known: opts
                    .config
                    .matrix
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let wants = |o: Only| opts.only.is_none() || opts.only == Some(o);
    let stop = AtomicBool::new(false);
    let gates = Mutex::new(Vec::new());
    let record = |g: GateResult| {
        if opts.fail_fast && g.status != Status::Passed && g.status != Status::Skipped {
            stop.store(true, Ordering::SeqCst);
        }
        emit(Event::Done(Box::new(g.clone())));
        gates.lock().unwrap().push(g);
    };
    let mut sarif = None;
    if wants(Only::Queue) {
        if let Some(g) = queue_gate(opts, emit) {
            record(g);
        }
    }
    if wants(Only::Lint) {
        if stop.load(Ordering::SeqCst) {
            if opts.config.lint.is_some() {
                record(skipped("lint", GateKind::Lint));
            }
        } else {
            emit(Event::Phase {
                gate: "lint".into(),
                phase: "checking".into(),
            });
            if let Some((g, s)) = lint_gate(opts) {
                sarif = s;
                record(g);
            }
        }
    }
    if wants(Only::Build) || wants(Only::Boot) {
        let build_only = opts.only == Some(Only::Build);
        let next = Mutex::new(selected.iter());
        let workers = opts.jobs.max(1).min(selected.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let Some(entry) = next.lock().unwrap().next().copied() else {
                        break;
                    };
                    let kind = if build_only || !entry.boot {
                        GateKind::Build
                    } else {
                        GateKind::Boot
                    };
                    if stop.load(Ordering::SeqCst) {
                        record(skipped(&entry.name(), kind));
                        continue;
                    }
                    record(entry_gate(opts, entry, build_only, emit));
                });
            }
        });
    }
    let mut gates = gates.into_inner().unwrap();
    // Stable order whatever finished first: queue, lint, then the matrix as configured.
    let order = |g: &GateResult| match g.kind {
        GateKind::Queue => 0,
        GateKind::Lint => 1,
        _ => {
            2 + selected
                .iter()
                .position(|e| e.name() == g.name)
                .unwrap_or(usize::MAX - 3)
        }
    };
    gates.sort_by_key(order);
    Ok(CiReport {
        root: opts.root.clone(),
        gates,
        sarif,
        secs: t.elapsed().as_secs_f64(),
    })
}
