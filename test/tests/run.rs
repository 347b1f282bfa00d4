//! `run` in host mode: detection of every kind of application, every server with real HTTP
//! requests (bodies and static files), `--dry-run`, a slow request that completes across a
//! SIGTERM, an arbitrary UID without a passwd entry, deploy hooks, and every bad input.
//!
//! Each test builds its own `$APP_ROOT` in a temporary directory: the fixture copied to `src/`
//! and the virtualenv made by `test/setup/30-run-servers.sh` (Debian's python3 with every server)
//! linked in as `bin/`, `lib/` and `pyvenv.cfg`, so a test costs no pip install.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use nix::sys::signal::Signal;
use python_s2i_tests::listener::{children, listening_on, with_workers, Listening};
use python_s2i_tests::{
    address_in_use, bin, cannot_run, clean_command, fixture, free_port, get, raw_get, repo,
    wait_for_ok, Response, Running,
};
use tempfile::TempDir;

/// Starting a server on a busy 2-core machine can take a while.
const START: Duration = Duration::from_secs(60);

fn venv() -> PathBuf {
    let venv = repo().join("build/test-venvs/servers");
    assert!(
        venv.join("bin/mod_wsgi-express").is_file(),
        "{} is missing: run `make deps` (test/setup/30-run-servers.sh)",
        venv.display()
    );
    venv
}

/// A host-mode `$APP_ROOT` holding `fixture` as its sources.
struct AppRoot {
    dir: TempDir,
}

impl AppRoot {
    fn new(name: &str) -> Self {
        Self::with_venv_entries(name, None)
    }

    /// `only`: link just these executables into `bin/` (to test a missing server).
    fn with_venv_entries(name: &str, only: Option<&[&str]>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("run-test-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path();
        let venv = venv();
        match only {
            None => std::os::unix::fs::symlink(venv.join("bin"), root.join("bin")).expect("bin"),
            Some(list) => {
                fs::create_dir(root.join("bin")).expect("bin");
                for exe in list {
                    std::os::unix::fs::symlink(
                        venv.join("bin").join(exe),
                        root.join("bin").join(exe),
                    )
                    .expect("link");
                }
            }
        }
        for entry in ["lib", "include", "pyvenv.cfg"] {
            if venv.join(entry).exists() {
                std::os::unix::fs::symlink(venv.join(entry), root.join(entry)).expect("link");
            }
        }
        let status = Command::new("cp")
            .arg("-a")
            .arg(fixture(name))
            .arg(root.join("src"))
            .status()
            .expect("cp");
        assert!(status.success());
        // The servers that drop root privileges (Apache) must read the app.
        let status = Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(root)
            .status()
            .expect("chmod");
        assert!(status.success());
        // Markers the app writes, whatever user the server runs it as.
        let marks = root.join("marks");
        fs::create_dir(&marks).expect("marks");
        fs::set_permissions(&marks, fs::Permissions::from_mode(0o1777)).expect("chmod");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn src(&self) -> PathBuf {
        self.path().join("src")
    }

    fn command(&self, port: u16, envs: &[(&str, &str)]) -> Command {
        let mut command = clean_command(bin("run"));
        command
            .env("APP_ROOT", self.path())
            .env("PORT", port.to_string())
            .env("STOP_GRACE_PERIOD", "20")
            .env("SLOW_MARK", self.slow_mark())
            .current_dir(self.path());
        for (k, v) in envs {
            command.env(k, v);
        }
        command
    }

    /// The file the fixtures' `/slow` route creates when a slow request has started.
    fn slow_mark(&self) -> PathBuf {
        self.path().join("marks/slow-started")
    }

    fn dry_run(&self, envs: &[(&str, &str)]) -> Output {
        self.command(8080, envs)
            .arg("--dry-run")
            .output()
            .expect("run --dry-run")
    }

    /// `run --dry-run`'s report, which must succeed.
    fn dry_run_ok(&self, envs: &[(&str, &str)]) -> String {
        let out = self.dry_run(envs);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        stdout
    }

    /// Starts `run` (its stdout and stderr collected) and waits for `GET path` to answer 200.
    /// A port taken by someone else between [`free_port`] and the server's bind is retried
    /// with another port.
    fn serve(&self, envs: &[(&str, &str)], path: &str) -> Server {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port();
            let mut server = Server::start(self.command(port, envs), port);
            server.slow_mark = Some(self.slow_mark());
            match server.wait_ok(path) {
                Ok(()) => return server,
                Err(e) if attempt < 3 && address_in_use(&server.log()) => {
                    eprintln!("port {port} was taken ({e}): trying another");
                }
                Err(e) => panic!("no 200 from {path}: {e}\n--- run output:\n{}", server.log()),
            }
        }
    }
}

/// Collects a pipe into a shared string (Apache reopens /dev/stderr, which would truncate a
/// log file; a pipe is also what a container engine gives).
fn collect(
    pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = std::io::BufReader::new(pipe);
        let mut line = Vec::new();
        while std::io::BufRead::read_until(&mut reader, b'\n', &mut line).unwrap_or(0) > 0 {
            into.lock()
                .expect("log lock")
                .push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
    })
}

struct Server {
    running: Running,
    port: u16,
    log: Arc<Mutex<String>>,
    /// Where the platform's SIGTERM goes: `run` (by default the process started).
    term_pid: Option<nix::unistd::Pid>,
    /// The file `/slow` creates when it starts (see [`AppRoot::slow_mark`]).
    slow_mark: Option<PathBuf>,
    /// The threads reading stdout and stderr; they end when every writer has closed them.
    readers: Vec<thread::JoinHandle<()>>,
}

