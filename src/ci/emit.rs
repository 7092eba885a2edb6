//! Emitters: the same gate as GitLab CI / GitHub Actions pipelines (one parallel job per
//! matrix entry, each calling `dovetail-port test`) and as LAVA job definitions (one per
//! matrix entry and device type).

use super::config::{Board, Config, MatrixEntry, TestKind};
use super::yaml::{self, list, map, s, Y};

/// Quotes one shell word (the CI runs script lines through a shell).
pub fn sh_quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// Quotes one word so that CI variables in it (`$VAR`, `${VAR}`) still expand and nothing
/// else does: double quotes, with command substitution refused to single quotes.
fn sh_quote_vars(w: &str) -> String {
    if !w.contains('$') || w.contains("$(") || w.contains(['`', '\\', '"']) {
        return sh_quote(w);
    }
    format!("\"{w}\"")
}

fn sh_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| sh_quote_vars(w))
        .collect::<Vec<_>>()
        .join(" ")
}

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

/// Where the lava-submit job writes the jobs it submits.
const LAVA_JOBS_DIR: &str = ".dovetail-port/lava-jobs";

/// The JUnit file the lava-submit job writes from the labs' results.
const LAVA_JUNIT: &str = "lava-junit.xml";

/// The lava-submit job's loop: submit each job, wait for it, keep its results, then turn them
/// all into JUnit (`results lava`, whose exit status says whether a case failed). Needs the CI
/// variable LAVA_URI (`https://USER:TOKEN@lava.example.org/RPC2`).
const LAVA_SUBMIT: &str = "for f in .dovetail-port/lava-jobs/*.yaml; do \
id=$(lavacli --uri \"$LAVA_URI\" jobs submit \"$f\") || exit 2; \
echo \"$f: LAVA job $id\"; \
lavacli --uri \"$LAVA_URI\" jobs wait \"$id\"; \
lavacli --uri \"$LAVA_URI\" results \"$id\" --json > \".dovetail-port/lava-jobs/results-$id.json\" || status=2; \
done; \
dovetail-port results lava .dovetail-port/lava-jobs/results-*.json --format junit -o lava-junit.xml \
|| status=${status:-1}; \
exit ${status:-0}";

/// Whether any LAVA job would be emitted (so the lava-submit job has work).
fn has_lava_jobs(c: &Config) -> bool {
    !lava(c).is_empty()
}

fn gate_cmd(only: &str, extra: &[&str]) -> String {
    let mut w = vec!["dovetail-port", "ci", "--only", only];
    w.extend(extra);
    w.join(" ")
}

