//! Emitters: the same gate as GitLab CI ([`gitlab`]) and GitHub Actions ([`github`]) pipelines
//! (one parallel job per matrix entry, each calling `dovetail-port test`) and as LAVA job
//! definitions ([`lava`]: one per matrix entry and device type). This module holds what they
//! share: shell quoting, the per-entry folders and command lines, the staged artifacts.

mod github;
mod gitlab;
mod lava;

pub use github::github;
pub use gitlab::gitlab;
pub use lava::{fill_vars, lava, lava_board, lava_qemu};

use super::config::{Board, Config, MatrixEntry, TestKind};
use super::shell::sh_line;
use super::yaml::{self, list, map, s, Y};

/// Folder (relative to the checkout) holding one build's output, cached between pipelines.
pub fn out_dir(e: &MatrixEntry) -> String {
    format!(".dovetail-port/out/{}", e.build_key())
}

pub fn log_dir(e: &MatrixEntry) -> String {
    format!(".dovetail-port/ci/{}", e.name())
}

pub fn junit_file(e: &MatrixEntry) -> String {
    format!(".dovetail-port/ci/junit-{}.xml", e.name())
}

/// The `dovetail-port test` (or `build`, for build-only entries) words for one entry.
pub fn test_command(c: &Config, e: &MatrixEntry, jobs: &str) -> Vec<String> {
    let mut w: Vec<String> = vec!["dovetail-port".into()];
    w.push(if e.boot { "test" } else { "build" }.into());
    for (k, v) in [
        ("--arch", e.arch.clone()),
        ("--tree", ".".into()),
        ("--out", out_dir(e)),
        ("--config", e.config.clone()),
        ("-j", jobs.to_string()),
    ] {
        w.push(k.into());
        w.push(v);
    }
    for f in e.all_fragments() {
        w.push("--fragment".into());
        w.push(f);
    }
    if !e.tests.contains(&TestKind::Kunit) {
        w.push("--no-kunit".into());
    }
    for (_, target) in board_dtbs(c, e) {
        w.push("--make-target".into());
        w.push(target);
    }
    if e.boot {
        if let Some(r) = e.guest_commands() {
            w.push("--run".into());
            w.push(r);
        }
        if let Some(p) = &e.payload {
            w.push("--payload".into());
            w.push(p.display().to_string());
        }
        for (k, v) in [
            ("--timeout", c.timeouts.boot.to_string()),
            ("--idle-timeout", c.timeouts.idle.to_string()),
            ("--work-dir", log_dir(e)),
            ("--junit", junit_file(e)),
        ] {
            w.push(k.into());
            w.push(v);
        }
    }
    w
}

/// Where a job puts what its LAVA job fetches: `<dir>/<image>` and `<dir>/rootfs.cpio.gz`,
/// the layout `[lava] artifacts_url` points at.
pub fn lava_dir(e: &MatrixEntry) -> String {
    format!(".dovetail-port/ci/lava/{}", e.name())
}

/// The script line that gives a booting entry its guest busybox: the host's on a runner of
/// the entry's architecture, else Debian's busybox-static for it, fetched once
/// (`dovetail-port busybox`). Payloads and the LAVA rootfs of a foreign arch need it.
pub fn busybox_line(e: &MatrixEntry) -> Option<String> {
    e.boot.then(|| {
        sh_line(&[
            "dovetail-port".into(),
            "busybox".into(),
            "--arch".into(),
            e.arch.clone(),
        ])
    })
}

/// The device trees the boards running `e` boot with: (path in the build output, make
/// target), the target being the path below arch/ARCH/boot/dts/ as kbuild names it.
pub fn board_dtbs(c: &Config, e: &MatrixEntry) -> Vec<(String, String)> {
    let Ok(profile) = crate::kbuild::ArchProfile::load(&e.arch) else {
        return Vec::new();
    };
    let dts = format!("arch/{}/boot/dts/", profile.make_arch);
    let mut out: Vec<(String, String)> = c
        .lava
        .boards
        .iter()
        .filter(|b| e.boot && board_wants(b, e))
        .filter_map(|b| b.dtb.clone())
        .map(|dtb| {
            let target = dtb.strip_prefix(&dts).unwrap_or(&dtb).to_string();
            (dtb, target)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Script lines that stage an entry's LAVA artifacts after its test: the kernel image, the
/// boards' device trees and the shell initramfs (`dovetail-port initramfs --shell`), then
/// the `[lava] publish` command. Empty when no LAVA job boots the entry (it does not boot,
/// or neither QEMU jobs nor a board want it).
pub fn lava_artifact_lines(c: &Config, e: &MatrixEntry) -> Vec<String> {
    let wanted = e.boot && (c.lava.qemu || c.lava.boards.iter().any(|b| board_wants(b, e)));
    let Some(profile) = wanted
        .then(|| crate::kbuild::ArchProfile::load(&e.arch).ok())
        .flatten()
    else {
        return Vec::new();
    };
    let dir = lava_dir(e);
    let image = format!("{dir}/{}", image_file(&profile));
    let mut lines = vec![
        sh_line(&["mkdir".into(), "-p".into(), dir.clone()]),
        sh_line(&[
            "cp".into(),
            format!("{}/{}", out_dir(e), profile.image_path),
            image,
        ]),
    ];
    for (dtb, _) in board_dtbs(c, e) {
        lines.push(sh_line(&[
            "cp".into(),
            format!("{}/{dtb}", out_dir(e)),
            format!("{dir}/"),
        ]));
    }
    lines.push(sh_line(&[
        "dovetail-port".into(),
        "initramfs".into(),
        "--shell".into(),
        "--arch".into(),
        e.arch.clone(),
        "-o".into(),
        format!("{dir}/rootfs.cpio.gz"),
    ]));
    if !c.lava.publish.is_empty() {
        let words: Vec<String> = c
            .lava
            .publish
            .iter()
            .map(|w| w.replace("{dir}", &dir).replace("{entry}", &e.name()))
            .collect();
        lines.push(sh_line(&words));
    }
    lines
}

/// One entry's `dovetail-port test` line, with the runner's CPU count for -j.
fn runner_test_line(c: &Config, e: &MatrixEntry) -> String {
    sh_line(&test_command(c, e, "__NPROC__")).replace("__NPROC__", "\"$(nproc)\"")
}

const HEADER: &str =
    "Generated by `dovetail-port ci emit` from dovetail-port.toml: edit that file and re-emit.\n\n\
Every job runs in the [ci] image and first runs the [ci] install commands (by default: \
the Debian packages of `dovetail-port doctor --apt`, then `cargo install` of the tool).";

fn gate_cmd(only: &str, extra: &[&str]) -> String {
    let mut w = vec!["dovetail-port", "ci", "--only", only];
    w.extend(extra);
    w.join(" ")
}

/// The boot image's file name, as staged and fetched.
fn image_file(p: &crate::kbuild::ArchProfile) -> String {
    std::path::Path::new(&p.image_path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.image_target.clone())
}

fn minutes(secs: u64) -> Y {
    map(vec![("minutes", Y::Int(secs.div_ceil(60).max(1) as i64))])
}

/// Whether board `b` runs entry `e`: the entries it names, else every entry of its arch.
fn board_wants(b: &Board, e: &MatrixEntry) -> bool {
    if b.entries.is_empty() {
        b.arch == e.arch
    } else {
        b.entries.contains(&e.name())
    }
}
