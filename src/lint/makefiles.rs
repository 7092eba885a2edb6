//! Which `.c` files kbuild compiles for one configuration, read from the tree's
//! `Makefile`/`Kbuild` files (a small reader kept inside the lint): `obj-y`,
//! `obj-$(CONFIG_X)`, composite objects (`foo-y += a.o`, `foo-objs`,
//! `foo-$(CONFIG_X) += b.o`) and subdirectory descent (`obj-$(CONFIG_X) += dir/`).
//!
//! A file is left out only on evidence: its object is named in its folder's Makefile and
//! every mention is under a symbol the configuration does not set, or its folder is
//! named in the parent's Makefile only under such symbols (or the parent is left out). A
//! file no Makefile names (`#include`d `.c` files, objects built through `$(patsubst)`)
//! and symbols the configuration does not know keep the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::kconfig::{Kconfig, Value};

/// Whether a mention is on for the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Yes,
    No,
    Unknown,
}

fn condition(cond: &str, config: &Kconfig) -> On {
    match cond {
        "y" | "m" | "objs" => On::Yes,
        c => match c
            .strip_prefix("$(CONFIG_")
            .and_then(|s| s.strip_suffix(')'))
            .map(|sym| config.get(sym))
        {
            Some(Some(Value::No)) => On::No,
            Some(Some(_)) => On::Yes,
            _ => On::Unknown,
        },
    }
}

/// One folder's Makefile: object or folder name -> the list (`obj`, `lib`, a composite
/// `foo`) and condition of each mention.
#[derive(Debug, Default)]
struct Folder {
    mentions: HashMap<String, Vec<(String, On)>>,
}

impl Folder {
    fn parse(text: &str, config: &Kconfig) -> Folder {
        let mut f = Folder::default();
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.split('#').next().unwrap_or("");
            let Some((lhs, rhs)) = line.split_once('=') else {
                continue;
            };
            let lhs = lhs.trim_end_matches([':', '+', '?']).trim();
            // `list-cond`: the condition is the last `-` part that is `y`, `m`, `objs` or
            // `$(CONFIG_X)`.
            let Some((list, cond)) = split_list(lhs) else {
                continue;
            };
            let on = condition(cond, config);
            for word in rhs.split_whitespace() {
                let name = word.trim_end_matches('/');
                if word.ends_with(".o") || word.ends_with('/') {
                    f.mentions
                        .entry(name.to_string())
                        .or_default()
                        .push((list.to_string(), on));
                }
            }
        }
        f
    }

    /// Is object or folder `name` built? `None`: not named here.
    fn built(&self, name: &str, depth: usize) -> Option<On> {
        let mentions = self.mentions.get(name)?;
        let mut best = On::No;
        for (list, on) in mentions {
            let on = match list.as_str() {
                "obj" | "lib" | "core" | "drivers" | "libs" | "net" | "virt" | "subdir" => *on,
                // A part of a composite object: built when the composite is.
                composite if depth < 4 => {
                    match (on, self.built(&format!("{composite}.o"), depth + 1)) {
                        (On::No, _) | (_, Some(On::No)) => On::No,
                        (On::Yes, Some(On::Yes)) => On::Yes,
                        _ => On::Unknown,
                    }
                }
                _ => On::Unknown,
            };
            best = match (best, on) {
                (On::Yes, _) | (_, On::Yes) => On::Yes,
                (On::Unknown, _) | (_, On::Unknown) => On::Unknown,
                _ => On::No,
            };
        }
        Some(best)
    }
}

fn split_list(lhs: &str) -> Option<(&str, &str)> {
    if lhs.contains(char::is_whitespace) {
        return None;
    }
    if let Some(i) = lhs.find("-$(CONFIG_") {
        return Some((&lhs[..i], &lhs[i + 1..]));
    }
    let (list, cond) = lhs.rsplit_once('-')?;
    matches!(cond, "y" | "m" | "objs").then_some((list, cond))
}

