//! `rebase`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use dovetail_port::rebase::engine::{self, Mode, Moved, Outcome, QueueSpec, StartOptions, Step};
use dovetail_port::rebase::report::{self, Report};
use dovetail_port::rebase::session::Session;
use dovetail_port::rebase::verify::{self, VerifyKind, VerifySetup};

/// Forward-port the patch queue onto a new kernel base, in memory.
///
/// Every commit of the queue is replayed onto TARGET by a three-way merge of only the paths it
/// touches, in the object database: no worktree, no index, and none of your branches move. The
/// run always goes to the end and gives each patch a verdict: clean, merged, relocated,
/// already-upstream, upstream-equivalent, obsolete, empty or conflict. Files the target moved are followed by content.
///
/// Conflicts are queued in a session under .git/dovetail-port/. `--continue` checks the first
/// one, in queue order, out in a dedicated worktree (.git/dovetail-port/worktree) on top of
/// the patches before it: diff3 markers in the files, and base/ours/theirs as index stages
/// 1/2/3, so `git status`, `git diff` and `git mergetool` work there. Edit the files (or use
/// `git checkout --theirs`), then run `--continue` again, from there or from the repository:
/// your resolution is committed in its place and the patches after it are replayed on top of
/// it, so the result keeps the queue's order. A binary conflict is checked out as FILE.ours,
/// FILE.base and FILE.theirs: put the version you want at FILE. `--skip` drops the patch,
/// `--abort` forgets the session, `--status` shows the table. When no conflict is left, the
/// result is written to a new branch (default `<queue-branch>-on-<target>`). A killed run
/// resumes with `--continue`. `--explain PATCH` prints every decision made for one patch.
///
/// Before merging, each patch is judged against the target: `upstream-equivalent` (the target
/// already has its change, maybe elsewhere in the file or in another form) or `obsolete` (what
/// it changes is gone from the whole tree), with evidence (file:line, lines, confidence). The
/// session stops on these like on a conflict: `--continue` drops the patch, as the verdict
/// suggests; `--continue --apply` forces it through.
/// One session runs at a time per repository (a second run says which process holds it).
/// Paths that git's checkout refuses (`..`, `.git`, below a symlink) are refused by name.
///
/// Examples:
///   dovetail-port rebase v6.12 --queue v6.1..dovetail-6.1     # forward-port a branch
///   dovetail-port rebase v6.12 --series ~/dovetail-patches/   # a quilt/format-patch series
///   dovetail-port rebase --continue                           # after editing the worktree
///   dovetail-port rebase --status --report json | jq '.patches[].verdict'
///   dovetail-port rebase v6.12 --queue v6.1..evl --verify build   # and name a patch that breaks it
///
/// Each conflict region you resolve is recorded (see `dovetail-port resolutions`) and applied
/// again when the same change meets the same upstream change, even where the code moved.
///
/// Exit status: 0 when every patch is ported, 1 when conflicts remain, 2 on errors.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RebaseArgs {
    /// The new base: a tag, branch or commit (v6.12, v6.12.117, a sha).
    #[arg(required_unless_present_any = ["cont", "skip", "abort", "status", "onto", "explain"])]
    pub target: Option<String>,

    /// The new base, git-style (`--onto v6.12 --queue v6.1..dovetail`); same as TARGET.
    #[arg(long, value_name = "REV", conflicts_with = "target")]
    pub onto: Option<String>,

    /// The queue as a commit range BASE..HEAD (first-parent, oldest first).
    #[arg(long, value_name = "BASE..HEAD", conflicts_with = "series")]
    pub queue: Option<String>,

    /// The queue as patch files: a quilt directory (with `series`), a directory of
    /// format-patch files, or one mbox/squashed patch file. Pre-images are found from the
    /// patches' `index` lines.
    #[arg(long, value_name = "DIR|FILE")]
    pub series: Option<PathBuf>,

    /// Name of the result branch (default: <queue-branch>-on-<target>).
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,

    /// Overwrite the result branch if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub repo: super::TreeArg,

    /// Topic rules (default: patchsets/dovetail.toml).
    #[arg(long, value_name = "FILE")]
    pub topics: Option<PathBuf>,

    /// Collateral-evolution rules: new upstream code the queue should also cover, listed as
    /// to-dos in the report (default: patchsets/collateral.toml; commit-range queues only).
    #[arg(long, value_name = "FILE")]
    pub collateral: Option<PathBuf>,

    /// Git-equivalent conflicts: turn the resolution cascade off, so every conflict git's
    /// three-way merge leaves stays a conflict.
    #[arg(long)]
    pub strict: bool,

    /// Report format on stdout (old spelling: --report).
    #[arg(long = "format", alias = "report", value_enum, default_value_t = ReportFormat::Human)]
    pub report: ReportFormat,

    /// Also write the report to this file, in --format (old spelling: --report-file).
    #[arg(
        long = "output",
        short = 'o',
        alias = "report-file",
        value_name = "FILE"
    )]
    pub report_file: Option<PathBuf>,

    /// Take the resolution from the worktree (or resume a killed run) and go on.
    #[arg(long = "continue", id = "cont", conflicts_with_all = ["skip", "abort", "status"])]
    pub cont: bool,

    /// With --continue, on an `upstream-equivalent` or `obsolete` verdict: force the patch
    /// through instead of dropping it (what --continue alone does, as the verdict suggests).
    #[arg(long, requires = "cont")]
    pub apply: bool,

    /// Drop the current conflicting patch and go on.
    #[arg(long, conflicts_with_all = ["abort", "status"])]
    pub skip: bool,

    /// Forget the session and remove its worktree; nothing else changes.
    #[arg(long, conflicts_with = "status")]
    pub abort: bool,

    /// Show the session's table.
    #[arg(long)]
    pub status: bool,

    /// Print every decision made for one patch of the session (in progress or finished): per
    /// path, how it merged, each cascade placement with its method, confidence and text, each
    /// refusal with its reason, the conflicts left with the upstream commits behind them, and
    /// the interdiff. PATCH is its number in the table or a prefix of its commit id.
    #[arg(long, value_name = "PATCH", conflicts_with_all = ["cont", "skip", "abort", "status"])]
    pub explain: Option<String>,

    /// Once every patch is ported, check the result: it builds, it boots in QEMU without a
    /// kernel event, or the tests named by --verify-test pass. When it fails, the ported
    /// queue is bisected (as `dovetail-port bisect` does: patches that cannot matter are never
    /// built, verdicts are cached by tree) and the patch that breaks it gets the verdict
    /// breaks-build, breaks-boot or breaks-test with the evidence; the exit status is then 1.
    /// Kept in the session: a `--continue` that finishes the port runs it.
    #[arg(long, value_enum, value_name = "CHECK", help_heading = "Verification",
          conflicts_with_all = ["abort", "explain"])]
    pub verify: Option<VerifyArg>,

    /// With --verify test: a KUnit suite or `suite.case` that must pass. Repeatable.
    #[arg(
        long = "verify-test",
        value_name = "NAME",
        requires = "verify",
        help_heading = "Verification"
    )]
    pub verify_tests: Vec<String>,

    /// With --verify: the architecture profile (kbuild/arch/: x86_64, arm64, arm, riscv64).
    #[arg(long, requires = "verify", help_heading = "Verification")]
    pub arch: Option<String>,

    /// With --verify: base configuration, a make target (tinyconfig, defconfig) or a file.
    #[arg(
        long,
        value_name = "BASE",
        default_value = "tinyconfig",
        help_heading = "Verification"
    )]
    pub config: String,

    /// With --verify: a config fragment (built-in name or path). Repeatable.
    #[arg(
        long = "fragment",
        value_name = "F",
        requires = "verify",
        help_heading = "Verification"
    )]
    pub fragments: Vec<String>,

    /// With --verify: leave out the built-in KUnit fragment.
    #[arg(long, requires = "verify", help_heading = "Verification")]
    pub no_kunit: bool,

    /// With --verify: the bisection's workspace (source tree and build folder, reused across
    /// runs). Default: the one `dovetail-port bisect` uses for this repository.
    #[arg(
        long,
        value_name = "DIR",
        requires = "verify",
        help_heading = "Verification"
    )]
    pub workspace: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyArg {
    /// The kernel builds.
    Build,
    /// It builds and boots without a kernel event.
    Boot,
    /// It builds, boots and the --verify-test tests pass.
    Test,
}

