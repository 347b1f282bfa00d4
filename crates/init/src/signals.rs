//! Which signals the init handles, and how it takes them over: every asynchronous signal is
//! blocked in the init and the ones it acts on are read from a signalfd, so the init never runs
//! code in a signal handler and never polls.

use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::errors::SetUpSignalsError;

/// Signals forwarded to the child. TTIN/TTOU matter to gunicorn (add/remove a worker), HUP
/// (reload), USR1 (reopen logs), WINCH (Apache graceful stop).
pub const FORWARDED: [Signal; 9] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// Forwarded signals that also start the grace period: the platform's stop request (TERM) and
/// an interactive Ctrl-C (INT).
pub const STOPPING: [Signal; 2] = [Signal::SIGTERM, Signal::SIGINT];

/// Signals raised by the CPU for the faulting thread; blocking them is undefined.
const SYNCHRONOUS: [Signal; 6] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

/// What the signalfd reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A child changed state: reap.
    Child,
    /// A signal to forward.
    Forward(Signal),
}

/// The init's signal inbox.
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks every asynchronous signal in the init and opens a signalfd for CHLD and the
    /// forwarded signals. Call before spawning, so that nothing sent meanwhile is lost; the
    /// child undoes the mask before exec ([`crate::spawn`]).
    ///
    /// # Errors
    /// The mask or the signalfd cannot be set up.
    pub fn take_over() -> Result<Self, SetUpSignalsError> {
        let mut blocked = SigSet::all();
        for signal in SYNCHRONOUS {
            blocked.remove(signal);
        }
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)
            .map_err(SetUpSignalsError::Block)?;

        let mut wanted = SigSet::empty();
        wanted.add(Signal::SIGCHLD);
        for signal in FORWARDED {
            wanted.add(signal);
        }
        let fd = SignalFd::with_flags(&wanted, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(SetUpSignalsError::SignalFd)?;
        Ok(Self { fd })
    }

    /// Waits until a signal arrives or `timeout` passes (`None`: no limit).
    ///
    /// # Errors
    /// `poll` failed.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        let timeout = match timeout {
            None => PollTimeout::NONE,
            // Round up so a deadline is never missed by a millisecond and polled again at once.
            Some(t) => {
                PollTimeout::try_from(t + Duration::from_micros(999)).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&self.fd),
            PollFlags::POLLIN,
        )];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The signals received so far, in order (coalesced by the kernel: one CHLD may stand for
    /// many children).
    ///
    /// # Errors
    /// Reading the signalfd failed.
    pub fn drain(&self) -> Result<Vec<Event>, Errno> {
        let mut events = Vec::new();
        while let Some(info) = self.fd.read_signal()? {
            let Ok(signal) = Signal::try_from(i32::try_from(info.ssi_signo).unwrap_or(0)) else {
                continue;
            };
            events.push(if signal == Signal::SIGCHLD {
                Event::Child
            } else {
                Event::Forward(signal)
            });
        }
        Ok(events)
    }
}
