//! The derived in-band-only set over every parsed function (not only those reached
//! from entry points). Seeds are calls to error-severity services and to locks of an
//! unsafe declared type; a listed service defined in the tree is also an edge to its
//! body, which is judged first (the seed is then only a fallback). Edges are direct
//! calls resolved through the index. Calls guarded to in-band are neither. Member calls
//! are not edges: a slot may hold oob-safe functions too.

use std::collections::{HashMap, HashSet};

use super::super::inband::{derive, Edge, Seed, Witness};
use super::super::parse::Target;
use super::super::rules::{CallClass, Severity};
use super::{FuncKey, Graph};

impl Graph<'_> {
    pub(super) fn derive_inband_only(&self) -> HashMap<FuncKey, Witness<FuncKey>> {
        let mut by_name: HashMap<(usize, &str), usize> = HashMap::new();
        for (&file, p) in &self.parsed {
            for (fi, f) in p.functions.iter().enumerate() {
                by_name.entry((file, f.name.as_str())).or_insert(fi);
            }
        }
        let is_error = |r: usize| self.rules.rules[r].severity == Severity::Error;
        let mut seeds: Vec<Seed<FuncKey>> = Vec::new();
        let mut edges: Vec<Edge<FuncKey>> = Vec::new();
        for (&file, p) in &self.parsed {
            // `__noreturn`/`__cold` functions are error paths: neither seeds nor callees.
            for (fi, func) in p.functions.iter().enumerate().filter(|(_, f)| !f.terminal) {
                let key = (file, fi);
                for (ci, call) in func.calls.iter().enumerate().filter(|(_, c)| !c.inband) {
                    let Target::Name(n) = &call.target else {
                        continue;
                    };
                    let callees = match self.rules.classify(n) {
                        CallClass::Service(r) if is_error(r) => {
                            let defs = self.in_tree_defs(n, file);
                            seeds.push((key, ci, r, u8::from(!defs.is_empty())));
                            defs
                        }
                        CallClass::Lock => {
                            if let Some(r) = self
                                .judge_lock(call, n, file, func)
                                .filter(|&r| is_error(r))
                            {
                                seeds.push((key, ci, r, 0));
                            }
                            Vec::new()
                        }
                        CallClass::Other if n != &func.name => self.index.resolve(n, file),
                        _ => Vec::new(),
                    };
                    for f in callees {
                        if let Some(&callee) = by_name.get(&(f, n.as_str())) {
                            if !self.parsed[&f].functions[callee].terminal {
                                edges.push((key, ci, (f, callee)));
                            }
                        }
                    }
                }
            }
        }
        derive(seeds, &edges)
    }

    /// Files defining the listed service `name` in the tree as seen from `from`; none
    /// for a choke point, which is in-band only whatever its body says.
    pub(super) fn in_tree_defs(&self, name: &str, from: usize) -> Vec<usize> {
        if self.rules.is_choke_point(name) {
            Vec::new()
        } else {
            self.index.resolve(name, from)
        }
    }

    /// The in-tree definitions of `name` when it is a listed service (not a lock call).
    pub(super) fn service_defs(&self, name: &str, from: usize) -> Vec<usize> {
        match self.rules.classify(name) {
            CallClass::Service(_) => self.in_tree_defs(name, from),
            _ => Vec::new(),
        }
    }

    /// Parses what lies below the in-tree definitions of the listed services called
    /// from oob (`found`), so their bodies can be judged: breadth-first, to
    /// `max_derive_depth` calls, one wave of files at a time.
    pub(super) fn descend_services(&mut self, found: &[super::frontier::Found]) {
        let mut wanted: Vec<(usize, String)> = Vec::new();
        for found in found {
            for f in self.service_defs(&found.service, found.caller.0) {
                wanted.push((f, found.service.clone()));
            }
        }
        let mut seen: HashSet<FuncKey> = HashSet::new();
        for _ in 0..=self.rules.max_derive_depth {
            if wanted.is_empty() {
                break;
            }
            let files: Vec<usize> = wanted.iter().map(|w| w.0).collect();
            self.ensure_parsed(&files);
            let mut next = Vec::new();
            for (file, name) in std::mem::take(&mut wanted) {
                let Some(fi) = self.find_function(file, &name) else {
                    continue;
                };
                if !seen.insert((file, fi)) {
                    continue;
                }
                for call in self.func((file, fi)).calls.iter().filter(|c| !c.inband) {
                    let Target::Name(n) = &call.target else {
                        continue;
                    };
                    let defs = match self.rules.classify(n) {
                        CallClass::Other => self.index.resolve(n, file),
                        CallClass::Service(_) => self.in_tree_defs(n, file),
                        _ => Vec::new(),
                    };
                    next.extend(defs.into_iter().map(|f| (f, n.clone())));
                }
            }
            wanted = next;
        }
    }
}
