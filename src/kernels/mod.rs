//! The real kernel trees that the demo and the tests work on: Debian's `linux-source-6.1` and
//! `linux-source-6.12` tarballs, extracted once and imported into one cached git repository
//! (outside any clone, under `~/.cache/dovetail-port`), recreated whenever it is missing.
//!
//! The two releases are imported as unrelated root commits, tagged `v6.1`/`v6.12` and with their
//! full version (`v6.1.192`...). Commits are made with fixed identities and dates, so the same
//! tarball always gives the same commit id. Blob ids depend only on content, so they equal the
//! ids in upstream's history for every file Debian did not patch.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::process::{self, Git};

pub mod debian;

/// The kernel series the project works with, oldest first.
pub const SERIES: &[&str] = &["6.1", "6.12"];

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error(
        "Debian kernel source {tarball} is missing: install it with `apt-get install linux-source-{series}` (or run ./scripts/setup)"
    )]
    MissingTarball { series: String, tarball: PathBuf },
    #[error("kernel cache at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("kernel cache: {0}")]
    Process(#[from] process::ProcessError),
    #[error("cannot read the kernel version from {0}")]
    NoVersion(PathBuf),
}

type Result<T> = std::result::Result<T, KernelError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KernelError + '_ {
    move |source| KernelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub use crate::cache::cache_root;

/// The imported kernels, ready to use.
#[derive(Debug, Clone)]
pub struct KernelCache {
    root: PathBuf,
}

impl KernelCache {
    pub fn new(root: PathBuf) -> Self {
        KernelCache { root }
    }

    pub fn default_location() -> Self {
        KernelCache::new(cache_root())
    }

    /// The bare git repository holding both releases.
    pub fn repo_path(&self) -> PathBuf {
        self.root.join("kernels.git")
    }

    /// The extracted (read-only by convention) source tree of one series, e.g. `6.1`.
    pub fn source_tree(&self, series: &str) -> PathBuf {
        self.root.join("src").join(format!("linux-source-{series}"))
    }

    /// Tag naming a series in the repository (`v6.1`).
    pub fn tag(series: &str) -> String {
        format!("v{series}")
    }

    /// Makes sure every series is extracted and imported; cheap when it already is. Safe to
    /// call from concurrent processes (a file lock serialises the import).
    pub fn ensure(&self) -> Result<&Self> {
        fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let lock_path = self.root.join(".lock");
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        lock.lock().map_err(io_err(&lock_path))?;
        for series in SERIES {
            self.ensure_extracted(series)?;
        }
        self.ensure_repo()?;
        for series in SERIES {
            self.ensure_imported(series)?;
        }
        Ok(self)
    }

    fn tarball(series: &str) -> PathBuf {
        PathBuf::from(format!("/usr/src/linux-source-{series}.tar.xz"))
    }

    fn ensure_extracted(&self, series: &str) -> Result<()> {
        let tree = self.source_tree(series);
        let marker = self
            .root
            .join("src")
            .join(format!("linux-source-{series}.ready"));
        if marker.exists() && tree.join("Makefile").exists() {
            return Ok(());
        }
        let tarball = Self::tarball(series);
        if !tarball.exists() {
            return Err(KernelError::MissingTarball {
                series: series.to_string(),
                tarball,
            });
        }
        let src = self.root.join("src");
        let staging = src.join(format!(".extract-{series}"));
        let _ = fs::remove_dir_all(&staging);
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        extract(&tarball, &staging, false)?;
        let extracted = staging.join(format!("linux-source-{series}"));
        fs::rename(&extracted, &tree).map_err(io_err(&tree))?;
        let _ = fs::remove_dir_all(&staging);
        File::create(&marker).map_err(io_err(&marker))?;
        Ok(())
    }

    fn ensure_repo(&self) -> Result<()> {
        init_bare(&self.repo_path())
    }

    fn ensure_imported(&self, series: &str) -> Result<()> {
        let repo = self.repo_path();
        let tag = Self::tag(series);
        if repo.join("refs/tags").join(&tag).exists() {
            return Ok(());
        }
        let tree = self.source_tree(series);
        let version = kernel_version(&tree)?;
        let message = format!("Linux {version} (Debian linux-source-{series})");
        let commit = import_tree(&repo, &tree, &message, &format!("index-{series}"))?;
        let git = Git::new(&repo);
        let full = format!("refs/tags/v{version}");
        git.run(["update-ref", &full, &commit])?;
        // The short tag is written last: its presence means the import is complete.
        let short = format!("refs/tags/{tag}");
        git.run(["update-ref", &short, &commit])?;
        Ok(())
    }
}

