//! Unified diffs read as bytes, without any repository: git's (`diff --git`, `index`, modes,
//! renames) and traditional ones (`diff -u` output, quilt's `---`/`+++` with any prefix and a
//! timestamp after a tab), with quilt's `-pN` strip level. Names and lines stay bytes, so a
//! Latin-1 file name or line survives untouched. The headers are read by
//! [`crate::syntax::diff_header`].

use crate::syntax::diff_header::{
    chomp, git_header_line, hunk_header, start_at, HeaderLine, HunkRange, Start,
};
pub use crate::syntax::diff_header::{strip_components, unquote};

/// One line of a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Context,
    Remove,
    Add,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine {
    pub kind: Kind,
    /// The line with its newline (none when a `\ No newline at end of file` followed it).
    pub text: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// 1-based start in the old file (0 for a hunk adding to an empty file).
    pub old_start: usize,
    /// The text after the second `@@` (git's or `diff -p`'s enclosing function line).
    pub heading: Vec<u8>,
    pub lines: Vec<HunkLine>,
    /// 1-based line of the `@@` in the diff text.
    pub line: usize,
}

impl Hunk {
    /// What the hunk expects: context and removed lines.
    pub fn old_lines(&self) -> Vec<&[u8]> {
        self.side(Kind::Remove)
    }

    /// What the hunk wants: context and added lines.
    pub fn new_lines(&self) -> Vec<&[u8]> {
        self.side(Kind::Add)
    }

    fn side(&self, keep: Kind) -> Vec<&[u8]> {
        self.lines
            .iter()
            .filter(|l| l.kind == Kind::Context || l.kind == keep)
            .map(|l| l.text.as_slice())
            .collect()
    }

    /// Context lines before the first change and after the last one.
    pub fn outer_context(&self) -> (usize, usize) {
        let changed = |l: &HunkLine| l.kind != Kind::Context;
        let lead = self
            .lines
            .iter()
            .position(changed)
            .unwrap_or(self.lines.len());
        let trail = self.lines.iter().rev().position(changed).unwrap_or(0);
        (lead, trail)
    }
}

