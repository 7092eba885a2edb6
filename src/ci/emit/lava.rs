//! LAVA job definitions: one per matrix entry on LAVA's `qemu` device type, and one per entry
//! and board (TFTP deploy, U-Boot ramdisk boot), each running the entry's tests in the shell
//! initramfs.

use super::*;

/// The context of LAVA's `qemu` device type for our arch: its name for the arch and the
/// QEMU facts the profile passes on; `None` for an arch without a profile.
fn lava_qemu_context(arch: &str) -> Option<Vec<(&'static str, Y)>> {
    use crate::kbuild::arch::QemuFact;
    let p = crate::kbuild::ArchProfile::load(arch).ok()?;
    let mut context = vec![("arch", s(p.lava.arch.as_str()))];
    for fact in &p.lava.qemu_context {
        context.push(match fact {
            QemuFact::Machine => ("machine", s(p.qemu.machine.as_str())),
            QemuFact::Cpu => ("cpu", s(p.qemu.cpu.as_str())),
        });
    }
    Some(context)
}

fn image_name(arch: &str) -> String {
    crate::kbuild::ArchProfile::load(arch)
        .map(|p| image_file(&p))
        .unwrap_or_else(|_| "Image".into())
}

/// The steps of the inline test definition: KUnit results from debugfs (KTAP per suite), the
/// payload commands, each result reported with `lava-test-case`.
fn test_steps(e: &MatrixEntry) -> Vec<Y> {
    let mut steps = Vec::new();
    if e.tests.contains(&TestKind::Kunit) {
        steps.push(s(
            "mount -t debugfs none /sys/kernel/debug 2>/dev/null || true",
        ));
        // KUnit keeps each suite's KTAP in debugfs (CONFIG_KUNIT_DEBUGFS, in the kunit
        // fragment); the suite's own result line is reported as SUITE.SUITE.
        steps.push(s(
            "for r in /sys/kernel/debug/kunit/*/results; do suite=$(basename $(dirname $r)); \
             sed -n -e 's/^ *not ok [0-9]* \\([^ #]*\\).*/fail \\1/p' \
             -e 's/^ *ok [0-9]* \\([^ #]*\\) *# *SKIP.*/skip \\1/p' \
             -e 's/^ *ok [0-9]* \\([^ #]*\\).*/pass \\1/p' $r | \
             while read v n; do lava-test-case \"$suite.$n\" --result $v; done; done",
        ));
    }
    if e.tests.contains(&TestKind::Torture) {
        steps.push(s(
            "if dmesg | grep -q 'IRQ pipeline tests OK'; then lava-test-case irq_pipeline_torture --result pass; \
             else lava-test-case irq_pipeline_torture --result fail; fi",
        ));
    }
    if let Some(cmds) = e.guest_commands() {
        // The payload reports with `@@dpt@@ ok|fail|skip NAME` lines (and `evl test` lines).
        steps.push(s(format!(
            "( {cmds} ) 2>&1 | tee /tmp/payload.log; echo \"payload exit $?\""
        )));
        steps.push(s(
            "sed -n 's/.*@@dpt@@ \\(ok\\|fail\\|skip\\) \\(.*\\)/\\1 \\2/p' /tmp/payload.log | \
             while read v n m; do case $v in ok) r=pass;; fail) r=fail;; *) r=skip;; esac; \
             lava-test-case \"$n\" --result $r; done",
        ));
        if e.tests.contains(&TestKind::Evl) {
            steps.push(s(
                // `evl test -k` lines: `NAME: OK`, `** NAME: BROKEN`, `NAME: no kernel support`.
                "sed -n -e 's/^\\*\\* \\([A-Za-z0-9_.-]*\\): BROKEN.*/fail \\1/p' \
                 -e 's/^\\([A-Za-z0-9_.-]*\\): no kernel support.*/skip \\1/p' \
                 -e 's/^\\([A-Za-z0-9_.-]*\\): OK$/pass \\1/p' /tmp/payload.log | \
                 while read v n; do lava-test-case \"evl.$n\" --result $v; done",
            ));
        }
    }
    if steps.is_empty() {
        steps.push(s("lava-test-case boot --result pass"));
    }
    steps
}

