//! The checks a step runs on a tree: a kernel build, a build and boot, a build, boot and
//! named tests, or the user's command. Each says pass, fail or untestable, with evidence.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::cache::{key_of, StepOutcome, VerdictCache};
use super::evidence::{self, Evidence};
use super::impact::{self, Scope};
use super::search::Verdict;
use super::BisectError;
use crate::boot::{self, BootOptions};
use crate::kbuild::{self, BaseConfig, BuildOptions};

/// What decides a tree's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckSpec {
    /// The kernel builds.
    Build,
    /// It builds and boots in QEMU without a kernel event (panic, oops, BUG, WARNING...).
    Boot,
    /// It builds, boots, and every case of these tests (KUnit suites, `suite.case` names,
    /// payload markers) passes.
    Test(Vec<String>),
    /// A command run in the tree: exit 0 pass, 125 untestable, 1-127 fail (as `git bisect
    /// run`); above 127 or killed stops the bisection.
    Run(Vec<OsString>),
}

impl CheckSpec {
    pub fn label(&self) -> String {
        match self {
            CheckSpec::Build => "build".into(),
            CheckSpec::Boot => "boot".into(),
            CheckSpec::Test(names) => format!("test {}", names.join(" ")),
            CheckSpec::Run(argv) => format!(
                "run {}",
                argv.iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
}

/// How kernels are built and booted for the kernel checks (the same keys as `build`).
#[derive(Debug, Clone)]
pub struct KernelSetup {
    /// Architecture profile; for `--run`, None means every arch/ folder may matter.
    pub arch: Option<String>,
    pub base: BaseConfig,
    pub fragments: Vec<String>,
    pub kunit: bool,
    pub jobs: Option<usize>,
    pub cross: Option<String>,
    pub boot_timeout: Duration,
    pub idle_timeout: Duration,
    /// A progress bar for builds on stderr.
    pub progress: bool,
}

impl Default for KernelSetup {
    fn default() -> Self {
        KernelSetup {
            arch: None,
            base: BaseConfig::Target("tinyconfig".into()),
            fragments: Vec::new(),
            kunit: true,
            jobs: None,
            cross: None,
            boot_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(120),
            progress: false,
        }
    }
}

impl KernelSetup {
    pub fn arch(&self) -> &str {
        self.arch.as_deref().unwrap_or("x86_64")
    }

    /// Everything the build depends on besides the tree, as a cache key.
    fn key(&self) -> Result<String, BisectError> {
        let mut text = format!(
            "{}|{}|{:?}|{}|{:?}\n",
            env!("CARGO_PKG_VERSION"),
            self.arch(),
            self.base,
            self.kunit,
            self.cross
        );
        if let BaseConfig::File(f) = &self.base {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(f).map_err(
                |source| BisectError::Io {
                    path: f.clone(),
                    source,
                },
            )?));
        }
        for f in &self.fragments {
            let path = kbuild::config::resolve_fragment(f)?;
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).map_err(
                |source| BisectError::Io {
                    path: path.clone(),
                    source,
                },
            )?));
        }
        Ok(format!("{}-{}", self.arch(), key_of(&text)))
    }

    fn build_options(&self, tree: &Path, out: &Path) -> BuildOptions {
        let mut o = BuildOptions::new(self.arch(), tree);
        o.out = Some(out.to_path_buf());
        o.base = self.base.clone();
        o.fragments = self.fragments.clone();
        o.kunit = self.kunit;
        if let Some(j) = self.jobs {
            o.jobs = j;
        }
        o.cross = self.cross.clone();
        o.progress = self.progress;
        o
    }
}

/// One way of judging a tree. The engine only sees this trait, so tests can drive it with a
/// fake check.
pub trait Check {
    /// Which cache holds its verdicts.
    fn cache(&self) -> &VerdictCache;
    /// Whether this outcome (not from the cache) left a complete build in the build folder,
    /// whose dependency files then tell what this setup compiles.
    fn completed_build(&self, outcome: &StepOutcome) -> bool;
    /// A verdict implied by another kind of check on the same tree (a tree that does not
    /// build does not boot either).
    fn implied(&self, _tree: git2::Oid) -> Option<StepOutcome> {
        None
    }
    /// Judges the tree checked out at `dir`.
    fn run(
        &mut self,
        dir: &Path,
        commit: git2::Oid,
        tree: git2::Oid,
    ) -> Result<StepOutcome, BisectError>;
    /// What the builds so far say can matter.
    fn scope(&self, dir: &Path) -> Scope;
}

