//! The step choice, without I/O: given what is known of each queue patch (its verdict if
//! checked, whether it can matter, its topic), which patch to check next, or which one is
//! guilty.
//!
//! The queue is `0..n` oldest first; the base (before patch 0) is taken to pass. A patch that
//! cannot matter has its predecessor's verdict, so the guilty patch is always one that can:
//! the search bisects those only. Among the split points that cost no more than the middle
//! one (worst case, then expected checks), a topic boundary is preferred, so whole topics are
//! tried as units first.

use serde::{Deserialize, Serialize};

/// A tree's verdict under the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The check could not judge this tree (a requested option does not exist yet, the
    /// test is not in this tree, `--run` exited 125): like `git bisect skip`.
    Untestable,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Check this patch's tree.
    Check(usize),
    /// This patch fails and its predecessor (the previous patch that can matter, or the
    /// base) passes.
    Found(usize),
    /// The guilty patch is one of these; the others in between could not be checked.
    Ambiguous(Vec<usize>),
    /// No patch that can matter lies before the first failing one: the impact analysis was
    /// wrong or the base fails too.
    NoCandidate,
}

/// What the search knows about one patch.
#[derive(Debug, Clone, Default)]
pub struct Known<'a> {
    pub verdict: Option<Verdict>,
    pub can_matter: bool,
    pub topic: &'a str,
}

/// ceil(log2(n)): checks a plain bisection needs to pick one of `n` suspects.
pub fn checks_for(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// Total checks over all `n` equally likely suspects when each is found by halving (the sum
/// of their depths in the search tree): ties on the worst case are broken on this, the
/// expected cost.
fn total_depth(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        n + total_depth(n.div_ceil(2)) + total_depth(n / 2)
    }
}

