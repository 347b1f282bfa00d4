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

/// Undoes the signal dispositions the init inherited, before it takes the signals over: an
/// ignored SIGCHLD makes the kernel reap the children itself and send no SIGCHLD, so the init
/// would never learn that its child ended (and hang); other ignored signals would never reach
/// the signalfd. Every signal goes back to its default action, except SIGSEGV and SIGBUS while
/// they run Rust's stack-overflow handler (an inherited SIG_IGN on them is reset too).
fn reset_inherited() {
    let rust_handled = [libc::SIGSEGV, libc::SIGBUS];
    crate::spawn::reset_dispositions(libc::SIGRTMAX(), &rust_handled);
    for signal in rust_handled {
        // SAFETY: sigaction with a null new action only reads the current one into `old`.
        #[allow(unsafe_code)]
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, std::ptr::null(), &raw mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        };
        if ignored {
            crate::spawn::reset_dispositions(signal, &(1..signal).collect::<Vec<_>>());
        }
    }
}

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
        reset_inherited();
        let mut blocked = SigSet::all();
        for signal in SYNCHRONOUS {
            blocked.remove(signal);
        }
        // SETMASK, not BLOCK: a synchronous signal the parent left blocked is unblocked too.
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&blocked), None)
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
