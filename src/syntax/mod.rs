//! The shared front end for kernel sources: what C files, Kconfig files and patches say, read
//! once and used by every engine.

pub mod c;
pub mod defs;
pub mod diff_header;
pub mod kconfig;
