//! A container init: the part of `run` that makes it a trustworthy PID 1.
//!
//! API used by `run` (both `run -- COMMAND` and the server `run` starts):
//!
//! ```ignore
//! let opts = s2i_init::Options::from_env()?;          // STOP_GRACE_PERIOD, RUN_DEBUG
//! let opts = opts.translate(Signal::SIGTERM, Signal::SIGWINCH); // e.g. Apache graceful stop
//! let code: u8 = s2i_init::supervise(command, &opts); // never panics once the child started
//! std::process::exit(code.into());
//! ```
//!
//! Modules, one decision each: [`signals`] (which signals, signalfd), [`spawn`] (process group,
//! mask, 126/127), [`supervisor`] (forwarding, grace clock), [`reaping`] (zombies, subreaper,
//! exit codes), [`stop`] (SIGKILL after grace, leftovers of the group), [`errors`] (messages).

pub mod errors;
pub mod group;
mod log;
pub mod options;
pub mod reaping;
pub mod signals;
pub mod spawn;
pub mod stop;
pub mod supervisor;

use std::process::Command;

pub use errors::{OptionsError, SpawnError, EXIT_INIT_FAILED, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND};
pub use nix::sys::signal::Signal;
pub use options::{Options, DEFAULT_GRACE, DEFAULT_LEFTOVER_GRACE};
pub use supervisor::EXIT_KILLED_AFTER_GRACE;

/// Spawns `command` as the init's child and supervises it until it ends; returns the exit code
/// the init must exit with: the child's code, 128+N if signal N killed it, 137 if it outlived
/// the grace period, 126/127 if it could not be started (the reason is on stderr), 125 if the
/// init could not set up signal handling.
///
/// Takes over the process's signal handling (blocks every asynchronous signal and reads them
/// from a signalfd): call it once, from the main thread, before any other thread is started
/// (a thread started earlier keeps an open mask and would take signals with their default
/// action), and exit with the code it returns.
#[must_use]
pub fn supervise(command: Command, options: &Options) -> u8 {
    let signals = match signals::Signals::take_over() {
        Ok(signals) => signals,
        Err(e) => {
            log::line(format_args!("{e}"));
            return EXIT_INIT_FAILED;
        }
    };
    reaping::become_subreaper(options.debug);
    let child = match spawn::spawn(command) {
        Ok(child) => child,
        Err(e) => {
            log::line(format_args!("{e}"));
            return e.exit_code();
        }
    };
    log::debug(
        options.debug,
        format_args!("started {} in its own process group", child.pid),
    );
    supervisor::run(child, &signals, options)
}
