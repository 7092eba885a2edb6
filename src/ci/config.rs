//! `dovetail-port.toml`: what the gate of one fork checks. Loaded once, checked up front,
//! then handed to the runner and the emitters as plain data.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CiError;

/// The file name looked up in the fork's root.
pub const FILE_NAME: &str = "dovetail-port.toml";

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub queue: Option<QueueConfig>,
    #[serde(default)]
    pub lint: Option<LintConfig>,
    #[serde(default)]
    pub matrix: Vec<MatrixEntry>,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub outputs: Outputs,
    #[serde(default)]
    pub lava: LavaConfig,
    #[serde(default)]
    pub ci: RunnerConfig,
}

/// Where the emitted pipelines run and how a job gets the tool (`[ci]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunnerConfig {
    /// Container image of every job (GitLab `image:`, GitHub `container:`). The default has
    /// a current Rust on Debian, so the install steps can build the tool.
    #[serde(default = "default_image")]
    pub image: String,
    /// GitLab runner tags (e.g. `["kvm"]` for runners with /dev/kvm).
    #[serde(default)]
    pub tags: Vec<String>,
    /// GitHub `runs-on` labels.
    #[serde(default = "default_runs_on")]
    pub runs_on: Vec<String>,
    /// Git URL the default install builds dovetail-port from (`cargo install --git`);
    /// crates.io when absent.
    #[serde(default)]
    pub source: Option<String>,
    /// Shell commands run before the tool in every job. Default: the Debian packages of
    /// `dovetail-port doctor --apt`, then `cargo install` from `source`.
    #[serde(default)]
    pub install: Option<Vec<String>>,
}

fn default_image() -> String {
    "rust:1-bookworm".into()
}

fn default_runs_on() -> Vec<String> {
    vec!["ubuntu-latest".into()]
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            image: default_image(),
            tags: Vec::new(),
            runs_on: default_runs_on(),
            source: None,
            install: None,
        }
    }
}

impl RunnerConfig {
    /// The install commands: the configured ones, or the default.
    pub fn install_commands(&self) -> Vec<String> {
        if let Some(cmds) = &self.install {
            return cmds.clone();
        }
        // Hosted CI runners are x86_64.
        let packages = crate::doctor::apt_packages("x86_64").join(" ");
        let cargo = match &self.source {
            Some(url) => format!(
                "cargo install --locked --root /usr/local --git {} dovetail-port",
                super::shell::sh_quote(url)
            ),
            None => "cargo install --locked --root /usr/local dovetail-port".to_string(),
        };
        vec![
            "apt-get update".into(),
            format!("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pkg-config {packages}"),
            "command -v dovetail-port >/dev/null || ".to_string() + &cargo,
            "dovetail-port doctor || true".into(),
        ]
    }
}

/// The queue: the commits `base..head`, checked for replaying cleanly onto `onto`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Where the queue starts (the upstream release it sits on), e.g. `v6.1`.
    pub base: String,
    /// The queue's tip.
    #[serde(default = "default_head")]
    pub head: String,
    /// Replay target; defaults to `base`. Point it at the upstream branch the fork tracks
    /// (e.g. `stable/linux-6.1.y`) to learn before merging whether the queue still applies.
    #[serde(default)]
    pub onto: Option<String>,
    /// Topic rules (TOML) for the report; the built-in Dovetail/EVL topics otherwise.
    #[serde(default)]
    pub topics: Option<PathBuf>,
    /// After a replay with no conflict, check the result (`build`, `boot` or `test`) with
    /// the first matrix entry's arch, config and fragments; when it fails, bisect the
    /// replayed queue and name the patch that breaks it.
    #[serde(default)]
    pub verify: Option<crate::rebase::verify::VerifyKind>,
    /// With `verify = "test"`: the KUnit suites or `suite.case` names that must pass.
    #[serde(default)]
    pub verify_tests: Vec<String>,
}

