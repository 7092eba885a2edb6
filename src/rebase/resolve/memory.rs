//! Stage 0: resolutions a human made before, found again by what the conflict *is* rather than
//! by its text. A record is keyed by (file, enclosing C function/struct, the normalised lines
//! each side changed against the base), so it still matches when line numbers, the code around
//! the region or the unchanged lines inside it moved; rerere keys on the exact conflict text
//! and libgit2 has no rerere at all.
//!
//! Records are taken from the worktree on `rebase --continue` and live one JSON file per key
//! in `<git dir>/dovetail-port/resolutions/`, which `--abort` and a finished session leave
//! alone. `dovetail-port resolutions export/import` carries them between repositories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use similar::{Algorithm, DiffOp};

use super::diff3::{self, Region, Segment};
use super::{Confidence, Context, Decision};

/// The bundle format `export` writes and `import` reads.
pub const BUNDLE_FORMAT: &str = "dovetail-port-resolutions";
pub const BUNDLE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a recorded resolution ({message}): fix or delete the file")]
    BadRecord { path: PathBuf, message: String },
    #[error(
        "{path}: not a dovetail-port resolution bundle ({message}): make one with `dovetail-port resolutions export`"
    )]
    BadBundle { path: PathBuf, message: String },
}

type Result<T> = std::result::Result<T, MemoryError>;

/// One recorded resolution of one conflict region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: String,
    pub path: String,
    /// The C function or struct around the region, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The target side's change against the base: `-line`/`+line`, whitespace-normalised.
    pub ours_change: Vec<String>,
    /// The queue patch's change against the base, the same way.
    pub theirs_change: Vec<String>,
    pub ours: Vec<String>,
    pub base: Vec<String>,
    pub theirs: Vec<String>,
    /// What the human replaced the region with.
    pub resolution: Vec<String>,
    /// The patch it was recorded for (`key subject`).
    #[serde(default)]
    pub recorded_for: String,
}

/// Collapses whitespace so reindenting does not make a different change.
fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines `side` changed against `base`, in order, as `-old`/`+new`.
pub fn change_lines(base: &[String], side: &[String]) -> Vec<String> {
    let b: Vec<String> = base.iter().map(|l| normalize(l)).collect();
    let s: Vec<String> = side.iter().map(|l| normalize(l)).collect();
    let mut out = Vec::new();
    for op in similar::capture_diff_slices(Algorithm::Myers, &b, &s) {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        out.extend(
            b[old]
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| format!("-{l}")),
        );
        out.extend(
            s[new]
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| format!("+{l}")),
        );
    }
    out
}

