//! Fatal and suspicious kernel events in a console log, each with the log excerpt around it.

use serde::Serialize;

use super::{excerpt, strip_timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashKind {
    Panic,
    /// `Kernel panic - not syncing: Attempted to kill init!`: the payload's init exited.
    KilledInit,
    Oops,
    Bug,
    Warning,
    Lockdep,
    Kasan,
    /// `BUG: sleeping function called from invalid context`.
    AtomicSleep,
    /// Dovetail's "IRQ pipeline: some code running in oob context".
    OobViolation,
    /// An EVL watchdog report.
    EvlWatchdog,
    /// RCU stall or soft/hard lockup reports.
    Stall,
}

impl CrashKind {
    /// Its name in every report: the JSON spelling, so text and JSON can be grepped alike.
    pub fn name(self) -> &'static str {
        match self {
            CrashKind::Panic => "panic",
            CrashKind::KilledInit => "killed_init",
            CrashKind::Oops => "oops",
            CrashKind::Bug => "bug",
            CrashKind::Warning => "warning",
            CrashKind::Lockdep => "lockdep",
            CrashKind::Kasan => "kasan",
            CrashKind::AtomicSleep => "atomic_sleep",
            CrashKind::OobViolation => "oob_violation",
            CrashKind::EvlWatchdog => "evl_watchdog",
            CrashKind::Stall => "stall",
        }
    }

    /// Fatal events end the boot: nothing useful comes after them.
    pub fn is_fatal(self) -> bool {
        matches!(self, CrashKind::Panic | CrashKind::KilledInit)
    }
}

impl std::fmt::Display for CrashKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrashEvent {
    pub kind: CrashKind,
    /// The line that identified the event (timestamp stripped).
    pub summary: String,
    /// 1-based console line number.
    pub line: usize,
    pub excerpt: String,
}

/// Classifies one console line (timestamp already stripped).
pub fn classify(line: &str) -> Option<CrashKind> {
    let l = line.trim();
    if l.starts_with("Kernel panic - not syncing") {
        if l.contains("Attempted to kill init") {
            return Some(CrashKind::KilledInit);
        }
        return Some(CrashKind::Panic);
    }
    if l.contains("IRQ pipeline: some code running in oob context") {
        return Some(CrashKind::OobViolation);
    }
    if l.starts_with("BUG: KASAN:") || l.starts_with("BUG: KFENCE:") {
        return Some(CrashKind::Kasan);
    }
    if l.starts_with("BUG: sleeping function called from invalid context") {
        return Some(CrashKind::AtomicSleep);
    }
    if l.starts_with("BUG: soft lockup")
        || l.contains("rcu_sched detected stalls")
        || l.contains("rcu_preempt detected stalls")
        || l.starts_with("Watchdog detected hard LOCKUP")
    {
        return Some(CrashKind::Stall);
    }
    if l.starts_with("WARNING: possible circular locking dependency")
        || l.starts_with("WARNING: possible recursive locking")
        || l.starts_with("WARNING: inconsistent lock state")
        || l.starts_with("WARNING: suspicious RCU usage")
        || l.starts_with("WARNING: bad unlock balance")
        || l.starts_with("WARNING: lock held when returning to user space")
        || l.starts_with("WARNING: possible irq lock inversion")
        || l.starts_with("INFO: possible irq lock inversion")
        || l.starts_with("BUG: lock held when returning")
        || l.starts_with("BUG: held lock freed")
    {
        return Some(CrashKind::Lockdep);
    }
    if l.starts_with("Oops:")
        || l.starts_with("Oops -")
        || l.starts_with("Internal error: Oops")
        || l.contains("general protection fault")
    {
        return Some(CrashKind::Oops);
    }
    if l.starts_with("kernel BUG at") || l.starts_with("BUG: ") || l.starts_with("BUG ") {
        return Some(CrashKind::Bug);
    }
    if l.starts_with("WARNING: CPU:") || l.starts_with("WARNING: at ") {
        return Some(CrashKind::Warning);
    }
    let lower = l.to_ascii_lowercase();
    if (lower.starts_with("evl:") || lower.contains(" evl: ") || lower.starts_with("[evl]"))
        && lower.contains("watchdog")
    {
        return Some(CrashKind::EvlWatchdog);
    }
    None
}