fn default_head() -> String {
    "HEAD".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Files or folders to check, relative to the fork's root.
    pub paths: Vec<PathBuf>,
    /// Accepted findings; only findings not in it fail the gate.
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// Report only findings on lines changed since the queue base (the default).
    #[serde(default = "yes")]
    pub diff: bool,
    /// A kernel `.config` (relative to the fork's root) that decides the preprocessor
    /// conditionals, as `lint --kconfig`; without it, the rules' assumed values.
    #[serde(default)]
    pub kconfig: Option<PathBuf>,
    /// The one architecture whose code is resolved, as `lint --arch` (default x86).
    #[serde(default)]
    pub arch: Option<String>,
}

fn yes() -> bool {
    true
}

/// What a matrix entry runs in its guest, besides booting.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// The KUnit suites built into the kernel (adds the `kunit` fragment).
    Kunit,
    /// `evl test -k` from the payload (libevl installed in `payload`).
    Evl,
    /// Dovetail's IRQ pipeline torture tests at boot (adds the `torture` fragment).
    Torture,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MatrixEntry {
    /// Unique name; defaults to `<arch>-<config>`.
    #[serde(default)]
    pub name: Option<String>,
    pub arch: String,
    /// Base config: a make target (`tinyconfig`, `defconfig`) or a file in the fork.
    #[serde(default = "default_config")]
    pub config: String,
    /// Fragments: built-in names (`dovetail`, `evl`, `debug`, ...) or files in the fork.
    #[serde(default)]
    pub fragments: Vec<String>,
    #[serde(default = "default_tests")]
    pub tests: Vec<TestKind>,
    /// Extra shell commands the guest runs after boot (results by marker/TAP lines).
    #[serde(default)]
    pub run: Option<String>,
    /// Folder copied into the guest's initramfs (e.g. libevl's install tree).
    #[serde(default)]
    pub payload: Option<PathBuf>,
    /// Build only, no boot (e.g. an architecture QEMU cannot run here).
    #[serde(default = "yes")]
    pub boot: bool,
}

fn default_config() -> String {
    "tinyconfig".into()
}

fn default_tests() -> Vec<TestKind> {
    vec![TestKind::Kunit]
}

