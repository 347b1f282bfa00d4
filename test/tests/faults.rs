//! Issue 9, "nothing hangs, nothing is lost": assemble and run under faults rather than the
//! happy path. Hooks that leave background processes or end their shell, builds killed half-way
//! or out of disk space, planted artifacts, a user's LD_PRELOAD, unsafe source modes, passwd
//! fields, and stop signals during deploy hooks and migrate (as PID 1 and not).
//!
//! Real executables (`build/bin`), real virtualenvs and pip/uv, real servers, real signals.
//! Every wait is on a marker (a file, a log line, a port), with a generous limit that only a
//! hang reaches.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use python_s2i_tests::{bin, fixture, repo, Running};
use tempfile::TempDir;

/// Longer than any build of these fixtures; only a hang reaches it.
const BUILD_LIMIT: Duration = Duration::from_secs(300);

/// A finished command: exit code and both streams.
struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Done {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    fn assert_ok(&self) {
        assert_eq!(self.code, Some(0), "failed:\n{}", self.all());
    }

    #[track_caller]
    fn assert_contains(&self, needles: &[&str]) {
        for needle in needles {
            assert!(
                self.all().contains(needle),
                "{needle:?} missing from:\n{}",
                self.all()
            );
        }
    }
}

fn cache_dir(name: &str) -> PathBuf {
    let dir = repo().join("build/test-cache").join(name);
    fs::create_dir_all(&dir).expect("cache dir");
    dir
}

/// assemble in host mode with the shared download caches and uv from `build/tools/bin`.
fn assemble_command(source: &Path, app_root: &Path) -> Command {
    let path = format!(
        "{}:{}",
        repo().join("build/tools/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(bin("assemble"));
    command
        .arg(source)
        .env("APP_ROOT", app_root)
        .env("PATH", path)
        .env("PYTHON", "/usr/bin/python3")
        .env("UV_CACHE_DIR", cache_dir("uv"))
        .env("PIP_CACHE_DIR", cache_dir("pip"))
        .env("S2I_ARTIFACTS_DIR", app_root.with_extension("no-artifacts"))
        .env("APP_SERVER", "gunicorn");
    for var in [
        "APP_HOME",
        "S2I_INSTALLER",
        "DISABLE_COLLECTSTATIC",
        "VIRTUAL_ENV",
        "LD_PRELOAD",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs `command` in its own process group with both streams collected; a hang past `limit`
/// fails the test (and the group is killed).
fn finish_within(command: &mut Command, limit: Duration) -> Done {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut running = Running::spawn(command);
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let out = collect(
        running
            .child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = collect(
        running
            .child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let Some(status) = running.wait_timeout(limit) else {
        let _ = nix::sys::signal::killpg(running.pid(), nix::sys::signal::Signal::SIGKILL);
        panic!("{command:?} still running after {limit:?}: it hangs");
    };
    Done {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn assemble(source: &Path, app_root: &Path, env: &[(&str, &str)]) -> Done {
    let mut command = assemble_command(source, app_root);
    command.envs(env.iter().copied());
    finish_within(&mut command, BUILD_LIMIT)
}

/// A copy of a fixture to modify, in `dir`.
fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture(name))
        .arg(&to)
        .status()
        .expect("cp");
    assert!(status.success());
    to
}

fn write_hook(app: &Path, name: &str, body: &str, mode: u32) {
    let path = app.join(name);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, body).expect("write hook");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Whether process `pid` is alive (a zombie is not).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

fn read_pid(path: &Path) -> i32 {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a pid")
}

// ---- Hooks that cannot hang or wipe (item 2) ----

#[test]
fn build_hook_leaving_a_background_process_does_not_hang_assemble() {
    let dir = TempDir::new().expect("tempdir");
    let app = copy_fixture("faults_wsgi", dir.path());
    let pid_file = dir.path().join("sleep.pid");
    write_hook(
        &app,
        ".s2i/action_hooks/build",
        &format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}\necho 'started a helper'\n",
            pid_file.display()
        ),
        0o755,
    );
    let started = Instant::now();
    let built = assemble(&app, &dir.path().join("root"), &[]);
    built.assert_ok();
    built.assert_contains(&[
        "started a helper",
        "exited but left a process running in its process group",
        "(sleep)",
    ]);
    assert!(
        !alive(read_pid(&pid_file)),
        "the hook's background sleep outlived the build"
    );
    eprintln!(
        "build with a leftover hook process: {:?}",
        started.elapsed()
    );
}

#[test]
fn build_env_hook_that_exits_stops_the_build_instead_of_emptying_its_environment() {
    let dir = TempDir::new().expect("tempdir");
    let app = copy_fixture("faults_wsgi", dir.path());
    write_hook(
        &app,
        ".warpdrive/action_hooks/build-env",
        "export FROM_BUILD_ENV=1\nexit 0\n",
        0o644,
    );
    let built = assemble(&app, &dir.path().join("root"), &[]);
    assert_eq!(built.code, Some(1), "{}", built.all());
    built.assert_contains(&[
        "ERROR: The .warpdrive/action_hooks/build-env hook ended the shell that sources it",
        "use `return` instead of `exit`",
    ]);
    assert!(
        !built.stdout.contains("-----> Installing dependencies"),
        "went on with the environment lost:\n{}",
        built.all()
    );
}