/// The fixed identities and dates imports are made with, so one tarball always gives one
/// commit id.
pub const IMPORT_ENV: [(&str, &str); 6] = [
    ("GIT_AUTHOR_NAME", "Debian linux-source"),
    ("GIT_AUTHOR_EMAIL", "linux-source@debian.invalid"),
    ("GIT_COMMITTER_NAME", "dovetail-port"),
    ("GIT_COMMITTER_EMAIL", "dovetail-port@invalid"),
    ("GIT_AUTHOR_DATE", "1700000000 +0000"),
    ("GIT_COMMITTER_DATE", "1700000000 +0000"),
];

/// Creates a bare repository at `repo` unless one is there (atomically: made beside it, then
/// renamed, so a killed run leaves no half repository).
pub fn init_bare(repo: &Path) -> Result<()> {
    if repo.join("HEAD").exists() {
        return Ok(());
    }
    let name = repo.file_name().unwrap_or(OsStr::new("repo.git"));
    let mut staging_name = OsStr::new(".").to_os_string();
    staging_name.push(name);
    staging_name.push(".new");
    let staging = repo.with_file_name(staging_name);
    let _ = fs::remove_dir_all(&staging);
    process::run(
        "git",
        [
            OsStr::new("init"),
            OsStr::new("-q"),
            OsStr::new("--bare"),
            staging.as_os_str(),
        ],
        None,
    )?;
    fs::rename(&staging, repo).map_err(io_err(repo))?;
    Ok(())
}

/// Extracts `tarball` into `dest` (which exists) by feeding it to `tar` ourselves, so the
/// bytes read show as progress; `strip_top` drops the archive's top folder.
pub fn extract(tarball: &Path, dest: &Path, strip_top: bool) -> Result<()> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let size = fs::metadata(tarball).map_err(io_err(tarball))?.len();
    let name = tarball.file_name().unwrap_or_default().to_string_lossy();
    // From a pipe, tar cannot guess the compression: the file name says it.
    let compression = [(".xz", "-J"), (".gz", "-z"), (".tgz", "-z"), (".bz2", "-j")]
        .iter()
        .find(|(ext, _)| name.ends_with(ext))
        .map(|(_, flag)| *flag);
    let mut cmd = Command::new("tar");
    cmd.arg("-x")
        .args(compression)
        .args(["-f", "-", "-C"])
        .arg(dest);
    if strip_top {
        cmd.arg("--strip-components=1");
    }
    let spawn = |source| process::ProcessError::Spawn {
        program: "tar".into(),
        source,
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    let mut step = crate::progress::Step::new(
        format!("extracting {name}"),
        size,
        crate::progress::Unit::Bytes,
    );
    let mut file = File::open(tarball).map_err(io_err(tarball))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(tarball))?;
        // A tar that stopped reading has failed: its status and message say why.
        if n == 0 || stdin.write_all(&buf[..n]).is_err() {
            break;
        }
        step.inc(n as u64);
    }
    drop(stdin);
    let out = child.wait_with_output().map_err(spawn)?;
    step.finish();
    if !out.status.success() {
        return Err(process::ProcessError::Failed {
            command: format!("tar -x -f {}", tarball.display()),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }
        .into());
    }
    Ok(())
}

/// `git add` of every file under `tree`, one `--verbose` line per file counted as progress.
fn add_all(repo: &Path, tree: &Path, env: &[(&str, &OsStr)]) -> Result<()> {
    use std::io::BufRead;
    use std::process::Stdio;
    let files = walkdir::WalkDir::new(tree)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .count();
    let name = tree.file_name().unwrap_or_default().to_string_lossy();
    let mut step = crate::progress::Step::new(
        format!("committing {name}"),
        files as u64,
        crate::progress::Unit::Files,
    );
    let spawn = |source| process::ProcessError::Spawn {
        program: "git".into(),
        source,
    };
    let mut child = Git::new(repo)
        .with_work_tree(tree)
        .process(["add", "--verbose", "-A", "-f", "."])
        .current_dir(tree)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    let stdout = child.stdout.take().expect("piped");
    // Paths are bytes: count lines without decoding them.
    for line in std::io::BufReader::new(stdout).split(b'\n') {
        if line.is_err() {
            break;
        }
        step.inc(1);
    }
    let out = child.wait_with_output().map_err(spawn)?;
    step.finish();
    if !out.status.success() {
        return Err(process::ProcessError::Failed {
            command: format!("git add -A -f . (in {})", tree.display()),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }
        .into());
    }
    Ok(())
}

