//! The command line: clap types are resolved here into the library's own option structs,
//! then each command calls its engine. Nothing below `src/cli/` holds domain logic.

use std::process::ExitCode;

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

mod arch;
mod bisect;
mod build;
mod busybox;
mod ci;
mod demo;
mod doctor;
mod hints;
mod lint;
mod queue;
mod rebase;
mod resolutions;
mod results;

/// Exit codes shared by every command, so CI can act on them.
pub const EXIT_OK: u8 = 0;
/// Work finished but something needs a human (conflicts, findings, failed tests).
pub const EXIT_ATTENTION: u8 = 1;
/// The command could not do its job (bad input, missing tool, I/O error).
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "dovetail-port",
    version,
    about = "Forward-port, lint, build, boot and gate Dovetail/EVL kernel trees",
    long_about = "dovetail-port is the toolkit for maintainers of Dovetail/EVL kernel trees.\n\n\
It forward-ports the Dovetail/EVL patch queue to a new kernel release in memory, \
scaffolds and measures ports to new CPU architectures, checks drivers for out-of-band \
safety, builds and boots kernels in QEMU with their unit tests, and gates kernel forks in CI.\n\n\
Exit status: 0 when everything succeeded, 1 when the work finished but needs attention \
(conflicts, findings, failed tests), 2 on errors.",
    propagate_version = true,
    after_help = "Examples:\n  dovetail-port demo                       # rebase, lint, build, boot a sample queue\n  dovetail-port rebase --help              # one command's manual\n  dovetail-port completions bash           # shell completions; `dovetail-port man` for the man page"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes, before or after its name.
#[derive(Args, Debug, Clone)]
struct GlobalArgs {
    /// When to colour output: auto (a terminal, unless NO_COLOR is set or TERM=dumb;
    /// CLICOLOR_FORCE forces it), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    color: ColorArg,
    /// Less output: no progress bars or spinners.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More output: progress also when stderr is not a terminal (CI logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// `--format human|json` for commands whose report has these two forms; the old `--json`
/// switch stays as a hidden alias for one release.
#[derive(Args, Debug, Clone)]
pub struct FormatArg {
    /// Output format: human or json (JSON carries `schema_version`).
    #[arg(long, value_enum, default_value_t = HumanOrJson::Human, value_name = "FORMAT")]
    format: HumanOrJson,
    /// Same as --format json (old spelling).
    #[arg(long, hide = true)]
    json: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum HumanOrJson {
    Human,
    Json,
}

impl FormatArg {
    pub fn json(&self) -> bool {
        self.json || self.format == HumanOrJson::Json
    }

    /// The old `--json` switch was given: keep the old JSON shape for it.
    pub fn legacy_json(&self) -> bool {
        self.json
    }
}

/// `-C/--tree DIR`, the kernel tree a command works in, spelled the same in every command
/// (git's `-C`); `--repo` and `--dir`, the old spellings, still parse.
#[derive(Args, Debug, Clone)]
pub struct TreeArg {
    /// The kernel tree, or a folder inside it (default: the current directory).
    #[arg(
        long = "tree",
        short = 'C',
        value_name = "DIR",
        default_value = ".",
        aliases = ["repo", "dir"]
    )]
    tree: std::path::PathBuf,
}

impl std::ops::Deref for TreeArg {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.tree
    }
}

static GLOBAL: OnceLock<GlobalArgs> = OnceLock::new();

fn global() -> &'static GlobalArgs {
    GLOBAL.get_or_init(|| GlobalArgs {
        color: ColorArg::Auto,
        quiet: false,
        verbose: 0,
    })
}

/// Whether stdout gets colours: `--color`, then NO_COLOR / CLICOLOR_FORCE / TERM=dumb and
/// whether stdout is a terminal (anstream's rules, as cargo and ripgrep follow them).
pub fn color_stdout() -> bool {
    let choice = match global().color {
        ColorArg::Always => return true,
        ColorArg::Never => return false,
        ColorArg::Auto => anstream::AutoStream::choice(&std::io::stdout()),
    };
    choice != anstream::ColorChoice::Never
}

