//! `dovetail-port new-arch` end to end on private copies of the real 6.1 tree.

mod arch_common;
mod common;

use arch_common::*;
use dovetail_port::arch::{cindex, kconfig};

const ARCHES: &[&str] = &["riscv", "loongarch", "arm64", "x86", "arm", "powerpc"];

/// Files every descriptor gets (relative to arch/<arch>/).
const CREATED: &[&str] = &[
    "include/asm/irq_pipeline.h",
    "kernel/irq_pipeline.c",
    "include/asm/dovetail.h",
    "include/asm/evl/calibration.h",
    "include/asm/evl/fptest.h",
    "include/asm/evl/syscall.h",
    "include/asm/evl/thread.h",
    "include/uapi/asm/evl/fptest.h",
    "include/dovetail/irq.h",
    "include/dovetail/mm_info.h",
    "include/dovetail/poll.h",
    "include/dovetail/thread_info.h",
    "include/dovetail/netdevice.h",
];

#[test]
fn scaffolds_every_descriptor_on_the_real_61_tree() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_tree("v6.1", ARCHES);
    let root = tree.path();
    for arch in ARCHES {
        let before_kconfig = read(root, &format!("arch/{arch}/Kconfig"));
        let o = tool(&["new-arch", arch, "--tree", root.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{arch}: {}", err(&o));
        let summary = out(&o);
        for rel in CREATED {
            let path = format!("arch/{arch}/{rel}");
            let text = read(root, &path);
            assert!(summary.contains(&path), "{arch}: summary lacks {path}");
            // Generated C must be clean C for tree-sitter (the checks parse it).
            assert!(
                cindex::parses_cleanly(&text),
                "{path} does not parse cleanly"
            );
        }
        assert!(root
            .join(format!("Documentation/dovetail/PORTING-{arch}.md"))
            .is_file());

        // Kconfig: still parses, each select inside the right block, others untouched.
        let text = read(root, &format!("arch/{arch}/Kconfig"));
        let parsed = kconfig::parse(&text).unwrap_or_else(|e| panic!("{arch} Kconfig: {e}"));
        let (pipeline_block, main_block) = match *arch {
            "x86" => ("X86_64", "X86"),
            "arm64" => ("ARM64", "ARM64"),
            "arm" => ("ARM", "ARM"),
            "powerpc" => ("PPC", "PPC"),
            "loongarch" => ("LOONGARCH", "LOONGARCH"),
            _ => ("RISCV", "RISCV"),
        };
        let has = |block: &str, sym: &str| {
            parsed
                .config(block)
                .unwrap()
                .selects
                .iter()
                .any(|s| s.symbol == sym)
        };
        assert!(has(pipeline_block, "HAVE_IRQ_PIPELINE"), "{arch}");
        assert!(has(pipeline_block, "HAVE_DOVETAIL"), "{arch}");
        assert!(has(main_block, "HAVE_ARCH_EVL"), "{arch}");
        if *arch == "arm" {
            let dt = parsed
                .config("ARM")
                .unwrap()
                .selects
                .iter()
                .find(|s| s.symbol == "HAVE_DOVETAIL")
                .unwrap();
            assert_eq!(dt.condition.as_deref(), Some("CPU_HAS_ASID"));
        }
        // Selects stay sorted where they were sorted: the new line sits between neighbours.
        let block = parsed.config(pipeline_block).unwrap();
        let i = block
            .selects
            .iter()
            .position(|s| s.symbol == "HAVE_IRQ_PIPELINE")
            .unwrap();
        if i > 0 && i + 1 < block.selects.len() {
            assert!(block.selects[i - 1].symbol.as_str() < "HAVE_IRQ_PIPELINE");
        }
        // Only insertions: every original line is still there, in order.
        let mut orig = before_kconfig.lines();
        let mut cur = orig.next();
        for l in text.lines() {
            if Some(l) == cur {
                cur = orig.next();
            }
        }
        assert!(cur.is_none(), "{arch}: an original Kconfig line was lost");
        // This tree has no generic core, so no source line that kconfig could not follow.
        assert!(parsed.source("kernel/Kconfig.dovetail").is_none());

        // Makefile: the object lands in the kernel Makefile next to its obj- peers.
        let mk = read(root, &format!("arch/{arch}/kernel/Makefile"));
        let lines: Vec<&str> = mk.lines().collect();
        let at = lines
            .iter()
            .position(|l| {
                l.starts_with("obj-$(CONFIG_IRQ_PIPELINE)") && l.ends_with("irq_pipeline.o")
            })
            .unwrap_or_else(|| panic!("{arch}: no irq_pipeline.o line"));
        assert!(
            lines[at - 1].starts_with("obj-") || lines[at - 1].trim_start().ends_with(".o"),
            "{arch}: {}",
            lines[at - 1]
        );
        assert_ne!(at, lines.len() - 1, "{arch}: appended at the end");
    }
    // Descriptor-specific content: riscv's irqflags helpers are read from the tree.
    let ip = read(root, "arch/riscv/include/asm/irq_pipeline.h");
    assert!(ip
        .contains("arch_local_irq_save (arch/riscv/include/asm/irqflags.h:32) -> native_irq_save"));
    assert!(ip.contains("ipi_virq_base"));
    assert!(root.join("arch/riscv/kernel/raw_printk.c").is_file());
    assert!(!root.join("arch/arm64/kernel/raw_printk.c").exists());
    let c = read(root, "arch/arm64/kernel/irq_pipeline.c");
    assert!(c.contains("arch_do_IRQ_pipelined") && !c.contains("arch_handle_irq_pipelined"));
    let d = read(root, "arch/arm64/include/asm/dovetail.h");
    assert!(d.contains("ARM64_TRAP_SVE"));
    let porting = read(root, "Documentation/dovetail/PORTING-riscv.md");
    let pos = |s: &str| {
        porting
            .find(s)
            .unwrap_or_else(|| panic!("PORTING lacks {s}"))
    };
    assert!(pos("## Interrupt pipeline") < pos("## Alternate scheduling"));
    assert!(pos("## Alternate scheduling") < pos("## EVL core arch bits"));
    assert!(pos("## EVL core arch bits") < pos("## libevl"));
    for must in [
        "arch/riscv/mm/fault.c",
        "arch/riscv/kernel/traps.c",
        "arch/riscv/kernel/smp.c",
        "arch/riscv/include/asm/thread_info.h",
        "arch/riscv/include/asm/mmu_context.h",
        "arch/riscv/mm/context.c",
        "arch/riscv/kernel/smpboot.c",
    ] {
        assert!(porting.contains(must), "PORTING lacks {must}");
    }
}

#[test]
fn scaffolded_tree_still_configures_with_make_olddefconfig() {
    if !common::kernel_tier() {
        return;
    }
    // Everything kconfig reads, for the arches whose cross compilers are installed.
    let tree = export(
        "v6.1",
        &[
            "Makefile",
            "scripts",
            "include",
            "init",
            "kernel",
            "arch/riscv",
            "arch/arm64",
            "arch/arm",
            "arch/x86",
            ":(glob)**/Kconfig*",
        ],
    );
    let root = tree.path();
    let dir = dovetail_port::arch::data::templates_dir();
    for arch in ["riscv", "arm64", "arm", "x86"] {
        // The descriptor names the cross compiler; setup installs all four.
        let cross = dovetail_port::arch::data::load_descriptor(&dir, arch)
            .unwrap()
            .cross_compile;
        let gcc = format!("{cross}gcc");
        let have = std::process::Command::new(&gcc)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(have, "{gcc} is not installed");
        let o = tool(&["new-arch", arch, "--tree", root.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{arch}: {}", err(&o));
        let build = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("make")
            .arg("-s")
            .arg(format!("ARCH={arch}"))
            .arg(format!("CROSS_COMPILE={cross}"))
            .arg(format!("O={}", build.path().display()))
            .arg("olddefconfig")
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{arch} olddefconfig failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let config = std::fs::read_to_string(build.path().join(".config")).unwrap();
        assert!(config.contains("CONFIG_"), "{arch}: empty .config");
    }

    // With a generic core in the tree, a rerun adds the `source` lines, and kconfig itself
    // then shows the selects landed in live blocks: the HAVE_* symbols come out set.
    write(
        root,
        "kernel/Kconfig.dovetail",
        "config HAVE_IRQ_PIPELINE\n\tbool\n\nconfig HAVE_DOVETAIL\n\tbool\n\nconfig DOVETAIL\n\tbool \"Dovetail interface\"\n\tdepends on HAVE_DOVETAIL\n",
    );
    write(root, "kernel/Kconfig.evl", "config HAVE_ARCH_EVL\n\tbool\n");
    for (arch, cross) in [("riscv", "riscv64-linux-gnu-"), ("x86", "")] {
        let o = tool(&["new-arch", arch, "--tree", root.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{arch}: {}", err(&o));
        assert!(
            out(&o).contains("source \"kernel/Kconfig.dovetail\""),
            "{}",
            out(&o)
        );
        let build = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("make")
            .arg("-s")
            .arg(format!("ARCH={arch}"))
            .arg(format!("CROSS_COMPILE={cross}"))
            .arg(format!("O={}", build.path().display()))
            .arg("olddefconfig")
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let config = std::fs::read_to_string(build.path().join(".config")).unwrap();
        for sym in [
            "CONFIG_HAVE_IRQ_PIPELINE=y",
            "CONFIG_HAVE_DOVETAIL=y",
            "CONFIG_HAVE_ARCH_EVL=y",
        ] {
            assert!(config.contains(sym), "{arch}: {sym} not set");
        }
        assert!(
            config.contains("# CONFIG_DOVETAIL is not set"),
            "{arch}: DOVETAIL offered"
        );
    }
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_tree("v6.1", &["riscv"]);
    let root = tree.path();
    let before = snapshot(root);
    let o = tool(&[
        "new-arch",
        "riscv",
        "--tree",
        root.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let diff = out(&o);
    assert!(diff.contains("--- /dev/null\n+++ b/arch/riscv/include/asm/irq_pipeline.h"));
    assert!(diff.contains("--- a/arch/riscv/Kconfig\n+++ b/arch/riscv/Kconfig"));
    assert!(diff.contains("+\tselect HAVE_IRQ_PIPELINE\n"));
    assert!(diff.contains("+obj-$(CONFIG_IRQ_PIPELINE)\t+= irq_pipeline.o"));
    assert!(diff.contains("would scaffold"));
    assert_eq!(before, snapshot(root), "dry-run modified the tree");
}

#[test]
fn never_overwrites_without_force_and_reruns_are_idempotent() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_tree("v6.1", &["riscv"]);
    let root = tree.path();
    let r = root.to_str().unwrap();
    assert_eq!(
        tool(&["new-arch", "riscv", "--tree", r]).status.code(),
        Some(0)
    );
    // A rerun on an untouched scaffold changes nothing and succeeds.
    let snap = snapshot(root);
    let o = tool(&["new-arch", "riscv", "--tree", r]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(snap, snapshot(root));
    let k = read(root, "arch/riscv/Kconfig");
    assert_eq!(k.matches("select HAVE_IRQ_PIPELINE\n").count(), 1);

    // The porter's work in a scaffolded file is never overwritten without --force, and
    // the refusal writes nothing at all (a deleted file is not recreated either).
    let mine = "/* my port */\n";
    write(root, "arch/riscv/include/asm/irq_pipeline.h", mine);
    std::fs::remove_file(root.join("arch/riscv/include/asm/dovetail.h")).unwrap();
    let snap = snapshot(root);
    let o = tool(&["new-arch", "riscv", "--tree", r]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("arch/riscv/include/asm/irq_pipeline.h") && e.contains("--force"),
        "{e}"
    );
    // One line of error, then the CLI's hint naming the flag.
    let lines: Vec<&str> = e.trim().lines().collect();
    assert_eq!(lines.len(), 2, "one-line error and its hint: {e}");
    assert!(
        lines[1].trim_start().starts_with("hint: ") && lines[1].contains("--force"),
        "{e}"
    );
    assert_eq!(snap, snapshot(root));

    let o = tool(&["new-arch", "riscv", "--tree", r, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("overwrite"));
    assert_ne!(read(root, "arch/riscv/include/asm/irq_pipeline.h"), mine);
    assert!(root.join("arch/riscv/include/asm/dovetail.h").is_file());
}

#[test]
fn unknown_arch_and_bad_tree_are_clear_errors() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_tree("v6.1", &["riscv"]);
    let o = tool(&["new-arch", "vax", "--tree", tree.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    for known in ["riscv", "loongarch", "arm64", "x86", "arm", "powerpc"] {
        assert!(e.contains(known), "{e}");
    }
    assert!(e.contains("isa") && e.contains("vax.toml"), "{e}");

    let empty = tempfile::tempdir().unwrap();
    let o = tool(&[
        "new-arch",
        "riscv",
        "--tree",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not a kernel tree"), "{}", err(&o));
}

#[test]
fn json_summary_lists_changes() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_tree("v6.1", &["arm64"]);
    let o = tool(&[
        "new-arch",
        "arm64",
        "--tree",
        tree.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert!(changes
        .iter()
        .any(|c| c["path"] == "arch/arm64/Kconfig" && c["kind"] == "modify"));
    assert!(changes
        .iter()
        .any(|c| c["path"] == "arch/arm64/include/asm/dovetail.h" && c["kind"] == "create"));
}

/// Files the published ports touched (names from the reference trees; see
/// shared/dovetail-facts.md §2.2 and §4.3): the scaffold must name at least 90 % of them,
/// either by creating them or by listing them in PORTING-<arch>.md, and must name the
/// arch contract's hooks.
#[test]
fn scaffold_names_what_reference_ports_touched() {
    if !common::kernel_tier() {
        return;
    }
    let reference: &[(&str, &[&str])] = &[
        (
            "riscv",
            &[
                "Kconfig",
                "include/asm/dovetail.h",
                "include/asm/entry-common.h",
                "include/asm/irq_pipeline.h",
                "include/asm/irqflags.h",
                "include/asm/mmu_context.h",
                "include/asm/smp.h",
                "include/asm/syscall.h",
                "include/asm/thread_info.h",
                "include/asm/evl/calibration.h",
                "include/asm/evl/fptest.h",
                "include/asm/evl/syscall.h",
                "include/asm/evl/thread.h",
                "include/dovetail/netdevice.h",
                "include/dovetail/poll.h",
                "include/uapi/asm/evl/fptest.h",
                "kernel/Makefile",
                "kernel/irq_pipeline.c",
                "kernel/kernel_mode_vector.c",
                "kernel/raw_printk.c",
                "kernel/sbi-ipi.c",
                "kernel/smp.c",
                "kernel/smpboot.c",
                "kernel/traps.c",
                "mm/context.c",
                "mm/fault.c",
            ],
        ),
        (
            "arm64",
            &[
                "Kconfig",
                "include/asm/irq_pipeline.h",
                "include/asm/irqflags.h",
                "kernel/irq_pipeline.c",
                "kernel/irq.c",
                "kernel/Makefile",
                "kernel/entry.S",
                "kernel/entry-common.c",
                "include/asm/daifflags.h",
                "include/asm/ptrace.h",
                "kernel/asm-offsets.c",
                "kernel/smp.c",
                "include/asm/thread_info.h",
                "include/asm/dovetail.h",
                "include/asm/mmu_context.h",
                "include/asm/efi.h",
                "mm/context.c",
                "kernel/fpsimd.c",
                "include/asm/fpsimd.h",
            ],
        ),
        (
            "loongarch",
            &[
                "Kconfig",
                "include/asm/dovetail.h",
                "include/asm/evl/calibration.h",
                "include/asm/evl/fptest.h",
                "include/asm/evl/syscall.h",
                "include/asm/evl/thread.h",
                "include/asm/fpu.h",
                "include/asm/irq.h",
                "include/asm/irq_pipeline.h",
                "include/asm/irqflags.h",
                "include/asm/mmu_context.h",
                "include/asm/ptrace.h",
                "include/asm/thread_info.h",
                "include/uapi/asm/evl/fptest.h",
                "kernel/Makefile",
                "kernel/asm-offsets.c",
                "kernel/entry.S",
                "kernel/idle.c",
                "kernel/irq.c",
                "kernel/irq_pipeline.c",
                "kernel/signal.c",
                "kernel/syscall.c",
                "kernel/time.c",
                "kernel/traps.c",
                "kernel/unaligned.c",
                "mm/fault.c",
            ],
        ),
    ];
    let hooks = [
        "arch_irqs_virtual_to_native_flags",
        "arch_irqs_native_to_virtual_flags",
        "native_irq_save",
        "native_irq_sync",
        "arch_save_timer_regs",
        "arch_enable_oob_stage",
        "arch_do_IRQ_pipelined",
        "arch_irq_pipeline_init",
        "handle_irq_pipelined",
        "TIMER_OOB_IPI",
        "RESCHEDULE_OOB_IPI",
        "irq_send_oob_ipi",
        "arch_dovetail_exec_prepare",
        "arch_dovetail_switch_prepare",
        "arch_dovetail_switch_finish",
        "_TLF_OOB",
        "_TLF_DOVETAIL",
        "_TLF_OFFSTAGE",
        "_TLF_OOBTRAP",
        "TIF_RETUSER",
        "TIF_MAYDAY",
        "switch_oob_mm",
        "protect_inband_mm",
        "pipeline_syscall",
        "oob_trap_notify",
        "oob_trap_unwind",
        "inband_retuser_notify",
        "dovetail_call_mayday",
        "IRQCHIP_PIPELINE_SAFE",
        "CLOCK_EVT_FEAT_PIPELINE",
        "clockevents_handle_event",
        "hard_cond_local_irq_enable",
        "DEFINE_HARD_SPINLOCK",
        "evl_get_default_clock_gravity",
        "evl_is_breakpoint",
        "is_valid_inband_syscall",
        "evl_set_fpregs",
        "syscall_get_arg0",
        "HAVE_IRQ_PIPELINE",
        "HAVE_DOVETAIL",
        "HAVE_ARCH_EVL",
    ];
    let tree = arch_tree("v6.12", &["riscv", "arm64", "loongarch"]);
    let root = tree.path();
    for (arch, files) in reference {
        let o = tool(&["new-arch", arch, "--tree", root.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{arch}: {}", err(&o));
        let porting = read(root, &format!("Documentation/dovetail/PORTING-{arch}.md"));
        let missing: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| !porting.contains(&format!("`arch/{arch}/{f}`")))
            .collect();
        eprintln!(
            "{arch}: {}/{} reference files named, missing {missing:?}",
            files.len() - missing.len(),
            files.len()
        );
        let named = files.len() - missing.len();
        assert!(
            named * 10 >= files.len() * 9,
            "{arch}: names {named}/{} reference files; missing {missing:?}",
            files.len()
        );
        let missing_hooks: Vec<&str> = hooks
            .iter()
            .copied()
            .filter(|h| !porting.contains(h))
            .collect();
        assert!(
            missing_hooks.is_empty(),
            "{arch}: PORTING does not name {missing_hooks:?}"
        );
    }
}

#[test]
fn a_broken_kconfig_is_reported_with_its_line_and_nothing_is_written() {
    if !common::kernel_tier() {
        return;
    }
    let tree = arch_tree("v6.1", &["riscv"]);
    let root = tree.path();
    let k = read(root, "arch/riscv/Kconfig");
    let broken = k.replacen("endmenu", "endchoice", 1);
    write(root, "arch/riscv/Kconfig", &broken);
    let line = k.lines().position(|l| l.starts_with("endmenu")).unwrap() + 1;
    let before = snapshot(root);
    let o = tool(&["new-arch", "riscv", "--tree", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains(&format!("arch/riscv/Kconfig:{line}:")), "{e}");
    assert_eq!(before, snapshot(root));
}
