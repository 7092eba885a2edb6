//! Shell quoting for the script lines of emitted pipelines: each word is one argument, so
//! nothing a user configured is read by the runner's shell as syntax.

/// Quotes one shell word (the CI runs script lines through a shell).
pub fn sh_quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// Quotes one word so that CI variables in it (`$VAR`, `${VAR}`) still expand and nothing
/// else does: double quotes, with command substitution refused to single quotes.
pub fn sh_quote_vars(w: &str) -> String {
    if !w.contains('$') || w.contains("$(") || w.contains(['`', '\\', '"']) {
        return sh_quote(w);
    }
    format!("\"{w}\"")
}

/// One script line: each word quoted, CI variables left to expand.
pub fn sh_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| sh_quote_vars(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(sh_quote("tinyconfig"), "tinyconfig");
        assert_eq!(
            sh_quote("evl test -k; echo 'x'"),
            "'evl test -k; echo '\\''x'\\'''"
        );
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn ci_variables_expand_and_nothing_else() {
        assert_eq!(
            sh_quote_vars("lab:/srv/${CI_PIPELINE_ID}/x/"),
            "\"lab:/srv/${CI_PIPELINE_ID}/x/\""
        );
        assert_eq!(sh_quote_vars("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(sh_quote_vars("`id`$X"), "'`id`$X'");
        assert_eq!(sh_quote_vars("a b"), "'a b'");
    }
}
