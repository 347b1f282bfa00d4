//! The record `assemble` leaves for `run`.
//!
//! `assemble` introspects the application once (Python version, Django settings, the package it
//! installed, which servers are in the virtualenv) and writes it to
//! `$APP_ROOT/.python-s2i/facts.json`. `run` reads it so that it starts no Python of its own to
//! find out the same things on every container start.
//!
//! What `run` reads: `decision` (what to start, carried out as is unless a deciding override is
//! set at start: [`Facts::deciding_overrides`]), and `app_home`, `package`, `django`, `modules`
//! when it decides again. The rest is the build summary, for users (`python`,
//! `package_manager`, `servers_installed`, `summary`). Every field is optional or defaulted: a
//! record written by an older `assemble` still loads, and `run` decides again from the source
//! tree when the decision is missing; a record of a newer format loads too, and `run` warns
//! ([`Facts::newer_than_this`]).
//!
//! [`Layout`] names every path under `$APP_ROOT/.python-s2i`; [`StartDirs`] decides where
//! `run` writes when that directory is not writable (a private directory under `/tmp`).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use s2i_env::variables::{overrides, Role};
use serde::{Deserialize, Serialize};

pub mod start_dirs;
pub use start_dirs::{Make, StartDirError, StartDirs};

/// The name of the directory under `$APP_ROOT` that holds the record and files generated for
/// the app (paths in it: [`Layout`]).
pub const STATE_DIR: &str = ".python-s2i";

/// The artifacts archive of the installers' caches (`uv/`, `pip/`, `npm/`).
pub const CACHES_ARCHIVE: &str = "python-s2i-caches.tar.zst";

/// Every path under `$APP_ROOT/.python-s2i`: the one place that spells out that layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout under `app_root`.
    #[must_use]
    pub fn new(app_root: &Path) -> Self {
        Self {
            dir: app_root.join(STATE_DIR),
        }
    }

    /// `$APP_ROOT/.python-s2i` itself.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The build record, `facts.json`.
    #[must_use]
    pub fn record(&self) -> PathBuf {
        self.dir.join("facts.json")
    }

    /// The previous build's caches archive, kept in the image when its dependencies were
    /// restored (a runtime image removes it with [`Layout::cache`]).
    #[must_use]
    pub fn kept_caches(&self) -> PathBuf {
        self.dir.join(CACHES_ARCHIVE)
    }

    /// The download caches of uv and pip (`cache/uv`, `cache/pip`).
    #[must_use]
    pub fn cache(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// Python modules generated for the app (assemble's Django wrapper settings, run's WSGI
    /// wrapper and runners), put on `PYTHONPATH`.
    #[must_use]
    pub fn python(&self) -> PathBuf {
        self.dir.join("python")
    }

    /// run's state (server roots, markers, the migrate helper).
    #[must_use]
    pub fn run(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// Where collectstatic puts files when the app sets no STATIC_ROOT.
    #[must_use]
    pub fn django_static_root(&self) -> PathBuf {
        self.dir.join("django_static_root")
    }

    /// Tools the build installs for itself (pipenv), outside the app's virtualenv.
    #[must_use]
    pub fn tools(&self) -> PathBuf {
        self.dir.join("tools")
    }

    /// assemble's introspection helper, left for users to read.
    #[must_use]
    pub fn introspect_helper(&self) -> PathBuf {
        self.dir.join("introspect.py")
    }

    /// A requirements file exported from a lock file (`method`: the tool that exported it).
    #[must_use]
    pub fn exported_requirements(&self, method: &str) -> PathBuf {
        self.dir.join(format!("requirements-{method}.txt"))
    }

    /// Written when a build starts, removed when it has finished: found by the next build, it
    /// means the last one was interrupted (killed, out of memory, cancelled) or failed, and the
    /// virtualenv it was changing is not trusted (made again).
    #[must_use]
    pub fn in_progress(&self) -> PathBuf {
        self.dir.join("assemble-in-progress")
    }

    /// The software bill of materials assemble writes (CycloneDX 1.6 JSON): every Python
    /// distribution of the virtualenv, the interpreter, the image's Debian packages and the app;
    /// `run --sbom` prints it.
    #[must_use]
    pub fn sbom(&self) -> PathBuf {
        self.dir.join("sbom.cdx.json")
    }

    /// The file assemble writes and removes to check the directory is writable.
    #[must_use]
    pub fn write_probe(&self) -> PathBuf {
        self.dir.join(".write-test")
    }
}

/// Everything `assemble` recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// Format version of this record.
    pub version: u32,
    /// The interpreter of the virtualenv.
    pub python: Option<PythonFacts>,
    /// The application home (cwd and first on `PYTHONPATH`), relative to `$APP_ROOT/src`.
    pub app_home: Option<PathBuf>,
    /// The package manager whose files were installed (`pip`, `pipenv`, `poetry`, `uv`, ...).
    pub package_manager: Option<String>,
    /// The package installed from setup.py / pyproject.toml, when there was one.
    pub package: Option<PackageFacts>,
    /// Django facts, when the application is a Django project.
    pub django: Option<DjangoFacts>,
    /// What the candidate application files (`app.py`, `main.py`, `app/main.py`, the
    /// package's modules: the list is `s2i_detect::candidate_files`) define, read once by
    /// assemble with Python's `ast` module (the app's code is not run). Paths are relative to
    /// the application home.
    pub modules: Vec<ModuleFacts>,
    /// Server executables found in the virtualenv's `bin/` after the build
    /// (`mod_wsgi-express`, `gunicorn`, `uwsgi`, `waitress-serve`, `uvicorn`, ...), for the
    /// build summary and users. `run` does not rely on it: it looks for the executable it is
    /// about to start in the virtualenv.
    pub servers_installed: Vec<String>,
    /// The Procfile's process types, in file order (`run TYPE` starts one), for the build
    /// summary and users; `run` reads the Procfile line it starts with the same function
    /// (`s2i_detect::process_types`).
    pub processes: Vec<String>,
    /// The end of the build summary: what `run` will serve and with which server, in the words
    /// of `run --dry-run`'s `Application:` and `Server:` lines. For users and tests; `run`
    /// carries out `decision`.
    pub summary: Option<Summary>,
    /// What the build decided for the web process (`s2i_detect::Detection`: home, deploy mode,
    /// server asked for, application, Django, every rule's verdict), which `run` carries out;
    /// `None` when the build found nothing to serve. Opaque here: `s2i-detect` writes and reads
    /// it.
    pub decision: Option<serde_json::Value>,
    /// Where the source came from (the commit, the repository without credentials, the
    /// OpenShift build), when the build was told: for the bill of materials, which a runtime
    /// image writes again without the source (`s2i_sbom`).
    pub source: Option<SourceFacts>,
}

