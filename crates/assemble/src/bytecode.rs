//! Bytecode compiled at build time, so that no container compiles the app or its dependencies
//! on its first imports (and none needs to write into `$APP_ROOT` to do so).
//!
//! The dependencies: uv is told to compile what it installs (`UV_COMPILE_BYTECODE=1`, set by
//! [`crate::install::configure`]); pip compiles by default. The app (and the state directory's
//! Python files, e.g. Django's wrapper settings) is compiled here with `python -m compileall`,
//! in parallel on Python 3 (`-j 0`: one worker per CPU). The virtualenv's `lib` is passed too:
//! what is already compiled costs one `stat` per file, what a hook or a `--no-compile` install
//! left out gets compiled (not after a restore of the previous build's dependencies that
//! nothing wrote into since: they carry their bytecode; after an install over restored
//! dependencies, only what that install wrote, from the new distributions' `RECORD`s). A file that does not compile (Python 2 syntax in a 3.x app, a
//! template with a `.py` name) is a warning, never a failed build: Python would fail the same
//! way when importing it, or never import it.
//!
//! A `.pyc` is current when it records its source's size and modification time in whole
//! seconds (rounded down). Copies that keep times only to the second may round instead
//! (`podman cp`, multi-stage `COPY --from` of the runtime image did: x.7 s became x+1), which
//! makes every `.pyc` stale. So the sources' times are rounded down to the second first
//! ([`whole_seconds`]): every copy keeps them exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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

/// What of the virtualenv is compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VenvPart {
    /// Its whole `lib`.
    Whole,
    /// Nothing: it holds restored dependencies with their bytecode, and nothing wrote into it
    /// since.
    Nothing,
    /// These packages and modules (what an install over restored dependencies wrote:
    /// [`installed_since`]).
    Only(Vec<PathBuf>),
}

/// The paths to compile: the virtualenv's `part` and each existing directory of `more`.
#[must_use]
pub fn targets(venv: &Venv, part: &VenvPart, more: &[&Path]) -> Vec<PathBuf> {
    let venv_paths = match part {
        VenvPart::Whole => vec![venv.root.join("lib")],
        VenvPart::Nothing => Vec::new(),
        VenvPart::Only(paths) => paths.clone(),
    };
    venv_paths
        .into_iter()
        .chain(more.iter().map(|p| p.to_path_buf()))
        .filter(|p| p.exists())
        .collect()
}

/// The installed distributions of the virtualenv: each metadata directory of its site-packages
/// ([`crate::venv::metadata_dirs`]) with its `RECORD`'s modification time, to tell afterwards what an install added
/// or wrote again.
#[must_use]
pub fn distributions(venv: &Venv) -> BTreeMap<PathBuf, Option<SystemTime>> {
    crate::venv::metadata_dirs(&venv.root)
        .into_iter()
        .map(|dir| {
            let written = std::fs::metadata(dir.join("RECORD"))
                .and_then(|m| m.modified())
                .ok();
            (dir, written)
        })
        .collect()
}

/// The packages and modules at the top of site-packages that the distributions installed or
/// written again since `before` ([`distributions`]) hold, from their `RECORD`s (a script's
/// `../../bin` entry, the metadata and `.pth` files left out).
#[must_use]
pub fn installed_since(
    venv: &Venv,
    before: &BTreeMap<PathBuf, Option<SystemTime>>,
) -> Vec<PathBuf> {
    let mut tops = BTreeSet::new();
    for (dist_info, written) in distributions(venv) {
        if before.get(&dist_info) == Some(&written) {
            continue;
        }
        let Some(site_packages) = dist_info.parent() else {
            continue;
        };
        let record = std::fs::read_to_string(dist_info.join("RECORD")).unwrap_or_default();
        for line in record.lines() {
            // CSV: `path,hash,size`, the path quoted when it holds a comma.
            let path = match line.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next(),
                None => line.split(',').next(),
            }
            .unwrap_or("");
            let Some(top) = path.split('/').next().filter(|t| !t.is_empty()) else {
                continue;
            };
            let is_package = path.contains('/');
            let keep = !top.starts_with("..")
                && !top.ends_with(".dist-info")
                && !top.ends_with(".data")
                && top != "__pycache__"
                && (is_package || top.ends_with(".py"));
            if keep {
                tops.insert(site_packages.join(top));
            }
        }
    }
    tops.into_iter().collect()
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

/// `python -m compileall -q [-j 0] DIRS`, its output in the build log. `parallel`: worth a
/// process pool (the virtualenv's files are among `dirs`; for the app's few files alone,
/// starting the workers costs more than it saves).
#[must_use]
pub fn compile(venv: &Venv, env: &Env, dirs: &[PathBuf], parallel: bool) -> Compiled {
    let mut command = env.command(&venv.python);
    command.args(["-m", "compileall", "-q"]);
    // -j appeared in Python 3.5; 0 means one worker per CPU since 3.6.
    if parallel && (venv.version.0, venv.version.1) >= (3, 6) {
        command.args(["-j", "0"]);
    }
    command.args(dirs);
    match output::run(&mut command) {
        Ok(finished) if finished.status.success() => Compiled::Ok,
        Ok(_) => Compiled::SomeFailed,
        Err(e) => Compiled::NotRun(format!("{}: {e}", output::quote_command(&command))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_install_wrote_is_found_from_the_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let site = root.join("lib/python3.11/site-packages");
        let dist = |name: &str, record: &str| {
            let info = site.join(format!("{name}.dist-info"));
            std::fs::create_dir_all(&info).expect("mkdir");
            std::fs::write(info.join("RECORD"), record).expect("write");
        };
        dist(
            "six-1.16.0",
            "six.py,sha256=x,1\nsix-1.16.0.dist-info/RECORD,,\n",
        );
        let venv = Venv {
            root: root.clone(),
            python: root.join("bin/python"),
            version: (3, 11, 2),
        };
        let before = distributions(&venv);
        assert!(installed_since(&venv, &before).is_empty());
        dist(
            "idna-3.7",
            "idna/__init__.py,sha256=x,1\nidna/core.py,sha256=x,1\n\
             idna-3.7.dist-info/RECORD,,\n../../../bin/idna,sha256=x,1\n\
             idna.pth,sha256=x,1\n\"weird,name.py\",sha256=x,1\n",
        );
        assert_eq!(
            installed_since(&venv, &before),
            [site.join("idna"), site.join("weird,name.py")]
        );
        // six written again at the same version: its RECORD is newer.
        let record = site.join("six-1.16.0.dist-info/RECORD");
        let later = filetime::FileTime::from_unix_time(4_000_000_000, 0);
        filetime::set_file_mtime(&record, later).expect("mtime");
        assert!(installed_since(&venv, &before).contains(&site.join("six.py")));
    }
}
