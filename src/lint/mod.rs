//! The oob-safety lint: lex-filter → parse → index → call graph → rules → findings → render.
//!
//! [`run`] is the library entry point: it takes a [`LintOptions`] and returns a
//! [`LintReport`] built once as data; [`render`] turns it into human, JSON or SARIF text.

pub mod arch;
pub mod baseline;
pub mod cond;
pub mod diff;
pub mod graph;
pub mod inband;
pub mod includes;
pub mod kconfig;
pub mod macros;
pub mod makefiles;
pub mod parse;
pub mod render;
pub mod roots;
pub mod rules;
pub mod sarif;
pub mod scan;
pub mod switch;
pub mod userspace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use render::{render, Format};
pub use rules::{Rule, RuleSet, Severity};

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{}: invalid rule file: {message} (fix the TOML or remove the file)", path.display())]
    Rules { path: PathBuf, message: String },
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("{}: no such file or directory to lint", .0.display())]
    MissingPath(PathBuf),
    #[error("{}: cannot read: {reason} (fix its permissions or remove it)", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}: is a {kind}, not a regular file or directory (remove it from the paths)", path.display())]
    SpecialFile { path: PathBuf, kind: &'static str },
    #[error("{}: invalid baseline: {message} (regenerate it)", path.display())]
    Baseline { path: PathBuf, message: String },
    #[error("invalid baseline: {0} (or regenerate it)")]
    BaselineFile(crate::data::DataFileError),
    #[error("changes since {rev}: {message}")]
    Diff { rev: String, message: String },
    #[error("entry function `{0}`: no function of that name is defined in the linted files")]
    UnknownEntry(String),
    #[error("{}: {message}", path.display())]
    Kconfig { path: PathBuf, message: String },
    #[error("architecture `{arch}`: no {} folder in the linted tree (give the kernel's spelling: x86, arm64, arm, riscv...)", dir.display())]
    UnknownArch { arch: String, dir: PathBuf },
}

/// What to lint and how. Built by the CLI (or any other caller).
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Files or directories (walked for `.c` and `.h`).
    pub paths: Vec<PathBuf>,
    /// Paths in findings are shown relative to this (default: the single directory given,
    /// else the current directory).
    pub root: Option<PathBuf>,
    /// Extra entry points by function name.
    pub entries: Vec<String>,
    /// Rule files or directories; empty means the data layers' `rules/*.toml`.
    pub rules: Vec<PathBuf>,
    /// Extra rule files/directories added to the defaults.
    pub extra_rules: Vec<PathBuf>,
    /// Parse every file (to measure parse robustness), not only those on oob paths.
    pub parse_all: bool,
    /// Findings whose fingerprint is in this baseline are suppressed (external).
    pub baseline: Option<PathBuf>,
    /// Keep only findings touching functions changed since this git revision.
    pub diff: Option<String>,
    /// The architecture generic code is built for (`x86`, `arm64`; `x86_64` is taken as
    /// `x86`). `None`: `x86` when the root has an `arch/` folder, else every arch.
    pub arch: Option<String>,
    /// A kernel `.config` deciding the preprocessor conditionals on `CONFIG_` symbols.
    /// `None`: the values assumed in the rules (`[kconfig_assumed]`), the rest unknown.
    pub kconfig: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Lint without the files and folders that cannot be read (and special files),
    /// listing them in the report, instead of failing.
    pub skip_unreadable: bool,
}

/// Where an oob context starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryPoint {
    pub function: String,
    pub kind: String,
    /// Where the entry point is declared (registration, initialiser, marker, command line).
    pub file: String,
    pub line: u32,
    /// Where the function is defined.
    pub def_file: String,
    pub def_line: u32,
}

/// One hop in a call chain: a function of the linted tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainStep {
    pub function: String,
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
    /// Reached through a struct member call (`->member`), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_member: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    /// A `dovetail-port: allow(RULE)` comment.
    InSource,
    /// Listed in the baseline file.
    External,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub justification: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// The in-band-only service called.
    pub service: String,
    pub message: String,
    pub rationale: String,
    pub replacement: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
    pub entry: EntryPoint,
    /// From the entry point to the function making the call.
    pub chain: Vec<ChainStep>,
    /// `entry() -> helper() -> service()`.
    pub chain_text: String,
    /// Stable across line moves: hash of rule, functions of the chain and service.
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// Set for an ops-slot finding: the finding is at the store site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<OpsSlot>,
    /// The root the finding is grouped under: the chain from the entry point to the
    /// frontier call (the first call out of the linted paths, or out of the entry's own
    /// folder when the whole tree is linted), `entry() -> ... -> frontier()`.
    #[serde(default)]
    pub root: String,
}

