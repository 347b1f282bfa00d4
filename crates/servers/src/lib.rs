//! The production servers `run` starts: one module per server builds its command line,
//! environment and stop signal from what detection found.
//!
//! [`launch`] is the single entry point: it picks the server (auto mode or the user's choice),
//! checks it is installed, tunes processes/threads ([`tuning`]) and returns a [`Launch`] that
//! `run` prints (`--dry-run`) or hands to the init.

mod error;
mod frameworks;
mod passthrough;
mod scripts;
pub mod settings;
pub mod tuning;
mod wsgi_wrapper;

mod granian;
mod gunicorn;
mod hypercorn;
mod mod_wsgi;
mod uvicorn;
mod uwsgi;
mod waitress;

use std::path::{Path, PathBuf};

use s2i_detect::{auto_server, App, Detection, Env, Server, ServerPolicyError, WebApp};
pub use s2i_init::Signal;

pub use error::ServerError;
pub use passthrough::{is_service_link, mod_wsgi_ignored, mod_wsgi_options};
pub use settings::Settings;
pub use tuning::Tuning;

/// What `run` needs besides the detection.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// `$APP_ROOT` (the virtualenv).
    pub app_root: &'a Path,
    pub env: &'a Env,
    pub settings: &'a Settings,
    pub tuning: &'a Tuning,
    /// The shape for servers whose threads need what this Python lacks (gunicorn's threaded
    /// worker needs `concurrent.futures`): `Some` when the build record says it cannot be
    /// imported ([`tuning::without_threads`]).
    pub without_threads: Option<&'a Tuning>,
    /// A writable directory for server state (mod_wsgi-express's server root).
    pub runtime_dir: &'a Path,
    /// Where generated Python modules go; put on `PYTHONPATH`.
    pub python_dir: &'a Path,
    /// Time the init gives the server between SIGTERM and SIGKILL; servers get a graceful
    /// timeout a little shorter so they finish on their own.
    pub grace: std::time::Duration,
    /// Account to serve as when `run` is root (`user`, `group`); `None` when not root.
    pub serve_as: Option<(String, String)>,
}

/// The command to start, fully decided.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Set on top of the inherited environment.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// The server, when `run` starts one (not for app.sh / app.py / Procfile).
    pub server: Option<Server>,
    /// Why this server.
    pub server_reason: String,
    /// What SIGTERM from the platform is turned into so the server stops gracefully.
    pub stop: Signal,
    /// Lines explaining choices, for the log and `--dry-run`.
    pub notes: Vec<String>,
    /// The tuning this server was given when it is not the plan's (`Context::tuning`): why, for
    /// the `Tuning:` line.
    pub tuning: Option<String>,
    /// Files to write before starting (generated Python modules).
    pub files: Vec<(PathBuf, String)>,
}

impl Launch {
    /// The command as one shell-quoted line.
    #[must_use]
    pub fn command_line(&self) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.args.iter().cloned());
        shell_words::join(words)
    }
}

/// Finds an executable in the virtualenv's `bin/`, then on `PATH`.
#[must_use]
pub fn find_program(name: &str, app_root: &Path, env: &Env) -> Option<PathBuf> {
    let dirs = search_dirs(app_root, env).into_iter();
    dirs.map(|dir| dir.join(name))
        .find(|p| s2i_env::is_executable(p))
}

/// `PATH` with the virtualenv activated.
fn search_dirs(app_root: &Path, env: &Env) -> Vec<PathBuf> {
    let mut venv = env.clone();
    venv.activate(app_root);
    venv.path()
}

