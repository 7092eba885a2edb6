//! The LAVA path end to end, short of a LAVA lab: `ci emit lava` writes the job (checked with
//! lava-common's strict validator), `dovetail-port initramfs --shell` writes the shell
//! initramfs the job deploys, and the real 6.1 kernel (the build the ci and boot e2e tests
//! share) boots it under QEMU/TCG while this test drives the serial console the way LAVA's
//! `qemu` boot and test actions do: wait for the job's login prompt, log in as its
//! `auto_login` user, wait for its shell prompt, install `lava-test-case` (LAVA's overlay
//! does this in a lab), type each step of the job's inline test definition and read back the
//! `<LAVA_SIGNAL_TESTCASE ...>` lines.

use crate::common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use dovetail_port::boot::qemu;
use dovetail_port::kbuild::ArchProfile;

const CONFIG: &str = r#"
[[matrix]]
name = "x86_64-kunit"
arch = "x86_64"
config = "tinyconfig"
tests = ["kunit", "evl"]
# No libevl in this guest (`evl test -k` is not found): its output format is printed instead.
run = "echo '@@dpt@@ ok payload-ran'; echo '@@dpt@@ fail widget returned -EIO'; echo '@@dpt@@ skip no-hw'; printf 'basic-xbuf: OK\\n** stax-lock: BROKEN\\nring-buffer: no kernel support\\n'"

[lava]
artifacts_url = "https://ci.example.org/artifacts"
"#;

/// The job as JSON (via PyYAML), after lava-common's `validate(job, strict=True)`.
fn validated_job(path: &Path) -> serde_json::Value {
    let json = python(
        "import sys, json, yaml\nfrom lava_common.schemas import validate\n\
job = yaml.safe_load(open(sys.argv[1]))\nvalidate(job, strict=True)\nprint(json.dumps(job))",
        &[path],
    );
    serde_json::from_str(&json).unwrap()
}

/// The serial console of a QEMU guest: everything it printed, and its input.
struct Console {
    child: Child,
    seen: Arc<Mutex<String>>,
    /// Where the next `expect` starts looking.
    at: usize,
}

impl Console {
    fn start(binary: &str, args: &[std::ffi::OsString]) -> Console {
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Console { child, seen, at: 0 }
    }

