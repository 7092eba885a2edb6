//! `obsolete`: what a hunk changes is gone from the target. Judged in two steps: from the
//! target's file alone (the file is gone, or the function or Kconfig entry the hunk edits is
//! no longer in it and none of its removed or context lines are), then tree-wide, once per run
//! for every candidate: none of the hunk's distinctive lines, and no use or definition of the
//! function or symbol, anywhere in the target. Code the target moved is found by that search
//! and is not obsolete.

use super::hunks::{Hunk, Lines, Scope};
use super::Evidence;
use crate::rebase::resolve::Confidence;

/// Lines shorter than this are too common to prove anything by their absence.
const DISTINCTIVE: usize = 12;
/// Distinctive lines of a hunk searched for tree-wide.
const PROBES: usize = 4;
/// Lines searched for tree-wide (a bound on the search's patterns).
const MAX_PROBES: usize = 64;

/// A hunk that looks obsolete from its file; `probes` must all be absent tree-wide.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub evidence: Evidence,
    pub confidence: Confidence,
    pub probes: Vec<String>,
}

/// `target`: the target's version of the file (None: the target has no such file, and no
/// moved copy of it was found). `shown` is the path the evidence names.
pub fn candidate(shown: &str, h: &Hunk, target: Option<&Lines<'_>>) -> Option<Candidate> {
    let lines: Vec<&String> = h
        .taken
        .iter()
        .chain(&h.before)
        .chain(&h.after)
        .filter(|l| l.len() >= DISTINCTIVE && !l.starts_with("/*") && !l.starts_with('*'))
        .collect();
    // Every line is a probe: any one of them still in the tree means the code moved, not went.
    let mut probes: Vec<String> = lines
        .iter()
        .take(MAX_PROBES)
        .map(|l| l.to_string())
        .collect();
    let Some(target) = target else {
        // The whole file is gone: its lines elsewhere would mean it moved.
        if probes.is_empty() {
            return None;
        }
        let shown_lines: Vec<&str> = probes.iter().take(PROBES).map(String::as_str).collect();
        let text = super::equivalent::lines_text(&shown_lines);
        if let Some(s) = &h.scope {
            probes.push(scope_probe(s));
        }
        return Some(Candidate {
            evidence: Evidence {
                path: shown.to_string(),
                line: 0,
                what: "the target no longer has this file, and no moved copy of it was found"
                    .into(),
                text,
            },
            confidence: Confidence::High,
            probes,
        });
    };
    // The function or entry the hunk edits must be gone from the file, and with it every line
    // the hunk removes or stands next to (at least two that say something).
    let scope = h.scope.as_ref()?;
    let name = scope.name();
    let named = target.named().contains(name);
    if named || lines.len() < 2 || lines.iter().any(|l| target.has(l)) {
        return None;
    }
    probes.push(scope_probe(scope));
    let what = match scope {
        Scope::Function(f) => format!(
            "`{f}`, the function this hunk edits, is no longer in the target, nor any of the lines it removes or stands next to"
        ),
        Scope::Kconfig(s) => format!(
            "`config {s}`, the entry this hunk edits, is no longer in the target, nor any of the lines it removes or stands next to"
        ),
    };
    Some(Candidate {
        evidence: Evidence {
            path: shown.to_string(),
            line: 0,
            what,
            text: super::equivalent::lines_text(
                &lines
                    .iter()
                    .take(PROBES)
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>(),
            ),
        },
        confidence: Confidence::High,
        probes,
    })
}

/// The text that names a scope wherever it is still used or defined.
fn scope_probe(s: &Scope) -> String {
    match s {
        // A call, a declaration or a definition.
        Scope::Function(f) => format!("{f}("),
        // Its definition (a prefix match: it can only make the verdict rarer).
        Scope::Kconfig(s) => format!("config {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::hunks::hunks;
    use super::*;

    const OLD: &str = "static int old_helper(struct dev *d)\n{\n\tif (d->legacy_mode_enabled)\n\t\tsetup_legacy_registers(d);\n\treturn program_the_device(d);\n}\n";
    const NEW: &str = "static int old_helper(struct dev *d)\n{\n\tif (d->legacy_mode_enabled)\n\t\tsetup_legacy_registers(d, 0);\n\treturn program_the_device(d);\n}\n";

    #[test]
    fn a_hunk_in_a_function_gone_from_the_file_is_a_candidate() {
        let h = hunks("drivers/x.c", OLD, NEW);
        let target = "static int new_probe(struct dev *d)\n{\n\treturn 0;\n}\n";
        let c = candidate("drivers/x.c", &h[0], Some(&Lines::new(target))).unwrap();
        assert!(c.probes.contains(&"old_helper(".to_string()), "{c:?}");
        assert!(c.probes.contains(&"setup_legacy_registers(d);".to_string()));
    }

    #[test]
    fn a_function_still_in_the_file_is_not() {
        let h = hunks("drivers/x.c", OLD, NEW);
        let target = "static int old_helper(struct dev *d)\n{\n\treturn 0;\n}\n";
        assert_eq!(
            candidate("drivers/x.c", &h[0], Some(&Lines::new(target))),
            None
        );
        // Renamed, but its body is still there: the code exists, the edit is not obsolete.
        let renamed = "static int helper(struct dev *d)\n{\n\tif (d->legacy_mode_enabled)\n\t\tsetup_legacy_registers(d);\n}\n";
        assert_eq!(
            candidate("drivers/x.c", &h[0], Some(&Lines::new(renamed))),
            None
        );
    }

    #[test]
    fn a_gone_file_is_a_candidate() {
        let h = hunks("drivers/x.c", OLD, NEW);
        let c = candidate("drivers/x.c", &h[0], None).unwrap();
        assert!(c.evidence.what.contains("no longer has this file"));
    }
}
