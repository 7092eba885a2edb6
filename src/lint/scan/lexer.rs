//! The tokens of the lexical pass: identifiers, single punctuation bytes, preprocessor
//! lines and string/char literals, each with its byte range and line. Comments and
//! blanks are skipped here, so no recogniser sees them. Input is any bytes: nothing is
//! decoded, every range lies inside the input, and each byte is looked at a bounded
//! number of times (a block comment's end is found by a literal search).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    Ident,
    /// Any other byte that is not a blank: `{`, `;`, a digit, a byte above 0x7f...
    Punct(u8),
    /// A line whose first non-blank byte is `#`, from the `#` up to (not including) the
    /// newline that ends it; continuations and block comments are part of it.
    Directive,
    /// `"..."` or `'...'`, quotes included; an unterminated one ends after its newline.
    Literal,
}

/// One token: `src[start..end]`, starting on line `line` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub line: u32,
}

/// The tokens of `src`, in order.
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    /// Only blanks since the last newline: a `#` here starts a directive.
    line_start: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
            line_start: true,
        }
    }

    /// The end of the directive whose `#` is at `i`: the next newline that is not escaped
    /// and not inside a block comment (or the end of the input).
    fn directive_end(&mut self, mut i: usize) -> usize {
        // Directives are two fifths of a kernel tree's bytes (the register headers' #define
        // lines): jump between the bytes that matter instead of looking at each one.
        let (src, n) = (self.src, self.src.len());
        while let Some(at) = memchr::memchr3(b'\n', b'\\', b'/', &src[i..]) {
            i += at;
            match src[i] {
                b'\n' => return i,
                b'\\' if src.get(i + 1) == Some(&b'\n') => {
                    self.line += 1;
                    i += 2;
                }
                b'/' if src.get(i + 1) == Some(&b'*') => {
                    let end = skip_block_comment(src, i);
                    self.line += newlines(&src[i..end]);
                    i = end;
                }
                _ => i += 1,
            }
        }
        n
    }

    /// The end of the literal opened by the quote at `i`: after its closing quote, or
    /// after the newline that ends it unclosed (an escaped newline too).
    fn literal_end(&mut self, mut i: usize) -> usize {
        let (src, n) = (self.src, self.src.len());
        let quote = src[i];
        i += 1;
        while let Some(at) = memchr::memchr3(quote, b'\\', b'\n', &src[i..]) {
            i += at;
            if src[i] == b'\\' {
                // The escaped byte is skipped, whatever it is, but a newline still ends
                // the literal.
                i += 1;
                if i >= n {
                    break;
                }
                if src[i] != b'\n' {
                    i += 1;
                    continue;
                }
            }
            if src[i] == b'\n' {
                self.line += 1;
            }
            return i + 1;
        }
        n
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    #[inline]
    fn next(&mut self) -> Option<Token> {
        let (src, n) = (self.src, self.src.len());
        let mut i = self.pos;
        while i < n {
            let b = src[i];
            match b {
                b'\n' => {
                    self.line_start = true;
                    self.line += 1;
                    i += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let (start, line) = (i, self.line);
            let kind = if b == b'#' && self.line_start {
                i = self.directive_end(i);
                Kind::Directive
            } else {
                self.line_start = false;
                if b == b'/' && i + 1 < n && src[i + 1] == b'/' {
                    // The newline ending the comment is left for the loop.
                    i += memchr::memchr(b'\n', &src[i..]).unwrap_or(n - i);
                    continue;
                }
                if b == b'/' && i + 1 < n && src[i + 1] == b'*' {
                    let end = skip_block_comment(src, i);
                    self.line += newlines(&src[i..end]);
                    i = end;
                    continue;
                }
                if b == b'"' || b == b'\'' {
                    i = self.literal_end(i);
                    Kind::Literal
                } else if b.is_ascii_alphabetic() || b == b'_' {
                    i += 1;
                    while i < n && IDENT[src[i] as usize] {
                        i += 1;
                    }
                    Kind::Ident
                } else {
                    i += 1;
                    Kind::Punct(b)
                }
            };
            self.pos = i;
            return Some(Token {
                kind,
                start,
                end: i,
                line,
            });
        }
        self.pos = n;
        None
    }
}

fn newlines(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&c| c == b'\n').count() as u32
}

/// Bytes that continue an identifier (`[A-Za-z0-9_]`), looked up rather than tested.
static IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// The offset after the `*/` closing the comment opened at `i` (the end of `src` if none).
fn skip_block_comment(src: &[u8], i: usize) -> usize {
    static END: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    // A literal search (SIMD memmem), not a byte loop: comments are a large share of C.
    let end = END.get_or_init(|| regex::bytes::Regex::new(r"\*/").expect("a literal"));
    let from = (i + 2).min(src.len());
    end.find_at(src, from).map_or(src.len(), |m| m.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each token as (kind, text, line).
    fn lex(src: &[u8]) -> Vec<(Kind, String, u32)> {
        Lexer::new(src)
            .map(|t| {
                let text = String::from_utf8_lossy(&src[t.start..t.end]).into_owned();
                (t.kind, text, t.line)
            })
            .collect()
    }

    fn ident(s: &str, line: u32) -> (Kind, String, u32) {
        (Kind::Ident, s.to_string(), line)
    }

    fn punct(b: u8, line: u32) -> (Kind, String, u32) {
        (Kind::Punct(b), (b as char).to_string(), line)
    }

    #[test]
    fn comments_are_skipped_and_their_lines_counted() {
        let src = b"a /* b\n c */ d // e f\ng/**/h\n/* open";
        assert_eq!(
            lex(src),
            [ident("a", 1), ident("d", 2), ident("g", 3), ident("h", 3)]
        );
    }

    #[test]
    fn literals_with_escapes() {
        let src = br#"s = "a\"b" 'c' '\'' "\\" x"#;
        let got = lex(src);
        let lits: Vec<&str> = got
            .iter()
            .filter(|t| t.0 == Kind::Literal)
            .map(|t| t.1.as_str())
            .collect();
        assert_eq!(lits, [r#""a\"b""#, "'c'", r"'\''", r#""\\""#]);
        assert_eq!(got.last(), Some(&ident("x", 1)));
        assert_eq!(got[1], punct(b'=', 1));
    }

    #[test]
    fn an_unclosed_literal_ends_with_its_line() {
        // The newline goes with the literal: `#` after it is not at a line start.
        let src = b"\"open\n#x\n'\\\ny\n\"";
        assert_eq!(
            lex(src),
            [
                (Kind::Literal, "\"open\n".to_string(), 1),
                punct(b'#', 2),
                ident("x", 2),
                (Kind::Literal, "'\\\n".to_string(), 3),
                ident("y", 4),
                (Kind::Literal, "\"".to_string(), 5),
            ]
        );
    }

    #[test]
    fn directives_take_their_continuations_and_comments() {
        let src = b"  #define A(x) \\\n\tx + 1\n# if /* a\n b */ B // c\nint y;\n";
        assert_eq!(
            lex(src),
            [
                (Kind::Directive, "#define A(x) \\\n\tx + 1".to_string(), 1),
                (Kind::Directive, "# if /* a\n b */ B // c".to_string(), 3),
                ident("int", 5),
                ident("y", 5),
                punct(b';', 5),
            ]
        );
    }

    #[test]
    fn lone_backslashes_and_slashes_stay_in_their_directive_or_literal() {
        // In a directive, `\` not before a newline and `/` not before `*` are plain bytes;
        // in a literal, the escaped byte is skipped even when it is the quote, and a
        // backslash as the last byte ends the input.
        let src = b"#define A(x) x \\ 2 / 3\nint \"a\\\"/b\" c '\\";
        assert_eq!(
            lex(src),
            [
                (Kind::Directive, "#define A(x) x \\ 2 / 3".to_string(), 1),
                ident("int", 2),
                (Kind::Literal, "\"a\\\"/b\"".to_string(), 2),
                ident("c", 2),
                (Kind::Literal, "'\\".to_string(), 2),
            ]
        );
    }

    #[test]
    fn a_hash_not_at_a_line_start_is_punctuation() {
        let src = b"x #y\n/* c */ #z\n\t#w";
        assert_eq!(
            lex(src),
            [
                ident("x", 1),
                punct(b'#', 1),
                ident("y", 1),
                punct(b'#', 2),
                ident("z", 2),
                (Kind::Directive, "#w".to_string(), 3),
            ]
        );
    }

    #[test]
    fn digits_and_other_bytes_are_single_punctuation() {
        let got = lex(b"12ab\xff_9\x0b");
        assert_eq!(
            got.iter().map(|t| t.0).collect::<Vec<_>>(),
            [
                Kind::Punct(b'1'),
                Kind::Punct(b'2'),
                Kind::Ident,
                Kind::Punct(0xff),
                Kind::Ident,
                Kind::Punct(0x0b),
            ]
        );
        assert_eq!(got[2].1, "ab");
        assert_eq!(got[4].1, "_9");
    }

    #[test]
    fn ranges_stay_inside_any_input() {
        for src in [&b"\"\\"[..], b"'", b"#\\", b"/*", b"#/*", b"\"\\\n", b"\\"] {
            for t in Lexer::new(src) {
                assert!(t.start < t.end && t.end <= src.len(), "{src:?}: {t:?}");
            }
        }
    }
}
