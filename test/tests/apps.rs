//! Today's apps in host mode, built with the real `assemble` and started with the real `run`:
//! a Celery worker started from the Procfile (`run worker`) against a real Redis from Debian's
//! packages (`test/setup/60-redis.sh`), as an arbitrary UID.

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use python_s2i_tests::host::{assemble_command, finish};
use python_s2i_tests::{bin, fixture, free_port, get, wait_for_ok, Running};

/// The UID OpenShift gives a pod: no passwd entry, group 0.
const ARBITRARY_UID: &str = "1000123";
/// Starting a server or a worker on a busy 2-core machine can take a while.
const START: Duration = Duration::from_secs(60);

fn require_root(why: &str) {
    assert!(
        nix::unistd::getuid().is_root(),
        "this test needs root ({why}): run the suite as root (CI does)"
    );
}

/// The Redis of `test/setup/60-redis.sh`.
fn redis_port() -> u16 {
    let port = std::env::var("REDISTEST_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(56379);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "no Redis on 127.0.0.1:{port}: run `bash test/setup/60-redis.sh` (make test-apps does)"
    );
    port
}

/// An `$APP_ROOT` the arbitrary UID can enter (group 0), with `fixture` assembled into it;
/// and the build's output.
fn assembled(fixture_name: &str, dir: &Path) -> (PathBuf, String) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = dir.join("app-root");
    let done = finish(&mut assemble_command(&fixture(fixture_name), &root));
    done.assert_ok();
    (root, done.all())
}

/// A process of `run` as the arbitrary UID, its output in `log`.
struct Process {
    running: Running,
    log: PathBuf,
}

impl Process {
    fn start(root: &Path, log: PathBuf, args: &[&str], env: &[(&str, String)]) -> Self {
        let out = fs::File::create(&log).expect("log");
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid",
                ARBITRARY_UID,
                "--regid",
                "0",
                "--clear-groups",
                "--",
            ])
            .arg(bin("run"))
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("APP_ROOT", root)
            .env("HOME", "/")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out);
        Self {
            running: Running::spawn(&mut command),
            log,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for_line(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The Procfile's `worker:` line runs under `run`'s init as an arbitrary UID, with deploy-env's
/// environment: tasks queued by the web process complete, and a stop during a task lets it
/// finish (Celery's warm shutdown) within the grace period.
#[test]
fn celery_worker_from_the_procfile_runs_the_web_process_tasks_and_finishes_one_across_a_stop() {
    require_root("switch to an arbitrary UID");
    let redis = redis_port();
    let dir = tempfile::Builder::new()
        .prefix("apps-celery-")
        .tempdir()
        .expect("tempdir");
    let (root, build) = assembled("apps_celery", dir.path());
    // The build summary names the Procfile's process types.
    assert!(
        build.contains("Processes:    web, worker (Procfile; `run TYPE` starts one)"),
        "{build}"
    );
    // A database of its own, so runs of the test never share a queue.
    let db = std::process::id() % 16;
    let broker = format!("redis://127.0.0.1:{redis}/{db}");
    let port = free_port();
    let env = |extra: &[(&'static str, String)]| {
        let mut env = vec![
            ("CELERY_BROKER_URL", broker.clone()),
            ("PORT", port.to_string()),
            ("STOP_GRACE_PERIOD", "20".to_owned()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    // The dry run names the process and its exact command.
    let dry = Command::new(bin("run"))
        .args(["--dry-run", "worker"])
        .env("APP_ROOT", &root)
        .output()
        .expect("dry run");
    let report = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{report}");
    assert!(
        report.contains("Process:     worker (run worker)"),
        "{report}"
    );
    assert!(
        report.contains(
            "Command:     /bin/sh -c 'exec celery -A tasks worker --loglevel=INFO --concurrency=1'"
        ),
        "{report}"
    );

    let web = Process::start(&root, dir.path().join("web.log"), &[], &env(&[]));
    // The platform's way when the arguments cannot be changed.
    let mut worker = Process::start(
        &root,
        dir.path().join("worker.log"),
        &[],
        &env(&[("APP_PROCESS_TYPE", "worker".to_owned())]),
    );
    wait_for_ok(port, "/", START).unwrap_or_else(|e| panic!("{e}\n{}", web.log()));
    worker.wait_for_line("ready.", START);
    let sum = get(port, "/add?x=2&y=3").expect("add");
    assert_eq!(
        (sum.status, sum.body.as_str()),
        (200, "5"),
        "{}",
        worker.log()
    );
    // deploy-env ran for the worker too.
    let env_seen = get(port, "/env?name=REPORT_SOURCE").expect("env");
    assert_eq!(env_seen.body, "deploy-env", "{}", worker.log());

    // A stop while a task runs: the task finishes, then the worker exits 0.
    let report = dir.path().join("report.txt");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let queued = get(
        port,
        &format!("/report?seconds=4&text=finished&path={}", report.display()),
    )
    .expect("report");
    assert_eq!(queued.status, 200, "{}", queued.body);
    worker.wait_for_line(&format!("[{}] received", queued.body), START);
    let stopped = Instant::now();
    worker.running.signal(Signal::SIGTERM);
    let status = worker
        .running
        .wait_timeout(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the worker did not stop:\n{}", worker.log()));
    let took = stopped.elapsed();
    assert_eq!(
        fs::read_to_string(&report).ok().as_deref(),
        Some("finished"),
        "the task did not finish:\n{}",
        worker.log()
    );
    assert!(status.success(), "{status:?}\n{}", worker.log());
    assert!(
        took < Duration::from_secs(20),
        "stopped after {took:?}, past the grace period"
    );
    assert!(
        worker
            .log()
            .contains(&format!("[{}] succeeded", queued.body)),
        "{}",
        worker.log()
    );
    drop(web);
}

/// A process type the Procfile does not have is an error naming the types it has.
#[test]
fn unknown_process_type_lists_the_procfiles_types() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture("apps_celery"))
        .arg(root.join("src"))
        .status()
        .expect("cp");
    assert!(status.success());
    let out = Command::new(bin("run"))
        .arg("beat")
        .env("APP_ROOT", root)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("run: ERROR: There is no process type `beat` to run."),
        "{stderr}"
    );
    assert!(
        stderr.contains("has these process types: web, worker."),
        "{stderr}"
    );
    assert!(stderr.contains("`run web`, `run worker`"), "{stderr}");
}
