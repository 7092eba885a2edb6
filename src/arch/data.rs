//! Loading the data in `arch-templates/`: ISA descriptors (`isa/<arch>.toml`), the ordered
//! checklist with its checks (`steps.toml`) and the generic template manifest
//! (`generic/manifest.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ArchError;

/// Facts about one instruction set architecture, as a port needs them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct IpiFacts {
    pub mechanism: String,
    pub base_symbol: String,
    pub oob_ipis: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimerFacts {
    pub device: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FpuFacts {
    pub kind: String,
    pub fptest_regs: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub milestone: String,
}

/// One step of the checklist.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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

/// The kinds of check, as written in steps.toml (`kind = "..."`) and in the status report.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
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

/// One `[[step.check]]`: its condition and what it checks.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CheckSpec {
    /// `"feature"` / `"!feature"`: kept only for descriptors (or trees) with/without it.
    #[serde(default)]
    pub when: Option<String>,
    // Every other key belongs to the check, which rejects the ones its kind does not take.
    #[serde(flatten)]
    pub check: Check,
}

/// What a check looks for; each kind takes exactly the fields it reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// `path` exists.
    File { path: String },
    /// `select SYMBOL` (one of `symbols`) in a config block of the arch Kconfig.
    KconfigSelect { symbols: Vec<String> },
    /// `source "PATH"` in the arch Kconfig, or in one of `files`.
    KconfigSource {
        path: String,
        #[serde(default)]
        files: Vec<String>,
    },
    /// A Makefile line of `file` adds `object`.
    MakeObj { file: String, object: String },
    /// One of `symbols` is defined with a real body. In this and the other C checks,
    /// `all_files` asks for it in every existing file of `files`, not just one.
    Defines {
        symbols: Vec<String>,
        files: Vec<String>,
        #[serde(default)]
        all_files: bool,
    },
    /// One of `symbols` is called (inside `caller` when given).
    Calls {
        symbols: Vec<String>,
        #[serde(default)]
        caller: Option<String>,
        files: Vec<String>,
        #[serde(default)]
        all_files: bool,
    },
    /// One of `symbols` appears as an identifier.
    Uses {
        symbols: Vec<String>,
        files: Vec<String>,
        #[serde(default)]
        all_files: bool,
    },
    /// `header` is #included.
    Includes {
        header: String,
        files: Vec<String>,
        #[serde(default)]
        all_files: bool,
    },
    /// `symbols[0]` (new) is defined and `old` is no longer.
    Replaced {
        old: String,
        symbols: Vec<String>,
        files: Vec<String>,
        #[serde(default)]
        all_files: bool,
    },
}

impl Check {
    pub fn kind(&self) -> CheckKind {
        match self {
            Check::File { .. } => CheckKind::File,
            Check::KconfigSelect { .. } => CheckKind::KconfigSelect,
            Check::KconfigSource { .. } => CheckKind::KconfigSource,
            Check::MakeObj { .. } => CheckKind::MakeObj,
            Check::Defines { .. } => CheckKind::Defines,
            Check::Calls { .. } => CheckKind::Calls,
            Check::Uses { .. } => CheckKind::Uses,
            Check::Includes { .. } => CheckKind::Includes,
            Check::Replaced { .. } => CheckKind::Replaced,
        }
    }

    /// The files of a check over C code and whether it must hold in all of them (rather
    /// than in one); `None` for the other checks.
    pub fn c_files(&self) -> Option<(&[String], bool)> {
        match self {
            Check::Defines {
                files, all_files, ..
            }
            | Check::Calls {
                files, all_files, ..
            }
            | Check::Uses {
                files, all_files, ..
            }
            | Check::Includes {
                files, all_files, ..
            }
            | Check::Replaced {
                files, all_files, ..
            } => Some((files, *all_files)),
            Check::File { .. }
            | Check::KconfigSelect { .. }
            | Check::KconfigSource { .. }
            | Check::MakeObj { .. } => None,
        }
    }

