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

pub use s2i_project::normalized;
use s2i_project::requirements::{self, Kind, Line};

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
    let requirements = requirements::read_all(home, "requirements.txt");
    add(
        requirements.iter().filter_map(Line::name).collect(),
        "requirements.txt",
    );
    if let Some(pipfile) = s2i_project::Pipfile::read(home) {
        add(pipfile.packages.keys().cloned().collect(), "Pipfile");
    }
    if let Some(pyproject) = s2i_project::Pyproject::read(home) {
        add(pyproject.dependency_names(), "pyproject.toml");
    }
    for file in ["setup.py", "setup.cfg"] {
        if let Ok(Some(text)) = s2i_project::read_text(&home.join(file)) {
            add(quoted_requirements(&text), file);
        }
    }
    names
}

/// The server a distribution name installs (the server table's `distributions`).
fn server_of(name: &str) -> Option<Server> {
    let name = normalized(name);
    crate::SERVERS
        .iter()
        .find(|s| s.distributions.contains(&name.as_str()))
        .map(|s| s.server)
}

/// The distribution names requirements.txt in `home` asks an index for (includes followed),
/// normalised; `None` when a requirement is not a name and a version range (a URL or path, an
/// editable), so the names and the index do not tell everything the file installs.
#[must_use]
pub fn requirement_names(home: &Path) -> Option<BTreeSet<String>> {
    let lines = requirements::read_all(home, "requirements.txt");
    let installs = lines
        .iter()
        .filter(|l| matches!(l.kind, Kind::Requirement(_) | Kind::Reference { .. }));
    installs.map(Line::index_name).collect()
}

/// Quoted strings that are requirements of a known server (`"gunicorn>=21"`), in
/// `setup.py`'s `install_requires` or `setup.cfg`'s lines.
fn quoted_requirements(text: &str) -> Vec<String> {
    let lines = text.lines().filter(|l| !l.trim_start().starts_with('#'));
    let parts = lines.flat_map(|l| l.split(['"', '\'', ',']));
    let names = parts.filter_map(requirements::name_of);
    names.filter(|name| server_of(name).is_some()).collect()
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

    /// Tables list their servers in the file's order, as requirements.txt and `[project]` do
    /// (the first listed is the one auto mode starts), not sorted by name.
    #[test]
    fn pipfile_and_poetry_servers_in_file_order() {
        let names = |file: &str, text: &str| -> Vec<Server> {
            servers(&[(file, text)]).into_iter().map(|f| f.0).collect()
        };
        let pipfile = "[packages]\nwaitress = \"*\"\ngunicorn = \"*\"\n";
        assert_eq!(
            names("Pipfile", pipfile),
            [Server::Waitress, Server::Gunicorn]
        );
        let poetry =
            "[tool.poetry.dependencies]\npython = '^3.11'\nwaitress = '^3'\ngunicorn = '^23'\n";
        assert_eq!(
            names("pyproject.toml", poetry),
            [Server::Waitress, Server::Gunicorn]
        );
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
