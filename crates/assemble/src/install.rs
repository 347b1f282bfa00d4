//! Installing packages into the virtualenv: uv where the interpreter supports it (Python 3.8
//! and later), pip otherwise (Python 2.7). `S2I_INSTALLER=uv|pip|auto` forces the choice.
//!
//! uv comes from `PATH` (which starts with the virtualenv's `bin/`); when it is missing it is
//! pip-installed into the virtualenv first (it is a PyPI package with a static binary).
//! Index and certificate settings given the pip way (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`,
//! `PIP_CERT`) are passed to uv under its own names, and `SSL_CERT_FILE` to pip as `PIP_CERT`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::output;
use crate::package_manager::{PackageManager, Selection};
use crate::venv::Venv;
use s2i_env::Env;

use crate::index::UserIndex;

/// The oldest Python uv installs into.
const UV_MIN_PYTHON: (u32, u32) = (3, 8);

/// Why an install step failed.
#[derive(Debug)]
pub enum InstallError {
    /// `S2I_INSTALLER` is neither `uv`, `pip` nor `auto`.
    UnknownInstaller { value: String },
    /// uv was required (forced, or a uv.lock) but cannot install into this Python.
    UvUnsupported { python: String, reason: String },
    /// A command could not be started.
    Spawn { command: String, source: io::Error },
    /// A command ran and failed.
    Failed {
        what: String,
        command: String,
        code: Option<i32>,
        tail: Vec<String>,
        /// Boxed: the error stays small on the paths that succeed.
        diagnosis: Option<Box<Diagnosis>>,
    },
}

/// What the tool's output says went wrong, when it is one of the common cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    /// A requirement names a package the index does not have.
    PackageNotFound { name: String },
    /// The index has the package, but no release that matches the requirement and installs on
    /// this Python (pip lists only the releases whose Requires-Python admits the interpreter:
    /// gunicorn 20 and later on Python 2.7).
    NoMatchingVersion {
        /// The requirement as pip quotes it (`gunicorn==20.0.4`).
        requirement: String,
        name: String,
        /// The newest release pip offers for this Python.
        newest: String,
    },
    /// A requirements file line could not be parsed.
    RequirementsSyntax { detail: String },
    /// The uv.lock does not match pyproject.toml.
    LockOutdated,
    /// A package with C code needs a compiler or headers (e.g. mod_wsgi needs Apache's apxs).
    BuildToolMissing { detail: String },
    /// A package built from source needs a C library's development files that the image lacks:
    /// a header, a pkg-config module or a `*-config` program.
    LibraryMissing {
        /// What is missing, as the build said it: `sasl/sasl.h`, `dbus-1`, `pg_config`.
        missing: String,
        /// Which of the three it is.
        kind: MissingKind,
        /// The distribution being built, when the installer names it (`python-ldap`).
        package: Option<String>,
        /// The line that says so.
        detail: String,
    },
    /// TLS verification failed: a proxy with its own CA.
    Certificate { detail: String },
    /// The package index refused the build (401 or 403): no credentials, or wrong ones. uv and
    /// pip then also say the package was not found.
    IndexAuth { detail: String },
}

/// What kind of development file a source build did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKind {
    /// A C header (`#include <sasl/sasl.h>`).
    Header,
    /// A pkg-config module (`dbus-1.pc`).
    PkgConfig,
    /// A `*-config` program (`pg_config`, `mysql_config`).
    ConfigProgram,
}

/// The tool that installs packages.
#[derive(Debug, Clone)]
pub enum Installer {
    Uv(PathBuf),
    Pip,
}

/// Installs into one virtualenv with one installer.
#[derive(Debug)]
pub struct Install<'a> {
    pub installer: Installer,
    pub venv: &'a Venv,
    pub env: &'a Env,
}

/// Sets the variables uv and pip read: caches, index and certificate settings under both
/// tools' names, no version checks or prompts.
pub fn configure(env: &mut Env, cache_root: &Path) {
    env.set_default("UV_CACHE_DIR", cache_root.join("uv"));
    env.set_default("PIP_CACHE_DIR", cache_root.join("pip"));
    env.set_default("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    env.set_default("PIP_NO_INPUT", "1");
    env.set_default("PIP_PROGRESS_BAR", "off");
    env.set_default("UV_PYTHON_DOWNLOADS", "never");
    env.set_default("UV_NO_PROGRESS", "1");
    // .pyc files at build time, as pip writes them (crate::bytecode).
    env.set_default("UV_COMPILE_BYTECODE", "1");
    env.set_default("PYTHONUNBUFFERED", "1");
    for (pip, uv) in [
        ("PIP_INDEX_URL", "UV_INDEX_URL"),
        ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL"),
    ] {
        if let Some(value) = env.get(pip).map(str::to_owned) {
            env.set_default(uv, value);
        }
    }
    if let Some(hosts) = env.get("PIP_TRUSTED_HOST").map(str::to_owned) {
        env.set_default("UV_INSECURE_HOST", hosts);
    }
    if let Some(cert) = env.get("PIP_CERT").map(str::to_owned) {
        env.set_default("SSL_CERT_FILE", cert);
    } else if let Some(cert) = env.get("SSL_CERT_FILE").map(str::to_owned) {
        env.set_default("PIP_CERT", cert);
    }
}

/// Whether uv installs into Python `major.minor` (`version` as `3.11`).
#[must_use]
pub fn uv_supports(version: &str) -> bool {
    let mut parts = version.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= UV_MIN_PYTHON,
        _ => false,
    }
}

