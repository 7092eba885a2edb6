//! Whether the names a placed line uses still exist in the target. A stage that moves the
//! queue's lines to a place git could not find (next to a line the target deleted) only does so
//! when every identifier of those lines resolves: defined in the queue's own lines, in the
//! target's version of the file, or (failing that) in the target tree's headers, the file's
//! directory or a Kconfig file. "Defined" is read line by line from the text (a `#define`, a
//! function head, a declaration, a `config` entry), a deliberately plain check kept behind
//! [`unresolved`] so a real definitions index can replace it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use git2::{Oid, Repository};

use super::Context;
use crate::process::Git;

mod scope;
use crate::syntax::c::is_c_path;
use crate::syntax::defs::is_c_word;

/// The target tree a region is placed in, with what was already looked up there.
pub struct Target<'r> {
    repo: &'r Repository,
    tree: Oid,
    /// The target's text of the file being merged (empty when it has none).
    file: String,
    found: RefCell<HashMap<String, bool>>,
}

impl<'r> Target<'r> {
    pub fn new(repo: &'r Repository, tree: Oid, path: &str) -> Self {
        let file = repo
            .find_tree(tree)
            .ok()
            .and_then(|t| super::super::change::Entry::at(&t, path))
            .and_then(|e| repo.find_blob(e.id).ok())
            .map(|b| String::from_utf8_lossy(b.content()).into_owned())
            .unwrap_or_default();
        Target {
            repo,
            tree,
            file,
            found: RefCell::new(HashMap::new()),
        }
    }

    /// Which of `names` some file of the tree that `path` can see defines: the regular,
    /// non-binary files under `include/`, `arch/*/include/`, every `Kconfig*` file and the
    /// files under `path`'s folder (what `git grep -I -w -F` with those pathspecs reads), read
    /// in process.
    fn defined_in_tree(&self, path: &str, names: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut ask = Vec::new();
        for n in names {
            match self.found.borrow().get(n) {
                Some(true) => {
                    out.insert(n.clone());
                }
                Some(false) => {}
                None => ask.push(n.clone()),
            }
        }
        if ask.is_empty() {
            return out;
        }
        let yes = scope::defined(self.repo, self.tree, path, &ask, defines_line);
        if scope::checking() {
            let git = self.defined_by_git_grep(path, &ask);
            if git != yes {
                eprintln!(
                    "dovetail-port: definitions search differs from git grep for {path}: \
                     in process {yes:?}, git {git:?}"
                );
            }
        }
        for n in ask {
            let found = yes.contains(&n);
            self.found.borrow_mut().insert(n.clone(), found);
            if found {
                out.insert(n);
            }
        }
        out
    }

    /// What [`Target::defined_in_tree`] finds, asked of `git grep` (the check of
    /// `DOVETAIL_PORT_CHECK_NAMES=1`).
    fn defined_by_git_grep(&self, path: &str, ask: &[String]) -> BTreeSet<String> {
        // Kconfig symbols are looked for by their bare name.
        let mut args: Vec<String> = vec![
            "grep".into(),
            "-I".into(),
            "-w".into(),
            "-F".into(),
            "-z".into(),
            "-h".into(),
        ];
        for n in ask {
            args.push("-e".into());
            args.push(n.strip_prefix("CONFIG_").unwrap_or(n).to_string());
        }
        args.push(self.tree.to_string());
        args.push("--".into());
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for spec in [
            ":(glob)include/**".to_string(),
            ":(glob)arch/*/include/**".to_string(),
            ":(glob)**/Kconfig*".to_string(),
            if dir.is_empty() {
                ":(glob)*".to_string()
            } else {
                format!(":(glob){dir}/**")
            },
        ] {
            args.push(spec);
        }
        // `git grep` exits 1 when nothing matches.
        let hits = Git::new(self.repo.path())
            .command(&args)
            .success([0, 1])
            .output()
            .ok();
        let text = hits
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        ask.iter()
            .filter(|n| lines.iter().any(|l| defines_line(l, n)))
            .cloned()
            .collect()
    }
}

