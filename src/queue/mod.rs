//! The patch queue: the commits `BASE..HEAD` of a kernel repository, or a series of patch
//! files (git format-patch mbox, a quilt `series` directory, one squashed patch), each item
//! classified into a topic by the rules in `patchsets/dovetail.toml`.

pub mod apply;
pub mod export;
pub mod patchfile;
pub mod range;
pub mod topics;
pub mod treediff;
pub mod unidiff;

use std::path::PathBuf;

use git2::Oid;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("{0}")]
    Git(#[from] git2::Error),
    #[error("`{spec}` is not a range: write it as BASE..HEAD (e.g. v6.1..dovetail-6.1)")]
    NotARange { spec: String },
    #[error(
        "cannot resolve `{rev}` in {repo}: {source} (check the name with `git rev-parse {rev}`)"
    )]
    UnknownRev {
        rev: String,
        repo: PathBuf,
        source: git2::Error,
    },
    #[error("{base} is not an ancestor of {head}: pick the base the queue was built on")]
    NotAncestor { base: String, head: String },
    #[error("the range {spec} is empty: {head} has no commits on top of {base}")]
    EmptyRange {
        spec: String,
        base: String,
        head: String,
    },
    #[error(
        "{commit} ({subject}) is a merge commit: a queue must be linear; rebase it onto its first parent or split the range at the merge"
    )]
    MergeCommit { commit: String, subject: String },
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Topics { path: PathBuf, message: String },
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("branch `{0}` already exists")]
    BranchExists(String),
    #[error("{path}: patch `{subject}` does not apply on {base}: {source}")]
    DoesNotApply {
        path: PathBuf,
        subject: String,
        base: String,
        source: git2::Error,
    },
}

pub type Result<T> = std::result::Result<T, QueueError>;

/// What [`import`] made: the new commits, oldest first, and the branch's tip.
#[derive(Debug, Clone)]
pub struct Imported {
    pub commits: Vec<Oid>,
    pub tip: Oid,
}

/// `queue import`: commits the patch files of `series` (a quilt folder with its `series` file,
/// an mbox, or a folder of patches) on `onto` in the object database (nothing checked out
/// changes) and points `branch` at the last one. An existing `branch` is left alone unless
/// `replace`. Patches without an author get the repository's identity.
pub fn import(
    repo: &git2::Repository,
    onto: &str,
    series: &std::path::Path,
    branch: &str,
    replace: bool,
) -> Result<Imported> {
    let base = range::resolve(repo, onto)?;
    if !replace && repo.find_branch(branch, git2::BranchType::Local).is_ok() {
        return Err(QueueError::BranchExists(branch.to_string()));
    }
    let patches = patchfile::read_queue(series)?;
    let identity = repo
        .signature()
        .or_else(|_| git2::Signature::now("dovetail-port", "dovetail-port@localhost"))?;
    let commits = apply::apply_series(repo, base, &patches, &Author::from_signature(&identity))?;
    let tip = *commits.last().unwrap_or(&base);
    repo.reference(
        &format!("refs/heads/{branch}"),
        tip,
        replace,
        "dovetail-port queue import",
    )?;
    Ok(Imported { commits, tip })
}

/// Who wrote a patch, as recorded in the commit or the mail header.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Offset from UTC in minutes.
    pub offset: i32,
}

impl Author {
    pub fn from_signature(sig: &git2::Signature<'_>) -> Self {
        Author {
            name: String::from_utf8_lossy(sig.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(sig.email_bytes()).into_owned(),
            time: sig.when().seconds(),
            offset: sig.when().offset_minutes(),
        }
    }

    pub fn to_signature(&self) -> std::result::Result<git2::Signature<'static>, git2::Error> {
        git2::Signature::new(
            &self.name,
            &self.email,
            &git2::Time::new(self.time, self.offset),
        )
    }
}

/// One commit of a queue given as a git range.
#[derive(Debug, Clone, Serialize)]
pub struct QueueCommit {
    #[serde(serialize_with = "serialize_oid")]
    pub id: Oid,
    pub subject: String,
    pub author: Author,
    pub topic: String,
    /// Paths the commit touches (old and new names for renames).
    pub paths: Vec<String>,
}

pub fn serialize_oid<S: serde::Serializer>(
    oid: &Oid,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&oid.to_string())
}

/// The first line of a commit message.
pub fn subject_of(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}