impl RebaseArgs {
    /// The mode the flags ask for (clap keeps them exclusive).
    fn mode(&self) -> anyhow::Result<Mode> {
        if self.abort {
            return Ok(Mode::Abort);
        }
        if self.status {
            return Ok(Mode::Status);
        }
        if self.cont {
            return Ok(Mode::Continue { apply: self.apply });
        }
        if self.skip {
            return Ok(Mode::Skip);
        }
        let queue = match (&self.queue, &self.series) {
            (Some(range), None) => QueueSpec::Range(range.clone()),
            (None, Some(dir)) => QueueSpec::Series(dir.clone()),
            _ => anyhow::bail!("say what the queue is: --queue BASE..HEAD or --series DIR"),
        };
        Ok(Mode::Start(StartOptions {
            repo: self.repo.to_path_buf(),
            target: self
                .target
                .clone()
                .or_else(|| self.onto.clone())
                .expect("clap requires a target"),
            queue,
            branch: self.branch.clone(),
            force: self.force,
            topics: self.topics.clone(),
            strict: self.strict,
            collateral: self.collateral.clone(),
        }))
    }

    fn verify_setup(&self) -> Option<VerifySetup> {
        let kind = match self.verify? {
            VerifyArg::Build => VerifyKind::Build,
            VerifyArg::Boot => VerifyKind::Boot,
            VerifyArg::Test => VerifyKind::Test,
        };
        let mut setup = VerifySetup::new(kind);
        setup.tests = self.verify_tests.clone();
        setup.arch = self.arch.clone();
        setup.config = self.config.clone();
        setup.fragments = self.fragments.clone();
        setup.kunit = !self.no_kunit;
        setup.workspace = self.workspace.clone();
        Some(setup)
    }
}