/// The identifiers of `lines` that resolve nowhere: not defined by the queue's own lines
/// (`queue`), nor in the target's file, nor in the target tree. `None` when the file is of a
/// kind whose names this does not read (then a caller must not place lines by name).
pub fn unresolved(ctx: &Context<'_>, lines: &[String], queue: &[String]) -> Option<Vec<String>> {
    let names = identifiers(ctx.path, lines)?;
    let here = |text: &str, n: &str| text.lines().any(|l| defines_line(l, n));
    let queue_text = queue.concat();
    let file = match ctx.target {
        Some(t) if !t.file.is_empty() => t.file.as_str(),
        _ => ctx.before.as_str(),
    };
    let left: Vec<String> = names
        .into_iter()
        .filter(|n| !here(&queue_text, n) && !here(file, n))
        .collect();
    if left.is_empty() {
        return Some(left);
    }
    let Some(target) = ctx.target else {
        return Some(left);
    };
    let found = target.defined_in_tree(ctx.path, &left);
    Some(left.into_iter().filter(|n| !found.contains(n)).collect())
}

/// Preprocessor directives: words of a line that name no definition. Every other C word
/// is [`crate::syntax::defs::is_c_word`]'s.
const DIRECTIVES: &[&str] = &[
    "define", "elif", "endif", "error", "ifdef", "ifndef", "include", "pragma", "undef", "warning",
];

const KCONFIG_WORDS: &[&str] = &[
    "if", "select", "depends", "on", "imply", "default", "range", "visible", "y", "n", "m",
];

/// Identifiers a C or Kconfig text refers to, outside strings, comments, `#include` lines and
/// (Kconfig) help text; `None` for other files.
pub fn identifiers(path: &str, lines: &[String]) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if crate::syntax::kconfig::is_kconfig_path(path) {
        for l in lines {
            let t = l.trim();
            let Some(first) = t.split_whitespace().next() else {
                continue;
            };
            if !matches!(
                first,
                "select" | "depends" | "imply" | "default" | "range" | "visible" | "if"
            ) {
                continue;
            }
            for w in words(t) {
                let symbol = w
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if symbol && !KCONFIG_WORDS.contains(&w.as_str()) && !starts_digit(&w) {
                    out.insert(w);
                }
            }
        }
        return Some(out);
    }
    if !is_c_path(path) {
        return None;
    }
    let mut in_comment = false;
    for l in lines {
        let t = l.trim_start();
        if t.starts_with('#')
            && t.trim_start_matches(['#', ' ', '\t'])
                .starts_with("include")
        {
            continue;
        }
        let code = strip_c(l, &mut in_comment);
        for w in words(&code) {
            if !is_c_word(&w) && !DIRECTIVES.contains(&w.as_str()) && !starts_digit(&w) {
                out.insert(w);
            }
        }
    }
    Some(out)
}

fn starts_digit(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Runs of `[A-Za-z0-9_]`.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A C line without its comments and the contents of its string and character literals.
fn strip_c(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if *in_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                *in_comment = false;
                out.push(' ');
            }
            continue;
        }
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
                out.push(c);
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => break,
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                *in_comment = true;
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether one line defines `name`: a `#define`, a `config` entry, a function head, a
/// declaration (variable, parameter, member), a struct/enum/union tag or typedef, an enum
/// constant, a label, or a `DEFINE_*`/`DECLARE_*` macro naming it.
pub fn defines_line(line: &str, name: &str) -> bool {
    let bare = name.strip_prefix("CONFIG_").unwrap_or(name);
    let t = line.trim();
    let mut ws = t.split_whitespace();
    if matches!(ws.next(), Some("config" | "menuconfig")) && ws.next() == Some(bare) {
        return true;
    }
    if name.starts_with("CONFIG_") {
        return false;
    }
    let toks = tokens(t);
    let Some(pos) = toks.iter().position(|w| w == name) else {
        return false;
    };
    let first = toks.first().map(String::as_str).unwrap_or("");
    if first == "#" && toks.get(1).map(String::as_str) == Some("define") {
        return toks.get(2).map(String::as_str) == Some(name);
    }
    if (first.starts_with("DEFINE_") || first.starts_with("DECLARE_") || first.contains("_DEFINE"))
        && toks.get(1).map(String::as_str) == Some("(")
    {
        return true;
    }
    // Every occurrence of the name on the line may be the defining one.
    toks.iter()
        .enumerate()
        .filter(|(_, w)| *w == name)
        .any(|(i, _)| defines_at(&toks, i, line))
        || (pos == 0 && enum_constant_or_label(&toks))
}

