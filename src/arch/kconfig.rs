//! A small Kconfig reader: enough structure to find a `config` block, its `select` lines
//! and top-level `source` lines, to insert new ones in the right place, and to refuse a
//! file whose block structure is broken (unbalanced `menu`/`if`/`choice`).

use std::fmt;

/// One `config`/`menuconfig` entry with the lines it spans (1-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigBlock {
    pub name: String,
    /// Line of the `config NAME` keyword.
    pub start: usize,
    /// Last line that belongs to the block (attributes and help text).
    pub end: usize,
    pub selects: Vec<Select>,
}

/// A `select SYMBOL [if COND]` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    pub symbol: String,
    pub condition: Option<String>,
    pub line: usize,
}

/// A `source` directive (the kernel's kconfig has no osource/rsource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: String,
    pub line: usize,
}

#[derive(Debug, Default, Clone)]
pub struct KconfigFile {
    pub configs: Vec<ConfigBlock>,
    pub sources: Vec<Source>,
    pub lines: usize,
}

/// A structural error, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KconfigError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for KconfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

const ENTRY_KEYWORDS: &[&str] = &[
    "config",
    "menuconfig",
    "choice",
    "endchoice",
    "menu",
    "endmenu",
    "if",
    "endif",
    "source",
    "comment",
    "mainmenu",
];

const ATTRIBUTE_KEYWORDS: &[&str] = &[
    "bool",
    "tristate",
    "string",
    "hex",
    "int",
    "def_bool",
    "def_tristate",
    "def_int",
    "def_hex",
    "def_string",
    "prompt",
    "default",
    "depends",
    "select",
    "imply",
    "visible",
    "range",
    "option",
    "modules",
    "transitional",
    "optional",
];

fn first_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

fn strip_comment(line: &str) -> &str {
    // A '#' outside quotes starts a comment.
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

fn indent_width(line: &str) -> usize {
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

/// Parse Kconfig text. Help text is skipped by indentation, as kconfig itself does.
pub fn parse(text: &str) -> Result<KconfigFile, KconfigError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut file = KconfigFile {
        lines: lines.len(),
        ..Default::default()
    };
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut current: Option<ConfigBlock> = None;
    let mut in_entry = false; // inside config/choice/menu/comment attributes
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        // Join backslash continuations.
        let mut logical = lines[i].to_string();
        let mut last = i;
        while logical.trim_end().ends_with('\\') && last + 1 < lines.len() {
            let trimmed = logical.trim_end();
            logical = format!(
                "{} {}",
                &trimmed[..trimmed.len() - 1],
                lines[last + 1].trim()
            );
            last += 1;
        }
        let code = strip_comment(&logical).trim().to_string();
        i = last + 1;
        if code.is_empty() {
            continue;
        }
        let kw_owned = first_word(&code).to_string();
        let kw = kw_owned.as_str();
        if kw == "help" || kw == "---help---" {
            // Help text: every following line indented more than the first help line, or blank.
            let mut help_indent: Option<usize> = None;
            while i < lines.len() {
                let l = lines[i];
                if l.trim().is_empty() {
                    i += 1;
                    continue;
                }
                let w = indent_width(l);
                match help_indent {
                    None => help_indent = Some(w),
                    Some(h) if w < h => break,
                    _ => {}
                }
                if w == 0 {
                    break;
                }
                i += 1;
            }
            if let Some(block) = current.as_mut() {
                block.end = i.max(block.end);
                // Trailing blank lines are not part of the block.
                while block.end > block.start && lines[block.end - 1].trim().is_empty() {
                    block.end -= 1;
                }
            }
            continue;
        }
        if ENTRY_KEYWORDS.contains(&kw) {
            if let Some(block) = current.take() {
                file.configs.push(block);
            }
            in_entry = false;
            let rest = code[kw.len()..].trim();
            match kw {
                "config" | "menuconfig" => {
                    if rest.is_empty() || rest.contains(char::is_whitespace) {
                        return Err(KconfigError {
                            line: lineno,
                            message: format!("`{kw}` needs exactly one symbol name"),
                        });
                    }
                    current = Some(ConfigBlock {
                        name: rest.to_string(),
                        start: lineno,
                        end: last + 1,
                        selects: Vec::new(),
                    });
                    in_entry = true;
                }
                "choice" | "menu" | "if" => {
                    stack.push((kw.to_string(), lineno));
                    in_entry = kw != "if";
                }
                "endchoice" | "endmenu" | "endif" => {
                    let want = &kw[3..];
                    match stack.pop() {
                        Some((open, _)) if open == want => {}
                        Some((open, at)) => {
                            return Err(KconfigError {
                                line: lineno,
                                message: format!("`{kw}` closes `{open}` opened at line {at}"),
                            })
                        }
                        None => {
                            return Err(KconfigError {
                                line: lineno,
                                message: format!("`{kw}` without a matching `{want}`"),
                            })
                        }
                    }
                }
                "source" => {
                    let path = rest.trim_matches('"').to_string();
                    if path.is_empty() {
                        return Err(KconfigError {
                            line: lineno,
                            message: "`source` needs a path".into(),
                        });
                    }
                    file.sources.push(Source { path, line: lineno });
                }
                _ => in_entry = true, // comment, mainmenu take attributes
            }
            continue;
        }
        if ATTRIBUTE_KEYWORDS.contains(&kw) {
            if !in_entry {
                return Err(KconfigError {
                    line: lineno,
                    message: format!("attribute `{kw}` outside of any entry"),
                });
            }
            if let Some(block) = current.as_mut() {
                block.end = last + 1;
                if kw == "select" {
                    let rest = code[kw.len()..].trim();
                    let (symbol, condition) = match rest.split_once(" if ") {
                        Some((s, c)) => (s.trim(), Some(c.trim().to_string())),
                        None => (rest, None),
                    };
                    block.selects.push(Select {
                        symbol: symbol.to_string(),
                        condition,
                        line: lineno,
                    });
                }
            }
            continue;
        }
        return Err(KconfigError {
            line: lineno,
            message: format!("unknown keyword `{kw}`"),
        });
    }
    if let Some(block) = current.take() {
        file.configs.push(block);
    }
    if let Some((open, at)) = stack.pop() {
        return Err(KconfigError {
            line: at,
            message: format!("`{open}` is never closed"),
        });
    }
    Ok(file)
}

