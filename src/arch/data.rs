//! Loading the data in `arch-templates/`: ISA descriptors (`isa/<arch>.toml`), the ordered
//! checklist with its checks (`steps.toml`) and the generic template manifest
//! (`generic/manifest.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ArchError;

/// Facts about one instruction set architecture, as a port needs them.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IsaDescriptor {
    pub name: String,
    pub description: String,
    /// Directory under `arch/`.
    pub srcarch: String,
    /// The main `config` block of `arch/<srcarch>/Kconfig` that takes the selects.
    pub kconfig_block: String,
    /// Blocks for specific selects when they differ (x86: X86_64).
    #[serde(default)]
    pub pipeline_block: Option<String>,
    #[serde(default)]
    pub dovetail_block: Option<String>,
    /// `select HAVE_DOVETAIL if COND` (arm: CPU_HAS_ASID).
    #[serde(default)]
    pub dovetail_condition: Option<String>,
    #[serde(default)]
    pub extra_selects: Vec<String>,
    pub word_size: Vec<u32>,
    #[serde(default)]
    pub cross_compile: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub makefile_anchor: Option<String>,
    pub irq: IrqFacts,
    pub ipi: IpiFacts,
    pub timer: TimerFacts,
    pub fpu: FpuFacts,
    pub traps: TrapFacts,
    /// Named lists of tree paths the checklist refers to as `@name`.
    pub paths: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IrqFacts {
    pub flags_register: String,
    pub enable_bit: String,
    pub enable_mask: String,
    pub stall_bit: String,
    pub timer_regs: Vec<String>,
    pub pc_field: String,
    pub status_field: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IpiFacts {
    pub mechanism: String,
    pub base_symbol: String,
    pub oob_ipis: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TimerFacts {
    pub device: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FpuFacts {
    pub kind: String,
    pub fptest_regs: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TrapFacts {
    pub names: Vec<String>,
    pub breakpoints: Vec<String>,
    /// Prefix of the trap macros when it is not `<ARCH>_TRAP_` (x86 reuses its
    /// existing `X86_TRAP_*`, LoongArch ports use `LOONGARCH64_TRAP_*`).
    #[serde(default)]
    pub existing_prefix: Option<String>,
}

impl IsaDescriptor {
    /// The prefix of trap numbers in asm/dovetail.h (`RISCV_TRAP_`).
    pub fn trap_prefix(&self) -> String {
        self.traps
            .existing_prefix
            .clone()
            .unwrap_or_else(|| format!("{}_TRAP_", self.srcarch.to_uppercase()))
    }

    pub fn kconfig_path(&self) -> String {
        format!("arch/{}/Kconfig", self.srcarch)
    }
}

/// A phase of the port (pipeline, altsched, evl, libevl).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub milestone: String,
}

/// One step of the checklist.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Step {
    pub id: String,
    pub phase: String,
    pub title: String,
    /// Hooks and symbols the step provides or uses (named in the checklist).
    #[serde(default)]
    pub symbols: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    pub todo: String,
    #[serde(default)]
    pub verify: Option<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default, rename = "check")]
    pub checks: Vec<CheckSpec>,
}

