//! What was detected: the application and how it must be started.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::frameworks::Framework;
use crate::server::{Interface, Server};

/// How the application is started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum App {
    /// An executable shell script that starts the server itself (`app.sh`, `APP_SCRIPT`).
    Shell { script: PathBuf },
    /// A Python script that starts the server itself (`app.py`, `APP_FILE`).
    Python { script: PathBuf },
    /// A Procfile line (`web:`, or the process type `run TYPE` asked for), run by `/bin/sh`.
    Procfile { process: String, command: String },
    /// A script served by its framework's own server (Streamlit, Gradio).
    Framework {
        framework: Framework,
        script: PathBuf,
    },
    /// A gunicorn configuration file that names the application (`wsgi_app`).
    GunicornConfig { config: PathBuf },
    /// A WSGI or ASGI application hosted by one of the servers.
    Web(WebApp),
    /// warpdrive's manual mode: the server is configured only by `.warpdrive/server_args`.
    Manual { server: Server },
}

/// A WSGI/ASGI application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebApp {
    pub interface: Interface,
    pub target: Target,
    /// URL prefixes served from directories.
    pub statics: Vec<StaticMap>,
    /// Set when the application is a Django project.
    pub django: Option<DjangoApp>,
}

/// Where the application object lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An importable module and the callable in it (`module:callable`).
    Module { module: String, callable: String },
    /// A script file loaded by path (`wsgi.py`, `wsgi/application`) and the callable in it.
    Script { path: PathBuf, callable: String },
    /// A Paste Deploy configuration file.
    Paste { config: PathBuf },
}

impl Target {
    /// Whether the callable is a factory to call once (`create_app()`).
    #[must_use]
    pub fn is_factory(&self) -> bool {
        matches!(self, Self::Module { callable, .. } if callable.ends_with("()"))
    }

    /// `module:callable` when the target is importable.
    #[must_use]
    pub fn import_spec(&self) -> Option<String> {
        match self {
            Self::Module { module, callable } => Some(format!("{module}:{callable}")),
            _ => None,
        }
    }
}

/// A URL prefix served from a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticMap {
    /// Starts and ends with `/`.
    pub url: String,
    pub dir: PathBuf,
}

/// What `run` needs to know about a Django project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DjangoApp {
    /// The settings module to run with (assemble's wrapper when it supplied STATIC_ROOT).
    pub settings_module: String,
    /// `manage.py`, for `migrate`.
    pub manage_py: Option<PathBuf>,
}

impl App {
    /// One line saying what the application is.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Shell { script } => format!("shell script {}", script.display()),
            Self::Python { script } => format!("Python script {}", script.display()),
            Self::Procfile { process, command } => {
                format!("Procfile {process} process `{command}`")
            }
            Self::Framework { framework, script } => {
                format!("{framework} app {}", script.display())
            }
            Self::GunicornConfig { config } => {
                format!("gunicorn configuration {} (wsgi_app)", config.display())
            }
            Self::Manual { server } => format!("manual {server} configuration (server_args)"),
            Self::Web(web) => {
                let what = match &web.target {
                    Target::Module { module, callable } => format!("{module}:{callable}"),
                    Target::Script { path, callable } => {
                        format!("{} ({callable})", path.display())
                    }
                    Target::Paste { config } => format!("Paste configuration {}", config.display()),
                };
                let kind = if web.django.is_some() {
                    format!("Django {} application", web.interface)
                } else {
                    format!("{} application", web.interface)
                };
                format!("{kind} {what}")
            }
        }
    }
}
