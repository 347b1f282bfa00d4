//! Starting the child: its own process group, an empty signal mask and default dispositions.
//!
//! The init blocks every asynchronous signal (it reads them from a signalfd), and a process
//! started by a shell or `nohup` may have signals ignored; both would be inherited through
//! exec. `std::process::Command` does not undo either for us (checked: the mask is kept).
//! So the child runs a small async-signal-safe step between fork and exec that empties the
//! mask and sets every signal back to its default action.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::errno::Errno;
use nix::unistd::{getpgrp, tcgetpgrp, tcsetpgrp, Pid};

use crate::errors::SpawnError;

/// The running main child. Its pid is also its process group id.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    pub pid: Pid,
}

/// Spawns `command` as the leader of a new process group.
///
/// # Errors
/// The program is missing (127) or cannot be executed (126).
pub fn spawn(mut command: Command) -> Result<Child, SpawnError> {
    command.process_group(0);
    let last_signal = libc::SIGRTMAX();
    let take_terminal = owns_terminal();
    let init_pid = nix::unistd::getpid();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (tcsetpgrp, rt_sigaction, pthread_sigmask) on values prepared
    // before the fork; it allocates nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            if take_terminal {
                // Still under the init's mask, which blocks SIGTTOU: allowed from a
                // background group. A failure leaves the terminal as it was.
                let _ = tcsetpgrp(std::io::stdin(), getpgrp());
            }
            restore_default_signals(last_signal);
            die_with_the_init(init_pid)
        });
    }
    let program = PathBuf::from(command.get_program());
    match command.spawn() {
        // The init reaps with waitpid(-1); std's handle is not used to wait.
        Ok(child) => Ok(Child {
            pid: Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX)),
        }),
        Err(source) => {
            let errno = source.raw_os_error().map(Errno::from_raw);
            if matches!(errno, Some(Errno::ENOENT | Errno::ENOTDIR)) {
                Err(SpawnError::NotFound {
                    searched_path: !is_path(&program),
                    program,
                    source,
                })
            } else {
                Err(SpawnError::NotExecutable { program, source })
            }
        }
    }
}

/// In the forked child: every signal (standard and real-time, up to `last_signal`) back to
/// its default action, then an empty mask. Dispositions first, so that no signal pending in
/// the init's mask is delivered to an ignoring or stale disposition.
///
/// The kernel call is made directly: glibc's `sigaction` refuses its two internal real-time
/// signals (32, 33), which glibc's own `posix_spawn` leaves ignored in the processes it starts
/// (a parent of `run` may well use it), and an ignored signal survives exec.
fn restore_default_signals(last_signal: libc::c_int) {
    reset_dispositions(last_signal, &[]);
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
}

/// Every signal from 1 to `last_signal` but SIGKILL, SIGSTOP and `keep` back to its default
/// action, by the kernel call (see [`restore_default_signals`]); async-signal-safe.
pub(crate) fn reset_dispositions(last_signal: libc::c_int, keep: &[libc::c_int]) {
    /// The kernel's `struct sigaction` (x86_64 and the generic layout).
    #[repr(C)]
    struct KernelSigaction {
        handler: libc::sighandler_t,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for signal in 1..=last_signal {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP || keep.contains(&signal) {
            continue;
        }
        // SAFETY: rt_sigaction with SIG_DFL installs no handler; the struct matches the
        // kernel's layout and the size argument is the kernel's sigset size (8 bytes). A raw
        // system call is async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                std::ptr::from_ref(&default),
                std::ptr::null_mut::<KernelSigaction>(),
                std::mem::size_of::<u64>(),
            );
        }
    }
}

/// In the forked child: SIGKILL when the init dies, so that a server never outlives a `run`
/// that was itself killed (SIGKILL, OOM killer) when `run` is not PID 1: the server runs in its
/// own process group and nothing else would end it. As PID 1 the kernel already ends the whole
/// namespace. The parent check closes the race where the init died before the prctl.
fn die_with_the_init(init_pid: Pid) -> std::io::Result<()> {
    // SAFETY: prctl and getppid are async-signal-safe system calls with plain integer args.
    #[allow(unsafe_code)]
    let parent = unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::getppid()
    };
    if parent == init_pid.as_raw() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "the init exited before its child started",
        ))
    }
}

/// Whether stdin is a terminal whose foreground process group is the init's: then the child's
/// new group takes the foreground (as tini does), so that an interactive child (`podman run -it
/// IMAGE run -- bash`) can read the terminal instead of being stopped by SIGTTIN, and Ctrl-C
/// reaches the child's whole group as it would without an init.
fn owns_terminal() -> bool {
    let stdin = std::io::stdin();
    nix::unistd::isatty(&stdin).unwrap_or(false)
        && tcgetpgrp(&stdin).is_ok_and(|group| group == getpgrp())
}

/// A program name with a slash is a path; without one it is looked up in PATH.
fn is_path(program: &Path) -> bool {
    program.as_os_str().as_encoded_bytes().contains(&b'/')
}
