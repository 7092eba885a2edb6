//! The oob-safety lint: parse, index, call graph, rules, findings.
