//! Brace and parenthesis depth, the one piece of state every recogniser reads.

/// Where a token sits: its brace depth and parenthesis depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Level {
    pub depth: usize,
    pub paren: usize,
}

impl Level {
    /// Outside every body and parameter list.
    #[inline]
    pub fn top(self) -> bool {
        self.depth == 0 && self.paren == 0
    }
}

/// Follows `{}` and `()`. Unbalanced closers are ignored; a `{` at file scope starts
/// the parenthesis count afresh, so a stray `(` before a body cannot hide every later
/// definition.
#[derive(Debug, Default)]
pub struct Nesting {
    now: Level,
}

impl Nesting {
    /// The level of an identifier.
    #[inline]
    pub fn level(&self) -> Level {
        self.now
    }

    /// Takes the punctuation byte `b` and returns the level it sits at: the level
    /// outside the pair for a bracket, opening or closing, so that `(` and its `)` (or
    /// `{` and its `}`) see the same level.
    #[inline]
    pub fn punct(&mut self, b: u8) -> Level {
        let before = self.now;
        match b {
            b'(' => self.now.paren += 1,
            b')' => self.now.paren = self.now.paren.saturating_sub(1),
            b'{' => {
                if before.depth == 0 {
                    self.now.paren = 0;
                }
                self.now.depth += 1;
            }
            b'}' => self.now.depth = self.now.depth.saturating_sub(1),
            _ => {}
        }
        match b {
            b')' | b'}' => self.now,
            _ => before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(src: &[u8]) -> Vec<(usize, usize)> {
        let mut n = Nesting::default();
        src.iter()
            .map(|&b| {
                let l = n.punct(b);
                (l.depth, l.paren)
            })
            .collect()
    }

    #[test]
    fn pairs_see_the_level_outside_them() {
        assert_eq!(
            levels(b"(){(;)}"),
            [(0, 0), (0, 0), (0, 0), (1, 0), (1, 1), (1, 0), (0, 0)]
        );
    }

    #[test]
    fn stray_closers_and_a_file_scope_brace() {
        assert_eq!(levels(b")}"), [(0, 0), (0, 0)]);
        // `(` left open, then a body: the count restarts at its `{`.
        assert_eq!(levels(b"({;"), [(0, 0), (0, 1), (1, 0)]);
        // Inside a body it does not.
        assert_eq!(levels(b"{({;"), [(0, 0), (1, 0), (1, 1), (2, 1)]);
    }
}