/// Whether uv may be used at all (`S2I_INSTALLER` is not `pip`).
#[must_use]
pub fn wants_uv(env: &Env) -> bool {
    !env.get("S2I_INSTALLER")
        .is_some_and(|v| v.eq_ignore_ascii_case("pip"))
}

/// Chooses uv or pip for `venv` and makes sure uv is there when chosen.
///
/// # Errors
/// `S2I_INSTALLER` is unknown, or uv is forced where it cannot work or cannot be installed.
pub fn choose(venv: &Venv, env: &Env) -> Result<Installer, InstallError> {
    let choice = env
        .get("S2I_INSTALLER")
        .unwrap_or("auto")
        .to_ascii_lowercase();
    let uv_ok = (venv.version.0, venv.version.1) >= UV_MIN_PYTHON;
    match choice.as_str() {
        "pip" => {
            output::info("Installer: pip (S2I_INSTALLER=pip)");
            return Ok(Installer::Pip);
        }
        "uv" if !uv_ok => {
            return Err(InstallError::UvUnsupported {
                python: venv.short_version(),
                reason: "S2I_INSTALLER=uv is set".to_owned(),
            })
        }
        "uv" | "auto" => {}
        _ => return Err(InstallError::UnknownInstaller { value: choice }),
    }
    if !uv_ok {
        output::info(&format!(
            "Installer: pip (uv needs Python 3.8 or later, this is {})",
            venv.short_version()
        ));
        return Ok(Installer::Pip);
    }
    if let Some(uv) = env.which("uv") {
        output::info(&format!("Installer: uv ({})", uv.display()));
        return Ok(Installer::Uv(uv));
    }
    output::info("Installer: uv, which is not installed yet: installing it with pip");
    let pip = Install {
        installer: Installer::Pip,
        venv,
        env,
    };
    match pip.packages("uv (the installer)", &["uv"], None) {
        Ok(()) if venv.bin("uv").is_file() => Ok(Installer::Uv(venv.bin("uv"))),
        result if choice == "uv" => {
            result?;
            Err(InstallError::UvUnsupported {
                python: venv.short_version(),
                reason: format!(
                    "pip installed uv but {} is missing",
                    venv.bin("uv").display()
                ),
            })
        }
        _ => {
            output::warning("uv could not be installed: installing with pip instead (slower)");
            Ok(Installer::Pip)
        }
    }
}