/// Every crash event in the log. A panic following an Oops is reported too: the reader sees
/// both the cause and the verdict.
pub fn detect(lines: &[&str]) -> Vec<CrashEvent> {
    let mut out: Vec<CrashEvent> = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let line = strip_timestamp(raw);
        if let Some(kind) = classify(line) {
            out.push(CrashEvent {
                kind,
                summary: line.trim().to_string(),
                line: i + 1,
                excerpt: event_excerpt(lines, i),
            });
        }
    }
    out
}

/// From the `cut here` line (or the event line) to the end of the trace, at most 40 lines.
fn event_excerpt(lines: &[&str], at: usize) -> String {
    let mut start = at;
    for back in 1..=3 {
        if at >= back && strip_timestamp(lines[at - back]).contains("[ cut here ]") {
            start = at - back;
        }
    }
    let mut count = 40;
    for (n, raw) in lines.iter().enumerate().skip(at).take(40) {
        let l = strip_timestamp(raw);
        if l.contains("---[ end trace") || l.contains("---[ end Kernel panic") {
            count = n - start + 1;
            break;
        }
    }
    excerpt(lines, start, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_usual_suspects() {
        let cases = [
            (
                "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
                CrashKind::KilledInit,
            ),
            (
                "Kernel panic - not syncing: VFS: Unable to mount root fs",
                CrashKind::Panic,
            ),
            (
                "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                CrashKind::Bug,
            ),
            ("kernel BUG at mm/slub.c:432!", CrashKind::Bug),
            ("Oops: 0002 [#1] PREEMPT SMP NOPTI", CrashKind::Oops),
            (
                "WARNING: CPU: 0 PID: 1 at kernel/irq/pipeline.c:120 foo+0x1/0x2",
                CrashKind::Warning,
            ),
            (
                "WARNING: possible circular locking dependency detected",
                CrashKind::Lockdep,
            ),
            (
                "BUG: KASAN: slab-out-of-bounds in foo+0x10/0x20",
                CrashKind::Kasan,
            ),
            (
                "BUG: sleeping function called from invalid context at kernel/sched/core.c:1",
                CrashKind::AtomicSleep,
            ),
            (
                "IRQ pipeline: some code running in oob context 'foo'",
                CrashKind::OobViolation,
            ),
            ("EVL: watchdog triggered on CPU #0", CrashKind::EvlWatchdog),
        ];
        for (line, kind) in cases {
            assert_eq!(classify(line), Some(kind), "{line}");
        }
        assert_eq!(classify("random: crng init done"), None);
        assert_eq!(classify("    ok 3 bug_test"), None);
    }

    #[test]
    fn excerpt_runs_from_cut_here_to_end_trace() {
        let log = "\
[ 1.0] boot
[ 1.1] ------------[ cut here ]------------
[ 1.1] WARNING: CPU: 0 PID: 1 at lib/foo.c:12 foo+0x1/0x2
[ 1.1] Call Trace:
[ 1.1]  bar+0x3/0x4
[ 1.1] ---[ end trace 0000000000000000 ]---
[ 1.2] later
";
        let lines: Vec<&str> = log.lines().collect();
        let ev = detect(&lines);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].line, 3);
        assert!(ev[0].excerpt.starts_with("[ 1.1] ------------[ cut here ]"));
        assert!(ev[0]
            .excerpt
            .ends_with("---[ end trace 0000000000000000 ]---"));
    }

    #[test]
    fn the_text_name_is_the_json_name() {
        // The multi-word names, where the two spellings could drift apart.
        use CrashKind::*;
        for k in [KilledInit, AtomicSleep, OobViolation, EvlWatchdog, Panic] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.to_string());
        }
    }
}
