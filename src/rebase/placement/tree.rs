//! A patch file replayed on a tree by placing its hunks (no pre-image blobs needed): the
//! result has the shape a three-way replay gives, so the run, the report and `--continue`
//! treat both alike.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use git2::{Oid, Repository, Tree};

use super::{place, FilePlacement, How, Markers};
use crate::queue::patchfile::PatchFile;
use crate::queue::unidiff::{self, FileDiff};
use crate::rebase::change::{Entry, PathChange};
use crate::rebase::merge::{
    ConflictKind, Labels, PathResult, PathStatus, Replayed, Stages, Update,
};
use crate::rebase::resolve::{Method, Placement, Refusal};
use crate::rebase::{RebaseError, Result};

/// Whether patch file `patch` must be placed hunk by hunk: a traditional diff, a strip level
/// other than git's, or an `index` line naming a blob the repository does not have.
pub fn needs_placement(repo: &Repository, patch: &PatchFile) -> bool {
    if patch.diff.is_empty() {
        return false;
    }
    let Ok(files) = unidiff::parse(&patch.diff, patch.strip) else {
        return false; // reported where the three-way path reads it
    };
    if patch.strip != 1 || files.iter().any(|f| !f.git) {
        return true;
    }
    let Ok(odb) = repo.odb() else { return true };
    files.iter().any(|f| match &f.old_blob {
        None => !f.hunks.is_empty() && f.old_path.is_some(),
        Some(abbrev) if abbrev.bytes().all(|b| b == b'0') => false,
        Some(abbrev) => Oid::from_str(&format!("{abbrev:0<40}"))
            .ok()
            .and_then(|prefix| odb.exists_prefix(prefix, abbrev.len()).ok())
            .is_none(),
    })
}

fn parse(patch: &PatchFile) -> Result<Vec<FileDiff>> {
    unidiff::parse(&patch.diff, patch.strip).map_err(|e| RebaseError::InCommit {
        commit: format!("{}:{}", patch.path.display(), patch.diff_line + e.line - 1),
        message: e.message,
    })
}

fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// The paths of the patch, without blob ids (it is placed by its hunks, not merged).
pub fn path_changes(patch: &PatchFile) -> Result<Vec<PathChange>> {
    Ok(parse(patch)?
        .iter()
        .map(|f| PathChange {
            old_path: f.old_path.as_deref().map(shown),
            new_path: f.new_path.as_deref().map(shown),
            base: None,
            theirs: None,
        })
        .collect())
}

fn entry(tree: &Tree<'_>, name: &[u8]) -> Option<Entry> {
    let e = tree.get_path(Path::new(OsStr::from_bytes(name))).ok()?;
    (e.kind() == Some(git2::ObjectType::Blob)).then(|| Entry {
        id: e.id(),
        mode: e.filemode(),
    })
}

/// One tree change, by the exact bytes of its name.
enum Change {
    Write(Vec<u8>, Oid, i32),
    Remove(Vec<u8>),
}

/// Replays `patch` on `ours` by placing its hunks.
pub fn replay(
    repo: &Repository,
    ours: &Tree<'_>,
    patch: &PatchFile,
    labels: &Labels<'_>,
) -> Result<Replayed> {
    let markers = Markers {
        ours: labels.ours,
        base: "what the patch expected (no old tree: placed by hunk)",
        theirs: labels.theirs,
    };
    let mut paths = Vec::new();
    let mut changes = Vec::new();
    for f in parse(patch)? {
        paths.push(replay_file(repo, ours, &f, &markers, &mut changes)?);
    }
    let conflicted = paths.iter().any(|p| p.status == PathStatus::Conflict);
    let mut builder = git2::build::TreeUpdateBuilder::new();
    let mut updates = Vec::new();
    for c in &changes {
        match c {
            Change::Write(name, id, mode) => {
                builder.upsert(name.clone(), *id, file_mode(*mode));
                updates.push(Update::Write {
                    path: shown(name),
                    id: *id,
                    mode: *mode,
                });
            }
            Change::Remove(name) => {
                builder.remove(name.clone());
                updates.push(Update::Remove { path: shown(name) });
            }
        }
    }
    let tree = if conflicted {
        None
    } else if changes.is_empty() {
        Some(ours.id())
    } else {
        Some(builder.create_updated(repo, ours)?)
    };
    Ok(Replayed {
        paths,
        tree,
        updates,
    })
}

fn file_mode(mode: i32) -> git2::FileMode {
    match mode {
        0o100755 => git2::FileMode::BlobExecutable,
        0o120000 => git2::FileMode::Link,
        _ => git2::FileMode::Blob,
    }
}

fn result(path: &[u8], status: PathStatus, conflict: Option<ConflictKind>) -> PathResult {
    PathResult::new(&shown(path), status, conflict)
}