impl Install<'_> {
    /// The installer's name for the log.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self.installer {
            Installer::Uv(_) => "uv",
            Installer::Pip => "pip",
        }
    }

    /// The same installer and virtualenv, with `env`.
    fn with_env<'e>(&self, env: &'e Env) -> Install<'e>
    where
        Self: 'e,
    {
        Install {
            installer: self.installer.clone(),
            venv: self.venv,
            env,
        }
    }

    /// uv, which `what` needs (only uv can do it): an error on pip.
    fn uv(&self, what: &str) -> Result<&Path, InstallError> {
        match &self.installer {
            Installer::Uv(uv) => Ok(uv),
            Installer::Pip => Err(InstallError::UvUnsupported {
                python: self.venv.short_version(),
                reason: what.to_owned(),
            }),
        }
    }

    /// `uv tool run --python PY --from FROM ARGS` (nothing added to the virtualenv).
    fn uv_tool_run(&self, env: &Env, uv: &Path, from: &str, args: &[&str]) -> Command {
        let mut command = env.command(uv);
        command
            .args(["tool", "run", "--python"])
            .arg(&self.venv.python)
            .args(["--from", from])
            .args(args);
        command
    }

    /// `uv pip install --python PY ARGS` or `PY -m pip install ARGS`.
    fn pip_install(&self, args: &[&str]) -> Command {
        let mut command = match &self.installer {
            Installer::Uv(uv) => {
                let mut c = self.env.command(uv);
                c.args(["pip", "install", "--python"])
                    .arg(&self.venv.python);
                c
            }
            Installer::Pip => {
                let mut c = self.env.command(&self.venv.python);
                c.args(["-m", "pip", "install"]);
                c
            }
        };
        command.args(args);
        command
    }

    /// Installs `args` (package specs or `-r FILE`), run in `cwd` when given.
    ///
    /// # Errors
    /// The installer failed.
    pub fn packages(
        &self,
        what: &str,
        args: &[&str],
        cwd: Option<&Path>,
    ) -> Result<(), InstallError> {
        let mut command = self.pip_install(args);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        run(what, &mut command)
    }

    /// `UPGRADE_PIP_TO_LATEST`: the newest pip, setuptools and wheel this Python supports
    /// (what the default OpenShift Python image upgrades), from the user's index, else PyPI.
    ///
    /// # Errors
    /// The installer failed with both.
    pub fn upgrade_pip(&self) -> Result<(), InstallError> {
        self.tool_packages(
            "upgrading pip, setuptools and wheel",
            &["--upgrade", "pip", "setuptools", "wheel"],
        )
    }

    /// Installs packages the build itself needs (not the app's): from the user's index when it
    /// has them, else again without the user's index settings (the default OpenShift Python
    /// image's `pip --isolated` retry), so a private index that mirrors only the app's
    /// dependencies does not break the build.
    ///
    /// # Errors
    /// Both attempts failed; the error is the second one's.
    pub fn tool_packages(&self, what: &str, args: &[&str]) -> Result<(), InstallError> {
        with_index_fallback(self.env, what, |env| {
            run(what, &mut self.with_env(env).pip_install(args))
        })
    }

    /// `ENABLE_PIPENV`: pipenv itself (`pipenv==PIN_PIPENV_VERSION` when set), in its own
    /// virtualenv under `$APP_ROOT/.python-s2i/tools` with `pipenv` linked into
    /// `$APP_ROOT/bin`, so `pipenv --version` works in the image and pipenv's own dependencies
    /// stay out of the app's virtualenv (with pip, Python 2.7: into the virtualenv).
    ///
    /// # Errors
    /// It could not be installed from the user's index nor from PyPI.
    pub fn pipenv_tool(&self, layout: &s2i_facts::Layout) -> Result<PathBuf, InstallError> {
        let spec = match self.env.get("PIN_PIPENV_VERSION") {
            Some(pin) => format!("pipenv=={}", pin.trim_start_matches("==")),
            None => "pipenv".to_owned(),
        };
        let what = format!("installing {spec} (ENABLE_PIPENV)");
        match &self.installer {
            Installer::Uv(uv) => with_index_fallback(self.env, &what, |env| {
                let mut command = env.command(uv);
                command
                    .args(["tool", "install", "--force", "--python"])
                    .arg(&self.venv.python)
                    .arg(&spec)
                    .env("UV_TOOL_DIR", layout.tools())
                    .env("UV_TOOL_BIN_DIR", self.venv.root.join("bin"));
                run(&what, &mut command)
            })?,
            Installer::Pip => self.tool_packages(&what, &[&spec])?,
        }
        let pipenv = self.venv.bin("pipenv");
        let mut version = self.env.command(&pipenv);
        version.arg("--version");
        run("checking pipenv --version", &mut version)?;
        Ok(pipenv)
    }

    /// `pipenv lock`: a Pipfile without Pipfile.lock under `ENABLE_PIPENV`, locked by pipenv
    /// (resolving in the app's virtualenv) before the lock is installed like any other.
    ///
    /// # Errors
    /// pipenv failed.
    pub fn pipenv_lock(&self, pipenv: &Path, app: &Path) -> Result<(), InstallError> {
        let mut command = self.env.command(pipenv);
        command
            .arg("lock")
            .env("PIPENV_YES", "1")
            .env("PIPENV_NOSPIN", "1")
            .env("PIPENV_VERBOSITY", "-1")
            .current_dir(app);
        run("locking the Pipfile with pipenv", &mut command)
    }

    /// Installs the dependencies of `manager`'s file in `app`.
    ///
    /// # Errors
    /// The installer failed, or uv.lock on a Python uv does not support.
    pub fn dependencies(
        &self,
        manager: PackageManager,
        selection: &Selection,
        app: &Path,
        layout: &s2i_facts::Layout,
    ) -> Result<(), InstallError> {
        match manager {
            PackageManager::Pip => self.packages(
                "installing requirements.txt",
                &["-r", "requirements.txt"],
                Some(app),
            ),
            PackageManager::Poetry if !selection.is_empty() => {
                self.poetry_export(selection, app, layout)
            }
            PackageManager::Pipenv | PackageManager::Poetry => {
                self.install_lock_export(manager, app, layout)
            }
            PackageManager::Uv => self.uv_sync(selection, app, None),
        }
    }

    /// The app itself from its setup.py / pyproject.toml, with the extras and PEP 735 groups
    /// asked for (`install .[a,b] --group g`).
    ///
    /// # Errors
    /// The installer failed.
    pub fn app_package(
        &self,
        file: &str,
        selection: &Selection,
        app: &Path,
    ) -> Result<(), InstallError> {
        let target = if selection.extras.is_empty() {
            ".".to_owned()
        } else {
            format!(".[{}]", selection.extras.join(","))
        };
        let mut args = vec![target.as_str()];
        for group in &selection.groups {
            args.extend(["--group", group.as_str()]);
        }
        self.packages(
            &format!("installing the package from {file}"),
            &args,
            Some(app),
        )
    }

    /// poetry.lock with groups or extras: micropipenv knows only main and dev, so Poetry's own
    /// `poetry export` (run by `uv tool run`, nothing added to the virtualenv) writes the hashed
    /// requirements of `main` plus the groups and extras asked for.
    fn poetry_export(
        &self,
        selection: &Selection,
        app: &Path,
        layout: &s2i_facts::Layout,
    ) -> Result<(), InstallError> {
        let uv = self.uv("poetry.lock with S2I_DEPENDENCY_GROUPS or S2I_EXTRAS is exported by Poetry, which runs through uv")?;
        let requirements = layout.exported_requirements("poetry");
        let mut only = vec!["main".to_owned()];
        only.extend(selection.groups.iter().cloned());
        let export = ["--with", "poetry-plugin-export", "poetry", "export"];
        let mut command = self.uv_tool_run(self.env, uv, "poetry", &export);
        command
            .args(["--format", "requirements.txt", "--only"])
            .arg(only.join(","));
        for extra in &selection.extras {
            command.args(["--extras", extra]);
        }
        command.arg("--output").arg(&requirements).current_dir(app);
        run("exporting poetry.lock with poetry export", &mut command)?;
        let file = requirements.to_string_lossy();
        self.packages("installing poetry.lock", &["-r", &file], Some(app))
    }

    /// Pipfile.lock and poetry.lock: micropipenv turns the lock into a hashed requirements file
    /// (default packages only), which the installer then installs.
    fn install_lock_export(
        &self,
        manager: PackageManager,
        app: &Path,
        layout: &s2i_facts::Layout,
    ) -> Result<(), InstallError> {
        let method = if manager == PackageManager::Poetry {
            "poetry"
        } else {
            "pipenv"
        };
        if matches!(self.installer, Installer::Pip) {
            self.tool_packages("installing micropipenv", &["micropipenv[toml]"])?;
        }
        let requirements = layout.exported_requirements(method);
        let what = format!("exporting {} with micropipenv", manager.file());
        with_index_fallback(self.env, &what, |env| {
            let mut command = match &self.installer {
                Installer::Uv(uv) => {
                    self.uv_tool_run(env, uv, "micropipenv[toml]", &["micropipenv"])
                }
                Installer::Pip => {
                    let mut c = env.command(&self.venv.python);
                    c.args(["-m", "micropipenv"]);
                    c
                }
            };
            command
                .args(["requirements", "--no-dev", "--method", method])
                .current_dir(app);
            run_with(&what, &mut command, |c| {
                output::run_to_file(c, &requirements)
            })
        })?;
        if manager == PackageManager::Poetry {
            add_poetry_indexes(app, &requirements);
        }
        let file = requirements.to_string_lossy();
        let what = format!("installing {}", manager.file());
        let declared = lock_index::declared(&requirements);
        if declared.is_empty() {
            return self.packages(&what, &["-r", &file], Some(app));
        }
        output::info(&format!(
            "{} names its package index: {} (used for this lock instead of the build's index settings, as {} would)",
            manager.file(),
            declared.join(", "),
            manager.name()
        ));
        let env = self.env.without_user_index();
        self.with_env(&env)
            .packages(&what, &["-r", &file], Some(app))
    }

    /// uv.lock: `uv sync --locked` into the virtualenv, keeping packages it did not install (the
    /// server, uv itself). No dependency group (not even uv's default `dev`) unless named in
    /// `S2I_DEPENDENCY_GROUPS`. A member of a uv workspace: `--package NAME` run in the workspace
    /// root (`app`), so the root's uv.lock decides and only that member and its dependencies are
    /// installed.
    ///
    /// # Errors
    /// The installer is not uv, or uv failed (a lock that does not match included).
    pub fn uv_sync(
        &self,
        selection: &Selection,
        app: &Path,
        package: Option<&str>,
    ) -> Result<(), InstallError> {
        let uv = self.uv("the app has a uv.lock, which only uv can install")?;
        let mut command = self.env.command(uv);
        command
            .args([
                "sync",
                "--locked",
                "--no-default-groups",
                "--inexact",
                "--python",
            ])
            .arg(&self.venv.python);
        for group in &selection.groups {
            command.args(["--group", group]);
        }
        for extra in &selection.extras {
            command.args(["--extra", extra]);
        }
        if let Some(package) = package {
            command.args(["--package", package]);
        }
        command
            .env("UV_PROJECT_ENVIRONMENT", &self.venv.root)
            .current_dir(app);
        run("installing uv.lock", &mut command)
    }
}

