//! `run`: the container's PID 1.
//!
//! - `run -- COMMAND [ARGS...]`: runs COMMAND under the init (signals, reaping, exit codes).
//! - `run` / `run --dry-run`: detect how the application is served and start it (issue 3).

use std::ffi::OsString;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.first().and_then(|a| a.to_str()) {
        Some("--") => run_command(&args[1..]),
        _ => {
            eprintln!("run: starting the application is not built yet; use `run -- COMMAND`");
            ExitCode::from(2)
        }
    }
}

/// `run -- COMMAND [ARGS...]`.
fn run_command(argv: &[OsString]) -> ExitCode {
    let Some((program, args)) = argv.split_first() else {
        eprintln!("run: `run --` needs a command to run, e.g. `run -- python app.py`");
        return ExitCode::from(2);
    };
    let options = match s2i_init::Options::from_env() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("run: {e}");
            return ExitCode::from(2);
        }
    };
    let mut command = Command::new(program);
    command.args(args);
    ExitCode::from(s2i_init::supervise(command, &options))
}
