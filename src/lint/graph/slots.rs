//! Ops-slot findings: a struct member that oob code calls through (`ops->step()` reached
//! from an entry point) holding a function of the derived in-band-only set. The finding
//! sits at the store (`.step = fn` / `x->step = fn`) and its chain runs from the entry
//! point through the member call and the stored function down to the service.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::super::inband::{chain_down, Witness};
use super::super::parse::{Call, Target};
use super::super::{
    display_path, fnv64, ChainStep, EntryPoint, Finding, OpsSlot, Suppression, SuppressionKind,
};
use super::{chain_text, FuncKey, Graph, Visit};

/// One store of a function into a member, as a candidate of a member call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct SlotStore {
    /// File defining the stored function, as resolved from the store's file.
    pub def_file: usize,
    pub name: String,
    pub store_file: usize,
    /// Index into that file's `member_assigns`.
    pub store: usize,
}

/// A member call met in oob context, with the stores it may reach.
pub(super) struct SlotUse {
    pub caller: FuncKey,
    pub call: Call,
    pub stores: Vec<SlotStore>,
}

impl Graph<'_> {
    pub(super) fn slot_findings(
        &self,
        uses: &[SlotUse],
        derived: &HashMap<FuncKey, Witness<FuncKey>>,
        visited: &HashMap<FuncKey, Visit>,
        entries: &[(EntryPoint, FuncKey)],
        root: &Path,
    ) -> Vec<Finding> {
        let Some(rule_ix) = self.rules.ops_slot else {
            return Vec::new();
        };
        let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
        let mut out = Vec::new();
        for u in uses {
            let Target::Member(member) = &u.call.target else {
                continue;
            };
            for s in &u.stores {
                let Some(fi) = self.find_function(s.def_file, &s.name) else {
                    continue;
                };
                let Some((down, _)) = chain_down(derived, (s.def_file, fi)) else {
                    continue;
                };
                if !reported.insert((s.store_file, s.store)) {
                    continue;
                }
                out.push(self.slot_finding(u, member, s, &down, rule_ix, visited, entries, root));
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn slot_finding(
        &self,
        u: &SlotUse,
        member: &str,
        s: &SlotStore,
        down: &[(FuncKey, usize)],
        rule_ix: usize,
        visited: &HashMap<FuncKey, Visit>,
        entries: &[(EntryPoint, FuncKey)],
        root: &Path,
    ) -> Finding {
        let mut keys = Self::chain_keys(u.caller, visited);
        let up_to_caller = keys.len();
        keys.extend(
            down.iter()
                .enumerate()
                .map(|(i, (k, _))| (*k, (i == 0).then(|| member.to_string()))),
        );
        let chain: Vec<ChainStep> = self.chain_steps(&keys, root);
        let service = self.call_name(*down.last().expect("a witness chain has a function"));
        let chain_text = chain_text(&chain, &service);
        let store = &self.parsed[&s.store_file].member_assigns[s.store];
        let rule = &self.rules.rules[rule_ix];
        let entry = entries[visited[&u.caller].entry].0.clone();
        let file = display_path(&self.files[s.store_file], root);
        let call_file = display_path(&self.files[u.caller.0], root);
        let caller = &chain[up_to_caller - 1].function;
        let down_text = chain_text_from(&chain[up_to_caller..], &service);
        let message = format!(
            "in-band-only `{}()` stored in ops slot `->{member}`, which oob code calls through in `{caller}()` ({call_file}:{}), reached from `{}()` ({}); {down_text}",
            s.name, u.call.line, entry.function, entry.kind
        );
        let mut parts: Vec<&str> = vec![&rule.id, &file, member, &s.name];
        parts.extend(chain.iter().map(|c| c.function.as_str()));
        let fingerprint = fnv64(&parts);
        let suppressed = self
            .line_suppression(s.store_file, store.line, &rule.id)
            .or_else(|| {
                keys.iter()
                    .rev()
                    .find_map(|(k, _)| self.suppression(*k, None, &rule.id))
            });
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            service,
            message,
            rationale: rule.rationale.clone(),
            replacement: rule.replacement.clone(),
            file,
            line: store.line,
            column: store.column,
            end_column: store.end_column,
            entry,
            chain,
            chain_text,
            fingerprint,
            suppressed,
            root: String::new(),
            slot: Some(OpsSlot {
                member: member.to_string(),
                function: s.name.clone(),
                call_file,
                call_line: u.call.line,
            }),
        }
    }

    /// A suppression comment of `file` covering `line`, inside a function or not.
    fn line_suppression(&self, file: usize, line: u32, rule: &str) -> Option<Suppression> {
        self.parsed[&file]
            .suppressions
            .iter()
            .filter(|s| s.rules.iter().any(|r| r == rule || r == "all"))
            .find(|s| s.first_line <= line && line <= s.last_line)
            .map(|s| Suppression {
                kind: SuppressionKind::InSource,
                justification: s.reason.clone(),
            })
    }
}

/// `fn() -> helper() -> service()` for the part of a chain below the member call.
fn chain_text_from(steps: &[ChainStep], service: &str) -> String {
    let plain: Vec<ChainStep> = steps
        .iter()
        .map(|s| ChainStep {
            via_member: None,
            ..s.clone()
        })
        .collect();
    chain_text(&plain, service)
}
