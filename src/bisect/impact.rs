//! Which queue patches can change the checked kernel: a patch whose paths all lie in
//! documentation, another architecture's folder, or files kbuild did not compile for this
//! configuration cannot turn a passing tree into a failing one, so the search never builds it.
//!
//! The rules are data (`kbuild/impact.toml`); what "compiled for this configuration" means
//! comes from kbuild itself: every object's `.*.cmd` file in the build directory lists the
//! source and every header it was built from.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::BisectError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpactFile {
    impact: ImpactRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpactRules {
    never: Vec<String>,
    tracked_suffixes: Vec<String>,
    makefiles: Vec<String>,
}

/// The rules of `kbuild/impact.toml`.
#[derive(Debug)]
pub struct Rules {
    never: Vec<String>,
    tracked_suffixes: Vec<String>,
    makefiles: GlobSet,
}

impl Rules {
    pub fn builtin() -> Result<Self, BisectError> {
        let path = crate::data::file("kbuild/impact.toml");
        let file: ImpactFile = crate::data::read_toml(&path)?;
        Self::compile(file).map_err(|message| BisectError::BadData { path, message })
    }

    fn compile(file: ImpactFile) -> Result<Self, String> {
        let mut b = GlobSetBuilder::new();
        for m in &file.impact.makefiles {
            b.add(Glob::new(m).map_err(|e| format!("makefiles: bad pattern `{m}`: {e}"))?);
        }
        Ok(Rules {
            never: file.impact.never,
            tracked_suffixes: file.impact.tracked_suffixes,
            makefiles: b.build().map_err(|e| e.to_string())?,
        })
    }
}

/// What is known about the checked build: its source architecture folder and, once a build
/// ran, the tree paths kbuild compiled or read headers from and the folders it descended into.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// kbuild's SRCARCH (`x86` for x86_64); None: every architecture may matter.
    pub srcarch: Option<String>,
    /// Tree-relative paths some built object depends on; None before any build.
    pub compiled: Option<HashSet<String>>,
    /// Tree-relative folders kbuild built something in.
    pub visited: HashSet<String>,
}

/// Why a path cannot matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Documentation, licences, maintainer lists, selftests.
    NotBuilt,
    /// Another architecture's `arch/` folder.
    OtherArch,
    /// A source or header no built object depends on in this configuration.
    NotCompiled,
    /// A Makefile of a folder kbuild does not descend into in this configuration.
    FolderNotBuilt,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reason::NotBuilt => "not part of any kernel build",
            Reason::OtherArch => "another architecture's folder",
            Reason::NotCompiled => "not compiled in this configuration",
            Reason::FolderNotBuilt => "Makefile of a folder this configuration does not build",
        })
    }
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether one changed path can change the checked build: None when it can, else why not.
pub fn cannot_matter(path: &str, rules: &Rules, scope: &Scope) -> Option<Reason> {
    if rules.never.iter().any(|n| under(path, n)) {
        return Some(Reason::NotBuilt);
    }
    if let (Some(srcarch), Some(rest)) = (&scope.srcarch, path.strip_prefix("arch/")) {
        // `arch/Kconfig` and friends are shared; `arch/<name>/...` belongs to one arch.
        if let Some((folder, _)) = rest.split_once('/') {
            if folder != srcarch {
                return Some(Reason::OtherArch);
            }
        }
    }
    let compiled = scope.compiled.as_ref()?;
    // Host tools and generated-header scripts are not always in the .cmd files: keep them.
    if under(path, "scripts") || under(path, "tools") || under(path, "usr") {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if rules
        .tracked_suffixes
        .iter()
        .any(|s| name.ends_with(s.as_str()))
    {
        return (!compiled.contains(path)).then_some(Reason::NotCompiled);
    }
    if rules.makefiles.is_match(name) {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        if !dir.is_empty() && !scope.visited.contains(dir) {
            return Some(Reason::FolderNotBuilt);
        }
    }
    None
}

/// Why a whole patch cannot matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchSkip {
    /// Its paths' reasons, for the report.
    pub reason: String,
    /// Some reason comes from what a build compiled (not from fixed rules): a build of
    /// another configuration could disagree, so the search double-checks around it.
    pub from_build: bool,
}

/// A patch cannot matter when every path it touches cannot (an empty patch changes nothing).
/// None when one path can matter.
pub fn patch_cannot_matter(paths: &[String], rules: &Rules, scope: &Scope) -> Option<PatchSkip> {
    let mut reasons: Vec<String> = Vec::new();
    let mut from_build = false;
    for p in paths {
        let r = cannot_matter(p, rules, scope)?;
        from_build |= matches!(r, Reason::NotCompiled | Reason::FolderNotBuilt);
        let text = format!("{p}: {r}");
        if !reasons.contains(&text) {
            reasons.push(text);
        }
    }
    if reasons.is_empty() {
        return Some(PatchSkip {
            reason: "changes no file".into(),
            from_build,
        });
    }
    let more = reasons.len().saturating_sub(2);
    reasons.truncate(2);
    let mut reason = reasons.join("; ");
    if more > 0 {
        reason.push_str(&format!(" (+{more} more)"));
    }
    Some(PatchSkip { reason, from_build })
}

