//! Stopping: the grace period after the platform's stop signal, and ending the processes left
//! in the child's group once the main child has gone.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::reaping::reap_all;
use crate::signals::{Event, Signals};

/// After SIGKILL, how long to wait for the group to disappear before giving up on it (a
/// process stuck in uninterruptible sleep cannot be helped).
const AFTER_KILL: Duration = Duration::from_secs(5);

/// While waiting for leftovers, how often to look at the group even without a SIGCHLD: the last
/// process of the group may be the child of a process outside it (one that called `setsid`),
/// whose exit the init is not told about.
const RECHECK: Duration = Duration::from_millis(100);

/// Sends SIGKILL to the child's whole group, and to the child itself in case it left the group.
pub fn kill_all(child: Pid, debug: bool) {
    crate::log::debug(
        debug,
        format_args!("sending SIGKILL to process group {child}"),
    );
    let _ = killpg(child, Signal::SIGKILL);
    let _ = kill(child, Signal::SIGKILL);
}

/// The main child has exited: sends TERM (then CONT, so a stopped process acts on it) to what
/// is left of its process group, SIGKILL after `grace`, and reaps them. Signals received
/// meanwhile are not forwarded (there is no child to forward them to); the first stop signal
/// among them is returned. `announce`: the child's name, to say on stderr that it left
/// processes behind (a deploy hook's `something &`); without it, only debug lines.
pub fn end_leftovers(
    signals: &Signals,
    group: Pid,
    grace: Duration,
    debug: bool,
    announce: Option<&str>,
) -> Option<Signal> {
    reap_all(group, debug);
    if !crate::group::exists(group) {
        return None;
    }
    let mut stop = None;
    match announce {
        Some(name) => {
            let (count, listed, n) = crate::group::leftovers(group);
            let them = if n == 1 { "it" } else { "them" };
            crate::log::line(format_args!(
                "{name} exited but left {count} running in its process group{listed}: ending {them} (SIGTERM, SIGKILL after {grace:?})"
            ));
        }
        None => crate::log::debug(
            debug,
            format_args!("sending SIGTERM to what is left of process group {group}"),
        ),
    }
    if crate::group::end(group, grace, |grace| {
        wait_until_gone(signals, group, grace, debug, &mut stop)
    }) {
        return stop;
    }
    crate::log::debug(
        debug,
        format_args!("process group {group} still there after {grace:?}"),
    );
    if !wait_until_gone(signals, group, AFTER_KILL, debug, &mut stop) {
        crate::log::line(format_args!(
            "processes of group {group} survived SIGKILL for {AFTER_KILL:?}; exiting without them"
        ));
    }
    stop
}

/// Reaps on every SIGCHLD until `group` is empty (true) or `timeout` passes (false); the first
/// stop signal received meanwhile goes to `stop`.
fn wait_until_gone(
    signals: &Signals,
    group: Pid,
    timeout: Duration,
    debug: bool,
    stop: &mut Option<Signal>,
) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        reap_all(group, debug);
        if !crate::group::exists(group) {
            return true;
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|left| left.is_zero()) {
            return false;
        }
        if let Err(e) = signals.wait(Some(left.map_or(RECHECK, |left| left.min(RECHECK)))) {
            crate::log::line(format_args!("waiting for signals failed: {e}"));
            std::thread::sleep(Duration::from_millis(100));
        }
        match signals.drain() {
            Ok(events) => {
                for event in events {
                    if let Event::Forward(signal) = event {
                        if crate::signals::STOPPING.contains(&signal) && stop.is_none() {
                            *stop = Some(signal);
                        }
                        crate::log::debug(
                            debug,
                            format_args!("{signal} dropped: the main child has exited"),
                        );
                    }
                }
            }
            Err(e) => crate::log::line(format_args!("reading signals failed: {e}")),
        }
    }
}
