//! Kernel configuration, fragments, make and toolchains.
//!
//! [`build`] configures an out-of-tree build (base config + fragments), verifies that every
//! requested option survived `syncconfig` (naming the unmet dependency when one did not),
//! then runs make for the architecture's boot image.

pub mod arch;
pub mod config;
pub mod kconfig;
pub mod make;
mod memo;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use arch::{ArchProfile, GuestProfile, QemuProfile};
use config::Request;
use make::Make;
use memo::ConfigMemo;

#[derive(Debug, thiserror::Error)]
pub enum KbuildError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown architecture `{arch}` (known: {known})")]
    UnknownArch { arch: String, known: String },
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("no fragment file or built-in fragment named `{name}` (built-in: {known})")]
    NoFragment { name: String, known: String },
    #[error("{}:{line}: not a Kconfig option line: `{text}` (expected CONFIG_X=value or `# CONFIG_X is not set`)", file.display())]
    BadFragmentLine {
        file: PathBuf,
        line: usize,
        text: String,
    },
    #[error("contradicting config fragments:\n  {}", problems.join("\n  "))]
    FragmentConflict { problems: Vec<String> },
    #[error("{} is not a kernel tree (no Makefile and Kconfig there)", .0.display())]
    NotATree(PathBuf),
    #[error("base config file {} does not exist", .0.display())]
    NoBaseConfig(PathBuf),
    #[error("the configuration dropped {} requested option(s); nothing was compiled:\n{}", dropped.len(), dropped.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    ConfigNotApplied { dropped: Vec<DroppedOption> },
    #[error("make {target} failed: {first_error}{}", log.as_ref().map(|l| format!("\n  full log: {}", l.display())).unwrap_or_default())]
    MakeFailed {
        target: String,
        first_error: String,
        log: Option<PathBuf>,
    },
    #[error("make finished but the image {} is missing", .0.display())]
    NoImage(PathBuf),
    #[error("another process holds {} and did not release it", .0.display())]
    Locked(PathBuf),
    #[error("`{0}` is not a make target (no leading `-`, no `=`, no spaces): pass targets such as `dtbs` or `broadcom/bcm2711-rpi-4-b.dtb`")]
    BadTarget(String),
}

/// A requested option the final `.config` does not honour, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedOption {
    pub symbol: String,
    pub wanted: String,
    pub actual: String,
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for DroppedOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CONFIG_{}={} ({}:{}) ended up {}: {}",
            self.symbol,
            self.wanted,
            self.file.display(),
            self.line,
            if self.actual == "n" {
                "not set".to_string()
            } else {
                format!("={}", self.actual)
            },
            self.reason
        )
    }
}

/// The starting configuration before fragments.
#[derive(Debug, Clone, PartialEq)]
pub enum BaseConfig {
    /// A make target such as `tinyconfig` or `defconfig`.
    Target(String),
    /// A `.config` file to start from.
    File(PathBuf),
}

impl BaseConfig {
    /// `tinyconfig`, `defconfig`, any `*config` target, or a path to a file.
    pub fn parse(s: &str) -> Self {
        if s.ends_with("config") && !s.contains('/') && !Path::new(s).is_file() {
            BaseConfig::Target(s.to_string())
        } else {
            BaseConfig::File(PathBuf::from(s))
        }
    }
}

/// What to build. `BuildOptions::new(arch, tree)` gives the default path: tinyconfig, the
/// arch's QEMU fragment and the KUnit fragment, all CPUs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub arch: String,
    pub tree: PathBuf,
    /// Output directory (`O=`); defaults to [`default_out_dir`].
    pub out: Option<PathBuf>,
    pub base: BaseConfig,
    /// Fragments (built-in names or paths) applied after the arch's QEMU fragment.
    pub fragments: Vec<String>,
    /// Add the built-in `kunit` fragment.
    pub kunit: bool,
    /// Add the arch's built-in QEMU machine fragment.
    pub qemu_fragment: bool,
    pub jobs: usize,
    /// `CROSS_COMPILE` override.
    pub cross: Option<String>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Stop after configuring and verifying.
    pub config_only: bool,
    /// make targets built beside the boot image, e.g. a board's device tree
    /// (`broadcom/bcm2711-rpi-4-b.dtb`) or `modules`.
    pub extra_targets: Vec<String>,
}

