//! The runner: reads the queue, checks the head, asks [`search`](super::search) for each
//! next step, runs it (or takes it from the cache) and writes the report.

use std::collections::HashMap;
use std::time::Instant;

use git2::{Oid, Repository};

use super::cache::{StepOutcome, VerdictCache};
use super::check::{Check, CheckSpec, KernelCheck, RunCheck};
use super::evidence::Evidence;
use super::impact::{self, PatchSkip, Rules};
use super::report::{BisectReport, Guilty, Outcome, PatchRef, Skipped, Step};
use super::search::{self, Known, Next, Verdict};
use super::workspace::Workspace;
use super::{BisectError, BisectOptions};
use crate::queue::topics::Topics;
use crate::queue::{range, QueueCommit};

/// Bisects `opts.queue` with the check `opts.check`. `progress` gets one line per event.
pub fn run(
    opts: &BisectOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BisectReport, BisectError> {
    let repo = Repository::discover(&opts.repo)?;
    let root = opts
        .workspace
        .clone()
        .unwrap_or_else(|| Workspace::default_root(repo.path()));
    let ws = Workspace::open(repo.path(), root)?;
    let verdicts = opts
        .verdicts
        .clone()
        .unwrap_or_else(VerdictCache::default_root);
    let mut check: Box<dyn Check> = match &opts.check {
        CheckSpec::Run(argv) => Box::new(RunCheck::new(
            argv.clone(),
            opts.kernel.arch.as_deref(),
            ws.root().join("out-run"),
            ws.root().join("run.log"),
            &verdicts,
        )?),
        spec => Box::new(KernelCheck::new(
            spec.clone(),
            opts.kernel.clone(),
            ws.out(opts.kernel.arch()),
            ws.boot_dir(),
            &verdicts,
        )?),
    };
    run_with(opts, &repo, &ws, check.as_mut(), progress)
}

/// Checks trees, from the cache when it can.
struct Runner<'a> {
    ws: &'a Workspace,
    check: &'a mut dyn Check,
    use_cache: bool,
    /// Trees checked in this run (an empty patch has its predecessor's tree).
    seen: HashMap<Oid, (StepOutcome, bool)>,
    steps: Vec<Step>,
    checks_run: usize,
    builds_run: usize,
    boots_run: usize,
}

impl Runner<'_> {
    fn check(
        &mut self,
        patch: Option<&PatchRef>,
        commit: Oid,
        tree: Oid,
        progress: &mut dyn FnMut(&str),
    ) -> Result<StepOutcome, BisectError> {
        let who = patch.map_or("the base".to_string(), |p| {
            format!("#{} {} {}", p.position, &p.commit[..12], p.subject)
        });
        let (outcome, cached) = if let Some(hit) = self.seen.get(&tree) {
            hit.clone()
        } else if let Some(hit) = self
            .use_cache
            .then(|| {
                self.check
                    .cache()
                    .get(tree)
                    .or_else(|| self.check.implied(tree))
            })
            .flatten()
        {
            (hit, true)
        } else {
            progress(&format!("checking {who}"));
            self.ws.checkout(tree)?;
            let o = self.check.run(&self.ws.tree(), commit, tree)?;
            self.check.cache().put(tree, &o)?;
            self.checks_run += 1;
            self.builds_run += usize::from(o.built);
            self.boots_run += usize::from(o.booted);
            (o, false)
        };
        let first = outcome
            .evidence
            .as_ref()
            .map(|e| e.to_string())
            .and_then(|t| t.lines().next().map(str::to_string))
            .filter(|_| outcome.verdict != Verdict::Pass)
            .map(|t| format!(": {t}"))
            .unwrap_or_default();
        progress(&format!(
            "  {} {who}{}{first}",
            match outcome.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "FAIL",
                Verdict::Untestable => "untestable",
            },
            if cached { " (cached)" } else { "" }
        ));
        if !self.seen.contains_key(&tree) {
            self.steps.push(Step {
                patch: patch.cloned(),
                tree: tree.to_string(),
                verdict: outcome.verdict,
                cached,
                built: outcome.built && !cached,
                booted: outcome.booted && !cached,
                secs: if cached { 0.0 } else { outcome.secs },
                evidence: outcome.evidence.clone(),
            });
            self.seen.insert(tree, (outcome.clone(), cached));
        }
        Ok(outcome)
    }
}

