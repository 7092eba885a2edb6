//! What a `blocked` patch's note tells the user: the unported patch it waits for, and what
//! brings it in. That depends on the blocker's fate: a conflict still to resolve replays it on
//! `--continue`; a skip (of the blocker, or of the patch at the root of a chain of blocked
//! patches) leaves it out for good, so `--skip` rewrites the notes of what it blocked.

use crate::rebase::api::describe;
use crate::rebase::session::Session;
use crate::rebase::Verdict;
use crate::syntax::defs::Use;

/// How every blocked note starts: how a rewrite finds the one it replaces.
const PREFIX: &str = "blocked by #";

/// The note of a patch blocked by patch `k` for the names `uses`.
pub(crate) fn note(session: &Session, k: usize, uses: &[Use]) -> String {
    let by = &session.patches[k];
    let head = format!(
        "{PREFIX}{} {} ({}): uses {}, which only that patch defines",
        k + 1,
        by.subject,
        by.verdict_name(),
        describe(uses)
    );
    let advice = |root: usize| {
        format!(
            "so this patch stays out of the result: port it by hand on the result branch, or --abort and start again to resolve #{} instead of skipping it",
            root + 1
        )
    };
    match skipped_root(session, k) {
        None => format!("{head}; replayed when it is resolved (--continue)"),
        Some(root) if root == k => format!("{head}; it was skipped, {}", advice(root)),
        Some(root) => format!(
            "{head}; #{} waits for #{} {}, which was skipped, {}",
            k + 1,
            root + 1,
            session.patches[root].subject,
            advice(root)
        ),
    }
}

/// The skipped patch at the root of patch `k`'s chain of blocked patches (`k` itself when it
/// was skipped), if the chain ends in one.
fn skipped_root(session: &Session, mut k: usize) -> Option<usize> {
    loop {
        let p = &session.patches[k];
        match p.verdict {
            Some(Verdict::Skipped) => return Some(k),
            Some(Verdict::Blocked) => {
                let by = p.blocked_by.as_deref()?;
                // A blocker always comes earlier in the queue, so the walk ends.
                k = session.patches[..k].iter().position(|q| q.key == by)?;
            }
            _ => return None,
        }
    }
}

/// After patch `skipped` was skipped: every later patch blocked by it, directly or through
/// other blocked patches, gets its note rewritten. Nothing is replayed: a skipped patch is as
/// unported as a conflict, so each stays blocked by the same patch for the same names.
pub(crate) fn after_skip(session: &mut Session, skipped: usize) {
    for j in skipped + 1..session.patches.len() {
        let p = &session.patches[j];
        if p.verdict != Some(Verdict::Blocked) {
            continue;
        }
        let Some(k) = p
            .blocked_by
            .as_deref()
            .and_then(|by| session.patches[..j].iter().position(|q| q.key == by))
        else {
            continue;
        };
        if skipped_root(session, k) != Some(skipped) {
            continue;
        }
        let text = note(session, k, &p.identifiers);
        let notes = &mut session.patches[j].notes;
        match notes.iter().position(|n| n.starts_with(PREFIX)) {
            Some(n) => notes[n] = text,
            None => notes.insert(0, text),
        }
    }
}
