//! Which package manager's files the app has, and so how its dependencies are installed.
//!
//! | file                | manager  |
//! |---------------------|----------|
//! | `requirements.txt`  | pip      |
//! | `Pipfile.lock`      | pipenv   |
//! | `poetry.lock`       | poetry   |
//! | `uv.lock`           | uv       |
//!
//! Several of them without an explicit choice (`S2I_PACKAGE_MANAGER`, or `ENABLE_PIPENV` /
//! `ENABLE_MICROPIPENV` for Pipfile.lock) is an error naming them. `ENABLE_PIPENV` and
//! `ENABLE_MICROPIPENV` without a Pipfile.lock leave the choice to the files (an app with only
//! a requirements.txt is a pip app, as with the default OpenShift Python image); both together
//! are an error, as there. `ENABLE_PIPENV` with a Pipfile and no lock means "lock it with pipenv". Independently, a `setup.py` or
//! `pyproject.toml` makes the app an installable package (pip, poetry and no-manager cases; uv
//! installs its own project).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use s2i_env::Env;
use s2i_project::requirements::{self, Line};
use s2i_project::{normalized, Lock, PipfileLock, Pyproject};

/// A package manager whose lock or requirements file drives the install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    Pip,
    Pipenv,
    Poetry,
    Uv,
}

impl PackageManager {
    pub const ALL: [Self; 4] = [Self::Pip, Self::Pipenv, Self::Poetry, Self::Uv];

    /// The file that selects it.
    #[must_use]
    pub fn file(self) -> &'static str {
        match self {
            Self::Pip => "requirements.txt",
            Self::Pipenv => "Pipfile.lock",
            Self::Poetry => "poetry.lock",
            Self::Uv => "uv.lock",
        }
    }

    /// Its name, as users write it in `S2I_PACKAGE_MANAGER`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Pip => "pip",
            Self::Pipenv => "pipenv",
            Self::Poetry => "poetry",
            Self::Uv => "uv",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for PackageManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the package manager could not be determined.
#[derive(Debug)]
pub enum DeterminePackageManagerError {
    /// Files of several package managers and no explicit choice.
    MultipleFound(Vec<PackageManager>),
    /// `S2I_PACKAGE_MANAGER` names no known package manager.
    Unknown { value: String },
    /// `ENABLE_PIPENV` and `ENABLE_MICROPIPENV` are both set.
    PipenvAndMicropipenv,
    /// The chosen package manager's file is not in the app.
    ChosenFileMissing {
        manager: PackageManager,
        how: String,
    },
    /// pyproject.toml takes packages from its uv workspace (`{ workspace = true }`), whose
    /// root and uv.lock are not in the sources (s2i's `--context-dir` points at the member).
    WorkspaceOutside { dir: PathBuf, sources: Vec<String> },
}

/// The variable naming the dependency groups to install (uv.lock, poetry.lock, PEP 735
/// `[dependency-groups]` of pyproject.toml).
pub const GROUPS_VARIABLE: &str = "S2I_DEPENDENCY_GROUPS";
/// The variable naming the extras (optional dependencies) to install.
pub const EXTRAS_VARIABLE: &str = "S2I_EXTRAS";

/// Dependency groups and extras to install besides the main dependencies. None by default: a
/// `dev` group (or any other) is installed only when named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub groups: Vec<String>,
    pub extras: Vec<String>,
}

impl Selection {
    /// From `S2I_DEPENDENCY_GROUPS` and `S2I_EXTRAS` (names separated by commas or spaces).
    #[must_use]
    pub fn from_env(env: &Env) -> Self {
        let list = |name: &str| -> Vec<String> {
            env.get(name)
                .unwrap_or_default()
                .split([',', ' ', '\t'])
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Self {
            groups: list(GROUPS_VARIABLE),
            extras: list(EXTRAS_VARIABLE),
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.extras.is_empty()
    }

    /// `groups a, b; extras c` for the log.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.groups.is_empty() {
            parts.push(format!("groups {}", self.groups.join(", ")));
        }
        if !self.extras.is_empty() {
            parts.push(format!("extras {}", self.extras.join(", ")));
        }
        parts.join("; ")
    }
}

