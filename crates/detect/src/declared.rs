//! The servers an application lists among its own dependencies: a server the app declares is
//! the user's choice (users of the default OpenShift Python image add `gunicorn` to
//! requirements.txt to be served by it).
//!
//! Direct dependencies only, from the files people write: `requirements.txt` (and the files
//! it includes with `-r`), `Pipfile` `[packages]`, `pyproject.toml` (`[project]`
//! dependencies, `[tool.poetry.dependencies]`), `setup.py`/`setup.cfg` (quoted requirement
//! strings). Lock files list every transitive package, so they say nothing about intent.

use std::collections::BTreeSet;
use std::path::Path;

use crate::server::Server;

/// A server the app declares, and the file that declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub server: Server,
    pub file: String,
}

/// Every server declared in the dependency files of `home`, in file order, once each.
#[must_use]
pub fn declared_servers(home: &Path) -> Vec<Declared> {
    let mut found: Vec<Declared> = Vec::new();
    for (name, file) in declared_names(home) {
        if let Some(server) = server_of(&name) {
            if !found.iter().any(|d| d.server == server) {
                found.push(Declared {
                    server,
                    file: file.to_owned(),
                });
            }
        }
    }
    found
}

/// The dependency file of `home` that declares the distribution `name` (compared normalised),
/// when one does.
#[must_use]
pub fn declaring_file(home: &Path, name: &str) -> Option<&'static str> {
    let wanted = normalized(name);
    declared_names(home)
        .into_iter()
        .find(|(n, _)| normalized(n) == wanted)
        .map(|(_, file)| file)
}

/// Every direct dependency named in the dependency files of `home`, with its file, in file
/// order.
fn declared_names(home: &Path) -> Vec<(String, &'static str)> {
    let mut names = Vec::new();
    let mut add = |list: Vec<String>, file: &'static str| {
        names.extend(list.into_iter().map(|n| (n, file)));
    };
    let mut seen = BTreeSet::new();
    add(
        requirements(home, "requirements.txt", &mut seen),
        "requirements.txt",
    );
    if let Some(text) = read(home, "Pipfile") {
        add(toml_table_keys(&text, "packages"), "Pipfile");
    }
    if let Some(text) = read(home, "pyproject.toml") {
        add(pyproject(&text), "pyproject.toml");
    }
    for file in ["setup.py", "setup.cfg"] {
        if let Some(text) = read(home, file) {
            add(quoted_requirements(&text), file);
        }
    }
    names
}

/// The server a distribution name installs.
fn server_of(name: &str) -> Option<Server> {
    match normalized(name).as_str() {
        "mod-wsgi" | "mod-wsgi-standalone" => Some(Server::ModWsgi),
        "gunicorn" => Some(Server::Gunicorn),
        "uwsgi" | "pyuwsgi" => Some(Server::Uwsgi),
        "waitress" => Some(Server::Waitress),
        "uvicorn" => Some(Server::Uvicorn),
        "hypercorn" => Some(Server::Hypercorn),
        "granian" => Some(Server::Granian),
        _ => None,
    }
}

