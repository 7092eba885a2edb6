//! A Kconfig file merged entry by entry, for conflicts a line merge makes out of a file whose
//! entries the target moved: upstream sorts a driver list, and a patch adding `depends on
//! BROKEN` to one entry meets the neighbour that now stands before it. Git aligns the file
//! line by line and conflicts; the entry itself is still there, under its name.
//!
//! The merge acts only when the patch changed nothing but the bodies of existing `config` /
//! `menuconfig` entries (the rest of the file, and the order of its entries, as they were).
//! Each changed entry is then found by name in the target, once, and the patch's change is
//! merged into it line by line (refused where both sides touch the same lines).

use crate::syntax::kconfig;

use super::memory::merge3;

/// Keywords that end an entry: the next entry, or the structure around it.
const ENDS_ENTRY: &[&str] = &[
    "config",
    "menuconfig",
    "choice",
    "endchoice",
    "comment",
    "menu",
    "endmenu",
    "if",
    "endif",
    "source",
    "rsource",
    "osource",
    "orsource",
    "mainmenu",
];

/// One entry the patch changed, carried into the target's entry of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// `config NAME` or `menuconfig NAME`.
    pub name: String,
    /// 1-based line of the entry in the result.
    pub line: usize,
    /// The target's entry was the base's, verbatim (it only moved).
    pub verbatim: bool,
    /// The entry as it is in the result.
    pub text: String,
    /// Lines of the result entry that neither the target's entry nor the base's had.
    pub added: Vec<String>,
}

/// The merged file and the entries it carried the patch's changes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMerge {
    pub text: Vec<u8>,
    pub carried: Vec<Carried>,
}

/// An entry: its name and its lines `[start, end)` (0-based), from its keyword line to its
/// last attribute or help line.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    start: usize,
    end: usize,
}

fn entries(text: &str, line_count: usize) -> Vec<Entry> {
    let statements = kconfig::statements(text.as_bytes());
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if s.keyword != "config" && s.keyword != "menuconfig" {
            continue;
        }
        let Some(symbol) = s.rest.split_whitespace().next() else {
            continue;
        };
        let end = statements[i + 1..]
            .iter()
            .take_while(|t| !ENDS_ENTRY.contains(&t.keyword.as_str()))
            .map(|t| t.last)
            .fold(s.last, usize::max);
        out.push(Entry {
            name: format!("{} {symbol}", s.keyword),
            start: s.line - 1,
            end: end.min(line_count),
        });
    }
    out
}

/// The file with every entry replaced by its name: what must stay the same for the patch's
/// change to be only inside entries.
fn skeleton<'a>(lines: &[&'a str], entries: &[Entry]) -> Vec<Result<&'a str, String>> {
    let mut out = Vec::new();
    let mut at = 0;
    for e in entries {
        out.extend(lines[at..e.start].iter().map(|l| Ok(*l)));
        out.push(Err(e.name.clone()));
        at = e.end;
    }
    out.extend(lines[at..].iter().map(|l| Ok(*l)));
    out
}

/// A target entry `[start, end)` and what replaces it (`len` lines).
struct Replacement {
    start: usize,
    end: usize,
    len: usize,
    carried: Carried,
}

fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

