//! `doctor`.

use clap::Args;

use dovetail_port::doctor;

/// List the host tools dovetail-port drives, their versions, and what a missing one blocks.
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
    if args.json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
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
