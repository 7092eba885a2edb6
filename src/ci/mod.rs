//! `ci`: the gate for a kernel fork and its pipeline emitters.
//!
//! [`config`] reads `dovetail-port.toml`; [`run::run`] runs the gates locally (queue check in a
//! scratch repository, lint, then each matrix entry's build → boot → tests) into a
//! [`run::CiReport`] that [`report`] renders; [`emit`] writes the same matrix as GitLab CI,
//! GitHub Actions and LAVA jobs.

pub mod codequality;
pub mod config;
pub mod emit;
pub mod init;
pub mod lint_gate;
pub mod queue_gate;
pub mod report;
pub mod run;
pub mod shell;
pub mod yaml;

use std::path::PathBuf;

pub use config::Config;
pub use run::{run, CiReport, Event, GateResult, Only, RunOptions, Status};

#[derive(Debug, thiserror::Error)]
pub enum CiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    BadConfig {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("no {} in {} (or its parents): create one with `dovetail-port ci init`", config::FILE_NAME, .0.display())]
    NoConfig(PathBuf),
    #[error("{} already exists", .0.display())]
    ConfigExists(PathBuf),
    #[error("`{spec}` is not a commit in {}: fetch it, or fix [queue] in dovetail-port.toml", repo.display())]
    UnknownRef { spec: String, repo: PathBuf },
    #[error("no matrix entry named `{name}` (entries: {known})")]
    UnknownEntry { name: String, known: String },
    #[error("queue check: {0}")]
    Rebase(crate::rebase::RebaseError),
    #[error("lint gate: {0}")]
    Lint(String),
    #[error("{0}")]
    Git(#[from] git2::Error),
}

/// The fork root for `start`: the nearest folder (itself or a parent) with a config file.
pub fn find_root(start: &std::path::Path) -> Result<PathBuf, CiError> {
    let abs = start.canonicalize().map_err(|e| CiError::Io {
        path: start.to_path_buf(),
        source: e,
    })?;
    abs.ancestors()
        .find(|d| d.join(config::FILE_NAME).is_file())
        .map(|d| d.to_path_buf())
        .ok_or_else(|| CiError::NoConfig(abs.clone()))
}
