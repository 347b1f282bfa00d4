//! Every message `run` shows when it cannot start the application: a headline, what was found,
//! how to fix it (numbered steps), then the details.

use std::fmt::Write as _;
use std::path::PathBuf;

use s2i_detect::{DetectError, Server, Verdict};
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
    Migrate {
        command: String,
        status: String,
    },
    Prepare {
        path: PathBuf,
        error: std::io::Error,
    },
}

struct Message {
    headline: String,
    found: Vec<String>,
    fix: Vec<String>,
    details: Option<String>,
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

fn message(error: &RunError) -> Message {
    match error {
        RunError::Usage(text) => Message {
            headline: text.clone(),
            found: Vec::new(),
            fix: vec![
                "Run `run` to start the application, `run --dry-run` to see what would start, or `run -- COMMAND` to run a command under the init.".into(),
            ],
            details: None,
        },
        RunError::Facts(e) => Message {
            headline: "The build record cannot be read.".into(),
            found: vec![e.to_string()],
            fix: vec!["Rebuild the image (or run `assemble` again in host mode) to rewrite it.".into()],
            details: None,
        },
        RunError::Detect(e) => detect_message(e),
        RunError::Server(e) => server_message(e),
        RunError::Passwd(e @ s2i_userdb::ProvisionError::InvalidField { .. }) => Message {
            headline: "run cannot add a passwd entry for the container's user: a value would corrupt /etc/passwd.".into(),
            found: vec![e.to_string()],
            fix: vec![
                "Use an APP_ROOT (and APP_HOME) without `:` or newlines, e.g. APP_ROOT=/opt/app-root.".into(),
                "Or run the container as a user that has a passwd entry already.".into(),
            ],
            details: None,
        },
        RunError::Passwd(e) => Message {
            headline: "The container's user has no passwd entry and run could not add one.".into(),
            found: vec![e.to_string()],
            fix: vec![
                "Make /etc/passwd group-writable in the image (chmod g+w /etc/passwd), or".into(),
                "install nss_wrapper (Debian: libnss-wrapper).".into(),
            ],
            details: None,
        },
        RunError::Init(e) => Message {
            headline: "The init settings are invalid.".into(),
            found: vec![e.clone()],
            fix: vec!["Correct or unset the variable named above.".into()],
            details: None,
        },
        RunError::DeployEnv(e) => Message {
            headline: "The deploy-env hook failed; the server was not started.".into(),
            found: vec![e.clone()],
            fix: vec!["Fix .warpdrive/action_hooks/deploy-env (it is sourced by /bin/sh; its output is above).".into()],
            details: None,
        },
        RunError::Migrate { command, status } => Message {
            headline: "Django's database migration failed; the server was not started.".into(),
            found: vec![format!("`{command}` {status}; its output is above.")],
            fix: vec![
                "Fix the migration or the database settings shown in the output above, or".into(),
                "set DISABLE_MIGRATE=1 and migrate in a deployment hook or a Job (recommended with several replicas).".into(),
            ],
            details: None,
        },
        RunError::Prepare { path, error } => Message {
            headline: "A file run needs could not be written.".into(),
            found: vec![format!("{}: {error}", path.display())],
            fix: vec!["Make $APP_ROOT writable for the container's user (group 0), or /tmp.".into()],
            details: None,
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
            fix: vec![
                "Add a `wsgi.py` with an `application` object at the top of your sources, or".into(),
                "set APP_MODULE=package.module:application (in .s2i/environment), or".into(),
                "add an executable `app.sh` or an `app.py` that starts a server on $PORT, or a Procfile `web:` line.".into(),
                "Django: keep manage.py at the top of the sources (APP_HOME if it is in a subdirectory).".into(),
            ],
            details: Some("run never falls back to a development server.".into()),
        },
        DetectError::ModeFoundNothing { mode, source, verdicts } => Message {
            headline: format!("Deploy mode `{mode}` found nothing of its kind to run."),
            found: {
                let mut found = vec![format!("The mode comes from {source}. Rules tried:")];
                found.extend(verdict_lines(verdicts).into_iter().map(|l| format!("  - {l}")));
                found
            },
            fix: vec![
                format!("Add what a `{mode}` deployment needs (see docs/run.md), or"),
                "set the deploy mode to `auto` (WARPDRIVE_DEPLOY_MODE / .warpdrive/deploy_mode).".into(),
            ],
            details: None,
        },
        DetectError::UnknownServer { value, source } => Message {
            headline: format!("Unknown server `{value}`."),
            found: vec![format!("It comes from {source}.")],
            fix: vec![format!("Use one of: {}.", Server::valid_names())],
            details: None,
        },
        DetectError::UnknownDeployMode { value, source } => Message {
            headline: format!("Unknown deploy mode `{value}`."),
            found: vec![format!("It comes from {source}.")],
            fix: vec![format!(
                "Use one of: auto, shell, python, wsgi, django, or a server name ({}).",
                Server::valid_names()
            )],
            details: None,
        },
        DetectError::BadAppModule { value, why } => Message {
            headline: format!("APP_MODULE={value:?} is not a module:callable."),
            found: vec![why.clone()],
            fix: vec![
                "Set APP_MODULE to the import path of the module and the name of the application in it,".into(),
                "e.g. APP_MODULE=myproject.wsgi:application or APP_MODULE=main:app.".into(),
            ],
            details: None,
        },
        DetectError::HomeOutsideSource { home, src, source } => Message {
            headline: "The application home is outside the source tree.".into(),
            found: vec![format!("{} ({source}) is not under {}.", home.display(), src.display())],
            fix: vec!["Give APP_HOME (or .warpdrive/home) as a directory inside your sources, relative to their top, e.g. APP_HOME=web.".into()],
            details: None,
        },
        DetectError::HomeMissing { home, source } => Message {
            headline: "The application home does not exist.".into(),
            found: vec![format!("{} ({source}) is not a directory.", home.display())],
            fix: vec!["Correct APP_HOME (or .warpdrive/home): a directory inside your sources, relative to their top.".into()],
            details: None,
        },
        DetectError::ScriptNotExecutable { path, source } => Message {
            headline: format!("{} is not executable.", path.display()),
            found: vec![format!("It was chosen because {source}.")],
            fix: vec![
                format!("Make it executable and commit that: `chmod +x {0}` and `git update-index --chmod=+x {0}`,", path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())),
                "or remove it so detection goes on to the next rule.".into(),
            ],
            details: None,
        },
        DetectError::NamedFileMissing { path, variable } => Message {
            headline: format!("{variable} names a file that does not exist."),
            found: vec![format!("{} is missing.", path.display())],
            fix: vec![format!("Correct {variable} (relative to the application home) or unset it.")],
            details: None,
        },
        DetectError::Read { path, error } => Message {
            headline: "A file of the application could not be read.".into(),
            found: vec![format!("{}: {error}", path.display())],
            fix: vec!["Make the sources readable by the container's user (group 0).".into()],
            details: None,
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
            fix: vec![
                format!(
                    "Add `{}` to requirements.txt (or your project's dependencies) and rebuild, or",
                    server.requirement()
                ),
                "choose an installed server with APP_SERVER (auto picks one that is installed)."
                    .into(),
            ],
            details: None,
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
            fix: vec![match interface {
                s2i_detect::Interface::Wsgi => {
                    "Add mod_wsgi (the default) or gunicorn to requirements.txt and rebuild.".into()
                }
                s2i_detect::Interface::Asgi => {
                    "Add uvicorn (the default for ASGI) to requirements.txt and rebuild.".into()
                }
            }],
            details: None,
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
            fix: vec![format!(
                "Choose a server for {interface} applications: {}.",
                Server::ALL
                    .iter()
                    .filter(|s| s.serves(*interface))
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            details: None,
        },
        ServerError::BadNumber {
            variable,
            value,
            expected,
        } => Message {
            headline: format!("{variable} is not valid."),
            found: vec![format!("{variable}={value:?} is not {expected}.")],
            fix: vec![format!(
                "Set {variable} to {expected}, or unset it for the default."
            )],
            details: None,
        },
        ServerError::ServerArgs { path, why } => Message {
            headline: "The server options file cannot be used.".into(),
            found: vec![format!("{}: {why}", path.display())],
            fix: vec!["Correct the file: options separated by spaces, quotes balanced.".into()],
            details: None,
        },
    }
}

/// The full text for stderr.
pub fn render(error: &RunError) -> String {
    let m = message(error);
    let mut out = format!("run: error: {}\n", m.headline);
    for line in &m.found {
        let _ = writeln!(out, "  {line}");
    }
    if !m.fix.is_empty() {
        out.push_str("How to fix:\n");
        for (i, step) in m.fix.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", i + 1);
        }
    }
    if let Some(details) = m.details {
        let _ = writeln!(out, "Details: {details}");
    }
    out
}

/// The exit code for an error: 2 for usage, 1 otherwise.
pub fn exit_code(error: &RunError) -> u8 {
    match error {
        RunError::Usage(_) => 2,
        _ => 1,
    }
}
