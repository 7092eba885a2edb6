//! `build`, `boot` and `test`: clap arguments resolved into the library's option structs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{EXIT_ATTENTION, EXIT_OK};
use dovetail_port::boot::{self, Accel, BootOptions, TestOptions};
use dovetail_port::kbuild::{self, BaseConfig, BuildOptions, BuildOutput};
use dovetail_port::results::render::{self, Format};
use dovetail_port::results::TestReport;

#[derive(Copy, Clone, Debug, ValueEnum)]
enum OutputFormat {
    /// A summary for people: failures with their log excerpts, then counts.
    Human,
    /// The whole report as JSON.
    Json,
    /// JUnit XML for CI test dashboards.
    Junit,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum AccelArg {
    /// KVM when the guest matches the host and KVM proves to print output; else TCG.
    Auto,
    Kvm,
    Tcg,
}

/// Where and how to build.
#[derive(Args, Debug, Clone)]
struct BuildSpec {
    /// Target architecture (a profile in kbuild/arch/: x86_64, arm64, arm, riscv64; the
    /// kernel's and toolchains' spellings x86, aarch64, riscv work too).
    #[arg(long, default_value = "x86_64", value_parser = super::profile_arch)]
    arch: String,
    /// Kernel source tree (never modified). Default: the cached Debian 6.12 tree.
    #[arg(long, short = 'C', value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Output directory for the out-of-tree build (O=). Default:
    /// ~/.cache/dovetail-port/out/<tree>-<arch>, so rebuilds are incremental.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Base configuration: a make target (tinyconfig, defconfig, ...) or a .config file.
    #[arg(long, value_name = "BASE", default_value = "tinyconfig")]
    config: String,
    /// Extra config fragment, by built-in name (kunit, dovetail, evl, debug, bench, torture)
    /// or path. Repeatable; applied in order after the QEMU and KUnit fragments.
    #[arg(long = "fragment", value_name = "F")]
    fragments: Vec<String>,
    /// Leave out the built-in KUnit fragment.
    #[arg(long)]
    no_kunit: bool,
    /// Parallel make jobs. Default: the number of CPUs.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// CROSS_COMPILE prefix. Default: none on a native host, else the profile's
    /// (aarch64-linux-gnu-, arm-linux-gnueabi-, riscv64-linux-gnu-).
    #[arg(long, value_name = "PREFIX")]
    cross: Option<String>,
    /// Another make target to build beside the boot image, e.g. a board's device tree
    /// (`broadcom/bcm2711-rpi-4-b.dtb`, relative to arch/ARCH/boot/dts), `dtbs` or `modules`.
    /// Repeatable.
    #[arg(long = "make-target", value_name = "TARGET")]
    make_targets: Vec<String>,
}

impl BuildSpec {
    fn options(&self) -> anyhow::Result<BuildOptions> {
        let tree = match &self.tree {
            Some(t) => t.clone(),
            None => dovetail_port::kernels::KernelCache::default_location()
                .ensure()
                .context("preparing the cached kernel trees")?
                .source_tree("6.12"),
        };
        let mut o = BuildOptions::new(&self.arch, tree);
        o.out = self.out.clone();
        o.base = BaseConfig::parse(&self.config);
        o.fragments = self.fragments.clone();
        o.kunit = !self.no_kunit;
        if let Some(j) = self.jobs {
            o.jobs = j;
        }
        o.cross = self.cross.clone();
        o.extra_targets = self.make_targets.clone();
        o.progress = super::progress_wanted();
        Ok(o)
    }
}

/// Build a kernel out of tree for one architecture, with verified config fragments.
///
/// Starts from a base config (tinyconfig by default), applies the architecture's QEMU
/// fragment, the KUnit fragment and any --fragment, runs syncconfig (new options take their defaults), and then checks that
/// every option a fragment asked for is in the final .config. A dropped option stops the
/// build before compiling, naming the option and the unmet dependency. On a compile failure
/// the first compiler error is shown with file:line; the full log is in <out>/build.log.
///
/// Exit status: 0 built, 2 error (dropped option, compile error, bad input).
///
/// Examples:
///
///   dovetail-port build --tree ~/linux --arch arm64 --fragment dovetail --fragment evl
///
///   dovetail-port build --config defconfig --config-only --format json   # cached 6.12 tree
#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    spec: BuildSpec,
    /// Stop after configuring and verifying the .config.
    #[arg(long)]
    config_only: bool,
    #[command(flatten)]
    format: super::FormatArg,
}

