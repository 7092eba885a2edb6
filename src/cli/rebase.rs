//! `rebase`.

use clap::Args;

/// Forward-port the patch queue onto a new kernel base, in memory.
#[derive(Args, Debug)]
pub struct RebaseArgs {
    /// The new base: a tag, branch or commit.
    pub target: Option<String>,
}

pub fn run(_args: RebaseArgs) -> anyhow::Result<u8> {
    anyhow::bail!("rebase is not built yet (issue #2)")
}