/// `.gitlab-ci.yml`.
pub fn gitlab(c: &Config) -> String {
    let mut jobs: Vec<(String, Y)> = Vec::new();
    let mut default = vec![("image", s(c.ci.image.clone()))];
    if !c.ci.tags.is_empty() {
        default.push(("tags", list(c.ci.tags.iter().cloned().map(s))));
    }
    default.push((
        "before_script",
        list(c.ci.install_commands().into_iter().map(s)),
    ));
    jobs.push(("default".into(), map(default)));
    let lava_jobs = has_lava_jobs(c);
    let mut stages = vec![s("gate"), s("test")];
    if lava_jobs {
        stages.push(s("lava"));
    }
    jobs.push(("stages".into(), Y::List(stages)));
    jobs.push((
        "variables".into(),
        map(vec![
            // The queue check needs the base; the lint's --diff too.
            ("GIT_DEPTH", s("0")),
            (
                "DOVETAIL_PORT_CACHE",
                s("$CI_PROJECT_DIR/.dovetail-port/cache"),
            ),
        ]),
    ));
    let artifacts = |paths: Vec<Y>, junit: &str| {
        map(vec![
            ("when", s("always")),
            ("expire_in", s("30 days")),
            ("paths", list(paths)),
            ("reports", map(vec![("junit", s(junit))])),
        ])
    };
    if c.queue.is_some() {
        jobs.push((
            "queue-check".into(),
            map(vec![
                ("stage", s("gate")),
                (
                    "script",
                    list([s(gate_cmd(
                        "queue",
                        &["--junit", "ci-queue.xml", "--summary-md", "ci-queue.md"],
                    ))]),
                ),
                (
                    "artifacts",
                    artifacts(vec![s("ci-queue.xml"), s("ci-queue.md")], "ci-queue.xml"),
                ),
            ]),
        ));
    }
    if c.lint.is_some() {
        jobs.push((
            "lint".into(),
            map(vec![
                ("stage", s("gate")),
                (
                    "script",
                    list([s(gate_cmd(
                        "lint",
                        &[
                            "--junit",
                            "ci-lint.xml",
                            "--sarif",
                            "ci-lint.sarif",
                            "--codequality",
                            "gl-code-quality.json",
                        ],
                    ))]),
                ),
                (
                    "artifacts",
                    map(vec![
                        ("when", s("always")),
                        ("expire_in", s("30 days")),
                        (
                            "paths",
                            list([
                                s("ci-lint.xml"),
                                s("ci-lint.sarif"),
                                s("gl-code-quality.json"),
                            ]),
                        ),
                        (
                            "reports",
                            map(vec![
                                ("junit", s("ci-lint.xml")),
                                ("codequality", s("gl-code-quality.json")),
                            ]),
                        ),
                    ]),
                ),
            ]),
        ));
    }
    for e in &c.matrix {
        let mut script: Vec<Y> = busybox_line(e).into_iter().map(s).collect();
        script.push(s(runner_test_line(c, e)));
        let stage = lava_artifact_lines(c, e);
        let staged = !stage.is_empty();
        script.extend(stage.into_iter().map(s));
        let mut paths = vec![
            s(format!("{}/build.log", out_dir(e))),
            s(format!("{}/.config", out_dir(e))),
        ];
        let mut job = vec![
            ("stage", s("test")),
            (
                "timeout",
                s(format!("{} minutes", c.timeouts.job.div_ceil(60))),
            ),
            (
                "cache",
                map(vec![
                    // One cache per distinct build: entries sharing a build share it.
                    ("key", s(format!("dovetail-port-{}", e.build_key()))),
                    ("paths", list([s(format!("{}/", out_dir(e)))])),
                ]),
            ),
            ("script", list(script)),
        ];
        if staged {
            paths.push(s(format!("{}/", lava_dir(e))));
        }
        if e.boot {
            paths.push(s(format!("{}/", log_dir(e))));
            paths.push(s(junit_file(e)));
            job.push(("artifacts", artifacts(paths, &junit_file(e))));
        } else {
            job.push((
                "artifacts",
                map(vec![("when", s("always")), ("paths", list(paths))]),
            ));
        }
        jobs.push((format!("test:{}", e.name()), map(job)));
    }
    if lava_jobs {
        // The jobs are emitted here, where the CI variables in artifacts_url have values.
        jobs.push((
            "lava-submit".into(),
            map(vec![
                ("stage", s("lava")),
                (
                    "script",
                    list([
                        s("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lavacli"),
                        s(format!("dovetail-port ci emit lava -o {LAVA_JOBS_DIR}")),
                        s(LAVA_SUBMIT),
                    ]),
                ),
                (
                    "artifacts",
                    map(vec![
                        ("when", s("always")),
                        (
                            "paths",
                            list([s(format!("{LAVA_JOBS_DIR}/")), s(LAVA_JUNIT)]),
                        ),
                        ("reports", map(vec![("junit", s(LAVA_JUNIT))])),
                    ]),
                ),
            ]),
        ));
    }
    yaml::render(&Y::Map(jobs), HEADER)
}

