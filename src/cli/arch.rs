//! `new-arch` and `arch-status`.

use clap::Args;

/// Scaffold a Dovetail/EVL port for a new CPU architecture from arch-templates/.
#[derive(Args, Debug)]
pub struct NewArchArgs {
    /// Architecture name (a descriptor in arch-templates/).
    pub arch: String,
}

/// Measure how complete a Dovetail/EVL architecture port is, step by step.
#[derive(Args, Debug)]
pub struct ArchStatusArgs {
    /// Architecture name (a descriptor in arch-templates/).
    pub arch: String,
}

pub fn run_new_arch(_args: NewArchArgs) -> anyhow::Result<u8> {
    anyhow::bail!("new-arch is not built yet (issue #6)")
}

pub fn run_arch_status(_args: ArchStatusArgs) -> anyhow::Result<u8> {
    anyhow::bail!("arch-status is not built yet (issue #6)")
}
