//! A small ordered YAML writer for the emitters: block style, keys in the order given, every
//! string double-quoted (JSON escaping is valid YAML), so no value can change type or break
//! the document whatever it contains.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Y>),
    Map(Vec<(String, Y)>),
}

pub fn s(v: impl Into<String>) -> Y {
    Y::Str(v.into())
}

pub fn map(entries: Vec<(&str, Y)>) -> Y {
    Y::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

pub fn list(items: impl IntoIterator<Item = Y>) -> Y {
    Y::List(items.into_iter().collect())
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.');
    if plain
        && !matches!(
            k,
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        )
    {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

/// yamllint's default `line-length`: longer lines are errors.
const MAX_LINE: usize = 80;

/// A scalar's text, or None for a non-empty list or map. Strings are written at column `col`
/// and may continue on further lines indented by `cont`.
fn scalar(v: &Y, col: usize, cont: usize) -> Option<String> {
    match v {
        Y::Str(t) => Some(quoted(t, col, cont)),
        Y::Int(i) => Some(i.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        Y::List(l) if l.is_empty() => Some("[]".into()),
        Y::Map(m) if m.is_empty() => Some("{}".into()),
        _ => None,
    }
}

/// A double-quoted string (JSON escaping), folded with escaped line breaks when it would pass
/// [`MAX_LINE`]: a `\` at the end of a line joins it to the next one with nothing between,
/// and the next line's indentation is not content, so a break may go anywhere outside an
/// escape sequence. A space starting a continuation is written `\ ` so it is kept.
fn quoted(t: &str, col: usize, cont: usize) -> String {
    let json = serde_json::to_string(t).unwrap_or_default();
    let body = &json[1..json.len() - 1];
    // Escape sequences stay whole.
    let mut atoms: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        let len = match c {
            '\\' if rest[1..].starts_with('u') => 6,
            '\\' => 2,
            c => c.len_utf8(),
        };
        let len = len.min(rest.len());
        atoms.push(&rest[..len]);
        rest = &rest[len..];
    }
    let mut out = String::from("\"");
    let mut width = col + 1;
    // Byte offset in `out` just after the last space of the current line, and its width.
    let mut after_space: Option<(usize, usize)> = None;
    for atom in &atoms {
        let need = atom.chars().count() + 1;
        let mut fresh_line = false;
        if out.len() > 1 && width + need > MAX_LINE && cont + 2 + need <= MAX_LINE {
            let break_at = match after_space {
                // Break after a space when one is near, so words stay whole.
                Some((at, w)) if w + 24 >= MAX_LINE && at < out.len() => at,
                _ => out.len(),
            };
            let tail = out.split_off(break_at);
            out.push_str("\\\n");
            out.push_str(&" ".repeat(cont));
            width = cont;
            if tail.starts_with(' ') {
                out.push('\\');
                width += 1;
            }
            width += tail.chars().count();
            fresh_line = tail.is_empty();
            out.push_str(&tail);
            after_space = None;
        }
        if fresh_line && *atom == " " {
            out.push_str("\\ ");
            width += 2;
        } else {
            out.push_str(atom);
            width += atom.chars().count();
        }
        if *atom == " " {
            after_space = Some((out.len(), width));
        }
    }
    out.push('"');
    out
}

fn write(out: &mut String, v: &Y, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Y::Map(m) => {
            for (k, val) in m {
                let k = key(k);
                match scalar(val, indent + k.chars().count() + 2, indent + 2) {
                    Some(sc) => {
                        let _ = writeln!(out, "{pad}{k}: {sc}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}{k}:");
                        // Sequences indented under their key, as yamllint's default wants.
                        write(out, val, indent + 2);
                    }
                }
            }
        }
        Y::List(l) => {
            for item in l {
                match scalar(item, indent + 2, indent + 2) {
                    Some(sc) => {
                        let _ = writeln!(out, "{pad}- {sc}");
                    }
                    None => {
                        // First line of the nested block goes after the dash.
                        let mut inner = String::new();
                        write(&mut inner, item, indent + 2);
                        let trimmed = inner.trim_start_matches(' ');
                        let _ = write!(out, "{pad}- {trimmed}");
                    }
                }
            }
        }
        other => {
            let _ = writeln!(
                out,
                "{pad}{}",
                scalar(other, indent, indent + 2).unwrap_or_default()
            );
        }
    }
}

/// The document text: an optional leading comment block (wrapped to [`MAX_LINE`]), the
/// document start marker, then the document.
pub fn render(v: &Y, comment: &str) -> String {
    let mut out = String::new();
    // Paragraphs (blank-line separated) are re-wrapped as a whole.
    let paragraphs: Vec<String> = comment
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    for (i, l) in paragraphs.iter().enumerate() {
        if i > 0 {
            out.push_str("#\n");
        }
        let mut line = String::from("#");
        for word in l.split(' ') {
            if line.len() > 1 && line.chars().count() + 1 + word.chars().count() > MAX_LINE {
                let _ = writeln!(out, "{line}");
                line = String::from("#");
            }
            line.push(' ');
            line.push_str(word);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str("---\n");
    write(&mut out, v, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lists_and_maps_and_quoting() {
        let doc = map(vec![
            ("a", s("x: \"y\"\n")),
            ("on", Y::Bool(true)),
            (
                "l",
                list([map(vec![("k", Y::Int(1)), ("m", list([s("p")]))]), s("q")]),
            ),
            ("e", list([])),
        ]);
        assert_eq!(
            render(&doc, "hi"),
            "# hi\n---\na: \"x: \\\"y\\\"\\n\"\n\"on\": true\nl:\n  - k: 1\n    m:\n      - \"p\"\n  - \"q\"\ne: []\n"
        );
    }

    #[test]
    fn long_strings_fold_within_the_line_limit() {
        let long = format!(
            "echo {} \"q\" \u{e9}\\  two  spaces{} end",
            "word ".repeat(30),
            "x".repeat(120)
        );
        let doc = map(vec![("script", list([s(long.clone())]))]);
        let text = render(&doc, "");
        for line in text.lines() {
            assert!(line.chars().count() <= MAX_LINE, "{line}");
        }
        assert!(text.lines().count() > 4, "{text}");
        // Undo the folding as a YAML parser does: an escaped break drops the break and the
        // next line's indentation; `\ ` is a space. What is left is the JSON string.
        let body = text.trim_start_matches("---\nscript:\n  - ");
        let lines: Vec<&str> = body.lines().collect();
        let mut joined = String::new();
        for (i, l) in lines.iter().enumerate() {
            let l = if i == 0 { l } else { l.trim_start() };
            let l = if i > 0 && l.starts_with("\\ ") {
                format!(" {}", &l[2..])
            } else {
                l.to_string()
            };
            if i + 1 < lines.len() {
                joined.push_str(l.strip_suffix('\\').unwrap_or_else(|| panic!("{text}")));
            } else {
                joined.push_str(&l);
            }
        }
        let back: String = serde_json::from_str(&joined).unwrap();
        assert_eq!(back, long);
    }
}
