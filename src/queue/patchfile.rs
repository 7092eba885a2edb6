//! Patch files as queues: a `git format-patch` mbox series, a quilt `series` directory, or one
//! squashed patch. Parsing keeps the message, the author and the diff text, and checks that the
//! diff is something git can apply.

use std::path::{Path, PathBuf};

use super::{Author, QueueError, Result};
use crate::syntax::diff_header::{file_headers, start_at, Start};

/// One patch read from a file.
#[derive(Debug, Clone)]
pub struct PatchFile {
    /// The file it came from.
    pub path: PathBuf,
    /// 1-based line in `path` where this patch starts (an mbox holds several).
    pub line: usize,
    pub subject: String,
    /// Subject, blank line, body: the commit message to use.
    pub message: String,
    pub author: Option<Author>,
    /// The diff part, from the first `diff --git` (or `---`) line; empty for an empty commit.
    pub diff: Vec<u8>,
    /// Line in `path` where the diff starts.
    pub diff_line: usize,
    /// Leading path components to strip from `---`/`+++` names (quilt's `-pN`; default 1).
    pub strip: usize,
}

impl PatchFile {
    /// The pre-image blob ids the patch records (`index OLD..NEW`), by old path.
    pub fn index_lines(&self) -> Vec<(String, String)> {
        file_headers(&self.diff, self.strip)
            .into_iter()
            .filter_map(|h| {
                Some((
                    String::from_utf8_lossy(&h.old_path?).into_owned(),
                    h.old_blob?,
                ))
            })
            .collect()
    }

    /// The names of the files the diff touches (both names of a rename), as text.
    pub fn paths(&self) -> Vec<String> {
        file_headers(&self.diff, self.strip)
            .iter()
            .flat_map(|h| h.paths())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> QueueError + '_ {
    move |source| QueueError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a queue from `path`: a directory with a quilt `series` file (directly or under
/// `patches/`), a directory of `*.patch` mbox files, or a single file (mbox with one or more
/// mails, or a plain squashed diff).
pub fn read_queue(path: &Path) -> Result<Vec<PatchFile>> {
    if path.is_file() {
        return read_file(path);
    }
    let series = [path.join("series"), path.join("patches/series")]
        .into_iter()
        .find(|p| p.is_file());
    if let Some(series) = series {
        return read_series(&series);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io(path))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "patch" || e == "diff"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(QueueError::Malformed {
            path: path.to_path_buf(),
            line: 0,
            message: "no `series` file and no *.patch files here: give a quilt directory, a format-patch directory or a patch file".into(),
        });
    }
    let mut out = Vec::new();
    for file in files {
        out.extend(read_file(&file)?);
    }
    Ok(out)
}

/// A quilt series: one patch file name per line, `#` comments, optional `-pN` (the number of
/// leading components of the names in that patch's `---`/`+++` lines).
pub fn read_series(series: &Path) -> Result<Vec<PatchFile>> {
    let dir = series.parent().unwrap_or(Path::new("."));
    let text = String::from_utf8_lossy(&read_regular(series)?).into_owned();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let mut strip = 1;
        for opt in words {
            match opt.strip_prefix("-p").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => strip = n,
                None => {
                    return Err(QueueError::Malformed {
                        path: series.to_path_buf(),
                        line: n + 1,
                        message: format!(
                            "`{name}` uses {opt}: only -pN is understood in a series file"
                        ),
                    })
                }
            }
        }
        let file = dir.join(name);
        if !file.is_file() {
            return Err(QueueError::Malformed {
                path: series.to_path_buf(),
                line: n + 1,
                message: format!(
                    "patch `{name}` listed here does not exist in {}",
                    dir.display()
                ),
            });
        }
        out.extend(read_file_stripping(&file, strip)?);
    }
    Ok(out)
}

/// The largest patch file read: far above any real patch (a whole PREEMPT_RT squash is a few
/// MiB), low enough that a mistaken path (`/dev/zero` behind a symlink) cannot eat memory.
pub const MAX_PATCH_BYTES: u64 = 256 << 20;

