//! The guest's initramfs, written directly as a newc cpio archive compressed with gzip: no
//! root, no shell pipeline, and byte-identical output for identical inputs (sorted entries,
//! fixed inode numbers, owners and timestamps).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::BootError;
use crate::results::marker::MARKER;

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir,
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
    CharDev { major: u32, minor: u32, mode: u32 },
}

/// What goes into the initramfs.
#[derive(Debug, Clone, Default)]
pub struct InitramfsSpec {
    /// A statically linked busybox for the guest architecture; None with a custom `init`
    /// that needs no shell (the minimal init for foreign guests).
    pub busybox: Option<PathBuf>,
    /// A directory copied into the root (e.g. libevl's installed tree, test binaries).
    pub payload: Option<PathBuf>,
    /// Shell commands the init runs as the payload (in a child shell, so `exit` ends only
    /// the payload). None: nothing beyond the kernel's own boot-time tests.
    pub run: Option<String>,
    /// Replaces the generated /init entirely (used to test what happens when init exits).
    pub init: Option<PathBuf>,
    /// A login shell on the console instead of the test init ([`shell_init_script`]):
    /// root without a password, prompt [`SHELL_PROMPT`]. `run` is kept as `/dpt/run`.
    pub shell: bool,
}

/// The start of both generated inits: busybox's applets, the pseudo filesystems.
const MOUNTS: &str = "#!/bin/busybox sh\n\
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /sbin /usr/bin /usr/sbin\n\
/bin/busybox --install -s\n\
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n\
mount -t proc proc /proc\n\
mount -t sysfs sysfs /sys\n\
mount -t devtmpfs devtmpfs /dev 2>/dev/null\n\
mkdir -p /dev/pts /dev/shm\n\
mount -t tmpfs tmpfs /tmp\n";

/// The generated /init: mount the pseudo filesystems, run the payload between markers, then
/// reboot (with `-no-reboot`, QEMU exits; `poweroff` would only halt without ACPI).
pub fn init_script() -> String {
    format!(
        "{MOUNTS}\
echo '{MARKER} begin'\n\
if [ -f /dpt/run ]; then\n\
  sh /dpt/run\n\
  status=$?\n\
else\n\
  status=0\n\
fi\n\
echo \"{MARKER} done $status\"\n\
sync\n\
reboot -f\n\
sleep 5\n\
echo b > /proc/sysrq-trigger\n"
    )
}

/// The shell initramfs's host name: its login prompt is `dovetail-port login: `.
pub const SHELL_HOSTNAME: &str = "dovetail-port";
/// The shell initramfs's root prompt (a literal PS1, the same in every directory), for
/// LAVA's `prompts`.
pub const SHELL_PROMPT: &str = "dovetail-port # ";

/// The /init of the shell initramfs (for LAVA and interactive use): the same mounts, then a
/// login on the console's real tty (so the shell has job control), again after each logout.
pub fn shell_init_script() -> String {
    format!(
        "{MOUNTS}\
hostname {SHELL_HOSTNAME}\n\
while true; do\n\
  setsid cttyhack login\n\
  sleep 1\n\
done\n"
    )
}