impl Server {
    fn start(mut command: Command, port: u16) -> Self {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut running = Running::spawn(&mut command);
        let log = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(
                running.child.stdout.take().expect("stdout"),
                Arc::clone(&log),
            ),
            collect(
                running.child.stderr.take().expect("stderr"),
                Arc::clone(&log),
            ),
        ];
        Self {
            running,
            port,
            log,
            term_pid: None,
            slow_mark: None,
            readers,
        }
    }

    /// Waits up to [`START`] for `run` to exit; then its whole output (the readers have
    /// reached the end of both pipes). `None` if it is still running.
    fn exit(&mut self) -> Option<(std::process::ExitStatus, String)> {
        let status = self.running.wait_timeout(START)?;
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Some((status, self.log()))
    }

    /// Waits until `GET path` answers 200; fails at once when `run` exits first.
    fn wait_ok(&mut self, path: &str) -> Result<(), String> {
        let deadline = std::time::Instant::now() + START;
        let mut last = String::from("nothing answered");
        while std::time::Instant::now() < deadline {
            match get(self.port, path) {
                Ok(r) if r.status == 200 => return Ok(()),
                Ok(r) => last = format!("status {}: {}", r.status, r.body),
                Err(e) => last = e,
            }
            if let Ok(Some(status)) = self.running.child.try_wait() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Err(format!("run exited with {status} ({last})"));
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Asserts that the process listening on the port is `expected`'s (a name of
    /// `APP_SERVER`), as the kernel shows it: its command line, not `run`'s report.
    fn assert_served_by(&self, expected: &str) -> Listening {
        let listening = listening_on(self.port, None)
            .unwrap_or_else(|e| panic!("{e}\n--- run output:\n{}", self.log()));
        assert_eq!(
            listening.server(),
            Some(expected),
            "port {} is served by {:?}\n--- run output:\n{}",
            self.port,
            listening.master,
            self.log()
        );
        listening
    }

    fn body(&self, path: &str) -> String {
        let r = get(self.port, path).unwrap_or_else(|e| panic!("{e}\n{}", self.log()));
        assert_eq!(r.status, 200, "GET {path}: {}\n{}", r.body, self.log());
        r.body
    }

    /// granian answers as soon as one worker has started; a SIGTERM while another is still
    /// starting leaves granian waiting for that one until the init's SIGKILL (granian 2.x).
    /// This waits for granian's own marker, "Started worker-N", for each of the processes
    /// `run` printed. (The other servers stop cleanly at any time.)
    fn wait_for_every_worker(&self) {
        let log = self.log();
        if !log.contains("run: Server:      granian") {
            return;
        }
        let processes: usize = log
            .lines()
            .find_map(|l| l.strip_prefix("run: Tuning:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no process count in the log:\n{log}"));
        let deadline = std::time::Instant::now() + START;
        while self.log().matches("Started worker-").count() < processes {
            assert!(
                std::time::Instant::now() < deadline,
                "granian did not start {processes} workers:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `GET /slow` from a thread and returns once the request is in the application (the
    /// fixture's marker exists); the thread ends with the response.
    fn slow_request_in_flight(&self) -> thread::JoinHandle<Result<Response, String>> {
        let port = self.port;
        let mark = self
            .slow_mark
            .clone()
            .expect("a server started with SLOW_MARK");
        let slow = thread::spawn(move || get(port, "/slow"));
        let deadline = std::time::Instant::now() + START;
        while !mark.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "/slow never started ({} missing)\n{}",
                mark.display(),
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
        slow
    }

    /// Once `run` has exited: its whole output, the readers having reached the end of both
    /// pipes (what the server printed last included).
    fn whole_log(&mut self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.readers.iter().any(|r| !r.is_finished()) {
            assert!(
                std::time::Instant::now() < deadline,
                "run exited but something still holds its output open\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
        for reader in self.readers.drain(..) {
            reader.join().expect("log reader");
        }
        self.log()
    }

    /// A slow request in flight when SIGTERM arrives still completes; `run` then exits 0.
    /// Returns run's whole output, for checks of what it must not contain.
    fn assert_graceful_stop(mut self) -> String {
        self.wait_for_every_worker();
        // The request is in the application before the stop signal.
        let slow = self.slow_request_in_flight();
        match self.term_pid {
            Some(pid) => nix::sys::signal::kill(pid, Signal::SIGTERM).expect("kill"),
            None => self.running.signal(Signal::SIGTERM),
        }
        let response = slow.join().expect("thread");
        let status = self.running.wait_timeout(Duration::from_secs(40));
        let log = self.log();
        let response = response.unwrap_or_else(|e| panic!("slow request failed: {e}\n{log}"));
        assert_eq!(response.status, 200, "{}\n{log}", response.body);
        assert_eq!(response.body, "slow request finished", "{log}");
        let status = status.unwrap_or_else(|| panic!("run did not exit after SIGTERM\n{log}"));
        assert_eq!(status.code(), Some(0), "a graceful stop exits 0\n{log}");
        self.whole_log()
    }

    /// Stops `run` the way the platform does (SIGTERM) and returns its whole output.
    fn stop(mut self) -> String {
        self.running.signal(Signal::SIGTERM);
        if self.running.wait_timeout(Duration::from_secs(40)).is_none() {
            panic!("run did not exit after SIGTERM\n{}", self.log());
        }
        self.whole_log()
    }
}

/// `run` starts its server in a process group of its own, so killing `run`'s group would leave
/// the server behind: stop it the way the platform does, with SIGTERM, and let `run` end it.
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.running.child.try_wait(), Ok(None)) {
            self.running.signal(Signal::SIGTERM);
            let _ = self.running.wait_timeout(Duration::from_secs(40));
        }
    }
}

/// stdout and stderr of a finished command, for assertions.
fn text_of(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_facts(root: &AppRoot, json: &str) {
    let dir = root.path().join(".python-s2i");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("facts.json"), json).expect("facts");
}

// ---------------------------------------------------------------- servers, WSGI

/// The default: mod_wsgi-express, with wsgi/static at /static/, serving as nobody under root.
#[test]
fn wsgi_py_under_mod_wsgi_by_default() {
    let root = AppRoot::new("run_wsgi_py");
    // What container images set: mod_wsgi-express alone would turn it into en_US.UTF-8.
    let server = root.serve(&[("LC_ALL", "C.UTF-8")], "/");
    assert!(server.body("/").starts_with("Hello from wsgi.py"));
    server.assert_served_by("mod_wsgi");
    assert_eq!(server.body("/static/style.css"), "body { color: teal; }\n");
    assert_static_file_rules(&server, &root);
    if nix::unistd::getuid().is_root() {
        assert!(
            server.body("/whoami").starts_with("nobody "),
            "Apache must not serve as root"
        );
        assert!(server.log().contains("Apache serves as user nobody"));
    } else {
        cannot_run("Apache serves as nobody only when run starts it as root: not checked");
    }
    assert!(server.log().contains("mod_wsgi-express start-server"));
    let log = server.assert_graceful_stop();
    assert!(
        !log.contains("Unsupported locale"),
        "Apache was given a locale the system lacks:\n{log}"
    );
}

fn wsgi_py_under(server_name: &str) {
    let root = AppRoot::new("run_wsgi_py");
    let server = root.serve(&[("APP_SERVER", server_name)], "/");
    assert!(
        server.body("/").starts_with("Hello from wsgi.py"),
        "{server_name}"
    );
    server.assert_served_by(server_name);
    assert_eq!(
        server.body("/static/style.css"),
        "body { color: teal; }\n",
        "{server_name} static files"
    );
    assert_static_file_rules(&server, &root);
    server.assert_graceful_stop();
}

/// Conditional requests get 304; no request reads a file outside the static directory
/// (`$APP_ROOT/src/wsgi/static`): not `..`, `%2e%2e`, an encoded slash, nor a symlink that
/// points out of it. The requests go out byte for byte over a socket, so the server sees the
/// `..` and the escapes as written.
fn assert_static_file_rules(server: &Server, root: &AppRoot) {
    let url = format!("http://127.0.0.1:{}/static/style.css", server.port);
    let first = ureq::get(&url).call().expect("GET static");
    let last_modified = first
        .header("last-modified")
        .unwrap_or_else(|| panic!("no Last-Modified\n{}", server.log()))
        .to_owned();
    let response = ureq::get(&url)
        .set("If-Modified-Since", &last_modified)
        .call();
    match response {
        Err(ureq::Error::Status(304, _)) => {}
        Ok(r) if r.status() == 304 => {}
        other => panic!("expected 304, got {other:?}\n{}", server.log()),
    }
    // The file every escape aims at: the app's source, two levels above wsgi/static/.
    let secret = "import pwd";
    assert!(fs::read_to_string(root.src().join("wsgi.py"))
        .expect("wsgi.py")
        .contains(secret));
    let static_dir = root.src().join("wsgi/static");
    std::os::unix::fs::symlink("../../wsgi.py", static_dir.join("link.py")).expect("symlink");
    std::os::unix::fs::symlink("../..", static_dir.join("up")).expect("symlink");
    for target in [
        "/static/../../wsgi.py",
        "/static/%2e%2e/%2e%2e/wsgi.py",
        "/static/%2E%2E/%2E%2E/wsgi.py",
        "/static/..%2f..%2fwsgi.py",
        "/static/%2e%2e%2f%2e%2e%2fwsgi.py",
        "/static/..%5c..%5cwsgi.py",
        "/static//../../wsgi.py",
        "/static/./../../wsgi.py",
        "/static/link.py",
        "/static/up/wsgi.py",
    ] {
        let answer = raw_get(server.port, target).unwrap_or_else(|e| panic!("GET {target}: {e}"));
        assert!(
            !answer.body.contains(secret),
            "GET {target} read a file outside the static directory ({} {})\n{}",
            answer.status,
            answer.head,
            server.log()
        );
    }
}

#[test]
fn wsgi_py_under_gunicorn() {
    wsgi_py_under("gunicorn");
}

#[test]
fn wsgi_py_under_uwsgi() {
    wsgi_py_under("uwsgi");
}

#[test]
fn wsgi_py_under_waitress() {
    wsgi_py_under("waitress");
}

#[test]
fn wsgi_py_under_hypercorn() {
    wsgi_py_under("hypercorn");
}

#[test]
fn wsgi_py_under_granian() {
    wsgi_py_under("granian");
}

/// Issue 22 item 9, the static-file wrapper under a server without `wsgi.file_wrapper`
/// (hypercorn): a NUL in the path goes to the application (was a 500 with a traceback); a
/// `.tar.gz` is sent as a gzip file, not with `Content-Encoding: gzip` (clients would undo it
/// and save a tar); the file is closed when the response ends (Python's own ResourceWarning
/// for an unclosed file, turned on for the server, says so).
#[test]
fn static_wrapper_nul_compressed_files_and_closed_handles() {
    let root = AppRoot::new("run_wsgi_py");
    let static_dir = root.src().join("wsgi/static");
    let tarball = static_dir.join("bundle.tar.gz");
    let out = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&static_dir)
        .arg("style.css")
        .output()
        .expect("tar");
    assert!(out.status.success());
    let server = root.serve(
        &[
            ("APP_SERVER", "hypercorn"),
            ("PYTHONWARNINGS", "always::ResourceWarning"),
        ],
        "/",
    );
    server.assert_served_by("hypercorn");
    let answer = raw_get(server.port, "/static/a%00b.css").expect("GET with a NUL");
    assert!(
        answer.status < 500,
        "{} {}\n{}",
        answer.status,
        answer.body,
        server.log()
    );
    let answer = raw_get(server.port, "/static/bundle.tar.gz").expect("GET tar.gz");
    let head = answer.head.to_ascii_lowercase();
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert!(
        head.contains("content-type: application/gzip"),
        "{}",
        answer.head
    );
    assert!(!head.contains("content-encoding"), "{}", answer.head);
    let size = fs::metadata(&tarball).expect("tarball").len();
    assert!(
        head.contains(&format!("content-length: {size}")),
        "{}",
        answer.head
    );
    for _ in 0..3 {
        assert_eq!(server.body("/static/style.css"), "body { color: teal; }\n");
    }
    // The warning comes when the response's iterable is freed, right after the response.
    thread::sleep(Duration::from_millis(500));
    let log = server.stop();
    assert!(
        !log.contains("Traceback"),
        "the NUL made a traceback:\n{log}"
    );
    assert!(
        !log.contains("ResourceWarning"),
        "a static file was left open:\n{log}"
    );
}

// ---------------------------------------------------------------- servers, ASGI

fn asgi_under(server_name: Option<&str>) {
    let root = AppRoot::new("run_asgi");
    let mut envs = vec![("APP_MODULE", "main:app")];
    if let Some(name) = server_name {
        envs.push(("APP_SERVER", name));
    }
    let server = root.serve(&envs, "/");
    assert_eq!(server.body("/"), "Hello from Starlette");
    server.assert_served_by(server_name.unwrap_or("uvicorn"));
    server.assert_graceful_stop();
}

#[test]
fn asgi_module_under_uvicorn_by_default() {
    asgi_under(None);
}

#[test]
fn asgi_module_under_hypercorn() {
    asgi_under(Some("hypercorn"));
}

#[test]
fn asgi_module_under_granian() {
    asgi_under(Some("granian"));
}

// ---------------------------------------------------------------- detection paths

/// Serves `fixture` and checks `GET path`; the server is dropped (killed) before the app root.
fn serves(fixture: &str, envs: &[(&str, &str)], path: &str, body: &str) -> (Server, AppRoot) {
    let root = AppRoot::new(fixture);
    let server = root.serve(envs, path);
    assert_eq!(server.body(path).trim_end(), body, "{}", server.log());
    (server, root)
}

#[test]
fn app_sh_starts_its_own_server() {
    serves("run_app_sh", &[], "/", "Hello from app.sh");
}

#[test]
fn app_py_starts_its_own_server() {
    serves("run_app_py", &[], "/", "Hello from app.py");
}

#[test]
fn procfile_web_line() {
    serves("run_procfile", &[], "/", "Hello from the Procfile");
}

#[test]
fn paste_ini_under_mod_wsgi() {
    let (server, _root) = serves("run_paste", &[], "/", "Hello from paste.ini");
    server.assert_served_by("mod_wsgi");
}

#[test]
fn paste_ini_under_gunicorn_through_the_wrapper() {
    let (server, _root) = serves(
        "run_paste",
        &[("APP_SERVER", "gunicorn")],
        "/",
        "Hello from paste.ini",
    );
    server.assert_served_by("gunicorn");
}

#[test]
fn openshift2_wsgi_application_with_static() {
    let (server, _root) = serves(
        "run_wsgi_application",
        &[],
        "/",
        "Hello from wsgi/application",
    );
    assert_eq!(server.body("/static/os2.txt"), "openshift 2 static\n");
    server.assert_served_by("mod_wsgi");
}

#[test]
fn openshift2_wsgi_application_under_waitress() {
    let (server, _root) = serves(
        "run_wsgi_application",
        &[("APP_SERVER", "waitress")],
        "/",
        "Hello from wsgi/application",
    );
    assert_eq!(server.body("/static/os2.txt"), "openshift 2 static\n");
    server.assert_served_by("waitress");
}

#[test]
fn pyproject_package() {
    serves("run_package", &[], "/", "Hello from the hello_pkg package");
}

#[test]
fn app_module_with_uwsgi() {
    let (server, _root) = serves(
        "run_app_module",
        &[
            ("APP_MODULE", "site_app.web:application"),
            ("APP_SERVER", "uwsgi"),
        ],
        "/",
        "Hello from APP_MODULE",
    );
    server.assert_served_by("uwsgi");
}

#[test]
fn app_module_factory_with_gunicorn() {
    let (server, _root) = serves(
        "run_app_module",
        &[
            ("APP_MODULE", "site_app.web:make_app()"),
            ("APP_SERVER", "gunicorn"),
        ],
        "/",
        "Hello from APP_MODULE",
    );
    server.assert_served_by("gunicorn");
}

/// Host mode (and images/Containerfile.app) has no s2i to put `.s2i/environment` into the
/// process's environment: run reads the file as assemble does, and a variable the platform
/// sets still wins over it.
#[test]
fn s2i_environment_steers_the_start_in_host_mode() {
    let root = AppRoot::new("run_app_module");
    fs::create_dir_all(root.src().join(".s2i")).expect("mkdir");
    fs::write(
        root.src().join(".s2i/environment"),
        "APP_MODULE=site_app.web:application\nAPP_SERVER=gunicorn\n",
    )
    .expect("write");
    let server = root.serve(&[], "/");
    assert_eq!(server.body("/"), "Hello from APP_MODULE");
    server.assert_served_by("gunicorn");
    let stdout = root.dry_run_ok(&[("APP_SERVER", "waitress")]);
    assert!(
        stdout.contains("Server:      waitress (APP_SERVER=waitress)"),
        "{stdout}"
    );
}

/// A deploy-time setting set to another value than the build saw is applied over the record
/// and named, by name only (a value may be a secret), in `--dry-run` and the start's log.
#[test]
fn run_names_the_overrides_it_applied() {
    let root = AppRoot::new("run_wsgi_py");
    write_facts(
        &root,
        r#"{"version":1,"summary":{"decided_with":{"APP_SERVER":"mod_wsgi","PORT":"8080","WEB_CONCURRENCY":"2"}}}"#,
    );
    let same = root.dry_run_ok(&[("APP_SERVER", "mod_wsgi"), ("WEB_CONCURRENCY", "2")]);
    assert!(!same.contains("Overrides:"), "{same}");
    let secret = "s3cr3t-module:app";
    let stdout = root.dry_run_ok(&[
        ("APP_SERVER", "gunicorn"),
        ("WEB_CONCURRENCY", "2"),
        ("DJANGO_SETTINGS_MODULE", secret),
    ]);
    let line =
        "Overrides:   APP_SERVER, DJANGO_SETTINGS_MODULE (set at start, not as the build saw)";
    assert!(stdout.contains(line), "{stdout}");
    assert!(!stdout.contains(secret), "{stdout}");
    let server = root.serve(&[("APP_SERVER", "waitress")], "/");
    server.assert_served_by("waitress");
    assert!(
        server
            .log()
            .contains("run: Overrides:   APP_SERVER, PORT ("),
        "{}",
        server.log()
    );
}

#[test]
fn gunicorn_conf_with_wsgi_app() {
    let (server, _root) = serves("run_gunicorn_conf", &[], "/", "Hello from gunicorn.conf.py");
    server.assert_served_by("gunicorn");
    assert!(server.log().contains("--config"), "{}", server.log());
}

#[test]
fn app_home_subdirectory() {
    serves(
        "run_app_home",
        &[("APP_HOME", "web")],
        "/",
        "Hello from APP_HOME",
    );
}

/// The Django fixture with a build record naming `static_url` and a STATIC_ROOT holding
/// `admin/base.css` ("/* collected */"); the SQLite file migrate is to make (`DJANGO_DB`).
fn django_root_with_a_build_record(static_url: &str) -> (AppRoot, PathBuf) {
    let root = AppRoot::new("run_django");
    let static_root = root.path().join("static");
    fs::create_dir_all(static_root.join("admin")).expect("mkdir");
    fs::write(static_root.join("admin/base.css"), "/* collected */\n").expect("static");
    write_facts(
        &root,
        &format!(
            r#"{{"version":1,"django":{{"settings_module":"mysite.settings","wsgi_application":"mysite.wsgi.application","static_url":"{static_url}","static_root":"{}","staticfiles_installed":true}}}}"#,
            static_root.display()
        ),
    );
    let db = root.path().join("db.sqlite3");
    (root, db)
}

/// Django from the build record: WSGI_APPLICATION, STATIC_URL -> STATIC_ROOT, migrate on start.
#[test]
fn django_from_the_build_record() {
    let (root, db) = django_root_with_a_build_record("/static/");
    let server = root.serve(&[("DJANGO_DB", db.to_str().expect("utf-8"))], "/");
    assert_eq!(server.body("/"), "Hello from Django");
    assert_eq!(server.body("/static/admin/base.css"), "/* collected */\n");
    assert!(db.is_file(), "migrate did not run\n{}", server.log());
    assert!(
        server.log().contains("migrate --noinput"),
        "{}",
        server.log()
    );
    server.assert_stop_exits_0();
}

impl Server {
    /// For apps without a /slow route: SIGTERM ends `run` cleanly, with exit status 0 (the
    /// server's graceful stop, not a kill: that would be 137 or 128+N).
    fn assert_stop_exits_0(mut self) {
        self.running.signal(Signal::SIGTERM);
        let status = self.running.wait_timeout(Duration::from_secs(40));
        let log = self.log();
        let status = status.unwrap_or_else(|| panic!("run did not exit\n{log}"));
        assert_eq!(status.code(), Some(0), "{status:?}\n{log}");
    }
}

/// docs/run.md, "Static files": a `STATIC_URL` that is a full URL (a CDN), or a
/// protocol-relative one (`//host/...`, another host too), is not served locally. The build
/// record names a CDN and a STATIC_ROOT holding a file: the running server answers
/// `/static/...` from the application (Django's 404), not from STATIC_ROOT.
#[test]
fn django_cdn_static_url_is_not_served_locally() {
    for cdn in [
        "https://cdn.example.com/static/",
        "//cdn.example.com/static/",
    ] {
        django_cdn_static_url_is_not_served(cdn);
    }
}

fn django_cdn_static_url_is_not_served(cdn: &str) {
    let (root, db) = django_root_with_a_build_record(cdn);
    let server = root.serve(
        &[
            ("APP_SERVER", "gunicorn"),
            ("DJANGO_DB", db.to_str().expect("utf-8")),
        ],
        "/",
    );
    assert_eq!(server.body("/"), "Hello from Django");
    for path in ["/static/admin/base.css", "/admin/base.css"] {
        let r = get(server.port, path).unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
        assert_eq!(r.status, 404, "GET {path}: {}\n{}", r.body, server.log());
        assert!(!r.body.contains("collected"), "{}", r.body);
    }
    server.assert_stop_exits_0();
    let report = root.dry_run_ok(&[("DJANGO_DB", db.to_str().expect("utf-8"))]);
    assert!(
        report.contains(&format!("STATIC_URL {cdn} is not a path on this server")),
        "{report}"
    );
}

#[test]
fn django_without_a_build_record_uses_manage_py_and_disable_migrate() {
    let root = AppRoot::new("run_django");
    let db = root.path().join("db.sqlite3");
    let stdout = root.dry_run_ok(&[("DISABLE_MIGRATE", "1")]);
    assert!(
        stdout.contains("manage.py sets DJANGO_SETTINGS_MODULE=mysite.settings"),
        "{stdout}"
    );
    assert!(stdout.contains("--entry-point mysite.wsgi"), "{stdout}");
    assert!(
        stdout.contains("migrate: skipped (DISABLE_MIGRATE=1)"),
        "{stdout}"
    );
    let server = root.serve(
        &[
            ("DISABLE_MIGRATE", "1"),
            ("DJANGO_DB", db.to_str().expect("utf-8")),
        ],
        "/",
    );
    assert_eq!(server.body("/"), "Hello from Django");
    assert!(!db.exists(), "DISABLE_MIGRATE=1 must skip migrate");
}

#[test]
fn django_asgi_application_under_uvicorn() {
    let root = AppRoot::new("run_django");
    write_facts(
        &root,
        r#"{"django":{"settings_module":"mysite.settings","wsgi_application":"mysite.wsgi.application","asgi_application":"mysite.asgi.application"}}"#,
    );
    // assemble records ASGI_APPLICATION for every project with an asgi.py: auto stays WSGI.
    let out = root.dry_run(&[("DISABLE_MIGRATE", "1")]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("WSGI application mysite.wsgi:application"),
        "{stdout}"
    );
    assert!(stdout.contains("Server:      mod_wsgi"), "{stdout}");
    let server = root.serve(&[("DISABLE_MIGRATE", "1"), ("APP_SERVER", "uvicorn")], "/");
    assert_eq!(server.body("/"), "Hello from Django");
    assert!(
        server
            .log()
            .contains("ASGI application mysite.asgi:application"),
        "{}",
        server.log()
    );
}

// ---------------------------------------------------------------- start-up behaviour

/// MOD_WSGI_RELOAD_ON_CHANGES: a changed source file is served without a restart.
fn reloads_on_changes(server_name: &str) {
    let root = AppRoot::new("run_app_home");
    let envs = [
        ("APP_HOME", "web"),
        ("APP_SERVER", server_name),
        ("MOD_WSGI_RELOAD_ON_CHANGES", "1"),
    ];
    let server = root.serve(&envs, "/");
    assert_eq!(server.body("/"), "Hello from APP_HOME");
    server.assert_served_by(server_name);
    let file = root.src().join("web/wsgi.py");
    let source = fs::read_to_string(&file).expect("read");
    fs::write(&file, source.replace("Hello from APP_HOME", "Reloaded")).expect("write");
    // A modification time certainly later than the one the reloader saw, whatever the
    // file system's time resolution (instead of sleeping past it).
    fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() + Duration::from_secs(2)))
        .expect("set mtime");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if get(server.port, "/").is_ok_and(|r| r.body == "Reloaded") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reload\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn reload_on_changes_mod_wsgi() {
    reloads_on_changes("mod_wsgi");
}

#[test]
fn reload_on_changes_gunicorn() {
    reloads_on_changes("gunicorn");
}

#[test]
fn deploy_hooks_run_before_the_server() {
    let root = AppRoot::new("run_hooks");
    let mark = root.path().join("deployed");
    let server = root.serve(&[("DEPLOY_MARK", mark.to_str().expect("utf-8"))], "/");
    assert_eq!(server.body("/"), "HOOK_VAR=from-deploy-env deployed=True");
    let log = server.log();
    assert!(log.contains("deploy hook ran"), "{log}");
    assert!(log.contains("failing deploy hook"), "{log}");
    assert!(
        log.contains("failed (exit status: 3); starting the application anyway"),
        "{log}"
    );
}

/// Writes an executable hook at `relative` under the sources that appends its own name to
/// `$HOOKS_LOG` and exits with `$HOOK_EXIT` (0 when unset).
fn write_logging_hook(root: &AppRoot, relative: &str) {
    let path = root.src().join(relative);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(
        &path,
        format!("#!/bin/sh\necho {relative} >> \"$HOOKS_LOG\"\nexit \"${{HOOK_EXIT:-0}}\"\n"),
    )
    .expect("write hook");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn hooks_log(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// docs/run.md, "Before the server starts": `.warpdrive/action_hooks/deploy-cfg` runs on the
/// first start of the container only, before the `deploy` hooks; those run on every start, in
/// the order `.s2i`, `.warpdrive`, `.docker`, `.whiskey`. Two starts of the same `$APP_ROOT`
/// (a container restarted), the hooks' own record of what ran.
#[test]
fn deploy_cfg_runs_on_the_first_start_only_and_deploy_hooks_in_order() {
    let root = AppRoot::new("run_wsgi_py");
    let deploy = [
        ".s2i/action_hooks/deploy",
        ".warpdrive/action_hooks/deploy",
        ".docker/action_hooks/deploy",
        ".whiskey/action_hooks/deploy",
    ];
    let cfg = ".warpdrive/action_hooks/deploy-cfg";
    // Written in reverse, so that no directory order matches the documented one by chance.
    for hook in deploy.iter().rev().chain([&cfg]) {
        write_logging_hook(&root, hook);
    }
    let log = root.path().join("marks/hooks.log");
    let env = [
        ("APP_SERVER", "gunicorn"),
        ("HOOKS_LOG", log.to_str().expect("utf-8")),
    ];
    let first = root.serve(&env, "/");
    first.assert_stop_exits_0();
    let second = root.serve(&env, "/");
    let second_log = second.log();
    second.assert_stop_exits_0();
    let mut expected = vec![cfg];
    expected.extend(deploy);
    expected.extend(deploy);
    assert_eq!(hooks_log(&log), expected, "{second_log}");
    assert!(
        second_log.contains("deploy-cfg already ran in this container"),
        "{second_log}"
    );
}

/// docs/run.md, "The release phase": `run --release` exits with a failing
/// `.s2i/action_hooks/release`'s own status and runs nothing after it (the Procfile's
/// `release:` line); when the hook passes, the Procfile's line runs too and the phase exits 0.
#[test]
fn failing_release_hook_sets_the_release_phases_exit_status() {
    let root = AppRoot::new("run_wsgi_py");
    write_logging_hook(&root, ".s2i/action_hooks/release");
    fs::write(
        root.src().join("Procfile"),
        "release: echo Procfile-release >> \"$HOOKS_LOG\"\n",
    )
    .expect("Procfile");
    let log = root.path().join("marks/release.log");
    let release = |exit: &str| {
        let out = root
            .command(
                free_port(),
                &[
                    ("HOOKS_LOG", log.to_str().expect("utf-8")),
                    ("HOOK_EXIT", exit),
                ],
            )
            .arg("--release")
            .stdin(Stdio::null())
            .output()
            .expect("run --release");
        (out.status.code(), text_of(&out))
    };
    let (code, output) = release("7");
    assert_eq!(code, Some(7), "{output}");
    assert_eq!(hooks_log(&log), [".s2i/action_hooks/release"], "{output}");
    assert!(!output.contains("release phase done"), "{output}");
    fs::remove_file(&log).expect("rm");
    let (code, output) = release("0");
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(
        hooks_log(&log),
        [".s2i/action_hooks/release", "Procfile-release"],
        "{output}"
    );
}

/// OpenShift runs images as a random UID with no passwd entry: run gives it one.
#[test]
fn arbitrary_uid_gets_a_passwd_entry() {
    if !nix::unistd::getuid().is_root() {
        cannot_run("needs root to switch to an arbitrary UID (setpriv --reuid)");
        return;
    }
    let root = AppRoot::new("run_wsgi_py");
    let uid = "1000123";
    assert!(
        !fs::read_to_string("/etc/passwd")
            .expect("passwd")
            .contains(&format!(":{uid}:")),
        "UID {uid} must have no entry for this test"
    );
    let port = free_port();
    let mut command = clean_command("setpriv");
    command
        .args(["--reuid", uid, "--regid", "0", "--clear-groups", "--"])
        .arg(bin("run"));
    command
        .env("APP_ROOT", root.path())
        .env("PORT", port.to_string())
        .env("APP_SERVER", "gunicorn")
        .env("HOME", "/");
    let server = Server::start(command, port);
    wait_for_ok(port, "/", START).unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert_eq!(
        server.body("/whoami"),
        format!("default {uid} {}", root.src().display()),
        "{}",
        server.log()
    );
    assert!(server.log().contains("nss_wrapper"), "{}", server.log());
}

/// A wsgi.py that cannot be imported: the traceback reaches the log and nothing answers 200.
#[test]
fn broken_wsgi_py_under_gunicorn_exits_with_the_traceback() {
    let root = AppRoot::new("run_broken_wsgi");
    // One worker: with several, gunicorn 23+ raises its HaltServer a second time while halting
    // and Python exits 1 instead of gunicorn's documented code.
    let output = root
        .command(
            free_port(),
            &[("APP_SERVER", "gunicorn"), ("WEB_CONCURRENCY", "1")],
        )
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = text(&output.stderr);
    // gunicorn's arbiter exits 3 (WORKER_BOOT_ERROR, "Worker failed to boot") when a worker
    // cannot boot; docs/run.md: `run` exits with it.
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Worker failed to boot"), "{stderr}");
    assert!(stderr.contains("Traceback"), "{stderr}");
    assert!(
        stderr.contains("No module named 'no_such_module_for_the_run_tests'"),
        "{stderr}"
    );
}

#[test]
fn broken_wsgi_py_under_mod_wsgi_answers_500_with_the_traceback_in_the_log() {
    let root = AppRoot::new("run_broken_wsgi");
    let port = free_port();
    let server = Server::start(root.command(port, &[]), port);
    assert!(
        python_s2i_tests::wait_for_port(port, START),
        "{}",
        server.log()
    );
    let mut last = None;
    for _ in 0..100 {
        if let Ok(r) = get(port, "/") {
            last = Some(r);
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let response = last.expect("an answer");
    assert_eq!(response.status, 500);
    // Apache writes the error log line after the answer: wait for it.
    let deadline = std::time::Instant::now() + START;
    let log = loop {
        let log = server.log();
        if log.contains("Traceback") && log.contains("no_such_module_for_the_run_tests") {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no traceback in the log:\n{log}"
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(log.contains("Traceback"), "{log}");
}

/// Overload under the default server: a request that waited longer than the queue timeout
/// (5 s) for a thread is answered with mod_wsgi's 504 as soon as a thread frees, instead of
/// being served late (mod_wsgi-express alone would wait 45 s). One process with one thread
/// makes the queue: `/slow` holds the thread 9 s, and `/` waits behind it.
#[test]
fn overload_queue_times_out_with_a_fast_504() {
    let root = AppRoot::new("run_wsgi_py");
    let server = root.serve(
        &[
            ("MOD_WSGI_PROCESSES", "1"),
            ("MOD_WSGI_THREADS", "1"),
            ("SLOW_SECONDS", "9"),
        ],
        "/",
    );
    let slow = server.slow_request_in_flight();
    let queued = get(server.port, "/").unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    let slow = slow.join().expect("thread");
    let log = server.log();
    assert_eq!(queued.status, 504, "{}\n{log}", queued.body);
    assert!(log.contains("Queue timeout expired"), "{log}");
    let slow = slow.unwrap_or_else(|e| panic!("{e}\n{log}"));
    assert_eq!(
        slow.status, 200,
        "the request holding the thread completes\n{log}"
    );
    // The server goes on serving once the queue has drained.
    assert!(server.body("/").starts_with("Hello from wsgi.py"));
}

/// Apache starts with a thread for every request slot (mod_wsgi-express alone starts a fifth of
/// its threads, fewer than the slots, and forks the rest one child a second under load). For
/// every automatic shape (`WEB_CONCURRENCY` 1 to 12), mod_wsgi-express's `setup-server` writes
/// the configuration of `run --dry-run`'s command, and its event MPM section is read.
#[test]
fn apache_starts_with_a_thread_for_every_slot() {
    let root = AppRoot::new("run_wsgi_py");
    for processes in 1..=12u32 {
        let n = processes.to_string();
        let stdout = root.dry_run_ok(&[("WEB_CONCURRENCY", &n)]);
        let command: Vec<&str> = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Command:"))
            .unwrap_or_else(|| panic!("no command in:\n{stdout}"))
            .split_whitespace()
            .collect();
        let value = |name: &str| -> u32 {
            let at = command.iter().position(|a| *a == name);
            at.and_then(|i| command.get(i + 1)?.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {command:?}"))
        };
        let slots = value("--processes") * value("--threads");
        let server_root = root.path().join(format!("setup-{processes}"));
        let mut args: Vec<String> = command[1..].iter().map(|a| (*a).to_owned()).collect();
        args[0] = "setup-server".into();
        let at = args
            .iter()
            .position(|a| a == "--server-root")
            .expect("--server-root");
        args[at + 1] = server_root.display().to_string();
        let setup = Command::new(command[0])
            .args(&args)
            .output()
            .expect("mod_wsgi-express setup-server");
        assert!(setup.status.success(), "{args:?}\n{}", text_of(&setup));
        let conf = fs::read_to_string(server_root.join("httpd.conf")).expect("httpd.conf");
        // The event MPM's section (the MPM mod_wsgi-express chooses here).
        let event = conf
            .split("<IfModule mpm_event_module>")
            .nth(1)
            .expect("an event MPM section");
        let directive = |name: &str| -> u32 {
            event
                .lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{name} ")))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in:\n{event}"))
        };
        let started = directive("StartServers") * directive("ThreadsPerChild");
        assert!(
            started >= slots && directive("MinSpareThreads") >= slots,
            "{processes} processes: Apache starts {started} threads for {slots} slots:\n{event}"
        );
    }
}

/// docs/run.md, "Root" and the locale: as root, `MOD_WSGI_USER`/`MOD_WSGI_GROUP` choose the
/// account Apache serves as (instead of `nobody`, as the application home is root's), and
/// `MOD_WSGI_LOCALE` replaces the locale (`LC_ALL`, here C.UTF-8). Read from the process that
/// answered (its PID is in the body): its real user and group, and its environment.
/// (mod_wsgi-express's `apachectl` reads `MOD_WSGI_USER`/`MOD_WSGI_GROUP` from its environment
/// too, and they beat `--user`/`--group`: run must pass them on unchanged.)
#[test]
fn mod_wsgi_user_group_and_locale_take_effect_on_the_running_server() {
    if !nix::unistd::getuid().is_root() {
        cannot_run("MOD_WSGI_USER/MOD_WSGI_GROUP apply when run is root");
        return;
    }
    let root = AppRoot::new("run_wsgi_py");
    let server = root.serve(
        &[
            ("APP_SERVER", "mod_wsgi"),
            ("LC_ALL", "C.UTF-8"),
            ("MOD_WSGI_USER", "daemon"),
            ("MOD_WSGI_GROUP", "adm"),
            ("MOD_WSGI_LOCALE", "C.utf8"),
        ],
        "/",
    );
    server.assert_served_by("mod_wsgi");
    let body = server.body("/");
    let pid: u32 = body
        .strip_prefix("Hello from wsgi.py (pid ")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no PID in {body:?}"));
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let ids = |field: &str| -> String {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    };
    let environ = fs::read(format!("/proc/{pid}/environ")).expect("environ");
    let environ = String::from_utf8_lossy(&environ);
    let locale = environ
        .split('\0')
        .find_map(|v| v.strip_prefix("LC_ALL="))
        .unwrap_or("(unset)");
    // daemon is UID 1 (its own group is 1); adm is GID 4. All three in one comparison, so a
    // failure shows each of them.
    assert_eq!(
        (ids("Uid:").as_str(), ids("Gid:").as_str(), locale),
        ("1", "4", "C.utf8"),
        "(UID, GID, LC_ALL) of the process that answered\n{}",
        server.log()
    );
}

// ---------------------------------------------------------------- --dry-run

#[test]
fn dry_run_explains_every_rule_and_the_command() {
    let root = AppRoot::new("run_wsgi_py");
    let out = root.dry_run(&[("WEB_CONCURRENCY", "3"), ("MOD_WSGI_ACCESS_LOG", "1")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for line in [
        "[no   ] APP_SCRIPT: APP_SCRIPT is not set",
        "[no   ] app.sh: no app.sh",
        "[no   ] app.py: no app.py",
        "[no   ] paste.ini: no paste.ini",
        "[MATCH] wsgi.py: wsgi.py exists: a WSGI script; wsgi/static is served at /static/",
        "Server:      mod_wsgi (auto: the default for WSGI applications)",
        "WEB_CONCURRENCY=3 processes",
        "SIGTERM is sent as SIGWINCH",
        "--processes 3 --threads 22",
        // Overload: 4 connections per thread, and 5 s in the queue at most.
        "--queue-timeout 5",
        "--max-clients 264",
        "--url-alias /static/",
        "--access-log",
        "PYTHONPATH=",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    // Nothing was started or written.
    assert!(!root.path().join(".python-s2i/run").exists());
}

/// The user's own queue timeout and worker shape replace run's overload settings, which are
/// then not passed at all (mod_wsgi-express sizes Apache from the user's shape).
#[test]
fn dry_run_user_overload_settings_win() {
    let root = AppRoot::new("run_wsgi_py");
    let stdout = root.dry_run_ok(&[("MOD_WSGI_QUEUE_TIMEOUT", "30"), ("MOD_WSGI_THREADS", "4")]);
    assert!(stdout.contains("--queue-timeout 30"), "{stdout}");
    assert_eq!(stdout.matches("--queue-timeout").count(), 1, "{stdout}");
    assert!(!stdout.contains("--max-clients"), "{stdout}");
}

#[test]
fn dry_run_server_args_reload_and_warpdrive_files() {
    let root = AppRoot::new("run_wsgi_py");
    let wd = root.src().join(".warpdrive");
    fs::create_dir_all(&wd).expect("mkdir");
    fs::write(wd.join("server_type"), "gunicorn\n").expect("write");
    fs::write(wd.join("server_args"), "--timeout 90 --name app-$PORT\n").expect("write");
    let out = root.dry_run(&[("MOD_WSGI_RELOAD_ON_CHANGES", "1")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("gunicorn (.warpdrive/server_type: gunicorn)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--reload --timeout 90 --name app-8080 s2i_wsgi:application"),
        "{stdout}"
    );
    // warpdrive's manual mode switches detection off.
    fs::write(wd.join("deploy_mode"), "gunicorn\n").expect("write");
    let out = root.dry_run(&[]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("auto detection is off"), "{stdout}");
    assert!(!stdout.contains("wsgi.py exists"), "{stdout}");
}

/// sclorg users' APP_CONFIG: gunicorn serves (auto mode), and the configuration's own `bind`,
/// workers and worker class win over run's defaults: a config that binds port X listens on X.
#[test]
fn app_config_means_gunicorn_and_its_bind_wins() {
    let root = AppRoot::new("compat_gunicorn_config");
    let port = free_port();
    let config = root.src().join("gunicorn_config.py");
    let text = fs::read_to_string(&config).expect("config");
    fs::write(
        &config,
        text.replace("0.0.0.0:8085", &format!("127.0.0.1:{port}")),
    )
    .expect("write");
    let env = [("APP_CONFIG", "\"gunicorn_config.py\"")];
    let dry = root.dry_run(&env);
    let report = text_of(&dry);
    assert!(
        report.contains("gunicorn (auto: APP_CONFIG names a gunicorn configuration)"),
        "{report}"
    );
    assert!(
        !report.contains("--bind"),
        "the config's bind must win:\n{report}"
    );
    assert!(
        !report.contains("--workers") && !report.contains("--threads"),
        "{report}"
    );
    // run's PORT is another port: the server listens where the configuration says.
    let server = Server::start(root.command(free_port(), &env), port);
    if let Err(e) = wait_for_ok(port, "/", START) {
        panic!(
            "no 200 on the configured port {port}: {e}\n{}",
            server.log()
        );
    }
    assert_eq!(
        server.body("/"),
        format!("gunicorn config app on port {port} via gunicorn\n")
    );
    server.assert_served_by("gunicorn");
    let log = server.log();
    assert!(log.contains("gthread"), "worker class of the file:\n{log}");
}

/// A server the app lists in its requirements is auto mode's pick, and --dry-run says why;
/// GUNICORN_CMD_ARGS alone means gunicorn.
#[test]
fn declared_server_and_gunicorn_cmd_args_choose_the_server() {
    let root = AppRoot::new("run_wsgi_py");
    fs::write(root.src().join("requirements.txt"), "flask\nwaitress>=2\n").expect("write");
    let report = text_of(&root.dry_run(&[]));
    assert!(
        report.contains("waitress (auto: requirements.txt lists waitress)"),
        "{report}"
    );
    fs::remove_file(root.src().join("requirements.txt")).expect("rm");
    let report = text_of(&root.dry_run(&[]));
    assert!(
        report.contains("mod_wsgi (auto: the default for WSGI applications)"),
        "{report}"
    );
    let report = text_of(&root.dry_run(&[("GUNICORN_CMD_ARGS", "'--workers 3'")]));
    assert!(
        report.contains("gunicorn (auto: GUNICORN_CMD_ARGS is set)"),
        "{report}"
    );
    assert!(!report.contains("--workers"), "{report}");
}

/// `.s2i/environment` values arrive quoted through s2i: `APP_MODULE="module:callable"`.
#[test]
fn quoted_values_as_s2i_delivers_them() {
    let (server, _root) = serves(
        "run_app_module",
        &[
            ("APP_MODULE", "\"site_app.web:make_app()\""),
            ("APP_SERVER", "'gunicorn'"),
        ],
        "/",
        "Hello from APP_MODULE",
    );
    server.assert_served_by("gunicorn");
}

#[test]
fn dry_run_gunicorn_respects_gunicorn_cmd_args() {
    let root = AppRoot::new("run_wsgi_py");
    let out = root.dry_run(&[
        ("APP_SERVER", "gunicorn"),
        ("GUNICORN_CMD_ARGS", "--workers 5 --bind :9000"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        !stdout.contains("--workers"),
        "GUNICORN_CMD_ARGS must win:\n{stdout}"
    );
    assert!(!stdout.contains("--bind"), "{stdout}");
    // The tuned threads (ceil(64 / processes) within 8..=32) are still passed.
    let threads: u32 = stdout
        .split("--threads ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no --threads in:\n{stdout}"));
    assert!((8..=32).contains(&threads), "{stdout}");
    // And on the running server: gunicorn listens where GUNICORN_CMD_ARGS binds (not on
    // run's PORT), with the master and the three workers it asks for in the process tree.
    let bind = free_port();
    let args = format!("--workers 3 --bind 127.0.0.1:{bind}");
    let env = [
        ("APP_SERVER", "gunicorn"),
        ("GUNICORN_CMD_ARGS", args.as_str()),
    ];
    let server = Server::start(root.command(free_port(), &env), bind);
    if let Err(e) = wait_for_ok(bind, "/", START) {
        panic!(
            "no 200 on GUNICORN_CMD_ARGS's port {bind}: {e}\n{}",
            server.log()
        );
    }
    server.assert_served_by("gunicorn");
    if let Err(e) = with_workers(bind, None, 3, Duration::from_secs(15)) {
        panic!("GUNICORN_CMD_ARGS --workers 3: {e}\n{}", server.log());
    }
}

/// docs/run.md, "Passing options through": `UWSGI_PROCESSES`, `UVICORN_WORKERS` and
/// `GRANIAN_WORKERS` replace run's process count. run's own count is pinned at one
/// (`WEB_CONCURRENCY=1`) and the server's variable asks for three: the running master has three
/// workers holding the port (`GUNICORN_CMD_ARGS`: `dry_run_gunicorn_respects_gunicorn_cmd_args`).
#[test]
fn server_variables_set_the_running_servers_worker_count() {
    for (server_name, fixture_name, variable, module) in [
        ("uwsgi", "run_wsgi_py", "UWSGI_PROCESSES", None),
        ("uvicorn", "run_asgi", "UVICORN_WORKERS", Some("main:app")),
        ("granian", "run_wsgi_py", "GRANIAN_WORKERS", None),
    ] {
        let root = AppRoot::new(fixture_name);
        let mut env = vec![
            ("APP_SERVER", server_name),
            ("WEB_CONCURRENCY", "1"),
            (variable, "3"),
        ];
        if let Some(module) = module {
            env.push(("APP_MODULE", module));
        }
        let server = root.serve(&env, "/");
        server.assert_served_by(server_name);
        let seen = if server_name == "granian" {
            granian_workers(server.port, 3)
        } else {
            with_workers(server.port, None, 3, START).map(|_| ())
        };
        if let Err(e) = seen {
            panic!("{variable}=3 under {server_name}: {e}\n{}", server.log());
        }
    }
}

/// granian 2.x's workers each listen on a socket of their own (`SO_REUSEPORT`), and its main
/// process on none: they are the children of the main process, the parent of whichever holds a
/// socket on the port. Waits up to [`START`] for `count` of them.
fn granian_workers(port: u16, count: usize) -> Result<(), String> {
    let deadline = std::time::Instant::now() + START;
    loop {
        let main = listening_on(port, None)?.master.ppid;
        let workers: Vec<u32> = children(main)
            .into_iter()
            .filter(|c| c.cmdline.contains("granian"))
            .map(|c| c.pid)
            .collect();
        if workers.len() == count {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "expected {count} granian workers under PID {main}, saw {workers:?}"
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// `GRANIAN_BLOCKING_THREADS` and `UWSGI_THREADS` replace run's thread count (docs/run.md,
/// "Passing options through"), seen from outside: with one worker and one thread, the server
/// runs two concurrent 2-second requests one after the other (run's own count, 4 or more, would
/// run them side by side).
#[test]
fn thread_counts_from_the_environment_take_effect() {
    for (server, variables) in [
        (
            "granian",
            [("GRANIAN_WORKERS", "1"), ("GRANIAN_BLOCKING_THREADS", "1")],
        ),
        ("uwsgi", [("UWSGI_PROCESSES", "1"), ("UWSGI_THREADS", "1")]),
    ] {
        let root = AppRoot::new("run_wsgi_py");
        let mut envs = vec![("APP_SERVER", server), ("SLOW_SECONDS", "2")];
        envs.extend(variables);
        let running = root.serve(&envs, "/");
        running.assert_served_by(server);
        let port = running.port;
        let started = std::time::Instant::now();
        let requests: Vec<_> = (0..2)
            .map(|_| thread::spawn(move || get(port, "/slow")))
            .collect();
        for request in requests {
            let r = request
                .join()
                .expect("thread")
                .unwrap_or_else(|e| panic!("{e}\n{}", running.log()));
            assert_eq!(r.body, "slow request finished", "{}", running.log());
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(4),
            "{server}: two 2 s requests took {took:?}: not one after the other\n{}",
            running.log()
        );
    }
}

// ---------------------------------------------------------------- bad input

fn fails(root: &AppRoot, envs: &[(&str, &str)], expected: &[&str]) {
    for dry in [true, false] {
        let mut command = root.command(free_port(), envs);
        if dry {
            command.arg("--dry-run");
        }
        let out = command.stdin(Stdio::null()).output().expect("run");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "dry={dry}: {stderr}");
        assert!(stderr.starts_with("run: ERROR: "), "{stderr}");
        assert!(stderr.contains("run: How to fix:\nrun:   1. "), "{stderr}");
        for part in expected {
            assert!(stderr.contains(part), "missing {part:?} in:\n{stderr}");
        }
    }
}

#[test]
fn nothing_runnable_lists_what_was_looked_for() {
    let root = AppRoot::new("run_nothing");
    fails(
        &root,
        &[],
        &[
            "Nothing to run was found",
            "app.sh: no app.sh",
            "wsgi.py: no wsgi.py",
            "Django: no Django in the build record, and no manage.py",
            "never falls back to a development server",
        ],
    );
}

#[test]
fn unknown_app_server_lists_valid_names() {
    let root = AppRoot::new("run_wsgi_py");
    fails(
        &root,
        &[("APP_SERVER", "tornado")],
        &[
            "Unknown server `tornado`",
            "APP_SERVER=tornado",
            "auto, mod_wsgi, gunicorn, uwsgi, waitress, uvicorn, hypercorn, granian",
        ],
    );
}

#[test]
fn chosen_server_not_installed() {
    let root = AppRoot::with_venv_entries(
        "run_wsgi_py",
        Some(&["python", "python3", "mod_wsgi-express"]),
    );
    fails(
        &root,
        &[("APP_SERVER", "waitress"), ("PATH", "/usr/bin:/bin")],
        &[
            "The server waitress was chosen but is not installed",
            "APP_SERVER=waitress",
            "Add `waitress` to requirements.txt",
        ],
    );
}

#[test]
fn asgi_server_for_a_wsgi_app() {
    let root = AppRoot::new("run_wsgi_py");
    fails(
        &root,
        &[("APP_SERVER", "uvicorn")],
        &[
            "uvicorn cannot serve this WSGI application",
            "mod_wsgi, gunicorn",
        ],
    );
}

#[test]
fn malformed_app_module() {
    let root = AppRoot::new("run_app_module");
    fails(
        &root,
        &[("APP_MODULE", "site_app/web.py")],
        &[
            "APP_MODULE=\"site_app/web.py\"",
            "is a file name",
            "site_app.web",
        ],
    );
    fails(
        &root,
        &[("APP_MODULE", "site_app.web:not a name")],
        &["is not a Python name"],
    );
}

#[test]
fn non_numeric_port_and_web_concurrency() {
    let root = AppRoot::new("run_wsgi_py");
    for (name, value) in [
        ("PORT", "http"),
        ("PORT", "99999"),
        ("WEB_CONCURRENCY", "lots"),
    ] {
        let mut command = root.command(8080, &[]);
        command.env(name, value).arg("--dry-run");
        let out = command.output().expect("run");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("run: ERROR: {name} is not valid.")),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("{name}={value:?}")), "{stderr}");
    }
}

/// README, "How values are read": `PYTHONHOME` is refused wherever it is set: run's
/// environment, `.warpdrive/environment` (both also by `--dry-run`), and `deploy-env`.
#[test]
fn pythonhome_is_refused_wherever_it_is_set() {
    let root = AppRoot::new("run_wsgi_py");
    let headline = "PYTHONHOME is set, which would break the application's virtualenv.";
    fails(
        &root,
        &[("PYTHONHOME", "/usr")],
        &[
            headline,
            "PYTHONHOME is set (the environment run was started with)",
        ],
    );
    let file = root.src().join(".warpdrive/environment");
    fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    fs::write(&file, "PYTHONHOME=/usr\n").expect("write");
    fails(&root, &[], &[headline, ".warpdrive/environment"]);
    fs::remove_file(&file).expect("rm");
    let hooks = root.src().join(".warpdrive/action_hooks");
    fs::create_dir_all(&hooks).expect("mkdir");
    fs::write(hooks.join("deploy-env"), "export PYTHONHOME=/usr\n").expect("write");
    let out = root
        .command(free_port(), &[])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(headline), "{stderr}");
    assert!(stderr.contains("deploy-env"), "{stderr}");
}

/// An `APP_ROOT` with a `:` is refused by name (PATH and PYTHONPATH split on it: the
/// virtualenv's `bin` could not be put on PATH), though the application there is fine.
#[test]
fn an_app_root_with_a_colon_is_refused() {
    let root = AppRoot::new("run_wsgi_py");
    let colon = tempfile::tempdir().expect("tempdir");
    let link = colon.path().join("app:root");
    std::os::unix::fs::symlink(root.path(), &link).expect("link");
    fails(
        &root,
        &[("APP_ROOT", link.to_str().expect("utf-8"))],
        &[
            "APP_ROOT is set",
            "app:root\" holds a `:`, which separates the directories of PATH",
        ],
    );
}

#[test]
fn app_home_outside_the_sources() {
    let root = AppRoot::new("run_app_home");
    fails(
        &root,
        &[("APP_HOME", "../..")],
        &[
            "The application home is outside the source tree",
            "APP_HOME=../..",
        ],
    );
    fails(&root, &[("APP_HOME", "nope")], &["does not exist"]);
}

#[test]
fn app_sh_not_executable() {
    let root = AppRoot::new("run_app_sh");
    let script = root.src().join("app.sh");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).expect("chmod");
    fails(&root, &[], &["app.sh is not executable", "chmod +x app.sh"]);
}

#[test]
fn unknown_argument_is_a_usage_error() {
    let out = Command::new(bin("run"))
        .arg("--frobnicate")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown argument `--frobnicate`"));
}

// ---------------------------------------------------------------- tuning from real cgroups

/// A cgroup made for one test (v1 `cpu` + `memory` hierarchies, or v2), removed on drop.
struct TestCgroup {
    dirs: Vec<PathBuf>,
}

impl TestCgroup {
    /// Half a CPU and 256 MiB, or `None` when cgroups cannot be made here (not root, read-only).
    fn half_cpu_256m() -> Option<Self> {
        let name = format!("python-s2i-run-test-{}", std::process::id());
        let base = Path::new("/sys/fs/cgroup");
        let v2 = base.join("cgroup.controllers").exists();
        let (cpu, memory) = if v2 {
            let _ = fs::write(base.join("cgroup.subtree_control"), "+cpu +memory");
            (base.join(&name), base.join(&name))
        } else {
            (
                base.join("cpu").join(&name),
                base.join("memory").join(&name),
            )
        };
        let mut group = Self { dirs: Vec::new() };
        for dir in [&cpu, &memory] {
            if !group.dirs.contains(dir) {
                fs::create_dir(dir).ok()?;
                group.dirs.push(dir.clone());
            }
        }
        let written = if v2 {
            fs::write(cpu.join("cpu.max"), "50000 100000").is_ok()
                && fs::write(memory.join("memory.max"), "268435456").is_ok()
        } else {
            fs::write(cpu.join("cpu.cfs_period_us"), "100000").is_ok()
                && fs::write(cpu.join("cpu.cfs_quota_us"), "50000").is_ok()
                && fs::write(memory.join("memory.limit_in_bytes"), "268435456").is_ok()
        };
        written.then_some(group)
    }

    /// A shell line that moves itself into the group, then execs the rest.
    fn enter_and_exec(&self) -> String {
        let moves: Vec<String> = self
            .dirs
            .iter()
            .map(|d| format!("echo $$ > {}/cgroup.procs", d.display()))
            .collect();
        format!("{} && exec \"$@\"", moves.join(" && "))
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The tuning reads the limits of the cgroup `run` is in: 0.5 CPU -> 1 process; 256 MiB -> 1.
#[test]
fn tuning_follows_the_cgroup_limits() {
    let Some(group) = TestCgroup::half_cpu_256m() else {
        cannot_run("cannot create a cgroup here (needs root and a writable cgroupfs)");
        return;
    };
    let root = AppRoot::new("run_wsgi_py");
    let out = clean_command("sh")
        .arg("-c")
        .arg(group.enter_and_exec())
        .arg("sh")
        .arg(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", root.path())
        .output()
        .expect("run");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("0.50 CPUs"), "{stdout}");
    assert!(stdout.contains("memory 256 MiB"), "{stdout}");
    assert!(stdout.contains("--processes 1 --threads 32"), "{stdout}");
}

#[test]
fn unreadable_build_record_and_unknown_deploy_mode() {
    let root = AppRoot::new("run_wsgi_py");
    fails(
        &root,
        &[("WARPDRIVE_DEPLOY_MODE", "turbo")],
        &[
            "Unknown deploy mode `turbo`",
            "auto, shell, python, wsgi, django",
        ],
    );
    write_facts(&root, "{not json");
    fails(
        &root,
        &[],
        &["The build record cannot be read", "facts.json"],
    );
}

/// As in a container: `run` is PID 1 of a new PID namespace; SIGTERM from outside still ends in
/// gunicorn's graceful stop, and the request in flight completes.
#[test]
fn gunicorn_under_run_as_pid1_stops_gracefully() {
    if !nix::unistd::getuid().is_root() {
        cannot_run("needs root for unshare --pid");
        return;
    }
    let root = AppRoot::new("run_wsgi_py");
    let port = free_port();
    let mut command = clean_command("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(bin("run"));
    command
        .env("APP_ROOT", root.path())
        .env("PORT", port.to_string())
        .env("APP_SERVER", "gunicorn")
        .env("SLOW_MARK", root.slow_mark());
    let mut server = Server::start(command, port);
    server.slow_mark = Some(root.slow_mark());
    wait_for_ok(port, "/", START).unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    let unshare = server.running.pid();
    let children = fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .expect("children of unshare");
    let run_pid: i32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("run's pid");
    server.term_pid = Some(nix::unistd::Pid::from_raw(run_pid));
    server.assert_graceful_stop();
}

// ---------------------------------------------------------------- documented rules, pinned

/// docs/run.md: "`auto` picks mod_wsgi-express for WSGI and uvicorn for ASGI; when that is not
/// installed it takes the first installed of gunicorn, uwsgi, waitress, granian, hypercorn
/// (WSGI) or hypercorn, granian (ASGI) and says so". Written out here, server name and the
/// executable that shows it is installed, so that a changed order in the code fails.
const WSGI_AUTO_ORDER: [(&str, &str); 6] = [
    ("mod_wsgi", "mod_wsgi-express"),
    ("gunicorn", "gunicorn"),
    ("uwsgi", "uwsgi"),
    ("waitress", "waitress-serve"),
    ("granian", "granian"),
    ("hypercorn", "hypercorn"),
];
const ASGI_AUTO_ORDER: [(&str, &str); 3] = [
    ("uvicorn", "uvicorn"),
    ("hypercorn", "hypercorn"),
    ("granian", "granian"),
];

/// Only the servers from `order[first..]` installed: auto takes `order[first]` and says that
/// the default is not installed.
fn assert_auto_falls_back(
    fixture: &str,
    envs: &[(&str, &str)],
    order: &[(&str, &str)],
    first: usize,
) {
    let mut exes = vec!["python", "python3"];
    exes.extend(order[first..].iter().map(|(_, exe)| *exe));
    let root = AppRoot::with_venv_entries(fixture, Some(&exes));
    let mut envs = envs.to_vec();
    envs.push(("PATH", "/usr/bin:/bin"));
    let stdout = root.dry_run_ok(&envs);
    let (name, _) = order[first];
    let expected = if first == 0 {
        format!("Server:      {name} (auto: the default for ")
    } else {
        format!(
            "Server:      {name} (auto: {} is not installed; {name} is)",
            order[0].1
        )
    };
    assert!(
        stdout.contains(&expected),
        "installed {:?}: expected {expected:?} in:\n{stdout}",
        &exes[2..]
    );
}

#[test]
fn auto_falls_back_to_the_first_installed_server_and_says_so() {
    for first in 0..WSGI_AUTO_ORDER.len() {
        assert_auto_falls_back("run_wsgi_py", &[], &WSGI_AUTO_ORDER, first);
    }
    for first in 0..ASGI_AUTO_ORDER.len() {
        assert_auto_falls_back(
            "run_asgi",
            &[("APP_MODULE", "main:app")],
            &ASGI_AUTO_ORDER,
            first,
        );
    }
    // And it really serves with it: waitress names itself in its answers.
    let installed = [
        "python",
        "python3",
        "waitress-serve",
        "granian",
        "hypercorn",
    ];
    let root = AppRoot::with_venv_entries("run_wsgi_py", Some(&installed));
    let server = root.serve(&[("PATH", "/usr/bin:/bin")], "/");
    let answer = raw_get(server.port, "/").expect("GET /");
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("\r\nserver: waitress"),
        "{}\n{}",
        answer.head,
        server.log()
    );
    assert!(
        server
            .log()
            .contains("(auto: mod_wsgi-express is not installed; waitress is)"),
        "{}",
        server.log()
    );
}

/// docs/run.md: "`G` is the init's grace period (`STOP_GRACE_PERIOD`, default 20 s) minus
/// 2 s". The figures are written out (18 = 20 - 2; 8 = 10 - 2), not taken from the code.
#[test]
fn servers_get_the_grace_period_minus_two_seconds() {
    let wsgi = AppRoot::new("run_wsgi_py");
    let asgi = AppRoot::new("run_asgi");
    let cases: [(&AppRoot, &str, &str); 5] = [
        (&wsgi, "mod_wsgi", "--shutdown-timeout"),
        (&wsgi, "gunicorn", "--graceful-timeout"),
        (&wsgi, "uwsgi", "--worker-reload-mercy"),
        (&asgi, "uvicorn", "--timeout-graceful-shutdown"),
        (&asgi, "hypercorn", "--graceful-timeout"),
    ];
    for (root, server, option) in cases {
        for (grace, g) in [(None, "18"), (Some("10"), "8")] {
            let mut command =
                root.command(8080, &[("APP_SERVER", server), ("APP_MODULE", "main:app")]);
            if std::ptr::eq(root, &wsgi) {
                command.env_remove("APP_MODULE");
            }
            match grace {
                None => command.env_remove("STOP_GRACE_PERIOD"),
                Some(v) => command.env("STOP_GRACE_PERIOD", v),
            };
            let out = command.arg("--dry-run").output().expect("run --dry-run");
            let stdout = text(&out.stdout);
            assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
            let expected = format!("{option} {g} ");
            assert!(
                stdout.contains(&expected),
                "{server}, STOP_GRACE_PERIOD={grace:?}: expected {expected:?} in:\n{stdout}"
            );
        }
    }
}

/// docs/run.md: "If [deploy-env] fails, `run` stops (exit 1)": no deploy hook, no server.
#[test]
fn failing_deploy_env_stops_the_start() {
    let root = AppRoot::new("run_hooks");
    fs::write(
        root.src().join(".warpdrive/action_hooks/deploy-env"),
        "echo 'deploy-env is broken' >&2\nfalse\n",
    )
    .expect("write");
    let mark = root.path().join("deployed");
    let port = free_port();
    let mut server = Server::start(
        root.command(port, &[("DEPLOY_MARK", mark.to_str().expect("utf-8"))]),
        port,
    );
    let (status, log) = server
        .exit()
        .unwrap_or_else(|| panic!("run started anyway:\n{}", server.log()));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("deploy-env is broken"), "{log}");
    assert!(
        log.contains("The deploy-env hook failed; the server was not started."),
        "{log}"
    );
    assert!(
        !mark.exists(),
        "the deploy hook ran after a failed deploy-env"
    );
}

/// docs/run.md: "a hook that is not executable is skipped with a warning".
#[test]
fn non_executable_deploy_hook_is_skipped_with_a_warning() {
    let root = AppRoot::new("run_hooks");
    let hook = root.src().join(".s2i/action_hooks/deploy");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o644)).expect("chmod");
    let mark = root.path().join("deployed");
    let server = root.serve(&[("DEPLOY_MARK", mark.to_str().expect("utf-8"))], "/");
    assert_eq!(server.body("/"), "HOOK_VAR=from-deploy-env deployed=False");
    let log = server.stop();
    assert!(
        log.contains("run: warning: ")
            && log.contains(".s2i/action_hooks/deploy is not executable: skipped"),
        "{log}"
    );
    assert!(!log.contains("deploy hook ran"), "{log}");
    // The other hooks still ran.
    assert!(log.contains("failing deploy hook"), "{log}");
}

/// docs/run.md: "a failed migration stops the start (exit 1 with the command and the fix)".
#[test]
fn failed_migrate_stops_the_start_with_exit_1() {
    let root = AppRoot::new("run_django");
    // A file that is not an SQLite database: the connection opens, the migration fails.
    let db = root.path().join("marks/db.sqlite3");
    fs::write(
        &db,
        "this is not an SQLite database, it is a text file\n".repeat(100),
    )
    .expect("write");
    let port = free_port();
    let mut server = Server::start(
        root.command(port, &[("DJANGO_DB", db.to_str().expect("utf-8"))]),
        port,
    );
    let (status, log) = server
        .exit()
        .unwrap_or_else(|| panic!("run started the server anyway:\n{}", server.log()));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("Django's database migration failed; the server was not started."),
        "{log}"
    );
    assert!(log.contains("migrate --noinput"), "{log}");
    assert!(log.contains("DISABLE_MIGRATE=1"), "{log}");
}

/// docs/run.md's detection table: 16 rules, in this order; "nothing" lists each with its
/// verdict. Written out from the table, not taken from the detection crate.
#[test]
fn nothing_runnable_lists_the_16_documented_rules_in_order() {
    const DOCUMENTED: [&str; 16] = [
        "APP_CONFIG",
        "APP_SCRIPT",
        "APP_FILE",
        "APP_MODULE",
        "Procfile",
        "app.sh",
        "Streamlit",
        "Gradio",
        "app.py",
        "paste.ini",
        "wsgi.py",
        "asgi.py",
        "wsgi/application",
        "Django",
        "main.py / app/main.py / package application object",
        "setup.py / pyproject.toml",
    ];
    let root = AppRoot::new("run_nothing");
    let out = root.dry_run(&[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let listed: Vec<&str> = stderr
        .split("How to fix:")
        .next()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("run:   - "))
        .collect();
    assert_eq!(listed.len(), DOCUMENTED.len(), "{stderr}");
    for (line, rule) in listed.iter().zip(DOCUMENTED) {
        assert!(
            line.starts_with(rule),
            "expected rule {rule:?}, got {line:?}\n{stderr}"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the platform sets reaches the application as it was set, whichever way it goes: the
/// server (through deploy-env's shell), a deploy hook, and `run -- COMMAND`. Quotes are part
/// of a secret (only python-s2i's own settings are read without them), and a value that is not
/// UTF-8 keeps its bytes.
#[test]
fn the_environment_reaches_the_server_hooks_and_run_command_byte_exact() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let root = AppRoot::new("run_environment");
    let marks = root.path().join("marks");
    let vars: [(&str, &[u8]); 3] = [
        ("SECRET", b"'abc'"),
        ("QUOTED", b"\"p@ss\""),
        ("NOT_UTF8", b"caf\xe9 \"x\""),
    ];
    let with_vars = |mut command: Command| {
        for (name, value) in vars {
            command.env(name, OsStr::from_bytes(value));
        }
        command.env("ENV_MARKS", &marks);
        command
    };
    let port = free_port();
    let mut server = Server::start(with_vars(root.command(port, &[])), port);
    server
        .wait_ok("/")
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    let expected: Vec<String> = vars
        .iter()
        .map(|(name, value)| format!("{name}={}", hex(value)))
        .chain([format!("FROM_DEPLOY_ENV={}", hex(b"yes"))])
        .collect();
    assert_eq!(
        server.body("/?SECRET,QUOTED,NOT_UTF8,FROM_DEPLOY_ENV"),
        expected.join("\n"),
        "what the application received\n{}",
        server.log()
    );
    for (name, value) in vars {
        let got = fs::read(marks.join(format!("hook-{name}"))).expect("the hook's record");
        assert_eq!(got, value, "{name} in the deploy hook\n{}", server.log());
    }
    let mut command = with_vars(root.command(port, &[]));
    command.args([
        "--",
        "sh",
        "-c",
        r#"printf '%s\n%s\n%s' "$SECRET" "$QUOTED" "$NOT_UTF8""#,
    ]);
    let out = command.output().expect("run --");
    assert!(out.status.success(), "{}", text_of(&out));
    let joined: Vec<&[u8]> = vars.iter().map(|(_, v)| *v).collect();
    assert_eq!(out.stdout, joined.join(&b'\n'), "run -- COMMAND");
}

/// A Service named `mod-wsgi` in the namespace gives every pod `MOD_WSGI_PORT=tcp://...` (and
/// its siblings): not a server option. The server starts on $PORT and the report says why the
/// variables were left out.
#[test]
fn kubernetes_service_link_variables_are_not_mod_wsgi_options() {
    let root = AppRoot::new("run_wsgi_py");
    let link = [
        ("MOD_WSGI_PORT", "tcp://10.0.0.1:80"),
        ("MOD_WSGI_PORT_80_TCP", "tcp://10.0.0.1:80"),
        ("MOD_WSGI_PORT_80_TCP_ADDR", "10.0.0.1"),
        ("MOD_WSGI_PORT_80_TCP_PORT", "80"),
        ("MOD_WSGI_PORT_80_TCP_PROTO", "tcp"),
        ("MOD_WSGI_SERVICE_HOST", "10.0.0.1"),
        ("MOD_WSGI_SERVICE_PORT", "80"),
    ];
    let report = root.dry_run_ok(&link);
    assert!(
        report.contains(
            "Note:        ignored MOD_WSGI_PORT=tcp://10.0.0.1:80 (a Kubernetes service link"
        ),
        "{report}"
    );
    let command = report
        .lines()
        .find(|l| l.starts_with("Command:"))
        .expect("a command line");
    assert!(!command.contains("tcp://"), "{command}");
    assert!(!command.contains("--service-host"), "{command}");
    let server = root.serve(&link, "/");
    assert!(server.body("/").starts_with("Hello from wsgi.py"));
    assert!(
        server
            .log()
            .contains("ignored MOD_WSGI_PORT=tcp://10.0.0.1:80"),
        "{}",
        server.log()
    );
}

/// `run` as a UID that cannot write `$APP_ROOT/.python-s2i`, with `TMPDIR` of the test's own.
fn run_as_uid(root: &AppRoot, uid: &str, tmp: &Path, port: u16, args: &[&str]) -> Command {
    let mut command = clean_command("setpriv");
    command
        .args(["--reuid", uid, "--regid", "0", "--clear-groups", "--"])
        .arg(bin("run"))
        .args(args);
    command
        .env("APP_ROOT", root.path())
        .env("PORT", port.to_string())
        .env("APP_SERVER", "gunicorn")
        .env("TMPDIR", tmp)
        .env("HOME", "/");
    command
}

/// Host mode, `$APP_ROOT/.python-s2i` not writable: run falls back to its private directory
/// under `$TMPDIR`, which another local user may have made first. A directory that is not this
/// user's, or that others can write in, or a link, is refused (its `sitecustomize.py` never
/// runs); once it is gone, run makes it (0700, owned by the user), serves, and the probes find
/// the start there.
#[test]
fn planted_private_directory_is_refused_and_a_fresh_one_is_made_0700() {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::getuid().is_root() {
        cannot_run("needs root to plant a directory as another user (setpriv --reuid)");
        return;
    }
    let root = AppRoot::new("run_wsgi_py");
    let tmp = tempfile::Builder::new()
        .prefix("run-tmp-")
        .tempdir()
        .expect("tempdir");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o1777)).expect("chmod");
    let uid = "1000124";
    let private = tmp.path().join(format!("python-s2i-{uid}"));
    let planted_mark = root.path().join("marks/planted-code-ran");
    let plant = |dir: &Path| {
        fs::create_dir_all(dir.join("python")).expect("mkdir");
        fs::write(
            dir.join("python/sitecustomize.py"),
            format!(
                "open({:?}, 'w').close()\n",
                planted_mark.display().to_string()
            ),
        )
        .expect("plant");
        Command::new("chmod")
            .args(["-R", "0777"])
            .arg(dir)
            .status()
            .expect("chmod");
    };
    // Another user's directory (root's here), open to all; then a link to one.
    plant(&private);
    let elsewhere = tmp.path().join("elsewhere");
    for attempt in ["another user's directory", "a link"] {
        if attempt == "a link" {
            fs::remove_dir_all(&private).expect("rm");
            plant(&elsewhere);
            std::os::unix::fs::symlink(&elsewhere, &private).expect("symlink");
        }
        let port = free_port();
        let mut refused = Server::start(run_as_uid(&root, uid, tmp.path(), port, &[]), port);
        let Some((status, log)) = refused.exit() else {
            panic!(
                "{attempt}: run started with the planted directory\n{}",
                refused.log()
            );
        };
        assert_eq!(status.code(), Some(1), "{attempt}: {log}");
        assert!(
            log.contains("run's private directory cannot be used"),
            "{attempt}: {log}"
        );
        assert!(log.contains(&private.display().to_string()), "{log}");
        assert!(
            !planted_mark.exists(),
            "{attempt}: the planted code ran\n{log}"
        );
        let probe = run_as_uid(&root, uid, tmp.path(), port, &["--check-ready"])
            .output()
            .expect("probe");
        assert_eq!(probe.status.code(), Some(1), "{}", text_of(&probe));
    }
    fs::remove_file(&private).expect("rm link");
    assert!(
        fs::read_dir(elsewhere.join("python")).expect("ls").count() == 1,
        "run wrote through the link"
    );

    let port = free_port();
    let server = Server::start(run_as_uid(&root, uid, tmp.path(), port, &[]), port);
    wait_for_ok(port, "/", START).unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    let meta = fs::symlink_metadata(&private).expect("made");
    assert!(meta.is_dir());
    assert_eq!(meta.uid().to_string(), uid);
    assert_eq!(meta.mode() & 0o777, 0o700, "{:o}", meta.mode());
    assert!(private.join("run").join(format!("state-{port}")).is_file());
    let probe = run_as_uid(&root, uid, tmp.path(), port, &["--check-ready"])
        .output()
        .expect("probe");
    assert!(probe.status.success(), "{}", text_of(&probe));
    assert!(!planted_mark.exists());
}

/// issue 25: a build record saying the virtualenv's Python cannot import concurrent.futures
/// (Python 2 without `futures`) gives gunicorn sync workers, more processes and no threads,
/// and says why; gunicorn's own log names the worker class it loaded. A record that says it
/// imports (every Python 3 build) keeps the threads.
#[test]
fn gunicorn_follows_the_record_on_threads() {
    let root = AppRoot::new("run_wsgi_py");
    let env = [("APP_SERVER", "gunicorn")];
    write_facts(
        &root,
        r#"{"version":1,"python":{"version":"2.7","executable":"bin/python","concurrent_futures":false}}"#,
    );
    let report = root.dry_run_ok(&env);
    assert!(
        report.contains("gunicorn runs its sync workers"),
        "{report}"
    );
    assert!(
        report
            .contains("no threads: Python 2.7 in the virtualenv cannot import concurrent.futures"),
        "the Tuning line says why:\n{report}"
    );
    let command = report
        .lines()
        .find(|l| l.starts_with("Command:"))
        .expect("Command line");
    assert!(!command.contains("--threads"), "{command}");
    let server = root.serve(&env, "/");
    assert!(server.body("/").starts_with("Hello from wsgi.py"));
    server.assert_served_by("gunicorn");
    assert!(
        server.log().contains("Using worker: sync"),
        "{}",
        server.log()
    );
    server.assert_stop_exits_0();

    write_facts(
        &root,
        r#"{"version":1,"python":{"version":"3.11","executable":"bin/python","concurrent_futures":true}}"#,
    );
    let report = root.dry_run_ok(&env);
    let command = report
        .lines()
        .find(|l| l.starts_with("Command:"))
        .expect("Command line");
    assert!(command.contains("--threads"), "{report}");
    assert!(!report.contains("sync workers"), "{report}");
}
