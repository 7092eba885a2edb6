//! Phase times of one run on stderr when `DOVETAIL_PORT_TIMING` is set: where a session's
//! answer spends its time, measured on the real material instead of guessed.

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    *START.get_or_init(|| std::env::var_os("DOVETAIL_PORT_TIMING").map(|_| Instant::now()))
}

/// Notes that `what` is done, with the seconds since the first mark of the run.
pub fn mark(what: &str) {
    if let Some(t) = start() {
        eprintln!("timing {:8.3} {what}", t.elapsed().as_secs_f64());
    }
}
