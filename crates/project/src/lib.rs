//! What the project's files say, read once: each file into a typed value that detect and
//! assemble both use, so that they cannot read one file two ways.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;

pub mod procfile;
pub mod requirements;

pub use procfile::{is_process_name, ProcessType, Procfile};
pub use requirements::{Kind, Line};

/// The file's text (invalid UTF-8 replaced), `None` when it does not exist.
///
/// # Errors
/// The file exists but cannot be read.
pub fn read_text(path: &Path) -> io::Result<Option<String>> {
    use io::ErrorKind::{NotADirectory, NotFound};
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if matches!(e.kind(), NotFound | NotADirectory) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `dir/file` parsed as TOML into `T`; `None` when missing, unreadable or not of that shape.
fn toml_file<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Option<T> {
    toml::from_str(&read_text(&dir.join(file)).ok()??).ok()
}

/// The first line of `text` that is neither blank nor a `#` comment, trimmed: the value of a
/// one-value file (`.python-version`, warpdrive's `home` and `deploy_mode`).
#[must_use]
pub fn first_value(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
}

/// `.python-version` (pyenv, uv): its value (`3.13`, `3.13.1`, `cpython@3.13`); `None` when
/// missing, unreadable or without one.
#[must_use]
pub fn python_version(dir: &Path) -> Option<String> {
    first_value(&read_text(&dir.join(".python-version")).ok()??).map(str::to_owned)
}

/// `runtime.txt` (Heroku's `python-3.13.1`): its text, trimmed; `None` when missing or
/// unreadable.
#[must_use]
pub fn runtime_txt(dir: &Path) -> Option<String> {
    Some(read_text(&dir.join("runtime.txt")).ok()??.trim().to_owned())
}

/// A distribution name as PEP 503 compares them: lower case, each run of `-`, `_` and `.` one
/// `-` (a name that is not valid only lower-cased).
pub fn normalized(name: &str) -> String {
    let name = name.trim();
    pep508_rs::PackageName::from_str(name).map_or_else(|_| name.to_lowercase(), |n| n.to_string())
}

/// pyproject.toml: the tables python-s2i looks at.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Pyproject {
    pub project: Option<Project>,
    pub build_system: Option<toml::Table>,
    pub dependency_groups: Option<toml::Table>,
    pub tool: Tool,
}

/// `[project]` (PEP 621).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Project {
    pub name: Option<String>,
    pub dependencies: Vec<String>,
    pub requires_python: Option<String>,
}

/// `[tool]`: Poetry's and uv's tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Tool {
    pub poetry: Option<Poetry>,
    pub uv: Option<Uv>,
}

/// `[tool.poetry]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Poetry {
    pub name: Option<String>,
    pub dependencies: toml::Table,
}

/// `[tool.uv]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Uv {
    pub workspace: Option<UvWorkspace>,
    pub sources: toml::Table,
}

/// `[tool.uv.workspace]`: member and excluded directories (paths or globs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UvWorkspace {
    pub members: Vec<String>,
    pub exclude: Vec<String>,
}

impl Pyproject {
    /// `dir/pyproject.toml`; `None` when missing or not TOML of this shape.
    pub fn read(dir: &Path) -> Option<Self> {
        toml_file(dir, "pyproject.toml")
    }

    /// pyproject.toml's text; `None` when not TOML of this shape.
    pub fn parse(text: &str) -> Option<Self> {
        toml::from_str(text).ok()
    }

    /// The project's name: `[project]`'s, else `[tool.poetry]`'s.
    pub fn name(&self) -> Option<&str> {
        let project = self.project.as_ref().and_then(|p| p.name.as_deref());
        project.or_else(|| self.tool.poetry.as_ref()?.name.as_deref())
    }

    /// The direct dependencies' names: `[project]` dependencies, then
    /// `[tool.poetry.dependencies]`.
    pub fn dependency_names(&self) -> Vec<String> {
        let project = self.project.iter().flat_map(|p| &p.dependencies);
        let poetry = self.tool.poetry.iter().flat_map(|p| p.dependencies.keys());
        let project = project.filter_map(|d| requirements::name_of(d));
        project.chain(poetry.cloned()).collect()
    }

    /// The `[tool.uv.sources]` entries that come from the uv workspace (`{ workspace = true }`).
    pub fn workspace_sources(&self) -> Vec<String> {
        let sources = self.tool.uv.iter().flat_map(|uv| &uv.sources);
        sources
            .filter(|(_, v)| v.get("workspace").and_then(toml::Value::as_bool) == Some(true))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// `Pipfile`: the names of `[packages]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pipfile {
    pub packages: toml::Table,
}

impl Pipfile {
    /// `dir/Pipfile`; `None` when missing or not TOML of this shape.
    pub fn read(dir: &Path) -> Option<Self> {
        toml_file(dir, "Pipfile")
    }
}

/// `package.json`: the scripts npm runs (`npm run NAME`); the rest is npm's business.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PackageJson {
    pub scripts: BTreeMap<String, serde_json::Value>,
}

