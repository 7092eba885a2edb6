//! A small Kconfig model: enough structure to find a `config` block, its `select` lines
//! and top-level `source` lines, to insert new ones in the right place, and to refuse a
//! file whose block structure is broken (unbalanced `menu`/`if`/`choice`).

use std::fmt;

use crate::syntax::kconfig::statements;

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

/// Parse Kconfig text (read by [`crate::syntax::kconfig`]).
pub fn parse(text: &str) -> Result<KconfigFile, KconfigError> {
    let mut file = KconfigFile {
        lines: text.lines().count(),
        ..Default::default()
    };
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut current: Option<ConfigBlock> = None;
    let mut in_entry = false; // inside config/choice/menu/comment attributes
    for st in statements(text.as_bytes()) {
        let lineno = st.line;
        let kw = st.keyword.as_str();
        let rest = st.rest.as_str();
        if st.is_help() {
            if let Some(block) = current.as_mut() {
                block.end = st.last.max(block.end);
            }
            continue;
        }
        if ENTRY_KEYWORDS.contains(&kw) {
            if let Some(block) = current.take() {
                file.configs.push(block);
            }
            in_entry = false;
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
                        end: st.last,
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
                block.end = st.last;
                if kw == "select" {
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