/// `.github/workflows/dovetail-port.yml`.
pub fn github(c: &Config) -> String {
    let checkout = map(vec![
        ("uses", s("actions/checkout@v4")),
        ("with", map(vec![("fetch-depth", Y::Int(0))])),
    ]);
    let install = map(vec![
        ("name", s("install dovetail-port and the kernel tools")),
        ("run", s(c.ci.install_commands().join("\n"))),
    ]);
    let runs_on = match c.ci.runs_on.as_slice() {
        [one] => s(one.clone()),
        many => list(many.iter().cloned().map(s)),
    };
    let container = s(c.ci.image.clone());
    let upload = |name: &str, path: Y| {
        map(vec![
            ("if", s("always()")),
            ("uses", s("actions/upload-artifact@v4")),
            ("with", map(vec![("name", s(name)), ("path", path)])),
        ])
    };
    let mut jobs: Vec<(String, Y)> = Vec::new();
    if c.queue.is_some() {
        jobs.push((
            "queue-check".into(),
            map(vec![
                ("runs-on", runs_on.clone()),
                ("container", container.clone()),
                (
                    "steps",
                    list([
                        checkout.clone(),
                        install.clone(),
                        map(vec![(
                            "run",
                            s(gate_cmd(
                                "queue",
                                &["--junit", "ci-queue.xml", "--summary-md", "ci-queue.md"],
                            )),
                        )]),
                        map(vec![
                            ("if", s("always()")),
                            ("run", s("cat ci-queue.md >> \"$GITHUB_STEP_SUMMARY\"")),
                        ]),
                        upload("queue-check", s("ci-queue.*")),
                    ]),
                ),
            ]),
        ));
    }
    if c.lint.is_some() {
        jobs.push((
            "lint".into(),
            map(vec![
                ("runs-on", runs_on.clone()),
                ("container", container.clone()),
                (
                    "permissions",
                    map(vec![
                        ("contents", s("read")),
                        ("security-events", s("write")),
                    ]),
                ),
                (
                    "steps",
                    list([
                        checkout.clone(),
                        install.clone(),
                        map(vec![(
                            "run",
                            s(gate_cmd(
                                "lint",
                                &["--junit", "ci-lint.xml", "--sarif", "ci-lint.sarif"],
                            )),
                        )]),
                        map(vec![
                            ("if", s("always()")),
                            ("uses", s("github/codeql-action/upload-sarif@v3")),
                            (
                                "with",
                                map(vec![
                                    ("sarif_file", s("ci-lint.sarif")),
                                    ("category", s("dovetail-port-lint")),
                                ]),
                            ),
                        ]),
                        upload("lint", s("ci-lint.*")),
                    ]),
                ),
            ]),
        ));
    }
    if !c.matrix.is_empty() {
        let include: Vec<Y> = c
            .matrix
            .iter()
            .map(|e| {
                let stage = lava_artifact_lines(c, e).join("\n");
                map(vec![
                    ("name", s(e.name())),
                    ("arch", s(e.arch.clone())),
                    ("build-key", s(e.build_key())),
                    ("out", s(out_dir(e))),
                    ("logs", s(log_dir(e))),
                    ("lava", s(lava_dir(e))),
                    ("prepare", s(busybox_line(e).unwrap_or_default())),
                    ("command", s(runner_test_line(c, e))),
                    ("stage", s(stage)),
                ])
            })
            .collect();
        jobs.push((
            "test".into(),
            map(vec![
                ("name", s("test ${{ matrix.name }}")),
                ("runs-on", runs_on.clone()),
                ("container", container.clone()),
                ("timeout-minutes", Y::Int(c.timeouts.job.div_ceil(60) as i64)),
                ("strategy", map(vec![
                    // A failing entry does not cancel the others.
                    ("fail-fast", Y::Bool(false)),
                    ("matrix", map(vec![("include", Y::List(include))])),
                ])),
                ("steps", list([
                    checkout,
                    install,
                    map(vec![
                        ("uses", s("actions/cache@v4")),
                        ("with", map(vec![
                            ("path", s("${{ matrix.out }}")),
                            ("key", s("dovetail-port-${{ matrix.build-key }}-${{ github.sha }}")),
                            ("restore-keys", s("dovetail-port-${{ matrix.build-key }}-")),
                        ])),
                    ]),
                    map(vec![
                        ("if", s("matrix.prepare != ''")),
                        ("run", s("${{ matrix.prepare }}")),
                    ]),
                    map(vec![("run", s("${{ matrix.command }}"))]),
                    // What the entry's LAVA jobs fetch, published with the artifacts.
                    map(vec![
                        ("if", s("matrix.stage != ''")),
                        ("run", s("${{ matrix.stage }}")),
                    ]),
                    upload("test-${{ matrix.name }}", s("${{ matrix.logs }}\n${{ matrix.out }}/build.log\n${{ matrix.out }}/.config\n.dovetail-port/ci/junit-${{ matrix.name }}.xml\n${{ matrix.lava }}/")),
                ])),
            ]),
        ));
    }
    let doc = Y::Map(vec![
        ("name".into(), s("dovetail-port ci")),
        (
            "on".into(),
            map(vec![("push", map(vec![])), ("pull_request", map(vec![]))]),
        ),
        ("jobs".into(), Y::Map(jobs)),
    ]);
    yaml::render(&doc, HEADER)
}

