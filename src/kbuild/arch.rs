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
    /// The kernel's `arch/` folder (kbuild's `SRCARCH`): `x86` for `x86_64`.
    pub source_arch: String,
    /// Default `CROSS_COMPILE=` prefix when the host is another architecture.
    pub cross_compile: String,
    /// Debian package of that cross compiler.
    pub cross_package: String,
    /// `uname -m` of a host that builds it natively.
    pub host_arch: String,
    /// make target producing the boot image.
    pub image_target: String,
    /// Image path relative to the output directory.
    pub image_path: String,
    /// Name of the built-in fragment for the QEMU machine.
    pub qemu_fragment: String,
    /// Other spellings users type for it (`aarch64`); `make_arch` is always one too.
    #[serde(default)]
    pub aliases: Vec<String>,
    pub qemu: QemuProfile,
    pub guest: GuestProfile,
    pub lava: LavaProfile,
}

/// How LAVA's `qemu` device type and its deploy actions name this architecture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LavaProfile {
    /// The `arch` context variable of LAVA's `qemu` device type (`amd64`).
    pub arch: String,
    /// Which [`QemuProfile`] facts the job's context passes on (LAVA's amd64 template chooses
    /// its own machine and CPU).
    #[serde(default)]
    pub qemu_context: Vec<QemuFact>,
    /// The deploy's kernel `type` (`bzimage`, `zimage`, `image`).
    pub kernel_type: String,
}

/// A [`QemuProfile`] fact a LAVA context can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QemuFact {
    Machine,
    Cpu,
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
    /// Debian package of the binary.
    pub package: String,
    pub machine: String,
    pub cpu: String,
    /// Kernel console device (`console=` on the command line).
    pub console: String,
    pub memory_mb: u32,
    /// Extra arguments, e.g. firmware selection.
    #[serde(default)]
    pub args: Vec<String>,
    /// Firmware for a direct kernel boot, given as `-bios` when one of QEMU's data folders
    /// holds it (else QEMU's default firmware boots).
    #[serde(default)]
    pub firmware: Option<String>,
}

impl ArchProfile {
    /// The profile files of every data layer: `arch` → path.
    fn files() -> std::collections::BTreeMap<String, PathBuf> {
        crate::data::files_in("kbuild/arch", "toml")
            .into_iter()
            .map(|(name, path)| (name.trim_end_matches(".toml").to_string(), path))
            .collect()
    }

    /// Every architecture with a profile, sorted.
    pub fn known() -> Vec<String> {
        Self::files().into_keys().collect()
    }