impl BuildOptions {
    pub fn new(arch: &str, tree: impl Into<PathBuf>) -> Self {
        BuildOptions {
            arch: arch.to_string(),
            tree: tree.into(),
            out: None,
            base: BaseConfig::Target("tinyconfig".into()),
            fragments: Vec::new(),
            kunit: true,
            qemu_fragment: true,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            cross: None,
            progress: false,
            config_only: false,
            extra_targets: Vec::new(),
        }
    }

    pub fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| default_out_dir(&self.tree, &self.arch))
    }
}

/// What a build produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildOutput {
    pub arch: String,
    pub tree: PathBuf,
    pub out_dir: PathBuf,
    /// The boot image (absent with `config_only`).
    pub image: Option<PathBuf>,
    pub config: PathBuf,
    pub fragments: Vec<PathBuf>,
    /// How many requested options were checked in the final `.config`.
    pub verified_options: usize,
    pub build_log: Option<PathBuf>,
    pub config_secs: f64,
    pub make_secs: f64,
    /// A static minimal /init for foreign-architecture guests (see `boot`).
    pub mini_init: Option<PathBuf>,
}

/// `<cache>/out/<tree folder name>-<arch>`: stable, so a second build is incremental.
pub fn default_out_dir(tree: &Path, arch: &str) -> PathBuf {
    let name = tree
        .canonicalize()
        .unwrap_or_else(|_| tree.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tree".into());
    crate::kernels::cache_root()
        .join("out")
        .join(format!("{name}-{arch}"))
}

/// Holds an exclusive lock on the output directory while building in it.
struct OutLock(#[allow(dead_code)] File);

fn lock_out(out: &Path) -> Result<OutLock, KbuildError> {
    std::fs::create_dir_all(out).map_err(|e| KbuildError::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    let path = out.join(".dovetail-port.lock");
    let f = File::create(&path).map_err(|e| KbuildError::Io {
        path: path.clone(),
        source: e,
    })?;
    f.lock().map_err(|_| KbuildError::Locked(path))?;
    Ok(OutLock(f))
}

/// The fragment files this build applies, in order.
pub fn fragment_paths(
    opts: &BuildOptions,
    profile: &ArchProfile,
) -> Result<Vec<PathBuf>, KbuildError> {
    let mut names: Vec<String> = Vec::new();
    if opts.qemu_fragment {
        names.push(profile.qemu_fragment.clone());
    }
    if opts.kunit {
        names.push("kunit".into());
    }
    names.extend(opts.fragments.iter().cloned());
    names.iter().map(|n| config::resolve_fragment(n)).collect()
}

/// Configures `opts.out_dir()`: base config, fragments, `syncconfig`, verification.
/// Returns the checked requests.
pub fn configure(
    opts: &BuildOptions,
) -> Result<(ArchProfile, Vec<PathBuf>, Vec<Request>), KbuildError> {
    let profile = ArchProfile::load(&opts.arch)?;
    if !opts.tree.join("Makefile").is_file() || !opts.tree.join("Kconfig").is_file() {
        return Err(KbuildError::NotATree(opts.tree.clone()));
    }
    let frags = fragment_paths(opts, &profile)?;
    let mut all = Vec::new();
    for f in &frags {
        all.push(config::read_fragment(f)?);
    }
    let requests = config::merge_requests(&all)?;

    let out = opts.out_dir();
    let make = Make {
        tree: opts.tree.clone(),
        out: out.clone(),
        make_arch: profile.make_arch.clone(),
        cross: profile.cross_prefix(opts.cross.as_deref()),
    };
    let dot = out.join(".config");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| KbuildError::Io { path: p, source: e }
    };
    let previous = std::fs::read(&dot).ok();
    let memo = ConfigMemo::new(&out);
    let key = memo_key(opts, &profile, &frags, &out);
    // Kconfig files, options and toolchain seen before: that configuration again, without
    // the base target and syncconfig.
    if let Some(known) = key.as_deref().and_then(|k| memo.get(k)) {
        // An unchanged .config keeps its mtime: make sees no change.
        if previous.as_deref() != Some(known.as_bytes()) {
            std::fs::write(&dot, &known).map_err(io(&dot))?;
        }
        verify(opts, &profile, &requests, &known)?;
        return Ok((profile, frags, requests));
    }
    let previous_mtime = std::fs::metadata(&dot).and_then(|m| m.modified()).ok();

    match &opts.base {
        BaseConfig::Target(t) => make.quiet(&[t.as_str()])?,
        BaseConfig::File(f) => {
            if !f.is_file() {
                return Err(KbuildError::NoBaseConfig(f.clone()));
            }
            std::fs::copy(f, &dot).map_err(io(f))?;
        }
    }
    let mut base = std::fs::read_to_string(&dot).map_err(io(&dot))?;
    if opts.qemu_fragment {
        base = config::trim_unneeded(&base, &unneeded_file())?;
    }
    std::fs::write(&dot, config::apply(&base, &requests)).map_err(io(&dot))?;
    // syncconfig, not olddefconfig: both give new symbols their defaults (stdin is null, so
    // syncconfig's questions take the default), but only syncconfig also writes
    // include/config/auto.conf. After olddefconfig the auto.conf is older than .config, and
    // the next make parses every Kconfig file again to refresh it: one more parse per build,
    // several seconds on each step of a bisection.
    make.quiet(&["syncconfig"])?;

    let final_text = std::fs::read_to_string(&dot).map_err(io(&dot))?;
    // Same configuration as last time: give the file back its old mtime so make sees no
    // change and the rebuild stays incremental.
    if previous.as_deref() == Some(final_text.as_bytes()) {
        if let (Some(t), Ok(f)) = (previous_mtime, File::options().write(true).open(&dot)) {
            let _ = f.set_modified(t);
        }
    }
    verify(opts, &profile, &requests, &final_text)?;
    if let Some(k) = key.or_else(|| memo_key(opts, &profile, &frags, &out)) {
        memo.put(&k, &final_text);
    }
    Ok((profile, frags, requests))
}

/// The options a QEMU build turns off when only the QEMU fragment would have made them visible.
fn unneeded_file() -> PathBuf {
    crate::data::file("kbuild/unneeded.toml")
}

/// The memo key of this configure step (see [`memo::key`]).
fn memo_key(
    opts: &BuildOptions,
    profile: &ArchProfile,
    frags: &[PathBuf],
    out: &Path,
) -> Option<String> {
    let setup = format!(
        "{}|{}|{:?}|{}|{}",
        opts.tree.display(),
        profile.make_arch,
        opts.base,
        profile.cross_prefix(opts.cross.as_deref()),
        env!("CARGO_PKG_VERSION")
    );
    let mut inputs = Vec::new();
    if let BaseConfig::File(f) = &opts.base {
        inputs.push(f.clone());
    }
    inputs.extend(frags.iter().cloned());
    if opts.qemu_fragment {
        inputs.push(unneeded_file());
    }
    memo::key(&setup, &inputs, &opts.tree, out)
}

fn verify(
    opts: &BuildOptions,
    profile: &ArchProfile,
    requests: &[Request],
    final_text: &str,
) -> Result<(), KbuildError> {
    let values = config::values(final_text);
    let bad = config::unmet(requests, &values);
    if !bad.is_empty() {
        let srcarch = &profile.source_arch;
        let dropped = bad
            .into_iter()
            .map(|(r, actual)| DroppedOption {
                symbol: r.symbol.clone(),
                wanted: r.value.clone(),
                actual,
                file: r.file.clone(),
                line: r.line,
                reason: kconfig::explain(&opts.tree, srcarch, &r.symbol, &values),
            })
            .collect();
        return Err(KbuildError::ConfigNotApplied { dropped });
    }
    Ok(())
}

/// Configures, verifies and builds the boot image.
pub fn build(opts: &BuildOptions) -> Result<BuildOutput, KbuildError> {
    // A target is one make word: never an option or a variable assignment.
    if let Some(bad) = opts.extra_targets.iter().find(|t| {
        t.is_empty() || t.starts_with('-') || t.contains('=') || t.contains(char::is_whitespace)
    }) {
        return Err(KbuildError::BadTarget(bad.clone()));
    }
    let out = opts.out_dir();
    let _lock = lock_out(&out)?;
    let t0 = Instant::now();
    let (profile, fragments, requests) = configure(opts)?;
    let config_secs = t0.elapsed().as_secs_f64();
    let mut output = BuildOutput {
        arch: opts.arch.clone(),
        tree: opts.tree.clone(),
        out_dir: out.clone(),
        image: None,
        config: out.join(".config"),
        fragments,
        verified_options: requests.len(),
        build_log: None,
        config_secs,
        make_secs: 0.0,
        mini_init: None,
    };
    if opts.config_only {
        return Ok(output);
    }
    let make = Make {
        tree: opts.tree.clone(),
        out: out.clone(),
        make_arch: profile.make_arch.clone(),
        cross: profile.cross_prefix(opts.cross.as_deref()),
    };
    let log = out.join("build.log");
    let t1 = Instant::now();
    let mut targets = vec![profile.image_target.as_str()];
    targets.extend(opts.extra_targets.iter().map(String::as_str));
    make.build(opts.jobs, &targets, &log, opts.progress)?;
    output.make_secs = t1.elapsed().as_secs_f64();
    // make may have re-run syncconfig (a Kconfig changed under us): check again.
    let after = std::fs::read_to_string(&output.config).map_err(|e| KbuildError::Io {
        path: output.config.clone(),
        source: e,
    })?;
    verify(opts, &profile, &requests, &after)?;
    let image = out.join(&profile.image_path);
    if !image.is_file() {
        return Err(KbuildError::NoImage(image));
    }
    output.image = Some(image);
    output.build_log = Some(log);
    if std::env::consts::ARCH != profile.host_arch {
        // No busybox for foreign guests on the host: build a minimal init for KUnit-only boots.
        let cc = format!("{}gcc", make.cross);
        output.mini_init = build_mini_init(&make, &cc).ok();
    }
    Ok(output)
}

/// Name of the minimal init inside the out dir.
pub const MINI_INIT: &str = "dovetail-port-init";

/// Compiles `kbuild/initramfs/mini-init.c` against the tree's nolibc and UAPI headers.
fn build_mini_init(make: &Make, cc: &str) -> Result<PathBuf, KbuildError> {
    make.quiet(&["headers"])?;
    let dest = make.out.join(MINI_INIT);
    let src = crate::data::file("kbuild/initramfs/mini-init.c");
    let nolibc = make.tree.join("tools/include/nolibc/nolibc.h");
    let out = std::process::Command::new(cc)
        .args(["-Os", "-static", "-nostdlib", "-fno-stack-protector"])
        .arg(format!("-I{}", make.out.join("usr/include").display()))
        .arg("-include")
        .arg(&nolibc)
        .arg("-o")
        .arg(&dest)
        .arg(&src)
        .arg("-lgcc")
        .output()
        .map_err(|e| KbuildError::Io {
            path: PathBuf::from(cc),
            source: e,
        })?;
    if !out.status.success() {
        return Err(KbuildError::MakeFailed {
            target: "mini init".into(),
            first_error: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            log: None,
        });
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_make_option_or_assignment_is_not_a_target() {
        let out = tempfile::tempdir().unwrap();
        for bad in ["-j1", "O=/elsewhere", "dtbs modules", ""] {
            let mut o = BuildOptions::new("x86_64", "/nonexistent-tree");
            o.out = Some(out.path().join("o"));
            o.extra_targets = vec!["dtbs".into(), bad.into()];
            match build(&o) {
                Err(KbuildError::BadTarget(t)) => assert_eq!(t, bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
        // Refused before anything was made.
        assert!(!out.path().join("o").exists());
    }
}
