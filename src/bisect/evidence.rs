//! What a failing step showed: the first compiler error with its place, the kernel event
//! with its console excerpt, the failing test case with its log lines, or the command's
//! exit status and last output lines. Built from the results of `kbuild`, `boot` and
//! `results`, never from free text alone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::kbuild::KbuildError;
use crate::results::{BootEnd, TestReport};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The first compiler error, its place relative to the tree.
    CompileError {
        file: String,
        line: u32,
        column: Option<u32>,
        message: String,
        log: Option<PathBuf>,
    },
    /// make failed without a compiler diagnostic with a place (a link error...).
    BuildError {
        message: String,
        log: Option<PathBuf>,
    },
    /// The configuration could not be applied to this tree (the step is untestable).
    ConfigDropped { options: Vec<String> },
    /// A kernel event in the console log (panic, oops, BUG, WARNING...).
    KernelEvent {
        event: String,
        summary: String,
        line: usize,
        excerpt: String,
        console_log: Option<PathBuf>,
    },
    /// The boot did not reach the end of the init (hang, timeout, early exit).
    BootEnd {
        end: String,
        console_log: Option<PathBuf>,
    },
    /// A failing test case.
    TestCase {
        name: String,
        verdict: String,
        log: String,
        console_log: Option<PathBuf>,
    },
    /// The named tests did not run in this tree.
    TestsMissing { names: Vec<String> },
    /// `--run`: the command's status and its last output lines.
    Command { status: i32, output_tail: String },
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::CompileError {
                file,
                line,
                column,
                message,
                ..
            } => {
                write!(f, "{file}:{line}")?;
                if let Some(c) = column {
                    write!(f, ":{c}")?;
                }
                write!(f, ": {message}")
            }
            Evidence::BuildError { message, .. } => write!(f, "build failed: {message}"),
            Evidence::ConfigDropped { options } => {
                write!(f, "configuration not applicable: {}", options.join("; "))
            }
            Evidence::KernelEvent {
                event,
                summary,
                line,
                excerpt,
                ..
            } => write!(
                f,
                "{event} at console line {line}: {summary}\n{}",
                indent(excerpt)
            ),
            Evidence::BootEnd { end, .. } => write!(f, "boot did not complete: {end}"),
            Evidence::TestCase {
                name, verdict, log, ..
            } => write!(f, "test {name}: {verdict}\n{}", indent(log)),
            Evidence::TestsMissing { names } => {
                write!(f, "tests did not run: {}", names.join(", "))
            }
            Evidence::Command {
                status,
                output_tail,
            } => {
                write!(f, "command exited with {status}")?;
                if !output_tail.is_empty() {
                    write!(f, "\n{}", indent(output_tail))?;
                }
                Ok(())
            }
        }
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `path:line[:col]: error: message` of a gcc/clang diagnostic, with the path made relative to
/// `tree` (kbuild names sources by absolute path or relative to the build directory).
pub fn compile_error(first_error: &str, tree: &Path, out: &Path) -> Option<Evidence> {
    let (loc, message) = first_error
        .split_once(": error: ")
        .or_else(|| first_error.split_once(": fatal error: "))?;
    let mut parts = loc.rsplitn(3, ':');
    let a = parts.next()?;
    let b = parts.next()?;
    let rest = parts.next();
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (file, line, column) = match (rest, num(b), num(a)) {
        (Some(file), Some(line), Some(col)) => (file, line, Some(col)),
        (_, None, Some(line)) => (loc.rsplit_once(':')?.0, line, None),
        _ => return None,
    };
    Some(Evidence::CompileError {
        file: relative_to_tree(file, tree, out),
        line,
        column,
        message: message.trim().to_string(),
        log: None,
    })
}

