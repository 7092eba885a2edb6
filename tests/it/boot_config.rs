//! Configuration and verification on the real kernel trees (no compile: cheap), for every
//! architecture, and the failure paths of `build`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
}

fn tree(series: &str) -> PathBuf {
    common::kernel_tree(series)
}

fn config_only(arch: &str, tree: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["build", "--config-only", "--arch", arch, "--tree"])
        .arg(tree)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn cross_architectures_configure_and_verify() {
    if !common::kernel_tier() {
        return;
    }
    for (arch, series, console) in [
        ("arm64", "6.12", "CONFIG_SERIAL_AMBA_PL011_CONSOLE=y"),
        ("riscv64", "6.1", "CONFIG_SERIAL_8250_CONSOLE=y"),
        ("arm", "6.12", "CONFIG_SERIAL_AMBA_PL011_CONSOLE=y"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let o = config_only(arch, &tree(series), out.path(), &["--json"]);
        assert!(
            o.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let cfg = std::fs::read_to_string(out.path().join(".config")).unwrap();
        assert!(cfg.contains(console), "{arch}");
        assert!(cfg.contains("CONFIG_KUNIT=y"), "{arch}");
        // The gzip initramfs is all the boot needs; kbuild/unneeded.toml keeps the other
        // decompressors (defaulted on by BLK_DEV_INITRD) out of the build.
        assert!(cfg.contains("CONFIG_RD_GZIP=y"), "{arch}");
        assert!(!cfg.contains("CONFIG_RD_ZSTD=y"), "{arch}");
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(j["verified_options"].as_u64().unwrap() > 15);
        assert!(j["image"].is_null());
    }
}

#[test]
fn evl_fragment_on_a_vanilla_tree_is_refused_before_compiling() {
    if !common::kernel_tier() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = config_only("x86_64", &tree("6.12"), out.path(), &["--fragment", "evl"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("CONFIG_EVL=y"), "{err}");
    assert!(err.contains("evl.config:"), "{err}");
    assert!(
        err.contains("no Kconfig file of this tree defines EVL"),
        "{err}"
    );
    assert!(err.contains("CONFIG_DOVETAIL=y"), "{err}");
    assert!(!out.path().join("vmlinux").exists());
}

#[test]
fn dropped_option_names_its_unmet_dependency() {
    if !common::kernel_tier() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let frag = out.path().join("no-testing-menu.config");
    std::fs::write(
        &frag,
        "# CONFIG_RUNTIME_TESTING_MENU is not set\nCONFIG_LIST_KUNIT_TEST=y\n",
    )
    .unwrap();
    let o = config_only(
        "x86_64",
        &tree("6.12"),
        &out.path().join("o"),
        &[
            "--no-kunit",
            "--fragment",
            "kunit-core",
            "--fragment",
            frag.to_str().unwrap(),
        ],
    );
    // kunit-core does not exist: a clear error listing the built-ins.
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("built-in: bench"));

    std::fs::write(
        &frag,
        "CONFIG_KUNIT=y\n# CONFIG_RUNTIME_TESTING_MENU is not set\nCONFIG_LIST_KUNIT_TEST=y\n",
    )
    .unwrap();
    let o = config_only(
        "x86_64",
        &tree("6.12"),
        &out.path().join("o"),
        &["--no-kunit", "--fragment", frag.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("CONFIG_LIST_KUNIT_TEST=y"), "{err}");
    assert!(err.contains("no-testing-menu.config:3"), "{err}");
    assert!(
        err.contains("unmet dependency `RUNTIME_TESTING_MENU`"),
        "{err}"
    );
    assert!(err.contains("lib/Kconfig.debug"), "{err}");
}

#[test]
fn contradicting_profiles_are_refused() {
    if !common::kernel_tier() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = config_only(
        "x86_64",
        &tree("6.12"),
        out.path(),
        &["--fragment", "debug", "--fragment", "bench"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("contradicting config fragments"), "{err}");
    assert!(err.contains("CONFIG_DEBUG_ATOMIC_SLEEP"), "{err}");
}

/// A minimal kbuild-shaped tree whose image target fails in the real compiler, to check that
/// the first error is reported with file:line.
#[test]
fn compile_failure_shows_the_first_compiler_error() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("tree");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("Kconfig"), "config KUNIT\n\tbool \"kunit\"\n").unwrap();
    std::fs::write(
        t.join("broken.c"),
        "int main(void)\n{\n\treturn undeclared_thing;\n}\nint f(void) { return also_missing; }\n",
    )
    .unwrap();
    // Config targets write a .config with every requested option; the image compiles broken.c.
    std::fs::write(
        t.join("Makefile"),
        "%config:\n\ttouch $(O)/.config\n\nsyncconfig:\n\tsed -i 's/^# CONFIG_\\(.*\\) is not set/# CONFIG_\\1 is not set/' $(O)/.config\n\nbzImage:\n\t@echo '  CC      broken.o'\n\tgcc -c $(CURDIR)/broken.c -o $(O)/broken.o\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = bin()
        .args(["build", "--arch", "x86_64", "--no-kunit", "--tree"])
        .arg(&t)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.c:3:"), "{err}");
    assert!(err.contains("undeclared_thing"), "{err}");
    assert!(!err.contains("also_missing"), "only the first error: {err}");
    assert!(err.contains("build.log"), "{err}");
}
