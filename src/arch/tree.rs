//! Facts read from the target kernel tree: what its arch Kconfig selects, which
//! irqflags helpers exist and where, whether the generic Dovetail/EVL cores are present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::cindex;
use super::data::IsaDescriptor;
use super::kconfig::{self, KconfigFile};
use super::{io_err, ArchError};

#[derive(Debug, Clone)]
pub struct TreeFacts {
    pub root: PathBuf,
    pub kconfig: KconfigFile,
    pub kconfig_text: String,
    /// `arch_local_*`/`arch_irqs_disabled*` definitions in the irqflags header(s).
    pub irqflags_helpers: Vec<(String, String, usize)>,
    pub has_dovetail_core: bool,
    pub has_evl_core: bool,
    /// Descriptor features plus those read from the tree (generic_entry).
    pub features: Vec<String>,
}

/// The tree's files as the arch commands read them, by path relative to the tree: on disk,
/// or in memory, so the checks are tested without a kernel tree.
pub trait TreeFiles {
    fn read(&self, rel: &str) -> std::io::Result<String>;
    fn is_file(&self, rel: &str) -> bool;
}

/// The tree on disk under its root.
pub struct Disk<'a>(pub &'a Path);

impl TreeFiles for Disk<'_> {
    fn read(&self, rel: &str) -> std::io::Result<String> {
        std::fs::read_to_string(self.0.join(rel))
    }

    fn is_file(&self, rel: &str) -> bool {
        self.0.join(rel).is_file()
    }
}

/// Files in memory: relative path to text.
impl TreeFiles for BTreeMap<String, String> {
    fn read(&self, rel: &str) -> std::io::Result<String> {
        self.get(rel)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    fn is_file(&self, rel: &str) -> bool {
        self.contains_key(rel)
    }
}

pub fn check_tree(root: &Path, desc: &IsaDescriptor) -> Result<(), ArchError> {
    if !root.join("Makefile").is_file() || !root.join("arch").join(&desc.srcarch).is_dir() {
        return Err(ArchError::NotAKernelTree {
            tree: root.to_path_buf(),
            arch: desc.srcarch.clone(),
        });
    }
    Ok(())
}

pub fn read(root: &Path, desc: &IsaDescriptor) -> Result<TreeFacts, ArchError> {
    check_tree(root, desc)?;
    facts(root, desc, &Disk(root))
}

/// The facts of the tree at `root` whose files are `files`.
pub fn facts(
    root: &Path,
    desc: &IsaDescriptor,
    files: &dyn TreeFiles,
) -> Result<TreeFacts, ArchError> {
    let kpath = root.join(desc.kconfig_path());
    let kconfig_text = files.read(&desc.kconfig_path()).map_err(io_err(&kpath))?;
    let kconfig = kconfig::parse(&kconfig_text).map_err(|e| ArchError::Kconfig {
        path: kpath.clone(),
        line: e.line,
        message: e.message,
    })?;
    let mut features = desc.features.clone();
    let generic_entry = kconfig
        .configs
        .iter()
        .filter(|c| c.name == desc.kconfig_block || Some(&c.name) == desc.pipeline_block.as_ref())
        .any(|c| c.selects.iter().any(|s| s.symbol == "GENERIC_ENTRY"));
    if generic_entry {
        features.push("generic_entry".into());
    }
    let mut irqflags_helpers = Vec::new();
    for rel in desc.paths.get("irqflags_h").into_iter().flatten() {
        let Ok(text) = files.read(rel) else {
            continue;
        };
        let idx = cindex::index_c(&text);
        for d in &idx.defs {
            if d.name.starts_with("arch_local_") || d.name.starts_with("arch_irqs_disabled") {
                irqflags_helpers.push((d.name.clone(), rel.clone(), d.line));
            }
        }
    }
    Ok(TreeFacts {
        root: root.to_path_buf(),
        kconfig,
        kconfig_text,
        irqflags_helpers,
        has_dovetail_core: files.is_file("kernel/Kconfig.dovetail"),
        has_evl_core: files.is_file("kernel/Kconfig.evl"),
        features,
    })
}
