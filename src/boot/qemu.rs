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
    if let Some(fw) = q
        .firmware
        .as_deref()
        .filter(|f| firmware_found(&q.binary, f))
    {
        args.extend(["-bios".into(), fw.into()]);
    }
    args.extend(q.args.iter().map(OsString::from));
    QemuCommand {
        binary: q.binary.clone(),
        args,
    }
}

/// Whether QEMU will find firmware `name` in one of its data folders: the distribution's, a
/// local install's, or `share/qemu` beside the `bin/` that holds `binary`.
fn firmware_found(binary: &str, name: &str) -> bool {
    let beside = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|dir| dir.join(binary).is_file())
        .filter_map(|dir| dir.parent().map(|up| up.join("share/qemu")));
    ["/usr/share/qemu", "/usr/local/share/qemu"]
        .into_iter()
        .map(PathBuf::from)
        .chain(beside)
        .any(|dir| dir.join(name).is_file())
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

/// The console watcher's decisions, apart from the process and the clock: fed each console
/// line and the time since the start, it says when and how the run ends (completion marker,
/// fatal event, deadlines), so its rules are tested on recorded consoles with a fake clock.
#[derive(Debug)]
pub struct Watcher {
    limits: Limits,
    last_output: Duration,
    seen_any: bool,
    /// When a fatal event was seen: the watcher keeps reading briefly for the stack trace.
    fatal_at: Option<Duration>,
    no_first_output: bool,
}

impl Watcher {
    /// How long the watcher reads on after a fatal event for the rest of its report.
    pub const GRACE: Duration = Duration::from_secs(3);

    pub fn new(limits: Limits) -> Self {
        Watcher {
            limits,
            last_output: Duration::ZERO,
            seen_any: false,
            fatal_at: None,
            no_first_output: false,
        }
    }

    /// How long to wait for the next line at `now`: until the nearest deadline.
    pub fn wait(&self, now: Duration) -> Duration {
        let mut wait = self.limits.total.saturating_sub(now).min(
            self.limits
                .idle
                .saturating_sub(now.saturating_sub(self.last_output)),
        );
        if let (Some(first), false) = (self.limits.first_output, self.seen_any) {
            wait = wait.min(first.saturating_sub(now));
        }
        if let Some(t) = self.fatal_at {
            wait = wait.min(Self::GRACE.saturating_sub(now.saturating_sub(t)));
        }
        wait
    }

    /// One console line (as printed, with its timestamp) arrived at `now`: the end it brings.
    pub fn line(&mut self, line: &str, now: Duration) -> Option<BootEnd> {
        self.seen_any = true;
        self.last_output = now;
        let text = crate::results::strip_timestamp(line);
        if marker::is_done(text) {
            return Some(BootEnd::Completed {
                payload_status: marker::done_status(text),
            });
        }
        if crash::classify(text).is_some_and(|kind| kind.is_fatal()) && self.fatal_at.is_none() {
            self.fatal_at = Some(now);
        }
        if self.fatal_at.is_some() && text.contains("---[ end Kernel panic") {
            return Some(BootEnd::Crashed);
        }
        None
    }

    /// No line came until `now`: the end a passed deadline gives.
    pub fn tick(&mut self, now: Duration) -> Option<BootEnd> {
        if self
            .fatal_at
            .is_some_and(|t| now.saturating_sub(t) >= Self::GRACE)
        {
            return Some(BootEnd::Crashed);
        }
        if let (Some(first), false) = (self.limits.first_output, self.seen_any) {
            if now >= first {
                self.no_first_output = true;
                return Some(BootEnd::NoOutput {
                    seconds: first.as_secs(),
                });
            }
        }
        if now >= self.limits.total {
            return Some(BootEnd::GlobalTimeout {
                seconds: self.limits.total.as_secs(),
            });
        }
        if now.saturating_sub(self.last_output) >= self.limits.idle {
            return Some(BootEnd::NoOutput {
                seconds: self.limits.idle.as_secs(),
            });
        }
        None
    }

    /// The console closed: QEMU exited with `status` (after a fatal event, that is the crash).
    pub fn closed(&self, status: Option<i32>) -> BootEnd {
        if self.fatal_at.is_some() {
            BootEnd::Crashed
        } else {
            BootEnd::Exited { status }
        }
    }

