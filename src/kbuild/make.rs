//! Running kbuild's make: argument lists, live progress, the build log, and the first
//! compiler error when it fails.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use indicatif::{ProgressBar, ProgressStyle};

use super::KbuildError;

/// The fixed part of every make call for one out-of-tree build.
#[derive(Debug, Clone)]
pub struct Make {
    pub tree: PathBuf,
    pub out: PathBuf,
    pub make_arch: String,
    pub cross: String,
}

impl Make {
    pub fn args(&self, jobs: usize, targets: &[&str]) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "-C".into(),
            self.tree.clone().into(),
            format!("O={}", self.out.display()).into(),
            format!("ARCH={}", self.make_arch).into(),
        ];
        if !self.cross.is_empty() {
            a.push(format!("CROSS_COMPILE={}", self.cross).into());
        }
        a.push(format!("-j{}", jobs.max(1)).into());
        a.extend(targets.iter().map(OsString::from));
        a
    }

    /// A short make call (config targets): output kept only for the error message.
    pub fn quiet(&self, targets: &[&str]) -> Result<(), KbuildError> {
        let args = self.args(1, targets);
        let out = Command::new("make")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| KbuildError::Io {
                path: PathBuf::from("make"),
                source: e,
            })?;
        if !out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            return Err(KbuildError::MakeFailed {
                target: targets.join(" "),
                first_error: first_error(&text)
                    .unwrap_or_else(|| tail.into_iter().rev().collect::<Vec<_>>().join("\n")),
                log: None,
            });
        }
        Ok(())
    }

    /// The real build: output streamed into `log`, a progress bar fed by kbuild's step lines.
    pub fn build(
        &self,
        jobs: usize,
        targets: &[&str],
        log: &Path,
        show_progress: bool,
    ) -> Result<(), KbuildError> {
        let io = |e| KbuildError::Io {
            path: log.to_path_buf(),
            source: e,
        };
        let steps_file = self.out.join(".dovetail-port-steps");
        let expected: Option<u64> = std::fs::read_to_string(&steps_file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let bar = if show_progress {
            let bar = match expected {
                Some(n) => ProgressBar::new(n).with_style(
                    ProgressStyle::with_template(
                        "  building {bar:30} {pos}/{len} steps {elapsed} {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template(
                        "  building {spinner} {pos} steps {elapsed} {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            };
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            Some(bar)
        } else {
            None
        };

        let mut child = Command::new("make")
            .args(self.args(jobs, targets))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| KbuildError::Io {
                path: PathBuf::from("make"),
                source: e,
            })?;
        let (tx, rx) = mpsc::channel::<String>();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            }));
        }
        if let Some(err) = child.stderr.take() {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            }));
        }
        drop(tx);
        let mut file = std::io::BufWriter::new(std::fs::File::create(log).map_err(io)?);
        let mut steps = 0u64;
        let mut text = String::new();
        for line in rx {
            writeln!(file, "{line}").map_err(io)?;
            if is_step(&line) {
                steps += 1;
                if let Some(bar) = &bar {
                    bar.set_position(steps);
                    bar.set_message(line.trim().to_string());
                }
            }
            if text.len() < 4 << 20 {
                text.push_str(&line);
                text.push('\n');
            }
        }
        file.flush().map_err(io)?;
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(io)?;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        if !status.success() {
            return Err(KbuildError::MakeFailed {
                target: targets.join(" "),
                first_error: first_error(&text).unwrap_or_else(|| {
                    let tail: Vec<&str> = text.lines().rev().take(15).collect();
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                }),
                log: Some(log.to_path_buf()),
            });
        }
        // A full build's step count sizes the next progress bar; an incremental one would not.
        if expected.is_none_or(|e| steps > e / 2) {
            let _ = std::fs::write(&steps_file, steps.to_string());
        }
        Ok(())
    }
}

/// Kbuild's quiet-mode step lines: `  CC      kernel/fork.o`, `  LD      vmlinux`...
fn is_step(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("  ") else {
        return false;
    };
    let word = rest.split_whitespace().next().unwrap_or("");
    !word.is_empty()
        && word.len() <= 10
        && word.chars().all(|c| {
            c.is_ascii_uppercase()
                || c.is_ascii_digit()
                || c == '_'
                || c == '-'
                || c == '['
                || c == ']'
        })
}

/// The first compiler or linker error in make's output, as `file:line: error: message`.
pub fn first_error(output: &str) -> Option<String> {
    for line in output.lines() {
        // gcc/clang: `path/file.c:12:5: error: message` (also `fatal error:`).
        if let Some(pos) = line
            .find(": error: ")
            .or_else(|| line.find(": fatal error: "))
        {
            let loc = &line[..pos];
            let mut parts = loc.rsplitn(3, ':');
            let last = parts.next().unwrap_or("");
            if last.chars().all(|c| c.is_ascii_digit()) && !last.is_empty() {
                return Some(line.trim().to_string());
            }
        }
        if line.contains("undefined reference to") || line.contains("multiple definition of") {
            return Some(line.trim().to_string());
        }
    }
    output
        .lines()
        .find(|l| l.contains("*** ") && !l.contains("Waiting for unfinished jobs"))
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_a_list() {
        let m = Make {
            tree: "/src/linux".into(),
            out: "/tmp/o".into(),
            make_arch: "arm64".into(),
            cross: "aarch64-linux-gnu-".into(),
        };
        let a: Vec<String> = m
            .args(2, &["Image"])
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            a,
            [
                "-C",
                "/src/linux",
                "O=/tmp/o",
                "ARCH=arm64",
                "CROSS_COMPILE=aarch64-linux-gnu-",
                "-j2",
                "Image"
            ]
        );
    }

    #[test]
    fn first_error_wins() {
        let out = "\
  CC      kernel/fork.o
../kernel/fork.c: In function 'copy_process':
../kernel/fork.c:2012:9: error: implicit declaration of function 'dovetail_init_altsched'
../kernel/fork.c:2040:3: error: second one
make[3]: *** [../scripts/Makefile.build:229: kernel/fork.o] Error 1
";
        assert_eq!(
            first_error(out).unwrap(),
            "../kernel/fork.c:2012:9: error: implicit declaration of function 'dovetail_init_altsched'"
        );
        assert_eq!(
            first_error("ld: vmlinux.o: in function `x':\nfoo.c:(.text+0x1): undefined reference to `evl_y'\n").unwrap(),
            "foo.c:(.text+0x1): undefined reference to `evl_y'"
        );
        assert!(is_step("  CC      kernel/fork.o"));
        assert!(is_step("  LD [M]  fs/foo.ko"));
        assert!(!is_step("make[1]: Entering directory"));
    }
}
