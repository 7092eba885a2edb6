//! The cross-file index (from the lexical pass) and the call graph built lazily from full
//! parses: oob context is propagated from the entry points, parsing only the files that
//! the reachable functions live in, and every in-band-only call met becomes a finding
//! with its call chain.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

mod derived;
mod frontier;
mod objects;
mod slots;

use super::arch::ArchScope;
use super::cond::blank;
use super::inband::{chain_down, Witness};
use super::kconfig::Kconfig;
use super::parse::{parse_file_for, Call, Function, LockArg, ParsedFile, Target};
use super::rules::{CallClass, RuleSet};
use super::scan::{DefSeen, FileScan};
use super::userspace::UserScope;
use super::{display_path, fnv64, ChainStep, EntryPoint, Finding, Suppression, SuppressionKind};
use slots::{SlotStore, SlotUse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Def {
    pub file: usize,
    pub is_static: bool,
    pub is_weak: bool,
}

/// Who defines what, and declared lock types, over all scanned files.
#[derive(Debug, Default)]
pub struct Index {
    defs: HashMap<String, Vec<Def>>,
    is_header: Vec<bool>,
    /// (struct, field) -> lock types.
    struct_fields: HashMap<(String, String), BTreeSet<String>>,
    /// field -> lock types over all structs.
    fields: HashMap<String, BTreeSet<String>>,
    /// file-scope variable -> lock types over all files.
    globals: HashMap<String, BTreeSet<String>>,
    /// (file, variable) -> lock types declared in that file (any scope).
    file_vars: HashMap<(usize, String), BTreeSet<String>>,
    /// Struct member -> files storing a function in it (sorted).
    member_files: HashMap<String, Vec<usize>>,
    /// Functions a non-static prototype declares `__noreturn`/`__cold`, and static ones by
    /// the file declaring them.
    terminal_decls: HashSet<String>,
    static_terminal_decls: HashSet<(usize, String)>,
    /// Per file, the byte ranges the configuration leaves out (blanked before parsing).
    inactive: Vec<Vec<(usize, usize)>>,
    /// Which arch folder each file is in, and which definitions a call may reach.
    scope: ArchScope,
    /// Which files are user-space code explicitly linted, seen only among themselves.
    user: UserScope,
}

impl Index {
    /// Builds the index, taking the names out of `scans` (moved, not copied: there are
    /// hundreds of thousands over a whole tree); what `scans` keeps is `may_have_entries`.
    /// The definitions table, the largest, is filled on one thread while the others are
    /// on another: the build runs between two parallel phases, on the critical path.
    pub fn build(files: &[PathBuf], scans: &mut [FileScan]) -> Index {
        let defs: Vec<Vec<DefSeen>> = scans
            .iter_mut()
            .map(|s| std::mem::take(&mut s.defs))
            .collect();
        let (defs, mut ix) = rayon::join(|| Self::defs_table(defs), || Self::rest(files, scans));
        ix.defs = defs;
        ix
    }

    /// Function name -> its definitions, in file order.
    fn defs_table(per_file: Vec<Vec<DefSeen>>) -> HashMap<String, Vec<Def>> {
        // Sized once: growing the largest table rehashes every name again.
        let mut defs = HashMap::with_capacity(per_file.iter().map(Vec::len).sum());
        for (i, list) in per_file.into_iter().enumerate() {
            for d in list {
                defs.entry(d.name).or_insert_with(Vec::new).push(Def {
                    file: i,
                    is_static: d.is_static,
                    is_weak: d.is_weak,
                });
            }
        }
        defs
    }

    /// Everything but the definitions table.
    fn rest(files: &[PathBuf], scans: &mut [FileScan]) -> Index {
        let mut ix = Index {
            is_header: files
                .iter()
                .map(|f| f.extension().is_some_and(|x| x == "h"))
                .collect(),
            inactive: scans
                .iter_mut()
                .map(|s| std::mem::take(&mut s.inactive))
                .collect(),
            ..Default::default()
        };
        for (i, s) in scans.iter_mut().enumerate() {
            for m in std::mem::take(&mut s.member_stores) {
                ix.member_files.entry(m).or_default().push(i);
            }
            for d in std::mem::take(&mut s.terminal_decls) {
                if d.is_static {
                    ix.static_terminal_decls.insert((i, d.name));
                } else {
                    ix.terminal_decls.insert(d.name);
                }
            }
            for (st, field, ty) in std::mem::take(&mut s.lock_fields) {
                ix.fields
                    .entry(field.clone())
                    .or_default()
                    .insert(ty.clone());
                ix.struct_fields.entry((st, field)).or_default().insert(ty);
            }
            for (name, ty, file_scope) in std::mem::take(&mut s.lock_vars) {
                if file_scope {
                    ix.globals
                        .entry(name.clone())
                        .or_default()
                        .insert(ty.clone());
                }
                ix.file_vars.entry((i, name)).or_default().insert(ty);
            }
        }
        ix
    }

    /// Restricts call resolution to what one kernel build links (see [`ArchScope`]).
    pub fn scoped(mut self, scope: ArchScope) -> Index {
        self.scope = scope;
        self
    }

    /// Keeps user-space code and kernel code apart (see [`UserScope`]).
    pub fn user_scoped(mut self, user: UserScope) -> Index {
        self.user = user;
        self
    }

    /// May code in file `from` reach a definition in file `to` (same build)?
    pub fn visible(&self, from: usize, to: usize) -> bool {
        self.scope.visible(from, to) && self.user.visible(from, to)
    }

    /// The byte ranges of `file` the configuration leaves out.
    pub fn inactive(&self, file: usize) -> &[(usize, usize)] {
        self.inactive.get(file).map_or(&[], Vec::as_slice)
    }

    /// Is `name`, defined in `file`, declared `__noreturn`/`__cold` by a prototype (in a
    /// header, or a static one in the same file)?
    pub fn declared_terminal(&self, name: &str, file: usize) -> bool {
        self.terminal_decls.contains(name)
            || self
                .static_terminal_decls
                .contains(&(file, name.to_string()))
    }

    pub fn defs_named(&self, name: &str) -> Vec<Def> {
        self.defs.get(name).cloned().unwrap_or_default()
    }

    /// Files defining the function `name` as seen from `from`: a static definition in the
    /// same file wins; otherwise every non-static definition (static inline helpers in
    /// headers count as visible everywhere) of the architecture `from` is built for. A
    /// `__weak` default counts only when no strong definition replaces it (the linker's
    /// rule: Dovetail's empty `__weak` hooks and their EVL implementations).
    pub fn resolve(&self, name: &str, from: usize) -> Vec<usize> {
        let Some(defs) = self.defs.get(name) else {
            return Vec::new();
        };
        if defs
            .iter()
            .any(|d| d.file == from && (d.is_static || !d.is_weak))
        {
            return vec![from];
        }
        let seen: Vec<&Def> = defs
            .iter()
            .filter(|d| !d.is_static || self.is_header[d.file])
            .filter(|d| self.visible(from, d.file))
            .collect();
        let strong = seen.iter().any(|d| !d.is_weak);
        let mut v: Vec<usize> = seen
            .into_iter()
            .filter(|d| !(strong && d.is_weak))
            .map(|d| d.file)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Files storing a function in `member` (in scan order, so sorted).
    pub fn member_store_files(&self, member: &str) -> &[usize] {
        self.member_files.get(member).map_or(&[], Vec::as_slice)
    }

    fn single(set: Option<&BTreeSet<String>>) -> Option<String> {
        set.filter(|s| s.len() == 1)
            .and_then(|s| s.iter().next().cloned())
    }

    /// The declared type of a lock expression, when it can be resolved unambiguously.
    pub fn lock_type(&self, arg: &LockArg, file: usize, func: &Function) -> Option<String> {
        match arg {
            LockArg::Var(name) => Self::single(self.file_vars.get(&(file, name.clone())))
                .or_else(|| Self::single(self.globals.get(name))),
            LockArg::Field { base, field } => {
                let by_struct = base.as_ref().and_then(|b| {
                    let st = func.var_structs.iter().find(|(v, _)| v == b)?;
                    Self::single(self.struct_fields.get(&(st.1.clone(), field.clone())))
                });
                by_struct.or_else(|| Self::single(self.fields.get(field)))
            }
            LockArg::Other => None,
        }
    }
}

type FuncKey = (usize, usize);

struct Visit {
    parent: Option<FuncKey>,
    via: Option<String>,
    entry: usize,
    depth: usize,
}

pub struct Graph<'a> {
    rules: &'a RuleSet,
    /// Decides `if (IS_ENABLED(CONFIG_X))`-style branches in function bodies.
    config: &'a Kconfig,
    files: &'a [PathBuf],
    index: &'a Index,
    parsed: HashMap<usize, ParsedFile>,
    progress: bool,
    reached: usize,
    derived: usize,
}

impl<'a> Graph<'a> {
    pub fn new(
        rules: &'a RuleSet,
        config: &'a Kconfig,
        files: &'a [PathBuf],
        index: &'a Index,
        progress: bool,
    ) -> Self {
        Graph {
            rules,
            config,
            files,
            index,
            parsed: HashMap::new(),
            progress,
            reached: 0,
            derived: 0,
        }
    }

    /// Parses (in parallel) the given files not parsed yet. Unreadable files parse as empty.
    pub fn ensure_parsed(&mut self, wanted: &[usize]) {
        let mut todo: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|i| !self.parsed.contains_key(i))
            .collect();
        todo.sort();
        todo.dedup();
        if todo.is_empty() {
            return;
        }
        let bar = super::progress_bar(
            self.progress && todo.len() > 50,
            todo.len() as u64,
            "parsing",
        );
        let rules = self.rules;
        let config = self.config;
        let files = self.files;
        let index = self.index;
        let done: Vec<(usize, ParsedFile)> = todo
            .par_iter()
            .map(|&i| {
                let p = match std::fs::read(&files[i]) {
                    Ok(mut src) => {
                        // The parser sees what the build compiles, as the lexical pass did.
                        blank(&mut src, index.inactive(i));
                        let mut p = parse_file_for(&src, rules, config);
                        // An attribute on the prototype only counts as on the definition.
                        for f in &mut p.functions {
                            f.terminal |= index.declared_terminal(&f.name, i);
                        }
                        p
                    }
                    Err(_) => ParsedFile::default(),
                };
                bar.inc(1);
                (i, p)
            })
            .collect();
        bar.finish_and_clear();
        self.parsed.extend(done);
    }

    /// (files parsed, files with errors, functions, functions with errors).
    pub fn parsed_stats(&self) -> (usize, usize, usize, usize) {
        let mut s = (self.parsed.len(), 0, 0, 0);
        for p in self.parsed.values() {
            let fe = p.functions_with_errors();
            if fe > 0 || p.errors_outside_functions > 0 {
                s.1 += 1;
            }
            s.2 += p.functions.len();
            s.3 += fe;
        }
        s
    }

    /// The parsed files, the graph given up (so the caller can free them elsewhere).
    pub fn into_parsed(self) -> HashMap<usize, ParsedFile> {
        self.parsed
    }

    pub fn reached(&self) -> usize {
        self.reached
    }

    /// How many parsed functions the last run found in-band only.
    pub fn derived_inband_only(&self) -> usize {
        self.derived
    }

    fn find_function(&self, file: usize, name: &str) -> Option<usize> {
        self.parsed.get(&file)?.function_named(name)
    }

    /// Functions the syntax tree nests too deep to analyse whole, as notes.
    pub fn too_deep(&self, root: &Path) -> Vec<String> {
        let mut keys: Vec<&usize> = self.parsed.keys().collect();
        keys.sort();
        let mut out = Vec::new();
        for &i in keys {
            if let Some(n) = self.parsed[&i].too_large {
                out.push(format!(
                    "{}: {:.1} MB, larger than any kernel source ({} MB): not parsed, its functions are not followed",
                    display_path(&self.files[i], root),
                    n as f64 / 1e6,
                    super::parse::MAX_PARSE_BYTES >> 20
                ));
            }
            for f in self.parsed[&i].functions.iter().filter(|f| f.too_deep) {
                out.push(format!(
                    "{}:{}: `{}()` nests deeper than {} levels: not analysed below that depth (split it, or check it by hand)",
                    display_path(&self.files[i], root),
                    f.start_line,
                    f.name,
                    super::parse::MAX_NESTING
                ));
            }
        }
        out
    }

    fn func(&self, key: FuncKey) -> &Function {
        &self.parsed[&key.0].functions[key.1]
    }

    /// The name a call of a function calls (call given by its index).
    fn call_name(&self, (key, call): (FuncKey, usize)) -> String {
        match &self.func(key).calls[call].target {
            Target::Name(n) | Target::Member(n) => n.clone(),
        }
    }

    /// All entry points declared in parsed files plus the named ones, each with the
    /// function it designates. Sorted, so results do not depend on file order.
    pub fn entry_points(&mut self, named: &[String], root: &Path) -> Vec<(EntryPoint, FuncKey)> {
        let mut refs: Vec<(usize, String, String, u32)> = Vec::new();
        let mut keys: Vec<&usize> = self.parsed.keys().collect();
        keys.sort();
        for &i in keys {
            for e in &self.parsed[&i].entries {
                refs.push((i, e.function.clone(), e.kind.clone(), e.line));
            }
        }
        let mut need = Vec::new();
        for (i, name, _, _) in &refs {
            need.extend(self.index.resolve(name, *i));
        }
        for name in named {
            need.extend(self.index.defs_named(name).iter().map(|d| d.file));
        }
        self.ensure_parsed(&need);
        let mut out = Vec::new();
        for (i, name, kind, line) in refs {
            for f in self.index.resolve(&name, i) {
                if let Some(fi) = self.find_function(f, &name) {
                    let func = self.func((f, fi));
                    out.push((
                        EntryPoint {
                            function: name.clone(),
                            kind: kind.clone(),
                            file: display_path(&self.files[i], root),
                            line,
                            def_file: display_path(&self.files[f], root),
                            def_line: func.start_line,
                        },
                        (f, fi),
                    ));
                }
            }
        }
        for name in named {
            for d in self.index.defs_named(name) {
                if let Some(fi) = self.find_function(d.file, name) {
                    let func = self.func((d.file, fi));
                    out.push((
                        EntryPoint {
                            function: name.clone(),
                            kind: "command-line".into(),
                            file: "<command line>".into(),
                            line: 0,
                            def_file: display_path(&self.files[d.file], root),
                            def_line: func.start_line,
                        },
                        (d.file, fi),
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// Breadth-first propagation of oob context from the entry points; returns findings
    /// (one per call site and rule, with the shortest chain found).
    pub fn propagate(&mut self, entries: &[(EntryPoint, FuncKey)], root: &Path) -> Vec<Finding> {
        let mut visited: HashMap<FuncKey, Visit> = HashMap::new();
        let mut frontier: Vec<FuncKey> = Vec::new();
        for (ei, (_, key)) in entries.iter().enumerate() {
            if !visited.contains_key(key) {
                visited.insert(
                    *key,
                    Visit {
                        parent: None,
                        via: None,
                        entry: ei,
                        depth: 0,
                    },
                );
                frontier.push(*key);
            }
        }
        let mut found: Vec<frontier::Found> = Vec::new();
        let mut seen_sites: BTreeSet<(usize, usize, usize)> = BTreeSet::new();
        let mut slot_uses: Vec<SlotUse> = Vec::new();
        let mut objects = objects::Objects::default();
        while !frontier.is_empty() {
            self.parse_slot_stores(&frontier);
            let mut candidates: Vec<(FuncKey, Option<String>, usize, String, usize)> = Vec::new();
            for &key in &frontier {
                let depth = visited[&key].depth;
                let func = self.func(key).clone();
                for (ci, call) in func.calls.iter().enumerate().filter(|(_, c)| !c.inband) {
                    match &call.target {
                        Target::Name(n) => match self.rules.classify(n) {
                            CallClass::Service(r) => {
                                if seen_sites.insert((key.0, call.byte, r)) {
                                    found.push(frontier::Found {
                                        caller: key,
                                        call: call.clone(),
                                        rule: r,
                                        service: n.clone(),
                                        callee: None,
                                    });
                                }
                            }
                            CallClass::Lock => {
                                if let Some(r) = self.judge_lock(call, n, key.0, &func) {
                                    if seen_sites.insert((key.0, call.byte, r)) {
                                        found.push(frontier::Found {
                                            caller: key,
                                            call: call.clone(),
                                            rule: r,
                                            service: n.clone(),
                                            callee: None,
                                        });
                                    }
                                }
                            }
                            CallClass::Tolerated
                            | CallClass::SwitchInband
                            | CallClass::Terminal => {}
                            CallClass::Other => {
                                if depth < self.rules.max_depth && n != &func.name {
                                    for f in self.index.resolve(n, key.0) {
                                        candidates.push((key, None, f, n.clone(), ci));
                                    }
                                }
                            }
                        },
                        Target::Member(m) => {
                            let wanted = objects.object_paths(key, &func, call);
                            let stores = self.member_candidates(m, key.0, &wanted);
                            if depth < self.rules.max_depth {
                                for s in &stores {
                                    candidates.push((
                                        key,
                                        Some(m.clone()),
                                        s.def_file,
                                        s.name.clone(),
                                        ci,
                                    ));
                                }
                            }
                            slot_uses.push(SlotUse {
                                caller: key,
                                call: call.clone(),
                                stores,
                            });
                        }
                    }
                }
            }
            let files: Vec<usize> = candidates.iter().map(|c| c.2).collect();
            self.ensure_parsed(&files);
            let mut next = Vec::new();
            for (from, via, file, name, ci) in candidates {
                let Some(fi) = self.find_function(file, &name) else {
                    continue;
                };
                let key = (file, fi);
                // `__noreturn`/`__cold`: an error path, not followed.
                if self.func(key).terminal {
                    continue;
                }
                // Direct calls pass what their arguments designate on to the callee.
                let grew = via.is_none() && {
                    let (caller, callee) = (self.func(from), self.func(key));
                    objects.pass(from, caller, &caller.calls[ci], key, callee)
                };
                if visited.contains_key(&key) {
                    // Seen already, but now with more objects: its member calls again.
                    if grew && objects.may_revisit(key) && !next.contains(&key) {
                        next.push(key);
                    }
                    continue;
                }
                let (entry, depth) = {
                    let v = &visited[&from];
                    (v.entry, v.depth + 1)
                };
                visited.insert(
                    key,
                    Visit {
                        parent: Some(from),
                        via,
                        entry,
                        depth,
                    },
                );
                next.push(key);
            }
            frontier = next;
        }
        self.reached = visited.len();
        self.descend_services(&found);
        let derived = self.derive_inband_only();
        self.derived = derived.len();
        let (found, slot_uses) = self.collapse_at_frontier(found, slot_uses, &visited, &derived);
        let mut findings: Vec<Finding> = found
            .into_iter()
            .map(|f| self.finding(&f, &visited, &derived, entries, root))
            .collect();
        findings.extend(self.slot_findings(&slot_uses, &derived, &visited, entries, root));
        findings
    }

    /// Parses the files that store functions in the members called (in oob context) by
    /// these functions, unless a member is stored in too many files to tell.
    fn parse_slot_stores(&mut self, functions: &[FuncKey]) {
        let mut files = Vec::new();
        for &key in functions {
            for call in self.func(key).calls.iter().filter(|c| !c.inband) {
                if let Target::Member(m) = &call.target {
                    let f = self.index.member_store_files(m);
                    if f.len() <= self.rules.max_slot_files {
                        files.extend(f.iter().filter(|&&s| self.index.visible(key.0, s)));
                    }
                }
            }
        }
        self.ensure_parsed(&files);
    }

    /// The stores a `->member(...)` call may reach: those of that member in the caller's
    /// file, else in any parsed file when that is a short list; of those, the stores
    /// along the object paths `wanted` when any is (object-sensitive), else all.
    fn member_candidates(
        &self,
        member: &str,
        from: usize,
        wanted: &objects::Paths,
    ) -> Vec<SlotStore> {
        let all = self.member_stores(member, from);
        let matching: Vec<SlotStore> = all
            .iter()
            .filter(|s| {
                let path = &self.parsed[&s.store_file].member_assigns[s.store].path;
                objects::matches(wanted, path)
            })
            .cloned()
            .collect();
        if matching.is_empty() {
            all
        } else {
            matching
        }
    }

    fn member_stores(&self, member: &str, from: usize) -> Vec<SlotStore> {
        let collect = |file: usize| -> Vec<SlotStore> {
            let mut v = Vec::new();
            for (si, st) in self.parsed[&file].member_assigns.iter().enumerate() {
                if st.member == member {
                    for d in self.index.resolve(&st.function, file) {
                        v.push(SlotStore {
                            def_file: d,
                            name: st.function.clone(),
                            store_file: file,
                            store: si,
                        });
                    }
                }
            }
            v
        };
        let mut v = collect(from);
        if v.is_empty() {
            let mut keys: Vec<usize> = self.parsed.keys().copied().collect();
            keys.sort();
            for k in keys.into_iter().filter(|&k| self.index.visible(from, k)) {
                v.extend(collect(k));
            }
            v.sort();
            v.dedup();
            let functions: BTreeSet<(usize, &str)> =
                v.iter().map(|s| (s.def_file, s.name.as_str())).collect();
            if functions.len() > 8 {
                return Vec::new();
            }
        }
        v.sort();
        v.dedup();
        v
    }

    fn judge_lock(&self, call: &Call, name: &str, file: usize, func: &Function) -> Option<usize> {
        let ty = call
            .lock_arg
            .as_ref()
            .and_then(|a| self.index.lock_type(a, file, func));
        match ty {
            Some(t) if self.rules.safe_lock_types.contains(&t) => None,
            Some(t) => self.rules.unsafe_lock_types.get(&t).copied(),
            None => self
                .rules
                .unknown_lock
                .as_ref()
                .filter(|(_, calls)| calls.iter().any(|c| c == name))
                .map(|(r, _)| *r),
        }
    }

    /// The finding for the call `at` (a frontier call shows the in-band-only function it
    /// reaches, with that function's witness chain below it).
    fn finding(
        &self,
        at: &frontier::Found,
        visited: &HashMap<FuncKey, Visit>,
        derived: &HashMap<FuncKey, Witness<FuncKey>>,
        entries: &[(EntryPoint, FuncKey)],
        root: &Path,
    ) -> Finding {
        let (key, call, rule_ix, service, callee) =
            (at.caller, &at.call, at.rule, at.service.as_str(), at.callee);
        let keys = Self::chain_keys(key, visited);
        let mut chain = self.chain_steps(&keys, root);
        // A listed service defined in the tree, or a frontier call: the body shows the way
        // to the choke point. Not a lock call: that one is judged by the lock's declared type.
        let below = match callee {
            Some(k) => chain_down(derived, k).map(|(down, _)| down),
            None => self.service_defs(service, key.0).into_iter().find_map(|f| {
                let fi = self.find_function(f, service)?;
                chain_down(derived, (f, fi)).map(|(down, _)| down)
            }),
        };
        let bottom = match &below {
            Some(down) => {
                let steps: Vec<(FuncKey, Option<String>)> =
                    down.iter().map(|(k, _)| (*k, None)).collect();
                chain.extend(self.chain_steps(&steps, root));
                self.call_name(*down.last().expect("a witness chain has a function"))
            }
            None => service.to_string(),
        };
        let chain_text = chain_text(&chain, &bottom);
        let rule = &self.rules.rules[rule_ix];
        let entry = entries[visited[&key].entry].0.clone();
        let file = display_path(&self.files[key.0], root);
        let mut parts: Vec<&str> = vec![&rule.id, &file, service];
        parts.extend(chain.iter().map(|s| s.function.as_str()));
        let fingerprint = fnv64(&parts);
        let message = match &call.lock_arg {
            Some(_) => format!(
                "`{service}()` on a lock that is not oob-safe, reached from oob entry point `{}()` ({})",
                entry.function, entry.kind
            ),
            None => format!(
                "in-band-only `{service}()` called in oob context, reached from `{}()` ({})",
                entry.function, entry.kind
            ),
        };
        let suppressed = keys.iter().rev().find_map(|(k, _)| {
            self.suppression(*k, if *k == key { Some(call.line) } else { None }, &rule.id)
        });
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            service: service.to_string(),
            message,
            rationale: rule.rationale.clone(),
            replacement: rule.replacement.clone(),
            file,
            line: call.line,
            column: call.column,
            end_column: call.end_column,
            entry,
            chain,
            chain_text,
            fingerprint,
            suppressed,
            slot: None,
            root: String::new(),
        }
    }

    /// The functions from the entry point to `key`, each with the member it was reached
    /// through.
    fn chain_keys(
        key: FuncKey,
        visited: &HashMap<FuncKey, Visit>,
    ) -> Vec<(FuncKey, Option<String>)> {
        let mut keys = vec![(key, visited[&key].via.clone())];
        let mut cur = key;
        while let Some(p) = visited[&cur].parent {
            keys.push((p, visited[&p].via.clone()));
            cur = p;
        }
        keys.reverse();
        keys
    }

    fn chain_steps(&self, keys: &[(FuncKey, Option<String>)], root: &Path) -> Vec<ChainStep> {
        keys.iter()
            .map(|(k, via)| {
                let f = self.func(*k);
                ChainStep {
                    function: f.name.clone(),
                    file: display_path(&self.files[k.0], root),
                    start_line: f.start_line,
                    end_line: f.end_line,
                    via_member: via.clone(),
                }
            })
            .collect()
    }

    /// A suppression comment covering `rule` at `line` in the function `key`, or on the
    /// function as a whole.
    fn suppression(&self, key: FuncKey, line: Option<u32>, rule: &str) -> Option<Suppression> {
        let p = &self.parsed[&key.0];
        let f = &p.functions[key.1];
        p.suppressions
            .iter()
            .filter(|s| s.rules.iter().any(|r| r == rule || r == "all"))
            .find(|s| {
                s.function == Some(key.1)
                    || line.is_some_and(|l| {
                        s.first_line <= l
                            && l <= s.last_line
                            && f.start_line <= l
                            && l <= f.end_line
                    })
            })
            .map(|s| Suppression {
                kind: SuppressionKind::InSource,
                justification: s.reason.clone(),
            })
    }
}

/// `entry() -> ->member: helper() -> service()`.
fn chain_text(chain: &[ChainStep], service: &str) -> String {
    let mut text: Vec<String> = chain
        .iter()
        .map(|s| match &s.via_member {
            Some(m) => format!("->{m}: {}()", s.function),
            None => format!("{}()", s.function),
        })
        .collect();
    text.push(format!("{service}()"));
    text.join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::parse::parse_file;
    use crate::lint::scan::{scan, Needles};

    fn setup(srcs: &[&str]) -> (Vec<PathBuf>, Index, RuleSet) {
        let rules = RuleSet::load(&[crate::data::folder("rules")]).unwrap();
        let types = ["hard_spinlock_t", "spinlock_t", "raw_spinlock_t"];
        let files: Vec<PathBuf> = (0..srcs.len())
            .map(|i| PathBuf::from(format!("f{i}.c")))
            .collect();
        let mut scans: Vec<FileScan> = srcs
            .iter()
            .map(|s| {
                scan(
                    s.as_bytes(),
                    &types,
                    &rules.lock_defines,
                    &Needles::new(&[]),
                    &crate::lint::kconfig::Kconfig::default(),
                )
            })
            .collect();
        let ix = Index::build(&files, &mut scans);
        (files, ix, rules)
    }

    #[test]
    fn statics_resolve_to_their_own_file() {
        let (_, ix, _) = setup(&[
            "static int h(void) { return 0; }\nint g(void) { return 1; }\n",
            "static int h(void) { return 2; }\n",
            "int x(void) { return h() + g(); }\n",
        ]);
        assert_eq!(ix.resolve("h", 0), vec![0]);
        assert_eq!(ix.resolve("h", 1), vec![1]);
        assert!(
            ix.resolve("h", 2).is_empty(),
            "statics of other files are invisible"
        );
        assert_eq!(ix.resolve("g", 2), vec![0]);
    }

    /// Dovetail's `void __weak inband_clock_was_set(void) { }` and EVL's definition: the
    /// linker keeps the strong one, so calls resolve to it alone.
    #[test]
    fn a_strong_definition_replaces_a_weak_default() {
        let (_, ix, _) = setup(&[
            "void __weak hook(void) { mutex_lock(&m); }\nvoid __weak only_weak(void) { }\nvoid caller(void) { hook(); }\n",
            "void hook(void) { }\n",
            "int x(void) { hook(); only_weak(); return 0; }\n",
        ]);
        assert_eq!(ix.resolve("hook", 2), vec![1]);
        assert_eq!(
            ix.resolve("hook", 0),
            vec![1],
            "even from the weak default's own file"
        );
        assert_eq!(
            ix.resolve("only_weak", 2),
            vec![0],
            "a weak default alone stays"
        );
    }

    #[test]
    fn calls_resolve_to_one_arch() {
        let srcs = [
            "void d(void) { }\n",
            "void d(void) { }\n",
            "int x(void) { d(); }\n",
            "int y(void) { d(); }\n",
        ];
        let (_, ix, _) = setup(&srcs);
        let files: Vec<PathBuf> = [
            "/k/arch/x86/d.c",
            "/k/arch/um/d.c",
            "/k/drivers/x.c",
            "/k/arch/um/y.c",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let scoped = |sel| {
            let (_, ix, _) = setup(&srcs);
            ix.scoped(ArchScope::new(&files, Path::new("/k"), sel))
        };
        assert_eq!(ix.resolve("d", 2), vec![0, 1], "unscoped: every definition");
        assert_eq!(scoped(Some("x86")).resolve("d", 2), vec![0]);
        assert_eq!(scoped(Some("um")).resolve("d", 2), vec![1]);
        // From arch code: its own arch, whatever is selected.
        assert_eq!(scoped(Some("x86")).resolve("d", 3), vec![1]);
        assert_eq!(scoped(None).resolve("d", 3), vec![1]);
    }

    #[test]
    fn lock_types_resolve_through_struct_fields_and_defines() {
        let src = "struct dev { hard_spinlock_t lock; spinlock_t lock2; };\nstruct other { spinlock_t lock; };\nstatic DEFINE_SPINLOCK(g);\nvoid f(struct dev *d) { raw_spin_lock(&d->lock); spin_lock(&g); raw_spin_lock(&x->lock); }\n";
        let (_, ix, rules) = setup(&[src]);
        let p = parse_file(src.as_bytes(), &rules);
        let func = &p.functions[0];
        let ty = |i: usize| ix.lock_type(func.calls[i].lock_arg.as_ref().unwrap(), 0, func);
        assert_eq!(ty(0).as_deref(), Some("hard_spinlock_t"));
        assert_eq!(ty(1).as_deref(), Some("spinlock_t"));
        // `lock` is hard in one struct and regular in another: unknown without the base type.
        assert_eq!(ty(2), None);
    }
}
