//! Which server answers on a port, as the kernel sees it rather than as `run` says: the
//! listening TCP socket on the port (`/proc/PID/net/tcp` and `tcp6` of the network namespace),
//! the processes holding it (`/proc/*/fd`), and their command lines. One answer for host-mode
//! servers and for containers (the host's `/proc` sees a container's processes; the tests run
//! as root, as CI does).

use std::fs;

/// A process holding the listening socket.
#[derive(Debug, Clone)]
pub struct Holder {
    pub pid: u32,
    pub ppid: u32,
    /// `/proc/PID/cmdline`, its arguments joined by spaces.
    pub cmdline: String,
}

/// The server listening on a port: the process that holds the socket and whose parent does not
/// (the master), and every holder started from it (its workers).
#[derive(Debug, Clone)]
pub struct Listening {
    pub master: Holder,
    pub workers: Vec<Holder>,
}

/// The servers `run` starts, each with what marks it in its master's command line.
const SERVERS: [(&str, &[&str]); 7] = [
    ("mod_wsgi", &["(mod_wsgi-express)"]),
    ("gunicorn", &["bin/gunicorn", "-m gunicorn"]),
    ("uwsgi", &["bin/uwsgi", "uwsgi "]),
    ("waitress", &["waitress"]),
    ("hypercorn", &["bin/hypercorn", "-m hypercorn"]),
    ("granian", &["bin/granian", "-m granian"]),
    ("uvicorn", &["bin/uvicorn", "-m uvicorn"]),
];

impl Listening {
    /// Which of `run`'s servers the master is (`mod_wsgi`, `gunicorn`, ...), by its command
    /// line; `None` for anything else (an `app.sh`'s own server).
    #[must_use]
    pub fn server(&self) -> Option<&'static str> {
        let words: Vec<&str> = self.master.cmdline.split(' ').take(3).collect();
        let head = format!("{} ", words.join(" "));
        SERVERS
            .iter()
            .find(|(_, marks)| marks.iter().any(|m| head.contains(m)))
            .map(|(name, _)| *name)
    }
}

/// The inodes of the sockets listening on `port` in the network namespace of `netns_pid`
/// (`None`: this process's).
fn listening_inodes(port: u16, netns_pid: Option<u32>) -> Vec<String> {
    let base = netns_pid.map_or_else(|| "/proc/self".to_owned(), |p| format!("/proc/{p}"));
    let mut inodes = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = fs::read_to_string(format!("{base}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            // 0A: TCP_LISTEN.
            if *state == "0A" && local_port == Some(port) && *inode != "0" {
                inodes.push((*inode).to_owned());
            }
        }
    }
    inodes
}

fn holder(pid: u32) -> Option<Holder> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The parent is the second field after the parenthesised name.
    let ppid = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .replace('\0', " ");
    Some(Holder { pid, ppid, cmdline })
}

/// The processes whose parent is `pid` (a server's workers when they do not share its socket:
/// granian 2.x's each listen on one of their own, with `SO_REUSEPORT`).
#[must_use]
pub fn children(pid: u32) -> Vec<Holder> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(holder)
        .filter(|h| h.ppid == pid)
        .collect()
}

/// The server listening on `port` in the network namespace of the process `netns_pid` (`None`:
/// the tests' own, for host-mode servers; a container's `.State.Pid` for a container's).
///
/// # Errors
/// When nothing listens on the port, or no process that can be read holds the socket.
pub fn listening_on(port: u16, netns_pid: Option<u32>) -> Result<Listening, String> {
    let inodes = listening_inodes(port, netns_pid);
    if inodes.is_empty() {
        return Err(format!("nothing listens on port {port}"));
    }
    let sockets: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let mut holders = Vec::new();
    for entry in fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))? {
        let Some(pid) = entry
            .ok()
            .and_then(|e| e.file_name().to_str()?.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.filter_map(Result::ok).any(|fd| {
            fs::read_link(fd.path())
                .is_ok_and(|target| sockets.iter().any(|s| target.as_os_str() == s.as_str()))
        });
        if holds {
            holders.extend(holder(pid));
        }
    }
    let master = holders
        .iter()
        .find(|h| !holders.iter().any(|other| other.pid == h.ppid))
        .cloned()
        .ok_or_else(|| format!("no readable process holds the socket on port {port}"))?;
    let workers = holders
        .into_iter()
        .filter(|h| h.ppid == master.pid)
        .collect();
    Ok(Listening { master, workers })
}

/// Waits up to `timeout` until `run`'s server on `port` (see [`listening_on`]) has `workers`
/// workers (servers fork theirs after they listen), and returns it.
///
/// # Errors
/// The last state seen, when the count was never reached.
pub fn with_workers(
    port: u16,
    netns_pid: Option<u32>,
    workers: usize,
    timeout: std::time::Duration,
) -> Result<Listening, String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let seen = listening_on(port, netns_pid);
        match &seen {
            Ok(l) if l.workers.len() == workers => return seen,
            _ if std::time::Instant::now() >= deadline => {
                return Err(format!("expected {workers} workers, saw {seen:?}"))
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::listening_on;

    #[test]
    fn the_process_that_listens_is_found_by_its_socket() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = socket.local_addr().expect("address").port();
        let listening = listening_on(port, None).expect("a listener");
        assert_eq!(listening.master.pid, std::process::id());
        assert_eq!(listening.server(), None, "{listening:?}");
        drop(socket);
        assert!(listening_on(port, None).is_err());
    }
}
