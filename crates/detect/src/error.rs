//! Why detection stopped.

use std::io;
use std::path::PathBuf;

use s2i_message::Message;

use crate::{Server, Verdict};

/// Detection could not decide how to start the application.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// No rule matched; every rule tried, with its verdict.
    #[error("nothing to run found in {home}")]
    NothingFound {
        home: PathBuf,
        verdicts: Vec<Verdict>,
    },
    /// A forced deploy mode found nothing of its kind.
    #[error("deploy mode {mode} ({origin}) found nothing to run")]
    ModeFoundNothing {
        mode: String,
        origin: String,
        verdicts: Vec<Verdict>,
    },
    /// `APP_SERVER` (or warpdrive's server type) names no known server.
    #[error("unknown server {value:?} ({origin})")]
    UnknownServer { value: String, origin: String },
    /// warpdrive's deploy mode names no known mode.
    #[error("unknown deploy mode {value:?} ({origin})")]
    UnknownDeployMode { value: String, origin: String },
    /// `APP_MODULE` is not `module:callable`.
    #[error("APP_MODULE={value:?}: {why}")]
    BadAppModule { value: String, why: String },
    /// The application home is not inside the source tree.
    #[error("application home {home} ({origin}) is outside the source tree {src}")]
    HomeOutsideSource {
        home: PathBuf,
        src: PathBuf,
        origin: String,
    },
    /// The application home does not exist.
    #[error("application home {home} ({origin}) does not exist")]
    HomeMissing { home: PathBuf, origin: String },
    /// A script that must start the app is not executable.
    #[error("{path} ({origin}) is not executable")]
    ScriptNotExecutable { path: PathBuf, origin: String },
    /// A file named by a variable does not exist.
    #[error("{variable} names {path}, which does not exist")]
    NamedFileMissing { path: PathBuf, variable: String },
    /// A file could not be read.
    #[error("{path}: {error}")]
    Read { path: PathBuf, error: io::Error },
    /// Several members of a uv workspace hold a web app and nothing chose one.
    #[error("{} members of the uv workspace {root} hold a web app", .members.len())]
    WorkspaceMembers { root: PathBuf, members: Vec<String> },
    /// `run TYPE` / `APP_PROCESS_TYPE` is not a process type name.
    #[error("{name:?} ({origin}) is not a process type name")]
    BadProcessType { name: String, origin: String },
    /// The process type asked for is not a line of the Procfile; `types` is `None` when there
    /// is no Procfile.
    #[error("no process type `{name}` in {procfile}")]
    UnknownProcessType {
        name: String,
        origin: String,
        procfile: PathBuf,
        types: Option<Vec<String>>,
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

/// `intro`, then each of `items` as a line of a list under it.
fn listed(intro: String, items: impl IntoIterator<Item = String>) -> Vec<String> {
    let items = items.into_iter().map(|item| format!("  - {item}"));
    std::iter::once(intro).chain(items).collect()
}

impl DetectError {
    /// What users read: the same message from `assemble` and `run`.
    #[must_use]
    pub fn message(&self) -> Message {
        let e = self;
        match e {
        DetectError::NothingFound { home, verdicts } => Message {
            headline: "Nothing to run was found: no application, script or server configuration.".into(),
            found: listed(format!("Looked in {} for, in order:", home.display()), verdict_lines(verdicts)),
            fixes: vec![
                "Add a `wsgi.py` with an `application` object at the top of your sources, or".into(),
                "set APP_MODULE=package.module:application (in .s2i/environment), or".into(),
                "add an executable `app.sh` or an `app.py` that starts a server on $PORT, or a Procfile `web:` line.".into(),
                "Django: keep manage.py at the top of the sources (APP_HOME if it is in a subdirectory).".into(),
            ],
            details: vec!["run never falls back to a development server.".into()],
        },
        DetectError::ModeFoundNothing { mode, origin, verdicts } => Message::of(
            format!("Deploy mode `{mode}` found nothing of its kind to run."),
            listed(format!("The mode comes from {origin}. Rules tried:"), verdict_lines(verdicts)),
            vec![
                format!("Add what a `{mode}` deployment needs (see docs/run.md), or"),
                "set the deploy mode to `auto` (WARPDRIVE_DEPLOY_MODE / .warpdrive/deploy_mode).".into(),
            ],
        ),
        DetectError::UnknownServer { value, origin } => Message::of(
            format!("Unknown server `{value}`."),
            vec![format!("It comes from {origin}.")],
            vec![format!("Use one of: {}.", Server::valid_names())],
        ),
        DetectError::UnknownDeployMode { value, origin } => Message::of(
            format!("Unknown deploy mode `{value}`."),
            vec![format!("It comes from {origin}.")],
            vec![format!(
                "Use one of: auto, shell, python, wsgi, django, or a server name ({}).",
                Server::valid_names()
            )],
        ),
        DetectError::BadAppModule { value, why } => Message::of(
            format!("APP_MODULE={value:?} is not a module:callable."),
            vec![why.clone()],
            vec![
                "Set APP_MODULE to the import path of the module and the name of the application in it,".into(),
                "e.g. APP_MODULE=myproject.wsgi:application or APP_MODULE=main:app.".into(),
            ],
        ),
        DetectError::HomeOutsideSource { home, src, origin } => Message::of(
            "The application home is outside the source tree.",
            vec![format!("{} ({origin}) is not under {}.", home.display(), src.display())],
            vec!["Give APP_HOME (or .warpdrive/home) as a directory inside your sources, relative to their top, e.g. APP_HOME=web.".into()],
        ),
        DetectError::HomeMissing { home, origin } => Message::of(
            "The application home does not exist.",
            vec![format!("{} ({origin}) is not a directory.", home.display())],
            vec!["Correct APP_HOME (or .warpdrive/home): a directory inside your sources, relative to their top.".into()],
        ),
        DetectError::ScriptNotExecutable { path, origin } => Message::of(
            format!("{} is not executable.", path.display()),
            vec![format!("It was chosen because {origin}.")],
            vec![
                format!("Make it executable and commit that: `chmod +x {0}` and `git update-index --chmod=+x {0}`,", path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())),
                "or remove it so detection goes on to the next rule.".into(),
            ],
        ),
        DetectError::NamedFileMissing { path, variable } => Message::of(
            format!("{variable} names a file that does not exist."),
            vec![format!("{} is missing.", path.display())],
            vec![format!("Correct {variable} (relative to the application home) or unset it.")],
        ),
        DetectError::Read { path, error } => Message::of(
            "A file of the application could not be read.",
            vec![format!("{}: {error}", path.display())],
            vec!["Make the sources readable by the container's user (group 0).".into()],
        ),
        DetectError::WorkspaceMembers { root, members } => Message::of(
            "Several members of the uv workspace hold a web app: which one to serve is not clear.",
            listed(format!("The workspace at {} has these members with an application:", root.display()), members.iter().cloned()),
            vec![format!(
                "Set APP_HOME to the member to serve (in .s2i/environment or the build's environment), e.g. APP_HOME={}; its dependencies are installed from the workspace's uv.lock.",
                members.first().and_then(|m| m.split(':').next()).unwrap_or("backend")
            )],
        ),
        DetectError::BadProcessType { name, origin } => Message::of(
            format!("{name:?} is not a process type."),
            vec![format!("It comes from {origin}.")],
            vec!["Name a type of your Procfile (letters, digits, `_` and `-`), e.g. `run worker` or APP_PROCESS_TYPE=worker.".into()],
        ),
        DetectError::UnknownProcessType { name, origin, procfile, types } => Message::of(
            format!("There is no process type `{name}` to run."),
            vec![
                format!("It was asked for by {origin}."),
                match types {
                    Some(types) if !types.is_empty() => format!(
                        "{} has these process types: {}.",
                        procfile.display(),
                        types.join(", ")
                    ),
                    Some(_) => format!("{} has no `TYPE: COMMAND` line.", procfile.display()),
                    None => format!("There is no {}.", procfile.display()),
                },
            ],
            vec![
                format!("Add a line `{name}: COMMAND` to the Procfile at the top of the application home (e.g. `worker: celery -A proj worker --loglevel=info`), or"),
                match types {
                    Some(types) if !types.is_empty() => format!(
                        "start one of its types: {}.",
                        types.iter().map(|t| format!("`run {t}`")).collect::<Vec<_>>().join(", ")
                    ),
                    _ => "start the web process: `run` (or `run web`).".into(),
                },
            ],
        ),
    }
    }
}
