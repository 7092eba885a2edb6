//! What a diff says about each file before its lines: git's `diff --git` line and extended
//! header (`new file mode`, `rename from`, `index`...), the `---`/`+++` names of any unified
//! diff (quilt's and `diff -u`'s too, with a strip level), and the `@@` ranges. Names stay
//! bytes and git's C-quoting is undone, so a Latin-1 or UTF-8 name survives as it is.

/// One line of git's extended header (the lines between `diff --git` and `---`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderLine {
    NewFile {
        mode: Option<u32>,
    },
    DeletedFile {
        mode: Option<u32>,
    },
    OldMode(Option<u32>),
    NewMode(Option<u32>),
    RenameFrom(Vec<u8>),
    RenameTo(Vec<u8>),
    CopyFrom(Vec<u8>),
    CopyTo(Vec<u8>),
    /// `similarity index N%` or `dissimilarity index N%`.
    Similarity,
    /// `index OLD..NEW [MODE]`: abbreviated blob ids.
    Index {
        old: String,
        new: String,
    },
    /// `GIT binary patch` or `Binary files ... differ`.
    Binary,
}

/// Reads one line of git's extended header (without its newline); `None` for anything else.
pub fn git_header_line(line: &[u8]) -> Option<HeaderLine> {
    let line = chomp(line);
    let after = |p: &[u8]| line.strip_prefix(p);
    Some(if let Some(m) = after(b"new file mode ") {
        HeaderLine::NewFile { mode: octal(m) }
    } else if let Some(m) = after(b"deleted file mode ") {
        HeaderLine::DeletedFile { mode: octal(m) }
    } else if let Some(m) = after(b"old mode ") {
        HeaderLine::OldMode(octal(m))
    } else if let Some(m) = after(b"new mode ") {
        HeaderLine::NewMode(octal(m))
    } else if let Some(p) = after(b"rename from ") {
        HeaderLine::RenameFrom(unquote(p))
    } else if let Some(p) = after(b"rename to ") {
        HeaderLine::RenameTo(unquote(p))
    } else if let Some(p) = after(b"copy from ") {
        HeaderLine::CopyFrom(unquote(p))
    } else if let Some(p) = after(b"copy to ") {
        HeaderLine::CopyTo(unquote(p))
    } else if after(b"similarity index ").is_some() || after(b"dissimilarity index ").is_some() {
        HeaderLine::Similarity
    } else if let Some(rest) = after(b"index ") {
        let ids = rest.split(|&b| b == b' ').next().unwrap_or_default();
        let dots = ids.windows(2).position(|w| w == b"..")?;
        HeaderLine::Index {
            old: String::from_utf8_lossy(&ids[..dots]).into_owned(),
            new: String::from_utf8_lossy(&ids[dots + 2..]).into_owned(),
        }
    } else if line.starts_with(b"GIT binary patch") || line.starts_with(b"Binary files ") {
        HeaderLine::Binary
    } else {
        return None;
    })
}

/// The two names of a `diff --git` line, each with its one-component prefix (`a/`, `b/`)
/// removed; `None` when the line is not one or its names cannot be told apart.
pub fn diff_git_names(line: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let rest = chomp(line).strip_prefix(b"diff --git ")?;
    let (a, b) = git_names(rest)?;
    Some((
        strip_components(&a, 1).unwrap_or(a),
        strip_components(&b, 1).unwrap_or(b),
    ))
}

/// The two names of `a/X b/Y` (each possibly C-quoted), prefixes kept.
fn git_names(rest: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if rest.starts_with(b"\"") {
        let close = quoted_end(rest)?;
        let a = unquote(&rest[..=close]);
        let b = rest.get(close + 1..)?.trim_ascii();
        return Some((a, unquote(b)));
    }
    if let Some(q) = rest.windows(2).rposition(|w| w == b" \"") {
        return Some((rest[..q].to_vec(), unquote(&rest[q + 1..])));
    }
    // Unquoted: the two names are the same length when the file is not renamed.
    let half = rest.len().checked_sub(1)? / 2;
    if rest.get(half) == Some(&b' ') && rest[..half].get(2..) == rest[half + 1..].get(2..) {
        return Some((rest[..half].to_vec(), rest[half + 1..].to_vec()));
    }
    let at = rest.windows(3).position(|w| w == b" b/")?;
    Some((rest[..at].to_vec(), rest[at + 1..].to_vec()))
}