/// An in-band-only function stored in a struct member that oob code calls through.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpsSlot {
    pub member: String,
    pub function: String,
    /// Where oob code calls through the member (`x->member()`).
    pub call_file: String,
    pub call_line: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub files_scanned: usize,
    pub bytes_scanned: u64,
    pub files_parsed: usize,
    pub files_with_errors: usize,
    pub functions_parsed: usize,
    pub functions_with_errors: usize,
    pub functions_reached: usize,
    /// Parsed functions found in-band only from their bodies (the derived set).
    #[serde(default)]
    pub functions_inband_only: usize,
    pub unreadable_files: usize,
    /// Files under `arch/<B>/` for an arch B that is not the selected one, left out.
    #[serde(default)]
    pub files_other_arch: usize,
    /// Files under the kernel tree's user-space folders (`tools/`, `scripts/`...), left out.
    #[serde(default)]
    pub files_userspace: usize,
    /// `.c` files the tree's Makefiles build only for symbols the configuration does not set.
    #[serde(default)]
    pub files_not_built: usize,
    /// Regions of preprocessor conditionals the configuration leaves out.
    #[serde(default)]
    pub regions_configured_out: usize,
    /// Headers only included from such regions (so not read as code).
    #[serde(default)]
    pub headers_configured_out: usize,
    pub elapsed_ms: u64,
}

impl Stats {
    /// Share of parsed functions containing a syntax error, in percent.
    pub fn function_error_percent(&self) -> f64 {
        if self.functions_parsed == 0 {
            0.0
        } else {
            100.0 * self.functions_with_errors as f64 / self.functions_parsed as f64
        }
    }
}

/// The result of a run, built once and rendered by [`render`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LintReport {
    pub root: String,
    pub entries: Vec<EntryPoint>,
    /// Sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    pub rules: Vec<Rule>,
    pub stats: Stats,
    /// Files and folders that could not be read, or special files, skipped under
    /// `--skip-unreadable` (path and reason).
    pub unreadable: Vec<String>,
    /// What the lint could not analyse (functions nested too deep), one line each.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Set in `--diff` mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_base: Option<String>,
    /// The architecture calls from generic code were resolved for, if the tree has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The configuration the conditionals were decided for: the `--kconfig` file, or the
    /// assumed symbol values (`PREEMPT_RT=n ...`).
    #[serde(default)]
    pub kconfig: String,
}

impl LintReport {
    /// Findings not suppressed by a comment or the baseline.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    /// True when an unsuppressed error-severity finding remains (exit code 1).
    pub fn has_errors(&self) -> bool {
        self.active().any(|f| f.severity == Severity::Error)
    }
}

/// Collects `.c`/`.h` files under the given paths, sorted, without duplicates. A path or
/// a `.c`/`.h` entry met that cannot be read, or is a special file (FIFO, device, socket:
/// reading one could block forever), is an error; with `skip_unreadable` it is listed in
/// `skipped` instead. Symbolic links met in folders are followed to files, not folders.
pub fn collect_files(
    paths: &[PathBuf],
    skip_unreadable: bool,
    skipped: &mut Vec<String>,
) -> Result<Vec<PathBuf>, LintError> {
    let mut refuse = |e: LintError| -> Result<(), LintError> {
        if skip_unreadable {
            skipped.push(e.to_string());
            Ok(())
        } else {
            Err(e)
        }
    };
    let mut files = Vec::new();
    for p in paths {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LintError::MissingPath(p.clone()))
            }
            Err(e) => {
                refuse(unreadable(p, &e))?;
                continue;
            }
        };
        if meta.is_file() {
            files.push(p.clone());
            continue;
        }
        if !meta.is_dir() {
            refuse(special(p, &meta.file_type()))?;
            continue;
        }
        for e in walkdir::WalkDir::new(p)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    let path = err.path().unwrap_or(p).to_path_buf();
                    let reason = err
                        .io_error()
                        .map_or_else(|| err.to_string(), |io| io.to_string());
                    refuse(LintError::Unreadable { path, reason })?;
                    continue;
                }
            };
            let path = e.path();
            if !path.extension().is_some_and(|x| x == "c" || x == "h") {
                continue;
            }
            let ty = if e.file_type().is_symlink() {
                match std::fs::metadata(path) {
                    Ok(m) => m.file_type(),
                    Err(err) => {
                        refuse(unreadable(path, &err))?;
                        continue;
                    }
                }
            } else {
                e.file_type()
            };
            if ty.is_file() {
                files.push(path.to_path_buf());
            } else if !ty.is_dir() {
                refuse(special(path, &ty))?;
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Reads the file at `path` into `buf`, replacing its contents.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(path)?.read_to_end(buf).map(|_| ())
}

