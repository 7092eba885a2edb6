//! The tree-wide half of the definitions check, in process: which of some names a line of
//! the files a region's file can see defines. Those files are every regular, non-binary file
//! under `include/` and `arch/*/include/`, every `Kconfig*` file, and the files under the
//! region's folder (the top-level files for a file at the top), as `git grep -I` with the
//! pathspecs `:(glob)include/**`, `:(glob)arch/*/include/**`, `:(glob)**/Kconfig*` and
//! `:(glob)DIR/**` (or `:(glob)*`) reads them. Their contents are kept for the process by
//! blob id, so the next check (the next conflict, on a tree that differs by a few patches)
//! reads only what changed; a blob id names its content in any repository.
//!
//! `DOVETAIL_PORT_CHECK_NAMES=1` asks `git grep` the same question beside every search and
//! reports any difference on stderr.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;
use git2::{FileMode, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use crate::rebase::treescan;

/// Bytes of file contents kept at most; past it, files are read again when needed.
const KEEP_BYTES: usize = 512 << 20;
/// git's binary check: a NUL in the first 8000 bytes (`buffer_is_binary`).
const BINARY_PROBE: usize = 8000;

/// File contents by blob id, with their total size.
type Contents = (HashMap<Oid, Arc<[u8]>>, usize);
static CONTENTS: Mutex<Option<Contents>> = Mutex::new(None);

/// Whether every search is checked against `git grep`.
pub(super) fn checking() -> bool {
    crate::rebase::check_flag("DOVETAIL_PORT_CHECK_NAMES")
}

/// The names of `ask` that a line of the files `path` can see in `tree` defines, by
/// `defines(line, name)`. A CONFIG_ name is looked for by its bare name.
pub(super) fn defined(
    repo: &Repository,
    tree: Oid,
    path: &str,
    ask: &[String],
    defines: fn(&str, &str) -> bool,
) -> BTreeSet<String> {
    let mut yes = BTreeSet::new();
    let patterns: Vec<&str> = ask
        .iter()
        .map(|n| n.strip_prefix("CONFIG_").unwrap_or(n))
        .filter(|p| !p.is_empty())
        .collect();
    // A name with nothing to look for (`CONFIG_`) is defined by no line.
    let Ok(searcher) = AhoCorasick::new(&patterns) else {
        return yes;
    };
    if patterns.is_empty() {
        return yes;
    }
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let Some(files) = files_in_scope(repo, tree, dir) else {
        return yes;
    };
    for data in contents(repo, &files) {
        if data[..data.len().min(BINARY_PROBE)].contains(&0) {
            continue;
        }
        let mut last_line = None;
        for m in searcher.find_iter(&*data) {
            // Names hold no newline: each match lies inside one line.
            let (start, end) = treescan::line_around(&data, m.start(), m.end());
            if last_line == Some(start) {
                continue;
            }
            last_line = Some(start);
            let raw = &data[start..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = String::from_utf8_lossy(raw);
            for n in ask {
                if !yes.contains(n) && defines(&line, n) {
                    yes.insert(n.clone());
                }
            }
        }
        if yes.len() == ask.len() {
            break;
        }
    }
    yes
}

/// Whether a file of folder `parent` (empty, or ending in `/`) named `name` is read when
/// the region's file is in `dir` (empty at the top).
fn in_scope(parent: &str, name: &[u8], dir: &str) -> bool {
    if parent.starts_with("include/") || name.starts_with(b"Kconfig") {
        return true;
    }
    let mut parts = parent.split('/');
    if parts.next() == Some("arch") && parts.next().is_some() && parts.next() == Some("include") {
        return true;
    }
    if dir.is_empty() {
        return parent.is_empty();
    }
    parent
        .strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The regular files of `tree` in scope for a file in `dir`, in tree order.
fn files_in_scope(repo: &Repository, tree: Oid, dir: &str) -> Option<Vec<treescan::Blob>> {
    let tree = repo.find_tree(tree).ok()?;
    let mut out = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |parent, e| {
        let regular = matches!(
            e.filemode(),
            m if m == i32::from(FileMode::Blob) || m == i32::from(FileMode::BlobExecutable)
        );
        if e.kind() == Some(ObjectType::Blob) && regular && in_scope(parent, e.name_bytes(), dir) {
            out.push(treescan::Blob {
                path: format!("{parent}{}", String::from_utf8_lossy(e.name_bytes())),
                id: e.id(),
            });
        }
        TreeWalkResult::Ok
    })
    .ok()?;
    Some(out)
}

/// The contents of `files`, in their order: kept ones from memory, the others read (over the
/// machine's cores) and kept while the budget allows. A blob that cannot be read is left out.
fn contents(repo: &Repository, files: &[treescan::Blob]) -> Vec<Arc<[u8]>> {
    let mut kept = CONTENTS.lock().unwrap_or_else(|e| e.into_inner());
    let (map, size) = kept.get_or_insert_with(Default::default);
    let missing: Vec<treescan::Blob> = files
        .iter()
        .filter(|f| !map.contains_key(&f.id))
        .map(|f| treescan::Blob {
            path: String::new(),
            id: f.id,
        })
        .collect();
    let mut read: HashMap<Oid, Arc<[u8]>> = HashMap::new();
    if !missing.is_empty() {
        let states = treescan::visit(
            repo.path(),
            &missing,
            treescan::threads(),
            Vec::new,
            |got: &mut Vec<(Oid, Arc<[u8]>)>, blob, data| got.push((blob.id, Arc::from(data))),
        );
        read.extend(states.into_iter().flatten().flatten());
    }
    let out = files
        .iter()
        .filter_map(|f| map.get(&f.id).or_else(|| read.get(&f.id)).cloned())
        .collect();
    for (id, data) in read {
        if *size + data.len() > KEEP_BYTES {
            break;
        }
        *size += data.len();
        map.insert(id, data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_the_headers_the_kconfig_files_and_the_folder() {
        let dir = "drivers/irqchip";
        for (parent, name) in [
            ("include/linux/", "irq.h"),
            ("include/", "x.h"),
            ("arch/x86/include/asm/", "irq.h"),
            ("arch/arm64/include/", "y.h"),
            ("", "Kconfig"),
            ("kernel/irq/", "Kconfig.debug"),
            ("drivers/irqchip/", "irq-gic.c"),
            ("drivers/irqchip/sub/", "z.c"),
        ] {
            assert!(in_scope(parent, name.as_bytes(), dir), "{parent}{name}");
        }
        for (parent, name) in [
            ("", "Makefile"),
            ("drivers/", "Makefile"),
            ("drivers/irqchip-other/", "a.c"),
            ("arch/x86/", "Makefile"),
            ("arch/x86/kernel/include/", "a.h"),
            ("tools/include/", "a.h"),
        ] {
            assert!(!in_scope(parent, name.as_bytes(), dir), "{parent}{name}");
        }
        assert!(in_scope("", b"Makefile", ""));
        assert!(!in_scope("drivers/", b"Makefile", ""));
    }
}
