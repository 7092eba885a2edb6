//! The shared front end for kernel sources: what C files, Kconfig files and patches say, read
//! once and used by every engine. It starts with the definitions index; the C parser set-up and
//! the Kconfig and diff-header readers are to move here from the engines (issue 16).

pub mod defs;
