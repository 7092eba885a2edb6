//! `new-arch`: plan the scaffold of a port (files from the generic templates filled with
//! the ISA descriptor and tree facts, Kconfig selects/sources and Makefile lines inserted
//! in their blocks, the PORTING checklist), then apply it or show it as a diff.
//! The plan is computed entirely before anything is written, so a refusal (an existing
//! file would be overwritten) leaves the tree untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::data::{self, IsaDescriptor, Manifest};
use super::kconfig;
use super::porting::native_name;
use super::tree::{self, TreeFacts};
use super::{io_err, porting, template, ArchError};

/// Options of one `new-arch` run (the CLI resolves its flags into this).
#[derive(Debug, Clone)]
pub struct NewArchOptions {
    pub arch: String,
    pub tree: PathBuf,
    pub dry_run: bool,
    pub force: bool,
    /// `arch-templates/` to read; `None` = the project's data dir.
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Modify,
    Overwrite,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Relative to the tree.
    pub path: String,
    pub kind: ChangeKind,
    /// The checklist step the change serves.
    pub step: String,
    pub summary: String,
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaffoldReport {
    pub arch: String,
    pub tree: PathBuf,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
    /// Where the checklist was written.
    pub porting_doc: String,
}

/// Plan and (unless dry-run) apply the scaffold.
pub fn new_arch(opts: &NewArchOptions) -> Result<ScaffoldReport, ArchError> {
    let dir = opts.templates.clone().unwrap_or_else(data::templates_dir);
    let desc = data::load_descriptor(&dir, &opts.arch)?;
    let checklist = data::load_checklist(&dir)?;
    let manifest = data::load_manifest(&dir)?;
    let facts = tree::read(&opts.tree, &desc)?;
    let mut report = plan(&dir, &desc, &manifest, &facts)?;
    report
        .changes
        .push(porting_change(&desc, &checklist, &manifest, &facts)?);
    report.porting_doc = report
        .changes
        .last()
        .map(|c| c.path.clone())
        .unwrap_or_default();
    report.dry_run = opts.dry_run;

    // Decide overwrites before writing anything.
    let mut refused = Vec::new();
    let porting_doc = report.porting_doc.clone();
    for change in &mut report.changes {
        if change.kind != ChangeKind::Create {
            continue;
        }
        if let Some(old) = &change.before {
            if *old == change.after {
                change.kind = ChangeKind::Unchanged;
                change.summary = "already scaffolded, identical".into();
            } else if opts.force {
                change.kind = ChangeKind::Overwrite;
            } else if change.path == porting_doc {
                // The checklist is regenerable and holds no port code: keep the
                // porter's copy instead of refusing the whole run.
                change.kind = ChangeKind::Unchanged;
                change.summary =
                    "kept (differs from a fresh checklist; forcing regenerates it)".into();
            } else {
                refused.push(opts.tree.join(&change.path));
            }
        }
    }
    if !refused.is_empty() && !opts.dry_run {
        return Err(ArchError::WouldOverwrite { paths: refused });
    }
    if !refused.is_empty() {
        report.notes.push(format!(
            "{} file(s) exist and differ; a real run must be forced to overwrite them",
            refused.len()
        ));
    }
    if !opts.dry_run {
        for change in &report.changes {
            if change.kind != ChangeKind::Unchanged {
                write_atomic(&opts.tree.join(&change.path), &change.after)?;
            }
        }
    }
    Ok(report)
}

fn plan(
    dir: &Path,
    desc: &IsaDescriptor,
    manifest: &Manifest,
    facts: &TreeFacts,
) -> Result<ScaffoldReport, ArchError> {
    let vars = template_vars(desc, facts);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for f in &manifest.files {
        if !data::when_holds(f.when.as_deref(), &facts.features) {
            continue;
        }
        let tpath = dir.join("generic").join(&f.template);
        let text = std::fs::read_to_string(&tpath).map_err(io_err(&tpath))?;
        let mut v = vars.clone();
        for (k, val) in &f.vars {
            v.insert(k.clone(), val.clone());
            v.insert(k.to_uppercase(), val.to_uppercase());
        }
        let after = template::render(&text, &v, &facts.features).map_err(|message| {
            ArchError::Template {
                path: tpath.clone(),
                message,
            }
        })?;
        let rel = f.dest.replace("{arch}", &desc.srcarch);
        let before = std::fs::read_to_string(facts.root.join(&rel)).ok();
        changes.push(Change {
            path: rel,
            kind: ChangeKind::Create,
            step: f.step.clone(),
            summary: format!("from template generic/{}", f.template),
            before,
            after,
        });
    }
    changes.extend(kconfig_change(desc, facts, &mut notes)?);
    changes.extend(makefile_changes(desc, manifest, facts)?);
    Ok(ScaffoldReport {
        arch: desc.name.clone(),
        tree: facts.root.clone(),
        dry_run: false,
        changes,
        notes,
        porting_doc: String::new(),
    })
}

fn template_vars(desc: &IsaDescriptor, facts: &TreeFacts) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let mut set = |k: &str, val: String| {
        v.insert(k.to_string(), val);
    };
    set("arch", desc.srcarch.clone());
    set("ARCH", desc.srcarch.to_uppercase());
    set("description", desc.description.clone());
    set("flags_register", desc.irq.flags_register.clone());
    set("enable_bit", desc.irq.enable_bit.clone());
    set("enable_mask", desc.irq.enable_mask.clone());
    set("stall_bit", desc.irq.stall_bit.clone());
    set("timer_regs", desc.irq.timer_regs.join(", "));
    set("status_field", desc.irq.status_field.clone());
    set("ipi_mechanism", desc.ipi.mechanism.clone());
    set("ipi_base", desc.ipi.base_symbol.clone());
    set("oob_nr_ipi", desc.ipi.oob_ipis.len().to_string());
    let mut ipis = String::new();
    for (i, name) in desc.ipi.oob_ipis.iter().enumerate() {
        let value = match i {
            0 => format!("({} + OOB_IPI_OFFSET)", desc.ipi.base_symbol),
            _ => format!("({} + 1)", desc.ipi.oob_ipis[i - 1]),
        };
        ipis.push_str(&format!(
            "#define {name}\t{value} /* TODO(dovetail-port): check against the IPI domain */\n"
        ));
    }
    set("oob_ipi_defines", ipis.trim_end().to_string());
    set("fpu_kind", desc.fpu.kind.clone());
    set("fptest_regs", desc.fpu.fptest_regs.clone());
    set("fpu_feature_list", desc.fpu.features.join(", "));
    let feats: Vec<String> = desc
        .fpu
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| format!("#define {f}\t0x{:x}", 1u32 << i))
        .collect();
    set("fpu_feature_defines", feats.join("\n"));
    let prefix = desc.trap_prefix();
    let traps = if desc.traps.names.is_empty() {
        format!("/* This arch passes its existing {prefix}* numbers. */")
    } else {
        desc.traps
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("#define {prefix}{n}\t{i}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    set("trap_defines", traps);
    set(
        "breakpoint_list",
        desc.traps
            .breakpoints
            .iter()
            .map(|b| format!("{prefix}{b}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let renames = if facts.irqflags_helpers.is_empty() {
        " *   (none found: read the irqflags header by hand)".to_string()
    } else {
        facts
            .irqflags_helpers
            .iter()
            .map(|(name, file, line)| {
                format!(" *   {name} ({file}:{line}) -> {}", native_name(name))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    set("native_rename_list", renames);
    v
}

/// Insert the selects into their config blocks (sorted position) and the `source` lines
/// right after the main block. Already present lines are left alone.
fn kconfig_change(
    desc: &IsaDescriptor,
    facts: &TreeFacts,
    notes: &mut Vec<String>,
) -> Result<Option<Change>, ArchError> {
    let rel = desc.kconfig_path();
    let path = facts.root.join(&rel);
    let text = &facts.kconfig_text;
    let parsed = &facts.kconfig;
    let main = desc.kconfig_block.as_str();
    let mut wanted: Vec<(String, String, Option<String>)> = vec![
        (
            desc.pipeline_block.clone().unwrap_or_else(|| main.into()),
            "HAVE_IRQ_PIPELINE".into(),
            None,
        ),
        (
            desc.dovetail_block.clone().unwrap_or_else(|| main.into()),
            "HAVE_DOVETAIL".into(),
            desc.dovetail_condition.clone(),
        ),
        (main.into(), "HAVE_ARCH_EVL".into(), None),
    ];
    for s in &desc.extra_selects {
        wanted.push((main.into(), s.clone(), None));
    }
    let mut inserts: Vec<(usize, String, String)> = Vec::new(); // (index, sort key, line)
    let mut done = Vec::new();
    let mut inserted: Vec<(String, String)> = Vec::new();
    for (block, symbol, cond) in &wanted {
        if parsed
            .configs
            .iter()
            .any(|c| c.selects.iter().any(|s| &s.symbol == symbol))
        {
            notes.push(format!("{rel}: `select {symbol}` already present"));
            continue;
        }
        let b = parsed.config(block).ok_or_else(|| ArchError::Edit {
            path: path.clone(),
            message: format!(
                "no `config {block}` block to add `select {symbol}` to; fix kconfig_block in the {} descriptor",
                desc.name
            ),
        })?;
        let indent = kconfig::attribute_indent(text, b);
        let line = match cond {
            Some(c) => format!("{indent}select {symbol} if {c}"),
            None => format!("{indent}select {symbol}"),
        };
        inserts.push((
            kconfig::select_insert_index(b, symbol),
            symbol.clone(),
            line,
        ));
        done.push(format!("select {symbol} in config {block}"));
        inserted.push((block.clone(), symbol.clone()));
    }
    let main_block = parsed.config(main).ok_or_else(|| ArchError::Edit {
        path: path.clone(),
        message: format!(
            "no `config {main}` block; fix kconfig_block in the {} descriptor",
            desc.name
        ),
    })?;
    for (src, present) in [
        ("kernel/Kconfig.dovetail", facts.has_dovetail_core),
        ("kernel/Kconfig.evl", facts.has_evl_core),
    ] {
        if parsed.source(src).is_some() {
            notes.push(format!("{rel}: `source \"{src}\"` already present"));
            continue;
        }
        if !present {
            // kconfig cannot source a missing file: leave it to the checklist.
            notes.push(format!(
                "{rel}: not adding `source \"{src}\"`: this tree lacks it (apply the generic core first; \
                 arch-status keeps the step open)"
            ));
            continue;
        }
        let key = format!("~{src}"); // after the selects at the same index
        inserts.push((main_block.end, key, format!("\nsource \"{src}\"")));
        done.push(format!("source \"{src}\" after config {main}"));
    }
    if inserts.is_empty() {
        return Ok(None);
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    inserts.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    for (idx, _, line) in inserts {
        lines.insert(idx, line);
    }
    let mut after = lines.join("\n");
    if text.ends_with('\n') {
        after.push('\n');
    }
    // The edit must leave a file our parser accepts, with each select in its block.
    let reparsed = kconfig::parse(&after).map_err(|e| ArchError::Edit {
        path: path.clone(),
        message: format!(
            "edited Kconfig no longer parses (line {}: {})",
            e.line, e.message
        ),
    })?;
    for (block, symbol) in &inserted {
        let landed = reparsed
            .config(block)
            .is_some_and(|c| c.selects.iter().any(|s| &s.symbol == symbol));
        if !landed {
            return Err(ArchError::Edit {
                path: path.clone(),
                message: format!("`select {symbol}` did not land in config {block}"),
            });
        }
    }
    Ok(Some(Change {
        path: rel,
        kind: ChangeKind::Modify,
        step: "kconfig-pipeline".into(),
        summary: done.join("; "),
        before: Some(text.clone()),
        after,
    }))
}

fn makefile_changes(
    desc: &IsaDescriptor,
    manifest: &Manifest,
    facts: &TreeFacts,
) -> Result<Vec<Change>, ArchError> {
    let mut by_file: BTreeMap<String, (String, String, Vec<String>, String)> = BTreeMap::new();
    for m in &manifest.makefiles {
        if !data::when_holds(m.when.as_deref(), &facts.features) {
            continue;
        }
        let rel = m.file.replace("{arch}", &desc.srcarch);
        let path = facts.root.join(&rel);
        let entry = match by_file.get_mut(&rel) {
            Some(e) => e,
            None => {
                let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
                by_file.insert(
                    rel.clone(),
                    (text.clone(), text, Vec::new(), m.step.clone()),
                );
                by_file.get_mut(&rel).expect("just inserted")
            }
        };
        let object = m
            .line
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string();
        let (_, current, done, _) = entry;
        if current
            .lines()
            .any(|l| l.split_whitespace().any(|w| w == object))
        {
            continue;
        }
        let anchor = desc.makefile_anchor.as_deref().unwrap_or("obj-");
        *current = insert_make_line(current, anchor, &m.line).ok_or_else(|| ArchError::Edit {
            path: path.clone(),
            message: "no `obj-` line to anchor the new object on".into(),
        })?;
        done.push(format!("add {object}"));
    }
    Ok(by_file
        .into_iter()
        .filter(|(_, (before, after, _, _))| before != after)
        .map(|(rel, (before, after, done, step))| Change {
            path: rel,
            kind: ChangeKind::Modify,
            step,
            summary: done.join("; "),
            before: Some(before),
            after,
        })
        .collect())
}

/// Insert `line` after the last line starting with `anchor` (continuations included),
/// else after the last `obj-` line.
pub fn insert_make_line(text: &str, anchor: &str, line: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let find = |prefix: &str| lines.iter().rposition(|l| l.starts_with(prefix));
    let mut at = find(anchor).or_else(|| find("obj-"))?;
    while lines[at].trim_end().ends_with('\\') && at + 1 < lines.len() {
        at += 1;
    }
    let mut out: Vec<&str> = lines.clone();
    out.insert(at + 1, line);
    let mut s = out.join("\n");
    if text.ends_with('\n') {
        s.push('\n');
    }
    Some(s)
}

fn porting_change(
    desc: &IsaDescriptor,
    checklist: &data::Checklist,
    manifest: &Manifest,
    facts: &TreeFacts,
) -> Result<Change, ArchError> {
    let rel = format!("Documentation/dovetail/PORTING-{}.md", desc.srcarch);
    let after = porting::render(desc, checklist, manifest, facts);
    let before = std::fs::read_to_string(facts.root.join(&rel)).ok();
    Ok(Change {
        path: rel,
        kind: ChangeKind::Create,
        step: "prerequisites".into(),
        summary: "the ordered porting checklist".into(),
        before,
        after,
    })
}

fn write_atomic(path: &Path, text: &str) -> Result<(), ArchError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(io_err(parent))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| ArchError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

impl ScaffoldReport {
    /// Unified diffs of every change (what --dry-run prints).
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            if c.kind == ChangeKind::Unchanged {
                continue;
            }
            let before = c.before.as_deref().unwrap_or("");
            let old_name = if c.before.is_some() {
                format!("a/{}", c.path)
            } else {
                "/dev/null".to_string()
            };
            let diff = similar::TextDiff::from_lines(before, c.after.as_str());
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&old_name, &format!("b/{}", c.path))
                    .to_string(),
            );
        }
        out
    }

    pub fn to_human(&self) -> String {
        let mut out = String::new();
        let verb = if self.dry_run {
            "would scaffold"
        } else {
            "scaffolded"
        };
        out.push_str(&format!(
            "new-arch {}: {verb} in {}\n",
            self.arch,
            self.tree.display()
        ));
        for c in &self.changes {
            let kind = match c.kind {
                ChangeKind::Create => "create",
                ChangeKind::Modify => "modify",
                ChangeKind::Overwrite => "overwrite",
                ChangeKind::Unchanged => "unchanged",
            };
            out.push_str(&format!(
                "  {kind:<9} {}  [{}] {}\n",
                c.path, c.step, c.summary
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        out.push_str(&format!(
            "Next: follow {} step by step; `dovetail-port arch-status {}` measures progress.\n",
            self.porting_doc, self.arch
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_line_goes_after_anchor_group() {
        let text = "obj-y += a.o\nobj-$(CONFIG_SMP) += smp.o\nobj-$(CONFIG_SMP) += b.o \\\n\tc.o\nobj-$(CONFIG_X) += x.o\n";
        let out = insert_make_line(
            text,
            "obj-$(CONFIG_SMP)",
            "obj-$(CONFIG_IRQ_PIPELINE) += irq_pipeline.o",
        )
        .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[4], "obj-$(CONFIG_IRQ_PIPELINE) += irq_pipeline.o");
        assert_eq!(lines[5], "obj-$(CONFIG_X) += x.o");
        let out = insert_make_line("obj-y += a.o\n# end\n", "obj-$(CONFIG_SMP)", "L").unwrap();
        assert_eq!(out, "obj-y += a.o\nL\n# end\n");
        assert!(insert_make_line("# nothing\n", "obj-", "L").is_none());
    }
}