fn test_action(c: &Config, e: &MatrixEntry) -> Y {
    map(vec![(
        "test",
        map(vec![
            ("timeout", minutes(c.timeouts.boot)),
            (
                "definitions",
                list([map(vec![
                    ("from", s("inline")),
                    ("name", s(format!("dovetail-port-{}", e.name()))),
                    ("path", s("inline/dovetail-port.yaml")),
                    (
                        "repository",
                        map(vec![
                            (
                                "metadata",
                                map(vec![
                                    ("format", s("Lava-Test Test Definition 1.0")),
                                    ("name", s(format!("dovetail-port-{}", e.name()))),
                                    (
                                        "description",
                                        s(format!(
                                            "KUnit, boot self tests and payload of matrix entry {}",
                                            e.name()
                                        )),
                                    ),
                                ]),
                            ),
                            ("run", map(vec![("steps", Y::List(test_steps(e)))])),
                        ]),
                    ),
                ])]),
            ),
        ]),
    )])
}

fn job_head(c: &Config, e: &MatrixEntry, device_type: &str) -> Vec<(&'static str, Y)> {
    vec![
        ("device_type", s(device_type)),
        (
            "job_name",
            s(format!("dovetail-port {} on {device_type}", e.name())),
        ),
        (
            "timeouts",
            map(vec![
                ("job", minutes(c.timeouts.job)),
                ("action", minutes(c.timeouts.boot)),
                ("connection", minutes(120)),
            ]),
        ),
        ("priority", s("medium")),
        ("visibility", s("public")),
    ]
}

fn url(c: &Config, e: &MatrixEntry, file: &str) -> String {
    format!(
        "{}/{}/{}",
        fill_vars(&c.lava.artifacts_url, |v| std::env::var(v).ok()).trim_end_matches('/'),
        e.name(),
        file
    )
}

/// `${NAME}` replaced by its value where `lookup` has one (the CI variables of the job that
/// emits the LAVA jobs); unknown ones stay as written.
pub fn fill_vars(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end)
                if !after[..end].is_empty()
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                match lookup(&after[..end]) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[start..start + 2 + end + 1]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How LAVA logs in to the shell initramfs (`dovetail-port initramfs --shell`): root at its
/// login prompt, then its shell prompt.
fn login() -> Vec<(&'static str, Y)> {
    use crate::boot::initramfs::{SHELL_HOSTNAME, SHELL_PROMPT};
    vec![
        ("prompts", list([s(SHELL_PROMPT)])),
        (
            "auto_login",
            map(vec![
                ("login_prompt", s(format!("{SHELL_HOSTNAME} login:"))),
                ("username", s("root")),
            ]),
        ),
    ]
}

