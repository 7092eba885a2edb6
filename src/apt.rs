//! Debian's apt with a private state folder: its own sources list, package lists and archive
//! cache in a temporary folder, so the host's apt configuration and dpkg database are neither
//! read for packages nor changed, while every download is still verified against Debian's
//! archive keyring (`signed-by=` on each sources line) like any other apt download.
//!
//! Used to fetch Debian's busybox-static for foreign guests and Debian's `linux` source
//! packages for the rebase accuracy benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum AptError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// `command` is shown without the private-state options, which only add noise.
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AptError + '_ {
    move |source| AptError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One apt state, alive as long as this value (removed on drop, errors included). One per
/// fetch, so two fetches at once share neither lists nor locks.
pub struct PrivateApt {
    state: tempfile::TempDir,
    options: Vec<String>,
}

impl PrivateApt {
    /// A fresh state folder under `parent` whose sources list is `sources_list` (full
    /// `deb`/`deb-src` lines). `arch` limits binary indexes to one Debian architecture.
    pub fn new(parent: &Path, sources_list: &str, arch: Option<&str>) -> Result<Self, AptError> {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let state = tempfile::Builder::new()
            .prefix(".apt-")
            .tempdir_in(parent)
            .map_err(io(parent))?;
        let dir = state.path();
        for sub in ["lists/partial", "cache/archives/partial", "sources.list.d"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io(dir))?;
        }
        let list = dir.join("sources.list");
        std::fs::write(&list, sources_list).map_err(io(&list))?;
        let options = options(dir, arch);
        Ok(PrivateApt { state, options })
    }

    pub fn path(&self) -> &Path {
        self.state.path()
    }

    /// The `-o` options that point apt at this state.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// Runs an apt program (`apt-get`, `apt-cache`) with this state and `args`, in `cwd`;
    /// returns its stdout.
    pub fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<String, AptError> {
        let mut all: Vec<String> = self.options.clone();
        all.extend(args.iter().map(|a| a.to_string()));
        run_tool(program, &all, cwd)
    }

    /// `apt-get update` of this state's lists.
    pub fn update(&self) -> Result<(), AptError> {
        self.run("apt-get", &["-q", "update"], self.path())?;
        Ok(())
    }
}

/// The apt options that give apt its own state under `dir`: lists, archives, sources, no
/// dpkg status, no lock on the host's folders, only the indexes needed.
pub fn options(dir: &Path, arch: Option<&str>) -> Vec<String> {
    let mut o = vec![
        format!("Dir::State::Lists={}", dir.join("lists").display()),
        format!("Dir::Cache={}", dir.join("cache").display()),
        format!(
            "Dir::Etc::SourceList={}",
            dir.join("sources.list").display()
        ),
        format!(
            "Dir::Etc::SourceParts={}",
            dir.join("sources.list.d").display()
        ),
        "Dir::State::status=/dev/null".into(),
        "Debug::NoLocking=1".into(),
        "Acquire::Languages=none".into(),
        "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".into(),
        "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".into(),
        "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".into(),
        "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false".into(),
    ];
    if let Some(arch) = arch {
        o.push(format!("APT::Architecture={arch}"));
        o.push(format!("APT::Architectures={arch}"));
    }
    if running_as_root() {
        // apt drops to `_apt` for downloads, which cannot write into our cache folder.
        o.push("APT::Sandbox::User=root".into());
    }
    o.into_iter().flat_map(|v| ["-o".to_string(), v]).collect()
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs `program args...` in `dir` with the C locale, failing with the last lines of its
/// stderr; returns stdout.
pub fn run_tool(program: &str, args: &[String], dir: &Path) -> Result<String, AptError> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| AptError::Spawn {
            program: program.into(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let shown: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "-o" && !a.contains("::"))
            .collect();
        return Err(AptError::Failed {
            command: format!("{program} {}", shown.join(" ")),
            status: out.status,
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_point_every_state_folder_at_the_private_one() {
        let o = options(Path::new("/c/apt"), Some("riscv64"));
        assert!(o.contains(&"Dir::Etc::SourceList=/c/apt/sources.list".to_string()));
        assert!(o.contains(&"Dir::State::Lists=/c/apt/lists".to_string()));
        assert!(o.contains(&"Dir::Cache=/c/apt/cache".to_string()));
        assert!(o.contains(&"APT::Architectures=riscv64".to_string()));
        assert!(o.contains(&"Dir::State::status=/dev/null".to_string()));
        // Every value is preceded by its `-o`.
        assert!(o.chunks(2).all(|c| c[0] == "-o"));
        let o = options(Path::new("/c/apt"), None);
        assert!(!o.iter().any(|v| v.starts_with("APT::Architecture")));
    }

    #[test]
    fn the_state_folder_is_private_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let apt = PrivateApt::new(
            parent.path(),
            "deb-src [signed-by=/k] http://x y main\n",
            None,
        )
        .unwrap();
        let dir = apt.path().to_path_buf();
        assert!(dir.starts_with(parent.path()));
        assert_eq!(
            std::fs::read_to_string(dir.join("sources.list")).unwrap(),
            "deb-src [signed-by=/k] http://x y main\n"
        );
        assert!(dir.join("lists/partial").is_dir());
        drop(apt);
        assert!(!dir.exists());
    }

    #[test]
    fn a_failing_tool_reports_its_stderr_without_the_state_options() {
        // `sh -c CMD -o Dir::Cache=/x`: the last two become $0 and $1, unused.
        let args = ["-c", "echo boom >&2; exit 3", "-o", "Dir::Cache=/x"].map(String::from);
        let err = run_tool("sh", &args, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("boom") && err.contains("exit status: 3"),
            "{err}"
        );
        assert!(!err.contains("Dir::Cache"), "{err}");
        let err = run_tool("/nonexistent/tool", &[], Path::new("/")).unwrap_err();
        assert!(matches!(err, AptError::Spawn { .. }), "{err}");
    }
}