/// The semantic key of a conflict region.
pub fn key(path: &str, scope: Option<&str>, region: &Region) -> String {
    let text = format!(
        "{path}\0{}\0{}\0{}",
        scope.unwrap_or(""),
        change_lines(&region.base, &region.ours).join("\n"),
        change_lines(&region.base, &region.theirs).join("\n"),
    );
    git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// The recorded resolutions of one repository.
#[derive(Debug, Default)]
pub struct Memory {
    records: BTreeMap<String, Record>,
}

impl Memory {
    pub fn dir(git_dir: &Path) -> PathBuf {
        git_dir.join("dovetail-port").join("resolutions")
    }

    /// Reads every record; a missing folder is an empty memory.
    pub fn load(git_dir: &Path) -> Result<Memory> {
        let dir = Self::dir(git_dir);
        let mut records = BTreeMap::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Memory::default()),
            Err(source) => return Err(MemoryError::Io { path: dir, source }),
        };
        for entry in entries {
            let path = entry
                .map_err(|source| MemoryError::Io {
                    path: dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| MemoryError::Io {
                path: path.clone(),
                source,
            })?;
            let record: Record =
                serde_json::from_str(&text).map_err(|e| MemoryError::BadRecord {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            records.insert(record.key.clone(), record);
        }
        Ok(Memory { records })
    }

    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    pub fn get(&self, key: &str) -> Option<&Record> {
        self.records.get(key)
    }

    /// Records whose key starts with `prefix` (as git abbreviates ids).
    pub fn find(&self, prefix: &str) -> Vec<&Record> {
        self.records
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, r)| r)
            .collect()
    }

    /// Writes one record (by write-then-rename) and keeps it.
    pub fn save(&mut self, git_dir: &Path, record: Record) -> Result<()> {
        let dir = Self::dir(git_dir);
        std::fs::create_dir_all(&dir).map_err(|source| MemoryError::Io {
            path: dir.clone(),
            source,
        })?;
        // Keys name files: only a key of the form this tool makes (a hex object id) does.
        if record.key.is_empty() || !record.key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MemoryError::BadRecord {
                path: dir,
                message: format!("key `{}` is not a hex id", record.key.escape_default()),
            });
        }
        let path = dir.join(format!("{}.json", record.key));
        let text = serde_json::to_string_pretty(&record).expect("records serialise");
        let io = |source| MemoryError::Io {
            path: path.clone(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".record-")
            .tempfile_in(&dir)
            .map_err(io)?;
        std::io::Write::write_all(&mut tmp, (text + "\n").as_bytes()).map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        self.records.insert(record.key.clone(), record);
        Ok(())
    }

    /// Deletes one record.
    pub fn forget(&mut self, git_dir: &Path, key: &str) -> Result<bool> {
        let path = Self::dir(git_dir).join(format!("{key}.json"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(MemoryError::Io { path, source }),
        }
        Ok(self.records.remove(key).is_some())
    }

    /// The records as one shareable file.
    pub fn export(&self) -> String {
        let bundle = Bundle {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            records: self.records.values().cloned().collect(),
        };
        serde_json::to_string_pretty(&bundle).expect("bundles serialise") + "\n"
    }

    /// Reads a bundle written by `export`.
    pub fn read_bundle(path: &Path) -> Result<Vec<Record>> {
        let text = std::fs::read_to_string(path).map_err(|source| MemoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |message: String| MemoryError::BadBundle {
            path: path.to_path_buf(),
            message,
        };
        let bundle: Bundle = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(bad(format!("format is `{}`", bundle.format)));
        }
        if bundle.version != BUNDLE_VERSION {
            return Err(bad(format!(
                "version {} (this dovetail-port reads {BUNDLE_VERSION})",
                bundle.version
            )));
        }
        for r in &bundle.records {
            let region = Region {
                ours: r.ours.clone(),
                base: r.base.clone(),
                theirs: r.theirs.clone(),
            };
            if key(&r.path, r.scope.as_deref(), &region) != r.key {
                return Err(bad(format!(
                    "record {} of {} does not match its key (edited by hand?)",
                    short(&r.key),
                    r.path
                )));
            }
        }
        Ok(bundle.records)
    }

    /// Adds records from a bundle. A record whose key is known with another resolution is
    /// kept as it is here unless `replace`: a team member's choice never silently overwrites
    /// one's own.
    pub fn import(
        &mut self,
        git_dir: &Path,
        records: Vec<Record>,
        replace: bool,
    ) -> Result<ImportSummary> {
        let mut summary = ImportSummary::default();
        for record in records {
            match self.records.get(&record.key) {
                Some(have) if have.resolution == record.resolution => summary.known += 1,
                Some(_) if !replace => summary.differing.push(record.key.clone()),
                had => {
                    if had.is_some() {
                        summary.replaced += 1;
                    } else {
                        summary.added += 1;
                    }
                    self.save(git_dir, record)?;
                }
            }
        }
        Ok(summary)
    }

    /// The stage: a recorded resolution of this same conflict, adapted to the region's context
    /// when the unchanged lines moved.
    pub fn resolve(&self, ctx: &Context<'_>, r: &Region) -> Decision {
        if self.records.is_empty() {
            return Decision::Pass;
        }
        let scope = crate::syntax::c::enclosing(ctx.path, &ctx.before);
        let k = key(ctx.path, scope.as_deref(), r);
        let Some(rec) = self.records.get(&k) else {
            return Decision::Pass;
        };
        let origin = if rec.recorded_for.is_empty() {
            String::new()
        } else {
            format!(" (made for {})", rec.recorded_for)
        };
        if same(&rec.ours, &r.ours) && same(&rec.base, &r.base) && same(&rec.theirs, &r.theirs) {
            return Decision::Resolve {
                lines: rec.resolution.clone(),
                confidence: Confidence::High,
                detail: format!("recorded resolution {}{origin}, same conflict", short(&k)),
            };
        }
        // Same changes, other context: carry the context's move from the recorded base to this
        // base onto each recorded side; only when that reproduces both sides exactly is the
        // same move applied to the resolution.
        let carried = |side: &[String]| merge3(&rec.base, &r.base, side);
        let fits = carried(&rec.ours).is_some_and(|o| o == r.ours)
            && carried(&rec.theirs).is_some_and(|t| t == r.theirs);
        match carried(&rec.resolution) {
            Some(lines) if fits => Decision::Resolve {
                lines,
                confidence: Confidence::Medium,
                detail: format!(
                    "recorded resolution {}{origin}, adapted to context that moved",
                    short(&k)
                ),
            },
            _ => Decision::Refuse(format!(
                "recorded resolution {}{origin} matches this change but not its context: see `dovetail-port resolutions show {}`",
                short(&k),
                short(&k)
            )),
        }
    }
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    /// Already recorded with the same resolution.
    pub known: usize,
    pub replaced: usize,
    /// Keys recorded here with another resolution, left as they were.
    pub differing: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Bundle {
    format: String,
    version: u32,
    records: Vec<Record>,
}

/// The first 12 characters of a key (keys come from users' imported files: not always ASCII).
pub fn short(key: &str) -> &str {
    match key.char_indices().nth(12) {
        Some((end, _)) => &key[..end],
        None => key,
    }
}

fn same(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.trim_end_matches(['\n', '\r']) == y.trim_end_matches(['\n', '\r']))
}

