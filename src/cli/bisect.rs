//! `bisect`: clap arguments resolved into `bisect::BisectOptions`, the report printed.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args, ValueEnum};

use super::{EXIT_ATTENTION, EXIT_ERROR, EXIT_OK};
use dovetail_port::bisect::{self, report, BisectOptions, CheckSpec, KernelSetup, Outcome};
use dovetail_port::kbuild::BaseConfig;

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Format {
    /// The steps, the patches that cannot matter, the guilty patch and its evidence.
    Human,
    /// The whole report as JSON.
    Json,
}

/// Name the queue patch that broke the build, the boot or a test.
///
/// Finds the first patch of the queue BASE..HEAD whose tree fails the check while its
/// predecessor's passes, and prints the patch, its topic, and the evidence: the first
/// compiler error (file:line:col), the kernel event with its console excerpt, the failing
/// test case with its log lines, or the command's last output lines.
///
/// The head is checked first (it must fail). Its build tells which files this architecture
/// and configuration compile (kbuild's dependency files): patches that touch only other
/// architectures' folders, documentation, or sources and Makefiles the configuration does not
/// build cannot change the verdict, so they are never built ("cannot matter" in the report).
/// The others are bisected; among equally cheap split points a topic boundary
/// (patchsets/dovetail.toml) is preferred, so whole topics are tried as units first. The
/// report gives the checks run and the number a plain binary bisection would have needed.
///
/// Steps run in a workspace of the tool (~/.cache/dovetail-port/bisect/<repo>-<hash>/), never
/// in your worktree: your HEAD, index, branches and files do not change. One out-of-tree
/// build folder is reused by every step, so a step rebuilds only what its patches change.
/// Each verdict is cached by tree id: a second bisection over the same (or a rewritten)
/// queue reuses every tree it has seen, and a bisection stopped with Ctrl-C resumes where it
/// was when run again.
///
/// A kernel tree that cannot be configured as asked (a requested option does not exist yet
/// in it), a test that is not in it, or --run exiting 125 makes a step untestable; the search
/// steps around it, like `git bisect skip`.
///
/// Exit status: 0 the guilty patch was found, 1 the head passes (nothing to bisect), 2 error
/// (also: the base fails too, or the guilty patch is one of several untestable ones).
///
/// Examples:
///
///   # Which patch of the forward-ported queue broke the x86_64 build?
///   dovetail-port bisect --queue v6.12..dovetail-6.12 --build
///
///   # Which one made the irq_pipeline_sample KUnit suite fail (tinyconfig + KUnit + demo.config)?
///   dovetail-port bisect --queue v6.12..HEAD --test irq_pipeline_sample \
///       --fragment patchsets/sample/demo.config
///
///   # arm64 boot, defconfig, JSON for a CI job
///   dovetail-port bisect --queue v6.1..evl-6.1 --boot --arch arm64 --config defconfig --format json
///
///   # Your own check (exit 0 good, 125 skip, 1-127 bad), run in the step's tree; it may build
///   # out of tree in $DOVETAIL_PORT_BISECT_OUT so patches that cannot matter are skipped
///   dovetail-port bisect --queue v6.12..HEAD --arch x86_64 --run -- ./check.sh --quick
#[derive(Args, Debug)]
#[command(
    verbatim_doc_comment,
    group(ArgGroup::new("mode").required(true).args(["build", "boot", "test", "run"]))
)]
pub struct BisectArgs {
    /// The queue to bisect, BASE..HEAD (the base is taken to pass).
    #[arg(long, value_name = "BASE..HEAD")]
    queue: String,
    /// Check: the kernel builds.
    #[arg(long)]
    build: bool,
    /// Check: it builds and boots in QEMU without a kernel event (panic, oops, BUG, WARNING,
    /// lockdep, hang).
    #[arg(long)]
    boot: bool,
    /// Check: it builds, boots, and every case of these tests passes: a KUnit suite
    /// (`irq_pipeline_sample`), one case (`suite.case`), or a payload marker name.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    test: Vec<String>,
    /// Check: the command given after `--` (run in the step's tree, no shell), exit 0 pass,
    /// 125 untestable, 1-127 fail, anything else stops the bisection.
    #[arg(long, requires = "command")]
    run: bool,
    /// The --run command and its arguments.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
    #[command(flatten)]
    repo: super::TreeArg,
    /// Target architecture (kbuild/arch/: x86_64, arm64, arm, riscv64). With --run, patches
    /// in other architectures' folders are skipped only when --arch is given.
    #[arg(long)]
    arch: Option<String>,
    /// Base configuration: a make target (tinyconfig, defconfig...) or a .config file.
    #[arg(long, value_name = "BASE", default_value = "tinyconfig")]
    config: String,
    /// Config fragment (built-in name or path), applied after the QEMU and KUnit fragments.
    /// Repeatable.
    #[arg(long = "fragment", value_name = "F")]
    fragments: Vec<String>,
    /// Leave out the built-in KUnit fragment.
    #[arg(long)]
    no_kunit: bool,
    /// Parallel make jobs. Default: the number of CPUs.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// CROSS_COMPILE prefix. Default: none on a native host, else the profile's.
    #[arg(long, value_name = "PREFIX")]
    cross: Option<String>,
    /// Stop a boot after this many seconds in total.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    timeout: u64,
    /// Declare a hang when the guest prints nothing for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    idle_timeout: u64,
    /// Topic rules. Default: patchsets/dovetail.toml.
    #[arg(long, value_name = "FILE")]
    topics: Option<PathBuf>,
    /// Check every patch's tree as needed, even those that cannot matter.
    #[arg(long)]
    no_skip: bool,
    /// Do not reuse cached verdicts (new ones are still recorded).
    #[arg(long)]
    no_cache: bool,
    /// Workspace folder (source tree, build folder, logs). Default: one per repository
    /// under ~/.cache/dovetail-port/bisect/.
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Write the report (in --format) to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the JSON report to FILE (old spelling of `--format json -o FILE` beside
    /// the human report).
    #[arg(long, value_name = "FILE", hide = true)]
    json_out: Option<PathBuf>,
}

impl BisectArgs {
    fn check(&self) -> CheckSpec {
        if self.build {
            CheckSpec::Build
        } else if self.boot {
            CheckSpec::Boot
        } else if !self.test.is_empty() {
            CheckSpec::Test(self.test.clone())
        } else {
            CheckSpec::Run(self.command.clone())
        }
    }

