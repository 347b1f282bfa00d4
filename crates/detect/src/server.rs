//! The servers `run` can start, in one table, and the one policy that picks the server for an
//! application: [`auto_server`]. `assemble` calls it to know what to install, `run` to know what
//! to start, so the two never disagree.

use std::fmt;
use std::path::Path;

pub use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use crate::App;

/// The production servers `run` knows how to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    ModWsgi,
    Gunicorn,
    Uwsgi,
    Waitress,
    Uvicorn,
    Hypercorn,
    Granian,
}

pub use s2i_facts::Interface;

/// One row of the server table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSpec {
    pub server: Server,
    /// The name users write in `APP_SERVER`.
    pub name: &'static str,
    /// Other spellings accepted in `APP_SERVER` (the executable, the package name).
    pub aliases: &'static [&'static str],
    /// The console script the server's package installs into the virtualenv's `bin/`.
    pub executable: &'static str,
    /// What assemble installs on Python 3.
    pub requirement: &'static str,
    /// The distributions (PEP 503 names) that install it, as a project declares them.
    pub distributions: &'static [&'static str],
    /// What assemble installs on Python 2.7; `None`: the server does not run on Python 2.
    pub requirement_py2: Option<&'static str>,
    pub wsgi: bool,
    pub asgi: bool,
    /// warpdrive's manual mode: the arguments before `.warpdrive/server_args` (`{port}` is
    /// `$PORT`; mod_wsgi-express also gets its server root and `MOD_WSGI_*` options).
    pub manual: &'static [&'static str],
    /// What the platform's SIGTERM is turned into so the server stops gracefully.
    pub stop: Signal,
}

/// Every server `run` can start: the one table usage, errors and docs lists derive from.
pub const SERVERS: [ServerSpec; 7] = [
    ServerSpec {
        server: Server::ModWsgi,
        name: "mod_wsgi",
        aliases: &["mod-wsgi", "mod_wsgi-express", "modwsgi"],
        executable: "mod_wsgi-express",
        requirement: "mod_wsgi",
        distributions: &["mod-wsgi", "mod-wsgi-standalone"],
        requirement_py2: Some("mod_wsgi<5"),
        wsgi: true,
        asgi: false,
        manual: &[
            "start-server",
            "--log-to-terminal",
            "--startup-log",
            "--port",
            "{port}",
        ],
        // Apache: SIGWINCH is graceful-stop, SIGTERM stops at once.
        stop: Signal::SIGWINCH,
    },
    ServerSpec {
        server: Server::Gunicorn,
        name: "gunicorn",
        aliases: &[],
        executable: "gunicorn",
        requirement: "gunicorn",
        distributions: &["gunicorn"],
        requirement_py2: Some("gunicorn<20"),
        wsgi: true,
        asgi: false,
        manual: &["--bind", "0.0.0.0:{port}", "--access-logfile", "-"],
        stop: Signal::SIGTERM,
    },
    ServerSpec {
        server: Server::Uwsgi,
        name: "uwsgi",
        aliases: &["pyuwsgi"],
        executable: "uwsgi",
        requirement: "uwsgi",
        distributions: &["uwsgi", "pyuwsgi"],
        requirement_py2: Some("uwsgi<2.0.22"),
        wsgi: true,
        asgi: false,
        manual: &[
            "--master",
            "--http-socket",
            ":{port}",
            "--hook-master-start",
            "unix_signal:15 gracefully_kill_them_all",
        ],
        stop: Signal::SIGTERM,
    },
    ServerSpec {
        server: Server::Waitress,
        name: "waitress",
        aliases: &["waitress-serve"],
        executable: "waitress-serve",
        requirement: "waitress",
        distributions: &["waitress"],
        requirement_py2: Some("waitress<2"),
        wsgi: true,
        asgi: false,
        manual: &["--listen=0.0.0.0:{port}"],
        stop: Signal::SIGTERM,
    },
    ServerSpec {
        server: Server::Uvicorn,
        name: "uvicorn",
        aliases: &[],
        executable: "uvicorn",
        requirement: "uvicorn",
        distributions: &["uvicorn"],
        requirement_py2: None,
        wsgi: false,
        asgi: true,
        manual: &["--host", "0.0.0.0", "--port", "{port}"],
        stop: Signal::SIGTERM,
    },
    ServerSpec {
        server: Server::Hypercorn,
        name: "hypercorn",
        aliases: &[],
        executable: "hypercorn",
        requirement: "hypercorn",
        distributions: &["hypercorn"],
        requirement_py2: None,
        wsgi: true,
        asgi: true,
        manual: &["--bind", "0.0.0.0:{port}"],
        stop: Signal::SIGTERM,
    },
    ServerSpec {
        server: Server::Granian,
        name: "granian",
        aliases: &[],
        executable: "granian",
        requirement: "granian",
        distributions: &["granian"],
        requirement_py2: None,
        wsgi: true,
        asgi: true,
        manual: &["--host", "0.0.0.0", "--port", "{port}"],
        stop: Signal::SIGTERM,
    },
];

