//! The server `run` will start: `APP_SERVER` (or warpdrive's `WARPDRIVE_SERVER_TYPE` /
//! `.warpdrive/server_type`), `auto` meaning mod_wsgi-express. Installed into the virtualenv
//! when its executable is not there yet.

use std::fs;
use std::path::Path;

use crate::environment::BuildEnv;

/// A server `run` can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// The name users write in `APP_SERVER`.
    pub name: &'static str,
    /// The executable in the virtualenv's `bin/`.
    pub executable: &'static str,
    /// What to install (Python 3).
    pub requirement: &'static str,
    /// What to install on Python 2.7, when the server supports it at all.
    pub requirement_py2: Option<&'static str>,
}

/// Every server, first the default.
pub const SERVERS: &[Server] = &[
    Server {
        name: "mod_wsgi",
        executable: "mod_wsgi-express",
        requirement: "mod_wsgi",
        requirement_py2: Some("mod_wsgi<5"),
    },
    Server {
        name: "gunicorn",
        executable: "gunicorn",
        requirement: "gunicorn",
        requirement_py2: Some("gunicorn<20"),
    },
    Server {
        name: "uwsgi",
        executable: "uwsgi",
        requirement: "uwsgi",
        requirement_py2: Some("uwsgi<2.0.22"),
    },
    Server {
        name: "waitress",
        executable: "waitress-serve",
        requirement: "waitress",
        requirement_py2: Some("waitress<2"),
    },
    Server {
        name: "uvicorn",
        executable: "uvicorn",
        requirement: "uvicorn",
        requirement_py2: None,
    },
    Server {
        name: "hypercorn",
        executable: "hypercorn",
        requirement: "hypercorn",
        requirement_py2: None,
    },
    Server {
        name: "granian",
        executable: "granian",
        requirement: "granian",
        requirement_py2: None,
    },
];

/// Why no server could be chosen.
#[derive(Debug)]
pub enum ChooseServerError {
    /// The name is not one of [`SERVERS`].
    Unknown {
        value: String,
        source_of_value: String,
    },
    /// The server does not run on Python 2.
    NoPython2 { server: &'static str },
}

/// Where the choice came from, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub server: Server,
    pub reason: String,
}

/// Picks the server from the variables and warpdrive's file in `app`.
///
/// # Errors
/// An unknown server name, or a Python 3-only server on Python 2.
pub fn choose(env: &BuildEnv, app: &Path, python2: bool) -> Result<Choice, ChooseServerError> {
    let warpdrive_file = fs::read_to_string(app.join(".warpdrive/server_type"))
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let (value, source_of_value) = if let Some(v) = env.get("APP_SERVER") {
        (v.to_owned(), "APP_SERVER".to_owned())
    } else if let Some(v) = env.get("WARPDRIVE_SERVER_TYPE") {
        (v.to_owned(), "WARPDRIVE_SERVER_TYPE".to_owned())
    } else if let Some(v) = warpdrive_file {
        (v, ".warpdrive/server_type".to_owned())
    } else {
        ("auto".to_owned(), "the default".to_owned())
    };
    let name = value.trim().to_ascii_lowercase().replace('-', "_");
    let name = match name.as_str() {
        "auto" | "mod_wsgi_express" => "mod_wsgi",
        other => other,
    };
    let server = SERVERS
        .iter()
        .find(|s| s.name == name)
        .copied()
        .ok_or_else(|| ChooseServerError::Unknown {
            value: value.clone(),
            source_of_value: source_of_value.clone(),
        })?;
    if python2 && server.requirement_py2.is_none() {
        return Err(ChooseServerError::NoPython2 {
            server: server.name,
        });
    }
    Ok(Choice {
        server,
        reason: format!("{source_of_value} ({value})"),
    })
}

/// The server executables present in the virtualenv's `bin/`.
#[must_use]
pub fn installed(venv_root: &Path) -> Vec<String> {
    SERVERS
        .iter()
        .map(|s| s.executable)
        .filter(|e| venv_root.join("bin").join(e).is_file())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BuildEnv {
        BuildEnv::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .expect("env")
    }

    #[test]
    fn precedence_and_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            choose(&env(&[]), dir.path(), false)
                .expect("auto")
                .server
                .name,
            "mod_wsgi"
        );
        fs::create_dir(dir.path().join(".warpdrive")).expect("mkdir");
        fs::write(dir.path().join(".warpdrive/server_type"), "waitress\n").expect("write");
        assert_eq!(
            choose(&env(&[]), dir.path(), false)
                .expect("file")
                .server
                .name,
            "waitress"
        );
        let e = env(&[
            ("APP_SERVER", "gunicorn"),
            ("WARPDRIVE_SERVER_TYPE", "uwsgi"),
        ]);
        assert_eq!(
            choose(&e, dir.path(), false).expect("env").server.name,
            "gunicorn"
        );
        assert!(matches!(
            choose(&env(&[("APP_SERVER", "gunicorm")]), dir.path(), false),
            Err(ChooseServerError::Unknown { .. })
        ));
        assert!(matches!(
            choose(&env(&[("APP_SERVER", "uvicorn")]), dir.path(), true),
            Err(ChooseServerError::NoPython2 { .. })
        ));
    }
}
