//! `resolutions`: the conflict resolutions `rebase --continue` recorded.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use dovetail_port::rebase::engine::open_repo;
use dovetail_port::rebase::resolve::memory::{short, Memory, Record};

/// List, show, share and forget the conflict resolutions `rebase --continue` recorded.
///
/// Each time you resolve a conflict and run `dovetail-port rebase --continue`, every conflict
/// region you resolved is recorded under .git/dovetail-port/resolutions/, keyed by what the
/// conflict is: the file, the C function or struct around it, and the lines each side changed
/// (whitespace-normalised). The next rebase that meets the same change against the same
/// upstream change applies it again, even when line numbers and the surrounding code moved;
/// such placements are listed in the report's review section with method `recorded`.
/// `--strict` rebases do not use them.
///
/// `export` writes them all to one JSON file a team can share; `import` adds such a file's
/// records, keeping yours where the same conflict was resolved differently (unless --replace).
///
/// Examples:
///
///   dovetail-port resolutions list -C ~/linux
///
///   dovetail-port resolutions export team.json && dovetail-port resolutions import team.json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ResolutionsArgs {
    #[command(subcommand)]
    pub command: ResolutionsCommand,

    /// The kernel tree (a git repository; default: the one containing the current
    /// directory). `--repo` is the old spelling.
    #[arg(
        long = "tree",
        alias = "repo",
        short = 'C',
        value_name = "DIR",
        default_value = ".",
        global = true
    )]
    pub repo: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum ResolutionsCommand {
    /// One line per recorded resolution: key, file, function, lines.
    ///
    /// Examples:
    ///
    ///   dovetail-port resolutions list
    ///
    ///   dovetail-port resolutions list -C ~/linux | grep kernel/irq/
    List,
    /// A recorded resolution in full: both sides, the base and the resolution.
    ///
    /// Examples:
    ///
    ///   dovetail-port resolutions show 4be1
    ///
    ///   dovetail-port resolutions show 4be1 -C ~/linux | less
    Show {
        /// The key, or a unique prefix of it (as `list` shows).
        key: String,
    },
    /// Write every record to FILE (JSON), to share with `import`.
    ///
    /// Examples:
    ///
    ///   dovetail-port resolutions export team.json
    ///
    ///   dovetail-port resolutions export -C ~/linux ~/shared/dovetail-6.12.json
    Export {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Add the records of a file written by `export`.
    ///
    /// Examples:
    ///
    ///   dovetail-port resolutions import team.json
    ///
    ///   dovetail-port resolutions import --replace ~/shared/dovetail-6.12.json
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Take the file's resolution where this repository recorded another for the same key.
        #[arg(long)]
        replace: bool,
    },
    /// Delete a recorded resolution.
    ///
    /// Examples:
    ///
    ///   dovetail-port resolutions forget 4be1
    ///
    ///   dovetail-port resolutions forget -C ~/linux 4be1c0
    Forget {
        /// The key, or a unique prefix of it.
        key: String,
    },
}

fn one<'m>(memory: &'m Memory, prefix: &str) -> anyhow::Result<&'m Record> {
    match memory.find(prefix).as_slice() {
        [r] => Ok(r),
        [] => anyhow::bail!(
            "no recorded resolution has a key starting with `{prefix}`: see `dovetail-port resolutions list`"
        ),
        many => anyhow::bail!(
            "`{prefix}` names {} recorded resolutions: give more of the key",
            many.len()
        ),
    }
}

fn lines(prefix: &str, text: &[String]) -> String {
    text.iter()
        .map(|l| format!("{prefix}{}\n", l.trim_end_matches('\n')))
        .collect()
}

fn show(r: &Record) -> String {
    format!(
        "resolution {}\nfile:     {}\nscope:    {}\nrecorded: {}\n\nours (target + queue):\n{}base (queue's old base):\n{}theirs (the patch):\n{}resolved as:\n{}",
        r.key,
        r.path,
        r.scope.as_deref().unwrap_or("(file level)"),
        if r.recorded_for.is_empty() { "-" } else { &r.recorded_for },
        lines("  | ", &r.ours),
        lines("  | ", &r.base),
        lines("  | ", &r.theirs),
        lines("  | ", &r.resolution),
    )
}

fn git_dir(repo: &Path) -> anyhow::Result<PathBuf> {
    Ok(open_repo(repo)?.path().to_path_buf())
}

pub fn run(args: ResolutionsArgs) -> anyhow::Result<u8> {
    let git_dir = git_dir(&args.repo)?;
    // Imports and forgets change the store: one writer at a time, reading it under the lock,
    // so "kept unless --replace" holds against a concurrent import.
    let _lock = match args.command {
        ResolutionsCommand::Import { .. } | ResolutionsCommand::Forget { .. } => {
            Some(dovetail_port::rebase::lock::acquire(
                &dovetail_port::rebase::lock::resolutions_path(&git_dir),
                "a change to the resolution store",
            )?)
        }
        _ => None,
    };
    let mut memory = Memory::load(&git_dir)?;
    match args.command {
        ResolutionsCommand::List => {
            let mut n = 0;
            for r in memory.records() {
                n += 1;
                println!(
                    "{}  {}  {}  {} line(s) -> {}",
                    short(&r.key),
                    r.path,
                    r.scope.as_deref().unwrap_or("-"),
                    r.ours.len().max(r.theirs.len()),
                    r.resolution.len()
                );
            }
            eprintln!(
                "{n} recorded resolution(s) in {}",
                Memory::dir(&git_dir).display()
            );
        }
        ResolutionsCommand::Show { key } => print!("{}", show(one(&memory, &key)?)),
        ResolutionsCommand::Export { file } => {
            std::fs::write(&file, memory.export())
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "exported {} resolution(s) to {}",
                memory.records().count(),
                file.display()
            );
        }
        ResolutionsCommand::Import { file, replace } => {
            let records = Memory::read_bundle(&file)?;
            let s = memory.import(&git_dir, records, replace)?;
            println!(
                "imported from {}: {} new, {} already known, {} replaced, {} kept (resolved differently here)",
                file.display(),
                s.added,
                s.known,
                s.replaced,
                s.differing.len()
            );
            for k in &s.differing {
                println!(
                    "  kept {}: `dovetail-port resolutions show {}` shows yours; --replace takes the file's",
                    short(k),
                    short(k)
                );
            }
        }
        ResolutionsCommand::Forget { key } => {
            let key = one(&memory, &key)?.key.clone();
            memory.forget(&git_dir, &key)?;
            println!("forgot resolution {}", short(&key));
        }
    }
    Ok(super::EXIT_OK)
}
