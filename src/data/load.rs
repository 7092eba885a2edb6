//! Reading a data file (TOML or JSON) into a type, with errors that name the file, the line
//! and the field, and say what to do. Every data type a user or the project writes rejects
//! unknown fields, so a misspelled key is an error here instead of a setting silently ignored.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A data file that could not be read or does not fit its type.
#[derive(Debug, thiserror::Error)]
pub enum DataFileError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}{}: {message}; {hint}", path.display(), place(*line, *column))]
    Invalid {
        path: PathBuf,
        /// 1-based; `None` when the parser gave no position.
        line: Option<usize>,
        column: Option<usize>,
        /// The parser's words, naming the field (`unknown field `pth`, expected `path``).
        message: String,
        /// What to do about it.
        hint: &'static str,
    },
}

impl DataFileError {
    pub fn path(&self) -> &Path {
        match self {
            DataFileError::Read { path, .. } | DataFileError::Invalid { path, .. } => path,
        }
    }

    /// The 1-based line the error points at, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            DataFileError::Invalid { line, .. } => *line,
            DataFileError::Read { .. } => None,
        }
    }
}

fn place(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn read(path: &Path) -> Result<String, DataFileError> {
    std::fs::read_to_string(path).map_err(|source| DataFileError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the TOML file at `path` into `T`.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T, DataFileError> {
    parse_toml(path, &read(path)?)
}

/// Reads the JSON file at `path` into `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, DataFileError> {
    parse_json(path, &read(path)?)
}

/// Parses `text`, the contents of the TOML file `path` (named in errors only), into `T`.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, DataFileError> {
    toml::from_str(text).map_err(|e| {
        // Syntax errors may say what was expected on a second line: keep the error one line.
        let message = e.message().trim().replace('\n', "; ");
        let at = e.span().map(|span| {
            // A table's error (an unknown field of a tagged check) spans the whole table:
            // point at the field's own line when it is in there.
            let start = named_key(&message)
                .and_then(|key| key_line_in(text, span.clone(), key))
                .unwrap_or(span.start);
            line_column(text, start)
        });
        DataFileError::Invalid {
            path: path.to_path_buf(),
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            hint: hint(&message),
            message,
        }
    })
}

/// Parses `text`, the contents of the JSON file `path` (named in errors only), into `T`.
pub fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, DataFileError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        DataFileError::Invalid {
            path: path.to_path_buf(),
            line: (line > 0).then_some(line),
            column: (line > 0).then_some(column),
            hint: hint(&message),
            message,
        }
    })
}

/// What to do about a serde or parser message.
fn hint(message: &str) -> &'static str {
    if message.starts_with("unknown field") {
        "fix the field's spelling or remove it (the known fields are listed)"
    } else if message.starts_with("unknown variant") {
        "use one of the listed values"
    } else if message.starts_with("missing field") {
        "add the field"
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        "give the field a value of the expected type"
    } else if message.starts_with("duplicate") {
        "keep one of them"
    } else {
        "fix the file's syntax there"
    }
}

/// The key an `unknown field`/`unknown variant` message names, between its first backquotes.
fn named_key(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    rest.split('`').next().filter(|k| !k.is_empty())
}

