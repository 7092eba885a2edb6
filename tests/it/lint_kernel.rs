//! `dovetail-port lint` over the vanilla 6.1 kernel, a real subtree (kernel/ and
//! drivers/mtd/) and the whole tree, plus a seeded oob driver linted next to it.

use crate::common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const SEEDED: &str = r#"// seeded oob driver calling into real kernel code
static long seed_oob_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	synchronize_irq(arg);
	msleep(1);
	return 0;
}

static const struct file_operations seed_fops = {
	.oob_ioctl = seed_oob_ioctl,
};
"#;

#[test]
fn real_kernel_subtree_with_a_seeded_driver() {
    if !common::kernel_tier() {
        return;
    }
    let tree = common::kernel_tree("6.1");
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::write(seed_dir.join("seed.c"), SEEDED).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .arg("lint")
        .args(["--format", "json", "--parse-all", "--root"])
        .arg(&tree)
        .arg(tree.join("kernel"))
        .arg(tree.join("drivers/mtd"))
        .arg(&seed_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats = &v["stats"];
    let scanned = stats["files_scanned"].as_u64().unwrap();
    let parsed = stats["files_parsed"].as_u64().unwrap();
    let funcs = stats["functions_parsed"].as_u64().unwrap();
    let bad = stats["functions_with_errors"].as_u64().unwrap();
    assert!(scanned > 700 && parsed == scanned, "{stats}");
    assert!(funcs > 15_000, "{stats}");
    // Parse robustness: a sane share of functions with syntax errors.
    assert!(
        (bad as f64) < 0.03 * funcs as f64,
        "too many parse errors: {bad}/{funcs}"
    );

    // A vanilla tree has no EVL: the only entry point is the seeded one; MTD's oob
    // callbacks (the NAND spare area) must not count.
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["function"], "seed_oob_ioctl");
    let findings = v["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .all(|f| !f["file"].as_str().unwrap().starts_with("drivers/mtd")));
    assert!(findings
        .iter()
        .all(|f| f["entry"]["function"] == "seed_oob_ioctl"));
    // The chain goes into the real kernel/irq/manage.c.
    let chains: Vec<&str> = findings
        .iter()
        .map(|f| f["chain_text"].as_str().unwrap())
        .collect();
    assert!(
        chains.contains(&"seed_oob_ioctl() -> synchronize_irq() -> wait_event()"),
        "{chains:#?}"
    );
    // synchronize_irq() is in-band only and leaves the driver's folder: one finding at the
    // call, its witness chain below it in kernel/irq/manage.c (before, one per service
    // inside it: wait_event() and __synchronize_hardirq()'s raw_spinlock_t).
    let f = findings
        .iter()
        .find(|f| f["service"] == "synchronize_irq")
        .unwrap_or_else(|| panic!("{chains:#?}"));
    assert!(f["file"].as_str().unwrap().ends_with("seed/seed.c"));
    assert!(finding_files(f).contains(&"kernel/irq/manage.c"), "{f}");
    assert!(Path::new(&tree).join("kernel/irq/manage.c").exists());
    // msleep() is a listed service, but kernel/time/timer.c defines it: its real body is
    // followed down to the scheduler's choke point.
    let f = findings
        .iter()
        .find(|f| f["service"] == "msleep")
        .unwrap_or_else(|| panic!("{chains:#?}"));
    assert!(f["file"].as_str().unwrap().ends_with("seed/seed.c"));
    let chain = f["chain_text"].as_str().unwrap();
    assert!(
        chain.starts_with("seed_oob_ioctl() -> msleep() -> ") && chain.ends_with(" -> schedule()"),
        "{chain}"
    );
    assert!(
        stats["functions_inband_only"].as_u64().unwrap() > 1000,
        "{stats}"
    );
}

/// The whole tree links one architecture: no chain may cross into another arch's code
/// (before `--arch`, `cpu_relax() -> time_travel_ndelay()` of arch/um made ~1100 findings).
#[test]
fn whole_kernel_tree_resolves_calls_for_one_arch() {
    if !common::kernel_tier() {
        return;
    }
    let tree = common::kernel_tree("6.1");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("seed.c"), SEEDED).unwrap();
    for (arch, dir) in [(None, "x86"), (Some("arm64"), "arm64")] {
        let args: Vec<&str> = arch.iter().flat_map(|a| ["--arch", a]).collect();
        let v = lint_whole_tree(&tree, tmp.path(), &args, 1);
        assert_eq!(v["arch"], dir);
        let stats = &v["stats"];
        assert!(
            stats["files_other_arch"].as_u64().unwrap() > 5000,
            "{stats}"
        );
        let findings = v["findings"].as_array().unwrap();
        let own = format!("arch/{dir}/");
        for f in findings {
            for file in finding_files(f) {
                assert!(
                    !file.starts_with("arch/") || file.starts_with(&own),
                    "{arch:?}: chain crosses into {file}: {}",
                    f["chain_text"]
                );
            }
        }
        let mut chains: Vec<&str> = findings
            .iter()
            .map(|f| f["chain_text"].as_str().unwrap())
            .collect();
        chains.sort();
        assert_eq!(
            chains,
            [
                "seed_oob_ioctl() -> msleep() -> schedule_timeout_uninterruptible() -> schedule_timeout() -> schedule()",
                "seed_oob_ioctl() -> synchronize_irq() -> wait_event()",
            ],
            "{arch:?}"
        );
    }
}

