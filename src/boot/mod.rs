//! QEMU profiles, initramfs and console capture.
//!
//! [`boot`] boots a built kernel with a generated initramfs and returns a
//! [`TestReport`](crate::results::TestReport); [`test`] builds first (incrementally) and then
//! boots. Both take typed option structs; the CLI only fills them in.

pub mod busybox;
pub mod initramfs;
pub mod qemu;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use initramfs::InitramfsSpec;
pub use qemu::Accel;

use crate::kbuild::{self, ArchProfile, BuildOptions, BuildOutput, KbuildError};
use crate::results::{self, BootEnd, TestReport};

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("busybox {} not found: give a statically linked busybox for the guest architecture", .0.display())]
    NoBusybox(PathBuf),
    #[error(
        "no static busybox for {arch} guests on this host: fetch Debian's busybox-static for \
         {arch} once, or give a busybox built for {arch}"
    )]
    NoBusyboxForArch { arch: String },
    #[error("{}: not a busybox for {arch} guests: {why}", path.display())]
    BadBusybox {
        path: PathBuf,
        arch: String,
        why: String,
    },
    #[error("fetching a busybox for {arch}: {message}")]
    Fetch { arch: String, message: String },
    #[error("payload directory {} does not exist", .0.display())]
    NoPayload(PathBuf),
    #[error("kernel image {} does not exist (run `dovetail-port build` first)", .0.display())]
    NoKernel(PathBuf),
    #[error(
        "could not start `{program}`: {source} (is QEMU installed? try `dovetail-port doctor`)"
    )]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("QEMU printed nothing and exited: {0}")]
    QemuFailed(String),
    #[error(transparent)]
    Build(#[from] KbuildError),
}

/// How to boot a kernel and what to run in it.
#[derive(Debug, Clone)]
pub struct BootOptions {
    pub arch: String,
    pub kernel: PathBuf,
    /// Static busybox for the guest; defaults to the host's when the guest is the host's arch.
    pub busybox: Option<PathBuf>,
    pub payload: Option<PathBuf>,
    /// Shell commands to run as the payload.
    pub run: Option<String>,
    /// A custom /init replacing the generated one.
    pub init: Option<PathBuf>,
    pub accel: Accel,
    pub memory_mb: Option<u32>,
    pub cpus: u32,
    /// Extra kernel command line words.
    pub append: Vec<String>,
    /// Give up when the guest prints nothing for this long.
    pub idle_timeout: Duration,
    /// Give up when the whole boot takes longer than this.
    pub timeout: Duration,
    /// Stream the console to stderr live.
    pub console: bool,
    /// Without `console`: a line on stderr as each KUnit suite ends, with its case counts.
    pub suites: bool,
    /// Where the initramfs and console.log go; a fresh folder under the cache by default.
    pub work_dir: Option<PathBuf>,
}

impl BootOptions {
    pub fn new(arch: &str, kernel: impl Into<PathBuf>) -> Self {
        BootOptions {
            arch: arch.to_string(),
            kernel: kernel.into(),
            busybox: None,
            payload: None,
            run: None,
            init: None,
            accel: Accel::Auto,
            memory_mb: None,
            cpus: 1,
            append: Vec::new(),
            idle_timeout: Duration::from_secs(120),
            timeout: Duration::from_secs(900),
            console: false,
            suites: false,
            work_dir: None,
        }
    }
}

/// Build options plus boot options: the whole `test` pipeline.
#[derive(Debug, Clone)]
pub struct TestOptions {
    pub build: BuildOptions,
    /// `kernel` is filled in from the build; `arch` from `build.arch`.
    pub boot: BootOptions,
}

impl TestOptions {
    /// The default path: tinyconfig + QEMU fragment + KUnit for `arch`, then boot and parse.
    pub fn new(arch: &str, tree: impl Into<PathBuf>) -> Self {
        TestOptions {
            build: BuildOptions::new(arch, tree),
            boot: BootOptions::new(arch, PathBuf::new()),
        }
    }
}

/// A `test` run: what was built and what the boot reported.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub build: BuildOutput,
    pub report: TestReport,
}

