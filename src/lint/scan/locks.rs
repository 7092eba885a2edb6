//! Lock declarations: `TYPE name` followed by `;` `[` `,` or `=` for a lock type, and
//! `DEFINE_X(name)` for a macro that defines a lock of a known type. Inside a struct
//! body they are the struct's fields, elsewhere variables.

use std::collections::BTreeMap;

use super::nesting::Level;

pub struct LockDecls<'a> {
    src: &'a [u8],
    lock_types: &'a [&'a str],
    defines: &'a BTreeMap<String, String>,
    /// The token before this one, when an identifier.
    prev_ident: Option<(usize, usize)>,
    /// `DEFINE_X(` just seen: its argument is the lock's name.
    define_macro: Option<String>,
    /// (struct, field, type).
    pub fields: Vec<(String, String, String)>,
    /// (name, type, file scope).
    pub vars: Vec<(String, String, bool)>,
}

impl<'a> LockDecls<'a> {
    /// `lock_types`: the type names to record; `defines`: `DEFINE_*` macro -> type.
    pub fn new(
        src: &'a [u8],
        lock_types: &'a [&'a str],
        defines: &'a BTreeMap<String, String>,
    ) -> Self {
        LockDecls {
            src,
            lock_types,
            defines,
            prev_ident: None,
            define_macro: None,
            fields: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// The identifier `src[start..end]` at `at`, in the body of struct `in_struct`.
    #[inline]
    pub fn ident(&mut self, start: usize, end: usize, at: Level, in_struct: Option<&str>) {
        let src = self.src;
        let word = &src[start..end];
        if let Some((ps, pe)) = self.prev_ident.filter(|&(s, e)| src[s..e].ends_with(b"_t")) {
            let prev = &src[ps..pe];
            if let Some(ty) = self.lock_types.iter().find(|t| t.as_bytes() == prev) {
                if matches!(next_non_blank(src, end), Some(b';' | b'[' | b',' | b'=')) {
                    let name = String::from_utf8_lossy(word).into_owned();
                    match (in_struct, at.depth) {
                        (Some(s), d) if d >= 1 => {
                            self.fields.push((s.to_string(), name, ty.to_string()))
                        }
                        _ => self.vars.push((name, ty.to_string(), at.depth == 0)),
                    }
                }
            }
        }
        if let Some(m) = self.define_macro.take() {
            if let Some(ty) = self.defines.get(&m) {
                let name = String::from_utf8_lossy(word).into_owned();
                self.vars.push((name, ty.clone(), at.depth == 0));
            }
        }
        if word.starts_with(b"DEFINE_") {
            let w = String::from_utf8_lossy(word);
            if self.defines.contains_key(w.as_ref()) && next_non_blank(src, end) == Some(b'(') {
                self.define_macro = Some(w.into_owned());
            }
        }
        self.prev_ident = Some((start, end));
    }

    #[inline]
    pub fn punct(&mut self, b: u8) {
        self.prev_ident = None;
        if b == b')' {
            self.define_macro = None;
        }
    }
}

/// The first byte from `from` on that is not ASCII white space.
fn next_non_blank(src: &[u8], from: usize) -> Option<u8> {
    src.get(from..)?
        .iter()
        .find(|c| !c.is_ascii_whitespace())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::super::each_token;
    use super::super::lexer::Kind;
    use super::super::structs::StructBodies;
    use super::*;

    const TYPES: &[&str] = &["spinlock_t", "hard_spinlock_t"];

    fn locks(src: &[u8]) -> LockDecls<'_> {
        static DEFINES: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
        let defines = DEFINES
            .get_or_init(|| [("DEFINE_SPINLOCK".to_string(), "spinlock_t".to_string())].into());
        let mut locks = LockDecls::new(src, TYPES, defines);
        let mut structs = StructBodies::new(src);
        each_token(src, |t, at| match t.kind {
            Kind::Ident => {
                locks.ident(t.start, t.end, at, structs.name.as_deref());
                structs.ident(t.start, t.end, at);
            }
            Kind::Punct(b) => {
                locks.punct(b);
                structs.punct(b, at);
            }
            _ => {}
        });
        locks
    }

    fn var(name: &str, ty: &str, file_scope: bool) -> (String, String, bool) {
        (name.into(), ty.into(), file_scope)
    }

    #[test]
    fn declarations_of_a_lock_type() {
        let l = locks(b"static spinlock_t a, b[2];\nhard_spinlock_t c = X;\nstruct s { spinlock_t f; };\nvoid g(spinlock_t *p) { spinlock_t d; spinlock_t e (1); }\nint spinlock_t_x;\n");
        assert_eq!(
            l.vars,
            [
                var("a", "spinlock_t", true),
                var("c", "hard_spinlock_t", true),
                var("d", "spinlock_t", false),
            ],
            "`b[2]` follows a `,`, not a type; `*p` and `e (1)` are not declarations"
        );
        assert_eq!(l.fields, [("s".into(), "f".into(), "spinlock_t".into())]);
    }

    #[test]
    fn define_macros_with_their_name() {
        let l = locks(b"static DEFINE_SPINLOCK(a);\nvoid f(void) { DEFINE_SPINLOCK ( b ); }\nDEFINE_OTHER(c);\nint DEFINE_SPINLOCK;\n");
        assert_eq!(
            l.vars,
            [var("a", "spinlock_t", true), var("b", "spinlock_t", false)]
        );
    }
}