/// A line-level three-way merge for small texts: both sides' changes against `base` applied
/// together, `None` when they touch the same or adjacent base lines.
pub fn merge3(base: &[String], a: &[String], b: &[String]) -> Option<Vec<String>> {
    // (base start, base end, replacement) for every change of a side.
    let edits = |side: &[String]| -> Vec<(usize, usize, Vec<String>)> {
        similar::capture_diff_slices(Algorithm::Myers, base, side)
            .into_iter()
            .filter(|op| !matches!(op, DiffOp::Equal { .. }))
            .map(|op| {
                let (_, old, new) = op.as_tag_tuple();
                (old.start, old.end, side[new].to_vec())
            })
            .collect()
    };
    let (ea, eb) = (edits(a), edits(b));
    let clash = |x: &(usize, usize, Vec<String>), y: &(usize, usize, Vec<String>)| {
        if x == y {
            return false;
        }
        // Replacing neighbouring lines is unambiguous; an insertion at the edge of the other
        // side's change is not (which goes first would be a guess), nor is any overlap.
        let insertion_at = |p: usize, r: &(usize, usize, Vec<String>)| r.0 <= p && p <= r.1;
        (x.0 < y.1 && y.0 < x.1)
            || (x.0 == x.1 && insertion_at(x.0, y))
            || (y.0 == y.1 && insertion_at(y.0, x))
    };
    if ea.iter().any(|x| eb.iter().any(|y| clash(x, y))) {
        return None;
    }
    let mut all: Vec<_> = ea.into_iter().chain(eb).collect();
    all.sort_by_key(|e| (e.0, e.1));
    all.dedup();
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end, lines) in all {
        out.extend_from_slice(&base[at..start]);
        out.extend(lines);
        at = end;
    }
    out.extend_from_slice(&base[at..]);
    Some(out)
}

/// A conflict region the user resolved, taken from the worktree.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub region: Region,
    /// The target-side text before the region (for its enclosing declaration).
    pub before: String,
    pub resolution: Vec<String>,
}

