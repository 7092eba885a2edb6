//! The derived in-band-only set over every parsed function (not only those reached
//! from entry points): seeds are calls to error-severity services and to locks of an
//! unsafe declared type; edges are direct calls resolved through the index. Calls guarded
//! to in-band are neither. Member calls are not edges: a slot may hold safe functions too.

use std::collections::HashMap;

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
            for (fi, func) in p.functions.iter().enumerate() {
                let key = (file, fi);
                for (ci, call) in func.calls.iter().enumerate().filter(|(_, c)| !c.inband) {
                    let Target::Name(n) = &call.target else {
                        continue;
                    };
                    match self.rules.classify(n) {
                        CallClass::Service(r) if is_error(r) => seeds.push((key, ci, r)),
                        CallClass::Lock => {
                            if let Some(r) = self
                                .judge_lock(call, n, file, func)
                                .filter(|&r| is_error(r))
                            {
                                seeds.push((key, ci, r));
                            }
                        }
                        CallClass::Other if n != &func.name => {
                            for f in self.index.resolve(n, file) {
                                if let Some(&callee) = by_name.get(&(f, n.as_str())) {
                                    edges.push((key, ci, (f, callee)));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        derive(seeds, &edges)
    }
}
