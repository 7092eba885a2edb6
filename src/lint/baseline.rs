//! Baselines for CI gating of forks: a file of finding fingerprints accepted so far;
//! only findings not in it fail the run.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Finding, LintError, Suppression, SuppressionKind};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: String,
    pub file: String,
    pub chain: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

impl Baseline {
    /// The baseline accepting every unsuppressed finding of a report.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut v: Vec<BaselineEntry> = findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                file: f.file.clone(),
                chain: f.chain_text.clone(),
            })
            .collect();
        v.sort_by(|a, b| (&a.file, &a.fingerprint).cmp(&(&b.file, &b.fingerprint)));
        v.dedup();
        Baseline {
            version: 1,
            findings: v,
        }
    }

    pub fn load(path: &Path) -> Result<Baseline, LintError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| LintError::Io(path.to_path_buf(), e))?;
        let b: Baseline = crate::data::parse_json(path, &text).map_err(LintError::BaselineFile)?;
        if b.version != 1 {
            return Err(LintError::Baseline {
                path: path.to_path_buf(),
                message: format!("unsupported version {}", b.version),
            });
        }
        Ok(b)
    }

    /// Writes atomically (temp file + rename), so a failed write never loses the old one.
    pub fn save(&self, path: &Path) -> Result<(), LintError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let io = |e| LintError::Io(path.to_path_buf(), e);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let text = serde_json::to_string_pretty(self).expect("baseline serialises") + "\n";
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Marks findings listed in the baseline as externally suppressed.
    pub fn apply(&self, findings: &mut [Finding]) {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        for f in findings.iter_mut() {
            if f.suppressed.is_none() && known.contains(f.fingerprint.as_str()) {
                f.suppressed = Some(Suppression {
                    kind: SuppressionKind::External,
                    justification: "accepted in the baseline".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::testing::assert_points_at;

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("baseline.json");
        let text = "{\n  \"version\": 1,\n  \"findings\": [\n    {\"fingerprint\": \"f\", \"rule\": \"r\", \"file\": \"a.c\", \"chian\": \"x\"}\n  ]\n}\n";
        std::fs::write(&path, text).unwrap();
        let err = Baseline::load(&path).unwrap_err();
        assert_points_at(&err, &path, 4, "chian");
    }
}