    fn options(&self) -> BisectOptions {
        let check = self.check();
        let arch = match (&self.arch, &check) {
            (Some(a), _) => Some(a.clone()),
            (None, CheckSpec::Run(_)) => None,
            (None, _) => Some("x86_64".to_string()),
        };
        let mut o = BisectOptions::new(self.repo.to_path_buf(), &self.queue, check);
        o.kernel = KernelSetup {
            arch,
            base: BaseConfig::parse(&self.config),
            fragments: self.fragments.clone(),
            kunit: !self.no_kunit,
            jobs: self.jobs,
            cross: self.cross.clone(),
            boot_timeout: Duration::from_secs(self.timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            progress: matches!(self.format, Format::Human),
        };
        o.topics = self.topics.clone();
        o.impact = !self.no_skip;
        o.use_cache = !self.no_cache;
        o.workspace = self.workspace.clone();
        o
    }
}

pub fn run(args: BisectArgs) -> anyhow::Result<u8> {
    let opts = args.options();
    let report = bisect::run(&opts, &mut |line| eprintln!("{line}"))?;
    let json = dovetail_port::schema::to_json(&report);
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    let text = match args.format {
        Format::Human => report::human(&report),
        Format::Json => json,
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(match report.outcome {
        Outcome::Found => EXIT_OK,
        Outcome::HeadPasses => EXIT_ATTENTION,
        Outcome::Ambiguous | Outcome::BaseFails => EXIT_ERROR,
    })
}
