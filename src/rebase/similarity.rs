//! How much of a file survives in another: the measure both rename detection in a commit and
//! the search for a file the target moved go by.

/// Share of `old`'s lines found unchanged in `new` (order-aware, via a line diff).
pub fn similarity(old: &str, new: &str) -> f32 {
    let diff = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_millis(500))
        .diff_lines(old, new);
    let total = old.lines().count().max(1);
    let kept: usize = diff
        .ops()
        .iter()
        .filter_map(|op| match op {
            similar::DiffOp::Equal { len, .. } => Some(*len),
            _ => None,
        })
        .sum();
    kept as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_counts_kept_lines() {
        assert_eq!(similarity("a\nb\nc\nd\n", "a\nb\nc\nd\n"), 1.0);
        assert_eq!(similarity("a\nb\nc\nd\n", "a\nX\nc\nY\n"), 0.5);
        assert!(similarity("a\nb\n", "x\ny\n") < 0.01);
    }
}
