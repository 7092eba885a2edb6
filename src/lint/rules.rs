//! Rules as data: in-band-only services, lock typing and entry-point definitions, loaded
//! from `rules/*.toml` (plus any user rule files). Several files merge into one [`RuleSet`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LintError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule as shown to users (and listed in SARIF `tool.driver.rules`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub rationale: String,
    pub replacement: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub function: String,
    pub arg: usize,
    #[serde(default)]
    pub flags_arg: Option<usize>,
    #[serde(default)]
    pub requires_flag: Option<String>,
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct EntriesFile {
    fops_struct_types: Vec<String>,
    fops_members: Vec<String>,
    marker: Option<String>,
    registration: Vec<Registration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ContextFile {
    inband_checks: Vec<String>,
    oob_checks: Vec<String>,
    switch_inband: Vec<String>,
    switch_oob: Vec<String>,
    tolerated: Vec<String>,
    condition_wrappers: BTreeMap<String, usize>,
    assertions: Vec<String>,
    max_depth: Option<usize>,
    max_slot_files: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TerminalFile {
    functions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    id: String,
    severity: Severity,
    services: Vec<String>,
    rationale: String,
    replacement: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsafeType {
    #[serde(rename = "type")]
    ty: String,
    id: String,
    severity: Severity,
    rationale: String,
    replacement: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnknownLock {
    id: String,
    severity: Severity,
    calls: Vec<String>,
    rationale: String,
    replacement: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LockFile {
    calls: Vec<String>,
    safe_types: Vec<String>,
    defines: BTreeMap<String, String>,
    unsafe_type: Vec<UnsafeType>,
    unknown: Option<UnknownLock>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DerivedFile {
    choke_points: Vec<String>,
    max_depth: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScopeFile {
    userspace: Vec<String>,
}

/// The shape of one rule file; every section is optional so files can be split freely.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RuleFile {
    oob_entries: Option<EntriesFile>,
    oob_context: Option<ContextFile>,
    inband_service: Vec<ServiceFile>,
    lock_typing: Option<LockFile>,
    /// A rule without services: it judges what is stored in oob-called struct members.
    ops_slot: Option<Rule>,
    derived_inband: Option<DerivedFile>,
    build_scope: Option<ScopeFile>,
    kconfig_assumed: Option<BTreeMap<String, String>>,
    /// Symbol patterns (`DEBUG_*`, `KASAN*`) taken as not set without `--kconfig`.
    kconfig_assumed_off: Option<KconfigOffFile>,
    /// Macros false in C code when a Kconfig symbol is not set (`EVL_WARN_ON(CORE, c)`):
    /// name -> symbol, `{0}` standing for the first argument.
    kconfig_tests: Option<BTreeMap<String, String>>,
    /// Macros true in C code when a Kconfig symbol is not set (`EVL_ASSERT(CORE, c)`), same
    /// form.
    kconfig_asserts: Option<BTreeMap<String, String>>,
    terminal: Option<TerminalFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct KconfigOffFile {
    patterns: Vec<String>,
}

/// Everything the checker knows, merged from all rule files.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    pub fops_struct_types: Vec<String>,
    pub fops_members: Vec<String>,
    pub marker: String,
    pub registrations: Vec<Registration>,
    pub inband_checks: Vec<String>,
    pub oob_checks: Vec<String>,
    pub switch_inband: Vec<String>,
    /// Calls switching the caller back to oob, returning 0 on success and an error with
    /// the caller still in-band otherwise (`evl_switch_oob()`).
    pub switch_oob: Vec<String>,
    pub tolerated: Vec<String>,
    /// Calls that pass one argument's truth value on (`likely(c)`, `WARN_ON(c)`): name ->
    /// index of that argument.
    pub condition_wrappers: BTreeMap<String, usize>,
    /// Wrappers that, as a statement, assert their condition false from then on
    /// (`WARN_ON(running_oob());`).
    pub assertions: Vec<String>,
    /// Macros of the linted tree that expand to one of `assertions`
    /// (`inband_context_only()`): filled from the lexical pass, not from rule files.
    pub assertion_macros: super::macros::AssertionMacros,
    /// Functions that end or report a fatal condition (panic, BUG, sanitizer reports,
    /// WARN slow paths): the walk stops there.
    pub terminal: Vec<String>,
    /// The `prefix*` entries of `terminal`, without the `*`.
    pub terminal_prefixes: Vec<String>,
    /// Kconfig symbol patterns assumed not set without `--kconfig`.
    pub assumed_off: Vec<String>,
    /// Macros false when a symbol is not set: name -> symbol (`EVL_DEBUG_{0}`).
    pub kconfig_tests: BTreeMap<String, String>,
    /// Macros true when a symbol is not set: name -> symbol (`EVL_DEBUG_{0}`).
    pub kconfig_asserts: BTreeMap<String, String>,
    pub max_depth: usize,
    /// A member stored in more files than this is too generic to resolve calls through.
    pub max_slot_files: usize,
    /// Called name -> rule index (into `rules`).
    pub services: HashMap<String, usize>,
    pub lock_calls: Vec<String>,
    pub safe_lock_types: Vec<String>,
    pub lock_defines: BTreeMap<String, String>,
    /// Lock type -> rule index.
    pub unsafe_lock_types: HashMap<String, usize>,
    /// (rule index, calls) for locks of unknown type.
    pub unknown_lock: Option<(usize, Vec<String>)>,
    /// Rule index for in-band-only functions stored in oob-called struct members.
    pub ops_slot: Option<usize>,
    /// Services where Dovetail's runtime guard sits: in-band only even when defined in
    /// the linted tree.
    pub choke_points: Vec<String>,
    /// How deep to follow calls below the in-tree definition of a listed service.
    pub max_derive_depth: usize,
    /// Paths of a kernel tree holding user-space or host code (`tools`, `arch/*/tools`).
    pub userspace_dirs: Vec<String>,
    /// Kconfig symbol values (`y`, `m`, `n`) taken as known without `--kconfig`.
    pub assumed_kconfig: BTreeMap<String, String>,
    /// All rules, sorted by id.
    pub rules: Vec<Rule>,
    pub sources: Vec<PathBuf>,
}

/// What a called name means to the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallClass {
    /// An in-band-only service: the rule index.
    Service(usize),
    /// A spin lock acquisition: judged on the lock's declared type.
    Lock,
    /// Tolerated from oob; not followed.
    Tolerated,
    /// Ends the world or reports a fatal condition: not followed, never a finding.
    Terminal,
    /// Switches the caller to in-band for the rest of the body.
    SwitchInband,
    /// Anything else: followed if defined in the linted files.
    Other,
}

impl RuleSet {
    /// Loads `dir/*.toml` (sorted) followed by `extra` files or directories.
    pub fn load(dirs_and_files: &[PathBuf]) -> Result<RuleSet, LintError> {
        let mut files = Vec::new();
        for p in dirs_and_files {
            if p.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| LintError::Io(p.clone(), e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect();
                found.sort();
                files.extend(found);
            } else {
                files.push(p.clone());
            }
        }
        let mut parsed = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).map_err(|e| LintError::Io(f.clone(), e))?;
            parsed.push((f.clone(), text));
        }
        let refs: Vec<(&Path, &str)> = parsed
            .iter()
            .map(|(p, t)| (p.as_path(), t.as_str()))
            .collect();
        Self::from_texts(&refs)
    }

    /// Builds a rule set from TOML texts (path used in error messages only).
    pub fn from_texts(texts: &[(&Path, &str)]) -> Result<RuleSet, LintError> {
        let mut set = RuleSet {
            max_depth: 16,
            max_slot_files: 16,
            max_derive_depth: 6,
            ..Default::default()
        };
        let mut rules: Vec<Rule> = Vec::new();
        let mut service_names: Vec<(String, String)> = Vec::new();
        let mut unsafe_types: Vec<(String, String)> = Vec::new();
        let mut unknown: Option<(String, Vec<String>)> = None;
        let mut slot: Option<String> = None;
        for (path, text) in texts {
            let file: RuleFile = crate::data::parse_toml(path, text)?;
            set.sources.push(path.to_path_buf());
            if let Some(e) = file.oob_entries {
                set.fops_struct_types.extend(e.fops_struct_types);
                set.fops_members.extend(e.fops_members);
                if let Some(m) = e.marker {
                    set.marker = m;
                }
                set.registrations.extend(e.registration);
            }
            if let Some(c) = file.oob_context {
                set.inband_checks.extend(c.inband_checks);
                set.oob_checks.extend(c.oob_checks);
                set.switch_inband.extend(c.switch_inband);
                set.switch_oob.extend(c.switch_oob);
                set.tolerated.extend(c.tolerated);
                set.condition_wrappers.extend(c.condition_wrappers);
                set.assertions.extend(c.assertions);
                if let Some(d) = c.max_depth {
                    set.max_depth = d;
                }
                if let Some(n) = c.max_slot_files {
                    set.max_slot_files = n;
                }
            }
            for s in file.inband_service {
                push_rule(
                    &mut rules,
                    Rule {
                        id: s.id.clone(),
                        severity: s.severity,
                        rationale: s.rationale,
                        replacement: s.replacement,
                    },
                    path,
                )?;
                service_names.extend(s.services.into_iter().map(|n| (n, s.id.clone())));
            }
            if let Some(l) = file.lock_typing {
                set.lock_calls.extend(l.calls);
                set.safe_lock_types.extend(l.safe_types);
                set.lock_defines.extend(l.defines);
                for u in l.unsafe_type {
                    push_rule(
                        &mut rules,
                        Rule {
                            id: u.id.clone(),
                            severity: u.severity,
                            rationale: u.rationale,
                            replacement: u.replacement,
                        },
                        path,
                    )?;
                    unsafe_types.push((u.ty, u.id));
                }
                if let Some(u) = l.unknown {
                    push_rule(
                        &mut rules,
                        Rule {
                            id: u.id.clone(),
                            severity: u.severity,
                            rationale: u.rationale,
                            replacement: u.replacement,
                        },
                        path,
                    )?;
                    unknown = Some((u.id, u.calls));
                }
            }
            if let Some(d) = file.derived_inband {
                set.choke_points.extend(d.choke_points);
                if let Some(n) = d.max_depth {
                    set.max_derive_depth = n;
                }
            }
            if let Some(b) = file.build_scope {
                set.userspace_dirs.extend(b.userspace);
            }
            for (sym, value) in file.kconfig_assumed.unwrap_or_default() {
                if !matches!(value.as_str(), "y" | "m" | "n") {
                    return Err(LintError::Rules {
                        path: path.to_path_buf(),
                        message: format!("[kconfig_assumed] {sym} = \"{value}\": give y, m or n"),
                    });
                }
                let sym = sym.strip_prefix("CONFIG_").unwrap_or(&sym).to_string();
                set.assumed_kconfig.insert(sym, value);
            }
            if let Some(t) = file.terminal {
                set.terminal.extend(t.functions);
            }
            if let Some(k) = file.kconfig_assumed_off {
                set.assumed_off.extend(k.patterns);
            }
            set.kconfig_tests
                .extend(file.kconfig_tests.unwrap_or_default());
            set.kconfig_asserts
                .extend(file.kconfig_asserts.unwrap_or_default());
            if let Some(r) = file.ops_slot {
                slot = Some(r.id.clone());
                push_rule(&mut rules, r, path)?;
            }
        }
        if let Some(a) = set
            .assertions
            .iter()
            .find(|a| !set.condition_wrappers.contains_key(*a))
        {
            return Err(LintError::Rules {
                path: texts.last().map(|t| t.0.to_path_buf()).unwrap_or_default(),
                message: format!(
                    "assertion `{a}` is not in [oob_context] condition_wrappers (say which argument is its condition)"
                ),
            });
        }
        set.terminal.sort();
        set.terminal.dedup();
        set.terminal_prefixes = set
            .terminal
            .iter()
            .filter_map(|t| t.strip_suffix('*').map(String::from))
            .collect();
        if set.marker.is_empty() {
            set.marker = "dovetail-port: oob-entry".into();
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let index = |id: &str| rules.iter().position(|r| r.id == id).expect("rule pushed");
        for (name, id) in service_names {
            set.services.insert(name, index(&id));
        }
        for (ty, id) in unsafe_types {
            set.unsafe_lock_types.insert(ty, index(&id));
        }
        set.unknown_lock = unknown.map(|(id, calls)| (index(&id), calls));
        set.ops_slot = slot.map(|id| index(&id));
        if let Some(c) = set
            .choke_points
            .iter()
            .find(|c| !set.services.contains_key(*c))
        {
            return Err(LintError::Rules {
                path: texts.last().map(|t| t.0.to_path_buf()).unwrap_or_default(),
                message: format!("choke point `{c}` is not listed as an in-band service"),
            });
        }
        set.rules = rules;
        Ok(set)
    }

    pub fn classify(&self, name: &str) -> CallClass {
        if let Some(&i) = self.services.get(name) {
            CallClass::Service(i)
        } else if self.is_terminal(name) {
            CallClass::Terminal
        } else if self.lock_calls.iter().any(|c| c == name) {
            CallClass::Lock
        } else if self.switch_inband.iter().any(|c| c == name) {
            CallClass::SwitchInband
        } else if self.tolerated.iter().any(|c| c == name) {
            CallClass::Tolerated
        } else {
            CallClass::Other
        }
    }

    /// A listed terminal sink (exact name, or a `prefix*` entry).
    pub fn is_terminal(&self, name: &str) -> bool {
        self.terminal
            .binary_search_by(|t| t.as_str().cmp(name))
            .is_ok()
            || self.terminal_prefixes.iter().any(|p| name.starts_with(p))
    }

    pub fn is_choke_point(&self, name: &str) -> bool {
        self.choke_points.iter().any(|c| c == name)
    }

    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }

    /// Words whose presence makes a file worth a full parse in the lexical pass.
    pub fn entry_needles(&self) -> Vec<String> {
        let mut v: Vec<String> = self.fops_members.clone();
        // A registration that needs a flag (IRQF_OOB) is only possible where the flag is.
        v.extend(self.registrations.iter().map(|r| {
            r.requires_flag
                .clone()
                .unwrap_or_else(|| r.function.clone())
        }));
        v.push(self.marker.clone());
        v
    }
}

fn push_rule(rules: &mut Vec<Rule>, rule: Rule, path: &Path) -> Result<(), LintError> {
    if let Some(old) = rules.iter().find(|r| r.id == rule.id) {
        if *old != rule {
            return Err(LintError::Rules {
                path: path.to_path_buf(),
                message: format!(
                    "rule id `{}` is defined twice with different contents",
                    rule.id
                ),
            });
        }
        return Ok(());
    }
    rules.push(rule);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (_tmp, path, line) = misspelled(
            "rules/oob-entries.toml",
            "\nfops_members = ",
            "\nfops_member = ",
        );
        let err = RuleSet::load(std::slice::from_ref(&path)).unwrap_err();
        assert_points_at(&err, &path, line, "fops_member");
    }

    use super::*;

    #[test]
    fn loads_the_shipped_rules() {
        let set = RuleSet::load(&[crate::data::folder("rules")]).unwrap();
        assert!(set.fops_members.contains(&"oob_ioctl".to_string()));
        let i = set.services["mutex_lock"];
        assert_eq!(set.rules[i].id, "oob-sleeping-lock");
        assert!(set.rules[i].replacement.contains("evl_lock_kmutex"));
        assert_eq!(set.classify("raw_spin_lock_irqsave"), CallClass::Lock);
        assert_eq!(set.classify("printk"), CallClass::Tolerated);
        assert_eq!(set.classify("evl_switch_inband"), CallClass::SwitchInband);
        assert_eq!(
            set.classify("evl_switch_inband_details"),
            CallClass::SwitchInband
        );
        assert!(set.unsafe_lock_types.contains_key("spinlock_t"));
        assert_eq!(set.lock_defines["DEFINE_HARD_SPINLOCK"], "hard_spinlock_t");
        let slot = set.ops_slot.expect("the ops-slot rule ships");
        assert_eq!(set.rules[slot].id, "oob-inband-ops-slot");
        assert!(set.is_choke_point("might_sleep") && set.is_choke_point("__wake_up_common"));
        assert!(!set.is_choke_point("msleep"));
        assert!(set.userspace_dirs.iter().any(|d| d == "tools"));
        assert_eq!(set.assumed_kconfig["PREEMPT_RT"], "n");
        assert_eq!(set.assumed_kconfig["IRQ_PIPELINE"], "y");
    }

    #[test]
    fn assumed_kconfig_values_are_tristates() {
        let t = "[kconfig_assumed]\nCONFIG_SMP = 'y'\n";
        let set = RuleSet::from_texts(&[(Path::new("k.toml"), t)]).unwrap();
        assert_eq!(set.assumed_kconfig["SMP"], "y", "the prefix is optional");
        let t = "[kconfig_assumed]\nHZ = '250'\n";
        let err = RuleSet::from_texts(&[(Path::new("k.toml"), t)]).unwrap_err();
        assert!(err.to_string().contains("give y, m or n"), "{err}");
    }

    #[test]
    fn a_choke_point_must_be_a_service() {
        let t = "[derived_inband]\nchoke_points = ['nope']\n";
        let err = RuleSet::from_texts(&[(Path::new("c.toml"), t)]).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
    }

    #[test]
    fn conflicting_rule_ids_are_an_error() {
        let a = "[[inband_service]]\nid='x'\nseverity='error'\nservices=['a']\nrationale='r'\nreplacement='p'\n";
        let b = "[[inband_service]]\nid='x'\nseverity='warning'\nservices=['b']\nrationale='r'\nreplacement='p'\n";
        let err =
            RuleSet::from_texts(&[(Path::new("a.toml"), a), (Path::new("b.toml"), b)]).unwrap_err();
        assert!(err.to_string().contains("b.toml"), "{err}");
    }

    #[test]
    fn bad_toml_names_the_file() {
        let err =
            RuleSet::from_texts(&[(Path::new("mine.toml"), "[[inband_service]\n")]).unwrap_err();
        assert!(err.to_string().contains("mine.toml"));
    }
}
