//! The project's data (rules/, kbuild/, arch-templates/, patchsets/): every reader finds its
//! files here, never through the source tree.
//!
//! The default data is compiled into the binary (see `build.rs`) and unpacked once into the
//! cache (`<cache>/data/<version>-<hash>/`), so an installed binary works anywhere and the
//! files stay ordinary files that make, gcc and error messages can name. `$DOVETAIL_PORT_DATA`
//! names a folder laid out the same way that goes on top: a file there replaces the built-in
//! file of the same relative path, and any other file adds to the built-in set (a new
//! `kbuild/arch/*.toml`, a new `rules/*.toml`...).

pub mod load;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use load::{parse_json, parse_toml, read_json, read_toml, DataFileError};

/// One file of the built-in data.
pub struct EmbeddedFile {
    /// Relative path with `/` separators, e.g. `kbuild/arch/x86_64.toml`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub executable: bool,
}

mod embedded {
    use super::EmbeddedFile;
    include!(concat!(env!("OUT_DIR"), "/embedded_data.rs"));
}

/// The built-in files, as compiled in.
pub fn embedded_files() -> &'static [EmbeddedFile] {
    embedded::FILES
}

/// Errors unpacking the built-in data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "cannot unpack the built-in data into {path}: {source}; point DOVETAIL_PORT_CACHE at a \
         writable folder"
    )]
    Unpack {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The folder of the user's data layer (`$DOVETAIL_PORT_DATA`), if set.
pub fn overlay() -> Option<PathBuf> {
    std::env::var_os("DOVETAIL_PORT_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where the built-in data is unpacked, whether or not it is there yet.
pub fn builtin_location() -> PathBuf {
    crate::cache::cache_root().join("data").join(format!(
        "{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        embedded::HASH
    ))
}

static BUILTIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The unpacked built-in data (unpacked on first use). A failure is remembered and reported
/// by [`builtin`]; readers then fail on the missing file with its path.
pub fn builtin() -> Result<&'static Path, String> {
    BUILTIN
        .get_or_init(|| {
            let dest = builtin_location();
            unpack(&dest).map(|()| dest).map_err(|e| e.to_string())
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

fn builtin_or_location() -> PathBuf {
    builtin()
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| builtin_location())
}

/// Writes every embedded file under `dest` unless a complete copy is already there. The copy
/// is written to a temporary sibling and renamed into place, so concurrent runs never see a
/// half-written folder.
pub fn unpack(dest: &Path) -> Result<(), DataError> {
    if dest.is_dir() {
        return Ok(());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Unpack { path, source }
    };
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    for file in embedded_files() {
        let path = tmp.path().join(file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::write(&path, file.bytes).map_err(io(&path))?;
        #[cfg(unix)]
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io(&path))?;
        }
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another run won the race: its copy is identical.
        if !dest.is_dir() {
            return Err(DataError::Unpack {
                path: dest.to_path_buf(),
                source: e,
            });
        }
    }
    Ok(())
}

/// The layers in priority order: the user's folder first, then the built-in data.
pub fn layers() -> Vec<PathBuf> {
    let mut layers: Vec<PathBuf> = overlay().into_iter().collect();
    layers.push(builtin_or_location());
    layers
}

/// The file at `rel` (e.g. `kbuild/busybox.toml`) from the first layer that has it. When none
/// does, the built-in path, so the caller's error names where it was looked for.
pub fn file(rel: &str) -> PathBuf {
    first_in(&layers(), rel, Path::is_file)
}

/// The folder at `rel` from the first layer that has it, taken whole: for data that only
/// makes sense as a set (a sample queue, a template set).
pub fn folder(rel: &str) -> PathBuf {
    first_in(&layers(), rel, Path::is_dir)
}

/// The files directly in folder `rel` whose name ends in `.ext`, from every layer: name →
/// path, a user file shadowing the built-in one of the same name. Sorted by name.
pub fn files_in(rel: &str, ext: &str) -> BTreeMap<String, PathBuf> {
    union_in(&layers(), rel, ext)
}

fn first_in(layers: &[PathBuf], rel: &str, exists: fn(&Path) -> bool) -> PathBuf {
    layers
        .iter()
        .map(|l| l.join(rel))
        .find(|p| exists(p))
        .unwrap_or_else(|| layers[layers.len() - 1].join(rel))
}

fn union_in(layers: &[PathBuf], rel: &str, ext: &str) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for layer in layers.iter().rev() {
        let Ok(entries) = std::fs::read_dir(layer.join(rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|x| x == ext) && path.is_file() {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    found.insert(name.to_string(), path);
                }
            }
        }
    }
    found
}

/// What `doctor` says about the data: where each layer is and whether it is complete.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataStatus {
    pub builtin: PathBuf,
    /// The unpack error, if any.
    pub builtin_error: Option<String>,
    pub builtin_files: usize,
    /// Built-in files missing or changed on disk (someone edited the cache copy).
    pub builtin_damaged: Vec<String>,
    pub overlay: Option<PathBuf>,
    /// False when `$DOVETAIL_PORT_DATA` names something that is not a folder.
    pub overlay_ok: bool,
}

