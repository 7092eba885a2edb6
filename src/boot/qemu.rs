//! Running QEMU: the command line from an arch profile, the accelerator probe, and the
//! console watcher that streams, logs, and stops the guest at the completion marker, a fatal
//! event, or a timeout.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::BootError;
use crate::kbuild::ArchProfile;
use crate::results::{crash, marker, BootEnd};

/// Which accelerator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM when the guest is the host's architecture and KVM proves to work, else TCG.
    Auto,
    Kvm,
    Tcg,
}

impl Accel {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Accel::Auto),
            "kvm" => Some(Accel::Kvm),
            "tcg" => Some(Accel::Tcg),
            _ => None,
        }
    }
}

/// One QEMU invocation.
#[derive(Debug, Clone)]
pub struct QemuCommand {
    pub binary: String,
    pub args: Vec<OsString>,
}

#[allow(clippy::too_many_arguments)]
pub fn command(
    profile: &ArchProfile,
    kernel: &Path,
    initrd: &Path,
    kvm: bool,
    memory_mb: u32,
    cpus: u32,
    append: &[String],
) -> QemuCommand {
    let q = &profile.qemu;
    let mut cmdline = vec![
        format!("console={}", q.console),
        // Reboot at once on panic: with -no-reboot, QEMU then exits and we stop waiting.
        "panic=-1".to_string(),
    ];
    cmdline.extend(append.iter().cloned());
    let mut args: Vec<OsString> = vec![
        "-machine".into(),
        q.machine.clone().into(),
        "-accel".into(),
        if kvm { "kvm" } else { "tcg" }.into(),
        "-cpu".into(),
        if kvm {
            "host".into()
        } else {
            q.cpu.clone().into()
        },
        "-m".into(),
        memory_mb.to_string().into(),
        "-smp".into(),
        cpus.to_string().into(),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-display".into(),
        "none".into(),
        "-serial".into(),
        "stdio".into(),
        "-monitor".into(),
        "none".into(),
        "-no-reboot".into(),
        "-kernel".into(),
        kernel.into(),
        "-initrd".into(),
        initrd.into(),
        "-append".into(),
        cmdline.join(" ").into(),
    ];
    args.extend(q.args.iter().map(OsString::from));
    QemuCommand {
        binary: q.binary.clone(),
        args,
    }
}

/// Whether KVM is worth trying: same architecture as the host and /dev/kvm usable.
pub fn kvm_candidate(profile: &ArchProfile) -> bool {
    std::env::consts::ARCH == profile.host_arch
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok()
}

/// Where a failed KVM probe is remembered, so later boots go straight to TCG.
pub fn kvm_verdict_file() -> PathBuf {
    crate::kernels::cache_root().join("kvm-probe")
}

/// Limits for one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Kill when the guest prints nothing for this long.
    pub idle: Duration,
    /// Kill when the whole boot takes longer than this.
    pub total: Duration,
    /// If set, kill when the *first* line takes longer than this (accelerator probe).
    pub first_output: Option<Duration>,
}

/// How a run ended, with the console it printed.
#[derive(Debug)]
pub struct RunResult {
    pub end: BootEnd,
    pub console: String,
    /// True when `first_output` expired: the accelerator produced nothing.
    pub no_first_output: bool,
    pub duration: Duration,
    /// QEMU's own stderr (errors about the command line, firmware...).
    pub qemu_stderr: String,
    /// QEMU's process id (killed and reaped by the time the result is returned).
    pub pid: u32,
}

/// Kills and reaps the child on every path, so no QEMU outlives a run.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends each console line to `tx`. QEMU's serial port writes the console a byte at a time, so
/// a reader woken by every write would contend with the guest for the CPU (TCG is CPU-bound):
/// after a short read it waits a little for more, which bounds wake-ups to a few hundred a
/// second at the cost of a few milliseconds of latency.
fn forward_lines(mut out: impl Read, tx: mpsc::Sender<String>) {
    const BATCH: Duration = Duration::from_millis(4);
    let mut chunk = [0u8; 16384];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match out.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if tx
                .send(String::from_utf8_lossy(&line).into_owned())
                .is_err()
            {
                return;
            }
        }
        if n < chunk.len() {
            std::thread::sleep(BATCH);
        }
    }
    if !pending.is_empty() {
        let _ = tx.send(String::from_utf8_lossy(&pending).into_owned());
    }
}

/// What the watcher shows on stderr while the guest runs (the console always goes to the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Nothing,
    /// Every console line.
    Console,
    /// One line per top-level KTAP suite as it ends.
    Suites,
}

