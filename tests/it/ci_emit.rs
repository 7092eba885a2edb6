//! `ci emit`: GitLab and GitHub YAML parse and run every matrix entry; every LAVA job passes
//! LAVA's own validator (Debian's lava-common, strict mode).

use crate::common;

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
        let words = test_line(job);
        assert_eq!(words[0], "dovetail-port");
        let arch = words[words.iter().position(|w| w == "--arch").unwrap() + 1].as_str();
        assert!(name.starts_with(arch), "{name}: {words:?}");
        assert!(job["cache"]["paths"][0]
            .as_str()
            .unwrap()
            .starts_with(".dovetail-port/out/"));
        let first = lines(job)[0].clone();
        if name == "riscv64-build" {
            assert_eq!(words[1], "build");
            assert!(job["junit"].is_null());
            assert_eq!(lines(job).len(), 1, "a build-only entry needs no guest");
        } else {
            assert_eq!(words[1], "test");
            assert_eq!(job["junit"], format!(".dovetail-port/ci/junit-{name}.xml"));
            // Every booting entry first gets its guest's busybox (fetched for foreign arches).
            assert_eq!(
                first,
                ["dovetail-port", "busybox", "--arch", arch],
                "{name}"
            );
        }
    }
    // The payload command survives the shell as one word, quotes and all.
    let evl = test_line(&jobs["test:arm64-evl"]);
    let run = evl.iter().position(|w| w == "--run").unwrap();
    assert_eq!(
        evl[run + 1],
        "evl test -k; echo '@@dpt@@ ok it''s quoted'; latmus -t 5"
    );
    assert!(!evl.iter().any(|w| w == "torture"));
    let x86 = test_line(&jobs["test:x86_64-tinyconfig"]);
    assert!(
        x86.windows(2)
            .any(|w| w[0] == "--fragment" && w[1] == "torture"),
        "{x86:?}"
    );
    // Booting entries also stage what their LAVA jobs fetch, kept as artifacts: the image
    // and the shell initramfs, and the device tree of each board that runs the entry (built
    // by the test line's --make-target).
    let x = lines(&jobs["test:x86_64-tinyconfig"]);
    assert_eq!(x.len(), 5, "{x:?}");
    let lava = ".dovetail-port/ci/lava/x86_64-tinyconfig";
    assert_eq!(x[3][0], "cp");
    assert!(x[3][1].ends_with("/arch/x86/boot/bzImage"));
    assert_eq!(x[3][2], format!("{lava}/bzImage"));
    assert_eq!(
        x[4],
        [
            "dovetail-port",
            "initramfs",
            "--shell",
            "--arch",
            "x86_64",
            "-o",
            &format!("{lava}/rootfs.cpio.gz")
        ]
    );
    assert!(!x86.iter().any(|w| w == "--make-target"));
    let a = lines(&jobs["test:arm64-evl"]);
    let lava = ".dovetail-port/ci/lava/arm64-evl";
    assert!(
        evl.windows(2)
            .any(|w| w == ["--make-target", "broadcom/bcm2711-rpi-4-b.dtb"]),
        "{evl:?}"
    );
    assert!(a[4][1].ends_with("/arch/arm64/boot/dts/broadcom/bcm2711-rpi-4-b.dtb"));
    assert_eq!(a[4][2], format!("{lava}/"));
    assert_eq!(a.last().unwrap()[4], "arm64");
    let arm = test_line(&jobs["test:arm-kunit"]);
    assert!(!arm.iter().any(|w| w == "--no-kunit"));
    assert!(arm
        .windows(2)
        .any(|w| w == ["--make-target", "am335x-boneblack.dtb"]));
    let rv = test_line(&jobs["test:riscv64-build"]);
    assert!(
        !rv.iter().any(|w| w == "--no-kunit"),
        "riscv64 keeps the default kunit test"
    );
    for name in ["x86_64-tinyconfig", "arm64-evl", "arm-kunit"] {
        let paths = jobs[format!("test:{name}")]["paths"].as_array().unwrap();
        assert!(
            paths.contains(&serde_json::json!(format!(
                ".dovetail-port/ci/lava/{name}/"
            ))),
            "{name}: {paths:?}"
        );
    }
}

