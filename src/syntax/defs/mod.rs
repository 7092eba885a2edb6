//! What a kernel tree defines, by name (C functions, macros, types and struct tags, struct
//! members, global variables, enum constants, exported symbols, Kconfig symbols), and what a
//! patch's added lines define and use. A ctags-level line scanner: no preprocessing, no
//! parsing; it reads a whole 6.1 tree in seconds, and the index of a tree is cached by its id.
//!
//! It errs towards "defined": a name the scanner is unsure of is recorded, so a check built on
//! it ("the target does not define X") is rarely wrong.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

mod mapped;
pub mod removed;
mod sorted;
use mapped::Bytes;
use sorted::Sorted;

/// What kind of thing a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Function,
    /// `#define` names and enum constants.
    Macro,
    /// Typedef names and struct/union/enum tags.
    Type,
    Member,
    Variable,
    Export,
    Kconfig,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Function,
        Kind::Macro,
        Kind::Type,
        Kind::Member,
        Kind::Variable,
        Kind::Export,
        Kind::Kconfig,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Function => "function",
            Kind::Macro => "macro",
            Kind::Type => "type",
            Kind::Member => "member",
            Kind::Variable => "variable",
            Kind::Export => "export",
            Kind::Kconfig => "Kconfig symbol",
        }
    }
}

/// Names and the kinds each is defined as.
#[derive(Debug, Clone, Default)]
pub struct Defs {
    names: HashMap<Box<str>, u8>,
    /// A tree's index read from its cache file; empty whenever `names` is not (the first
    /// `add` moves it into `names`).
    sorted: Sorted,
}

/// Bits of the kinds a C identifier can be defined as (not Kconfig).
const C_KINDS: u8 = !(1 << (Kind::Kconfig as u8));

impl Defs {
    pub fn add(&mut self, kind: Kind, name: &str) {
        if name.is_empty() {
            return;
        }
        self.thaw();
        match self.names.get_mut(name) {
            Some(bits) => *bits |= kind.bit(),
            None => {
                self.names.insert(name.into(), kind.bit());
            }
        }
    }

    /// The kinds `name` is defined as, as bits (0: not defined).
    fn bits(&self, name: &str) -> u8 {
        match self.names.get(name) {
            Some(b) => *b,
            None => self.sorted.get(name).unwrap_or(0),
        }
    }

    /// Moves a loaded index into the map, before the map changes.
    fn thaw(&mut self) {
        if self.sorted.is_empty() {
            return;
        }
        let sorted = std::mem::take(&mut self.sorted);
        self.names
            .extend(sorted.iter().map(|(name, bits)| (name.into(), bits)));
    }

    pub fn has(&self, name: &str, kind: Kind) -> bool {
        self.bits(name) & kind.bit() != 0
    }

    /// Defined as any C thing (function, macro, type, member, variable).
    pub fn has_c(&self, name: &str) -> bool {
        self.bits(name) & C_KINDS != 0
    }

    /// Whether it defines what `used` refers to.
    pub fn resolves(&self, used: &Use) -> bool {
        match used.kind {
            UseKind::Kconfig => {
                self.has(&used.name, Kind::Kconfig)
                    || used
                        .name
                        .strip_suffix("_MODULE")
                        .is_some_and(|n| self.has(n, Kind::Kconfig))
            }
            _ => self.has_c(&used.name),
        }
    }

    /// The names defined as any of `kinds`, sorted.
    pub fn names_of(&self, kinds: &[Kind]) -> Vec<&str> {
        let want = kinds.iter().fold(0, |bits, k| bits | k.bit());
        let mut out: Vec<&str> = self
            .entries()
            .filter(|(_, bits)| bits & want != 0)
            .map(|(n, _)| n)
            .collect();
        out.sort_unstable();
        out
    }

    pub fn kinds(&self, name: &str) -> Vec<Kind> {
        let bits = self.bits(name);
        Kind::ALL
            .into_iter()
            .filter(|k| bits & k.bit() != 0)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.names.len() + self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.sorted.is_empty()
    }

    /// Every (name, bits), in no particular order.
    fn entries(&self) -> impl Iterator<Item = (&str, u8)> {
        self.names
            .iter()
            .map(|(n, b)| (&**n, *b))
            .chain(self.sorted.iter())
    }

    pub fn extend(&mut self, other: &Defs) {
        self.thaw();
        for (name, bits) in other.entries() {
            match self.names.get_mut(name) {
                Some(b) => *b |= bits,
                None => {
                    self.names.insert(name.into(), bits);
                }
            }
        }
    }

    /// Records what one file defines; files of other languages are ignored.
    pub fn scan(&mut self, path: &str, text: &[u8]) {
        match Lang::of(path) {
            Some(Lang::C) => {
                let mut scan = CScan::default();
                for line in text.split(|&b| b == b'\n') {
                    scan.line(line, self);
                }
            }
            Some(Lang::Kconfig) => {
                for line in text.split(|&b| b == b'\n') {
                    kconfig_define(line, self);
                }
            }
            _ => {}
        }
    }