/// `-q`: no progress or step lines on stderr.
pub fn quiet() -> bool {
    global().quiet
}

/// How progress shows on stderr: bars on a terminal unless `-q`; plain lines elsewhere
/// only with `-v`; else nothing.
fn progress_mode(g: &GlobalArgs) -> dovetail_port::progress::Mode {
    use dovetail_port::progress::Mode;
    match (g.quiet, std::io::stderr().is_terminal(), g.verbose > 0) {
        (true, _, _) => Mode::Off,
        (false, true, _) => Mode::Bars,
        (false, false, true) => Mode::Lines,
        (false, false, false) => Mode::Off,
    }
}

/// Whether to show progress (bars, spinners, live lines) on stderr at all.
pub fn progress_wanted() -> bool {
    dovetail_port::progress::mode() != dovetail_port::progress::Mode::Off
}

#[derive(Subcommand, Debug)]
enum Command {
    Rebase(rebase::RebaseArgs),
    Resolutions(resolutions::ResolutionsArgs),
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    NewArch(arch::NewArchArgs),
    ArchStatus(arch::ArchStatusArgs),
    Lint(lint::LintArgs),
    Build(build::BuildArgs),
    Boot(build::BootArgs),
    Initramfs(build::InitramfsArgs),
    Busybox(busybox::BusyboxArgs),
    Test(build::TestArgs),
    #[command(subcommand)]
    Results(results::ResultsCommand),
    Bisect(bisect::BisectArgs),
    Ci(ci::CiArgs),
    Doctor(doctor::DoctorArgs),
    Demo(demo::DemoArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// Print a shell completion script.
///
/// Examples:
///
///   dovetail-port completions bash > ~/.local/share/bash-completion/completions/dovetail-port
///
///   dovetail-port completions zsh > "${fpath[1]}/_dovetail-port"
///
///   dovetail-port completions fish > ~/.config/fish/completions/dovetail-port.fish
#[derive(Args, Debug)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Print the manual page (roff) of dovetail-port or of one of its commands.
///
/// Examples:
///
///   dovetail-port man | man -l -
///
///   dovetail-port man ci > ~/.local/share/man/man1/dovetail-port-ci.1
#[derive(Args, Debug)]
struct ManArgs {
    /// A command (`rebase`, `ci`, `queue list`...); the whole tool when absent.
    command: Vec<String>,
}

fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut cmd,
        "dovetail-port",
        &mut std::io::stdout(),
    );
    Ok(EXIT_OK)
}

fn man(args: ManArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut name = String::from("dovetail-port");
    for sub in &args.command {
        let Some(found) = cmd.find_subcommand(sub).cloned() else {
            anyhow::bail!("no command `{}` (see `{name} --help`)", sub.escape_debug());
        };
        name = format!("{name}-{sub}");
        cmd = found.name(name.clone());
    }
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
    Ok(EXIT_OK)
}

/// Rust ignores SIGPIPE, so a closed stdout (`dovetail-port queue list | head`) would turn
/// every print into a panic. Default handling ends the process quietly with the usual
/// status, as for any Unix filter. Children are unaffected: none is fed through a pipe.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `--arch` of build, boot, test...: any spelling, resolved to our profile name (`aarch64` →
/// `arm64`) by the one arch table, [`dovetail_port::kbuild::ArchProfile::load`].
pub fn profile_arch(s: &str) -> Result<String, String> {
    dovetail_port::kbuild::ArchProfile::canonical(s).map_err(|e| e.to_string())
}

/// The arch of new-arch, arch-status and lint: the kernel's name (`riscv64` → `riscv`).
pub fn kernel_arch(s: &str) -> Result<String, String> {
    dovetail_port::kbuild::ArchProfile::try_kernel_name(s).map_err(|e| e.to_string())
}

