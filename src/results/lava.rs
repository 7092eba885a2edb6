//! A LAVA lab's verdicts (`lavacli results JOB --json`: a list of `{suite, name, result}`) as
//! test cases, so lab runs give the same report, JSON and JUnit as a local boot.

use serde::Deserialize;

use super::{BootEnd, Source, TestCase, TestReport, Verdict};

#[derive(Deserialize)]
struct LavaCase {
    suite: String,
    name: String,
    result: String,
}

/// The cases of one job's results; `job` (e.g. the job id) prefixes every suite so several
/// jobs can share one report. LAVA's `unknown` is a failure: nothing vouches for the case.
pub fn cases(json: &str, job: &str) -> Result<Vec<TestCase>, serde_json::Error> {
    let list: Vec<LavaCase> = serde_json::from_str(json)?;
    Ok(list
        .into_iter()
        .map(|c| {
            let (verdict, message) = match c.result.as_str() {
                "pass" => (Verdict::Pass, None),
                "skip" => (Verdict::Skip, None),
                "fail" => (Verdict::Fail, None),
                other => (
                    Verdict::Fail,
                    Some(format!("LAVA result `{}`", other.escape_debug())),
                ),
            };
            TestCase {
                suite: if job.is_empty() {
                    c.suite
                } else {
                    format!("{job}.{}", c.suite)
                },
                name: c.name,
                verdict,
                source: Source::Lava,
                message,
            }
        })
        .collect())
}

/// One report over several jobs' cases.
pub fn report(cases: Vec<TestCase>) -> TestReport {
    let mut r = super::analyse(
        "",
        BootEnd::Completed {
            payload_status: None,
        },
    );
    r.cases = cases;
    r.recount();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lavacli_results_become_cases() {
        // As `lavacli results 1234 --json` prints them (extra fields are ignored).
        let json = r#"[
 {"suite": "lava", "name": "job", "result": "pass", "url": "/results/1234/lava/job"},
 {"suite": "0_dovetail", "name": "kunit", "result": "fail", "measurement": "None"},
 {"suite": "0_dovetail", "name": "evl-test", "result": "skip"},
 {"suite": "0_dovetail", "name": "latmus", "result": "unknown"}
]"#;
        let r = report(cases(json, "1234").unwrap());
        assert_eq!(r.cases[1].full_name(), "1234.0_dovetail.kunit");
        assert_eq!(
            (r.counts.passed, r.counts.failed, r.counts.skipped),
            (1, 2, 1)
        );
        assert!(!r.passed());
        assert!(cases("{\"not\": \"a list\"}", "x").is_err());
    }
}