impl DataStatus {
    pub fn ok(&self) -> bool {
        self.builtin_error.is_none() && self.builtin_damaged.is_empty() && self.overlay_ok
    }
}

pub fn status() -> DataStatus {
    let (builtin, builtin_error) = match builtin() {
        Ok(p) => (p.to_path_buf(), None),
        Err(e) => (builtin_location(), Some(e)),
    };
    let builtin_damaged = if builtin_error.is_none() {
        embedded_files()
            .iter()
            .filter(|f| std::fs::read(builtin.join(f.path)).ok().as_deref() != Some(f.bytes))
            .map(|f| f.path.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let overlay = overlay();
    DataStatus {
        builtin,
        builtin_error,
        builtin_files: embedded_files().len(),
        builtin_damaged,
        overlay_ok: overlay.as_ref().is_none_or(|p| p.is_dir()),
        overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_every_data_folder() {
        for needed in [
            "rules/oob-entries.toml",
            "kbuild/arch/x86_64.toml",
            "kbuild/initramfs/mini-init.c",
            "arch-templates/steps.toml",
            "patchsets/dovetail.toml",
        ] {
            assert!(
                embedded_files().iter().any(|f| f.path == needed),
                "{needed} not embedded"
            );
        }
        let sh = embedded_files()
            .iter()
            .find(|f| f.path == "patchsets/sample/verify.sh")
            .expect("sample script embedded");
        assert!(sh.executable);
    }

    #[test]
    fn unpack_is_complete_and_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("data/x");
        unpack(&dest).unwrap();
        for f in embedded_files() {
            assert_eq!(
                std::fs::read(dest.join(f.path)).unwrap(),
                f.bytes,
                "{}",
                f.path
            );
        }
        // A second run keeps the copy and leaves no temporary folder behind.
        unpack(&dest).unwrap();
        let siblings: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(siblings, vec![std::ffi::OsString::from("x")]);
    }

    #[test]
    fn user_layer_replaces_same_name_and_adds_others() {
        let tmp = tempfile::tempdir().unwrap();
        let builtin = tmp.path().join("builtin");
        let user = tmp.path().join("user");
        unpack(&builtin).unwrap();
        std::fs::create_dir_all(user.join("kbuild/arch")).unwrap();
        std::fs::write(user.join("kbuild/arch/x86_64.toml"), "mine").unwrap();
        std::fs::write(user.join("kbuild/arch/sparc64.toml"), "new").unwrap();
        let layers = vec![user.clone(), builtin.clone()];
        let arches = union_in(&layers, "kbuild/arch", "toml");
        assert_eq!(arches["x86_64.toml"], user.join("kbuild/arch/x86_64.toml"));
        assert_eq!(
            arches["sparc64.toml"],
            user.join("kbuild/arch/sparc64.toml")
        );
        assert_eq!(arches["arm64.toml"], builtin.join("kbuild/arch/arm64.toml"));
        assert_eq!(
            first_in(&layers, "kbuild/busybox.toml", Path::is_file),
            builtin.join("kbuild/busybox.toml")
        );
        assert_eq!(
            first_in(&layers, "kbuild/arch/x86_64.toml", Path::is_file),
            user.join("kbuild/arch/x86_64.toml")
        );
        // Missing everywhere: the built-in path, for the error message.
        assert_eq!(
            first_in(&layers, "kbuild/none.toml", Path::is_file),
            builtin.join("kbuild/none.toml")
        );
    }
}
