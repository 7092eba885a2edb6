//! The lint gate: runs `dovetail-port lint` (issue #4's interface: `--format sarif`,
//! `--baseline FILE`, `--diff REV`, exit 0 clean / 1 findings / 2 error) in the fork's root and
//! keeps its SARIF. Going through the command keeps one implementation of the lint and makes
//! the gate exactly what a developer reproduces by hand.

use std::path::{Path, PathBuf};

use super::config::LintConfig;
use super::CiError;

#[derive(Debug, Clone)]
pub struct LintRun {
    /// The lint's exit status: 0 clean, 1 new findings.
    pub status: i32,
    /// Findings not suppressed (inline or by the baseline).
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    pub sarif: serde_json::Value,
    /// The command line, for the report.
    pub command: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub rule: String,
    pub message: String,
    pub file: String,
    pub line: u64,
}

impl LintRun {
    pub fn passed(&self) -> bool {
        self.status == 0
    }
}

/// The argument list (without the program).
pub fn args(l: &LintConfig, diff_base: Option<&str>) -> Vec<String> {
    let mut a = vec!["lint".to_string(), "--format".into(), "sarif".into()];
    if let Some(b) = &l.baseline {
        a.push("--baseline".into());
        a.push(b.display().to_string());
    }
    if let (true, Some(base)) = (l.diff, diff_base) {
        a.push("--diff".into());
        a.push(base.to_string());
    }
    a.push("--".into());
    a.extend(l.paths.iter().map(|p| p.display().to_string()));
    a
}

pub fn run(
    program: &Path,
    root: &Path,
    l: &LintConfig,
    diff_base: Option<&str>,
) -> Result<LintRun, CiError> {
    let args = args(l, diff_base);
    if let Some(b) = &l.baseline {
        if !root.join(b).is_file() {
            return Err(CiError::Lint(format!(
                "baseline {} does not exist (write one with `dovetail-port lint --write-baseline {}`)",
                root.join(b).display(),
                b.display()
            )));
        }
    }
    let out = std::process::Command::new(program)
        .args(&args)
        .current_dir(root)
        .output()
        .map_err(|e| CiError::Io {
            path: PathBuf::from(program),
            source: e,
        })?;
    let status = out.status.code().unwrap_or(2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if status != 0 && status != 1 {
        return Err(CiError::Lint(format!(
            "`{} {}` failed (exit {status}): {}",
            program.display(),
            args.join(" "),
            stderr.trim()
        )));
    }
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| CiError::Lint(format!("the lint's SARIF output does not parse: {e}")))?;
    let (findings, suppressed) = findings(&sarif);
    Ok(LintRun {
        status,
        findings,
        suppressed,
        sarif,
        command: std::iter::once("dovetail-port".to_string())
            .chain(args)
            .collect(),
    })
}

/// Unsuppressed results and the number of suppressed ones.
pub fn findings(sarif: &serde_json::Value) -> (Vec<Finding>, usize) {
    let mut out = Vec::new();
    let mut suppressed = 0;
    for run in sarif["runs"].as_array().into_iter().flatten() {
        for r in run["results"].as_array().into_iter().flatten() {
            if r["suppressions"].as_array().is_some_and(|s| !s.is_empty()) {
                suppressed += 1;
                continue;
            }
            let loc = &r["locations"][0]["physicalLocation"];
            out.push(Finding {
                rule: r["ruleId"].as_str().unwrap_or("").to_string(),
                message: r["message"]["text"].as_str().unwrap_or("").to_string(),
                file: loc["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                line: loc["region"]["startLine"].as_u64().unwrap_or(0),
            });
        }
    }
    (out, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_and_sarif_findings() {
        let l = LintConfig {
            paths: vec!["drivers/x".into()],
            baseline: Some("b.json".into()),
            diff: true,
        };
        assert_eq!(
            args(&l, Some("v6.1")).join(" "),
            "lint --format sarif --baseline b.json --diff v6.1 -- drivers/x"
        );
        let sarif = serde_json::json!({"runs": [{"results": [
            {"ruleId": "oob-sleep", "message": {"text": "msleep in oob"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.c"}, "region": {"startLine": 7}}}]},
            {"ruleId": "oob-lock", "message": {"text": "x"}, "suppressions": [{"kind": "external"}]}
        ]}]});
        let (f, s) = findings(&sarif);
        assert_eq!(s, 1);
        assert_eq!(
            f,
            vec![Finding {
                rule: "oob-sleep".into(),
                message: "msleep in oob".into(),
                file: "a.c".into(),
                line: 7
            }]
        );
    }
}
