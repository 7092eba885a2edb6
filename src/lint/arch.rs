//! Which architecture each linted file belongs to, and which definitions a call may reach.
//!
//! A kernel build links exactly one `arch/<A>/`: a call from generic code reaches the
//! selected architecture's definition or a generic one, and a call from `arch/<A>/` code
//! reaches `arch/<A>/` or generic code. Without this, a name defined by several
//! architectures (`cpu_relax`, `ndelay`...) resolves to all of them, and chains jump into
//! code no build ever links together (`cpu_relax() -> time_travel_ndelay()` of `arch/um`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The kernel's spelling of an architecture (its `arch/` folder) for a user's spelling:
/// `x86_64` → `x86`, `riscv64` → `riscv`, `aarch64` → `arm64`. The names are data: the
/// profiles in `kbuild/arch/` and `kbuild/arch-spellings.toml`.
pub fn canonical(name: &str) -> String {
    crate::kbuild::ArchProfile::kernel_name(name)
}

/// The architecture of `path` when it lies under `root/arch/<A>/` (or is that folder).
pub fn arch_of(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut parts = rel.components().filter(|c| !matches!(c, Component::CurDir));
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(a)), Some(Component::Normal(name))) if a == "arch" => {
            Some(name.to_string_lossy().into_owned())
        }
        _ => None,
    }
}

/// Per file, the architecture it belongs to; and the one generic code is built for.
#[derive(Debug, Default, Clone)]
pub struct ArchScope {
    /// Index into `names` per file; `None` outside `arch/`.
    file_arch: Vec<Option<u16>>,
    names: Vec<String>,
    /// The architecture generic code resolves to; `None`: every one (no `arch/` tree).
    selected: Option<u16>,
}

impl ArchScope {
    /// `selected` is the kernel spelling (see [`canonical`]), `None` to see every arch.
    pub fn new(files: &[PathBuf], root: &Path, selected: Option<&str>) -> ArchScope {
        let mut ids: BTreeMap<String, u16> = BTreeMap::new();
        let mut names = Vec::new();
        let mut id = |name: String| -> u16 {
            *ids.entry(name.clone()).or_insert_with(|| {
                names.push(name);
                (names.len() - 1) as u16
            })
        };
        let file_arch = files
            .iter()
            .map(|f| arch_of(f, root).map(&mut id))
            .collect();
        let selected = selected.map(|s| id(s.to_string()));
        ArchScope {
            file_arch,
            names,
            selected,
        }
    }

    fn arch(&self, file: usize) -> Option<u16> {
        self.file_arch.get(file).copied().flatten()
    }

    /// The architecture folder `file` is in, if any.
    pub fn arch_name(&self, file: usize) -> Option<&str> {
        self.arch(file).map(|a| self.names[a as usize].as_str())
    }

    /// May code in file `from` call a definition in file `to`? Generic definitions are
    /// seen from everywhere; an arch's definitions from that arch, and from generic code
    /// when it is the selected arch.
    pub fn visible(&self, from: usize, to: usize) -> bool {
        match self.arch(to) {
            None => true,
            Some(t) => match self.arch(from) {
                Some(f) => f == t,
                None => self.selected.is_none_or(|s| s == t),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_spellings_map_to_arch_folders() {
        assert_eq!(canonical("x86_64"), "x86");
        assert_eq!(canonical("riscv64"), "riscv");
        assert_eq!(canonical("aarch64"), "arm64");
        assert_eq!(canonical("arm"), "arm");
        assert_eq!(canonical("ppc64"), "powerpc");
        assert_eq!(canonical("um"), "um");
    }

    #[test]
    fn generic_code_sees_the_selected_arch_and_arch_code_its_own() {
        let root = Path::new("/k");
        let files: Vec<PathBuf> = [
            "/k/kernel/a.c",
            "/k/arch/x86/b.c",
            "/k/arch/um/c.c",
            "/k/arch/um/include/asm/d.h",
            "/k/./arch/x86/e.c",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let s = ArchScope::new(&files, root, Some("x86"));
        assert_eq!(s.arch_name(0), None);
        assert_eq!(s.arch_name(3), Some("um"));
        assert!(s.visible(0, 1) && !s.visible(0, 2) && !s.visible(0, 3));
        assert!(s.visible(2, 3) && s.visible(2, 0) && !s.visible(2, 1));
        assert!(s.visible(1, 4) && !s.visible(1, 2));
        let all = ArchScope::new(&files, root, None);
        assert!(all.visible(0, 1) && all.visible(0, 2) && !all.visible(1, 2));
    }
}
