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
use python_s2i_tests::{bin, fixture, free_port, get, repo, wait_for_ok, Running};
use tempfile::TempDir;

/// Starting a server on a busy 2-core machine can take a while.
const START: Duration = Duration::from_secs(60);

/// Variables of the outer environment that would change what `run` detects.
const CLEARED: [&str; 16] = [
    "APP_SERVER",
    "APP_MODULE",
    "APP_SCRIPT",
    "APP_FILE",
    "APP_HOME",
    "APP_CONFIG",
    "GUNICORN_CMD_ARGS",
    "WEB_CONCURRENCY",
    "WARPDRIVE_SERVER_TYPE",
    "WARPDRIVE_DEPLOY_MODE",
    "DISABLE_MIGRATE",
    "MOD_WSGI_RELOAD_ON_CHANGES",
    "MOD_WSGI_PROCESSES",
    "MOD_WSGI_THREADS",
    "VIRTUAL_ENV",
    "PYTHONPATH",
];

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
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn src(&self) -> PathBuf {
        self.path().join("src")
    }

    fn command(&self, port: u16, envs: &[(&str, &str)]) -> Command {
        let mut command = Command::new(bin("run"));
        for name in CLEARED {
            command.env_remove(name);
        }
        command
            .env("APP_ROOT", self.path())
            .env("PORT", port.to_string())
            .env("STOP_GRACE_PERIOD", "20")
            .current_dir(self.path());
        for (k, v) in envs {
            command.env(k, v);
        }
        command
    }

    fn dry_run(&self, envs: &[(&str, &str)]) -> Output {
        self.command(8080, envs)
            .arg("--dry-run")
            .output()
            .expect("run --dry-run")
    }

    /// Starts `run` (its stdout and stderr collected) and waits for `GET path` to answer 200.
    fn serve(&self, envs: &[(&str, &str)], path: &str) -> Server {
        let port = free_port();
        let server = Server::start(self.command(port, envs), port);
        if let Err(e) = wait_for_ok(port, path, START) {
            panic!("no 200 from {path}: {e}\n--- run output:\n{}", server.log());
        }
        server
    }
}

