//! The init's main loop once the child runs: wait on the signalfd, forward, reap, and keep the
//! grace-period clock. Nothing here returns early on an error: it is logged and the loop goes on.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};

use crate::options::Options;
use crate::reaping::{reap_all, Ended};
use crate::signals::{Event, Signals, STOPPING};
use crate::spawn::Child;
use crate::stop;

/// Exit code after the grace period ran out and the child was killed (128 + SIGKILL).
pub const EXIT_KILLED_AFTER_GRACE: u8 = 137;

/// How a supervised child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub ended: Ended,
    /// It outlived the grace period and was killed.
    pub killed: bool,
    /// The first stop signal (TERM or INT) received while it ran, if any.
    pub stop: Option<Signal>,
}

impl Outcome {
    /// The init's exit code: 137 after the grace period, else the child's.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        if self.killed {
            EXIT_KILLED_AFTER_GRACE
        } else {
            self.ended.exit_code()
        }
    }
}

/// Runs until the main child has ended and its group is gone; returns the init's exit code.
pub fn run(child: Child, signals: &Signals, options: &Options) -> u8 {
    supervise(child, signals, options, None).exit_code()
}

/// Runs until `child` has ended and its group is gone. `leftovers_of`: a name for the child,
/// to say on stderr (not only in debug) that it left processes in its group.
pub fn supervise(
    child: Child,
    signals: &Signals,
    options: &Options,
    leftovers_of: Option<&str>,
) -> Outcome {
    let debug = options.debug;
    let mut stop = None;
    // Set by the first stop signal; `None` inside: a grace period too long to represent.
    let mut grace_ends: Option<Option<Instant>> = None;
    let mut killed = false;
    let ended = loop {
        if let Some(ended) = reap_all(child.pid, debug) {
            break ended;
        }
        let timeout = match grace_ends {
            Some(Some(end)) if !killed => Some(end.saturating_duration_since(Instant::now())),
            _ => None,
        };
        if timeout.is_some_and(|left| left.is_zero()) {
            crate::log::line(format_args!(
                "the child did not stop within {:?} of the stop signal ({} is the setting): killing it",
                options.grace,
                crate::options::GRACE_VARIABLE
            ));
            stop::kill_all(child.pid, debug);
            killed = true;
            continue;
        }
        if let Err(e) = signals.wait(timeout) {
            crate::log::line(format_args!("waiting for signals failed: {e}"));
            std::thread::sleep(Duration::from_millis(100));
        }
        let events = match signals.drain() {
            Ok(events) => events,
            Err(e) => {
                crate::log::line(format_args!("reading signals failed: {e}"));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        for event in events {
            let Event::Forward(received) = event else {
                continue; // SIGCHLD: reaped at the top of the loop.
            };
            forward(child, received, options, leftovers_of.is_some());
            if STOPPING.contains(&received) && grace_ends.is_none() {
                stop = Some(received);
                crate::log::debug(
                    debug,
                    format_args!("{received}: the child has {:?} to stop", options.grace),
                );
                grace_ends = Some(Instant::now().checked_add(options.grace));
            }
        }
    };
    let late_stop = stop::end_leftovers(
        signals,
        child.pid,
        options.leftover_grace,
        debug,
        leftovers_of,
    );
    Outcome {
        ended,
        killed,
        stop: stop.or(late_stop),
    }
}

/// Sends `received` (translated) to the main child only: servers such as Apache and gunicorn
/// manage their own workers, and a TTIN/TTOU to a worker's group would stop the workers.
/// A `step`'s SIGINT (a deploy hook, migrate) goes to its whole process group, as a terminal's
/// Ctrl-C does: a shell acts on INT only once its foreground command has died of it (POSIX
/// shells wait for that command), so INT to a hook's shell alone would wait out the grace
/// period and end in SIGKILL.
fn forward(child: Child, received: Signal, options: &Options, step: bool) {
    let sent = options.translated(received);
    if sent == received {
        crate::log::debug(
            options.debug,
            format_args!("forwarding {received} to {}", child.pid),
        );
    } else {
        crate::log::debug(
            options.debug,
            format_args!("forwarding {received} to {} as {sent}", child.pid),
        );
    }
    let sent_to = if step && sent == Signal::SIGINT {
        killpg(child.pid, sent)
    } else {
        kill(child.pid, sent)
    };
    match sent_to {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => crate::log::line(format_args!("cannot forward {sent} to {}: {e}", child.pid)),
    }
}