/// The kinds of check, as written in steps.toml.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    File,
    KconfigSelect,
    KconfigSource,
    MakeObj,
    Defines,
    Calls,
    Uses,
    Includes,
    Replaced,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CheckSpec {
    pub kind: CheckKind,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub symbols: Vec<String>,
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub old: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub all_files: bool,
    #[serde(default)]
    pub when: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Checklist {
    #[serde(rename = "phase")]
    pub phases: Vec<Phase>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(rename = "file")]
    pub files: Vec<TemplateFile>,
    #[serde(default, rename = "makefile")]
    pub makefiles: Vec<MakefileLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TemplateFile {
    pub template: String,
    pub dest: String,
    pub step: String,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MakefileLine {
    pub file: String,
    pub line: String,
    pub step: String,
    #[serde(default)]
    pub when: Option<String>,
}

/// Where the arch data lives: the `arch-templates` folder of the first data layer that has
/// one ([`crate::data::folder`]).
pub fn templates_dir() -> PathBuf {
    crate::data::folder("arch-templates")
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ArchError> {
    let text = std::fs::read_to_string(path).map_err(|source| ArchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ArchError::Data {
        path: path.to_path_buf(),
        message: e.to_string().trim().replace('\n', " "),
    })
}

/// Names of the known descriptors (`isa/*.toml`), sorted.
pub fn known_arches(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("isa"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names
}

/// Load the descriptor for `arch`, or say which ones exist and how to add one.
pub fn load_descriptor(dir: &Path, arch: &str) -> Result<IsaDescriptor, ArchError> {
    let valid = !arch.is_empty()
        && arch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let path = dir.join("isa").join(format!("{arch}.toml"));
    if !valid || !path.is_file() {
        return Err(ArchError::UnknownArch {
            arch: arch.to_string(),
            known: known_arches(dir),
            dir: dir.join("isa"),
        });
    }
    let desc: IsaDescriptor = read_toml(&path)?;
    if desc.name != arch {
        return Err(ArchError::Data {
            path,
            message: format!("`name = \"{}\"` does not match the file name", desc.name),
        });
    }
    Ok(desc)
}

pub fn load_checklist(dir: &Path) -> Result<Checklist, ArchError> {
    let path = dir.join("steps.toml");
    let list: Checklist = read_toml(&path)?;
    for step in &list.steps {
        if !list.phases.iter().any(|p| p.id == step.phase) {
            return Err(ArchError::Data {
                path: path.clone(),
                message: format!("step `{}` names unknown phase `{}`", step.id, step.phase),
            });
        }
        for check in &step.checks {
            validate_check(check).map_err(|message| ArchError::Data {
                path: path.clone(),
                message: format!("step `{}`: {message}", step.id),
            })?;
        }
    }
    Ok(list)
}

fn validate_check(c: &CheckSpec) -> Result<(), String> {
    let need = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{:?} check needs {what}", c.kind))
        }
    };
    match c.kind {
        CheckKind::File => need(c.path.is_some(), "`path`"),
        CheckKind::KconfigSelect => need(!c.symbols.is_empty(), "`symbols`"),
        CheckKind::KconfigSource => need(c.path.is_some(), "`path`"),
        CheckKind::MakeObj => need(
            c.file.is_some() && c.object.is_some(),
            "`file` and `object`",
        ),
        CheckKind::Defines | CheckKind::Calls | CheckKind::Uses => need(
            !c.symbols.is_empty() && !c.files.is_empty(),
            "`symbols` and `files`",
        ),
        CheckKind::Includes => need(
            c.header.is_some() && !c.files.is_empty(),
            "`header` and `files`",
        ),
        CheckKind::Replaced => need(
            c.old.is_some() && !c.symbols.is_empty() && !c.files.is_empty(),
            "`old`, `symbols` and `files`",
        ),
    }
}

pub fn load_manifest(dir: &Path) -> Result<Manifest, ArchError> {
    read_toml(&dir.join("generic").join("manifest.toml"))
}

/// `when = "feat"` / `"!feat"` against a feature set.
pub fn when_holds(when: Option<&str>, features: &[String]) -> bool {
    match when {
        None => true,
        Some(w) => match w.strip_prefix('!') {
            Some(f) => !features.iter().any(|x| x == f),
            None => features.iter().any(|x| x == w),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_loads_and_is_consistent() {
        let dir = templates_dir();
        let list = load_checklist(&dir).unwrap();
        let manifest = load_manifest(&dir).unwrap();
        for f in &manifest.files {
            assert!(
                list.steps.iter().any(|s| s.id == f.step),
                "manifest names unknown step {}",
                f.step
            );
            assert!(
                dir.join("generic").join(&f.template).is_file(),
                "{}",
                f.template
            );
        }
        let known = known_arches(&dir);
        for arch in ["riscv", "loongarch", "arm64", "x86", "arm", "powerpc"] {
            assert!(known.contains(&arch.to_string()), "{arch}");
            let d = load_descriptor(&dir, arch).unwrap();
            // Every @name the checklist uses must be in every descriptor.
            for step in &list.steps {
                for spec in step
                    .checks
                    .iter()
                    .flat_map(|c| c.files.iter())
                    .chain(&step.files)
                {
                    if let Some(key) = spec.strip_prefix('@') {
                        assert!(d.paths.contains_key(key), "{arch} lacks paths.{key}");
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_arch_lists_known_ones() {
        let dir = templates_dir();
        let err = load_descriptor(&dir, "vax").unwrap_err().to_string();
        assert!(err.contains("riscv") && err.contains("arm64"), "{err}");
        assert!(load_descriptor(&dir, "../steps").is_err());
    }

    #[test]
    fn when_conditions() {
        let f = vec!["generic_entry".to_string()];
        assert!(when_holds(Some("generic_entry"), &f));
        assert!(!when_holds(Some("!generic_entry"), &f));
        assert!(when_holds(Some("!raw_printk"), &f));
        assert!(when_holds(None, &f));
    }
}
