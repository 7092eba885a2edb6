//! `dovetail-port lint` on a small EVL-like kernel tree (tests/fixtures/lint/evl_tree,
//! written here): the false positives of a real EVL fork (chains through panic() and
//! KASAN, guards written `unlikely(running_oob() || hard_irqs_disabled())`, a two-sided
//! ring's ops slots, a `__cold` error path, error paths declared `__noreturn`/`__cold` on
//! their prototypes only, debug code under `if (IS_ENABLED(CONFIG_EVL_DEBUG_CORE))`) are
//! gone, and the six seeded violations are found with their chains. Before this work the
//! first shapes gave 12 findings, 7 of them false.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/evl_tree")
}

fn lint(args: &[&std::ffi::OsStr]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["lint", "-q", "--format", "json"])
        .arg(tree())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn chains(v: &Value) -> Vec<String> {
    let mut c: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["rule"].as_str().unwrap(),
                f["chain_text"].as_str().unwrap()
            )
        })
        .collect();
    c.sort();
    c
}

const SEEDED: [&str; 6] = [
    "oob-inband-alloc: __evl_schedule() -> evl_switch_account() -> kzalloc()",
    "oob-inband-ops-slot: xbuf_oob_read() -> do_xbuf_read() -> ->signal_output: outbound_signal_output() -> wake_up()",
    "oob-inband-wakeup: xbuf_oob_read() -> do_xbuf_read() -> ->signal_output: outbound_signal_output() -> wake_up()",
    "oob-might-sleep: proxy_oob_write() -> do_proxy_write() -> msleep()",
    "oob-raw-spinlock: proxy_oob_write() -> do_proxy_write() -> mutex_unlock() -> __mutex_unlock_slowpath() -> raw_spin_lock()",
    "oob-sleeping-lock: control_oob_ioctl() -> down()",
];

#[test]
fn seeded_violations_only() {
    let v = lint(&[]);
    assert_eq!(chains(&v), SEEDED);
    // The ring's in-band side is not reported: its stores are not what the oob read passes.
    let slot = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "oob-inband-ops-slot")
        .unwrap();
    assert_eq!(
        (slot["file"].as_str(), slot["line"].as_u64()),
        (Some("kernel/evl/xbuf.c"), Some(98))
    );
    // mm/kasan/ is built for CONFIG_KASAN only, which is assumed off without --kconfig.
    assert_eq!(v["stats"]["files_not_built"], 2);
    assert!(v["kconfig"].as_str().unwrap().contains("KASAN*=n"));
}

/// A chain that leaves the entry point's folder into a function known to be in-band only
/// ends there: `mutex_unlock()` (kernel/locking/mutex.c) from the proxy's oob write is one
/// finding at the call, its witness chain below it. Before, every service inside its slow
/// path was a finding of its own (3 here; 105 for one real EVL call, 125 for the fixture
/// driver next to the 6.1 tree).
#[test]
fn an_in_band_only_call_out_of_the_entry_folder_is_one_finding() {
    let v = lint(&[]);
    let below: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["chain_text"].as_str().unwrap().contains("mutex_unlock()"))
        .collect();
    assert_eq!(below.len(), 1, "{below:#?}");
    let f = below[0];
    assert_eq!(
        (
            f["file"].as_str(),
            f["line"].as_u64(),
            f["service"].as_str()
        ),
        (Some("drivers/evl/proxy.c"), Some(11), Some("mutex_unlock"))
    );
    let steps: Vec<&str> = f["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert_eq!(steps.last(), Some(&"kernel/locking/mutex.c"), "{steps:?}");
}

