//! `queue`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use git2::Repository;

use dovetail_port::queue::export::{self, ExportFormat};
use dovetail_port::queue::topics::Topics;
use dovetail_port::queue::{self, patchfile, range};

/// Inspect, import and export the patch queue, classified into topics (irq_pipeline,
/// dovetail, per-arch, evl, drivers, other) by the rules in patchsets/dovetail.toml.
///
/// Examples:
///
///   dovetail-port queue list --queue v6.1..dovetail-6.1
///
///   dovetail-port queue export --queue v6.1..dovetail-6.1 --format quilt -o patches/
#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List the queue's patches, oldest first, with their topics.
    ///
    /// Examples:
    ///
    ///   dovetail-port queue list --queue v6.1..dovetail-6.1 -C ~/linux
    ///
    ///   dovetail-port queue list --series patches/ --format json | jq '.patches[].topic'
    List(ListArgs),
    /// Show one patch of the queue: topic, files, message.
    ///
    /// Examples:
    ///
    ///   dovetail-port queue show 12 --queue v6.1..dovetail-6.1
    ///
    ///   dovetail-port queue show 3f2a9c --series patches/series
    Show(ShowArgs),
    /// Turn patch files (format-patch mbox, quilt series, squashed patch) into commits on a
    /// new branch, without touching your worktree or index.
    ///
    /// Examples:
    ///
    ///   dovetail-port queue import patches/ --onto v6.1 --branch dovetail-6.1
    ///
    ///   dovetail-port queue import dovetail.patch --onto v6.1.187 --branch try --force -C ~/linux
    Import(ImportArgs),
    /// Write the queue BASE..HEAD out as a format-patch series, a quilt series or one squashed
    /// patch.
    ///
    /// Examples:
    ///
    ///   dovetail-port queue export --queue v6.1..dovetail-6.1 -o outgoing/   # format-patch mbox
    ///
    ///   dovetail-port queue export --queue v6.1..dovetail-6.1 --format squashed -o dovetail.patch
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct Source {
    /// The queue as a commit range.
    #[arg(long, value_name = "BASE..HEAD", conflicts_with = "series")]
    pub queue: Option<String>,
    /// The queue as patch files (quilt dir, format-patch dir, or one file).
    #[arg(long, value_name = "DIR|FILE")]
    pub series: Option<PathBuf>,
    #[command(flatten)]
    pub repo: super::TreeArg,
    /// Topic rules (default: patchsets/dovetail.toml).
    #[arg(long, value_name = "FILE")]
    pub topics: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub source: Source,
    #[command(flatten)]
    pub format: super::FormatArg,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Position in the queue (1-based) or a commit id prefix.
    pub which: String,
    #[command(flatten)]
    pub source: Source,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Patch files: quilt directory, format-patch directory or one file.
    pub series: PathBuf,
    /// Where to apply them (tag, branch or commit).
    #[arg(long, value_name = "REV")]
    pub onto: String,
    /// Branch to create with the result.
    #[arg(long, value_name = "NAME")]
    pub branch: String,
    /// Overwrite the branch if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub repo: super::TreeArg,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The queue as a commit range.
    #[arg(long, value_name = "BASE..HEAD")]
    pub queue: String,
    /// Output directory (mbox, quilt) or file (squashed).
    #[arg(long = "output", short = 'o', alias = "out", value_name = "PATH")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Mbox)]
    pub format: Format,
    #[command(flatten)]
    pub repo: super::TreeArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One mail per patch, like git format-patch, plus a series file.
    Mbox,
    /// A quilt patches directory with a series file.
    Quilt,
    /// One patch with the whole queue squashed (like ipipe-core-*.patch).
    Squashed,
}

fn open(path: &std::path::Path) -> anyhow::Result<Repository> {
    Repository::discover(path).with_context(|| format!("not a git repository: {}", path.display()))
}

fn topics(source: &Source) -> anyhow::Result<Topics> {
    Ok(match &source.topics {
        Some(p) => Topics::load(p)?,
        None => Topics::builtin()?,
    })
}

#[derive(serde::Serialize)]
struct Row {
    index: usize,
    id: String,
    subject: String,
    topic: String,
    files: Vec<String>,
}

