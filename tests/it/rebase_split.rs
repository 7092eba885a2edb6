//! Files the target split or moved into a folder (`kernel/module.c` → `kernel/module/*.c`,
//! `kernel/module_signing.c` → `kernel/module/signing.c`), on small real git repositories:
//! each queue hunk lands in the part that holds its lines, a file moved whole is merged where
//! it went (with `#include` lines put with the target's rewritten ones), and a hunk that fits
//! no part, or several, stays a conflict with the reason. `--strict` leaves all
//! of them to the user, as git does.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn func(name: &str, body: &str) -> String {
    format!("static int {name}(struct module *mod)\n{{\n\tint err;\n\n\t{body}\n\tif (err)\n\t\treturn err;\n\treturn 0;\n}}\n\n")
}

const SIGNING: &str = "#include <linux/module.h>\n#include \"module-internal.h\"\n\nint mod_verify_sig(const void *mod, struct load_info *info)\n{\n\tint ret;\n\n\tret = verify_pkcs7_signature(mod, info->len, VERIFYING_MODULE_SIGNATURE);\n\tpr_devel(\"verify_pkcs7_signature() = %d\\n\", ret);\n\treturn ret;\n}\n";

/// v1: kernel/module.c (load, check, other) and kernel/module_signing.c. v2 (upstream):
/// module.c split into kernel/module/main.c (load, other) and version.c (check), with
/// `check_copy` added to `extra` (path, text) when given; module_signing.c moved to
/// kernel/module/signing.c with its includes rewritten. The queue: patch 1 edits `check`,
/// patch 2 adds includes and a keyring fallback to module_signing.c.
fn fixture(dir: &Path, extra: Option<(&str, &str)>) {
    let load = func("load", "err = load_sections(mod);");
    let check = func("check", "err = check_crc(mod, \"crc\");");
    let other = func("other", "err = other_things(mod);");
    let module = format!("#include <linux/module.h>\n\n{load}{check}{other}");
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "kernel/module.c", &module);
    write(dir, "kernel/module_signing.c", SIGNING);
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);

    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "kernel/module.c",
        &module.replace("check_crc(mod, \"crc\")", "check_crc(mod, NULL)"),
    );
    commit_all(dir, "module: do not match a missing CRC");
    write(
        dir,
        "kernel/module_signing.c",
        &SIGNING
            .replace(
                "#include \"module-internal.h\"",
                "#include <crypto/hash.h>\n#include \"module-internal.h\"",
            )
            .replace(
                "\treturn ret;\n",
                "\tif (ret == -ENOKEY)\n\t\tret = verify_platform_keyring(mod, info);\n\treturn ret;\n",
            ),
    );
    commit_all(dir, "MODSIGN: fall back to the platform keyring");

    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    git(
        dir,
        &["rm", "-q", "kernel/module.c", "kernel/module_signing.c"],
    );
    write(
        dir,
        "kernel/module/main.c",
        &format!("#include \"internal.h\"\n\n{load}{other}"),
    );
    write(
        dir,
        "kernel/module/version.c",
        &format!("#include \"internal.h\"\n\n/* symbol versions */\n{check}"),
    );
    write(
        dir,
        "kernel/module/signing.c",
        &SIGNING.replace(
            "#include <linux/module.h>\n#include \"module-internal.h\"\n",
            "#include <linux/module.h>\n#include <uapi/linux/module.h>\n#include \"internal.h\"\n\nstatic bool sig_enforce;\n",
        ),
    );
    if let Some((path, text)) = extra {
        write(dir, path, text);
    }
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
}

fn start(dir: &Path, strict: bool) -> (i32, Value) {
    let mut args = vec![
        "rebase",
        "v2",
        "--queue",
        "v1..queue",
        "--branch",
        "ported",
        "--report",
        "json",
    ];
    if strict {
        args.push("--strict");
    }
    json_run(dir, &args)
}

