//! `doctor`: which host tools are present, their versions, and what each missing one blocks.

use std::process::Command;

use serde::Serialize;

/// One host tool the project drives.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    /// Program and arguments that print a version.
    pub probe: Vec<String>,
    /// What cannot work without it.
    pub blocks: String,
    /// The Debian package that provides it.
    pub package: String,
}

/// The tools every architecture shares: name, version probe, what it blocks, Debian package.
/// Compilers and QEMU binaries come from the architecture profiles (`kbuild/arch/`).
const HOST_TOOLS: &[(&str, &[&str], &str, &str)] = &[
    (
        "git",
        &["git", "--version"],
        "everything (queues, rebase, kernel cache)",
        "git",
    ),
    (
        "tar",
        &["tar", "--version"],
        "importing Debian kernel sources",
        "tar",
    ),
    (
        "xz",
        &["xz", "--version"],
        "importing Debian kernel sources",
        "xz-utils",
    ),
    ("make", &["make", "--version"], "build", "make"),
    (
        "gcc",
        &["gcc", "--version"],
        "build (host programs, and the host's own --arch)",
        "gcc",
    ),
    (
        "flex",
        &["flex", "--version"],
        "build (Kconfig, dtc)",
        "flex",
    ),
    (
        "bison",
        &["bison", "--version"],
        "build (Kconfig, dtc)",
        "bison",
    ),
    ("bc", &["bc", "--version"], "build (timeconst.h)", "bc"),
    (
        "libelf",
        &["pkg-config", "--modversion", "libelf"],
        "build with objtool (x86_64)",
        "libelf-dev",
    ),
    (
        "openssl",
        &["openssl", "version"],
        "build with module signing",
        "libssl-dev",
    ),
    (
        "cpio",
        &["cpio", "--version"],
        "nothing (the initramfs is written by the tool); handy to inspect one",
        "cpio",
    ),
    (
        "busybox",
        &["busybox"],
        "boot/test (initramfs userland)",
        "busybox-static",
    ),
    (
        "apt-get",
        &["apt-get", "--version"],
        "busybox --arch A (fetching Debian's busybox-static for a foreign guest)",
        "apt",
    ),
    (
        "dpkg-deb",
        &["dpkg-deb", "--version"],
        "busybox --arch A (unpacking the fetched package)",
        "dpkg",
    ),
];

/// Every tool for a host of architecture `host_arch` (`uname -m`): the shared ones, then per
/// profile its cross compiler (none when the host `gcc` builds it natively) and its QEMU
/// binary.
pub fn tools(host_arch: &str) -> Vec<Tool> {
    let mut tools: Vec<Tool> = HOST_TOOLS
        .iter()
        .map(|(name, probe, blocks, package)| Tool {
            name: name.to_string(),
            probe: probe.iter().map(|s| s.to_string()).collect(),
            blocks: blocks.to_string(),
            package: package.to_string(),
        })
        .collect();
    let profiles: Vec<_> = crate::kbuild::ArchProfile::known()
        .iter()
        .filter_map(|a| crate::kbuild::ArchProfile::load(a).ok())
        .collect();
    let program = |name: &str, blocks: String, package: &str| Tool {
        name: name.to_string(),
        probe: vec![name.to_string(), "--version".to_string()],
        blocks,
        package: package.to_string(),
    };
    for p in &profiles {
        if p.host_arch != host_arch {
            let blocks = format!("build --arch {}", p.arch);
            tools.push(program(
                &format!("{}gcc", p.cross_compile),
                blocks,
                &p.cross_package,
            ));
        }
    }
    for p in &profiles {
        let blocks = format!("boot/test --arch {}", p.arch);
        tools.push(program(&p.qemu.binary, blocks, &p.qemu.package));
    }
    tools
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolStatus {
    pub name: String,
    pub version: Option<String>,
    pub blocks: String,
    pub package: String,
}

impl ToolStatus {
    pub fn present(&self) -> bool {
        self.version.is_some()
    }
}

/// Probes one tool: its first non-empty output line, or None when it cannot be started.
pub fn probe(tool: &Tool) -> ToolStatus {
    let version = tool.probe.split_first().and_then(|(program, args)| {
        let out = Command::new(program).args(args).output().ok()?;
        // busybox prints its banner and exits 0 or 1; anything that ran counts as present,
        // except pkg-config failing to find the library.
        if program == "pkg-config" && !out.status.success() {
            return None;
        }
        let text = if out.stdout.is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        let text = String::from_utf8_lossy(&text);
        Some(
            text.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("present")
                .trim()
                .to_string(),
        )
    });
    ToolStatus {
        name: tool.name.clone(),
        version,
        blocks: tool.blocks.clone(),
        package: tool.package.clone(),
    }
}

pub fn probe_all() -> Vec<ToolStatus> {
    tools(std::env::consts::ARCH).iter().map(probe).collect()
}

/// Where guests of one architecture get their busybox from.
#[derive(Debug, Clone, Serialize)]
pub struct GuestBusybox {
    pub arch: String,
    /// `host`, `fetched` or `missing`.
    pub source: &'static str,
    pub path: Option<std::path::PathBuf>,
    /// The Debian package version of a fetched one.
    pub version: Option<String>,
}

/// The guest busybox of every architecture with a profile ([`crate::boot::busybox::available`]).
pub fn guest_busyboxes() -> Vec<GuestBusybox> {
    use crate::boot::busybox::{self, Origin};
    crate::kbuild::ArchProfile::known()
        .into_iter()
        .filter_map(|arch| {
            let profile = crate::kbuild::ArchProfile::load(&arch).ok()?;
            let found = busybox::available(&profile);
            let version = match found {
                Some((Origin::Fetched, _)) => busybox::provenance(&arch).map(|v| v.version),
                _ => None,
            };
            Some(GuestBusybox {
                arch,
                source: found.as_ref().map_or("missing", |f| f.0.as_str()),
                path: found.map(|f| f.1),
                version,
            })
        })
        .collect()
}

/// The kernel cache: where it is, whether it can be written, which series are ready.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStatus {
    pub root: std::path::PathBuf,
    /// A file could be created there (or in the nearest existing parent).
    pub writable: bool,
    /// Series imported into the cached repository (`6.1`, `6.12`).
    pub imported: Vec<String>,
    /// Series whose Debian tarball is installed, ready to import on first use.
    pub tarballs: Vec<String>,
}