pub fn run() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let _ = GLOBAL.set(cli.global.clone());
    dovetail_port::progress::set_mode(progress_mode(&cli.global));
    let result = match cli.command {
        Command::Rebase(args) => rebase::run(args),
        Command::Resolutions(args) => resolutions::run(args),
        Command::Queue(cmd) => queue::run(cmd),
        Command::NewArch(args) => arch::run_new_arch(args),
        Command::ArchStatus(args) => arch::run_arch_status(args),
        Command::Lint(args) => lint::run(args),
        Command::Build(args) => build::run_build(args),
        Command::Boot(args) => build::run_boot(args),
        Command::Initramfs(args) => build::run_initramfs(args),
        Command::Busybox(args) => busybox::run(args),
        Command::Test(args) => build::run_test(args),
        Command::Results(cmd) => results::run(cmd),
        Command::Bisect(args) => bisect::run(args),
        Command::Ci(args) => ci::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Completions(args) => completions(args),
        Command::Man(args) => man(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if let Some(hint) = hints::hint(&err) {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        // Duplicate flags (a global -q beside a command's own), bad defaults, aliases that
        // collide: clap checks all of it here.
        Cli::command().debug_assert();
    }

    /// Every command's `--help` (and the tool's) shows at least two examples of itself.
    #[test]
    fn every_help_has_two_examples() {
        fn walk(cmd: &mut clap::Command, path: &str, missing: &mut Vec<String>) {
            let help = cmd.render_long_help().to_string();
            let examples = help.split_once("Examples:").map_or(0, |(_, tail)| {
                // `dovetail-port queue list` ends a word: not `queue listing`.
                tail.match_indices(path)
                    .filter(|(i, _)| {
                        matches!(
                            tail.as_bytes().get(i + path.len()),
                            None | Some(b' ' | b'\n')
                        )
                    })
                    .count()
            });
            if examples < 2 {
                missing.push(format!("{path} ({examples})"));
            }
            for sub in cmd.get_subcommands_mut() {
                if sub.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", sub.get_name());
                walk(sub, &p, missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&mut cmd, "dovetail-port", &mut missing);
        assert!(missing.is_empty(), "fewer than two examples: {missing:#?}");
    }

    /// The kernel tree is `-C/--tree` wherever a command takes one; `--repo` and `--dir`
    /// are hidden aliases.
    #[test]
    fn one_spelling_for_the_kernel_tree() {
        fn walk(cmd: &clap::Command, path: &str, bad: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let (long, short) = (a.get_long(), a.get_short());
                if matches!(long, Some("repo" | "dir"))
                    || (short == Some('C')) != (long == Some("tree"))
                {
                    bad.push(format!("{path}: {long:?} {short:?}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), bad);
            }
        }
        let mut bad = Vec::new();
        walk(&Cli::command(), "dovetail-port", &mut bad);
        assert!(bad.is_empty(), "{bad:#?}");
        for args in [
            &["rebase", "--repo", "x", "--continue"][..],
            &["queue", "list", "--repo", "x", "--queue", "a..b"],
            &["bisect", "--repo", "x", "--queue", "a..b", "--build"],
            &["ci", "--dir", "x"],
            &["ci", "init", "--dir", "x"],
            &["ci", "emit", "gitlab", "--dir", "x"],
            &["resolutions", "--repo", "x", "list"],
            &["lint", "-C", "x"],
            &["build", "-C", "x"],
            &["test", "--tree", "x"],
            &["new-arch", "riscv", "-C", "x"],
            &["arch-status", "riscv", "--tree", "x"],
        ] {
            let argv = std::iter::once("dovetail-port").chain(args.iter().copied());
            assert!(Cli::try_parse_from(argv).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn old_output_spellings_still_parse() {
        let cli = Cli::try_parse_from(["dovetail-port", "doctor", "--json"]).unwrap();
        let Command::Doctor(d) = cli.command else {
            panic!()
        };
        assert!(d.format.json() && d.format.legacy_json());
        let cli = Cli::try_parse_from([
            "dovetail-port",
            "-q",
            "queue",
            "export",
            "--queue",
            "a..b",
            "--out",
            "x",
        ])
        .unwrap();
        assert!(cli.global.quiet);
        let cli =
            Cli::try_parse_from(["dovetail-port", "doctor", "--format", "json", "-v"]).unwrap();
        assert_eq!(cli.global.verbose, 1);
    }
}