/// A GitLab job's script lines, each split into words.
fn lines(job: &serde_json::Value) -> Vec<Vec<String>> {
    job["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// The `dovetail-port test|build` line of a GitLab job.
fn test_line(job: &serde_json::Value) -> Vec<String> {
    lines(job)
        .into_iter()
        .find(|w| w.len() > 1 && (w[1] == "test" || w[1] == "build"))
        .expect("a test or build line")
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
print(json.dumps({{'on': sorted(doc[True] if True in doc else doc['on']), 'jobs': sorted(doc['jobs']), 'failfast': t['strategy']['fail-fast'], 'inc': [{{'name': i['name'], 'words': shlex.split(i['command']), 'prepare': shlex.split(i['prepare']), 'stage': [shlex.split(l) for l in i['stage'].splitlines()], 'lava': i['lava']}} for i in t['strategy']['matrix']['include']], 'runs': [(st.get('if'), st.get('run')) for st in t['steps'] if 'run' in st and 'name' not in st], 'upload': t['steps'][-1]['with']['path']}}))"),
        &[&file],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["jobs"],
        serde_json::json!(["lint", "queue-check", "test"])
    );
    assert_eq!(v["on"], serde_json::json!(["pull_request", "push"]));
    assert_eq!(v["failfast"], false);
    // After the install step: guest busybox, test, then the LAVA artifacts, the first and
    // last only where set.
    assert_eq!(
        v["runs"],
        serde_json::json!([
            ["matrix.prepare != ''", "${{ matrix.prepare }}"],
            [null, "${{ matrix.command }}"],
            ["matrix.stage != ''", "${{ matrix.stage }}"]
        ])
    );
    assert!(v["upload"]
        .as_str()
        .unwrap()
        .ends_with("\n${{ matrix.lava }}/"));
    let names: Vec<&str> = v["inc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, NAMES);
    for i in v["inc"].as_array().unwrap() {
        assert_eq!(i["words"][0], "dovetail-port");
        if i["name"] == "riscv64-build" {
            assert_eq!(i["prepare"], serde_json::json!([]));
            assert_eq!(i["stage"], serde_json::json!([]));
        } else {
            assert_eq!(i["prepare"][1], "busybox");
            let stage = i["stage"].as_array().unwrap();
            assert_eq!(stage.last().unwrap()[1], "initramfs", "{i}");
            assert_eq!(
                i["lava"],
                format!(".dovetail-port/ci/lava/{}", i["name"].as_str().unwrap())
            );
        }
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

#[test]
fn every_file_a_lava_job_fetches_is_staged_by_its_entrys_gitlab_job() {
    let d = setup();
    let gitlab = d.path().join(".gitlab-ci.yml");
    let dir = d.path().join("lava");
    for args in [
        vec!["ci", "emit", "gitlab", "-o", gitlab.to_str().unwrap()],
        vec!["ci", "emit", "lava", "-o", dir.to_str().unwrap()],
    ] {
        let o = tool(d.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let mut args = vec![gitlab.clone()];
    args.extend(std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()));
    let refs: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    // For each LAVA job: its entry and the files it fetches; for each GitLab job: the files
    // its script lines put in the entry's LAVA folder (cp SRC DEST, initramfs -o FILE).
    let out = python(
        r#"import sys, yaml, shlex, json, os
ci = yaml.safe_load(open(sys.argv[1]))
staged = {}
for k, v in ci.items():
    if not (isinstance(v, dict) and k.startswith('test:')):
        continue
    files = []
    for l in v['script']:
        w = shlex.split(l)
        if w[0] == 'cp':
            files.append(os.path.join(w[2], os.path.basename(w[1])) if w[2].endswith('/') else w[2])
        elif w[:3] == ['dovetail-port', 'initramfs', '--shell']:
            files.append(w[w.index('-o') + 1])
    staged[k[5:]] = files
fetched = {}
for p in sys.argv[2:]:
    job = yaml.safe_load(open(p))
    dep = job['actions'][0]['deploy']
    imgs = dep.get('images', dep)
    fetched[os.path.basename(p)] = [imgs[k]['url'] for k in ('kernel', 'ramdisk', 'dtb') if k in imgs]
print(json.dumps({'staged': staged, 'fetched': fetched}))"#,
        &refs,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let base = "https://lab.example.org/dovetail/${CI_PIPELINE_ID}/";
    let fetched = v["fetched"].as_object().unwrap();
    assert_eq!(fetched.len(), 5);
    let mut dtbs = 0;
    for (job, urls) in fetched {
        for url in urls.as_array().unwrap() {
            let rel = url.as_str().unwrap().strip_prefix(base).unwrap();
            let (entry, file) = rel.split_once('/').unwrap();
            assert!(job.starts_with(entry), "{job}: {rel}");
            let want = format!(".dovetail-port/ci/lava/{rel}");
            let staged = &v["staged"][entry];
            assert!(
                staged
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::json!(want)),
                "{job} fetches {file}, which the `test:{entry}` job does not stage: {staged}"
            );
            dtbs += file.ends_with(".dtb") as usize;
        }
    }
    assert_eq!(dtbs, 2, "both boards boot with a device tree");
}

#[test]
fn the_publish_command_runs_after_staging_with_ci_variables_expanded() {
    let d = tempfile::tempdir().unwrap();
    let config = CONFIG.replace(
        "[lava]\n",
        "[lava]\npublish = [\"printf\", \"%s|\", \"{dir}/\", \"lab:/srv/${CI_PIPELINE_ID}/{entry}/\", \"$(touch pwned)\"]\n",
    );
    write(d.path(), "dovetail-port.toml", &config);
    let file = d.path().join(".gitlab-ci.yml");
    let o = tool(
        d.path(),
        &["ci", "emit", "gitlab", "-o", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = python(
        "import sys, yaml\nprint(yaml.safe_load(open(sys.argv[1]))['test:arm64-evl']['script'][-1])",
        &[&file],
    );
    // Run the emitted line through a shell as the runner would.
    let ran = Command::new("sh")
        .args(["-c", out.trim()])
        .env("CI_PIPELINE_ID", "42")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(ran.status.success(), "{out}: {ran:?}");
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        ".dovetail-port/ci/lava/arm64-evl/|lab:/srv/42/arm64-evl/|$(touch pwned)|"
    );
    assert!(!d.path().join("pwned").exists());
}

#[test]
fn emitted_yaml_passes_yamllint_and_jobs_install_the_tool() {
    let d = setup();
    let gl = d.path().join("gl.yml");
    let gh = d.path().join("gh.yml");
    let lava = d.path().join("lava");
    let emit = |args: &[&str]| {
        let o = Command::new(bin())
            .args(["ci", "emit"])
            .args(args)
            .current_dir(d.path())
            .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
            .env("CI_PIPELINE_ID", "4242")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    emit(&["gitlab", "-o", gl.to_str().unwrap()]);
    emit(&["github", "-o", gh.to_str().unwrap()]);
    emit(&["lava", "-o", lava.to_str().unwrap()]);
    let mut files = vec![gl.clone(), gh.clone()];
    for e in std::fs::read_dir(&lava).unwrap().flatten() {
        files.push(e.path());
    }
    assert!(files.len() > 4);
    // yamllint's default config: no errors, no warnings.
    let o = Command::new("yamllint")
        .args(["-f", "parsable", "--strict"])
        .args(&files)
        .output()
        .expect("yamllint installed (apt-get install yamllint)");
    assert!(
        o.status.success() && o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The folded long lines read back as the same commands.
    let out = python(
        "import sys, yaml, json\n\
gl = yaml.safe_load(open(sys.argv[1])); gh = yaml.safe_load(open(sys.argv[2]))\n\
print(json.dumps({'default': gl['default'], 'lint': gl['lint'], 'submit': gl['lava-submit'], \
'stages': gl['stages'], 'gh_test': gh['jobs']['test'], 'gh_lint': gh['jobs']['lint']}))",
        &[&gl, &gh],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["default"]["image"], "rust:1-bookworm");
    let before: Vec<&str> = v["default"]["before_script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(before.iter().any(|l| l.contains(
        "apt-get install -y --no-install-recommends pkg-config git tar xz-utils make gcc"
    )));
    assert!(before.iter().any(|l| l.contains("cargo install --locked")));
    assert_eq!(
        v["lint"]["artifacts"]["reports"]["codequality"],
        "gl-code-quality.json"
    );
    assert!(v["lint"]["script"][0]
        .as_str()
        .unwrap()
        .ends_with("--codequality gl-code-quality.json"));
    assert_eq!(v["stages"], serde_json::json!(["gate", "test", "lava"]));
    let submit = v["submit"]["script"].to_string();
    assert!(
        submit.contains("ci emit lava") && submit.contains("lavacli --uri"),
        "{submit}"
    );
    // The labs' results come back as JUnit for the pipeline's test page.
    assert!(
        submit.contains("--json > ") && submit.contains("dovetail-port results lava"),
        "{submit}"
    );
    assert_eq!(
        v["submit"]["artifacts"]["reports"]["junit"],
        "lava-junit.xml"
    );
    assert_eq!(v["gh_test"]["container"], "rust:1-bookworm");
    assert_eq!(v["gh_test"]["runs-on"], "ubuntu-latest");
    assert_eq!(
        v["gh_lint"]["steps"][1]["name"],
        "install dovetail-port and the kernel tools"
    );
    // LAVA URLs carry the pipeline's value, not the variable's name.
    let job = std::fs::read_to_string(lava.join("x86_64-tinyconfig-qemu.yaml")).unwrap();
    let job: String = job
        .lines()
        .map(|l| l.trim_start().trim_end_matches('\\'))
        .collect();
    assert!(
        job.contains("https://lab.example.org/dovetail/4242/x86_64-tinyconfig/"),
        "{job}"
    );
    assert!(!job.contains("CI_PIPELINE_ID"));
}

#[test]
fn runner_section_sets_image_tags_runs_on_and_install() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "dovetail-port.toml",
        "[[matrix]]\narch = \"x86_64\"\n[ci]\nimage = \"registry.example.org/kernel-ci:12\"\n\
tags = [\"kvm\"]\nruns_on = [\"self-hosted\", \"kvm\"]\ninstall = [\"true\"]\n",
    );
    let gl = stdout(&tool(d.path(), &["ci", "emit", "gitlab"]));
    let gh = stdout(&tool(d.path(), &["ci", "emit", "github"]));
    let f = d.path().join("gl.yml");
    let g = d.path().join("gh.yml");
    std::fs::write(&f, gl).unwrap();
    std::fs::write(&g, gh).unwrap();
    let out = python(
        "import sys, yaml, json\n\
gl = yaml.safe_load(open(sys.argv[1])); gh = yaml.safe_load(open(sys.argv[2]))\n\
print(json.dumps([gl['default'], gh['jobs']['test']['runs-on'], gh['jobs']['test']['container'], gh['jobs']['test']['steps'][1]['run']]))",
        &[&f, &g],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v[0],
        serde_json::json!({"image": "registry.example.org/kernel-ci:12", "tags": ["kvm"], "before_script": ["true"]})
    );
    assert_eq!(v[1], serde_json::json!(["self-hosted", "kvm"]));
    assert_eq!(v[2], "registry.example.org/kernel-ci:12");
    assert_eq!(v[3], "true");
}

#[test]
fn entry_names_cannot_reach_outside_the_output_folder() {
    let root = tempfile::tempdir().unwrap();
    let fork = root.path().join("a/b/fork");
    write(
        &fork,
        "dovetail-port.toml",
        "[[matrix]]\narch = \"x86_64\"\nname = \"../../x\"\n",
    );
    let o = tool(&fork, &["ci", "emit", "lava", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("matrix entry name `../../x` starts with `.`"),
        "{}",
        stderr(&o)
    );
    // Nothing was written anywhere.
    let written: Vec<_> = walk(root.path());
    assert_eq!(written, vec![fork.join("dovetail-port.toml")]);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