/// Merges the patch's change (`base` → `theirs`) into the target's file `ours`, entry by
/// entry. `None` when the patch changed anything outside entries, added or removed one, an
/// entry it changed is not in the target exactly once, or both changed the same lines.
pub fn merge(base: &[u8], ours: &[u8], theirs: &[u8]) -> Option<EntryMerge> {
    let (base, ours, theirs) = (
        std::str::from_utf8(base).ok()?,
        std::str::from_utf8(ours).ok()?,
        std::str::from_utf8(theirs).ok()?,
    );
    let (bl, ol, tl): (Vec<&str>, Vec<&str>, Vec<&str>) = (
        base.split_inclusive('\n').collect(),
        ours.split_inclusive('\n').collect(),
        theirs.split_inclusive('\n').collect(),
    );
    let (be, oe, te) = (
        entries(base, bl.len()),
        entries(ours, ol.len()),
        entries(theirs, tl.len()),
    );
    if skeleton(&bl, &be) != skeleton(&tl, &te) {
        return None;
    }
    // Same skeleton: the entries pair up by position.
    let mut replace: Vec<Replacement> = Vec::new();
    for (b, t) in be.iter().zip(&te) {
        let (bb, tt) = (&bl[b.start..b.end], &tl[t.start..t.end]);
        if bb == tt {
            continue;
        }
        let unique = |es: &[Entry]| {
            let mut found = es.iter().filter(|e| e.name == b.name);
            match (found.next(), found.next()) {
                (Some(e), None) => Some(e.clone()),
                _ => None,
            }
        };
        unique(&be)?;
        let o = unique(&oe)?;
        let oo = &ol[o.start..o.end];
        let merged = merge3(&owned(bb), &owned(oo), &owned(tt))?;
        if merged.iter().map(String::as_str).eq(oo.iter().copied()) {
            continue;
        }
        let added = merged
            .iter()
            .filter(|l| !oo.contains(&l.as_str()) && !bb.contains(&l.as_str()))
            .cloned()
            .collect();
        replace.push(Replacement {
            start: o.start,
            end: o.end,
            len: merged.len(),
            carried: Carried {
                name: b.name.clone(),
                line: 0,
                verbatim: oo == bb,
                text: merged.concat(),
                added,
            },
        });
    }
    if replace.is_empty() {
        return None;
    }
    replace.sort_by_key(|r| r.start);
    let mut text = String::new();
    let mut carried = Vec::new();
    let (mut at, mut line) = (0, 0);
    for r in replace {
        text.extend(ol[at..r.start].iter().copied());
        line += r.start - at;
        text.push_str(&r.carried.text);
        carried.push(Carried {
            line: line + 1,
            ..r.carried
        });
        line += r.len;
        at = r.end;
    }
    text.extend(ol[at..].iter().copied());
    Some(EntryMerge {
        text: text.into_bytes(),
        carried,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
menu \"Drivers\"

config OPERA1
\ttristate \"Opera1\"
\tdepends on USB
\thelp
\t  Say Y here.

config AF9005
\ttristate \"AF9005\"
\tdepends on USB
\tselect TUNER_A
\thelp
\t  Say Y here to support AF9005.

config DTV5100
\ttristate \"DTV5100\"
\tdepends on USB

endmenu
";

    fn sorted_upstream() -> String {
        // Upstream sorts the entries (OPERA1 last) and edits DTV5100.
        let opera =
            "config OPERA1\n\ttristate \"Opera1\"\n\tdepends on USB\n\thelp\n\t  Say Y here.\n\n";
        BASE.replace(opera, "").replace(
            "\tdepends on USB\n\nendmenu",
            &format!("\tdepends on USB && I2C\n\n{opera}endmenu"),
        )
    }

    #[test]
    fn a_change_to_an_entry_the_target_moved_goes_to_its_new_place() {
        let theirs = BASE.replace(
            "\ttristate \"AF9005\"\n",
            "\ttristate \"AF9005\"\n\tdepends on BROKEN\n",
        );
        let ours = sorted_upstream();
        let m = merge(BASE.as_bytes(), ours.as_bytes(), theirs.as_bytes()).unwrap();
        let want = ours.replace(
            "\ttristate \"AF9005\"\n",
            "\ttristate \"AF9005\"\n\tdepends on BROKEN\n",
        );
        assert_eq!(String::from_utf8(m.text).unwrap(), want);
        assert_eq!(m.carried.len(), 1);
        let c = &m.carried[0];
        assert_eq!(
            (c.name.as_str(), c.line, c.verbatim),
            ("config AF9005", 3, true)
        );
        assert_eq!(c.added, ["\tdepends on BROKEN\n"]);
    }

    #[test]
    fn the_target_s_own_edit_to_the_entry_is_kept() {
        let theirs = BASE.replace("config DTV5100\n", "config DTV5100\n\tdepends on BROKEN\n");
        let ours = sorted_upstream();
        let m = merge(BASE.as_bytes(), ours.as_bytes(), theirs.as_bytes()).unwrap();
        assert!(String::from_utf8(m.text).unwrap().contains(
            "config DTV5100\n\tdepends on BROKEN\n\ttristate \"DTV5100\"\n\tdepends on USB && I2C\n"
        ));
        assert!(!m.carried[0].verbatim);
    }

    #[test]
    fn both_changing_the_same_line_is_refused() {
        let theirs = BASE.replace(
            "\tdepends on USB\n\nendmenu",
            "\tdepends on USB && PCI\n\nendmenu",
        );
        let ours = sorted_upstream();
        assert_eq!(
            merge(BASE.as_bytes(), ours.as_bytes(), theirs.as_bytes()),
            None
        );
    }

    #[test]
    fn a_change_outside_entries_or_a_new_entry_is_not_this_merge() {
        let ours = sorted_upstream();
        for theirs in [
            BASE.replace("menu \"Drivers\"", "menu \"USB drivers\""),
            BASE.replace("endmenu", "config NEW\n\tbool\n\nendmenu"),
            BASE.replace(
                "config DTV5100\n\ttristate \"DTV5100\"\n\tdepends on USB\n\n",
                "",
            ),
        ] {
            assert_eq!(
                merge(BASE.as_bytes(), ours.as_bytes(), theirs.as_bytes()),
                None
            );
        }
    }

    #[test]
    fn an_entry_the_target_has_twice_or_not_at_all_is_refused() {
        let theirs = BASE.replace("config AF9005\n", "config AF9005\n\tdepends on BROKEN\n");
        let twice = format!("{}config AF9005\n\tbool\n", sorted_upstream());
        let gone = sorted_upstream().replace("config AF9005\n", "config AF9015\n");
        for ours in [twice, gone] {
            assert_eq!(
                merge(BASE.as_bytes(), ours.as_bytes(), theirs.as_bytes()),
                None
            );
        }
    }
}
