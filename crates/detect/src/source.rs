//! Small readers for the files detection looks at.

use std::path::Path;

use crate::DetectError;

/// The file's text, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, DetectError> {
    s2i_project::read_text(path).map_err(|error| DetectError::Read {
        path: path.to_path_buf(),
        error,
    })
}

/// The value of a one-value file (warpdrive's `home`, `deploy_mode`, ...).
pub fn read_value(path: &Path) -> Result<Option<String>, DetectError> {
    Ok(read_optional(path)?.and_then(|text| s2i_project::first_value(&text).map(str::to_owned)))
}

/// The Procfile in `home`, `None` when there is none.
pub fn procfile(home: &Path) -> Result<Option<s2i_project::Procfile>, DetectError> {
    s2i_project::Procfile::read(home).map_err(|error| DetectError::Read {
        path: home.join("Procfile"),
        error,
    })
}

pub use s2i_env::is_executable;

/// The value assigned to `key` in a Python-ish or TOML file, by text (`name = "x"`,
/// `name='x'`, `name="x",`). Good enough for `setup.py` / `pyproject.toml` / gunicorn configs.
pub fn assigned_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix(key)?.trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value = &rest[1..];
        value.find(quote).map(|end| value[..end].to_owned())
    })
}

/// The `name` of the `[project]` table of a pyproject.toml (or `[tool.poetry]`).
pub fn pyproject_name(text: &str) -> Option<String> {
    s2i_project::Pyproject::parse(text)?
        .name()
        .map(str::to_owned)
}

/// The package's distribution name and the file that gives it: pyproject.toml (`[project]`,
/// else `[tool.poetry]`), else setup.py's `name=`.
pub fn package_name(home: &Path) -> Result<Option<(String, &'static str)>, DetectError> {
    let pyproject = read_optional(&home.join("pyproject.toml"))?;
    if let Some(name) = pyproject.and_then(|t| pyproject_name(&t)) {
        return Ok(Some((name, "pyproject.toml")));
    }
    let setup = read_optional(&home.join("setup.py"))?;
    Ok(setup.and_then(|t| Some((assigned_string(&t, "name")?, "setup.py"))))
}

/// The import name of a distribution name: `my-app` -> `my_app`.
pub fn import_name(name: &str) -> String {
    name.replace(['-', '.'], "_").to_ascii_lowercase()
}

/// The first quoted string after `DJANGO_SETTINGS_MODULE` at the start of `text`
/// (`setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")` or
/// `os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"`), when it is a module path.
pub fn settings_in_manage_py(text: &str) -> Option<String> {
    let rest = text.strip_prefix("DJANGO_SETTINGS_MODULE")?;
    let rest = rest.trim_start_matches(['"', '\'']);
    let start = rest.find(['"', '\''])?;
    let quote = rest[start..].chars().next()?;
    let value = &rest[start + 1..];
    let end = value.find(quote)?;
    let module = value[..end].trim();
    is_module_path(module).then(|| module.to_owned())
}

/// Whether `text` is a Python identifier.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether `text` is a dotted module path.
pub fn is_module_path(text: &str) -> bool {
    text.split('.').all(is_identifier)
}

/// Whether Python source looks like an ASGI application (imports an ASGI framework).
pub fn looks_asgi(text: &str) -> bool {
    const MARKERS: [&str; 7] = [
        "fastapi",
        "starlette",
        "quart",
        "litestar",
        "django.core.asgi",
        "get_asgi_application",
        "async def app(scope",
    ];
    MARKERS.iter().any(|m| text.contains(m))
}

/// The name of the application object a script defines: `application` (WSGI convention) or
/// `app`, by looking for an assignment or definition.
pub fn app_callable(text: &str) -> Option<&'static str> {
    ["application", "app"].into_iter().find(|name| {
        text.lines().any(|line| {
            let line = line.trim_start();
            line.strip_prefix(name).is_some_and(|rest| {
                rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("==")
            }) || line.starts_with(&format!("def {name}("))
                || line.starts_with(&format!("async def {name}("))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        assert_eq!(
            assigned_string("    name='hello-app',", "name").as_deref(),
            Some("hello-app")
        );
        assert_eq!(
            assigned_string("wsgi_app = \"hello:app\"\n", "wsgi_app").as_deref(),
            Some("hello:app")
        );
        assert_eq!(assigned_string("names = 'x'", "name"), None);
        let toml = "[build-system]\nname = \"no\"\n[project]\nversion = \"1\"\nname = \"my-app\"\n";
        assert_eq!(pyproject_name(toml).as_deref(), Some("my-app"));
    }

    #[test]
    fn manage_py_settings() {
        for text in [
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')",
            "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\",\"mysite.settings\")",
            "os.environ[\"DJANGO_SETTINGS_MODULE\"] = \"mysite.settings\"",
        ] {
            let at = text.find("DJANGO_SETTINGS_MODULE").expect("named");
            assert_eq!(
                settings_in_manage_py(&text[at..]).as_deref(),
                Some("mysite.settings"),
                "{text}"
            );
        }
        assert_eq!(
            settings_in_manage_py("DJANGO_SETTINGS_MODULE', 'my site')"),
            None
        );
    }

    #[test]
    fn identifiers() {
        assert!(is_module_path("mysite.wsgi"));
        assert!(!is_module_path("app.py/x"));
        assert!(!is_module_path("my-site"));
        assert!(!is_module_path(""));
    }

    #[test]
    fn callables() {
        assert_eq!(
            app_callable("def application(environ, start):"),
            Some("application")
        );
        assert_eq!(app_callable("app = FastAPI()"), Some("app"));
        assert_eq!(app_callable("if app == 1: pass"), None);
    }
}
