//! What differs between the session's worktree and its index, found in one walk of the
//! worktree in this process: every tracked file's stat data against its index entry (as
//! `git diff-files` compares them, so an edit anywhere is seen) and the files and folders the
//! index does not know (as `git ls-files -o --directory`). Git's two commands each read the
//! 78 000-entry index again, resolved every file's path from the root and looked every name
//! of every folder up; here each tracked folder is opened once, its tracked files are stat'ed
//! relative to it, and its names are only counted: a folder holding exactly its tracked
//! files and folders (the usual case) has nothing untracked, and only the others are listed.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The paths that differ.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Tracked paths whose file may differ from the index: stat data not the entry's, gone,
    /// replaced by a folder or a file of another kind, below a folder that is no longer one,
    /// unmerged, or written too close to the index for its times to tell (git's "racily
    /// clean" entries). A superset of what `git diff-files` names: a path named here is
    /// written or hashed again, never missed.
    pub changed: Vec<String>,
    /// Untracked files, ignored ones included, and folders holding no tracked file (ending in
    /// `/`, not looked into), as `git ls-files -o --directory` lists them.
    pub untracked: Vec<String>,
}

/// A tracked file's index data as the walk compares it (`None`: unmerged, always changed).
struct Tracked {
    mode: u32,
    mtime: (u32, u32),
    ctime: (u32, u32),
    ino: u32,
    uid: u32,
    gid: u32,
    size: u32,
}

/// A folder of the index: its tracked files (name, data) and subfolders.
#[derive(Default)]
struct Dir {
    files: Vec<(String, Option<Tracked>)>,
    subdirs: Vec<String>,
}

