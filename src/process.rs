//! Running host tools: always an argument list, never a shell string built from input.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("could not start `{program}`: {source} (is it installed? try `dovetail-port doctor`)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed with {status}: {stderr}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// Runs `program args...` in `cwd` (if given), returning stdout on success.
pub fn run<I, S>(program: &str, args: I, cwd: Option<&Path>) -> Result<Output, ProcessError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_env(program, args, cwd, &[])
}

/// Like [`run`], with extra environment variables.
pub fn run_with_env<I, S>(
    program: &str,
    args: I,
    cwd: Option<&Path>,
    env: &[(&str, &OsStr)],
) -> Result<Output, ProcessError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let mut cmd = Command::new(program);
    cmd.args(&args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().map_err(|source| ProcessError::Spawn {
        program: program.to_string(),
        source,
    })?;
    if !output.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Err(ProcessError::Failed {
            command: format!("{program} {}", shown.join(" ")),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output)
}
