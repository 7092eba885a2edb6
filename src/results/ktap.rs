//! KTAP (KUnit, nested suites) and TAP 13 (kselftest, `# `-nested) parsing.
//!
//! The parser reads the console line by line, ignores everything that is not KTAP (kernel
//! messages interleave freely), and builds a tree of results by nesting depth. A test that a
//! plan promised or a subtest that started but never reported is `Crashed`, with the console
//! lines where the output stopped.

use super::{excerpt, strip_timestamp, Source, TestCase, Verdict};

/// One reported (or missing) test, with its subtests.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub verdict: Verdict,
    pub message: Option<String>,
    pub children: Vec<Node>,
}

#[derive(Debug, PartialEq)]
enum Line<'a> {
    Version,
    Subtest(&'a str),
    Plan(usize),
    Result {
        ok: bool,
        number: usize,
        name: &'a str,
        directive: Option<&'a str>,
    },
    BailOut,
    Diag(&'a str),
}

/// Splits a console line into (nesting depth, KTAP line), or None when it is not KTAP.
fn classify(raw: &str) -> Option<(usize, Line<'_>)> {
    let line = strip_timestamp(raw);
    let trimmed = line.trim_start_matches(' ');
    let mut depth = (line.len() - trimmed.len()) / 4;
    let mut body = trimmed.trim_end();
    // kselftest nests a child's TAP by prefixing `# `; peel those as extra depth.
    loop {
        if let Some(rest) = body.strip_prefix("# ") {
            if is_tap_construct(rest) {
                depth += 1;
                body = rest;
                continue;
            }
        }
        break;
    }
    let parsed = if body.starts_with("KTAP version ") || body.starts_with("TAP version ") {
        Line::Version
    } else if let Some(name) = body.strip_prefix("# Subtest: ") {
        Line::Subtest(name.trim())
    } else if let Some(n) = body.strip_prefix("1..") {
        Line::Plan(n.split_whitespace().next()?.parse().ok()?)
    } else if let Some(rest) = body.strip_prefix("not ok ") {
        parse_result(false, rest)?
    } else if let Some(rest) = body.strip_prefix("ok ") {
        parse_result(true, rest)?
    } else if body.starts_with("Bail out!") {
        Line::BailOut
    } else if let Some(d) = body.strip_prefix('#') {
        Line::Diag(d.trim())
    } else {
        return None;
    };
    Some((depth, parsed))
}

fn is_tap_construct(s: &str) -> bool {
    s.starts_with("TAP version ")
        || s.starts_with("KTAP version ")
        || s.starts_with("ok ")
        || s.starts_with("not ok ")
        || s.starts_with("1..")
        || s.starts_with("# ") && is_tap_construct(&s[2..])
}

fn parse_result(ok: bool, rest: &str) -> Option<Line<'_>> {
    let (num, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = num.parse().ok()?;
    let tail = tail.strip_prefix("- ").unwrap_or(tail);
    let (name, directive) = if let Some(d) = tail.strip_prefix("# ") {
        ("", Some(d.trim()))
    } else if let Some(i) = tail.find(" # ") {
        (&tail[..i], Some(tail[i + 3..].trim()))
    } else {
        (tail, None)
    };
    Some(Line::Result {
        ok,
        number,
        name: name.trim(),
        directive,
    })
}

/// Follows a console as it comes and names each top-level test (a KUnit suite) as it ends,
/// with its case counts, as kunit.py does while the kernel runs:
/// `ok 3 list-kernel-test (12 cases)`, `not ok 4 foo (2 of 9 cases failed)`.
#[derive(Debug, Default)]
pub struct LiveSuites {
    cases: usize,
    failed: usize,
    skipped: usize,
}

impl LiveSuites {
    /// Feeds one console line; returns the line to show when it ends a top-level test.
    pub fn line(&mut self, raw: &str) -> Option<String> {
        let (depth, line) = classify(raw)?;
        let (ok, number, name, directive) = match line {
            // A suite's own header: whatever came before it (a suite that never reported)
            // does not count towards this one.
            Line::Version if depth == 1 => {
                *self = LiveSuites::default();
                return None;
            }
            Line::Result {
                ok,
                number,
                name,
                directive,
            } => (ok, number, name, directive),
            _ => return None,
        };
        let skip = directive.is_some_and(is_skip);
        if depth == 1 {
            self.cases += 1;
            if !ok {
                self.failed += 1;
            } else if skip {
                self.skipped += 1;
            }
            return None;
        }
        if depth != 0 {
            return None;
        }
        let done = std::mem::take(self);
        let mut out = format!("{} {number} {name}", if ok { "ok" } else { "not ok" });
        if skip {
            out.push_str(" # SKIP");
        }
        let plural = |n: usize| if n == 1 { "case" } else { "cases" };
        let n = done.cases;
        match (n, done.failed, done.skipped) {
            (0, _, _) => {}
            (_, 0, 0) => out.push_str(&format!(" ({n} {})", plural(n))),
            (_, 0, s) => out.push_str(&format!(" ({n} {}, {s} skipped)", plural(n))),
            (_, f, _) => out.push_str(&format!(" ({f} of {n} {} failed)", plural(n))),
        }
        Some(out)
    }
}

fn is_skip(directive: &str) -> bool {
    directive
        .get(..4)
        .is_some_and(|d| d.eq_ignore_ascii_case("skip"))
}

#[derive(Default)]
struct Level {
    name: Option<String>,
    plan: Option<usize>,
    results: Vec<Node>,
    diags: Vec<String>,
}

/// A KTAP document found in the log: its top-level results and where it ended.
struct Document {
    results: Vec<Node>,
    last_line: usize,
}

/// Parses every KTAP/TAP document in the log into test trees.
pub fn parse_trees(lines: &[&str]) -> Vec<Node> {
    let mut out = Vec::new();
    for doc in documents(lines) {
        out.extend(doc.results);
    }
    out
}

fn documents(lines: &[&str]) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut stack: Vec<Level> = Vec::new();
    let mut last_line = 0;
    let mut active = false;

    for (idx, raw) in lines.iter().enumerate() {
        let Some((depth, line)) = classify(raw) else {
            continue;
        };
        if !active {
            // Only a version line opens a document; stray `ok` lines before it are noise.
            if line != Line::Version || depth != 0 {
                continue;
            }
            active = true;
            stack.push(Level::default());
            last_line = idx;
            continue;
        }
        match line {
            Line::Version => {
                if depth == 0 {
                    let root_used = stack.len() > 1
                        || stack
                            .first()
                            .is_some_and(|l| l.plan.is_some() || !l.results.is_empty());
                    if root_used {
                        docs.push(finish(std::mem::take(&mut stack), lines, last_line));
                        stack.push(Level::default());
                    }
                } else {
                    ensure_depth(&mut stack, depth, lines, last_line);
                }
            }
            Line::Subtest(name) => {
                ensure_depth(&mut stack, depth, lines, last_line);
                stack[depth].name = Some(name.to_string());
            }
            Line::Plan(n) => {
                ensure_depth(&mut stack, depth, lines, last_line);
                stack[depth].plan = Some(n);
            }
            Line::Diag(text) => {
                if depth < stack.len() {
                    stack[depth].diags.push(text.to_string());
                }
            }
            Line::BailOut => {
                if depth < stack.len() {
                    stack[depth].diags.push("Bail out!".into());
                }
            }
            Line::Result {
                ok,
                number,
                name,
                directive,
            } => {
                // Anything deeper than the child level never reported: fold it as crashed.
                while stack.len() > depth + 2 {
                    fold_crashed(&mut stack, lines, last_line);
                }
                let child = if stack.len() == depth + 2 {
                    stack.pop()
                } else {
                    None
                };
                while stack.len() < depth + 1 {
                    stack.push(Level::default());
                }
                let level = &mut stack[depth];
                let diags = std::mem::take(&mut level.diags);
                let (verdict, mut message) = match directive {
                    Some(d) if d.to_ascii_uppercase().starts_with("SKIP") => {
                        (Verdict::Skip, Some(d.to_string()))
                    }
                    Some(d) if d.to_ascii_uppercase().starts_with("TODO") => {
                        (Verdict::Skip, Some(d.to_string()))
                    }
                    _ if ok => (Verdict::Pass, None),
                    _ => (Verdict::Fail, None),
                };
                if verdict == Verdict::Fail {
                    let useful: Vec<&String> =
                        diags.iter().filter(|d| !d.contains("pass:")).collect();
                    if !useful.is_empty() {
                        message = Some(
                            useful
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join("\n"),
                        );
                    }
                }
                let mut children = Vec::new();
                let mut name = name.to_string();
                if let Some(child) = child {
                    if name.is_empty() {
                        name = child.name.clone().unwrap_or_default();
                    }
                    children = with_missing(child.results, child.plan, lines, idx);
                }
                if name.is_empty() {
                    name = format!("test {number}");
                }
                level.results.push(Node {
                    name,
                    verdict,
                    message,
                    children,
                });
            }
        }
        last_line = idx;
    }
    if active {
        docs.push(finish(stack, lines, last_line));
    }
    docs
}