/// Auto mode's order for WSGI applications: the first is the default (installed by assemble),
/// the others are taken, in this order, when the default is not installed.
pub const AUTO_WSGI: [Server; 6] = [
    Server::ModWsgi,
    Server::Gunicorn,
    Server::Uwsgi,
    Server::Waitress,
    Server::Granian,
    Server::Hypercorn,
];
/// Auto mode's order for ASGI applications (same meaning as [`AUTO_WSGI`]).
pub const AUTO_ASGI: [Server; 3] = [Server::Uvicorn, Server::Hypercorn, Server::Granian];

impl Server {
    /// Every server, in table order.
    pub const ALL: [Self; 7] = [
        Self::ModWsgi,
        Self::Gunicorn,
        Self::Uwsgi,
        Self::Waitress,
        Self::Uvicorn,
        Self::Hypercorn,
        Self::Granian,
    ];

    /// This server's row of [`SERVERS`].
    #[must_use]
    pub fn spec(self) -> &'static ServerSpec {
        SERVERS
            .iter()
            .find(|s| s.server == self)
            .unwrap_or(&SERVERS[0])
    }

    /// The name users write in `APP_SERVER`.
    #[must_use]
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The console script the server's package installs into the virtualenv's `bin/`.
    #[must_use]
    pub fn executable(self) -> &'static str {
        self.spec().executable
    }

    /// The pip requirement that installs it on this Python; `None` when it does not run there.
    #[must_use]
    pub fn requirement(self, python2: bool) -> Option<&'static str> {
        let spec = self.spec();
        if python2 {
            spec.requirement_py2
        } else {
            Some(spec.requirement)
        }
    }

    /// Whether the server can host an application of this interface.
    #[must_use]
    pub fn serves(self, interface: Interface) -> bool {
        match interface {
            Interface::Wsgi => self.spec().wsgi,
            Interface::Asgi => self.spec().asgi,
        }
    }

    /// Parses a name as users write it (`mod_wsgi`, `mod_wsgi-express`, `gunicorn`, ...).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim().to_ascii_lowercase();
        SERVERS
            .iter()
            .find(|s| s.name == value || s.aliases.contains(&value.as_str()))
            .map(|s| s.server)
    }

    /// The names accepted in `APP_SERVER`, for messages and usage.
    #[must_use]
    pub fn valid_names() -> String {
        let mut names = vec!["auto"];
        names.extend(SERVERS.iter().map(|s| s.name));
        names.join(", ")
    }

    /// The servers that can host `interface`, in table order, for messages.
    #[must_use]
    pub fn names_serving(interface: Interface) -> String {
        Self::ALL
            .iter()
            .filter(|s| s.serves(interface))
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The names of the servers that run on Python 2, for messages.
    #[must_use]
    pub fn names_on_python2() -> String {
        SERVERS
            .iter()
            .filter(|s| s.requirement_py2.is_some())
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Auto mode's order for an interface; the first is the default.
    #[must_use]
    pub fn auto_order(interface: Interface) -> &'static [Self] {
        match interface {
            Interface::Wsgi => &AUTO_WSGI,
            Interface::Asgi => &AUTO_ASGI,
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The server the user asked for, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRequest {
    /// `None` is auto.
    pub server: Option<Server>,
    /// Where the choice came from, e.g. `APP_SERVER=gunicorn` or `default`.
    pub source: String,
    /// In auto mode, servers the user chose without `APP_SERVER`, first the strongest: a
    /// gunicorn configuration (`APP_CONFIG`, `gunicorn.conf.py`, `GUNICORN_CMD_ARGS`), then the
    /// servers the app lists in its dependencies ([`users_choices`]).
    pub preferred: Vec<ServerChoice>,
}

/// The servers the user chose without naming one in `APP_SERVER`, as users of the default
/// OpenShift Python image do: a gunicorn configuration means gunicorn (that image serves with
/// gunicorn whenever it is installed), and a server the app lists among its dependencies is
/// the one it wants.
#[must_use]
pub fn users_choices(home: &Path, env: &crate::Env) -> Vec<ServerChoice> {
    let set = |name: &str| env.get(name).is_some();
    let mut choices = Vec::new();
    let gunicorn = |reason: String| ServerChoice {
        server: Server::Gunicorn,
        reason,
    };
    if set("APP_CONFIG") {
        choices.push(gunicorn(
            "auto: APP_CONFIG names a gunicorn configuration".to_owned(),
        ));
    } else if home.join("gunicorn.conf.py").is_file() {
        choices.push(gunicorn("auto: the app has a gunicorn.conf.py".to_owned()));
    } else if set("GUNICORN_CMD_ARGS") {
        choices.push(gunicorn("auto: GUNICORN_CMD_ARGS is set".to_owned()));
    }
    for declared in crate::declared_servers(home) {
        choices.push(ServerChoice {
            server: declared.server,
            reason: format!("auto: {} lists {}", declared.file, declared.server.name()),
        });
    }
    choices
}

/// What assemble's summary and `run` say about the server of an app that starts its own
/// (`app.sh`, `app.py`, a Procfile).
pub const OWN_SERVER: &str = "none: the application starts its own server";

/// The server that serves an application, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerChoice {
    pub server: Server,
    /// Why, e.g. `APP_SERVER=gunicorn`, `auto: the default for WSGI applications`.
    pub reason: String,
}

/// Why no server can serve the application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerPolicyError {
    /// The server asked for cannot host this kind of application.
    #[error("{server} cannot serve an {interface} application")]
    WrongInterface {
        server: Server,
        origin: String,
        interface: Interface,
        app: String,
    },
    /// The server asked for (or the one the app's configuration needs) is not installed.
    #[error("{server} is not installed ({})", .server.executable())]
    NotInstalled { server: Server, origin: String },
    /// Auto mode found no installed server for the interface.
    #[error("no {interface} server is installed")]
    NoneInstalled { interface: Interface },
}

impl ServerPolicyError {
    /// What users read: the same message from `assemble` and `run`.
    #[must_use]
    pub fn message(&self) -> s2i_message::Message {
        use s2i_message::Message;
        match self {
            Self::WrongInterface {
                server,
                origin,
                interface,
                app,
            } => Message::new(format!("{server} cannot serve this {interface} application."))
                .found(format!("Detected: {app}.\n{server} was chosen by {origin}."))
                .fix(format!(
                    "Choose a server for {interface} applications: {}.",
                    Server::names_serving(*interface)
                )),
            Self::NotInstalled { server, origin } => Message::new(format!(
                "The server {server} was chosen but is not installed."
            ))
            .found(format!("{server} was chosen by {origin}."))
            .fix(format!(
                "Add `{}` to requirements.txt (or your project's dependencies) and rebuild, or",
                server.spec().requirement
            ))
            .fix("choose an installed server with APP_SERVER (auto picks one that is installed)."),
            Self::NoneInstalled { interface } => Message::new(format!(
                "No {interface} server is installed to serve the application."
            ))
            .fix(format!(
                "Add {} (the default for {interface} applications) to requirements.txt and rebuild.",
                Server::auto_order(*interface)[0].spec().requirement
            )),
        }
    }
}

/// The server for `app`: the one the user asked for (`request`), the one the app's own
/// configuration needs (a gunicorn configuration naming `wsgi_app`, warpdrive's manual mode), or
/// auto mode's pick for the app's interface: its default when `installed` says so, else the
/// first installed of [`Server::auto_order`]. `None`: the application starts its own server
/// (`app.sh`, `app.py`, a Procfile). `app` is `None` when assemble found nothing to serve yet
/// (a setting run will report, fixed without a rebuild): the request is taken whatever the
/// interface, else auto mode's pick for WSGI.
///
/// `run` passes what is in the virtualenv or on `PATH`; `assemble` passes "everything" (it
/// installs the server this returns), so both name the same server.
///
/// # Errors
/// The requested server cannot serve the app's interface or is not installed, or no server
/// for the interface is installed.
pub fn auto_server(
    app: Option<&App>,
    request: &ServerRequest,
    installed: &dyn Fn(Server) -> bool,
) -> Result<Option<ServerChoice>, ServerPolicyError> {
    let required = |server: Server, source: &str| {
        if installed(server) {
            Ok(Some(ServerChoice {
                server,
                reason: source.to_owned(),
            }))
        } else {
            Err(ServerPolicyError::NotInstalled {
                server,
                origin: source.to_owned(),
            })
        }
    };
    let interface = match app {
        Some(
            App::Shell { .. } | App::Python { .. } | App::Procfile { .. } | App::Framework { .. },
        ) => return Ok(None),
        Some(App::Manual { server }) => return required(*server, &request.source),
        Some(App::GunicornConfig { config }) => {
            let source = format!(
                "{} sets wsgi_app",
                config
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            );
            return required(Server::Gunicorn, &source);
        }
        Some(App::Web(web)) => Some(web.interface),
        None => None,
    };
    let serves = |server: Server| interface.is_none_or(|i| server.serves(i));
    if let Some(server) = request.server {
        if let (false, Some(interface), Some(app)) = (serves(server), interface, app) {
            return Err(ServerPolicyError::WrongInterface {
                server,
                origin: request.source.clone(),
                interface,
                app: app.describe(),
            });
        }
        return required(server, &request.source);
    }
    if let Some(choice) = request
        .preferred
        .iter()
        .find(|c| serves(c.server) && installed(c.server))
    {
        return Ok(Some(choice.clone()));
    }
    let interface = interface.unwrap_or(Interface::Wsgi);
    let order = Server::auto_order(interface);
    let default = order[0];
    order
        .iter()
        .position(|s| installed(*s))
        .map(|i| {
            let server = order[i];
            let reason = if i == 0 {
                format!("auto: the default for {interface} applications")
            } else {
                format!(
                    "auto: {} is not installed; {server} is",
                    default.executable()
                )
            };
            Some(ServerChoice { server, reason })
        })
        .ok_or(ServerPolicyError::NoneInstalled { interface })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::{Target, WebApp};

    #[test]
    fn names_round_trip() {
        for server in Server::ALL {
            assert_eq!(Server::parse(server.name()), Some(server));
            assert_eq!(Server::parse(server.executable()), Some(server));
        }
        assert_eq!(Server::parse("Gunicorn "), Some(Server::Gunicorn));
        assert_eq!(Server::parse("flask"), None);
        assert_eq!(SERVERS.len(), Server::ALL.len());
    }

    #[test]
    fn interfaces_and_python2() {
        assert!(Server::ModWsgi.serves(Interface::Wsgi));
        assert!(!Server::ModWsgi.serves(Interface::Asgi));
        assert!(!Server::Uvicorn.serves(Interface::Wsgi));
        assert!(Server::Granian.serves(Interface::Asgi));
        assert_eq!(Server::Uvicorn.requirement(true), None);
        assert_eq!(Server::Gunicorn.requirement(true), Some("gunicorn<20"));
        for order in [&AUTO_WSGI[..], &AUTO_ASGI[..]] {
            let interface = if order == AUTO_WSGI {
                Interface::Wsgi
            } else {
                Interface::Asgi
            };
            assert!(order.iter().all(|s| s.serves(interface)));
            assert_eq!(
                order.len(),
                Server::ALL.iter().filter(|s| s.serves(interface)).count()
            );
        }
    }

    fn web(interface: Interface) -> App {
        App::Web(WebApp {
            interface,
            target: Target::Module {
                module: "m".into(),
                callable: "app".into(),
            },
            statics: Vec::new(),
            django: None,
        })
    }

    fn auto() -> ServerRequest {
        ServerRequest {
            server: None,
            source: "default".into(),
            preferred: Vec::new(),
        }
    }

    fn pick(app: &App, request: &ServerRequest, installed: &[Server]) -> Option<Server> {
        auto_server(Some(app), request, &|s| installed.contains(&s))
            .expect("a server")
            .map(|c| c.server)
    }

    #[test]
    fn auto_takes_the_default_then_the_first_installed() {
        let all = &Server::ALL[..];
        let wsgi = web(Interface::Wsgi);
        assert_eq!(pick(&wsgi, &auto(), all), Some(Server::ModWsgi));
        assert_eq!(
            pick(&wsgi, &auto(), &[Server::Hypercorn, Server::Granian]),
            Some(Server::Granian)
        );
        let asgi = web(Interface::Asgi);
        assert_eq!(pick(&asgi, &auto(), all), Some(Server::Uvicorn));
        assert_eq!(
            pick(&asgi, &auto(), &[Server::Granian, Server::Hypercorn]),
            Some(Server::Hypercorn)
        );
        assert_eq!(
            auto_server(Some(&asgi), &auto(), &|_| false),
            Err(ServerPolicyError::NoneInstalled {
                interface: Interface::Asgi
            })
        );
    }

    #[test]
    fn requests_and_configurations_win() {
        let wsgi = web(Interface::Wsgi);
        let gunicorn = ServerRequest {
            server: Some(Server::Gunicorn),
            source: "APP_SERVER=gunicorn".into(),
            preferred: Vec::new(),
        };
        let choice = auto_server(Some(&wsgi), &gunicorn, &|_| true)
            .expect("ok")
            .expect("server");
        assert_eq!(choice.server, Server::Gunicorn);
        assert_eq!(choice.reason, "APP_SERVER=gunicorn");
        assert!(matches!(
            auto_server(Some(&wsgi), &gunicorn, &|s| s == Server::ModWsgi),
            Err(ServerPolicyError::NotInstalled { .. })
        ));
        assert!(matches!(
            auto_server(Some(&web(Interface::Asgi)), &gunicorn, &|_| true),
            Err(ServerPolicyError::WrongInterface { .. })
        ));
        // A gunicorn configuration naming wsgi_app means gunicorn, in auto mode too.
        let config = App::GunicornConfig {
            config: PathBuf::from("/src/gunicorn.conf.py"),
        };
        assert_eq!(
            pick(&config, &auto(), &Server::ALL[..]),
            Some(Server::Gunicorn)
        );
        let own = App::Shell {
            script: PathBuf::from("app.sh"),
        };
        assert_eq!(pick(&own, &auto(), &[]), None);
    }

    #[test]
    fn the_users_choices_beat_auto_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path();
        let env = |pairs: &[(&str, &str)]| -> crate::Env {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(users_choices(home, &env(&[])).is_empty());
        std::fs::write(home.join("requirements.txt"), "flask\nwaitress\n").expect("write");
        let request = |pairs: &[(&str, &str)]| ServerRequest {
            preferred: users_choices(home, &env(pairs)),
            ..auto()
        };
        let wsgi = web(Interface::Wsgi);
        let all = &Server::ALL[..];
        let choice = auto_server(Some(&wsgi), &request(&[]), &|_| true)
            .expect("ok")
            .expect("server");
        assert_eq!(choice.server, Server::Waitress);
        assert_eq!(choice.reason, "auto: requirements.txt lists waitress");
        for pairs in [
            &[("APP_CONFIG", "conf.py")][..],
            &[("GUNICORN_CMD_ARGS", "--workers 3")][..],
        ] {
            assert_eq!(
                pick(&wsgi, &request(pairs), all),
                Some(Server::Gunicorn),
                "{pairs:?}"
            );
        }
        std::fs::write(home.join("gunicorn.conf.py"), "bind = ':8085'\n").expect("write");
        let choice = auto_server(Some(&wsgi), &request(&[]), &|_| true)
            .expect("ok")
            .expect("server");
        assert_eq!(choice.reason, "auto: the app has a gunicorn.conf.py");
        // A declared server that cannot serve the interface, or is missing at start, is passed.
        std::fs::remove_file(home.join("gunicorn.conf.py")).expect("rm");
        std::fs::write(home.join("requirements.txt"), "uvicorn\n").expect("write");
        assert_eq!(pick(&wsgi, &request(&[]), all), Some(Server::ModWsgi));
        assert_eq!(
            pick(&web(Interface::Asgi), &request(&[]), all),
            Some(Server::Uvicorn)
        );
        // APP_SERVER names the server: the declarations do not matter.
        let explicit = ServerRequest {
            server: Some(Server::ModWsgi),
            source: "APP_SERVER=mod_wsgi".into(),
            preferred: users_choices(home, &env(&[("APP_CONFIG", "c.py")])),
        };
        assert_eq!(pick(&wsgi, &explicit, all), Some(Server::ModWsgi));
    }
}
