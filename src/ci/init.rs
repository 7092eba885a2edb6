//! `ci init`: a commented `dovetail-port.toml` fitted to the tree it is run in.

use std::fmt::Write;
use std::path::Path;

use super::CiError;

/// What `init` learnt about the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeFacts {
    pub version: Option<String>,
    /// The nearest tag below HEAD (the queue's likely base), when the tree is a git repo.
    pub base_tag: Option<String>,
    /// Profiles whose arch/ folder the tree has, host arch first.
    pub arches: Vec<String>,
    pub dovetail: bool,
    pub evl: bool,
}

/// Looks at the tree without changing anything.
pub fn inspect(root: &Path) -> TreeFacts {
    let version = crate::kernels::kernel_version(root).ok();
    let base_tag = git2::Repository::discover(root).ok().and_then(|repo| {
        let mut opts = git2::DescribeOptions::new();
        opts.describe_tags();
        let d = repo.describe(&opts).ok()?;
        let mut f = git2::DescribeFormatOptions::new();
        f.abbreviated_size(0);
        d.format(Some(&f)).ok()
    });
    let mut arches: Vec<String> = crate::kbuild::ArchProfile::known()
        .into_iter()
        .filter(|a| {
            crate::kbuild::ArchProfile::load(a)
                .map(|p| root.join("arch").join(&p.source_arch).is_dir())
                .unwrap_or(false)
        })
        .collect();
    let host = std::env::consts::ARCH;
    arches.sort_by_key(|a| {
        (
            crate::kbuild::ArchProfile::load(a)
                .map(|p| p.host_arch != host)
                .unwrap_or(true),
            a.clone(),
        )
    });
    TreeFacts {
        version,
        base_tag,
        arches,
        dovetail: root.join("kernel/irq/pipeline.c").is_file(),
        evl: root.join("kernel/evl").is_dir(),
    }
}