/// The byte offset of the line inside `span` that assigns `key` (`key = ...`), or that gives
/// `key` as a value (`kind = "key"`), if there is one.
fn key_line_in(text: &str, span: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (start, end) = (span.start.min(bytes.len()), span.end.min(bytes.len()));
    let mut offset = start;
    for line in bytes[start..end].split(|&b| b == b'\n') {
        let trimmed = line.trim_ascii_start();
        let assigns = trimmed
            .strip_prefix(key.as_bytes())
            .is_some_and(|rest| matches!(rest.trim_ascii_start().first(), Some(b'=' | b'.')));
        let quoted = format!("\"{key}\"");
        let names = trimmed
            .windows(quoted.len())
            .any(|w| w == quoted.as_bytes());
        if assigns || names {
            return Some(offset + (line.len() - trimmed.len()));
        }
        offset += line.len() + 1;
    }
    None
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let line_start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    // Count characters, not bytes: UTF-8 continuation bytes are 0b10xx_xxxx.
    let column = bytes[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

/// For the tests of each data file's reader.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    /// A copy of the shipped data file `rel` at the same place under a temporary folder, its
    /// first `from` replaced by `to`: the folder, the copy's path, the changed line (1-based).
    pub fn misspelled(rel: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf, usize) {
        let text = std::fs::read_to_string(crate::data::file(rel)).unwrap();
        let at = text
            .find(from)
            .unwrap_or_else(|| panic!("no `{from}` in {rel}"));
        let line = text[..at].matches('\n').count()
            + 1
            + from[..from.len() - from.trim_start().len()]
                .matches('\n')
                .count();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        (tmp, path, line)
    }

    /// `err` names `path:line:`, the misspelled `field`, and what to do.
    pub fn assert_points_at(err: &dyn std::fmt::Display, path: &Path, line: usize, field: &str) {
        let e = err.to_string();
        assert!(e.contains(&format!("{}:{line}:", path.display())), "{e}");
        assert!(e.contains(&format!("unknown field `{field}`")), "{e}");
        assert!(e.contains("fix the field's spelling or remove it"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Step {
        #[allow(dead_code)]
        id: String,
        #[serde(default, rename = "check")]
        checks: Vec<Check>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
    enum Check {
        File {
            #[allow(dead_code)]
            path: String,
        },
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct List {
        #[serde(rename = "step")]
        steps: Vec<Step>,
    }

    fn err(text: &str) -> DataFileError {
        parse_toml::<List>(Path::new("steps.toml"), text).unwrap_err()
    }

    #[test]
    fn an_unknown_field_of_a_tagged_table_points_at_its_own_line() {
        let e = err("[[step]]\nid = \"a\"\n[[step.check]]\nkind = \"file\"\n  pth = \"x\"\n");
        assert_eq!(e.line(), Some(5));
        assert_eq!(
            e.to_string(),
            "steps.toml:5:3: unknown field `pth`, expected `path`; fix the field's spelling or \
             remove it (the known fields are listed)"
        );
        let e = err("[[step]]\nid = \"a\"\n[[step.check]]\npath = \"x\"\nkind = \"fil\"\n");
        assert_eq!(e.line(), Some(5), "{e}");
        assert!(
            e.to_string().contains("use one of the listed values"),
            "{e}"
        );
    }

    #[test]
    fn syntax_and_type_errors_keep_the_parser_position() {
        let e = err("[[step]]\nid = 3\n");
        assert_eq!(e.to_string(), "steps.toml:2:6: invalid type: integer `3`, expected a string; give the field a value of the expected type");
        let e = err("[[step]]\nid = \"é\n");
        assert_eq!(e.line(), Some(2));
        let e = err("[[step]\nid = \"a\"\n").to_string();
        assert!(e.starts_with("steps.toml:1:") && !e.contains('\n'), "{e}");
        let e = err("[[step]]\n[[step.check]]\nkind = \"file\"\n");
        assert!(e.to_string().contains("missing field"), "{e}");
        let ok = parse_toml::<List>(Path::new("x"), "[[step]]\nid = \"a\"\n").unwrap();
        assert!(ok.steps[0].checks.is_empty());
    }

    #[test]
    fn json_errors_name_line_and_column() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct J {
            #[allow(dead_code)]
            a: u32,
        }
        let e = parse_json::<J>(Path::new("b.json"), "{\n  \"a\": 1,\n  \"b\": 2\n}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.json:3:5: unknown field `b`, expected `a`; fix the field's spelling or remove it \
             (the known fields are listed)"
        );
        let e = read_json::<J>(Path::new("/nonexistent/b.json")).unwrap_err();
        assert!(matches!(e, DataFileError::Read { .. }), "{e}");
    }

    #[test]
    fn positions_count_characters_and_never_split_one() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("x", 99), (1, 2));
        assert_eq!(key_line_in("a\n  b = 1\n", 0..99, "b"), Some(4));
        assert_eq!(key_line_in("a\nbb = 1\n", 0..9, "b"), None);
    }
}
