//! Why a server could not be set up.

use std::path::PathBuf;

use s2i_detect::{Interface, Server};

/// Setting up the server command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The chosen server's executable is not in the virtualenv nor on PATH.
    #[error("{server} is not installed ({})", .server.executable())]
    NotInstalled {
        server: Server,
        origin: String,
        looked_in: Vec<PathBuf>,
    },
    /// Auto mode found no server for the interface.
    #[error("no {interface} server is installed")]
    NoServerInstalled {
        interface: Interface,
        looked_in: Vec<PathBuf>,
    },
    /// The chosen server cannot host this kind of application.
    #[error(transparent)]
    Policy(s2i_detect::ServerPolicyError),
    /// A numeric variable is not a number in range.
    #[error("{variable}={value:?} is not {expected}")]
    BadNumber {
        variable: String,
        value: String,
        expected: String,
    },
    /// `.warpdrive/server_args` cannot be read or split.
    #[error("{path}: {why}")]
    ServerArgs { path: PathBuf, why: String },
}
