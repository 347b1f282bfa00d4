//! Every message the init shows its user, in one place.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// Exit code when the init itself cannot set up (before any child exists); like `docker run`,
/// 125 tells it apart from the child's own codes.
pub const EXIT_INIT_FAILED: u8 = 125;
/// Exit code when the program exists but cannot be executed (shell convention).
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Exit code when the program is not found (shell convention).
pub const EXIT_NOT_FOUND: u8 = 127;

/// An environment variable that configures the init has an unusable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Not a non-negative number of seconds.
    #[error(
        "{variable}={value:?} is not a number of seconds; set it to whole or decimal seconds, \
         e.g. {variable}=20 or {variable}=2.5 (or unset it for the default of {default} s)",
        default = crate::DEFAULT_GRACE.as_secs()
    )]
    InvalidSeconds {
        variable: &'static str,
        value: String,
    },
}

/// The init could not take over signal handling before starting the child.
#[derive(Debug, thiserror::Error)]
pub enum SetUpSignalsError {
    /// `sigprocmask` refused the mask.
    #[error("cannot block signals to handle them: {0}")]
    Block(Errno),
    /// `signalfd` could not be created.
    #[error(
        "cannot create a signalfd to receive signals: {0} (is the process out of file \
         descriptors?)"
    )]
    SignalFd(Errno),
}

/// The child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// No such program (ENOENT / ENOTDIR): exit 127.
    #[error("cannot run {program}: {}", not_found(*.searched_path, .source))]
    NotFound {
        program: PathBuf,
        searched_path: bool,
        source: io::Error,
    },
    /// The program exists but cannot be executed (permissions, a directory, not a binary
    /// or script the kernel can run): exit 126.
    #[error("cannot run {program}: not executable: {source}{}", exec_hint(.source))]
    NotExecutable { program: PathBuf, source: io::Error },
}

impl SpawnError {
    /// The exit code the init returns for this failure.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotFound { .. } => EXIT_NOT_FOUND,
            Self::NotExecutable { .. } => EXIT_NOT_EXECUTABLE,
        }
    }
}

/// Why the program was not found: searched for in `PATH` (shown), or not at the path given.
fn not_found(searched_path: bool, source: &io::Error) -> String {
    if searched_path {
        let path = std::env::var("PATH").unwrap_or_else(|_| "PATH is not set".to_owned());
        format!("command not found in PATH ({path})")
    } else {
        format!("not found ({source})")
    }
}

/// What to check when the program cannot be executed, after its error.
fn exec_hint(source: &io::Error) -> &'static str {
    match source.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EACCES) => {
            " (is it a directory, or is its execute permission missing? chmod +x it)"
        }
        Some(Errno::ENOEXEC) => " (not a binary for this machine, or a script without a #! line)",
        _ => "",
    }
}
