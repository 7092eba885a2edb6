//! A static busybox for guests of another architecture than the host's: Debian's
//! busybox-static for that architecture, fetched once into the cache (`dovetail-port busybox`).
//!
//! apt does the fetching with a private state folder (its own sources list, package lists and
//! archive cache under the cache root), so the host's apt configuration and dpkg database are
//! neither read for packages nor changed, and the download is verified against Debian's keyring
//! like any other apt download. The binary is checked to be a static ELF executable of the
//! guest's machine before it is installed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BootError;
use crate::apt::{AptError, PrivateApt};
use crate::kbuild::{ArchProfile, GuestProfile};

/// `kbuild/busybox.toml`: where the package comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub mirror: String,
    pub suite: String,
    pub component: String,
    pub keyring: PathBuf,
    pub package: String,
    /// Where the package keeps the binary, first match wins.
    pub paths: Vec<String>,
}

impl Source {
    pub fn load() -> Result<Self, BootError> {
        Self::load_from(&crate::data::file("kbuild/busybox.toml"))
    }

    pub fn load_from(path: &Path) -> Result<Self, BootError> {
        let mut source: Source =
            crate::data::read_toml(path).map_err(|e| BootError::Build(e.into()))?;
        if let Some(m) = std::env::var_os("DOVETAIL_PORT_DEBIAN_MIRROR") {
            source.mirror = m.to_string_lossy().into_owned();
        }
        Ok(source)
    }

    /// The one-line sources list apt is given.
    fn sources_list(&self, debian_arch: &str) -> String {
        format!(
            "deb [arch={debian_arch} signed-by={}] {} {} {}\n",
            self.keyring.display(),
            self.mirror,
            self.suite,
            self.component
        )
    }
}

/// What was installed, kept beside the binary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub arch: String,
    pub debian_arch: String,
    pub package: String,
    pub version: String,
    pub suite: String,
    pub mirror: String,
    pub size: u64,
}

fn arch_dir(arch: &str) -> PathBuf {
    crate::kernels::cache_root().join("busybox").join(arch)
}

/// The host's busybox-static, which guests of the host's architecture run.
pub fn host() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Where a guest's busybox comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The host's busybox-static, for a guest of the host's architecture.
    Host,
    /// The one `fetch` put in the cache.
    Fetched,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Host => "host",
            Origin::Fetched => "fetched",
        }
    }
}

/// The busybox `profile`'s guests get when none is given: the host's for a guest of the
/// host's architecture, else the fetched one. The one lookup `boot`, `fetch` and `doctor`
/// share.
pub fn available(profile: &ArchProfile) -> Option<(Origin, PathBuf)> {
    let native = (std::env::consts::ARCH == profile.host_arch)
        .then(host)
        .flatten();
    native
        .map(|p| (Origin::Host, p))
        .or_else(|| cached(&profile.arch).map(|p| (Origin::Fetched, p)))
}

/// The fetched busybox for `arch`, when there is one.
pub fn cached(arch: &str) -> Option<PathBuf> {
    let bin = arch_dir(arch).join("busybox");
    bin.is_file().then_some(bin)
}