/// Runs QEMU, streaming the console to `log` and showing on stderr what `live` asks for.
pub fn run(
    cmd: &QemuCommand,
    limits: Limits,
    log: &Path,
    live: Live,
) -> Result<RunResult, BootError> {
    let io = |e| BootError::Io {
        path: log.to_path_buf(),
        source: e,
    };
    let mut logf = std::io::BufWriter::new(std::fs::File::create(log).map_err(io)?);
    let child = Command::new(&cmd.binary)
        .args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BootError::Spawn {
            program: cmd.binary.clone(),
            source: e,
        })?;
    let pid = child.id();
    let mut reaper = Reaper(Some(child));
    let child = reaper.0.as_mut().expect("just spawned");
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || forward_lines(stdout, tx));

    let start = Instant::now();
    let mut last_output = Instant::now();
    let mut console = String::new();
    let mut seen_any = false;
    // After a fatal event, keep reading briefly for the stack trace, then stop.
    let mut fatal_at: Option<Instant> = None;
    let grace = Duration::from_secs(3);
    let mut stdout_live = std::io::stderr();
    let mut suites = crate::results::ktap::LiveSuites::default();
    let mut no_first_output = false;

    let end = loop {
        let now = Instant::now();
        let mut wait = limits
            .total
            .saturating_sub(now - start)
            .min(limits.idle.saturating_sub(now - last_output));
        if let (Some(first), false) = (limits.first_output, seen_any) {
            wait = wait.min(first.saturating_sub(now - start));
        }
        if let Some(t) = fatal_at {
            wait = wait.min(grace.saturating_sub(now - t));
        }
        match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
            Ok(line) => {
                seen_any = true;
                last_output = Instant::now();
                logf.write_all(line.as_bytes()).map_err(io)?;
                match live {
                    Live::Console => {
                        let _ = stdout_live.write_all(line.as_bytes());
                    }
                    Live::Suites => {
                        if let Some(done) = suites.line(&line) {
                            let _ = writeln!(stdout_live, "{done}");
                        }
                    }
                    Live::Nothing => {}
                }
                console.push_str(&line);
                let text = crate::results::strip_timestamp(&line);
                if marker::is_done(text) {
                    break BootEnd::Completed {
                        payload_status: marker::done_status(text),
                    };
                }
                if let Some(kind) = crash::classify(text) {
                    if kind.is_fatal() && fatal_at.is_none() {
                        fatal_at = Some(Instant::now());
                    }
                }
                if fatal_at.is_some() && text.contains("---[ end Kernel panic") {
                    break BootEnd::Crashed;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                // QEMU closed its console: it exited (reboot with -no-reboot, or an error).
                let status = reaper.0.as_mut().and_then(|c| c.wait().ok());
                break if fatal_at.is_some() {
                    BootEnd::Crashed
                } else {
                    BootEnd::Exited {
                        status: status.and_then(|s| s.code()),
                    }
                };
            }
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                if fatal_at.is_some_and(|t| now - t >= grace) {
                    break BootEnd::Crashed;
                }
                if let (Some(first), false) = (limits.first_output, seen_any) {
                    if now - start >= first {
                        no_first_output = true;
                        break BootEnd::NoOutput {
                            seconds: first.as_secs(),
                        };
                    }
                }
                if now - start >= limits.total {
                    break BootEnd::GlobalTimeout {
                        seconds: limits.total.as_secs(),
                    };
                }
                if now - last_output >= limits.idle {
                    break BootEnd::NoOutput {
                        seconds: limits.idle.as_secs(),
                    };
                }
            }
        }
    };
    logf.flush().map_err(io)?;
    drop(reaper); // kill (if still running) and reap before reporting
    let qemu_stderr = err_thread.join().unwrap_or_default();
    Ok(RunResult {
        end,
        console,
        no_first_output,
        duration: start.elapsed(),
        qemu_stderr,
        pid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_per_arch() {
        let p = ArchProfile::load("arm64").unwrap();
        let c = command(
            &p,
            Path::new("/k/Image"),
            Path::new("/i.gz"),
            false,
            256,
            2,
            &["quiet".into()],
        );
        assert_eq!(c.binary, "qemu-system-aarch64");
        let a: Vec<String> = c
            .args
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        let after = |flag: &str| a[a.iter().position(|x| x == flag).unwrap() + 1].clone();
        assert_eq!(after("-machine"), "virt");
        assert_eq!(after("-accel"), "tcg");
        assert_eq!(after("-cpu"), "cortex-a57");
        assert_eq!(after("-append"), "console=ttyAMA0 panic=-1 quiet");
        assert!(a.contains(&"-no-reboot".to_string()));
        let p = ArchProfile::load("riscv64").unwrap();
        let c = command(&p, Path::new("/k"), Path::new("/i"), false, 256, 1, &[]);
        assert!(c.args.iter().any(|x| x == "default"));
    }

    #[test]
    fn a_silent_process_is_killed_at_the_idle_timeout() {
        // `sleep` stands in for a guest that never prints: the watcher must give up on time
        // and leave no process behind.
        let dir = tempfile::tempdir().unwrap();
        let cmd = QemuCommand {
            binary: "sh".into(),
            args: vec!["-c".into(), "echo booting; exec sleep 30".into()],
        };
        let limits = Limits {
            idle: Duration::from_millis(500),
            total: Duration::from_secs(20),
            first_output: None,
        };
        let r = run(&cmd, limits, &dir.path().join("log"), Live::Nothing).unwrap();
        assert_eq!(r.end, BootEnd::NoOutput { seconds: 0 });
        assert!(r.duration < Duration::from_secs(10));
        // Killed and reaped: not even a zombie is left in the process table.
        assert!(
            !Path::new(&format!("/proc/{}", r.pid)).exists(),
            "process {} still exists",
            r.pid
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("log")).unwrap(),
            "booting\n"
        );
    }

    #[test]
    fn completion_marker_stops_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = QemuCommand {
            binary: "sh".into(),
            args: vec![
                "-c".into(),
                "echo '[ 1.0] @@dpt@@ done 3'; exec sleep 30".into(),
            ],
        };
        let limits = Limits {
            idle: Duration::from_secs(20),
            total: Duration::from_secs(20),
            first_output: None,
        };
        let r = run(&cmd, limits, &dir.path().join("log"), Live::Nothing).unwrap();
        assert_eq!(
            r.end,
            BootEnd::Completed {
                payload_status: Some(3)
            }
        );
        assert!(r.duration < Duration::from_secs(10));
    }
}