/// Runs `attempt` with the build environment; when it fails and the user set package index
/// variables, once more without them (with a warning).
fn with_index_fallback(
    env: &Env,
    what: &str,
    attempt: impl Fn(&Env) -> Result<(), InstallError>,
) -> Result<(), InstallError> {
    match attempt(env) {
        Err(InstallError::Failed { .. }) if env.has_user_index() => {
            output::warning(&format!(
                "{what} failed with the build's package index settings: trying again from PyPI without them"
            ));
            attempt(&env.without_user_index())
        }
        other => other,
    }
}

/// poetry.lock names the source of each package that does not come from PyPI; micropipenv's
/// export leaves them out. They become the export's index lines: the only source when every
/// package names it, else extra indexes next to PyPI.
fn add_poetry_indexes(app: &Path, requirements: &Path) {
    let Some(lines) = lock_index::poetry(app) else {
        return;
    };
    if let Ok(text) = std::fs::read_to_string(requirements) {
        let _ = std::fs::write(requirements, format!("{}\n{text}", lines.join("\n")));
    }
}

/// The package indexes lock files declare.
mod lock_index {
    use std::collections::BTreeSet;
    use std::path::Path;

    use s2i_project::Kind;

    /// The `--index-url` / `--extra-index-url` lines of a requirements file.
    pub fn declared(requirements: &Path) -> Vec<String> {
        let text = s2i_project::read_text(requirements).ok().flatten();
        let lines = s2i_project::requirements::parse(&text.unwrap_or_default());
        lines
            .into_iter()
            .filter_map(|l| match l.kind {
                Kind::Index(url) | Kind::ExtraIndex(url) => Some(url),
                _ => None,
            })
            .collect()
    }