    /// The index of a whole tree (every C source, header and Kconfig file), read in parallel.
    pub fn of_tree(git_dir: &Path, tree: Oid) -> Result<Defs, git2::Error> {
        let repo = Repository::open(git_dir)?;
        let tree = repo.find_tree(tree)?;
        let mut files: Vec<(String, Oid)> = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            // Host programs with their own copies of kernel APIs (tools/include defines
            // strlcpy long after the kernel dropped it): not what kernel code links against.
            if dir.is_empty()
                && entry.kind() == Some(ObjectType::Tree)
                && HOST_ONLY.contains(&entry.name_bytes())
            {
                return TreeWalkResult::Skip;
            }
            if entry.kind() == Some(ObjectType::Blob) {
                if let Ok(name) = std::str::from_utf8(entry.name_bytes()) {
                    if Lang::of(name).is_some_and(|l| l != Lang::Make) {
                        files.push((format!("{dir}{name}"), entry.id()));
                    }
                }
            }
            TreeWalkResult::Ok
        })?;
        use rayon::prelude::*;
        let parts: Vec<Result<Defs, git2::Error>> = files
            .par_chunks(512)
            .map_init(
                || Repository::open(git_dir),
                |repo, chunk| {
                    let repo = repo
                        .as_ref()
                        .map_err(|e| git2::Error::from_str(e.message()))?;
                    let mut defs = Defs::default();
                    for (path, id) in chunk {
                        let blob = repo.find_blob(*id)?;
                        defs.scan(path, blob.content());
                    }
                    Ok(defs)
                },
            )
            .collect();
        let mut all = Defs::default();
        for part in parts {
            let part = part?;
            if all.is_empty() {
                all = part;
            } else {
                all.extend(&part);
            }
        }
        Ok(all)
    }

    /// The index of `tree`, from `cache_dir` when it was built before; built and saved there
    /// otherwise. An unreadable cache is rebuilt; a cache that cannot be written is skipped.
    pub fn cached(git_dir: &Path, tree: Oid, cache_dir: &Path) -> Result<Defs, git2::Error> {
        let file = cache_file(cache_dir, tree);
        if let Some(defs) = Bytes::open(&file).ok().and_then(Defs::load) {
            // A file written unsorted (before the index was searched in place) is
            // rewritten sorted, so the next run reads it without building a map.
            if !defs.names.is_empty() {
                let _ = defs.save(&file);
            }
            return Ok(defs);
        }
        let defs = Defs::of_tree(git_dir, tree)?;
        let _ = defs.save(&file);
        Ok(defs)
    }

    const HEADER: &'static [u8] = b"dovetail-port defs 1\n";

    fn save(&self, file: &Path) -> std::io::Result<()> {
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut entries: Vec<(&str, u8)> = self.entries().collect();
        entries.sort_unstable();
        let mut text = Vec::with_capacity(self.len() * 24);
        text.extend_from_slice(Self::HEADER);
        for (name, bits) in entries {
            text.extend_from_slice(format!("{bits:02x} {name}\n").as_bytes());
        }
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &text)?;
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(())
    }

    /// A saved index: kept as read when its names are sorted, else read into a map.
    fn load(bytes: impl Into<Bytes>) -> Option<Defs> {
        let bytes = bytes.into();
        if !bytes.starts_with(Self::HEADER) {
            return None;
        }
        let unsorted = match Sorted::new(bytes, Self::HEADER.len()) {
            Ok(sorted) => {
                return Some(Defs {
                    sorted,
                    ..Default::default()
                })
            }
            Err(bytes) => bytes,
        };
        let text = std::str::from_utf8(&unsorted[Self::HEADER.len()..]).ok()?;
        let mut names = HashMap::with_capacity(text.len() / 20);
        for line in text.lines() {
            let (bits, name) = line.split_once(' ')?;
            names.insert(name.into(), u8::from_str_radix(bits, 16).ok()?);
        }
        Some(Defs {
            names,
            ..Default::default()
        })
    }
}

/// Top-level folders of host programs, left out of a tree's index.
const HOST_ONLY: [&[u8]; 2] = [b"tools", b"scripts"];