/// The context of LAVA's `qemu` device type for our arch: its name for the arch and the
/// QEMU facts the profile passes on; `None` for an arch without a profile.
fn lava_qemu_context(arch: &str) -> Option<Vec<(&'static str, Y)>> {
    use crate::kbuild::arch::QemuFact;
    let p = crate::kbuild::ArchProfile::load(arch).ok()?;
    let mut context = vec![("arch", s(p.lava.arch.as_str()))];
    for fact in &p.lava.qemu_context {
        context.push(match fact {
            QemuFact::Machine => ("machine", s(p.qemu.machine.as_str())),
            QemuFact::Cpu => ("cpu", s(p.qemu.cpu.as_str())),
        });
    }
    Some(context)
}

/// The boot image's file name, as staged and fetched.
fn image_file(p: &crate::kbuild::ArchProfile) -> String {
    std::path::Path::new(&p.image_path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.image_target.clone())
}

fn image_name(arch: &str) -> String {
    crate::kbuild::ArchProfile::load(arch)
        .map(|p| image_file(&p))
        .unwrap_or_else(|_| "Image".into())
}

fn minutes(secs: u64) -> Y {
    map(vec![("minutes", Y::Int(secs.div_ceil(60).max(1) as i64))])
}

/// The steps of the inline test definition: KUnit results from debugfs (KTAP per suite), the
/// payload commands, each result reported with `lava-test-case`.
fn test_steps(e: &MatrixEntry) -> Vec<Y> {
    let mut steps = Vec::new();
    if e.tests.contains(&TestKind::Kunit) {
        steps.push(s(
            "mount -t debugfs none /sys/kernel/debug 2>/dev/null || true",
        ));
        // KUnit keeps each suite's KTAP in debugfs (CONFIG_KUNIT_DEBUGFS, in the kunit
        // fragment); the suite's own result line is reported as SUITE.SUITE.
        steps.push(s(
            "for r in /sys/kernel/debug/kunit/*/results; do suite=$(basename $(dirname $r)); \
             sed -n -e 's/^ *not ok [0-9]* \\([^ #]*\\).*/fail \\1/p' \
             -e 's/^ *ok [0-9]* \\([^ #]*\\) *# *SKIP.*/skip \\1/p' \
             -e 's/^ *ok [0-9]* \\([^ #]*\\).*/pass \\1/p' $r | \
             while read v n; do lava-test-case \"$suite.$n\" --result $v; done; done",
        ));
    }
    if e.tests.contains(&TestKind::Torture) {
        steps.push(s(
            "if dmesg | grep -q 'IRQ pipeline tests OK'; then lava-test-case irq_pipeline_torture --result pass; \
             else lava-test-case irq_pipeline_torture --result fail; fi",
        ));
    }
    if let Some(cmds) = e.guest_commands() {
        // The payload reports with `@@dpt@@ ok|fail|skip NAME` lines (and `evl test` lines).
        steps.push(s(format!(
            "( {cmds} ) 2>&1 | tee /tmp/payload.log; echo \"payload exit $?\""
        )));
        steps.push(s(
            "sed -n 's/.*@@dpt@@ \\(ok\\|fail\\|skip\\) \\(.*\\)/\\1 \\2/p' /tmp/payload.log | \
             while read v n m; do case $v in ok) r=pass;; fail) r=fail;; *) r=skip;; esac; \
             lava-test-case \"$n\" --result $r; done",
        ));
        if e.tests.contains(&TestKind::Evl) {
            steps.push(s(
                // `evl test -k` lines: `NAME: OK`, `** NAME: BROKEN`, `NAME: no kernel support`.
                "sed -n -e 's/^\\*\\* \\([A-Za-z0-9_.-]*\\): BROKEN.*/fail \\1/p' \
                 -e 's/^\\([A-Za-z0-9_.-]*\\): no kernel support.*/skip \\1/p' \
                 -e 's/^\\([A-Za-z0-9_.-]*\\): OK$/pass \\1/p' /tmp/payload.log | \
                 while read v n; do lava-test-case \"evl.$n\" --result $v; done",
            ));
        }
    }
    if steps.is_empty() {
        steps.push(s("lava-test-case boot --result pass"));
    }
    steps
}

