//! The rebase report: built once from the session as data, rendered as a human table, JSON or
//! markdown.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::collateral::Todo;
use super::inuse::InUse;
use super::merge::PathStatus;
use super::resolve::Placement;
use super::session::{PatchState, Session};
use super::verdicts::{Decision, Finding};
use super::verify::Verification;
use super::Verdict;
use crate::markdown::{cell, code_block};

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub target: &'a str,
    pub branch: &'a str,
    pub tip: &'a str,
    pub finished: bool,
    pub patches_total: usize,
    pub counts: BTreeMap<&'static str, usize>,
    pub replay_seconds: f64,
    pub patches_per_second: f64,
    pub patches: &'a [PatchState],
    /// Every conflict region the resolution cascade placed, for review.
    pub review: Vec<ReviewItem<'a>>,
    /// Every `upstream-equivalent` and `obsolete` verdict with its evidence, for review.
    pub verdicts: Vec<VerdictItem<'a>>,
    /// Every applied patch that removes definitions the tree right after it still uses.
    pub removes_in_use: Vec<InUseItem<'a>>,
    /// Patches git's three-way merge leaves in conflict vs patches still in conflict here.
    pub cascade: CascadeSummary,
    /// New upstream code the queue's intent covers (collateral evolution), to look at.
    pub collateral: &'a [Todo],
    /// `--verify`: whether the finished result passes its check, and which patch breaks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<&'a Verification>,
}

#[derive(Debug, Serialize)]
pub struct ReviewItem<'a> {
    /// 1-based patch number.
    pub patch: usize,
    pub subject: &'a str,
    #[serde(flatten)]
    pub placement: &'a Placement,
}

#[derive(Debug, Serialize)]
pub struct VerdictItem<'a> {
    /// 1-based patch number.
    pub patch: usize,
    pub subject: &'a str,
    #[serde(flatten)]
    pub finding: &'a Finding,
}

#[derive(Debug, Serialize)]
pub struct InUseItem<'a> {
    /// 1-based patch number.
    pub patch: usize,
    pub subject: &'a str,
    pub verdict: &'static str,
    pub names: &'a [InUse],
}

#[derive(Debug, Serialize)]
pub struct CascadeSummary {
    pub git_conflicts: usize,
    pub conflicts_left: usize,
    pub regions_resolved: usize,
    pub regions_refused: usize,
}

impl CascadeSummary {
    fn new(patches: &[PatchState]) -> Self {
        let left = patches
            .iter()
            .filter(|p| p.verdict == Some(Verdict::Conflict))
            .count();
        // A patch the cascade touched conflicted under a plain three-way merge, and so did
        // one a verdict stopped with a conflicting path.
        let rescued = patches
            .iter()
            .filter(|p| p.verdict != Some(Verdict::Conflict))
            .filter(|p| {
                p.paths.iter().any(|x| {
                    !x.placements.is_empty()
                        || (p.finding.is_some() && x.status == PathStatus::Conflict)
                })
            })
            .count();
        let regions = |f: fn(&crate::rebase::merge::PathResult) -> usize| {
            patches.iter().flat_map(|p| &p.paths).map(f).sum::<usize>()
        };
        CascadeSummary {
            git_conflicts: left + rescued,
            conflicts_left: left,
            regions_resolved: regions(|x| x.placements.len()),
            regions_refused: regions(|x| x.refusals.len()),
        }
    }
}

