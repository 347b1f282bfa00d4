//! Every message `run` shows when it cannot start the application: a headline, what was found,
//! how to fix it (numbered steps), then the details.

use std::path::PathBuf;

use s2i_detect::{DetectError, ServerPolicyError};
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
    /// A refused variable, or an environment file that cannot be read.
    Env(s2i_env::EnvError),
    DeployEnv(String),
    Migrate(s2i_release::MigrateError),
    Release(s2i_release::ReleaseError),
    Prepare {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A stop signal (TERM, INT) came before the server was started: it is not started, and
    /// `run` exits with `code` (128+N, or 137 after the grace period).
    Stopped {
        signal: String,
        code: u8,
    },
    /// The init could not take over the signals (exit 125).
    Signals(String),
    /// The private directory run writes in when `$APP_ROOT/.python-s2i` is not writable cannot
    /// be used.
    StartDir(s2i_facts::StartDirError),
    /// `run --sbom`: the bill of materials assemble writes cannot be read.
    Sbom {
        path: PathBuf,
        error: std::io::Error,
    },
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
        RunError::Usage(text) => Message::of(
            text.clone(),
            Vec::new(),
            vec![
                "Run `run` to start the application, `run --dry-run` to see what would start, `run --release` for the release phase, `run --check-ready`/`--check-live` for probes, or `run -- COMMAND` to run a command under the init.".into(),
            ],
        ),
        RunError::Facts(e) => Message::of(
            "The build record cannot be read.",
            vec![e.to_string()],
            vec!["Rebuild the image (or run `assemble` again in host mode) to rewrite it.".into()],
        ),
        RunError::Detect(e) => e.message(),
        RunError::Server(e) => server_message(e),
        RunError::Passwd(e @ s2i_userdb::ProvisionError::InvalidField { .. }) => Message::of(
            "run cannot add a passwd entry for the container's user: a value would corrupt /etc/passwd.",
            vec![e.to_string()],
            vec![
                "Use an APP_ROOT (and APP_HOME) without `:` or newlines, e.g. APP_ROOT=/opt/app-root.".into(),
                "Or run the container as a user that has a passwd entry already.".into(),
            ],
        ),
        RunError::Passwd(e) => Message::of(
            "The container's user has no passwd entry and run could not add one.",
            vec![e.to_string()],
            vec![
                "Make /etc/passwd group-writable in the image (chmod g+w /etc/passwd), or".into(),
                "install nss_wrapper (Debian: libnss-wrapper).".into(),
            ],
        ),
        RunError::Init(e) => Message::of(
            "The init settings are invalid.",
            vec![e.clone()],
            vec!["Correct or unset the variable named above.".into()],
        ),
        RunError::Env(e) => Message::of(
            match e {
                s2i_env::EnvError::Refused { name, .. } => {
                    format!("{name} is set, which would break the application's virtualenv.")
                }
                _ => "An environment file cannot be read.".into(),
            },
            vec![e.to_string()],
            vec!["Remove or correct it where it is set (named above), then start again.".into()],
        ),
        RunError::Stopped { signal, code } => Message::new(format!("{signal} received before the server started: it was not started (exit {code}).")),
        RunError::Signals(e) => Message::new(format!("run could not take over signal handling: {e}")),
        RunError::DeployEnv(e) => Message::of(
            "The deploy-env hook failed; the server was not started.",
            vec![e.clone()],
            vec![
                "Fix .warpdrive/action_hooks/deploy-env (it is sourced by /bin/sh; its output is above).".into(),
                "It is sourced: end it with `return`, never `exit` (an `exit` ends the shell that reads its variables, and the server would start without them).".into(),
            ],
        ),
        RunError::Migrate(e) => Message::of(
            e.headline(),
            vec![e.to_string()],
            e.fixes(),
        ),
        RunError::Release(e) => Message::of(
            "The release phase failed.",
            vec![e.to_string()],
            e.fixes(),
        ),
        RunError::Sbom { path, error } => Message::of(
            "This image has no readable bill of materials.",
            vec![format!("{}: {error}", path.display())],
            vec!["Rebuild the image with this builder: assemble writes it on every build (images built before it existed have none).".into()],
        ),
        RunError::Prepare { path, error } => Message::of(
            "A file run needs could not be written.",
            vec![format!("{}: {error}", path.display())],
            vec!["Make $APP_ROOT writable for the container's user (group 0), or /tmp.".into()],
        ),
        RunError::StartDir(e) => Message {
            headline: "run's private directory cannot be used: $APP_ROOT/.python-s2i is not writable, and the fallback is not private to this user.".into(),
            found: vec![e.to_string()],
            fixes: vec![
                format!("Remove {} (or have its owner remove it): run makes it again, owned by this user, mode 0700.", e.path().display()),
                "Or make $APP_ROOT/.python-s2i writable for this user (in a container: group 0 writable, as assemble leaves it), or point TMPDIR at a directory of this user's.".into(),
            ],
            details: vec!["run puts this directory on PYTHONPATH and writes its state there: a directory another user can write in would let that user run code as the application.".into()],
        },
    }
}

fn server_message(e: &ServerError) -> Message {
    match e {
        ServerError::NotInstalled {
            server,
            origin,
            looked_in,
        } => ServerPolicyError::NotInstalled {
            server: *server,
            origin: origin.clone(),
        }
        .message()
        .found(format!(
            "No `{}` in {}.",
            server.executable(),
            paths(looked_in)
        )),
        ServerError::NoServerInstalled {
            interface,
            looked_in,
        } => ServerPolicyError::NoneInstalled {
            interface: *interface,
        }
        .message()
        .found(format!(
            "Looked for server executables in {}.",
            paths(looked_in)
        )),
        ServerError::Policy(e) => e.message(),
        ServerError::BadNumber {
            variable,
            value,
            expected,
        } => Message::of(
            format!("{variable} is not valid."),
            vec![format!("{variable}={value:?} is not {expected}.")],
            vec![format!(
                "Set {variable} to {expected}, or unset it for the default."
            )],
        ),
        ServerError::ServerArgs { path, why } => Message::of(
            "The server options file cannot be used.",
            vec![format!("{}: {why}", path.display())],
            vec!["Correct the file: options separated by spaces, quotes balanced.".into()],
        ),
    }
}

/// The full text for stderr.
#[must_use]
pub fn render(error: &RunError) -> String {
    match error {
        // Not a failure: the init already said which signal stopped what.
        RunError::Stopped { .. } => String::new(),
        RunError::Signals(e) => format!("{}{e}\n", crate::PREFIX),
        _ => message(error).render(crate::PREFIX),
    }
}

/// The exit code for an error: 2 for usage, 1 otherwise.
#[must_use]
pub fn exit_code(error: &RunError) -> u8 {
    match error {
        RunError::Usage(_) => 2,
        RunError::Stopped { code, .. } => *code,
        RunError::Signals(_) => s2i_init::EXIT_INIT_FAILED,
        RunError::Migrate(e) => e.exit_code(),
        RunError::Release(e) => e.exit_code(),
        _ => 1,
    }
}