fn quoted_end(s: &[u8]) -> Option<usize> {
    let mut k = 1;
    while k < s.len() {
        match s[k] {
            b'\\' => k += 2,
            b'"' => return Some(k),
            _ => k += 1,
        }
    }
    None
}

/// The name after `--- ` or `+++ `: up to a tab (traditional diffs put a date there), C-quoted
/// names unquoted, `strip` components removed; `None` for `/dev/null`. The error says why the
/// strip level does not fit.
pub fn file_name(rest: &[u8], strip: usize) -> Result<Option<Vec<u8>>, String> {
    let rest = chomp(rest);
    let name = if rest.starts_with(b"\"") {
        unquote(rest)
    } else {
        let name = rest.split(|&b| b == b'\t').next().unwrap_or_default();
        // `diff -u` without a tab: "name  2024-01-01 10:00:00.000000000 +0100".
        let name = match name.windows(2).position(|w| w == b"  ") {
            Some(p) if looks_like_date(&name[p..]) => &name[..p],
            _ => name,
        };
        name.trim_ascii_end().to_vec()
    };
    if name == b"/dev/null" {
        return Ok(None);
    }
    strip_components(&name, strip).map(Some).ok_or_else(|| {
        format!(
            "cannot strip {strip} leading component(s) from `{}` (series says -p{strip})",
            name.escape_ascii()
        )
    })
}

fn looks_like_date(s: &[u8]) -> bool {
    let t = s.trim_ascii_start();
    t.len() >= 10 && t[..4].iter().all(u8::is_ascii_digit) && t[4] == b'-'
}

/// `a/kernel/x.c` with 1 → `kernel/x.c`; `None` when there are not enough components.
pub fn strip_components(name: &[u8], strip: usize) -> Option<Vec<u8>> {
    let mut rest = name;
    for _ in 0..strip {
        let slash = rest.iter().position(|&b| b == b'/')?;
        rest = &rest[slash + 1..];
        while rest.first() == Some(&b'/') {
            rest = &rest[1..];
        }
    }
    (!rest.is_empty()).then(|| rest.to_vec())
}

/// Undoes git's C-style quoting of a name (`"a/caf\303\251"`); an unquoted name is kept.
pub fn unquote(s: &[u8]) -> Vec<u8> {
    let s = chomp(s);
    let Some(inner) = s.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) else {
        return s.to_vec();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut k = 0;
    while k < inner.len() {
        if inner[k] != b'\\' || k + 1 >= inner.len() {
            out.push(inner[k]);
            k += 1;
            continue;
        }
        let c = inner[k + 1];
        let octal = inner
            .get(k + 1..k + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if let Some(d) = octal {
            let v = d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
            out.push(v as u8);
            k += 4;
            continue;
        }
        out.push(match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'r' => b'\r',
            b'v' => 0x0b,
            other => other,
        });
        k += 2;
    }
    out
}

/// The ranges of a `@@ -a,b +c,d @@ heading` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkRange {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    /// The text after the second `@@` (git's or `diff -p`'s enclosing function line).
    pub heading: Vec<u8>,
}

