//! `.config` files and Kconfig fragments: parse, merge, and verify that every option a
//! fragment asked for made it into the final configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::KbuildError;

/// One `CONFIG_X=value` (or `# CONFIG_X is not set`, value `n`) request from a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Symbol without the `CONFIG_` prefix.
    pub symbol: String,
    pub value: String,
    pub file: PathBuf,
    /// 1-based line in `file`.
    pub line: usize,
}

impl Request {
    /// How the request reads in a fragment.
    pub fn as_config_line(&self) -> String {
        if self.value == "n" {
            format!("# CONFIG_{} is not set", self.symbol)
        } else {
            format!("CONFIG_{}={}", self.symbol, self.value)
        }
    }
}

/// Decodes one `.config` line into (symbol, value); `n` for "is not set".
pub fn parse_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("# CONFIG_") {
        let sym = rest.strip_suffix(" is not set")?;
        return Some((sym, "n"));
    }
    let rest = line.strip_prefix("CONFIG_")?;
    let (sym, value) = rest.split_once('=')?;
    Some((sym, value))
}

/// A fragment by name (`kunit` → `kbuild/fragments/kunit.config`) or by path.
pub fn resolve_fragment(name_or_path: &str) -> Result<PathBuf, KbuildError> {
    let as_path = PathBuf::from(name_or_path);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let fragments = crate::data::files_in("kbuild/fragments", "config");
    let name = format!("{}.config", name_or_path.trim_end_matches(".config"));
    if !name_or_path.contains('/') {
        if let Some(builtin) = fragments.get(&name) {
            return Ok(builtin.clone());
        }
    }
    let known: Vec<&str> = fragments
        .keys()
        .map(|k| k.trim_end_matches(".config"))
        .collect();
    Err(KbuildError::NoFragment {
        name: name_or_path.to_string(),
        known: known.join(", "),
    })
}

