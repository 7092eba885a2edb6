//! `busybox`.

use clap::Args;

use dovetail_port::boot::busybox::{self, FetchOptions};

/// Fetch a static busybox for guests of another architecture, once.
///
/// A guest of the host's architecture runs the host's busybox-static. For the others, `boot`,
/// `test` and `initramfs` need a statically linked busybox built for the guest; this command
/// fetches Debian's busybox-static for each ARCH (the Debian architecture is in
/// kbuild/arch/ARCH.toml, the mirror and suite in kbuild/busybox.toml, the mirror overridable
/// with $DOVETAIL_PORT_DEBIAN_MIRROR) and keeps it in the cache, where those commands find it.
/// apt runs with a private state folder in the cache: the host's package lists, sources and
/// dpkg database are not touched, and the download is verified against Debian's archive
/// keyring. The binary must be a static ELF executable of the guest's machine.
///
/// Prints the path of each busybox, one per line. Already cached ones are not fetched again
/// unless --refresh. Exit status 0 on success, 2 on errors.
///
/// Examples:
///
///   dovetail-port busybox --arch arm64 --arch riscv64
///
///   dovetail-port busybox --arch arm --refresh --format json
#[derive(Args, Debug)]
pub struct BusyboxArgs {
    /// Guest architecture (a profile in kbuild/arch/; any spelling: aarch64, riscv, x86);
    /// repeatable.
    #[arg(long, required = true, value_parser = super::profile_arch)]
    arch: Vec<String>,
    /// Fetch again even when one is cached.
    #[arg(long)]
    refresh: bool,
    /// Debian suite to take the package from, instead of kbuild/busybox.toml's.
    #[arg(long)]
    suite: Option<String>,
    /// `--format json`: path and provenance per architecture instead of paths.
    #[command(flatten)]
    format: super::FormatArg,
}

pub fn run(args: BusyboxArgs) -> anyhow::Result<u8> {
    let opts = FetchOptions {
        refresh: args.refresh,
        suite: args.suite,
    };
    let mut rows = Vec::new();
    for arch in &args.arch {
        let path = busybox::fetch(arch, &opts)?;
        if args.format.json() {
            rows.push(serde_json::json!({
                "arch": arch,
                "path": path,
                "provenance": busybox::provenance(arch),
            }));
        } else {
            println!("{}", path.display());
        }
    }
    if args.format.legacy_json() {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if args.format.json() {
        print!(
            "{}",
            dovetail_port::schema::to_json(&serde_json::json!({ "busybox": rows }))
        );
    }
    Ok(super::EXIT_OK)
}