/// What goes into the initramfs: shared by `boot`, `test` and `initramfs`.
#[derive(Args, Debug, Clone)]
struct GuestSpec {
    /// Static busybox for the guest. Default: the host's busybox-static for a native guest,
    /// else the one `dovetail-port busybox --arch ARCH` fetched.
    #[arg(long, value_name = "FILE")]
    busybox: Option<PathBuf>,
    /// Directory copied into the initramfs root (e.g. libevl's installed tree).
    #[arg(long, value_name = "DIR")]
    payload: Option<PathBuf>,
    /// Shell commands the guest runs after boot, e.g. "evl test -k". Results are read from
    /// `evl test` lines, TAP/KTAP, and `@@dpt@@ ok|fail|skip NAME` marker lines.
    #[arg(long, value_name = "CMD")]
    run: Option<String>,
    /// Use FILE as /init instead of the generated init.
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
}

/// Options shared by `boot` and `test`.
#[derive(Args, Debug, Clone)]
struct BootSpec {
    #[command(flatten)]
    guest: GuestSpec,
    /// Accelerator.
    #[arg(long, value_enum, default_value = "auto")]
    accel: AccelArg,
    /// Guest memory in MiB. Default: the arch profile's.
    #[arg(long, value_name = "MIB")]
    memory: Option<u32>,
    /// Guest CPUs.
    #[arg(long, default_value_t = 1)]
    cpus: u32,
    /// Extra kernel command-line word (repeatable).
    #[arg(long, value_name = "WORD")]
    append: Vec<String>,
    /// Declare a hang when the guest prints nothing for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    idle_timeout: u64,
    /// Stop the guest after this many seconds in total.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    timeout: u64,
    /// Show the guest console live on stderr (it is always saved to console.log). Without
    /// it, a line on stderr as each KUnit suite ends (`ok 3 list-kernel-test (12 cases)`),
    /// on a terminal or with -v.
    #[arg(long)]
    console: bool,
    /// Folder for the initramfs and console.log. Default: a new folder under
    /// ~/.cache/dovetail-port/boot/ (the 32 newest are kept).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    /// Also write JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the report (in --format) to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the JSON report to FILE (old spelling of `--format json -o FILE` beside
    /// the human report).
    #[arg(long, value_name = "FILE", hide = true)]
    json_out: Option<PathBuf>,
    /// Fail unless latmus's worst-case latency (its `RTS|` summary line) is at most USEC
    /// microseconds. In QEMU this is a regression check against earlier runs of the same
    /// setup; absolute bounds only mean something on hardware.
    #[arg(long, value_name = "USEC")]
    max_latency: Option<f64>,
    /// Run and report only the KUnit suites/cases matching SUITE_GLOB[.TEST_GLOB], as
    /// kunit.py's filter_glob (passed to the guest as `kunit.filter_glob=`).
    #[arg(long, value_name = "GLOB", value_parser = filter_glob)]
    filter: Option<String>,
}

