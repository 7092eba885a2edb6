//! `ci emit`: GitLab and GitHub YAML parse and run every matrix entry; every LAVA job passes
//! LAVA's own validator (Debian's lava-common, strict mode).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const CONFIG: &str = r#"
[queue]
base = "v6.1"

[lint]
paths = ["drivers/evl"]
baseline = "lint-baseline.json"

[[matrix]]
arch = "x86_64"
fragments = ["dovetail"]
tests = ["kunit", "torture"]

[[matrix]]
name = "arm64-evl"
arch = "arm64"
config = "defconfig"
fragments = ["dovetail", "evl"]
tests = ["kunit", "evl"]
payload = "payload/arm64"
run = "echo '@@dpt@@ ok it''s quoted'; latmus -t 5"

[[matrix]]
name = "riscv64-build"
arch = "riscv64"
boot = false

[[matrix]]
name = "arm-kunit"
arch = "arm"

[lava]
artifacts_url = "https://lab.example.org/dovetail/${CI_PIPELINE_ID}/"

[[lava.boards]]
device_type = "bcm2711-rpi-4-b"
arch = "arm64"
dtb = "arch/arm64/boot/dts/broadcom/bcm2711-rpi-4-b.dtb"

[[lava.boards]]
device_type = "beaglebone-black"
arch = "arm"
entries = ["arm-kunit"]
dtb = "arch/arm/boot/dts/am335x-boneblack.dtb"
"#;

const NAMES: [&str; 4] = [
    "x86_64-tinyconfig",
    "arm64-evl",
    "riscv64-build",
    "arm-kunit",
];

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "dovetail-port.toml", CONFIG);
    d
}

/// Every shell line of the jobs, split into words by Python's shlex (as a POSIX shell would).
const SPLIT: &str = "import sys, yaml, shlex, json\n";

