//! Per-architecture build and QEMU facts, loaded from `kbuild/arch/<arch>.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::KbuildError;

/// One architecture's profile: how to build it and how to boot it in QEMU.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchProfile {
    /// Our name for it (`--arch`).
    pub arch: String,
    /// `ARCH=` for make.
    pub make_arch: String,
    /// Default `CROSS_COMPILE=` prefix when the host is another architecture.
    pub cross_compile: String,
    /// `uname -m` of a host that builds it natively.
    pub host_arch: String,
    /// make target producing the boot image.
    pub image_target: String,
    /// Image path relative to the output directory.
    pub image_path: String,
    /// Name of the built-in fragment for the QEMU machine.
    pub qemu_fragment: String,
    pub qemu: QemuProfile,
    pub guest: GuestProfile,
}

/// The guest's user space: what a busybox for it must be, and where Debian has one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestProfile {
    /// Debian's name for the architecture (`dovetail-port busybox` fetches its busybox-static).
    pub debian_arch: String,
    /// ELF class of guest binaries: 32 or 64.
    pub elf_class: u8,
    /// ELF `e_machine` of guest binaries.
    pub elf_machine: u16,
}

/// The QEMU side of an architecture profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QemuProfile {
    pub binary: String,
    pub machine: String,
    pub cpu: String,
    /// Kernel console device (`console=` on the command line).
    pub console: String,
    pub memory_mb: u32,
    /// Extra arguments, e.g. firmware selection.
    #[serde(default)]
    pub args: Vec<String>,
}

impl ArchProfile {
    /// Where the profiles live.
    pub fn dir() -> PathBuf {
        crate::data_dir().join("kbuild").join("arch")
    }

    /// Every architecture with a profile, sorted.
    pub fn known() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(Self::dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                if p.extension()? != "toml" {
                    return None;
                }
                Some(p.file_stem()?.to_string_lossy().into_owned())
            })
            .collect();
        names.sort();
        names
    }

    pub fn load(arch: &str) -> Result<Self, KbuildError> {
        let path = Self::dir().join(format!("{arch}.toml"));
        if !path.is_file() {
            return Err(KbuildError::UnknownArch {
                arch: arch.to_string(),
                known: Self::known().join(", "),
            });
        }
        Self::load_file(&path)
    }

    pub fn load_file(path: &Path) -> Result<Self, KbuildError> {
        let text = std::fs::read_to_string(path).map_err(|e| KbuildError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        toml::from_str(&text).map_err(|e| KbuildError::BadData {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The `CROSS_COMPILE` prefix to use: the explicit one, none on a native host, else the
    /// profile's default.
    pub fn cross_prefix(&self, explicit: Option<&str>) -> String {
        if let Some(p) = explicit {
            return p.to_string();
        }
        if std::env::consts::ARCH == self.host_arch {
            String::new()
        } else {
            self.cross_compile.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_loads() {
        let known = ArchProfile::known();
        for arch in ["arm", "arm64", "riscv64", "x86_64"] {
            assert!(known.contains(&arch.to_string()), "{known:?}");
            let p = ArchProfile::load(arch).unwrap();
            assert_eq!(p.arch, arch);
            let frag = crate::data_dir()
                .join("kbuild/fragments")
                .join(format!("{}.config", p.qemu_fragment));
            assert!(frag.is_file(), "{}", frag.display());
        }
        let err = ArchProfile::load("sparc").unwrap_err().to_string();
        assert!(err.contains("sparc") && err.contains("x86_64"), "{err}");
    }
}