/// `--build`, `--boot`, `--test`.
pub struct KernelCheck {
    spec: CheckSpec,
    setup: KernelSetup,
    out: PathBuf,
    boot_dir: PathBuf,
    cache: VerdictCache,
}

impl KernelCheck {
    pub fn new(
        spec: CheckSpec,
        setup: KernelSetup,
        out: PathBuf,
        boot_dir: PathBuf,
        cache_root: &Path,
    ) -> Result<Self, BisectError> {
        let kind = match &spec {
            CheckSpec::Build => "build".to_string(),
            CheckSpec::Boot => "boot".to_string(),
            CheckSpec::Test(names) => format!("test-{}", key_of(&names.join("\n"))),
            CheckSpec::Run(_) => {
                return Err(BisectError::Usage("--run is not a kernel check".into()))
            }
        };
        let cache = VerdictCache::new(cache_root, &setup.key()?, &kind);
        Ok(KernelCheck {
            spec,
            setup,
            out,
            boot_dir,
            cache,
        })
    }

    fn judge_boot(&self, report: &crate::results::TestReport) -> (Verdict, Option<Evidence>) {
        match &self.spec {
            CheckSpec::Test(names) => {
                let mut missing = Vec::new();
                for name in names {
                    let mut cases = report
                        .cases
                        .iter()
                        .filter(|c| evidence::matches_test(&c.full_name(), name))
                        .peekable();
                    if cases.peek().is_none() {
                        missing.push(name.clone());
                        continue;
                    }
                    if let Some(c) = cases.find(|c| c.verdict.is_failure()) {
                        return (
                            Verdict::Fail,
                            Some(Evidence::TestCase {
                                name: c.full_name(),
                                verdict: format!("{:?}", c.verdict).to_lowercase(),
                                log: c.message.clone().unwrap_or_default(),
                                console_log: report.console_log.clone(),
                            }),
                        );
                    }
                }
                if let Some(problem) = evidence::boot_problem(report).filter(|_| {
                    report.crashes.iter().any(|c| c.kind.is_fatal())
                        || !matches!(report.end, crate::results::BootEnd::Completed { .. })
                }) {
                    return (Verdict::Fail, Some(problem));
                }
                if missing.is_empty() {
                    (Verdict::Pass, None)
                } else {
                    (
                        Verdict::Untestable,
                        Some(Evidence::TestsMissing { names: missing }),
                    )
                }
            }
            _ => match evidence::boot_problem(report) {
                Some(e) => (Verdict::Fail, Some(e)),
                None => (Verdict::Pass, None),
            },
        }
    }
}

impl Check for KernelCheck {
    fn cache(&self) -> &VerdictCache {
        &self.cache
    }

    fn completed_build(&self, o: &StepOutcome) -> bool {
        o.built
            && !matches!(
                o.evidence,
                Some(
                    Evidence::CompileError { .. }
                        | Evidence::BuildError { .. }
                        | Evidence::ConfigDropped { .. }
                )
            )
    }

    fn implied(&self, tree: git2::Oid) -> Option<StepOutcome> {
        match self.spec {
            // Booted or tested fine: it built.
            CheckSpec::Build => self.cache.get_kind("boot", tree).and_then(|o| {
                (o.verdict == Verdict::Pass).then_some(StepOutcome { booted: false, ..o })
            }),
            // Did not build (or could not be configured): it cannot boot either.
            _ => self
                .cache
                .get_kind("build", tree)
                .filter(|o| o.verdict != Verdict::Pass),
        }
    }

    fn run(
        &mut self,
        dir: &Path,
        _commit: git2::Oid,
        tree: git2::Oid,
    ) -> Result<StepOutcome, BisectError> {
        let t0 = Instant::now();
        let opts = self.setup.build_options(dir, &self.out);
        let built = match kbuild::build(&opts) {
            Ok(b) => b,
            Err(e) => {
                let Some(ev) = evidence::from_build_error(&e, dir, &self.out) else {
                    return Err(e.into());
                };
                // A configuration that does not apply stops before compiling anything.
                let (verdict, built) = match ev {
                    Evidence::ConfigDropped { .. } => (Verdict::Untestable, false),
                    _ => (Verdict::Fail, true),
                };
                let outcome = StepOutcome {
                    verdict,
                    evidence: Some(ev),
                    built,
                    booted: false,
                    secs: t0.elapsed().as_secs_f64(),
                };
                // A tree that does not build does not boot: shared with the other kinds.
                if self.spec != CheckSpec::Build {
                    self.cache.sibling("build").put(tree, &outcome)?;
                }
                return Ok(outcome);
            }
        };
        if self.spec == CheckSpec::Build {
            return Ok(StepOutcome {
                verdict: Verdict::Pass,
                evidence: None,
                built: true,
                booted: false,
                secs: t0.elapsed().as_secs_f64(),
            });
        }
        let image = built
            .image
            .ok_or_else(|| BisectError::Usage("the build produced no kernel image".into()))?;
        let mut b = BootOptions::new(self.setup.arch(), image);
        b.work_dir = Some(self.boot_dir.clone());
        b.timeout = self.setup.boot_timeout;
        b.idle_timeout = self.setup.idle_timeout;
        let report = boot::boot(&b)?;
        let (verdict, evidence) = self.judge_boot(&report);
        Ok(StepOutcome {
            verdict,
            evidence,
            built: true,
            booted: true,
            secs: t0.elapsed().as_secs_f64(),
        })
    }