pub fn hunk_header(line: &[u8]) -> Option<HunkRange> {
    let rest = chomp(line).strip_prefix(b"@@ -")?;
    let end = rest.windows(3).position(|w| w == b" @@")?;
    let ranges = std::str::from_utf8(&rest[..end]).ok()?;
    let heading = rest[end + 3..]
        .strip_prefix(b" ")
        .unwrap_or(&rest[end + 3..]);
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(usize, usize)> {
        match r.split_once(',') {
            Some((s, n)) => Some((s.parse().ok()?, n.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_lines) = range(old)?;
    let (new_start, new_lines) = range(new)?;
    Some(HunkRange {
        old_start,
        old_lines,
        new_start,
        new_lines,
        heading: heading.to_vec(),
    })
}

/// Everything the headers say about one file of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHeader {
    /// 1-based line of its `diff --git` (or `---`) line.
    pub line: usize,
    /// The name before, prefix stripped; `None` when the file is created.
    pub old_path: Option<Vec<u8>>,
    /// The name after; `None` when the file is deleted.
    pub new_path: Option<Vec<u8>>,
    /// A `diff --git` section (names are exact; a rename is a rename).
    pub git: bool,
    pub old_mode: Option<u32>,
    pub new_mode: Option<u32>,
    /// Abbreviated blob ids of an `index` line.
    pub old_blob: Option<String>,
    pub new_blob: Option<String>,
    /// `copy from`/`copy to`: the old file stays.
    pub copied: bool,
    pub binary: bool,
    /// The `@@` ranges of its hunks, in order.
    pub hunks: Vec<HunkRange>,
}

impl FileHeader {
    /// Takes in one line of git's extended header.
    pub fn read(&mut self, line: HeaderLine) {
        match line {
            HeaderLine::NewFile { mode } => {
                self.old_path = None;
                self.new_mode = mode;
            }
            HeaderLine::DeletedFile { mode } => {
                self.new_path = None;
                self.old_mode = mode;
            }
            HeaderLine::OldMode(m) => self.old_mode = m,
            HeaderLine::NewMode(m) => self.new_mode = m,
            HeaderLine::RenameFrom(p) => self.old_path = Some(p),
            HeaderLine::RenameTo(p) => self.new_path = Some(p),
            HeaderLine::CopyFrom(p) => {
                self.old_path = Some(p);
                self.copied = true;
            }
            HeaderLine::CopyTo(p) => {
                self.new_path = Some(p);
                self.copied = true;
            }
            HeaderLine::Similarity => {}
            HeaderLine::Index { old, new } => {
                self.old_blob = Some(old);
                self.new_blob = Some(new);
            }
            HeaderLine::Binary => self.binary = true,
        }
    }

    /// The names the file has, before and after (one when they are the same).
    pub fn paths(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = self.old_path.iter().map(Vec::as_slice).collect();
        if let Some(new) = self.new_path.as_deref() {
            if out.first() != Some(&new) {
                out.push(new);
            }
        }
        out
    }
}

/// What a line of a diff starts, read with the next line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A `diff --git` section, its names read from that line.
    Git(FileHeader),
    /// A `---`/`+++` pair (two lines): the names, or why the strip level does not fit them.
    Names {
        old: Result<Option<Vec<u8>>, String>,
        new: Result<Option<Vec<u8>>, String>,
    },
    /// A `@@` line.
    Hunk(Option<HunkRange>),
}

/// What `lines[i]` starts, if anything (`strip` is for `---`/`+++` names).
pub fn start_at(lines: &[&[u8]], i: usize, strip: usize) -> Option<Start> {
    let line = chomp(lines.get(i)?);
    if line.starts_with(b"diff --git ") {
        let (old_path, new_path) = diff_git_names(line).unzip();
        return Some(Start::Git(FileHeader {
            line: i + 1,
            git: true,
            old_path,
            new_path,
            ..FileHeader::default()
        }));
    }
    if line.starts_with(b"--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with(b"+++ ")) {
        return Some(Start::Names {
            old: file_name(&line[4..], strip),
            new: file_name(&lines[i + 1][4..], strip),
        });
    }
    line.starts_with(b"@@ -")
        .then(|| Start::Hunk(hunk_header(line)))
}

/// The header of every file of `diff`, with its hunks' ranges (hunk bodies skipped by their counts, so a removed
/// line `-- x` is never taken for a header), `---`/`+++` names stripped of `strip`
/// components (git's `a/`/`b/` are one). Text around the diff (mail headers, a signature)
/// is skipped; a name the strip level does not fit is left out.
pub fn file_headers(diff: &[u8], strip: usize) -> Vec<FileHeader> {
    file_diffs(diff, strip)
        .into_iter()
        .map(|f| f.header)
        .collect()
}

/// One file of a diff: its header and the lines of each hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff<'a> {
    pub header: FileHeader,
    /// Parallel to `header.hunks`: each hunk's body lines, newline included (` `, `-`, `+`
    /// and `\` lines; an empty line is context whose space was stripped).
    pub bodies: Vec<Vec<&'a [u8]>>,
}