/// Walks `root` against `index`, read from a file modified in second `stamp`. `None` when a
/// path is not UTF-8, or the index holds what this comparison does not model (a submodule,
/// `assume-unchanged`, `skip-worktree` or `intent-to-add` entries): the caller asks git.
pub(super) fn scan(root: &Path, index: &git2::Index, stamp: u32) -> Option<Found> {
    let dirs = folders(index)?;
    let mut keys: Vec<&String> = dirs.keys().collect();
    // Parents before children: a folder is opened only once its parents were found real.
    keys.sort();
    let (top, rest) = keys.split_first()?;
    let mut found = Found::default();
    let mut dead = HashSet::new();
    visit(root, &dirs, &[*top], stamp, &mut dead, &mut found)?;
    // The top-level folders' trees, spread over two threads by their number of files.
    let mut trees: HashMap<&str, (usize, Vec<&String>)> = HashMap::new();
    for key in rest {
        let first = key.split('/').next().unwrap_or(key);
        let (n, g) = trees.entry(first).or_default();
        *n += dirs[*key].files.len();
        g.push(key);
    }
    let mut groups: Vec<(usize, Vec<&String>)> = trees.into_values().collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut shares: [(usize, Vec<&String>); 2] = Default::default();
    for (n, g) in groups {
        let share = if shares[0].0 <= shares[1].0 { 0 } else { 1 };
        shares[share].0 += n;
        shares[share].1.extend(g);
    }
    for (_, keys) in &mut shares {
        keys.sort();
    }
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .iter()
            .map(|(_, keys)| {
                let (dirs, dead) = (&dirs, dead.clone());
                s.spawn(move || {
                    let (mut dead, mut found) = (dead, Found::default());
                    visit(root, dirs, keys, stamp, &mut dead, &mut found).map(|()| found)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    for part in parts {
        let part = part?;
        found.changed.extend(part.changed);
        found.untracked.extend(part.untracked);
    }
    found.changed.sort();
    found.changed.dedup();
    found.untracked.sort();
    Some(found)
}

/// Compares the folders `keys` (parents before children), adding to `found`; `dead` holds the
/// folders found not to be folders.
fn visit(
    root: &Path,
    dirs: &HashMap<String, Dir>,
    keys: &[&String],
    stamp: u32,
    dead: &mut HashSet<String>,
    found: &mut Found,
) -> Option<()> {
    let mut name = Vec::new();
    for &key in keys {
        let dir = &dirs[key];
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        // Parents come first: a folder below one that is not a folder any more is dead too.
        let parent = key.rsplit_once('/').map_or("", |(p, _)| p);
        let parent_dead = !key.is_empty() && dead.contains(parent);
        let handle = if parent_dead || dead.contains(key.as_str()) {
            None
        } else {
            Folder::open(&root.join(key))
        };
        let Some(folder) = handle else {
            // Not a folder any more (or unreadable): everything tracked below is changed.
            dead.insert(key.clone());
            found
                .changed
                .extend(dir.files.iter().map(|(n, _)| format!("{prefix}{n}")));
            continue;
        };
        let mut present = 0usize;
        let mut list = false;
        for (n, t) in &dir.files {
            let st = folder.stat(n.as_bytes(), &mut name);
            let path = || format!("{prefix}{n}");
            match (st, t) {
                (Some(st), _) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                    present += 1;
                    list = true;
                    found.changed.push(path());
                }
                (Some(st), Some(t)) => {
                    present += 1;
                    if !unchanged(t, &st, stamp) {
                        found.changed.push(path());
                    }
                }
                (Some(_), None) => {
                    present += 1;
                    found.changed.push(path());
                }
                (None, _) => {
                    list = true;
                    found.changed.push(path());
                }
            }
        }
        for sub in &dir.subdirs {
            match folder.stat(sub.as_bytes(), &mut name) {
                Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => present += 1,
                _ => {
                    list = true;
                    dead.insert(format!("{prefix}{sub}"));
                }
            }
        }
        if !list && folder.count()? == present {
            continue;
        }
        let names = folder.names()?;
        // Something is there that the index does not name: look the names up.
        let files: HashMap<&str, bool> =
            dir.files.iter().map(|(n, _)| (n.as_str(), false)).collect();
        let subdirs: HashSet<&str> = dir.subdirs.iter().map(String::as_str).collect();
        for (n, is_dir) in names {
            let n = String::from_utf8(n).ok()?;
            let path = format!("{prefix}{n}");
            if files.contains_key(n.as_str()) {
                if is_dir {
                    // A folder where a file was: the file is changed, the folder untracked.
                    found.untracked.push(format!("{path}/"));
                }
            } else if subdirs.contains(n.as_str()) && is_dir {
                // A tracked folder, walked in its turn.
            } else if is_dir {
                found.untracked.push(format!("{path}/"));
            } else {
                found.untracked.push(path);
            }
        }
    }
    Some(())
}

/// The index's folders with their files and subfolders (the root is `""`).
fn folders(index: &git2::Index) -> Option<HashMap<String, Dir>> {
    let mut dirs: HashMap<String, Dir> = HashMap::new();
    dirs.insert(String::new(), Dir::default());
    let mut last = String::new();
    for e in index.iter() {
        const ASSUME_VALID: u16 = 0x8000;
        const SKIP_WORKTREE_OR_INTENT: u16 = 0x6000;
        if e.flags & ASSUME_VALID != 0
            || e.flags_extended & SKIP_WORKTREE_OR_INTENT != 0
            || e.mode == 0o160000
        {
            return None;
        }
        let path = String::from_utf8(e.path).ok()?;
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let stage = (e.flags >> 12) & 3;
        if stage != 0 && last == path {
            continue; // another stage of the same unmerged path
        }
        if !dirs.contains_key(dir) {
            // A new folder, and its parents up to one already known.
            let mut child = dir;
            while let Some((parent, sub)) = child.rsplit_once('/').or(Some(("", child))) {
                let known = dirs.contains_key(parent);
                dirs.entry(child.to_string()).or_default();
                dirs.entry(parent.to_string())
                    .or_default()
                    .subdirs
                    .push(sub.to_string());
                if known || parent.is_empty() {
                    break;
                }
                child = parent;
            }
        }
        let t = |time: git2::IndexTime| (time.seconds() as u32, time.nanoseconds());
        let tracked = (stage == 0).then(|| Tracked {
            mode: e.mode,
            mtime: t(e.mtime),
            ctime: t(e.ctime),
            ino: e.ino,
            uid: e.uid,
            gid: e.gid,
            size: e.file_size,
        });
        dirs.get_mut(dir)?.files.push((name.to_string(), tracked));
        last = path;
    }
    Some(dirs)
}

/// Whether a file's stat data is its entry's, with times the index can vouch for.
fn unchanged(t: &Tracked, st: &libc::stat, stamp: u32) -> bool {
    let kind = st.st_mode & libc::S_IFMT;
    let kind_ok = match t.mode {
        0o120000 => kind == libc::S_IFLNK,
        0o100755 => kind == libc::S_IFREG && st.st_mode & 0o100 != 0,
        0o100644 => kind == libc::S_IFREG && st.st_mode & 0o100 == 0,
        _ => false,
    };
    // Git keeps the low 32 bits of each field.
    kind_ok
        && t.mtime == (st.st_mtime as u32, st.st_mtime_nsec as u32)
        && t.ctime == (st.st_ctime as u32, st.st_ctime_nsec as u32)
        && t.ino == st.st_ino as u32
        && t.uid == st.st_uid
        && t.gid == st.st_gid
        && t.size == st.st_size as u32
        // Written in the second the index was, or later: the times cannot tell an edit made
        // right after it, so the content is looked at again.
        && t.mtime.0 < stamp
}

/// An open folder: never a symlink, names stat'ed relative to it.
struct Folder(*mut libc::DIR);

impl Folder {
    fn open(path: &Path) -> Option<Folder> {
        let c = CString::new(path.as_os_str().as_bytes()).ok()?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: `c` is a NUL-terminated path; the descriptor is handed to `fdopendir`,
        // which owns it from then on (closed by `closedir` in `drop`), or closed here.
        unsafe {
            let fd = libc::open(c.as_ptr(), flags);
            if fd < 0 {
                return None;
            }
            let dir = libc::fdopendir(fd);
            if dir.is_null() {
                libc::close(fd);
                return None;
            }
            Some(Folder(dir))
        }
    }

    /// `lstat` of `name` in this folder; `buf` is scratch space for the C string.
    fn stat(&self, name: &[u8], buf: &mut Vec<u8>) -> Option<libc::stat> {
        buf.clear();
        buf.extend_from_slice(name);
        buf.push(0);
        let c = CStr::from_bytes_with_nul(buf).ok()?;
        // SAFETY: a zeroed `stat` is a valid value to be overwritten; the descriptor is
        // this folder's, open until `drop`.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            let r = libc::fstatat(
                libc::dirfd(self.0),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            );
            (r == 0).then_some(st)
        }
    }

    /// Calls `f` with each name of the folder but `.`, `..` and `.git`, and its `d_type`,
    /// then rewinds. `None` when reading fails.
    fn each(&self, mut f: impl FnMut(&[u8], u8)) -> Option<()> {
        loop {
            // SAFETY: the stream is open until `drop`; errno is cleared first to tell the end
            // of the folder (errno untouched) from an error; the entry is read before the
            // next `readdir`.
            unsafe {
                *errno() = 0;
                let e = libc::readdir(self.0);
                if e.is_null() {
                    let failed = *errno() != 0;
                    libc::rewinddir(self.0);
                    return (!failed).then_some(());
                }
                let name = CStr::from_ptr((*e).d_name.as_ptr()).to_bytes();
                if !(name == b"." || name == b".." || name == b".git") {
                    f(name, (*e).d_type);
                }
            }
        }
    }

    /// How many names the folder has but `.`, `..` and `.git`.
    fn count(&self) -> Option<usize> {
        let mut n = 0;
        self.each(|_, _| n += 1)?;
        Some(n)
    }

    /// The folder's names but `.`, `..` and `.git`, each with whether it is a folder (not
    /// following symlinks).
    fn names(&self) -> Option<Vec<(Vec<u8>, bool)>> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        self.each(|name, kind| {
            let is_dir = match kind {
                libc::DT_DIR => true,
                libc::DT_UNKNOWN => self
                    .stat(name, &mut buf)
                    .is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR),
                _ => false,
            };
            out.push((name.to_vec(), is_dir));
        })?;
        Some(out)
    }
}

/// The calling thread's `errno`.
fn errno() -> *mut libc::c_int {
    // SAFETY: both return the thread's own errno location, valid for the thread's life.
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    unsafe {
        libc::__error()
    }
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    unsafe {
        libc::__errno_location()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        // SAFETY: opened by `fdopendir`, closed once.
        unsafe {
            libc::closedir(self.0);
        }
    }
}
