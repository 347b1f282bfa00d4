//! `assemble [SOURCE_DIR]`: builds the application into `$APP_ROOT` (see the `s2i-build` crate
//! and docs/assemble.md).
//!
//! `assemble --fix-permissions DIR...` applies the build's group-0 permission pass to other
//! directories: the image's `/usr/bin/fix-permissions` (the script users of the default
//! OpenShift Python image call in their Dockerfiles) runs it.

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
            "usage: assemble [SOURCE_DIR]   (default /tmp/src; see `usage` for the variables)\n       assemble --fix-permissions DIR...   (group 0 read/write, as after a build)"
        );
        return ExitCode::SUCCESS;
    }
    if source.as_deref().is_some_and(|s| s == "--fix-permissions") {
        return fix_permissions(args.map(PathBuf::from).collect());
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

/// The permission pass over each directory. sclorg's `-P` (do not follow symlinks) is accepted:
/// symlinks are never followed anyway.
fn fix_permissions(dirs: Vec<PathBuf>) -> ExitCode {
    let dirs: Vec<PathBuf> = dirs.into_iter().filter(|d| d.as_os_str() != "-P").collect();
    if dirs.is_empty() {
        eprintln!("usage: fix-permissions DIR... [-P]");
        return ExitCode::from(2);
    }
    let mut status = ExitCode::SUCCESS;
    for dir in &dirs {
        match s2i_build::permissions::fix(dir) {
            Ok(fixed) => {
                if fixed.not_permitted > 0 {
                    eprintln!(
                        "fix-permissions: {}: {} entries belong to another user and keep their permissions",
                        dir.display(),
                        fixed.not_permitted
                    );
                }
            }
            Err(s2i_build::permissions::FixPermissionsError::Walk { path, source }) => {
                eprintln!("fix-permissions: cannot read {}: {source}", path.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