/// The file's text. Every key is explained; optional keys are shown commented out.
pub fn render(facts: &TreeFacts) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# dovetail-port CI gate for this fork{}.\n\
         # `dovetail-port ci` runs it here; `dovetail-port ci emit gitlab|github|lava` hands the\n\
         # same matrix to CI runners and LAVA labs.\n",
        facts
            .version
            .as_ref()
            .map(|v| format!(" (Linux {v})"))
            .unwrap_or_default()
    );
    let base = facts.base_tag.clone().unwrap_or_else(|| {
        facts
            .version
            .as_ref()
            .map(|v| format!("v{}", v.split('.').take(2).collect::<Vec<_>>().join(".")))
            .unwrap_or_else(|| "v6.1".into())
    });
    let _ = writeln!(
        s,
        "# The queue is the commits base..head. The gate replays them in memory onto `onto`\n\
         # (default: base) and fails on any conflict; nothing in this repository moves.\n\
         [queue]\n\
         base = \"{base}\"\n\
         head = \"HEAD\"\n\
         # onto = \"stable/linux-{}.y\"   # the upstream branch you track\n\
         # topics = \"topics.toml\"        # topic rules for the report (built-in otherwise)\n\
         # verify = \"build\"              # then build the result (first [[matrix]] kernel);\n\
         #                               # a failure is bisected to the patch that breaks it\n",
        base.trim_start_matches('v')
    );
    let lint_path = if facts.evl { "drivers/evl" } else { "drivers" };
    let _ = writeln!(
        s,
        "# Out-of-band safety lint. With diff = true only findings on lines changed since\n\
         # queue.base count; findings listed in the baseline never fail the gate.\n\
         [lint]\n\
         paths = [\"{lint_path}\"]\n\
         # baseline = \"lint-baseline.json\"\n\
         # kconfig = \"lint.config\"   # a .config deciding #ifdef CONFIG_X (default: rules' assumptions)\n\
         # arch = \"x86\"             # the one arch whose code is resolved\n\
         diff = true\n"
    );
    let mut frags = Vec::new();
    if facts.dovetail {
        frags.push("\"dovetail\"");
    }
    if facts.evl {
        frags.push("\"evl\"");
    }
    let mut tests = vec!["\"kunit\""];
    if facts.dovetail {
        tests.push("\"torture\"");
    }
    let _ = writeln!(
        s,
        "# One entry per kernel to build, boot under QEMU and test. Entries with the same arch,\n\
         # config and fragments share one build. tests: kunit (KUnit suites), torture (the\n\
         # IRQ pipeline torture tests at boot), evl (`evl test -k`, needs payload = libevl).\n\
         # run = \"shell commands\" adds payload commands; boot = false builds only."
    );
    let arches = if facts.arches.is_empty() {
        vec!["x86_64".to_string()]
    } else {
        facts.arches.clone()
    };
    for (i, arch) in arches.iter().enumerate() {
        let c = if i == 0 { "" } else { "# " };
        let _ = writeln!(
            s,
            "{c}[[matrix]]\n{c}arch = \"{arch}\"\n{c}config = \"tinyconfig\"\n{c}fragments = [{}]\n{c}tests = [{}]\n",
            frags.join(", "),
            tests.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "# Seconds: the whole boot, silence before a hang is declared, and a CI/LAVA job.\n\
         [timeouts]\n\
         boot = 900\n\
         idle = 120\n\
         job = 5400\n\n\
         # Where reports go (default .dovetail-port/ci) and which files to write every run.\n\
         [outputs]\n\
         # dir = \".dovetail-port/ci\"\n\
         # build_dir = \"/var/cache/dovetail-port/out\"\n\
         # junit = \"ci-junit.xml\"\n\
         # sarif = \"ci-lint.sarif\"\n\
         # summary_md = \"ci-summary.md\"\n\n\
         # Where the emitted pipelines run. Every job runs the install commands first; the\n\
         # default installs the Debian packages of `dovetail-port doctor --apt`, then the\n\
         # tool with `cargo install` (from `source` when set, else crates.io).\n\
         [ci]\n\
         # image = \"rust:1-bookworm\"   # GitLab image:, GitHub container:\n\
         # tags = [\"kvm\"]              # GitLab runner tags\n\
         # runs_on = [\"ubuntu-latest\"] # GitHub runs-on\n\
         # source = \"https://git.example.org/you/dovetail-port.git\"\n\
         # install = [\"apt-get update\", \"apt-get install -y ...\"]\n\n\
         # `ci emit lava`: where the CI publishes <entry>/<kernel image> and <entry>/rootfs.cpio.gz,\n\
         # and the lab's real boards (booted with U-Boot over TFTP) besides QEMU.\n\
         [lava]\n\
         artifacts_url = \"https://ci.example.org/artifacts/${{CI_PIPELINE_ID}}\"\n\
         qemu = true\n\
         # Run by each pipeline job after staging <entry>'s files in {{dir}}, to upload them:\n\
         # publish = [\"rsync\", \"-a\", \"{{dir}}/\", \"lab:/srv/artifacts/${{CI_PIPELINE_ID}}/{{entry}}/\"]\n\
         # [[lava.boards]]\n\
         # device_type = \"bcm2711-rpi-4-b\"\n\
         # arch = \"arm64\"\n\
         # dtb = \"arch/arm64/boot/dts/broadcom/bcm2711-rpi-4-b.dtb\""
    );
    s
}

/// Writes `<root>/dovetail-port.toml`; refuses to overwrite unless `force`.
pub fn write(root: &Path, force: bool) -> Result<std::path::PathBuf, CiError> {
    let path = root.join(super::config::FILE_NAME);
    if path.exists() && !force {
        return Err(CiError::ConfigExists(path));
    }
    let text = render(&inspect(root));
    let tmp = root.join(format!(".{}.tmp", super::config::FILE_NAME));
    std::fs::write(&tmp, &text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| CiError::Io {
            path: path.clone(),
            source: e,
        })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::config::Config;

    #[test]
    fn rendered_default_parses_and_follows_the_tree() {
        let facts = TreeFacts {
            version: Some("6.1.0".into()),
            base_tag: None,
            arches: vec!["x86_64".into(), "arm64".into()],
            dovetail: true,
            evl: true,
        };
        let text = render(&facts);
        let c = Config::parse(&text, Path::new("dovetail-port.toml")).unwrap();
        assert_eq!(c.queue.unwrap().base, "v6.1");
        assert_eq!(
            c.lint.unwrap().paths,
            vec![std::path::PathBuf::from("drivers/evl")]
        );
        assert_eq!(c.matrix.len(), 1, "only the first arch is enabled");
        assert_eq!(c.matrix[0].fragments, vec!["dovetail", "evl"]);
        assert!(text.contains("# arch = \"arm64\""));
    }
}
