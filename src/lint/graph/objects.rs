//! Object sensitivity for calls through struct members. A ring with an in-band side and
//! an oob side stores `inbound_wait_input()` in `ibnd.ring.wait_input` and
//! `outbound_wait_input()` in `obnd.ring.wait_input`; the shared `do_read(ring)` calls
//! `ring->wait_input()`, and the oob read passes `&x->obnd.ring`. Each function reached
//! in oob context gets, per parameter, the member paths its oob callers pass (`[obnd,
//! ring]`), and a member call through a parameter resolves to the stores along that path
//! only. Paths are suffixes (the root object is not named), so a path is compatible with
//! a store when one ends with the other; an untracked argument is the empty path, which
//! is compatible with every store (the object-insensitive answer).

use std::collections::{BTreeSet, HashMap};

use super::super::parse::{Access, Call, Function};
use super::FuncKey;

/// The member paths an object may be reached by (each a suffix, outermost member first).
pub(super) type Paths = BTreeSet<Vec<String>>;

/// More paths than this for one parameter: no longer tracked (the empty path).
const MAX_PATHS: usize = 8;
/// Longer paths are cut to their last members.
const MAX_LEN: usize = 8;
/// How often a function already walked is walked again because its callers pass more.
const MAX_REVISITS: u8 = 4;

#[derive(Default)]
pub(super) struct Objects {
    params: HashMap<FuncKey, Vec<Paths>>,
    revisits: HashMap<FuncKey, u8>,
}

fn untracked() -> Paths {
    std::iter::once(Vec::new()).collect()
}

fn cut(mut p: Vec<String>) -> Vec<String> {
    if p.len() > MAX_LEN {
        p.drain(..p.len() - MAX_LEN);
    }
    p
}

impl Objects {
    /// The paths an access in function `key` designates: through a parameter, what the
    /// callers pass followed by the access's own members; else the members alone.
    fn resolve(&self, key: FuncKey, func: &Function, a: &Access) -> Paths {
        let param = a
            .base
            .as_ref()
            .and_then(|b| func.params.iter().position(|p| p == b));
        let passed = param.and_then(|i| self.params.get(&key).and_then(|v| v.get(i)));
        match passed {
            Some(paths) if !paths.is_empty() => paths
                .iter()
                .map(|p| cut(p.iter().chain(&a.fields).cloned().collect()))
                .collect(),
            _ => std::iter::once(a.fields.clone()).collect(),
        }
    }

    /// The paths of the object a member call goes through (`ring->wait_input`).
    pub(super) fn object_paths(&self, key: FuncKey, func: &Function, call: &Call) -> Paths {
        match &call.object {
            Some(a) => self.resolve(key, func, a),
            None => untracked(),
        }
    }

    /// Records what `call` (in `caller`) passes to `callee`'s parameters; true when that
    /// adds something.
    pub(super) fn pass(
        &mut self,
        from: FuncKey,
        caller: &Function,
        call: &Call,
        to: FuncKey,
        callee: &Function,
    ) -> bool {
        let passed: Vec<Paths> = (0..callee.params.len())
            .map(|i| match call.args.get(i) {
                Some(Some(a)) => self.resolve(from, caller, a),
                _ => untracked(),
            })
            .collect();
        let slots = self
            .params
            .entry(to)
            .or_insert_with(|| vec![Paths::new(); callee.params.len()]);
        let mut grew = false;
        for (slot, new) in slots.iter_mut().zip(passed) {
            if slot.contains(&Vec::new()) {
                continue;
            }
            for p in new {
                grew |= slot.insert(p);
            }
            if slot.len() > MAX_PATHS {
                *slot = untracked();
            }
        }
        grew
    }

    /// May `key` be walked once more (bounded, so the walk stays linear)?
    pub(super) fn may_revisit(&mut self, key: FuncKey) -> bool {
        let n = self.revisits.entry(key).or_insert(0);
        *n += 1;
        *n <= MAX_REVISITS
    }
}

/// Is a store into `path` one of the objects `wanted`? One must end with the other.
pub(super) fn matches(wanted: &Paths, path: &[String]) -> bool {
    wanted
        .iter()
        .any(|w| w.ends_with(path) || path.ends_with(w.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn paths_match_by_suffix() {
        let wanted: Paths = [p("obnd.ring.wait_input")].into_iter().collect();
        assert!(matches(&wanted, &p("obnd.ring.wait_input")));
        assert!(matches(&wanted, &p("x.obnd.ring.wait_input")));
        assert!(!matches(&wanted, &p("ibnd.ring.wait_input")));
        // A plain `.wait_input = f` initialiser may be any object's.
        assert!(matches(&wanted, &p("wait_input")));
        assert!(matches(&untracked(), &p("ibnd.ring.wait_input")));
    }

    fn func(params: &[&str]) -> Function {
        Function {
            name: "f".into(),
            is_static: true,
            start_line: 1,
            end_line: 1,
            start_byte: 0,
            end_byte: 0,
            has_error: false,
            terminal: false,
            too_deep: false,
            params: params.iter().map(|s| s.to_string()).collect(),
            calls: Vec::new(),
            var_structs: Vec::new(),
        }
    }

    fn call(args: Vec<Option<Access>>, object: Option<Access>) -> Call {
        Call {
            target: crate::lint::parse::Target::Name("g".into()),
            line: 1,
            column: 1,
            end_column: 1,
            byte: 0,
            inband: false,
            lock_arg: None,
            args,
            object,
        }
    }

    fn access(base: &str, fields: &str) -> Access {
        Access {
            base: Some(base.into()),
            fields: if fields.is_empty() {
                Vec::new()
            } else {
                p(fields)
            },
        }
    }

    #[test]
    fn parameters_carry_paths_two_calls_deep() {
        let mut o = Objects::default();
        // oob_read(x) -> do_read(&x->obnd.ring) -> wait(ring) -> ring->wait_input()
        let oob_read = func(&["x"]);
        let do_read = func(&["ring"]);
        let wait = func(&["r"]);
        let c1 = call(vec![Some(access("x", "obnd.ring"))], None);
        assert!(o.pass((0, 0), &oob_read, &c1, (0, 1), &do_read));
        let c2 = call(vec![Some(access("ring", ""))], None);
        assert!(o.pass((0, 1), &do_read, &c2, (0, 2), &wait));
        let member = call(Vec::new(), Some(access("r", "wait_input")));
        let got = o.object_paths((0, 2), &wait, &member);
        assert_eq!(got, [p("obnd.ring.wait_input")].into_iter().collect());
        // Passing the same again adds nothing; an untracked argument widens to all.
        assert!(!o.pass((0, 0), &oob_read, &c1, (0, 1), &do_read));
        assert!(o.pass((0, 0), &oob_read, &call(vec![None], None), (0, 1), &do_read));
        let got = o.object_paths(
            (0, 1),
            &do_read,
            &call(Vec::new(), Some(access("ring", "m"))),
        );
        assert!(got.contains(&p("m")), "{got:?}");
    }
}