/// How the app's dependencies get installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub manager: Option<PackageManager>,
    /// Groups and extras asked for, where the files support them (else empty, with a note).
    pub selection: Selection,
    /// Install the app itself (`pip install .`): `setup.py` or `pyproject.toml` present and not
    /// disabled.
    pub install_package: Option<&'static str>,
    /// Files seen but not used, with the reason (shown as notes).
    pub notes: Vec<String>,
    /// `ENABLE_PIPENV`: pipenv itself is installed (`PIN_PIPENV_VERSION`), so that it is in the
    /// image as users of the default OpenShift Python image expect.
    pub pipenv_tool: bool,
    /// A Pipfile without Pipfile.lock, with `ENABLE_PIPENV`: `pipenv lock` writes the lock first.
    pub lock_pipfile: bool,
    /// The home is a member of a uv workspace: installed from the root's uv.lock.
    pub workspace: Option<WorkspaceMember>,
}

/// A member of a uv workspace, installed with `uv sync --package NAME` from the workspace root:
/// only that member's dependencies, as the root's uv.lock pins them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceMember {
    /// The workspace root (pyproject.toml with `[tool.uv.workspace]`, and uv.lock).
    pub root: PathBuf,
    /// The member's project name.
    pub package: String,
}

/// [`determine`] for the home `app` in the sources `src`: when `app` is a member of the uv
/// workspace at `src` with its uv.lock, uv installs that member from the root's lock.
///
/// # Errors
/// See [`DeterminePackageManagerError`]; a member whose workspace is not in the sources.
pub fn determine_in(
    src: &Path,
    app: &Path,
    env: &Env,
) -> Result<Plan, DeterminePackageManagerError> {
    let workspace = (app != src)
        .then(|| s2i_detect::uv_workspace(src).ok().flatten())
        .flatten()
        .filter(|w| w.locked() && w.member(app).is_some());
    let pyproject = Pyproject::read(app).unwrap_or_default();
    let package = pyproject.project.as_ref().and_then(|p| p.name.clone());
    if let (Some(workspace), Some(package)) = (workspace, package) {
        let notes = vec![format!(
            "{} is the member `{package}` of the uv workspace at {}: installing it from the workspace's uv.lock (its dependencies only)",
            app.display(),
            workspace.root.display()
        )];
        return Ok(Plan {
            manager: Some(PackageManager::Uv),
            selection: Selection::from_env(env),
            install_package: None,
            notes,
            pipenv_tool: false,
            lock_pipfile: false,
            workspace: Some(WorkspaceMember {
                root: workspace.root,
                package,
            }),
        });
    }
    let mut plan = determine(app, env)?;
    if plan.manager.is_none() && plan.install_package == Some("pyproject.toml") {
        let sources = pyproject.workspace_sources();
        if !sources.is_empty() {
            return Err(DeterminePackageManagerError::WorkspaceOutside {
                dir: app.to_path_buf(),
                sources,
            });
        }
        if pyproject.dependency_groups.is_some() || pyproject.tool.uv.is_some() {
            plan.notes.push(format!(
                "warning: {} uses uv ([tool.uv] or [dependency-groups]) but has no uv.lock: its dependencies are resolved afresh, not from a lock. If it is a member of a uv workspace whose uv.lock is at the repository root (s2i's --context-dir pointing at the member), build the root instead: the member with the web app is found (APP_HOME=member when several hold one) and installed from the root's uv.lock",
                app.join("pyproject.toml").display()
            ));
        }
    }
    Ok(plan)
}