fn ensure_depth(stack: &mut Vec<Level>, depth: usize, lines: &[&str], last: usize) {
    while stack.len() > depth + 1 {
        fold_crashed(stack, lines, last);
    }
    while stack.len() < depth + 1 {
        stack.push(Level::default());
    }
}

/// Closes the deepest open level as a crashed node of its parent.
fn fold_crashed(stack: &mut Vec<Level>, lines: &[&str], last: usize) {
    let Some(level) = stack.pop() else { return };
    let children = with_missing(level.results, level.plan, lines, last);
    let node = Node {
        name: level.name.unwrap_or_else(|| "(unnamed subtest)".into()),
        verdict: Verdict::Crashed,
        message: Some(crash_excerpt(lines, last)),
        children,
    };
    if let Some(parent) = stack.last_mut() {
        parent.results.push(node);
    }
}

fn finish(mut stack: Vec<Level>, lines: &[&str], last: usize) -> Document {
    while stack.len() > 1 {
        fold_crashed(&mut stack, lines, last);
    }
    let root = stack.pop().unwrap_or_default();
    Document {
        results: with_missing(root.results, root.plan, lines, last),
        last_line: last,
    }
}

/// Adds a crashed placeholder for each test the plan promised but nobody reported.
fn with_missing(
    mut results: Vec<Node>,
    plan: Option<usize>,
    lines: &[&str],
    last: usize,
) -> Vec<Node> {
    if let Some(plan) = plan {
        for n in results.len() + 1..=plan {
            results.push(Node {
                name: format!("test {n} (never reported)"),
                verdict: Verdict::Crashed,
                message: Some(crash_excerpt(lines, last)),
                children: Vec::new(),
            });
        }
    }
    results
}

