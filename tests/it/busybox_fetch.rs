//! `dovetail-port busybox`: Debian's busybox-static for a foreign guest, fetched by apt with a
//! private state into a fresh cache, checked, then used by `initramfs --shell` for that arch.
//! Reaches Debian's archive (one of the registries this project's machines reach).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dovetail_port::boot::busybox::check_static_elf;
use dovetail_port::kbuild::ArchProfile;

fn run(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(args)
        .env("DOVETAIL_PORT_CACHE", cache)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Unpacks a gzip cpio archive into `dest` with the system's cpio.
fn unpack(archive: &Path, dest: &Path) {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(archive).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let mut cpio = Command::new("cpio")
        .args(["-id", "--quiet"])
        .current_dir(dest)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    cpio.stdin.take().unwrap().write_all(&raw).unwrap();
    assert!(cpio.wait().unwrap().success());
}

#[test]
fn a_foreign_guest_gets_debians_busybox_once_and_the_shell_rootfs_carries_it() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let rootfs = work.path().join("rootfs.cpio.gz");
    let rootfs_arg = rootfs.to_str().unwrap();

    // Nothing cached yet: the rootfs cannot be made, and the error says how to fix it.
    let o = run(
        cache.path(),
        &["initramfs", "--shell", "--arch", "arm64", "-o", rootfs_arg],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("dovetail-port busybox --arch arm64"),
        "{}",
        text(&o.stderr)
    );
    assert!(!rootfs.exists());

    let o = run(cache.path(), &["busybox", "--arch", "arm64", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("fetching busybox-static for arm64"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let bin = std::path::PathBuf::from(v[0]["path"].as_str().unwrap());
    assert!(bin.starts_with(cache.path()), "{}", bin.display());
    assert_eq!(v[0]["provenance"]["debian_arch"], "arm64");
    assert_eq!(v[0]["provenance"]["package"], "busybox-static");
    let version = v[0]["provenance"]["version"].clone();
    assert!(version.as_str().is_some_and(|s| !s.is_empty()));
    let bytes = std::fs::read(&bin).unwrap();
    let arm64 = ArchProfile::load("arm64").unwrap();
    assert_eq!(check_static_elf(&bytes, &arm64.guest), Ok(()));
    assert_eq!(
        u16::from_le_bytes([bytes[18], bytes[19]]),
        183,
        "EM_AARCH64"
    );
    // apt's private state is gone; only the binary and its provenance stay.
    let mut kept: Vec<String> = std::fs::read_dir(bin.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["busybox", "busybox.json"]);

    // Cached now: no second fetch.
    let o = run(cache.path(), &["busybox", "--arch", "arm64"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout).trim(), bin.to_str().unwrap());
    assert!(!text(&o.stderr).contains("fetching"), "{}", text(&o.stderr));

    // The shell rootfs for arm64 now carries exactly that binary.
    let o = run(
        cache.path(),
        &["initramfs", "--shell", "--arch", "arm64", "-o", rootfs_arg],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let tree = work.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    unpack(&rootfs, &tree);
    assert_eq!(std::fs::read(tree.join("bin/busybox")).unwrap(), bytes);
    assert!(tree.join("init").is_file());

    // doctor tells where each guest's busybox comes from.
    let o = run(cache.path(), &["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let guests = v["guest_busybox"].as_array().unwrap();
    let of = |arch: &str| guests.iter().find(|g| g["arch"] == arch).unwrap().clone();
    assert_eq!(of("arm64")["source"], "fetched");
    assert_eq!(of("arm64")["path"], bin.to_str().unwrap());
    assert_eq!(of("arm64")["version"], version);
    assert_eq!(of("riscv64")["source"], "missing");
    assert!(v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "apt-get" && t["version"].is_string()));
}

#[test]
fn a_busybox_of_another_machine_is_refused_before_booting() {
    let cache = tempfile::tempdir().unwrap();
    let out = cache.path().join("x.cpio.gz");
    let o = run(
        cache.path(),
        &[
            "initramfs",
            "--arch",
            "riscv64",
            "--busybox",
            "/bin/busybox",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("/bin/busybox: not a busybox for riscv64 guests: ELF machine 62"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn the_host_arch_needs_no_fetch() {
    let cache = tempfile::tempdir().unwrap();
    let host = ArchProfile::known()
        .into_iter()
        .find(|a| ArchProfile::load(a).unwrap().host_arch == std::env::consts::ARCH)
        .unwrap();
    let o = run(cache.path(), &["busybox", "--arch", &host]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("fetching"));
    assert!(!cache.path().join("busybox").exists());
    let path = text(&o.stdout);
    assert!(path.trim().ends_with("/busybox") && Path::new(path.trim()).is_file());
}
