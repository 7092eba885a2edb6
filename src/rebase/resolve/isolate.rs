//! Every cascade stage runs isolated: a bug in one (a panic, an index out of range on input
//! nobody foresaw) becomes a refusal of that region, and the run goes on. A forward port of a
//! few hundred patches must never end with nothing ported because one heuristic tripped.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while a stage runs: its panic is reported as a refusal, not on stderr.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Runs `f`; a panic inside it comes back as `Err("internal error in <stage>: <message>")`.
pub fn run<T>(stage: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        format!("internal error in {stage}: {message} (please report it with this region)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_stage() {
        let v: Vec<u8> = Vec::new();
        let err = run("decls", || v[3]).unwrap_err();
        assert!(
            err.starts_with("internal error in decls: index out of bounds"),
            "{err}"
        );
        assert_eq!(run("lists", || 7), Ok(7));
    }
}
