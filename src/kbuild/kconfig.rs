//! Just enough Kconfig reading to say *why* an option was dropped: where the symbol is
//! defined, what it depends on (its own `depends on` plus enclosing `if`/`menu` blocks), and
//! which of those dependencies the final `.config` does not meet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::syntax::kconfig::statements;

/// One definition of a symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub file: PathBuf,
    pub line: usize,
    /// Dependency expressions, each with where it comes from (`depends on`, `if` block...).
    pub depends: Vec<(String, String)>,
    /// Whether the user can set it (has a prompt); if not, only `select` turns it on.
    pub has_prompt: bool,
}

#[derive(Clone)]
enum Frame {
    If(String, String),
    Menu(Vec<(String, String)>),
    Choice(Vec<(String, String)>),
}

/// Finds every definition of `symbol` reachable from the tree's top-level Kconfig for
/// `srcarch` (the arch/ directory name).
pub fn find_definitions(tree: &Path, srcarch: &str, symbol: &str) -> Vec<Definition> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut visited = 0usize;
    scan(
        tree,
        Path::new("Kconfig"),
        srcarch,
        symbol,
        &mut stack,
        &mut out,
        &mut visited,
    );
    out
}

fn scan(
    tree: &Path,
    rel: &Path,
    srcarch: &str,
    symbol: &str,
    stack: &mut Vec<Frame>,
    out: &mut Vec<Definition>,
    visited: &mut usize,
) {
    *visited += 1;
    if *visited > 5000 {
        return;
    }
    let Ok(text) = std::fs::read(tree.join(rel)) else {
        return;
    };
    let shown = rel.to_path_buf();
    // The entry being read: Some(index in out) when it is a definition of `symbol`.
    let mut current: Option<usize> = None;
    // `menu`/`choice` collect their own `depends on` lines right after the keyword.
    let mut block_deps = false;
    for st in statements(&text) {
        let i = st.line - 1;
        let (word, rest) = (st.keyword.as_str(), st.rest.as_str());
        match word {
            "config" | "menuconfig" => {
                block_deps = false;
                current = None;
                if rest == symbol {
                    let mut depends = Vec::new();
                    for frame in stack.iter() {
                        match frame {
                            Frame::If(e, at) => depends.push((e.clone(), at.clone())),
                            Frame::Menu(d) | Frame::Choice(d) => depends.extend(d.iter().cloned()),
                        }
                    }
                    out.push(Definition {
                        file: shown.clone(),
                        line: i + 1,
                        depends,
                        has_prompt: false,
                    });
                    current = Some(out.len() - 1);
                }
            }
            "if" => {
                current = None;
                block_deps = false;
                stack.push(Frame::If(
                    rest.to_string(),
                    format!("`if` at {}:{}", shown.display(), i + 1),
                ));
            }
            "endif" | "endmenu" | "endchoice" => {
                current = None;
                block_deps = false;
                stack.pop();
            }
            "menu" => {
                current = None;
                block_deps = true;
                stack.push(Frame::Menu(Vec::new()));
            }
            "choice" => {
                current = None;
                block_deps = true;
                stack.push(Frame::Choice(Vec::new()));
            }
            "comment" | "mainmenu" => {
                current = None;
                block_deps = false;
            }
            "source" | "rsource" | "osource" | "orsource" => {
                current = None;
                block_deps = false;
                let target = rest.trim_matches('"').replace("$(SRCARCH)", srcarch);
                let path = if word.starts_with('r') || word == "orsource" {
                    rel.parent().unwrap_or(Path::new("")).join(&target)
                } else {
                    PathBuf::from(target)
                };
                if path.to_string_lossy().contains('*') {
                    continue;
                }
                scan(tree, &path, srcarch, symbol, stack, out, visited);
            }
            "depends" => {
                let expr = rest.strip_prefix("on").unwrap_or(rest).trim().to_string();
                let at = format!("{}:{}", shown.display(), i + 1);
                if let Some(idx) = current {
                    out[idx]
                        .depends
                        .push((expr, format!("`depends on` at {at}")));
                } else if block_deps {
                    if let Some(Frame::Menu(d) | Frame::Choice(d)) = stack.last_mut() {
                        d.push((expr, format!("enclosing menu's `depends on` at {at}")));
                    }
                }
            }
            "bool" | "tristate" | "string" | "int" | "hex" | "prompt" => {
                if let Some(idx) = current {
                    if rest.starts_with('"') || word == "prompt" {
                        // `bool "text" if COND` makes the prompt conditional: a dependency
                        // for setting it from a fragment.
                        out[idx].has_prompt = true;
                        if let Some((_, cond)) = rest.rsplit_once("\" if ") {
                            out[idx].depends.push((
                                cond.trim().to_string(),
                                format!("prompt condition at {}:{}", shown.display(), i + 1),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Tristate value of an expression: 0 = n, 1 = m, 2 = y.
pub fn eval(expr: &str, values: &BTreeMap<String, String>) -> u8 {
    let tokens = tokenize(expr);
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        values,
    };
    p.or()
}

/// The symbols an expression mentions, with their current value.
pub fn symbols_in(expr: &str, values: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = tokenize(expr)
        .into_iter()
        .filter(|t| {
            t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        })
        .filter(|t| !matches!(t.as_str(), "y" | "m" | "n"))
        .map(|t| {
            let v = values.get(&t).cloned().unwrap_or_else(|| "n".into());
            (t, v)
        })
        .collect();
    out.dedup();
    out
}

fn tokenize(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if i + 1 < chars.len()
            && matches!(
                (c, chars[i + 1]),
                ('&', '&') | ('|', '|') | ('!', '=') | ('<', '=') | ('>', '=')
            )
        {
            out.push(chars[i..i + 2].iter().collect());
            i += 2;
        } else if matches!(c, '(' | ')' | '!' | '=' | '<' | '>') {
            out.push(c.to_string());
            i += 1;
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            i += 1;
            out.push(chars[start..i.min(chars.len())].iter().collect());
        } else {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-' | '.' | '$'))
            {
                i += 1;
            }
            if start == i {
                i += 1;
                continue;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    out
}

struct Parser<'a> {
    tokens: &'a [String],
    pos: usize,
    values: &'a BTreeMap<String, String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }
    fn next(&mut self) -> Option<&str> {
        self.pos += 1;
        self.tokens.get(self.pos - 1).map(String::as_str)
    }
    fn or(&mut self) -> u8 {
        let mut v = self.and();
        while self.peek() == Some("||") {
            self.pos += 1;
            v = v.max(self.and());
        }
        v
    }
    fn and(&mut self) -> u8 {
        let mut v = self.not();
        while self.peek() == Some("&&") {
            self.pos += 1;
            v = v.min(self.not());
        }
        v
    }
    fn not(&mut self) -> u8 {
        if self.peek() == Some("!") {
            self.pos += 1;
            return 2 - self.not();
        }
        self.primary()
    }
    fn raw_value(&self, tok: &str) -> String {
        if tok.starts_with('"') {
            return tok.trim_matches('"').to_string();
        }
        match tok {
            "y" | "m" | "n" => tok.to_string(),
            _ => match self.values.get(tok) {
                Some(v) => v.trim_matches('"').to_string(),
                // An unknown word is a constant (numbers); an unset symbol is n.
                None if tok.chars().all(|c| c.is_ascii_digit()) => tok.to_string(),
                None => "n".to_string(),
            },
        }
    }
    fn primary(&mut self) -> u8 {
        let Some(tok) = self.next().map(str::to_string) else {
            return 0;
        };
        if tok == "(" {
            let v = self.or();
            if self.peek() == Some(")") {
                self.pos += 1;
            }
            return v;
        }
        if let Some(op) = self
            .peek()
            .filter(|o| matches!(*o, "=" | "!=" | "<" | "<=" | ">" | ">="))
            .map(str::to_string)
        {
            self.pos += 1;
            let rhs = self.next().map(str::to_string).unwrap_or_default();
            let (a, b) = (self.raw_value(&tok), self.raw_value(&rhs));
            let ord = match (a.parse::<i64>(), b.parse::<i64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => a.cmp(&b),
            };
            let t = match op.as_str() {
                "=" => ord.is_eq(),
                "!=" => !ord.is_eq(),
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                ">" => ord.is_gt(),
                _ => ord.is_ge(),
            };
            return if t { 2 } else { 0 };
        }
        match self.raw_value(&tok).as_str() {
            "y" => 2,
            "m" => 1,
            _ => 0,
        }
    }
}

/// A human explanation of why `symbol` did not get the wanted value.
pub fn explain(
    tree: &Path,
    srcarch: &str,
    symbol: &str,
    values: &BTreeMap<String, String>,
) -> String {
    let defs = find_definitions(tree, srcarch, symbol);
    if defs.is_empty() {
        return format!(
            "no Kconfig file of this tree defines {symbol} for ARCH={srcarch} (is the patch queue that adds it applied, and does this architecture support it?)"
        );
    }
    let mut reasons = Vec::new();
    for def in &defs {
        let unmet: Vec<String> = def
            .depends
            .iter()
            .filter(|(e, _)| eval(e, values) == 0)
            .map(|(e, at)| {
                let syms: Vec<String> = symbols_in(e, values)
                    .into_iter()
                    .map(|(s, v)| format!("{s}={v}"))
                    .collect();
                format!("unmet dependency `{e}` ({at}; {})", syms.join(", "))
            })
            .collect();
        if !unmet.is_empty() {
            reasons.push(format!(
                "defined at {}:{}: {}",
                def.file.display(),
                def.line,
                unmet.join("; ")
            ));
        } else if !def.has_prompt {
            reasons.push(format!(
                "defined at {}:{} without a prompt: only a `select` from another option can turn it on",
                def.file.display(),
                def.line
            ));
        } else {
            reasons.push(format!(
                "defined at {}:{}; its dependencies are met, so a `select`, a choice or a range overrode it",
                def.file.display(),
                def.line
            ));
        }
    }
    reasons.join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn expressions() {
        let v = vals(&[("A", "y"), ("B", "m"), ("N", "5"), ("S", "\"abc\"")]);
        assert_eq!(eval("A && B", &v), 1);
        assert_eq!(eval("A && !C", &v), 2);
        assert_eq!(eval("C || (A && B)", &v), 1);
        assert_eq!(eval("N >= 4 && S = \"abc\"", &v), 2);
        assert_eq!(eval("!A", &v), 0);
        assert_eq!(eval("B != y", &v), 2);
    }

    #[test]
    fn finds_deps_through_source_if_and_menu() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        std::fs::create_dir_all(t.join("lib")).unwrap();
        std::fs::create_dir_all(t.join("arch/x86")).unwrap();
        std::fs::write(
            t.join("Kconfig"),
            "mainmenu \"x\"\nsource \"arch/$(SRCARCH)/Kconfig\"\nmenu \"Testing\"\n\tdepends on DEBUG\nif RUNTIME_TESTING\nsource \"lib/Kconfig\"\nendif\nendmenu\n",
        )
        .unwrap();
        std::fs::write(t.join("arch/x86/Kconfig"), "config X86\n\tdef_bool y\n").unwrap();
        std::fs::write(
            t.join("lib/Kconfig"),
            "config LIST_TEST\n\ttristate \"list\" if !ALL\n\tdepends on KUNIT\n\thelp\n\t  if you say Y\n\n\t  more text\nconfig OTHER\n\tbool\n",
        )
        .unwrap();
        let defs = find_definitions(t, "x86", "LIST_TEST");
        assert_eq!(defs.len(), 1);
        let exprs: Vec<&str> = defs[0].depends.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(exprs, vec!["DEBUG", "RUNTIME_TESTING", "!ALL", "KUNIT"]);
        let v = vals(&[("DEBUG", "y"), ("KUNIT", "y")]);
        let why = explain(t, "x86", "LIST_TEST", &v);
        assert!(why.contains("unmet dependency `RUNTIME_TESTING`"), "{why}");
        assert!(why.contains("RUNTIME_TESTING=n"), "{why}");
        assert!(!why.contains("`KUNIT`"), "{why}");
        let why = explain(t, "x86", "EVL", &v);
        assert!(
            why.contains("no Kconfig file of this tree defines EVL"),
            "{why}"
        );
    }
}
