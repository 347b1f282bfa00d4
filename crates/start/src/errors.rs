//! Every message `run` shows when it cannot start the application: a headline, what was found,
//! how to fix it (numbered steps), then the details.

use std::path::PathBuf;

use s2i_detect::{DetectError, Server, Verdict};
use s2i_message::Message;
use s2i_servers::ServerError;

/// Why `run` stopped before starting the application.
#[derive(Debug)]
pub enum RunError {
    Usage(String),
    Facts(s2i_facts::FactsError),
    Detect(DetectError),
    Server(ServerError),
    Passwd(s2i_userdb::ProvisionError),
    Init(String),
    DeployEnv(String),
    Migrate(s2i_release::MigrateError),
    Release(s2i_release::ReleaseError),
    Prepare {
        path: PathBuf,
        error: std::io::Error,
    },
}

fn verdict_lines(verdicts: &[Verdict]) -> Vec<String> {
    verdicts
        .iter()
        .map(|v| {
            if v.why.is_empty() {
                format!("{}: not found", v.rule)
            } else {
                format!("{}: {}", v.rule, v.why)
            }
        })
        .collect()
}

fn paths(list: &[PathBuf]) -> String {
    list.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message for an error.
#[must_use]
pub fn message(error: &RunError) -> Message {
    match error {
        RunError::Usage(text) => Message {
            headline: text.clone(),
            found: Vec::new(),
            fixes: vec![
                "Run `run` to start the application, `run --dry-run` to see what would start, `run --release` for the release phase, `run --check-ready`/`--check-live` for probes, or `run -- COMMAND` to run a command under the init.".into(),
            ],
            details: Vec::new(),
        },
        RunError::Facts(e) => Message {
            headline: "The build record cannot be read.".into(),
            found: vec![e.to_string()],
            fixes: vec!["Rebuild the image (or run `assemble` again in host mode) to rewrite it.".into()],
            details: Vec::new(),
        },
        RunError::Detect(e) => detect_message(e),
        RunError::Server(e) => server_message(e),
        RunError::Passwd(e) => Message {
            headline: "The container's user has no passwd entry and run could not add one.".into(),
            found: vec![e.to_string()],
            fixes: vec![
                "Make /etc/passwd group-writable in the image (chmod g+w /etc/passwd), or".into(),
                "install nss_wrapper (Debian: libnss-wrapper).".into(),
            ],
            details: Vec::new(),
        },
        RunError::Init(e) => Message {
            headline: "The init settings are invalid.".into(),
            found: vec![e.clone()],
            fixes: vec!["Correct or unset the variable named above.".into()],
            details: Vec::new(),
        },
        RunError::DeployEnv(e) => Message {
            headline: "The deploy-env hook failed; the server was not started.".into(),
            found: vec![e.clone()],
            fixes: vec!["Fix .warpdrive/action_hooks/deploy-env (it is sourced by /bin/sh; its output is above).".into()],
            details: Vec::new(),
        },
        RunError::Migrate(e) => Message {
            headline: e.headline().into(),
            found: e.found(),
            fixes: e.fixes(),
            details: Vec::new(),
        },
        RunError::Release(e) => Message {
            headline: "The release phase failed.".into(),
            found: vec![e.to_string()],
            fixes: e.fixes(),
            details: Vec::new(),
        },
        RunError::Prepare { path, error } => Message {
            headline: "A file run needs could not be written.".into(),
            found: vec![format!("{}: {error}", path.display())],
            fixes: vec!["Make $APP_ROOT writable for the container's user (group 0), or /tmp.".into()],
            details: Vec::new(),
        },
    }
}

fn detect_message(e: &DetectError) -> Message {
    match e {
        DetectError::NothingFound { home, verdicts } => Message {
            headline: "Nothing to run was found: no application, script or server configuration.".into(),
            found: {
                let mut found = vec![format!("Looked in {} for, in order:", home.display())];
                found.extend(verdict_lines(verdicts).into_iter().map(|l| format!("  - {l}")));
                found
            },
            fixes: vec![
                "Add a `wsgi.py` with an `application` object at the top of your sources, or".into(),
                "set APP_MODULE=package.module:application (in .s2i/environment), or".into(),
                "add an executable `app.sh` or an `app.py` that starts a server on $PORT, or a Procfile `web:` line.".into(),
                "Django: keep manage.py at the top of the sources (APP_HOME if it is in a subdirectory).".into(),
            ],
            details: vec!["run never falls back to a development server.".into()],
        },
        DetectError::ModeFoundNothing { mode, source, verdicts } => Message {
            headline: format!("Deploy mode `{mode}` found nothing of its kind to run."),
            found: {
                let mut found = vec![format!("The mode comes from {source}. Rules tried:")];
                found.extend(verdict_lines(verdicts).into_iter().map(|l| format!("  - {l}")));
                found
            },
            fixes: vec![
                format!("Add what a `{mode}` deployment needs (see docs/run.md), or"),
                "set the deploy mode to `auto` (WARPDRIVE_DEPLOY_MODE / .warpdrive/deploy_mode).".into(),
            ],
            details: Vec::new(),
        },
        DetectError::UnknownServer { value, source } => Message {
            headline: format!("Unknown server `{value}`."),
            found: vec![format!("It comes from {source}.")],
            fixes: vec![format!("Use one of: {}.", Server::valid_names())],
            details: Vec::new(),
        },
        DetectError::UnknownDeployMode { value, source } => Message {
            headline: format!("Unknown deploy mode `{value}`."),
            found: vec![format!("It comes from {source}.")],
            fixes: vec![format!(
                "Use one of: auto, shell, python, wsgi, django, or a server name ({}).",
                Server::valid_names()
            )],
            details: Vec::new(),
        },
        DetectError::BadAppModule { value, why } => Message {
            headline: format!("APP_MODULE={value:?} is not a module:callable."),
            found: vec![why.clone()],
            fixes: vec![
                "Set APP_MODULE to the import path of the module and the name of the application in it,".into(),
                "e.g. APP_MODULE=myproject.wsgi:application or APP_MODULE=main:app.".into(),
            ],
            details: Vec::new(),
        },
        DetectError::HomeOutsideSource { home, src, source } => Message {
            headline: "The application home is outside the source tree.".into(),
            found: vec![format!("{} ({source}) is not under {}.", home.display(), src.display())],
            fixes: vec!["Give APP_HOME (or .warpdrive/home) as a directory inside your sources, relative to their top, e.g. APP_HOME=web.".into()],
            details: Vec::new(),
        },
        DetectError::HomeMissing { home, source } => Message {
            headline: "The application home does not exist.".into(),
            found: vec![format!("{} ({source}) is not a directory.", home.display())],
            fixes: vec!["Correct APP_HOME (or .warpdrive/home): a directory inside your sources, relative to their top.".into()],
            details: Vec::new(),
        },
        DetectError::ScriptNotExecutable { path, source } => Message {
            headline: format!("{} is not executable.", path.display()),
            found: vec![format!("It was chosen because {source}.")],
            fixes: vec![
                format!("Make it executable and commit that: `chmod +x {0}` and `git update-index --chmod=+x {0}`,", path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())),
                "or remove it so detection goes on to the next rule.".into(),
            ],
            details: Vec::new(),
        },
        DetectError::NamedFileMissing { path, variable } => Message {
            headline: format!("{variable} names a file that does not exist."),
            found: vec![format!("{} is missing.", path.display())],
            fixes: vec![format!("Correct {variable} (relative to the application home) or unset it.")],
            details: Vec::new(),
        },
        DetectError::Read { path, error } => Message {
            headline: "A file of the application could not be read.".into(),
            found: vec![format!("{}: {error}", path.display())],
            fixes: vec!["Make the sources readable by the container's user (group 0).".into()],
            details: Vec::new(),
        },
    }
}