    fn scope(&self, dir: &Path) -> Scope {
        let srcarch = kbuild::ArchProfile::load(self.setup.arch())
            .ok()
            .map(|p| p.source_arch);
        impact::scope_from_build(&self.out, dir, srcarch.as_deref())
    }
}

/// `--run CMD [ARGS...]`.
pub struct RunCheck {
    argv: Vec<OsString>,
    srcarch: Option<String>,
    /// Offered to the command as `$DOVETAIL_PORT_BISECT_OUT` for an out-of-tree build; its
    /// kbuild dependency files then feed the impact analysis.
    out: PathBuf,
    log: PathBuf,
    cache: VerdictCache,
}

impl RunCheck {
    pub fn new(
        argv: Vec<OsString>,
        arch: Option<&str>,
        out: PathBuf,
        log: PathBuf,
        cache_root: &Path,
    ) -> Result<Self, BisectError> {
        if argv.is_empty() {
            return Err(BisectError::Usage(
                "--run needs a command after `--`, e.g. --run -- ./check.sh".into(),
            ));
        }
        let srcarch = match arch {
            Some(a) => Some(kbuild::ArchProfile::load(a)?.source_arch),
            None => None,
        };
        let key: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let cache = VerdictCache::new(
            cache_root,
            &format!("run-{}", arch.unwrap_or("any")),
            &key_of(&format!(
                "{}\n{}",
                env!("CARGO_PKG_VERSION"),
                key.join("\0")
            )),
        );
        Ok(RunCheck {
            argv,
            srcarch,
            out,
            log,
            cache,
        })
    }
}

impl Check for RunCheck {
    fn cache(&self) -> &VerdictCache {
        &self.cache
    }

    /// A passing command is taken to have finished whatever build it runs.
    fn completed_build(&self, o: &StepOutcome) -> bool {
        o.verdict == Verdict::Pass
    }

    fn run(
        &mut self,
        dir: &Path,
        commit: git2::Oid,
        _tree: git2::Oid,
    ) -> Result<StepOutcome, BisectError> {
        let t0 = Instant::now();
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| BisectError::Io { path: p, source }
        };
        let log = std::fs::File::create(&self.log).map_err(io(&self.log))?;
        let log2 = log.try_clone().map_err(io(&self.log))?;
        let program = &self.argv[0];
        let status = Command::new(program)
            .args(&self.argv[1..])
            .current_dir(dir)
            .env("DOVETAIL_PORT_BISECT_COMMIT", commit.to_string())
            .env("DOVETAIL_PORT_BISECT_TREE", dir)
            .env("DOVETAIL_PORT_BISECT_OUT", &self.out)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .status()
            .map_err(|source| BisectError::Spawn {
                program: program.to_string_lossy().into_owned(),
                source,
            })?;
        let text = std::fs::read(&self.log).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let output_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        let code = match status.code() {
            Some(c) if c <= 127 => c,
            _ => {
                return Err(BisectError::CommandAborted {
                    status: status.to_string(),
                    output_tail,
                })
            }
        };
        let verdict = match code {
            0 => Verdict::Pass,
            125 => Verdict::Untestable,
            _ => Verdict::Fail,
        };
        Ok(StepOutcome {
            verdict,
            evidence: (code != 0).then_some(Evidence::Command {
                status: code,
                output_tail,
            }),
            built: false,
            booted: false,
            secs: t0.elapsed().as_secs_f64(),
        })
    }

    fn scope(&self, dir: &Path) -> Scope {
        impact::scope_from_build(&self.out, dir, self.srcarch.as_deref())
    }
}