/// The guest's busybox: the given one (checked), else [`busybox::available`].
fn guest_busybox(
    given: Option<&PathBuf>,
    profile: &ArchProfile,
) -> Result<Option<PathBuf>, BootError> {
    match given {
        Some(b) => {
            // A busybox of the wrong kind only shows as a guest panic: say so before booting.
            if let Ok(bytes) = std::fs::read(b) {
                busybox::check_static_elf(&bytes, &profile.guest).map_err(|why| {
                    BootError::BadBusybox {
                        path: b.clone(),
                        arch: profile.arch.clone(),
                        why,
                    }
                })?;
            }
            Ok(Some(b.clone()))
        }
        None => Ok(busybox::available(profile).map(|(_, path)| path)),
    }
}

/// Writes an initramfs for an `arch` guest to `dest` (`dovetail-port initramfs`): the test
/// one `boot` uses, or with `spec.shell` the login-shell one LAVA jobs boot. The busybox
/// defaults as for `boot`.
pub fn write_initramfs(arch: &str, spec: &InitramfsSpec, dest: &Path) -> Result<(), BootError> {
    let profile = ArchProfile::load(arch)?;
    let mut spec = spec.clone();
    spec.busybox = Some(
        guest_busybox(spec.busybox.as_ref(), &profile)?.ok_or_else(|| {
            BootError::NoBusyboxForArch {
                arch: arch.to_string(),
            }
        })?,
    );
    initramfs::write(&spec, dest)
}

/// Keeps the `keep` most recently modified entries of `dir` that `pick` selects (files or
/// folders); the others are removed.
pub(crate) fn prune_newest(dir: &Path, keep: usize, pick: impl Fn(&Path) -> bool) {
    let Ok(list) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = list
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| pick(p))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, p) in entries.into_iter().skip(keep) {
        let _ = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
    }
}

/// How many default work folders (console log and initramfs of a boot) are kept.
const KEPT_WORK_DIRS: usize = 32;

fn default_work_dir(arch: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    crate::kernels::cache_root()
        .join("boot")
        .join(format!("{arch}-{stamp}-{}", std::process::id()))
}

