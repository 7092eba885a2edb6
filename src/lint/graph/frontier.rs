//! Chains end at the frontier. When a chain leaves the entry point's folder through a
//! direct call to a function already known to be in-band only (the derived set), that
//! call is the finding, with the function's witness chain below it, like a listed service
//! defined in the tree. Following every path inside it instead turns one call into dozens
//! of chains through another subsystem's internals: on the real EVL core, a single
//! `mutex_unlock()` from oob gave 105 findings (`__mutex_unlock_slowpath() -> wake_up_q()
//! -> put_task_struct() -> ... -> bpf_task_storage_free() -> ...`), the fixture driver's 125.

use std::collections::{BTreeSet, HashMap};

use super::super::inband::{chain_down, Witness};
use super::super::parse::{Call, Target};
use super::slots::SlotUse;
use super::{FuncKey, Graph, Visit};

/// A call found in oob context.
pub(super) struct Found {
    pub caller: FuncKey,
    pub call: Call,
    /// The rule it breaks.
    pub rule: usize,
    /// The service called (for a frontier call, the in-band-only function's name).
    pub service: String,
    /// For a frontier call, the in-band-only function it reaches (its witness is the chain
    /// below).
    pub callee: Option<FuncKey>,
}

impl Graph<'_> {
    /// The first direct callee on the way from the entry point to `key` (itself included)
    /// that lies outside the entry point's folder and is in-band only, with its caller.
    fn frontier_of(
        &self,
        key: FuncKey,
        visited: &HashMap<FuncKey, Visit>,
        derived: &HashMap<FuncKey, Witness<FuncKey>>,
    ) -> Option<(FuncKey, FuncKey)> {
        let keys = Self::chain_keys(key, visited);
        let home = self.files[keys.first()?.0 .0].parent();
        keys.windows(2).find_map(|w| {
            let ((caller, _), (callee, via)) = (&w[0], &w[1]);
            let outside = self.files[callee.0].parent() != home;
            (via.is_none() && outside && derived.contains_key(callee)).then_some((*caller, *callee))
        })
    }

    /// `found` with every chain that crosses an in-band-only frontier call replaced by one
    /// finding at that call (deduplicated), and the slot uses below such calls dropped.
    pub(super) fn collapse_at_frontier(
        &self,
        found: Vec<Found>,
        slot_uses: Vec<SlotUse>,
        visited: &HashMap<FuncKey, Visit>,
        derived: &HashMap<FuncKey, Witness<FuncKey>>,
    ) -> (Vec<Found>, Vec<SlotUse>) {
        let mut out = Vec::new();
        let mut sites: BTreeSet<(FuncKey, FuncKey)> = BTreeSet::new();
        for f in found {
            match self.frontier_of(f.caller, visited, derived) {
                None => out.push(f),
                Some((caller, callee)) => {
                    if sites.insert((caller, callee)) {
                        out.extend(self.frontier_call(caller, callee, derived));
                    }
                }
            }
        }
        let uses = slot_uses
            .into_iter()
            .filter(|u| self.frontier_of(u.caller, visited, derived).is_none())
            .collect();
        (out, uses)
    }

    /// The finding for the call from `caller` to the in-band-only `callee`.
    fn frontier_call(
        &self,
        caller: FuncKey,
        callee: FuncKey,
        derived: &HashMap<FuncKey, Witness<FuncKey>>,
    ) -> Option<Found> {
        let name = &self.func(callee).name;
        let call = self
            .func(caller)
            .calls
            .iter()
            .find(|c| !c.inband && matches!(&c.target, Target::Name(n) if n == name))?;
        let (_, rule) = chain_down(derived, callee)?;
        Some(Found {
            caller,
            call: call.clone(),
            rule,
            service: name.clone(),
            callee: Some(callee),
        })
    }
}
