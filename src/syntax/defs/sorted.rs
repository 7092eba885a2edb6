//! A tree's index as its cache file holds it: one `bits name` line per name, sorted by name,
//! kept as read and searched by bisection. A kernel tree has millions of names: a hash map
//! with one allocation per name cost seconds to fill and seconds more to free on every run.

use super::mapped::Bytes;

/// The file's lines (after its header), each `xx name\n` with `xx` the kind bits in hex.
#[derive(Clone, Default)]
pub(super) struct Sorted {
    /// The file as read or mapped; its lines start at `from`.
    text: Bytes,
    from: usize,
}

impl std::fmt::Debug for Sorted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sorted({} names)", self.len())
    }
}

/// Up to this size a file's every line is checked; a larger one is checked at its two ends
/// and at `SAMPLES` lines spread over it.
const CHECKED_WHOLE: usize = 1 << 16;
const SAMPLES: usize = 4096;

impl Sorted {
    /// The index in `text[from..]`, or `text` back when it does not read as one: not ending in
    /// a newline, a malformed line, or names not in strictly increasing byte order (a file
    /// written unsorted, before the index was searched in place, is in hash order and fails
    /// the first comparisons). A kernel tree's index is 100 MB, read on every `--continue`:
    /// beyond its first and last 64 KiB only a sample of lines is checked, and a line a search
    /// meets that does not parse reads as not defined.
    pub(super) fn new(text: impl Into<Bytes>, from: usize) -> Result<Sorted, Bytes> {
        let text = text.into();
        let body = text.get(from..).unwrap_or_default();
        if !body.is_empty() && body.last() != Some(&b'\n') {
            return Err(text);
        }
        let (head_end, tail_start) = if body.len() > 2 * CHECKED_WHOLE {
            (
                line_end(body, CHECKED_WHOLE),
                line_start(body, body.len() - CHECKED_WHOLE),
            )
        } else {
            (body.len(), body.len())
        };
        let checked = if head_end >= tail_start {
            in_order(body.split_inclusive(|&b| b == b'\n'))
        } else {
            // Line starts spread between the two ends, each once.
            let span = tail_start - head_end;
            let mut starts: Vec<usize> = (0..SAMPLES)
                .map(|k| line_start(body, head_end + k * span / SAMPLES))
                .collect();
            starts.dedup();
            let middle = starts.into_iter().map(|s| &body[s..line_end(body, s)]);
            in_order(
                body[..head_end]
                    .split_inclusive(|&b| b == b'\n')
                    .chain(middle)
                    .chain(body[tail_start..].split_inclusive(|&b| b == b'\n')),
            )
        };
        if !checked {
            return Err(text);
        }
        Ok(Sorted { text, from })
    }

    /// The number of names: one pass over the lines, so only for writing the index out (a
    /// search never needs it and must not read a mapped file whole).
    pub(super) fn len(&self) -> usize {
        memchr::memchr_iter(b'\n', self.body()).count()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.body().is_empty()
    }

    fn body(&self) -> &[u8] {
        self.text.get(self.from..).unwrap_or_default()
    }

    /// The kind bits of `name`, when the tree defines it: bisection over the bytes, each
    /// step on the line around the middle.
    pub(super) fn get(&self, name: &str) -> Option<u8> {
        let body = self.body();
        // Both ends are line starts.
        let (mut lo, mut hi) = (0, body.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = memchr::memrchr(b'\n', &body[lo..mid]).map_or(lo, |k| lo + k + 1);
            let end = start + memchr::memchr(b'\n', &body[start..hi])?;
            let (bits, key) = parse(&body[start..end])?;
            match key.cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => lo = end + 1,
                std::cmp::Ordering::Greater => hi = start,
                std::cmp::Ordering::Equal => return Some(bits),
            }
        }
        None
    }

    /// Every (name, bits), in name order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, u8)> {
        self.body().split(|&b| b == b'\n').filter_map(|line| {
            let (bits, name) = parse(line)?;
            Some((std::str::from_utf8(name).ok()?, bits))
        })
    }
}

