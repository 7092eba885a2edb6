//! The derived in-band-only set. A function is in-band only when its body, outside
//! in-band guards, calls an in-band-only service (a choke point of Dovetail's runtime
//! guard, a listed service, a regular spin lock) or a function that is in-band only
//! itself. Computed bottom-up over the whole call graph given, not only from entry
//! points: breadth-first from the services through the callers, so every function gets
//! its shortest chain down to a service as its witness.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Why a function is in-band only: the call (index into its calls) and what it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Witness<K> {
    pub call: usize,
    pub next: Next<K>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<K> {
    /// The call is an in-band-only service of this rule (index into the rule set).
    Service { rule: usize },
    /// The call reaches this in-band-only function of the tree.
    Callee(K),
}

/// A service call found in a function body: (function, call index, rule, tier). Tier 0
/// is certain (a choke point, or a listed service not defined in the tree); tier 1 is a
/// listed service whose in-tree body is tried first and that counts only as a fallback.
pub type Seed<K> = (K, usize, usize, u8);
/// A resolved call edge: (caller, call index, callee).
pub type Edge<K> = (K, usize, K);

/// The fixpoint: every function reaching a seed through `edges`, with its witness.
/// Tier-0 seeds spread first, so a witness goes down to a choke point when the code
/// shows one. Deterministic: seeds and edges are visited in sorted order.
pub fn derive<K: Copy + Hash + Eq + Ord>(
    mut seeds: Vec<Seed<K>>,
    edges: &[Edge<K>],
) -> HashMap<K, Witness<K>> {
    seeds.sort_by_key(|&(k, call, rule, tier)| (tier, k, call, rule));
    let mut callers: HashMap<K, Vec<(K, usize)>> = HashMap::new();
    for &(from, call, to) in edges {
        callers.entry(to).or_default().push((from, call));
    }
    for v in callers.values_mut() {
        v.sort();
    }
    let mut out: HashMap<K, Witness<K>> = HashMap::new();
    let mut queue = VecDeque::new();
    let mut seeds = seeds.into_iter().peekable();
    while let Some(&(_, _, _, tier)) = seeds.peek() {
        while let Some((key, call, rule, _)) = seeds.next_if(|s| s.3 == tier) {
            if let Entry::Vacant(e) = out.entry(key) {
                e.insert(Witness {
                    call,
                    next: Next::Service { rule },
                });
                queue.push_back(key);
            }
        }
        while let Some(key) = queue.pop_front() {
            for &(caller, call) in callers.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                if let Entry::Vacant(e) = out.entry(caller) {
                    e.insert(Witness {
                        call,
                        next: Next::Callee(key),
                    });
                    queue.push_back(caller);
                }
            }
        }
    }
    out
}

/// The chain of functions from `key` down to the last function of the tree before the
/// service, and the witness of that last function (the service call).
pub fn chain_down<K: Copy + Hash + Eq>(
    set: &HashMap<K, Witness<K>>,
    key: K,
) -> Option<(Vec<(K, usize)>, usize)> {
    let mut steps = Vec::new();
    let mut cur = key;
    loop {
        let w = set.get(&cur)?;
        steps.push((cur, w.call));
        match w.next {
            Next::Service { rule } => return Some((steps, rule)),
            Next::Callee(k) => cur = k,
        }
        if steps.len() > set.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_through_callers_with_shortest_witness() {
        // 1 -> 2 -> 3 (service), 1 -> 4 (service), 5 -> 1, 6 isolated, 7 calls 6.
        let seeds = vec![(3, 0, 9, 0), (4, 0, 8, 0)];
        let edges = vec![(1, 0, 2), (2, 0, 3), (1, 1, 4), (5, 0, 1), (7, 0, 6)];
        let set = derive(seeds, &edges);
        assert_eq!(set.len(), 5);
        assert!(!set.contains_key(&6) && !set.contains_key(&7));
        assert_eq!(
            set[&1],
            Witness {
                call: 1,
                next: Next::Callee(4)
            }
        );
        let (steps, rule) = chain_down(&set, 5).unwrap();
        assert_eq!(steps, vec![(5, 0), (1, 1), (4, 0)]);
        assert_eq!(rule, 8);
    }

    #[test]
    fn certain_seeds_win_over_fallbacks() {
        // 1 calls a listed service defined in the tree (2) at call 0; 2 reaches a choke
        // point through 3. The fallback seed on 1 is not its witness.
        let seeds = vec![(1, 0, 5, 1), (3, 0, 7, 0)];
        let set = derive(seeds, &[(1, 0, 2), (2, 0, 3)]);
        let (steps, rule) = chain_down(&set, 1).unwrap();
        assert_eq!(steps, vec![(1, 0), (2, 0), (3, 0)]);
        assert_eq!(rule, 7);
        // Without the choke point the fallback stands.
        let set = derive(vec![(1, 0, 5, 1)], &[(1, 0, 2)]);
        assert_eq!(chain_down(&set, 1).unwrap(), (vec![(1, 0)], 5));
        assert!(!set.contains_key(&2));
    }

    #[test]
    fn cycles_terminate() {
        let set = derive(vec![(3, 0, 1, 0)], &[(1, 0, 2), (2, 0, 1), (2, 1, 3)]);
        assert_eq!(set.len(), 3);
        assert_eq!(chain_down(&set, 1).unwrap().0.len(), 3);
    }
}