impl PackageJson {
    /// `dir/package.json`; `None` when missing or unreadable, the parser's error when it is
    /// not JSON of this shape.
    #[must_use]
    pub fn read(dir: &Path) -> Option<serde_json::Result<Self>> {
        Some(serde_json::from_str(
            &read_text(&dir.join("package.json")).ok()??,
        ))
    }

    /// The script `name` (`build`), when it is a string.
    #[must_use]
    pub fn script(&self, name: &str) -> Option<&str> {
        self.scripts.get(name)?.as_str()
    }
}

/// `poetry.lock` and `uv.lock`: the packages they pin, and uv's `requires-python`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Lock {
    pub package: Option<Vec<LockedPackage>>,
    pub requires_python: Option<String>,
}

/// A `[[package]]` of a lock file.
#[derive(Debug, Clone, Deserialize)]
pub struct LockedPackage {
    pub name: String,
    pub version: Option<String>,
    pub source: Option<LockSource>,
    /// The artifacts it is installed from: uv.lock's `wheels` and `sdist`, poetry.lock's `files`.
    #[serde(default, alias = "files")]
    pub wheels: Vec<Artifact>,
    pub sdist: Option<Artifact>,
}

/// A locked artifact: where it is (`url`, `file`, `filename`) and its `hash` (`sha256:...`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Artifact {
    #[serde(alias = "file", alias = "filename")]
    pub url: Option<String>,
    pub hash: Option<String>,
}

/// Where a locked package comes from (poetry.lock: `type = "legacy"` and the index's `url`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LockSource {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
}

impl Lock {
    /// `dir/file` (`poetry.lock`, `uv.lock`); `None` when missing or not TOML of this shape.
    pub fn read(dir: &Path, file: &str) -> Option<Self> {
        toml_file(dir, file)
    }
}

/// `Pipfile.lock`: `_meta.requires` (`python_full_version`, `python_version`) and the
/// packages of `default`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PipfileLock {
    #[serde(rename = "_meta")]
    pub meta: BTreeMap<String, serde_json::Value>,
    pub default: Option<BTreeMap<String, serde_json::Value>>,
}

impl PipfileLock {
    /// `dir/Pipfile.lock`; `None` when missing or not JSON of this shape.
    pub fn read(dir: &Path) -> Option<Self> {
        serde_json::from_str(&read_text(&dir.join("Pipfile.lock")).ok()??).ok()
    }

    /// The Python version it requires, the full one first.
    pub fn python(&self) -> Option<&str> {
        let requires = self.meta.get("requires")?;
        let version = |key: &str| requires.get(key).and_then(serde_json::Value::as_str);
        version("python_full_version").or_else(|| version("python_version"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn python_version_files() {
        let none = dir(&[]);
        assert_eq!(python_version(none.path()), None);
        assert_eq!(runtime_txt(none.path()), None);
        // pyenv's `pyenv local` writes one version a line, comments allowed.
        let d = dir(&[
            (
                ".python-version",
                "# the app's Python\n\n  3.12.4  \n3.11\n",
            ),
            ("runtime.txt", "python-3.12.4\n"),
        ]);
        assert_eq!(python_version(d.path()).as_deref(), Some("3.12.4"));
        assert_eq!(runtime_txt(d.path()).as_deref(), Some("python-3.12.4"));
        let d = dir(&[(".python-version", "# nothing\n"), ("runtime.txt", "\n")]);
        assert_eq!(python_version(d.path()), None);
        assert_eq!(runtime_txt(d.path()).as_deref(), Some(""));
    }

    #[test]
    fn package_json_scripts() {
        // What `npm create vite@latest -- --template react` writes.
        let vite = r#"{
  "name": "frontend",
  "private": true,
  "version": "0.0.0",
  "type": "module",
  "scripts": {
    "dev": "vite",
    "build": "vite build",
    "lint": "eslint .",
    "preview": "vite preview"
  },
  "dependencies": { "react": "^19.1.0", "react-dom": "^19.1.0" },
  "devDependencies": { "@vitejs/plugin-react": "^4.6.0", "vite": "^7.0.4" }
}"#;
        let d = dir(&[("package.json", vite)]);
        let p = PackageJson::read(d.path()).expect("some").expect("json");
        assert_eq!(p.script("build"), Some("vite build"));
        assert_eq!(p.script("start"), None);
        assert!(PackageJson::read(dir(&[]).path()).is_none());
        let d = dir(&[("package.json", r#"{"name": "x", "scripts": {"build": 1}}"#)]);
        let p = PackageJson::read(d.path()).expect("some").expect("json");
        assert_eq!(p.script("build"), None);
        assert!(PackageJson::read(dir(&[("package.json", "{")]).path())
            .expect("some")
            .is_err());
    }
}
