//! Every message the init shows its user, in one place.

use std::fmt;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsError {
    /// Not a non-negative number of seconds.
    InvalidSeconds {
        variable: &'static str,
        value: String,
    },
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSeconds { variable, value } => write!(
                f,
                "{variable}={value:?} is not a number of seconds; set it to whole or decimal \
                 seconds, e.g. {variable}=20 or {variable}=2.5 (or unset it for the default of \
                 {default} s)",
                default = crate::DEFAULT_GRACE.as_secs()
            ),
        }
    }
}

impl std::error::Error for OptionsError {}

/// The init could not take over signal handling before starting the child.
#[derive(Debug)]
pub enum SetUpSignalsError {
    /// `sigprocmask` refused the mask.
    Block(Errno),
    /// `signalfd` could not be created.
    SignalFd(Errno),
}

impl fmt::Display for SetUpSignalsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Block(e) => write!(f, "cannot block signals to handle them: {e}"),
            Self::SignalFd(e) => write!(
                f,
                "cannot create a signalfd to receive signals: {e} (is the process out of file \
                 descriptors?)"
            ),
        }
    }
}

impl std::error::Error for SetUpSignalsError {}

/// The child could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// No such program (ENOENT / ENOTDIR): exit 127.
    NotFound {
        program: PathBuf,
        searched_path: bool,
        source: io::Error,
    },
    /// The program exists but cannot be executed (permissions, a directory, not a binary
    /// or script the kernel can run): exit 126.
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

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound {
                program,
                searched_path: true,
                ..
            } => write!(
                f,
                "cannot run {}: command not found in PATH ({})",
                program.display(),
                std::env::var("PATH").unwrap_or_else(|_| "PATH is not set".to_owned())
            ),
            Self::NotFound {
                program, source, ..
            } => write!(f, "cannot run {}: not found ({source})", program.display()),
            Self::NotExecutable { program, source } => {
                let hint = match source.raw_os_error().map(Errno::from_raw) {
                    Some(Errno::EACCES) => {
                        " (is it a directory, or is its execute permission missing? chmod +x it)"
                    }
                    Some(Errno::ENOEXEC) => {
                        " (not a binary for this machine, or a script without a #! line)"
                    }
                    _ => "",
                };
                write!(
                    f,
                    "cannot run {}: not executable: {source}{hint}",
                    program.display()
                )
            }
        }
    }
}

impl std::error::Error for SpawnError {}
