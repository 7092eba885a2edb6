//! Running host tools: always an argument list, never a shell string built from input.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
        return Err(failed(program, &args, &output));
    }
    Ok(output)
}

/// The error for a command that ran and failed: the command line, its status and stderr.
fn failed(program: &str, args: &[OsString], output: &Output) -> ProcessError {
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    ProcessError::Failed {
        command: format!("{program} {}", shown.join(" ")),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    }
}

/// Git on one repository. The repository is named by its git dir (`--git-dir`, as bytes:
/// a path that is not UTF-8 stays what it is) or by a work tree git runs in, as a user would.
#[derive(Debug, Clone)]
pub struct Git {
    /// `--git-dir=` and `--work-tree=` arguments, before each command's own.
    options: Vec<OsString>,
    /// Where git runs: a work tree, or the caller's folder.
    cwd: Option<PathBuf>,
}

impl Git {
    /// Git on the repository whose git dir (`.git`, or a bare repository) is `git_dir`.
    pub fn new(git_dir: &Path) -> Git {
        Git {
            options: vec![option("--git-dir=", git_dir)],
            cwd: None,
        }
    }

    /// Git run inside `work_tree` (a checkout or linked worktree): its index and files.
    pub fn in_work_tree(work_tree: &Path) -> Git {
        Git {
            options: Vec::new(),
            cwd: Some(work_tree.to_path_buf()),
        }
    }

    /// The same repository with `tree` as its work tree (`--work-tree`), for a bare one.
    pub fn with_work_tree(mut self, tree: &Path) -> Git {
        self.options.push(option("--work-tree=", tree));
        self
    }

    /// Runs `git args...`, exit status 0 being success; its stdout.
    pub fn run<I, S>(&self, args: I) -> Result<Vec<u8>, ProcessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Ok(self.command(args).output()?.stdout)
    }

    /// `git args...`, to adjust (exit codes that are success, environment, input) and run.
    pub fn command<I, S>(&self, args: I) -> GitCommand<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all = self.options.clone();
        all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        GitCommand {
            args: all,
            cwd: self.cwd.as_deref(),
            success: vec![0],
            env: Vec::new(),
            input: None,
        }
    }

    /// Adds a detached linked worktree at `path` holding `commit`, replacing whatever is
    /// there (git's record of a worktree deleted by hand is pruned first).
    pub fn add_detached_worktree(&self, path: &Path, commit: &str) -> Result<(), ProcessError> {
        let _ = std::fs::remove_dir_all(path);
        let _ = self.run(["worktree", "prune"]);
        self.run([
            OsStr::new("worktree"),
            OsStr::new("add"),
            OsStr::new("-q"),
            OsStr::new("--detach"),
            path.as_os_str(),
            OsStr::new(commit),
        ])?;
        Ok(())
    }

    /// A [`Command`] for `git args...` on this repository, for a caller that reads its output
    /// as it comes.
    pub fn process<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.args(&self.options).args(args);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }
}

fn option(name: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(name);
    arg.push(path.as_os_str());
    arg
}

/// One git command about to run; see [`Git::command`].
#[derive(Debug)]
pub struct GitCommand<'a> {
    args: Vec<OsString>,
    cwd: Option<&'a Path>,
    success: Vec<i32>,
    env: Vec<(OsString, OsString)>,
    input: Option<&'a [u8]>,
}

/// What a git command that succeeded left.
#[derive(Debug)]
pub struct GitOutput {
    /// Its exit code: one of those the command was told are success.
    pub code: i32,
    pub stdout: Vec<u8>,
}

impl<'a> GitCommand<'a> {
    /// The exit codes that are success (instead of 0 alone): `git grep` exits 1 when nothing
    /// matches, `git merge-file` with the number of conflicts.
    pub fn success(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        self.success = codes.into_iter().collect();
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// Runs it in `dir` instead of the repository's work tree or the caller's folder.
    pub fn current_dir(mut self, dir: &'a Path) -> Self {
        self.cwd = Some(dir);
        self
    }

    /// Bytes for its stdin.
    pub fn input(mut self, bytes: &'a [u8]) -> Self {
        self.input = Some(bytes);
        self
    }

    /// Runs it: its exit code and stdout when the code is a success, else an error naming the
    /// command, its status and stderr (a signal is never success).
    pub fn output(self) -> Result<GitOutput, ProcessError> {
        let mut cmd = Command::new("git");
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = self.cwd {
            cmd.current_dir(dir);
        }
        let spawn = |source| ProcessError::Spawn {
            program: "git".into(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn)?;
        let stdin = child.stdin.take();
        // The input is written beside the reading of the output: a command that answers
        // while it reads never waits on a full pipe.
        let output = std::thread::scope(|scope| {
            if let (Some(mut pipe), Some(bytes)) = (stdin, self.input) {
                scope.spawn(move || {
                    // A command that exits early closes its stdin: its status says why.
                    let _ = pipe.write_all(bytes);
                });
            }
            child.wait_with_output()
        })
        .map_err(spawn)?;
        match output.status.code() {
            Some(code) if self.success.contains(&code) => Ok(GitOutput {
                code,
                stdout: output.stdout,
            }),
            _ => Err(failed("git", &self.args, &output)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository at a path that is not UTF-8, so `--git-dir` must travel as bytes.
    fn repo() -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(OsStr::from_bytes(b"r-\xff.git"));
        run(
            "git",
            [
                OsStr::new("init"),
                OsStr::new("-q"),
                OsStr::new("--bare"),
                dir.as_os_str(),
            ],
            None,
        )
        .unwrap();
        (tmp, dir)
    }

    #[test]
    fn git_runs_on_a_git_dir_with_input_and_chosen_exit_codes() {
        let (_tmp, dir) = repo();
        let git = Git::new(&dir);
        let id = git
            .command(["hash-object", "-w", "--stdin"])
            .input(b"int x;\n")
            .output()
            .unwrap();
        assert_eq!(id.code, 0);
        let id = String::from_utf8(id.stdout).unwrap();
        assert_eq!(git.run(["cat-file", "-p", id.trim()]).unwrap(), b"int x;\n");
        // `cat-file -e` says "missing" with exit code 1: success only when asked for.
        let missing = ["cat-file", "-e", "0123456789012345678901234567890123456789"];
        let err = git.run(missing).unwrap_err().to_string();
        assert!(err.contains("cat-file -e 0123456789"), "{err}");
        assert!(err.contains("--git-dir="), "{err}");
        let out = git.command(missing).success([0, 1]).output().unwrap();
        assert_eq!(out.code, 1);
    }

    #[test]
    fn a_failure_names_the_command_and_stderr() {
        let (_tmp, dir) = repo();
        let err = Git::new(&dir)
            .run(["rev-parse", "--verify", "no-such-ref"])
            .unwrap_err();
        let ProcessError::Failed {
            command, stderr, ..
        } = &err
        else {
            panic!("{err}");
        };
        assert!(
            command.ends_with("rev-parse --verify no-such-ref"),
            "{command}"
        );
        assert!(
            stderr.contains("no-such-ref") || stderr.contains("fatal"),
            "{stderr}"
        );
    }
}