/// Pairs each conflict region of `marked` (the file as checked out, with diff3 markers) with
/// what the user made of it in `resolved`. Lines outside the regions anchor the pairing; a
/// region whose neighbouring lines the user also edited is left out, since its resolution
/// cannot be told apart from those edits.
pub fn extract(marked: &str, resolved: &str) -> Vec<Resolved> {
    let Some(segments) = diff3::parse(marked) else {
        return Vec::new();
    };
    let old: Vec<&str> = marked.split_inclusive('\n').collect();
    let new: Vec<&str> = resolved.split_inclusive('\n').collect();
    // For every line of `marked` that survived untouched: its line in `resolved`.
    let mut mapped = vec![None; old.len()];
    for op in similar::capture_diff_slices(Algorithm::Patience, &old, &new) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                mapped[old_index + k] = Some(new_index + k);
            }
        }
    }
    let mut out = Vec::new();
    let mut line = 0;
    let mut before = String::new();
    for seg in &segments {
        match seg {
            Segment::Plain(lines) => {
                line += lines.len();
                before.extend(lines.iter().map(String::as_str));
            }
            Segment::Conflict(region) => {
                let start = line;
                let end = start + region.ours.len() + region.base.len() + region.theirs.len() + 4;
                line = end;
                // The region's own neighbours must be untouched (or the file's edges).
                let from = match start.checked_sub(1) {
                    None => Some(0),
                    Some(p) => mapped[p].map(|n| n + 1),
                };
                let to = if end == old.len() {
                    Some(new.len())
                } else if segment_starts_conflict(&old, end) {
                    None
                } else {
                    mapped[end]
                };
                if let (Some(from), Some(to)) = (from, to) {
                    if from <= to {
                        out.push(Resolved {
                            region: region.clone(),
                            before: before.clone(),
                            resolution: new[from..to].iter().map(|l| l.to_string()).collect(),
                        });
                    }
                }
                before.extend(region.ours.iter().map(String::as_str));
            }
        }
    }
    out
}