impl KconfigFile {
    pub fn config(&self, name: &str) -> Option<&ConfigBlock> {
        self.configs.iter().find(|c| c.name == name)
    }

    pub fn source(&self, path: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.path == path)
    }
}

/// Where to insert `select SYMBOL` into a block: before the first select that sorts after
/// it (kernel arch Kconfigs keep their selects sorted), else after the last select, else
/// right after the `config` line. Returns the 0-based line index to insert at.
pub fn select_insert_index(block: &ConfigBlock, symbol: &str) -> usize {
    if let Some(next) = block.selects.iter().find(|s| s.symbol.as_str() > symbol) {
        return next.line - 1;
    }
    match block.selects.last() {
        Some(last) => last.line,
        None => block.start,
    }
}

/// The indentation the block's attributes use (tab by default).
pub fn attribute_indent(text: &str, block: &ConfigBlock) -> String {
    text.lines()
        .skip(block.start)
        .take(block.end.saturating_sub(block.start))
        .find(|l| !l.trim().is_empty())
        .map(|l| l[..l.len() - l.trim_start().len()].to_string())
        .unwrap_or_else(|| "\t".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment
config FOO
\tdef_bool y
\tselect ALPHA
\tselect GAMMA if BAR
\thelp
\t  Some help text
\t  with config words in it.

config BAR
\tbool \"bar\"

menu \"Stuff\"
source \"kernel/Kconfig.x\"
if FOO
config BAZ
\tbool
endif
endmenu
";

    #[test]
    fn parses_blocks_selects_and_sources() {
        let f = parse(SAMPLE).unwrap();
        let foo = f.config("FOO").unwrap();
        assert_eq!(foo.start, 2);
        assert_eq!(foo.end, 8);
        assert_eq!(foo.selects.len(), 2);
        assert_eq!(foo.selects[1].condition.as_deref(), Some("BAR"));
        assert_eq!(f.source("kernel/Kconfig.x").unwrap().line, 14);
        assert!(f.config("BAZ").is_some());
    }

    #[test]
    fn insertion_keeps_selects_sorted() {
        let f = parse(SAMPLE).unwrap();
        let foo = f.config("FOO").unwrap();
        assert_eq!(select_insert_index(foo, "BETA"), 4); // before GAMMA (line 5)
        assert_eq!(select_insert_index(foo, "ZETA"), 5); // after GAMMA
        assert_eq!(select_insert_index(foo, "AARDVARK"), 3);
        assert_eq!(attribute_indent(SAMPLE, foo), "\t");
    }

    #[test]
    fn rejects_broken_structure() {
        let e = parse("menu \"x\"\nconfig A\n\tbool\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("config A\n\tbool\nendif\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("\tselect X\n").unwrap_err();
        assert!(e.message.contains("outside"));
        let e = parse("frobnicate X\n").unwrap_err();
        assert!(e.message.contains("unknown keyword"));
    }

    #[test]
    fn parses_real_arch_kconfigs() {
        // The real tree is checked in tests/arch_*.rs; here a continuation line.
        let f = parse("config A\n\tbool\n\tdepends on B && \\\n\t\tC\n").unwrap();
        assert_eq!(f.config("A").unwrap().end, 4);
    }
}
