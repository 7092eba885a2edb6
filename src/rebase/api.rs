//! Identifier checks of a port, against the index of what the target defines
//! (`crate::syntax::defs`): `blocked` before a patch is merged (it uses names only an unported
//! earlier patch defines), `needs-api` after it is applied (it uses functions, macros or Kconfig
//! symbols the target no longer defines), and the lookup the cascade asks before it places a
//! region.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use git2::{Oid, Repository};

use super::session::{QueueSource, Session};
use super::{Result, Verdict};
use crate::syntax::defs::removed::Removed;
use crate::syntax::defs::{Defs, Lookup, PatchRefs, Use, UseKind};

/// The definitions of the target (and of the queue's base, when the queue is a commit range).
pub struct Api {
    target: Defs,
    /// A name counts as removed upstream only when the base defined it: a name neither tree
    /// defines is one the scanner cannot see (made by a macro), not a missing API.
    base: Option<Defs>,
    refs: RefCell<HashMap<usize, Rc<PatchRefs>>>,
}

/// What patch `j` defines and uses (cached by the caller).
pub type RefsOf<'a> = &'a dyn Fn(usize) -> Result<Rc<PatchRefs>>;

impl Api {
    /// Indexes the target and the base, or reads their indexes from the cache. A tree id
    /// names its content, so one index serves every repository holding that tree (the kernel
    /// cache's, the user's clones, the tests' shared clones).
    pub fn load(repo: &Repository, session: &Session) -> Result<Api> {
        let cache = crate::kernels::cache_root().join("defs");
        let tree_of =
            |id: &str| -> Result<Oid> { Ok(repo.find_commit(Oid::from_str(id)?)?.tree()?.id()) };
        let target = Defs::cached(repo.path(), tree_of(&session.target_id)?, &cache)?;
        let base = match &session.source {
            QueueSource::Range { base, .. } => {
                Some(Defs::cached(repo.path(), tree_of(base)?, &cache)?)
            }
            QueueSource::Series { .. } => None,
        };
        Ok(Api {
            target,
            base,
            refs: RefCell::default(),
        })
    }

    /// Patch `i`'s references, computed from its diff text once per run.
    pub fn refs(&self, i: usize, diff: impl FnOnce() -> Result<String>) -> Result<Rc<PatchRefs>> {
        if let Some(r) = self.refs.borrow().get(&i) {
            return Ok(r.clone());
        }
        let diff = diff()?;
        let mut refs = crate::syntax::defs::patch_refs(&diff);
        refs.removes = crate::syntax::defs::removed::patch_removes(&diff, &refs.defines);
        let refs = Rc::new(refs);
        self.refs.borrow_mut().insert(i, refs.clone());
        Ok(refs)
    }

    /// Defined in the base but not in the target (or, without a base, not in the target).
    fn removed(&self, used: &Use) -> bool {
        !self.target.resolves(used) && self.base.as_ref().is_none_or(|b| b.resolves(used))
    }

    /// The earlier unported patch (conflicting, skipped or itself blocked) that alone defines
    /// names patch `i` uses, and those uses: the latest such patch.
    pub fn blocker(
        &self,
        session: &Session,
        i: usize,
        refs: &PatchRefs,
        refs_of: RefsOf<'_>,
    ) -> Result<Option<(usize, Vec<Use>)>> {
        let unported: Vec<usize> = (0..i)
            .filter(|&j| {
                matches!(
                    session.patches[j].verdict,
                    Some(Verdict::Conflict | Verdict::Skipped | Verdict::Blocked)
                )
            })
            .collect();
        if unported.is_empty() {
            return Ok(None);
        }
        let mut found: Vec<(usize, &Use)> = Vec::new();
        for used in &refs.uses {
            if self.target.resolves(used) {
                continue;
            }
            let mut by = None;
            for &k in unported.iter().rev() {
                if refs_of(k)?.defines.resolves(used) {
                    by = Some(k);
                    break;
                }
            }
            let Some(k) = by else { continue };
            if self.ported_define(session, i, used, refs_of)? {
                continue;
            }
            found.push((k, used));
        }
        let Some(k) = found.iter().map(|(k, _)| *k).max() else {
            return Ok(None);
        };
        let uses = found
            .into_iter()
            .filter(|(j, _)| *j == k)
            .map(|(_, u)| u.clone())
            .collect();
        Ok(Some((k, uses)))
    }

    /// Whether a patch before `i` that was applied defines `used`.
    fn ported_define(
        &self,
        session: &Session,
        i: usize,
        used: &Use,
        refs_of: RefsOf<'_>,
    ) -> Result<bool> {
        for j in 0..i {
            if session.patches[j].new_commit.is_some() && refs_of(j)?.defines.resolves(used) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The functions, macros and Kconfig symbols patch `i` uses that the target no longer
    /// defines and no earlier patch of the queue adds.
    pub fn missing(
        &self,
        session: &Session,
        i: usize,
        refs: &PatchRefs,
        refs_of: RefsOf<'_>,
    ) -> Result<Vec<Use>> {
        let mut out = Vec::new();
        for used in &refs.uses {
            if !matches!(used.kind, UseKind::Call | UseKind::Kconfig) || !self.removed(used) {
                continue;
            }
            let mut queued = false;
            for j in 0..i {
                if session.patches[j].new_commit.is_some() && refs_of(j)?.defines.resolves(used) {
                    queued = true;
                    break;
                }
            }
            if !queued {
                out.push(used.clone());
            }
        }
        Ok(out)
    }

    /// The definitions patch `i` removes that were there to remove: the target defines them,
    /// or an applied earlier patch adds them. A name neither defines was gone before the patch
    /// (upstream removed it, and its users are upstream's to mend), so it is not searched for.
    pub fn removals(
        &self,
        session: &Session,
        i: usize,
        refs: &PatchRefs,
        refs_of: RefsOf<'_>,
    ) -> Result<Vec<Removed>> {
        let mut out = Vec::new();
        for r in &refs.removes {
            let used = Use {
                name: r.name.clone(),
                kind: if r.kconfig {
                    UseKind::Kconfig
                } else {
                    UseKind::Call
                },
                path: r.path.clone(),
                line: r.line,
            };
            let mut there = self.target.resolves(&used);
            for j in 0..i {
                if there {
                    break;
                }
                there =
                    session.patches[j].new_commit.is_some() && refs_of(j)?.defines.resolves(&used);
            }
            if there {
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    /// The lookup for placing patch `i`'s regions: the target, plus what the applied earlier
    /// patches and patch `i` itself define.
    pub fn placing(&self, session: &Session, i: usize, refs_of: RefsOf<'_>) -> Result<Placing<'_>> {
        let mut queue = Vec::new();
        for j in 0..i {
            if session.patches[j].new_commit.is_some() {
                queue.push(refs_of(j)?);
            }
        }
        queue.push(refs_of(i)?);
        Ok(Placing { api: self, queue })
    }
}

/// What a placement may name: see [`Api::placing`].
pub struct Placing<'a> {
    api: &'a Api,
    queue: Vec<Rc<PatchRefs>>,
}

impl std::fmt::Debug for Placing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Placing({} queue patches)", self.queue.len())
    }
}

impl Lookup for Placing<'_> {
    fn missing(&self, used: &Use) -> bool {
        self.api.removed(used) && !self.queue.iter().any(|r| r.defines.resolves(used))
    }
}

/// `name` (path:line), for notes.
pub fn describe(uses: &[Use]) -> String {
    let shown: Vec<String> = uses
        .iter()
        .take(8)
        .map(|u| format!("`{}` ({}:{})", u.name, u.path, u.line))
        .collect();
    let more = uses.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
