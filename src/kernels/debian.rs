//! Debian's `linux` source packages (`patchsets/debian-linux.toml`): the newest upload of a
//! kernel series (5.10.x, 6.1.x) fetched with `apt-get source --download-only` through a
//! private apt state, its upstream orig tarball imported into a cached bare repository and its
//! `debian/patches*` quilt series extracted beside it.
//!
//! Everything lives under `<cache>/debian-linux/`: `downloads/<version>/` (what apt fetched),
//! `debian-<version>/patches*/` (the series), `linux.git` (tags `v<upstream>`, e.g.
//! `v5.10.262`). A file lock serialises concurrent runs; every step is skipped when its result
//! is already there, so only the first run reaches the network.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::apt::{AptError, PrivateApt};
use crate::process::{self, Git, ProcessError};

#[derive(Debug, thiserror::Error)]
pub enum DebianError {
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "fetching Debian's `{package}` source: {source} (needs Debian's apt and network access \
         to the mirrors in patchsets/debian-linux.toml)"
    )]
    Apt { package: String, source: AptError },
    #[error("no `{package}` {series}.x source package in the configured suites")]
    NoVersion { package: String, series: String },
    #[error("none of the newest `{package}` {series}.x uploads could be downloaded:\n{tried}")]
    Download {
        package: String,
        series: String,
        tried: String,
    },
    #[error("{0}")]
    Process(#[from] ProcessError),
    #[error("{0}")]
    Kernel(#[from] super::KernelError),
}

type Result<T> = std::result::Result<T, DebianError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DebianError + '_ {
    move |source| DebianError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `patchsets/debian-linux.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub package: String,
    pub keyring: PathBuf,
    /// Quilt series folders under `debian/`, in application order.
    pub series: Vec<String>,
    /// The release whose queue is forward-ported (`5.10`).
    pub old: String,
    /// The release it is ported to, whose own queue is the answer (`6.1`).
    pub new: String,
    pub sources: Vec<AptSource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptSource {
    pub uri: String,
    pub suite: String,
    pub component: String,
}

impl Config {
    pub fn load() -> Result<Self> {
        Self::load_from(&crate::data::file("patchsets/debian-linux.toml"))
    }

    pub fn load_from(path: &Path) -> Result<Self> {
        Ok(crate::data::read_toml(path)?)
    }

    /// The `deb-src` lines apt is given, each pinned to the keyring.
    pub fn sources_list(&self) -> String {
        self.sources
            .iter()
            .map(|s| {
                format!(
                    "deb-src [signed-by={}] {} {} {}\n",
                    self.keyring.display(),
                    s.uri,
                    s.suite,
                    s.component
                )
            })
            .collect()
    }
}

/// One downloaded source package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourcePackage {
    pub package: String,
    /// Debian version, `5.10.262-1`.
    pub version: String,
    /// Upstream version, `5.10.262`.
    pub upstream: String,
    pub orig: PathBuf,
    pub debian: PathBuf,
}

impl SourcePackage {
    /// Tag of the imported orig tarball: `v5.10.262`.
    pub fn tag(&self) -> String {
        format!("v{}", self.upstream)
    }
}

/// The Debian kernel cache: `<cache>/debian-linux`.
#[derive(Debug, Clone)]
pub struct DebianLinux {
    root: PathBuf,
}

impl DebianLinux {
    pub fn new(root: PathBuf) -> Self {
        DebianLinux { root }
    }

    pub fn default_location() -> Self {
        Self::new(super::cache_root().join("debian-linux"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The bare repository with the imported orig tarballs.
    pub fn repo_path(&self) -> PathBuf {
        self.root.join("linux.git")
    }

    /// Where a package's `debian/` folder (its quilt series) is extracted.
    pub fn debian_dir(&self, pkg: &SourcePackage) -> PathBuf {
        self.root.join(format!("debian-{}", pkg.version))
    }

    /// Takes the cache's lock (held until the returned file is dropped).
    pub fn lock(&self) -> Result<File> {
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let path = self.root.join(".lock");
        let lock = File::create(&path).map_err(io(&path))?;
        lock.lock().map_err(io(&path))?;
        Ok(lock)
    }

    /// The newest downloadable upload of each of `series` (`["5.10", "6.1"]`): from the cache,
    /// or fetched (also when `refresh`). Call under [`lock`](Self::lock).
    pub fn fetch(
        &self,
        config: &Config,
        series: &[&str],
        refresh: bool,
    ) -> Result<Vec<SourcePackage>> {
        let downloads = self.root.join("downloads");
        fs::create_dir_all(&downloads).map_err(io(&downloads))?;
        let mut out = Vec::new();
        let mut apt: Option<(PrivateApt, Vec<String>)> = None;
        for s in series {
            let marker = downloads.join(format!("{}-{s}.json", config.package));
            if !refresh {
                if let Some(pkg) = read_marker(&marker) {
                    out.push(pkg);
                    continue;
                }
            }
            if apt.is_none() {
                apt = Some(self.apt_versions(config)?);
            }
            let (state, versions) = apt.as_ref().expect("set above");
            let pkg = download_newest(state, config, versions, s, &downloads)?;
            let text = serde_json::to_string_pretty(&pkg).expect("serialises") + "\n";
            fs::write(&marker, text).map_err(io(&marker))?;
            out.push(pkg);
        }
        Ok(out)
    }

    /// A private apt state with fresh lists, and every version of the package it knows.
    fn apt_versions(&self, config: &Config) -> Result<(PrivateApt, Vec<String>)> {
        let apt_err = |source| DebianError::Apt {
            package: config.package.clone(),
            source,
        };
        let state = PrivateApt::new(&self.root, &config.sources_list(), None).map_err(apt_err)?;
        eprintln!(
            "dovetail-port: reading Debian's source indexes ({})",
            config
                .sources
                .iter()
                .map(|s| s.suite.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        state.update().map_err(apt_err)?;
        let text = state
            .run(
                "apt-cache",
                &["showsrc", "--only-source", &config.package],
                state.path(),
            )
            .map_err(apt_err)?;
        let versions = text
            .lines()
            .filter_map(|l| l.strip_prefix("Version: "))
            .map(|v| v.trim().to_string())
            .collect();
        Ok((state, versions))
    }

    /// Extracts the package's `debian/<series>` folders (once) and returns the `debian/`
    /// folder holding them.
    pub fn ensure_debian_dir(&self, config: &Config, pkg: &SourcePackage) -> Result<PathBuf> {
        let dir = self.debian_dir(pkg);
        let ready = dir.join(".ready");
        if ready.exists() {
            return Ok(dir);
        }
        let staging = self.root.join(format!(".debian-{}.new", pkg.version));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(io(&staging))?;
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("-xf"),
            pkg.debian.as_os_str(),
            OsStr::new("-C"),
            staging.as_os_str(),
            OsStr::new("--strip-components=1"),
        ];
        let members: Vec<String> = config
            .series
            .iter()
            .map(|s| format!("debian/{s}"))
            .collect();
        args.extend(members.iter().map(OsStr::new));
        process::run("tar", args, None)?;
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&staging, &dir).map_err(io(&dir))?;
        File::create(&ready).map_err(io(&ready))?;
        Ok(dir)
    }

    /// Imports the package's orig tarball into [`repo_path`](Self::repo_path) as a root commit
    /// tagged [`SourcePackage::tag`] (once); returns the tag.
    pub fn ensure_imported(&self, pkg: &SourcePackage) -> Result<String> {
        let repo = self.repo_path();
        super::init_bare(&repo)?;
        let tag = pkg.tag();
        if repo.join("refs/tags").join(&tag).exists() {
            return Ok(tag);
        }
        let staging = self.root.join(format!(".orig-{}", pkg.upstream));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(io(&staging))?;
        super::extract(&pkg.orig, &staging, true)?;
        let name = pkg.orig.file_name().unwrap_or_default().to_string_lossy();
        let message = format!("Linux {} (Debian {name})", pkg.upstream);
        let commit = super::import_tree(&repo, &staging, &message, "index-import")?;
        let _ = fs::remove_dir_all(&staging);
        Git::new(&repo).run(["update-ref", &format!("refs/tags/{tag}"), &commit])?;
        Ok(tag)
    }
}

fn read_marker(marker: &Path) -> Option<SourcePackage> {
    let text = fs::read_to_string(marker).ok()?;
    let pkg: SourcePackage = serde_json::from_str(&text).ok()?;
    (pkg.orig.is_file() && pkg.debian.is_file()).then_some(pkg)
}

/// How many of the newest uploads to try: a mirror may not have every file of the newest one
/// yet (or any more).
const TRIES: usize = 6;

fn download_newest(
    apt: &PrivateApt,
    config: &Config,
    versions: &[String],
    series: &str,
    downloads: &Path,
) -> Result<SourcePackage> {
    let prefix = format!("{series}.");
    let mut candidates: Vec<&String> = versions.iter().filter(|v| v.starts_with(&prefix)).collect();
    candidates.sort_by(|a, b| compare_versions(b, a));
    candidates.dedup();
    if candidates.is_empty() {
        return Err(DebianError::NoVersion {
            package: config.package.clone(),
            series: series.into(),
        });
    }
    let mut tried = Vec::new();
    for version in candidates.into_iter().take(TRIES) {
        let partial = tempfile::Builder::new()
            .prefix(".partial-")
            .tempdir_in(downloads)
            .map_err(io(downloads))?;
        eprintln!(
            "dovetail-port: downloading {} {version} (apt-get source --download-only)",
            config.package
        );
        let spec = format!("{}={version}", config.package);
        match apt.run(
            "apt-get",
            &["-q", "source", "--download-only", &spec],
            partial.path(),
        ) {
            Ok(_) => {}
            Err(e) => {
                eprintln!("dovetail-port: {version} could not be downloaded, trying an older one");
                tried.push(format!("{version}: {e}"));
                continue;
            }
        }
        let upstream = upstream_version(version);
        let dest = downloads.join(version);
        let _ = fs::remove_dir_all(&dest);
        fs::rename(partial.keep(), &dest).map_err(io(&dest))?;
        let orig = dest.join(format!("{}_{upstream}.orig.tar.xz", config.package));
        let debian = dest.join(format!(
            "{}_{}.debian.tar.xz",
            config.package,
            version.split_once(':').map_or(version.as_str(), |(_, v)| v)
        ));
        for f in [&orig, &debian] {
            if !f.is_file() {
                return Err(DebianError::Download {
                    package: config.package.clone(),
                    series: series.into(),
                    tried: format!("{version}: apt-get left no {}", f.display()),
                });
            }
        }
        return Ok(SourcePackage {
            package: config.package.clone(),
            version: version.clone(),
            upstream,
            orig,
            debian,
        });
    }
    Err(DebianError::Download {
        package: config.package.clone(),
        series: series.into(),
        tried: tried.join("\n"),
    })
}

/// `1:5.10.262-1` → `5.10.262`.
pub fn upstream_version(version: &str) -> String {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u).to_string()
}

/// Debian version order (dpkg's): epoch, then upstream version, then revision; each compared
/// as alternating non-digit runs (`~` before everything, even the end; letters before other
/// characters) and numbers.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((u, r)) => (epoch, u, r),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            Some(b'~') => -1,
            None => 0,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(c) => c as i32 + 256,
        }
    }
    fn part(a: &str, b: &str) -> Ordering {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            // Non-digit run.
            loop {
                let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
                let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
                if ca.is_none() && cb.is_none() {
                    break;
                }
                let o = order(ca).cmp(&order(cb));
                if o != Ordering::Equal {
                    return o;
                }
                i += usize::from(ca.is_some());
                j += usize::from(cb.is_some());
            }
            // Digit run, compared as a number (leading zeros ignored).
            let start = (i, j);
            while a.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let na = std::str::from_utf8(&a[start.0..i]).unwrap_or("");
            let nb = std::str::from_utf8(&b[start.1..j]).unwrap_or("");
            let (na, nb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua, ub))
        .then_with(|| part(ra, rb))
}

#[cfg(test)]
mod tests {
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (_tmp, path, line) =
            misspelled("patchsets/debian-linux.toml", "\nseries = ", "\nserie = ");
        let err = Config::load_from(&path).unwrap_err();
        assert_points_at(&err, &path, line, "serie");
    }

    use super::*;

    #[test]
    fn versions_sort_like_dpkg() {
        use Ordering::*;
        assert_eq!(compare_versions("5.10.262-1", "5.10.46-4"), Greater);
        assert_eq!(compare_versions("6.1.192-3", "6.1.192-2"), Greater);
        assert_eq!(compare_versions("6.1.8-1", "6.1.170-3"), Less);
        assert_eq!(compare_versions("6.1.27-1~bpo11+1", "6.1.27-1"), Less);
        assert_eq!(compare_versions("1:1.0-1", "9.9-1"), Greater);
        assert_eq!(compare_versions("1.0a-1", "1.0-1"), Greater);
        assert_eq!(compare_versions("1.0+b-1", "1.0a-1"), Greater);
        assert_eq!(compare_versions("01.2-1", "1.2-1"), Equal);
        let mut v = vec!["5.10.13-1", "5.10.262-1", "5.10.251-5", "5.10.28-1"];
        v.sort_by(|a, b| compare_versions(b, a));
        assert_eq!(v, ["5.10.262-1", "5.10.251-5", "5.10.28-1", "5.10.13-1"]);
    }

    #[test]
    fn upstream_versions_drop_epoch_and_revision() {
        assert_eq!(upstream_version("5.10.262-1"), "5.10.262");
        assert_eq!(upstream_version("1:6.1.192-3"), "6.1.192");
        assert_eq!(upstream_version("6.1"), "6.1");
    }

    #[test]
    fn the_data_file_lists_deb_src_lines_for_both_releases() {
        let c = Config::load().unwrap();
        let list = c.sources_list();
        assert_eq!(list.lines().count(), c.sources.len());
        assert!(list
            .lines()
            .all(|l| l.starts_with("deb-src [signed-by=/usr/share/keyrings/")));
        for suite in [
            "bullseye",
            "bullseye-security",
            "bookworm",
            "bookworm-security",
        ] {
            assert!(
                list.lines().any(|l| l.contains(&format!(" {suite} main"))),
                "{suite}: {list}"
            );
        }
        assert_eq!(c.series, ["patches", "patches-rt"]);
    }
}