/// Reads a fragment's requests. Lines that are neither options nor comments are errors: a
/// typo must not silently request nothing.
pub fn read_fragment(path: &Path) -> Result<Vec<Request>, KbuildError> {
    let text = std::fs::read_to_string(path).map_err(|e| KbuildError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        match parse_line(t) {
            Some((sym, value)) if !sym.is_empty() && !value.is_empty() => out.push(Request {
                symbol: sym.to_string(),
                value: value.to_string(),
                file: path.to_path_buf(),
                line: i + 1,
            }),
            _ if t.starts_with('#') => {}
            _ => {
                return Err(KbuildError::BadFragmentLine {
                    file: path.to_path_buf(),
                    line: i + 1,
                    text: t.to_string(),
                })
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictFile {
    conflict: Vec<Conflict>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Conflict {
    a: String,
    b: String,
    reason: String,
}

/// The pairs of options `path` (`kbuild/conflicts.toml`) says cannot be set together; `None`
/// when there is no such file.
fn conflicts(path: &Path) -> Result<Option<ConflictFile>, KbuildError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(crate::data::parse_toml(path, &text)?)),
        Err(_) => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnneededFile {
    unneeded: Vec<Unneeded>,
}

/// Options that become visible with `when` and that the QEMU boot never needs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unneeded {
    when: String,
    options: Vec<String>,
}

/// Where `kbuild/unneeded.toml` says so, turns off the options a QEMU fragment would only make
/// visible: each one the base does not mention, when the base does not enable its `when`
/// option. Appended as `is not set` lines before the requests are applied, so a fragment
/// asking for one still wins. `path` is the data file; a missing file trims nothing.
pub fn trim_unneeded(base: &str, path: &Path) -> Result<String, KbuildError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(base.to_string());
    };
    let table: UnneededFile = crate::data::parse_toml(path, &text)?;
    let set = values(base);
    let mut out = base.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for group in &table.unneeded {
        if set.get(&group.when).is_some_and(|v| v != "n") {
            continue;
        }
        for option in group.options.iter().filter(|o| !set.contains_key(*o)) {
            out.push_str(&format!("# CONFIG_{option} is not set\n"));
        }
    }
    Ok(out)
}

/// Merges the requests of all fragments in order, refusing contradictions: two fragments
/// setting one option differently, or a pair listed in `kbuild/conflicts.toml`.
pub fn merge_requests(fragments: &[Vec<Request>]) -> Result<Vec<Request>, KbuildError> {
    let mut merged: BTreeMap<String, Request> = BTreeMap::new();
    let mut problems = Vec::new();
    for req in fragments.iter().flatten() {
        if let Some(prev) = merged.get(&req.symbol) {
            if prev.value != req.value {
                problems.push(format!(
                    "{}:{} asks for {} but {}:{} asks for {}",
                    prev.file.display(),
                    prev.line,
                    prev.as_config_line(),
                    req.file.display(),
                    req.line,
                    req.as_config_line()
                ));
            }
            continue;
        }
        merged.insert(req.symbol.clone(), req.clone());
    }
    if let Some(table) = conflicts(&crate::data::file("kbuild/conflicts.toml"))? {
        let enabled = |s: &str| merged.get(s).is_some_and(|r| r.value != "n");
        for c in table.conflict {
            if enabled(&c.a) && enabled(&c.b) {
                let (a, b) = (&merged[&c.a], &merged[&c.b]);
                problems.push(format!(
                    "CONFIG_{} ({}:{}) conflicts with CONFIG_{} ({}:{}): {}",
                    c.a,
                    a.file.display(),
                    a.line,
                    c.b,
                    b.file.display(),
                    b.line,
                    c.reason
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(KbuildError::FragmentConflict { problems });
    }
    let mut out: Vec<Request> = merged.into_values().collect();
    out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(out)
}

/// Applies requests to the text of a `.config`: replaces existing lines, appends new ones.
pub fn apply(config: &str, requests: &[Request]) -> String {
    let wanted: BTreeMap<&str, &Request> =
        requests.iter().map(|r| (r.symbol.as_str(), r)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::with_capacity(config.len() + requests.len() * 32);
    for line in config.lines() {
        match parse_line(line).and_then(|(sym, _)| wanted.get(sym).map(|r| (sym, r))) {
            Some((sym, req)) => {
                if seen.insert(sym.to_string()) {
                    out.push_str(&req.as_config_line());
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for req in requests {
        if !seen.contains(&req.symbol) {
            out.push_str(&req.as_config_line());
            out.push('\n');
        }
    }
    out
}

/// Symbol → value of a `.config` (unset symbols are absent).
pub fn values(config: &str) -> BTreeMap<String, String> {
    config
        .lines()
        .filter_map(parse_line)
        .map(|(s, v)| (s.to_string(), v.to_string()))
        .collect()
}

/// Requests the final configuration does not honour, with the value it has instead.
pub fn unmet<'a>(
    requests: &'a [Request],
    final_values: &BTreeMap<String, String>,
) -> Vec<(&'a Request, String)> {
    requests
        .iter()
        .filter_map(|r| {
            let actual = final_values
                .get(&r.symbol)
                .cloned()
                .unwrap_or_else(|| "n".into());
            // `m` becomes `y` without module support: the code is in, the request is met.
            let ok = actual == r.value || (r.value == "m" && actual == "y");
            (!ok).then_some((r, actual))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (_tmp, path, line) = misspelled("kbuild/conflicts.toml", "\nreason = ", "\nreasons = ");
        let err = conflicts(&path).err().expect("rejected");
        assert_points_at(&err, &path, line, "reasons");
    }
    use super::*;

    #[test]
    fn a_misspelled_unneeded_field_names_file_line_and_field() {
        let (_tmp, path, line) = misspelled("kbuild/unneeded.toml", "\nwhen = ", "\nwhen_on = ");
        let err = trim_unneeded("", &path).expect_err("rejected");
        assert_points_at(&err, &path, line, "when_on");
    }

    #[test]
    fn unneeded_options_go_only_where_the_base_never_chose_them() {
        let data = crate::data::file("kbuild/unneeded.toml");
        // tinyconfig-like: no initramfs, the decompressors invisible.
        let tiny = "# CONFIG_BLK_DEV_INITRD is not set\nCONFIG_PRINTK=y";
        let trimmed = trim_unneeded(tiny, &data).unwrap();
        let v = values(&trimmed);
        assert_eq!(v["RD_ZSTD"], "n");
        assert_eq!(v["RD_XZ"], "n");
        assert!(
            !v.contains_key("RD_GZIP"),
            "the one the boot uses is left alone"
        );
        assert!(trimmed.starts_with(tiny), "the base is kept as it was");
        // A fragment asking for one wins over the trim.
        let asked = [req("RD_XZ", "y", "f.config", 1)];
        assert_eq!(values(&apply(&trimmed, &asked))["RD_XZ"], "y");

        // A base with an initramfs keeps its own decompressors, chosen or defaulted.
        let full = "CONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_ZSTD=y\n# CONFIG_RD_LZ4 is not set\n";
        assert_eq!(trim_unneeded(full, &data).unwrap(), full);
        let defconfig_style = "CONFIG_BLK_DEV_INITRD=y\n";
        assert_eq!(
            trim_unneeded(defconfig_style, &data).unwrap(),
            defconfig_style
        );
        // No data file: nothing is trimmed.
        let none = Path::new("/nonexistent/unneeded.toml");
        assert_eq!(trim_unneeded(tiny, none).unwrap(), tiny);
    }

    fn req(sym: &str, value: &str, file: &str, line: usize) -> Request {
        Request {
            symbol: sym.into(),
            value: value.into(),
            file: file.into(),
            line,
        }
    }

    #[test]
    fn apply_replaces_and_appends() {
        let base = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n";
        let out = apply(
            base,
            &[
                req("B", "y", "f", 1),
                req("A", "n", "f", 2),
                req("D", "m", "f", 3),
            ],
        );
        assert_eq!(
            out,
            "# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=\"x\"\nCONFIG_D=m\n"
        );
        let v = values(&out);
        assert_eq!(v["B"], "y");
        assert_eq!(v["A"], "n");
    }

    #[test]
    fn unmet_names_dropped_options() {
        let v = values("CONFIG_A=y\nCONFIG_M=y\n");
        let reqs = [
            req("A", "y", "f", 1),
            req("EVL", "y", "f", 2),
            req("M", "m", "f", 3),
            req("GONE", "n", "f", 4),
        ];
        let bad = unmet(&reqs, &v);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0.symbol, "EVL");
        assert_eq!(bad[0].1, "n");
    }

    #[test]
    fn contradicting_fragments_are_refused() {
        let err = merge_requests(&[
            vec![req("LOCKDEP", "y", "debug.config", 3)],
            vec![req("LOCKDEP", "n", "bench.config", 2)],
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("debug.config:3") && err.contains("bench.config:2"),
            "{err}"
        );
        let err = merge_requests(&[
            vec![req("IRQ_PIPELINE_TORTURE_TEST", "y", "torture.config", 4)],
            vec![req("EVL", "y", "evl.config", 4)],
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("CONFIG_IRQ_PIPELINE_TORTURE_TEST"), "{err}");
    }

    #[test]
    fn shipped_fragments_parse_and_typos_do_not() {
        for name in [
            "kunit",
            "qemu-x86_64",
            "evl",
            "dovetail",
            "debug",
            "bench",
            "torture",
        ] {
            let p = resolve_fragment(name).unwrap();
            assert!(!read_fragment(&p).unwrap().is_empty(), "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.config");
        std::fs::write(&f, "CONFIG_A=y\nCONFIG_B y\n").unwrap();
        let err = read_fragment(&f).unwrap_err().to_string();
        assert!(err.contains("bad.config:2"), "{err}");
        assert!(resolve_fragment("no-such-fragment").is_err());
    }
}
