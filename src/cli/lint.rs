//! `lint`: clap arguments resolved into [`LintOptions`], then the library does the work.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use dovetail_port::kernels::KernelCache;
use dovetail_port::lint::{self, baseline::Baseline, Format, LintOptions};

use super::{EXIT_ATTENTION, EXIT_OK};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// rustc-style diagnostics with source snippets and call chains
    Human,
    /// the whole report as JSON
    Json,
    /// SARIF 2.1.0, for code-scanning upload
    Sarif,
    /// one `file:line:col: error: message (chain: ...) [rule]` line per finding, for
    /// editors' quickfix lists and grep
    Gcc,
}

/// Check C sources for calls to in-band-only services from out-of-band (oob) context.
///
/// Finds the oob entry points (file_operations `.oob_read/.oob_write/.oob_ioctl/
/// .compat_oob_ioctl/.oob_poll`, handlers requested with IRQF_OOB, functions run by
/// evl_run_kthread*, EVL timer handlers, run_oob_call(), functions marked with a
/// `/* dovetail-port: oob-entry */` comment, and --entry names), follows calls across
/// all given files, and reports every in-band-only service reached (sleeping locks,
/// spinlock_t and raw_spinlock_t by declared lock type, kmalloc, schedule, wake-ups,
/// local_irq_save...) with its full call chain and the oob-safe replacement.
///
/// In a kernel tree, the folders of user-space and host code (tools/, scripts/, usr/,
/// arch/*/tools/, the user programs of samples/; `[build_scope]` in
/// rules/build-scope.toml) are not read unless a PATH lies inside one.
///
/// Conditions are evaluated as formulas for oob context (running_oob() true,
/// running_inband() false, through likely/unlikely, !, &&, ||, early returns and
/// WARN_ON(running_oob()) assertions): branches false there are not followed. Calls to
/// terminal sinks (panic, BUG, WARN slow paths, sanitizer reports, console flush on
/// panic; rules/oob-terminal.toml) and to __noreturn/__cold functions end the walk. A
/// call through a member resolves along the member path of the object the oob caller
/// passes (obnd.ring.wait_input, not ibnd.ring.wait_input).
///
/// Findings are grouped by root (entry point + the first call out of the given paths);
/// the human report prints one block per root with its count and shortest chain.
///
/// Suppress a finding with `/* dovetail-port: allow(RULE) reason */` on its line, the line
/// above it, or above the function. Rules are data: rules/*.toml.
///
/// Examples:
///   dovetail-port lint --arch arm64 --kconfig .config .
///   dovetail-port lint --format gcc kernel/evl drivers/evl > lint.txt   # quickfix list
///   dovetail-port lint --skip-unreadable --format json -o lint.json .
///
/// Exit status: 0 no error findings, 1 error findings remain, 2 the lint could not run
/// (including an unreadable file or folder, or a FIFO/device, unless --skip-unreadable).
#[derive(Args, Debug)]
pub struct LintArgs {
    /// Files or directories to lint (directories are walked for .c and .h files).
    /// With --tree or --kernel, relative to that kernel tree (default: the whole tree).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Lint the cached kernel source tree of this series (e.g. 6.1), see `doctor`.
    #[arg(long, value_name = "SERIES")]
    pub kernel: Option<String>,

    /// Lint this kernel tree: PATHs are relative to it (default: the whole tree) and
    /// reported paths too.
    #[arg(long, short = 'C', value_name = "DIR", conflicts_with = "kernel")]
    pub tree: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Treat the function NAME as an oob entry point (repeatable).
    #[arg(long = "entry", value_name = "NAME")]
    pub entries: Vec<String>,

    /// Add a rule file or a directory of *.toml rule files to the shipped rules (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Use only the --rules files, not the shipped rules/ directory.
    #[arg(long)]
    pub no_default_rules: bool,

    /// Findings recorded in this baseline file do not fail the run (only new ones do).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record every current finding in the --baseline file and exit 0.
    #[arg(long, requires = "baseline")]
    pub write_baseline: bool,

    /// Report only findings whose call chain goes through a function changed since the
    /// git revision REV (working tree compared with REV).
    #[arg(long, value_name = "REV")]
    pub diff: Option<String>,

    /// Show paths relative to DIR (default: the single directory given, else the current
    /// directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The architecture the kernel is built for (kernel spelling: x86, arm64, arm,
    /// riscv...; x86_64 and riscv64 are accepted). Calls from generic code resolve to this
    /// arch's definitions only, calls from arch/<A>/ to arch/<A>/ or generic code, and the
    /// other arch/ folders are not read unless given as a PATH. Default: x86 when the tree
    /// has an arch/x86 folder.
    #[arg(long, value_name = "NAME", value_parser = super::kernel_arch)]
    pub arch: Option<String>,

