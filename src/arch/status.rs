//! `arch-status`: evaluate the checklist of `arch-templates/steps.toml` on a tree and
//! report each step done / partial / missing with file:line evidence and a completion
//! percentage. The result is data ([`ArchStatus`]); rendering is separate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cindex::{self, CIndex};
use super::data::Checklist;
use super::data::{self, Check, CheckKind, IsaDescriptor};
use super::tree::{self, TreeFacts, TreeFiles};
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
    Ok(evaluate(&desc, &checklist, &facts, &tree::Disk(&opts.tree)))
}

/// The checklist evaluated over a tree's facts and files (which may be in memory).
pub fn evaluate(
    desc: &IsaDescriptor,
    checklist: &Checklist,
    facts: &TreeFacts,
    files: &dyn TreeFiles,
) -> ArchStatus {
    let mut ctx = Ctx {
        desc,
        facts,
        files,
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
                .map(|c| ctx.eval(&c.check))
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
                files: expand_all(desc, &step.files),
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
    ArchStatus {
        arch: desc.name.clone(),
        tree: facts.root.clone(),
        features: facts.features.clone(),
        phases,
        passed,
        total,
        percent,
    }
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
    files: &'a dyn TreeFiles,
    cache: HashMap<String, Option<CIndex>>,
}

/// What a C check found in one file.
struct Found {
    line: usize,
    /// The definition is still a scaffold TODO.
    stub: bool,
    note: String,
}

impl Found {
    fn new(line: usize, stub: bool, note: String) -> Self {
        Found { line, stub, note }
    }
}

/// A failed outcome of `c`, to be filled by its check.
fn outcome(c: &Check, description: String) -> CheckOutcome {
    CheckOutcome {
        kind: c.kind(),
        description,
        state: CheckState::Fail,
        evidence: Vec::new(),
    }
}

impl Ctx<'_> {
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
                if self.files.is_file(&c) && !existing.contains(&c) {
                    existing.push(c);
                }
            }
        }
        let applies = literal || !existing.is_empty();
        (existing, applies)
    }

    fn index(&mut self, rel: &str) -> Option<&CIndex> {
        if !self.cache.contains_key(rel) {
            let idx = self
                .files
                .read(rel)
                .ok()
                .map(|t| cindex::index_file(Path::new(rel), &t));
            self.cache.insert(rel.to_string(), idx);
        }
        self.cache.get(rel).and_then(|o| o.as_ref())
    }

    fn eval(&mut self, c: &Check) -> CheckOutcome {
        match c {
            Check::File { path } => self.file(c, path),
            Check::KconfigSelect { symbols } => self.kconfig_select(c, symbols),
            Check::KconfigSource { path, files } => self.kconfig_source(c, path, files),
            Check::MakeObj { file, object } => self.make_obj(c, file, object),
            Check::Defines { .. }
            | Check::Calls { .. }
            | Check::Uses { .. }
            | Check::Includes { .. }
            | Check::Replaced { .. } => self.eval_c(c),
        }
    }

    fn file(&self, c: &Check, path: &str) -> CheckOutcome {
        let rel = expand(self.desc, path);
        let mut out = outcome(c, format!("{rel} exists"));
        if self.files.is_file(&rel) {
            out.state = CheckState::Pass;
            out.evidence.push(ev(&rel, 1, "present"));
        }
        out
    }

    fn kconfig_select(&self, c: &Check, symbols: &[String]) -> CheckOutcome {
        let kconfig_rel = self.desc.kconfig_path();
        let mut out = outcome(c, format!("{kconfig_rel} selects {}", symbols.join(" or ")));
        for block in &self.facts.kconfig.configs {
            if let Some(s) = block.selects.iter().find(|s| symbols.contains(&s.symbol)) {
                out.state = CheckState::Pass;
                out.evidence.push(ev(
                    &kconfig_rel,
                    s.line,
                    &format!("select {} in config {}", s.symbol, block.name),
                ));
                break;
            }
        }
        out
    }

    fn kconfig_source(&self, c: &Check, p: &str, files: &[String]) -> CheckOutcome {
        let kconfig_rel = self.desc.kconfig_path();
        let mut out = outcome(
            c,
            format!("{kconfig_rel} (or a common Kconfig) sources \"{p}\""),
        );
        if let Some(s) = self.facts.kconfig.source(p) {
            out.state = CheckState::Pass;
            out.evidence
                .push(ev(&kconfig_rel, s.line, &format!("source \"{p}\"")));
            return out;
        }
        // Newer trees source the generic Kconfig files from common places.
        let wanted = format!("\"{p}\"");
        for rel in expand_all(self.desc, files) {
            if rel == kconfig_rel {
                continue;
            }
            let Ok(text) = self.files.read(&rel) else {
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
        out
    }

    fn make_obj(&self, c: &Check, file: &str, obj: &str) -> CheckOutcome {
        let rel = expand(self.desc, file);
        let mut out = outcome(c, format!("{rel} builds {obj}"));
        if let Ok(text) = self.files.read(&rel) {
            if let Some((i, l)) = text.lines().enumerate().find(|(_, l)| {
                !l.trim_start().starts_with('#') && l.split_whitespace().any(|w| w == obj)
            }) {
                out.state = CheckState::Pass;
                out.evidence.push(ev(&rel, i + 1, l.trim()));
            }
        }
        out
    }

    /// A check over C files: each existing file is indexed and asked the kind's question.
    fn eval_c(&mut self, c: &Check) -> CheckOutcome {
        let (specs, all_files) = c.c_files().unwrap_or_default();
        let (files, applies) = self.files(specs);
        let mut shown = expand_all(self.desc, specs).join(", ");
        if shown.is_empty() {
            shown = "(no such files for this arch)".into();
        }
        let mut out = outcome(c, c_description(c, &shown));
        if !applies {
            out.state = CheckState::NotApplicable;
            return out;
        }
        let mut per_file_pass = 0;
        let mut stub = false;
        for rel in &files {
            let Some(idx) = self.index(rel) else { continue };
            let found = match c {
                Check::Defines { symbols, .. } => defines(symbols, idx),
                Check::Calls {
                    symbols, caller, ..
                } => calls(symbols, caller.as_deref(), idx),
                Check::Uses { symbols, .. } => uses(symbols, idx),
                Check::Includes { header, .. } => includes(header, idx),
                Check::Replaced { old, symbols, .. } => {
                    replaced(old, symbols, idx, rel, &mut out.evidence)
                }
                Check::File { .. }
                | Check::KconfigSelect { .. }
                | Check::KconfigSource { .. }
                | Check::MakeObj { .. } => None,
            };
            match found {
                Some(f) => {
                    out.evidence.push(ev(rel, f.line, &f.note));
                    if f.stub {
                        stub = true;
                    } else {
                        per_file_pass += 1;
                        if !all_files {
                            break;
                        }
                    }
                }
                None if all_files => {
                    out.evidence.push(ev(rel, 0, "not found in this file"));
                }
                None => {}
            }
        }
        let pass = if all_files {
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

/// What a C check asks, for the report; `shown` names its files.
fn c_description(c: &Check, shown: &str) -> String {
    match c {
        Check::Defines { symbols, .. } => format!("{} defined in {shown}", symbols.join(" or ")),
        Check::Calls {
            symbols, caller, ..
        } => match caller {
            Some(f) => format!("{f}() calls {} in {shown}", symbols.join(" or ")),
            None => format!("{} called in {shown}", symbols.join(" or ")),
        },
        Check::Uses {
            symbols, all_files, ..
        } => format!(
            "{} used in {}{shown}",
            symbols.join(" or "),
            if *all_files { "every one of " } else { "" }
        ),
        Check::Includes { header, .. } => format!("<{header}> included by {shown}"),
        Check::Replaced { old, symbols, .. } => {
            format!("{} replaces {old} in {shown}", symbols.join(" or "))
        }
        Check::File { .. }
        | Check::KconfigSelect { .. }
        | Check::KconfigSource { .. }
        | Check::MakeObj { .. } => String::new(),
    }
}

/// `defines`: one of the symbols is defined (a real body wins over a TODO stub).
fn defines(symbols: &[String], idx: &CIndex) -> Option<Found> {
    find_def(idx, symbols).map(|d| {
        Found::new(
            d.line,
            d.stub,
            format!("{} defined{}", d.name, stub_note(d.stub)),
        )
    })
}

/// `calls`: one of the symbols is called (by `caller` when given). Any stub definition of
/// the caller (e.g. the pipelined branch of an #ifdef) means the work is scaffolded, not done.
fn calls(symbols: &[String], caller: Option<&str>, idx: &CIndex) -> Option<Found> {
    let hit = symbols.iter().find_map(|s| idx.call(s, caller));
    match hit {
        Some(call) => Some(Found::new(
            call.line,
            false,
            format!("calls {}", call.callee),
        )),
        None => caller.and_then(|f| {
            idx.defs
                .iter()
                .find(|d| d.name == f && d.stub)
                .map(|d| Found::new(d.line, true, format!("{} is still a TODO stub", d.name)))
        }),
    }
}

/// `uses`: one of the symbols appears.
fn uses(symbols: &[String], idx: &CIndex) -> Option<Found> {
    symbols.iter().find_map(|s| {
        idx.uses(s)
            .map(|l| Found::new(l, false, format!("uses {s}")))
    })
}

/// `includes`: the header is included.
fn includes(header: &str, idx: &CIndex) -> Option<Found> {
    idx.include(header)
        .map(|l| Found::new(l, false, format!("#include <{header}>")))
}

/// `replaced`: one of the symbols is defined and `old` is gone; while `old` is still defined
/// the new definition counts as a stub, with `old`'s place as evidence.
fn replaced(
    old: &str,
    symbols: &[String],
    idx: &CIndex,
    rel: &str,
    evidence: &mut Vec<Evidence>,
) -> Option<Found> {
    match (find_def(idx, symbols), idx.def(old)) {
        (Some(d), None) => Some(Found::new(
            d.line,
            d.stub,
            format!("{} defined{}, {old} gone", d.name, stub_note(d.stub)),
        )),
        (Some(d), Some(o)) => {
            evidence.push(ev(rel, o.line, &format!("{old} still defined here")));
            Some(Found::new(
                d.line,
                true,
                format!("{} defined but {old} still here", d.name),
            ))
        }
        (None, _) => None,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::arch::cindex::TODO_MARKER;

    const KCONFIG: &str = "arch/riscv/Kconfig";

    /// Evaluates one check (steps.toml syntax) of the riscv descriptor over files in memory;
    /// the arch Kconfig is a bare `config RISCV` unless `files` gives one.
    fn check(spec: &str, files: &[(&str, &str)]) -> CheckOutcome {
        let desc = data::load_descriptor(&data::templates_dir(), "riscv").unwrap();
        let mut tree: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        tree.entry(KCONFIG.into())
            .or_insert_with(|| "config RISCV\n\tdef_bool y\n".into());
        let facts = tree::facts(Path::new("mem"), &desc, &tree).unwrap();
        let spec: Check = toml::from_str(spec).unwrap();
        Ctx {
            desc: &desc,
            facts: &facts,
            files: &tree,
            cache: HashMap::new(),
        }
        .eval(&spec)
    }

    fn places(o: &CheckOutcome) -> Vec<(String, usize, String)> {
        o.evidence
            .iter()
            .map(|e| (e.file.clone(), e.line, e.note.clone()))
            .collect()
    }

    fn place(file: &str, line: usize, note: &str) -> (String, usize, String) {
        (file.into(), line, note.into())
    }

    #[test]
    fn file_exists_or_not() {
        let spec = r#"kind = "file"
path = "arch/{arch}/kernel/irq_pipeline.c""#;
        let rel = "arch/riscv/kernel/irq_pipeline.c";
        let o = check(spec, &[(rel, "")]);
        assert_eq!(o.state, CheckState::Pass);
        assert_eq!(o.description, format!("{rel} exists"));
        assert_eq!(places(&o), [place(rel, 1, "present")]);
        assert_eq!(check(spec, &[]).state, CheckState::Fail);
    }

    #[test]
    fn kconfig_select_reads_selects_not_comments_or_help() {
        let spec = r#"kind = "kconfig_select"
symbols = ["HAVE_IRQ_PIPELINE", "HAVE_DOVETAIL"]"#;
        let o = check(
            spec,
            &[(
                KCONFIG,
                "config RISCV\n\tdef_bool y\n\tselect HAVE_DOVETAIL\n",
            )],
        );
        assert_eq!(o.state, CheckState::Pass);
        assert_eq!(
            places(&o),
            [place(KCONFIG, 3, "select HAVE_DOVETAIL in config RISCV")]
        );
        let o = check(
            spec,
            &[(
                KCONFIG,
                "config RISCV\n\t# select HAVE_IRQ_PIPELINE\n\thelp\n\t  select HAVE_IRQ_PIPELINE\n",
            )],
        );
        assert_eq!((o.state, o.evidence.len()), (CheckState::Fail, 0));
    }

    #[test]
    fn kconfig_source_in_the_arch_kconfig_or_a_common_one() {
        let spec = r#"kind = "kconfig_source"
path = "kernel/Kconfig.dovetail"
files = ["{kconfig}", "arch/Kconfig"]"#;
        let o = check(
            spec,
            &[(
                KCONFIG,
                "config RISCV\n\tdef_bool y\n\nsource \"kernel/Kconfig.dovetail\"\n",
            )],
        );
        assert_eq!(o.state, CheckState::Pass);
        assert_eq!(
            places(&o),
            [place(KCONFIG, 4, "source \"kernel/Kconfig.dovetail\"")]
        );
        let common = "config X\n\tbool\n\nsource \"kernel/Kconfig.dovetail\"\n";
        let o = check(spec, &[("arch/Kconfig", common)]);
        assert_eq!(
            places(&o),
            [place(
                "arch/Kconfig",
                4,
                "source \"kernel/Kconfig.dovetail\""
            )]
        );
        let o = check(
            spec,
            &[("arch/Kconfig", "# source \"kernel/Kconfig.dovetail\"\n")],
        );
        assert_eq!(o.state, CheckState::Fail);
    }

    #[test]
    fn make_obj_skips_commented_lines() {
        let spec = r#"kind = "make_obj"
file = "arch/{arch}/kernel/Makefile"
object = "irq_pipeline.o""#;
        let rel = "arch/riscv/kernel/Makefile";
        let make = "# obj-y += irq_pipeline.o\nobj-$(CONFIG_IRQ_PIPELINE) += irq_pipeline.o\n";
        let o = check(spec, &[(rel, make)]);
        assert_eq!(o.description, format!("{rel} builds irq_pipeline.o"));
        assert_eq!(
            places(&o),
            [place(
                rel,
                2,
                "obj-$(CONFIG_IRQ_PIPELINE) += irq_pipeline.o"
            )]
        );
        let o = check(spec, &[(rel, "# obj-y += irq_pipeline.o\n")]);
        assert_eq!(o.state, CheckState::Fail);
    }

    #[test]
    fn defines_tells_a_body_from_a_todo_stub_and_missing_files_from_other_versions() {
        let spec = r#"kind = "defines"
symbols = ["arch_do_IRQ_pipelined"]
files = ["arch/{arch}/kernel/irq_pipeline.c"]"#;
        let rel = "arch/riscv/kernel/irq_pipeline.c";
        let done =
            "void arch_do_IRQ_pipelined(struct irq_desc *desc)\n{\n\thandle_irq_desc(desc);\n}\n";
        let o = check(spec, &[(rel, done)]);
        assert_eq!(o.state, CheckState::Pass);
        assert_eq!(places(&o), [place(rel, 1, "arch_do_IRQ_pipelined defined")]);
        let stub = format!(
            "\nvoid arch_do_IRQ_pipelined(struct irq_desc *desc)\n{{\n\t/* {TODO_MARKER} */\n}}\n"
        );
        let o = check(spec, &[(rel, &stub)]);
        assert_eq!(o.state, CheckState::Stub);
        assert_eq!(
            places(&o),
            [place(rel, 2, "arch_do_IRQ_pipelined defined (TODO body)")]
        );
        // A file named literally is required; a descriptor list with no file in this
        // version makes the check not applicable.
        assert_eq!(check(spec, &[]).state, CheckState::Fail);
        let spec = r#"kind = "defines"
symbols = ["arch_local_irq_save"]
files = ["@atomics"]"#;
        let o = check(spec, &[]);
        assert_eq!(o.state, CheckState::NotApplicable);
        assert!(o.description.ends_with("(no such files for this arch)"));
    }

    #[test]
    fn calls_by_a_caller_and_a_stub_caller() {
        let spec = r#"kind = "calls"
symbols = ["inband_irq_save"]
caller = "arch_local_irq_save"
files = ["arch/{arch}/include/asm/irq_pipeline.h"]"#;
        let rel = "arch/riscv/include/asm/irq_pipeline.h";
        let good = "static inline unsigned long arch_local_irq_save(void)\n{\n\tint stalled = inband_irq_save();\n\treturn stalled;\n}\n";
        let o = check(spec, &[(rel, good)]);
        assert_eq!(o.state, CheckState::Pass);
        assert_eq!(places(&o), [place(rel, 3, "calls inband_irq_save")]);
        // Called elsewhere than in the caller: not done.
        let elsewhere = "static inline unsigned long arch_local_irq_save(void)\n{\n\treturn native_irq_save();\n}\nstatic void f(void) { inband_irq_save(); }\n";
        assert_eq!(check(spec, &[(rel, elsewhere)]).state, CheckState::Fail);
        let stub = format!("static inline unsigned long arch_local_irq_save(void)\n{{\n\t/* {TODO_MARKER} */\n\treturn 0;\n}}\n");
        let o = check(spec, &[(rel, &stub)]);
        assert_eq!(o.state, CheckState::Stub);
        assert_eq!(
            places(&o),
            [place(rel, 1, "arch_local_irq_save is still a TODO stub")]
        );
    }

    #[test]
    fn uses_in_every_file_names_the_files_without_it() {
        let spec = r#"kind = "uses"
symbols = ["running_oob"]
all_files = true
files = ["arch/{arch}/kernel/a.c", "arch/{arch}/kernel/b.c"]"#;
        let (a, b) = ("arch/riscv/kernel/a.c", "arch/riscv/kernel/b.c");
        let with = "void f(void)\n{\n\tif (running_oob())\n\t\treturn;\n}\n";
        let without = "void g(void)\n{\n}\n";
        let o = check(spec, &[(a, with), (b, with)]);
        assert_eq!(o.state, CheckState::Pass);
        assert!(o.description.contains("every one of"), "{}", o.description);
        let o = check(spec, &[(a, with), (b, without)]);
        assert_eq!(o.state, CheckState::Stub, "some of the files");
        assert_eq!(
            places(&o),
            [
                place(a, 3, "uses running_oob"),
                place(b, 0, "not found in this file")
            ]
        );
        assert_eq!(
            check(spec, &[(a, without), (b, without)]).state,
            CheckState::Fail
        );
    }

    #[test]
    fn includes_a_header() {
        let spec = r#"kind = "includes"
header = "asm/irq_pipeline.h"
files = ["arch/{arch}/include/asm/irqflags.h"]"#;
        let rel = "arch/riscv/include/asm/irqflags.h";
        let o = check(
            spec,
            &[(rel, "#ifndef X\n#include <asm/irq_pipeline.h>\n#endif\n")],
        );
        assert_eq!(places(&o), [place(rel, 2, "#include <asm/irq_pipeline.h>")]);
        let o = check(spec, &[(rel, "/* #include <asm/irq_pipeline.h> */\n")]);
        assert_eq!(o.state, CheckState::Fail);
    }

    #[test]
    fn replaced_only_once_the_old_definition_is_gone() {
        let spec = r#"kind = "replaced"
symbols = ["arch_local_irq_save_native"]
old = "arch_local_irq_save"
files = ["arch/{arch}/include/asm/irqflags.h"]"#;
        let rel = "arch/riscv/include/asm/irqflags.h";
        let new =
            "static inline unsigned long arch_local_irq_save_native(void)\n{\n\treturn 0;\n}\n";
        let old = "static inline unsigned long arch_local_irq_save(void)\n{\n\treturn 1;\n}\n";
        let o = check(spec, &[(rel, new)]);
        assert_eq!(o.state, CheckState::Pass);
        assert_eq!(
            places(&o),
            [place(
                rel,
                1,
                "arch_local_irq_save_native defined, arch_local_irq_save gone"
            )]
        );
        let o = check(spec, &[(rel, &format!("{new}{old}"))]);
        assert_eq!(o.state, CheckState::Stub);
        assert_eq!(
            places(&o),
            [
                place(rel, 5, "arch_local_irq_save still defined here"),
                place(
                    rel,
                    1,
                    "arch_local_irq_save_native defined but arch_local_irq_save still here"
                )
            ]
        );
        assert_eq!(check(spec, &[(rel, old)]).state, CheckState::Fail);
    }

    /// A small checklist with a step in every state (done, partial with a stub, missing,
    /// manual, n/a, optional) over a riscv tree in memory.
    #[test]
    fn human_and_json_reports() {
        let checklist: Checklist = toml::from_str(
            r#"
[[phase]]
id = "pipeline"
title = "Interrupt pipeline"
milestone = "Milestone 1: the torture test passes."

[[phase]]
id = "evl"
title = "EVL core"
milestone = "Milestone 2: evl test passes."

[[step]]
id = "kconfig"
phase = "pipeline"
title = "Kconfig: select HAVE_IRQ_PIPELINE"
todo = "select it"
[[step.check]]
kind = "kconfig_select"
symbols = ["HAVE_IRQ_PIPELINE"]

[[step]]
id = "irq-entry"
phase = "pipeline"
title = "Pipelined IRQ entry"
files = ["arch/{arch}/kernel/irq_pipeline.c"]
todo = "write it"
[[step.check]]
kind = "defines"
symbols = ["arch_do_IRQ_pipelined"]
files = ["arch/{arch}/kernel/irq_pipeline.c"]
[[step.check]]
kind = "make_obj"
file = "arch/{arch}/kernel/Makefile"
object = "irq_pipeline.o"

[[step]]
id = "atomics"
phase = "pipeline"
title = "Hard atomics"
todo = "none here"
[[step.check]]
kind = "defines"
symbols = ["arch_atomic_add"]
files = ["@atomics"]

[[step]]
id = "fpu"
phase = "evl"
title = "FPU context"
files = ["arch/{arch}/include/asm/evl/fptest.h"]
todo = "write it"
[[step.check]]
kind = "file"
path = "arch/{arch}/include/asm/evl/fptest.h"

[[step]]
id = "latmus"
phase = "evl"
title = "Run latmus"
todo = "by hand"

[[step]]
id = "extras"
phase = "evl"
title = "Optional extras"
optional = true
todo = "maybe"
[[step.check]]
kind = "file"
path = "arch/{arch}/evl/extras.c"
"#,
        )
        .unwrap();
        let desc = data::load_descriptor(&data::templates_dir(), "riscv").unwrap();
        let stub = format!(
            "void arch_do_IRQ_pipelined(struct irq_desc *d)\n{{\n\t/* {TODO_MARKER} */\n}}\n"
        );
        let tree: BTreeMap<String, String> = [
            (
                KCONFIG,
                "config RISCV\n\tdef_bool y\n\tselect HAVE_IRQ_PIPELINE\n",
            ),
            ("arch/riscv/kernel/irq_pipeline.c", stub.as_str()),
            ("arch/riscv/kernel/Makefile", "obj-y += irq.o\n"),
        ]
        .into_iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
        let facts = tree::facts(Path::new("/src/linux"), &desc, &tree).unwrap();
        let st = evaluate(&desc, &checklist, &facts, &tree);
        insta::assert_snapshot!("human", st.to_human());
        insta::assert_snapshot!("json", crate::schema::to_json(&st));
    }
}
