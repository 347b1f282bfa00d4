//! `assemble`: not built yet (see the project's issues).

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("assemble: not built yet in this version of python-s2i");
    ExitCode::from(2)
}
