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

/// One call site breaking one rule, with every chain reaching it: the shortest one and
/// the others (the same call reached through two definitions of a function, say the
/// tree's `kernel/locking/mutex.c` and a copy next to it).
pub struct Site<'a> {
    pub finding: &'a Finding,
    pub others: Vec<&'a Finding>,
}

impl Site<'_> {
    /// How many chains reach this site.
    pub fn chains(&self) -> usize {
        1 + self.others.len()
    }
}

/// Folds findings at the same site (file, line, column) under the same rule into one,
/// the shortest chain first (then by root and chain, so the result does not depend on
/// the order of `findings`).
pub fn sites<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<Site<'a>> {
    type Key<'k> = (&'k str, u32, u32, &'k str);
    let mut m: BTreeMap<Key<'a>, Vec<&'a Finding>> = BTreeMap::new();
    for f in findings {
        m.entry((f.file.as_str(), f.line, f.column, f.rule.as_str()))
            .or_default()
            .push(f);
    }
    m.into_values()
        .map(|mut v| {
            v.sort_by(|a, b| {
                (a.chain.len(), &a.root, &a.chain_text, &a.fingerprint).cmp(&(
                    b.chain.len(),
                    &b.root,
                    &b.chain_text,
                    &b.fingerprint,
                ))
            });
            let finding = v.remove(0);
            Site { finding, others: v }
        })
        .collect()
}

/// One root and its sites (shortest chain first).
pub struct Group<'a> {
    pub root: &'a str,
    pub sites: Vec<Site<'a>>,
}

impl Group<'_> {
    /// How many chains the group holds, folded ones included.
    pub fn chains(&self) -> usize {
        self.sites.iter().map(Site::chains).sum()
    }
}

/// Groups findings by root (a site under the root of its shortest chain), ranked by
/// severity (errors first), then by the length of the shortest chain, then by root text.
pub fn group<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<Group<'a>> {
    let mut m: BTreeMap<&str, Vec<Site>> = BTreeMap::new();
    for s in sites(findings) {
        m.entry(s.finding.root.as_str()).or_default().push(s);
    }
    let mut groups: Vec<Group> = m
        .into_iter()
        .map(|(root, mut sites)| {
            sites.sort_by_key(|s| {
                let f = s.finding;
                (f.chain.len(), f.file.clone(), f.line, f.column)
            });
            Group { root, sites }
        })
        .collect();
    let worst = |g: &Group| {
        g.sites
            .iter()
            .map(|s| s.finding.severity)
            .max()
            .unwrap_or(Severity::Note)
    };
    groups.sort_by(|a, b| {
        worst(b)
            .cmp(&worst(a))
            .then(
                a.sites[0]
                    .finding
                    .chain
                    .len()
                    .cmp(&b.sites[0].finding.chain.len()),
            )
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
        assert!(groups.iter().all(|g| g.chains() == 1));
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

    /// The same call reached through two copies of a function (the tree's and one next
    /// to it): one site, two chains, in one root block.
    #[test]
    fn findings_at_the_same_site_and_rule_fold_into_one() {
        let mut real = finding(
            &[
                ("proxy_oob_write", "drivers/evl/proxy.c"),
                ("do_proxy_write", "drivers/evl/proxy.c"),
                ("mutex_unlock", "kernel/locking/mutex.c"),
            ],
            "raw_spin_lock",
        );
        let mut copy = finding(
            &[
                ("proxy_oob_write", "drivers/evl/proxy.c"),
                ("do_proxy_write", "drivers/evl/proxy.c"),
                ("mutex_unlock", "fixture/kernel/locking/mutex.c"),
            ],
            "raw_spin_lock",
        );
        for f in [&mut real, &mut copy] {
            f.file = "drivers/evl/proxy.c".into();
            f.line = 11;
            f.root = root_of(f, &[String::new()]);
        }
        copy.chain_text = "b".into();
        real.chain_text = "a".into();
        let mut other_rule = finding(&[("proxy_oob_write", "drivers/evl/proxy.c")], "x");
        other_rule.rule = "r2".into();
        other_rule.file = "drivers/evl/proxy.c".into();
        other_rule.line = 11;
        other_rule.root = root_of(&other_rule, &[String::new()]);
        for order in [[&copy, &real, &other_rule], [&real, &other_rule, &copy]] {
            let s = sites(order.into_iter());
            assert_eq!(
                s.len(),
                2,
                "another rule at the same call is another finding"
            );
            let folded = s.iter().find(|s| s.chains() == 2).unwrap();
            assert_eq!(
                folded.finding.chain_text, "a",
                "the same pick whatever the order"
            );
            assert_eq!(folded.others[0].chain_text, "b");
            let groups = group(order.into_iter());
            assert_eq!(groups.iter().map(Group::chains).sum::<usize>(), 3);
            assert_eq!(groups.iter().map(|g| g.sites.len()).sum::<usize>(), 2);
        }
    }
}
