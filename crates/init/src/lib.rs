//! A container init: the part of `run` that makes it a trustworthy PID 1.
//!
//! API used by `run` (both `run -- COMMAND` and the server `run` starts):
//!
//! ```ignore
//! let opts = s2i_init::Options::from_env(&s2i_env::Env::from_process())?;          // STOP_GRACE_PERIOD, RUN_DEBUG
//! let opts = opts.translate(Signal::SIGTERM, Signal::SIGWINCH); // e.g. Apache graceful stop
//! let code: u8 = s2i_init::supervise(command, &opts); // never panics once the child started
//! std::process::exit(code.into());
//! ```
//!
//! Or, when things must run before the main program (deploy hooks, migrate), one [`Init`] from
//! the first instruction, each step a supervised child under the same signal handling:
//!
//! ```ignore
//! let mut init = s2i_init::Init::take_over(debug)?;    // signals are ours from here on
//! match init.step(hook, &opts, "deploy hook x")? {      // TERM/INT are forwarded to the hook
//!     s2i_init::Step::Stopped { code, .. } => return code, // ... and nothing more is started
//!     s2i_init::Step::Ended(ended) => { /* its status */ }
//! }
//! let code = init.run_main(server, &opts);
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

pub use errors::{
    OptionsError, SetUpSignalsError, SpawnError, EXIT_INIT_FAILED, EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
};
pub use nix::sys::signal::Signal;
pub use options::{Options, DEFAULT_GRACE, DEFAULT_LEFTOVER_GRACE};
pub use reaping::Ended;
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
    match Init::take_over(options.debug) {
        Ok(init) => init.run_main(command, options),
        Err(e) => {
            log::line(format_args!("{e}"));
            EXIT_INIT_FAILED
        }
    }
}

/// An init that owns the process's signals (see [`supervise`] for the rules), and runs the
/// steps that come before the main program (deploy hooks, migrate) as supervised children too:
/// a stop signal during a step is forwarded to it, and then nothing more is started.
pub struct Init {
    signals: signals::Signals,
    /// The first stop signal received, while a step ran or between steps.
    stop: Option<Signal>,
    debug: bool,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It ran to its end, with this status.
    Ended(Ended),
    /// A stop signal (TERM or INT) came before or while it ran: start nothing more and exit
    /// with `code` (128+N for signal N; 137 when the step outlived the grace period).
    Stopped { signal: Signal, code: u8 },
}

impl Init {
    /// Blocks every asynchronous signal and reads them from a signalfd from now on, and
    /// becomes the child subreaper when not PID 1. Call it first, from the main thread,
    /// before any other thread is started.
    ///
    /// # Errors
    /// The signal handling cannot be set up (exit with [`EXIT_INIT_FAILED`]).
    pub fn take_over(debug: bool) -> Result<Self, errors::SetUpSignalsError> {
        let signals = signals::Signals::take_over()?;
        reaping::become_subreaper(debug);
        Ok(Self {
            signals,
            stop: None,
            debug,
        })
    }

    /// The stop signal received so far, if any, reading what arrived without waiting (signals
    /// other than TERM and INT, with no child to forward them to, are dropped; orphans are
    /// reaped).
    pub fn stop_requested(&mut self) -> Option<Signal> {
        reaping::reap_all(nix::unistd::Pid::from_raw(0), self.debug);
        match self.signals.drain() {
            Ok(events) => {
                for event in events {
                    if let signals::Event::Forward(signal) = event {
                        if signals::STOPPING.contains(&signal) && self.stop.is_none() {
                            log::debug(
                                self.debug,
                                format_args!("{signal} received: nothing more is started"),
                            );
                            self.stop = Some(signal);
                        } else {
                            log::debug(
                                self.debug,
                                format_args!("{signal} dropped: no child is running"),
                            );
                        }
                    }
                }
            }
            Err(e) => log::line(format_args!("reading signals failed: {e}")),
        }
        self.stop
    }

    /// Runs `command` (a deploy hook, migrate) to its end as the init's child: its own process
    /// group, signals forwarded, the grace period on TERM/INT, what it leaves in its group
    /// ended (and said, naming it `name`). Nothing is started if a stop signal came already.
    ///
    /// # Errors
    /// It cannot be started (missing, not executable): the message names it.
    pub fn step(
        &mut self,
        command: Command,
        options: &Options,
        name: &str,
    ) -> Result<Step, SpawnError> {
        if let Some(signal) = self.stop_requested() {
            return Ok(self.stopped(signal, false));
        }
        let child = spawn::spawn(command)?;
        log::debug(
            self.debug,
            format_args!("started {name} as {} in its own process group", child.pid),
        );
        let outcome = supervisor::supervise(child, &self.signals, options, Some(name));
        if let Some(signal) = outcome.stop.or(self.stop) {
            self.stop = Some(signal);
            return Ok(self.stopped(signal, outcome.killed));
        }
        Ok(Step::Ended(outcome.ended))
    }

    fn stopped(&self, signal: Signal, killed: bool) -> Step {
        let code = if killed {
            EXIT_KILLED_AFTER_GRACE
        } else {
            128 + signal as u8
        };
        log::line(format_args!(
            "{signal} received before the main program started: nothing more is started; exiting with {code}"
        ));
        Step::Stopped { signal, code }
    }

    /// Spawns the main program and supervises it until it ends; returns the exit code (as
    /// [`supervise`]). A stop signal received before it: it is not started, 128+N.
    #[must_use]
    pub fn run_main(mut self, command: Command, options: &Options) -> u8 {
        if let Some(signal) = self.stop_requested() {
            if let Step::Stopped { code, .. } = self.stopped(signal, false) {
                return code;
            }
        }
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
        supervisor::run(child, &self.signals, options)
    }
}
