//! The folders of a kernel tree that hold user-space or build-host code (`tools/`,
//! `scripts/`...; the list is data: `[build_scope] userspace` in `rules/build-scope.toml`).
//! Nothing in them is linked into the kernel, so a kernel call must not resolve to a
//! definition there: `tools/include/linux/*.h` and the selftests copy kernel names, and
//! chains went through them (`panic() -> preempt_disable_notrace()` of
//! `tools/testing/selftests/rcutorture/.../preempt.h`).

use std::path::{Component, Path, PathBuf};

fn components(rel: &Path) -> Vec<String> {
    rel.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

/// Path patterns relative to the kernel tree; `*` stands for one path component.
#[derive(Debug, Clone, Default)]
pub struct UserspaceDirs {
    patterns: Vec<Vec<String>>,
}

impl UserspaceDirs {
    pub fn new(patterns: &[String]) -> UserspaceDirs {
        UserspaceDirs {
            patterns: patterns
                .iter()
                .map(|p| components(Path::new(p)))
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    /// The pattern `path` lies under (or is), by index; `None` for kernel code.
    pub fn group_of(&self, path: &Path, root: &Path) -> Option<usize> {
        let rel = components(path.strip_prefix(root).ok()?);
        self.patterns.iter().position(|p| {
            p.len() <= rel.len() && p.iter().zip(&rel).all(|(a, b)| a == "*" || a == b)
        })
    }
}

/// Per file, the user-space folder it belongs to, if any. User-space code sees only its
/// own folder's definitions (it links none of the kernel's), and kernel code sees none of
/// them.
#[derive(Debug, Clone, Default)]
pub struct UserScope {
    file_group: Vec<Option<usize>>,
}

impl UserScope {
    pub fn new(files: &[PathBuf], root: &Path, dirs: &UserspaceDirs) -> UserScope {
        UserScope {
            file_group: files.iter().map(|f| dirs.group_of(f, root)).collect(),
        }
    }

    /// May code in file `from` call a definition in file `to`?
    pub fn visible(&self, from: usize, to: usize) -> bool {
        let group = |f: usize| self.file_group.get(f).copied().flatten();
        group(from) == group(to)
    }
}

/// Leaves out the files under user-space folders, except those under a PATH the user gave
/// inside one (`lint tools/testing/foo` lints that folder). Returns how many were left out.
pub fn retain_kernel_files(
    files: &mut Vec<PathBuf>,
    given: &[PathBuf],
    root: &Path,
    dirs: &UserspaceDirs,
) -> usize {
    let inside: Vec<&PathBuf> = given
        .iter()
        .filter(|p| dirs.group_of(p, root).is_some())
        .collect();
    let before = files.len();
    files.retain(|f| dirs.group_of(f, root).is_none() || inside.iter().any(|p| f.starts_with(p)));
    before - files.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> UserspaceDirs {
        UserspaceDirs::new(&[
            "tools".into(),
            "arch/*/tools".into(),
            "samples/connector/ucon.c".into(),
        ])
    }

    #[test]
    fn patterns_match_folders_files_and_one_component_wildcards() {
        let root = Path::new("/k");
        let d = dirs();
        let g = |p: &str| d.group_of(Path::new(p), root);
        assert_eq!(g("/k/tools/include/linux/spinlock.h"), Some(0));
        assert_eq!(g("/k/tools"), Some(0));
        assert_eq!(g("/k/./tools/lib/slab.c"), Some(0));
        assert_eq!(g("/k/arch/x86/tools/relocs.c"), Some(1));
        assert_eq!(g("/k/samples/connector/ucon.c"), Some(2));
        assert_eq!(g("/k/samples/connector/cn_test.c"), None);
        assert_eq!(g("/k/kernel/locking/spinlock.c"), None);
        assert_eq!(g("/k/drivers/tools/x.c"), None, "only from the root");
        assert_eq!(g("/k/arch/x86/kernel/tools.c"), None);
        assert_eq!(g("/elsewhere/tools/x.c"), None);
    }

    #[test]
    fn user_space_is_left_out_unless_a_path_inside_it_is_given() {
        let root = Path::new("/k");
        let all: Vec<PathBuf> = [
            "/k/kernel/a.c",
            "/k/tools/perf/b.c",
            "/k/tools/lib/c.c",
            "/k/arch/x86/tools/d.c",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let mut files = all.clone();
        assert_eq!(
            retain_kernel_files(&mut files, &[root.into()], root, &dirs()),
            3
        );
        assert_eq!(files, [PathBuf::from("/k/kernel/a.c")]);
        let mut files = all.clone();
        let given = [PathBuf::from("/k/kernel"), PathBuf::from("/k/tools/perf")];
        assert_eq!(retain_kernel_files(&mut files, &given, root, &dirs()), 2);
        assert_eq!(files, &all[..2]);
    }

    #[test]
    fn kernel_and_user_space_do_not_see_each_other() {
        let root = Path::new("/k");
        let files: Vec<PathBuf> = ["/k/kernel/a.c", "/k/tools/b.c", "/k/tools/c.h", "/k/mm/d.c"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let s = UserScope::new(&files, root, &dirs());
        assert!(s.visible(0, 3) && s.visible(1, 2));
        assert!(!s.visible(0, 1) && !s.visible(1, 0) && !s.visible(2, 3));
    }
}
