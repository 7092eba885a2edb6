//! `new-arch` and `arch-status`: scaffold and measure Dovetail/EVL architecture ports.
//!
//! Knowledge lives in `arch-templates/` (ISA descriptors, the checklist with its checks,
//! the generic templates); this module loads it ([`data`]), reads the target tree
//! ([`tree`], [`kconfig`], [`cindex`]), plans and applies a scaffold ([`scaffold`]) and
//! evaluates the checklist ([`status`]).

pub mod cindex;
pub mod data;
pub mod kconfig;
pub mod porting;
pub mod scaffold;
pub mod status;
pub mod template;
pub mod tree;

use std::path::PathBuf;

pub use scaffold::{new_arch, Change, ChangeKind, NewArchOptions, ScaffoldReport};
pub use status::{status, ArchStatus, CheckOutcome, CheckState, StatusOptions, StepState};

#[derive(Debug, thiserror::Error)]
pub enum ArchError {
    #[error(
        "unknown architecture `{arch}`; known descriptors: {}. To add one, copy a descriptor \
         in {} to {arch}.toml and adapt its facts and paths",
        known.join(", "),
        dir.display()
    )]
    UnknownArch {
        arch: String,
        known: Vec<String>,
        dir: PathBuf,
    },
    #[error("{}: not a kernel tree (no Makefile and arch/{arch}/ there)", tree.display())]
    NotAKernelTree { tree: PathBuf, arch: String },
    #[error("{}: {message}", path.display())]
    Data { path: PathBuf, message: String },
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}; fix the Kconfig structure, then rerun", path.display())]
    Kconfig {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Edit { path: PathBuf, message: String },
    #[error(
        "refusing to overwrite {} existing file(s) that differ from the scaffold: {}; \
         nothing was written",
        paths.len(),
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    WouldOverwrite { paths: Vec<PathBuf> },
    #[error("template {}: {message}", path.display())]
    Template { path: PathBuf, message: String },
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ArchError + '_ {
    move |source| ArchError::Io {
        path: path.to_path_buf(),
        source,
    }
}
