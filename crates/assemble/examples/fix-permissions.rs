//! `fix-permissions DIR`: the group-0 permission pass of assemble on its own, for the build
//! benchmark (test/bench/build.sh) and for trying it on a tree.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: fix-permissions DIR");
        return ExitCode::from(2);
    };
    match s2i_assemble::permissions::fix(std::path::Path::new(&dir)) {
        Ok(fixed) => {
            eprintln!(
                "{} entries, {} chmod, {} chgrp, {} not permitted",
                fixed.seen, fixed.chmod, fixed.chgrp, fixed.not_permitted
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fix-permissions: {e:?}");
            ExitCode::FAILURE
        }
    }
}