/// The boot action: `how` (method and its settings), the boot timeout and the login.
fn boot_action<const N: usize>(c: &Config, how: [(&'static str, Y); N]) -> Y {
    let mut fields = vec![("timeout", minutes(c.timeouts.boot))];
    fields.extend(how);
    fields.extend(login());
    map(vec![("boot", map(fields))])
}

/// One LAVA job for `e` on LAVA's `qemu` device type.
pub fn lava_qemu(c: &Config, e: &MatrixEntry) -> Option<String> {
    let context = lava_qemu_context(&e.arch)?;
    let mut job = job_head(c, e, "qemu");
    job.push(("context", map(context)));
    job.push((
        "actions",
        list([
            map(vec![(
                "deploy",
                map(vec![
                    ("timeout", minutes(300)),
                    ("to", s("tmpfs")),
                    ("os", s("oe")),
                    (
                        "images",
                        map(vec![
                            (
                                "kernel",
                                map(vec![
                                    ("image_arg", s("-kernel {kernel}")),
                                    ("url", s(url(c, e, &image_name(&e.arch)))),
                                ]),
                            ),
                            (
                                "ramdisk",
                                map(vec![
                                    ("image_arg", s("-initrd {ramdisk}")),
                                    ("url", s(url(c, e, "rootfs.cpio.gz"))),
                                    ("compression", s("gz")),
                                ]),
                            ),
                        ]),
                    ),
                ]),
            )]),
            boot_action(c, [("method", s("qemu")), ("media", s("tmpfs"))]),
            test_action(c, e),
        ]),
    ));
    Some(yaml::render(
        &map(job),
        &format!("{HEADER}\nLAVA job: matrix entry {} under QEMU.", e.name()),
    ))
}

/// One LAVA job for `e` on a real board: TFTP deploy, U-Boot ramdisk boot.
pub fn lava_board(c: &Config, e: &MatrixEntry, b: &Board) -> String {
    let mut deploy = vec![
        ("timeout", minutes(300)),
        ("to", s("tftp")),
        ("os", s("oe")),
        (
            "kernel",
            map(vec![
                ("url", s(url(c, e, &image_name(&e.arch)))),
                (
                    "type",
                    s(crate::kbuild::ArchProfile::load(&e.arch)
                        .map_or_else(|_| "image".to_string(), |p| p.lava.kernel_type)),
                ),
            ]),
        ),
        (
            "ramdisk",
            map(vec![
                ("url", s(url(c, e, "rootfs.cpio.gz"))),
                ("compression", s("gz")),
            ]),
        ),
    ];
    if let Some(dtb) = &b.dtb {
        let name = std::path::Path::new(dtb)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dtb.clone());
        deploy.push(("dtb", map(vec![("url", s(url(c, e, &name)))])));
    }
    let mut job = job_head(c, e, &b.device_type);
    job.push((
        "actions",
        list([
            map(vec![("deploy", map(deploy))]),
            boot_action(c, [("method", s("u-boot")), ("commands", s("ramdisk"))]),
            test_action(c, e),
        ]),
    ));
    yaml::render(
        &map(job),
        &format!(
            "{HEADER}\nLAVA job: matrix entry {} on {}.",
            e.name(),
            b.device_type
        ),
    )
}

/// Every LAVA job: (file name, text).
pub fn lava(c: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in c.matrix.iter().filter(|e| e.boot) {
        if c.lava.qemu {
            if let Some(text) = lava_qemu(c, e) {
                out.push((format!("{}-qemu.yaml", e.name()), text));
            }
        }
        for b in &c.lava.boards {
            if board_wants(b, e) {
                out.push((
                    format!("{}-{}.yaml", e.name(), b.device_type),
                    lava_board(c, e, b),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lava_urls_take_ci_variable_values() {
        let env = |v: &str| (v == "CI_PIPELINE_ID").then(|| "4242".to_string());
        assert_eq!(
            fill_vars("https://x/${CI_PIPELINE_ID}/${UNSET}/$${", env),
            "https://x/4242/${UNSET}/$${"
        );
        assert_eq!(fill_vars("${a-b}${", env), "${a-b}${");
    }

    #[test]
    fn lava_qemu_context_is_the_profiles() {
        let text = |ctx: Vec<(&str, Y)>| {
            ctx.into_iter()
                .map(|(k, v)| match v {
                    Y::Str(v) => format!("{k}={v}"),
                    _ => format!("{k}=?"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let arm64 = crate::kbuild::ArchProfile::load("arm64").unwrap();
        assert_eq!(
            text(lava_qemu_context("aarch64").unwrap()),
            format!(
                "arch=arm64 machine={} cpu={}",
                arm64.qemu.machine, arm64.qemu.cpu
            )
        );
        assert_eq!(text(lava_qemu_context("x86_64").unwrap()), "arch=amd64");
        assert_eq!(
            text(lava_qemu_context("riscv64").unwrap()),
            "arch=riscv64 machine=virt"
        );
        assert!(lava_qemu_context("sparc").is_none());
    }
}