/// For a compile error in `file`: whether a change to `path` can cause it. Another source
/// file cannot, unless `file` includes sources itself (`#include "x.c"`, as
/// kernel/sched/build_policy.c does); headers, Kconfig, Makefiles and scripts can.
pub fn can_cause_compile_error(
    path: &str,
    file: &str,
    includes_sources: bool,
    rules: &Rules,
) -> bool {
    if path == file || includes_sources {
        return true;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let tracked = rules
        .tracked_suffixes
        .iter()
        .any(|s| name.ends_with(s.as_str()));
    let source = [".c", ".S", ".s"].iter().any(|s| name.ends_with(s)) && !name.ends_with(".lds.S");
    !(tracked && source)
}

/// Whether C or assembly text includes other source files (not headers).
pub fn includes_sources(text: &[u8]) -> bool {
    String::from_utf8_lossy(text).lines().any(|l| {
        let t = l.trim_start();
        t.strip_prefix('#')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix("include"))
            .is_some_and(|r| {
                let r = r.trim().trim_matches(|c| c == '"' || c == '<' || c == '>');
                r.ends_with(".c") || r.ends_with(".S") || r.ends_with(".s")
            })
    })
}

/// Reads kbuild's dependency files under `out` (a build of `tree`) into a [`Scope`].
pub fn scope_from_build(out: &Path, tree: &Path, srcarch: Option<&str>) -> Scope {
    let mut scope = Scope {
        srcarch: srcarch.map(str::to_string),
        compiled: None,
        visited: HashSet::new(),
    };
    let mut compiled = HashSet::new();
    let prefixes: Vec<PathBuf> = [Some(tree.to_path_buf()), tree.canonicalize().ok()]
        .into_iter()
        .flatten()
        .collect();
    let mut any = false;
    for entry in walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !name.starts_with('.') || !name.ends_with(".cmd") {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        any = true;
        if let Some(dir) = entry.path().parent().and_then(|d| d.strip_prefix(out).ok()) {
            let mut d = Some(dir);
            while let Some(x) = d.filter(|x| !x.as_os_str().is_empty()) {
                scope.visited.insert(x.to_string_lossy().into_owned());
                d = x.parent();
            }
        }
        for path in cmd_file_paths(&String::from_utf8_lossy(&bytes)) {
            if let Some(rel) = tree_relative(&path, &prefixes, out) {
                compiled.insert(rel);
            }
        }
    }
    if any {
        scope.compiled = Some(compiled);
    }
    scope
}

/// The source and dependency paths a kbuild `.cmd` file names.
pub fn cmd_file_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("source_") {
            if let Some((_, v)) = rest.split_once(":=") {
                out.extend(v.split_whitespace().map(str::to_string));
            }
            in_deps = false;
            continue;
        }
        let words = if let Some(rest) = t.strip_prefix("deps_") {
            in_deps = true;
            rest.split_once(":=").map_or("", |(_, v)| v)
        } else if in_deps {
            t
        } else {
            continue;
        };
        for w in words.split_whitespace() {
            if w == "\\" || w.starts_with("$(") || w.ends_with(')') {
                continue;
            }
            out.push(w.to_string());
        }
        if !t.ends_with('\\') {
            in_deps = false;
        }
    }
    out
}