/// `evl_oops()` and `evl_report_stall()` are error paths by their prototypes in
/// include/evl/assert.h; `evl_dump_state()`, `evl_check_rq()`'s body and the repair under
/// `!EVL_ASSERT(CORE, ...)` are built only with CONFIG_EVL_DEBUG_CORE (assumed off, like every debug option). A debug build's
/// `.config` brings the debug calls back, and they are found.
#[test]
fn prototype_attributes_and_configured_out_debug_code() {
    let c = chains(&lint(&[]));
    for f in [
        "evl_oops",
        "evl_report_stall",
        "evl_dump_state",
        "evl_check_rq",
        "evl_repair_rq",
    ] {
        assert!(c.iter().all(|x| !x.contains(f)), "{f}: {c:#?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("debug.config");
    std::fs::write(&cfg, "CONFIG_X86_64=y\nCONFIG_EVL_DEBUG_CORE=y\n").unwrap();
    let c = chains(&lint(&["--kconfig".as_ref(), cfg.as_os_str()]));
    for debug in [
        "oob-might-sleep: __evl_schedule() -> evl_dump_state() -> msleep()",
        "oob-sleeping-lock: __evl_schedule() -> evl_check_rq() -> mutex_lock()",
        "oob-sleeping-lock: __evl_schedule() -> evl_repair_rq() -> mutex_lock()",
    ] {
        assert!(c.iter().any(|x| x == debug), "{debug}: {c:#?}");
    }
    assert!(
        c.iter()
            .all(|x| !x.contains("evl_oops") && !x.contains("evl_report_stall")),
        "{c:#?}"
    );
}

fn kasan_config(dir: &Path) -> PathBuf {
    let f = dir.join("kasan.config");
    std::fs::write(
        &f,
        "CONFIG_X86_64=y\nCONFIG_KASAN=y\nCONFIG_KASAN_GENERIC=y\n",
    )
    .unwrap();
    f
}

#[test]
fn a_kasan_build_stops_at_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = kasan_config(tmp.path());
    let v = lint(&["--kconfig".as_ref(), cfg.as_os_str()]);
    // memset() is KASAN's instrumented one now, and is followed down to kasan_report().
    assert_eq!(v["stats"]["files_not_built"], 0);
    assert_eq!(chains(&v), SEEDED);
}

/// Without the terminal sinks of rules/oob-terminal.toml, the panic and KASAN report
/// chains come back: they are what removes them (the `__cold` error path stays out,
/// from its definition's attribute).
#[test]
fn terminal_sinks_are_the_data_that_stops_error_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() != "oob-terminal.toml" {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    let cfg = kasan_config(tmp.path());
    let v = lint(&[
        "--no-default-rules".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--kconfig".as_ref(),
        cfg.as_os_str(),
    ]);
    let c = chains(&v);
    for extra in [
        "oob-sleeping-lock: control_oob_ioctl() -> panic() -> console_unblank() -> down()",
        "oob-inband-spinlock: proxy_oob_write() -> do_proxy_write() -> memset() -> kasan_check_range() -> kasan_report() -> start_report() -> spin_lock_irqsave()",
    ] {
        assert!(c.iter().any(|x| x == extra), "{c:#?}");
    }
    assert!(c.iter().all(|x| !x.contains("evl_sched_fatal")), "{c:#?}");
    // A user's own terminal list stops them again.
    let mine = tmp.path().join("mine.toml");
    std::fs::write(
        &mine,
        "[terminal]\nfunctions = [\"panic\", \"kasan_report*\"]\n",
    )
    .unwrap();
    let v = lint(&[
        "--no-default-rules".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--rules".as_ref(),
        mine.as_os_str(),
        "--kconfig".as_ref(),
        cfg.as_os_str(),
    ]);
    assert_eq!(chains(&v), SEEDED);
}

fn text(format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["lint", "-q", "--format", format])
        .arg(tree())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn findings_are_grouped_by_root_and_printed_for_editors() {
    let v = lint(&[]);
    let mut roots: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["root"].as_str().unwrap())
        .collect();
    roots.sort();
    roots.dedup();
    // The ring's two findings share their root: the member call out of do_xbuf_read().
    assert_eq!(
        roots,
        [
            "__evl_schedule() -> evl_switch_account() -> kzalloc()",
            "control_oob_ioctl() -> down()",
            "proxy_oob_write() -> do_proxy_write() -> msleep()",
            "proxy_oob_write() -> do_proxy_write() -> mutex_unlock()",
            "xbuf_oob_read() -> do_xbuf_read() -> ->signal_output: outbound_signal_output() -> wake_up()",
        ]
    );
    let human = text("human");
    assert!(
        human.contains("root 1/5: control_oob_ioctl() -> down() (1 chain(s)"),
        "{human}"
    );
    assert!(human.contains("(2 chain(s) below it"), "{human}");
    assert!(
        human.contains("suppress: `/* dovetail-port: allow(oob-sleeping-lock) reason */`"),
        "{human}"
    );
    assert!(human.contains("6 finding(s) under 5 root(s)"), "{human}");
    let gcc = text("gcc");
    let lines: Vec<&str> = gcc.lines().collect();
    assert_eq!(lines.len(), 6, "{gcc}");
    assert!(
        lines.contains(&"drivers/evl/proxy.c:9:2: error: in-band-only `msleep()` called in oob context, reached from `proxy_oob_write()` (fops.oob_write) (chain: proxy_oob_write() -> do_proxy_write() -> msleep()) [oob-might-sleep]"),
        "{gcc}"
    );
}
