//! The virtualenv at `$APP_ROOT`: created when missing (host mode) with `$PYTHON`, and asked
//! for its Python version.

use std::io;
use std::path::{Path, PathBuf};

use crate::output;
use s2i_env::Env;

/// Why the virtualenv could not be created or inspected.
#[derive(Debug)]
pub enum CreateVenvError {
    /// The interpreter could not be started, or the command failed.
    Run(output::Failure),
    /// The virtualenv's python does not report a version.
    Version { python: PathBuf, detail: String },
}

pub use s2i_sbom::metadata_dirs;

/// The virtualenv's interpreter and version.
#[derive(Debug, Clone)]
pub struct Venv {
    pub root: PathBuf,
    pub python: PathBuf,
    /// `(major, minor, micro)`.
    pub version: (u32, u32, u32),
}

impl Venv {
    /// `major.minor`.
    #[must_use]
    pub fn short_version(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// `$APP_ROOT/bin/NAME`.
    #[must_use]
    pub fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }
}

/// Whether `root` already holds a virtualenv.
#[must_use]
pub fn exists(root: &Path) -> bool {
    root.join("bin/python").exists()
        && (root.join("pyvenv.cfg").is_file() || root.join("bin/activate").is_file())
}

/// What a virtualenv is made of under its root (the parts [`remove`] deletes).
const PARTS: [&str; 5] = ["bin", "lib", "lib64", "include", "pyvenv.cfg"];

/// Whether any part of a virtualenv is at `root` (even a half-made one, without `bin/python`).
#[must_use]
pub fn any_part_exists(root: &Path) -> bool {
    PARTS
        .iter()
        .any(|part| std::fs::symlink_metadata(root.join(part)).is_ok())
}

/// Removes a virtualenv that cannot be trusted (a build that made or changed it did not
/// finish): its interpreter, packages and scripts; the sources and the state stay.
///
/// # Errors
/// A part cannot be removed.
pub fn remove(root: &Path) -> io::Result<()> {
    for part in PARTS {
        let path = root.join(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path)?,
            Ok(_) => std::fs::remove_file(&path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Uses the virtualenv at `root`, creating it with `$PYTHON` (default `python3`) when missing:
/// `uv venv --seed` when `uv` is given (fast; pip is seeded so hooks can use it), else (or when
/// uv cannot, e.g. for Python 2.7) `python -m venv`, or `python -m virtualenv` for interpreters
/// without venv.
///
/// # Errors
/// See [`CreateVenvError`].
pub fn ensure(root: &Path, env: &Env, uv: Option<&Path>) -> Result<Venv, CreateVenvError> {
    if exists(root) {
        output::info(&format!("Using the virtualenv at {}", root.display()));
    } else {
        let python = env.get("PYTHON").unwrap_or("python3").to_owned();
        output::info(&format!(
            "No virtualenv at {}: creating one with {python}",
            root.display()
        ));
        let by_uv = uv.is_some_and(|uv| {
            let mut command = env.command(uv);
            command
                .args(["venv", "--seed", "--allow-existing", "--python", &python])
                .arg(root);
            output::run_ok(&mut command).is_ok() && exists(root)
        });
        if !by_uv {
            create_with_python(root, env, &python)?;
        }
    }
    inspect(root, env)
}

fn create_with_python(root: &Path, env: &Env, python: &str) -> Result<(), CreateVenvError> {
    let has_venv = env
        .command(python)
        .args(["-c", "import venv, ensurepip"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = env.command(python);
    if has_venv {
        command.args(["-m", "venv"]);
    } else {
        command.args(["-m", "virtualenv"]);
    }
    command.arg(root);
    output::run_ok(&mut command).map_err(CreateVenvError::Run)
}

/// `major.minor.patch` of the interpreter the build will use: the virtualenv's when it exists,
/// else `$PYTHON`'s. `None` when it does not run.
#[must_use]
pub fn planned_release(root: &Path, env: &Env) -> Option<(u32, u32, u32)> {
    let python = if exists(root) {
        root.join("bin/python").into_os_string()
    } else {
        env.get("PYTHON").unwrap_or("python3").into()
    };
    s2i_sbom::python_version(python, env).ok()
}

/// Reads the virtualenv's Python version.
fn inspect(root: &Path, env: &Env) -> Result<Venv, CreateVenvError> {
    let python = root.join("bin/python");
    let version =
        s2i_sbom::python_version(&python, env).map_err(|detail| CreateVenvError::Version {
            python: python.clone(),
            detail,
        })?;
    Ok(Venv {
        root: root.to_owned(),
        python,
        version,
    })
}
