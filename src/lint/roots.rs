//! Findings grouped by root. Hundreds of chains usually share a few roots: the entry point
//! and the *frontier call*, the first call that leaves the code the user is linting (the
//! paths given), or, when the whole tree is given, the entry point's own folder (the
//! oob-annotated code). A reviewer reads one block per root.

use std::collections::BTreeMap;

use super::{Finding, Severity};

/// Is `file` (as displayed) inside the given path `p` (as displayed)?
fn inside(file: &str, p: &str) -> bool {
    p.is_empty()
        || file == p
        || file
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with('/') || p.ends_with('/'))
}

fn folder(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The root of a finding: its chain up to and including the frontier call.
pub fn root_of(f: &Finding, given: &[String]) -> String {
    // A path that is the whole tree (shown as "") says nothing: use the entry's folder.
    let specific: Vec<&str> = given
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    let whole = specific.len() < given.len() || specific.is_empty();
    let entry_dir = folder(&f.entry.def_file);
    let home = |file: &str| {
        if whole {
            folder(file) == entry_dir
        } else {
            specific.iter().any(|p| inside(file, p))
        }
    };
    let steps: Vec<String> = f
        .chain
        .iter()
        .map(|s| match &s.via_member {
            Some(m) => format!("->{m}: {}()", s.function),
            None => format!("{}()", s.function),
        })
        .collect();
    match f.chain.iter().skip(1).position(|s| !home(&s.file)) {
        Some(i) => steps[..i + 2].join(" -> "),
        None => {
            let mut v = steps;
            v.push(format!("{}()", f.service));
            v.join(" -> ")
        }
    }
}

/// One root and the indexes of its findings (shortest chain first).
pub struct Group<'a> {
    pub root: &'a str,
    pub findings: Vec<&'a Finding>,
}

/// Groups findings by root, ranked by severity (errors first), then by the length of the
/// shortest chain, then by root text.
pub fn group<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<Group<'a>> {
    let mut m: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        m.entry(f.root.as_str()).or_default().push(f);
    }
    let mut groups: Vec<Group> = m
        .into_iter()
        .map(|(root, mut findings)| {
            findings.sort_by_key(|f| (f.chain.len(), f.file.clone(), f.line, f.column));
            Group { root, findings }
        })
        .collect();
    let worst = |g: &Group| {
        g.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Note)
    };
    groups.sort_by(|a, b| {
        worst(b)
            .cmp(&worst(a))
            .then(a.findings[0].chain.len().cmp(&b.findings[0].chain.len()))
            .then(a.root.cmp(b.root))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{ChainStep, EntryPoint};

    fn finding(files: &[(&str, &str)], service: &str) -> Finding {
        let chain: Vec<ChainStep> = files
            .iter()
            .map(|(func, file)| ChainStep {
                function: func.to_string(),
                file: file.to_string(),
                start_line: 1,
                end_line: 2,
                via_member: None,
            })
            .collect();
        Finding {
            rule: "r".into(),
            severity: Severity::Error,
            service: service.into(),
            message: String::new(),
            rationale: String::new(),
            replacement: String::new(),
            file: files.last().unwrap().1.into(),
            line: 1,
            column: 1,
            end_column: 2,
            entry: EntryPoint {
                function: files[0].0.into(),
                kind: "k".into(),
                file: files[0].1.into(),
                line: 1,
                def_file: files[0].1.into(),
                def_line: 1,
            },
            chain,
            chain_text: String::new(),
            fingerprint: String::new(),
            suppressed: None,
            slot: None,
            root: String::new(),
        }
    }

    #[test]
    fn the_frontier_is_the_first_call_out() {
        let f = finding(
            &[
                ("proxy_oob_write", "drivers/evl/proxy.c"),
                ("do_proxy_write", "drivers/evl/proxy.c"),
                ("memset", "mm/kasan/shadow.c"),
                ("kasan_report", "mm/kasan/report.c"),
            ],
            "spin_lock",
        );
        // The whole tree given: out of the entry's folder.
        assert_eq!(
            root_of(&f, &[String::new()]),
            "proxy_oob_write() -> do_proxy_write() -> memset()"
        );
        // drivers/evl and mm/kasan given: out of those.
        assert_eq!(
            root_of(&f, &["drivers/evl".into(), "mm".into()]),
            "proxy_oob_write() -> do_proxy_write() -> memset() -> kasan_report() -> spin_lock()"
        );
        let g = finding(&[("a", "drivers/evl/proxy.c"), ("b", "kernel/x.c")], "down");
        let h = finding(&[("a", "drivers/evl/proxy.c")], "msleep");
        let mut all = vec![f, g, h];
        for x in &mut all {
            x.root = root_of(x, &[String::new()]);
        }
        let groups = group(all.iter());
        let roots: Vec<&str> = groups.iter().map(|g| g.root).collect();
        assert_eq!(
            roots,
            [
                "a() -> msleep()",
                "a() -> b()",
                "proxy_oob_write() -> do_proxy_write() -> memset()"
            ]
        );
    }
}
