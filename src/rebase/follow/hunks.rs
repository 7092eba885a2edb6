//! Following a file the target split or moved into a folder, hunk by hunk. When a file the
//! patch changes is gone and no single file holds most of it (`kernel/module.c` became
//! `kernel/module/main.c`, `version.c`, `signing.c`...), each hunk goes to the one file, among
//! those new since the queue's base in the folder the file became, that holds its lines
//! (context and removed lines, exactly), as a patch placed without its old tree would. Any
//! hunk found in no such file, or in several, leaves the whole path a modify/delete conflict:
//! half a change carried is worse than none.

use std::collections::{BTreeMap, HashMap, HashSet};

use git2::{Oid, Repository, Tree};

use super::Follower;
use crate::queue::unidiff::{self, Hunk};
use crate::rebase::change::Entry;
use crate::rebase::placement::{place, How, Markers};
use crate::rebase::resolve::{Confidence, Method, Placement};
use crate::rebase::Result;

/// Files of the folder(s) a split file became that are read, at most.
const MAX_CANDIDATES: usize = 64;
/// A file this large is not read as text here.
const MAX_TEXT: usize = 4 << 20;

/// The patch's change to a gone file, carried to the files that hold its hunks now.
#[derive(Debug)]
pub struct Routed {
    /// New contents, by destination path (each with the target's mode).
    pub writes: Vec<(String, Oid, i32)>,
    pub placements: Vec<Placement>,
}

/// Why no route was taken.
#[derive(Debug, PartialEq)]
pub enum NoRoute {
    /// No file new since the base where the split file's parts would be.
    NoCandidates,
    /// A hunk (1-based) in none of the candidates, or in several.
    Hunk {
        hunk: usize,
        found_in: Vec<String>,
        candidates: usize,
    },
    /// Not text, too large, or the diff cannot be read.
    NotText,
}

impl NoRoute {
    /// The sentence a refusal shows, or None when there is nothing worth saying.
    pub fn reason(&self, old_path: &str) -> Option<String> {
        match self {
            NoRoute::NoCandidates | NoRoute::NotText => None,
            NoRoute::Hunk {
                hunk,
                found_in,
                candidates,
            } if found_in.is_empty() => Some(format!(
                "{old_path} is gone; hunk #{hunk}'s lines are in none of the {candidates} file(s) new since the queue's base where its parts would be"
            )),
            NoRoute::Hunk { hunk, found_in, .. } => Some(format!(
                "{old_path} is gone; hunk #{hunk}'s lines are in several files new since the queue's base ({}): which one is meant is unclear",
                found_in.join(", ")
            )),
        }
    }
}

