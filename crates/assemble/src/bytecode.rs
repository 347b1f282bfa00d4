//! Bytecode compiled at build time, so that no container compiles the app or its dependencies
//! on its first imports (and none needs to write into `$APP_ROOT` to do so).
//!
//! The dependencies: uv is told to compile what it installs (`UV_COMPILE_BYTECODE=1`, set by
//! [`crate::install::configure`]); pip compiles by default. The app (and the state directory's
//! Python files, e.g. Django's wrapper settings) is compiled here with `python -m compileall`,
//! in parallel on Python 3 (`-j 0`: one worker per CPU). The virtualenv's `lib` is passed too:
//! what is already compiled costs one `stat` per file, what a hook or a `--no-compile` install
//! left out gets compiled (not after a restore of the previous build's dependencies that
//! nothing wrote into since: they carry their bytecode). A file that does not compile (Python 2 syntax in a 3.x app, a
//! template with a `.py` name) is a warning, never a failed build: Python would fail the same
//! way when importing it, or never import it.
//!
//! A `.pyc` is current when it records its source's size and modification time in whole
//! seconds (rounded down). Copies that keep times only to the second may round instead
//! (`podman cp`, multi-stage `COPY --from` of the runtime image did: x.7 s became x+1), which
//! makes every `.pyc` stale. So the sources' times are rounded down to the second first
//! ([`whole_seconds`]): every copy keeps them exactly.

use std::path::{Path, PathBuf};

use crate::output;
use crate::venv::Venv;
use s2i_env::Env;

/// What compiling did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// Every file compiled.
    Ok,
    /// compileall reported files it could not compile (listed in the log above).
    SomeFailed,
    /// compileall could not be started.
    NotRun(String),
}

/// The directories to compile: the virtualenv's `lib` (with `with_venv`) and each existing
/// directory of `more`.
#[must_use]
pub fn targets(venv: &Venv, more: &[&Path], with_venv: bool) -> Vec<PathBuf> {
    with_venv
        .then(|| venv.root.join("lib"))
        .into_iter()
        .chain(more.iter().map(|p| p.to_path_buf()))
        .filter(|p| p.is_dir())
        .collect()
}

/// Sets the modification time of every `.py` file under `dirs` to its whole second (rounded
/// down), keeping the access time. Returns how many files changed.
#[must_use]
pub fn whole_seconds(dirs: &[PathBuf]) -> usize {
    let mut changed = 0;
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
        {
            if !entry.file_type().is_file() || entry.path().extension().is_none_or(|e| e != "py") {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let mtime = filetime::FileTime::from_last_modification_time(&meta);
            if mtime.nanoseconds() == 0 {
                continue;
            }
            let whole = filetime::FileTime::from_unix_time(mtime.unix_seconds(), 0);
            if filetime::set_file_mtime(entry.path(), whole).is_ok() {
                changed += 1;
            }
        }
    }
    changed
}

/// `python -m compileall -q [-j 0] DIRS`, its output in the build log.
#[must_use]
pub fn compile(venv: &Venv, env: &Env, dirs: &[PathBuf]) -> Compiled {
    let mut command = env.command(&venv.python);
    command.args(["-m", "compileall", "-q"]);
    // -j appeared in Python 3.5; 0 means one worker per CPU since 3.6.
    if (venv.version.0, venv.version.1) >= (3, 6) {
        command.args(["-j", "0"]);
    }
    command.args(dirs);
    match output::run(&mut command) {
        Ok(finished) if finished.status.success() => Compiled::Ok,
        Ok(_) => Compiled::SomeFailed,
        Err(e) => Compiled::NotRun(format!("{}: {e}", output::quote_command(&command))),
    }
}