impl MatrixEntry {
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let config = Path::new(&self.config)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.config.clone());
            format!("{}-{}", self.arch, config)
        })
    }

    /// The fragments in the order `build` applies them, test fragments included.
    pub fn all_fragments(&self) -> Vec<String> {
        let mut f = self.fragments.clone();
        if self.tests.contains(&TestKind::Torture) && !f.iter().any(|x| x == "torture") {
            f.push("torture".into());
        }
        f
    }

    /// The guest's shell commands: `evl test -k` when asked for, then `run`.
    pub fn guest_commands(&self) -> Option<String> {
        let mut cmds = Vec::new();
        if self.tests.contains(&TestKind::Evl) {
            cmds.push("evl test -k".to_string());
        }
        if let Some(r) = &self.run {
            cmds.push(r.clone());
        }
        (!cmds.is_empty()).then(|| cmds.join("; "))
    }

    /// Entries with the same build key share one build output directory.
    pub fn build_key(&self) -> String {
        let mut key = format!(
            "{}-{}",
            self.arch,
            Path::new(&self.config)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let mut frags = self.all_fragments();
        if self.tests.contains(&TestKind::Kunit) {
            frags.push("kunit".into());
        }
        for f in frags {
            let stem = Path::new(&f)
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(f.clone());
            key.push('+');
            key.push_str(&stem);
        }
        key.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// Seconds.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default = "t_boot")]
    pub boot: u64,
    /// No console output for this long is a hang.
    #[serde(default = "t_idle")]
    pub idle: u64,
    /// Per LAVA/CI job.
    #[serde(default = "t_job")]
    pub job: u64,
}

fn t_boot() -> u64 {
    900
}
fn t_idle() -> u64 {
    120
}
fn t_job() -> u64 {
    5400
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            boot: t_boot(),
            idle: t_idle(),
            job: t_job(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Reports and logs; default `<root>/.dovetail-port/ci`.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Build output directories, one per distinct build; default
    /// `~/.cache/dovetail-port/out/<fork folder>-<build key>` so reruns are incremental.
    #[serde(default)]
    pub build_dir: Option<PathBuf>,
    #[serde(default)]
    pub junit: Option<PathBuf>,
    #[serde(default)]
    pub sarif: Option<PathBuf>,
    #[serde(default)]
    pub summary_md: Option<PathBuf>,
}

/// Where LAVA finds the artifacts and which real boards to target besides QEMU.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LavaConfig {
    /// Base URL where the CI publishes `<entry>/<image>`, `<entry>/rootfs.cpio.gz`, dtbs.
    #[serde(default = "default_artifacts")]
    pub artifacts_url: String,
    /// Emit QEMU jobs for every entry whose arch LAVA's `qemu` device type runs.
    #[serde(default = "yes")]
    pub qemu: bool,
    #[serde(default)]
    pub boards: Vec<Board>,
    /// The command (program and arguments) a pipeline job runs after staging an entry's
    /// artifacts, to put them at `artifacts_url/<entry>/`. `{dir}` is replaced by the staged
    /// folder and `{entry}` by the entry's name; CI variables (`${CI_PIPELINE_ID}`) expand.
    #[serde(default)]
    pub publish: Vec<String>,
}

fn default_artifacts() -> String {
    "https://ci.example.org/artifacts/${CI_PIPELINE_ID}".into()
}

impl Default for LavaConfig {
    fn default() -> Self {
        LavaConfig {
            artifacts_url: default_artifacts(),
            qemu: true,
            boards: Vec::new(),
            publish: Vec::new(),
        }
    }
}

/// A real board in the lab (booted by U-Boot over TFTP).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// LAVA device type, e.g. `bcm2711-rpi-4-b`, `imx8mm-evk`.
    pub device_type: String,
    pub arch: String,
    /// Device tree blob path relative to the build output, e.g.
    /// `arch/arm64/boot/dts/broadcom/bcm2711-rpi-4-b.dtb`.
    #[serde(default)]
    pub dtb: Option<String>,
    /// Matrix entries to run on it; all entries of its arch when empty.
    #[serde(default)]
    pub entries: Vec<String>,
}

