//! One writer at a time per repository: a rebase session and the resolution store each have a
//! lock file under `.git/dovetail-port/`. The lock is the operating system's (flock), so a
//! killed process never leaves a stale lock; the file's text says who holds it, for the
//! message the second process prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::{RebaseError, Result};

/// Held while the guarded work runs; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the lock at `path` (creating the folder and file), or says who holds it.
pub fn acquire(path: &Path, what: &str) -> Result<Lock> {
    let io = |source| RebaseError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| RebaseError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(RebaseError::Locked {
                path: path.to_path_buf(),
                what: what.to_string(),
                holder: holder.trim().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(
        file,
        "pid {} (dovetail-port {})",
        std::process::id(),
        args.join(" ")
    )
    .map_err(io)?;
    Ok(Lock { _file: file })
}

/// The session's lock file.
pub fn session_path(git_dir: &Path) -> PathBuf {
    git_dir.join("dovetail-port").join("session.lock")
}

/// The resolution store's lock file.
pub fn resolutions_path(git_dir: &Path) -> PathBuf {
    git_dir.join("dovetail-port").join("resolutions.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/session.lock");
        let first = acquire(&path, "a rebase session").unwrap();
        let err = acquire(&path, "a rebase session").unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("a rebase session"), "{err}");
        drop(first);
        acquire(&path, "a rebase session").unwrap();
    }
}
