//! A tree's index as its cache file holds it: one `bits name` line per name, sorted by name,
//! kept as read and searched by bisection. A kernel tree has millions of names: a hash map
//! with one allocation per name cost seconds to fill and seconds more to free on every run.

/// The file's lines (after its header), each `xx name\n` with `xx` the kind bits in hex.
#[derive(Clone, Default)]
pub(super) struct Sorted {
    text: Vec<u8>,
    /// Where each line starts, then `text.len()`.
    starts: Vec<u32>,
}

impl std::fmt::Debug for Sorted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sorted({} names)", self.len())
    }
}

impl Sorted {
    /// The index of `text`, or `text` back when a line is malformed, the names are not in
    /// strictly increasing byte order (a file written before the index was sorted), or the
    /// text is too long for 32-bit offsets.
    pub(super) fn new(text: Vec<u8>) -> Result<Sorted, Vec<u8>> {
        match line_starts(&text) {
            Some(starts) => Ok(Sorted { text, starts }),
            None => Err(text),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Line `i` without its newline.
    fn line(&self, i: usize) -> &[u8] {
        &self.text[self.starts[i] as usize..self.starts[i + 1] as usize - 1]
    }

    /// The kind bits of `name`, when the tree defines it.
    pub(super) fn get(&self, name: &str) -> Option<u8> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // Every line was checked by `new`.
            let (bits, key) = parse(self.line(mid))?;
            match key.cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(bits),
            }
        }
        None
    }

    /// Every (name, bits), in name order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, u8)> {
        (0..self.len()).filter_map(|i| {
            let (bits, name) = parse(self.line(i))?;
            Some((std::str::from_utf8(name).ok()?, bits))
        })
    }
}

/// Where each line of `text` starts, then its length; see [`Sorted::new`].
fn line_starts(text: &[u8]) -> Option<Vec<u32>> {
    let len = u32::try_from(text.len()).ok()?;
    if !text.is_empty() && text.last() != Some(&b'\n') {
        return None;
    }
    std::str::from_utf8(text).ok()?;
    let mut starts = Vec::with_capacity(text.len() / 20 + 1);
    let mut prev: &[u8] = &[];
    let mut at = 0;
    while at < text.len() {
        let end = at + text[at..].iter().position(|&b| b == b'\n')?;
        let name = parse(&text[at..end])?.1;
        if !starts.is_empty() && name <= prev {
            return None;
        }
        prev = name;
        // Below `len`, which fits.
        starts.push(at as u32);
        at = end + 1;
    }
    starts.push(len);
    Some(starts)
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
        let s = Sorted::new(b"01 a\n02 b_c\n41 zz\n".to_vec()).unwrap();
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
        assert_eq!(Sorted::new(Vec::new()).unwrap().get("a"), None);
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
            assert!(Sorted::new(bad.to_vec()).is_err(), "{bad:?}");
        }
    }
}
