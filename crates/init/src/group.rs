//! Process groups: whether one still has members, which, and how what is left is ended. Used by
//! the init for the leftovers of its child's group, and by `assemble` for what a build hook left
//! running.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Whether any process (zombies included) is still in process group `group`.
#[must_use]
pub fn exists(group: Pid) -> bool {
    !matches!(killpg(group, None), Err(Errno::ESRCH))
}

/// The processes of `group`, as `pid (command)`, from `/proc` (empty when it cannot be read).
#[must_use]
pub fn members(group: Pid) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<(i32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = stat.get(open + 1..close)?.to_owned();
            let pgrp: i32 = stat.get(close + 2..)?.split(' ').nth(2)?.parse().ok()?;
            (pgrp == group.as_raw()).then_some((pid, comm))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(pid, comm)| format!("{pid} ({comm})"))
        .collect()
}

/// What is left in `group`, as the messages about it name it: `a process` or `2 processes`, the
/// list (` (12 (sleep))`, empty when `/proc` cannot be read), and how many.
#[must_use]
pub fn leftovers(group: Pid) -> (String, String, usize) {
    let members = members(group);
    let count = match members.len() {
        1 => "a process".to_owned(),
        n => format!("{} processes", n.max(1)),
    };
    let listed = if members.is_empty() {
        String::new()
    } else {
        format!(" ({})", members.join(", "))
    };
    (count, listed, members.len())
}

/// Ends what is left in `group`: SIGTERM, then SIGCONT so a stopped process acts on it, and
/// SIGKILL when `gone_within(grace)` says the group is still there. Returns whether it went
/// before SIGKILL.
pub fn end(group: Pid, grace: Duration, mut gone_within: impl FnMut(Duration) -> bool) -> bool {
    let _ = killpg(group, Signal::SIGTERM);
    let _ = killpg(group, Signal::SIGCONT);
    if gone_within(grace) {
        return true;
    }
    let _ = killpg(group, Signal::SIGKILL);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_group_is_listed() {
        let group = nix::unistd::getpgrp();
        assert!(exists(group));
        let me = format!("{} (", std::process::id());
        assert!(members(group).iter().any(|m| m.starts_with(&me)));
    }
}
