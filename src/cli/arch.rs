//! `new-arch` and `arch-status`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use dovetail_port::arch::{self, NewArchOptions, StatusOptions};

use super::{EXIT_ATTENTION, EXIT_OK};

/// Scaffold a Dovetail/EVL port for a new CPU architecture from arch-templates/.
///
/// Creates the arch files every port adds (asm/irq_pipeline.h, kernel/irq_pipeline.c,
/// asm/dovetail.h, asm/evl/*.h, include/dovetail/*.h ...) with TODO bodies and comments
/// stating each function's contract, inserts the Kconfig selects (HAVE_IRQ_PIPELINE,
/// HAVE_DOVETAIL, HAVE_ARCH_EVL) into the arch config block in sorted order, the
/// `source "kernel/Kconfig.dovetail"`/`"kernel/Kconfig.evl"` lines after it, and the
/// Makefile objects next to their peers, and writes Documentation/dovetail/PORTING-ARCH.md
/// with the ordered checklist (pipeline, alternate scheduling, EVL, libevl).
///
/// Existing files are never overwritten without --force; nothing is written when one
/// would be. Exit status: 0 on success, 2 on error (unknown ARCH, not a kernel tree,
/// refusing to overwrite).
///
/// Examples:
///
///   dovetail-port new-arch riscv --tree ~/linux --dry-run      # the changes as a diff
///
///   dovetail-port new-arch loongarch -C ~/linux --format json > scaffold.json
#[derive(Args, Debug)]
pub struct NewArchArgs {
    /// Architecture name: a descriptor arch-templates/isa/ARCH.toml (riscv, loongarch,
    /// arm64, x86, arm, powerpc, ...); riscv64, aarch64, x86_64 name the same ones.
    #[arg(value_parser = super::kernel_arch)]
    pub arch: String,
    /// Kernel source tree to scaffold.
    #[arg(long, short = 'C', value_name = "DIR", default_value = ".")]
    pub tree: PathBuf,
    /// Print the changes as a unified diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite scaffold files that already exist with different content.
    #[arg(long)]
    pub force: bool,
    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Measure how complete a Dovetail/EVL architecture port is, step by step.
///
/// Runs the checks of arch-templates/steps.toml on the tree: files present, Kconfig
/// selects and sources (parsed Kconfig), Makefile objects, symbols defined with a real
/// body (tree-sitter-c; scaffold TODO bodies count as stubs, not done), hooks called from
/// the right functions, identifiers used where the pipeline needs the hard variant. Prints
/// each step done / partial / missing with file:line evidence, and a completion
/// percentage over the required steps.
///
/// Exit status: 0 when the port is complete (or reaches --min-percent), 1 when it is
/// not, 2 on error.
///
/// Examples:
///
///   dovetail-port arch-status riscv --tree ~/linux
///
///   dovetail-port arch-status arm64 -C ~/linux --min-percent 80 --format json
#[derive(Args, Debug)]
pub struct ArchStatusArgs {
    /// Architecture name: a descriptor arch-templates/isa/ARCH.toml (riscv and riscv64,
    /// arm64 and aarch64, x86 and x86_64 are the same).
    #[arg(value_parser = super::kernel_arch)]
    pub arch: String,
    /// Kernel source tree to inspect.
    #[arg(long, short = 'C', value_name = "DIR", default_value = ".")]
    pub tree: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 0 once completion reaches this percentage (for CI gates on a port in progress).
    #[arg(long, value_name = "PERCENT")]
    pub min_percent: Option<f64>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

pub fn run_new_arch(args: NewArchArgs) -> anyhow::Result<u8> {
    let report = arch::new_arch(&NewArchOptions {
        arch: args.arch,
        tree: args.tree,
        dry_run: args.dry_run,
        force: args.force,
        templates: None,
    })?;
    match args.format {
        Format::Json => emit(&dovetail_port::schema::to_json(&report))?,
        Format::Human => {
            if report.dry_run {
                emit(&report.diff())?;
            }
            emit(&report.to_human())?;
        }
    }
    Ok(EXIT_OK)
}

pub fn run_arch_status(args: ArchStatusArgs) -> anyhow::Result<u8> {
    let st = arch::status(&StatusOptions {
        arch: args.arch,
        tree: args.tree,
        templates: None,
    })?;
    match args.format {
        Format::Json => emit(&dovetail_port::schema::to_json(&st))?,
        Format::Human => emit(&st.to_human())?,
    }
    let ok = match args.min_percent {
        Some(min) => st.percent >= min,
        None => st.complete(),
    };
    Ok(if ok { EXIT_OK } else { EXIT_ATTENTION })
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
