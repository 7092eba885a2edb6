//! The kernel configuration the lint resolves names for: the symbol values of a `.config`
//! (`--kconfig`), or, without one, the few values a Dovetail build implies (assumed in
//! `rules/build-scope.toml`, every other symbol unknown).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::LintError;

/// A symbol's value, as `include/generated/autoconf.h` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Not set: neither `CONFIG_X` nor `CONFIG_X_MODULE` is defined.
    No,
    /// `=m`: `CONFIG_X_MODULE` is defined, `CONFIG_X` is not.
    Module,
    /// `=y`: `CONFIG_X` is defined as 1.
    Yes,
    /// An int, hex or string value: `CONFIG_X` is defined as it.
    Other(String),
}

impl Value {
    fn parse(v: &str) -> Value {
        match v {
            "y" => Value::Yes,
            "m" => Value::Module,
            "n" => Value::No,
            other => Value::Other(other.to_string()),
        }
    }
}

/// Symbol values without the `CONFIG_` prefix.
#[derive(Debug, Clone, Default)]
pub struct Kconfig {
    values: BTreeMap<String, Value>,
    /// A whole `.config`: a symbol it does not list is not set. Otherwise unknown.
    complete: bool,
    /// The `.config` read, if any.
    pub file: Option<PathBuf>,
    /// Without a `.config`: symbol patterns (`DEBUG_*`, `*_DEBUG`, `KASAN*`) taken as not set.
    off: Vec<String>,
}

impl Kconfig {
    /// A kernel `.config`: `CONFIG_X=y|m|value` set, `# CONFIG_X is not set` and every
    /// symbol it does not mention unset.
    pub fn from_file(path: &Path) -> Result<Kconfig, LintError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| LintError::Io(path.to_path_buf(), e))?;
        let values = crate::kbuild::config::values(&text);
        if values.is_empty() {
            return Err(LintError::Kconfig {
                path: path.to_path_buf(),
                message: "no CONFIG_ line: not a kernel .config".into(),
            });
        }
        Ok(Kconfig {
            values: values
                .iter()
                .map(|(k, v)| (k.clone(), Value::parse(v)))
                .collect(),
            complete: true,
            file: Some(path.to_path_buf()),
            off: Vec::new(),
        })
    }

    /// Assumed values (`y`, `m` or `n`); every other symbol is unknown.
    pub fn assumed(values: &BTreeMap<String, String>) -> Kconfig {
        Kconfig {
            values: values
                .iter()
                .map(|(k, v)| (k.clone(), Value::parse(v)))
                .collect(),
            complete: false,
            file: None,
            off: Vec::new(),
        }
    }

    /// Also takes the symbols matching these patterns (one `*` at the start or the end,
    /// or none) as not set, unless `values` says otherwise.
    pub fn with_off(mut self, patterns: &[String]) -> Kconfig {
        self.off = patterns.to_vec();
        self
    }

    fn assumed_off(&self, symbol: &str) -> bool {
        self.off
            .iter()
            .any(|p| match (p.strip_prefix('*'), p.strip_suffix('*')) {
                (Some(suffix), _) => symbol.ends_with(suffix),
                (None, Some(prefix)) => symbol.starts_with(prefix),
                (None, None) => symbol == p,
            })
    }

    /// The value of `symbol` (no `CONFIG_` prefix); `None` when unknown.
    pub fn get(&self, symbol: &str) -> Option<Value> {
        match self.values.get(symbol) {
            Some(v) => Some(v.clone()),
            None if self.complete || self.assumed_off(symbol) => Some(Value::No),
            None => None,
        }
    }

    /// The symbols and values known, for reports (`PREEMPT_RT=n`).
    pub fn describe(&self) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => self
                .values
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::No => "n",
                        Value::Module => "m",
                        Value::Yes => "y",
                        Value::Other(s) => s.as_str(),
                    };
                    format!("{k}={v}")
                })
                .chain(self.off.iter().map(|p| format!("{p}=n")))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_what_it_lists_and_unsets_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".config");
        std::fs::write(
            &f,
            "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_SMP=y\nCONFIG_E1000=m\n# CONFIG_PREEMPT_RT is not set\nCONFIG_NR_CPUS=64\n",
        )
        .unwrap();
        let k = Kconfig::from_file(&f).unwrap();
        assert_eq!(k.get("SMP"), Some(Value::Yes));
        assert_eq!(k.get("E1000"), Some(Value::Module));
        assert_eq!(k.get("PREEMPT_RT"), Some(Value::No));
        assert_eq!(k.get("NR_CPUS"), Some(Value::Other("64".into())));
        assert_eq!(k.get("NEVER_MENTIONED"), Some(Value::No));
        assert_eq!(k.describe(), f.display().to_string());
    }

    #[test]
    fn assumed_values_leave_the_rest_unknown() {
        let m: BTreeMap<String, String> = [("PREEMPT_RT".to_string(), "n".to_string())].into();
        let k = Kconfig::assumed(&m);
        assert_eq!(k.get("PREEMPT_RT"), Some(Value::No));
        assert_eq!(k.get("SMP"), None);
        assert_eq!(k.describe(), "PREEMPT_RT=n");
        let k = k.with_off(&["KASAN*".into(), "*_DEBUG".into(), "LOCKDEP".into()]);
        assert_eq!(k.get("KASAN_GENERIC"), Some(Value::No));
        assert_eq!(k.get("SLUB_DEBUG"), Some(Value::No));
        assert_eq!(k.get("LOCKDEP"), Some(Value::No));
        assert_eq!(k.get("LOCKDEP_SUPPORT"), None);
        assert_eq!(k.describe(), "PREEMPT_RT=n KASAN*=n *_DEBUG=n LOCKDEP=n");
    }

    #[test]
    fn a_file_without_options_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("notes.txt");
        std::fs::write(&f, "hello\n").unwrap();
        let err = Kconfig::from_file(&f).unwrap_err().to_string();
        assert!(err.contains("not a kernel .config"), "{err}");
    }
}
