//! Today's layouts: an application object (or factory) in `main.py`, `app/main.py`, `app.py`
//! or a package (`src/<pkg>/`), as FastAPI's, Flask's and the templates' tutorials lay them out.
//!
//! assemble reads the candidate files once with Python's `ast` module (never running them) and
//! records what each defines ([`s2i_facts::ModuleFacts`]); the rules read that record. Without
//! a record (run on sources assemble never saw), the files' text is looked at instead.

use std::path::{Path, PathBuf};

use s2i_facts::ObjectKind::{self, Callable, Factory, Object};
use s2i_facts::{AppObject, Facts, ModuleFacts};

use crate::server::Interface;
use crate::source::{app_callable, import_name, looks_asgi, read_optional};
use crate::DetectError;

/// Files of the package directories that may hold the application, in the order they are
/// tried.
const PACKAGE_FILES: [&str; 5] = ["__init__.py", "main.py", "app.py", "wsgi.py", "asgi.py"];

/// The files that may hold the application object, relative to `home`, in the order the rules
/// try them: `app.py` (its own rule), `main.py`, `app/main.py`, `app/__init__.py`, then the
/// package's modules (the installed package's top-level modules, or `src/<pkg>/` directories).
/// Only files that exist are listed. assemble introspects exactly these.
///
/// # Errors
/// pyproject.toml or setup.py cannot be read.
pub fn candidate_files(home: &Path, facts: Option<&Facts>) -> Result<Vec<PathBuf>, DetectError> {
    let packages = package_modules(home, facts)?;
    let mut files: Vec<PathBuf> = ["app.py", "main.py", "app/main.py", "app/__init__.py"]
        .iter()
        .map(PathBuf::from)
        .collect();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for package in &packages {
        for dir in [PathBuf::from("src").join(package), PathBuf::from(package)] {
            if home.join(&dir).is_dir() && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(home.join("src")) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| PathBuf::from("src").join(e.file_name()))
            .filter(|d| home.join(d).join("__init__.py").is_file())
            .collect();
        found.sort();
        for dir in found {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    for dir in dirs {
        for file in PACKAGE_FILES {
            let path = dir.join(file);
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    files.retain(|f| home.join(f).is_file());
    Ok(files)
}

/// The package's importable modules: the build record's, else the name pyproject.toml or
/// setup.py gives (`my-app` -> `my_app`).
fn package_modules(home: &Path, facts: Option<&Facts>) -> Result<Vec<String>, DetectError> {
    if let Some(p) = facts.and_then(|f| f.package.as_ref()) {
        return Ok(p.modules.clone());
    }
    let name = crate::source::package_name(home)?;
    Ok(name.map(|(n, _)| vec![import_name(&n)]).unwrap_or_default())
}

/// The import name of a candidate file: `app/main.py` -> `app.main`, `src/flaskr/__init__.py`
/// -> `flaskr` (a src layout is importable once installed).
#[must_use]
pub fn module_name(file: &Path) -> Option<String> {
    let file = file.strip_prefix("src").unwrap_or(file);
    let text = file.to_str()?.strip_suffix(".py")?;
    let text = text.strip_suffix("/__init__").unwrap_or(text);
    let name = text.replace('/', ".");
    crate::source::is_module_path(&name).then_some(name)
}

/// The application a file exposes, as the rules use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    /// `app`, `application`, or `create_app()` for a factory.
    pub callable: String,
    pub interface: Interface,
    /// `FastAPI`'s `fastapi`, ...; `None` for a plain callable or when only the text was read.
    pub framework: Option<String>,
    /// Servers the file starts itself: (call, development?).
    pub starts: Vec<(String, bool)>,
    /// Whether this came from the build record (else from the file's text).
    pub recorded: bool,
}

/// The object to serve among a module's: `application`, then `app`, then the first object,
/// then a factory, then a plain callable.
fn pick(objects: &[AppObject]) -> Option<&AppObject> {
    let named = |n: &str| objects.iter().find(|o| o.kind == Object && o.name == n);
    let kind = |k: ObjectKind| objects.iter().find(|o| o.kind == k);
    named("application")
        .or_else(|| named("app"))
        .or_else(|| kind(Object))
        .or_else(|| kind(Factory))
        .or_else(|| kind(Callable))
}

fn from_record(module: &ModuleFacts) -> Option<Exposed> {
    let object = pick(&module.objects)?;
    let callable = if object.kind == Factory {
        format!("{}()", object.name)
    } else {
        object.name.clone()
    };
    Some(Exposed {
        callable,
        interface: object.interface,
        framework: object.framework.clone(),
        starts: module
            .starts
            .iter()
            .map(|s| (s.call.clone(), s.kind == s2i_facts::StartKind::Development))
            .collect(),
        recorded: true,
    })
}

/// What `file` (relative to `home`) exposes: from the build record when it has the file, else
/// from the text. `Ok(None)`: no application object in it.
///
/// # Errors
/// The file cannot be read.
pub fn exposed(
    home: &Path,
    file: &Path,
    facts: Option<&Facts>,
) -> Result<Option<Exposed>, DetectError> {
    if let Some(module) = facts.and_then(|f| f.modules.iter().find(|m| m.file == file)) {
        return Ok(from_record(module));
    }
    let Some(text) = read_optional(&home.join(file))? else {
        return Ok(None);
    };
    let callable = if let Some(name) = app_callable(&text) {
        name.to_owned()
    } else if text.contains("def create_app(") {
        "create_app()".to_owned()
    } else {
        return Ok(None);
    };
    Ok(Some(Exposed {
        callable,
        interface: if looks_asgi(&text) {
            Interface::Asgi
        } else {
            Interface::Wsgi
        },
        framework: None,
        starts: Vec::new(),
        recorded: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        let name = |f: &str| module_name(Path::new(f));
        assert_eq!(name("main.py").as_deref(), Some("main"));
        assert_eq!(name("app/main.py").as_deref(), Some("app.main"));
        assert_eq!(name("src/flaskr/__init__.py").as_deref(), Some("flaskr"));
        assert_eq!(name("my-app/main.py"), None);
    }

    #[test]
    fn candidates_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in [
            "main.py",
            "app/main.py",
            "app/__init__.py",
            "src/flaskr/__init__.py",
            "src/flaskr/db.py",
            "shop/app.py",
        ] {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        let facts = Facts {
            package: Some(s2i_facts::PackageFacts {
                name: "shop".into(),
                modules: vec!["shop".into()],
            }),
            ..Facts::default()
        };
        let files = candidate_files(dir.path(), Some(&facts)).expect("list");
        let files: Vec<_> = files.iter().map(|f| f.display().to_string()).collect();
        assert_eq!(
            files,
            [
                "main.py",
                "app/main.py",
                "app/__init__.py",
                "shop/app.py",
                "src/flaskr/__init__.py"
            ]
        );
    }

    #[test]
    fn the_object_to_serve() {
        let o = |name: &str, kind: ObjectKind| AppObject {
            name: name.into(),
            kind,
            interface: Interface::Wsgi,
            framework: Some("flask".into()),
        };
        assert_eq!(
            pick(&[o("create_app", Factory), o("app", Object)]).map(|o| o.name.as_str()),
            Some("app")
        );
        assert_eq!(
            pick(&[o("create_app", Factory)]).map(|o| o.name.as_str()),
            Some("create_app")
        );
        assert_eq!(pick(&[]), None);
    }
}