fn placements(report: &Value, patch: usize) -> Vec<(String, String)> {
    report["patches"][patch]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["placements"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            (
                p["method"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn hunks_follow_a_split_file_and_a_moved_file_is_merged_where_it_went() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir, None);
    let (code, report) = start(dir, false);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(verdicts(&report), ["relocated", "relocated"], "{report:#}");
    assert_eq!(
        placements(&report, 0),
        [(
            "hunk-followed".to_string(),
            "kernel/module/version.c".to_string()
        )]
    );
    assert_eq!(
        placements(&report, 1),
        [(
            "includes".to_string(),
            "kernel/module/signing.c".to_string()
        )]
    );
    let notes = report["patches"][1]["notes"].to_string();
    assert!(
        notes.contains("kernel/module_signing.c was moved to kernel/module/signing.c"),
        "{notes}"
    );

    let version = git(dir, &["show", "ported:kernel/module/version.c"]);
    assert!(version.contains("check_crc(mod, NULL)"), "{version}");
    assert!(version.starts_with("#include \"internal.h\"\n\n/* symbol versions */\n"));
    let main = git(dir, &["show", "ported:kernel/module/main.c"]);
    assert_eq!(main, git(dir, &["show", "v2:kernel/module/main.c"]));
    let signing = git(dir, &["show", "ported:kernel/module/signing.c"]);
    assert!(
        signing.starts_with(
            "#include <linux/module.h>\n#include <crypto/hash.h>\n#include <uapi/linux/module.h>\n#include \"internal.h\"\n"
        ),
        "{signing}"
    );
    assert!(signing.contains("verify_platform_keyring(mod, info);\n\treturn ret;"));
    // Nothing comes back under the old names.
    let files = git(dir, &["ls-tree", "-r", "--name-only", "ported"]);
    assert!(!files.contains("kernel/module.c"), "{files}");
    assert!(!files.contains("kernel/module_signing.c"), "{files}");
}

#[test]
fn strict_leaves_split_files_to_the_user() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir, None);
    let (code, report) = start(dir, true);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report)[0], "conflict", "{report:#}");
    assert_eq!(
        report["patches"][0]["paths"][0]["conflict"], "modify-delete",
        "{report:#}"
    );
}

#[test]
fn a_hunk_two_parts_hold_stays_a_conflict_with_the_reason() {
    // Upstream has `check` twice in the new folder: which one the patch meant is unclear.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let copy = format!(
        "/* compat */\n{}",
        func("check", "err = check_crc(mod, \"crc\");")
    );
    fixture(dir, Some(("kernel/module/compat.c", &copy)));
    let (code, report) = start(dir, false);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report)[0], "conflict", "{report:#}");
    // Followed whole to the part holding most of it, where `check` is not: a conflict there,
    // which says why no hunk was carried.
    let path = &report["patches"][0]["paths"][0];
    assert_eq!(path["path"], "kernel/module/main.c", "{path:#}");
    let reasons = path["refusals"].to_string();
    assert!(reasons.contains("kernel/module.c is gone"), "{reasons}");
    assert!(reasons.contains("kernel/module/compat.c"), "{reasons}");
    assert!(reasons.contains("kernel/module/version.c"), "{reasons}");
}

const OLD_DRIVER: &str = "#define LEGACY_FW \"legacy.fw\"\n\nstatic int legacy_load_firmware(struct legacy *l)\n{\n\tint err = request_firmware(&l->fw, LEGACY_FW, l->dev);\n\n\tif (err)\n\t\tpr_err(\"legacy: firmware %s not found\\n\", LEGACY_FW);\n\treturn err;\n}\n\nstatic int legacy_probe(struct legacy *l)\n{\n\treturn legacy_load_firmware(l);\n}\n";
const NEW_DRIVER: &str = "static int modern_load(struct modern *m)\n{\n\tint err = request_firmware(&m->fw, \"modern.fw\", m->dev);\n\n\tif (err)\n\t\tpr_err(\"modern: firmware not found\\n\");\n\treturn err;\n}\n";

/// A tree-wide cleanup patch (drop the firmware error messages) over two drivers; upstream
/// removed the legacy one, and `upstream_legacy` (path, text) is what it has instead, if any.
fn cleanup_fixture(dir: &Path, upstream_legacy: Option<(&str, &str)>) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "drivers/legacy/legacy.c", OLD_DRIVER);
    write(dir, "drivers/modern.c", NEW_DRIVER);
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "drivers/legacy/legacy.c",
        &OLD_DRIVER.replace(
            "\n\tif (err)\n\t\tpr_err(\"legacy: firmware %s not found\\n\", LEGACY_FW);\n",
            "\n",
        ),
    );
    write(
        dir,
        "drivers/modern.c",
        &NEW_DRIVER.replace(
            "\n\tif (err)\n\t\tpr_err(\"modern: firmware not found\\n\");\n",
            "\n",
        ),
    );
    commit_all(dir, "firmware: remove redundant log messages from drivers");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    git(dir, &["rm", "-q", "drivers/legacy/legacy.c"]);
    write(dir, "drivers/modern.c", &format!("/* v2 */\n{NEW_DRIVER}"));
    if let Some((path, text)) = upstream_legacy {
        write(dir, path, text);
    }
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
}

