//! `dovetail-port lint` end to end on the fixture corpus under tests/fixtures/lint/.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(name)
}

/// Runs lint with JSON output; returns (exit code, report).
fn lint_json(args: &[&str]) -> (i32, Value) {
    let out = bin()
        .arg("lint")
        .arg("--format")
        .arg("json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

fn active(v: &Value) -> Vec<(String, String)> {
    active_by(v, "rule")
}

/// Unsuppressed findings as (`key` field, chain).
fn active_by(v: &Value, key: &str) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed").is_none())
        .map(|f| {
            (
                f[key].as_str().unwrap().to_string(),
                f["chain_text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn oob_driver_chains_across_files() {
    let (code, v) = lint_json(&[fixture("oob_driver").to_str().unwrap()]);
    assert_eq!(code, 1);
    let got = active(&v);
    assert_eq!(
        got,
        vec![
            (
                "oob-inband-wakeup".to_string(),
                "oobdrv_irq() -> wake_up()".to_string()
            ),
            (
                "oob-sleeping-lock".to_string(),
                "oobdrv_oob_ioctl() -> do_xfer() -> oobdrv_update_config() -> mutex_lock()"
                    .to_string()
            ),
        ]
    );
    let f = &v["findings"][1];
    assert_eq!(f["file"], "oobdrv_cfg.c");
    assert_eq!(f["line"], 8);
    assert!(f["replacement"]
        .as_str()
        .unwrap()
        .contains("evl_lock_kmutex"));
    // The guarded in-band slow path (kmalloc) and the hard lock are not reported.
    assert!(!got
        .iter()
        .any(|(_, c)| c.contains("kmalloc") || c.contains("raw_spin")));
}

/// Snapshot settings for the lint's output: the fixtures' absolute folder, the time taken and
/// the tool's version are the only things that vary from run to run.
fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex::escape(env!("CARGO_MANIFEST_DIR")), "[repo]");
    s.add_filter(r"; \d+ ms\n", "; [elapsed] ms\n");
    s.add_filter(r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[elapsed]""#);
    s.add_filter(
        r#""semanticVersion": "[^"]*""#,
        r#""semanticVersion": "[version]""#,
    );
    s
}

/// The lint's stdout with `--format FORMAT` (none: human) on a fixture, and its exit status.
fn lint_output(name: &str, format: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = bin();
    // Colours only when the environment forces them (CLICOLOR_FORCE): never here.
    cmd.args(["--color", "never", "lint"]).arg(fixture(name));
    if let Some(f) = format {
        cmd.args(["--format", f]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn human_output_shows_snippet_chain_and_help() {
    let (code, s) = lint_output("oob_driver", None);
    assert_eq!(code, Some(1));
    snapshot_settings().bind(|| insta::assert_snapshot!(s));
}

#[test]
fn json_and_gcc_outputs() {
    let (code, s) = lint_output("oob_driver", Some("json"));
    assert_eq!(code, Some(1));
    snapshot_settings().bind(|| insta::assert_snapshot!("json", s));
    // Suppressed findings are in the JSON, not in the compiler-style lines.
    let (code, s) = lint_output("suppress", Some("gcc"));
    assert_eq!(code, Some(1));
    snapshot_settings().bind(|| insta::assert_snapshot!("gcc", s));
}

#[test]
fn mtd_oob_read_is_not_an_entry_point() {
    let (code, v) = lint_json(&[fixture("mtd").to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty());
    assert!(v["entries"].as_array().unwrap().is_empty());
}

#[test]
fn every_entry_kind_is_found() {
    let (code, v) = lint_json(&[
        fixture("entries").to_str().unwrap(),
        "--entry",
        "named_only",
    ]);
    assert_eq!(code, 1);
    let kinds: Vec<(String, String)> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["function"].as_str().unwrap().into(),
                e["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("pulse_irq", "irqf-oob-handler"),
        ("runner", "evl-kthread"),
        ("tick_handler", "evl-timer-handler"),
        ("marked_entry", "comment-marker"),
        ("named_only", "command-line"),
        ("kinds_oob_poll", "fops.oob_poll"),
        ("kinds_compat_oob_ioctl", "fops.compat_oob_ioctl"),
    ] {
        assert!(
            kinds.contains(&(want.0.into(), want.1.into())),
            "{want:?} missing in {kinds:?}"
        );
    }
    // plain_irq was requested without IRQF_OOB.
    assert!(!kinds.iter().any(|(f, _)| f == "plain_irq"));
    let rules: Vec<String> = active(&v).into_iter().map(|(r, _)| r).collect();
    for r in [
        "oob-inband-wakeup",
        "oob-might-sleep",
        "oob-virtual-irq-mask",
        "oob-inband-schedule",
        "oob-inband-work",
        "oob-inband-alloc",
        "oob-inband-timer",
    ] {
        assert!(rules.contains(&r.to_string()), "{r} missing in {rules:?}");
    }
}

#[test]
fn unknown_entry_name_is_an_error() {
    let out = bin()
        .args(["lint", "--entry", "no_such_fn"])
        .arg(fixture("mtd"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--entry no_such_fn"));
}

#[test]
fn static_functions_are_scoped_to_their_file() {
    let (_, v) = lint_json(&[fixture("statics").to_str().unwrap()]);
    let got = active(&v);
    assert_eq!(
        got,
        vec![(
            "oob-inband-alloc".into(),
            "a_oob_read() -> helper() -> kzalloc()".into()
        )]
    );
    assert_eq!(v["findings"][0]["file"], "a.c");
}

#[test]
fn lock_rules_follow_declared_types() {
    let (_, v) = lint_json(&[fixture("locks").to_str().unwrap()]);
    let got: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("oob-inband-spinlock".into(), 24),
            ("oob-raw-spinlock".into(), 26),
            ("oob-inband-spinlock".into(), 28)
        ]
    );
}

#[test]
fn guarded_and_switched_calls_are_inband() {
    let (_, v) = lint_json(&[fixture("guards").to_str().unwrap()]);
    assert_eq!(
        active(&v),
        vec![(
            "oob-inband-schedule".into(),
            "guards_oob_ioctl() -> schedule()".into()
        )]
    );
}

#[test]
fn suppression_comments_on_line_and_function() {
    let (code, v) = lint_json(&[fixture("suppress").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        active(&v),
        vec![(
            "oob-inband-alloc".into(),
            "sup_oob_ioctl() -> kfree()".into()
        )]
    );
    let sup: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed").is_some())
        .collect();
    assert_eq!(sup.len(), 2);
    assert!(sup.iter().any(|f| f["service"] == "kmalloc"
        && f["suppressed"]["justification"] == "setup only, before oob start"));
    assert!(sup
        .iter()
        .any(|f| f["service"] == "mutex_lock" && f["suppressed"]["kind"] == "in-source"));
}

#[test]
fn calls_through_ops_structs_resolve() {
    let (_, v) = lint_json(&[fixture("ops").to_str().unwrap()]);
    let chain = "ops_oob_ioctl() -> ->step: slow_step() -> msleep()";
    assert_eq!(
        active(&v),
        vec![
            ("oob-might-sleep".into(), chain.into()),
            ("oob-inband-ops-slot".into(), chain.into()),
        ]
    );
}

/// (rule, file, line, chain) of each finding, suppressed or not.
fn located(v: &Value) -> Vec<(String, String, u64, String, bool)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["chain_text"].as_str().unwrap().to_string(),
                f.get("suppressed").is_some(),
            )
        })
        .collect()
}

#[test]
fn inband_only_functions_in_oob_called_slots_are_findings_at_the_store() {
    let (code, v) = lint_json(&[fixture("ops_slots").to_str().unwrap()]);
    assert_eq!(code, 1);
    let slots: Vec<_> = located(&v)
        .into_iter()
        .filter(|f| f.0 == "oob-inband-ops-slot")
        .map(|f| (f.1, f.2, f.3, f.4))
        .collect();
    let s = |file: &str, line: u64, chain: &str, suppressed: bool| {
        (file.to_string(), line, chain.to_string(), suppressed)
    };
    // The oob-safe fast_step() in the same ->step slot, slow_teardown() (->teardown is
    // only called under running_inband()) and slow_release() (->release is never called
    // from oob) are not findings.
    assert_eq!(
        slots,
        vec![
            s(
                "slots_impl.c",
                44,
                "sdev_oob_ioctl() -> ->step: slow_step() -> sdev_apply_config() -> mutex_lock()",
                false
            ),
            s(
                "slots_impl.c",
                47,
                "sdev_oob_ioctl() -> ->flush: slow_flush() -> vfree()",
                true
            ),
            s(
                "slots_impl.c",
                58,
                "sdev_oob_ioctl() -> ->hook: sleepy_hook() -> might_sleep()",
                false
            ),
        ]
    );
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "oob-inband-ops-slot" && f["line"] == 44)
        .unwrap();
    assert_eq!(f["slot"]["member"], "step");
    assert_eq!(f["slot"]["function"], "slow_step");
    assert_eq!(f["slot"]["call_file"], "slots_core.c");
    assert_eq!(f["slot"]["call_line"], 10);
    assert_eq!(f["column"], 10);
    assert_eq!(f["service"], "mutex_lock");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("`slow_step()` stored in ops slot `->step`"),
        "{msg}"
    );
    assert!(
        msg.contains("slow_step() -> sdev_apply_config() -> mutex_lock()"),
        "{msg}"
    );
    // The stored function's own service calls are still reported where they are.
    assert!(located(&v)
        .iter()
        .any(|f| f.0 == "oob-sleeping-lock" && f.1 == "slots_cfg.c"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn baseline_fails_only_on_new_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("drv");
    copy_dir(&fixture("oob_driver"), &src);
    let base = tmp.path().join("baseline.json");
    let out = bin()
        .arg("lint")
        .arg(&src)
        .arg("--baseline")
        .arg(&base)
        .arg("--write-baseline")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(b["findings"].as_array().unwrap().len(), 2);

    let (code, v) = lint_json(&[src.to_str().unwrap(), "--baseline", base.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(active(&v).is_empty());

    // Move lines (fingerprints must not depend on them) and add one new violation.
    let cfg = src.join("oobdrv_cfg.c");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen(
        "int oobdrv_update_config",
        "\n\n\nint oobdrv_update_config",
        1,
    );
    let text = text.replace("\td->cfg = arg;", "\td->cfg = arg;\n\tmsleep(1);");
    std::fs::write(&cfg, text).unwrap();
    let (code, v) = lint_json(&[src.to_str().unwrap(), "--baseline", base.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        active(&v),
        vec![(
            "oob-might-sleep".into(),
            "oobdrv_oob_ioctl() -> do_xfer() -> oobdrv_update_config() -> msleep()".into()
        )]
    );
}

#[test]
fn bad_baseline_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("b.json");
    std::fs::write(&base, "not json").unwrap();
    let out = bin()
        .arg("lint")
        .arg(fixture("oob_driver"))
        .arg("--baseline")
        .arg(&base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.json") && err.contains("--write-baseline"),
        "{err}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn diff_mode_keeps_findings_in_changed_functions() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    copy_dir(&fixture("oob_driver"), &repo.join("drv"));
    git(repo, &["init", "-q"]);
    git(repo, &["add", "."]);
    git(
        repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "base",
        ],
    );
    // Touch do_xfer(): only the ioctl chain goes through it, not the IRQ handler's.
    let f = repo.join("drv/oobdrv.c");
    let text = std::fs::read_to_string(&f).unwrap().replace(
        "\td->count++;\n\traw_spin_unlock",
        "\td->count += 2;\n\traw_spin_unlock",
    );
    std::fs::write(&f, text).unwrap();
    let (code, v) = lint_json(&[repo.join("drv").to_str().unwrap(), "--diff", "HEAD"]);
    assert_eq!(code, 1);
    assert_eq!(
        active(&v),
        vec![(
            "oob-sleeping-lock".into(),
            "oobdrv_oob_ioctl() -> do_xfer() -> oobdrv_update_config() -> mutex_lock()".into()
        )]
    );
    assert_eq!(v["diff_base"], "HEAD");
    let out = bin()
        .arg("lint")
        .arg(repo.join("drv"))
        .args(["--diff", "no-such-rev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rev"));
}

#[test]
fn sarif_has_the_required_shape() {
    let (code, s) = lint_output("suppress", Some("sarif"));
    assert_eq!(code, Some(1));
    snapshot_settings().bind(|| insta::assert_snapshot!(s));
    // What the snapshot shows but a reader could miss: each result's rule index names its rule.
    let v: Value = serde_json::from_str(&s).unwrap();
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in run["results"].as_array().unwrap() {
        let ix = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[ix]["id"], r["ruleId"]);
    }
}

#[test]
fn results_do_not_depend_on_argument_order() {
    let a = fixture("statics").join("a.c");
    let b = fixture("statics").join("b.c");
    let root = fixture("statics");
    let (_, v1) = lint_json(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    let (_, v2) = lint_json(&[
        b.to_str().unwrap(),
        a.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(v1["findings"], v2["findings"]);
    assert_eq!(v1["entries"], v2["entries"]);
}

#[test]
fn missing_path_is_a_clear_error() {
    let out = bin().args(["lint", "/nonexistent/dir"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir"));
}

#[test]
fn user_rule_files_add_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("mine.toml");
    std::fs::write(
        &rules,
        "[[inband_service]]\nid = \"my-no-regmap\"\nseverity = \"warning\"\nservices = [\"do_xfer\"]\nrationale = \"r\"\nreplacement = \"x\"\n",
    )
    .unwrap();
    let (_, v) = lint_json(&[
        fixture("oob_driver").to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    let got = active(&v);
    // do_xfer() is defined in the linted files: the chain shows its body's way down.
    assert!(
        got.contains(&(
            "my-no-regmap".into(),
            "oobdrv_oob_ioctl() -> do_xfer() -> oobdrv_update_config() -> mutex_lock()".into()
        )),
        "{got:?}"
    );
}

#[test]
fn inband_only_is_derived_from_the_bodies_down_to_the_choke_points() {
    let (code, v) = lint_json(&[fixture("derived").to_str().unwrap()]);
    assert_eq!(code, 1);
    let got: Vec<(String, String, u64, String)> = located(&v)
        .into_iter()
        .map(|f| (f.0, f.1, f.2, f.3))
        .collect();
    let f = |rule: &str, file: &str, line: u64, chain: &str| {
        (rule.to_string(), file.to_string(), line, chain.to_string())
    };
    assert_eq!(
        got,
        vec![
            // An unlisted function of the tree, across three files.
            f(
                "oob-might-sleep",
                "alloc.c",
                4,
                "drv_oob_ioctl() -> helper() -> my_alloc() -> might_sleep()"
            ),
            // Listed services defined in the tree: the chain goes on through their bodies
            // to the choke point; the finding stays at the oob-side call, under the rule of
            // the service called.
            f(
                "oob-might-sleep",
                "drv.c",
                20,
                "drv_oob_ioctl() -> msleep() -> schedule_timeout_uninterruptible() -> schedule_timeout() -> schedule()"
            ),
            f(
                "oob-inband-wakeup",
                "drv.c",
                21,
                "drv_oob_ioctl() -> wake_up() -> __wake_up() -> __wake_up_common_lock()"
            ),
            // Its body shows nothing: the hand-written list still holds.
            f("oob-inband-alloc", "drv.c", 22, "drv_oob_ioctl() -> kfree()"),
            // A lock call is judged by the lock's declared type, not by spin_lock()'s body.
            f(
                "oob-inband-spinlock",
                "drv.c",
                23,
                "drv_oob_ioctl() -> spin_lock()"
            ),
        ]
    );
    // maybe_wait() only sleeps under running_inband(): neither a finding nor in-band only.
    // unused_sleeper() is never reached from oob but is in-band only all the same.
    assert_eq!(v["stats"]["functions_inband_only"], 10, "{}", v["stats"]);
}

/// The official SARIF 2.1.0 JSON schema (OASIS, draft-07, `$id`
/// .../oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json), vendored from the
/// `serde-sarif` 0.8.0 crate's `src/schema.json` (crates.io), sha256 af47e7b6...95cea.
fn sarif_validator() -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    // The `language` properties have the pattern `...{2}]?$`: a bare `]` is a literal in
    // ECMA-262 (Annex B), but the crate's meta-schema check of `format: regex` refuses it.
    // `\]` is the same regular expression; the vendored file stays as published.
    let escaped = escape_bare_brackets(&mut schema);
    assert_eq!(escaped, 2, "the published schema has two such patterns");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn escape_bare_brackets(v: &mut Value) -> usize {
    const BARE: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        Value::Object(m) => m
            .iter_mut()
            .map(|(k, x)| {
                if k == "pattern" && x == BARE {
                    *x = BARE.replace("}]?", "}\\]?").into();
                    1
                } else {
                    escape_bare_brackets(x)
                }
            })
            .sum(),
        Value::Array(a) => a.iter_mut().map(escape_bare_brackets).sum(),
        _ => 0,
    }
}

fn schema_errors(validator: &jsonschema::Validator, v: &Value) -> Vec<String> {
    validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn sarif_of(args: &[&std::ffi::OsStr]) -> Value {
    let out = bin()
        .arg("lint")
        .args(["--format", "sarif"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap() <= 1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    // In-source suppressions, ops slots, derived chains, cross-file chains, no findings.
    for name in ["suppress", "ops_slots", "derived", "oob_driver", "mtd"] {
        let v = sarif_of(&[fixture(name).as_os_str()]);
        let errors = schema_errors(&validator, &v);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        if name == "ops_slots" {
            assert!(v
                .to_string()
                .contains("slow_step() stored in ->step (in-band only)"));
        }
    }
    // External suppressions from a baseline.
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("b.json");
    let status = bin()
        .arg("lint")
        .arg(fixture("oob_driver"))
        .arg("--baseline")
        .arg(&base)
        .arg("--write-baseline")
        .status()
        .unwrap();
    assert!(status.success());
    let v = sarif_of(&[
        fixture("oob_driver").as_os_str(),
        "--baseline".as_ref(),
        base.as_os_str(),
    ]);
    assert!(v.to_string().contains("\"external\""));
    let errors = schema_errors(&validator, &v);
    assert!(errors.is_empty(), "baseline: {errors:#?}");
}

#[test]
fn the_schema_check_rejects_invalid_sarif() {
    let validator = sarif_validator();
    let good = sarif_of(&[fixture("suppress").as_os_str()]);
    assert!(validator.is_valid(&good));
    let mut bad_level = good.clone();
    bad_level["runs"][0]["results"][0]["level"] = "fatal".into();
    let mut bad_kind = good.clone();
    bad_kind["runs"][0]["results"][0]["suppressions"] =
        serde_json::json!([{ "kind": "baseline", "justification": "x" }]);
    let mut no_version = good.clone();
    no_version.as_object_mut().unwrap().remove("version");
    let mut bad_line = good;
    bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    for bad in [bad_level, bad_kind, no_version, bad_line] {
        assert!(!schema_errors(&validator, &bad).is_empty(), "{bad}");
    }
}

/// Findings with their files: (file, chain).
fn chains_with_files(v: &Value) -> Vec<(String, String)> {
    active_by(v, "file")
}

#[test]
fn generic_code_resolves_to_the_selected_arch_only() {
    let dir = fixture("arches");
    let d = dir.to_str().unwrap();
    // Default x86: x86's arch_settle() only spins; um's mutex is not linked in.
    let (code, v) = lint_json(&[d]);
    assert_eq!(code, 0, "{v}");
    assert!(chains_with_files(&v).is_empty(), "{v}");
    assert_eq!(v["arch"], "x86");
    assert_eq!(v["stats"]["files_other_arch"], 1, "arch/um is not read");
    // x86_64 is the same build.
    let (code, v64) = lint_json(&["--arch", "x86_64", d]);
    assert_eq!((code, &v64["arch"]), (0, &Value::from("x86")));
    assert_eq!(v64["findings"], v["findings"]);
    // Building for um: the generic caller reaches um's sleeping definition.
    let (code, v) = lint_json(&["--arch", "um", d]);
    assert_eq!(code, 1);
    assert_eq!(
        chains_with_files(&v),
        // The finding is the call out of drivers/ into um's in-band-only definition.
        vec![(
            "drivers/settle/settle.c".to_string(),
            "settle_oob_ioctl() -> arch_settle() -> mutex_lock()".to_string()
        )]
    );
    assert_eq!(v["stats"]["files_other_arch"], 1, "arch/x86 is not read");
}

#[test]
fn arch_code_resolves_within_its_own_arch() {
    // Both arch folders named as PATHs: both are read, and x86's oob IRQ handler still
    // reaches x86's arch_settle() only, while generic code follows --arch um.
    let dir = fixture("arches");
    let p = |s: &str| dir.join(s).to_str().unwrap().to_string();
    let (code, v) = lint_json(&[
        "--arch",
        "um",
        "--root",
        dir.to_str().unwrap(),
        &p("drivers"),
        &p("arch/x86"),
        &p("arch/um"),
    ]);
    assert_eq!(code, 1);
    let entries: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["function"].as_str().unwrap())
        .collect();
    assert_eq!(entries, ["settle_oob_ioctl", "x86_oob_irq"]);
    assert_eq!(v["stats"]["files_other_arch"], 0);
    assert_eq!(
        chains_with_files(&v),
        // The finding is the call out of drivers/ into um's in-band-only definition.
        vec![(
            "drivers/settle/settle.c".to_string(),
            "settle_oob_ioctl() -> arch_settle() -> mutex_lock()".to_string()
        )]
    );
}

#[test]
fn unknown_arch_is_refused() {
    let out = bin()
        .args(["lint", "--arch", "sparc"])
        .arg(fixture("arches"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--arch sparc: no arch/sparc folder"),
        "{stderr}"
    );
}

#[test]
fn user_space_folders_of_a_kernel_tree_are_not_kernel_code() {
    // tools/include/linux/lock.h copies a kernel name for user space: a kernel call must
    // not resolve to it (it did: `scope_oob_ioctl() -> scope_unlock() -> usleep_range()`).
    let dir = fixture("scope");
    let d = dir.to_str().unwrap();
    let (_, v) = lint_json(&[d]);
    assert_eq!(v["stats"]["files_userspace"], 2, "{}", v["stats"]);
    let files = chains_with_files(&v);
    assert!(
        files.iter().all(|(f, _)| !f.starts_with("tools/")),
        "{files:#?}"
    );
    assert!(files.iter().all(|(_, c)| !c.contains("usleep_range")));
    // Given as a PATH, tools/ is linted: its code resolves among itself, and kernel code
    // still does not see it.
    let tools = dir.join("tools");
    let (_, v) = lint_json(&["--root", d, d, tools.to_str().unwrap()]);
    assert_eq!(v["stats"]["files_userspace"], 0);
    let tools_chains: Vec<(String, String)> = chains_with_files(&v)
        .into_iter()
        .filter(|(f, _)| f.starts_with("tools/"))
        .collect();
    assert_eq!(
        tools_chains,
        [(
            "tools/testing/scope/scope_test.c".to_string(),
            "scope_test_entry() -> scope_unlock() -> usleep_range()".to_string()
        )]
    );
    // Outside a kernel tree (no top-level Kconfig and arch/), a tools/ folder is code.
    let (_, v) = lint_json(&[dir.join("tools").to_str().unwrap()]);
    assert_eq!(v["stats"]["files_userspace"], 0);
    assert_eq!(chains_with_files(&v).len(), 1, "{v}");
}

#[test]
fn conditionals_resolve_for_the_configuration() {
    // drivers/scope/scope.c defines scope_flush() twice, the PREEMPT_RT one sleeping;
    // include/linux/lock.h gives scope_unlock() from lock_rt.h (which sleeps) only on
    // PREEMPT_RT. Before, both alternatives counted and both chains were findings.
    let dir = fixture("scope");
    let d = dir.to_str().unwrap();
    let rt_chains = [
        (
            "drivers/scope/scope.c".to_string(),
            "scope_oob_ioctl() -> scope_flush() -> msleep()".to_string(),
        ),
        // The call out of drivers/scope/ is the finding; the chain shows lock_rt.c below.
        (
            "drivers/scope/scope.c".to_string(),
            "scope_oob_ioctl() -> scope_unlock() -> rt_scope_unlock() -> might_sleep()".to_string(),
        ),
    ];
    // Without --kconfig, rules/build-scope.toml assumes PREEMPT_RT=n.
    let (code, v) = lint_json(&[d]);
    assert_eq!(code, 0, "{v}");
    assert!(chains_with_files(&v).is_empty(), "{v}");
    assert_eq!(v["stats"]["headers_configured_out"], 1, "lock_rt.h");
    assert!(v["kconfig"].as_str().unwrap().contains("PREEMPT_RT=n"));

    let tmp = tempfile::tempdir().unwrap();
    let config = |name: &str, text: &str| {
        let f = tmp.path().join(name);
        std::fs::write(&f, text).unwrap();
        f.to_str().unwrap().to_string()
    };
    let rt = config("rt.config", "CONFIG_SMP=y\nCONFIG_PREEMPT_RT=y\n");
    let (code, v) = lint_json(&["--kconfig", &rt, d]);
    assert_eq!(code, 1);
    assert_eq!(chains_with_files(&v), rt_chains);
    assert_eq!(v["kconfig"], rt.as_str());
    let plain = config(
        "plain.config",
        "CONFIG_SMP=y\n# CONFIG_PREEMPT_RT is not set\n",
    );
    let (code, v) = lint_json(&["--kconfig", &plain, d]);
    assert_eq!(code, 0, "{v}");
    // A .config without the symbol leaves it unset too.
    let other = config("other.config", "CONFIG_SMP=y\n");
    let (code, _) = lint_json(&["--kconfig", &other, d]);
    assert_eq!(code, 0);

    // A rule file can change the assumption: both alternatives known as before.
    let rules = config("rt.toml", "[kconfig_assumed]\nPREEMPT_RT = 'y'\n");
    let (code, v) = lint_json(&["--rules", &rules, d]);
    assert_eq!(code, 1);
    assert_eq!(chains_with_files(&v), rt_chains);

    // Not a .config, or no such file: the lint cannot run.
    let junk = config("junk.txt", "hello\n");
    for bad in [junk.as_str(), "/nonexistent/.config"] {
        let out = bin().args(["lint", "--kconfig", bad, d]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
