//! `assemble [SOURCE_DIR]`: builds the application into `$APP_ROOT` (see the `s2i-build` crate
//! and docs/assemble.md).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let source = args.next().map(PathBuf::from);
    if source
        .as_deref()
        .is_some_and(|s| s == "--help" || s == "-h")
    {
        println!(
            "usage: assemble [SOURCE_DIR]   (default /tmp/src; see `usage` for the variables)"
        );
        return ExitCode::SUCCESS;
    }
    if args.next().is_some() {
        eprintln!("assemble: one argument at most: the source directory (default /tmp/src)");
        return ExitCode::from(2);
    }
    let options = s2i_build::Options::new(source);
    match s2i_build::assemble(&options) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprint!(
                "\n{}",
                s2i_build::errors::report(&error).render(s2i_build::errors::PREFIX)
            );
            ExitCode::FAILURE
        }
    }
}
