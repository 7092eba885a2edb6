//! The Kconfig reader: a Kconfig file as its statements, with what makes the language awkward
//! to read line by line handled once: `#` comments (outside quotes), lines continued with a
//! trailing backslash, and help text, which is free prose ("if you say Y here...") ending
//! where the indentation falls back.

use std::path::Path;

/// One statement: a keyword and the rest of its (joined, comment-free, trimmed) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub keyword: String,
    pub rest: String,
    /// 1-based line of the keyword.
    pub line: usize,
    /// 1-based last line of the statement: its last continuation line or, for `help`, the
    /// last non-blank line of the help text.
    pub last: usize,
    /// Indentation of the keyword's line (a tab counts to the next multiple of 8).
    pub indent: usize,
}

impl Statement {
    pub fn is_help(&self) -> bool {
        self.keyword == "help" || self.keyword == "---help---"
    }
}

/// The statements of a Kconfig text; bytes that are not UTF-8 are read as U+FFFD.
pub fn statements(text: &[u8]) -> Vec<Statement> {
    let lines: Vec<String> = text
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect();
    // A final newline does not start a line.
    let count = match lines.last() {
        Some(l) if l.is_empty() => lines.len() - 1,
        _ => lines.len(),
    };
    let lines = &lines[..count];
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = i;
        let mut logical = lines[i].clone();
        while logical.trim_end().ends_with('\\') {
            let kept = logical.trim_end().len() - 1;
            logical.truncate(kept);
            let kept = logical.trim_end().len();
            logical.truncate(kept);
            // A backslash on the last line continues nothing.
            let Some(next) = lines.get(i + 1) else { break };
            logical.push(' ');
            logical.push_str(next.trim());
            i += 1;
        }
        i += 1;
        let code = strip_comment(&logical).trim();
        if code.is_empty() {
            continue;
        }
        let (keyword, rest) = code.split_once(char::is_whitespace).unwrap_or((code, ""));
        let mut statement = Statement {
            keyword: keyword.to_string(),
            rest: rest.trim().to_string(),
            line: first + 1,
            last: i,
            indent: indent_width(&lines[first]),
        };
        if statement.is_help() {
            // The text runs while lines are blank or indented at least as much as its first
            // line (and are indented at all).
            let mut text_indent: Option<usize> = None;
            while i < lines.len() {
                let l = &lines[i];
                if l.trim().is_empty() {
                    i += 1;
                    continue;
                }
                let w = indent_width(l);
                if w == 0 || text_indent.is_some_and(|h| w < h) {
                    break;
                }
                text_indent.get_or_insert(w);
                i += 1;
                statement.last = i;
            }
        }
        out.push(statement);
    }
    out
}

/// The line without its `#` comment; a `#` inside quotes is text.
pub fn strip_comment(line: &str) -> &str {
    let mut in_quote = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '#' if !in_quote => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Width of a line's indentation, a tab reaching the next multiple of 8.
pub fn indent_width(line: &str) -> usize {
    let mut w = 0;
    for c in line.chars() {
        match c {
            ' ' => w += 1,
            '\t' => w = (w / 8 + 1) * 8,
            _ => break,
        }
    }
    w
}

/// Whether `path` names a Kconfig file (`Kconfig`, `Kconfig.debug`, `arch/x86/Kconfig.cpu`...).
pub fn is_kconfig_path(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|f| f.starts_with("Kconfig"))
}

/// A kernel source tree: its root holds the top-level `Kconfig` and the `arch/` folder.
pub fn is_kernel_tree(root: &Path) -> bool {
    root.join("Kconfig").is_file() && root.join("arch").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[u8]) -> Vec<(String, String, usize, usize)> {
        statements(text)
            .into_iter()
            .map(|s| (s.keyword, s.rest, s.line, s.last))
            .collect()
    }

    fn w(k: &str, r: &str, line: usize, last: usize) -> (String, String, usize, usize) {
        (k.into(), r.into(), line, last)
    }

    #[test]
    fn comments_continuations_and_help() {
        let text = b"# a comment\nconfig FOO\n\tbool \"say # not a comment\" # but this is\n\tdepends on A && \\\n\t\tB\n\thelp\n\t  If you say Y here, config BAR\n\n\t    is not read.\n\nendmenu\n";
        assert_eq!(
            words(text),
            vec![
                w("config", "FOO", 2, 2),
                w("bool", "\"say # not a comment\"", 3, 3),
                w("depends", "on A && B", 4, 5),
                w("help", "", 6, 9),
                w("endmenu", "", 11, 11),
            ]
        );
    }

    #[test]
    fn help_ends_where_the_indentation_falls_back() {
        let text = b"config A\n\thelp\n\t  text\n\tdefault y\nconfig B\n";
        assert_eq!(
            words(text),
            vec![
                w("config", "A", 1, 1),
                w("help", "", 2, 3),
                w("default", "y", 4, 4),
                w("config", "B", 5, 5),
            ]
        );
        // Help text at column 0 is no help text.
        assert_eq!(words(b"help\nconfig C")[1], w("config", "C", 2, 2));
    }

    #[test]
    fn edges_non_utf8_and_crlf() {
        assert!(statements(b"").is_empty());
        assert!(statements(b"\n\n# only\n").is_empty());
        // A continuation on the very last line, and no final newline.
        assert_eq!(words(b"select X \\"), vec![w("select", "X", 1, 1)]);
        assert_eq!(
            words(b"config A\r\n\tprompt \"caf\xe9\"\r\n"),
            vec![w("config", "A", 1, 1), w("prompt", "\"caf\u{fffd}\"", 2, 2)]
        );
        let s = &statements(b"\tconfig Z\n")[0];
        assert_eq!(s.indent, 8);
    }

    #[test]
    fn a_kernel_tree_has_a_kconfig_and_arch() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_kernel_tree(dir.path()));
        std::fs::write(dir.path().join("Kconfig"), "mainmenu \"x\"\n").unwrap();
        assert!(!is_kernel_tree(dir.path()));
        std::fs::create_dir(dir.path().join("arch")).unwrap();
        assert!(is_kernel_tree(dir.path()));
    }

    #[test]
    fn kconfig_file_names() {
        for (path, is) in [
            ("drivers/media/Kconfig", true),
            ("kernel/Kconfig.preempt", true),
            ("Kconfig", true),
            ("drivers/Kconfig/x.c", false),
            ("Makefile", false),
        ] {
            assert_eq!(is_kconfig_path(path), is, "{path}");
        }
    }
}
