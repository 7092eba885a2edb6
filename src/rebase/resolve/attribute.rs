//! Conflict attribution: which upstream commits changed the lines a conflict region sits on.
//! A line-range log (`git log -L`) over the target's side of the region, limited to the
//! commits between the queue's old base and the target: the region's own history, not an
//! M×N grid of test merges.

use std::path::Path;

use super::diff3::{self, Segment};
use crate::process::Git;

/// An upstream commit that touched a conflict region.
pub type Culprit = String;

/// 1-based line ranges (start, length ≥ 1) of each conflict region in the target-side file,
/// in order, from a diff3 merge result.
pub fn ours_ranges(merged: &[u8]) -> Vec<(usize, usize)> {
    let Ok(text) = std::str::from_utf8(merged) else {
        return Vec::new();
    };
    let Some(segments) = diff3::parse(text) else {
        return Vec::new();
    };
    let mut line = 1;
    let mut out = Vec::new();
    for seg in segments {
        match seg {
            Segment::Plain(l) => line += l.len(),
            Segment::Conflict(r) => {
                // A region the target emptied is attributed through the line after it.
                out.push((line, r.ours.len().max(1)));
                line += r.ours.len();
            }
        }
    }
    out
}

/// `short-id subject` of the commits in `since..tip` that changed lines `start..start+len` of
/// `path` as it is at `tip`, newest first, without the `skip` commits (the queue's own ported
/// commits). Best effort: a failing log (range past the end, no history) names nobody.
pub fn culprits(
    git_dir: &Path,
    tip: &str,
    since: &str,
    path: &str,
    (start, len): (usize, usize),
    skip: &[String],
) -> Vec<Culprit> {
    let range = format!("-L{start},{}:{path}", start + len - 1);
    let not = format!("^{since}");
    let Ok(out) = Git::new(git_dir).run([
        "log",
        "-s",
        "--format=%H %s",
        range.as_str(),
        tip,
        not.as_str(),
    ]) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(id, _)| !skip.iter().any(|s| s == id))
        .map(|(id, subject)| format!("{} {subject}", &id[..12.min(id.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_count_only_target_lines() {
        let t = "a\n<<<<<<< o\nx\ny\n||||||| b\nq\n=======\nz\n>>>>>>> t\nc\n<<<<<<< o\n||||||| b\nw\n=======\n>>>>>>> t\nd\n";
        assert_eq!(ours_ranges(t.as_bytes()), [(2, 2), (5, 1)]);
    }
}