fn relative_to_tree(file: &str, tree: &Path, out: &Path) -> String {
    let p = Path::new(file);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        let mut n = PathBuf::new();
        for c in out.join(p).components() {
            match c {
                std::path::Component::ParentDir => {
                    n.pop();
                }
                std::path::Component::CurDir => {}
                other => n.push(other),
            }
        }
        n
    };
    for prefix in [Some(tree.to_path_buf()), tree.canonicalize().ok()]
        .into_iter()
        .flatten()
    {
        if let Ok(rel) = abs.strip_prefix(&prefix) {
            return rel.to_string_lossy().into_owned();
        }
    }
    file.to_string()
}

/// Evidence from a failed build, or None when the error is not the tree's fault (I/O, a
/// missing tool) and must stop the bisection.
pub fn from_build_error(err: &KbuildError, tree: &Path, out: &Path) -> Option<Evidence> {
    match err {
        KbuildError::MakeFailed {
            first_error, log, ..
        } => Some(match compile_error(first_error, tree, out) {
            Some(Evidence::CompileError {
                file,
                line,
                column,
                message,
                ..
            }) => Evidence::CompileError {
                file,
                line,
                column,
                message,
                log: log.clone(),
            },
            _ => Evidence::BuildError {
                message: first_error.clone(),
                log: log.clone(),
            },
        }),
        KbuildError::ConfigNotApplied { dropped } => Some(Evidence::ConfigDropped {
            options: dropped.iter().map(|d| d.to_string()).collect(),
        }),
        KbuildError::NoImage(p) => Some(Evidence::BuildError {
            message: format!("make finished but {} is missing", p.display()),
            log: None,
        }),
        _ => None,
    }
}

/// The first kernel event of a boot, or how the boot ended when it did not complete.
pub fn boot_problem(report: &TestReport) -> Option<Evidence> {
    if let Some(e) = report.crashes.first() {
        return Some(Evidence::KernelEvent {
            event: e.kind.to_string(),
            summary: e.summary.clone(),
            line: e.line,
            excerpt: e.excerpt.clone(),
            console_log: report.console_log.clone(),
        });
    }
    if matches!(report.end, BootEnd::Completed { .. }) {
        return None;
    }
    let end = report.end.to_string();
    Some(Evidence::BootEnd {
        end,
        console_log: report.console_log.clone(),
    })
}

/// Whether a case belongs to a requested test name: the suite, a case's full name, or a
/// dotted prefix of it.
pub fn matches_test(full_name: &str, wanted: &str) -> bool {
    full_name == wanted
        || full_name
            .strip_prefix(wanted)
            .is_some_and(|r| r.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_error_place_is_tree_relative() {
        let tree = Path::new("/w/tree");
        let out = Path::new("/w/out");
        let e = compile_error(
            "/w/tree/kernel/irq/handle.c:142:9: error: expected ';' before 'return'",
            tree,
            out,
        )
        .unwrap();
        assert_eq!(
            e.to_string(),
            "kernel/irq/handle.c:142:9: expected ';' before 'return'"
        );
        let e = compile_error(
            "../tree/include/linux/x.h:7: fatal error: y.h: No such file or directory",
            tree,
            out,
        )
        .unwrap();
        assert_eq!(
            e.to_string(),
            "include/linux/x.h:7: y.h: No such file or directory"
        );
        assert!(compile_error("ld: undefined reference to `x'", tree, out).is_none());
        // Odd text never panics.
        for s in [
            "",
            ":",
            "::: error: ",
            "é:1:é: error: x",
            "a:99999999999:1: error: x",
        ] {
            let _ = compile_error(s, tree, out);
        }
    }

    #[test]
    fn test_names_match_suites_and_cases() {
        assert!(matches_test(
            "irq_pipeline_sample.flow",
            "irq_pipeline_sample"
        ));
        assert!(matches_test(
            "irq_pipeline_sample.flow",
            "irq_pipeline_sample.flow"
        ));
        assert!(!matches_test(
            "irq_pipeline_sample2.flow",
            "irq_pipeline_sample"
        ));
    }
}