/// Reads a file the user named as part of a queue: only a regular file (a FIFO would block
/// forever, a device never ends), and at most `MAX_PATCH_BYTES`.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let bad = |message: String| QueueError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        message,
    };
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if !meta.is_file() {
        let kind = {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            if t.is_dir() {
                "a folder"
            } else if t.is_fifo() {
                "a FIFO"
            } else if t.is_socket() {
                "a socket"
            } else if t.is_char_device() || t.is_block_device() {
                "a device"
            } else {
                "not a regular file"
            }
        };
        return Err(bad(format!(
            "is {kind}, not a patch file: only regular files are read as patches"
        )));
    }
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut bytes = Vec::new();
    file.take(MAX_PATCH_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > MAX_PATCH_BYTES {
        return Err(bad(format!(
            "is larger than {} MiB: not a patch file",
            MAX_PATCH_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// Reads one file: every mail of an mbox, or one plain patch. Headers and messages are read
/// as text (invalid UTF-8 shown as U+FFFD); the diff keeps the file's bytes exactly.
pub fn read_file(path: &Path) -> Result<Vec<PatchFile>> {
    read_file_stripping(path, 1)
}

/// [`read_file`] of a patch whose names carry `strip` leading components (`-pN`).
pub fn read_file_stripping(path: &Path, strip: usize) -> Result<Vec<PatchFile>> {
    let bytes = read_regular(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Lossy decoding never touches a newline, so both splits have the same lines.
    let raw: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    debug_assert_eq!(lines.len(), raw.len());
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_mbox_separator(l))
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return Ok(vec![parse_one(path, 0, &lines, &raw, strip)?]);
    }
    let mut out = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        out.push(parse_one(
            path,
            start,
            &lines[start..end],
            &raw[start..end],
            strip,
        )?);
    }
    Ok(out)
}

fn is_mbox_separator(line: &str) -> bool {
    // git format-patch writes "From <40-hex id> Mon Sep 17 00:00:00 2001".
    let Some(rest) = line.strip_prefix("From ") else {
        return false;
    };
    let id = rest.split_whitespace().next().unwrap_or("");
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_one(
    path: &Path,
    offset: usize,
    lines: &[&str],
    raw: &[&[u8]],
    strip: usize,
) -> Result<PatchFile> {
    let mut i = usize::from(lines.first().is_some_and(|l| is_mbox_separator(l)));
    let mut headers: Vec<(String, String)> = Vec::new();
    let has_headers = lines.get(i).is_some_and(|l| {
        l.starts_with("From: ") || l.starts_with("Subject: ") || l.starts_with("Date: ")
    });
    if has_headers {
        while i < lines.len() {
            let line = lines[i].trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                i += 1;
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
            }
            i += 1;
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| decode_rfc2047(v))
    };

    // The message ends at the first `---` line (format-patch) or where the diff begins.
    let diff_start = (i..lines.len()).find(|&j| {
        matches!(
            start_at(raw, j, 1),
            Some(Start::Git(_) | Start::Names { .. })
        )
    });
    let body_end = (i..diff_start.unwrap_or(lines.len()))
        .find(|&j| lines[j].trim_end() == "---")
        .or(diff_start)
        .unwrap_or(lines.len());
    let body: String = lines[i..body_end].concat();
    let body = body.trim().to_string();

    let subject = match header("subject") {
        Some(s) => strip_patch_tag(&s),
        None => body.lines().next().map(str::to_string).unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
    };
    let message = if has_headers {
        if body.is_empty() {
            format!("{subject}\n")
        } else {
            format!("{subject}\n\n{body}\n")
        }
    } else if body.is_empty() {
        format!("{subject}\n")
    } else {
        format!("{body}\n")
    };
    let author = match (header("from"), header("date")) {
        (Some(from), date) => Some(parse_author(&from, date.as_deref())),
        _ => None,
    };

    let mut diff = Vec::new();
    let mut diff_line = 0;
    if let Some(start) = diff_start {
        diff_line = offset + start + 1;
        let mut end = lines.len();
        // format-patch signature: "-- \n<git version>\n" at the end.
        if let Some(sig) = (start..lines.len()).rev().find(|&j| lines[j] == "-- \n") {
            end = sig;
        }
        for (j, line) in lines.iter().enumerate().take(end).skip(start) {
            if line.starts_with("GIT binary patch") || line.starts_with("Binary files ") {
                return Err(QueueError::Malformed {
                    path: path.to_path_buf(),
                    line: offset + j + 1,
                    message: format!("binary patch in `{subject}`: binary changes cannot be forward-ported as text; apply it by hand"),
                });
            }
            diff.extend_from_slice(raw.get(j).copied().unwrap_or(line.as_bytes()));
        }
        // Read without a repository: git's diffs and traditional ones (`diff -u`, quilt).
        if let Err(err) = super::unidiff::parse(&diff, strip) {
            return Err(QueueError::Malformed {
                path: path.to_path_buf(),
                line: diff_line + err.line - 1,
                message: format!("malformed diff in `{subject}`: {}", err.message),
            });
        }
    } else if !has_headers {
        return Err(QueueError::Malformed {
            path: path.to_path_buf(),
            line: offset + 1,
            message: "no diff and no mail headers: not a patch file".into(),
        });
    }
    Ok(PatchFile {
        path: path.to_path_buf(),
        line: offset + 1,
        subject,
        message,
        author,
        diff,
        diff_line,
        strip,
    })
}

/// `[PATCH v2 03/15] foo` → `foo`.
fn strip_patch_tag(subject: &str) -> String {
    let mut s = subject.trim();
    while s.starts_with('[') {
        match s.find(']') {
            Some(end) => s = s[end + 1..].trim_start(),
            None => break,
        }
    }
    s.to_string()
}

fn parse_author(from: &str, date: Option<&str>) -> Author {
    let (name, email) = match (from.find('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            from[..a].trim().trim_matches('"').to_string(),
            from[a + 1..b].trim().to_string(),
        ),
        _ => (from.trim().to_string(), String::new()),
    };
    let (time, offset) = date.and_then(parse_rfc2822).unwrap_or((0, 0));
    Author {
        name,
        email,
        time,
        offset,
    }
}

/// Parses `Tue, 1 Jan 2024 10:00:00 +0100` into (epoch seconds, offset minutes).
pub fn parse_rfc2822(date: &str) -> Option<(i64, i32)> {
    let date = date.split_once(',').map_or(date, |(_, rest)| rest).trim();
    let mut it = date.split_whitespace();
    let day: i64 = it.next()?.parse().ok()?;
    let month = it.next()?;
    let year: i64 = it.next()?.parse().ok()?;
    let time = it.next()?;
    let zone = it.next().unwrap_or("+0000");
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month = MONTHS
        .iter()
        .position(|m| month.to_ascii_lowercase().starts_with(m))? as i64
        + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits = zone.trim_start_matches(['+', '-']);
    let zone_minutes = if digits.len() == 4 {
        let v: i64 = digits.parse().ok()?;
        sign * ((v / 100) * 60 + v % 100)
    } else {
        0
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86400 + h * 3600 + m * 60 + s;
    Some((local - zone_minutes * 60, zone_minutes as i32))
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?q?Andr=C3=A9?=`), as git format-patch writes
/// non-ASCII names and subjects.
fn decode_rfc2047(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        if !(last_was_word && before.trim().is_empty()) {
            out.extend_from_slice(before.as_bytes());
        }
        let parts: Vec<&str> = after[2..].splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            out.extend_from_slice(after.as_bytes());
            rest = "";
            break;
        };
        let (encoding, text) = (parts[1], &parts[2][..end]);
        if encoding.eq_ignore_ascii_case("q") {
            let bytes = text.as_bytes();
            let mut k = 0;
            while k < bytes.len() {
                match bytes[k] {
                    b'_' => out.push(b' '),
                    b'=' if k + 2 < bytes.len() => {
                        let hex = std::str::from_utf8(&bytes[k + 1..k + 3]).unwrap_or("");
                        if let Ok(v) = u8::from_str_radix(hex, 16) {
                            out.push(v);
                            k += 2;
                        } else {
                            out.push(b'=');
                        }
                    }
                    b => out.push(b),
                }
                k += 1;
            }
        } else {
            out.extend_from_slice(text.as_bytes());
        }
        let consumed = 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &after[consumed..];
        last_was_word = true;
    }
    out.extend_from_slice(rest.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001
From: =?UTF-8?q?Andr=C3=A9=20Roth?= <andre@example.org>
Date: Tue, 2 Jan 2024 10:00:00 +0100
Subject: [PATCH 01/02] irq_pipeline: add a
 continued subject

Body line.
---
 a.txt | 1 +
 1 file changed, 1 insertion(+)

diff --git a/a.txt b/a.txt
index e69de29..7898192 100644
--- a/a.txt
+++ b/a.txt
@@ -0,0 +1 @@
+a
-- 
2.47.3

";

    #[test]
    fn parses_format_patch_mail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0001.patch");
        std::fs::write(&path, MAIL).unwrap();
        let patches = read_file(&path).unwrap();
        assert_eq!(patches.len(), 1);
        let p = &patches[0];
        assert_eq!(p.subject, "irq_pipeline: add a continued subject");
        assert_eq!(
            p.message,
            "irq_pipeline: add a continued subject\n\nBody line.\n"
        );
        let author = p.author.as_ref().unwrap();
        assert_eq!(author.name, "André Roth");
        assert_eq!(author.email, "andre@example.org");
        assert_eq!(author.time, 1704186000);
        assert_eq!(author.offset, 60);
        assert!(String::from_utf8_lossy(&p.diff).ends_with("+a\n"));
        assert_eq!(
            p.index_lines(),
            vec![("a.txt".to_string(), "e69de29".to_string())]
        );
        assert_eq!(p.paths(), ["a.txt"]);
        assert_eq!(p.diff_line, 12);
    }

    #[test]
    fn rejects_binary_and_garbage_with_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin.patch");
        std::fs::write(
            &bin,
            "Subject: x\n\ndiff --git a/f b/f\nindex 1..2 100644\nGIT binary patch\nliteral 1\n",
        )
        .unwrap();
        let err = read_file(&bin).unwrap_err().to_string();
        assert!(
            err.contains("bin.patch:5") && err.contains("binary"),
            "{err}"
        );
        let junk = dir.path().join("junk.patch");
        std::fs::write(&junk, "hello\nworld\n").unwrap();
        let err = read_file(&junk).unwrap_err().to_string();
        assert!(
            err.contains("junk.patch:1") && err.contains("not a patch"),
            "{err}"
        );
    }

    #[test]
    fn quilt_series_names_missing_patch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("series"), "# comment\nmissing.patch\n").unwrap();
        let err = read_queue(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("series:2") && err.contains("missing.patch"),
            "{err}"
        );
    }

    #[test]
    fn rfc2822_dates() {
        assert_eq!(
            parse_rfc2822("Thu, 1 Jan 1970 00:00:00 +0000"),
            Some((0, 0))
        );
        assert_eq!(
            parse_rfc2822("Mon, 1 Jan 2024 00:00:00 -0130"),
            Some((1704067200 + 5400, -90))
        );
    }
}