    /// Index lines for a poetry.lock whose packages name legacy (PEP 503) sources; `None` when
    /// none does.
    pub fn poetry(app: &Path) -> Option<Vec<String>> {
        let packages = s2i_project::Lock::read(app, "poetry.lock")?.package?;
        let mut urls = BTreeSet::new();
        let mut from_pypi = false;
        for package in packages {
            match package.source {
                Some(s) if s.kind.as_deref() == Some("legacy") => urls.extend(s.url),
                // git, directory, file and url sources carry their own location.
                Some(_) => {}
                None => from_pypi = true,
            }
        }
        if urls.is_empty() {
            return None;
        }
        let mut lines = Vec::new();
        let mut urls = urls.into_iter();
        if from_pypi || urls.len() > 1 {
            lines.push("--index-url https://pypi.org/simple".to_owned());
        } else if let Some(only) = urls.next() {
            lines.push(format!("--index-url {only}"));
        }
        lines.extend(urls.map(|u| format!("--extra-index-url {u}")));
        Some(lines)
    }
}

fn run(what: &str, command: &mut Command) -> Result<(), InstallError> {
    run_with(what, command, output::run)
}

/// Runs `command` for `what` with `run` ([`output::run`], or to a file); a failure is
/// diagnosed from its last lines.
fn run_with(
    what: &str,
    command: &mut Command,
    run: impl FnOnce(&mut Command) -> io::Result<output::Finished>,
) -> Result<(), InstallError> {
    let quoted = output::quote_command(command);
    let finished = run(command).map_err(|source| InstallError::Spawn {
        command: quoted.clone(),
        source,
    })?;
    if finished.status.success() {
        return Ok(());
    }
    Err(InstallError::Failed {
        what: what.to_owned(),
        command: quoted,
        code: finished.status.code(),
        diagnosis: diagnose(&finished.tail).map(Box::new),
        tail: finished.tail,
    })
}

/// pip's "Could not find a version that satisfies the requirement X==1 (from versions: 0.1,
/// 19.10.0)": the package is there, with releases, none of which fits (pip has already left out
/// those whose Requires-Python excludes this interpreter). `None` for "(from versions: none)".
fn no_matching_version(text: &str) -> Option<Diagnosis> {
    const MARKER: &str = "Could not find a version that satisfies the requirement ";
    let rest = &text[text.find(MARKER)? + MARKER.len()..];
    let line = rest.lines().next()?;
    let (requirement, versions) = line.split_once(" (from versions: ")?;
    let versions = versions.split(')').next()?.trim();
    if versions.is_empty() || versions == "none" {
        return None;
    }
    let newest = versions.rsplit(',').next()?.trim().to_owned();
    // Without pip's "(from -r requirements.txt (line 3))".
    let requirement = requirement
        .split(" (from ")
        .next()
        .unwrap_or(requirement)
        .trim()
        .to_owned();
    let name = requirement
        .split(['=', '<', '>', '!', '~', ';', '[', '@', ' '])
        .next()
        .unwrap_or("")
        .to_owned();
    Some(Diagnosis::NoMatchingVersion {
        requirement,
        name,
        newest,
    })
}

