//! The server `run` will start, installed into the virtualenv when its executable is not there
//! yet. The choice is [`s2i_detect::auto_server`]'s, the policy `run` uses too: assemble asks it
//! as if every server could be installed, and installs the one it names.

use std::path::Path;

use s2i_detect::{
    auto_server, DetectError, Detection, Facts, Server, ServerChoice, ServerPolicyError,
    ServerRequest,
};

use s2i_env::Env;

/// Why no server could be chosen.
#[derive(Debug)]
pub enum ChooseServerError {
    /// The name is not one of the servers' names.
    Unknown {
        value: String,
        source_of_value: String,
    },
    /// The server does not run on Python 2.
    NoPython2 { server: Server },
    /// The server asked for cannot serve the application.
    Policy(ServerPolicyError),
}

/// What `run` will start, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `None`: the application starts its own server (app.sh, app.py, a Procfile).
    pub server: Option<ServerChoice>,
    /// What `run`'s detection found to serve, or why it found nothing.
    pub app: String,
    /// Why: the verdict of the detection rule that matched (what `run --dry-run` says).
    pub why: Option<String>,
    /// What detection decided, recorded for `run` to carry out (`None`: nothing found yet).
    pub decision: Option<Detection>,
}

impl Choice {
    /// The summary's `Server:` value, in the words `run --dry-run` uses.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.server {
            Some(c) => format!("{} ({})", c.server, c.reason),
            None => s2i_detect::OWN_SERVER.to_owned(),
        }
    }
}

/// Picks the server `run` will start, with `run`'s own detection (crate `s2i-detect`) over the
/// source, the environment and what the build found so far.
///
/// # Errors
/// An unknown server name, a server that cannot serve the app, or a Python 3-only server on
/// Python 2.
pub fn choose(
    env: &Env,
    app_root: &Path,
    facts: &Facts,
    python2: bool,
) -> Result<Choice, ChooseServerError> {
    let inputs = s2i_detect::Inputs {
        app_root,
        env,
        facts: Some(facts),
    };
    let detected = s2i_detect::detect(inputs);
    let why = detected.as_ref().ok().and_then(|d| {
        d.verdicts
            .iter()
            .find(|v| v.matched)
            .map(|v| format!("{}: {}", v.rule, v.why))
    });
    let (server, app, decision) = match detected {
        Ok(detection) => (
            auto_server(Some(&detection.app), &detection.server, &|_| true)
                .map_err(ChooseServerError::Policy)?,
            detection.app.describe(),
            Some(detection),
        ),
        Err(DetectError::UnknownServer { value, origin }) => {
            return Err(ChooseServerError::Unknown {
                value,
                source_of_value: origin,
            })
        }
        // Nothing to serve found yet, or a setting run will report: the server asked for, else
        // the default, so a fixed setting needs no rebuild.
        Err(e) => {
            let request = s2i_detect::server_request(inputs).unwrap_or(ServerRequest {
                server: None,
                source: "default".to_owned(),
                preferred: Vec::new(),
            });
            let server = auto_server(None, &request, &|_| true);
            (
                server.map_err(ChooseServerError::Policy)?,
                format!("nothing detected yet ({e})"),
                None,
            )
        }
    };
    if let Some(choice) = &server {
        if choice.server.requirement(python2).is_none() {
            return Err(ChooseServerError::NoPython2 {
                server: choice.server,
            });
        }
    }
    Ok(Choice {
        server,
        app,
        why,
        decision,
    })
}

/// The server executables present in the virtualenv's `bin/`.
#[must_use]
pub fn installed(venv_root: &Path) -> Vec<String> {
    Server::ALL
        .iter()
        .map(|s| s.executable())
        .filter(|e| venv_root.join("bin").join(e).is_file())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn name(
        env_pairs: &[(&str, &str)],
        root: &Path,
        python2: bool,
    ) -> Result<&'static str, ChooseServerError> {
        choose(&Env::of(env_pairs), root, &Facts::default(), python2)
            .map(|c| c.server.map_or("none", |s| s.server.name()))
    }

    #[test]
    fn precedence_and_names() {
        let wsgi = "def application(environ, start_response):\n    pass\n";
        let dir = crate::tree(&[("src/wsgi.py", wsgi)]);
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
        // uvicorn cannot serve a WSGI script: refused at build time, as run refuses it.
        assert!(matches!(
            name(&[("APP_SERVER", "uvicorn")], dir.path(), false),
            Err(ChooseServerError::Policy(
                ServerPolicyError::WrongInterface { .. }
            ))
        ));
        assert!(matches!(
            name(&[("APP_SERVER", "hypercorn")], dir.path(), true),
            Err(ChooseServerError::NoPython2 { .. })
        ));
    }

    #[test]
    fn asgi_apps_get_uvicorn_and_empty_apps_mod_wsgi() {
        let asgi = "async def application(scope, receive, send):\n    pass\n";
        let dir = crate::tree(&[("src/asgi.py", asgi)]);
        let chosen = name(&[], dir.path(), false).expect("auto");
        assert_eq!(chosen, "uvicorn");
        let empty = crate::tree(&[]);
        assert_eq!(name(&[], empty.path(), false).expect("auto"), "mod_wsgi");
        // Nothing to serve yet (APP_MODULE comes at deploy time): the server asked for is
        // installed, the one run will start.
        let asked = [("APP_SERVER", "gunicorn")];
        assert_eq!(
            name(&asked, empty.path(), false).expect("asked"),
            "gunicorn"
        );
    }

    #[test]
    fn gunicorn_configuration_installs_gunicorn_and_scripts_nothing() {
        let conf = "wsgi_app = \"hello:application\"\n";
        let dir = crate::tree(&[("src/gunicorn.conf.py", conf), ("src/hello.py", "")]);
        assert_eq!(name(&[], dir.path(), false).expect("auto"), "gunicorn");
        let dir = crate::tree(&[("src/Procfile", "web: python -m http.server $PORT\n")]);
        assert_eq!(name(&[], dir.path(), false).expect("auto"), "none");
    }
}