    /// True when the run ended because the first line never came (the accelerator probe).
    pub fn no_first_output(&self) -> bool {
        self.no_first_output
    }
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
    let mut watcher = Watcher::new(limits);
    let mut console = String::new();
    let mut stdout_live = std::io::stderr();
    let mut suites = crate::results::ktap::LiveSuites::default();

    let end = loop {
        let wait = watcher.wait(start.elapsed());
        match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
            Ok(line) => {
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
                if let Some(end) = watcher.line(&line, start.elapsed()) {
                    break end;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                // QEMU closed its console: it exited (reboot with -no-reboot, or an error).
                let status = reaper.0.as_mut().and_then(|c| c.wait().ok());
                break watcher.closed(status.and_then(|s| s.code()));
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(end) = watcher.tick(start.elapsed()) {
                    break end;
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
        no_first_output: watcher.no_first_output(),
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
    fn the_fast_firmware_only_when_qemu_has_it() {
        let mut p = ArchProfile::load("x86_64").unwrap();
        let bios = |p: &ArchProfile| {
            let c = command(p, Path::new("/k"), Path::new("/i"), false, 256, 1, &[]);
            let i = c.args.iter().position(|a| a == "-bios")?;
            Some(c.args[i + 1].to_string_lossy().into_owned())
        };
        let fw = p.qemu.firmware.clone().expect("x86_64 names its firmware");
        let installed = firmware_found(&p.qemu.binary, &fw);
        assert_eq!(bios(&p), installed.then(|| fw.clone()));
        p.qemu.firmware = Some("no-such-firmware.rom".into());
        assert_eq!(bios(&p), None);
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

    /// A console recorded from a real boot (tests/fixtures/results/).
    fn recorded(name: &str) -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/results")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        text.split_inclusive('\n').map(str::to_string).collect()
    }

    fn limits(idle: u64, total: u64, first: Option<u64>) -> Limits {
        Limits {
            idle: Duration::from_secs(idle),
            total: Duration::from_secs(total),
            first_output: first.map(Duration::from_secs),
        }
    }

    const MS: Duration = Duration::from_millis(1);

    /// Feeds `lines` one every `step` from `*now` on (the fake clock), checking the deadlines
    /// between lines too; returns the first end and the index of the line that brought it.
    fn feed(
        w: &mut Watcher,
        lines: &[String],
        now: &mut Duration,
        step: Duration,
    ) -> Option<(usize, BootEnd)> {
        for (i, line) in lines.iter().enumerate() {
            *now += step;
            if let Some(end) = w.tick(*now) {
                return Some((i, end));
            }
            if let Some(end) = w.line(line, *now) {
                return Some((i, end));
            }
        }
        None
    }

    #[test]
    fn a_recorded_passing_boot_completes_at_its_marker_line() {
        let lines = recorded("x86_64-6.12-kunit-pass.log");
        let mut w = Watcher::new(limits(5, 600, Some(30)));
        let mut now = Duration::ZERO;
        let (at, end) = feed(&mut w, &lines, &mut now, Duration::from_millis(50)).unwrap();
        assert_eq!(at, lines.len() - 1, "ends at the marker, not before");
        assert_eq!(
            end,
            BootEnd::Completed {
                payload_status: Some(0)
            }
        );
        assert!(!w.no_first_output());
    }

    #[test]
    fn killed_init_is_a_crash_when_qemu_exits_or_the_grace_ends() {
        let lines = recorded("x86_64-6.12-init-exits.log");
        let panic = lines
            .iter()
            .position(|l| l.starts_with("Kernel panic - not syncing: Attempted to kill init"))
            .unwrap();
        let mut w = Watcher::new(limits(60, 600, None));
        let mut now = Duration::ZERO;
        assert_eq!(feed(&mut w, &lines[..=panic], &mut now, MS), None);
        // QEMU reboots (exits, with -no-reboot) on panic: the closed console is the crash.
        assert_eq!(w.closed(Some(0)), BootEnd::Crashed);
        // The rest of the report is read for the grace period only, whatever the guest prints.
        assert_eq!(w.wait(now), Watcher::GRACE);
        assert_eq!(feed(&mut w, &lines[panic + 1..], &mut now, MS), None);
        let at = now - MS * (lines.len() - panic - 1) as u32;
        assert_eq!(w.tick(at + Watcher::GRACE - MS), None);
        assert_eq!(w.tick(at + Watcher::GRACE), Some(BootEnd::Crashed));
    }

    #[test]
    fn a_panic_ends_at_its_end_line_and_only_after_a_panic() {
        let end_line = "[    1.234567] ---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300 ]---\n".to_string();
        let mut lines = recorded("x86_64-6.12-init-exits.log");
        lines.push(end_line.clone());
        let mut w = Watcher::new(limits(60, 600, None));
        let mut now = Duration::ZERO;
        let (at, end) = feed(&mut w, &lines, &mut now, MS).unwrap();
        assert_eq!((at, end), (lines.len() - 1, BootEnd::Crashed));
        // The same end line with no panic before it is text like any other.
        let mut w = Watcher::new(limits(60, 600, None));
        assert_eq!(w.line(&end_line, MS), None);
        assert_eq!(w.closed(Some(1)), BootEnd::Exited { status: Some(1) });
    }

    #[test]
    fn an_oops_or_a_warning_does_not_end_the_boot() {
        let mut w = Watcher::new(limits(60, 600, None));
        for (i, line) in [
            "[    2.000000] BUG: kernel NULL pointer dereference, address: 0000000000000000\n",
            "[    2.000001] Oops: 0002 [#1] PREEMPT SMP NOPTI\n",
            "[    2.000002] WARNING: CPU: 0 PID: 1 at kernel/irq/chip.c:42 f+0x1/0x2\n",
            "[    2.000003] ---[ end trace 0000000000000000 ]---\n",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(w.line(line, MS * i as u32), None, "{line}");
        }
        assert_eq!(w.tick(Duration::from_secs(59)), None, "no grace runs out");
        assert_eq!(w.closed(Some(0)), BootEnd::Exited { status: Some(0) });
        // An Oops that becomes a panic is a crash.
        assert_eq!(
            w.line("Kernel panic - not syncing: Fatal exception\n", MS * 5),
            None
        );
        assert_eq!(w.closed(None), BootEnd::Crashed);
    }

    #[test]
    fn a_guest_silent_mid_kunit_hangs_at_the_idle_deadline() {
        let lines = recorded("x86_64-6.12-silent-during-kunit.log");
        let mut w = Watcher::new(limits(120, 600, Some(30)));
        let mut now = Duration::ZERO;
        assert_eq!(feed(&mut w, &lines, &mut now, Duration::from_secs(1)), None);
        let last = now;
        assert_eq!(w.wait(last), Duration::from_secs(120));
        assert_eq!(
            w.wait(last + Duration::from_secs(100)),
            Duration::from_secs(20)
        );
        assert_eq!(w.tick(last + Duration::from_secs(120) - MS), None);
        assert_eq!(
            w.tick(last + Duration::from_secs(120)),
            Some(BootEnd::NoOutput { seconds: 120 })
        );
        assert!(!w.no_first_output(), "the guest did print");
    }

    #[test]
    fn a_chatty_guest_meets_the_global_deadline() {
        // The passing boot's lines without its marker, one every half second, round and round:
        // never idle, never done.
        let lines: Vec<String> = recorded("x86_64-6.12-kunit-pass.log")
            .into_iter()
            .filter(|l| !l.contains("@@dpt@@ done"))
            .collect();
        let mut w = Watcher::new(limits(2, 300, None));
        let mut now = Duration::ZERO;
        let end = loop {
            if let Some((_, end)) = feed(&mut w, &lines, &mut now, Duration::from_millis(500)) {
                break end;
            }
        };
        assert_eq!(end, BootEnd::GlobalTimeout { seconds: 300 });
        assert_eq!(now, Duration::from_secs(300));
    }

    #[test]
    fn no_first_line_in_time_is_the_accelerator_probe_failing() {
        let mut w = Watcher::new(limits(60, 600, Some(10)));
        assert_eq!(w.wait(Duration::ZERO), Duration::from_secs(10));
        assert_eq!(w.tick(Duration::from_secs(10) - MS), None);
        assert_eq!(
            w.tick(Duration::from_secs(10)),
            Some(BootEnd::NoOutput { seconds: 10 })
        );
        assert!(w.no_first_output());
        // Once the guest spoke, only the idle and total deadlines count.
        let mut w = Watcher::new(limits(60, 600, Some(10)));
        assert_eq!(w.line("Linux version 6.12\n", Duration::from_secs(9)), None);
        assert_eq!(w.wait(Duration::from_secs(9)), Duration::from_secs(60));
        assert_eq!(w.tick(Duration::from_secs(20)), None);
        assert!(!w.no_first_output());
    }
}