/// [`run`] with the repository, workspace and check already set up (tests pass a fake
/// check here).
pub fn run_with(
    opts: &BisectOptions,
    repo: &Repository,
    ws: &Workspace,
    check: &mut dyn Check,
    progress: &mut dyn FnMut(&str),
) -> Result<BisectReport, BisectError> {
    let t0 = Instant::now();
    let topics = match &opts.topics {
        Some(p) => Topics::load(p)?,
        None => Topics::builtin()?,
    };
    let range = range::parse_range(repo, &opts.queue)?;
    let patches: Vec<QueueCommit> = range::commits(repo, range)?
        .into_iter()
        .map(|id| range::describe(repo, id, &topics))
        .collect::<Result<_, _>>()?;
    let n = patches.len();
    let trees: Vec<Oid> = patches
        .iter()
        .map(|p| repo.find_commit(p.id).map(|c| c.tree_id()))
        .collect::<Result<_, _>>()?;
    let base_tree = repo.find_commit(range.base)?.tree_id();
    let refs: Vec<PatchRef> = patches
        .iter()
        .enumerate()
        .map(|(i, p)| PatchRef {
            position: i + 1,
            commit: p.id.to_string(),
            subject: p.subject.clone(),
            topic: p.topic.clone(),
        })
        .collect();

    let mut runner = Runner {
        ws,
        check,
        use_cache: opts.use_cache,
        seen: HashMap::new(),
        steps: Vec::new(),
        checks_run: 0,
        builds_run: 0,
        boots_run: 0,
    };
    let mut verdicts: Vec<Option<Verdict>> = vec![None; n];
    let mut outcomes: Vec<Option<StepOutcome>> = vec![None; n];
    let mut notes = Vec::new();
    let mut report = BisectReport {
        queue: opts.queue.clone(),
        check: opts.check.label(),
        outcome: Outcome::HeadPasses,
        guilty: None,
        candidates: Vec::new(),
        patches: n,
        steps: Vec::new(),
        cannot_matter: Vec::new(),
        checks: 0,
        checks_run: 0,
        builds_run: 0,
        boots_run: 0,
        plain_bisection_checks: None,
        secs: 0.0,
        workspace: ws.root().display().to_string(),
        notes: Vec::new(),
    };

    // The head first: it must fail, and its build tells what can matter.
    let head = n - 1;
    let o = runner.check(Some(&refs[head]), patches[head].id, trees[head], progress)?;
    match o.verdict {
        Verdict::Pass => {
            finish(&mut report, runner, notes, t0);
            return Ok(report);
        }
        Verdict::Untestable => {
            return Err(BisectError::HeadUntestable {
                commit: refs[head].commit.clone(),
                evidence: o.evidence.map(|e| e.to_string()).unwrap_or_default(),
            })
        }
        Verdict::Fail => {}
    }
    verdicts[head] = Some(o.verdict);
    outcomes[head] = Some(o);

    let rules = Rules::builtin()?;
    // Per setup: a complete build of another configuration says nothing of this one.
    let complete_marker = ws
        .root()
        .join(format!("complete-{}", runner.check.cache().name()));
    if runner.checks_run > 0
        && outcomes[head]
            .as_ref()
            .is_some_and(|o| runner.check.completed_build(o))
    {
        let _ = std::fs::write(&complete_marker, trees[head].to_string());
    }
    // A compile error at the head: only its file, headers and build files can cause it.
    let compile_error = match outcomes[head].as_ref().and_then(|o| o.evidence.as_ref()) {
        Some(Evidence::CompileError { file, .. }) if opts.impact => {
            let includes = repo
                .find_tree(trees[head])
                .and_then(|t| t.get_path(std::path::Path::new(file)))
                .and_then(|e| repo.find_blob(e.id()))
                .map(|b| impact::includes_sources(b.content()))
                .unwrap_or(true);
            Some((file.clone(), includes))
        }
        _ => None,
    };
    // What can matter, from the fixed rules and the builds so far. The dependency files of a
    // build that stopped at an error list only what it reached: they count once one step
    // passed in this build folder.
    let analyse = |runner: &Runner<'_>, notes: &mut Vec<String>| -> Vec<Option<PatchSkip>> {
        if !opts.impact {
            return vec![None; n];
        }
        let mut scope = runner.check.scope(&ws.tree());
        if !complete_marker.exists() && scope.compiled.take().is_some() {
            let note = "no complete build in the build folder yet: only documentation and other \
                        architectures' folders are left out until a step passes"
                .to_string();
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        patches
            .iter()
            .map(|p| {
                impact::patch_cannot_matter(&p.paths, &rules, &scope).or_else(|| {
                    let (file, includes) = compile_error.as_ref()?;
                    let can = p
                        .paths
                        .iter()
                        .any(|x| impact::can_cause_compile_error(x, file, *includes, &rules));
                    (!can).then(|| PatchSkip {
                        reason: format!(
                            "touches only other sources: cannot cause the compile error in {file}"
                        ),
                        from_build: true,
                    })
                })
            })
            .collect()
    };
    let mut skips = analyse(&runner, &mut notes);
    // Patches the search must treat as mattering whatever the analysis says.
    let mut forced = vec![false; n];

    let mut base_checked: Option<Verdict> = None;
    loop {
        let can_matter: Vec<bool> = (0..n).map(|i| forced[i] || skips[i].is_none()).collect();
        let known: Vec<Known> = (0..n)
            .map(|i| Known {
                verdict: verdicts[i],
                can_matter: can_matter[i],
                topic: &patches[i].topic,
            })
            .collect();
        let mut checked = None;
        match search::next(&known) {
            Next::Check(i) => checked = Some(i),
            Next::Found(g) => {
                // The answer rests on checked trees only: the guilty tree itself, and its
                // predecessor when build-derived skips lie between it and the last pass.
                let good = verdicts[..g]
                    .iter()
                    .rposition(|v| *v == Some(Verdict::Pass));
                let from = good.map_or(0, |x| x + 1);
                let doubt = (from..g).any(|i| skips[i].as_ref().is_some_and(|s| s.from_build));
                if outcomes[g].is_none() {
                    checked = Some(g);
                } else if g > 0 && verdicts[g - 1].is_none() && doubt {
                    checked = Some(g - 1);
                } else {
                    if good.is_none() {
                        // Its predecessor is the base, or only skipped patches lead to it.
                        if base_checked.is_none() {
                            let o = runner.check(None, range.base, base_tree, progress)?;
                            base_checked = Some(o.verdict);
                        }
                        match base_checked {
                            Some(Verdict::Fail) => {
                                report.outcome = Outcome::BaseFails;
                                break;
                            }
                            Some(Verdict::Untestable) => notes.push(
                                "the base could not be checked; the guilty patch is the first \
                                 checked tree that fails"
                                    .into(),
                            ),
                            _ => {}
                        }
                    }
                    found(&mut report, &refs, &outcomes, g, n);
                    break;
                }
            }
            Next::Ambiguous(c) => {
                report.outcome = Outcome::Ambiguous;
                report.candidates = c.into_iter().map(|i| refs[i].clone()).collect();
                break;
            }
            Next::NoCandidate => {
                if base_checked.is_none() {
                    let o = runner.check(None, range.base, base_tree, progress)?;
                    base_checked = Some(o.verdict);
                }
                if base_checked == Some(Verdict::Fail) || forced.iter().all(|&f| f) {
                    report.outcome = Outcome::BaseFails;
                    break;
                }
                notes.push(
                    "no patch that can matter explains the failure: every patch was bisected"
                        .into(),
                );
                forced = vec![true; n];
            }
        }
        if let Some(i) = checked {
            let runs_before = runner.checks_run;
            let o = runner.check(Some(&refs[i]), patches[i].id, trees[i], progress)?;
            verdicts[i] = Some(o.verdict);
            let complete = runner.checks_run > runs_before && runner.check.completed_build(&o);
            outcomes[i] = Some(o);
            if skips[i].is_some() && verdicts[i] == Some(Verdict::Fail) {
                // A skipped patch's tree fails where the search expected its predecessor's
                // verdict: the skips since the last pass are not to be trusted.
                let good = verdicts[..i]
                    .iter()
                    .rposition(|v| *v == Some(Verdict::Pass));
                for f in forced
                    .iter_mut()
                    .take(i + 1)
                    .skip(good.map_or(0, |x| x + 1))
                {
                    *f = true;
                }
                notes.push(format!(
                    "patch #{} was judged unable to matter but its tree fails: the patches \
                     before it were bisected too",
                    i + 1
                ));
            }
            if complete {
                let _ = std::fs::write(&complete_marker, trees[i].to_string());
                skips = analyse(&runner, &mut notes);
            }
        }
    }
    report.cannot_matter = (0..n)
        .filter(|&i| !forced[i])
        .filter_map(|i| {
            skips[i].as_ref().map(|s| Skipped {
                patch: refs[i].clone(),
                reason: s.reason.clone(),
            })
        })
        .collect();
    finish(&mut report, runner, notes, t0);
    Ok(report)
}

fn found(
    report: &mut BisectReport,
    refs: &[PatchRef],
    outcomes: &[Option<StepOutcome>],
    g: usize,
    n: usize,
) {
    report.outcome = Outcome::Found;
    report.guilty = Some(Guilty {
        patch: refs[g].clone(),
        evidence: outcomes[g].as_ref().and_then(|o| o.evidence.clone()),
    });
    report.plain_bisection_checks = Some(1 + search::plain_bisection_checks(n, g));
}

fn finish(report: &mut BisectReport, runner: Runner<'_>, notes: Vec<String>, t0: Instant) {
    report.checks = runner.steps.len();
    report.checks_run = runner.checks_run;
    report.builds_run = runner.builds_run;
    report.boots_run = runner.boots_run;
    report.steps = runner.steps;
    report.notes = notes;
    report.secs = t0.elapsed().as_secs_f64();
}
