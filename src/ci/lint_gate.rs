//! The lint gate: the oob-safety lint over the configured paths of the fork, in diff mode
//! against the queue base (only findings whose chain goes through changed functions), with
//! the fork's baseline. Calls the lint engine directly; its SARIF is kept for `--sarif`.

use std::path::Path;

use super::config::LintConfig;
use super::CiError;
use crate::lint::{self, LintOptions};

#[derive(Debug, Clone)]
pub struct LintRun {
    pub passed: bool,
    /// Findings not suppressed (inline or by the baseline).
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    pub files: usize,
    pub sarif: serde_json::Value,
}

/// What the CI report keeps of a lint finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub rule: String,
    pub message: String,
    pub chain: String,
    pub file: String,
    pub line: u64,
}

/// The engine's options for this gate: paths and baseline resolved against the fork root.
pub fn options(root: &Path, l: &LintConfig, diff_base: Option<&str>) -> LintOptions {
    LintOptions {
        paths: l.paths.iter().map(|p| root.join(p)).collect(),
        root: Some(root.to_path_buf()),
        baseline: l.baseline.as_ref().map(|b| root.join(b)),
        diff: if l.diff {
            diff_base.map(String::from)
        } else {
            None
        },
        kconfig: l.kconfig.as_ref().map(|k| root.join(k)),
        arch: l
            .arch
            .as_deref()
            .map(crate::kbuild::ArchProfile::kernel_name),
        progress: false,
        ..Default::default()
    }
}

pub fn run(root: &Path, l: &LintConfig, diff_base: Option<&str>) -> Result<LintRun, CiError> {
    let opts = options(root, l, diff_base);
    if let Some(b) = &opts.baseline {
        if !b.is_file() {
            return Err(CiError::Lint(format!(
                "baseline {} does not exist (write it in the fork root with `dovetail-port lint --root . --baseline {} --write-baseline {}`)",
                b.display(),
                b.display(),
                l.paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
    }
    let report = lint::run(&opts).map_err(|e| CiError::Lint(e.to_string()))?;
    let findings = report
        .active()
        .map(|f| Finding {
            rule: f.rule.clone(),
            message: f.message.clone(),
            chain: f.chain_text.clone(),
            file: f.file.clone(),
            line: u64::from(f.line),
        })
        .collect();
    Ok(LintRun {
        passed: !report.has_errors(),
        findings,
        suppressed: report
            .findings
            .iter()
            .filter(|f| f.suppressed.is_some())
            .count(),
        files: report.stats.files_scanned,
        sarif: lint::sarif::to_sarif(&report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_resolve_against_the_root_and_follow_diff() {
        let mut l = LintConfig {
            paths: vec!["drivers/x".into()],
            baseline: Some("b.json".into()),
            diff: true,
            kconfig: Some("lint.config".into()),
            arch: Some("arm64".into()),
        };
        let o = options(Path::new("/f"), &l, Some("v6.1"));
        assert_eq!(o.paths, vec![std::path::PathBuf::from("/f/drivers/x")]);
        assert_eq!(o.baseline, Some("/f/b.json".into()));
        assert_eq!(o.kconfig, Some("/f/lint.config".into()));
        assert_eq!(o.arch.as_deref(), Some("arm64"));
        assert_eq!(o.diff.as_deref(), Some("v6.1"));
        l.diff = false;
        assert_eq!(options(Path::new("/f"), &l, Some("v6.1")).diff, None);
    }
}