/// Routes the change `base` → `theirs` of `old_path` (which `ours` no longer has) to the
/// files that hold its hunks. `touched`: paths the same patch changes itself, never a
/// destination (two edits of one file in one patch would overwrite each other).
#[allow(clippy::too_many_arguments)]
pub fn route(
    repo: &Repository,
    ours: &Tree<'_>,
    base_tree: Option<&Tree<'_>>,
    follower: &mut Follower,
    old_path: &str,
    base: Oid,
    theirs: Oid,
    touched: &HashSet<&str>,
) -> Result<std::result::Result<Routed, NoRoute>> {
    let mut candidates = follower.split_parts(repo, base_tree, old_path, touched)?;
    candidates.truncate(MAX_CANDIDATES);
    if candidates.is_empty() {
        return Ok(Err(NoRoute::NoCandidates));
    }
    let Some(hunks) = hunks_between(repo, base, theirs)? else {
        return Ok(Err(NoRoute::NotText));
    };
    let mut texts: HashMap<&str, (Vec<u8>, i32)> = HashMap::new();
    for c in &candidates {
        let Some(e) = Entry::at(ours, c) else {
            continue;
        };
        let blob = repo.find_blob(e.id)?;
        if blob.size() <= MAX_TEXT && !blob.is_binary() {
            texts.insert(c.as_str(), (blob.content().to_vec(), e.mode));
        }
    }
    let markers = Markers {
        ours: "target",
        base: "expected",
        theirs: "queue",
    };
    // Each hunk's destination: the one candidate holding its whole text (or its result);
    // failing that, the one where it anchors inside its named function or entry.
    let mut routes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (h, hunk) in hunks.iter().enumerate() {
        let mut exact = Vec::new();
        let mut anchored = Vec::new();
        for c in &candidates {
            let Some((text, _)) = texts.get(c.as_str()) else {
                continue;
            };
            let one = place(c, text, std::slice::from_ref(hunk), &markers);
            match one.placed.first().map(|p| p.how) {
                Some(How::Exact | How::Offset | How::AlreadyThere) => exact.push(c.as_str()),
                Some(How::Anchored) => anchored.push(c.as_str()),
                None => {}
            }
        }
        let found = if exact.is_empty() { anchored } else { exact };
        match found.as_slice() {
            [one] => routes.entry(one).or_default().push(h),
            _ => {
                return Ok(Err(NoRoute::Hunk {
                    hunk: h + 1,
                    found_in: found.iter().map(|s| s.to_string()).collect(),
                    candidates: candidates.len(),
                }))
            }
        }
    }
    let mut routed = Routed {
        writes: Vec::new(),
        placements: Vec::new(),
    };
    for (dest, mine) in routes {
        let Some((text, mode)) = texts.get(dest) else {
            continue;
        };
        let picked: Vec<Hunk> = mine.iter().map(|&h| hunks[h].clone()).collect();
        let placed = place(dest, text, &picked, &markers);
        if let Some(u) = placed.unplaced.first() {
            // Alone each hunk fit; together one no longer does (they overlap).
            return Ok(Err(NoRoute::Hunk {
                hunk: mine[u.hunk] + 1,
                found_in: vec![dest.to_string()],
                candidates: candidates.len(),
            }));
        }
        for p in &placed.placed {
            let how = match p.how {
                How::AlreadyThere => "its result is already there",
                How::Anchored => "placed inside its function or entry, context trimmed",
                How::Exact | How::Offset => "placed by its exact text",
            };
            routed.placements.push(Placement {
                path: dest.to_string(),
                line: p.line,
                method: Method::HunkFollowed,
                confidence: Confidence::Medium,
                detail: format!(
                    "hunk #{} of {old_path}, which the target split or moved: its lines are in {dest}, new since the queue's base; {how}",
                    mine[p.hunk] + 1
                ),
                text: String::from_utf8_lossy(&p.text).into_owned(),
            });
        }
        if placed.text != *text {
            routed
                .writes
                .push((dest.to_string(), repo.blob(&placed.text)?, *mode));
        }
    }
    Ok(Ok(routed))
}

/// The hunks of `old` → `new` (three lines of context, as git makes them); None when either
/// is binary or too large, or the diff cannot be read back.
fn hunks_between(repo: &Repository, old: Oid, new: Oid) -> Result<Option<Vec<Hunk>>> {
    let (old, new) = (repo.find_blob(old)?, repo.find_blob(new)?);
    if old.is_binary() || new.is_binary() || old.size() > MAX_TEXT || new.size() > MAX_TEXT {
        return Ok(None);
    }
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(3);
    let f = std::path::Path::new("f");
    let mut patch = git2::Patch::from_blobs(&old, Some(f), &new, Some(f), Some(&mut opts))?;
    let buf = patch.to_buf()?;
    Ok(unidiff::parse(&buf, 1)
        .ok()
        .and_then(|files| files.into_iter().next())
        .map(|f| f.hunks))
}