/// Decides the complete command for `detection`.
///
/// # Errors
/// The server is unknown for this app, not installed, or its options cannot be read.
pub fn launch(detection: &Detection, cx: &Context<'_>) -> Result<Launch, ServerError> {
    let chosen = choose(detection, cx)?;
    let mut launch = match (&detection.app, chosen) {
        (App::Shell { script }, _) => scripts::shell(detection, cx, script),
        (App::Python { script }, _) => scripts::python(detection, cx, script),
        (App::Procfile { command, .. }, _) => scripts::procfile(detection, cx, command),
        (App::Framework { framework, script }, _) => {
            frameworks::launch(detection, cx, *framework, script)
        }
        (App::GunicornConfig { config }, Some(chosen)) => {
            let (launch, extra) = opening(detection, cx, chosen)?;
            gunicorn::with_config(cx, config, launch, extra)
        }
        (App::Manual { .. }, Some(chosen)) => {
            let server = chosen.0;
            let (launch, extra) = opening(detection, cx, chosen)?;
            manual(cx, server, launch, extra)
        }
        (App::Web(web), Some(chosen)) => {
            let server = chosen.0;
            let (launch, extra) = opening(detection, cx, chosen)?;
            let start = Start {
                detection,
                cx,
                web,
                launch,
                extra,
            };
            // Each row of the server table (`s2i_detect::SERVERS`) launched by its module.
            let mut launch = match server {
                Server::ModWsgi => mod_wsgi::launch(start)?,
                Server::Gunicorn => gunicorn::launch(start)?,
                Server::Uwsgi => uwsgi::launch(start)?,
                Server::Waitress => waitress::launch(start)?,
                Server::Uvicorn => uvicorn::launch(start)?,
                Server::Hypercorn => hypercorn::launch(start)?,
                Server::Granian => granian::launch(start)?,
            };
            if let Some(django) = &web.django {
                launch.env.push((
                    "DJANGO_SETTINGS_MODULE".into(),
                    django.settings_module.clone(),
                ));
            }
            launch
        }
        (_, None) => {
            return Err(ServerError::NoServerInstalled {
                interface: s2i_detect::Interface::Wsgi,
                looked_in: search_dirs(cx.app_root, cx.env),
            })
        }
    };
    let mut env = common_env(detection, cx);
    env.append(&mut launch.env);
    launch.env = env;
    Ok(launch)
}

/// The environment every start gets: the virtualenv first on `PATH`, the home and the generated
/// modules on `PYTHONPATH`, unbuffered output, `PORT`.
fn common_env(detection: &Detection, cx: &Context<'_>) -> Vec<(String, String)> {
    let mut venv = cx.env.clone();
    venv.activate(cx.app_root);
    let mut pythonpath = vec![detection.home.display().to_string()];
    pythonpath.extend(python_dirs(cx).iter().map(|d| d.display().to_string()));
    if let Some(existing) = cx.env.get("PYTHONPATH") {
        pythonpath.push(existing.to_owned());
    }
    vec![
        (
            "PATH".into(),
            venv.get("PATH").unwrap_or_default().to_owned(),
        ),
        ("VIRTUAL_ENV".into(), cx.app_root.display().to_string()),
        ("PYTHONPATH".into(), pythonpath.join(":")),
        ("PYTHONUNBUFFERED".into(), "1".into()),
        ("PORT".into(), cx.settings.port.to_string()),
    ]
}

/// Directories of generated modules: where `run` writes its own, and assemble's
/// `$APP_ROOT/.python-s2i/python` (wrapper settings modules) when that is another directory.
pub(crate) fn python_dirs(cx: &Context<'_>) -> Vec<PathBuf> {
    let mut dirs = vec![cx.python_dir.to_path_buf()];
    let assembled = s2i_facts::Layout::new(cx.app_root).python();
    if assembled != cx.python_dir && assembled.is_dir() {
        dirs.push(assembled);
    }
    dirs
}

/// The server [`s2i_detect::auto_server`] picks among those installed (in the virtualenv or on
/// `PATH`), its executable, and why (`server (reason)`); `None` for apps that start their own.
fn choose(
    detection: &Detection,
    cx: &Context<'_>,
) -> Result<Option<(Server, PathBuf, String)>, ServerError> {
    let installed = |s: Server| find_program(s.executable(), cx.app_root, cx.env).is_some();
    let choice = auto_server(Some(&detection.app), &detection.server, &installed).map_err(|e| {
        let looked_in = search_dirs(cx.app_root, cx.env);
        match e {
            ServerPolicyError::NotInstalled { server, origin } => ServerError::NotInstalled {
                server,
                origin,
                looked_in,
            },
            ServerPolicyError::NoneInstalled { interface } => ServerError::NoServerInstalled {
                interface,
                looked_in,
            },
            wrong @ ServerPolicyError::WrongInterface { .. } => ServerError::Policy(wrong),
        }
    })?;
    let Some(choice) = choice else {
        return Ok(None);
    };
    let program =
        find_program(choice.server.executable(), cx.app_root, cx.env).ok_or_else(|| {
            ServerError::NotInstalled {
                server: choice.server,
                origin: choice.reason.clone(),
                looked_in: search_dirs(cx.app_root, cx.env),
            }
        })?;
    let reason = format!("{} ({})", choice.server, choice.reason);
    Ok(Some((choice.server, program, reason)))
}