impl CacheStatus {
    pub fn ok(&self) -> bool {
        self.writable
    }
}

pub fn cache_status() -> CacheStatus {
    use crate::kernels::{cache_root, KernelCache, SERIES};
    let root = cache_root();
    let cache = KernelCache::new(root.clone());
    let existing = root
        .ancestors()
        .find(|p| p.is_dir())
        .map(|p| p.to_path_buf());
    let writable = existing.is_some_and(|dir| {
        tempfile::Builder::new()
            .prefix(".doctor-")
            .tempfile_in(dir)
            .is_ok()
    });
    let imported = git2::Repository::open_bare(cache.repo_path())
        .map(|repo| {
            SERIES
                .iter()
                .filter(|s| {
                    repo.revparse_single(&format!("refs/tags/{}", KernelCache::tag(s)))
                        .is_ok()
                })
                .map(|s| s.to_string())
                .collect()
        })
        .unwrap_or_default();
    let tarballs = SERIES
        .iter()
        .filter(|s| std::path::Path::new(&format!("/usr/src/linux-source-{s}.tar.xz")).is_file())
        .map(|s| s.to_string())
        .collect();
    CacheStatus {
        root,
        writable,
        imported,
        tarballs,
    }
}

/// Whether guests of the host's architecture can run under KVM, and if not why.
#[derive(Debug, Clone, Serialize)]
pub struct AccelStatus {
    /// `uname -m` of the host.
    pub host_arch: &'static str,
    /// The profile whose guests KVM would run (the host's architecture), if any.
    pub profile: Option<String>,
    /// `kvm` or `tcg`: what `boot --accel auto` picks for that profile.
    pub accel: &'static str,
    pub reason: String,
}

/// Probes the accelerator the way `boot --accel auto` decides: /dev/kvm opens read-write for
/// a guest of the host's architecture, and no earlier boot found KVM silent.
pub fn accel_status() -> AccelStatus {
    use crate::boot::qemu;
    let host_arch = std::env::consts::ARCH;
    let profile = crate::kbuild::ArchProfile::known()
        .into_iter()
        .filter_map(|a| crate::kbuild::ArchProfile::load(&a).ok())
        .find(|p| p.host_arch == host_arch);
    let verdict = qemu::kvm_verdict_file();
    let (accel, reason) = match &profile {
        None => (
            "tcg",
            format!("no arch profile runs natively on a {host_arch} host"),
        ),
        Some(p) if !qemu::kvm_candidate(p) => {
            let why = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
            {
                Ok(_) => "KVM unavailable".to_string(),
                Err(e) => format!("/dev/kvm: {e} (add the user to group kvm, or boot with TCG)"),
            };
            ("tcg", why)
        }
        Some(_) if verdict.exists() => (
            "tcg",
            format!(
                "an earlier boot found KVM silent (delete {} to try again)",
                verdict.display()
            ),
        ),
        Some(p) => ("kvm", format!("/dev/kvm is usable for {} guests", p.arch)),
    };
    AccelStatus {
        host_arch,
        profile: profile.map(|p| p.arch),
        accel,
        reason,
    }
}

/// The Debian packages that provide every tool of a `host_arch` host, deduplicated, in table
/// order.
pub fn apt_packages(host_arch: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for t in tools(host_arch) {
        if !seen.contains(&t.package) {
            seen.push(t.package);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compilers_and_qemu_come_from_the_profiles() {
        let x86 = tools("x86_64");
        let names: Vec<&str> = x86.iter().map(|t| t.name.as_str()).collect();
        for want in [
            "gcc",
            "aarch64-linux-gnu-gcc",
            "arm-linux-gnueabi-gcc",
            "riscv64-linux-gnu-gcc",
            "qemu-system-x86_64",
            "qemu-system-riscv64",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        // Native gcc builds x86_64 there: no x86_64 cross compiler is asked for.
        assert!(!names.contains(&"x86_64-linux-gnu-gcc"), "{names:?}");
        let qemu = x86
            .iter()
            .find(|t| t.name == "qemu-system-aarch64")
            .unwrap();
        assert_eq!(
            (qemu.blocks.as_str(), qemu.package.as_str()),
            ("boot/test --arch arm64", "qemu-system-arm")
        );
        // On an arm64 host the roles swap.
        let arm = tools("aarch64");
        assert!(arm
            .iter()
            .any(|t| t.name == "x86_64-linux-gnu-gcc" && t.package == "gcc-x86-64-linux-gnu"));
        assert!(!arm.iter().any(|t| t.name == "aarch64-linux-gnu-gcc"));
        let packages = apt_packages("x86_64");
        assert_eq!(
            packages.iter().filter(|p| *p == "qemu-system-arm").count(),
            1,
            "{packages:?}"
        );
    }
}
