//! Django: detected by a `manage.py` that sets `DJANGO_SETTINGS_MODULE`. Its settings are read
//! once by a Python helper (`python/introspect.py`, Python 2.7 to 3.13) and recorded for `run`;
//! then collectstatic runs. When STATIC_ROOT is unset, a wrapper settings module
//! (`from <settings> import *` plus a STATIC_ROOT under `$APP_ROOT`) is generated in
//! `$APP_ROOT/.python-s2i/python/` and used for collectstatic and by `run`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::output;
use s2i_env::Env;

/// The helper, written next to the record so it can be run (and read) later.
pub const INTROSPECT_PY: &str = include_str!("python/introspect.py");
/// Name of the generated settings module.
pub const WRAPPER_MODULE: &str = "python_s2i_django_settings";
/// Where collectstatic puts files when the app has no STATIC_ROOT (under `$APP_ROOT`).
pub const DEFAULT_STATIC_ROOT: &str = ".python-s2i/django_static_root";

/// Why a Django step stopped the build.
#[derive(Debug)]
pub enum DjangoError {
    /// The helper could not be written or started.
    Io { path: PathBuf, source: io::Error },
    /// Importing the settings failed (the helper's traceback is in `tail`).
    Introspect {
        settings_module: String,
        command: String,
        tail: Vec<String>,
    },
    /// collectstatic failed (Django's traceback was streamed; the end is in `tail`).
    Collectstatic {
        command: String,
        code: Option<i32>,
        tail: Vec<String>,
    },
}

/// What the helper reports.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Settings {
    pub django_version: String,
    pub settings_module: String,
    pub wsgi_application: Option<String>,
    pub asgi_application: Option<String>,
    pub static_url: Option<String>,
    pub static_root: Option<String>,
    pub staticfiles_installed: bool,
}

/// The settings module of a Django project in `app`: `DJANGO_SETTINGS_MODULE` from the
/// environment, else the one manage.py sets. `None` when there is no manage.py naming one.
#[must_use]
pub fn detect(app: &Path, env: &Env) -> Option<String> {
    let manage = fs::read_to_string(app.join("manage.py")).ok()?;
    let at = manage.find("DJANGO_SETTINGS_MODULE")?;
    if let Some(module) = env.get("DJANGO_SETTINGS_MODULE") {
        return Some(module.to_owned());
    }
    settings_in_manage_py(&manage[at..])
}

/// The first quoted string after the variable name (`setdefault("DJANGO_SETTINGS_MODULE",
/// "mysite.settings")` or `os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"`).
fn settings_in_manage_py(text: &str) -> Option<String> {
    let rest = &text["DJANGO_SETTINGS_MODULE".len()..];
    let rest = rest.trim_start_matches(['"', '\'']);
    let start = rest.find(['"', '\''])?;
    let quote = rest[start..].chars().next()?;
    let value = &rest[start + 1..];
    let end = value.find(quote)?;
    let module = value[..end].trim();
    (!module.is_empty()
        && module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then(|| module.to_owned())
}

/// Runs the helper in the virtualenv to read the settings.
///
/// # Errors
/// The helper cannot be written or run, or the settings do not import.
pub fn introspect(
    python: &Path,
    state_dir: &Path,
    app: &Path,
    settings_module: &str,
    env: &Env,
) -> Result<Settings, DjangoError> {
    let helper = write_helper(state_dir)?;
    let mut command = env.command(python);
    command
        .arg(&helper)
        .args(["django"])
        .arg(app)
        .arg(settings_module)
        .current_dir(app);
    let quoted = output::quote_command(&command);
    output::info(&format!("$ {quoted}"));
    let out = command.output().map_err(|source| DjangoError::Io {
        path: python.to_owned(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed = out
        .status
        .success()
        .then(|| {
            stdout
                .lines()
                .last()
                .and_then(|l| serde_json::from_str::<Settings>(l).ok())
        })
        .flatten();
    parsed.ok_or_else(|| DjangoError::Introspect {
        settings_module: settings_module.to_owned(),
        command: quoted,
        tail: String::from_utf8_lossy(&out.stderr)
            .lines()
            .chain(stdout.lines())
            .map(str::to_owned)
            .collect(),
    })
}

/// Writes the helper to `state_dir/introspect.py`.
///
/// # Errors
/// The file cannot be written.
pub fn write_helper(state_dir: &Path) -> Result<PathBuf, DjangoError> {
    let helper = state_dir.join("introspect.py");
    fs::write(&helper, INTROSPECT_PY).map_err(|source| DjangoError::Io {
        path: helper.clone(),
        source,
    })?;
    Ok(helper)
}

/// Writes the wrapper settings module that adds STATIC_ROOT; returns its module name.
///
/// # Errors
/// The file cannot be written.
pub fn write_wrapper(
    python_dir: &Path,
    settings_module: &str,
    static_root: &Path,
) -> Result<String, DjangoError> {
    fs::create_dir_all(python_dir).map_err(|source| DjangoError::Io {
        path: python_dir.to_owned(),
        source,
    })?;
    let path = python_dir.join(format!("{WRAPPER_MODULE}.py"));
    let text = format!(
        "# Generated by python-s2i's assemble: the app's settings plus a STATIC_ROOT, which they\n\
         # do not set. Used for collectstatic and by `run`.\n\
         from {settings_module} import *  # noqa: F401,F403\n\n\
         STATIC_ROOT = {root:?}\n",
        root = static_root.to_string_lossy(),
    );
    fs::write(&path, text).map_err(|source| DjangoError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(WRAPPER_MODULE.to_owned())
}

/// `python manage.py collectstatic --noinput [--settings=WRAPPER]`, streamed.
///
/// # Errors
/// collectstatic fails.
pub fn collectstatic(
    python: &Path,
    app: &Path,
    wrapper: Option<&str>,
    python_dir: &Path,
    env: &Env,
) -> Result<(), DjangoError> {
    let mut command = env.command(python);
    command
        .args(["manage.py", "collectstatic", "--noinput"])
        .current_dir(app);
    if let Some(module) = wrapper {
        command.arg(format!("--settings={module}"));
        let mut path = python_dir.to_string_lossy().into_owned();
        if let Some(existing) = env.get("PYTHONPATH") {
            path = format!("{path}:{existing}");
        }
        command.env("PYTHONPATH", path);
    }
    let quoted = output::quote_command(&command);
    let finished = output::run(&mut command).map_err(|source| DjangoError::Io {
        path: python.to_owned(),
        source,
    })?;
    if finished.status.success() {
        Ok(())
    } else {
        Err(DjangoError::Collectstatic {
            command: quoted,
            code: finished.status.code(),
            tail: finished.tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_manage_py() {
        let manage = r#"os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")"#;
        assert_eq!(
            settings_in_manage_py(&manage[manage.find("DJANGO").expect("x")..]),
            Some("mysite.settings".into())
        );
        let manage = "os.environ['DJANGO_SETTINGS_MODULE'] = 'a.b_c'";
        assert_eq!(
            settings_in_manage_py(&manage[manage.find("DJANGO").expect("x")..]),
            Some("a.b_c".into())
        );
    }

    #[test]
    fn wrapper_imports_the_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let module =
            write_wrapper(dir.path(), "mysite.settings", Path::new("/app/static")).expect("write");
        let text = fs::read_to_string(dir.path().join(format!("{module}.py"))).expect("read");
        assert!(text.contains("from mysite.settings import *"));
        assert!(text.contains("STATIC_ROOT = \"/app/static\""));
    }
}
