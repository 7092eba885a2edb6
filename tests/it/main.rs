//! The integration tests, one binary: each module is one area's end-to-end tests on real git
//! repositories, real kernel trees and QEMU (`common` and `arch_common` hold the helpers). One
//! binary links once, and `scripts/test` names a test `it::<module>::<test>`.

mod arch_common;
mod common;

mod accuracy_series;
mod arch_new_arch;
mod arch_status;
mod bisect_real;
mod bisect_small;
mod boot_config;
mod boot_cross;
mod boot_e2e;
mod busybox_fetch;
mod cascade_finer_real;
mod cascade_kconfig;
mod cascade_memory;
mod cascade_real;
mod cascade_small;
mod ci_e2e;
mod ci_emit;
mod ci_gate;
mod ci_verify;
mod collateral_small;
mod conventions;
mod defs_real;
mod demo;
mod install_anywhere;
mod json_schemas;
mod lava_shell;
mod lint_cli;
mod lint_evl_helpers;
mod lint_evl_tree;
mod lint_kernel;
mod lint_limits;
mod rebase_api;
mod rebase_real;
mod rebase_real_queue;
mod rebase_small;
mod rebase_split;
mod rebase_trust;
mod rebase_verdicts;
mod results_parse;
mod results_recorded;
mod series_placement;
