//! `run`: the container's PID 1 (see the `s2i-start` crate and docs/run.md).
//!
//! - `run -- COMMAND [ARGS...]`: runs COMMAND under the init (signals, reaping, exit codes).
//! - `run`: detects how the application is served and starts it under the init.
//! - `run --dry-run`: prints what it detected, why, and the exact command; exits 0.
//! - `run --release`: the release phase (migrate, the release commands), then exits.
//! - `run --check-ready [PATH]` / `run --check-live`: the readiness and liveness probes.
//! - `run --sbom`: prints the bill of materials assemble wrote (CycloneDX 1.6 JSON).

use std::ffi::OsString;
use std::process::ExitCode;

use s2i_release::Check;
use s2i_start::{errors, RunError};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = match args.first().and_then(|a| a.to_str()) {
        Some("--") => return ExitCode::from(s2i_start::run_command(&args[1..])),
        None => s2i_start::start(false),
        Some("--dry-run") if args.len() == 1 => s2i_start::start(true),
        Some("--release") if args.len() == 1 => s2i_start::release(),
        Some("--sbom") if args.len() == 1 => s2i_start::print_sbom(),
        Some("--check-live") if args.len() == 1 => {
            return ExitCode::from(s2i_start::probe(&Check::Live));
        }
        Some("--check-ready") if args.len() <= 2 => {
            let path = args
                .get(1)
                .map_or_else(|| "/".to_owned(), |p| p.to_string_lossy().into_owned());
            return ExitCode::from(s2i_start::probe(&Check::Ready { path }));
        }
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
