//! Helpers shared by the test binaries in `test/tests/`.
//!
//! The tests exercise the real, static executables in `build/bin/` (built by `make`), real
//! Python virtualenvs and real servers. Nothing here fakes what users run.
#![allow(clippy::missing_panics_doc)]

pub mod host;
pub mod listener;
pub mod podman;
pub mod sbom;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// The repository root.
#[must_use]
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test/ has a parent")
        .to_path_buf()
}

/// A built executable (`assemble`, `run`, `save-artifacts`, `usage`) from `$S2I_BIN_DIR`, or
/// `build/bin/` by default.
#[must_use]
pub fn bin(name: &str) -> PathBuf {
    let dir =
        std::env::var_os("S2I_BIN_DIR").map_or_else(|| repo().join("build/bin"), PathBuf::from);
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make` first (or set S2I_BIN_DIR)",
        path.display()
    );
    path
}

/// The machine's way to the package index (a TLS-inspecting proxy's CA, a mirror): kept, or
/// no build here could download anything. A test of them sets or removes them itself.
const MACHINE: [&str; 4] = [
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_CERT",
    "SSL_CERT_FILE",
];

/// Besides the variables users set, what changes what the executables do: a virtualenv or
/// Python path of the test process's own, pip's find-links, a preloaded library.
const ALSO_CLEARED: [&str; 4] = ["VIRTUAL_ENV", "PYTHONPATH", "PIP_FIND_LINKS", "LD_PRELOAD"];

/// `program` as a command without the test process's settings: every variable of the
/// variables table (`s2i_env::variables`; `MOD_WSGI_<OPTION>` is every `MOD_WSGI_` name) but
/// the [`MACHINE`]'s, and [`ALSO_CLEARED`], are removed from what it inherits, so that a
/// developer's or CI's environment cannot leak into a test: it sees only what the test sets.
#[must_use]
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    let names = s2i_env::variables::VARIABLES.iter().flat_map(|v| v.names);
    for name in names.filter(|n| !MACHINE.contains(n)).chain(&ALSO_CLEARED) {
        if let Some(prefix) = name.strip_suffix("<OPTION>") {
            let set = std::env::vars_os().map(|(var, _)| var);
            for var in set.filter(|var| var.to_string_lossy().starts_with(prefix)) {
                command.env_remove(var);
            }
        } else {
            command.env_remove(name);
        }
    }
    command
}

/// A fixture app under `test/fixtures/`.
#[must_use]
pub fn fixture(name: &str) -> PathBuf {
    let path = repo().join("test/fixtures").join(name);
    assert!(path.is_dir(), "no fixture {}", path.display());
    path
}

/// A copy of the fixture `name` in `into` (to modify), as `into/NAME`.
#[must_use]
pub fn copy_fixture(name: &str, into: &Path) -> PathBuf {
    let to = into.join(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture(name))
        .arg(&to)
        .status()
        .expect("cp");
    assert!(status.success(), "cp -a {name} failed");
    to
}

/// A TCP port that was free a moment ago on 127.0.0.1, never handed out twice by this process
/// (two test threads cannot get the same one). Another process may still take it before the
/// server binds it: callers that start servers retry on "address already in use"
/// ([`address_in_use`]).
#[must_use]
pub fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        let mut given = GIVEN.lock().expect("port registry");
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

/// Whether a server's log says its port was taken (the race [`free_port`] cannot close).
#[must_use]
pub fn address_in_use(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("eaddrinuse")
}

/// A test that cannot run here: under CI (`CI=true`) that is a failure, elsewhere a note on
/// stderr. Call it and `return` when it returns.
///
/// # Panics
/// With `CI=true`.
pub fn cannot_run(reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "this test cannot run here and CI=true: {reason}");
    eprintln!("NOT RUN (a failure under CI=true): {reason}");
}

/// A raw HTTP/1.0 `GET target` sent byte for byte over a `TcpStream` (no URL parser between
/// the test and the server: `..`, `%2e%2e` and `%2f` reach the server as written). Returns
/// the status code, the head (status line and headers) and the body.
///
/// # Errors
/// The connection failed or the answer is not HTTP.
pub fn raw_get(port: u16, target: &str) -> Result<RawResponse, String> {
    use std::io::{Read, Write};
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {answer:?}"))?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .map_or((answer.clone(), String::new()), |(h, b)| {
            (h.to_owned(), b.to_owned())
        });
    Ok(RawResponse { status, head, body })
}

/// What [`raw_get`] read.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

/// GET `http://127.0.0.1:{port}{path}`; any status is a response, only transport errors fail.
///
/// # Errors
/// The connection failed or timed out.
pub fn get(port: u16, path: &str) -> Result<Response, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let url = format!("http://127.0.0.1:{port}{path}");
    let response = match agent.get(&url).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(format!("GET {url}: {e}")),
    };
    let status = response.status();
    let content_type = response.header("content-type").map(str::to_owned);
    let body = response
        .into_string()
        .map_err(|e| format!("GET {url}: reading body: {e}"))?;
    Ok(Response {
        status,
        body,
        content_type,
    })
}

/// Waits until something accepts connections on `port`, or `timeout` passes.
#[must_use]
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits until GET `path` answers 200, returning that response.
///
/// # Errors
/// No 200 before `timeout`; the error carries the last answer seen.
pub fn wait_for_ok(port: u16, path: &str, timeout: Duration) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("nothing answered");
    while Instant::now() < deadline {
        match get(port, path) {
            Ok(r) if r.status == 200 => return Ok(r),
            Ok(r) => last = format!("status {}: {}", r.status, r.body),
            Err(e) => last = e,
        }
        thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

/// Watches a port from a thread: whether anything accepted a connection on it between
/// [`PortWatch::start`] and [`PortWatch::stop`]. A test that a server never started watches
/// while the process that would start it is alive (once it has exited, its server is gone too
/// and a refused connection proves nothing).
pub struct PortWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<thread::JoinHandle<Option<Duration>>>,
}

impl PortWatch {
    /// Tries to connect to `127.0.0.1:port` every 10 ms until stopped.
    #[must_use]
    pub fn start(port: u16) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let started = Instant::now();
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            while !stopped.load(Ordering::SeqCst) {
                if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                    return Some(started.elapsed());
                }
                thread::sleep(Duration::from_millis(10));
            }
            None
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops watching: when something accepted a connection, how long after the start.
    #[must_use]
    pub fn stop(mut self) -> Option<Duration> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread
            .take()
            .and_then(|t| t.join().expect("port watch thread"))
    }
}

impl Drop for PortWatch {
    /// A watch never stopped (a test that failed first) ends its thread too.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A child process started in its own process group, killed with its group when dropped, so a
/// failing test leaves nothing behind.
pub struct Running {
    pub child: Child,
}

impl Running {
    /// Spawns `command` in a new process group.
    ///
    /// # Panics
    /// The command cannot be started.
    #[must_use]
    pub fn spawn(command: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        Self { child }
    }

    /// The process id (also the process group id).
    #[must_use]
    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"))
    }

    /// Sends `signal` to the child only.
    pub fn signal(&self, signal: Signal) {
        let _ = nix::sys::signal::kill(self.pid(), signal);
    }

    /// Waits up to `timeout` for the child to exit; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    /// SIGTERM first, so that an init such as `run` stops the server it started in a process
    /// group of its own; SIGKILL to the whole group after a few seconds.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal(Signal::SIGTERM);
            if self.wait_timeout(Duration::from_secs(5)).is_none() {
                let _ = killpg(self.pid(), Signal::SIGKILL);
                let _ = self.child.wait();
            }
        }
    }
}
