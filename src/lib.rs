//! dovetail-port: the library behind the `dovetail-port` command.
//!
//! One module per engine; the CLI in `src/cli/` is a thin layer over these.

pub mod arch;
pub mod bisect;
pub mod boot;
pub mod ci;
pub mod demo;
pub mod doctor;
pub mod kbuild;
pub mod kernels;
pub mod lint;
pub mod process;
pub mod queue;
pub mod rebase;
pub mod results;

/// Where the project's data folders live: next to the binary's source at build time, or
/// `$DOVETAIL_PORT_DATA` when the tool is installed elsewhere.
pub fn data_dir() -> std::path::PathBuf {
    match std::env::var_os("DOVETAIL_PORT_DATA") {
        Some(dir) => dir.into(),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    }
}
