//! Markdown pieces the reports share: a fenced block that its own text cannot close, and a
//! table cell that its own text cannot split.

/// `text` in a fenced code block with info string `info`: the fence is one backtick longer
/// than the longest run of backticks in `text` (at least three), so a diff or a log line
/// holding a fence cannot end the block early.
pub fn code_block(info: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{info}\n{}\n{fence}", text.trim_end_matches('\n'))
}

/// `text` as one table cell: `|` escaped, line breaks as spaces.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_inside_the_text_does_not_close_the_block() {
        assert_eq!(code_block("diff", "+x\n"), "```diff\n+x\n```");
        let b = code_block("", "a\n```\nb");
        assert!(b.starts_with("````\n") && b.ends_with("\n````"), "{b}");
    }

    #[test]
    fn a_cell_stays_one_cell() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
