//! `arch-status`: evaluate the checklist of `arch-templates/steps.toml` on a tree and
//! report each step done / partial / missing with file:line evidence and a completion
//! percentage. The result is data ([`ArchStatus`]); rendering is separate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cindex::{self, CIndex};
use super::data::{self, CheckKind, CheckSpec, IsaDescriptor};
use super::tree::{self, TreeFacts};
use super::ArchError;

/// Options of one `arch-status` run.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    pub arch: String,
    pub tree: PathBuf,
    /// `arch-templates/` to read; `None` = the project's data dir.
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Pass,
    /// Found, but the body is still a scaffold TODO.
    Stub,
    Fail,
    /// The descriptor's files for this check do not exist in this kernel version.
    NotApplicable,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub file: String,
    pub line: usize,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub kind: CheckKind,
    pub description: String,
    pub state: CheckState,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done,
    Partial,
    Missing,
    /// No automatic check (a milestone, or work outside the kernel tree).
    Manual,
    NotApplicable,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepStatus {
    pub id: String,
    pub title: String,
    pub state: StepState,
    pub optional: bool,
    pub files: Vec<String>,
    pub checks: Vec<CheckOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseStatus {
    pub id: String,
    pub title: String,
    pub milestone: String,
    pub steps: Vec<StepStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchStatus {
    pub arch: String,
    pub tree: PathBuf,
    pub features: Vec<String>,
    pub phases: Vec<PhaseStatus>,
    /// Checks passed / counted (required steps only; n/a and manual excluded).
    pub passed: usize,
    pub total: usize,
    pub percent: f64,
}

impl ArchStatus {
    pub fn complete(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }

    pub fn steps(&self) -> impl Iterator<Item = &StepStatus> {
        self.phases.iter().flat_map(|p| p.steps.iter())
    }
}

/// Measure how far the port of `opts.arch` in `opts.tree` has come.
pub fn status(opts: &StatusOptions) -> Result<ArchStatus, ArchError> {
    let dir = opts.templates.clone().unwrap_or_else(data::templates_dir);
    let desc = data::load_descriptor(&dir, &opts.arch)?;
    let checklist = data::load_checklist(&dir)?;
    let facts = tree::read(&opts.tree, &desc)?;
    let mut ctx = Ctx {
        desc: &desc,
        facts: &facts,
        cache: HashMap::new(),
    };
    let mut phases = Vec::new();
    let (mut passed, mut total) = (0, 0);
    for phase in &checklist.phases {
        let mut steps = Vec::new();
        for step in checklist.steps.iter().filter(|s| s.phase == phase.id) {
            if !data::when_holds(step.when.as_deref(), &facts.features) {
                continue;
            }
            let checks: Vec<CheckOutcome> = step
                .checks
                .iter()
                .filter(|c| data::when_holds(c.when.as_deref(), &facts.features))
                .map(|c| ctx.eval(c))
                .collect();
            let counted: Vec<&CheckOutcome> = checks
                .iter()
                .filter(|c| c.state != CheckState::NotApplicable)
                .collect();
            let n_pass = counted
                .iter()
                .filter(|c| c.state == CheckState::Pass)
                .count();
            let n_stub = counted
                .iter()
                .filter(|c| c.state == CheckState::Stub)
                .count();
            let state = if step.checks.is_empty() {
                StepState::Manual
            } else if counted.is_empty() {
                StepState::NotApplicable
            } else if n_pass == counted.len() {
                StepState::Done
            } else if n_pass + n_stub > 0 {
                StepState::Partial
            } else {
                StepState::Missing
            };
            if !step.optional {
                passed += n_pass;
                total += counted.len();
            }
            steps.push(StepStatus {
                id: step.id.clone(),
                title: step.title.clone(),
                state,
                optional: step.optional,
                files: expand_all(&desc, &step.files),
                checks,
            });
        }
        phases.push(PhaseStatus {
            id: phase.id.clone(),
            title: phase.title.clone(),
            milestone: phase.milestone.clone(),
            steps,
        });
    }
    let percent = if total == 0 {
        0.0
    } else {
        (passed as f64 * 1000.0 / total as f64).round() / 10.0
    };
    Ok(ArchStatus {
        arch: desc.name.clone(),
        tree: opts.tree.clone(),
        features: facts.features.clone(),
        phases,
        passed,
        total,
        percent,
    })
}

/// Expand file specs for display (`@name` lists, `{arch}`), without existence filtering.
pub fn expand_all(desc: &IsaDescriptor, specs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in specs {
        match s.strip_prefix('@') {
            Some(key) => out.extend(desc.paths.get(key).cloned().unwrap_or_default()),
            None => out.push(expand(desc, s)),
        }
    }
    out.dedup();
    out
}

fn expand(desc: &IsaDescriptor, spec: &str) -> String {
    spec.replace("{arch}", &desc.srcarch)
        .replace("{kconfig}", &desc.kconfig_path())
}

struct Ctx<'a> {
    desc: &'a IsaDescriptor,
    facts: &'a TreeFacts,
    cache: HashMap<String, Option<CIndex>>,
}

impl Ctx<'_> {
    fn root(&self) -> &Path {
        &self.facts.root
    }

    /// Existing files of a check, and whether the check applies at all (a descriptor
    /// list none of whose files exist in this kernel version does not).
    fn files(&self, specs: &[String]) -> (Vec<String>, bool) {
        let mut existing = Vec::new();
        let mut literal = false;
        for s in specs {
            let candidates = match s.strip_prefix('@') {
                Some(key) => self.desc.paths.get(key).cloned().unwrap_or_default(),
                None => {
                    literal = true;
                    vec![expand(self.desc, s)]
                }
            };
            for c in candidates {
                if self.root().join(&c).is_file() && !existing.contains(&c) {
                    existing.push(c);
                }
            }
        }
        let applies = literal || !existing.is_empty();
        (existing, applies)
    }

    fn index(&mut self, rel: &str) -> Option<&CIndex> {
        if !self.cache.contains_key(rel) {
            let path = self.root().join(rel);
            let idx = std::fs::read_to_string(&path)
                .ok()
                .map(|t| cindex::index_file(&path, &t));
            self.cache.insert(rel.to_string(), idx);
        }
        self.cache.get(rel).and_then(|o| o.as_ref())
    }

    fn eval(&mut self, c: &CheckSpec) -> CheckOutcome {
        let mut out = CheckOutcome {
            kind: c.kind,
            description: String::new(),
            state: CheckState::Fail,
            evidence: Vec::new(),
        };
        let kconfig_rel = self.desc.kconfig_path();
        match c.kind {
            CheckKind::File => {
                let rel = expand(self.desc, c.path.as_deref().unwrap_or_default());
                out.description = format!("{rel} exists");
                if self.root().join(&rel).is_file() {
                    out.state = CheckState::Pass;
                    out.evidence.push(ev(&rel, 1, "present"));
                }
            }
            CheckKind::KconfigSelect => {
                out.description = format!("{kconfig_rel} selects {}", c.symbols.join(" or "));
                for block in &self.facts.kconfig.configs {
                    if let Some(s) = block.selects.iter().find(|s| c.symbols.contains(&s.symbol)) {
                        out.state = CheckState::Pass;
                        out.evidence.push(ev(
                            &kconfig_rel,
                            s.line,
                            &format!("select {} in config {}", s.symbol, block.name),
                        ));
                        break;
                    }
                }
            }
            CheckKind::KconfigSource => {
                let p = c.path.as_deref().unwrap_or_default();
                out.description = format!("{kconfig_rel} (or a common Kconfig) sources \"{p}\"");
                if let Some(s) = self.facts.kconfig.source(p) {
                    out.state = CheckState::Pass;
                    out.evidence
                        .push(ev(&kconfig_rel, s.line, &format!("source \"{p}\"")));
                } else {
                    // Newer trees source the generic Kconfig files from common places.
                    let wanted = format!("\"{p}\"");
                    for rel in expand_all(self.desc, &c.files) {
                        if rel == kconfig_rel {
                            continue;
                        }
                        let Ok(text) = std::fs::read_to_string(self.root().join(&rel)) else {
                            continue;
                        };
                        let hit = text.lines().enumerate().find(|(_, l)| {
                            let mut w = l.split_whitespace();
                            w.next() == Some("source") && w.next() == Some(wanted.as_str())
                        });
                        if let Some((i, _)) = hit {
                            out.state = CheckState::Pass;
                            out.evidence
                                .push(ev(&rel, i + 1, &format!("source {wanted}")));
                            break;
                        }
                    }
                }
            }
            CheckKind::MakeObj => {
                let rel = expand(self.desc, c.file.as_deref().unwrap_or_default());
                let obj = c.object.as_deref().unwrap_or_default();
                out.description = format!("{rel} builds {obj}");
                if let Ok(text) = std::fs::read_to_string(self.root().join(&rel)) {
                    if let Some((i, l)) = text.lines().enumerate().find(|(_, l)| {
                        !l.trim_start().starts_with('#') && l.split_whitespace().any(|w| w == obj)
                    }) {
                        out.state = CheckState::Pass;
                        out.evidence.push(ev(&rel, i + 1, l.trim()));
                    }
                }
            }
            CheckKind::Defines
            | CheckKind::Calls
            | CheckKind::Uses
            | CheckKind::Includes
            | CheckKind::Replaced => return self.eval_c(c),
        }
        out
    }

    fn eval_c(&mut self, c: &CheckSpec) -> CheckOutcome {
        let (files, applies) = self.files(&c.files);
        let mut shown = expand_all(self.desc, &c.files).join(", ");
        if shown.is_empty() {
            shown = "(no such files for this arch)".into();
        }
        let syms = c.symbols.join(" or ");
        let description = match c.kind {
            CheckKind::Defines => format!("{syms} defined in {shown}"),
            CheckKind::Calls => match &c.caller {
                Some(f) => format!("{f}() calls {syms} in {shown}"),
                None => format!("{syms} called in {shown}"),
            },
            CheckKind::Uses => format!(
                "{syms} used in {}{shown}",
                if c.all_files { "every one of " } else { "" }
            ),
            CheckKind::Includes => format!(
                "<{}> included by {shown}",
                c.header.as_deref().unwrap_or_default()
            ),
            CheckKind::Replaced => format!(
                "{syms} replaces {} in {shown}",
                c.old.as_deref().unwrap_or_default()
            ),
            _ => unreachable!("non-C checks are handled in eval"),
        };
        let mut out = CheckOutcome {
            kind: c.kind,
            description,
            state: if applies {
                CheckState::Fail
            } else {
                CheckState::NotApplicable
            },
            evidence: Vec::new(),
        };
        if !applies {
            return out;
        }
        let mut per_file_pass = 0;
        let mut stub = false;
        for rel in &files {
            let Some(idx) = self.index(rel) else { continue };
            let found = match c.kind {
                CheckKind::Defines => find_def(idx, &c.symbols).map(|d| {
                    (
                        d.line,
                        d.stub,
                        format!("{} defined{}", d.name, stub_note(d.stub)),
                    )
                }),
                CheckKind::Calls => {
                    let hit = c
                        .symbols
                        .iter()
                        .find_map(|s| idx.call(s, c.caller.as_deref()));
                    match hit {
                        Some(call) => Some((call.line, false, format!("calls {}", call.callee))),
                        // Any stub definition of the caller (e.g. the pipelined branch of an
                        // #ifdef) means the work is scaffolded but not done.
                        None => c.caller.as_deref().and_then(|f| {
                            idx.defs
                                .iter()
                                .find(|d| d.name == f && d.stub)
                                .map(|d| (d.line, true, format!("{} is still a TODO stub", d.name)))
                        }),
                    }
                }
                CheckKind::Uses => c
                    .symbols
                    .iter()
                    .find_map(|s| idx.uses(s).map(|l| (l, false, format!("uses {s}")))),
                CheckKind::Includes => {
                    let h = c.header.as_deref().unwrap_or_default();
                    idx.include(h)
                        .map(|l| (l, false, format!("#include <{h}>")))
                }
                CheckKind::Replaced => {
                    let old = c.old.as_deref().unwrap_or_default();
                    match (find_def(idx, &c.symbols), idx.def(old)) {
                        (Some(d), None) => Some((
                            d.line,
                            d.stub,
                            format!("{} defined{}, {old} gone", d.name, stub_note(d.stub)),
                        )),
                        (Some(d), Some(o)) => {
                            out.evidence.push(ev(
                                rel,
                                o.line,
                                &format!("{old} still defined here"),
                            ));
                            Some((
                                d.line,
                                true,
                                format!("{} defined but {old} still here", d.name),
                            ))
                        }
                        (None, _) => None,
                    }
                }
                _ => None,
            };
            match found {
                Some((line, is_stub, note)) => {
                    out.evidence.push(ev(rel, line, &note));
                    if is_stub {
                        stub = true;
                    } else {
                        per_file_pass += 1;
                        if !c.all_files {
                            break;
                        }
                    }
                }
                None if c.all_files => {
                    out.evidence.push(ev(rel, 0, "not found in this file"));
                }
                None => {}
            }
        }
        let pass = if c.all_files {
            !files.is_empty() && per_file_pass == files.len()
        } else {
            per_file_pass > 0
        };
        out.state = if pass {
            CheckState::Pass
        } else if stub || per_file_pass > 0 {
            CheckState::Stub
        } else {
            CheckState::Fail
        };
        if pass {
            out.evidence.retain(|e| !e.note.contains("still"));
        }
        out
    }
}

