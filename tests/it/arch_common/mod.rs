//! Helpers for the arch tests: private copies of the real kernel trees (the cached Debian
//! trees are never modified) and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dovetail_port::kernels::KernelCache;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dovetail-port"))
}

pub fn tool(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("DOVETAIL_PORT_DATA", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run dovetail-port")
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn cache() -> KernelCache {
    let cache = KernelCache::default_location();
    cache.ensure().expect("kernel cache");
    cache
}

/// A throw-away copy of `paths` of the tagged release, exported from the bare repository
/// with `git archive` (pathspecs may be globs like `:(glob)**/Kconfig*`).
pub fn export(tag: &str, paths: &[&str]) -> tempfile::TempDir {
    let cache = cache();
    let dir = tempfile::Builder::new()
        .prefix("arch-tree-")
        .tempdir()
        .unwrap();
    let mut archive = Command::new("git")
        .arg("--git-dir")
        .arg(cache.repo_path())
        .arg("archive")
        .arg(tag)
        .args(paths)
        .stdout(Stdio::piped())
        .spawn()
        .expect("git archive");
    let status = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir.path())
        .stdin(archive.stdout.take().unwrap())
        .status()
        .expect("tar");
    assert!(archive.wait().unwrap().success() && status.success());
    dir
}

/// What a scaffold of `arch` touches and what its checks read.
pub fn arch_tree(tag: &str, arches: &[&str]) -> tempfile::TempDir {
    let mut paths: Vec<String> = vec![
        "Makefile".into(),
        "drivers/irqchip".into(),
        "drivers/clocksource".into(),
    ];
    for a in arches {
        paths.push(format!("arch/{a}"));
    }
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    export(tag, &refs)
}

pub fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Every file under `root` with its content, to prove a run changed nothing.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}
