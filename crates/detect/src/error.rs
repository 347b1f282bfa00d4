//! Why detection stopped.

use std::io;
use std::path::PathBuf;

use crate::Verdict;

/// Detection could not decide how to start the application.
#[derive(Debug)]
pub enum DetectError {
    /// No rule matched; every rule tried, with its verdict.
    NothingFound {
        home: PathBuf,
        verdicts: Vec<Verdict>,
    },
    /// A forced deploy mode found nothing of its kind.
    ModeFoundNothing {
        mode: String,
        source: String,
        verdicts: Vec<Verdict>,
    },
    /// `APP_SERVER` (or warpdrive's server type) names no known server.
    UnknownServer { value: String, source: String },
    /// warpdrive's deploy mode names no known mode.
    UnknownDeployMode { value: String, source: String },
    /// `APP_MODULE` is not `module:callable`.
    BadAppModule { value: String, why: String },
    /// The application home is not inside the source tree.
    HomeOutsideSource {
        home: PathBuf,
        src: PathBuf,
        source: String,
    },
    /// The application home does not exist.
    HomeMissing { home: PathBuf, source: String },
    /// A script that must start the app is not executable.
    ScriptNotExecutable { path: PathBuf, source: String },
    /// A file named by a variable does not exist.
    NamedFileMissing { path: PathBuf, variable: String },
    /// A file could not be read.
    Read { path: PathBuf, error: io::Error },
}

impl std::fmt::Display for DetectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NothingFound { home, .. } => {
                write!(f, "nothing to run found in {}", home.display())
            }
            Self::ModeFoundNothing { mode, source, .. } => {
                write!(f, "deploy mode {mode} ({source}) found nothing to run")
            }
            Self::UnknownServer { value, source } => {
                write!(f, "unknown server {value:?} ({source})")
            }
            Self::UnknownDeployMode { value, source } => {
                write!(f, "unknown deploy mode {value:?} ({source})")
            }
            Self::BadAppModule { value, why } => write!(f, "APP_MODULE={value:?}: {why}"),
            Self::HomeOutsideSource { home, src, source } => write!(
                f,
                "application home {} ({source}) is outside the source tree {}",
                home.display(),
                src.display()
            ),
            Self::HomeMissing { home, source } => {
                write!(
                    f,
                    "application home {} ({source}) does not exist",
                    home.display()
                )
            }
            Self::ScriptNotExecutable { path, source } => {
                write!(f, "{} ({source}) is not executable", path.display())
            }
            Self::NamedFileMissing { path, variable } => {
                write!(
                    f,
                    "{variable} names {}, which does not exist",
                    path.display()
                )
            }
            Self::Read { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for DetectError {}