impl<'a> Report<'a> {
    pub fn new(session: &'a Session) -> Self {
        let mut counts = BTreeMap::new();
        for p in &session.patches {
            let v = p.verdict.map_or("not-replayed", Verdict::as_str);
            *counts.entry(v).or_insert(0) += 1;
        }
        let done = session.next.max(1) as f64;
        Report {
            target: &session.target,
            branch: &session.branch,
            tip: &session.tip,
            finished: session.finished,
            patches_total: session.patches.len(),
            counts,
            replay_seconds: session.replay_seconds,
            patches_per_second: if session.replay_seconds > 0.0 {
                done / session.replay_seconds
            } else {
                0.0
            },
            patches: &session.patches,
            review: session
                .patches
                .iter()
                .enumerate()
                .flat_map(|(i, p)| {
                    p.paths.iter().flat_map(move |x| {
                        x.placements.iter().map(move |pl| ReviewItem {
                            patch: i + 1,
                            subject: &p.subject,
                            placement: pl,
                        })
                    })
                })
                .collect(),
            verdicts: session
                .patches
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    p.finding.as_ref().map(|finding| VerdictItem {
                        patch: i + 1,
                        subject: &p.subject,
                        finding,
                    })
                })
                .collect(),
            removes_in_use: session
                .patches
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.in_use.is_empty())
                .map(|(i, p)| InUseItem {
                    patch: i + 1,
                    subject: &p.subject,
                    verdict: p.verdict_name(),
                    names: &p.in_use,
                })
                .collect(),
            cascade: CascadeSummary::new(&session.patches),
            collateral: &session.collateral,
            verification: session.verification.as_ref(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    fn summary(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        parts.join(", ")
    }

    fn files(p: &PatchState) -> String {
        let names: Vec<&str> = p.paths.iter().map(|x| x.path.as_str()).collect();
        match names.len() {
            0 => "-".into(),
            1..=2 => names.join(", "),
            n => format!("{}, {} +{} more", names[0], names[1], n - 2),
        }
    }

    /// The patches (numbered from 1) that name identifiers the target does not define.
    fn flagged(&self) -> Vec<(usize, &PatchState)> {
        self.patches
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.identifiers.is_empty())
            .map(|(i, p)| (i + 1, p))
            .collect()
    }

    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "rebase onto {} -> branch {}", self.target, self.branch);
        // The verdict column fits the longest verdict, `upstream-equivalent`.
        let _ = writeln!(
            out,
            "{:>3}  {:<19} {:<12} {:<13} {:<50} files",
            "#", "verdict", "topic", "commit", "subject"
        );
        for (i, p) in self.patches.iter().enumerate() {
            let v = p.verdict_name();
            let key: String = p
                .key
                .rsplit('/')
                .next()
                .unwrap_or(&p.key)
                .chars()
                .take(12)
                .collect();
            let subject: String = p.subject.chars().take(50).collect();
            let _ = writeln!(
                out,
                "{:>3}  {:<19} {:<12} {:<13} {:<50} {}",
                i + 1,
                v,
                p.topic,
                key,
                subject,
                Self::files(p)
            );
        }
        let _ = writeln!(out, "\n{}: {}", patches(self.patches_total), self.summary());
        if self.replay_seconds > 0.0 {
            let _ = writeln!(
                out,
                "replayed in {:.2}s ({:.0} patches/s)",
                self.replay_seconds, self.patches_per_second
            );
        }
        for (i, p) in self.patches.iter().enumerate() {
            if !p.has_details() {
                continue;
            }
            let _ = writeln!(out, "\n#{} {} [{}]", i + 1, p.subject, p.verdict_name());
            for n in &p.notes {
                let _ = writeln!(out, "  note: {n}");
            }
            for c in &p.conflicts {
                let _ = writeln!(out, "  conflict in {}:{} ({})", c.path, c.line, c.kind);
                for by in &c.changed_upstream_by {
                    let _ = writeln!(out, "    changed upstream by {by}");
                }
                for line in c.text.lines().take(40) {
                    let _ = writeln!(out, "    {line}");
                }
            }
            for r in p.paths.iter().flat_map(|x| &x.refusals) {
                let _ = writeln!(out, "  cascade left {}:{}: {}", r.path, r.line, r.reason);
            }
            if let Some(d) = &p.interdiff {
                let _ = writeln!(out, "  interdiff (change lines, original vs ported):");
                for line in d.lines().take(40) {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        if !self.review.is_empty() {
            let _ = writeln!(
                out,
                "\nreview: {} conflict region(s) resolved by the cascade (git leaves {} conflicting patch(es), {} remain)",
                self.review.len(),
                self.cascade.git_conflicts,
                self.cascade.conflicts_left
            );
            for r in &self.review {
                let pl = r.placement;
                let _ = writeln!(
                    out,
                    "  #{} {}:{} [{}, {} confidence] {}",
                    r.patch,
                    pl.path,
                    pl.line,
                    pl.method.as_str(),
                    confidence(pl.confidence),
                    pl.detail
                );
                for line in pl.text.lines().take(20) {
                    let _ = writeln!(out, "    | {line}");
                }
            }
        }
        let flagged = self.flagged();
        if !flagged.is_empty() {
            let _ = writeln!(
                out,
                "\nreview: {} patch(es) name identifiers the target does not define",
                flagged.len()
            );
            for (i, p) in flagged {
                let _ = writeln!(out, "  #{} {} [{}]", i, p.subject, p.verdict_name());
                for u in p.identifiers.iter().take(20) {
                    let _ = writeln!(out, "    {}:{} `{}`", u.path, u.line, u.name);
                }
            }
        }
        if !self.removes_in_use.is_empty() {
            let _ = writeln!(
                out,
                "\nreview: {} patch(es) remove definitions the tree right after them still uses (applied; a build break or dead code at that commit)",
                self.removes_in_use.len()
            );
            for item in &self.removes_in_use {
                let _ = writeln!(out, "  #{} {} [{}]", item.patch, item.subject, item.verdict);
                for u in item.names {
                    let _ = writeln!(
                        out,
                        "    `{}` ({}, removed at {}) still used at:",
                        u.name, u.kind, u.removed_at
                    );
                    for s in &u.users {
                        let _ = writeln!(out, "      {}:{}: {}", s.path, s.line, s.text);
                    }
                    if u.more > 0 {
                        let _ = writeln!(out, "      and {} more", u.more);
                    }
                }
            }
        }
        if !self.verdicts.is_empty() {
            let _ = writeln!(
                out,
                "\nreview: {} patch(es) the target already has or made obsolete (the session stops on each: --continue drops it, --continue --apply forces it through)",
                self.verdicts.len()
            );
            for v in &self.verdicts {
                let f = v.finding;
                let _ = writeln!(
                    out,
                    "  #{} {} [{}, {} confidence{}]",
                    v.patch,
                    v.subject,
                    f.verdict,
                    confidence(f.confidence),
                    decision(f.decision)
                );
                for e in &f.evidence {
                    let _ = writeln!(out, "    {}: {}", at(e), e.what);
                    for line in e.text.lines().take(8) {
                        let _ = writeln!(out, "      | {line}");
                    }
                }
            }
        }
        if !self.collateral.is_empty() {
            let _ = writeln!(
                out,
                "\nto-do: {} place(s) of new upstream code the queue's intent covers (collateral evolution)",
                self.collateral.len()
            );
            for t in self.collateral {
                let _ = writeln!(out, "  {}:{} [{}] {}", t.path, t.line, t.rule, t.what);
                let _ = writeln!(out, "    -> {}", t.todo);
            }
        }
        let pending = self.patches.iter().filter(|p| p.stops()).count();
        if let Some(v) = self.verification {
            let _ = writeln!(out, "\n{}", v.summary());
            if let Some(e) = &v.evidence {
                for line in e.lines().take(20) {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        if self.finished {
            let _ = writeln!(
                out,
                "\nbranch {} written at {}",
                self.branch,
                &self.tip[..12.min(self.tip.len())]
            );
        } else if pending > 0 {
            let _ = writeln!(
                out,
                "\n{pending} conflict(s) or verdict(s) queued; the other patches are ported on top of {}.\nnext: `dovetail-port rebase --continue` checks the first conflict out for you to resolve; `--skip` drops it; `--abort` forgets the session; `--status` shows this table.",
                self.target
            );
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Rebase onto `{}`\n", self.target);
        let _ = writeln!(
            out,
            "Result branch: `{}` — {}: {}\n",
            self.branch,
            patches(self.patches_total),
            self.summary()
        );
        let _ = writeln!(
            out,
            "| # | verdict | topic | subject | files |\n|---|---|---|---|---|"
        );
        for (i, p) in self.patches.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                p.verdict_name(),
                p.topic,
                cell(&p.subject),
                cell(&Self::files(p))
            );
        }
        for (i, p) in self.patches.iter().enumerate() {
            if !p.has_details() {
                continue;
            }
            let _ = writeln!(out, "\n## {}. {} ({})", i + 1, p.subject, p.verdict_name());
            if !p.notes.is_empty() {
                out.push('\n');
            }
            for n in &p.notes {
                let _ = writeln!(out, "- {n}");
            }
            for c in &p.conflicts {
                let _ = writeln!(
                    out,
                    "\nConflict in `{}` line {}:\n\n{}",
                    c.path,
                    c.line,
                    code_block("diff", &c.text)
                );
                if !c.changed_upstream_by.is_empty() {
                    out.push('\n');
                }
                for by in &c.changed_upstream_by {
                    let _ = writeln!(out, "- changed upstream by `{by}`");
                }
            }
            let refusals: Vec<_> = p.paths.iter().flat_map(|x| &x.refusals).collect();
            if !refusals.is_empty() {
                out.push('\n');
            }
            for r in refusals {
                let _ = writeln!(
                    out,
                    "- the cascade left `{}:{}`: {}",
                    r.path, r.line, r.reason
                );
            }
            if let Some(d) = &p.interdiff {
                let _ = writeln!(out, "\nInterdiff:\n\n{}", code_block("diff", d));
            }
        }
        if let Some(v) = self.verification {
            let _ = writeln!(out, "\n## Verification\n\n{}", v.summary());
            if let Some(e) = &v.evidence {
                let _ = writeln!(out, "\n{}", code_block("", e));
            }
        }
        if !self.review.is_empty() {
            let _ = writeln!(
                out,
                "\n## Review: placements by the resolution cascade\n\ngit leaves {} conflicting patch(es); {} remain.\n\n| # | file:line | method | confidence | what |\n|---|---|---|---|---|",
                self.cascade.git_conflicts, self.cascade.conflicts_left
            );
            for r in &self.review {
                let pl = r.placement;
                let _ = writeln!(
                    out,
                    "| {} | `{}:{}` | {} | {} | {} |",
                    r.patch,
                    pl.path,
                    pl.line,
                    pl.method.as_str(),
                    confidence(pl.confidence),
                    cell(&pl.detail)
                );
            }
        }
        let flagged = self.flagged();
        if !flagged.is_empty() {
            let _ = writeln!(
                out,
                "\n## Review: identifiers the target does not define\n\n| # | file:line | identifier |\n|---|---|---|"
            );
            for (i, p) in flagged {
                for u in &p.identifiers {
                    let _ = writeln!(out, "| {} | `{}:{}` | `{}` |", i, u.path, u.line, u.name);
                }
            }
        }
        if !self.removes_in_use.is_empty() {
            let _ = writeln!(
                out,
                "\n## Review: definitions removed but still used\n\n| # | removed | still used at |\n|---|---|---|"
            );
            for item in &self.removes_in_use {
                for u in item.names {
                    for s in &u.users {
                        let _ = writeln!(
                            out,
                            "| {} | `{}` | `{}:{}` |",
                            item.patch, u.name, s.path, s.line
                        );
                    }
                }
            }
        }
        if !self.verdicts.is_empty() {
            let _ = writeln!(
                out,
                "\n## Review: upstream-equivalent and obsolete verdicts\n\n| # | verdict | confidence | evidence | what |\n|---|---|---|---|---|"
            );
            for v in &self.verdicts {
                let f = v.finding;
                for e in &f.evidence {
                    let _ = writeln!(
                        out,
                        "| {} | {}{} | {} | `{}` | {} |",
                        v.patch,
                        f.verdict,
                        decision(f.decision),
                        confidence(f.confidence),
                        at(e),
                        cell(&e.what)
                    );
                }
            }
        }
        if !self.collateral.is_empty() {
            let _ = writeln!(
                out,
                "\n## To-do: new upstream code the queue's intent covers\n\n| file:line | rule | what | to do |\n|---|---|---|---|"
            );
            for t in self.collateral {
                let _ = writeln!(
                    out,
                    "| `{}:{}` | {} | {} | {} |",
                    t.path,
                    t.line,
                    t.rule,
                    cell(&t.what),
                    cell(&t.todo)
                );
            }
        }
        out
    }
}

/// `path:line` of a piece of evidence (the path alone for an absence).
fn at(e: &super::verdicts::Evidence) -> String {
    if e.line > 0 {
        format!("{}:{}", e.path, e.line)
    } else {
        e.path.clone()
    }
}

fn decision(d: Option<Decision>) -> &'static str {
    match d {
        None => "",
        Some(Decision::Dropped) => ", dropped",
        Some(Decision::Applied) => ", forced through with --apply",
    }
}

fn confidence(c: super::resolve::Confidence) -> &'static str {
    match c {
        super::resolve::Confidence::High => "high",
        super::resolve::Confidence::Medium => "medium",
    }
}

/// The patch a `--explain` argument names: its 1-based number, or a prefix of its key (commit
/// id, or `file:line` for patch files) that only it has.
pub fn find_patch(session: &Session, spec: &str) -> std::result::Result<usize, String> {
    if let Ok(n) = spec.parse::<usize>() {
        if (1..=session.patches.len()).contains(&n) {
            return Ok(n - 1);
        }
        if spec.len() < 4 {
            return Err(format!(
                "there is no patch #{n}: the queue has {} patch(es)",
                session.patches.len()
            ));
        }
    }
    let hits: Vec<usize> = session
        .patches
        .iter()
        .enumerate()
        .filter(|(_, p)| p.key.starts_with(spec) || p.key.rsplit('/').next() == Some(spec))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => Err(format!(
            "no patch of the session is `{spec}`: give its number (see --status) or commit id"
        )),
        _ => Err(format!(
            "`{spec}` names {} patches: give more of the commit id",
            hits.len()
        )),
    }
}

