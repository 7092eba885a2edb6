//! The shared front end for kernel sources: what C files, Kconfig files and patches say, read
//! once and used by every engine.

pub mod c;
pub mod defs;
pub mod diff_header;
pub mod kconfig;

/// Prose: documentation text (reStructuredText, plain text, Markdown). Its lines name no code
/// and open no block, so the C and Kconfig rules about names and scope do not apply to it.
pub fn is_prose_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name.rsplit_once('.').map(|(_, ext)| ext),
        Some("rst" | "txt" | "md")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn prose_is_told_by_the_extension() {
        for p in [
            "Documentation/admin-guide/kernel-parameters.txt",
            "README.md",
            "a/b.rst",
        ] {
            assert!(super::is_prose_path(p), "{p}");
        }
        for p in [
            "kernel/irq.c",
            "Documentation/Makefile",
            "txt",
            "arch/x86/Kconfig",
        ] {
            assert!(!super::is_prose_path(p), "{p}");
        }
    }
}