    /// What the check is about, for the porting guide: its symbols, else its path, header
    /// or object.
    pub fn subject(&self) -> String {
        match self {
            Check::KconfigSelect { symbols }
            | Check::Defines { symbols, .. }
            | Check::Calls { symbols, .. }
            | Check::Uses { symbols, .. }
            | Check::Replaced { symbols, .. } => symbols.join(" | "),
            Check::File { path } | Check::KconfigSource { path, .. } => path.clone(),
            Check::MakeObj { object, .. } => object.clone(),
            Check::Includes { header, .. } => header.clone(),
        }
    }

    /// Every file spec the check names (for `@name` consistency checks).
    pub fn file_specs(&self) -> &[String] {
        match self {
            Check::KconfigSource { files, .. } => files,
            c => c.c_files().map_or(&[], |(files, _)| files),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    #[serde(rename = "phase")]
    pub phases: Vec<Phase>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "file")]
    pub files: Vec<TemplateFile>,
    #[serde(default, rename = "makefile")]
    pub makefiles: Vec<MakefileLine>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
    Ok(crate::data::read_toml(path)?)
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
            validate_check(&check.check).map_err(|message| ArchError::Data {
                path: path.clone(),
                message: format!("step `{}`: {message}", step.id),
            })?;
        }
    }
    Ok(list)
}

/// What serde cannot check: the lists a check searches are not empty.
fn validate_check(c: &Check) -> Result<(), String> {
    let symbols = match c {
        Check::KconfigSelect { symbols }
        | Check::Defines { symbols, .. }
        | Check::Calls { symbols, .. }
        | Check::Uses { symbols, .. }
        | Check::Replaced { symbols, .. } => Some(symbols),
        _ => None,
    };
    let empty = if symbols.is_some_and(|s| s.is_empty()) {
        Some("symbols")
    } else if c.c_files().is_some_and(|(files, _)| files.is_empty()) {
        Some("files")
    } else {
        None
    };
    match empty {
        Some(what) => Err(format!("{:?} check needs a non-empty `{what}`", c.kind())),
        None => Ok(()),
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
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (tmp, path, line) = misspelled("arch-templates/steps.toml", "\nold = ", "\nodl = ");
        let err = load_checklist(&tmp.path().join("arch-templates")).unwrap_err();
        assert_points_at(&err, &path, line, "odl");
        let (tmp, path, line) = misspelled(
            "arch-templates/isa/riscv.toml",
            "\nsrcarch = ",
            "\nsrcarc = ",
        );
        let err = load_descriptor(&tmp.path().join("arch-templates"), "riscv").unwrap_err();
        assert_points_at(&err, &path, line, "srcarc");
        let (tmp, path, line) = misspelled(
            "arch-templates/generic/manifest.toml",
            "\ndest = ",
            "\ndset = ",
        );
        let err = load_manifest(&tmp.path().join("arch-templates")).unwrap_err();
        assert_points_at(&err, &path, line, "dset");
    }

    #[test]
    fn a_check_takes_only_the_fields_of_its_kind() {
        let steps = |check: &str| {
            let tmp = tempfile::tempdir().unwrap();
            let text = format!(
                "[[phase]]\nid = \"p\"\ntitle = \"t\"\nmilestone = \"m\"\n\
                 [[step]]\nid = \"s\"\nphase = \"p\"\ntitle = \"t\"\ntodo = \"d\"\n\
                 [[step.check]]\n{check}"
            );
            std::fs::write(tmp.path().join("steps.toml"), text).unwrap();
            load_checklist(tmp.path()).map(|l| l.steps[0].checks[0].clone())
        };
        let c = steps("kind = \"includes\"\nheader = \"h.h\"\nfiles = [\"a.c\"]\nwhen = \"x\"\n")
            .unwrap();
        assert_eq!(c.when.as_deref(), Some("x"));
        assert_eq!(c.check.kind(), CheckKind::Includes);
        assert_eq!(c.check.subject(), "h.h");
        // `caller` belongs to `calls`, not to `defines`.
        let e = steps("kind = \"defines\"\nsymbols = [\"f\"]\nfiles = [\"a.c\"]\ncaller = \"g\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("steps.toml:14:1: unknown field `caller`"), "{e}");
        let e = steps("kind = \"make_obj\"\nfile = \"Makefile\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `object`"), "{e}");
        let e = steps("kind = \"uses\"\nsymbols = []\nfiles = [\"a.c\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-empty `symbols`"), "{e}");
    }

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
                    .flat_map(|c| c.check.file_specs())
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