/// The `.c` files among `files` that the Makefiles of the tree at `root` leave out for
/// `config`, as a mask.
pub fn left_out(files: &[PathBuf], root: &Path, config: &Kconfig) -> Vec<bool> {
    let mut folders: HashMap<PathBuf, Option<Folder>> = HashMap::new();
    let mut dirs_out: HashMap<PathBuf, bool> = HashMap::new();
    files
        .iter()
        .map(|f| {
            if f.extension().is_none_or(|x| x != "c") {
                return false;
            }
            let Some(dir) = f.parent() else {
                return false;
            };
            if dir_out(dir, root, config, &mut folders, &mut dirs_out) {
                return true;
            }
            let Some(stem) = f.file_stem().and_then(|s| s.to_str()) else {
                return false;
            };
            folder(dir, config, &mut folders)
                .and_then(|m| m.built(&format!("{stem}.o"), 0))
                .is_some_and(|on| on == On::No)
        })
        .collect()
}

fn folder<'a>(
    dir: &Path,
    config: &Kconfig,
    cache: &'a mut HashMap<PathBuf, Option<Folder>>,
) -> Option<&'a Folder> {
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| {
            // kbuild reads Kbuild when there is one, else Makefile.
            ["Kbuild", "Makefile"]
                .iter()
                .find_map(|n| std::fs::read(dir.join(n)).ok())
                .map(|b| Folder::parse(&String::from_utf8_lossy(&b), config))
        })
        .as_ref()
}

/// Is folder `dir` left out: named in its parent's Makefile only under unset symbols,
/// or inside a folder that is?
fn dir_out(
    dir: &Path,
    root: &Path,
    config: &Kconfig,
    folders: &mut HashMap<PathBuf, Option<Folder>>,
    memo: &mut HashMap<PathBuf, bool>,
) -> bool {
    if let Some(&v) = memo.get(dir) {
        return v;
    }
    let out = match (dir.parent(), dir.file_name().and_then(|n| n.to_str())) {
        (Some(parent), Some(name)) if dir != root && dir.starts_with(root) => {
            dir_out(parent, root, config, folders, memo)
                || folder(parent, config, folders)
                    .and_then(|m| m.built(name, 0))
                    .is_some_and(|on| on == On::No)
        }
        _ => false,
    };
    memo.insert(dir.to_path_buf(), out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Kconfig {
        let m = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Kconfig::assumed(&m)
    }

    #[test]
    fn objects_composites_and_folders() {
        let k = config(&[("KASAN", "n"), ("FOO", "y"), ("BAR", "n")]);
        let m = Folder::parse(
            "obj-y += a.o\nobj-$(CONFIG_KASAN) += kasan/ k.o\nobj-$(CONFIG_FOO) += foo.o \\\n\tx.o\nfoo-y := f1.o\nfoo-$(CONFIG_BAR) += f2.o\nobj-$(CONFIG_BAR) += bar.o\nbar-objs := b1.o\nobj-$(CONFIG_UNKNOWN) += u.o # comment\n",
            &k,
        );
        assert_eq!(m.built("a.o", 0), Some(On::Yes));
        assert_eq!(m.built("kasan", 0), Some(On::No));
        assert_eq!(m.built("k.o", 0), Some(On::No));
        assert_eq!(m.built("x.o", 0), Some(On::Yes));
        assert_eq!(m.built("f1.o", 0), Some(On::Yes));
        assert_eq!(m.built("f2.o", 0), Some(On::No));
        assert_eq!(m.built("b1.o", 0), Some(On::No));
        assert_eq!(m.built("u.o", 0), Some(On::Unknown));
        assert_eq!(m.built("never.o", 0), None);
    }

    #[test]
    fn files_are_left_out_on_evidence_only() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("mm/kasan")).unwrap();
        std::fs::write(
            r.join("mm/Makefile"),
            "obj-y += slab.o\nobj-$(CONFIG_KASAN) += kasan/\nobj-$(CONFIG_X) += x.o\n",
        )
        .unwrap();
        std::fs::write(r.join("mm/kasan/Makefile"), "obj-y := shadow.o\n").unwrap();
        let files: Vec<PathBuf> = [
            "mm/slab.c",
            "mm/x.c",
            "mm/kasan/shadow.c",
            "mm/kasan/kasan.h",
            "mm/included.c",
        ]
        .iter()
        .map(|f| r.join(f))
        .collect();
        let off = left_out(&files, r, &config(&[("KASAN", "n"), ("X", "n")]));
        assert_eq!(off, [false, true, true, false, false]);
        let on = left_out(&files, r, &config(&[("KASAN", "y")]));
        assert_eq!(on, [false, false, false, false, false]);
    }
}