fn filter_glob(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return Err("a filter is SUITE_GLOB or SUITE_GLOB.TEST_GLOB, without spaces".into());
    }
    globset::Glob::new(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

impl BootSpec {
    fn options(&self, arch: &str, kernel: PathBuf) -> BootOptions {
        let mut o = BootOptions::new(arch, kernel);
        o.busybox = self.guest.busybox.clone();
        o.payload = self.guest.payload.clone();
        o.run = self.guest.run.clone();
        o.init = self.guest.init.clone();
        o.accel = match self.accel {
            AccelArg::Auto => Accel::Auto,
            AccelArg::Kvm => Accel::Kvm,
            AccelArg::Tcg => Accel::Tcg,
        };
        o.memory_mb = self.memory;
        o.cpus = self.cpus;
        o.append = self.append.clone();
        if let Some(f) = &self.filter {
            o.append.push(format!("kunit.filter_glob={f}"));
        }
        o.idle_timeout = Duration::from_secs(self.idle_timeout);
        o.timeout = Duration::from_secs(self.timeout);
        o.console = self.console;
        o.suites = super::progress_wanted();
        o.work_dir = self.work_dir.clone();
        o
    }

    fn emit(&self, mut report: TestReport) -> anyhow::Result<u8> {
        if let Some(max) = self.max_latency {
            report.gate_latency(max);
        }
        if let Some(f) = &self.filter {
            report.retain_glob(f)?;
        }
        let report = &report;
        let format = match self.format {
            OutputFormat::Human => Format::Human,
            OutputFormat::Json => Format::Json,
            OutputFormat::Junit => Format::Junit,
        };
        let text = render::render(report, format);
        match &self.output {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
            }
            None => print!("{text}"),
        }
        if let Some(path) = &self.junit {
            std::fs::write(path, render::junit(report))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(path) = &self.json_out {
            std::fs::write(path, render::json(report))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(if report.passed() {
            EXIT_OK
        } else {
            EXIT_ATTENTION
        })
    }
}

/// Boot a built kernel in QEMU with a generated initramfs and collect test verdicts.
///
/// Writes a deterministic initramfs (busybox, an init that mounts proc/sys/dev, runs --run,
/// prints a completion marker and reboots), boots it with the arch's QEMU profile
/// (-no-reboot, serial console), and parses KUnit KTAP, kselftest TAP, `evl test` output and
/// marker lines. Kernel panics, Oopses, BUGs, WARNINGs, lockdep/KASAN splats, Dovetail and
/// EVL reports and "Attempted to kill init" are failures with a log excerpt; so are hangs
/// (no output for --idle-timeout seconds, or --timeout in total). QEMU is stopped at the
/// completion marker or a fatal event.
///
/// Exit status: 0 all passed, 1 a test failed, crashed or the guest hung, 2 error.
///
/// Examples:
///
///   dovetail-port boot --out ~/.cache/dovetail-port/out/linux-6.12-x86_64 --console
///
///   dovetail-port boot --arch arm64 --kernel Image --run 'evl test -k' --format junit -o junit.xml
#[derive(Args, Debug)]
pub struct BootArgs {
    /// Guest architecture (a profile in kbuild/arch/; any spelling: aarch64, riscv, x86).
    #[arg(long, default_value = "x86_64", value_parser = super::profile_arch)]
    arch: String,
    /// Kernel image (bzImage, Image, zImage). Default: the image in --out.
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// Build output directory to take the image from.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    boot: BootSpec,
}

/// Write an initramfs without booting it: the test one `boot` uses, or (`--shell`) one with a
/// login shell on the console for LAVA.
///
/// Both are deterministic (byte-identical for identical inputs) and need no root. The shell
/// one logs root in without a password (login prompt `dovetail-port login: `, shell prompt
/// `dovetail-port # `, what the jobs of `ci emit lava` expect); `--run` is kept as /dpt/run
/// and --payload is copied into the root, as for `boot`.
///
/// Examples:
///
///   dovetail-port initramfs --arch arm64 --shell -o rootfs.cpio.gz      # for a LAVA board
///
///   dovetail-port initramfs --run 'evl test -k' --payload ~/libevl/install -o test.cpio.gz
#[derive(Args, Debug)]
pub struct InitramfsArgs {
    /// Guest architecture (a profile in kbuild/arch/; any spelling: aarch64, riscv, x86).
    #[arg(long, default_value = "x86_64", value_parser = super::profile_arch)]
    arch: String,
    #[command(flatten)]
    guest: GuestSpec,
    /// A login shell on the console instead of the test init.
    #[arg(long)]
    shell: bool,
    /// Where to write the gzip-compressed cpio archive.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

pub fn run_initramfs(args: InitramfsArgs) -> anyhow::Result<u8> {
    let spec = boot::InitramfsSpec {
        busybox: args.guest.busybox,
        payload: args.guest.payload,
        run: args.guest.run,
        init: args.guest.init,
        shell: args.shell,
    };
    boot::write_initramfs(&args.arch, &spec, &args.output)?;
    println!("wrote {}", args.output.display());
    Ok(EXIT_OK)
}

/// Build (if needed), boot and report test verdicts in one command.
///
/// `dovetail-port test` with no options builds the cached 6.12 tree for x86_64 with
/// tinyconfig + QEMU + KUnit fragments (incrementally), boots it under QEMU and reports the
/// KUnit verdicts. Exit status: 0 all passed, 1 a test failed, crashed or hung, 2 error.
///
/// Examples:
///
///   dovetail-port test -C ~/linux --kunitconfig ~/linux/lib/kunit --filter 'list*'
///
///   dovetail-port test --arch arm64 --fragment dovetail --format junit -o junit.xml
#[derive(Args, Debug)]
pub struct TestArgs {
    /// A KUnit config: a file, or a folder holding `.kunitconfig` (`fs/ext4`), as kunit.py
    /// takes; applied as one more fragment, every option verified.
    #[arg(long, value_name = "PATH")]
    kunitconfig: Option<PathBuf>,
    #[command(flatten)]
    spec: BuildSpec,
    #[command(flatten)]
    boot: BootSpec,
}

fn print_build(out: &BuildOutput, json: bool) -> anyhow::Result<()> {
    if json {
        print!("{}", dovetail_port::schema::to_json(out));
        return Ok(());
    }
    println!(
        "configured {} ({} requested options verified) in {:.1} s",
        out.config.display(),
        out.verified_options,
        out.config_secs
    );
    if let Some(image) = &out.image {
        println!("built {} in {:.1} s", image.display(), out.make_secs);
    }
    Ok(())
}

pub fn run_build(args: BuildArgs) -> anyhow::Result<u8> {
    let mut opts = args.spec.options()?;
    opts.config_only = args.config_only;
    let out = kbuild::build(&opts)?;
    print_build(&out, args.format.json())?;
    Ok(EXIT_OK)
}

pub fn run_boot(args: BootArgs) -> anyhow::Result<u8> {
    let kernel = match (&args.kernel, &args.out) {
        (Some(k), _) => k.clone(),
        (None, Some(out)) => boot::image_in(out, &args.arch)?,
        (None, None) => anyhow::bail!("pass --kernel FILE or --out DIR (a build output directory)"),
    };
    let report = boot::boot(&args.boot.options(&args.arch, kernel))?;
    args.boot.emit(report)
}

pub fn run_test(args: TestArgs) -> anyhow::Result<u8> {
    let mut build = args.spec.options()?;
    if let Some(path) = &args.kunitconfig {
        let file = if path.is_dir() {
            path.join(".kunitconfig")
        } else {
            path.clone()
        };
        if !file.is_file() {
            anyhow::bail!(
                "--kunitconfig {}: no such file (give a .kunitconfig or a folder holding one)",
                file.display()
            );
        }
        let Some(text) = file.to_str() else {
            anyhow::bail!("--kunitconfig {}: the path is not UTF-8", file.display());
        };
        build.fragments.push(text.to_string());
    }
    let boot = args.boot.options(&args.spec.arch, PathBuf::new());
    let outcome = boot::test(&TestOptions { build, boot })?;
    eprintln!(
        "built {} (config {:.1} s, make {:.1} s)",
        outcome
            .build
            .image
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        outcome.build.config_secs,
        outcome.build.make_secs
    );
    args.boot.emit(outcome.report)
}