fn replay_file(
    repo: &Repository,
    ours: &Tree<'_>,
    f: &FileDiff,
    markers: &Markers<'_>,
    changes: &mut Vec<Change>,
) -> Result<PathResult> {
    let empty: &[u8] = b"";
    if f.creates() {
        let name = f
            .new_path
            .as_deref()
            .or(f.old_path.as_deref())
            .unwrap_or(empty);
        let content: Vec<u8> = f
            .hunks
            .iter()
            .flat_map(|h| h.new_lines().concat())
            .collect();
        let mode = f.new_mode.map_or(0o100644, |m| m as i32);
        return Ok(match entry(ours, name) {
            None => {
                changes.push(Change::Write(name.to_vec(), repo.blob(&content)?, mode));
                result(name, PathStatus::Clean, None)
            }
            Some(o) if repo.find_blob(o.id)?.content() == content.as_slice() => {
                result(name, PathStatus::AlreadyPresent, None)
            }
            Some(o) => {
                let mut r = result(name, PathStatus::Conflict, Some(ConflictKind::AddAdd));
                let theirs = repo.blob(&content)?;
                r.merged_text = Some(add_add_text(repo, o.id, &content, markers)?);
                r.stages = Some(Stages {
                    base: None,
                    ours: Some(o),
                    theirs: Some(Entry { id: theirs, mode }),
                });
                r
            }
        });
    }
    // The file the patch works on: a git diff names it; a traditional diff's two names may
    // differ (`x.c.orig` / `x.c`): the one the target has.
    let (src, dst): (&[u8], &[u8]) = match (f.old_path.as_deref(), f.new_path.as_deref()) {
        (Some(o), Some(n)) if f.git => (o, n),
        (Some(o), Some(n)) => {
            let pick = if entry(ours, n).is_some() || entry(ours, o).is_none() {
                n
            } else {
                o
            };
            (pick, pick)
        }
        (Some(o), None) => (o, o),
        (None, Some(n)) => (n, n),
        (None, None) => (empty, empty),
    };
    let Some(o) = entry(ours, src) else {
        let (status, kind) = if f.deletes() {
            (PathStatus::AlreadyPresent, None)
        } else {
            (PathStatus::Conflict, Some(ConflictKind::ModifyDelete))
        };
        let mut r = result(src, status, kind);
        if kind.is_some() {
            let wanted: Vec<u8> = f
                .hunks
                .iter()
                .flat_map(|h| h.new_lines().concat())
                .collect();
            r.merged_text = Some(wanted);
            r.stages = Some(Stages::default());
        }
        return Ok(r);
    };
    let target = repo.find_blob(o.id)?.content().to_vec();
    if f.deletes() {
        let expected: Vec<u8> = f
            .hunks
            .iter()
            .flat_map(|h| h.old_lines().concat())
            .collect();
        if f.hunks.is_empty() || expected == target {
            changes.push(Change::Remove(src.to_vec()));
            return Ok(result(src, PathStatus::Clean, None));
        }
        let mut r = result(src, PathStatus::Conflict, Some(ConflictKind::DeleteModify));
        r.merged_text = Some(target);
        r.stages = Some(Stages {
            base: None,
            ours: Some(o),
            theirs: None,
        });
        return Ok(r);
    }
    let mode = f.new_mode.map_or(o.mode, |m| m as i32);
    let path = shown(dst);
    let placed = place(&path, &target, &f.hunks, markers);
    let mut r = result(dst, PathStatus::Clean, None);
    r.placements = placements(&path, &placed);
    r.refusals = placed
        .unplaced
        .iter()
        .map(|u| Refusal {
            path: path.clone(),
            line: u.line,
            reason: format!("hunk #{} placed nowhere: {}", u.hunk + 1, u.reason),
        })
        .collect();
    if !placed.unplaced.is_empty() {
        r.status = PathStatus::Conflict;
        r.conflict = Some(ConflictKind::Content);
        r.merged_text = Some(placed.text);
        r.stages = Some(Stages {
            base: None,
            ours: Some(o),
            theirs: None,
        });
        return Ok(r);
    }
    let renamed = src != dst;
    if placed.text == target && !renamed && mode == o.mode {
        r.status = PathStatus::AlreadyPresent;
        return Ok(r);
    }
    if renamed {
        changes.push(Change::Remove(src.to_vec()));
    }
    changes.push(Change::Write(dst.to_vec(), repo.blob(&placed.text)?, mode));
    r.status = if placed
        .placed
        .iter()
        .any(|p| p.confidence != crate::rebase::resolve::Confidence::High)
    {
        PathStatus::AutoResolved
    } else if placed.placed.iter().all(|p| p.how == How::Exact) {
        PathStatus::Clean
    } else {
        PathStatus::Merged
    };
    Ok(r)
}

/// Every placement but an exact one at the expected line, for the report's review section.
fn placements(path: &str, placed: &FilePlacement) -> Vec<Placement> {
    placed
        .placed
        .iter()
        .filter(|p| p.how != How::Exact)
        .map(|p| Placement {
            path: path.to_string(),
            line: p.line,
            method: match p.how {
                How::AlreadyThere => Method::HunkUpstream,
                How::Anchored => Method::HunkAnchored,
                How::Exact | How::Offset => Method::HunkOffset,
            },
            confidence: p.confidence,
            detail: format!("hunk #{}: {}", p.hunk + 1, p.detail),
            text: String::from_utf8_lossy(&p.text).into_owned(),
        })
        .collect()
}

/// Both added the file, differently: the target's text and the patch's, marked.
fn add_add_text(repo: &Repository, ours: Oid, theirs: &[u8], m: &Markers<'_>) -> Result<Vec<u8>> {
    let mut out = format!("<<<<<<< {}\n", m.ours).into_bytes();
    let o = repo.find_blob(ours)?;
    out.extend_from_slice(o.content());
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(b"=======\n");
    out.extend_from_slice(theirs);
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(format!(">>>>>>> {}\n", m.theirs).as_bytes());
    Ok(out)
}
