//! Function definitions and the prototypes that declare a function terminal, recognised
//! at file scope: a name, its parameter list, then a body (a definition) or a `;` (a
//! prototype). Macros before the name are seen through: `__printf(1, 2) void name(`
//! and `__attribute__((...)) void name(` name the function after them.

use super::nesting::Level;
use super::DefSeen;

pub struct FunctionDefs<'a> {
    src: &'a [u8],
    /// The name before the current top-level `(` (byte range: turned into a name only
    /// when kept, and most are not).
    candidate: Option<(usize, usize)>,
    /// The parameter list after `candidate` has closed.
    after_params: bool,
    saw_static: bool,
    /// `__weak` or `__attribute__((weak))`: a default another definition overrides.
    saw_weak: bool,
    last_ident: Option<(usize, usize)>,
    /// Identifiers since the parameter list closed: two or more before a `(` mean the
    /// list was a macro's and the function's name comes after it.
    idents_after_params: usize,
    /// The declaration carries a terminal attribute.
    terminal_attr: bool,
    /// Inside `__attribute__((...))` opened at this parenthesis depth.
    attr_paren: Option<usize>,
    pub defs: Vec<DefSeen>,
    pub terminal_decls: Vec<DefSeen>,
}

impl<'a> FunctionDefs<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        FunctionDefs {
            src,
            candidate: None,
            after_params: false,
            saw_static: false,
            saw_weak: false,
            last_ident: None,
            idents_after_params: 0,
            terminal_attr: false,
            attr_paren: None,
            defs: Vec::new(),
            terminal_decls: Vec::new(),
        }
    }

    /// The identifier `src[start..end]`, at `at`.
    #[inline]
    pub fn ident(&mut self, start: usize, end: usize, at: Level) {
        let word = &self.src[start..end];
        if at.top() && word == b"static" {
            self.saw_static = true;
        }
        if at.depth == 0 {
            match word {
                b"__noreturn" | b"__cold" | b"_Noreturn" => self.terminal_attr = true,
                b"noreturn" | b"__noreturn__" | b"cold" | b"__cold__" => {
                    self.terminal_attr |= self.attr_paren.is_some_and(|p| at.paren > p)
                }
                b"__attribute__" | b"__attribute" if self.attr_paren.is_none() => {
                    self.attr_paren = Some(at.paren)
                }
                b"__weak" => self.saw_weak = true,
                b"weak" | b"__weak__" => {
                    self.saw_weak |= self.attr_paren.is_some_and(|p| at.paren > p)
                }
                _ => {}
            }
            if at.paren == 0 && self.after_params {
                self.idents_after_params += 1;
            }
        }
        if at.top() {
            self.last_ident = Some((start, end));
        }
    }

    /// The punctuation byte `b` at `at` ([`Nesting::punct`](super::nesting::Nesting::punct));
    /// `struct_body`: this `{` opens a struct's body, not a function's.
    #[inline]
    pub fn punct(&mut self, b: u8, at: Level, struct_body: bool) {
        match b {
            b'(' => {
                // `__printf(1, 2) void name(`: the name is the second identifier on.
                // After `__attribute__((...))`, the first one.
                let after_attr = self
                    .candidate
                    .is_some_and(|(s, e)| self.src[s..e].starts_with(b"__attribute"));
                let renamed = self.after_params
                    && (self.idents_after_params >= 2
                        || (after_attr && self.idents_after_params >= 1));
                if at.top() && (!self.after_params || renamed) {
                    self.candidate = self.last_ident;
                    self.after_params = false;
                }
            }
            b')' => {
                if self.attr_paren == Some(at.paren) {
                    self.attr_paren = None;
                }
                if at.top() && self.candidate.is_some() {
                    self.after_params = true;
                    self.idents_after_params = 0;
                }
            }
            b'{' if at.depth == 0 => {
                if struct_body {
                    self.candidate = None;
                } else if self.after_params {
                    if let Some(name) = self.candidate.take() {
                        let def = self.seen(name);
                        self.defs.push(def);
                    }
                }
                self.after_params = false;
                self.terminal_attr = false;
                self.attr_paren = None;
            }
            b'}' if at.depth == 0 => {
                self.saw_static = false;
                self.saw_weak = false;
                self.candidate = None;
                self.after_params = false;
                self.terminal_attr = false;
            }
            b';' | b'=' | b',' if at.top() => {
                if self.after_params && self.terminal_attr && b != b'=' {
                    if let Some(name) = self.candidate {
                        let decl = self.seen(name);
                        self.terminal_decls.push(decl);
                    }
                }
                if b == b';' {
                    self.saw_static = false;
                    self.saw_weak = false;
                    self.terminal_attr = false;
                    self.attr_paren = None;
                }
                self.candidate = None;
                self.after_params = false;
            }
            _ => {}
        }
    }

    fn seen(&self, (s, e): (usize, usize)) -> DefSeen {
        DefSeen {
            name: String::from_utf8_lossy(&self.src[s..e]).into_owned(),
            is_static: self.saw_static,
            is_weak: self.saw_weak,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::each_token;
    use super::super::lexer::Kind;
    use super::*;

    /// (definitions, terminal prototypes) as `name` or `static name`.
    fn recognise(src: &[u8]) -> (Vec<String>, Vec<String>) {
        let mut defs = FunctionDefs::new(src);
        each_token(src, |t, at| match t.kind {
            Kind::Ident => defs.ident(t.start, t.end, at),
            Kind::Punct(b) => defs.punct(b, at, false),
            _ => {}
        });
        let show = |v: Vec<DefSeen>| {
            v.into_iter()
                .map(|d| format!("{}{}", if d.is_static { "static " } else { "" }, d.name))
                .collect()
        };
        (show(defs.defs), show(defs.terminal_decls))
    }

    #[test]
    fn a_body_after_the_parameters_makes_a_definition() {
        let (defs, _) = recognise(b"static int a(int x) { b(); }\nint c(void);\nint d(void)\n__releases(l)\n{ }\nint v = e(1);\n");
        assert_eq!(defs, ["static a", "d"]);
    }

    #[test]
    fn weak_defaults_are_marked() {
        let src = b"void __weak hook(void) { }\nvoid strong(void) { }\n__attribute__((weak)) int other(int x) { return x; }\nint (*weak)(void);\n";
        let mut defs = FunctionDefs::new(src);
        each_token(src, |t, at| match t.kind {
            Kind::Ident => defs.ident(t.start, t.end, at),
            Kind::Punct(b) => defs.punct(b, at, false),
            _ => {}
        });
        let weak: Vec<(&str, bool)> = defs
            .defs
            .iter()
            .map(|d| (d.name.as_str(), d.is_weak))
            .collect();
        assert_eq!(weak, [("hook", true), ("strong", false), ("other", true)]);
    }

    #[test]
    fn the_name_after_a_macro_with_arguments() {
        let (defs, _) = recognise(
            b"__printf(1, 2) int f(const char *s, ...) { }\n__attribute__((unused)) void g(void) { }\n",
        );
        assert_eq!(defs, ["f", "g"]);
    }

    #[test]
    fn terminal_attributes_make_a_terminal_prototype() {
        let (defs, decls) = recognise(
            b"void p(void) __noreturn;\nstatic void q(void) __attribute__((cold));\nvoid r(int cold);\nvoid __cold s(void) { }\nvoid (*t)(void) __noreturn = 0;\n",
        );
        assert_eq!(decls, ["p", "static q"]);
        assert_eq!(defs, ["s"]);
    }

    #[test]
    fn nothing_inside_bodies() {
        let (defs, decls) = recognise(b"void f(void) { int g(void) { } __noreturn h(void); }\n");
        assert_eq!(defs, ["f"]);
        assert!(decls.is_empty());
    }
}