fn crash_excerpt(lines: &[&str], last: usize) -> String {
    format!(
        "output stopped after console line {}:\n{}",
        last + 1,
        excerpt(lines, last.saturating_sub(4), 30)
    )
}

/// Flattens the trees into test cases: leaves become cases, suites become dotted paths.
pub fn flatten(nodes: &[Node], suite: &str, out: &mut Vec<TestCase>) {
    for node in nodes {
        if node.children.is_empty() {
            out.push(TestCase {
                suite: suite.to_string(),
                name: node.name.clone(),
                verdict: node.verdict,
                source: Source::Ktap,
                message: node.message.clone(),
            });
            continue;
        }
        let path = if suite.is_empty() {
            node.name.clone()
        } else {
            format!("{suite}.{}", node.name)
        };
        let before = out.len();
        flatten(&node.children, &path, out);
        // A suite that failed on its own (init error, crash) with no failing child still counts.
        let child_failed = out[before..].iter().any(|c| c.verdict.is_failure());
        if node.verdict.is_failure() && !child_failed {
            out.push(TestCase {
                suite: path,
                name: "(suite)".into(),
                verdict: node.verdict,
                source: Source::Ktap,
                message: node.message.clone(),
            });
        }
    }
}

/// All KTAP/TAP test cases in the log.
pub fn parse_cases(lines: &[&str], notes: &mut Vec<String>) -> Vec<TestCase> {
    let docs = documents(lines);
    let mut out = Vec::new();
    for doc in &docs {
        flatten(&doc.results, "", &mut out);
    }
    if docs.len() > 1 {
        notes.push(format!(
            "{} KTAP/TAP documents in the console (last ended at line {})",
            docs.len(),
            docs.last().map(|d| d.last_line + 1).unwrap_or(0)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(log: &str) -> Vec<String> {
        let mut w = LiveSuites::default();
        log.lines().filter_map(|l| w.line(l)).collect()
    }

    #[test]
    fn live_suites_name_each_suite_as_it_ends() {
        let log = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/results/x86_64-6.12-kunit-pass.log"
        ))
        .unwrap();
        let lines = live(&log);
        assert_eq!(lines.len(), 20, "{lines:#?}");
        assert_eq!(lines[5], "ok 6 kunit-log-test (2 cases, 1 skipped)");
        assert_eq!(lines[9], "ok 10 kunit_fault # SKIP");
        assert_eq!(lines[15], "ok 16 list-kunit-test (39 cases)");
        // Failures, a parameterised case (its parameters are not cases) and timestamps.
        let log = "\
[    1.0] KTAP version 1
[    1.0] 1..2
[    1.0]     KTAP version 1
[    1.0]     # Subtest: one
[    1.0]     1..2
[    1.0]         ok 1 p1
[    1.0]         ok 2 p2
[    1.0]     ok 1 param_case
[    1.0]     not ok 2 broken
[    1.0] not ok 1 one
[    1.1]     KTAP version 1
[    1.1]     # Subtest: two
[    1.1]     1..1
[    1.1]     ok 1 single
[    1.1] ok 2 two
";
        assert_eq!(
            live(log),
            ["not ok 1 one (1 of 2 cases failed)", "ok 2 two (1 case)"]
        );
    }

    fn cases(log: &str) -> Vec<TestCase> {
        let lines: Vec<&str> = log.lines().collect();
        parse_cases(&lines, &mut Vec::new())
    }

    #[test]
    fn nested_kunit_suites_with_skip_and_params() {
        let log = "\
[    0.5] KTAP version 1
[    0.5] 1..2
[    0.5]     KTAP version 1
[    0.5]     # Subtest: example
[    0.5]     1..3
[    0.5]     ok 1 example_simple_test
[    0.5]     ok 2 example_skip_test # SKIP this test should be skipped
[    0.5]         KTAP version 1
[    0.5]         # Subtest: example_params_test
[    0.5]         ok 1 example value 3
[    0.5]         not ok 2 example value 2
[    0.5]     # example_params_test: pass:1 fail:1 skip:0 total:2
[    0.5]     not ok 3 example_params_test
[    0.5] # example: pass:1 fail:1 skip:1 total:3
[    0.5] not ok 1 example
[    0.6] random: crng init done
[    0.6]     KTAP version 1
[    0.6]     # Subtest: list-kernel
[    0.6]     1..1
[    0.6]     # list_test_list_init: EXPECTATION FAILED at lib/list-test.c:20
[    0.6]     not ok 1 list_test_list_init
[    0.6] not ok 2 list-kernel
";
        let c = cases(log);
        let names: Vec<_> = c.iter().map(|c| (c.full_name(), c.verdict)).collect();
        assert_eq!(
            names,
            vec![
                ("example.example_simple_test".into(), Verdict::Pass),
                ("example.example_skip_test".into(), Verdict::Skip),
                (
                    "example.example_params_test.example value 3".into(),
                    Verdict::Pass
                ),
                (
                    "example.example_params_test.example value 2".into(),
                    Verdict::Fail
                ),
                ("list-kernel.list_test_list_init".into(), Verdict::Fail),
            ]
        );
        assert!(c[4]
            .message
            .as_deref()
            .unwrap()
            .contains("lib/list-test.c:20"));
        assert_eq!(
            c[1].message.as_deref(),
            Some("SKIP this test should be skipped")
        );
    }

    #[test]
    fn plan_promises_tests_that_never_came() {
        let log = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: suite_a
    1..3
    ok 1 first
    ok 2 second
BUG: kernel NULL pointer dereference, address: 0000000000000000
Kernel panic - not syncing: Fatal exception
";
        let c = cases(log);
        let v: Vec<_> = c.iter().map(|c| (c.full_name(), c.verdict)).collect();
        assert_eq!(v[0], ("suite_a.first".into(), Verdict::Pass));
        assert_eq!(v[1], ("suite_a.second".into(), Verdict::Pass));
        assert_eq!(v[2].1, Verdict::Crashed);
        assert!(v[2].0.starts_with("suite_a.test 3"));
        // The top-level plan promised a second suite.
        assert_eq!(v[3].1, Verdict::Crashed);
        assert!(c[2].message.as_deref().unwrap().contains("ok 2 second"));
    }

    #[test]
    fn kselftest_hash_nesting() {
        let log = "\
TAP version 13
1..2
# selftests: timers: posix_timers
# TAP version 13
# 1..2
# ok 1 Check itimer virtual
# not ok 2 Check itimer prof
# # Totals: pass:1 fail:1
not ok 1 selftests: timers: posix_timers # exit=1
ok 2 selftests: timers: nanosleep # SKIP no hrtimers
";
        let c = cases(log);
        let v: Vec<_> = c.iter().map(|c| (c.full_name(), c.verdict)).collect();
        assert_eq!(
            v,
            vec![
                (
                    "selftests: timers: posix_timers.Check itimer virtual".into(),
                    Verdict::Pass
                ),
                (
                    "selftests: timers: posix_timers.Check itimer prof".into(),
                    Verdict::Fail
                ),
                ("selftests: timers: nanosleep".into(), Verdict::Skip),
            ]
        );
    }

    #[test]
    fn todo_and_dash_names() {
        let log = "TAP version 13\n1..2\nok 1 - alpha\nnot ok 2 - beta # TODO not yet\n";
        let c = cases(log);
        assert_eq!(c[0].name, "alpha");
        assert_eq!(c[1].name, "beta");
        assert_eq!(c[1].verdict, Verdict::Skip);
    }

    #[test]
    fn noise_before_version_is_ignored() {
        let c = cases("ok 1 something\nnot ok 2 else\n");
        assert!(c.is_empty());
    }
}
