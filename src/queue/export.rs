//! Writing a queue out as a `git format-patch` mbox series or a quilt series directory.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::{QueueError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One mail per patch (`0001-subject.patch`), like `git format-patch`, plus a `series`.
    Mbox,
    /// Quilt: a description and the diff per file, and a `series` file.
    Quilt,
}

/// Writes the commits into `dir` (created if needed) and returns the files written.
pub fn export(
    repo: &Repository,
    commits: &[Oid],
    dir: &Path,
    format: ExportFormat,
) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| QueueError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    let mut series = String::new();
    for (n, id) in commits.iter().enumerate() {
        let commit = repo.find_commit(*id)?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let subject = super::subject_of(&message);
        let name = format!("{:04}-{}.patch", n + 1, slug(&subject));
        let path = dir.join(&name);
        let parent_tree = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
        let diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&commit.tree()?), None)?;
        let body = message
            .split_once('\n')
            .map(|(_, b)| b.trim().to_string())
            .unwrap_or_default();
        let text = match format {
            ExportFormat::Mbox => {
                let mut opts = git2::EmailCreateOptions::new();
                let email = git2::Email::from_diff(
                    &diff,
                    n + 1,
                    commits.len(),
                    id,
                    subject.as_str(),
                    body.as_str(),
                    &commit.author(),
                    &mut opts,
                )?;
                email.as_slice().to_vec()
            }
            ExportFormat::Quilt => {
                let author = commit.author();
                let mut text = format!(
                    "From: {} <{}>\nSubject: {}\n\n{}\n---\n",
                    String::from_utf8_lossy(author.name_bytes()),
                    String::from_utf8_lossy(author.email_bytes()),
                    subject,
                    body
                )
                .into_bytes();
                diff.print(git2::DiffFormat::Patch, |_, _, line| {
                    if matches!(line.origin(), '+' | '-' | ' ') {
                        text.push(line.origin() as u8);
                    }
                    text.extend_from_slice(line.content());
                    true
                })?;
                text
            }
        };
        std::fs::write(&path, text).map_err(io(&path))?;
        series.push_str(&name);
        series.push('\n');
        written.push(path);
    }
    let series_path = dir.join("series");
    std::fs::write(&series_path, series).map_err(io(&series_path))?;
    Ok(written)
}

/// A file-name-safe form of a subject, as format-patch makes it.
fn slug(subject: &str) -> String {
    let mut out = String::new();
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.']);
    out.chars()
        .take(52)
        .collect::<String>()
        .trim_end_matches(['-', '.'])
        .to_string()
}

/// Writes the whole range as one patch (like the historical `ipipe-core-*.patch` files).
pub fn squashed(repo: &Repository, base: Oid, head: Oid, out: &Path) -> Result<()> {
    let old = repo.find_commit(base)?.tree()?;
    let new = repo.find_commit(head)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    let mut text = format!(
        "Squashed queue {}..{}\n\n",
        &base.to_string()[..12],
        &head.to_string()[..12]
    )
    .into_bytes();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            text.push(line.origin() as u8);
        }
        text.extend_from_slice(line.content());
        true
    })?;
    std::fs::write(out, text).map_err(|source| QueueError::Io {
        path: out.to_path_buf(),
        source,
    })
}