impl Follower {
    /// Where the parts of a split `old_path` would be: files of the same kind, new since
    /// `base`, in the folder the file became (`kernel/module.c` → `kernel/module/`) or the
    /// folder its name's first word names (`kernel/module_signing.c` → `kernel/module/`),
    /// subfolders included; sorted, so the choice is the same run to run.
    pub fn split_candidates(
        &mut self,
        repo: &Repository,
        base: Option<&Tree<'_>>,
        old_path: &str,
    ) -> Result<Vec<String>> {
        self.ensure_index(repo)?;
        let (dir, name) = old_path.rsplit_once('/').unwrap_or(("", old_path));
        let Some((stem, ext)) = name.rsplit_once('.') else {
            return Ok(Vec::new());
        };
        let join = |f: &str| {
            if dir.is_empty() {
                f.to_string()
            } else {
                format!("{dir}/{f}")
            }
        };
        let mut folders = vec![join(stem)];
        if let Some((first, _)) = stem.split_once(['_', '-']) {
            if !first.is_empty() {
                folders.push(join(first));
            }
        }
        let mut in_base = base.map(|b| super::Folders::new(repo, b));
        let mut out = Vec::new();
        for (d, files) in &self.by_dir {
            let inside = folders.iter().any(|f| {
                d == f
                    || d.strip_prefix(f.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            });
            if !inside {
                continue;
            }
            for p in files {
                let same_kind = p.rsplit_once('.').is_some_and(|(_, e)| e == ext);
                if same_kind && in_base.as_mut().is_none_or(|b| b.entry(p).is_none()) {
                    out.push(p.clone());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// [`Follower::split_candidates`] but the `touched` paths (a patch's own files).
    fn split_parts(
        &mut self,
        repo: &Repository,
        base: Option<&Tree<'_>>,
        old_path: &str,
        touched: &HashSet<&str>,
    ) -> Result<Vec<String>> {
        let mut parts = self.split_candidates(repo, base, old_path)?;
        parts.retain(|p| !touched.contains(p.as_str()));
        Ok(parts)
    }

    /// The one file of the folder `old_path` became that holds most of it (see
    /// [`super::best`]), leaving out `touched` paths.
    pub fn find_split(
        &mut self,
        repo: &Repository,
        ours: &Tree<'_>,
        base: Option<&Tree<'_>>,
        old_path: &str,
        old_blob: Oid,
        touched: &HashSet<&str>,
    ) -> Result<Option<super::Found>> {
        let parts = self.split_parts(repo, base, old_path, touched)?;
        super::best(repo, ours, old_path, old_blob, &parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tree;

    fn func(name: &str, body: &str) -> String {
        format!("static int {name}(struct module *mod)\n{{\n\tint err;\n\n\t{body}\n\tif (err)\n\t\treturn err;\n\treturn 0;\n}}\n\n")
    }

    struct Case {
        _dir: tempfile::TempDir,
        repo: Repository,
        base: Oid,
        ours: Oid,
        old: Oid,
        new: Oid,
    }

    /// `kernel/module.c` with three functions; the target split it into
    /// `kernel/module/{main,version}.c` (plus or instead, `extra` files); the patch edits `check`.
    fn case(extra: &[(&str, &str)], edit: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let load = func("load", "err = load_sections(mod);");
        let check = func("check", "err = check_crc(mod, \"crc\");");
        let other = func("other", "err = other_things(mod);");
        let old_text = format!("#include <linux/module.h>\n\n{load}{check}{other}");
        let new_text = old_text.replace("check_crc(mod, \"crc\")", edit);
        let base = tree(&repo, &[("kernel/module.c", &old_text)]);
        let main = format!("#include \"internal.h\"\n\n{load}{other}");
        let version = format!("#include \"internal.h\"\n\n/* versions */\n{check}");
        let mut files = vec![
            ("kernel/module/main.c", main.as_str()),
            ("kernel/module/version.c", version.as_str()),
        ];
        files.retain(|(p, _)| !extra.iter().any(|(e, _)| e == p));
        files.extend_from_slice(extra);
        let ours = tree(&repo, &files);
        let old = repo.blob(old_text.as_bytes()).unwrap();
        let new = repo.blob(new_text.as_bytes()).unwrap();
        Case {
            _dir: dir,
            repo,
            base,
            ours,
            old,
            new,
        }
    }

    fn run(c: &Case) -> std::result::Result<Routed, NoRoute> {
        let ours = c.repo.find_tree(c.ours).unwrap();
        let base = c.repo.find_tree(c.base).unwrap();
        route(
            &c.repo,
            &ours,
            Some(&base),
            &mut Follower::new(c.ours),
            "kernel/module.c",
            c.old,
            c.new,
            &HashSet::new(),
        )
        .unwrap()
    }

    #[test]
    fn a_hunk_goes_to_the_part_of_the_split_file_that_holds_it() {
        let c = case(&[], "check_crc(mod, NULL)");
        let routed = run(&c).unwrap();
        assert_eq!(routed.writes.len(), 1);
        let (path, id, _) = &routed.writes[0];
        assert_eq!(path, "kernel/module/version.c");
        let text = String::from_utf8(c.repo.find_blob(*id).unwrap().content().to_vec()).unwrap();
        assert!(text.contains("check_crc(mod, NULL)"), "{text}");
        assert!(text.starts_with("#include \"internal.h\"\n\n/* versions */\n"));
        assert_eq!(routed.placements.len(), 1);
        assert_eq!(routed.placements[0].method, Method::HunkFollowed);
        assert!(routed.placements[0].detail.contains("kernel/module.c"));
    }

    #[test]
    fn a_hunk_found_in_two_parts_is_refused() {
        let copy = format!(
            "/* a copy */\n{}",
            func("check", "err = check_crc(mod, \"crc\");")
        );
        let c = case(&[("kernel/module/copy.c", &copy)], "check_crc(mod, NULL)");
        match run(&c) {
            Err(NoRoute::Hunk { hunk, found_in, .. }) => {
                assert_eq!(hunk, 1);
                assert_eq!(found_in.len(), 2, "{found_in:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hunk_found_nowhere_is_refused() {
        let c = case(&[], "check_crc(mod, NULL)");
        let ours = c.repo.find_tree(c.ours).unwrap();
        let version = Entry::at(&ours, "kernel/module/version.c").unwrap();
        let text = c.repo.find_blob(version.id).unwrap().content().to_vec();
        let rewritten = String::from_utf8(text)
            .unwrap()
            .replace("check_crc(mod, \"crc\")", "crc_ok(mod)");
        let c = case(
            &[("kernel/module/version.c", &rewritten)],
            "check_crc(mod, NULL)",
        );
        let no = run(&c).unwrap_err();
        assert!(matches!(no, NoRoute::Hunk { ref found_in, .. } if found_in.is_empty()));
        assert!(no
            .reason("kernel/module.c")
            .unwrap()
            .contains("none of the 2"));
    }

    #[test]
    fn only_files_new_since_the_base_are_parts() {
        // kernel/module/version.c existed at the base already: not a part of the split file.
        let c = case(&[], "check_crc(mod, NULL)");
        let base_files = [
            ("kernel/module.c", "int x;\n"),
            ("kernel/module/version.c", "int v;\n"),
        ];
        let base = tree(&c.repo, &base_files);
        let base = c.repo.find_tree(base).unwrap();
        let found = Follower::new(c.ours)
            .split_candidates(&c.repo, Some(&base), "kernel/module.c")
            .unwrap();
        assert_eq!(found, vec!["kernel/module/main.c".to_string()]);
    }

    #[test]
    fn the_folder_a_first_word_names_holds_parts() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let ours = tree(
            &repo,
            &[
                ("kernel/module/signing.c", "s\n"),
                ("kernel/module/sub/x.c", "x\n"),
                ("kernel/module/Makefile", "m\n"),
                ("kernel/modules/y.c", "y\n"),
            ],
        );
        let found = Follower::new(ours)
            .split_candidates(&repo, None, "kernel/module_signing.c")
            .unwrap();
        assert_eq!(
            found,
            vec![
                "kernel/module/signing.c".to_string(),
                "kernel/module/sub/x.c".to_string()
            ]
        );
    }
}