    /// The profile for `arch` or any of its spellings (`aarch64` → arm64, `riscv` → riscv64,
    /// `x86` → x86_64): the one place where arch names are mapped.
    pub fn load(arch: &str) -> Result<Self, KbuildError> {
        let files = Self::files();
        if let Some(path) = files.get(arch) {
            return Self::load_file(path);
        }
        let mut matches = Vec::new();
        // A broken profile is reported when asked for by name, not on every other lookup.
        for profile in files.values().filter_map(|p| Self::load_file(p).ok()) {
            if profile.make_arch == arch || profile.aliases.iter().any(|a| a == arch) {
                matches.push(profile);
            }
        }
        match matches.len() {
            1 => Ok(matches.remove(0)),
            0 => Err(KbuildError::UnknownArch {
                arch: arch.to_string(),
                known: Self::known().join(", "),
            }),
            _ => Err(KbuildError::UnknownArch {
                arch: format!("{arch}` (ambiguous: it names several profiles) `"),
                known: matches
                    .iter()
                    .map(|p| p.arch.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Our name for `arch` in any spelling (`aarch64` → `arm64`).
    pub fn canonical(arch: &str) -> Result<String, KbuildError> {
        Ok(Self::load(arch)?.arch)
    }

    /// The kernel's name for `arch` in any spelling (`riscv64` → `riscv`, `x86_64` → `x86`,
    /// `ppc64` → `powerpc`), as `arch/` folders and the new-arch descriptors use: a profile's
    /// `source_arch`, else `kbuild/arch-spellings.toml`; a name neither knows (a new port:
    /// `loongarch`) is kept as given. Broken data is read as no answer; [`Self::try_kernel_name`]
    /// reports it.
    pub fn kernel_name(arch: &str) -> String {
        if let Ok(p) = Self::load(arch) {
            return p.source_arch;
        }
        spellings(&crate::data::file("kbuild/arch-spellings.toml"))
            .ok()
            .and_then(|s| s.get(arch).cloned())
            .unwrap_or_else(|| arch.to_string())
    }

    /// [`Self::kernel_name`], failing on a broken profile of that name or a broken spellings
    /// file instead of reading past it (what a user typed is checked here, once).
    pub fn try_kernel_name(arch: &str) -> Result<String, KbuildError> {
        match Self::load(arch) {
            Ok(p) => return Ok(p.source_arch),
            Err(KbuildError::UnknownArch { .. }) => {}
            Err(e) => return Err(e),
        }
        let spellings = spellings(&crate::data::file("kbuild/arch-spellings.toml"))?;
        Ok(spellings
            .get(arch)
            .cloned()
            .unwrap_or_else(|| arch.to_string()))
    }

    pub fn load_file(path: &Path) -> Result<Self, KbuildError> {
        Ok(crate::data::read_toml(path)?)
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

/// `kbuild/arch-spellings.toml` at `path`: spellings of kernel architectures no profile
/// builds → their `arch/` folder. A missing file maps nothing.
fn spellings(path: &Path) -> Result<std::collections::BTreeMap<String, String>, KbuildError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Spellings {
        folder: std::collections::BTreeMap<String, String>,
    }
    if !path.is_file() {
        return Ok(Default::default());
    }
    Ok(crate::data::read_toml::<Spellings>(path)?.folder)
}

#[cfg(test)]
mod tests {
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (_tmp, path, line) = misspelled(
            "kbuild/arch/x86_64.toml",
            "\nimage_target = ",
            "\nimage_targt = ",
        );
        let err = ArchProfile::load_file(&path).unwrap_err();
        assert_points_at(&err, &path, line, "image_targt");
        let (_tmp, path, line) =
            misspelled("kbuild/arch-spellings.toml", "\n[folder]", "\n[folders]");
        let err = spellings(&path).unwrap_err();
        assert_points_at(&err, &path, line, "folders");
        assert_eq!(spellings(&path.with_extension("none")).unwrap().len(), 0);
        assert_eq!(ArchProfile::try_kernel_name("i686").unwrap(), "x86");
        assert_eq!(
            ArchProfile::try_kernel_name("loongarch").unwrap(),
            "loongarch"
        );
    }

    use super::*;

    #[test]
    fn every_shipped_profile_loads() {
        let known = ArchProfile::known();
        for arch in ["arm", "arm64", "riscv64", "x86_64"] {
            assert!(known.contains(&arch.to_string()), "{known:?}");
            let p = ArchProfile::load(arch).unwrap();
            assert_eq!(p.arch, arch);
            let frag = crate::data::file(&format!("kbuild/fragments/{}.config", p.qemu_fragment));
            assert!(frag.is_file(), "{}", frag.display());
            // The image is built under the kernel's own folder for the arch.
            assert!(
                p.image_path
                    .starts_with(&format!("arch/{}/", p.source_arch)),
                "{}",
                p.image_path
            );
            assert!(p.qemu.binary.starts_with("qemu-system-") && !p.qemu.package.is_empty());
            assert!(p.cross_package.starts_with("gcc-") && !p.lava.arch.is_empty());
        }
        for (spelling, ours, kernel) in [
            ("aarch64", "arm64", "arm64"),
            ("riscv", "riscv64", "riscv"),
            ("x86", "x86_64", "x86"),
            ("amd64", "x86_64", "x86"),
            ("x86_64", "x86_64", "x86"),
        ] {
            assert_eq!(ArchProfile::canonical(spelling).unwrap(), ours);
            assert_eq!(ArchProfile::kernel_name(spelling), kernel);
        }
        assert_eq!(ArchProfile::kernel_name("loongarch"), "loongarch");
        assert_eq!(ArchProfile::kernel_name("ppc64le"), "powerpc");
        assert_eq!(ArchProfile::kernel_name("i686"), "x86");
        let err = ArchProfile::load("sparc").unwrap_err().to_string();
        assert!(err.contains("sparc") && err.contains("x86_64"), "{err}");
    }
}