/// The next step. At least one patch must be known to fail (the head, checked first).
pub fn next(patches: &[Known<'_>]) -> Next {
    let Some(bad) = patches
        .iter()
        .position(|p| p.verdict == Some(Verdict::Fail))
    else {
        return Next::NoCandidate;
    };
    let good = patches[..bad]
        .iter()
        .rposition(|p| p.verdict == Some(Verdict::Pass));
    let start = good.map_or(0, |g| g + 1);
    // Suspects: the patches that can matter in (good, bad]. The last of them fails (it is
    // `bad`, or every patch after it up to `bad` cannot matter and so has its verdict).
    let suspects: Vec<usize> = (start..=bad).filter(|&i| patches[i].can_matter).collect();
    let Some(&last) = suspects.last() else {
        return Next::NoCandidate;
    };
    if suspects.len() == 1 {
        return Next::Found(last);
    }
    // Split at suspect k: a failing tree leaves suspects[..=k], a passing one suspects[k+1..].
    let n = suspects.len();
    // Worst case first, then the expected cost.
    let cost = |k: usize| {
        (
            checks_for(k + 1).max(checks_for(n - k - 1)),
            total_depth(k + 1) + total_depth(n - k - 1),
        )
    };
    let testable: Vec<usize> = (0..n - 1)
        .filter(|&k| patches[suspects[k]].verdict.is_none())
        .collect();
    let Some(best) = testable.iter().map(|&k| cost(k)).min() else {
        return Next::Ambiguous(suspects);
    };
    let middle = (n - 1) as f64 / 2.0;
    let boundary = |k: usize| patches[suspects[k]].topic != patches[suspects[k + 1]].topic;
    let pick = testable
        .iter()
        .copied()
        .filter(|&k| cost(k) == best)
        .min_by(|&a, &b| {
            let key = |k: usize| (!boundary(k), ((k as f64) - middle).abs());
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    match pick {
        Some(k) => Next::Check(suspects[k]),
        None => Next::Ambiguous(suspects),
    }
}

/// How many trees a plain binary bisection (`git bisect run` with the base good and the head
/// bad) checks over `n` patches when patch `guilty` is the first failing one and the failure
/// stays from there on.
pub fn plain_bisection_checks(n: usize, guilty: usize) -> usize {
    // git bisect picks the commit that halves the suspects: here, the middle of (good, bad).
    let (mut good, mut bad) = (-1i64, n as i64 - 1);
    let mut checks = 0;
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        checks += 1;
        if mid >= guilty as i64 {
            bad = mid;
        } else {
            good = mid;
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against an oracle; returns (answer, patches checked in order).
    fn drive(
        n: usize,
        can_matter: &[bool],
        topics: &[&str],
        oracle: impl Fn(usize) -> Verdict,
    ) -> (Next, Vec<usize>) {
        let mut known: Vec<Known> = (0..n)
            .map(|i| Known {
                verdict: None,
                can_matter: can_matter[i],
                topic: topics[i],
            })
            .collect();
        known[n - 1].verdict = Some(oracle(n - 1));
        let mut checked = Vec::new();
        loop {
            match next(&known) {
                Next::Check(i) => {
                    assert!(known[i].verdict.is_none(), "checked {i} twice");
                    checked.push(i);
                    known[i].verdict = Some(oracle(i));
                }
                other => return (other, checked),
            }
        }
    }

    #[test]
    fn plain_search_finds_every_position_in_log_steps() {
        for n in 1..40 {
            for guilty in 0..n {
                let (answer, checked) = drive(n, &vec![true; n], &vec!["t"; n], |i| {
                    if i >= guilty {
                        Verdict::Fail
                    } else {
                        Verdict::Pass
                    }
                });
                assert_eq!(answer, Next::Found(guilty), "n={n} guilty={guilty}");
                assert!(checked.len() as u32 <= checks_for(n), "n={n}: {checked:?}");
                assert!(plain_bisection_checks(n, guilty) as u32 <= checks_for(n));
            }
        }
    }

    #[test]
    fn patches_that_cannot_matter_are_never_checked() {
        // 12 patches, only 3 can matter; the guilty one is 7.
        let can = [
            false, true, false, false, false, false, false, true, false, false, true, false,
        ];
        let (answer, checked) = drive(12, &can, &["t"; 12], |i| {
            if i >= 7 {
                Verdict::Fail
            } else {
                Verdict::Pass
            }
        });
        assert_eq!(answer, Next::Found(7));
        assert!(checked.iter().all(|&i| can[i]), "{checked:?}");
        assert_eq!(checked.len(), 2);
        assert_eq!(plain_bisection_checks(11, 7), 4);
    }

    #[test]
    fn a_topic_boundary_is_preferred_at_no_extra_cost() {
        let known = |topics: &[&'static str]| -> Vec<Known<'static>> {
            let n = topics.len();
            (0..n)
                .map(|i| Known {
                    verdict: (i == n - 1).then_some(Verdict::Fail),
                    can_matter: true,
                    topic: topics[i],
                })
                .collect()
        };
        // 6 suspects: splits after 2, 3 or 4 all need 2 more checks at worst; the middle
        // one (after 3) without topics, the topic boundary (after 4) with them.
        assert_eq!(next(&known(&["x"; 6])), Next::Check(2));
        assert_eq!(
            next(&known(&["a", "a", "a", "a", "b", "b"])),
            Next::Check(3)
        );
        // A boundary that would cost a check more is not taken: a a b b b b b b.
        assert_eq!(
            next(&known(&["a", "a", "b", "b", "b", "b", "b", "b"])),
            Next::Check(3)
        );
        assert_eq!(checks_for(8), 3);
        // After a topic boundary that costs as much in the worst case but more on average
        // (1 | 4 suspects rather than 2 | 3): the middle.
        assert_eq!(next(&known(&["a", "b", "b", "b", "b"])), Next::Check(2));
        assert_eq!((total_depth(1), total_depth(3), total_depth(4)), (0, 5, 8));
    }

    #[test]
    fn untestable_patches_are_stepped_around() {
        // Patches 2..=4 cannot be checked; guilty is 3: the answer is ambiguous between them.
        let (answer, _) = drive(8, &[true; 8], &["t"; 8], |i| match i {
            2..=4 => Verdict::Untestable,
            i if i >= 3 => Verdict::Fail,
            _ => Verdict::Pass,
        });
        assert_eq!(answer, Next::Ambiguous(vec![2, 3, 4, 5]));
        // Guilty 6 with 2..=4 untestable: found exactly.
        let (answer, _) = drive(8, &[true; 8], &["t"; 8], |i| match i {
            2..=4 => Verdict::Untestable,
            i if i >= 6 => Verdict::Fail,
            _ => Verdict::Pass,
        });
        assert_eq!(answer, Next::Found(6));
    }

    #[test]
    fn nothing_that_can_matter_before_the_failure() {
        let known = vec![
            Known {
                verdict: None,
                can_matter: false,
                topic: "t",
            },
            Known {
                verdict: Some(Verdict::Fail),
                can_matter: false,
                topic: "t",
            },
        ];
        assert_eq!(next(&known), Next::NoCandidate);
    }
}
