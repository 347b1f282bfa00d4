//! `run`: the container's PID 1 (see the `s2i-start` crate and docs/run.md).
//!
//! - `run -- COMMAND [ARGS...]`: runs COMMAND under the init (signals, reaping, exit codes).
//! - `run`: detects how the application is served and starts it under the init.
//! - `run TYPE`: starts the Procfile's process type TYPE (`run worker`) under the same init.
//! - `run --dry-run [TYPE]`: prints what it detected, why, and the exact command; exits 0.
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
        None => s2i_start::start_process(false, None),
        Some("--dry-run") if args.len() == 1 => s2i_start::start_process(true, None),
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
        Some("--dry-run") if args.len() == 2 && is_type(&args[1]) => {
            s2i_start::start_process(true, args[1].to_str())
        }
        Some(name) if !name.starts_with('-') && args.len() == 1 => {
            s2i_start::start_process(false, Some(name))
        }
        Some(name) if !name.starts_with('-') && args.len() == 2 && args[1] == "--dry-run" => {
            s2i_start::start_process(true, Some(name))
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

/// A word that names a process type rather than an option.
fn is_type(arg: &OsString) -> bool {
    arg.to_str().is_some_and(|a| !a.starts_with('-'))
}