/// Collects a pipe into a shared string (Apache reopens /dev/stderr, which would truncate a
/// log file; a pipe is also what a container engine gives).
fn collect(pipe: impl std::io::Read + Send + 'static, into: Arc<Mutex<String>>) {
    thread::spawn(move || {
        let mut reader = std::io::BufReader::new(pipe);
        let mut line = Vec::new();
        while std::io::BufRead::read_until(&mut reader, b'\n', &mut line).unwrap_or(0) > 0 {
            into.lock()
                .expect("log lock")
                .push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
    });
}

struct Server {
    running: Running,
    port: u16,
    log: Arc<Mutex<String>>,
    /// Where the platform's SIGTERM goes: `run` (by default the process started).
    term_pid: Option<nix::unistd::Pid>,
}

impl Server {
    fn start(mut command: Command, port: u16) -> Self {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut running = Running::spawn(&mut command);
        let log = Arc::new(Mutex::new(String::new()));
        collect(
            running.child.stdout.take().expect("stdout"),
            Arc::clone(&log),
        );
        collect(
            running.child.stderr.take().expect("stderr"),
            Arc::clone(&log),
        );
        Self {
            running,
            port,
            log,
            term_pid: None,
        }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    fn body(&self, path: &str) -> String {
        let r = get(self.port, path).unwrap_or_else(|e| panic!("{e}\n{}", self.log()));
        assert_eq!(r.status, 200, "GET {path}: {}\n{}", r.body, self.log());
        r.body
    }

    /// A slow request in flight when SIGTERM arrives still completes; `run` then exits 0.
    fn assert_graceful_stop(mut self) {
        let port = self.port;
        let slow = thread::spawn(move || get(port, "/slow"));
        thread::sleep(Duration::from_millis(1000));
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
        assert!(
            status.code() == Some(0) || status.code() == Some(143),
            "exit status {status:?}\n{log}"
        );
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
    assert_eq!(server.body("/static/style.css"), "body { color: teal; }\n");
    assert!(
        !server.log().contains("Unsupported locale"),
        "Apache was given a locale the system lacks:\n{}",
        server.log()
    );
    assert_static_file_rules(&server);
    if nix::unistd::getuid().is_root() {
        assert!(
            server.body("/whoami").starts_with("nobody "),
            "Apache must not serve as root"
        );
        assert!(server.log().contains("Apache serves as user nobody"));
    }
    assert!(server.log().contains("mod_wsgi-express start-server"));
    server.assert_graceful_stop();
}

fn wsgi_py_under(server_name: &str) {
    let root = AppRoot::new("run_wsgi_py");
    let server = root.serve(&[("APP_SERVER", server_name)], "/");
    assert!(
        server.body("/").starts_with("Hello from wsgi.py"),
        "{server_name}"
    );
    assert_eq!(
        server.body("/static/style.css"),
        "body { color: teal; }\n",
        "{server_name} static files"
    );
    assert_static_file_rules(&server);
    server.assert_graceful_stop();
}

/// Conditional requests get 304; an encoded `..` cannot read files outside the static directory.
fn assert_static_file_rules(server: &Server) {
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
    let escaped = get(server.port, "/static/%2e%2e/%2e%2e/wsgi.py").expect("GET");
    assert!(
        !escaped.body.contains("import pwd"),
        "static files escaped their directory"
    );
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

// ---------------------------------------------------------------- servers, ASGI

fn asgi_under(server_name: Option<&str>) {
    let root = AppRoot::new("run_asgi");
    let mut envs = vec![("APP_MODULE", "main:app")];
    if let Some(name) = server_name {
        envs.push(("APP_SERVER", name));
    }
    let server = root.serve(&envs, "/");
    assert_eq!(server.body("/"), "Hello from Starlette");
    let expected = server_name.unwrap_or("uvicorn");
    assert!(
        server.log().contains(&format!("Server:      {expected}")),
        "{}",
        server.log()
    );
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
    serves("run_paste", &[], "/", "Hello from paste.ini");
}

#[test]
fn paste_ini_under_gunicorn_through_the_wrapper() {
    serves(
        "run_paste",
        &[("APP_SERVER", "gunicorn")],
        "/",
        "Hello from paste.ini",
    );
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
}

#[test]
fn pyproject_package() {
    serves("run_package", &[], "/", "Hello from the hello_pkg package");
}

#[test]
fn app_module_with_uwsgi() {
    serves(
        "run_app_module",
        &[
            ("APP_MODULE", "site_app.web:application"),
            ("APP_SERVER", "uwsgi"),
        ],
        "/",
        "Hello from APP_MODULE",
    );
}

#[test]
fn app_module_factory_with_gunicorn() {
    serves(
        "run_app_module",
        &[
            ("APP_MODULE", "site_app.web:make_app()"),
            ("APP_SERVER", "gunicorn"),
        ],
        "/",
        "Hello from APP_MODULE",
    );
}

#[test]
fn gunicorn_conf_with_wsgi_app() {
    let (server, _root) = serves("run_gunicorn_conf", &[], "/", "Hello from gunicorn.conf.py");
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

/// Django from the build record: WSGI_APPLICATION, STATIC_URL -> STATIC_ROOT, migrate on start.
#[test]
fn django_from_the_build_record() {
    let root = AppRoot::new("run_django");
    let static_root = root.path().join("static");
    fs::create_dir_all(static_root.join("admin")).expect("mkdir");
    fs::write(static_root.join("admin/base.css"), "/* collected */\n").expect("static");
    write_facts(
        &root,
        &format!(
            r#"{{"version":1,"django":{{"settings_module":"mysite.settings","wsgi_application":"mysite.wsgi.application","static_url":"/static/","static_root":"{}","staticfiles_installed":true}}}}"#,
            static_root.display()
        ),
    );
    let db = root.path().join("db.sqlite3");
    let server = root.serve(&[("DJANGO_DB", db.to_str().expect("utf-8"))], "/");
    assert_eq!(server.body("/"), "Hello from Django");
    assert_eq!(server.body("/static/admin/base.css"), "/* collected */\n");
    assert!(db.is_file(), "migrate did not run\n{}", server.log());
    assert!(
        server.log().contains("migrate --noinput"),
        "{}",
        server.log()
    );
    server.assert_graceful_stop_or_plain_exit();
}

impl Server {
    /// For apps without a /slow route: SIGTERM ends `run` cleanly.
    fn assert_graceful_stop_or_plain_exit(mut self) {
        self.running.signal(Signal::SIGTERM);
        let status = self.running.wait_timeout(Duration::from_secs(40));
        let status = status.unwrap_or_else(|| panic!("run did not exit\n{}", self.log()));
        assert!(status.code().is_some(), "{status:?}");
    }
}

#[test]
fn django_without_a_build_record_uses_manage_py_and_disable_migrate() {
    let root = AppRoot::new("run_django");
    let db = root.path().join("db.sqlite3");
    let out = root.dry_run(&[("DISABLE_MIGRATE", "1")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
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
    let file = root.src().join("web/wsgi.py");
    let source = fs::read_to_string(&file).expect("read");
    thread::sleep(Duration::from_millis(1100));
    fs::write(&file, source.replace("Hello from APP_HOME", "Reloaded")).expect("write");
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

/// OpenShift runs images as a random UID with no passwd entry: run gives it one.
#[test]
fn arbitrary_uid_gets_a_passwd_entry() {
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: needs root to switch to an arbitrary UID");
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
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid", uid, "--regid", "0", "--clear-groups", "--"])
        .arg(bin("run"));
    for name in CLEARED {
        command.env_remove(name);
    }
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
    let output = root
        .command(free_port(), &[("APP_SERVER", "gunicorn")])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
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
    thread::sleep(Duration::from_millis(500));
    let log = server.log();
    assert!(log.contains("Traceback"), "{log}");
    assert!(log.contains("no_such_module_for_the_run_tests"), "{log}");
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
        "--processes 3 --threads 8",
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
    assert!(stdout.contains("--threads 8"), "{stdout}");
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
            "Django: no manage.py",
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
        eprintln!("skipped: cannot create a cgroup here (needs root and a writable cgroupfs)");
        return;
    };
    let root = AppRoot::new("run_wsgi_py");
    let out = Command::new("sh")
        .arg("-c")
        .arg(group.enter_and_exec())
        .arg("sh")
        .arg(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", root.path())
        .env_remove("WEB_CONCURRENCY")
        .env_remove("APP_SERVER")
        .output()
        .expect("run");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("0.50 CPUs"), "{stdout}");
    assert!(stdout.contains("memory 256 MiB"), "{stdout}");
    assert!(stdout.contains("--processes 1 --threads 8"), "{stdout}");
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
        eprintln!("skipped: needs root for unshare --pid");
        return;
    }
    let root = AppRoot::new("run_wsgi_py");
    let port = free_port();
    let mut command = Command::new("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(bin("run"));
    for name in CLEARED {
        command.env_remove(name);
    }
    command
        .env("APP_ROOT", root.path())
        .env("PORT", port.to_string())
        .env("APP_SERVER", "gunicorn");
    let mut server = Server::start(command, port);
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