/// Imports the folder `tree` (every file, ignore rules off) into the bare repository `repo` as
/// a root commit with `message`, fixed identities and dates; returns the commit id. `index` is
/// the name of the scratch index file used inside `repo`. Moves no ref.
pub fn import_tree(repo: &Path, tree: &Path, message: &str, index: &str) -> Result<String> {
    let index = repo.join(index);
    let _ = fs::remove_file(&index);
    let mut env: Vec<(&str, &OsStr)> = vec![("GIT_INDEX_FILE", index.as_os_str())];
    env.extend(IMPORT_ENV.iter().map(|(k, v)| (*k, OsStr::new(*v))));
    add_all(repo, tree, &env)?;
    let git = Git::new(repo);
    let run = |args: &[&str]| -> Result<String> {
        let out = git.command(args).envs(env.iter().copied()).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let tree_id = run(&["write-tree"])?;
    let commit = run(&["commit-tree", &tree_id, "-m", message])?;
    let _ = fs::remove_file(&index);
    Ok(commit)
}

/// Reads `VERSION.PATCHLEVEL.SUBLEVEL` from a kernel tree's top Makefile.
pub fn kernel_version(tree: &Path) -> Result<String> {
    let makefile = tree.join("Makefile");
    let text = fs::read_to_string(&makefile).map_err(io_err(&makefile))?;
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    match (field("VERSION"), field("PATCHLEVEL"), field("SUBLEVEL")) {
        (Some(v), Some(p), Some(s)) if !v.is_empty() && !p.is_empty() => {
            if s.is_empty() || s == "0" {
                Ok(format!("{v}.{p}"))
            } else {
                Ok(format!("{v}.{p}.{s}"))
            }
        }
        _ => Err(KernelError::NoVersion(makefile)),
    }
}

/// A throw-away repository sharing the cache's objects (alternates), for tests and the demo
/// to create branches in without touching the cache's refs.
pub fn shared_clone(cache: &KernelCache, dest: &Path) -> Result<()> {
    shared_clone_of(&cache.repo_path(), dest)
}

/// A throw-away bare clone of `repo` sharing its objects (alternates).
pub fn shared_clone_of(repo: &Path, dest: &Path) -> Result<()> {
    process::run(
        "git",
        [
            OsStr::new("clone"),
            OsStr::new("-q"),
            OsStr::new("--shared"),
            OsStr::new("--bare"),
            repo.as_os_str(),
            dest.as_os_str(),
        ],
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The piped extraction and the counted `git add` give the same tree as git itself would:
    /// a generated xz tarball, its top folder stripped, a file name that is not UTF-8.
    #[test]
    fn extract_and_import_a_tarball() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().join("linux-x");
        fs::create_dir_all(top.join("kernel")).unwrap();
        fs::write(top.join("Makefile"), "VERSION = 6\n").unwrap();
        fs::write(top.join("kernel/irq.c"), "int x;\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            fs::write(top.join(OsStr::from_bytes(b"odd-\xff.c")), "y\n").unwrap();
        }
        let tarball = tmp.path().join("linux-x.tar.xz");
        process::run(
            "tar",
            [
                OsStr::new("-cJf"),
                tarball.as_os_str(),
                OsStr::new("-C"),
                tmp.path().as_os_str(),
                OsStr::new("linux-x"),
            ],
            None,
        )
        .unwrap();
        let dest = tmp.path().join("out");
        fs::create_dir(&dest).unwrap();
        extract(&tarball, &dest, true).unwrap();
        assert_eq!(fs::read(dest.join("kernel/irq.c")).unwrap(), b"int x;\n");

        let repo = tmp.path().join("r.git");
        init_bare(&repo).unwrap();
        let commit = import_tree(&repo, &dest, "m", "index-t").unwrap();
        let files = Git::new(&repo)
            .run(["ls-tree", "-r", "--name-only", &commit])
            .unwrap();
        let files = String::from_utf8_lossy(&files);
        assert!(
            files.contains("Makefile\n") && files.contains("kernel/irq.c\n"),
            "{files}"
        );
        assert_eq!(files.lines().count(), if cfg!(unix) { 3 } else { 2 });

        // A damaged archive is an error naming tar's complaint, not a panic or a half tree.
        fs::write(&tarball, b"not xz").unwrap();
        let err = extract(&tarball, &dest, true).unwrap_err().to_string();
        assert!(err.contains("tar"), "{err}");
    }
}
