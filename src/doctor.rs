//! `doctor`: which host tools are present, their versions, and what each missing one blocks.

use std::process::Command;

use serde::Serialize;

/// One host tool the project drives.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    /// Program and arguments that print a version.
    pub probe: &'static [&'static str],
    /// What cannot work without it.
    pub blocks: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
}

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "git",
        probe: &["git", "--version"],
        blocks: "everything (queues, rebase, kernel cache)",
        package: "git",
    },
    Tool {
        name: "tar",
        probe: &["tar", "--version"],
        blocks: "importing Debian kernel sources",
        package: "tar",
    },
    Tool {
        name: "xz",
        probe: &["xz", "--version"],
        blocks: "importing Debian kernel sources",
        package: "xz-utils",
    },
    Tool {
        name: "make",
        probe: &["make", "--version"],
        blocks: "build",
        package: "make",
    },
    Tool {
        name: "gcc",
        probe: &["gcc", "--version"],
        blocks: "build --arch x86_64",
        package: "gcc",
    },
    Tool {
        name: "aarch64-linux-gnu-gcc",
        probe: &["aarch64-linux-gnu-gcc", "--version"],
        blocks: "build --arch arm64",
        package: "gcc-aarch64-linux-gnu",
    },
    Tool {
        name: "arm-linux-gnueabi-gcc",
        probe: &["arm-linux-gnueabi-gcc", "--version"],
        blocks: "build --arch arm",
        package: "gcc-arm-linux-gnueabi",
    },
    Tool {
        name: "riscv64-linux-gnu-gcc",
        probe: &["riscv64-linux-gnu-gcc", "--version"],
        blocks: "build --arch riscv64",
        package: "gcc-riscv64-linux-gnu",
    },
    Tool {
        name: "flex",
        probe: &["flex", "--version"],
        blocks: "build (Kconfig, dtc)",
        package: "flex",
    },
    Tool {
        name: "bison",
        probe: &["bison", "--version"],
        blocks: "build (Kconfig, dtc)",
        package: "bison",
    },
    Tool {
        name: "bc",
        probe: &["bc", "--version"],
        blocks: "build (timeconst.h)",
        package: "bc",
    },
    Tool {
        name: "libelf",
        probe: &["pkg-config", "--modversion", "libelf"],
        blocks: "build with objtool (x86_64)",
        package: "libelf-dev",
    },
    Tool {
        name: "openssl",
        probe: &["openssl", "version"],
        blocks: "build with module signing",
        package: "libssl-dev",
    },
    Tool {
        name: "cpio",
        probe: &["cpio", "--version"],
        blocks: "nothing (the initramfs is written by the tool); handy to inspect one",
        package: "cpio",
    },
    Tool {
        name: "busybox",
        probe: &["busybox"],
        blocks: "boot/test (initramfs userland)",
        package: "busybox-static",
    },
    Tool {
        name: "apt-get",
        probe: &["apt-get", "--version"],
        blocks: "busybox --arch A (fetching Debian's busybox-static for a foreign guest)",
        package: "apt",
    },
    Tool {
        name: "dpkg-deb",
        probe: &["dpkg-deb", "--version"],
        blocks: "busybox --arch A (unpacking the fetched package)",
        package: "dpkg",
    },
    Tool {
        name: "qemu-system-x86_64",
        probe: &["qemu-system-x86_64", "--version"],
        blocks: "boot/test --arch x86_64",
        package: "qemu-system-x86",
    },
    Tool {
        name: "qemu-system-aarch64",
        probe: &["qemu-system-aarch64", "--version"],
        blocks: "boot/test --arch arm64",
        package: "qemu-system-arm",
    },
    Tool {
        name: "qemu-system-arm",
        probe: &["qemu-system-arm", "--version"],
        blocks: "boot/test --arch arm",
        package: "qemu-system-arm",
    },
    Tool {
        name: "qemu-system-riscv64",
        probe: &["qemu-system-riscv64", "--version"],
        blocks: "boot/test --arch riscv64",
        package: "qemu-system-misc",
    },
];

#[derive(Debug, Clone, Serialize)]
pub struct ToolStatus {
    pub name: &'static str,
    pub version: Option<String>,
    pub blocks: &'static str,
    pub package: &'static str,
}

impl ToolStatus {
    pub fn present(&self) -> bool {
        self.version.is_some()
    }
}

/// Probes one tool: its first non-empty output line, or None when it cannot be started.
pub fn probe(tool: &Tool) -> ToolStatus {
    let (program, args) = tool.probe.split_first().expect("probe has a program");
    let version = Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|out| {
            // busybox prints its banner and exits 0 or 1; anything that ran counts as present,
            // except pkg-config failing to find the library.
            if *program == "pkg-config" && !out.status.success() {
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
        name: tool.name,
        version,
        blocks: tool.blocks,
        package: tool.package,
    }
}

pub fn probe_all() -> Vec<ToolStatus> {
    TOOLS.iter().map(probe).collect()
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

/// The Debian packages that provide every tool, deduplicated, in table order.
pub fn apt_packages() -> Vec<&'static str> {
    let mut seen = Vec::new();
    for t in TOOLS {
        if !seen.contains(&t.package) {
            seen.push(t.package);
        }
    }
    seen
}