#[test]
fn gitlab_pipeline_parses_and_runs_every_entry() {
    let d = setup();
    let file = d.path().join(".gitlab-ci.yml");
    let o = tool(
        d.path(),
        &["ci", "emit", "gitlab", "-o", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = python(
        &format!("{SPLIT}doc = yaml.safe_load(open(sys.argv[1]))\n\
out = {{}}\n\
for k, v in doc.items():\n  if isinstance(v, dict) and 'script' in v:\n    out[k] = {{'stage': v['stage'], 'words': [shlex.split(l) for l in v['script']], 'cache': v.get('cache'), 'junit': v.get('artifacts', {{}}).get('reports', {{}}).get('junit'), 'paths': v.get('artifacts', {{}}).get('paths')}}\n\
print(json.dumps(out))"),
        &[&file],
    );
    let jobs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        jobs["queue-check"]["words"][0].as_array().unwrap()[..4],
        ["dovetail-port", "ci", "--only", "queue"]
    );
    assert_eq!(jobs["lint"]["words"][0][3], "lint");
    assert_eq!(jobs["lint"]["stage"], "gate");
    for name in NAMES {
        let job = &jobs[format!("test:{name}")];
        assert_eq!(job["stage"], "test", "{name}: {jobs}");
        let words: Vec<&str> = job["words"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(words[0], "dovetail-port");
        let arch = words[words.iter().position(|w| *w == "--arch").unwrap() + 1];
        assert!(name.starts_with(arch), "{name}: {words:?}");
        assert!(job["cache"]["paths"][0]
            .as_str()
            .unwrap()
            .starts_with(".dovetail-port/out/"));
        if name == "riscv64-build" {
            assert_eq!(words[1], "build");
            assert!(job["junit"].is_null());
        } else {
            assert_eq!(words[1], "test");
            assert_eq!(job["junit"], format!(".dovetail-port/ci/junit-{name}.xml"));
        }
    }
    // The payload command survives the shell as one word, quotes and all.
    let evl = jobs["test:arm64-evl"]["words"][0].as_array().unwrap();
    let run = evl.iter().position(|w| w == "--run").unwrap();
    assert_eq!(
        evl[run + 1],
        "evl test -k; echo '@@dpt@@ ok it''s quoted'; latmus -t 5"
    );
    assert!(!evl.iter().any(|w| w == "torture"));
    let x86 = jobs["test:x86_64-tinyconfig"]["words"][0]
        .as_array()
        .unwrap();
    assert!(
        x86.windows(2)
            .any(|w| w[0] == "--fragment" && w[1] == "torture"),
        "{x86:?}"
    );
    // The host-arch boot entry also stages what its LAVA job fetches: the image and the
    // shell initramfs, kept as artifacts; foreign-arch entries do not (no busybox for them).
    let lines = jobs["test:x86_64-tinyconfig"]["words"].as_array().unwrap();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let lava = ".dovetail-port/ci/lava/x86_64-tinyconfig";
    assert_eq!(lines[2][0], "cp");
    assert!(lines[2][1]
        .as_str()
        .unwrap()
        .ends_with("/arch/x86/boot/bzImage"));
    assert_eq!(lines[2][2], format!("{lava}/bzImage"));
    assert_eq!(
        lines[3],
        serde_json::json!([
            "dovetail-port",
            "initramfs",
            "--shell",
            "--arch",
            "x86_64",
            "-o",
            format!("{lava}/rootfs.cpio.gz")
        ])
    );
    assert!(jobs["test:x86_64-tinyconfig"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == &serde_json::json!(format!("{lava}/"))));
    assert_eq!(jobs["test:arm64-evl"]["words"].as_array().unwrap().len(), 1);
    let arm = jobs["test:arm-kunit"]["words"][0].as_array().unwrap();
    assert!(!arm.iter().any(|w| w == "--no-kunit"));
    let rv = jobs["test:riscv64-build"]["words"][0].as_array().unwrap();
    assert!(
        !rv.iter().any(|w| w == "--no-kunit"),
        "riscv64 keeps the default kunit test"
    );
}

#[test]
fn github_workflow_parses_and_names_every_entry() {
    let d = setup();
    let o = tool(d.path(), &["ci", "emit", "github"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = d.path().join("wf.yml");
    std::fs::write(&file, &o.stdout).unwrap();
    let out = python(
        &format!("{SPLIT}doc = yaml.safe_load(open(sys.argv[1]))\n\
t = doc['jobs']['test']\n\
print(json.dumps({{'on': sorted(doc[True] if True in doc else doc['on']), 'jobs': sorted(doc['jobs']), 'failfast': t['strategy']['fail-fast'], 'inc': [{{'name': i['name'], 'words': shlex.split(i['command'])}} for i in t['strategy']['matrix']['include']], 'run': t['steps'][2]['run']}}))"),
        &[&file],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["jobs"],
        serde_json::json!(["lint", "queue-check", "test"])
    );
    assert_eq!(v["on"], serde_json::json!(["pull_request", "push"]));
    assert_eq!(v["failfast"], false);
    assert_eq!(v["run"], "${{ matrix.command }}");
    let names: Vec<&str> = v["inc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, NAMES);
    for i in v["inc"].as_array().unwrap() {
        assert_eq!(i["words"][0], "dovetail-port");
    }
}

#[test]
fn every_lava_job_passes_lavas_validator() {
    let d = setup();
    let dir = d.path().join("lava");
    let o = tool(
        d.path(),
        &["ci", "emit", "lava", "-o", dir.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    // QEMU for every booting entry; the rpi4 for every arm64 entry; the BeagleBone for the one
    // entry named; nothing for the build-only riscv64 entry.
    assert_eq!(
        files,
        [
            "arm-kunit-beaglebone-black.yaml",
            "arm-kunit-qemu.yaml",
            "arm64-evl-bcm2711-rpi-4-b.yaml",
            "arm64-evl-qemu.yaml",
            "x86_64-tinyconfig-qemu.yaml",
        ]
    );
    let paths: Vec<std::path::PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let out = python(
        r#"import sys, yaml, json
from lava_common.schemas import validate
res = {}
for p in sys.argv[1:]:
    job = yaml.safe_load(open(p))
    validate(job, strict=True)
    acts = job['actions']
    steps = acts[2]['test']['definitions'][0]['repository']['run']['steps']
    res[p.split('/')[-1]] = {'device': job['device_type'], 'context': job.get('context'),
        'deploy': acts[0]['deploy'], 'boot': acts[1]['boot']['method'], 'steps': steps}
print(json.dumps(res))"#,
        &refs,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let x86 = &v["x86_64-tinyconfig-qemu.yaml"];
    assert_eq!(x86["device"], "qemu");
    assert_eq!(x86["context"]["arch"], "amd64");
    assert_eq!(x86["boot"], "qemu");
    assert_eq!(
        x86["deploy"]["images"]["kernel"]["url"],
        "https://lab.example.org/dovetail/${CI_PIPELINE_ID}/x86_64-tinyconfig/bzImage"
    );
    let steps = x86["steps"].to_string();
    assert!(
        steps.contains("/sys/kernel/debug/kunit") && steps.contains("irq_pipeline_torture"),
        "{steps}"
    );
    let rpi = &v["arm64-evl-bcm2711-rpi-4-b.yaml"];
    assert_eq!(rpi["device"], "bcm2711-rpi-4-b");
    assert_eq!(rpi["boot"], "u-boot");
    assert_eq!(rpi["deploy"]["to"], "tftp");
    assert!(rpi["deploy"]["dtb"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/arm64-evl/bcm2711-rpi-4-b.dtb"));
    let steps = rpi["steps"].to_string();
    assert!(
        steps.contains("evl test -k") && steps.contains("lava-test-case"),
        "{steps}"
    );
    assert_eq!(v["arm64-evl-qemu.yaml"]["context"]["machine"], "virt");
    assert_eq!(
        v["arm-kunit-beaglebone-black.yaml"]["deploy"]["kernel"]["type"],
        "zimage"
    );
}

#[test]
fn a_broken_job_is_caught_by_the_same_validator() {
    // The validator really runs: a job with its boot method misspelt fails it.
    let d = setup();
    let dir = d.path().join("lava");
    let o = tool(
        d.path(),
        &["ci", "emit", "lava", "-o", dir.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0));
    let p = dir.join("x86_64-tinyconfig-qemu.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("method: \"qemu\"", "method: \"qemoo\"");
    std::fs::write(&p, text).unwrap();
    let out = Command::new("/usr/bin/python3")
        .args(["-c", "import sys, yaml\nfrom lava_common.schemas import validate\nvalidate(yaml.safe_load(open(sys.argv[1])), strict=True)"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
