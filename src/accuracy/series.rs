//! A distribution's quilt series (Debian's `debian/patches/series`, then
//! `debian/patches-rt/series`) as a queue of commits: one commit per patch file, in series
//! order, each carrying its series path as a `Series-Path:` trailer, so tools that take a
//! commit range (`rebase --queue`, `git merge-tree`) can replay it and results can be matched
//! back to the file.
//!
//! Patches are applied with `git apply --cached` on a private index (what quilt's `patch -p1`
//! does, with exact context), so traditional diffs and DEP-3 headers work as well as mails.
//! A patch that does not apply is reported and left out; the next one goes on top of its
//! predecessor.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::process::{Git, ProcessError};

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: patch `{name}` listed here is not a file in {dir}")]
    Missing {
        path: PathBuf,
        line: usize,
        name: String,
        dir: PathBuf,
    },
    #[error("{0}")]
    Process(#[from] ProcessError),
}

type Result<T> = std::result::Result<T, SeriesError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SeriesError + '_ {
    move |source| SeriesError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One patch file of a series.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesPatch {
    /// `<series folder>/<name in the series file>`: `patches/bugfix/x86/foo.patch`.
    pub series_path: String,
    pub file: PathBuf,
    pub subject: String,
}

/// The patches of each `series` folder under `root` (`root/patches/series`...), in order.
/// Comment and blank lines are skipped; a listed file that is missing is an error naming the
/// series line.
pub fn read_series(root: &Path, series: &[String]) -> Result<Vec<SeriesPatch>> {
    let mut out = Vec::new();
    for folder in series {
        let dir = root.join(folder);
        let list = dir.join("series");
        let text = std::fs::read(&list).map_err(io(&list))?;
        let text = String::from_utf8_lossy(&text);
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let file = dir.join(name);
            if !file.is_file() {
                return Err(SeriesError::Missing {
                    path: list.clone(),
                    line: n + 1,
                    name: name.into(),
                    dir: dir.clone(),
                });
            }
            let bytes = std::fs::read(&file).map_err(io(&file))?;
            out.push(SeriesPatch {
                series_path: format!("{folder}/{name}"),
                subject: subject_of_patch(&bytes, name),
                file,
            });
        }
    }
    Ok(out)
}

/// The subject of a patch file: its mail `Subject:` (continuation lines joined, `[PATCH..]`
/// tags stripped), else its DEP-3 `Description:` first line, else its first text line, else
/// the file name.
pub fn subject_of_patch(bytes: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(bytes);
    let header: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("--- ") && !l.starts_with("diff "))
        .collect();
    for key in ["Subject:", "Description:"] {
        if let Some(k) = header.iter().position(|l| {
            l.get(..key.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(key))
        }) {
            let mut s = header[k].get(key.len()..).unwrap_or("").trim().to_string();
            // Mail headers continue on indented lines; DEP-3 long descriptions do too, but
            // their first line is the summary.
            if key == "Subject:" {
                for l in header[k + 1..]
                    .iter()
                    .take_while(|l| l.starts_with([' ', '\t']))
                {
                    s.push(' ');
                    s.push_str(l.trim());
                }
            }
            let s = normalize_subject(&s);
            if !s.is_empty() {
                return s;
            }
        }
    }
    header
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("From ") && !l.contains(": "))
        .map(normalize_subject)
        .unwrap_or_else(|| name.to_string())
}