fn segment_starts_conflict(lines: &[&str], k: usize) -> bool {
    lines.get(k).is_some_and(|l| l.starts_with("<<<<<<<"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_inclusive('\n').map(str::to_string).collect()
    }

    fn region(ours: &str, base: &str, theirs: &str) -> Region {
        Region {
            ours: v(ours),
            base: v(base),
            theirs: v(theirs),
        }
    }

    const MARKED: &str = "int f(void)\n{\n<<<<<<< ours\n\treturn g(1);\n||||||| base\n\treturn g(0);\n=======\n\treturn h(0);\n>>>>>>> theirs\n}\n";

    #[test]
    fn change_lines_ignore_indentation() {
        let a = change_lines(&v("x\n y  = 1;\n"), &v("x\n\ty = 2;\n"));
        assert_eq!(a, vec!["-y = 1;", "+y = 2;"]);
        assert_eq!(
            change_lines(&v("a\n"), &v("  a\n")),
            Vec::<String>::new(),
            "reindenting is no change"
        );
    }

    #[test]
    fn key_ignores_unchanged_lines_and_names_the_file() {
        let r1 = region("a\nX\n", "a\nx\n", "a\ny\n");
        let r2 = region("b\nX\n", "b\nx\n", "b\ny\n");
        assert_eq!(key("f.c", Some("f"), &r1), key("f.c", Some("f"), &r2));
        assert_ne!(key("f.c", Some("f"), &r1), key("g.c", Some("f"), &r1));
        assert_ne!(key("f.c", Some("f"), &r1), key("f.c", Some("g"), &r1));
        let r3 = region("a\nX\n", "a\nx\n", "a\nz\n");
        assert_ne!(key("f.c", None, &r1), key("f.c", None, &r3));
    }

    #[test]
    fn merge3_applies_far_changes_and_refuses_close_ones() {
        let base = v("1\n2\n3\n4\n5\n");
        let a = v("1\nA\n3\n4\n5\n");
        let b = v("1\n2\n3\n4\nB\n");
        assert_eq!(merge3(&base, &a, &b).unwrap(), v("1\nA\n3\n4\nB\n"));
        let c = v("1\n2\nC\n4\n5\n");
        assert_eq!(
            merge3(&base, &a, &c).unwrap(),
            v("1\nA\nC\n4\n5\n"),
            "neighbouring lines replaced"
        );
        let d = v("1\nD\n2\n3\n4\n5\n");
        assert!(
            merge3(&base, &a, &d).is_none(),
            "insertion at the edge of a change"
        );
        let e = v("1\nE\n3\n4\n5\n");
        assert!(merge3(&base, &a, &e).is_none(), "the same line, two ways");
        assert_eq!(merge3(&base, &a, &a).unwrap(), a, "the same change twice");
    }

    #[test]
    fn extracts_the_users_resolution_of_each_region() {
        let resolved = "int f(void)\n{\n\treturn h(1);\n}\n";
        let got = extract(MARKED, resolved);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].resolution, v("\treturn h(1);\n"));
        assert_eq!(got[0].region.theirs, v("\treturn h(0);\n"));
        assert_eq!(
            crate::syntax::c::enclosing("a.c", &got[0].before).as_deref(),
            Some("f")
        );
    }

    #[test]
    fn a_region_whose_neighbours_were_edited_is_not_recorded() {
        let resolved = "int f(int x)\n{\n\treturn h(x);\n}\n";
        let got = extract(MARKED, resolved);
        assert_eq!(got.len(), 1, "the `{{` line still anchors it");
        let resolved = "int f(void)\n{ /* edited */\n\treturn h(1);\n}\n";
        assert!(extract(MARKED, resolved).is_empty());
    }

    #[test]
    fn resolves_the_same_conflict_and_adapts_to_moved_context() {
        let mut memory = Memory::default();
        let rec_region = region(
            "\ta = 1;\n\tg(1);\n",
            "\ta = 1;\n\tg(0);\n",
            "\ta = 1;\n\th(0);\n",
        );
        let ctx = Context {
            path: "x.c",
            before: "void f(void)\n{\n".into(),
            after: String::new(),
            at_end: false,
            target: None,
        };
        let k = key("x.c", Some("f"), &rec_region);
        memory.records.insert(
            k.clone(),
            Record {
                key: k,
                path: "x.c".into(),
                scope: Some("f".into()),
                ours_change: vec![],
                theirs_change: vec![],
                ours: rec_region.ours.clone(),
                base: rec_region.base.clone(),
                theirs: rec_region.theirs.clone(),
                resolution: v("\ta = 1;\n\th(1);\n"),
                recorded_for: "abc fix".into(),
            },
        );
        let Decision::Resolve {
            lines, confidence, ..
        } = memory.resolve(&ctx, &rec_region)
        else {
            panic!("exact match must resolve");
        };
        assert_eq!(lines, v("\ta = 1;\n\th(1);\n"));
        assert_eq!(confidence, Confidence::High);

        // The unchanged line inside the region moved on: the same move lands in the result.
        let moved = region(
            "\ta = 2;\n\tg(1);\n",
            "\ta = 2;\n\tg(0);\n",
            "\ta = 2;\n\th(0);\n",
        );
        let Decision::Resolve {
            lines, confidence, ..
        } = memory.resolve(&ctx, &moved)
        else {
            panic!("moved context must adapt");
        };
        assert_eq!(lines, v("\ta = 2;\n\th(1);\n"));
        assert_eq!(confidence, Confidence::Medium);

        // Another function: another key, nothing recorded.
        let elsewhere = Context {
            path: "x.c",
            before: "void other(void)\n{\n".into(),
            after: String::new(),
            at_end: false,
            target: None,
        };
        assert!(matches!(
            memory.resolve(&elsewhere, &rec_region),
            Decision::Pass
        ));
    }

    #[test]
    fn saves_loads_exports_and_checks_bundles() {
        let dir = tempfile::tempdir().unwrap();
        let r = region("X\n", "x\n", "y\n");
        let k = key("a/b.c", None, &r);
        let record = Record {
            key: k.clone(),
            path: "a/b.c".into(),
            scope: None,
            ours_change: change_lines(&r.base, &r.ours),
            theirs_change: change_lines(&r.base, &r.theirs),
            ours: r.ours.clone(),
            base: r.base.clone(),
            theirs: r.theirs.clone(),
            resolution: v("Y\n"),
            recorded_for: String::new(),
        };
        let mut m = Memory::default();
        m.save(dir.path(), record.clone()).unwrap();
        let loaded = Memory::load(dir.path()).unwrap();
        assert_eq!(loaded.get(&k), Some(&record));
        assert_eq!(loaded.find(&k[..7]).len(), 1);

        let bundle = dir.path().join("bundle.json");
        std::fs::write(&bundle, loaded.export()).unwrap();
        assert_eq!(Memory::read_bundle(&bundle).unwrap(), vec![record]);

        let tampered = loaded
            .export()
            .replace("\"Y\\n\"", "\"Z\\n\"")
            .replace("\"X\\n\"", "\"W\\n\"");
        std::fs::write(&bundle, tampered).unwrap();
        let err = Memory::read_bundle(&bundle).unwrap_err().to_string();
        assert!(err.contains("does not match its key"), "{err}");

        std::fs::write(Memory::dir(dir.path()).join("broken.json"), "{").unwrap();
        let err = Memory::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("broken.json") && err.contains("fix or delete"),
            "{err}"
        );
    }
}
