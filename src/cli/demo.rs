//! `demo`: the built-in default job on the real Debian kernels.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use dovetail_port::demo::Workspace;
use dovetail_port::kernels::KernelCache;
use dovetail_port::rebase::report::Report;

/// Run the demo on the built-in default: Debian's linux-source 6.1 and 6.12 imported into a
/// cached git repository (~/.cache/dovetail-port), the sample queue (patchsets/sample) applied
/// on 6.1, forward-ported onto 6.12 in memory, and the report printed.
///
/// Exit status: 0 when every stage ran (conflicts in the sample queue are expected and
/// reported), 2 on errors.
#[derive(Args, Debug)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> anyhow::Result<u8> {
    let cache = KernelCache::default_location();
    let ws = Workspace::default_location();
    println!(
        "== 1. kernels: Debian linux-source {} and {} ==",
        dovetail_port::demo::OLD,
        dovetail_port::demo::NEW
    );
    ws.prepare(&cache)?;
    println!(
        "repository {} (tags v6.1, v6.12), sample queue on v6.1 as branch {}",
        ws.repo().display(),
        dovetail_port::demo::QUEUE_BRANCH
    );

    println!("\n== 2. rebase: sample queue v6.1 -> v6.12 (in memory) ==");
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} replaying {pos}/{len} patches {per_sec}")
            .expect("valid template"),
    );
    let session = ws.rebase(&mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    print!("{}", Report::new(&session).human());
    Ok(super::EXIT_OK)
}