fn find_def<'a>(idx: &'a CIndex, names: &[String]) -> Option<&'a cindex::Def> {
    let defs: Vec<&cindex::Def> = names.iter().filter_map(|n| idx.def(n)).collect();
    defs.iter().find(|d| !d.stub).or(defs.first()).copied()
}

fn stub_note(stub: bool) -> &'static str {
    if stub {
        " (TODO body)"
    } else {
        ""
    }
}

fn ev(file: &str, line: usize, note: &str) -> Evidence {
    Evidence {
        file: file.to_string(),
        line,
        note: note.to_string(),
    }
}

impl ArchStatus {
    /// The report a porter reads: each step with its state and evidence.
    pub fn to_human(&self) -> String {
        let mut out = format!(
            "arch-status {} in {} (features: {})\n",
            self.arch,
            self.tree.display(),
            if self.features.is_empty() {
                "none".to_string()
            } else {
                self.features.join(", ")
            }
        );
        for phase in &self.phases {
            out.push_str(&format!("\n{}\n", phase.title));
            for step in &phase.steps {
                let state = match step.state {
                    StepState::Done => "done",
                    StepState::Partial => "partial",
                    StepState::Missing => "missing",
                    StepState::Manual => "manual",
                    StepState::NotApplicable => "n/a",
                };
                let opt = if step.optional { " (optional)" } else { "" };
                out.push_str(&format!(
                    "  [{state:<7}] {:<20} {}{opt}\n",
                    step.id, step.title
                ));
                for c in &step.checks {
                    let mark = match c.state {
                        CheckState::Pass => "ok  ",
                        CheckState::Stub => "stub",
                        CheckState::Fail => "--  ",
                        CheckState::NotApplicable => "n/a ",
                    };
                    out.push_str(&format!("      {mark} {}\n", c.description));
                    for e in &c.evidence {
                        if e.line == 0 {
                            out.push_str(&format!("             {}: {}\n", e.file, e.note));
                        } else {
                            out.push_str(&format!(
                                "             {}:{}: {}\n",
                                e.file, e.line, e.note
                            ));
                        }
                    }
                }
            }
            out.push_str(&format!("  milestone: {}\n", phase.milestone));
        }
        let count = |s: StepState| self.steps().filter(|x| x.state == s && !x.optional).count();
        out.push_str(&format!(
            "\nCompletion: {:.1}% ({}/{} checks); steps: {} done, {} partial, {} missing\n",
            self.percent,
            self.passed,
            self.total,
            count(StepState::Done),
            count(StepState::Partial),
            count(StepState::Missing)
        ));
        out
    }
}