/// Reads uv's and pip's error output for the common causes.
#[must_use]
pub fn diagnose(tail: &[String]) -> Option<Diagnosis> {
    let text = tail.join("\n");
    let after = |marker: &str| word_after(&text, marker);
    let lower = text.to_ascii_lowercase();
    // First: pip reports a certificate failure as "No matching distribution found" after its
    // retries, which is not a missing package.
    if lower.contains("certificate verify failed")
        || lower.contains("invalid peer certificate")
        || lower.contains("unknownissuer")
    {
        let detail = last_with(tail, &["certificate"]).to_owned();
        return Some(Diagnosis::Certificate { detail });
    }
    // Before a missing package: uv and pip say that too when the index refused them.
    if lower.contains("401 unauthorized")
        || lower.contains("403 forbidden")
        || lower.contains("401 client error")
        || lower.contains("403 client error")
        || lower.contains("lack of valid authentication credentials")
    {
        let detail = last_with(tail, &["401", "403"]).trim().to_owned();
        return Some(Diagnosis::IndexAuth { detail });
    }
    if let Some(name) = text.find("Because ").and_then(|i| {
        let rest = &text[i + "Because ".len()..];
        let end = rest.find(" was not found in the package registry")?;
        Some(rest[..end].trim().to_owned())
    }) {
        return Some(Diagnosis::PackageNotFound { name });
    }
    if let Some(found) = no_matching_version(&text) {
        return Some(found);
    }
    if let Some(spec) = after("No matching distribution found for ") {
        let name = spec
            .split(['=', '<', '>', '!', '~', ';', '[', '@'])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        return Some(Diagnosis::PackageNotFound { name });
    }
    if lower.contains("couldn't parse requirement")
        || lower.contains("invalid requirement")
        || lower.contains("unexpected character")
        || lower.contains("expected package name")
    {
        let detail = tail
            .iter()
            .filter(|l| !l.trim().is_empty())
            .skip_while(|l| {
                let l = l.to_ascii_lowercase();
                !(l.contains("parse") || l.contains("invalid requirement"))
            })
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        return Some(Diagnosis::RequirementsSyntax { detail });
    }
    // uv: "The lockfile at `uv.lock` needs to be updated, but `--locked` was provided."
    // (older: "The lockfile needs to be updated").
    if lower.contains("lockfile needs to be updated")
        || lower.contains("lock file needs to be updated")
        || (lower.contains("needs to be updated") && lower.contains("`--locked`"))
    {
        return Some(Diagnosis::LockOutdated);
    }
    if let Some(missing) = library_missing(tail) {
        return Some(missing);
    }
    if lower.contains("apxs")
        || lower.contains("gcc: not found")
        || lower.contains("python.h: no such file")
        || lower.contains("command 'gcc' failed")
    {
        let detail = last_with(tail, &["apxs", "gcc", "python.h"]).to_owned();
        return Some(Diagnosis::BuildToolMissing { detail });
    }
    None
}

/// The last line of `tail` with one of `words` (lower case) in it, any case; "" when none.
fn last_with<'a>(tail: &'a [String], words: &[&str]) -> &'a str {
    let has = |l: &String| words.iter().any(|w| l.to_ascii_lowercase().contains(w));
    tail.iter()
        .rev()
        .find(|l| has(l))
        .map_or("", String::as_str)
}

/// The word that follows the first `marker` in `text` (up to a space, comma or parenthesis),
/// without the quotes around it.
fn word_after(text: &str, marker: &str) -> Option<String> {
    text.find(marker).map(|i| {
        text[i + marker.len()..]
            .split(|c: char| c.is_whitespace() || c == ',' || c == ')' || c == '(')
            .find(|w| !w.is_empty())
            .unwrap_or("")
            .trim_matches(['`', '\'', '"'])
            .to_owned()
    })
}