fn cache_file(dir: &Path, tree: Oid) -> PathBuf {
    // The format version is in the name: an index made by an older scanner is not reused.
    dir.join(format!("{tree}.v2.defs"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    C,
    Kconfig,
    Make,
}

impl Lang {
    fn of(path: &str) -> Option<Lang> {
        let file = path.rsplit('/').next().unwrap_or(path);
        if file.ends_with(".c") || file.ends_with(".h") {
            Some(Lang::C)
        } else if file.starts_with("Kconfig") {
            Some(Lang::Kconfig)
        } else if file == "Makefile" || file == "Kbuild" || file.ends_with(".mk") {
            Some(Lang::Make)
        } else {
            None
        }
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Words of C that are never a user's definition or a use of one.
const C_WORDS: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Bool",
    "bool",
    "true",
    "false",
    "NULL",
    "asm",
    "__asm__",
    "__asm",
    "typeof",
    "__typeof__",
    "__typeof",
    "__attribute__",
    "__attribute",
    "__extension__",
    "__inline__",
    "__inline",
    "__volatile__",
    "__restrict",
    "restrict",
    "__builtin_expect",
    "__builtin_constant_p",
    "__builtin_types_compatible_p",
    "__builtin_choose_expr",
    "__builtin_offsetof",
    "__builtin_unreachable",
    "__builtin_return_address",
    "__builtin_frame_address",
    "__builtin_memcpy",
    "__builtin_memset",
    "_Static_assert",
    "_Generic",
    "__alignof__",
    "_Alignof",
    "alignof",
    "defined",
    "__func__",
    "__FUNCTION__",
    "__LINE__",
    "__FILE__",
    "__VA_ARGS__",
    "__VA_OPT__",
];

/// A keyword, builtin or predefined macro of C: never a user's definition or a use of one.
pub fn is_c_word(w: &str) -> bool {
    C_WORDS.contains(&w) || w.starts_with("__builtin_")
}

/// An identifier of a cleaned line: its byte range and how many parentheses are open before it.
struct Ident {
    start: usize,
    end: usize,
    parens: usize,
}

fn idents(code: &[u8]) -> Vec<Ident> {
    let mut out = Vec::new();
    let mut parens: usize = 0;
    let mut i = 0;
    while i < code.len() {
        let b = code[i];
        if is_ident_start(b) && (i == 0 || !is_ident_byte(code[i - 1])) {
            let start = i;
            while i < code.len() && is_ident_byte(code[i]) {
                i += 1;
            }
            out.push(Ident {
                start,
                end: i,
                parens,
            });
            continue;
        }
        match b {
            b'(' => parens += 1,
            b')' => parens = parens.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    out
}

fn word<'a>(code: &'a [u8], id: &Ident) -> &'a str {
    std::str::from_utf8(&code[id.start..id.end]).unwrap_or("")
}

/// The first byte after `at` that is not a space.
fn next_byte(code: &[u8], at: usize) -> Option<u8> {
    code.get(at..)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

/// The last byte before `at` that is not a space.
fn prev_byte(code: &[u8], at: usize) -> Option<u8> {
    code.get(..at)?
        .iter()
        .rev()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

/// A line with comments, strings and character literals blanked out (same length), given
/// whether a block comment is open at its start; updates that.
fn clean(raw: &[u8], in_comment: &mut bool) -> Vec<u8> {
    let mut out = raw.to_vec();
    let mut i = 0;
    while i < out.len() {
        if *in_comment {
            if raw[i] == b'*' && raw.get(i + 1) == Some(&b'/') {
                out[i] = b' ';
                out[i + 1] = b' ';
                *in_comment = false;
                i += 2;
            } else {
                out[i] = b' ';
                i += 1;
            }
            continue;
        }
        match raw[i] {
            b'/' if raw.get(i + 1) == Some(&b'*') => {
                *in_comment = true;
                out[i] = b' ';
                out[i + 1] = b' ';
                i += 2;
            }
            b'/' if raw.get(i + 1) == Some(&b'/') => {
                for b in &mut out[i..] {
                    *b = b' ';
                }
                break;
            }
            q @ (b'"' | b'\'') => {
                // Blank the literal's inside; keep the quotes.
                i += 1;
                while i < raw.len() && raw[i] != q {
                    let escaped = raw[i] == b'\\';
                    out[i] = b' ';
                    if escaped && i + 1 < raw.len() {
                        out[i + 1] = b' ';
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// What the top-level block being read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Block {
    #[default]
    Other,
    /// A struct or union body: its declarations are members.
    Aggregate,
    /// `typedef struct {`: the name after the closing brace is a type.
    TypedefAggregate,
    Enum,
}

/// The line scanner's state across the lines of one C file.
#[derive(Debug, Default)]
struct CScan {
    in_comment: bool,
    /// Inside a `#define` continued with `\`.
    in_define: bool,
    depth: usize,
    block: Block,
    /// What the next `{` at depth 0 opens, from the lines since the last declaration ended.
    pending: Block,
}

impl CScan {
    /// A scanner that starts inside a block (for a patch hunk whose header names one).
    fn inside(block: Block) -> CScan {
        CScan {
            depth: 1,
            block,
            ..Default::default()
        }
    }

    fn line(&mut self, raw: &[u8], defs: &mut Defs) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let continued = raw.ends_with(b"\\");
        let code = clean(raw, &mut self.in_comment);
        if self.in_define {
            self.in_define = continued;
            return;
        }
        let text = code.trim_ascii_start();
        if let Some(directive) = text.strip_prefix(b"#") {
            let directive = directive.trim_ascii_start();
            if let Some(rest) = directive.strip_prefix(b"define") {
                if let Some(id) = idents(rest).first() {
                    if id.start > 0 {
                        defs.add(Kind::Macro, word(rest, id));
                    }
                }
            }
            self.in_define = continued;
            return;
        }
        if self.depth == 0 {
            self.top_level(&code, defs);
            self.braces(&code, defs);
            // `enum mode { A, B,`: the entries after the brace that opened the body.
            if self.depth > 0 {
                if let Some(at) = code.iter().position(|&b| b == b'{') {
                    self.body(&code[at + 1..], defs);
                }
            }
        } else {
            self.body(&code, defs);
            self.braces(&code, defs);
        }
    }

    fn body(&self, code: &[u8], defs: &mut Defs) {
        match self.block {
            Block::Aggregate | Block::TypedefAggregate => members(code, defs),
            Block::Enum => enumerators(code, defs),
            Block::Other => {}
        }
    }

    /// Declarations and definitions that start a line at depth 0.
    fn top_level(&mut self, code: &[u8], defs: &mut Defs) {
        let ids = idents(code);
        let Some(first) = ids.first() else {
            return;
        };
        let starts_col0 = code.first().is_some_and(|b| !b.is_ascii_whitespace());
        let first_word = word(code, first);
        if first_word.starts_with("EXPORT_SYMBOL") {
            if let Some(name) = ids.get(1) {
                defs.add(Kind::Export, word(code, name));
            }
            return;
        }
        // struct/union/enum tags anywhere on the line (`struct foo {`, `typedef struct foo`).
        let mut typedef = false;
        for (k, id) in ids.iter().enumerate() {
            match word(code, id) {
                "typedef" => typedef = true,
                w @ ("struct" | "union" | "enum") => {
                    if let Some(tag) = ids.get(k + 1) {
                        // A definition or declaration of the tag, not a use of it.
                        if typedef || matches!(next_byte(code, tag.end), None | Some(b'{' | b';')) {
                            defs.add(Kind::Type, word(code, tag));
                        }
                    }
                    let after = &code[id.end..];
                    let opens = match after.iter().position(|&b| b == b'{') {
                        // `struct foo bar = {` opens an initializer, not a body.
                        Some(at) => !after[..at].contains(&b'='),
                        None => !after.contains(&b';') && !after.contains(&b'='),
                    };
                    if opens {
                        let block = match (w, typedef) {
                            ("enum", _) => Block::Enum,
                            (_, true) => Block::TypedefAggregate,
                            _ => Block::Aggregate,
                        };
                        if self.pending == Block::Other {
                            self.pending = block;
                        }
                    }
                    break;
                }
                _ => {}
            }
        }
        if typedef {
            typedef_name(code, &ids, defs);
            return;
        }
        if !starts_col0 {
            return;
        }
        // Functions (and prototypes): the name before the first parenthesis at depth 0 that
        // is not an attribute like `__printf(1, 2)`.
        let mut calls: Vec<&Ident> = ids
            .iter()
            .filter(|id| next_byte(code, id.end) == Some(b'(') && !is_c_word(word(code, id)))
            .filter(|id| id.parens == 0)
            .collect();
        if calls.len() > 1 {
            calls.retain(|id| !word(code, id).starts_with("__"));
        }
        if let Some(f) = calls.first() {
            let name = word(code, f);
            if name.starts_with("SYSCALL_DEFINE") || name.starts_with("COMPAT_SYSCALL_DEFINE") {
                if let Some(arg) = ids.iter().find(|id| id.start > f.end) {
                    let compat = if name.starts_with("COMPAT") {
                        "compat_"
                    } else {
                        ""
                    };
                    defs.add(Kind::Function, &format!("{compat}sys_{}", word(code, arg)));
                }
            }
            if is_macro_name(name) {
                // A top-level macro invocation (`DEFINE_MUTEX(x)`, `PAGEFLAG(...)`): what it
                // defines is unknown, so every name it is given counts as defined.
                for id in ids.iter().filter(|id| id.start > f.end) {
                    if !is_c_word(word(code, id)) {
                        defs.add(Kind::Variable, word(code, id));
                    }
                }
            } else {
                defs.add(Kind::Function, name);
            }
            return;
        }
        // Global variables: the name before `=`, `[` or `;`.
        if let Some(end) = code
            .iter()
            .position(|&b| b == b'=' || b == b'[' || b == b';')
        {
            if let Some(id) = ids.iter().rev().find(|id| id.end <= end) {
                let w = word(code, id);
                if !is_c_word(w) && ids.len() > 1 {
                    defs.add(Kind::Variable, w);
                }
            }
        }
    }

    /// Follows braces; at the end of a top-level block, the name after `}` of a typedef.
    fn braces(&mut self, code: &[u8], defs: &mut Defs) {
        for (i, &b) in code.iter().enumerate() {
            match b {
                b'{' => {
                    if self.depth == 0 {
                        self.block = self.pending;
                        self.pending = Block::Other;
                    }
                    self.depth += 1;
                }
                b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        let rest = &code[i + 1..];
                        if let Some(id) = idents(rest)
                            .into_iter()
                            .find(|id| !is_c_word(word(rest, id)))
                        {
                            let kind = if self.block == Block::TypedefAggregate {
                                Kind::Type
                            } else {
                                Kind::Variable
                            };
                            defs.add(kind, word(rest, &id));
                        }
                        self.block = Block::Other;
                    }
                }
                b';' if self.depth == 0 => self.pending = Block::Other,
                _ => {}
            }
        }
    }
}

/// All capitals, digits and underscores, with at least one capital: a macro's name.
fn is_macro_name(w: &str) -> bool {
    w.bytes().any(|b| b.is_ascii_uppercase())
        && w.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `typedef int (*name)(...);`, `typedef struct foo name;`.
fn typedef_name(code: &[u8], ids: &[Ident], defs: &mut Defs) {
    if let Some(at) = code.windows(2).position(|w| w == b"(*") {
        if let Some(id) = ids.iter().find(|id| id.start > at) {
            defs.add(Kind::Type, word(code, id));
        }
        return;
    }
    if let Some(end) = code.iter().position(|&b| b == b';' || b == b'[') {
        if let Some(id) = ids.iter().rev().find(|id| id.end <= end) {
            defs.add(Kind::Type, word(code, id));
        }
    }
}

/// Struct members declared on a line: each name followed by `,`, `;`, `[` or `:` outside
/// parentheses, and function-pointer members `(*name)`.
fn members(code: &[u8], defs: &mut Defs) {
    if let Some(at) = code.windows(2).position(|w| w == b"(*") {
        if let Some(id) = idents(&code[at..]).first() {
            defs.add(Kind::Member, word(&code[at..], id));
        }
        return;
    }
    for id in idents(code) {
        let w = word(code, &id);
        if is_c_word(w) || id.parens > 0 {
            continue;
        }
        if matches!(
            next_byte(code, id.end),
            Some(b',' | b';' | b'[' | b':' | b'=')
        ) {
            defs.add(Kind::Member, w);
        }
    }
}

/// Enum constants on a line: the first name of each comma-separated piece.
fn enumerators(code: &[u8], defs: &mut Defs) {
    for piece in code.split(|&b| b == b',') {
        let piece = piece.trim_ascii_start();
        if piece.first().is_some_and(|&b| is_ident_start(b)) {
            if let Some(id) = idents(piece).first() {
                let w = word(piece, id);
                if !is_c_word(w) {
                    defs.add(Kind::Macro, w);
                }
            }
        }
    }
}

/// `config X` and `menuconfig X`.
fn kconfig_define(line: &[u8], defs: &mut Defs) {
    let t = line.trim_ascii();
    for kw in [&b"config"[..], b"menuconfig"] {
        if let Some(rest) = t.strip_prefix(kw) {
            if rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
                if let Some(id) = idents(rest).first() {
                    defs.add(Kind::Kconfig, word(rest, id));
                }
            }
        }
    }
}

/// How an identifier is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UseKind {
    /// `name(`: a function or a function-like macro.
    Call,
    /// `CONFIG_NAME` in C or a Makefile, or a symbol in a Kconfig expression or `select`.
    Kconfig,
    /// `.name` or `->name`.
    Member,
    /// Any other identifier (a type, a variable, a constant).
    Plain,
}

/// One identifier a patch's added line uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Use {
    pub name: String,
    pub kind: UseKind,
    pub path: String,
    /// 1-based line in the patched file.
    pub line: usize,
}

/// What a check asks of the tree a change lands in.
pub trait Lookup: std::fmt::Debug {
    /// Whether `used` names something that tree does not define.
    fn missing(&self, used: &Use) -> bool;
}

/// What a patch's added lines define and use (first use of each name, in patch order).
#[derive(Debug, Clone, Default)]
pub struct PatchRefs {
    pub defines: Defs,
    pub uses: Vec<Use>,
    /// What its removed lines define and its added lines do not (filled by callers that ask:
    /// see [`removed::patch_removes`]).
    pub removes: Vec<removed::Removed>,
}

/// An added line of a unified diff.
#[derive(Debug, Clone)]
pub struct Added {
    pub path: String,
    /// 1-based line in the new file.
    pub line: usize,
    pub text: String,
    /// Index of its hunk in the diff: lines of one hunk are read together.
    pub hunk: usize,
    /// The hunk header's section text (`struct foo {`), git's function context.
    pub section: String,
}

/// The added lines of a unified diff (`git diff`, `format-patch` or `Patch::to_buf` text).
pub fn added_lines(diff: &str) -> Vec<Added> {
    side_lines(diff, b'+')
}

/// The removed lines of a unified diff, numbered in the old file.
pub fn removed_lines(diff: &str) -> Vec<Added> {
    side_lines(diff, b'-')
}

/// The lines of one side of a diff (`+` new, `-` old), with paths and lines of that side.
fn side_lines(diff: &str, side: u8) -> Vec<Added> {
    let (header, range) = if side == b'+' {
        ("+++ ", '+')
    } else {
        ("--- ", '-')
    };
    let prefix = if side == b'+' { "b/" } else { "a/" };
    let mut out = Vec::new();
    let mut path: Option<String> = None;
    let mut line = 0usize;
    let mut hunk = 0usize;
    let mut section = String::new();
    let mut in_hunk = false;
    for l in diff.lines() {
        if l.starts_with("diff --git ") {
            in_hunk = false;
            path = None;
            continue;
        }
        if !in_hunk || l.starts_with("+++ ") || l.starts_with("--- ") {
            if let Some(p) = l.strip_prefix(header) {
                path = (p != "/dev/null").then(|| p.strip_prefix(prefix).unwrap_or(p).to_string());
                continue;
            }
            if l.starts_with("+++ ") || l.starts_with("--- ") {
                continue;
            }
        }
        if let Some(h) = l.strip_prefix("@@ ") {
            // @@ -a,b +c,d @@ section
            let (ranges, rest) = h.split_once("@@").unwrap_or((h, ""));
            line = ranges
                .split_whitespace()
                .find_map(|r| r.strip_prefix(range))
                .and_then(|r| r.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            section = rest.trim().to_string();
            hunk += 1;
            in_hunk = true;
            continue;
        }
        if !in_hunk {
            continue;
        }
        match l.as_bytes().first() {
            Some(&b) if b == side => {
                if let Some(p) = &path {
                    out.push(Added {
                        path: p.clone(),
                        line,
                        text: l[1..].to_string(),
                        hunk,
                        section: section.clone(),
                    });
                }
                line += 1;
            }
            Some(b' ') | None => line += 1,
            Some(b'-' | b'+' | b'\\') => {}
            _ => in_hunk = false,
        }
    }
    out
}

/// What the added lines of `diff` define and use. Uses of names the patch itself defines, of
/// a macro's own parameters, and of C keywords are left out.
pub fn patch_refs(diff: &str) -> PatchRefs {
    let added = added_lines(diff);
    let mut refs = PatchRefs::default();
    let mut k = 0;
    let mut uses = Vec::new();
    while k < added.len() {
        let hunk = added[k].hunk;
        let end = added[k..]
            .iter()
            .position(|a| a.hunk != hunk)
            .map_or(added.len(), |n| k + n);
        let run = &added[k..end];
        let lines: Vec<&str> = run.iter().map(|a| a.text.as_str()).collect();
        let (mut found, defines) = lines_refs(&run[0].path, &run[0].section, &lines);
        refs.defines.extend(&defines);
        for (name, kind, i) in found.drain(..) {
            uses.push(Use {
                name,
                kind,
                path: run[i].path.clone(),
                line: run[i].line,
            });
        }
        k = end;
    }
    let mut seen = HashSet::new();
    refs.uses = uses
        .into_iter()
        .filter(|u| !refs.defines.resolves(u))
        .filter(|u| seen.insert((u.name.clone(), u.kind)))
        .collect();
    refs
}

/// What consecutive lines of one file use (name, kind, index of the line) and define.
/// `section` is the enclosing context git names in the hunk header, if any.
pub fn lines_refs(
    path: &str,
    section: &str,
    lines: &[&str],
) -> (Vec<(String, UseKind, usize)>, Defs) {
    let mut defines = Defs::default();
    let mut uses = Vec::new();
    match Lang::of(path) {
        Some(Lang::C) => {
            let t = section.trim_start();
            let block = if t.starts_with("enum") && t.ends_with('{') {
                Block::Enum
            } else if (t.starts_with("struct") || t.starts_with("union")) && t.ends_with('{') {
                Block::Aggregate
            } else {
                Block::Other
            };
            let mut scan = if block == Block::Other {
                CScan::default()
            } else {
                CScan::inside(block)
            };
            let mut in_comment = false;
            let mut params: HashSet<String> = HashSet::new();
            let mut in_define = false;
            for (i, line) in lines.iter().enumerate() {
                scan.line(line.as_bytes(), &mut defines);
                let code = clean(line.as_bytes(), &mut in_comment);
                c_uses(&code, i, &mut in_define, &mut params, &mut uses);
            }
            uses.retain(|(n, _, _)| !params.contains(n));
        }
        Some(Lang::Kconfig) => {
            for (i, line) in lines.iter().enumerate() {
                kconfig_define(line.as_bytes(), &mut defines);
                kconfig_uses(line, i, &mut uses);
            }
        }
        Some(Lang::Make) => {
            for (i, line) in lines.iter().enumerate() {
                let code = line.split('#').next().unwrap_or("");
                config_refs(code.as_bytes(), i, &mut uses);
            }
        }
        None => {}
    }
    (uses, defines)
}

/// `CONFIG_X` references of a line.
fn config_refs(code: &[u8], i: usize, uses: &mut Vec<(String, UseKind, usize)>) {
    for id in idents(code) {
        if let Some(sym) = word(code, &id).strip_prefix("CONFIG_") {
            if !sym.is_empty() {
                uses.push((sym.to_string(), UseKind::Kconfig, i));
            }
        }
    }
}

fn c_uses(
    code: &[u8],
    i: usize,
    in_define: &mut bool,
    params: &mut HashSet<String>,
    uses: &mut Vec<(String, UseKind, usize)>,
) {
    let continued = code.trim_ascii_end().ends_with(b"\\");
    let t = code.trim_ascii_start();
    let mut body = code;
    if !*in_define {
        if let Some(directive) = t.strip_prefix(b"#") {
            let directive = directive.trim_ascii_start();
            let Some(rest) = directive.strip_prefix(b"define") else {
                // #if/#ifdef/#include/#undef: only configuration symbols are uses.
                config_refs(directive, i, uses);
                return;
            };
            // `#define NAME(a, b) body`: skip the name, remember the parameters.
            let ids = idents(rest);
            let Some(name) = ids.first() else { return };
            let mut from = name.end;
            if rest.get(name.end) == Some(&b'(') {
                let close = rest[name.end..]
                    .iter()
                    .position(|&b| b == b')')
                    .map_or(rest.len(), |p| name.end + p + 1);
                for id in ids.iter().skip(1).filter(|id| id.end <= close) {
                    params.insert(word(rest, id).to_string());
                }
                from = close;
            }
            body = &rest[from.min(rest.len())..];
            *in_define = continued;
        }
    } else {
        *in_define = continued;
    }
    for id in idents(body) {
        let w = word(body, &id);
        if is_c_word(w) {
            continue;
        }
        if let Some(sym) = w.strip_prefix("CONFIG_") {
            if !sym.is_empty() {
                uses.push((sym.to_string(), UseKind::Kconfig, i));
            }
            continue;
        }
        let before = prev_byte(body, id.start);
        let member = before == Some(b'.') || body[..id.start].trim_ascii_end().ends_with(b"->");
        let kind = if member {
            UseKind::Member
        } else if next_byte(body, id.end) == Some(b'(') {
            UseKind::Call
        } else {
            UseKind::Plain
        };
        uses.push((w.to_string(), kind, i));
    }
}

/// Symbols a Kconfig line refers to: `select`/`imply` targets and the symbols of
/// `depends on`, `if`, `visible if`, `default`, `def_bool`/`def_tristate` expressions.
fn kconfig_uses(line: &str, i: usize, uses: &mut Vec<(String, UseKind, usize)>) {
    let t = line.split('#').next().unwrap_or("").trim();
    let mut words = t.split_whitespace();
    let expr = match words.next() {
        Some("select" | "imply" | "if" | "default" | "def_bool" | "def_tristate" | "range") => {
            t.split_once(char::is_whitespace).map_or("", |(_, r)| r)
        }
        Some("depends") if words.next() == Some("on") => t.split_once("on").map_or("", |(_, r)| r),
        Some("visible") => t.split_once(" if").map_or("", |(_, r)| r),
        Some("bool" | "tristate" | "prompt" | "string" | "int" | "hex") => {
            // `bool "prompt" if EXPR`
            match t.rfind('"') {
                Some(q) => t[q + 1..].trim_start().strip_prefix("if").unwrap_or(""),
                None => "",
            }
        }
        _ => "",
    };
    let code = clean(expr.as_bytes(), &mut false);
    for id in idents(&code) {
        let w = word(&code, &id);
        if w.bytes().any(|b| b.is_ascii_uppercase()) && is_macro_name(w) && w.len() > 1 {
            uses.push((w.to_string(), UseKind::Kconfig, i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> Defs {
        let mut d = Defs::default();
        d.scan("x.c", text.as_bytes());
        d
    }

    #[test]
    fn functions_prototypes_macros_and_exports() {
        let d = c(
            "static int __init\nfoo_init(void)\n{\n\tbar(1);\n\treturn 0;\n}\n\
                   __printf(1, 2) int logf(const char *f, ...);\n\
                   #define FOO(x) ((x) + 1)\n# define BAR 2\n\
                   EXPORT_SYMBOL_GPL(foo_init);\n\
                   SYSCALL_DEFINE2(mything, int, a, int, b)\n{\n}\n\
                   static DEFINE_MUTEX(foo_lock);\n",
        );
        assert!(d.has("foo_init", Kind::Function));
        assert!(d.has("foo_init", Kind::Export));
        assert!(d.has("logf", Kind::Function));
        assert!(!d.has_c("__printf"));
        assert!(d.has("FOO", Kind::Macro) && d.has("BAR", Kind::Macro));
        assert!(d.has("sys_mything", Kind::Function));
        assert!(d.has_c("foo_lock"));
        assert!(
            !d.has_c("bar"),
            "a call in a body is a use, not a definition"
        );
    }

    #[test]
    fn types_members_enums_and_variables() {
        let d = c("struct foo {\n\tint a, b;\n\tunsigned long flags:3;\n\tvoid (*cb)(int x);\n\tunion {\n\t\tu8 raw[4];\n\t};\n};\n\
                   typedef struct {\n\tint v;\n} bar_t;\n\
                   typedef int (*handler_t)(int);\n\
                   enum mode { MODE_A = 1, MODE_B,\n\tMODE_C\n};\n\
                   int counter = 3;\nstatic struct foo table[4];\n\
                   /* struct fake { */\nconst char *s = \"int nope(void)\";\n");
        for (n, k) in [
            ("foo", Kind::Type),
            ("a", Kind::Member),
            ("b", Kind::Member),
            ("flags", Kind::Member),
            ("cb", Kind::Member),
            ("raw", Kind::Member),
            ("v", Kind::Member),
            ("bar_t", Kind::Type),
            ("handler_t", Kind::Type),
            ("mode", Kind::Type),
            ("MODE_A", Kind::Macro),
            ("MODE_B", Kind::Macro),
            ("MODE_C", Kind::Macro),
            ("counter", Kind::Variable),
            ("table", Kind::Variable),
            ("s", Kind::Variable),
        ] {
            assert!(d.has(n, k), "{n} as {}: {:?}", k.as_str(), d.kinds(n));
        }
        assert!(!d.has_c("fake") && !d.has_c("nope") && !d.has_c("x"));
    }

    #[test]
    fn kconfig_symbols() {
        let mut d = Defs::default();
        d.scan(
            "kernel/irq/Kconfig",
            b"config IRQ_PIPELINE\n\tbool \"pipeline\"\n\tselect FOO\nmenuconfig EVL\n\thelp\n\t  say Y\n",
        );
        assert!(d.has("IRQ_PIPELINE", Kind::Kconfig) && d.has("EVL", Kind::Kconfig));
        assert!(!d.has("FOO", Kind::Kconfig));
        d.scan("README", b"config NOT_THIS\n");
        assert!(!d.has("NOT_THIS", Kind::Kconfig));
    }

    #[test]
    fn cache_round_trip() {
        let d = c("int f(void);\n#define M 1\n");
        let dir = tempfile::tempdir().unwrap();
        let file = cache_file(dir.path(), Oid::zero());
        d.save(&file).unwrap();
        let back = Defs::load(std::fs::read(&file).unwrap()).unwrap();
        assert!(back.names.is_empty(), "saved sorted, read in place");
        assert!(back.has("f", Kind::Function) && back.has("M", Kind::Macro));
        assert_eq!(back.kinds("f"), d.kinds("f"));
        assert!(!back.has_c("g"));
        assert_eq!(back.len(), d.len());
        assert!(Defs::load(b"garbage".to_vec()).is_none());
        // An index saved unsorted (older versions) still reads, into a map.
        let old = [Defs::HEADER, b"02 M\n01 f\n"].concat();
        let back = Defs::load(old).unwrap();
        assert!(back.has("f", Kind::Function) && back.has("M", Kind::Macro));
        assert_eq!(back.len(), 2);
        // Adding to a loaded index keeps what it had.
        let mut grown = Defs::load(std::fs::read(&file).unwrap()).unwrap();
        grown.add(Kind::Variable, "f");
        grown.add(Kind::Type, "t");
        assert_eq!(grown.kinds("f"), [Kind::Function, Kind::Variable]);
        assert!(grown.has("t", Kind::Type) && grown.has("M", Kind::Macro));
        assert_eq!(grown.len(), 3);
    }

    const PATCH: &str = "diff --git a/kernel/x.c b/kernel/x.c\n\
--- a/kernel/x.c\n+++ b/kernel/x.c\n\
@@ -10,3 +10,12 @@ static int old(void)\n ctx\n\
+#define WRAP(fn) fn(evl_arg)\n\
+static int evl_helper(struct evl_thing *t)\n\
+{\n\
+\tif (IS_ENABLED(CONFIG_EVL_DEBUG))\n\
+\t\tgone_api(t->owner, \"str call(\");\n\
+\treturn evl_helper2(t) + sizeof(int); // tail(x)\n\
+}\n ctx\n\
diff --git a/kernel/Kconfig b/kernel/Kconfig\n\
--- a/kernel/Kconfig\n+++ b/kernel/Kconfig\n\
@@ -1,2 +1,5 @@\n config A\n\
+\tselect DEAD_SYM if X86 && !FOO_BAR\n\
+config EVL_NEW\n\
+\tdepends on EVL_NEW2 || m\n";

    #[test]
    fn a_patch_s_uses_and_definitions() {
        let refs = patch_refs(PATCH);
        assert!(refs.defines.has("evl_helper", Kind::Function));
        assert!(refs.defines.has("WRAP", Kind::Macro));
        assert!(refs.defines.has("EVL_NEW", Kind::Kconfig));
        let find = |n: &str| refs.uses.iter().find(|u| u.name == n).cloned();
        let gone = find("gone_api").unwrap();
        assert_eq!(
            (gone.kind, gone.path.as_str(), gone.line),
            (UseKind::Call, "kernel/x.c", 15)
        );
        assert_eq!(find("owner").unwrap().kind, UseKind::Member);
        assert_eq!(find("evl_thing").unwrap().kind, UseKind::Plain);
        assert_eq!(find("EVL_DEBUG").unwrap().kind, UseKind::Kconfig);
        assert_eq!(find("evl_helper2").unwrap().kind, UseKind::Call);
        let dead = find("DEAD_SYM").unwrap();
        assert_eq!(
            (dead.kind, dead.path.as_str(), dead.line),
            (UseKind::Kconfig, "kernel/Kconfig", 2)
        );
        assert!(find("X86").is_some() && find("FOO_BAR").is_some() && find("EVL_NEW2").is_some());
        for absent in [
            "evl_helper",
            "fn",
            "sizeof",
            "call",
            "tail",
            "str",
            "EVL_NEW",
            "m",
            "int",
        ] {
            assert!(find(absent).is_none(), "{absent} is not a use");
        }
        assert!(
            find("evl_arg").is_some(),
            "a macro body's other names are uses"
        );
    }

    #[test]
    fn members_added_inside_a_struct_hunk_are_definitions() {
        let diff = "--- a/include/x.h\n+++ b/include/x.h\n@@ -4,2 +4,3 @@ struct task_struct {\n \tint a;\n+\tstruct evl_state *evl;\n \tint b;\n";
        let refs = patch_refs(diff);
        assert!(refs.defines.has("evl", Kind::Member));
        assert!(refs.uses.iter().any(|u| u.name == "evl_state"));
    }
}