    /// Decide preprocessor conditionals on Kconfig symbols by this kernel .config:
    /// `CONFIG_X=y` defines CONFIG_X, `=m` CONFIG_X_MODULE (as autoconf.h does), and a
    /// symbol the file does not set is undefined. Definitions and calls in the branches it
    /// leaves out (#ifdef/#ifndef/#if defined(...)/IS_ENABLED(...)/#elif/#else), and
    /// headers included only from such branches, are not code; neither are the .c files
    /// the tree's Makefiles build only for symbols it does not set (obj-$(CONFIG_X),
    /// composite objects, folders). Without it, the values of [kconfig_assumed] in
    /// rules/build-scope.toml hold (PREEMPT_RT=n: Dovetail has no PREEMPT_RT;
    /// IRQ_PIPELINE=y, DOVETAIL=y), debug and sanitizer options are not set
    /// ([kconfig_assumed_off]: DEBUG_*, *_DEBUG, KASAN*, UBSAN*...), and every other symbol
    /// is unknown: both branches count, as does any condition not understood.
    #[arg(long, value_name = "FILE")]
    pub kconfig: Option<PathBuf>,

    /// Parse every file, not only those on oob paths (slower; measures parse robustness).
    #[arg(long)]
    pub parse_all: bool,

    /// Lint without the files and folders that cannot be read and without special files
    /// (FIFOs, devices, sockets), listing them at the end of the report. Without it, any
    /// of them, given as a PATH or met in a folder, stops the lint with exit status 2.
    #[arg(long)]
    pub skip_unreadable: bool,
}

pub fn run(args: LintArgs) -> anyhow::Result<u8> {
    let tree = match (&args.kernel, &args.tree) {
        (Some(series), _) => {
            let cache = KernelCache::default_location();
            let tree = cache.ensure()?.source_tree(series);
            anyhow::ensure!(
                tree.is_dir(),
                "no cached kernel tree for series {series} at {}",
                tree.display()
            );
            Some(tree)
        }
        (None, Some(tree)) => {
            anyhow::ensure!(tree.is_dir(), "--tree {}: not a folder", tree.display());
            Some(tree.clone())
        }
        (None, None) => None,
    };
    let (paths, root) = match tree {
        Some(tree) => {
            let paths = if args.paths.is_empty() {
                vec![tree.clone()]
            } else {
                args.paths.iter().map(|p| tree.join(p)).collect()
            };
            (paths, Some(args.root.clone().unwrap_or(tree)))
        }
        None => {
            anyhow::ensure!(
                !args.paths.is_empty(),
                "give at least one file or directory to lint (or --tree DIR, or --kernel SERIES)"
            );
            (args.paths.clone(), args.root.clone())
        }
    };
    let mut opts = LintOptions {
        paths,
        root,
        entries: args.entries.clone(),
        parse_all: args.parse_all,
        baseline: if args.write_baseline {
            None
        } else {
            args.baseline.clone()
        },
        diff: args.diff.clone(),
        arch: args.arch.clone(),
        kconfig: args.kconfig.clone(),
        progress: super::progress_wanted(),
        skip_unreadable: args.skip_unreadable,
        ..Default::default()
    };
    if args.no_default_rules {
        opts.rules = args.rules.clone();
    } else {
        opts.extra_rules = args.rules.clone();
    }
    let report = lint::run(&opts)?;

    if args.write_baseline {
        let path = args.baseline.as_ref().expect("clap requires --baseline");
        Baseline::from_findings(&report.findings)
            .save(path)
            .with_context(|| format!("writing baseline {}", path.display()))?;
        eprintln!(
            "lint: wrote {} finding(s) to baseline {}",
            report.active().count(),
            path.display()
        );
        return Ok(EXIT_OK);
    }

    let format = match args.format {
        OutputFormat::Human => Format::Human,
        OutputFormat::Json => Format::Json,
        OutputFormat::Sarif => Format::Sarif,
        OutputFormat::Gcc => Format::Gcc,
    };
    let color = args.output.is_none() && super::color_stdout();
    let mut text = lint::render(&report, format, color);
    if format == Format::Json {
        text = dovetail_port::schema::stamp_text(&text);
    }
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{text}"),
    }
    Ok(if report.has_errors() {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    })
}