fn read(path: &Path) -> Result<Vec<u8>, BootError> {
    std::fs::read(path).map_err(|e| BootError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

fn add_parents(entries: &mut BTreeMap<String, Entry>, path: &str) {
    let mut acc = String::new();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(part);
        entries.entry(acc.clone()).or_insert(Entry::Dir);
    }
}

fn collect(spec: &InitramfsSpec) -> Result<BTreeMap<String, Entry>, BootError> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for d in [
        "bin", "dev", "proc", "sys", "tmp", "sbin", "usr", "usr/bin", "usr/sbin", "dpt",
    ] {
        entries.insert(d.into(), Entry::Dir);
    }
    // The kernel opens /dev/console for init's stdio before anything is mounted.
    entries.insert(
        "dev/console".into(),
        Entry::CharDev {
            major: 5,
            minor: 1,
            mode: 0o600,
        },
    );
    if let Some(busybox) = &spec.busybox {
        if !busybox.is_file() {
            return Err(BootError::NoBusybox(busybox.clone()));
        }
        entries.insert(
            "bin/busybox".into(),
            Entry::File {
                data: read(busybox)?,
                mode: 0o755,
            },
        );
        entries.insert("bin/sh".into(), Entry::Symlink("busybox".into()));
    }

    if let Some(dir) = &spec.payload {
        if !dir.is_dir() {
            return Err(BootError::NoPayload(dir.clone()));
        }
        for item in walkdir::WalkDir::new(dir).sort_by_file_name().min_depth(1) {
            let item = item.map_err(|e| BootError::Io {
                path: dir.clone(),
                source: e.into(),
            })?;
            let rel = item
                .path()
                .strip_prefix(dir)
                .unwrap_or(item.path())
                .to_string_lossy()
                .into_owned();
            add_parents(&mut entries, &rel);
            let ft = item.file_type();
            let entry = if ft.is_symlink() {
                let target = std::fs::read_link(item.path()).map_err(|e| BootError::Io {
                    path: item.path().to_path_buf(),
                    source: e,
                })?;
                Entry::Symlink(target.to_string_lossy().into_owned())
            } else if ft.is_dir() {
                Entry::Dir
            } else {
                use std::os::unix::fs::PermissionsExt;
                let mode = item
                    .metadata()
                    .map(|m| m.permissions().mode() & 0o777)
                    .unwrap_or(0o644);
                Entry::File {
                    data: read(item.path())?,
                    mode: if mode & 0o111 != 0 { 0o755 } else { 0o644 },
                }
            };
            entries.insert(rel, entry);
        }
    }
    let init = match &spec.init {
        Some(p) => read(p)?,
        None if spec.shell => shell_init_script().into_bytes(),
        None => init_script().into_bytes(),
    };
    if spec.shell {
        // busybox login lets a user with an empty password field in without asking.
        for (path, text) in [
            ("etc/passwd", "root::0:0:root:/:/bin/sh\n".to_string()),
            ("etc/group", "root:x:0:\n".to_string()),
            (
                "etc/profile",
                format!(
                    "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n\
                     export PS1='{SHELL_PROMPT}'\n"
                ),
            ),
        ] {
            add_parents(&mut entries, path);
            entries.insert(
                path.into(),
                Entry::File {
                    data: text.into_bytes(),
                    mode: 0o644,
                },
            );
        }
    }
    entries.insert(
        "init".into(),
        Entry::File {
            data: init,
            mode: 0o755,
        },
    );
    if let Some(run) = &spec.run {
        entries.insert(
            "dpt/run".into(),
            Entry::File {
                data: format!("{run}\n").into_bytes(),
                mode: 0o755,
            },
        );
    }
    Ok(entries)
}

