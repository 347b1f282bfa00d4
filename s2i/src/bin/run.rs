//! `run`: the container's PID 1 (see the `s2i-start` crate and docs/run.md).
//!
//! - `run -- COMMAND [ARGS...]`: runs COMMAND under the init (signals, reaping, exit codes).
//! - `run`: detects how the application is served and starts it under the init.
//! - `run --dry-run`: prints what it detected, why, and the exact command; exits 0.

use std::ffi::OsString;
use std::process::ExitCode;

use s2i_start::{errors, RunError};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = match args.first().and_then(|a| a.to_str()) {
        Some("--") => return ExitCode::from(s2i_start::run_command(&args[1..])),
        None => s2i_start::start(false),
        Some("--dry-run") if args.len() == 1 => s2i_start::start(true),
        Some("-h" | "--help") => {
            print!("{}", s2i_start::USAGE);
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(RunError::Usage(format!("unknown argument `{other}`"))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprint!("{}", errors::render(&e));
            ExitCode::from(errors::exit_code(&e))
        }
    }
}