/// What the cached busybox for `arch` is, when there is one.
pub fn provenance(arch: &str) -> Option<Provenance> {
    let text = std::fs::read_to_string(arch_dir(arch).join("busybox.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Checks that `bytes` is a statically linked ELF executable for the guest: the class and
/// machine of its header, and no program interpreter (a dynamic binary would need a libc
/// the initramfs does not have).
pub fn check_static_elf(bytes: &[u8], guest: &GuestProfile) -> Result<(), String> {
    if bytes.len() < 52 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let class = match bytes[4] {
        1 => 32,
        2 => 64,
        c => return Err(format!("unknown ELF class {c}")),
    };
    let little = match bytes[5] {
        1 => true,
        2 => false,
        d => return Err(format!("unknown ELF data encoding {d}")),
    };
    // An unsigned field of `n` bytes at `o`, in the file's byte order.
    let field = |o: usize, n: usize| -> Option<u64> {
        let b = bytes.get(o..o + n)?;
        let fold = |a: u64, x: &u8| a << 8 | *x as u64;
        Some(if little {
            b.iter().rev().fold(0, fold)
        } else {
            b.iter().fold(0, fold)
        })
    };
    if class != guest.elf_class {
        return Err(format!(
            "{class}-bit ELF, the guest needs {}-bit",
            guest.elf_class
        ));
    }
    let machine = field(18, 2).unwrap_or(0);
    if machine != guest.elf_machine as u64 {
        return Err(format!(
            "ELF machine {machine}, the guest needs {}",
            guest.elf_machine
        ));
    }
    // Program headers: offset, entry size and count sit at class-dependent places.
    let (phoff, phentsize, phnum) = if class == 64 {
        (field(32, 8), field(54, 2), field(56, 2))
    } else {
        (field(28, 4), field(42, 2), field(44, 2))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (phoff, phentsize, phnum) else {
        return Err("truncated ELF header".into());
    };
    const PT_INTERP: u64 = 3;
    for i in 0..phnum {
        let at = (phoff + i * phentsize) as usize;
        match field(at, 4) {
            Some(PT_INTERP) => return Err("dynamically linked (has a program interpreter)".into()),
            Some(_) => {}
            None => return Err("truncated program headers".into()),
        }
    }
    Ok(())
}

/// Options of one fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Fetch again even when a busybox is cached.
    pub refresh: bool,
    /// Another suite than busybox.toml's.
    pub suite: Option<String>,
}

/// Runs a program with arguments, in `dir`, failing with its stderr.
fn run(arch: &str, program: &str, args: &[String], dir: &Path) -> Result<String, BootError> {
    crate::apt::run_tool(program, args, dir).map_err(|e| fetch_error(arch, e))
}

fn fetch_error(arch: &str, e: AptError) -> BootError {
    let hint = match e {
        AptError::Spawn { .. } => {
            " (fetching needs Debian's apt and dpkg-deb; on other hosts give a busybox built \
             for the guest)"
        }
        _ => "",
    };
    BootError::Fetch {
        arch: arch.into(),
        message: format!("{e}{hint}"),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BootError + '_ {
    move |source| BootError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `dir/name` by rename from a temporary file beside it, so a reader never sees half
/// of it.
fn install(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<PathBuf, BootError> {
    use std::os::unix::fs::PermissionsExt;
    let dest = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io(&dest))?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .map_err(io(&dest))?;
    tmp.persist(&dest).map_err(|e| BootError::Io {
        path: dest.clone(),
        source: e.error,
    })?;
    Ok(dest)
}

/// The busybox `arch` guests get: the host's for the host's architecture, else the cached
/// one, fetched first when there is none (or `refresh`). Says what it does on stderr: a
/// fetch takes a few seconds and reaches the network.
pub fn fetch(arch: &str, opts: &FetchOptions) -> Result<PathBuf, BootError> {
    let profile = ArchProfile::load(arch)?;
    if let (false, Some((_, bin))) = (opts.refresh, available(&profile)) {
        return Ok(bin);
    }
    let mut source = Source::load()?;
    if let Some(s) = &opts.suite {
        source.suite = s.clone();
    }
    let guest = &profile.guest;
    let dir = arch_dir(arch);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    // apt's state lives only as long as this fetch (and is gone on errors too).
    let state = PrivateApt::new(
        &dir,
        &source.sources_list(&guest.debian_arch),
        Some(&guest.debian_arch),
    )
    .map_err(|e| fetch_error(arch, e))?;
    let apt = state.path();
    eprintln!(
        "fetching {} for {arch} ({}) from {} {}",
        source.package, guest.debian_arch, source.mirror, source.suite
    );
    state.update().map_err(|e| fetch_error(arch, e))?;

    // A fresh download folder: what is in it afterwards is this package.
    let download = tempfile::tempdir_in(apt).map_err(io(apt))?;
    state
        .run(
            "apt-get",
            &["-q", "download", &source.package],
            download.path(),
        )
        .map_err(|e| fetch_error(arch, e))?;
    let deb = std::fs::read_dir(download.path())
        .map_err(io(download.path()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| BootError::Fetch {
            arch: arch.into(),
            message: format!(
                "apt-get download left no .deb in {}",
                download.path().display()
            ),
        })?;
    let version = run(
        arch,
        "dpkg-deb",
        &[
            "--field".into(),
            deb.display().to_string(),
            "Version".into(),
        ],
        download.path(),
    )?
    .trim()
    .to_string();
    let tree = download.path().join("x");
    run(
        arch,
        "dpkg-deb",
        &[
            "-x".into(),
            deb.display().to_string(),
            tree.display().to_string(),
        ],
        download.path(),
    )?;
    let found = source
        .paths
        .iter()
        .map(|p| tree.join(p))
        .find(|p| p.is_file())
        .ok_or_else(|| BootError::Fetch {
            arch: arch.into(),
            message: format!(
                "{} {version} has none of {}",
                source.package,
                source.paths.join(", ")
            ),
        })?;
    let bytes = std::fs::read(&found).map_err(io(&found))?;
    check_static_elf(&bytes, guest).map_err(|why| BootError::Fetch {
        arch: arch.into(),
        message: format!("{} {version}: {why}", source.package),
    })?;

    let prov = Provenance {
        arch: arch.into(),
        debian_arch: guest.debian_arch.clone(),
        package: source.package,
        version,
        suite: source.suite,
        mirror: source.mirror,
        size: bytes.len() as u64,
    };
    let text = serde_json::to_string_pretty(&prov).expect("provenance serialises") + "\n";
    install(&dir, "busybox.json", text.as_bytes(), 0o644)?;
    let bin = install(&dir, "busybox", &bytes, 0o755)?;
    eprintln!(
        "installed {} {} ({} bytes) as {}",
        prov.package,
        prov.version,
        prov.size,
        bin.display()
    );
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (_tmp, path, line) = misspelled("kbuild/busybox.toml", "\nsuite = ", "\nsuit = ");
        let err = Source::load_from(&path).unwrap_err();
        assert_points_at(&err, &path, line, "suit");
    }
    use super::*;

    fn guest(class: u8, machine: u16) -> GuestProfile {
        GuestProfile {
            debian_arch: "x".into(),
            elf_class: class,
            elf_machine: machine,
        }
    }

    /// A minimal 64-bit little-endian ELF header with `interp` deciding a PT_INTERP entry.
    fn elf64(machine: u16, interp: bool) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 2 * 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&2u16.to_le_bytes());
        b[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        let second = if interp { 3u32 } else { 4 }; // PT_INTERP or PT_NOTE
        b[120..124].copy_from_slice(&second.to_le_bytes());
        b
    }

    #[test]
    fn static_elf_of_the_right_machine_passes() {
        assert_eq!(
            check_static_elf(&elf64(183, false), &guest(64, 183)),
            Ok(())
        );
    }

    #[test]
    fn wrong_machine_class_or_dynamic_is_refused() {
        let err = check_static_elf(&elf64(62, false), &guest(64, 183)).unwrap_err();
        assert!(err.contains("machine 62"), "{err}");
        let err = check_static_elf(&elf64(183, false), &guest(32, 183)).unwrap_err();
        assert!(err.contains("64-bit"), "{err}");
        let err = check_static_elf(&elf64(183, true), &guest(64, 183)).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
        let err = check_static_elf(b"#!/bin/sh\n", &guest(64, 183)).unwrap_err();
        assert!(err.contains("not an ELF"), "{err}");
        let mut cut = elf64(183, false);
        cut.truncate(100);
        let err = check_static_elf(&cut, &guest(64, 183)).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn the_host_busybox_passes_for_the_host_profile() {
        // The real binary the x86_64 profile's guest numbers must describe.
        let Ok(bytes) = std::fs::read("/bin/busybox") else {
            panic!("busybox-static is a build dependency (scripts/setup installs it)");
        };
        let profile = ArchProfile::known()
            .into_iter()
            .map(|a| ArchProfile::load(&a).unwrap())
            .find(|p| p.host_arch == std::env::consts::ARCH)
            .unwrap();
        assert_eq!(check_static_elf(&bytes, &profile.guest), Ok(()));
        let other = ArchProfile::load("riscv64").unwrap();
        assert!(check_static_elf(&bytes, &other.guest).is_err());
    }

    #[test]
    fn the_sources_list_names_one_architecture_and_the_keyring() {
        let s = Source::load().unwrap();
        let line = s.sources_list("riscv64");
        assert!(line.starts_with("deb [arch=riscv64 signed-by=/usr/share/keyrings/"));
        assert!(line.trim_end().ends_with(&format!("{} main", s.suite)));
    }
}