/// One file of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// The name before, prefix stripped; `None` when the file is created (`/dev/null`).
    pub old_path: Option<Vec<u8>>,
    /// The name after; `None` when the file is deleted.
    pub new_path: Option<Vec<u8>>,
    /// A `diff --git` section (names are exact; a rename is a rename).
    pub git: bool,
    pub new_mode: Option<u32>,
    /// The abbreviated pre-image blob id of an `index` line.
    pub old_blob: Option<String>,
    pub binary: bool,
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// Whether the diff creates the file: `/dev/null` before, or (traditional diffs) one hunk
    /// from line 0 that only adds.
    pub fn creates(&self) -> bool {
        self.old_path.is_none()
            || (!self.git
                && self.hunks.len() == 1
                && self.hunks[0].old_start == 0
                && self.hunks[0].old_lines().is_empty())
    }

    /// Whether the diff deletes the file.
    pub fn deletes(&self) -> bool {
        self.new_path.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffError {
    /// 1-based line in the diff text.
    pub line: usize,
    pub message: String,
}

/// Parses `diff`, stripping `strip` leading components from `---`/`+++` names (quilt's
/// `-pN`; git's `a/`/`b/` are one). Text that is not part of a diff (mail headers, `diff -urN`
/// command lines, a signature) is skipped; a hunk cut short is an error.
pub fn parse(diff: &[u8], strip: usize) -> Result<Vec<FileDiff>, DiffError> {
    let lines: Vec<&[u8]> = diff.split_inclusive(|&b| b == b'\n').collect();
    let mut files: Vec<FileDiff> = Vec::new();
    // Inside a `diff --git` header, before its first hunk.
    let mut in_git_header = false;
    let mut i = 0;
    while i < lines.len() {
        match start_at(&lines, i, strip) {
            Some(Start::Git(h)) => {
                files.push(FileDiff {
                    git: true,
                    old_path: h.old_path,
                    new_path: h.new_path,
                    ..FileDiff::default()
                });
                in_git_header = true;
            }
            Some(Start::Names { old, new }) => {
                let old = old.map_err(|m| err(i, m))?;
                let new = new.map_err(|m| err(i + 1, m))?;
                if !in_git_header {
                    files.push(FileDiff::default());
                }
                let f = files.last_mut().expect("pushed above");
                f.old_path = old;
                f.new_path = new;
                in_git_header = false;
                i += 1;
            }
            Some(Start::Hunk(_)) => {
                let Some(f) = files.last_mut() else {
                    return Err(err(i, "hunk before any file header (`---`/`+++`)".into()));
                };
                in_git_header = false;
                let (hunk, next) = read_hunk(&lines, i)?;
                f.hunks.push(hunk);
                i = next;
                continue;
            }
            None if in_git_header => {
                let f = files.last_mut().expect("in a git header");
                match git_header_line(lines[i]) {
                    Some(HeaderLine::NewFile { mode }) => {
                        f.old_path = None;
                        f.new_mode = mode;
                    }
                    Some(HeaderLine::DeletedFile { .. }) => f.new_path = None,
                    Some(HeaderLine::NewMode(mode)) => f.new_mode = mode,
                    Some(HeaderLine::RenameFrom(p)) => f.old_path = Some(p),
                    Some(HeaderLine::RenameTo(p)) => f.new_path = Some(p),
                    Some(HeaderLine::Index { old, .. }) => f.old_blob = Some(old),
                    Some(HeaderLine::Binary) => f.binary = true,
                    _ => {}
                }
            }
            None => {}
        }
        i += 1;
    }
    Ok(files)
}

fn err(i: usize, message: String) -> DiffError {
    DiffError {
        line: i + 1,
        message,
    }
}

/// Reads the hunk whose `@@` line is `lines[at]`; returns it and the index after it.
fn read_hunk(lines: &[&[u8]], at: usize) -> Result<(Hunk, usize), DiffError> {
    let header = chomp(lines[at]);
    let HunkRange {
        old_start,
        old_lines: mut old_left,
        new_lines: mut new_left,
        heading,
        ..
    } = hunk_header(header).ok_or_else(|| err(at, "malformed `@@` line".into()))?;
    let mut hunk = Hunk {
        old_start,
        heading,
        lines: Vec::new(),
        line: at + 1,
    };
    let mut i = at + 1;
    while old_left > 0 || new_left > 0 {
        let Some(&raw) = lines.get(i) else {
            return Err(err(
                at,
                format!("hunk ends early: {old_left} old and {new_left} new line(s) missing"),
            ));
        };
        let (kind, text) = match raw.first() {
            Some(b' ') => (Kind::Context, &raw[1..]),
            Some(b'-') => (Kind::Remove, &raw[1..]),
            Some(b'+') => (Kind::Add, &raw[1..]),
            // A context line whose lone space a mailer stripped.
            Some(b'\n') | Some(b'\r') => (Kind::Context, raw),
            Some(b'\\') => {
                drop_newline(&mut hunk);
                i += 1;
                continue;
            }
            _ => {
                return Err(err(
                    i,
                    format!("hunk ends early: {old_left} old and {new_left} new line(s) missing"),
                ))
            }
        };
        let (o, n) = match kind {
            Kind::Context => (1, 1),
            Kind::Remove => (1, 0),
            Kind::Add => (0, 1),
        };
        if old_left < o || new_left < n {
            return Err(err(i, "hunk has more lines than its `@@` line says".into()));
        }
        old_left -= o;
        new_left -= n;
        hunk.lines.push(HunkLine {
            kind,
            text: text.to_vec(),
        });
        i += 1;
    }
    // `\ No newline at end of file` after the hunk's last line.
    if lines.get(i).is_some_and(|l| l.starts_with(b"\\")) {
        drop_newline(&mut hunk);
        i += 1;
    }
    Ok((hunk, i))
}

/// A `\ No newline at end of file` marker: the line read last has none.
fn drop_newline(hunk: &mut Hunk) {
    if let Some(l) = hunk.lines.last_mut() {
        if l.text.ends_with(b"\n") {
            l.text.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_diff_with_dates_and_any_prefix() {
        let d = b"diff -urN linux.orig/kernel/a.c linux/kernel/a.c\n\
--- linux.orig/kernel/a.c\t2024-01-01 10:00:00.000000000 +0100\n\
+++ linux/kernel/a.c\t2024-01-02 10:00:00.000000000 +0100\n\
@@ -2,3 +2,3 @@ int f(void)\n two\n-three\n+THREE\n four\n";
        let files = parse(d, 1).unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.old_path.as_deref(), Some(&b"kernel/a.c"[..]));
        assert_eq!(f.new_path.as_deref(), Some(&b"kernel/a.c"[..]));
        assert!(!f.git && !f.creates() && !f.deletes());
        assert_eq!(f.hunks[0].heading, b"int f(void)");
        assert_eq!(
            f.hunks[0].old_lines(),
            [&b"two\n"[..], b"three\n", b"four\n"]
        );
        assert_eq!(
            f.hunks[0].new_lines(),
            [&b"two\n"[..], b"THREE\n", b"four\n"]
        );
        assert_eq!(f.hunks[0].outer_context(), (1, 1));
    }

    #[test]
    fn p0_names_and_latin1_survive() {
        let d = b"--- kernel/caf\xe9.c\n+++ kernel/caf\xe9.c\n@@ -1 +1 @@\n-na\xefve\n+NA\xcfVE\n";
        let f = &parse(d, 0).unwrap()[0];
        assert_eq!(f.new_path.as_deref(), Some(&b"kernel/caf\xe9.c"[..]));
        assert_eq!(f.hunks[0].new_lines(), [&b"NA\xcfVE\n"[..]]);
        let err = parse(b"--- a\n+++ a\n@@ -1 +1 @@\n-x\n+y\n", 1).unwrap_err();
        assert!(err.message.contains("-p1"), "{}", err.message);
    }

    #[test]
    fn git_diff_renames_modes_quoted_names_and_no_newline() {
        let d = b"diff --git \"a/caf\\303\\251\" \"b/caf\\303\\251\"\nnew file mode 100755\n\
index 0000000..1234567\n--- /dev/null\n+++ \"b/caf\\303\\251\"\n@@ -0,0 +1 @@\n+x\n\
\\ No newline at end of file\n\
diff --git a/old.c b/new.c\nsimilarity index 90%\nrename from old.c\nrename to new.c\n";
        let files = parse(d, 1).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files[0].creates());
        assert_eq!(files[0].new_path.as_deref(), Some("café".as_bytes()));
        assert_eq!(files[0].new_mode, Some(0o100755));
        assert_eq!(files[0].hunks[0].new_lines(), [&b"x"[..]]);
        assert_eq!(files[1].old_path.as_deref(), Some(&b"old.c"[..]));
        assert_eq!(files[1].new_path.as_deref(), Some(&b"new.c"[..]));
        assert!(files[1].hunks.is_empty());
    }

    #[test]
    fn a_short_hunk_is_an_error_with_its_line() {
        let e = parse(
            b"Subject: x\n\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n",
            1,
        )
        .unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("ends early"), "{}", e.message);
    }
}