impl FileDiff<'_> {
    /// The path the file has after the change, else before (a deletion).
    pub fn path(&self) -> Option<&[u8]> {
        self.header
            .new_path
            .as_deref()
            .or(self.header.old_path.as_deref())
    }

    /// The added (`+`) and removed (`-`) lines of every hunk, in order, without the sign and
    /// the line end.
    pub fn changed_lines(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.bodies
            .iter()
            .flatten()
            .filter_map(|l| match l.first() {
                Some(&sign @ (b'+' | b'-')) => Some((sign, chomp(&l[1..]))),
                _ => None,
            })
    }
}

/// [`file_headers`] with each hunk's body: the one reader of a diff's structure.
pub fn file_diffs(diff: &[u8], strip: usize) -> Vec<FileDiff<'_>> {
    let lines: Vec<&[u8]> = diff.split_inclusive(|&b| b == b'\n').collect();
    let mut out: Vec<FileDiff> = Vec::new();
    let mut in_git_header = false;
    let mut i = 0;
    while i < lines.len() {
        match start_at(&lines, i, strip) {
            Some(Start::Git(header)) => {
                out.push(FileDiff {
                    header,
                    bodies: Vec::new(),
                });
                in_git_header = true;
            }
            Some(Start::Names { old, new }) => {
                if !in_git_header {
                    out.push(FileDiff {
                        header: FileHeader {
                            line: i + 1,
                            ..FileHeader::default()
                        },
                        bodies: Vec::new(),
                    });
                }
                let f = &mut out.last_mut().expect("pushed above").header;
                if let Ok(old) = old {
                    f.old_path = old;
                }
                if let Ok(new) = new {
                    f.new_path = new;
                }
                in_git_header = false;
                i += 1;
            }
            Some(Start::Hunk(range)) => {
                in_git_header = false;
                if let Some(r) = range {
                    let end = skip_hunk(&lines, i + 1, r.old_lines, r.new_lines);
                    if let Some(f) = out.last_mut() {
                        f.header.hunks.push(r);
                        f.bodies.push(lines[i + 1..end].to_vec());
                    }
                    i = end;
                    continue;
                }
            }
            None if in_git_header => {
                if let Some(h) = git_header_line(lines[i]) {
                    out.last_mut().expect("in a git header").header.read(h);
                }
            }
            None => {}
        }
        i += 1;
    }
    out
}

/// The index after a hunk body starting at `i` (stops early where the body is cut short).
fn skip_hunk(lines: &[&[u8]], mut i: usize, mut old: usize, mut new: usize) -> usize {
    while old > 0 || new > 0 {
        match lines.get(i).and_then(|l| l.first()) {
            Some(b' ' | b'\n' | b'\r') => {
                old = old.saturating_sub(1);
                new = new.saturating_sub(1);
            }
            Some(b'-') => old = old.saturating_sub(1),
            Some(b'+') => new = new.saturating_sub(1),
            Some(b'\\') => {}
            _ => return i,
        }
        i += 1;
    }
    i
}

