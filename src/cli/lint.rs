//! `lint`.

use clap::Args;

/// Check C sources for calls to in-band-only services from out-of-band context.
#[derive(Args, Debug)]
pub struct LintArgs {}

pub fn run(_args: LintArgs) -> anyhow::Result<u8> {
    anyhow::bail!("lint is not built yet (issue #4)")
}
