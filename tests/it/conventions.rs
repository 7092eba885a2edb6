//! Conventions every command shares: a closed pipe ends quietly, `--color` and the colour
//! variables, JSON reports with `schema_version`, completions and man pages.

use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dovetail-port"));
    c.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    c
}

#[test]
#[cfg(unix)]
fn closed_pipe_ends_quietly_with_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    for args in [&["man"][..], &["completions", "bash"], &["doctor"]] {
        // The reader is gone before the first byte, as with `| head -0`.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = bin()
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(
            out.status.signal(),
            Some(libc_sigpipe()),
            "{args:?}: {:?}",
            out.status
        );
    }
}

fn libc_sigpipe() -> i32 {
    13
}

fn lint_human(args: &[&str], env: &[(&str, &str)]) -> String {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/oob_driver");
    let mut c = bin();
    c.arg("lint").arg(&fixture).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_follows_flag_then_environment() {
    let esc = |s: &str| s.contains("\x1b[");
    assert!(esc(&lint_human(&["--color", "always"], &[])));
    assert!(esc(&lint_human(&[], &[("CLICOLOR_FORCE", "1")])));
    // NO_COLOR wins over CLICOLOR_FORCE; --color always wins over both.
    assert!(!esc(&lint_human(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(esc(&lint_human(
        &["--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(!esc(&lint_human(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    // Not a terminal and nothing forcing it: plain.
    assert!(!esc(&lint_human(&[], &[("TERM", "dumb")])));
    assert!(!esc(&lint_human(&[], &[])));
}

#[test]
fn json_reports_carry_schema_version() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/oob_driver");
    let lint = bin()
        .args(["lint", "--format", "json"])
        .arg(&fixture)
        .output()
        .unwrap();
    let doctor = bin().args(["doctor", "--format", "json"]).output().unwrap();
    for out in [lint, doctor] {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["schema_version"], 1, "{v}");
    }
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("rebase") && text.contains("new-arch"),
            "{shell}"
        );
        if shell == "bash" {
            // The script is valid bash.
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("c.bash");
            std::fs::write(&f, text.as_bytes()).unwrap();
            let check = Command::new("bash").arg("-n").arg(&f).output().unwrap();
            assert!(
                check.status.success(),
                "{}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let out = bin().args(["man", "queue", "list"]).output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH dovetail-port-queue-list 1"), "{page}");
    let out = bin().args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no command `nope`"));
}