fn test_action(c: &Config, e: &MatrixEntry) -> Y {
    map(vec![(
        "test",
        map(vec![
            ("timeout", minutes(c.timeouts.boot)),
            (
                "definitions",
                list([map(vec![
                    ("from", s("inline")),
                    ("name", s(format!("dovetail-port-{}", e.name()))),
                    ("path", s("inline/dovetail-port.yaml")),
                    (
                        "repository",
                        map(vec![
                            (
                                "metadata",
                                map(vec![
                                    ("format", s("Lava-Test Test Definition 1.0")),
                                    ("name", s(format!("dovetail-port-{}", e.name()))),
                                    (
                                        "description",
                                        s(format!(
                                            "KUnit, boot self tests and payload of matrix entry {}",
                                            e.name()
                                        )),
                                    ),
                                ]),
                            ),
                            ("run", map(vec![("steps", Y::List(test_steps(e)))])),
                        ]),
                    ),
                ])]),
            ),
        ]),
    )])
}

fn job_head(c: &Config, e: &MatrixEntry, device_type: &str) -> Vec<(&'static str, Y)> {
    vec![
        ("device_type", s(device_type)),
        (
            "job_name",
            s(format!("dovetail-port {} on {device_type}", e.name())),
        ),
        (
            "timeouts",
            map(vec![
                ("job", minutes(c.timeouts.job)),
                ("action", minutes(c.timeouts.boot)),
                ("connection", minutes(120)),
            ]),
        ),
        ("priority", s("medium")),
        ("visibility", s("public")),
    ]
}

fn url(c: &Config, e: &MatrixEntry, file: &str) -> String {
    format!(
        "{}/{}/{}",
        fill_vars(&c.lava.artifacts_url, |v| std::env::var(v).ok()).trim_end_matches('/'),
        e.name(),
        file
    )
}

/// `${NAME}` replaced by its value where `lookup` has one (the CI variables of the job that
/// emits the LAVA jobs); unknown ones stay as written.
pub fn fill_vars(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end)
                if !after[..end].is_empty()
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                match lookup(&after[..end]) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[start..start + 2 + end + 1]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How LAVA logs in to the shell initramfs (`dovetail-port initramfs --shell`): root at its
/// login prompt, then its shell prompt.
fn login() -> Vec<(&'static str, Y)> {
    use crate::boot::initramfs::{SHELL_HOSTNAME, SHELL_PROMPT};
    vec![
        ("prompts", list([s(SHELL_PROMPT)])),
        (
            "auto_login",
            map(vec![
                ("login_prompt", s(format!("{SHELL_HOSTNAME} login:"))),
                ("username", s("root")),
            ]),
        ),
    ]
}

