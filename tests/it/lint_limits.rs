//! `dovetail-port lint` on inputs built to make it hang or fail open: pathological
//! functions (generated here) finish with the analysis intact or refused with a note, and
//! unreadable or special files stop the run (exit 2) unless `--skip-unreadable`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs the lint with a hang guard: a run that has not ended after two minutes is a
/// hang (the inputs below take well under a few seconds each).
fn lint(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .arg("lint")
        .args(["-q", "--format", "json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("lint {args:?} did not finish: it hangs on this input");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// One oob ioctl whose body is `body` followed by a real violation (`mutex_lock`).
fn driver(dir: &Path, body: &str) {
    let src = format!(
        "static long p_oob_ioctl(struct file *f, unsigned int c, unsigned long a)\n{{\n{body}\n\tmutex_lock(&m);\n\treturn 0;\n}}\nstatic const struct file_operations fops = {{ .oob_ioctl = p_oob_ioctl, }};\n"
    );
    std::fs::write(dir.join("p.c"), src).unwrap();
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn services(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["service"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pathological_functions_finish_and_keep_their_findings() {
    let cases: Vec<(&str, String, bool)> = vec![
        // (name, body, refused as too deep)
        (
            "10000 calls",
            (0..10_000)
                .map(|i| format!("\th{}(a);\n", i % 50))
                .collect(),
            false,
        ),
        (
            "1000 nested macro calls",
            format!("\tx = {}0{};", "M(".repeat(1000), ")".repeat(1000)),
            true,
        ),
        (
            "1000 nested loop macros",
            format!(
                "{}\tf();\n{}",
                "\tlist_for_each_entry(pos, head, node) {\n".repeat(1000),
                "\t}\n".repeat(1000)
            ),
            true,
        ),
        (
            "20000 nested calls",
            format!("\tf({}0{});", "f(".repeat(20_000), ")".repeat(20_000)),
            true,
        ),
        (
            "100000 nested braces",
            format!("{}g();{}", "{".repeat(100_000), "}".repeat(100_000)),
            true,
        ),
        (
            "20000 conditions through a macro of the tree",
            format!(
                "#define S(x) unlikely(running_inband() && (x))\n{}",
                "\tif (S(a)) b();\n".repeat(20_000)
            ),
            false,
        ),
        (
            "1000 nested condition macros",
            format!(
                "#define S(x) unlikely(running_inband() && (x))\n\tif ({}a{}) b();\n",
                "S(".repeat(1000),
                ")".repeat(1000)
            ),
            true,
        ),
        (
            "200 nested loops each switching in-band, the innermost back to oob",
            format!(
                "\tevl_switch_inband(0);\n{}\tevl_switch_oob();\n{}",
                "\twhile (n) {\n\tevl_switch_inband(0);\n".repeat(200),
                "\t}\n".repeat(200)
            ),
            false,
        ),
        (
            "500000 calls on one line",
            format!("\t{}", "f();".repeat(500_000)),
            false,
        ),
    ];
    for (name, body, deep) in cases {
        let tmp = tempfile::tempdir().unwrap();
        driver(tmp.path(), &body);
        let out = lint(&[tmp.path().as_os_str()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let v = report(&out);
        // The violation after the pathological part is still found.
        assert_eq!(services(&v), ["mutex_lock"], "{name}");
        let notes = v["notes"].as_array().unwrap();
        if deep {
            assert!(
                notes.len() == 1
                    && notes[0]
                        .as_str()
                        .unwrap()
                        .contains("`p_oob_ioctl()` nests deeper"),
                "{name}: {notes:?}"
            );
        } else {
            assert!(notes.is_empty(), "{name}: {notes:?}");
        }
    }
}

#[test]
fn a_file_larger_than_any_kernel_source_is_refused_with_a_note() {
    // A 5-million-call line (20 MB).
    let tmp = tempfile::tempdir().unwrap();
    driver(tmp.path(), &format!("\t{}", "f();".repeat(5_000_000)));
    let out = lint(&[tmp.path().as_os_str()]);
    let v = report(&out);
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes.len() == 1 && notes[0].as_str().unwrap().contains("p.c: 20.0 MB"),
        "{notes:?}"
    );
    // In the human report too.
    let out = Command::new(env!("CARGO_BIN_EXE_dovetail-port"))
        .args(["lint", "-q"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("lint: note: p.c: 20.0 MB"), "{text}");
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success());
}

#[test]
fn special_and_unreadable_files_stop_the_run_unless_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    driver(&tree, "");

    // A FIFO given as PATH: reading it would block forever.
    let fifo = tmp.path().join("given.c");
    mkfifo(&fifo);
    let out = lint(&[fifo.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("given.c: is a FIFO") && err.contains("--skip-unreadable"),
        "{err}"
    );

    // A FIFO and a dangling link met in a folder.
    mkfifo(&tree.join("pipe.c"));
    let out = lint(&[tree.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pipe.c: is a FIFO"), "{err}");
    std::fs::remove_file(tree.join("pipe.c")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("nowhere.c"), tree.join("gone.c")).unwrap();
    let out = lint(&[tree.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("gone.c: cannot read"), "{err}");

    // A character device given.
    let out = lint(&[std::ffi::OsStr::new("/dev/null")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/null: is a character device"), "{err}");

    // --skip-unreadable: the rest is linted, the skipped ones are listed.
    mkfifo(&tree.join("pipe.c"));
    let skip = std::ffi::OsStr::new("--skip-unreadable");
    let out = lint(&[skip, tree.as_os_str(), fifo.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = report(&out);
    assert_eq!(services(&v), ["mutex_lock"]);
    let skipped: Vec<&str> = v["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    for name in ["given.c", "pipe.c", "gone.c"] {
        assert!(skipped.iter().any(|s| s.contains(name)), "{skipped:?}");
    }
}