/// `lint --format json` over the whole `tree` plus `extra` (a driver next to it) with
/// `args`; the report, once the exit status is `code`.
fn lint_whole_tree(tree: &Path, extra: &Path, args: &[&str], code: i32) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["lint", "-q", "--format", "json", "--root"])
        .arg(tree)
        .arg(tree)
        .arg(extra)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file of a finding: where it is and each step of its chain.
fn finding_files(f: &Value) -> Vec<&str> {
    std::iter::once(&f["file"])
        .chain(f["chain"].as_array().unwrap().iter().map(|s| &s["file"]))
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// tools/ (and the other user-space folders) are not kernel code: before, the fixture
/// driver's chains went into tools/include/linux/panic.h, tools/lib/slab.c and the
/// rcutorture selftest's preempt.h (13 of its 297 findings).
#[test]
fn whole_kernel_tree_leaves_user_space_folders_out() {
    if !common::kernel_tier() {
        return;
    }
    let tree = common::kernel_tree("6.1");
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/oob_driver");
    let v = lint_whole_tree(&tree, &driver, &[], 1);
    let stats = &v["stats"];
    assert!(stats["files_userspace"].as_u64().unwrap() > 3000, "{stats}");
    let findings = v["findings"].as_array().unwrap();
    // The chains still go into the tree's code, one finding per in-band-only call out of
    // the driver's folder (before: 125 below its mutex_unlock() alone).
    assert!(
        findings
            .iter()
            .any(|f| finding_files(f).iter().any(|p| p.starts_with("kernel/"))),
        "{findings:#?}"
    );
    assert!(findings.len() < 10, "{}", findings.len());
    for f in findings {
        for file in finding_files(f) {
            assert!(
                !["tools/", "scripts/", "samples/bpf/", "usr/"]
                    .iter()
                    .any(|d| file.starts_with(d)),
                "chain goes through user-space {file}: {}",
                f["chain_text"]
            );
        }
    }
}

/// An oob driver whose ops slot holds a function releasing a `spinlock_t`.
const SEEDED_UNLOCK: &str = r#"// seeded oob driver: a spinlock_t released through an ops slot oob code calls
struct seed_dev;
struct seed_ops {
	void (*step)(struct seed_dev *d);
};
struct seed_dev {
	spinlock_t lock;
	const struct seed_ops *ops;
};
static struct seed_dev seed_dev;

static void seed_step(struct seed_dev *d)
{
	spin_unlock(&d->lock);
}

static const struct seed_ops seed_step_ops = {
	.step = seed_step,
};

static long seed_oob_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct seed_dev *d = &seed_dev;

	d->ops->step(d);
	return 0;
}

static const struct file_operations seed_fops = {
	.oob_ioctl = seed_oob_ioctl,
};
"#;