/// The boot action: `how` (method and its settings), the boot timeout and the login.
fn boot_action<const N: usize>(c: &Config, how: [(&'static str, Y); N]) -> Y {
    let mut fields = vec![("timeout", minutes(c.timeouts.boot))];
    fields.extend(how);
    fields.extend(login());
    map(vec![("boot", map(fields))])
}

/// One LAVA job for `e` on LAVA's `qemu` device type.
pub fn lava_qemu(c: &Config, e: &MatrixEntry) -> Option<String> {
    let context = lava_qemu_context(&e.arch)?;
    let mut job = job_head(c, e, "qemu");
    job.push(("context", map(context)));
    job.push((
        "actions",
        list([
            map(vec![(
                "deploy",
                map(vec![
                    ("timeout", minutes(300)),
                    ("to", s("tmpfs")),
                    ("os", s("oe")),
                    (
                        "images",
                        map(vec![
                            (
                                "kernel",
                                map(vec![
                                    ("image_arg", s("-kernel {kernel}")),
                                    ("url", s(url(c, e, &image_name(&e.arch)))),
                                ]),
                            ),
                            (
                                "ramdisk",
                                map(vec![
                                    ("image_arg", s("-initrd {ramdisk}")),
                                    ("url", s(url(c, e, "rootfs.cpio.gz"))),
                                    ("compression", s("gz")),
                                ]),
                            ),
                        ]),
                    ),
                ]),
            )]),
            boot_action(c, [("method", s("qemu")), ("media", s("tmpfs"))]),
            test_action(c, e),
        ]),
    ));
    Some(yaml::render(
        &map(job),
        &format!("{HEADER}\nLAVA job: matrix entry {} under QEMU.", e.name()),
    ))
}

/// One LAVA job for `e` on a real board: TFTP deploy, U-Boot ramdisk boot.
pub fn lava_board(c: &Config, e: &MatrixEntry, b: &Board) -> String {
    let mut deploy = vec![
        ("timeout", minutes(300)),
        ("to", s("tftp")),
        ("os", s("oe")),
        (
            "kernel",
            map(vec![
                ("url", s(url(c, e, &image_name(&e.arch)))),
                (
                    "type",
                    s(crate::kbuild::ArchProfile::load(&e.arch)
                        .map_or_else(|_| "image".to_string(), |p| p.lava.kernel_type)),
                ),
            ]),
        ),
        (
            "ramdisk",
            map(vec![
                ("url", s(url(c, e, "rootfs.cpio.gz"))),
                ("compression", s("gz")),
            ]),
        ),
    ];
    if let Some(dtb) = &b.dtb {
        let name = std::path::Path::new(dtb)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dtb.clone());
        deploy.push(("dtb", map(vec![("url", s(url(c, e, &name)))])));
    }
    let mut job = job_head(c, e, &b.device_type);
    job.push((
        "actions",
        list([
            map(vec![("deploy", map(deploy))]),
            boot_action(c, [("method", s("u-boot")), ("commands", s("ramdisk"))]),
            test_action(c, e),
        ]),
    ));
    yaml::render(
        &map(job),
        &format!(
            "{HEADER}\nLAVA job: matrix entry {} on {}.",
            e.name(),
            b.device_type
        ),
    )
}

/// Whether board `b` runs entry `e`: the entries it names, else every entry of its arch.
fn board_wants(b: &Board, e: &MatrixEntry) -> bool {
    if b.entries.is_empty() {
        b.arch == e.arch
    } else {
        b.entries.contains(&e.name())
    }
}

/// Every LAVA job: (file name, text).
pub fn lava(c: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in c.matrix.iter().filter(|e| e.boot) {
        if c.lava.qemu {
            if let Some(text) = lava_qemu(c, e) {
                out.push((format!("{}-qemu.yaml", e.name()), text));
            }
        }
        for b in &c.lava.boards {
            if board_wants(b, e) {
                out.push((
                    format!("{}-{}.yaml", e.name(), b.device_type),
                    lava_board(c, e, b),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(sh_quote("tinyconfig"), "tinyconfig");
        assert_eq!(
            sh_quote("evl test -k; echo 'x'"),
            "'evl test -k; echo '\\''x'\\'''"
        );
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn lava_urls_take_ci_variable_values() {
        let env = |v: &str| (v == "CI_PIPELINE_ID").then(|| "4242".to_string());
        assert_eq!(
            fill_vars("https://x/${CI_PIPELINE_ID}/${UNSET}/$${", env),
            "https://x/4242/${UNSET}/$${"
        );
        assert_eq!(fill_vars("${a-b}${", env), "${a-b}${");
    }

    #[test]
    fn ci_variables_expand_and_nothing_else() {
        assert_eq!(
            sh_quote_vars("lab:/srv/${CI_PIPELINE_ID}/x/"),
            "\"lab:/srv/${CI_PIPELINE_ID}/x/\""
        );
        assert_eq!(sh_quote_vars("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(sh_quote_vars("`id`$X"), "'`id`$X'");
        assert_eq!(sh_quote_vars("a b"), "'a b'");
    }

    #[test]
    fn lava_qemu_context_is_the_profiles() {
        let text = |ctx: Vec<(&str, Y)>| {
            ctx.into_iter()
                .map(|(k, v)| match v {
                    Y::Str(v) => format!("{k}={v}"),
                    _ => format!("{k}=?"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let arm64 = crate::kbuild::ArchProfile::load("arm64").unwrap();
        assert_eq!(
            text(lava_qemu_context("aarch64").unwrap()),
            format!(
                "arch=arm64 machine={} cpu={}",
                arm64.qemu.machine, arm64.qemu.cpu
            )
        );
        assert_eq!(text(lava_qemu_context("x86_64").unwrap()), "arch=amd64");
        assert_eq!(
            text(lava_qemu_context("riscv64").unwrap()),
            "arch=riscv64 machine=virt"
        );
        assert!(lava_qemu_context("sparc").is_none());
    }
}