/// The line without its newline (and a carriage return before it).
pub fn chomp(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn octal(m: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(m).ok()?.trim(), 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_headers_renames_copies_modes_and_quoted_names() {
        let d = b"From x\nSubject: y\n\n---\n a | 1 +\n\n\
diff --git \"a/caf\\303\\251\" \"b/caf\\303\\251\"\nnew file mode 100755\n\
index 0000000..1234567\n--- /dev/null\n+++ \"b/caf\\303\\251\"\n@@ -0,0 +1,2 @@\n+x\n+-- y\n\
diff --git a/old.c b/new.c\nsimilarity index 90%\nrename from old.c\nrename to new.c\n\
diff --git a/m.sh b/m.sh\nold mode 100644\nnew mode 100755\n\
diff --git a/src.c b/dup.c\ncopy from src.c\ncopy to dup.c\n\
diff --git a/gone.bin b/gone.bin\ndeleted file mode 100644\nindex abc..000\nBinary files a/gone.bin and /dev/null differ\n";
        let h = file_headers(d, 1);
        assert_eq!(h.len(), 5);
        assert_eq!(h[0].line, 7);
        assert_eq!(h[0].old_path, None);
        assert_eq!(h[0].new_path.as_deref(), Some("café".as_bytes()));
        assert_eq!(h[0].new_mode, Some(0o100755));
        assert_eq!(h[0].old_blob.as_deref(), Some("0000000"));
        assert_eq!(h[1].paths(), [&b"old.c"[..], b"new.c"]);
        assert_eq!(
            (h[2].old_mode, h[2].new_mode),
            (Some(0o100644), Some(0o100755))
        );
        assert_eq!(h[2].paths(), [&b"m.sh"[..]]);
        assert!(h[3].copied);
        assert_eq!(h[3].paths(), [&b"src.c"[..], b"dup.c"]);
        assert!(h[4].binary && h[4].new_path.is_none());
        assert_eq!(h[4].old_blob.as_deref(), Some("abc"));
    }

    #[test]
    fn traditional_names_strip_levels_and_latin1() {
        let d = b"--- linux.orig/kernel/caf\xe9.c\t2024-01-01 10:00:00 +0100\n\
+++ linux/kernel/caf\xe9.c  2024-01-02 10:00:00.000000000 +0100\n@@ -1 +1 @@\n-a\n+b";
        let h = file_headers(d, 1);
        assert_eq!(h.len(), 1);
        assert!(!h[0].git);
        assert_eq!(h[0].paths(), [&b"kernel/caf\xe9.c"[..]]);
        assert_eq!(
            file_name(b"a\n", 1).unwrap_err(),
            "cannot strip 1 leading component(s) from `a` (series says -p1)"
        );
        assert_eq!(file_name(b"/dev/null", 1), Ok(None));
        assert_eq!(strip_components(b"a//b/c", 1).as_deref(), Some(&b"b/c"[..]));
        assert_eq!(strip_components(b"a/", 1), None);
    }

    #[test]
    fn edges_of_a_line() {
        assert_eq!(
            diff_git_names(b"diff --git a/x b/x\r\n"),
            Some((b"x".to_vec(), b"x".to_vec()))
        );
        // Names holding " b/": the equal halves settle it.
        assert_eq!(
            diff_git_names(b"diff --git a/x b/y b/x b/y"),
            Some((b"x b/y".to_vec(), b"x b/y".to_vec()))
        );
        assert_eq!(diff_git_names(b"diff --git "), None);
        assert_eq!(diff_git_names(b"diff --git \"a/unterminated"), None);
        assert_eq!(unquote(b"\"tab\\there\\\""), b"tab\there\\".to_vec());
        assert_eq!(unquote(b"\"\\377\""), vec![0xff]);
        assert_eq!(git_header_line(b"index 1234"), None);
        assert_eq!(
            git_header_line(b"new mode 7x"),
            Some(HeaderLine::NewMode(None))
        );
        let r = hunk_header(b"@@ -0,0 +1 @@").unwrap();
        assert_eq!(
            (r.old_start, r.old_lines, r.new_start, r.new_lines),
            (0, 0, 1, 1)
        );
        assert!(r.heading.is_empty());
        assert_eq!(hunk_header(b"@@ -1 +x @@"), None);
        // A hunk cut short at the very end of the text.
        assert_eq!(
            file_headers(b"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a", 1).len(),
            1
        );
        assert!(file_headers(b"", 1).is_empty());
    }
}