fn unreadable(path: &Path, e: &std::io::Error) -> LintError {
    LintError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn special(path: &Path, ty: &std::fs::FileType) -> LintError {
    use std::os::unix::fs::FileTypeExt;
    let kind = if ty.is_fifo() {
        "FIFO"
    } else if ty.is_char_device() {
        "character device"
    } else if ty.is_block_device() {
        "block device"
    } else if ty.is_socket() {
        "socket"
    } else {
        "special file"
    };
    LintError::SpecialFile {
        path: path.to_path_buf(),
        kind,
    }
}

fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Lints the files named by `opts` and returns the report. Never fails on a file it cannot
/// parse: such files are counted in the stats.
pub fn run(opts: &LintOptions) -> Result<LintReport, LintError> {
    let started = Instant::now();
    let mut rule_paths = if opts.rules.is_empty() {
        crate::data::files_in("rules", "toml")
            .into_values()
            .collect()
    } else {
        opts.rules.clone()
    };
    rule_paths.extend(opts.extra_rules.iter().cloned());
    let mut rules = RuleSet::load(&rule_paths)?;
    let config = match &opts.kconfig {
        Some(f) => kconfig::Kconfig::from_file(f)?,
        None => kconfig::Kconfig::assumed(&rules.assumed_kconfig).with_off(&rules.assumed_off),
    };
    let mut unreadable = Vec::new();
    let mut files = collect_files(&opts.paths, opts.skip_unreadable, &mut unreadable)?;
    let root = match &opts.root {
        Some(r) => r.clone(),
        None if opts.paths.len() == 1 && opts.paths[0].is_dir() => opts.paths[0].clone(),
        None => std::env::current_dir().map_err(|e| LintError::Io(".".into(), e))?,
    };
    let selected = select_arch(opts, &root)?;
    let before = files.len();
    if let Some(sel) = &selected {
        // Other arches are not linked into this build: only those named as a PATH stay.
        let mut kept: Vec<String> = opts
            .paths
            .iter()
            .filter_map(|p| arch::arch_of(p, &root))
            .collect();
        kept.push(sel.clone());
        files.retain(|f| arch::arch_of(f, &root).is_none_or(|a| kept.contains(&a)));
    }
    let files_other_arch = before - files.len();
    let userspace_dirs = userspace::UserspaceDirs::new(&rules.userspace_dirs);
    let files_userspace = if crate::syntax::kconfig::is_kernel_tree(&root) {
        userspace::retain_kernel_files(&mut files, &opts.paths, &root, &userspace_dirs)
    } else {
        0
    };

    // kbuild: .c files the Makefiles build only for unset symbols are not this kernel's code.
    let files_not_built = if crate::syntax::kconfig::is_kernel_tree(&root) {
        let out = makefiles::left_out(&files, &root, &config);
        let before = files.len();
        let mut it = out.iter();
        files.retain(|f| !*it.next().expect("one mask entry per file") || opts.paths.contains(f));
        before - files.len()
    } else {
        0
    };

    // Lexical pass over every file.
    let bar = progress_bar(opts.progress, files.len() as u64, "scanning");
    let mut lock_types: Vec<&str> = rules.safe_lock_types.iter().map(String::as_str).collect();
    lock_types.extend(rules.unsafe_lock_types.keys().map(String::as_str));
    lock_types.sort();
    let needles = scan::Needles::new(&rules.entry_needles());
    let scans: Vec<Result<(scan::FileScan, u64), (PathBuf, String)>> = files
        .par_iter()
        // One read buffer per worker, reused: a fresh one per file costs an allocation
        // (an mmap and page faults for large files) and its free, for 40 000 files.
        .map_init(Vec::new, |src, f| {
            let r = match read_into(f, src) {
                Ok(()) => {
                    let s = scan::scan(src, &lock_types, &rules.lock_defines, &needles, &config);
                    Ok((s, src.len() as u64))
                }
                Err(e) => Err((f.clone(), e.to_string())),
            };
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();

    let mut stats = Stats {
        files_scanned: files.len(),
        files_other_arch,
        files_userspace,
        files_not_built,
        ..Default::default()
    };
    let mut file_scans = Vec::with_capacity(files.len());
    for r in scans {
        match r {
            Ok((s, len)) => {
                stats.bytes_scanned += len;
                file_scans.push(s);
            }
            Err((path, reason)) => {
                let e = LintError::Unreadable { path, reason };
                if !opts.skip_unreadable {
                    return Err(e);
                }
                unreadable.push(e.to_string());
                file_scans.push(scan::FileScan::default());
            }
        }
    }
    stats.unreadable_files = unreadable.len();
    let incs: Vec<&[cond::Include]> = file_scans.iter().map(|s| &s.includes[..]).collect();
    let out = includes::configured_out(&files, &incs);
    for (fs, _) in file_scans.iter_mut().zip(&out).filter(|(_, o)| **o) {
        *fs = scan::FileScan::default();
    }
    stats.headers_configured_out = out.iter().filter(|o| **o).count();
    // Helper assertions and guard conditions the tree defines (`inband_context_only()`),
    // for the parses below: macros leading to an assertion, a wrapper or a stage test.
    let listed: Vec<String> = (rules.assertions.iter())
        .chain(rules.condition_wrappers.keys())
        .chain(&rules.oob_checks)
        .chain(&rules.inband_checks)
        .cloned()
        .collect();
    rules.assertion_macros =
        macros::AssertionMacros::build(file_scans.iter().flat_map(|s| &s.call_macros), &listed);
    stats.regions_configured_out = file_scans.iter().map(|s| s.inactive.len()).sum();

    let index = graph::Index::build(&files, &mut file_scans)
        .scoped(arch::ArchScope::new(&files, &root, selected.as_deref()))
        .user_scoped(userspace::UserScope::new(&files, &root, &userspace_dirs));
    let mut g = graph::Graph::new(&rules, &config, &files, &index, opts.progress);
    // Files worth parsing up front: those that may declare entry points (or all).
    let mut initial: Vec<usize> = if opts.parse_all {
        (0..files.len()).collect()
    } else {
        (0..files.len())
            .filter(|&i| file_scans[i].may_have_entries)
            .collect()
    };
    for name in &opts.entries {
        let defs = index.defs_named(name);
        if defs.is_empty() {
            return Err(LintError::UnknownEntry(name.clone()));
        }
        initial.extend(defs.iter().map(|d| d.file));
    }
    g.ensure_parsed(&initial);
    let entries = g.entry_points(&opts.entries, &root);
    let mut findings = g.propagate(&entries, &root);
    let notes = g.too_deep(&root);
    let given: Vec<String> = opts.paths.iter().map(|p| display_path(p, &root)).collect();
    for f in &mut findings {
        f.root = roots::root_of(f, &given);
    }

    let parsed = g.parsed_stats();
    stats.files_parsed = parsed.0;
    stats.files_with_errors = parsed.1;
    stats.functions_parsed = parsed.2;
    stats.functions_with_errors = parsed.3;
    stats.functions_reached = g.reached();
    stats.functions_inband_only = g.derived_inband_only();

    if let Some(path) = &opts.baseline {
        let base = baseline::Baseline::load(path)?;
        base.apply(&mut findings);
    }
    let mut diff_base = None;
    if let Some(rev) = &opts.diff {
        let changes = diff::changed_lines(&root, rev)?;
        findings.retain(|f| diff::touches(f, &changes));
        diff_base = Some(rev.clone());
    }
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.rule, &a.chain_text).cmp(&(
            &b.file,
            b.line,
            b.column,
            &b.rule,
            &b.chain_text,
        ))
    });
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    // Freeing the index, scans and syntax of a whole tree takes a third of a second on
    // one core: another thread does it while the report is rendered.
    let parsed = g.into_parsed();
    std::thread::spawn(move || drop((index, file_scans, parsed, files)));
    let mut entry_list: Vec<EntryPoint> = entries.into_iter().map(|(e, _)| e).collect();
    entry_list.sort();
    entry_list.dedup();
    Ok(LintReport {
        // Absolute, so SARIF's `file://` base names a path, not a host.
        root: std::path::absolute(&root)
            .unwrap_or_else(|_| root.clone())
            .to_string_lossy()
            .into_owned(),
        entries: entry_list,
        findings,
        rules: rules.rules.clone(),
        stats,
        unreadable,
        notes,
        diff_base,
        arch: selected,
        kconfig: config.describe(),
    })
}

