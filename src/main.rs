use std::process::ExitCode;

fn main() -> ExitCode {
    dovetail_port_cli::run()
}

#[path = "cli/mod.rs"]
mod dovetail_port_cli;
