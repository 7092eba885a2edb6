//! Struct and union bodies at file scope: `struct NAME {` ... `}`, so that a lock
//! declared inside is recorded as a field of NAME.

use super::nesting::Level;

pub struct StructBodies<'a> {
    src: &'a [u8],
    /// `struct NAME` just seen: NAME, if a `{` follows.
    pending: Option<(usize, usize)>,
    prev_was_struct_kw: bool,
    /// The struct whose body we are in.
    pub name: Option<String>,
}

impl<'a> StructBodies<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        StructBodies {
            src,
            pending: None,
            prev_was_struct_kw: false,
            name: None,
        }
    }

    #[inline]
    pub fn ident(&mut self, start: usize, end: usize, at: Level) {
        if at.depth == 0 {
            let word = &self.src[start..end];
            self.pending = self.prev_was_struct_kw.then_some((start, end));
            self.prev_was_struct_kw = word == b"struct" || word == b"union";
        }
    }

    /// The punctuation byte `b` at `at`; true when it is the `{` opening a struct body.
    #[inline]
    pub fn punct(&mut self, b: u8, at: Level) -> bool {
        // (A `}` back to file scope counts as at depth 0 here; the flag is already
        // clear inside a body, which only a `{` at depth 0 opens.)
        if at.depth == 0 && b != b'(' {
            self.prev_was_struct_kw = false;
        }
        match b {
            b'(' if at.depth == 0 => self.pending = None,
            b'{' if at.depth == 0 => {
                if let Some((s, e)) = self.pending.take() {
                    self.name = Some(String::from_utf8_lossy(&self.src[s..e]).into_owned());
                    return true;
                }
            }
            b'}' if at.depth == 0 => self.name = None,
            b';' | b'=' | b',' if at.top() => self.pending = None,
            _ => {}
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::each_token;
    use super::super::lexer::Kind;
    use super::*;

    /// The struct body each identifier of `src` is in, for the identifiers named `x*`.
    fn bodies(src: &[u8]) -> Vec<(String, Option<String>)> {
        let mut structs = StructBodies::new(src);
        let mut out = Vec::new();
        each_token(src, |t, at| match t.kind {
            Kind::Ident => {
                let word = String::from_utf8_lossy(&src[t.start..t.end]).into_owned();
                if word.starts_with('x') {
                    out.push((word, structs.name.clone()));
                }
                structs.ident(t.start, t.end, at);
            }
            Kind::Punct(b) => {
                structs.punct(b, at);
            }
            _ => {}
        });
        out
    }

    #[test]
    fn struct_and_union_bodies_are_named() {
        let got = bodies(b"struct a { int x1; struct b { int x2; } in; };\nint x3;\nunion u { int x4; };\nvoid f(struct c p) { int x5; }\n");
        let want = [
            ("x1", Some("a")),
            ("x2", Some("a")),
            ("x3", None),
            ("x4", Some("u")),
            ("x5", None),
        ];
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(x, s)| (x.to_string(), s.map(str::to_string)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_struct_type_before_a_body_is_not_a_struct_body() {
        // `struct s *f(void) {`: a function returning a pointer.
        let got = bodies(b"struct s *f(void) { int x1; }\nstruct s g = { x2 };\n");
        assert_eq!(got, [("x1".into(), None), ("x2".into(), None)]);
    }
}
