//! The result parsers on console logs recorded from real boots of the 6.12 x86_64
//! tinyconfig + KUnit kernel (tests/fixtures/results/).

use dovetail_port::results::render::{self, Format};
use dovetail_port::results::{analyse, BootEnd, CrashKind, Verdict};

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/results")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn passing_kunit_boot_with_payload_markers() {
    let log = fixture("x86_64-6.12-kunit-pass.log");
    let r = analyse(
        &log,
        BootEnd::Completed {
            payload_status: Some(0),
        },
    );
    let kunit: Vec<_> = r.cases.iter().filter(|c| c.suite != "payload").collect();
    assert_eq!(kunit.len(), 148);
    assert_eq!(
        kunit.iter().filter(|c| c.verdict == Verdict::Skip).count(),
        6
    );
    assert!(kunit.iter().all(|c| c.verdict != Verdict::Fail));
    // Nested suites: parameterised cases get the test as a suite component.
    assert!(r
        .cases
        .iter()
        .any(|c| c.suite == "example.example_params_test" && c.verdict == Verdict::Pass));
    let skip = r
        .cases
        .iter()
        .find(|c| c.name == "kunit_log_newline_test")
        .unwrap();
    assert_eq!(skip.verdict, Verdict::Skip);
    assert_eq!(
        skip.message.as_deref(),
        Some("SKIP only useful when debugfs is enabled")
    );
    let payload: Vec<_> = r.cases.iter().filter(|c| c.suite == "payload").collect();
    assert_eq!(payload.len(), 2);
    assert_eq!(payload[1].name, "bye");
    assert_eq!(payload[1].verdict, Verdict::Fail);
    assert!(r.crashes.is_empty());
    assert!(!r.passed());
    insta::assert_snapshot!(render::render(&r, Format::Junit));
}

#[test]
fn init_exit_is_a_killed_init_panic_with_excerpt() {
    let log = fixture("x86_64-6.12-init-exits.log");
    let r = analyse(&log, BootEnd::Crashed);
    assert_eq!(r.crashes.len(), 1);
    let ev = &r.crashes[0];
    assert_eq!(ev.kind, CrashKind::KilledInit);
    assert!(ev.excerpt.contains("Attempted to kill init"));
    // KUnit had finished before init ran: its verdicts are still all there.
    assert_eq!(r.counts.failed + r.counts.crashed, 0);
    assert!(r.counts.passed > 100);
    insta::assert_snapshot!(render::human(&r));
}

#[test]
fn output_stopping_mid_suite_marks_the_rest_crashed() {
    let log = fixture("x86_64-6.12-silent-during-kunit.log");
    let r = analyse(&log, BootEnd::NoOutput { seconds: 6 });
    let crashed: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Crashed)
        .collect();
    // time_test_cases started (plan 1..1) and never reported; every later suite the
    // top-level plan promised is crashed too.
    assert!(crashed
        .iter()
        .any(|c| c.suite == "time_test_cases" && c.name.starts_with("test 1")));
    assert!(crashed.len() > 10);
    assert!(crashed[0]
        .message
        .as_deref()
        .unwrap()
        .contains("# Subtest: time_test_cases"));
    assert_eq!(r.counts.passed, 1);
    let j: serde_json::Value = serde_json::from_str(&render::json(&r)).unwrap();
    assert_eq!(j["end"]["kind"], "no_output");
}
