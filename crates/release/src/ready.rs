//! Readiness and liveness that mean something.
//!
//! A start keeps a state file in its runtime directory, `state-PORT`: its process id and its
//! phase (`starting`: deploy hooks; `migrating`; `serving`: the server was started). The
//! checks, run by the platform's exec probes in the same container:
//!
//! - `run --check-ready [PATH]`: ready only when the start is `serving` (so migrations are done),
//!   its process is alive, and the server answers `GET PATH` (default `/`) on 127.0.0.1:$PORT
//!   with a status below 500, which means the application was imported and served a request
//!   (a 404 or a 400 from `ALLOWED_HOSTS` count: the app answered).
//! - `run --check-live`: alive while the start is `starting` or `migrating` (a long migration
//!   is not a hung container), then while something accepts connections on $PORT.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a check waits for the server.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a start is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the migration: deploy hooks.
    Starting,
    /// Django's migrate (or waiting for another replica's).
    Migrating,
    /// The server was started.
    Serving,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Migrating => "migrating",
            Self::Serving => "serving",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "starting" => Some(Self::Starting),
            "migrating" => Some(Self::Migrating),
            "serving" => Some(Self::Serving),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A start's state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    pub path: PathBuf,
    pub port: u16,
}

impl StateFile {
    /// The state file of the start serving `port`, in `runtime_dir`.
    #[must_use]
    pub fn new(runtime_dir: &Path, port: u16) -> Self {
        Self {
            path: runtime_dir.join(format!("state-{port}")),
            port,
        }
    }

    /// Records that process `pid` is in `phase` (written whole, then renamed into place).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn set(&self, pid: u32, phase: Phase) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, format!("{pid} {phase}\n"))?;
        std::fs::rename(&tmp, &self.path)
    }

    /// The recorded process id and phase.
    #[must_use]
    pub fn read(&self) -> Option<(i32, Phase)> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let (pid, phase) = text.trim().split_once(' ')?;
        Some((pid.parse().ok()?, Phase::parse(phase)?))
    }
}

/// Which check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `run --check-ready [PATH]`.
    Ready { path: String },
    /// `run --check-live`.
    Live,
}

fn alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => true,
        Err(_) => false,
    }
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    let addresses: [SocketAddr; 2] = [
        SocketAddr::from(([127, 0, 0, 1], port)),
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
    ];
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, CHECK_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
}

/// `GET path` over HTTP/1.0; the status code.
fn http_status(port: u16, path: &str) -> Result<u16, String> {
    let mut stream = connect(port).map_err(|e| format!("nothing accepts on port {port}: {e}"))?;
    let _ = stream.set_read_timeout(Some(CHECK_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CHECK_TIMEOUT));
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: localhost:{port}\r\nUser-Agent: python-s2i-check-ready\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending GET {path}: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => {
                return Err(format!(
                    "no answer to GET {path} within {CHECK_TIMEOUT:?}: {e}"
                ))
            }
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    line.split_whitespace()
        .nth(1)
        .filter(|_| line.starts_with("HTTP/"))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("GET {path}: not an HTTP answer: {line:?}"))
}

/// Runs `check` against the start recorded in `state`: `Ok(why)` passes, `Err(why)` fails.
///
/// # Errors
/// The check fails; the text says why.
pub fn check(state: &StateFile, check: &Check) -> Result<String, String> {
    let Some((pid, phase)) = state.read() else {
        return Err(format!(
            "no start recorded in {} (is run serving PORT={} in this container?)",
            state.path.display(),
            state.port
        ));
    };
    if !alive(pid) {
        return Err(format!("run (pid {pid}) is not running"));
    }
    match (check, phase) {
        (Check::Ready { .. }, Phase::Starting | Phase::Migrating) => {
            Err(format!("not ready: run (pid {pid}) is {phase}"))
        }
        (Check::Live, Phase::Starting | Phase::Migrating) => {
            Ok(format!("alive: run (pid {pid}) is {phase}"))
        }
        (Check::Live, Phase::Serving) => connect(state.port)
            .map(|_| format!("alive: port {} accepts connections", state.port))
            .map_err(|e| format!("nothing accepts on port {}: {e}", state.port)),
        (Check::Ready { path }, Phase::Serving) => match http_status(state.port, path)? {
            status @ 0..=499 => Ok(format!("ready: GET {path} answered {status}")),
            status => Err(format!("not ready: GET {path} answered {status}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(status: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(format!("HTTP/1.1 {status}\r\n\r\n").as_bytes());
            }
        });
        port
    }

    #[test]
    fn state_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateFile::new(dir.path(), 8080);
        assert_eq!(state.read(), None);
        state.set(42, Phase::Migrating).expect("write");
        assert_eq!(state.read(), Some((42, Phase::Migrating)));
        assert!(state.path.ends_with("state-8080"));
    }

    #[test]
    fn ready_needs_serving_a_live_pid_and_an_answer_below_500() {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = std::process::id();
        let ready = Check::Ready { path: "/".into() };

        let port = serve_once("404 Not Found");
        let state = StateFile::new(dir.path(), port);
        assert!(check(&state, &ready).is_err(), "no state file");
        state.set(me, Phase::Migrating).expect("write");
        let why = check(&state, &ready).expect_err("migrating");
        assert!(why.contains("migrating"), "{why}");
        assert!(check(&state, &Check::Live).is_ok());
        state.set(me, Phase::Serving).expect("write");
        let why = check(&state, &ready).expect("404 means the app answered");
        assert!(why.contains("404"), "{why}");

        let port = serve_once("500 Internal Server Error");
        let state = StateFile::new(dir.path(), port);
        state.set(me, Phase::Serving).expect("write");
        assert!(check(&state, &ready).expect_err("500").contains("500"));

        // A dead process: a child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let dead = child.id();
        child.wait().expect("wait");
        state.set(dead, Phase::Serving).expect("write");
        assert!(check(&state, &Check::Live)
            .expect_err("dead")
            .contains("not running"));
    }
}
