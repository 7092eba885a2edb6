//! `queue`.

use clap::Subcommand;

/// Inspect, import and export the patch queue.
#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List the queue's commits with their topics.
    List,
}

pub fn run(_cmd: QueueCommand) -> anyhow::Result<u8> {
    anyhow::bail!("queue is not built yet (issue #2)")
}