/// `spin_unlock()` is in-band only on PREEMPT_RT alone (include/linux/spinlock_rt.h:
/// `rt_spin_unlock()`, an rtmutex), and Dovetail has no PREEMPT_RT. Before, both
/// alternatives counted: `seed_step()` was in-band only, an ops-slot finding, and 195
/// findings went on below `rt_spin_unlock()`.
#[test]
fn spin_unlock_is_in_band_only_on_preempt_rt_only() {
    if !common::kernel_tier() {
        return;
    }
    let tree = common::kernel_tree("6.1");
    let tmp = tempfile::tempdir().unwrap();
    let seed = tmp.path().join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(seed.join("seed.c"), SEEDED_UNLOCK).unwrap();
    let base = "CONFIG_64BIT=y\nCONFIG_X86_64=y\nCONFIG_SMP=y\nCONFIG_PREEMPTION=y\n";
    let rt = tmp.path().join("rt.config");
    std::fs::write(&rt, format!("{base}CONFIG_PREEMPT_RT=y\n")).unwrap();
    let plain = tmp.path().join("plain.config");
    std::fs::write(&plain, format!("{base}# CONFIG_PREEMPT_RT is not set\n")).unwrap();
    let rt_chain = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["chain_text"].as_str().unwrap().to_string())
            .filter(|c| c.contains("rt_spin_unlock()"))
            .collect()
    };

    // The shipped assumption (PREEMPT_RT=n): nothing, and spinlock_rt.h is not code.
    let v = lint_whole_tree(&tree, &seed, &[], 0);
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        0,
        "{:#?}",
        rt_chain(&v)
    );
    assert!(v["kconfig"].as_str().unwrap().contains("PREEMPT_RT=n"));
    assert!(v["stats"]["headers_configured_out"].as_u64().unwrap() >= 3);
    // A .config without PREEMPT_RT: the same.
    let v = lint_whole_tree(&tree, &seed, &["--kconfig", plain.to_str().unwrap()], 0);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    // With PREEMPT_RT=y: the RT body sleeps, and the slot holds an in-band-only function.
    let v = lint_whole_tree(&tree, &seed, &["--kconfig", rt.to_str().unwrap()], 1);
    let slot = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == "oob-inband-ops-slot"
                && f["file"].as_str().unwrap().ends_with("seed/seed.c")
        })
        .unwrap_or_else(|| panic!("{:#?}", rt_chain(&v)));
    let chain = slot["chain_text"].as_str().unwrap();
    assert!(
        chain.starts_with(
            "seed_oob_ioctl() -> ->step: seed_step() -> spin_unlock() -> rt_spin_unlock() -> "
        ),
        "{chain}"
    );
    let via = slot["chain"].as_array().unwrap();
    assert_eq!(via[2]["file"], "include/linux/spinlock_rt.h", "{chain}");
}

/// The EVL fixture next to the whole tree: `proxy.c:11` (`mutex_unlock()` from oob) is
/// reached through the tree's kernel/locking/mutex.c and through the fixture's own copy.
/// JSON keeps both chains; the human report folds them into one finding of one root
/// block, the other chain on a `same call` line (before: two findings, an `also` line
/// repeating the same chain text).
#[test]
fn the_same_call_through_two_copies_is_one_finding() {
    if !common::kernel_tier() {
        return;
    }
    let tree = common::kernel_tree("6.1");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/evl_tree");
    let v = lint_whole_tree(&tree, &fixture, &[], 1);
    let at_proxy: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"].as_str().unwrap().ends_with("drivers/evl/proxy.c") && f["line"] == 11)
        .collect();
    assert_eq!(at_proxy.len(), 2, "{at_proxy:#?}");
    let human = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["lint", "-q", "--root"])
        .arg(&tree)
        .arg(&tree)
        .arg(&fixture)
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.matches("proxy.c:11:").count(), 1, "{human}");
    assert_eq!(
        human.matches("same call, another chain:").count(),
        1,
        "{human}"
    );
    assert!(
        human.contains("finding(s) (")
            && human.contains("chains: the same call through more than one)"),
        "{human}"
    );
}