fn header(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    nlink: u32,
    size: usize,
    rdev: (u32, u32),
    name: &str,
) {
    let fields = [
        ino,
        mode,
        0, // uid
        0, // gid
        nlink,
        0, // mtime: fixed for reproducibility
        size as u32,
        0,
        0, // dev major/minor
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0, // check
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// The uncompressed newc archive.
pub fn cpio(spec: &InitramfsSpec) -> Result<Vec<u8>, BootError> {
    let entries = collect(spec)?;
    let mut out = Vec::new();
    for (i, (name, entry)) in entries.iter().enumerate() {
        let ino = i as u32 + 1;
        match entry {
            Entry::Dir => header(&mut out, ino, 0o040755, 2, 0, (0, 0), name),
            Entry::File { data, mode } => {
                header(&mut out, ino, 0o100000 | mode, 1, data.len(), (0, 0), name);
                out.extend_from_slice(data);
                pad4(&mut out);
            }
            Entry::Symlink(target) => {
                header(&mut out, ino, 0o120777, 1, target.len(), (0, 0), name);
                out.extend_from_slice(target.as_bytes());
                pad4(&mut out);
            }
            Entry::CharDev { major, minor, mode } => {
                header(&mut out, ino, 0o020000 | mode, 1, 0, (*major, *minor), name)
            }
        }
    }
    header(&mut out, 0, 0, 1, 0, (0, 0), "TRAILER!!!");
    Ok(out)
}

/// Writes the gzip-compressed archive to `dest` (atomically: a temp file renamed).
pub fn write(spec: &InitramfsSpec, dest: &Path) -> Result<(), BootError> {
    compress_to(&cpio(spec)?, dest)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BootError + '_ {
    move |e| BootError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// A temp name next to `dest` (unique per process so concurrent writers do not collide), its
/// folder created: written, then renamed onto `dest`.
fn staging(dest: &Path) -> Result<PathBuf, BootError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(dest))?;
    }
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    Ok(dest.with_file_name(name))
}

fn compress_to(data: &[u8], dest: &Path) -> Result<(), BootError> {
    let io = io_err(dest);
    let tmp = staging(dest)?;
    let file = std::fs::File::create(&tmp).map_err(&io)?;
    // GzBuilder without a name or mtime keeps the header deterministic.
    let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::new(6));
    gz.write_all(data).map_err(&io)?;
    gz.finish().map_err(&io)?.flush().map_err(&io)?;
    std::fs::rename(&tmp, dest).map_err(&io)?;
    Ok(())
}

/// How many compressed archives the cache keeps (least recently used ones go first).
const CACHE_ENTRIES: usize = 32;

