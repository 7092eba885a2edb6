//! `.github/workflows/dovetail-port.yml`: the same gates as GitHub Actions jobs.

use super::*;

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
