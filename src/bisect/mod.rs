//! `bisect`: name the queue patch that broke the build, the boot or a test.
//!
//! [`run`] walks a queue `BASE..HEAD`: it checks the head, learns from that build which
//! paths this architecture and configuration compile ([`impact`]), and bisects only the
//! patches that can matter ([`search`]), each step in a workspace of its own
//! ([`workspace`]) with one reused out-of-tree build folder, each verdict cached by tree id
//! ([`cache`]). The guilty patch comes with its evidence ([`evidence`]).

pub mod cache;
pub mod check;
pub mod engine;
pub mod evidence;
pub mod impact;
pub mod report;
pub mod search;
pub mod workspace;

use std::path::PathBuf;

pub use check::{CheckSpec, KernelSetup};
pub use engine::run;
pub use report::{BisectReport, Outcome};
pub use search::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum BisectError {
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error("{0}")]
    Git(#[from] git2::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    BadData { path: PathBuf, message: String },
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error(transparent)]
    Build(#[from] crate::kbuild::KbuildError),
    #[error(transparent)]
    Boot(#[from] crate::boot::BootError),
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    #[error("{0}")]
    Usage(String),
    #[error(
        "could not start `{program}`: {source} (give the command as a path or a name on PATH)"
    )]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the check command was stopped ({status}); the bisection stops too (exit 125 marks a tree untestable, 1-127 failing)\n{output_tail}")]
    CommandAborted { status: String, output_tail: String },
    #[error("another bisection is using {}: wait for it to finish, or pass --workspace DIR", .0.display())]
    Busy(PathBuf),
    #[error("the head {commit} cannot be checked: {evidence}\n  (fix the check setup, e.g. --config/--fragment, and run again)")]
    HeadUntestable { commit: String, evidence: String },
}

/// What to bisect and how.
#[derive(Debug, Clone)]
pub struct BisectOptions {
    /// The repository holding the queue (any folder inside it).
    pub repo: PathBuf,
    /// `BASE..HEAD`.
    pub queue: String,
    pub check: CheckSpec,
    pub kernel: KernelSetup,
    /// Topic rules; default `patchsets/dovetail.toml`.
    pub topics: Option<PathBuf>,
    /// Skip patches that cannot matter (on by default).
    pub impact: bool,
    /// Reuse cached verdicts (they are always written).
    pub use_cache: bool,
    /// Where the steps run; default under the cache, one per repository.
    pub workspace: Option<PathBuf>,
    /// Where verdicts are cached; default `<cache>/bisect/verdicts`.
    pub verdicts: Option<PathBuf>,
}

impl BisectOptions {
    pub fn new(repo: impl Into<PathBuf>, queue: &str, check: CheckSpec) -> Self {
        BisectOptions {
            repo: repo.into(),
            queue: queue.to_string(),
            check,
            kernel: KernelSetup::default(),
            topics: None,
            impact: true,
            use_cache: true,
            workspace: None,
            verdicts: None,
        }
    }
}
