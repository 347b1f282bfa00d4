//! `usage`: not built yet (see the project's issues).

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("usage: not built yet in this version of python-s2i");
    ExitCode::from(2)
}