fn server_message(e: &ServerError) -> Message {
    match e {
        ServerError::NotInstalled {
            server,
            source,
            looked_in,
        } => Message {
            headline: format!("The server {server} was chosen but is not installed."),
            found: vec![
                format!("{server} was chosen by {source}."),
                format!("No `{}` in {}.", server.executable(), paths(looked_in)),
            ],
            fixes: vec![
                format!(
                    "Add `{}` to requirements.txt (or your project's dependencies) and rebuild, or",
                    server.requirement(false).unwrap_or(server.name())
                ),
                "choose an installed server with APP_SERVER (auto picks one that is installed)."
                    .into(),
            ],
            details: Vec::new(),
        },
        ServerError::NoServerInstalled {
            interface,
            looked_in,
        } => Message {
            headline: format!("No {interface} server is installed to serve the application."),
            found: vec![format!(
                "Looked for server executables in {}.",
                paths(looked_in)
            )],
            fixes: vec![match interface {
                s2i_detect::Interface::Wsgi => {
                    "Add mod_wsgi (the default) or gunicorn to requirements.txt and rebuild.".into()
                }
                s2i_detect::Interface::Asgi => {
                    "Add uvicorn (the default for ASGI) to requirements.txt and rebuild.".into()
                }
            }],
            details: Vec::new(),
        },
        ServerError::WrongInterface {
            server,
            source,
            interface,
            app,
        } => Message {
            headline: format!("{server} cannot serve this {interface} application."),
            found: vec![
                format!("Detected: {app}."),
                format!("{server} was chosen by {source}."),
            ],
            fixes: vec![format!(
                "Choose a server for {interface} applications: {}.",
                Server::names_serving(*interface)
            )],
            details: Vec::new(),
        },
        ServerError::BadNumber {
            variable,
            value,
            expected,
        } => Message {
            headline: format!("{variable} is not valid."),
            found: vec![format!("{variable}={value:?} is not {expected}.")],
            fixes: vec![format!(
                "Set {variable} to {expected}, or unset it for the default."
            )],
            details: Vec::new(),
        },
        ServerError::ServerArgs { path, why } => Message {
            headline: "The server options file cannot be used.".into(),
            found: vec![format!("{}: {why}", path.display())],
            fixes: vec!["Correct the file: options separated by spaces, quotes balanced.".into()],
            details: Vec::new(),
        },
    }
}

/// The full text for stderr.
#[must_use]
pub fn render(error: &RunError) -> String {
    message(error).render(crate::PREFIX)
}

/// The exit code for an error: 2 for usage, 1 otherwise.
#[must_use]
pub fn exit_code(error: &RunError) -> u8 {
    match error {
        RunError::Usage(_) => 2,
        RunError::Migrate(e) => e.exit_code(),
        RunError::Release(e) => e.exit_code(),
        _ => 1,
    }
}
