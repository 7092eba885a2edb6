//! An installed binary works with no source tree: the binary is copied out of the build tree
//! and run from an empty folder with a fresh cache, no `DOVETAIL_PORT_DATA`, and (where user
//! namespaces allow) the source tree hidden under an empty tmpfs, so any read of
//! `CARGO_MANIFEST_DIR` at run time fails.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dovetail_port::kernels::KernelCache;

const SOURCE: &str = env!("CARGO_MANIFEST_DIR");

struct Installed {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    cwd: PathBuf,
    cache: PathBuf,
    /// The source tree is hidden from the runs.
    hidden: bool,
}

impl Installed {
    fn new() -> Installed {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin/dovetail-port");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_dovetail-port"), &bin).unwrap();
        let cwd = tmp.path().join("empty");
        let cache = tmp.path().join("cache");
        std::fs::create_dir_all(&cwd).unwrap();
        let hidden = Command::new("unshare")
            .args([
                "-rm",
                "--",
                "sh",
                "-c",
                "mount -t tmpfs none \"$1\" && ! test -e \"$1/Cargo.toml\"",
                "sh",
                SOURCE,
            ])
            .status()
            .is_ok_and(|s| s.success());
        if !hidden {
            eprintln!("note: unshare -rm unavailable; the source tree stays visible to the runs");
        }
        Installed {
            _tmp: tmp,
            bin,
            cwd,
            cache,
            hidden,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = if self.hidden {
            let mut c = Command::new("unshare");
            c.args([
                "-rm",
                "--",
                "sh",
                "-c",
                "mount -t tmpfs none \"$1\" && shift && exec \"$@\"",
                "sh",
                SOURCE,
            ]);
            c.arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        cmd.args(args)
            .current_dir(&self.cwd)
            .env_remove("DOVETAIL_PORT_DATA")
            .env("DOVETAIL_PORT_CACHE", &self.cache)
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn installed_binary_runs_without_its_source_tree() {
    if !common::kernel_tier() {
        return;
    }
    let tree = KernelCache::default_location()
        .ensure()
        .expect("kernel cache")
        .source_tree("6.1");
    let inst = Installed::new();

    // doctor: the data unpacked from the binary into the fresh cache, all of it.
    let doc: serde_json::Value =
        serde_json::from_str(&text(&inst.run(&["doctor", "--json"]).stdout)).unwrap();
    assert_eq!(
        doc["data"]["builtin_error"],
        serde_json::Value::Null,
        "{doc}"
    );
    assert_eq!(
        doc["data"]["builtin_damaged"],
        serde_json::json!([]),
        "{doc}"
    );
    assert!(doc["data"]["builtin"]
        .as_str()
        .unwrap()
        .starts_with(inst.cache.to_str().unwrap()));
    assert!(doc["cache"]["writable"].as_bool().unwrap());
    assert!(["kvm", "tcg"].contains(&doc["accelerator"]["accel"].as_str().unwrap()));

    // build --config-only: arch profile, fragments and conflicts come from the embedded data;
    // `aarch64` is the toolchain's spelling of arm64.
    let out = inst.cwd.join("out-arm64");
    let o = inst.run(&[
        "build",
        "--config-only",
        "--arch",
        "aarch64",
        "--tree",
        tree.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    ok(&o, "build --config-only");
    let cfg = std::fs::read_to_string(out.join(".config")).unwrap();
    assert!(cfg.contains("CONFIG_SERIAL_AMBA_PL011_CONSOLE=y"));
    assert!(cfg.contains("CONFIG_KUNIT=y"));

    // lint: the built-in rules find the sleeping call three frames below the oob handler.
    copy_dir(
        &Path::new(SOURCE).join("tests/fixtures/lint/oob_driver"),
        &inst.cwd.join("oob_driver"),
    );
    let o = inst.run(&["lint", "--format", "json", "oob_driver"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let report = text(&o.stdout);
    assert!(
        report
            .contains("oobdrv_oob_ioctl() -> do_xfer() -> oobdrv_update_config() -> mutex_lock()"),
        "{report}"
    );

    // new-arch --dry-run: the templates; `riscv64` is our spelling of the kernel's riscv.
    let o = inst.run(&[
        "new-arch",
        "riscv64",
        "--dry-run",
        "--tree",
        tree.to_str().unwrap(),
    ]);
    let diff = ok(&o, "new-arch --dry-run");
    assert!(diff.contains("+++ b/arch/riscv/"), "{diff}");

    // ci init on a fork with two arch folders: both profiles are known.
    let fork = inst.cwd.join("fork");
    std::fs::create_dir_all(fork.join("arch/x86")).unwrap();
    std::fs::create_dir_all(fork.join("arch/arm64")).unwrap();
    std::fs::copy(tree.join("Makefile"), fork.join("Makefile")).unwrap();
    ok(
        &inst.run(&["ci", "init", "--dir", fork.to_str().unwrap()]),
        "ci init",
    );
    let toml = std::fs::read_to_string(fork.join("dovetail-port.toml")).unwrap();
    assert!(toml.contains("arch = \"x86_64\""), "{toml}");
    assert!(toml.contains("arch = \"arm64\""), "{toml}");
    let yaml = ok(
        &inst.run(&["ci", "emit", "gitlab", "--dir", fork.to_str().unwrap()]),
        "ci emit gitlab",
    );
    assert!(yaml.contains("x86_64-tinyconfig"), "{yaml}");
}

#[test]
fn user_data_layer_adds_and_replaces_files() {
    let inst = Installed::new();
    let user = inst.cwd.join("mydata");
    std::fs::create_dir_all(user.join("kbuild/arch")).unwrap();
    // A new profile: a copy of riscv64 under another name.
    let rv = std::fs::read_to_string(Path::new(SOURCE).join("kbuild/arch/riscv64.toml")).unwrap();
    std::fs::write(
        user.join("kbuild/arch/rv64-lab.toml"),
        rv.replace("arch = \"riscv64\"", "arch = \"rv64-lab\"")
            .replace("aliases = []", "aliases = [\"lab\"]"),
    )
    .unwrap();
    let o = inst.run(&["build", "--arch", "sparc", "--config-only"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("known: arm, arm64, riscv64, x86_64"), "{err}");

    // A replaced profile: the user's arm.toml is the one read (and its error names it).
    std::fs::write(user.join("kbuild/arch/arm.toml"), "arch = \"arm\"\n").unwrap();
    let with_layer = |args: &[&str]| {
        Command::new(&inst.bin)
            .args(args)
            .current_dir(&inst.cwd)
            .env("DOVETAIL_PORT_DATA", &user)
            .env("DOVETAIL_PORT_CACHE", &inst.cache)
            .output()
            .unwrap()
    };
    let o = with_layer(&["build", "--arch", "sparc", "--config-only"]);
    let err = text(&o.stderr);
    assert!(
        err.contains("known: arm, arm64, riscv64, rv64-lab, x86_64"),
        "{err}"
    );
    let o = with_layer(&["build", "--arch", "arm", "--config-only"]);
    let err = text(&o.stderr);
    assert!(
        err.contains(user.join("kbuild/arch/arm.toml").to_str().unwrap())
            && err.contains("missing field"),
        "{err}"
    );
    // The alias of the added profile resolves through the same table.
    let o = with_layer(&["busybox", "--arch", "lab", "--help"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}
