//! `results`: re-read saved console logs.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use dovetail_port::results::{self, render};

#[derive(Subcommand, Debug)]
pub enum ResultsCommand {
    Parse(ParseArgs),
}

/// Re-read a saved console log into the report a boot gives (kunit.py's `parse`).
///
/// Reads the KTAP of KUnit and kselftest, the payload markers and `evl test` lines, the IRQ
/// pipeline torture verdict and kernel crashes (panic, oops, BUG, lockdep, hung tasks) from a
/// console log, e.g. the console.log `boot`/`test` keep or one a lab saved. How the boot ended
/// is read back from the log (completion marker, fatal event, or cut short).
///
/// Exit status: 0 all passed, 1 a test failed or the kernel crashed, 2 error.
///
/// Examples:
///
///   dovetail-port results parse ~/.cache/dovetail-port/boot/x86_64-*/console.log
///
///   dovetail-port results parse lab.log --filter 'list*' --format junit -o junit.xml
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// The console log.
    log: PathBuf,
    /// Keep only the KUnit suites/cases matching SUITE_GLOB[.TEST_GLOB].
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ParseFormat::Human)]
    format: ParseFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
enum ParseFormat {
    Human,
    Json,
    Junit,
}

pub fn run(cmd: ResultsCommand) -> anyhow::Result<u8> {
    let ResultsCommand::Parse(args) = cmd;
    let bytes =
        std::fs::read(&args.log).with_context(|| format!("reading {}", args.log.display()))?;
    // Consoles carry stray bytes (serial noise, binary payload output): read them lossily.
    let console = String::from_utf8_lossy(&bytes);
    let mut report = results::reparse(&console, &args.log);
    if let Some(f) = &args.filter {
        report
            .retain_glob(f)
            .with_context(|| format!("--filter {f}"))?;
    }
    let format = match args.format {
        ParseFormat::Human => render::Format::Human,
        ParseFormat::Json => render::Format::Json,
        ParseFormat::Junit => render::Format::Junit,
    };
    let text = render::render(&report, format);
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{text}"),
    }
    Ok(if report.passed() {
        super::EXIT_OK
    } else {
        super::EXIT_ATTENTION
    })
}
