//! Scoring a forward-port of a queue against the maintainers' own port (the ground truth).
//!
//! A patch of the old queue is *kept* when the new queue has a patch with the same series path
//! or the same normalised subject. For a kept patch the tool's ported change is compared with
//! the maintainers' patch as line multisets per file ([`super::change`]): `identical`,
//! `different`, or `missing` (the tool left it as a conflict or dropped it). A patch the
//! maintainers dropped is `carried` when the tool still applied a non-empty change, else
//! `not-carried`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::change::Change;
use super::series::{normalize_subject, SeriesPatch};

/// What one tool did with one patch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// Applied; the change it made (possibly empty: the tool found nothing left to do).
    Ported { change: Change },
    /// Left for a human: a conflict, a rejected hunk, a blocked patch.
    Conflict { verdict: String },
    /// The tool gave no result for it (it crashed or stopped before it).
    NoResult { reason: String },
}

impl Outcome {
    fn carried(&self) -> bool {
        matches!(self, Outcome::Ported { change } if !change.is_empty())
    }
}

/// How a kept patch came out, or a dropped one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    Identical,
    Different,
    Missing,
    Carried,
    NotCarried,
}

/// The maintainers' new queue, indexed for matching.
pub struct Truth<'a> {
    patches: &'a [SeriesPatch],
    changes: Vec<Change>,
    by_path: HashMap<&'a str, usize>,
    by_subject: HashMap<String, usize>,
}

impl<'a> Truth<'a> {
    /// `changes[i]` is what `patches[i]` changes.
    pub fn new(patches: &'a [SeriesPatch], changes: Vec<Change>) -> Self {
        let mut by_path = HashMap::new();
        let mut by_subject = HashMap::new();
        for (i, p) in patches.iter().enumerate() {
            by_path.entry(p.series_path.as_str()).or_insert(i);
            by_subject
                .entry(normalize_subject(&p.subject).to_lowercase())
                .or_insert(i);
        }
        Truth {
            patches,
            changes,
            by_path,
            by_subject,
        }
    }

    /// The new queue's patch that keeps `old`, by series path first, then by subject.
    pub fn find(&self, old: &SeriesPatch) -> Option<usize> {
        self.by_path
            .get(old.series_path.as_str())
            .copied()
            .or_else(|| {
                self.by_subject
                    .get(&normalize_subject(&old.subject).to_lowercase())
                    .copied()
            })
    }

    pub fn patch(&self, i: usize) -> &SeriesPatch {
        &self.patches[i]
    }

    pub fn change(&self, i: usize) -> &Change {
        &self.changes[i]
    }
}

/// Grades one outcome: against `truth` (the maintainers' change) when the patch was kept,
/// else as carried or not.
pub fn grade(outcome: &Outcome, truth: Option<&Change>) -> Grade {
    match (truth, outcome) {
        (Some(t), Outcome::Ported { change }) if !change.is_empty() => {
            if change == t {
                Grade::Identical
            } else {
                Grade::Different
            }
        }
        (Some(_), _) => Grade::Missing,
        (None, o) if o.carried() => Grade::Carried,
        (None, _) => Grade::NotCarried,
    }
}

/// One tool's totals over the queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub patches: usize,
    pub kept: usize,
    pub identical: usize,
    pub different: usize,
    pub missing: usize,
    pub dropped: usize,
    pub carried: usize,
    pub not_carried: usize,
    /// Patches left for a human (conflicts, rejects, blocked).
    pub conflicts: usize,
    /// Kept patches the tool dropped on its own (ported as empty, no conflict).
    pub kept_but_dropped: usize,
    /// Patches without a result (the tool crashed or stopped first).
    pub no_result: usize,
}

impl Tally {
    pub fn add(&mut self, outcome: &Outcome, grade: Grade) {
        self.patches += 1;
        match grade {
            Grade::Identical | Grade::Different | Grade::Missing => self.kept += 1,
            Grade::Carried | Grade::NotCarried => self.dropped += 1,
        }
        match grade {
            Grade::Identical => self.identical += 1,
            Grade::Different => self.different += 1,
            Grade::Missing => self.missing += 1,
            Grade::Carried => self.carried += 1,
            Grade::NotCarried => self.not_carried += 1,
        }
        match outcome {
            Outcome::Conflict { .. } => self.conflicts += 1,
            Outcome::NoResult { .. } => self.no_result += 1,
            Outcome::Ported { .. } if grade == Grade::Missing => self.kept_but_dropped += 1,
            Outcome::Ported { .. } => {}
        }
    }

    /// `part` as a percentage of `whole` (0 when `whole` is 0).
    pub fn percent(part: usize, whole: usize) -> f64 {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    }
}

