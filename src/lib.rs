//! dovetail-port: the library behind the `dovetail-port` command.
//!
//! One module per engine; the CLI in `src/cli/` is a thin layer over these.

pub mod accuracy;
pub mod apt;
pub mod arch;
pub mod bisect;
pub mod boot;
pub mod cache;
pub mod ci;
pub mod data;
pub mod demo;
pub mod doctor;
pub mod kbuild;
pub mod kernels;
pub mod lint;
pub mod markdown;
pub mod process;
pub mod progress;
pub mod queue;
pub mod rebase;
pub mod results;
pub mod schema;
pub mod syntax;
#[cfg(test)]
mod testing;
