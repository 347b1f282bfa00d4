//! The server `run` will start: `APP_SERVER` (or warpdrive's `WARPDRIVE_SERVER_TYPE` /
//! `.warpdrive/server_type`), `auto` meaning mod_wsgi-express. Installed into the virtualenv
//! when its executable is not there yet.

use std::path::Path;

use s2i_detect::{App, DetectError, Facts, Interface};

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
    /// The server asked for cannot host the application's interface (a WSGI server for an
    /// ASGI application, or the reverse): refused at build time, not a 500 per request.
    WrongInterface {
        server: &'static str,
        source_of_value: String,
        interface: Interface,
        app: String,
        servers: Vec<&'static str>,
    },
}

/// Where the choice came from, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub server: Server,
    pub reason: String,
    /// What `run`'s detection found to serve, or why it found nothing.
    pub app: String,
}

/// Picks the server `run` will start, with `run`'s own detection (crate `s2i-detect`) over the
/// source, the environment and what the build found so far: the user's choice (`APP_SERVER`,
/// `WARPDRIVE_SERVER_TYPE`, `.warpdrive/server_type`, warpdrive's manual deploy mode), else
/// uvicorn for an ASGI application and mod_wsgi-express for everything else.
///
/// # Errors
/// An unknown server name, or a Python 3-only server on Python 2.
pub fn choose(
    env: &BuildEnv,
    app_root: &Path,
    facts: &Facts,
    python2: bool,
) -> Result<Choice, ChooseServerError> {
    let detected = s2i_detect::detect(s2i_detect::Inputs {
        app_root,
        env: env.vars(),
        facts: Some(facts),
    });
    let app = match &detected {
        Ok(detection) => detection.app.describe(),
        Err(e) => format!("nothing detected yet ({e})"),
    };
    if let Ok(detection) = &detected {
        if let (Some(server), App::Web(web)) = (detection.server.server, &detection.app) {
            if !server.serves(web.interface) {
                return Err(ChooseServerError::WrongInterface {
                    server: server.name(),
                    source_of_value: detection.server.source.clone(),
                    interface: web.interface,
                    app,
                    servers: s2i_detect::Server::ALL
                        .into_iter()
                        .filter(|s| s.serves(web.interface))
                        .map(s2i_detect::Server::name)
                        .collect(),
                });
            }
        }
    }
    let (name, reason) = match detected {
        Ok(detection) => match (detection.server.server, &detection.app) {
            (Some(server), _) => (server.name(), detection.server.source.clone()),
            (None, App::Manual { server }) => {
                (server.name(), "warpdrive's manual deploy mode".to_owned())
            }
            (None, App::Web(web)) if web.interface == Interface::Asgi => (
                "uvicorn",
                format!("auto: the default for {}", detection.app.describe()),
            ),
            (None, app) => (
                "mod_wsgi",
                format!("auto: the default for {}", app.describe()),
            ),
        },
        Err(DetectError::UnknownServer { value, source }) => {
            return Err(ChooseServerError::Unknown {
                value,
                source_of_value: source,
            })
        }
        // Nothing to serve found yet (run then shows mod_wsgi-express's default page) or a
        // setting run will report: the default server.
        Err(_) => ("mod_wsgi", "auto: the default".to_owned()),
    };
    let server = SERVERS
        .iter()
        .find(|s| s.name == name)
        .copied()
        .ok_or_else(|| ChooseServerError::Unknown {
            value: name.to_owned(),
            source_of_value: reason.clone(),
        })?;
    if python2 && server.requirement_py2.is_none() {
        return Err(ChooseServerError::NoPython2 {
            server: server.name,
        });
    }
    Ok(Choice {
        server,
        reason,
        app,
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
    use crate::environment::test_env as env;
    use std::fs;

    fn app_root(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            let path = dir.path().join("src").join(name);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        }
        dir
    }

    fn name(
        env_pairs: &[(&str, &str)],
        root: &Path,
        python2: bool,
    ) -> Result<&'static str, ChooseServerError> {
        choose(&env(env_pairs), root, &Facts::default(), python2).map(|c| c.server.name)
    }

    #[test]
    fn precedence_and_names() {
        let wsgi = "def application(environ, start_response):\n    pass\n";
        let dir = app_root(&[("wsgi.py", wsgi)]);
        assert_eq!(name(&[], dir.path(), false).expect("auto"), "mod_wsgi");
        fs::create_dir_all(dir.path().join("src/.warpdrive")).expect("mkdir");
        fs::write(dir.path().join("src/.warpdrive/server_type"), "waitress\n").expect("write");
        assert_eq!(name(&[], dir.path(), false).expect("file"), "waitress");
        let e = [
            ("APP_SERVER", "gunicorn"),
            ("WARPDRIVE_SERVER_TYPE", "uwsgi"),
        ];
        assert_eq!(name(&e, dir.path(), false).expect("env"), "gunicorn");
        assert!(matches!(
            name(&[("APP_SERVER", "gunicorm")], dir.path(), false),
            Err(ChooseServerError::Unknown { .. })
        ));
        assert!(matches!(
            name(&[("APP_SERVER", "uvicorn")], dir.path(), true),
            Err(ChooseServerError::NoPython2 { .. })
        ));
    }

    #[test]
    fn asgi_apps_get_uvicorn_and_empty_apps_mod_wsgi() {
        let asgi = "async def application(scope, receive, send):\n    pass\n";
        let dir = app_root(&[("asgi.py", asgi)]);
        let chosen = name(&[], dir.path(), false).expect("auto");
        assert_eq!(chosen, "uvicorn");
        let empty = app_root(&[]);
        assert_eq!(name(&[], empty.path(), false).expect("auto"), "mod_wsgi");
    }
}