/// Where the source of the build came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceFacts {
    /// The commit: `OPENSHIFT_BUILD_COMMIT`, else the `HEAD` of the source's `.git`.
    pub commit: Option<String>,
    /// The repository (`OPENSHIFT_BUILD_SOURCE`), without user information.
    pub url: Option<String>,
    /// `OPENSHIFT_BUILD_REFERENCE`, `OPENSHIFT_BUILD_NAME`, `OPENSHIFT_BUILD_NAMESPACE`.
    pub reference: Option<String>,
    pub build_name: Option<String>,
    pub build_namespace: Option<String>,
}

/// What the build summary said `run` will start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub app: String,
    pub server: String,
    /// The deploy-time overrides (`s2i_env::variables`) set in the build's environment, with
    /// their values.
    pub decided_with: BTreeMap<String, String>,
}

impl Summary {
    /// The deploy-time overrides that `get` (the build's environment) sets, with their values.
    pub fn decided_with<'a>(get: impl Fn(&str) -> Option<&'a str>) -> BTreeMap<String, String> {
        overrides()
            .filter_map(|(name, _)| get(name).map(|v| (name.to_owned(), v.to_owned())))
            .collect()
    }
}

/// The virtualenv's interpreter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PythonFacts {
    /// `major.minor`, e.g. `3.11`.
    pub version: String,
    /// Path of the interpreter inside the virtualenv.
    pub executable: PathBuf,
    /// Whether `import concurrent.futures` works in the virtualenv: always on Python 3; on
    /// Python 2 only with the `futures` backport installed. gunicorn's threaded worker
    /// (`gthread`) needs it, so without it run gives gunicorn sync workers. `None` in records
    /// written before assemble found this out (run keeps threads then).
    pub concurrent_futures: Option<bool>,
}

impl PythonFacts {
    /// Why threads in gunicorn's workers cannot work, when the build found that
    /// `concurrent.futures` cannot be imported (`None` when it can, or was not recorded).
    #[must_use]
    pub fn without_threads(&self) -> Option<String> {
        (self.concurrent_futures == Some(false)).then(|| {
            format!(
                "Python {} in the virtualenv cannot import concurrent.futures (Python 2 has it only with the `futures` package)",
                self.version
            )
        })
    }
}

/// A package installed from the source's setup.py / pyproject.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PackageFacts {
    /// Distribution name.
    pub name: String,
    /// Importable top-level module(s) it provides.
    pub modules: Vec<String>,
}