/// warpdrive's manual mode: port and logging defaults, the rest from `server_args` (`extra`).
fn manual(cx: &Context<'_>, server: Server, mut launch: Launch, extra: Vec<String>) -> Launch {
    let port = cx.settings.port.to_string();
    let manual = server.spec().manual.iter();
    launch.args = manual.map(|a| a.replace("{port}", &port)).collect();
    launch
        .notes
        .push("manual mode: the application is configured by .warpdrive/server_args".into());
    if server == Server::ModWsgi {
        launch.args.extend([
            "--server-root".into(),
            mod_wsgi::server_root(cx).display().to_string(),
        ]);
        launch.args.extend(mod_wsgi::user_args(cx, &[]));
        launch.args.extend(mod_wsgi_options(cx.env));
        launch.notes.extend(mod_wsgi_ignored(cx.env));
    }
    launch.args.extend(extra);
    launch
}

/// Seconds a server may spend finishing requests after the stop signal: the init's grace
/// period minus two seconds for the server's own exit, at least one.
pub(crate) fn graceful_seconds(cx: &Context<'_>) -> String {
    cx.grace.as_secs().saturating_sub(2).max(1).to_string()
}

/// What one server's module is given to launch it.
pub(crate) struct Start<'a> {
    pub detection: &'a Detection,
    pub cx: &'a Context<'a>,
    pub web: &'a WebApp,
    /// The chosen server's command, no arguments yet, with the reason it was chosen.
    pub launch: Launch,
    /// What `.warpdrive/server_args` adds for this server (the last arguments).
    pub extra: Vec<String>,
}

/// The start every server's launch builds on: the base command of the chosen server (from
/// `choose`) and what `.warpdrive/server_args` adds for it.
fn opening(
    detection: &Detection,
    cx: &Context<'_>,
    (server, program, reason): (Server, PathBuf, String),
) -> Result<(Launch, Vec<String>), ServerError> {
    let extra = passthrough::server_args(&detection.src, server, cx.env)?;
    let launch = Launch {
        program,
        args: Vec::new(),
        env: Vec::new(),
        cwd: detection.home.clone(),
        server: Some(server),
        server_reason: reason,
        stop: server.spec().stop,
        notes: Vec::new(),
        tuning: None,
        files: Vec::new(),
    };
    Ok((launch, extra))
}

/// For servers that take a factory as `--factory module:create_app` (uvicorn, granian): the
/// target without `()`, after the flag. Other targets unchanged.
pub(crate) fn factory_flag(target: String, args: &mut Vec<String>) -> String {
    match target.strip_suffix("()") {
        Some(spec) => {
            args.push("--factory".into());
            spec.to_owned()
        }
        None => target,
    }
}

/// `module:callable` for an ASGI server (`module:create_app()` for a factory); static files
/// are left to the application.
pub(crate) fn asgi_target(web: &WebApp, detection: &Detection, launch: &mut Launch) -> String {
    for s in &web.statics {
        launch.notes.push(format!(
            "static files: {} is not served by the ASGI server; serve it from the application (e.g. WhiteNoise)",
            s.url
        ));
    }
    wsgi_wrapper::importable(web, &detection.home).unwrap_or_else(|| match &web.target {
        s2i_detect::Target::Module { module, callable } => format!("{module}:{callable}"),
        s2i_detect::Target::Script { path, callable } => format!(
            "{}:{callable}",
            path.file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
        ),
        other => other.import_spec().unwrap_or_default(),
    })
}
