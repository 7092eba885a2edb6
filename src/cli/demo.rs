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
///
/// Examples:
///
///   dovetail-port demo
///
///   dovetail-port demo -v 2> demo.log   # progress kept in a log
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
    if session.pending() > 0 {
        println!(
            "(to resolve them yourself: cd {} and use the rebase commands above)",
            ws.repo().display()
        );
    }

    let tree = ws.checkout(&session.tip)?;
    println!("\n== 3. lint: oob safety of the directories the queue touches (result checked out in {}) ==", tree.display());
    let lint = ws.lint(&tree, &session)?;
    print!(
        "{}",
        dovetail_port::lint::render::render(
            &lint,
            dovetail_port::lint::render::Format::Human,
            false
        )
    );

    println!("\n== 4. build: the ported result (v6.12 + the non-conflicting patches), x86_64 tinyconfig + KUnit ==");
    let outcome = ws.build_and_boot(&tree)?;
    let b = &outcome.build;
    println!(
        "built {} ({} requested options verified in .config; configure {:.0}s, make {:.0}s)",
        b.image
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string()),
        b.verified_options,
        b.config_secs,
        b.make_secs
    );

    println!("\n== 5. boot + test: QEMU, KTAP results ==");
    print!("{}", dovetail_port::results::render::human(&outcome.report));
    let suite = "irq_pipeline_sample";
    let ours: Vec<_> = outcome
        .report
        .cases
        .iter()
        .filter(|c| c.suite.split('.').next() == Some(suite))
        .collect();
    let ours_passed = ours
        .iter()
        .filter(|c| c.verdict == dovetail_port::results::Verdict::Pass)
        .count();
    println!(
        "the queue's own KUnit suite {suite}: {ours_passed}/{} passed",
        ours.len()
    );
    let ok = outcome.report.passed() && !ours.is_empty() && ours_passed == ours.len();
    println!(
        "\ndemo: rebase {} ({} conflict(s) or verdict(s) left for a human), build ok, tests {}",
        if session.pending() == 0 {
            "complete"
        } else {
            "done"
        },
        session.pending(),
        if ok { "passed" } else { "FAILED" }
    );
    Ok(if ok {
        super::EXIT_OK
    } else {
        super::EXIT_ATTENTION
    })
}