fn defines_at(toks: &[String], i: usize, line: &str) -> bool {
    let next = toks.get(i + 1).map(String::as_str).unwrap_or("");
    let prev = if i > 0 { toks[i - 1].as_str() } else { "" };
    // A function head: starts in column 0 with a word, the name followed by `(`.
    let col0 = line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if next == "(" && col0 && i > 0 {
        return !matches!(
            toks[0].as_str(),
            "return" | "if" | "while" | "for" | "switch"
        );
    }
    // `struct name {`, `} name;`, `typedef ... name;`
    if matches!(prev, "struct" | "union" | "enum") && next == "{" {
        return true;
    }
    if next == ";" && (prev == "}" || toks[0] == "typedef") {
        return true;
    }
    // A declaration: a type word (and stars) right before the name, the type word starting
    // the statement or a parameter, the name followed by what ends a declarator.
    if !matches!(next, ";" | "=" | "," | ")" | "[" | ":") {
        return false;
    }
    let mut j = i;
    while j > 0 && toks[j - 1] == "*" {
        j -= 1;
    }
    if j == 0 {
        return false;
    }
    let ty = toks[j - 1].as_str();
    let word = ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !starts_digit(ty);
    if !word
        || matches!(
            ty,
            "return" | "goto" | "case" | "else" | "sizeof" | "typeof" | "if" | "while"
        )
    {
        return false;
    }
    // What precedes the type: the start, an opening of a parameter list, or qualifiers.
    let mut k = j - 1;
    while k > 0
        && matches!(
            toks[k - 1].as_str(),
            "struct"
                | "union"
                | "enum"
                | "const"
                | "static"
                | "unsigned"
                | "signed"
                | "long"
                | "short"
                | "volatile"
                | "extern"
                | "inline"
                | "register"
        )
    {
        k -= 1;
    }
    k == 0 || matches!(toks[k - 1].as_str(), "(" | "," | ";" | "{")
}

/// `NAME,` or `NAME = 1,` alone on a line (upper case: a lower-case word alone on a line is
/// more often an argument of a call spread over lines), or `label:`.
fn enum_constant_or_label(toks: &[String]) -> bool {
    let upper = !toks[0].chars().any(|c| c.is_ascii_lowercase());
    match toks.get(1).map(String::as_str) {
        None | Some(",") => upper,
        Some("=") => upper && toks.get(2).map(String::as_str) != Some("="),
        Some(":") => toks.len() == 2,
        _ => false,
    }
}

/// Words and single punctuation characters of a line (whitespace dropped).
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in line.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            cur.push(c);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_definitions_line_by_line() {
        for (line, name) in [
            ("#define OOB_MAX 4", "OOB_MAX"),
            ("static int oob_probe(struct device *dev)", "oob_probe"),
            ("int oob_probe(struct device *dev);", "oob_probe"),
            ("\tstruct task_struct *p = current;", "p"),
            ("static void f(struct device *dev, int flags)", "flags"),
            ("\tunsigned long flags;", "flags"),
            ("struct oob_stage {", "oob_stage"),
            ("} oob_t;", "oob_t"),
            ("\tOOB_IDLE,", "OOB_IDLE"),
            ("\tOOB_RUN = 2,", "OOB_RUN"),
            ("config IRQ_PIPELINE", "CONFIG_IRQ_PIPELINE"),
            ("menuconfig DOVETAIL", "DOVETAIL"),
            ("DEFINE_PER_CPU(int, oob_count);", "oob_count"),
        ] {
            assert!(defines_line(line, name), "{line} defines {name}");
        }
        for (line, name) in [
            ("\treturn flags;", "flags"),
            ("\toob_probe(dev);", "oob_probe"),
            ("\tx = a * flags;", "flags"),
            ("\tif (flags)", "flags"),
            ("\tselect IRQ_PIPELINE", "IRQ_PIPELINE"),
            ("#define OTHER OOB_MAX", "OOB_MAX"),
        ] {
            assert!(!defines_line(line, name), "{line} does not define {name}");
        }
    }

    #[test]
    fn identifiers_skip_strings_comments_and_keywords() {
        let lines = vec![
            "\tif (!oob_ready(p)) /* not yet */\n".to_string(),
            "\t\tpr_warn(\"oob %d\\n\", p->cpu); // why\n".to_string(),
            "#include <linux/irq_pipeline.h>\n".to_string(),
        ];
        let ids: Vec<String> = identifiers("kernel/irq.c", &lines)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(ids, ["cpu", "oob_ready", "p", "pr_warn"]);
        let k = vec![
            "\tselect IRQ_PIPELINE if SMP\n".to_string(),
            "\thelp\n".to_string(),
        ];
        let ids: Vec<String> = identifiers("arch/x86/Kconfig", &k)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(ids, ["IRQ_PIPELINE", "SMP"]);
        assert!(identifiers("Makefile", &k).is_none());
    }
}