/// Runs the session's --verify check when the port has just finished.
fn verify_finished(args: &RebaseArgs, session: &mut Session) -> anyhow::Result<()> {
    if session.finished && session.verify.is_some() && session.verification.is_none() {
        let quiet = super::quiet();
        verify::run(&args.repo, session, super::progress_wanted(), &mut |line| {
            if !quiet {
                eprintln!("{line}");
            }
        })?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    Md,
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} replaying {pos}/{len} patches {per_sec} {wide_bar}",
        )
        .expect("valid template"),
    );
    bar
}

fn render(session: &Session, args: &RebaseArgs) -> anyhow::Result<()> {
    let report = Report::new(session);
    let text = match args.report {
        ReportFormat::Human => report.human(),
        ReportFormat::Json => dovetail_port::schema::stamp_text(&report.json()),
        ReportFormat::Md => report.markdown(),
    };
    print!("{text}");
    if let Some(path) = &args.report_file {
        std::fs::write(path, &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn exit_code(session: &Session) -> u8 {
    let verified = session.verification.as_ref().is_none_or(|v| v.passed());
    if session.finished && verified {
        super::EXIT_OK
    } else {
        super::EXIT_ATTENTION
    }
}

pub fn run(args: RebaseArgs) -> anyhow::Result<u8> {
    if let Some(spec) = &args.explain {
        let session = engine::status(&args.repo)?;
        let i = report::find_patch(&session, spec).map_err(anyhow::Error::msg)?;
        match args.report {
            ReportFormat::Json => {
                println!("{}", serde_json::to_string_pretty(&session.patches[i])?)
            }
            _ => print!("{}", report::explain(&session, i)),
        }
        return Ok(super::EXIT_OK);
    }
    let mode = args.mode()?;
    if matches!(mode, Mode::Continue { .. } | Mode::Skip) {
        if let Some(setup) = args.verify_setup() {
            verify::configure(&args.repo, setup)?;
        }
    }
    let outcome = match mode {
        Mode::Abort | Mode::Status => engine::run(&args.repo, mode, &mut |_, _| {})?,
        mode => {
            let bar = progress_bar();
            let outcome = engine::run(&args.repo, mode, &mut |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })?;
            bar.finish_and_clear();
            outcome
        }
    };
    match outcome {
        Outcome::Aborted(session) => {
            println!(
                "rebase onto {} aborted: session and worktree removed; no branch was changed",
                session.target
            );
            Ok(super::EXIT_OK)
        }
        Outcome::Status(session) => {
            render(&session, &args)?;
            if let (Some(active), ReportFormat::Human) = (&session.active, args.report) {
                println!(
                    "\nin the worktree {}: patch #{} ({} file(s) to resolve)",
                    Session::worktree(engine::open_repo(&args.repo)?.path()).display(),
                    active.index + 1,
                    active.conflicted.len()
                );
            }
            Ok(exit_code(&session))
        }
        Outcome::Moved(Moved { mut session, step }) => {
            match step {
                Step::Finished => {
                    verify_finished(&args, &mut session)?;
                    render(&session, &args)?;
                }
                Step::Waiting { index, .. } if session.patches[index].awaits_decision() => {
                    let p = &session.patches[index];
                    println!("patch #{} `{}`: {}", index + 1, p.subject, p.verdict_name());
                    if let Some(f) = &p.finding {
                        println!("  {}", f.summary());
                    }
                    println!(
                        "see the evidence with `dovetail-port rebase --explain {}`; then \
                         `--continue` drops it, `--continue --apply` forces it through",
                        index + 1
                    );
                }
                Step::Waiting { worktree, index } => {
                    let p = &session.patches[index];
                    println!(
                        "patch #{} `{}` conflicts on top of {}:",
                        index + 1,
                        p.subject,
                        session.target
                    );
                    for path in session.active.iter().flat_map(|a| &a.conflicted) {
                        println!("  {}", worktree.join(path).display());
                    }
                    println!(
                        "resolve the diff3 markers in {}, then run `dovetail-port rebase --continue` \
                         (or --skip to drop this patch, --abort to stop)",
                        worktree.display()
                    );
                }
            }
            Ok(exit_code(&session))
        }
        Outcome::Started(mut session) => {
            if let Some(setup) = args.verify_setup() {
                session = verify::configure(&args.repo, setup)?;
                verify_finished(&args, &mut session)?;
            }
            render(&session, &args)?;
            Ok(exit_code(&session))
        }
    }
}