fn rows(source: &Source) -> anyhow::Result<Vec<Row>> {
    let topics = topics(source)?;
    match (&source.queue, &source.series) {
        (Some(spec), None) => {
            let repo = open(&source.repo)?;
            Ok(range::list(&repo, spec, &topics)?
                .into_iter()
                .enumerate()
                .map(|(i, c)| Row {
                    index: i + 1,
                    id: c.id.to_string(),
                    subject: c.subject,
                    topic: c.topic,
                    files: c.paths,
                })
                .collect())
        }
        (None, Some(dir)) => Ok(patchfile::read_queue(dir)?
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let files = p.paths();
                Row {
                    index: i + 1,
                    id: format!("{}:{}", p.path.display(), p.line),
                    topic: topics.classify(&p.subject, &files),
                    subject: p.subject,
                    files,
                }
            })
            .collect()),
        _ => anyhow::bail!("say what the queue is: --queue BASE..HEAD or --series DIR"),
    }
}

pub fn run(cmd: QueueCommand) -> anyhow::Result<u8> {
    match cmd {
        QueueCommand::List(args) => {
            let rows = rows(&args.source)?;
            if args.format.legacy_json() {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if args.format.json() {
                print!(
                    "{}",
                    dovetail_port::schema::to_json(&serde_json::json!({ "patches": rows }))
                );
            } else {
                for r in &rows {
                    let id: String =
                        r.id.rsplit('/')
                            .next()
                            .unwrap_or(&r.id)
                            .chars()
                            .take(12)
                            .collect();
                    println!(
                        "{:>3}  {:<12} {:<13} {}  ({} file(s))",
                        r.index,
                        r.topic,
                        id,
                        r.subject,
                        r.files.len()
                    );
                }
                let mut per_topic = std::collections::BTreeMap::new();
                for r in &rows {
                    *per_topic.entry(r.topic.as_str()).or_insert(0) += 1;
                }
                let parts: Vec<String> =
                    per_topic.iter().map(|(t, n)| format!("{t}: {n}")).collect();
                println!("{} patches ({})", rows.len(), parts.join(", "));
            }
            Ok(super::EXIT_OK)
        }
        QueueCommand::Show(args) => {
            let rows = rows(&args.source)?;
            let row = match args.which.parse::<usize>() {
                Ok(n) if n >= 1 && n <= rows.len() && args.which.len() < 5 => &rows[n - 1],
                _ => rows
                    .iter()
                    .find(|r| r.id.starts_with(&args.which))
                    .with_context(|| format!("no patch `{}` in the queue: give its position (1..{}) or a commit id prefix", args.which, rows.len()))?,
            };
            println!(
                "patch {} of {}\nid:      {}\ntopic:   {}\nsubject: {}\nfiles:",
                row.index,
                rows.len(),
                row.id,
                row.topic,
                row.subject
            );
            for f in &row.files {
                println!("  {f}");
            }
            Ok(super::EXIT_OK)
        }
        QueueCommand::Import(args) => {
            let repo = open(&args.repo)?;
            let imported =
                queue::import(&repo, &args.onto, &args.series, &args.branch, args.force)?;
            println!(
                "imported {} patches onto {} as branch {} ({})",
                imported.commits.len(),
                args.onto,
                args.branch,
                range::short(imported.tip)
            );
            Ok(super::EXIT_OK)
        }
        QueueCommand::Export(args) => {
            let repo = open(&args.repo)?;
            let r = range::parse_range(&repo, &args.queue)?;
            let ids = range::commits(&repo, r)?;
            match args.format {
                Format::Mbox | Format::Quilt => {
                    let format = if matches!(args.format, Format::Mbox) {
                        ExportFormat::Mbox
                    } else {
                        ExportFormat::Quilt
                    };
                    let files = export::export(&repo, &ids, &args.out, format)?;
                    println!(
                        "wrote {} patches and a series file to {}",
                        files.len(),
                        args.out.display()
                    );
                }
                Format::Squashed => {
                    export::squashed(&repo, r.base, r.head, &args.out)?;
                    println!(
                        "wrote the {} commits of {} as one patch to {}",
                        ids.len(),
                        args.queue,
                        args.out.display()
                    );
                }
            }
            Ok(super::EXIT_OK)
        }
    }
}