/// What one Python file defines and starts, read by assemble without running it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModuleFacts {
    /// The file, relative to the application home (`main.py`, `src/flaskr/__init__.py`).
    pub file: PathBuf,
    /// Application objects and factories at module level, in file order.
    pub objects: Vec<AppObject>,
    /// Calls that start a server (under `if __name__ == "__main__":` or at module level).
    pub starts: Vec<ServerStart>,
    /// Web frameworks the file imports (`fastapi`, `flask`, ...).
    pub frameworks: Vec<String>,
    /// Why the file could not be read (a syntax error for this Python), when it could not.
    pub error: Option<String>,
}

/// An application object, a factory that returns one, or a plain WSGI/ASGI callable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppObject {
    /// The name in the module (`app`, `application`, `create_app`).
    pub name: String,
    pub kind: ObjectKind,
    /// From the framework (or the callable's signature).
    pub interface: Interface,
    /// The framework's top-level module, when there is one.
    pub framework: Option<String>,
}

/// What an [`AppObject`] is (the record's words: `object`, `factory`, `callable`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// `app = FastAPI()`.
    #[default]
    Object,
    /// `def create_app(): ... Flask(...)`.
    Factory,
    /// `def application(environ, start_response)`.
    Callable,
}

/// What an application is served through, and a server can serve (`wsgi`/`asgi` in the
/// record, `WSGI`/`ASGI` in messages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    #[default]
    Wsgi,
    Asgi,
}

impl std::fmt::Display for Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Wsgi => "WSGI",
            Self::Asgi => "ASGI",
        })
    }
}

/// A call that starts a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerStart {
    /// What is called, e.g. `app.run()`, `uvicorn.run()`.
    pub call: String,
    /// `development`: a framework's development server (Flask/Quart/Bottle `app.run()`);
    /// `own`: any other server the file starts itself.
    pub kind: StartKind,
    /// `main`: under `if __name__ == "__main__":`; `module`: whenever it is imported.
    #[serde(rename = "where")]
    pub place: StartPlace,
}

/// Which server a [`ServerStart`] starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartKind {
    #[default]
    Development,
    Own,
}

/// Where a [`ServerStart`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartPlace {
    #[default]
    Main,
    Module,
}

/// What Django's settings say, read once at build time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DjangoFacts {
    /// `DJANGO_SETTINGS_MODULE` as the app sets it (from manage.py or the environment).
    pub settings_module: String,
    /// Settings module to run with when assemble had to supply STATIC_ROOT (a wrapper that
    /// imports the app's settings); `None` when the app's own settings are complete.
    pub wrapper_settings_module: Option<String>,
    /// `WSGI_APPLICATION`, e.g. `mysite.wsgi.application`.
    pub wsgi_application: Option<String>,
    /// `ASGI_APPLICATION`, e.g. `mysite.asgi.application`.
    pub asgi_application: Option<String>,
    /// `STATIC_URL` (Django's default `/static/` applies when unset).
    pub static_url: Option<String>,
    /// Where collectstatic put the files (the app's STATIC_ROOT or the one assemble supplied).
    pub static_root: Option<PathBuf>,
    /// `django.contrib.staticfiles` is in INSTALLED_APPS.
    pub staticfiles_installed: bool,
}

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// The file exists but could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// The file is not a valid record.
    #[error("{path} is not a valid build record: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Current format version written by [`Facts::save`].
pub const VERSION: u32 = 1;

impl Facts {
    /// Reads the record under `app_root`; `Ok(None)` when no build has written one.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn load(app_root: &Path) -> Result<Option<Self>, FactsError> {
        let path = Layout::new(app_root).record();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(FactsError::Io { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| FactsError::Parse { path, source })
    }

    /// When the record was written by a newer `assemble` (a format this `run` may read only in
    /// part): what to tell users.
    #[must_use]
    pub fn newer_than_this(&self) -> Option<String> {
        (self.version > VERSION).then(|| {
            format!(
                "the build record has format {} but this run reads format {VERSION}: the image's run is older than the assemble that built the app; facts it does not know are ignored (rebuild with the same image)",
                self.version
            )
        })
    }

