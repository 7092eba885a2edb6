//! Unified diffs read as bytes, without any repository: git's (`diff --git`, `index`, modes,
//! renames) and traditional ones (`diff -u` output, quilt's `---`/`+++` with any prefix and a
//! timestamp after a tab), with quilt's `-pN` strip level. Names and lines stay bytes, so a
//! Latin-1 file name or line survives untouched.

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
        let line = chomp(lines[i]);
        if let Some(rest) = line.strip_prefix(b"diff --git ") {
            let mut f = FileDiff {
                git: true,
                ..FileDiff::default()
            };
            if let Some((a, b)) = git_names(rest) {
                f.old_path = Some(strip_components(&a, 1).unwrap_or(a));
                f.new_path = Some(strip_components(&b, 1).unwrap_or(b));
            }
            files.push(f);
            in_git_header = true;
            i += 1;
            continue;
        }
        if line.starts_with(b"--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with(b"+++ ")) {
            let old = header_name(&line[4..], strip).map_err(|m| err(i, m))?;
            let new = header_name(&chomp(lines[i + 1])[4..], strip).map_err(|m| err(i + 1, m))?;
            if !in_git_header {
                files.push(FileDiff::default());
            }
            let f = files.last_mut().expect("pushed above");
            f.old_path = old;
            f.new_path = new;
            in_git_header = false;
            i += 2;
            continue;
        }
        if line.starts_with(b"@@ -") {
            let Some(f) = files.last_mut() else {
                return Err(err(i, "hunk before any file header (`---`/`+++`)".into()));
            };
            in_git_header = false;
            let (hunk, next) = read_hunk(&lines, i)?;
            f.hunks.push(hunk);
            i = next;
            continue;
        }
        if in_git_header {
            let f = files.last_mut().expect("in a git header");
            if let Some(m) = line.strip_prefix(b"new file mode ") {
                f.old_path = None;
                f.new_mode = octal(m);
            } else if line.starts_with(b"deleted file mode ") {
                f.new_path = None;
            } else if let Some(m) = line.strip_prefix(b"new mode ") {
                f.new_mode = octal(m);
            } else if let Some(p) = line.strip_prefix(b"rename from ") {
                f.old_path = Some(unquote(p));
            } else if let Some(p) = line.strip_prefix(b"rename to ") {
                f.new_path = Some(unquote(p));
            } else if let Some(rest) = line.strip_prefix(b"index ") {
                let ids = rest.split(|&b| b == b' ').next().unwrap_or_default();
                if let Some(dots) = ids.windows(2).position(|w| w == b"..") {
                    f.old_blob = Some(String::from_utf8_lossy(&ids[..dots]).into_owned());
                }
            } else if line.starts_with(b"GIT binary patch") || line.starts_with(b"Binary files ") {
                f.binary = true;
            }
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

fn chomp(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn octal(m: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(m).ok()?.trim(), 8).ok()
}

/// Reads the hunk whose `@@` line is `lines[at]`; returns it and the index after it.
fn read_hunk(lines: &[&[u8]], at: usize) -> Result<(Hunk, usize), DiffError> {
    let header = chomp(lines[at]);
    let (old_start, mut old_left, mut new_left, heading) =
        hunk_header(header).ok_or_else(|| err(at, "malformed `@@` line".into()))?;
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

/// `@@ -a,b +c,d @@ heading` → (a, b, d, heading).
fn hunk_header(line: &[u8]) -> Option<(usize, usize, usize, Vec<u8>)> {
    let rest = line.strip_prefix(b"@@ -")?;
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
    let (a, b) = range(old)?;
    let (_, d) = range(new)?;
    Some((a, b, d, heading.to_vec()))
}

/// The name on a `---`/`+++` line: up to a tab (traditional diffs put a date there), C-quoted
/// names unquoted, `strip` components removed; `None` for `/dev/null`.
fn header_name(rest: &[u8], strip: usize) -> Result<Option<Vec<u8>>, String> {
    let name = if rest.starts_with(b"\"") {
        unquote(rest)
    } else {
        let name = rest.split(|&b| b == b'\t').next().unwrap_or_default();
        // `diff -u` without a tab: "name  2024-01-01 10:00:00.000000000 +0100".
        let name = match name.windows(2).position(|w| w == b"  ") {
            Some(p) if looks_like_date(&name[p..]) => &name[..p],
            _ => name,
        };
        trim_end(name).to_vec()
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

fn trim_end(s: &[u8]) -> &[u8] {
    s.trim_ascii_end()
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

/// The two names of `diff --git a/X b/Y` (each possibly C-quoted), prefixes kept.
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