/// The architecture generic code resolves to: `--arch` in the kernel's spelling, else
/// `x86` when the root is a tree with an `arch/x86/` folder; `None` when it has none.
fn select_arch(opts: &LintOptions, root: &Path) -> Result<Option<String>, LintError> {
    let arch_dir = root.join("arch");
    if !arch_dir.is_dir() {
        return Ok(opts.arch.as_deref().map(arch::canonical));
    }
    let name = arch::canonical(opts.arch.as_deref().unwrap_or("x86"));
    let dir = arch_dir.join(&name);
    match &opts.arch {
        Some(given) if !dir.is_dir() => Err(LintError::UnknownArch {
            arch: given.clone(),
            dir: dir.strip_prefix(root).unwrap_or(&dir).to_path_buf(),
        }),
        // A partial tree without arch/x86: no default, every arch is seen.
        None if !dir.is_dir() => Ok(None),
        _ => Ok(Some(name)),
    }
}

pub(crate) fn progress_bar(show: bool, len: u64, what: &'static str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} files ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

/// FNV-1a 64: a stable hash for fingerprints (std's hasher may change between releases).
pub(crate) fn fnv64(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

/// Group findings by rule id, for summaries.
pub fn count_by_rule(report: &LintReport) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in report.active() {
        *m.entry(f.rule.clone()).or_insert(0) += 1;
    }
    m
}
