//! GitLab Code Quality report (the `codequality` artifact) from the lint's SARIF log, so
//! findings show in merge-request diffs. Suppressed findings are left out, as GitLab has no
//! notion of them.

use serde_json::{json, Value};

/// The Code Quality issues of a SARIF 2.1.0 log written by `lint --format sarif`.
pub fn from_sarif(sarif: &Value) -> Value {
    let mut issues = Vec::new();
    for run in sarif["runs"].as_array().into_iter().flatten() {
        for r in run["results"].as_array().into_iter().flatten() {
            if r.get("suppressions").is_some() {
                continue;
            }
            let loc = &r["locations"][0]["physicalLocation"];
            let path = decode_uri(loc["artifactLocation"]["uri"].as_str().unwrap_or(""));
            let line = loc["region"]["startLine"].as_u64().unwrap_or(1);
            let rule = r["ruleId"].as_str().unwrap_or("lint");
            let fingerprint = r["partialFingerprints"]
                .as_object()
                .and_then(|f| f.values().next())
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{rule}:{path}:{line}"));
            issues.push(json!({
                "description": r["message"]["text"].as_str().unwrap_or(rule),
                "check_name": rule,
                "fingerprint": fingerprint,
                "severity": severity(r["level"].as_str().unwrap_or("warning")),
                "location": { "path": path, "lines": { "begin": line } },
            }));
        }
    }
    Value::Array(issues)
}

fn severity(level: &str) -> &'static str {
    match level {
        "error" => "major",
        "warning" => "minor",
        _ => "info",
    }
}

/// Undoes the lint's URI escaping (`%20`, `%23`, `%25`, `%3F`); anything else is kept.
fn decode_uri(uri: &str) -> String {
    uri.replace("%20", " ")
        .replace("%23", "#")
        .replace("%3F", "?")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn findings_become_issues_with_path_line_and_fingerprint() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/oob_driver");
        let opts = crate::lint::LintOptions {
            paths: vec![fixture.clone()],
            ..crate::lint::LintOptions::default()
        };
        let report = crate::lint::run(&opts).unwrap();
        let sarif = crate::lint::sarif::to_sarif(&report);
        let issues = from_sarif(&sarif);
        let issues = issues.as_array().unwrap();
        let active = report
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .count();
        assert!(active > 0);
        assert_eq!(issues.len(), active);
        for (i, f) in issues
            .iter()
            .zip(report.findings.iter().filter(|f| f.suppressed.is_none()))
        {
            assert_eq!(i["location"]["path"], f.file.as_str());
            assert_eq!(i["location"]["lines"]["begin"], f.line);
            assert_eq!(i["fingerprint"], f.fingerprint.as_str());
            assert!(["major", "minor", "info"].contains(&i["severity"].as_str().unwrap()));
        }
    }
}