#[test]
fn a_removed_drivers_hunks_are_dropped_and_the_rest_lands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cleanup_fixture(dir, None);
    let (code, report) = start(dir, false);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(verdicts(&report), ["relocated"], "{report:#}");
    assert_eq!(
        placements(&report, 0),
        [(
            "file-gone".to_string(),
            "drivers/legacy/legacy.c".to_string()
        )]
    );
    let detail = report["patches"][0]["paths"][0]["placements"][0]["detail"].to_string();
    assert!(detail.contains("3 of the 3 names"), "{detail}");
    let modern = git(dir, &["show", "ported:drivers/modern.c"]);
    assert!(modern.starts_with("/* v2 */\n") && !modern.contains("pr_err"));
    let files = git(dir, &["ls-tree", "-r", "--name-only", "ported"]);
    assert_eq!(files.trim(), "drivers/modern.c");
}

#[test]
fn a_driver_whose_functions_live_on_elsewhere_is_not_dropped() {
    // Upstream moved the driver to another folder under another name and reworded it: its
    // functions are still defined, so the change is not dropped but left to the user.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let moved = OLD_DRIVER
        .replace("legacy: firmware %s", "legacy fw %s")
        .replace(
            "return legacy_load_firmware(l);",
            "return legacy_load_firmware(l) ?: 0;",
        );
    cleanup_fixture(dir, Some(("drivers/staging/old/fw_legacy.c", &moved)));
    let (code, report) = start(dir, false);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report), ["conflict"], "{report:#}");
    assert_eq!(
        report["patches"][0]["paths"][0]["conflict"],
        "modify-delete"
    );
}

const LEGACY_KCONFIG: &str = "menu \"Legacy\"\nconfig LEGACY_FW\n\ttristate \"Legacy firmware driver\"\n\tdepends on FW_LOADER\nendmenu\n";
const LEGACY_MAKEFILE: &str = "obj-$(CONFIG_LEGACY_FW) += legacy.o\n";

/// The cleanup patch also makes the legacy driver modular (its Kconfig and Makefile); upstream
/// removed the legacy folder, or (`keep_folder`) only its C file.
fn folder_fixture(dir: &Path, keep_folder: bool) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "drivers/legacy/legacy.c", OLD_DRIVER);
    write(dir, "drivers/legacy/Kconfig", LEGACY_KCONFIG);
    write(dir, "drivers/legacy/Makefile", LEGACY_MAKEFILE);
    write(dir, "drivers/modern.c", NEW_DRIVER);
    write(dir, "drivers/Kconfig", "config FW_LOADER\n\ttristate\n");
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "drivers/legacy/legacy.c",
        &OLD_DRIVER.replace("\treturn legacy_load_firmware(l);\n", "\treturn 0;\n"),
    );
    write(
        dir,
        "drivers/legacy/Kconfig",
        &LEGACY_KCONFIG.replace(
            "\tdepends on FW_LOADER\n",
            "\tdepends on FW_LOADER\n\tdefault m\n",
        ),
    );
    write(
        dir,
        "drivers/legacy/Makefile",
        &format!("{LEGACY_MAKEFILE}ccflags-y += -DLEGACY_MODULE\n"),
    );
    write(
        dir,
        "drivers/modern.c",
        &NEW_DRIVER.replace("\"modern.fw\"", "\"modern-2.fw\""),
    );
    commit_all(dir, "drivers: build the firmware drivers as modules");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    git(
        dir,
        &[
            "rm",
            "-q",
            "drivers/legacy/legacy.c",
            "drivers/legacy/Kconfig",
            "drivers/legacy/Makefile",
        ],
    );
    if keep_folder {
        write(
            dir,
            "drivers/legacy/README",
            "The legacy driver is gone; see modern.c.\n",
        );
    }
    write(dir, "drivers/modern.c", &format!("/* v2 */\n{NEW_DRIVER}"));
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "master"]);
}

#[test]
fn build_files_of_a_removed_folder_are_dropped_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    folder_fixture(dir, false);
    let (code, report) = start(dir, false);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(verdicts(&report), ["relocated"], "{report:#}");
    let mut dropped = placements(&report, 0);
    dropped.sort();
    assert_eq!(
        dropped,
        ["Kconfig", "Makefile", "legacy.c"]
            .map(|f| ("file-gone".to_string(), format!("drivers/legacy/{f}")))
    );
    let details = report["patches"][0]["paths"].to_string();
    assert!(
        details.contains("with its whole folder") && details.contains("LEGACY_FW"),
        "{details}"
    );
    let files = git(dir, &["ls-tree", "-r", "--name-only", "ported"]);
    assert_eq!(files.trim(), "drivers/Kconfig\ndrivers/modern.c");
}

#[test]
fn build_files_of_a_folder_that_remains_stay_a_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    folder_fixture(dir, true);
    let (code, report) = start(dir, false);
    assert_eq!(code, 1, "{report:#}");
    let conflicts: Vec<String> = report["patches"][0]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["conflict"] == "modify-delete")
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        conflicts,
        ["drivers/legacy/Kconfig", "drivers/legacy/Makefile"]
    );
}
