//! `ci`.

use clap::Args;

/// Gate a kernel fork: queue check, lint, build, boot and tests; emit CI pipelines.
#[derive(Args, Debug)]
pub struct CiArgs {}

pub fn run(_args: CiArgs) -> anyhow::Result<u8> {
    anyhow::bail!("ci is not built yet (issue #7)")
}