/// Every decision the replay and the cascade made for one patch, path by path.
pub fn explain(session: &Session, i: usize) -> String {
    let p = &session.patches[i];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "patch #{} {} `{}` (topic {}) onto {}: {}",
        i + 1,
        p.short_key(),
        p.subject,
        p.topic,
        session.target,
        p.verdict_name()
    );
    if session.strict {
        let _ = writeln!(out, "  (--strict: the resolution cascade was off)");
    }
    for x in &p.paths {
        let _ = writeln!(out, "\n{}: {}", x.path, x.status.as_str());
        if let Some((old, new, sim)) = &x.followed {
            let _ = writeln!(
                out,
                "  followed {old} -> {new} ({:.0}% similar)",
                sim * 100.0
            );
        }
        for pl in &x.placements {
            let _ = writeln!(
                out,
                "  placed at line {} by {} ({} confidence): {}",
                pl.line,
                pl.method.as_str(),
                confidence(pl.confidence),
                pl.detail
            );
            for line in pl.text.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
        for r in &x.refusals {
            let _ = writeln!(out, "  left at line {}: {}", r.line, r.reason);
        }
        for c in p.conflicts.iter().filter(|c| c.path == x.path) {
            let _ = writeln!(out, "  conflict at line {} ({})", c.line, c.kind);
            let refused = x.refusals.iter().any(|r| r.line == c.line);
            if !refused && !session.strict && x.conflict.is_some() {
                let _ = writeln!(out, "    no stage of the cascade recognised this region");
            }
            for by in &c.changed_upstream_by {
                let _ = writeln!(out, "    changed upstream by {by}");
            }
            for line in c.text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    if let Some(f) = &p.finding {
        let _ = writeln!(
            out,
            "\n{} ({} confidence{}):",
            f.verdict,
            confidence(f.confidence),
            decision(f.decision)
        );
        for e in &f.evidence {
            let _ = writeln!(out, "  {}: {}", at(e), e.what);
            for line in e.text.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
    }
    for n in &p.notes {
        let _ = writeln!(out, "\nnote: {n}");
    }
    if let Some(d) = &p.interdiff {
        let _ = writeln!(out, "\ninterdiff (change lines, original vs ported):");
        for line in d.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// `1 patch`, `18 patches`.
fn patches(n: usize) -> String {
    format!("{n} patch{}", if n == 1 { "" } else { "es" })
}