impl Config {
    /// Reads and checks `path`. Errors name the file and, for syntax errors, the line.
    pub fn load(path: &Path) -> Result<Config, CiError> {
        let text = std::fs::read_to_string(path).map_err(|e| CiError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, CiError> {
        let mut config: Config = crate::data::parse_toml(path, text)?;
        config.check(path)?;
        Ok(config)
    }

    /// Checks what serde cannot and writes each matrix arch in our spelling (`aarch64` →
    /// `arm64`), so everything downstream sees one name.
    fn check(&mut self, path: &Path) -> Result<(), CiError> {
        let bad = |message: String| CiError::BadConfig {
            path: path.to_path_buf(),
            line: None,
            message,
        };
        let mut names = std::collections::BTreeSet::new();
        for e in &mut self.matrix {
            match crate::kbuild::ArchProfile::canonical(&e.arch) {
                Ok(arch) => e.arch = arch,
                Err(err) => return Err(bad(format!("matrix entry `{}`: {err}", e.name()))),
            }
            if let Err(why) = check_entry_name(&e.name()) {
                return Err(bad(format!(
                    "matrix entry name `{}` {why}: it names files, folders and CI jobs; \
                     give the entry a `name = \"...\"` of letters, digits, `.`, `_`, `+`, `-`",
                    e.name().escape_debug()
                )));
            }
            if !names.insert(e.name()) {
                return Err(bad(format!(
                    "two matrix entries are named `{}`: give one a `name = \"...\"`",
                    e.name()
                )));
            }
        }
        for b in &self.lava.boards {
            if let Err(why) = check_entry_name(&b.device_type) {
                return Err(bad(format!(
                    "lava board device_type `{}` {why}: it names the job files",
                    b.device_type.escape_debug()
                )));
            }
            for n in &b.entries {
                if !names.contains(n) {
                    return Err(bad(format!(
                        "lava board `{}` names matrix entry `{n}`, which does not exist",
                        b.device_type
                    )));
                }
            }
        }
        if let Some(l) = &self.lint {
            if l.paths.is_empty() {
                return Err(bad(
                    "[lint] paths is empty: list the folders to check, or remove [lint]".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A matrix entry name becomes a folder, file and job name: letters, digits, `.`, `_`, `+`,
/// `-`, not starting with `.` or `-` (so never `..`, never a path, never an option).
pub fn check_entry_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.starts_with(['.', '-']) {
        return Err("starts with `.` or `-`");
    }
    if name.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
    {
        return Err("has characters other than letters, digits, `.`, `_`, `+`, `-`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let path = Path::new("fork/dovetail-port.toml");
        let text = "[queue]\nbase = \"v6.12\"\n\n[[matrix]]\narch = \"x86_64\"\nfragment = [\"dovetail\"]\n";
        let err = Config::parse(text, path).unwrap_err();
        crate::data::load::testing::assert_points_at(&err, path, 6, "fragment");
    }

    use super::*;

    #[test]
    fn defaults_and_names() {
        let c = Config::parse(
            "[queue]\nbase = \"v6.1\"\n[[matrix]]\narch = \"x86_64\"\n[[matrix]]\narch = \"arm64\"\nconfig = \"defconfig\"\nfragments = [\"dovetail\"]\ntests = [\"kunit\", \"torture\"]\n",
            Path::new("dovetail-port.toml"),
        )
        .unwrap();
        assert_eq!(c.queue.as_ref().unwrap().head, "HEAD");
        assert_eq!(c.matrix[0].name(), "x86_64-tinyconfig");
        assert_eq!(c.matrix[0].tests, vec![TestKind::Kunit]);
        assert_eq!(c.matrix[1].all_fragments(), vec!["dovetail", "torture"]);
        assert_eq!(
            c.matrix[1].build_key(),
            "arm64-defconfig+dovetail+torture+kunit"
        );
        assert_eq!(c.timeouts.boot, 900);
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        let e = Config::parse("[queue]\nbase = \n", Path::new("x/dovetail-port.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x/dovetail-port.toml:2:"), "{e}");
        let e = Config::parse(
            "[[matrix]]\narch = \"x86_64\"\n[[matrix]]\narch = \"x86_64\"\n",
            Path::new("f.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("two matrix entries are named `x86_64-tinyconfig`"),
            "{e}"
        );
        let e = Config::parse("[[matrix]]\narch = \"sparc\"\n", Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown architecture `sparc`"), "{e}");
        let e = Config::parse(
            "[[matrix]]\narch = \"x86_64\"\ncolour = 1\n",
            Path::new("f.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn entry_names_cannot_be_paths_and_arches_take_any_spelling() {
        for name in ["../../x", "a/b", "..", ".hidden", "-rf", "a b", "a\\b", ""] {
            let text = format!("[[matrix]]\narch = \"x86_64\"\nname = {name:?}\n");
            let e = Config::parse(&text, Path::new("f.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("matrix entry name"), "{name}: {e}");
        }
        let c = Config::parse(
            "[[matrix]]\narch = \"aarch64\"\n[[matrix]]\narch = \"riscv\"\nname = \"rv-1.0_b+c\"\n",
            Path::new("f.toml"),
        )
        .unwrap();
        assert_eq!(c.matrix[0].arch, "arm64");
        assert_eq!(c.matrix[0].name(), "arm64-tinyconfig");
        assert_eq!(c.matrix[1].arch, "riscv64");
    }
}
