//! Test helper for `test/tests/init.rs`: `init-translated -- COMMAND...` supervises COMMAND
//! with the library exactly as `run` does, plus the translation the Apache server path uses
//! (SIGTERM is sent to the child as SIGWINCH, Apache's graceful stop).

use std::process::{Command, ExitCode};

use s2i_init::{Options, Signal};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(("--", [program, rest @ ..])) = args.split_first().map(|(a, r)| (a.as_str(), r))
    else {
        eprintln!("usage: init-translated -- COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    let options = match Options::from_env(&s2i_env::Env::from_process()) {
        Ok(options) => options.translate(Signal::SIGTERM, Signal::SIGWINCH),
        Err(e) => {
            eprintln!("init-translated: {e}");
            return ExitCode::from(2);
        }
    };
    let mut command = Command::new(program);
    command.args(rest);
    ExitCode::from(s2i_init::supervise(command, &options))
}
