//! Stores of a function name in a struct member: `.member = [&]name` (initialisers)
//! and `->member = [&]name` (assignments), followed by `,` `;` `}` or `)`. The ops
//! slots a file fills, whatever the struct.

/// Follows the pattern one token at a time.
pub struct MemberStores<'a> {
    src: &'a [u8],
    state: u8,
    member: Option<(usize, usize)>,
    found: Vec<String>,
}

impl<'a> MemberStores<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        MemberStores {
            src,
            state: 0,
            member: None,
            found: Vec::new(),
        }
    }

    #[inline]
    pub fn ident(&mut self, start: usize, end: usize) {
        self.state = match self.state {
            1 => {
                self.member = Some((start, end));
                2
            }
            3 | 4 => 5,
            _ => 0,
        };
    }

    /// The punctuation byte at `pos`.
    #[inline]
    pub fn punct(&mut self, pos: usize) {
        let b = self.src[pos];
        let next = self.src.get(pos + 1).copied().unwrap_or(0);
        let (state, done) = match (b, self.state) {
            (b'.', _) => (1, None),
            (b'-', _) if next == b'>' => (1, None),
            (b'>', 1) => (1, None),
            (b'=', 2) if next != b'=' => (3, None),
            (b'&', 3) => (4, None),
            (b',' | b';' | b'}' | b')', 5) => (0, self.member),
            _ => (0, None),
        };
        self.state = state;
        if let Some((s, e)) = done {
            self.found
                .push(String::from_utf8_lossy(&self.src[s..e]).into_owned());
        }
    }

    /// The members stored to, sorted, without duplicates.
    pub fn finish(mut self) -> Vec<String> {
        self.found.sort();
        self.found.dedup();
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::super::each_token;
    use super::super::lexer::Kind;
    use super::*;

    fn stores(src: &[u8]) -> Vec<String> {
        let mut m = MemberStores::new(src);
        each_token(src, |t, _| match t.kind {
            Kind::Ident => m.ident(t.start, t.end),
            Kind::Punct(_) => m.punct(t.start),
            _ => {}
        });
        m.finish()
    }

    #[test]
    fn initialisers_and_assignments_of_a_name() {
        let src = b"struct ops o = { .b = fb, .a = &fa, .n = 3, .c = (void *)fc, .d = fd };\nvoid f(struct x *p) { p->e = fe; p->a = fa2; if (p->g == h) p->q.r = fr; }\n";
        assert_eq!(stores(src), ["a", "b", "d", "e", "r"]);
    }

    #[test]
    fn not_comparisons_calls_or_expressions() {
        let src = b"x = p->a == b; y = q.c(d); z.e = f + g; w.h = i->j;\n";
        assert!(stores(src).is_empty(), "{:?}", stores(src));
    }
}
