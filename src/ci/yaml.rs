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

fn scalar(v: &Y) -> Option<String> {
    match v {
        Y::Str(t) => Some(serde_json::to_string(t).unwrap_or_default()),
        Y::Int(i) => Some(i.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        Y::List(l) if l.is_empty() => Some("[]".into()),
        Y::Map(m) if m.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn write(out: &mut String, v: &Y, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Y::Map(m) => {
            for (k, val) in m {
                match scalar(val) {
                    Some(sc) => {
                        let _ = writeln!(out, "{pad}{}: {sc}", key(k));
                    }
                    None => {
                        let _ = writeln!(out, "{pad}{}:", key(k));
                        let child = if matches!(val, Y::List(_)) {
                            indent
                        } else {
                            indent + 2
                        };
                        write(out, val, child);
                    }
                }
            }
        }
        Y::List(l) => {
            for item in l {
                match scalar(item) {
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
            let _ = writeln!(out, "{pad}{}", scalar(other).unwrap_or_default());
        }
    }
}

/// The document text, with an optional leading comment block.
pub fn render(v: &Y, comment: &str) -> String {
    let mut out = String::new();
    for l in comment.lines() {
        let _ = writeln!(out, "# {l}");
    }
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
            "# hi\na: \"x: \\\"y\\\"\\n\"\n\"on\": true\nl:\n- k: 1\n  m:\n  - \"p\"\n- \"q\"\ne: []\n"
        );
    }
}
