//! `doctor`.

use clap::Args;

use dovetail_port::{data, doctor};

/// Check the host: tools, data, kernel cache and accelerator.
///
/// Lists the host tools dovetail-port drives, their versions, and what a missing one blocks;
/// where the built-in data is unpacked and whether $DOVETAIL_PORT_DATA adds a usable layer;
/// where the kernel cache is, whether it is writable and which Debian series are imported;
/// whether `boot --accel auto` will use KVM or TCG, and why. Also lists, per guest
/// architecture, where its busybox comes from: the host's busybox-static, one fetched by
/// `dovetail-port busybox`, or none yet.
///
/// Exit status 0 when every tool is present and data and cache are usable, 1 otherwise.
///
/// Examples:
///
///   dovetail-port doctor
///
///   apt-get install -y $(dovetail-port doctor --apt)     # what a CI image needs
#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub format: super::FormatArg,
    /// Print only the Debian packages providing every tool, space-separated, for
    /// `apt-get install`.
    #[arg(long)]
    pub apt: bool,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<u8> {
    if args.apt {
        println!("{}", doctor::apt_packages(std::env::consts::ARCH).join(" "));
        return Ok(super::EXIT_OK);
    }
    let statuses = doctor::probe_all();
    let guests = doctor::guest_busyboxes();
    let data = data::status();
    let cache = doctor::cache_status();
    let accel = doctor::accel_status();
    let missing = statuses.iter().filter(|s| !s.present()).count();
    let healthy = missing == 0 && data.ok() && cache.ok();
    if args.format.json() {
        let doc = serde_json::json!({
            "schema_version": 1,
            "tools": statuses,
            "guest_busybox": guests,
            "data": data,
            "cache": cache,
            "accelerator": accel,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(exit(healthy));
    }
    println!("tools:");
    for s in &statuses {
        match &s.version {
            Some(v) => println!("  ok       {:<22} {}", s.name, v),
            None => println!(
                "  MISSING  {:<22} blocks: {}  (apt-get install {})",
                s.name, s.blocks, s.package
            ),
        }
    }
    println!("data:");
    match &data.builtin_error {
        Some(e) => println!("  BROKEN   built-in     {e}"),
        None if !data.builtin_damaged.is_empty() => println!(
            "  BROKEN   built-in     {} differs from the binary's copy ({}): delete the folder, \
             the next run unpacks it again",
            data.builtin.display(),
            data.builtin_damaged.join(", ")
        ),
        None => println!(
            "  ok       built-in     {} ({} files)",
            data.builtin.display(),
            data.builtin_files
        ),
    }
    match &data.overlay {
        Some(p) if data.overlay_ok => println!("  ok       DOVETAIL_PORT_DATA {}", p.display()),
        Some(p) => println!(
            "  BROKEN   DOVETAIL_PORT_DATA {} is not a folder: fix or unset it",
            p.display()
        ),
        None => {}
    }
    println!("kernel cache:");
    println!(
        "  {:<8} {}{}",
        if cache.writable { "ok" } else { "BROKEN" },
        cache.root.display(),
        if cache.writable {
            ""
        } else {
            " is not writable: point DOVETAIL_PORT_CACHE at a writable folder"
        }
    );
    for series in dovetail_port::kernels::SERIES {
        let state = if cache.imported.iter().any(|s| s == series) {
            "imported".to_string()
        } else if cache.tarballs.iter().any(|s| s == series) {
            "tarball installed, imported on first use".to_string()
        } else {
            format!("not installed (apt-get install linux-source-{series})")
        };
        println!("  {:<8} {:<22} {state}", "", format!("linux {series}"));
    }
    println!("accelerator:");
    println!(
        "  {:<8} {:<22} {}",
        accel.accel,
        accel.profile.as_deref().unwrap_or(accel.host_arch),
        accel.reason
    );
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
    Ok(exit(healthy))
}

fn exit(healthy: bool) -> u8 {
    if healthy {
        super::EXIT_OK
    } else {
        super::EXIT_ATTENTION
    }
}
