//! `results`: re-read saved console logs.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use dovetail_port::results::{self, render};

/// Read test results saved earlier.
///
/// Examples:
///
///   dovetail-port results parse console.log
///
///   dovetail-port results parse lab.log --format json -o report.json
#[derive(Subcommand, Debug)]
pub enum ResultsCommand {
    Parse(ParseArgs),
    Lava(LavaArgs),
}

/// Turn a LAVA lab's results into the report a boot gives, e.g. JUnit for the CI page.
///
/// Reads the files `lavacli results JOB --json` writes (a list of `{suite, name, result}`),
/// one per job; each suite is prefixed with the file's job (`results-1234.json` gives
/// `1234.0_dovetail`). LAVA's `unknown` counts as a failure, as does its own `lava` suite
/// failing (a job that did not boot). The lava-submit job `ci emit gitlab` writes runs this.
///
/// Exit status: 0 all passed, 1 a case failed, 2 error (unreadable file, not lavacli JSON).
///
/// Examples:
///
///   dovetail-port results lava .dovetail-port/lava-jobs/results-*.json --format junit -o lava-junit.xml
///
///   lavacli results 1234 --json > r.json && dovetail-port results lava r.json
#[derive(Args, Debug)]
pub struct LavaArgs {
    /// `lavacli results JOB --json` output, one file per job.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ParseFormat::Human)]
    format: ParseFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
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
    let args = match cmd {
        ResultsCommand::Parse(args) => args,
        ResultsCommand::Lava(args) => return run_lava(args),
    };
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
    emit(&report, args.format, args.output.as_ref())
}

fn emit(
    report: &results::TestReport,
    format: ParseFormat,
    output: Option<&PathBuf>,
) -> anyhow::Result<u8> {
    let format = match format {
        ParseFormat::Human => render::Format::Human,
        ParseFormat::Json => render::Format::Json,
        ParseFormat::Junit => render::Format::Junit,
    };
    let text = render::render(report, format);
    match output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{text}"),
    }
    Ok(if report.passed() {
        super::EXIT_OK
    } else {
        super::EXIT_ATTENTION
    })
}

fn run_lava(args: LavaArgs) -> anyhow::Result<u8> {
    let mut cases = Vec::new();
    for file in &args.files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        // `results-1234.json` -> job `1234`; any other name is used whole.
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let job = stem.strip_prefix("results-").unwrap_or(&*stem);
        cases.extend(results::lava::cases(&text, job).with_context(|| {
            format!(
                "{}: not the output of `lavacli results JOB --json`",
                file.display()
            )
        })?);
    }
    emit(
        &results::lava::report(cases),
        args.format,
        args.output.as_ref(),
    )
}