/// Looks at the files in `dir` (the app home).
///
/// # Errors
/// See [`DeterminePackageManagerError`].
pub fn determine(dir: &Path, env: &Env) -> Result<Plan, DeterminePackageManagerError> {
    let found: Vec<PackageManager> = PackageManager::ALL
        .into_iter()
        .filter(|m| dir.join(m.file()).is_file())
        .collect();
    let pipenv_tool = env.flag("ENABLE_PIPENV");
    if pipenv_tool && env.flag("ENABLE_MICROPIPENV") {
        return Err(DeterminePackageManagerError::PipenvAndMicropipenv);
    }
    let lock_pipfile = pipenv_tool
        && env.get("S2I_PACKAGE_MANAGER").is_none()
        && dir.join("Pipfile").is_file()
        && !dir.join("Pipfile.lock").is_file();
    let mut found = found;
    if lock_pipfile {
        found.push(PackageManager::Pipenv);
    }
    let explicit = if let Some(value) = env.get("S2I_PACKAGE_MANAGER") {
        let manager =
            PackageManager::parse(value).ok_or_else(|| DeterminePackageManagerError::Unknown {
                value: value.to_owned(),
            })?;
        Some((manager, format!("S2I_PACKAGE_MANAGER={value}")))
    } else if (env.flag("ENABLE_PIPENV") || env.flag("ENABLE_MICROPIPENV"))
        && found.contains(&PackageManager::Pipenv)
    {
        let name = if env.flag("ENABLE_PIPENV") {
            "ENABLE_PIPENV"
        } else {
            "ENABLE_MICROPIPENV"
        };
        Some((PackageManager::Pipenv, format!("{name} is set")))
    } else {
        None
    };
    let mut notes = Vec::new();
    let manager = match explicit {
        Some((manager, how)) => {
            if !found.contains(&manager) {
                return Err(DeterminePackageManagerError::ChosenFileMissing { manager, how });
            }
            for other in found.iter().filter(|m| **m != manager) {
                notes.push(format!("{} is not used: {how}", other.file()));
            }
            Some(manager)
        }
        None if found.len() > 1 => return Err(DeterminePackageManagerError::MultipleFound(found)),
        None => found.first().copied(),
    };
    if manager.is_none() && dir.join("Pipfile").is_file() && !lock_pipfile {
        notes.push("Pipfile has no Pipfile.lock next to it, so it is not used: run `pipenv lock` and commit Pipfile.lock".to_owned());
    }
    let install_package = match manager {
        Some(PackageManager::Uv | PackageManager::Pipenv) => None,
        // The lock export holds the dependencies only: the project itself (a src layout's
        // package) is installed from pyproject.toml, as `poetry install` would.
        Some(PackageManager::Poetry) => package_file(dir, env, &mut notes),
        Some(PackageManager::Pip)
            if requirements::read(dir, "requirements.txt")
                .iter()
                .any(Line::installs_own_directory) =>
        {
            notes.push("requirements.txt installs the app itself (`-e .` or `.`): not installed a second time".to_owned());
            None
        }
        Some(PackageManager::Pip) | None => package_file(dir, env, &mut notes),
    };
    let mut selection = Selection::from_env(env);
    let supported = matches!(manager, Some(PackageManager::Uv | PackageManager::Poetry))
        || install_package == Some("pyproject.toml");
    if !selection.is_empty() && !supported {
        notes.push(format!(
            "{GROUPS_VARIABLE} / {EXTRAS_VARIABLE} ({}) are not used: they apply to uv.lock, poetry.lock and an installed pyproject.toml, and this app has {}",
            selection.describe(),
            manager.map_or("no such file", |m| m.file())
        ));
        selection = Selection::default();
    }
    Ok(Plan {
        manager,
        selection,
        install_package,
        notes,
        pipenv_tool,
        lock_pipfile,
        workspace: None,
    })
}

