//! A queue given as a git range `BASE..HEAD`, walked first-parent, oldest first.

use git2::{Oid, Repository, Sort};

use super::topics::Topics;
use super::{subject_of, Author, QueueCommit, QueueError, Result};

/// The two ends of a range, resolved.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub base: Oid,
    pub head: Oid,
}

pub fn resolve(repo: &Repository, rev: &str) -> Result<Oid> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|source| QueueError::UnknownRev {
            rev: rev.to_string(),
            repo: repo.path().to_path_buf(),
            source,
        })
}

/// Parses and checks `BASE..HEAD`.
pub fn parse_range(repo: &Repository, spec: &str) -> Result<Range> {
    let (base, head) = spec.split_once("..").ok_or_else(|| QueueError::NotARange {
        spec: spec.to_string(),
    })?;
    if base.is_empty() || head.is_empty() || head.starts_with('.') {
        return Err(QueueError::NotARange {
            spec: spec.to_string(),
        });
    }
    let base_id = resolve(repo, base)?;
    let head_id = resolve(repo, head)?;
    if base_id == head_id {
        return Err(QueueError::EmptyRange {
            spec: spec.to_string(),
            base: base.to_string(),
            head: head.to_string(),
        });
    }
    if !repo.graph_descendant_of(head_id, base_id)? {
        return Err(QueueError::NotAncestor {
            base: base.to_string(),
            head: head.to_string(),
        });
    }
    Ok(Range {
        base: base_id,
        head: head_id,
    })
}

/// The commits of the range, oldest first. Merge commits are refused by name: flattening them
/// silently would hide what the queue really is.
pub fn commits(repo: &Repository, range: Range) -> Result<Vec<Oid>> {
    let mut walk = repo.revwalk()?;
    walk.push(range.head)?;
    walk.hide(range.base)?;
    walk.simplify_first_parent()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    let mut ids = Vec::new();
    for id in walk {
        let id = id?;
        let commit = repo.find_commit(id)?;
        if commit.parent_count() > 1 {
            return Err(QueueError::MergeCommit {
                commit: short(id),
                subject: subject_of(commit.message().unwrap_or("")),
            });
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Paths a commit touches relative to its first parent.
pub fn touched_paths(repo: &Repository, id: Oid) -> Result<Vec<String>> {
    let commit = repo.find_commit(id)?;
    let tree = commit.tree()?;
    let parent_tree = match commit.parent(0) {
        Ok(p) => Some(p.tree()?),
        Err(_) => None,
    };
    Ok(
        super::treediff::changed_files(repo, parent_tree.as_ref(), &tree)?
            .into_iter()
            .map(|c| c.path)
            .collect(),
    )
}

/// The queue of a range, classified into topics.
pub fn list(repo: &Repository, spec: &str, topics: &Topics) -> Result<Vec<QueueCommit>> {
    let range = parse_range(repo, spec)?;
    commits(repo, range)?
        .into_iter()
        .map(|id| describe(repo, id, topics))
        .collect()
}

pub fn describe(repo: &Repository, id: Oid, topics: &Topics) -> Result<QueueCommit> {
    let commit = repo.find_commit(id)?;
    let subject = subject_of(&String::from_utf8_lossy(commit.message_bytes()));
    let paths = touched_paths(repo, id)?;
    let topic = topics.classify(&subject, &paths);
    let author = Author::from_signature(&commit.author());
    Ok(QueueCommit {
        id,
        subject,
        author,
        topic,
        paths,
    })
}

pub fn short(id: Oid) -> String {
    id.to_string()[..12].to_string()
}
