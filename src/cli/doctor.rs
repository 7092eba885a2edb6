//! `doctor`.

use clap::Args;

use dovetail_port::doctor;

/// List the host tools dovetail-port drives, their versions, and what a missing one blocks.
///
/// Also lists, per guest architecture, where its busybox comes from: the host's
/// busybox-static, one fetched by `dovetail-port busybox`, or none yet.
///
/// Exit status 0 when every tool is present, 1 when some are missing.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<u8> {
    let statuses = doctor::probe_all();
    let guests = doctor::guest_busyboxes();
    if args.json {
        let doc = serde_json::json!({ "tools": statuses, "guest_busybox": guests });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for s in &statuses {
            match &s.version {
                Some(v) => println!("  ok       {:<22} {}", s.name, v),
                None => println!(
                    "  MISSING  {:<22} blocks: {}  (apt-get install {})",
                    s.name, s.blocks, s.package
                ),
            }
        }
    }
    let missing = statuses.iter().filter(|s| !s.present()).count();
    if !args.json {
        // Not counted as missing tools: a foreign guest needs one only to run a payload.
        println!("guest busybox:");
        for g in &guests {
            let Some(path) = &g.path else {
                println!(
                    "  none     {:<22} payloads and LAVA rootfs need one: dovetail-port busybox --arch {}",
                    g.arch, g.arch
                );
                continue;
            };
            println!(
                "  {:<8} {:<22} {}{}",
                g.source,
                g.arch,
                path.display(),
                g.version
                    .as_ref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default()
            );
        }
        if missing == 0 {
            println!("all {} tools present", statuses.len());
        } else {
            println!("{missing} of {} tools missing", statuses.len());
        }
    }
    Ok(if missing == 0 {
        super::EXIT_OK
    } else {
        super::EXIT_ATTENTION
    })
}
