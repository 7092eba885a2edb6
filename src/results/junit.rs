//! JUnit XML, the one writer behind every JUnit file we produce (a boot's or a LAVA job's
//! [`TestReport`](super::TestReport), a CI run's gates). A report is turned into [`Suites`]
//! as data; this module counts and escapes.

use std::fmt::Write;

/// The whole file: a `<testsuites>` element.
#[derive(Debug, Clone, Default)]
pub struct Suites {
    pub name: String,
    /// Seconds, when measured.
    pub time: Option<f64>,
    pub suites: Vec<Suite>,
}

/// One `<testsuite>`.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub name: String,
    pub time: Option<f64>,
    pub cases: Vec<Case>,
}

/// One `<testcase>`.
#[derive(Debug, Clone)]
pub struct Case {
    pub class: String,
    pub name: String,
    pub outcome: Outcome,
}

/// How a case ended; `body` is the element's text (a log excerpt, a call chain), may be empty.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    Failure { message: String, body: String },
    Error { message: String, body: String },
    Skipped { message: String },
}

impl Outcome {
    pub fn failure(message: impl Into<String>, body: impl Into<String>) -> Self {
        Outcome::Failure {
            message: message.into(),
            body: body.into(),
        }
    }

    pub fn error(message: impl Into<String>, body: impl Into<String>) -> Self {
        Outcome::Error {
            message: message.into(),
            body: body.into(),
        }
    }

    pub fn skipped(message: impl Into<String>) -> Self {
        Outcome::Skipped {
            message: message.into(),
        }
    }
}

/// Cases, failures, errors, skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts(usize, usize, usize, usize);

impl Counts {
    fn of(cases: &[Case]) -> Self {
        let mut c = Counts(cases.len(), 0, 0, 0);
        for case in cases {
            match case.outcome {
                Outcome::Passed => {}
                Outcome::Failure { .. } => c.1 += 1,
                Outcome::Error { .. } => c.2 += 1,
                Outcome::Skipped { .. } => c.3 += 1,
            }
        }
        c
    }

    fn add(self, o: Counts) -> Self {
        Counts(self.0 + o.0, self.1 + o.1, self.2 + o.2, self.3 + o.3)
    }

    fn attributes(self, time: Option<f64>) -> String {
        let Counts(tests, failures, errors, skipped) = self;
        let time = time
            .map(|t| format!(" time=\"{t:.3}\""))
            .unwrap_or_default();
        format!(
            "tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\"{time}"
        )
    }
}

impl Suites {
    /// The XML document, counts computed from the cases.
    pub fn to_xml(&self) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let total = self.suites.iter().fold(Counts::default(), |acc, suite| {
            acc.add(Counts::of(&suite.cases))
        });
        let _ = writeln!(
            s,
            "<testsuites name=\"{}\" {}>",
            escape(&self.name),
            total.attributes(self.time)
        );
        for suite in &self.suites {
            let _ = writeln!(
                s,
                "  <testsuite name=\"{}\" {}>",
                escape(&suite.name),
                Counts::of(&suite.cases).attributes(suite.time)
            );
            for case in &suite.cases {
                write_case(&mut s, case);
            }
            s.push_str("  </testsuite>\n");
        }
        s.push_str("</testsuites>\n");
        s
    }
}

fn write_case(s: &mut String, case: &Case) {
    let _ = write!(
        s,
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(&case.class),
        escape(&case.name)
    );
    let (tag, message, body) = match &case.outcome {
        Outcome::Passed => {
            s.push_str("/>\n");
            return;
        }
        Outcome::Failure { message, body } => ("failure", message, body.as_str()),
        Outcome::Error { message, body } => ("error", message, body.as_str()),
        Outcome::Skipped { message } => ("skipped", message, ""),
    };
    let _ = write!(s, ">\n      <{tag} message=\"{}\"", escape(message));
    if body.is_empty() {
        s.push_str("/>");
    } else {
        let _ = write!(s, ">{}</{tag}>", escape(body));
    }
    s.push_str("\n    </testcase>\n");
}

/// `text` as XML 1.0 character data or attribute value. Markup characters become entities;
/// tab, newline and carriage return become character references (an attribute keeps them
/// instead of turning them into spaces, and a `\r` survives line-end normalisation). Other
/// control characters cannot appear in XML 1.0 at all, not even as references: they are
/// written visibly as `\xNN` (a console's `ESC[0m` becomes `\x1b[0m`), as are the
/// non-characters U+FFFE and U+FFFF (`\u{fffe}`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, outcome: Outcome) -> Case {
        Case {
            class: "c".into(),
            name: name.into(),
            outcome,
        }
    }

    /// Console text with everything XML makes hard: markup, quotes, line ends, escapes.
    const NASTY: &str =
        "a<b> & \"c\" 'd'\n\tline2\r\n\u{1b}[31mred\u{1b}[0m \u{0}\u{7f} é \u{fffe}";

    #[test]
    fn what_a_strict_parser_reads_back_is_what_was_written() {
        let doc = Suites {
            name: "run".into(),
            time: Some(1.5),
            suites: vec![Suite {
                name: NASTY.into(),
                time: None,
                cases: vec![
                    case("ok", Outcome::Passed),
                    case(NASTY, Outcome::failure(NASTY, NASTY)),
                    case("e", Outcome::error("crashed", "")),
                    case("s", Outcome::skipped("not here")),
                ],
            }],
        };
        let xml = doc.to_xml();
        let parsed = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        // What cannot be in XML is shown, everything else comes back unchanged.
        let shown = "a<b> & \"c\" 'd'\n\tline2\r\n\\x1b[31mred\\x1b[0m \\x00\u{7f} é \\u{fffe}";
        let root = parsed.root_element();
        assert_eq!(root.attribute("tests"), Some("4"));
        assert_eq!(root.attribute("failures"), Some("1"));
        assert_eq!(root.attribute("errors"), Some("1"));
        assert_eq!(root.attribute("skipped"), Some("1"));
        assert_eq!(root.attribute("time"), Some("1.500"));
        let suite = root.first_element_child().unwrap();
        assert_eq!(suite.attribute("name"), Some(shown));
        assert_eq!(suite.attribute("time"), None);
        let cases: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
        assert_eq!(cases.len(), 4);
        assert!(cases[0].first_element_child().is_none());
        assert_eq!(cases[1].attribute("name"), Some(shown));
        let failure = cases[1].first_element_child().unwrap();
        assert_eq!(failure.tag_name().name(), "failure");
        assert_eq!(failure.attribute("message"), Some(shown));
        assert_eq!(failure.text(), Some(shown));
        let error = cases[2].first_element_child().unwrap();
        assert_eq!(
            (error.tag_name().name(), error.attribute("message")),
            ("error", Some("crashed"))
        );
        let skipped = cases[3].first_element_child().unwrap();
        assert_eq!(
            (skipped.tag_name().name(), skipped.text()),
            ("skipped", None)
        );
    }

    /// A passed case is one element, an empty body closes itself, a body is text.
    #[test]
    fn each_outcome_has_its_element_shape() {
        let doc = Suites {
            name: "n".into(),
            time: None,
            suites: vec![Suite {
                name: "kernel".into(),
                time: Some(0.25),
                cases: vec![
                    case("boot", Outcome::Passed),
                    case("x", Outcome::failure("m", "")),
                    case("y", Outcome::failure("m", "first\nsecond")),
                    case("e", Outcome::error("crashed", "oops")),
                    case("s", Outcome::skipped("not built")),
                ],
            }],
        };
        insta::assert_snapshot!(doc.to_xml());
    }
}
