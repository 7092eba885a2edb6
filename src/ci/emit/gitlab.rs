//! `.gitlab-ci.yml`: a build-and-test job per matrix entry, the queue and lint gates, and the
//! lava-submit job that runs the LAVA jobs and brings their results back as JUnit.

use super::*;

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
