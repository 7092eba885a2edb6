//! `build`, `boot` and `test`.

use clap::Args;

/// Build a kernel out of tree for one architecture, with verified config fragments.
#[derive(Args, Debug)]
pub struct BuildArgs {}

/// Boot a built kernel in QEMU with a generated initramfs and collect test verdicts.
#[derive(Args, Debug)]
pub struct BootArgs {}

/// Build (if needed), boot and report test verdicts in one command.
#[derive(Args, Debug)]
pub struct TestArgs {}

pub fn run_build(_args: BuildArgs) -> anyhow::Result<u8> {
    anyhow::bail!("build is not built yet (issue #5)")
}

pub fn run_boot(_args: BootArgs) -> anyhow::Result<u8> {
    anyhow::bail!("boot is not built yet (issue #5)")
}

pub fn run_test(_args: TestArgs) -> anyhow::Result<u8> {
    anyhow::bail!("test is not built yet (issue #5)")
}
