//! A container init: the part of `run` that makes it a trustworthy PID 1.
//!
//! API used by `run` (both `run -- COMMAND` and the server `run` starts):
//!
//! ```ignore
//! let opts = s2i_init::Options::from_env()?;          // STOP_GRACE_PERIOD etc.
//! let opts = opts.translate(Signal::SIGTERM, Signal::SIGWINCH); // e.g. Apache graceful stop
//! let code: u8 = s2i_init::supervise(command, &opts); // never panics once the child started
//! std::process::exit(code.into());
//! ```

use std::process::Command;
use std::time::Duration;

pub use nix::sys::signal::Signal;

/// How the init treats the child.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between the first stop signal and SIGKILL to what is left.
    pub grace: Duration,
    /// Signals rewritten when forwarded: `(received, sent)`.
    pub translations: Vec<(Signal, Signal)>,
}

/// Default grace period: well under Kubernetes' 30 s `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(20);

impl Default for Options {
    fn default() -> Self {
        Self {
            grace: DEFAULT_GRACE,
            translations: Vec::new(),
        }
    }
}

impl Options {
    /// Options from the environment (`STOP_GRACE_PERIOD`, seconds).
    ///
    /// # Errors
    /// A variable is set to something that is not a valid value; the message says which.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self::default())
    }

    /// Adds a translation for a forwarded signal.
    #[must_use]
    pub fn translate(mut self, received: Signal, sent: Signal) -> Self {
        self.translations.push((received, sent));
        self
    }
}

/// Spawns `command` as the init's child and supervises it until it ends; returns the exit code
/// the init must exit with.
#[must_use]
pub fn supervise(command: Command, options: &Options) -> u8 {
    let _ = (command, options);
    todo!("issue 2")
}
