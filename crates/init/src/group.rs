//! Process groups: whether one still has members, and which. Used by the init for the leftovers
//! of its child's group, and by `assemble` for what a build hook left running.

use nix::errno::Errno;
use nix::sys::signal::killpg;
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