/// Like [`write`], through a cache of compressed archives keyed by the uncompressed bytes:
/// gzip is most of the time it takes to make an initramfs (~0.2 s for busybox), and repeated
/// boots (tests, CI reruns, benchmarks) ask for the same archive. The output is the same file
/// [`write`] makes.
pub fn write_cached(spec: &InitramfsSpec, dest: &Path, cache: &Path) -> Result<(), BootError> {
    use std::hash::{Hash, Hasher};
    let data = cpio(spec)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let entry = cache.join(format!("{:016x}-{}.cpio.gz", h.finish(), data.len()));
    if entry.is_file() {
        // Mark it recently used for the pruning below.
        if let Ok(f) = std::fs::File::options().append(true).open(&entry) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
    } else {
        compress_to(&data, &entry)?;
        super::prune_newest(cache, CACHE_ENTRIES, |p| {
            p.to_string_lossy().ends_with(".cpio.gz")
        });
    }
    let io = io_err(dest);
    let tmp = staging(dest)?;
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(&entry, &tmp).is_err() {
        std::fs::copy(&entry, &tmp).map_err(&io)?;
    }
    std::fs::rename(&tmp, dest).map_err(&io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path) -> InitramfsSpec {
        let bb = dir.join("busybox");
        std::fs::write(&bb, b"\x7fELF fake busybox").unwrap();
        let payload = dir.join("payload");
        std::fs::create_dir_all(payload.join("usr/bin")).unwrap();
        std::fs::write(payload.join("usr/bin/tool"), b"#!/bin/sh\necho hi\n").unwrap();
        std::os::unix::fs::symlink("tool", payload.join("usr/bin/alias")).unwrap();
        InitramfsSpec {
            busybox: Some(bb),
            payload: Some(payload),
            run: Some("tool".into()),
            init: None,
            shell: false,
        }
    }

    /// Reads back (name, mode, data) triples from a newc archive.
    fn parse(mut a: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0usize;
        loop {
            assert_eq!(&a[..6], b"070701");
            let field = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&a[6 + i * 8..14 + i * 8]).unwrap(), 16)
                    .unwrap()
            };
            let (mode, size, namesize) = (field(1), field(6) as usize, field(11) as usize);
            let name = String::from_utf8(a[110..110 + namesize - 1].to_vec()).unwrap();
            let mut p = 110 + namesize;
            p += (4 - (off + p) % 4) % 4;
            let data = a[p..p + size].to_vec();
            p += size;
            p += (4 - (off + p) % 4) % 4;
            off += p;
            a = &a[p..];
            if name == "TRAILER!!!" {
                break;
            }
            out.push((name, mode, data));
        }
        out
    }

    #[test]
    fn archive_is_sorted_complete_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path());
        let a = cpio(&s).unwrap();
        assert_eq!(a, cpio(&s).unwrap());
        let entries = parse(&a);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for want in [
            "init",
            "bin/busybox",
            "bin/sh",
            "dev/console",
            "dpt/run",
            "usr/bin/tool",
            "usr/bin/alias",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let get = |n: &str| entries.iter().find(|e| e.0 == n).unwrap();
        assert_eq!(get("dev/console").1, 0o020600);
        assert_eq!(get("usr/bin/alias").2, b"tool");
        assert_eq!(get("usr/bin/alias").1 & 0o170000, 0o120000);
        assert_eq!(get("dpt/run").2, b"tool\n");
        let init = String::from_utf8(get("init").2.clone()).unwrap();
        assert!(init.contains("@@dpt@@ done $status") && init.contains("reboot -f"));

        let f1 = dir.path().join("a.cpio.gz");
        let f2 = dir.path().join("b.cpio.gz");
        write(&s, &f1).unwrap();
        write(&s, &f2).unwrap();
        assert_eq!(std::fs::read(&f1).unwrap(), std::fs::read(&f2).unwrap());
    }

    #[test]
    fn cached_archive_is_the_written_one_and_the_cache_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path());
        let cache = dir.path().join("cache");
        let plain = dir.path().join("plain.cpio.gz");
        write(&s, &plain).unwrap();
        let a = dir.path().join("a/initramfs.cpio.gz");
        write_cached(&s, &a, &cache).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&plain).unwrap());
        // A hit: same bytes, still one cache entry.
        let b = dir.path().join("b/initramfs.cpio.gz");
        write_cached(&s, &b, &cache).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), std::fs::read(&plain).unwrap());
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
        // Another payload command is another archive, not the cached one.
        s.run = Some("other".into());
        write_cached(&s, &b, &cache).unwrap();
        assert_ne!(std::fs::read(&b).unwrap(), std::fs::read(&plain).unwrap());
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
        for i in 0..CACHE_ENTRIES + 3 {
            s.run = Some(format!("cmd {i}"));
            write_cached(&s, &b, &cache).unwrap();
        }
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), CACHE_ENTRIES);
    }

    #[test]
    fn shell_archive_logs_root_in_to_the_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let s = InitramfsSpec {
            shell: true,
            ..spec(dir.path())
        };
        let entries = parse(&cpio(&s).unwrap());
        let get = |n: &str| {
            let e = entries
                .iter()
                .find(|e| e.0 == n)
                .unwrap_or_else(|| panic!("no {n}"));
            String::from_utf8(e.2.clone()).unwrap()
        };
        assert!(get("init").contains("setsid cttyhack login"));
        assert!(!get("init").contains("reboot"));
        assert!(get("etc/passwd").starts_with("root::0:0:"));
        assert!(get("etc/profile").contains(&format!("PS1='{SHELL_PROMPT}'")));
        assert_eq!(get("dpt/run"), "tool\n");
        assert!(entries.iter().any(|e| e.0 == "usr/bin/tool"));
        assert_eq!(cpio(&s).unwrap(), cpio(&s).unwrap());
    }

    #[test]
    fn missing_busybox_is_named() {
        let s = InitramfsSpec {
            busybox: Some("/nonexistent/busybox".into()),
            ..Default::default()
        };
        let err = cpio(&s).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/busybox"), "{err}");
    }
}