/// A distribution name as PEP 503 compares them: lower case, each run of `-`, `_` and `.` one `-`.
#[must_use]
pub fn normalized(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The distribution names requirements.txt in `home` asks an index for (includes followed),
/// normalised; `None` when a requirement is not a name and a version range (a URL or path, an
/// editable), so the names and the index do not tell everything the file installs.
#[must_use]
pub fn requirement_names(home: &Path) -> Option<BTreeSet<String>> {
    requirement_lines(home, "requirements.txt", &mut BTreeSet::new())
        .iter()
        .map(|line| named_requirement(line).map(|name| normalized(&name)))
        .collect()
}

/// The name of a requirement an index serves (PEP 508 `name[extras] version ; marker`), `None`
/// for anything else (a direct `name @ url` reference included).
fn named_requirement(requirement: &str) -> Option<String> {
    let name = requirement_name(requirement)?;
    let rest = requirement.trim_start()[name.len()..].trim_start();
    let follows = rest.is_empty()
        || rest.starts_with(['[', '<', '>', '=', '!', '~', ';', '(', ',', '-', '\\']);
    (name.starts_with(|c: char| c.is_ascii_alphanumeric()) && follows).then_some(name)
}

fn read(home: &Path, file: &str) -> Option<String> {
    std::fs::read(home.join(file))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The distribution name at the start of a requirement (`gunicorn[gevent]>=21 ; python...`).
fn requirement_name(requirement: &str) -> Option<String> {
    let name: String = requirement
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Names in a requirements file, following `-r`/`--requirement` includes once each.
fn requirements(home: &Path, file: &str, seen: &mut BTreeSet<String>) -> Vec<String> {
    requirement_lines(home, file, seen)
        .iter()
        .filter_map(|line| requirement_name(line))
        .collect()
}

/// The requirements of a requirements file (`\\`-continued lines joined, comments and options
/// left out, editables kept as written), following `-r`/`--requirement` includes once each.
fn requirement_lines(home: &Path, file: &str, seen: &mut BTreeSet<String>) -> Vec<String> {
    if !seen.insert(file.to_owned()) {
        return Vec::new();
    }
    let Some(text) = read(home, file) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut logical = String::new();
    for physical in text.lines() {
        if let Some(continued) = physical.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(physical);
        let whole = std::mem::take(&mut logical);
        let line = whole.split(" #").next().unwrap_or("").trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let include = line
            .strip_prefix("--requirement")
            .or_else(|| line.strip_prefix("-r"))
            .map(|r| r.trim_start_matches([' ', '=']).trim());
        match include {
            Some(other) if !other.is_empty() => {
                let other = Path::new(file).parent().map_or_else(
                    || other.to_owned(),
                    |dir| dir.join(other).display().to_string(),
                );
                lines.extend(requirement_lines(home, &other, seen));
            }
            Some(_) => {}
            None if line.starts_with("-e") || line.starts_with("--editable") => {
                lines.push(line.to_owned());
            }
            None if line.starts_with('-') => {}
            None => lines.push(line.to_owned()),
        }
    }
    lines
}

fn toml_table_keys(text: &str, table: &str) -> Vec<String> {
    text.parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get(table).and_then(|v| v.as_table()).cloned())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn pyproject(text: &str) -> Vec<String> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut names: Vec<String> = table
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .map(|deps| {
            deps.iter()
                .filter_map(|d| d.as_str().and_then(requirement_name))
                .collect()
        })
        .unwrap_or_default();
    if let Some(poetry) = table
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
    {
        names.extend(poetry.keys().cloned());
    }
    names
}

/// Quoted strings that read as requirements of a known server (`"gunicorn>=21"`), in
/// `setup.py`'s `install_requires` or `setup.cfg`'s lines.
fn quoted_requirements(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        for part in line.split(['"', '\'', ',', '[', ']', '=']) {
            if let Some(name) = requirement_name(part) {
                if server_of(&name).is_some()
                    && part.trim().len() >= name.len()
                    && part.trim().get(name.len()..).is_some_and(|rest| {
                        rest.is_empty() || rest.starts_with(['<', '>', '=', '~', '!', ' ', ';'])
                    })
                {
                    names.push(name);
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn home(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    fn servers(files: &[(&str, &str)]) -> Vec<(Server, String)> {
        let dir = home(files);
        declared_servers(dir.path())
            .into_iter()
            .map(|d| (d.server, d.file))
            .collect()
    }

    #[test]
    fn requirements_with_includes_extras_and_markers() {
        let found = servers(&[
            ("requirements.txt", "# web\nDjango>=4.2\n-r prod.txt\n"),
            (
                "prod.txt",
                "Gunicorn[gthread]==23.0 ; python_version >= '3.8'\npsycopg2\n",
            ),
        ]);
        assert_eq!(found, [(Server::Gunicorn, "requirements.txt".to_owned())]);
        assert!(
            servers(&[("requirements.txt", "gunicorn-stubs\ndjango-uwsgi-admin\n")]).is_empty()
        );
        let found = servers(&[("requirements.txt", "pyuwsgi\nmod-wsgi\n")]);
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            [Server::Uwsgi, Server::ModWsgi]
        );
    }

    #[test]
    fn pipfile_pyproject_and_setup_py() {
        let found = servers(&[(
            "Pipfile",
            "[packages]\nwaitress = \"*\"\n[dev-packages]\ngunicorn = \"*\"\n",
        )]);
        assert_eq!(found, [(Server::Waitress, "Pipfile".to_owned())]);
        let found = servers(&[(
            "pyproject.toml",
            "[project]\nname='x'\ndependencies = ['fastapi', 'uvicorn[standard]>=0.30']\n",
        )]);
        assert_eq!(found, [(Server::Uvicorn, "pyproject.toml".to_owned())]);
        let found = servers(&[(
            "pyproject.toml",
            "[tool.poetry.dependencies]\npython = '^3.11'\ngunicorn = '^23'\n",
        )]);
        assert_eq!(found, [(Server::Gunicorn, "pyproject.toml".to_owned())]);
        let found = servers(&[(
            "setup.py",
            "setup(name='app', install_requires=['flask', 'waitress>=2'])\n",
        )]);
        assert_eq!(found, [(Server::Waitress, "setup.py".to_owned())]);
        assert!(servers(&[("setup.py", "setup(name='gunicorn_helper')\n")]).is_empty());
    }

    #[test]
    fn requirement_names_normalised_or_none_when_not_all_named() {
        let names = |text: &str| {
            let dir = home(&[("requirements.txt", text)]);
            requirement_names(dir.path()).map(|n| n.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(
            names(
                "# web\nDjango>=4.2,<6 ; python_version >= '3'\nDjango<2; python_version < '3'\n\
                 --index-url https://example.org/simple\nzope.interface[test] == 6.0\n\
                 Typing_Extensions \\\n    --hash=sha256:00\npsycopg2-binary  # db\n"
            ),
            Some(
                [
                    "django",
                    "psycopg2-binary",
                    "typing-extensions",
                    "zope-interface"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert_eq!(names(""), Some(Vec::new()));
        for unnamed in [
            "six\nhttps://example.org/pkg-1.0-py3-none-any.whl\n",
            "six\npkg @ https://example.org/pkg-1.0.tar.gz\n",
            "git+https://example.org/pkg.git#egg=pkg\n",
            "-e ./lib\n",
            "./lib\n",
        ] {
            assert_eq!(names(unnamed), None, "{unnamed:?}");
        }
        let dir = home(&[
            ("requirements.txt", "-r base.txt\ngunicorn\n"),
            ("base.txt", "Django\n"),
        ]);
        assert_eq!(
            requirement_names(dir.path()).map(|n| n.into_iter().collect::<Vec<_>>()),
            Some(vec!["django".to_owned(), "gunicorn".to_owned()])
        );
    }
}