    /// The deploy-time overrides (`s2i_env::variables`) that `get` (the environment `run` starts
    /// with) sets to another value than the build saw: those `run` applies over the record.
    pub fn overrides<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> Vec<&'static str> {
        let built = self.summary.as_ref().map(|s| &s.decided_with);
        overrides()
            .map(|(name, _)| name)
            .filter(|name| {
                get(name).is_some_and(|v| built.and_then(|b| b.get(*name)).is_none_or(|b| b != v))
            })
            .collect()
    }

    /// The [`Facts::overrides`] that change what the build decided ([`Role::Deciding`]): with
    /// one set, `run` decides again at start. One exception: `GUNICORN_CMD_ARGS` set where the
    /// build saw none asks for gunicorn in auto mode.
    pub fn deciding_overrides<'a>(
        &self,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Vec<&'static str> {
        let built = |name| {
            self.summary
                .as_ref()
                .is_some_and(|s| s.decided_with.contains_key(name))
        };
        self.overrides(get)
            .into_iter()
            .filter(|name| {
                overrides().any(|o| o == (*name, Role::Deciding))
                    || (*name == "GUNICORN_CMD_ARGS" && !built(*name))
            })
            .collect()
    }

    /// Writes the record under `app_root` atomically (temp file + rename).
    ///
    /// # Errors
    /// The state directory or file cannot be written.
    pub fn save(&self, app_root: &Path) -> Result<(), FactsError> {
        let path = Layout::new(app_root).record();
        let io_err = |source| FactsError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut record = self.clone();
        record.version = VERSION;
        let text = serde_json::to_string_pretty(&record).map_err(|source| FactsError::Parse {
            path: path.clone(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, text + "\n").map_err(io_err)?;
        fs::rename(&tmp, &path).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_record_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Facts::load(dir.path()).expect("load"), None);
    }

    #[test]
    fn round_trip_and_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let facts = Facts {
            django: Some(DjangoFacts {
                settings_module: "mysite.settings".into(),
                static_url: Some("/static/".into()),
                ..DjangoFacts::default()
            }),
            servers_installed: vec!["mod_wsgi-express".into()],
            ..Facts::default()
        };
        facts.save(dir.path()).expect("save");
        let loaded = Facts::load(dir.path()).expect("load").expect("some");
        assert_eq!(loaded.version, VERSION);
        assert_eq!(loaded.django, facts.django);
    }

    #[test]
    fn unknown_fields_and_old_records_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(Layout::new(dir.path()).dir()).expect("mkdir");
        fs::write(
            Layout::new(dir.path()).record(),
            r#"{"version":0,"future":1}"#,
        )
        .expect("write");
        let loaded = Facts::load(dir.path()).expect("load").expect("some");
        assert_eq!(loaded.django, None);
    }

    #[test]
    fn a_newer_record_is_told_apart() {
        let current = Facts {
            version: VERSION,
            ..Facts::default()
        };
        assert_eq!(current.newer_than_this(), None);
        let newer = Facts {
            version: VERSION + 1,
            ..Facts::default()
        };
        assert!(newer
            .newer_than_this()
            .is_some_and(|w| w.contains(&format!("format {}", VERSION + 1))));
    }

    #[test]
    fn overrides_are_the_variables_set_to_another_value_than_the_build_saw() {
        fn get<'a>(vars: &'a [(&str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
            move |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
        }
        let build = [("APP_MODULE", "a:app"), ("PORT", "8080"), ("HOME", "/x")];
        let facts = Facts {
            summary: Some(Summary {
                decided_with: Summary::decided_with(get(&build)),
                ..Summary::default()
            }),
            ..Facts::default()
        };
        assert_eq!(
            facts.summary.as_ref().map(|s| s.decided_with.len()),
            Some(2)
        );
        assert!(facts.overrides(get(&build)).is_empty());
        let start = [
            ("APP_MODULE", "b:app"),
            ("PORT", "8080"),
            ("APP_HOME", "web"),
        ];
        assert_eq!(facts.overrides(get(&start)), ["APP_HOME", "APP_MODULE"]);
        let tuned = [
            ("PORT", "9"),
            ("WEB_CONCURRENCY", "3"),
            ("GUNICORN_CMD_ARGS", "-t 5"),
        ];
        assert_eq!(facts.overrides(get(&tuned)).len(), 3);
        // Only GUNICORN_CMD_ARGS newly set decides (it asks for gunicorn in auto mode).
        assert_eq!(facts.deciding_overrides(get(&tuned)), ["GUNICORN_CMD_ARGS"]);
        assert_eq!(
            facts.deciding_overrides(get(&start)),
            ["APP_HOME", "APP_MODULE"]
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(Layout::new(dir.path()).dir()).expect("mkdir");
        fs::write(Layout::new(dir.path()).record(), "not json").expect("write");
        let err = Facts::load(dir.path()).expect_err("garbage");
        assert!(err.to_string().contains("facts.json"), "{err}");
    }
}
