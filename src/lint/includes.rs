//! Headers the configuration leaves out as a whole: a header counts when some file the
//! build compiles includes it outside a left-out region. include/linux/spinlock_rt.h has
//! no conditional of its own; spinlock.h includes it only in its `CONFIG_PREEMPT_RT`
//! branch, so without PREEMPT_RT its `spin_unlock()` (→ `rt_spin_unlock()`) is not code.
//!
//! Includes are resolved by path: `"x.h"` next to the including file first, then, like
//! `<x/y.h>`, to a header whose path ends in `include/x/y.h` or `uapi/x/y.h`. A header no
//! resolved include names (force-included, computed `#include MACRO`, `-I` folders of a
//! driver) is kept, as every `.c` file is: only a header all of whose includes are left
//! out is.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use super::cond::Include;

fn normal_components(path: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::Prefix(_) => out.clear(),
            Component::CurDir => {}
        }
    }
    out
}

struct Headers<'a> {
    comps: Vec<Vec<String>>,
    by_name: HashMap<&'a str, Vec<usize>>,
    by_path: HashMap<Vec<String>, usize>,
}

impl<'a> Headers<'a> {
    fn new(files: &'a [PathBuf]) -> Headers<'a> {
        let comps: Vec<Vec<String>> = files.iter().map(|f| normal_components(f)).collect();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_path = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            if f.extension().is_some_and(|x| x == "h") {
                if let Some(name) = f.file_name().and_then(|n| n.to_str()) {
                    by_name.entry(name).or_default().push(i);
                }
                by_path.insert(comps[i].clone(), i);
            }
        }
        Headers {
            comps,
            by_name,
            by_path,
        }
    }

    /// The headers an `#include` in file `from` may name.
    fn resolve(&self, from: usize, inc: &Include) -> Vec<usize> {
        if !inc.angle {
            let mut here = self.comps[from].clone();
            here.pop();
            let rel = normal_components(&Path::new(&here.join("/")).join(&inc.path));
            if let Some(&h) = self.by_path.get(&rel) {
                return vec![h];
            }
        }
        let want = normal_components(Path::new(&inc.path));
        let Some(name) = want.last() else {
            return Vec::new();
        };
        self.by_name
            .get(name.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|&h| {
                let c = &self.comps[h];
                c.len() > want.len()
                    && c.ends_with(&want)
                    && matches!(c[c.len() - want.len() - 1].as_str(), "include" | "uapi")
            })
            .collect()
    }
}

/// Per file, whether it is a header that no compiled code includes under this
/// configuration. `includes[i]` are the includes of `files[i]`.
///
/// A header is out when every include naming it is in a left-out region or in a header
/// that is out itself. Headers that only name each other (`"a.h"` ↔ `"b.h"`, their real
/// includers using `-I` paths this resolution does not know) stay in.
pub fn configured_out(files: &[PathBuf], includes: &[&[Include]]) -> Vec<bool> {
    let headers = Headers::new(files);
    // Per header, the includes naming it: (including file, in a left-out region).
    // Resolving is the costly part (paths built per `#include`, 600 000 in a tree): in
    // parallel, then the sites are filed in order.
    let resolved: Vec<Vec<(usize, bool)>> = includes
        .par_iter()
        .enumerate()
        .map(|(from, incs)| {
            let mut v = Vec::new();
            for inc in incs.iter() {
                v.extend(
                    headers
                        .resolve(from, inc)
                        .into_iter()
                        .filter(|&h| h != from)
                        .map(|h| (h, inc.inactive)),
                );
            }
            v
        })
        .collect();
    let mut sites: Vec<Vec<(usize, bool)>> = vec![Vec::new(); files.len()];
    for (from, hs) in resolved.into_iter().enumerate() {
        for (h, inactive) in hs {
            sites[h].push((from, inactive));
        }
    }
    let mut out = vec![false; files.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for h in 0..files.len() {
            if !out[h]
                && !sites[h].is_empty()
                && sites[h]
                    .iter()
                    .all(|&(from, inactive)| inactive || out[from])
            {
                out[h] = true;
                changed = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(path: &str, angle: bool, inactive: bool) -> Include {
        Include {
            path: path.into(),
            angle,
            inactive,
        }
    }

    #[test]
    fn a_header_included_only_in_left_out_regions_is_out() {
        let files: Vec<PathBuf> = [
            "/k/include/linux/spinlock.h",    // 0
            "/k/include/linux/spinlock_rt.h", // 1
            "/k/include/linux/rwlock_rt.h",   // 2, included only by 1
            "/k/kernel/locking/spinlock.c",   // 3
            "/k/include/linux/forced.h",      // 4, named by no include
            "/k/drivers/x/local.h",           // 5
            "/k/drivers/x/x.c",               // 6
            "/k/drivers/y/local.h",           // 7, only a left-out "local.h" elsewhere
            "/k/drivers/y/y.c",               // 8
            "/k/drivers/z/inc/a.h",           // 9, a.h and b.h name only each other
            "/k/drivers/z/inc/b.h",           // 10
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let incs: Vec<Vec<Include>> = vec![
            vec![inc("linux/spinlock_rt.h", true, true)],
            vec![inc("linux/rwlock_rt.h", true, false)],
            vec![],
            vec![inc("linux/spinlock.h", true, false)],
            vec![],
            vec![],
            vec![inc("local.h", false, false)],
            vec![],
            vec![inc("../y/local.h", false, true)],
            vec![inc("b.h", false, false), inc("a.h", false, false)],
            vec![inc("a.h", false, false)],
        ];
        let refs: Vec<&[Include]> = incs.iter().map(Vec::as_slice).collect();
        let out = configured_out(&files, &refs);
        let gone: Vec<usize> = (0..files.len()).filter(|&i| out[i]).collect();
        assert_eq!(gone, [1, 2, 7]);
        // One compiled include that is not left out keeps the header.
        let mut incs = incs;
        incs[3].push(inc("linux/spinlock_rt.h", true, false));
        let refs: Vec<&[Include]> = incs.iter().map(Vec::as_slice).collect();
        let out = configured_out(&files, &refs);
        assert!(!out[1] && !out[2] && out[7]);
    }

    #[test]
    fn angle_includes_resolve_under_include_folders_only() {
        let files: Vec<PathBuf> = [
            "/k/arch/x86/include/asm/foo.h",
            "/k/include/uapi/linux/types.h",
            "/k/drivers/z/linux/types.h",
            "/k/kernel/a.c",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let h = Headers::new(&files);
        assert_eq!(h.resolve(3, &inc("asm/foo.h", true, false)), [0]);
        assert_eq!(h.resolve(3, &inc("linux/types.h", true, false)), [1]);
        assert_eq!(
            h.resolve(3, &inc("foo.h", false, false)),
            Vec::<usize>::new()
        );
    }
}
