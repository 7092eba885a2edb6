//! Renderers: one report, several outputs (rustc-style text, JSON, SARIF).

use std::io::Write;
use std::path::Path;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};

use super::{LintReport, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    /// One `file:line:col: severity: message [rule]` line per finding.
    Gcc,
}

/// Renders the report. `color` only affects the human format.
pub fn render(report: &LintReport, format: Format, color: bool) -> String {
    match format {
        Format::Human => human(report, color),
        Format::Json => serde_json::to_string_pretty(report).expect("report serialises") + "\n",
        Format::Sarif => {
            serde_json::to_string_pretty(&super::sarif::to_sarif(report)).expect("sarif serialises")
                + "\n"
        }
        Format::Gcc => gcc(report),
    }
}

/// Compiler-style lines (editors' quickfix lists, grep): every active finding, one line
/// per site and rule (its shortest chain).
fn gcc(report: &LintReport) -> String {
    let mut out = String::new();
    for site in super::roots::sites(report.active()) {
        let f = site.finding;
        out.push_str(&format!(
            "{}:{}:{}: {}: {} (chain: {}) [{}]\n",
            f.file,
            f.line,
            f.column,
            f.severity.as_str(),
            f.message,
            f.chain_text,
            f.rule
        ));
    }
    out
}

fn byte_range(src: &str, line: u32, col: u32, end_col: u32) -> std::ops::Range<usize> {
    let mut start = 0usize;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let s = start + (col.saturating_sub(1) as usize).min(l.len());
            let e = start
                + (end_col.saturating_sub(1) as usize)
                    .min(l.len())
                    .max(s - start);
            return s..e.max(s);
        }
        start += l.len();
    }
    0..0
}