/// Boots the kernel and reports verdicts. Never hangs: the idle and global timeouts kill
/// QEMU, and QEMU is reaped on every path.
pub fn boot(opts: &BootOptions) -> Result<TestReport, BootError> {
    let profile = ArchProfile::load(&opts.arch)?;
    if !opts.kernel.is_file() {
        return Err(BootError::NoKernel(opts.kernel.clone()));
    }
    let mut init = opts.init.clone();
    let busybox = match guest_busybox(opts.busybox.as_ref(), &profile)? {
        Some(b) => Some(b),
        // A foreign guest with nothing to run: the build's minimal init is enough for KUnit.
        None if opts.run.is_none() && opts.payload.is_none() && init.is_none() => {
            let mini = out_dir_of(&opts.kernel, &profile).map(|o| o.join(kbuild::MINI_INIT));
            match mini.filter(|m| m.is_file()) {
                Some(m) => {
                    init = Some(m);
                    None
                }
                None => {
                    return Err(BootError::NoBusyboxForArch {
                        arch: opts.arch.clone(),
                    })
                }
            }
        }
        None => {
            return Err(BootError::NoBusyboxForArch {
                arch: opts.arch.clone(),
            })
        }
    };
    let work = match &opts.work_dir {
        Some(w) => w.clone(),
        None => {
            // The last boots' logs stay for a look; older ones go.
            let w = default_work_dir(&opts.arch);
            if let Some(parent) = w.parent() {
                prune_newest(parent, KEPT_WORK_DIRS - 1, |p| p.is_dir());
            }
            w
        }
    };
    std::fs::create_dir_all(&work).map_err(|e| BootError::Io {
        path: work.clone(),
        source: e,
    })?;
    let initrd = work.join("initramfs.cpio.gz");
    initramfs::write_cached(
        &InitramfsSpec {
            busybox,
            payload: opts.payload.clone(),
            run: opts.run.clone(),
            init,
            shell: false,
        },
        &initrd,
        &crate::kernels::cache_root().join("initramfs"),
    )?;
    let log = work.join("console.log");
    let memory = opts.memory_mb.unwrap_or(profile.qemu.memory_mb);
    let limits = qemu::Limits {
        idle: opts.idle_timeout,
        total: opts.timeout,
        first_output: None,
    };
    let mut notes = Vec::new();

    let mut try_kvm = match opts.accel {
        Accel::Tcg => false,
        Accel::Kvm => true,
        Accel::Auto => qemu::kvm_candidate(&profile) && !qemu::kvm_verdict_file().exists(),
    };
    let result = loop {
        let cmd = qemu::command(
            &profile,
            &opts.kernel,
            &initrd,
            try_kvm,
            memory,
            opts.cpus,
            &opts.append,
        );
        let mut l = limits;
        if try_kvm && opts.accel == Accel::Auto {
            // KVM that hangs (as on some nested hosts) prints nothing: detect that quickly.
            l.first_output = Some(Duration::from_secs(15));
        }
        let live = match (opts.console, opts.suites) {
            (true, _) => qemu::Live::Console,
            (false, true) => qemu::Live::Suites,
            (false, false) => qemu::Live::Nothing,
        };
        let r = qemu::run(&cmd, l, &log, live)?;
        if try_kvm && opts.accel == Accel::Auto && (r.no_first_output || r.console.is_empty()) {
            notes.push(
                "KVM produced no console output; fell back to TCG (remembered in the cache)"
                    .to_string(),
            );
            let _ = std::fs::write(qemu::kvm_verdict_file(), "kvm produced no output\n");
            try_kvm = false;
            continue;
        }
        break r;
    };
    if result.console.trim().is_empty() {
        if let BootEnd::Exited { .. } = result.end {
            return Err(BootError::QemuFailed(result.qemu_stderr.trim().to_string()));
        }
    }
    let mut report = results::analyse(&result.console, result.end.clone());
    report.arch = opts.arch.clone();
    report.kernel = Some(opts.kernel.clone());
    report.console_log = Some(log);
    report.accel = Some(if try_kvm { "kvm" } else { "tcg" }.to_string());
    report.duration_secs = result.duration.as_secs_f64();
    notes.append(&mut report.notes);
    report.notes = notes;
    if !result.qemu_stderr.trim().is_empty() {
        report
            .notes
            .push(format!("QEMU stderr: {}", result.qemu_stderr.trim()));
    }
    Ok(report)
}

/// Builds (incrementally) and boots: tree to verdicts.
pub fn test(opts: &TestOptions) -> Result<TestOutcome, BootError> {
    let build = kbuild::build(&opts.build)?;
    let mut boot_opts = opts.boot.clone();
    boot_opts.arch = opts.build.arch.clone();
    boot_opts.kernel = build
        .image
        .clone()
        .ok_or_else(|| BootError::NoKernel(build.out_dir.clone()))?;
    let report = boot(&boot_opts)?;
    Ok(TestOutcome { build, report })
}

/// The build output directory a kernel image sits in (`<out>/<image_path>`).
fn out_dir_of(kernel: &Path, profile: &ArchProfile) -> Option<PathBuf> {
    let depth = Path::new(&profile.image_path).components().count();
    kernel.ancestors().nth(depth).map(Path::to_path_buf)
}

/// Convenience for callers: the default kernel image path of an out dir.
pub fn image_in(out_dir: &Path, arch: &str) -> Result<PathBuf, BootError> {
    let profile = ArchProfile::load(arch)?;
    Ok(out_dir.join(profile.image_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_picked_entries() {
        let d = tempfile::tempdir().unwrap();
        let base = std::time::SystemTime::now() - Duration::from_secs(100);
        for i in 0..5u64 {
            let p = d.path().join(format!("run-{i}"));
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join("console.log"), "x").unwrap();
            let f = std::fs::File::open(&p).unwrap();
            f.set_modified(base + Duration::from_secs(i)).unwrap();
        }
        std::fs::write(d.path().join("keep.txt"), "not picked").unwrap();
        prune_newest(d.path(), 2, |p| p.is_dir());
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keep.txt", "run-3", "run-4"]);
    }
}
