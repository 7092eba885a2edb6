//! The command line: clap types are resolved here into the library's own option structs,
//! then each command calls its engine. Nothing below `src/cli/` holds domain logic.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod arch;
mod bisect;
mod build;
mod busybox;
mod ci;
mod demo;
mod doctor;
mod lint;
mod queue;
mod rebase;
mod resolutions;

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
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    Bisect(bisect::BisectArgs),
    Ci(ci::CiArgs),
    Doctor(doctor::DoctorArgs),
    Demo(demo::DemoArgs),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
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
        Command::Bisect(args) => bisect::run(args),
        Command::Ci(args) => ci::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