fn human(report: &LintReport, color: bool) -> String {
    let mut files = SimpleFiles::new();
    let mut ids: std::collections::HashMap<&str, usize> = Default::default();
    let mut buf: Vec<u8> = Vec::new();
    // The sites under their roots: the report's blocks and the summary's counts.
    let groups = super::roots::group(report.active());
    {
        let mut out: Box<dyn termcolor::WriteColor> = if color {
            Box::new(termcolor::Ansi::new(&mut buf))
        } else {
            Box::new(termcolor::NoColor::new(&mut buf))
        };
        let config = term::Config::default();
        for (gi, g) in groups.iter().enumerate() {
            let f = g.sites[0].finding;
            let _ = writeln!(
                out,
                "root {}/{}: {} ({} chain(s) below it; the shortest:)",
                gi + 1,
                groups.len(),
                g.root,
                g.chains()
            );
            let id = *ids.entry(f.file.as_str()).or_insert_with(|| {
                let src = std::fs::read(Path::new(&report.root).join(&f.file))
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                files.add(f.file.clone(), src)
            });
            let src = files
                .get(id)
                .map(|f| f.source().clone())
                .unwrap_or_default();
            let diag = match f.severity {
                Severity::Error => Diagnostic::error(),
                Severity::Warning => Diagnostic::warning(),
                Severity::Note => Diagnostic::note(),
            };
            let range = byte_range(&src, f.line, f.column, f.end_column);
            let diag = diag
                .with_code(f.rule.clone())
                .with_message(f.message.clone())
                .with_labels(vec![Label::primary(id, range).with_message(
                    match &f.slot {
                        Some(slot) => {
                            format!("in-band only, stored in oob-called `->{}`", slot.member)
                        }
                        None => "in-band only".to_string(),
                    },
                )])
                .with_notes(vec![
                    format!("call chain: {}", f.chain_text),
                    format!(
                        "entry point: {}() ({}, declared at {}:{})",
                        f.entry.function, f.entry.kind, f.entry.file, f.entry.line
                    ),
                    format!("why: {}", f.rationale),
                    format!("help: use {}", f.replacement),
                    format!(
                        "suppress: `/* dovetail-port: allow({}) reason */` on the line or above the function, or record it with --baseline FILE --write-baseline",
                        f.rule
                    ),
                ]);
            if term::emit(&mut out, &config, &files, &diag).is_err() {
                // Fall back to a plain line when the snippet cannot be shown.
                let _ = writeln_plain(&mut out, f);
            }
            for (si, site) in g.sites.iter().enumerate() {
                if si > 0 {
                    let other = site.finding;
                    let _ = writeln!(
                        out,
                        "  also {}:{}:{}: {}[{}]: {}",
                        other.file,
                        other.line,
                        other.column,
                        other.severity.as_str(),
                        other.rule,
                        other.chain_text
                    );
                }
                for same in &site.others {
                    let _ = writeln!(
                        out,
                        "    same call, another chain: {}{}",
                        same.chain_text,
                        through(site.finding, same)
                    );
                }
            }
            if g.chains() > 1 {
                let _ = writeln!(out);
            }
        }
    }
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    let s = &report.stats;
    let chains = report.active().count();
    let suppressed = report.findings.len() - chains;
    let sites = groups.iter().flat_map(|g| &g.sites);
    let active = sites.clone().count();
    let errors = sites
        .filter(|s| s.finding.severity == Severity::Error)
        .count();
    text.push_str(&format!(
        "lint: {} finding(s){} under {} root(s) ({} error(s), {} warning(s)), {} suppressed; {} entry point(s), {} function(s) reached\n",
        active,
        if chains > active {
            format!(" ({chains} chains: the same call through more than one)")
        } else {
            String::new()
        },
        groups.len(),
        errors,
        active - errors,
        suppressed,
        report.entries.len(),
        s.functions_reached
    ));
    text.push_str(&format!(
        "lint: scanned {} file(s) ({:.1} MB), parsed {}; parse errors in {} of {} function(s) ({:.2}%), {} file(s) with errors; {} ms\n",
        s.files_scanned,
        s.bytes_scanned as f64 / 1e6,
        s.files_parsed,
        s.functions_with_errors,
        s.functions_parsed,
        s.function_error_percent(),
        s.files_with_errors,
        s.elapsed_ms
    ));
    if let Some(a) = &report.arch {
        text.push_str(&format!(
            "lint: calls from generic code resolved for arch/{a}; {} file(s) of other arches left out\n",
            s.files_other_arch
        ));
    }
    if s.files_userspace > 0 {
        text.push_str(&format!(
            "lint: {} file(s) of user-space folders (tools/, scripts/... see rules/build-scope.toml) left out\n",
            s.files_userspace
        ));
    }
    if s.files_not_built > 0 {
        text.push_str(&format!(
            "lint: {} .c file(s) the Makefiles build only for unset symbols left out\n",
            s.files_not_built
        ));
    }
    text.push_str(&format!(
        "lint: conditionals decided for {}: {} region(s) and {} header(s) left out\n",
        if report.kconfig.is_empty() {
            "no known symbol"
        } else {
            report.kconfig.as_str()
        },
        s.regions_configured_out,
        s.headers_configured_out
    ));
    for u in &report.unreadable {
        text.push_str(&format!("lint: skipped (--skip-unreadable) {u}\n"));
    }
    for n in &report.notes {
        text.push_str(&format!("lint: note: {n}\n"));
    }
    text
}

/// Where another chain to the same call differs from the one shown: ` (through
/// mutex_unlock() in kernel/locking/mutex.c)`, by the first step in another file.
fn through(shown: &super::Finding, other: &super::Finding) -> String {
    let differs = other.chain.iter().enumerate().find(|(i, s)| {
        shown
            .chain
            .get(*i)
            .is_none_or(|t| t.file != s.file || t.function != s.function)
    });
    match differs {
        Some((_, s)) => format!(" (through {}() in {})", s.function, s.file),
        None => String::new(),
    }
}

fn writeln_plain(out: &mut dyn termcolor::WriteColor, f: &super::Finding) -> std::io::Result<()> {
    writeln!(
        out,
        "{}[{}]: {}\n  --> {}:{}:{}\n  = call chain: {}\n  = help: use {}\n",
        f.severity.as_str(),
        f.rule,
        f.message,
        f.file,
        f.line,
        f.column,
        f.chain_text,
        f.replacement
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_follow_lines_and_columns() {
        let src = "ab\ncdef\n";
        assert_eq!(byte_range(src, 2, 2, 4), 4..6);
        assert_eq!(byte_range(src, 9, 1, 2), 0..0);
    }
}