/// Grades every patch of one tool's run and totals them. `outcomes[i]` belongs to `old[i]`.
pub fn score(
    old: &[SeriesPatch],
    outcomes: &[Outcome],
    truth: &Truth<'_>,
) -> (Tally, Vec<(Option<usize>, Grade)>) {
    let mut tally = Tally::default();
    let mut grades = Vec::with_capacity(old.len());
    for (p, o) in old.iter().zip(outcomes) {
        let kept = truth.find(p);
        let g = grade(o, kept.map(|k| truth.change(k)));
        tally.add(o, g);
        grades.push((kept, g));
    }
    (tally, grades)
}

/// Counts of grades, for JSON.
pub fn grade_counts(grades: &[(Option<usize>, Grade)]) -> BTreeMap<Grade, usize> {
    let mut m = BTreeMap::new();
    for (_, g) in grades {
        *m.entry(*g).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::super::change::parse_diff;
    use super::*;

    fn patch(path: &str, subject: &str) -> SeriesPatch {
        SeriesPatch {
            series_path: path.into(),
            file: path.into(),
            subject: subject.into(),
        }
    }

    fn diff(line: &str) -> Change {
        parse_diff(format!("--- a/f.c\n+++ b/f.c\n@@ -1 +1,2 @@\n x\n+{line}\n").as_bytes())
    }

    fn ported(line: &str) -> Outcome {
        Outcome::Ported { change: diff(line) }
    }

    #[test]
    fn kept_by_path_or_by_normalised_subject() {
        let new = vec![
            patch("patches/bugfix/a.patch", "a: fix"),
            patch("patches-rt/0007-b.patch", "[PATCH 7/70] sched:  B thing"),
        ];
        let truth = Truth::new(&new, vec![diff("a"), diff("b")]);
        assert_eq!(
            truth.find(&patch("patches/bugfix/a.patch", "other words")),
            Some(0)
        );
        assert_eq!(
            truth.find(&patch(
                "patches-rt/0101-b.patch",
                "[PATCH 101/328] sched: B thing"
            )),
            Some(1)
        );
        assert_eq!(truth.find(&patch("patches/c.patch", "c")), None);
        assert_eq!(truth.patch(1).series_path, "patches-rt/0007-b.patch");
    }

    #[test]
    fn grades_cover_every_case() {
        let t = diff("a");
        assert_eq!(grade(&ported("a"), Some(&t)), Grade::Identical);
        assert_eq!(grade(&ported("a2"), Some(&t)), Grade::Different);
        let conflict = Outcome::Conflict {
            verdict: "conflict".into(),
        };
        assert_eq!(grade(&conflict, Some(&t)), Grade::Missing);
        let empty = Outcome::Ported {
            change: Change::default(),
        };
        assert_eq!(grade(&empty, Some(&t)), Grade::Missing);
        assert_eq!(grade(&ported("z"), None), Grade::Carried);
        assert_eq!(grade(&empty, None), Grade::NotCarried);
        assert_eq!(grade(&conflict, None), Grade::NotCarried);
    }

    #[test]
    fn tallies_count_conflicts_and_silent_drops_of_kept_patches() {
        let old = vec![
            patch("patches/a.patch", "a"),
            patch("patches/b.patch", "b"),
            patch("patches/c.patch", "c"),
            patch("patches/d.patch", "d"),
            patch("patches/e.patch", "e"),
        ];
        let new = vec![
            patch("patches/a.patch", "a"),
            patch("patches/b.patch", "b"),
            patch("patches/c.patch", "c"),
        ];
        let truth = Truth::new(&new, vec![diff("a"), diff("b"), diff("c")]);
        let outcomes = vec![
            ported("a"),
            Outcome::Ported {
                change: Change::default(),
            },
            Outcome::Conflict {
                verdict: "conflict".into(),
            },
            ported("d"),
            Outcome::NoResult {
                reason: "exit 101".into(),
            },
        ];
        let (t, grades) = score(&old, &outcomes, &truth);
        assert_eq!((t.patches, t.kept, t.dropped), (5, 3, 2));
        assert_eq!((t.identical, t.different, t.missing), (1, 0, 2));
        assert_eq!((t.carried, t.not_carried), (1, 1));
        assert_eq!((t.conflicts, t.kept_but_dropped, t.no_result), (1, 1, 1));
        assert_eq!(grades[0], (Some(0), Grade::Identical));
        assert_eq!(grade_counts(&grades)[&Grade::Missing], 2);
        assert_eq!(Tally::percent(1, 4), 25.0);
        assert_eq!(Tally::percent(1, 0), 0.0);
    }
}
