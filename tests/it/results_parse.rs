//! `results parse`: a saved console log (recorded from real QEMU boots) gives the report the
//! boot gave, and `--filter` keeps what kunit.py's filter_glob would.

use std::path::Path;
use std::process::Command;

fn parse(log: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/results")
        .join(log);
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["results", "parse"])
        .arg(&path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

#[test]
fn saved_console_gives_the_boot_report() {
    let log = "x86_64-6.12-kunit-pass.log";
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/results")
            .join(log),
    )
    .unwrap();
    let lib = dovetail_port::results::reparse(&text, Path::new(log));
    let (code, v) = parse(log, &[]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["end"]["kind"], "completed");
    assert_eq!(v["counts"]["passed"], lib.counts.passed);
    assert_eq!(v["counts"]["failed"], lib.counts.failed);
    assert_eq!(v["cases"].as_array().unwrap().len(), lib.cases.len());
    assert!(lib.counts.passed > 100, "{:?}", lib.counts);
    assert_eq!(code, if lib.passed() { 0 } else { 1 });
}

#[test]
fn filter_keeps_matching_kunit_suites_and_cases() {
    let (_, all) = parse("x86_64-6.12-kunit-pass.log", &[]);
    let (_, list) = parse("x86_64-6.12-kunit-pass.log", &["--filter", "list*"]);
    let ktap = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["source"] == "ktap")
            .map(|c| {
                (
                    c["suite"].as_str().unwrap().into(),
                    c["name"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let expected: Vec<_> = ktap(&all)
        .into_iter()
        .filter(|(s, _)| s.starts_with("list"))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ktap(&list), expected);
    let (_, one) = parse("x86_64-6.12-kunit-pass.log", &["--filter", "list*.*del*"]);
    let got = ktap(&one);
    assert!(!got.is_empty() && got.len() < expected.len());
    assert!(got
        .iter()
        .all(|(s, n)| s.starts_with("list") && n.contains("del")));
}

#[test]
fn a_cut_short_log_says_so() {
    let (code, v) = parse("x86_64-6.12-silent-during-kunit.log", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["end"]["kind"], "exited");
    assert!(v["notes"].to_string().contains("cut short"));
}
