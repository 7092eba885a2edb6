//! A file the target deleted with nothing of it left: of the functions, macros, types and
//! variables it defined, at least three in four are defined nowhere in the target (nor by the
//! queue; the rest are common names other files define too), so no moved copy exists. The patch's change to it is dropped, as a maintainer drops the hunks for a
//! driver upstream removed, when the rest of the patch applies; a patch that changes nothing
//! else is judged whole (`obsolete`, confirmed tree-wide) instead.

use crate::syntax::defs::{Defs, Kind, Lookup, Use, UseKind};

/// Names shorter than this are too common to prove anything (`init`, `probe`).
const MIN_NAME: usize = 6;
/// Distinctive names a file must define before their absence says it is gone.
const MIN_NAMES: usize = 3;

/// What is gone of a file.
#[derive(Debug, PartialEq)]
pub struct Gone {
    /// The distinctive names it defined that the target does not, sorted.
    pub names: Vec<String>,
    /// Of how many distinctive names it defined.
    pub of: usize,
}

/// The names `path` (as the patch found it, `text`) defined that are gone from the target;
/// None when more than a quarter are still defined, or too few are distinctive to tell.
pub fn gone(path: &str, text: &[u8], known: &dyn Lookup) -> Option<Gone> {
    let mut defs = Defs::default();
    defs.scan(path, text);
    let names: Vec<&str> = defs
        .names_of(&[Kind::Function, Kind::Macro, Kind::Type, Kind::Variable])
        .into_iter()
        .filter(|n| n.len() >= MIN_NAME && !n.starts_with("__"))
        .collect();
    if names.len() < MIN_NAMES {
        return None;
    }
    let missing = |name: &str| {
        known.missing(&Use {
            name: name.to_string(),
            kind: UseKind::Plain,
            path: path.to_string(),
            line: 0,
        })
    };
    let gone: Vec<String> = names
        .iter()
        .filter(|n| missing(n))
        .map(|n| n.to_string())
        .collect();
    // A moved or merged file keeps its names; a removed one keeps only the few that other
    // files happen to define too (`rx_complete`, `get_name`).
    (gone.len() * 4 >= names.len() * 3).then_some(Gone {
        names: gone,
        of: names.len(),
    })
}

/// A build file (`Kconfig*`, `Makefile`, `Kbuild`) in a folder the target removed whole: the
/// Kconfig symbols it defines (a Kconfig file) or builds on (a Makefile's `CONFIG_` names) are
/// defined nowhere in the target. A build file names too few things for [`gone`]'s count; the
/// folder's absence is the rest of the evidence. None when the folder exists, the file is not
/// a build file, or it names no symbol or one still defined.
pub fn build_file_gone(
    path: &str,
    text: &[u8],
    folder_exists: bool,
    known: &dyn Lookup,
) -> Option<Gone> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if folder_exists || !path.contains('/') {
        return None;
    }
    let mut names: Vec<String> = if crate::syntax::kconfig::is_kconfig_path(path) {
        let mut defs = Defs::default();
        defs.scan(path, text);
        defs.names_of(&[Kind::Kconfig])
            .into_iter()
            .map(str::to_string)
            .collect()
    } else if file == "Makefile" || file == "Kbuild" {
        let text = String::from_utf8_lossy(text);
        let lines: Vec<&str> = text.lines().collect();
        let (uses, _) = crate::syntax::defs::lines_refs(path, "", &lines);
        uses.into_iter()
            .filter(|(_, kind, _)| *kind == UseKind::Kconfig)
            .map(|(name, _, _)| name)
            .collect()
    } else {
        return None;
    };
    names.sort();
    names.dedup();
    let missing = |name: &String| {
        known.missing(&Use {
            name: name.clone(),
            kind: UseKind::Kconfig,
            path: path.to_string(),
            line: 0,
        })
    };
    if names.is_empty() || !names.iter().all(missing) {
        return None;
    }
    Some(Gone {
        of: names.len(),
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that still defines `kept`.
    #[derive(Debug)]
    struct Target(&'static [&'static str]);

    impl Lookup for Target {
        fn missing(&self, used: &Use) -> bool {
            !self.0.contains(&used.name.as_str())
        }
    }

    const DRIVER: &str = "#define AMB_FIRMWARE \"atmsar11.fw\"\n\nstatic int amb_load_firmware(struct amb_dev *dev)\n{\n\treturn 0;\n}\n\nstatic int amb_probe(struct pci_dev *pci)\n{\n\treturn amb_load_firmware(NULL);\n}\n";

    #[test]
    fn a_driver_whose_every_name_is_gone_is_gone() {
        let g = gone("drivers/atm/ambassador.c", DRIVER.as_bytes(), &Target(&[])).unwrap();
        assert_eq!(g.names, ["AMB_FIRMWARE", "amb_load_firmware", "amb_probe"]);
        assert_eq!(g.of, 3);
    }

    #[test]
    fn names_still_defined_mean_it_may_have_moved() {
        let t = Target(&["amb_probe"]);
        assert_eq!(
            gone("drivers/atm/ambassador.c", DRIVER.as_bytes(), &t),
            None
        );
        // One common name of four still defined elsewhere: gone all the same.
        let text = format!("{DRIVER}\nstatic void rx_complete(void)\n{{\n}}\n");
        let t = Target(&["rx_complete"]);
        let g = gone("drivers/atm/ambassador.c", text.as_bytes(), &t).unwrap();
        assert_eq!(g.names, ["AMB_FIRMWARE", "amb_load_firmware", "amb_probe"]);
        assert_eq!(g.of, 4);
    }

    #[test]
    fn too_few_distinctive_names_prove_nothing() {
        let text =
            "static int init(void)\n{\n\treturn 0;\n}\n\nint __probe_it(void)\n{\n\treturn 1;\n}\n";
        assert_eq!(gone("drivers/x.c", text.as_bytes(), &Target(&[])), None);
        // Not C: nothing is read from it.
        assert_eq!(
            gone("Documentation/x.rst", DRIVER.as_bytes(), &Target(&[])),
            None
        );
    }

    #[test]
    fn build_files_of_a_removed_folder_are_gone_when_their_symbols_are() {
        let kconfig = b"menu \"Android\"\nif ANDROID\nconfig ASHMEM\n\tbool \"Enable the Anonymous Shared Memory Subsystem\"\n\tdepends on SHMEM\nendif\nendmenu\n";
        let makefile = b"ccflags-y += -I$(src)\nobj-y += ion/\nobj-$(CONFIG_ASHMEM) += ashmem.o\n";
        let (k, m) = (
            "drivers/staging/android/Kconfig",
            "drivers/staging/android/Makefile",
        );
        let g = build_file_gone(k, kconfig, false, &Target(&["SHMEM"])).unwrap();
        assert_eq!((g.names, g.of), (vec!["ASHMEM".to_string()], 1));
        let g = build_file_gone(m, makefile, false, &Target(&[])).unwrap();
        assert_eq!(g.names, ["ASHMEM"]);
        // The folder is still there, a symbol is still defined, or the file is not a build file.
        assert_eq!(build_file_gone(k, kconfig, true, &Target(&[])), None);
        assert_eq!(
            build_file_gone(m, makefile, false, &Target(&["ASHMEM"])),
            None
        );
        assert_eq!(
            build_file_gone("drivers/x/README", kconfig, false, &Target(&[])),
            None
        );
        // A Makefile that builds on no option proves nothing.
        assert_eq!(
            build_file_gone(m, b"obj-y += a.o\n", false, &Target(&[])),
            None
        );
    }
}