/// A C library's development file that a source build did not find, from the compiler's,
/// pkg-config's, meson's or the build script's own words; the package being built from uv's
/// hint ("... for `python-ldap@3.4.8`") or pip's "Building wheel for NAME".
fn library_missing(tail: &[String]) -> Option<Diagnosis> {
    let quoted = |s: &str| {
        s.trim()
            .trim_matches(['`', '\'', '"', '\u{2018}', '\u{2019}'])
            .to_owned()
    };
    let found = tail.iter().find_map(|line| {
        let l = line.trim();
        // gcc: "Modules/LDAPObject.c:16:10: fatal error: sasl/sasl.h: No such file or directory",
        // clang: "fatal error: 'sasl/sasl.h' file not found"
        if let Some(i) = l.find("fatal error: ") {
            let rest = &l[i + "fatal error: ".len()..];
            if let Some(header) = rest
                .strip_suffix(": No such file or directory")
                .or_else(|| rest.strip_suffix(" file not found"))
            {
                let header = quoted(header);
                // Python.h is the build tools' case (Python's own headers), not a library's.
                if (header.ends_with(".h") || header.ends_with(".hpp") || header.ends_with(".hh"))
                    && header != "Python.h"
                {
                    return Some((header, MissingKind::Header, line));
                }
            }
        }
        // pkg-config: "Package dbus-1 was not found in the pkg-config search path."
        if let Some(rest) = l.strip_prefix("Package ") {
            if let Some(name) = rest
                .split(" was not found in the pkg-config search path")
                .next()
            {
                if name.len() < rest.len() {
                    return Some((quoted(name), MissingKind::PkgConfig, line));
                }
            }
        }
        // meson: "Run-time dependency dbus-1 found: NO (tried pkgconfig)", "Dependency \"cairo\" not found"
        for (start, end) in [
            ("Run-time dependency ", " found: NO"),
            ("Dependency ", " not found"),
        ] {
            if let Some(i) = l.find(start) {
                let rest = &l[i + start.len()..];
                if let Some(j) = rest.find(end) {
                    let name = quoted(&rest[..j]);
                    if !name.is_empty() && !name.contains(' ') {
                        return Some((name, MissingKind::PkgConfig, line));
                    }
                }
            }
        }
        // Build scripts: "Error: pg_config executable not found.", "/bin/sh: 1: mysql_config: not found",
        // "FileNotFoundError: ... No such file or directory: 'curl-config'"
        let lower = l.to_ascii_lowercase();
        l.split(|c: char| c.is_whitespace() || c == ':' || c == '\'' || c == '"' || c == '`')
            .find(|w| {
                w.len() > "-config".len()
                    && (w.ends_with("_config") || w.ends_with("-config"))
                    && !w.contains('/')
                    && !w.contains('.')
                    && !w.starts_with('-')
            })
            .filter(|_| lower.contains("not found") || lower.contains("no such file"))
            .map(|w| (w.to_owned(), MissingKind::ConfigProgram, line))
    })?;
    let (missing, kind, line) = found;
    let text = tail.join("\n");
    // uv: "hint: ... that provides `sasl/sasl.h` for `python-ldap@3.4.8`"; pip's legacy install
    // (2.7): "... --install-headers /opt/app-root/include/site/python2.7/NAME" on its last line;
    // pip: "Building wheel for NAME (...)", old pips "Running setup.py install for NAME ...".
    let package = text
        .find("that provides `")
        .and_then(|i| word_after(&text[i..], " for `"))
        .map(|spec| spec.split('@').next().unwrap_or_default().to_owned())
        .or_else(|| {
            word_after(&text, "--install-headers ")
                .and_then(|path| path.rsplit('/').next().map(str::to_owned))
        })
        .or_else(|| word_after(&text, "Building wheel for "))
        .or_else(|| word_after(&text, "Running setup.py install for "))
        .filter(|p| !p.is_empty());
    Some(Diagnosis::LibraryMissing {
        missing,
        kind,
        package,
        detail: line.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    /// The last lines of real failed source builds in the builder image (trimmed).
    #[test]
    fn missing_development_files_are_named_with_the_package_being_built() {
        let uv_header = lines(concat!(
            "                Modules/LDAPObject.c:16:10: fatal error: sasl/sasl.h: No such file or directory\n",
            "                   16 | #include <sasl/sasl.h>\n",
            "                compilation terminated.\n",
            "                error: Command '['x86_64-linux-gnu-gcc', '-c', 'Modules/LDAPObject.c']' returned non-zero exit status 1.\n",
            "      hint: This error likely indicates that you need to install a library that provides `sasl/sasl.h` for `python-ldap@3.4.8`",
        ));
        assert_eq!(
            diagnose(&uv_header),
            Some(Diagnosis::LibraryMissing {
                missing: "sasl/sasl.h".into(),
                kind: MissingKind::Header,
                package: Some("python-ldap".into()),
                detail: "Modules/LDAPObject.c:16:10: fatal error: sasl/sasl.h: No such file or directory".into(),
            })
        );
        let pip_config = lines(concat!(
            "  Building wheel for psycopg2 (pyproject.toml): started\n",
            "  Error: pg_config executable not found.\n",
            "  pg_config is required to build psycopg2 from source.  Please add the directory\n",
            "ERROR: Failed building wheel for psycopg2",
        ));
        let Some(Diagnosis::LibraryMissing {
            missing,
            kind,
            package,
            ..
        }) = diagnose(&pip_config)
        else {
            panic!("{:?}", diagnose(&pip_config));
        };
        assert_eq!(
            (missing.as_str(), kind, package.as_deref()),
            ("pg_config", MissingKind::ConfigProgram, Some("psycopg2"))
        );
        let legacy = lines(concat!(
            "           Modules/LDAPObject.c:16:10: fatal error: sasl/sasl.h: No such file or directory\n",
            "       ERROR: Command errored out with exit status 1: /opt/app-root/bin/python -u -c 'import sys' install --record /tmp/r.txt --single-version-externally-managed --compile --install-headers /opt/app-root/include/site/python2.7/python-ldap Check the logs for full command output.",
        ));
        assert!(
            matches!(diagnose(&legacy), Some(Diagnosis::LibraryMissing { package: Some(p), .. }) if p == "python-ldap")
        );
        let clang = lines("      src/device_api.c:9:10: fatal error: 'portaudio.h' file not found");
        assert!(
            matches!(diagnose(&clang), Some(Diagnosis::LibraryMissing { missing, kind: MissingKind::Header, .. }) if missing == "portaudio.h")
        );
        let sh = lines("      /bin/sh: 1: mysql_config: not found");
        assert!(
            matches!(diagnose(&sh), Some(Diagnosis::LibraryMissing { missing, kind: MissingKind::ConfigProgram, package: None, .. }) if missing == "mysql_config")
        );
        let pycurl =
            lines("      FileNotFoundError: [Errno 2] No such file or directory: 'curl-config'");
        assert!(
            matches!(diagnose(&pycurl), Some(Diagnosis::LibraryMissing { missing, .. }) if missing == "curl-config")
        );
        let pkg_config = lines(concat!(
            "      Package dbus-1 was not found in the pkg-config search path.\n",
            "      Perhaps you should add the directory containing `dbus-1.pc'",
        ));
        assert!(
            matches!(diagnose(&pkg_config), Some(Diagnosis::LibraryMissing { missing, kind: MissingKind::PkgConfig, .. }) if missing == "dbus-1")
        );
        let meson = lines("      Run-time dependency cairo found: NO (tried pkgconfig and cmake)");
        assert!(
            matches!(diagnose(&meson), Some(Diagnosis::LibraryMissing { missing, kind: MissingKind::PkgConfig, .. }) if missing == "cairo")
        );
        // A missing Python.h is the build tools' case, not a library's.
        let python_h =
            lines("      src/x.c:1:10: fatal error: Python.h: No such file or directory");
        assert!(matches!(
            diagnose(&python_h),
            Some(Diagnosis::BuildToolMissing { .. })
        ));
        // Ordinary output mentioning configs is not a diagnosis.
        let ok =
            lines("      Using sysconfig to find the compiler\n      building with setup_config");
        assert_eq!(diagnose(&ok), None);
    }

    #[test]
    fn a_certificate_failure_is_not_a_missing_package() {
        // pip 20 on Python 2.7 behind a TLS-inspecting proxy (trimmed).
        let pip = lines(concat!(
            "  WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'SSLError(SSLError(1, u'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:727)'),)': /simple/python-ldap/\n",
            "  ERROR: Could not find a version that satisfies the requirement python-ldap (from versions: none)\n",
            "  ERROR: No matching distribution found for python-ldap",
        ));
        assert!(matches!(
            diagnose(&pip),
            Some(Diagnosis::Certificate { .. })
        ));
    }

    #[test]
    fn an_index_refusing_the_build_is_not_a_missing_package() {
        let uv = lines(concat!(
            "  × No solution found when resolving dependencies:\n",
            "  ╰─▶ Because s2i-private-pkg was not found in the package registry and you require s2i-private-pkg==1.0.0, we can conclude that your requirements are unsatisfiable.\n",
            "      hint: An index URL (http://127.0.0.1:35583/simple/) could not be queried due to a lack of valid authentication credentials (401 Unauthorized)",
        ));
        assert!(matches!(diagnose(&uv), Some(Diagnosis::IndexAuth { .. })));
        let pip = lines(concat!(
            "  ERROR: HTTP error 401 while getting http://127.0.0.1:8080/packages/x-1.0-py3-none-any.whl\n",
            "  ERROR: 401 Client Error: Unauthorized for url: http://127.0.0.1:8080/packages/x-1.0-py3-none-any.whl",
        ));
        assert!(matches!(diagnose(&pip), Some(Diagnosis::IndexAuth { .. })));
    }

    #[test]
    fn uv_and_pip_missing_packages() {
        let uv = lines("  × No solution found when resolving dependencies:\n  ╰─▶ Because djangoo-nope was not found in the package registry and you require djangoo-nope, we can conclude that your requirements are unsatisfiable.");
        assert_eq!(
            diagnose(&uv),
            Some(Diagnosis::PackageNotFound {
                name: "djangoo-nope".into()
            })
        );
        let pip = lines("ERROR: Could not find a version that satisfies the requirement djangoo-nope (from versions: none)\nERROR: No matching distribution found for djangoo-nope==1.0");
        assert_eq!(
            diagnose(&pip),
            Some(Diagnosis::PackageNotFound {
                name: "djangoo-nope".into()
            })
        );
    }

    #[test]
    fn a_release_this_python_cannot_install_is_not_a_missing_package() {
        // pip 20.3.4 on Python 2.7 asked for gunicorn 20 (Requires-Python >=3.4), trimmed.
        let pip = lines(concat!(
            "  ERROR: Could not find a version that satisfies the requirement gunicorn==20.0.4 (from -r requirements.txt (line 3)) (from versions: 0.1, 19.9.0, 19.10.0)\n",
            "  ERROR: No matching distribution found for gunicorn==20.0.4 (from -r requirements.txt (line 3))",
        ));
        assert_eq!(
            diagnose(&pip),
            Some(Diagnosis::NoMatchingVersion {
                requirement: "gunicorn==20.0.4".into(),
                name: "gunicorn".into(),
                newest: "19.10.0".into(),
            })
        );
    }

    #[test]
    fn uv_python_support() {
        assert!(uv_supports("3.8") && uv_supports("3.13"));
        assert!(!uv_supports("2.7") && !uv_supports("3.7") && !uv_supports(""));
    }

    #[test]
    fn nothing_recognised() {
        assert_eq!(diagnose(&lines("something else")), None);
    }
}