/// Whether every line (each with its newline) parses, is UTF-8 and comes after the one
/// before.
fn in_order<'a>(lines: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut prev: Option<&[u8]> = None;
    for line in lines {
        let Some((_, name)) = line.strip_suffix(b"\n").and_then(parse) else {
            return false;
        };
        if std::str::from_utf8(name).is_err() || prev.is_some_and(|p| name <= p) {
            return false;
        }
        prev = Some(name);
    }
    true
}

/// The start of the line holding byte `at`.
fn line_start(body: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &body[..at]).map_or(0, |k| k + 1)
}

/// The end (after its newline) of the line holding byte `at`; `body` ends in a newline.
fn line_end(body: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &body[at..]).map_or(body.len(), |k| at + k + 1)
}

/// A line's bits and name: `xx name`, the name not empty.
fn parse(line: &[u8]) -> Option<(u8, &[u8])> {
    let (bits, name) = (line.get(..2)?, line.get(3..)?);
    if line[2] != b' ' || name.is_empty() {
        return None;
    }
    let bits = u8::from_str_radix(std::str::from_utf8(bits).ok()?, 16).ok()?;
    Some((bits, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lines_are_found_by_bisection() {
        let s = Sorted::new(b"01 a\n02 b_c\n41 zz\n".to_vec(), 0).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.get("a"), Some(1));
        assert_eq!(s.get("b_c"), Some(2));
        assert_eq!(s.get("zz"), Some(0x41));
        assert_eq!(s.get("b"), None);
        assert_eq!(s.get(""), None);
        assert_eq!(s.get("zzz"), None);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [("a", 1), ("b_c", 2), ("zz", 0x41)]
        );
        assert_eq!(Sorted::new(Vec::new(), 0).unwrap().get("a"), None);
    }

    /// A file larger than the part checked whole: every name is found, and one written in
    /// hash order (as versions before the sorted index wrote it) is refused.
    #[test]
    fn a_large_index_is_checked_by_sample_and_searched_in_place() {
        let names: Vec<String> = (0..40_000).map(|k| format!("name_{k:06}")).collect();
        let text: Vec<u8> = names
            .iter()
            .enumerate()
            .flat_map(|(k, n)| format!("{:02x} {n}\n", k % 7 + 1).into_bytes())
            .collect();
        assert!(text.len() > 2 * CHECKED_WHOLE);
        let header = b"head\n".to_vec();
        let s = Sorted::new([header.clone(), text.clone()].concat(), header.len()).unwrap();
        assert_eq!(s.len(), names.len());
        for (k, n) in names.iter().enumerate().step_by(97) {
            assert_eq!(s.get(n), Some((k % 7 + 1) as u8), "{n}");
        }
        assert_eq!(
            s.get(&names[names.len() - 1]),
            Some(((names.len() - 1) % 7 + 1) as u8)
        );
        assert_eq!(s.get("name_"), None);
        assert_eq!(s.get("name_9"), None);
        assert_eq!(s.iter().count(), names.len());
        // Hash order: refused from its first lines.
        let mut shuffled: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        shuffled.swap(3, 30_000);
        assert!(Sorted::new(shuffled.concat(), 0).is_err());
        // Out of order in the middle only: a sampled line sees it.
        let mut middle: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        middle[15_000..25_000].reverse();
        assert!(Sorted::new(middle.concat(), 0).is_err());
    }

    #[test]
    fn unsorted_repeated_or_malformed_lines_are_refused() {
        for bad in [
            &b"01 b\n01 a\n"[..],
            b"01 a\n02 a\n",
            b"01 a\n02 b",
            b"0x a\n",
            b"01a\n",
            b"01 \n",
            b"\n",
            b"01 \xff\n",
        ] {
            assert!(Sorted::new(bad.to_vec(), 0).is_err(), "{bad:?}");
        }
    }
}
