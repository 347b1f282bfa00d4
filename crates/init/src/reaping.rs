//! Reaping: the init is the parent of every orphan (as PID 1, or as a child subreaper), so it
//! collects every exited process, not only its own child.

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How the main child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

impl Ended {
    /// The code the init exits with: the child's own code, or 128+N for signal N.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        let code = match self {
            Self::Exited(code) => code,
            Self::Signaled(signal) => 128 + signal,
        };
        u8::try_from(code & 0xff).unwrap_or(u8::MAX)
    }
}

/// Reaps every exited process (`waitpid(-1, WNOHANG)` until none is left; one SIGCHLD may
/// stand for many), returning how `main` ended if it is among them.
pub fn reap_all(main: Pid, debug: bool) -> Option<Ended> {
    let mut main_ended = None;
    loop {
        let (pid, ended) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (pid, Ended::Exited(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, Ended::Signaled(signal as i32)),
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return main_ended,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => {
                crate::log::line(format_args!(
                    "waitpid failed: {e}; will retry on the next SIGCHLD"
                ));
                return main_ended;
            }
        };
        if pid == main {
            crate::log::debug(debug, format_args!("main child {pid} ended: {ended:?}"));
            main_ended = Some(ended);
        } else {
            crate::log::debug(debug, format_args!("reaped {pid}: {ended:?}"));
        }
    }
}

/// Not PID 1: become the child subreaper, so orphans of the child are reparented to the init
/// and reaped here rather than by whatever started it.
pub fn become_subreaper(debug: bool) {
    let pid = std::process::id();
    if pid == 1 {
        crate::log::debug(
            debug,
            format_args!("running as PID 1: orphans are reparented here"),
        );
        return;
    }
    match nix::sys::prctl::set_child_subreaper(true) {
        Ok(()) => crate::log::debug(
            debug,
            format_args!("not PID 1 (pid {pid}): registered as child subreaper so orphans are reaped here"),
        ),
        Err(e) => crate::log::line(format_args!(
            "not PID 1 (pid {pid}) and cannot become a child subreaper ({e}): orphans of the child will be reaped by the parent of run"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Ended;

    #[test]
    fn exit_codes_are_the_childs_or_128_plus_the_signal() {
        assert_eq!(Ended::Exited(0).exit_code(), 0);
        assert_eq!(Ended::Exited(255).exit_code(), 255);
        assert_eq!(Ended::Signaled(9).exit_code(), 137);
        assert_eq!(Ended::Signaled(15).exit_code(), 143);
    }
}