/// `path` as named in a .cmd file, relative to the tree; None for generated files and files
/// outside the tree (system headers).
fn tree_relative(path: &str, prefixes: &[PathBuf], out: &Path) -> Option<String> {
    let p = Path::new(path);
    if p.is_absolute() {
        for prefix in prefixes {
            if let Ok(rel) = p.strip_prefix(prefix) {
                return Some(rel.to_string_lossy().into_owned());
            }
        }
        return None;
    }
    // Relative names are relative to the build directory (O=): `../linux/kernel/fork.c`.
    let joined = out.join(p);
    let norm = normalize(&joined);
    for prefix in prefixes {
        if let Ok(rel) = norm.strip_prefix(prefix) {
            return Some(rel.to_string_lossy().into_owned());
        }
    }
    None
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::builtin().unwrap()
    }

    #[test]
    fn documentation_and_other_arches_never_matter() {
        let scope = Scope {
            srcarch: Some("x86".into()),
            ..Scope::default()
        };
        let r = rules();
        assert_eq!(
            cannot_matter("Documentation/dovetail.rst", &r, &scope),
            Some(Reason::NotBuilt)
        );
        assert_eq!(
            cannot_matter("arch/arm64/kernel/irq.c", &r, &scope),
            Some(Reason::OtherArch)
        );
        assert_eq!(cannot_matter("arch/x86/kernel/irq.c", &r, &scope), None);
        assert_eq!(cannot_matter("arch/Kconfig", &r, &scope), None);
        // Without a build, sources are assumed to matter.
        assert_eq!(cannot_matter("kernel/irq/chip.c", &r, &scope), None);
        // `Documentation2/` is not `Documentation/`.
        assert_eq!(cannot_matter("Documentation2/x.c", &r, &scope), None);
    }

    #[test]
    fn a_compile_error_is_caused_by_its_file_headers_or_build_files_only() {
        let r = rules();
        let f = "kernel/irq/handle.c";
        assert!(can_cause_compile_error(f, f, false, &r));
        assert!(can_cause_compile_error(
            "include/linux/dovetail_sample.h",
            f,
            false,
            &r
        ));
        assert!(can_cause_compile_error("kernel/irq/Kconfig", f, false, &r));
        assert!(can_cause_compile_error("kernel/irq/Makefile", f, false, &r));
        assert!(can_cause_compile_error(
            "arch/x86/kernel/vmlinux.lds.S",
            f,
            false,
            &r
        ));
        assert!(!can_cause_compile_error("kernel/irq/chip.c", f, false, &r));
        assert!(!can_cause_compile_error(
            "arch/x86/entry/entry_64.S",
            f,
            false,
            &r
        ));
        assert!(can_cause_compile_error("kernel/sched/fair.c", f, true, &r));
        assert!(includes_sources(
            b"#include \"sched.h\"\n# include \"fair.c\"\n"
        ));
        assert!(!includes_sources(
            b"#include <linux/irq.h>\n#include \"internals.h\"\n"
        ));
        assert!(!includes_sources(b"\xff\xfe"));
    }

    #[test]
    fn a_build_says_which_sources_and_makefiles_matter() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("kernel/irq")).unwrap();
        std::fs::create_dir_all(&tree).unwrap();
        let t = tree.display();
        std::fs::write(
            out.join("kernel/irq/.handle.o.cmd"),
            format!(
                "savedcmd_kernel/irq/handle.o := gcc -c ...\n\n\
                 source_kernel/irq/handle.o := {t}/kernel/irq/handle.c\n\n\
                 deps_kernel/irq/handle.o := \\\n  {t}/include/linux/compiler-version.h \\\n    \
                 $(wildcard include/config/CC_VERSION_TEXT) \\\n  include/generated/autoconf.h \\\n  \
                 ../tree/include/linux/dovetail_sample.h \\\n  /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \\\n\n\
                 kernel/irq/handle.o: $(deps_kernel/irq/handle.o)\n\n$(deps_kernel/irq/handle.o):\n"
            ),
        )
        .unwrap();
        let scope = scope_from_build(&out, &tree, Some("x86"));
        let compiled = scope.compiled.as_ref().unwrap();
        let mut names: Vec<&str> = compiled.iter().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "include/linux/compiler-version.h",
                "include/linux/dovetail_sample.h",
                "kernel/irq/handle.c"
            ]
        );
        let r = rules();
        assert_eq!(cannot_matter("kernel/irq/handle.c", &r, &scope), None);
        assert_eq!(
            cannot_matter("lib/smp_processor_id.c", &r, &scope),
            Some(Reason::NotCompiled)
        );
        assert_eq!(cannot_matter("kernel/irq/Makefile", &r, &scope), None);
        assert_eq!(
            cannot_matter("drivers/irqchip/Makefile", &r, &scope),
            Some(Reason::FolderNotBuilt)
        );
        // Kconfig files and scripts are never judged by the dependency files.
        assert_eq!(cannot_matter("drivers/irqchip/Kconfig", &r, &scope), None);
        assert_eq!(cannot_matter("scripts/link-vmlinux.sh", &r, &scope), None);

        let paths = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            patch_cannot_matter(
                &paths(&["lib/smp_processor_id.c", "Documentation/x.rst"]),
                &r,
                &scope
            )
            .unwrap(),
            PatchSkip {
                reason: "lib/smp_processor_id.c: not compiled in this configuration; Documentation/x.rst: not part of any kernel build".into(),
                from_build: true
            }
        );
        assert!(patch_cannot_matter(
            &paths(&["lib/smp_processor_id.c", "kernel/irq/handle.c"]),
            &r,
            &scope
        )
        .is_none());
        assert_eq!(
            patch_cannot_matter(&[], &r, &scope).unwrap().reason,
            "changes no file"
        );
    }
}