    /// Waits for `text` after the last match; returns what came before it.
    fn expect(&mut self, text: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some(pos) = seen[self.at..].find(text) {
                    let before = seen[self.at..self.at + pos].to_string();
                    self.at += pos + text.len();
                    return before;
                }
            }
            if start.elapsed() > timeout {
                let seen = self.seen.lock().unwrap();
                panic!(
                    "no {text:?} within {timeout:?}; console after the last match:\n{}",
                    &seen[self.at..]
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stand-in for LAVA's `lava-test-case` (from the overlay LAVA puts in the rootfs): the
/// same signal line on the console.
const LAVA_TEST_CASE: &[&str] = &[
    "#!/bin/sh",
    "name=$1; shift",
    "while [ $# -gt 0 ]; do case $1 in --result) result=$2; shift;; esac; shift; done",
    "echo \"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$name RESULT=$result>\"",
];

#[test]
fn emitted_lava_job_runs_on_the_shell_initramfs_under_qemu() {
    if !common::kernel_tier() {
        return;
    }
    let (fork, _) = ci_fork();
    let out_dir = ci_fork_build_dir(&fork);
    let o = Command::new(bin())
        .args(["build", "--arch", "x86_64", "-j2", "--tree"])
        .arg(&fork)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "build: {}", stderr(&o));
    let kernel = out_dir.join("arch/x86/boot/bzImage");

    let d = tempfile::tempdir().unwrap();
    write(d.path(), "dovetail-port.toml", CONFIG);
    let jobs = d.path().join("lava");
    let o = tool(
        d.path(),
        &["ci", "emit", "lava", "-o", jobs.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let job = validated_job(&jobs.join("x86_64-kunit-qemu.yaml"));
    let actions = job["actions"].as_array().unwrap();
    let boot = actions.iter().find_map(|a| a.get("boot")).unwrap();
    let login_prompt = boot["auto_login"]["login_prompt"].as_str().unwrap();
    let user = boot["auto_login"]["username"].as_str().unwrap();
    let prompt = boot["prompts"][0].as_str().unwrap();
    let test = actions.iter().find_map(|a| a.get("test")).unwrap();
    let steps: Vec<&str> = test["definitions"][0]["repository"]["run"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // The deploy action names the artifact the shell initramfs is published as.
    let ramdisk = actions.iter().find_map(|a| a.get("deploy")).unwrap()["images"]["ramdisk"]["url"]
        .as_str()
        .unwrap();
    assert!(
        ramdisk.ends_with("/x86_64-kunit/rootfs.cpio.gz"),
        "{ramdisk}"
    );

    let rootfs = d.path().join("rootfs.cpio.gz");
    let o = tool(
        d.path(),
        &[
            "initramfs",
            "--shell",
            "--arch",
            "x86_64",
            "-o",
            rootfs.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = d.path().join("again.cpio.gz");
    tool(
        d.path(),
        &["initramfs", "--shell", "-o", again.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(&rootfs).unwrap(),
        std::fs::read(&again).unwrap(),
        "the shell initramfs is deterministic"
    );

    let profile = ArchProfile::load("x86_64").unwrap();
    let cmd = qemu::command(&profile, &kernel, &rootfs, false, 256, 1, &[]);
    let mut console = Console::start(&cmd.binary, &cmd.args);
    // TCG on a shared machine: generous, and only reached on a real failure.
    let boot_time = Duration::from_secs(300);
    let step_time = Duration::from_secs(120);
    console.expect(login_prompt, boot_time);
    console.send(user);
    console.expect(prompt, step_time);
    console.send("mkdir -p /lava/bin && export PATH=/lava/bin:$PATH");
    console.expect(prompt, step_time);
    let quoted: Vec<String> = LAVA_TEST_CASE
        .iter()
        .map(|l| format!("'{}'", l.replace('\'', "'\\''")))
        .collect();
    console.send(&format!(
        "printf '%s\\n' {} > /lava/bin/lava-test-case && chmod +x /lava/bin/lava-test-case",
        quoted.join(" ")
    ));
    console.expect(prompt, step_time);
    let mut output = String::new();
    for step in &steps {
        console.send(step);
        output.push_str(&console.expect(prompt, step_time));
    }

    let signal = regex::Regex::new(
        r"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=([A-Za-z0-9_.:+-]+) RESULT=(pass|fail|skip)>",
    )
    .unwrap();
    let results: std::collections::BTreeMap<String, String> = signal
        .captures_iter(&output)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    let result = |name: &str| {
        results
            .get(name)
            .unwrap_or_else(|| panic!("no result for {name}; console:\n{output}"))
            .as_str()
    };
    // The payload's markers, each a LAVA test case with its verdict.
    assert_eq!(result("payload-ran"), "pass");
    assert_eq!(result("widget"), "fail");
    assert_eq!(result("no-hw"), "skip");
    // `evl test` lines.
    assert_eq!(result("evl.basic-xbuf"), "pass");
    assert_eq!(result("evl.stax-lock"), "fail");
    assert_eq!(result("evl.ring-buffer"), "skip");
    // KUnit's results, read from debugfs per suite.
    for name in [
        "list-kunit-test.list_test_list_init",
        "hlist.hlist_test_init",
        "bits-test.genmask_test",
        "example.example_simple_test",
    ] {
        assert_eq!(result(name), "pass", "{name}");
    }
    assert_eq!(result("example.example_skip_test"), "skip");
    let kunit_passed = results
        .iter()
        .filter(|(k, v)| k.contains('.') && !k.starts_with("evl.") && *v == "pass")
        .count();
    assert!(
        kunit_passed >= 85,
        "{kunit_passed} KUnit passes: {results:?}"
    );
    assert!(
        !results
            .iter()
            .any(|(k, v)| k.contains('.') && !k.starts_with("evl.") && v == "fail"),
        "{results:?}"
    );
}