fn package_file(dir: &Path, env: &Env, notes: &mut Vec<String>) -> Option<&'static str> {
    if dir.join("setup.py").is_file() {
        if env.flag("DISABLE_SETUP_PY_PROCESSING") {
            notes.push("setup.py is not installed: DISABLE_SETUP_PY_PROCESSING is set".to_owned());
        } else {
            return Some("setup.py");
        }
    }
    if dir.join("pyproject.toml").is_file() {
        if env.flag("DISABLE_PYPROJECT_TOML_PROCESSING") {
            notes.push(
                "pyproject.toml is not installed: DISABLE_PYPROJECT_TOML_PROCESSING is set"
                    .to_owned(),
            );
        } else if Pyproject::read(dir)
            .is_some_and(|p| p.build_system.is_some() || p.project.is_some())
        {
            return Some("pyproject.toml");
        } else {
            notes.push("pyproject.toml has no [build-system] or [project] table: not installed as a package".to_owned());
        }
    }
    None
}

/// The packages `manager`'s file in `app` asks for, normalised (PEP 503): requirements.txt's
/// requirements (`s2i_detect::requirement_names`), or every package a lock file lists (a lock
/// lists the whole set it installs: `default` of Pipfile.lock, `[[package]]` of poetry.lock and
/// uv.lock). `None` when they cannot all be named: a URL or path in requirements.txt, a lock
/// that does not parse.
#[must_use]
pub fn packages_asked_for(manager: PackageManager, app: &Path) -> Option<BTreeSet<String>> {
    let names = |names: Vec<&String>| names.into_iter().map(|n| normalized(n)).collect();
    match manager {
        PackageManager::Pip => s2i_detect::requirement_names(app),
        PackageManager::Pipenv => Some(names(PipfileLock::read(app)?.default?.keys().collect())),
        PackageManager::Poetry | PackageManager::Uv => {
            let lock = Lock::read(app, manager.file())?;
            Some(names(lock.package?.iter().map(|p| &p.name).collect()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn app(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in files {
            let text = if *f == "pyproject.toml" {
                "[project]\nname = 'x'\n"
            } else {
                ""
            };
            fs::write(dir.path().join(f), text).expect("write");
        }
        dir
    }

    #[test]
    fn single_files() {
        for m in PackageManager::ALL {
            let dir = app(&[m.file()]);
            assert_eq!(
                determine(dir.path(), &Env::of(&[])).expect("plan").manager,
                Some(m)
            );
        }
    }

    #[test]
    fn several_is_an_error_naming_them() {
        let dir = app(&["requirements.txt", "poetry.lock"]);
        let err = determine(dir.path(), &Env::of(&[])).expect_err("several");
        assert!(
            matches!(err, DeterminePackageManagerError::MultipleFound(ref v)
            if v == &[PackageManager::Pip, PackageManager::Poetry])
        );
    }

    #[test]
    fn explicit_choice_wins() {
        let dir = app(&["requirements.txt", "Pipfile.lock"]);
        let plan = determine(dir.path(), &Env::of(&[("ENABLE_MICROPIPENV", "1")])).expect("plan");
        assert_eq!(plan.manager, Some(PackageManager::Pipenv));
        let plan =
            determine(dir.path(), &Env::of(&[("S2I_PACKAGE_MANAGER", "pip")])).expect("plan");
        assert_eq!(plan.manager, Some(PackageManager::Pip));
        assert!(matches!(
            determine(dir.path(), &Env::of(&[("S2I_PACKAGE_MANAGER", "uv")])),
            Err(DeterminePackageManagerError::ChosenFileMissing { .. })
        ));
    }

    #[test]
    fn groups_and_extras_where_they_apply() {
        let asked = Env::of(&[
            ("S2I_DEPENDENCY_GROUPS", "prod, docs"),
            ("S2I_EXTRAS", "postgres"),
        ]);
        let dir = app(&["uv.lock"]);
        let plan = determine(dir.path(), &asked).expect("plan");
        assert_eq!(plan.selection.groups, ["prod", "docs"]);
        assert_eq!(plan.selection.extras, ["postgres"]);
        let dir = app(&["requirements.txt"]);
        let plan = determine(dir.path(), &asked).expect("plan");
        assert!(plan.selection.is_empty());
        assert!(
            plan.notes.iter().any(|n| n.contains("are not used")),
            "{:?}",
            plan.notes
        );
        let dir = app(&["pyproject.toml"]);
        let plan = determine(dir.path(), &asked).expect("plan");
        assert_eq!(plan.selection.extras, ["postgres"]);
        assert!(determine(dir.path(), &Env::of(&[]))
            .expect("plan")
            .selection
            .is_empty());
    }

    #[test]
    fn sclorg_pipenv_switches() {
        let both = Env::of(&[("ENABLE_PIPENV", "1"), ("ENABLE_MICROPIPENV", "1")]);
        let dir = app(&["requirements.txt"]);
        assert!(matches!(
            determine(dir.path(), &both),
            Err(DeterminePackageManagerError::PipenvAndMicropipenv)
        ));
        for name in ["ENABLE_PIPENV", "ENABLE_MICROPIPENV"] {
            let plan = determine(dir.path(), &Env::of(&[(name, "true")])).expect("plan");
            assert_eq!(plan.manager, Some(PackageManager::Pip), "{name}");
            assert_eq!(plan.pipenv_tool, name == "ENABLE_PIPENV");
        }
        let dir = app(&["Pipfile"]);
        let plan = determine(dir.path(), &Env::of(&[("ENABLE_PIPENV", "1")])).expect("plan");
        assert_eq!(plan.manager, Some(PackageManager::Pipenv));
        assert!(plan.lock_pipfile);
        let plan = determine(dir.path(), &Env::of(&[])).expect("plan");
        assert_eq!(plan.manager, None);
    }

    #[test]
    fn packages_and_their_switches() {
        let package = |dir: &Path, env: &[(&str, &str)]| {
            determine(dir, &Env::of(env)).expect("plan").install_package
        };
        let dir = app(&["setup.py"]);
        assert_eq!(package(dir.path(), &[]), Some("setup.py"));
        let off = ("DISABLE_SETUP_PY_PROCESSING", "1");
        assert_eq!(package(dir.path(), &[off]), None);
        let dir = app(&["requirements.txt", "pyproject.toml"]);
        assert_eq!(package(dir.path(), &[]), Some("pyproject.toml"));
        fs::write(dir.path().join("requirements.txt"), "six\n-e .[extra]\n").expect("write");
        assert_eq!(package(dir.path(), &[]), None);
        fs::write(dir.path().join("requirements.txt"), "six\n").expect("write");
        let off = ("DISABLE_PYPROJECT_TOML_PROCESSING", "true");
        assert_eq!(package(dir.path(), &[off]), None);
    }

    #[test]
    fn packages_asked_for_by_each_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = dir.path();
        let asked = |manager: PackageManager, text: &str| {
            std::fs::write(app.join(manager.file()), text).expect("write");
            packages_asked_for(manager, app).map(|n| n.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(
            asked(
                PackageManager::Pip,
                "Django>=4.2\nsix==1.16.0 ; python_version >= '3'\n"
            ),
            Some(vec!["django".to_owned(), "six".to_owned()])
        );
        assert_eq!(
            asked(PackageManager::Pip, "https://example.org/x.whl\n"),
            None
        );
        assert_eq!(
            asked(
                PackageManager::Pipenv,
                r#"{"_meta": {"hash": {"sha256": "0"}}, "default": {"Six": {"version": "==1.16.0"}, "zope.interface": {}}, "develop": {"pytest": {}}}"#
            ),
            Some(vec!["six".to_owned(), "zope-interface".to_owned()])
        );
        assert_eq!(asked(PackageManager::Pipenv, "{not json"), None);
        let lock = "version = 1\n\n[[package]]\nname = \"idna\"\nversion = \"3.7\"\n\n\
                    [[package]]\nname = \"Typing_Extensions\"\nversion = \"4.12\"\n";
        for manager in [PackageManager::Poetry, PackageManager::Uv] {
            assert_eq!(
                asked(manager, lock),
                Some(vec!["idna".to_owned(), "typing-extensions".to_owned()])
            );
            assert_eq!(asked(manager, "[[package]]\nversion = \"1\"\n"), None);
        }
    }
}
