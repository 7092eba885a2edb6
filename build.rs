//! Embeds the default data folders (rules/, kbuild/, arch-templates/, patchsets/) into the
//! binary, so an installed `dovetail-port` works with no source tree. Each file becomes an
//! `include_bytes!` entry (which rustc tracks, so an edited file rebuilds the binary); the
//! folders themselves are watched so an added or removed file does too.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const FOLDERS: &[&str] = &["rules", "kbuild", "arch-templates", "patchsets"];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    for folder in FOLDERS {
        println!("cargo:rerun-if-changed={folder}");
        walk(&root, &root.join(folder), &mut files);
    }
    files.sort();
    // FNV-1a over names, modes and contents: the key of the extracted copy in the cache.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut code = String::from("pub static FILES: &[EmbeddedFile] = &[\n");
    for (rel, abs, exec) in &files {
        let bytes = std::fs::read(abs).expect("data file readable");
        mix(rel.as_bytes());
        mix(&[u8::from(*exec)]);
        mix(&bytes);
        writeln!(
            code,
            "    EmbeddedFile {{ path: {rel:?}, bytes: include_bytes!({:?}), executable: {exec} }},",
            abs.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    writeln!(code, "pub const HASH: u64 = {hash:#018x};").unwrap();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("embedded_data.rs"), code).expect("OUT_DIR writable");
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf, bool)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(root, &path, files);
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).expect("under root");
            let Some(rel) = rel.to_str() else {
                panic!("data file name is not UTF-8: {}", path.display());
            };
            files.push((rel.replace('\\', "/"), path.clone(), is_executable(&meta)));
        }
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}