/// A subject as compared across releases: `[PATCH n/m]`-style tags stripped, whitespace runs
/// collapsed.
pub fn normalize_subject(s: &str) -> String {
    let mut s = s.trim();
    while let Some(rest) = s.strip_prefix('[') {
        match rest.find(']') {
            Some(end) => s = rest[end + 1..].trim_start(),
            None => break,
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One patch of a built queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuiltPatch {
    pub series_path: String,
    pub subject: String,
    /// The commit made for it; `None` when it did not apply.
    pub commit: Option<String>,
    /// Why it did not apply (git apply's message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A queue built from a series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuiltQueue {
    pub base: String,
    pub tip: String,
    pub patches: Vec<BuiltPatch>,
}

impl BuiltQueue {
    pub fn failed(&self) -> impl Iterator<Item = &BuiltPatch> {
        self.patches.iter().filter(|p| p.commit.is_none())
    }
}

/// The trailer recording a commit's series path.
pub const TRAILER: &str = "Series-Path";

/// Commits `patches` in order on `base` (a commit of the bare or normal repository at
/// `git_dir`), one commit per patch file, moving no ref. Author, date and message come from
/// the patch's mail header when it has one; committer and commit date are fixed, so the same
/// series on the same base always gives the same commits.
pub fn build_queue(git_dir: &Path, base: &str, patches: &[SeriesPatch]) -> Result<BuiltQueue> {
    let scratch = tempfile::Builder::new()
        .prefix("series-index-")
        .tempdir()
        .map_err(io(git_dir))?;
    let index = scratch.path().join("index");
    let repo = Git::new(git_dir);
    let mut env: Vec<(&str, &OsStr)> = vec![("GIT_INDEX_FILE", index.as_os_str())];
    env.extend(
        [
            ("GIT_COMMITTER_NAME", "dovetail-port"),
            ("GIT_COMMITTER_EMAIL", "dovetail-port@invalid"),
            ("GIT_COMMITTER_DATE", "1700000000 +0000"),
        ]
        .map(|(k, v)| (k, OsStr::new(v))),
    );
    let git = |args: &[&OsStr], extra: &[(&str, &OsStr)]| {
        repo.command(args)
            .envs(env.iter().chain(extra).copied())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let base = git(
        &["rev-parse".as_ref(), format!("{base}^{{commit}}").as_ref()],
        &[],
    )?;
    git(&["read-tree".as_ref(), base.as_ref()], &[])?;
    let mut parent = base.clone();
    let mut out = Vec::with_capacity(patches.len());
    for p in patches {
        let applied = git(
            &[
                "apply".as_ref(),
                "--cached".as_ref(),
                "-p1".as_ref(),
                "--whitespace=nowarn".as_ref(),
                p.file.as_os_str(),
            ],
            &[],
        );
        if let Err(e) = applied {
            let reason = match e {
                ProcessError::Failed { stderr, .. } => stderr,
                other => other.to_string(),
            };
            out.push(BuiltPatch {
                series_path: p.series_path.clone(),
                subject: p.subject.clone(),
                commit: None,
                error: Some(reason),
            });
            // git apply is atomic: the index is as the predecessor left it.
            continue;
        }
        let tree = git(&["write-tree".as_ref()], &[])?;
        let (message, author) = message_of(p);
        let (name, email) = author.as_ref().map_or(
            ("Debian kernel team", "debian-kernel@lists.debian.org"),
            |a| (a.name.as_str(), a.email.as_str()),
        );
        // A mail without a date parses as time 0, which git refuses: the fixed date then.
        let date = match author.as_ref().filter(|a| a.time > 0) {
            Some(a) => format!(
                "{} {}{:02}{:02}",
                a.time,
                if a.offset < 0 { '-' } else { '+' },
                a.offset.abs() / 60,
                a.offset.abs() % 60
            ),
            None => "1700000000 +0000".to_string(),
        };
        let extra: [(&str, &OsStr); 3] = [
            ("GIT_AUTHOR_NAME", OsStr::new(name)),
            ("GIT_AUTHOR_EMAIL", OsStr::new(email)),
            ("GIT_AUTHOR_DATE", OsStr::new(&date)),
        ];
        let commit = git(
            &[
                "commit-tree".as_ref(),
                tree.as_ref(),
                "-p".as_ref(),
                parent.as_ref(),
                "-m".as_ref(),
                message.as_ref(),
            ],
            &extra,
        )?;
        parent = commit.clone();
        out.push(BuiltPatch {
            series_path: p.series_path.clone(),
            subject: p.subject.clone(),
            commit: Some(commit),
            error: None,
        });
    }
    Ok(BuiltQueue {
        base,
        tip: parent,
        patches: out,
    })
}

/// The commit message (with the series-path trailer) and author of a patch file, from the
/// queue module's mail parser when the file is a mail, else its subject alone.
fn message_of(p: &SeriesPatch) -> (String, Option<crate::queue::Author>) {
    let parsed = crate::queue::patchfile::read_file(&p.file)
        .ok()
        .and_then(|v| v.into_iter().next());
    let (message, author) = match parsed {
        Some(pf) if pf.author.is_some() => (pf.message, pf.author),
        _ => (format!("{}\n", p.subject), None),
    };
    (with_trailer(&message, &p.series_path), author)
}

/// Appends `Series-Path: PATH` to the message's trailer block (a new block when its last
/// paragraph is not one).
pub fn with_trailer(message: &str, path: &str) -> String {
    let body = message.trim_end();
    let last = body.rsplit("\n\n").next().unwrap_or("");
    let is_trailers = body.contains("\n\n")
        && last.lines().all(|l| {
            l.split_once(": ").is_some_and(|(k, _)| {
                !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        });
    let sep = if is_trailers { "\n" } else { "\n\n" };
    format!("{body}{sep}{TRAILER}: {path}\n")
}

/// The series path a commit message records, if any.
pub fn trailer_of(message: &str) -> Option<&str> {
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(TRAILER)?.strip_prefix(": "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_from_mail_dep3_or_first_line() {
        let mail =
            b"From: A <a@b>\nSubject: [PATCH 001/328] z3fold: remove\n preempt sections\n\nbody\n";
        assert_eq!(
            subject_of_patch(mail, "x"),
            "z3fold: remove preempt sections"
        );
        let dep3 = b"Description: Disable the thing\n Long text.\nAuthor: B\n\n--- a/f\n+++ b/f\n";
        assert_eq!(subject_of_patch(dep3, "x"), "Disable the thing");
        let plain = b"Fix  the   foo\n\n--- a/f\n+++ b/f\n";
        assert_eq!(subject_of_patch(plain, "x"), "Fix the foo");
        assert_eq!(
            subject_of_patch(b"--- a/f\n+++ b/f\n", "f.patch"),
            "f.patch"
        );
        assert_eq!(normalize_subject("[PATCH v2 3/4] [RT] a:  b "), "a: b");
    }

    #[test]
    fn trailers_join_an_existing_block_or_start_one() {
        assert_eq!(
            with_trailer("s\n\nbody\n\nSigned-off-by: A <a@b>\n", "patches/x.patch"),
            "s\n\nbody\n\nSigned-off-by: A <a@b>\nSeries-Path: patches/x.patch\n"
        );
        assert_eq!(
            with_trailer("s\n", "patches-rt/0001-y.patch"),
            "s\n\nSeries-Path: patches-rt/0001-y.patch\n"
        );
        let m = with_trailer("s\n\nbody text\n", "p/q.patch");
        assert_eq!(m, "s\n\nbody text\n\nSeries-Path: p/q.patch\n");
        assert_eq!(trailer_of(&m), Some("p/q.patch"));
        assert_eq!(trailer_of("s\n"), None);
    }
}
