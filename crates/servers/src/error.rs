//! Why a server could not be set up.

use std::path::PathBuf;

use s2i_detect::{Interface, Server};

/// Setting up the server command failed.
#[derive(Debug)]
pub enum ServerError {
    /// The chosen server's executable is not in the virtualenv nor on PATH.
    NotInstalled {
        server: Server,
        source: String,
        looked_in: Vec<PathBuf>,
    },
    /// Auto mode found no server for the interface.
    NoServerInstalled {
        interface: Interface,
        looked_in: Vec<PathBuf>,
    },
    /// The chosen server cannot host this kind of application.
    Policy(s2i_detect::ServerPolicyError),
    /// A numeric variable is not a number in range.
    BadNumber {
        variable: String,
        value: String,
        expected: String,
    },
    /// `.warpdrive/server_args` cannot be read or split.
    ServerArgs { path: PathBuf, why: String },
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotInstalled { server, .. } => {
                write!(f, "{server} is not installed ({})", server.executable())
            }
            Self::NoServerInstalled { interface, .. } => {
                write!(f, "no {interface} server is installed")
            }
            Self::Policy(e) => e.fmt(f),
            Self::BadNumber {
                variable,
                value,
                expected,
            } => write!(f, "{variable}={value:?} is not {expected}"),
            Self::ServerArgs { path, why } => write!(f, "{}: {why}", path.display()),
        }
    }
}

impl std::error::Error for ServerError {}
