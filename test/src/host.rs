//! What the host-mode suites (assemble, faults, layouts) share: `assemble` started the way they
//! all start it (Debian's python3, uv from `build/tools/bin`, the shared download caches, none of
//! the test process's own settings: [`clean_command`]), and a finished command's exit code and
//! output, collected with a limit that only a hang reaches.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};

use crate::{bin, clean_command, repo, Running};

/// Longer than any build of the fixtures; only a hang reaches it.
pub const BUILD_LIMIT: Duration = Duration::from_secs(180);

/// The download cache `name` (`uv`, `pip`) shared by the suites and kept across runs, in
/// `build/test-cache/`.
#[must_use]
pub fn cache_dir(name: &str) -> PathBuf {
    let dir = repo().join("build/test-cache").join(name);
    fs::create_dir_all(&dir).expect("cache dir");
    dir
}

/// A directory for `UV_FIND_LINKS` holding a mod_wsgi wheel built from PyPI's sdist on this
/// machine (against its Apache, for Debian's python3), once, and kept with the shared caches
/// in `build/test-cache/wheels/`. assemble installs mod_wsgi, auto mode's default server, with
/// `uv pip install mod_wsgi`; uv takes this wheel when it is the newest version, instead of
/// compiling the sdist again (about 8 s of CPU each time: uv does reuse a wheel it built, but
/// not when the index's files come without cache headers, as through this machine's proxy, so
/// every build compiled it). Without the wheel, or after a newer release, uv builds the sdist
/// as it would anyway: what is installed is the same either way.
///
/// # Panics
/// The wheel cannot be built (no compiler, no `apxs`, no PyPI).
#[must_use]
pub fn mod_wsgi_wheels() -> PathBuf {
    static WHEELS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WHEELS.get_or_init(build_mod_wsgi_wheel).clone()
}

fn build_mod_wsgi_wheel() -> PathBuf {
    let wheels = cache_dir("wheels");
    let built = |dir: &Path| {
        fs::read_dir(dir).expect("wheels dir").any(|e| {
            let name = e.expect("entry").file_name();
            let name = name.to_string_lossy();
            name.starts_with("mod_wsgi-") && name.ends_with(".whl")
        })
    };
    if built(&wheels) {
        return wheels;
    }
    // Built beside the wheels, then renamed into place: another test process may be at it too.
    let scratch = tempfile::tempdir_in(wheels.parent().expect("test-cache")).expect("tempdir");
    let venv = scratch.path().join("venv");
    let out = scratch.path().join("out");
    let mut command = Command::new(repo().join("build/tools/bin/uv"));
    command
        .args(["venv", "--quiet", "--seed", "--python", "/usr/bin/python3"])
        .arg(&venv)
        .env("UV_CACHE_DIR", cache_dir("uv"));
    finish(&mut command).assert_ok();
    let mut command = clean_command(venv.join("bin/python"));
    command
        .args(["-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir"])
        .arg(&out)
        .arg("mod_wsgi")
        .env("PIP_CACHE_DIR", cache_dir("pip"));
    finish(&mut command).assert_ok();
    for wheel in fs::read_dir(&out).expect("built wheels") {
        let wheel = wheel.expect("entry");
        fs::rename(wheel.path(), wheels.join(wheel.file_name())).expect("rename the wheel");
    }
    assert!(built(&wheels), "pip built no mod_wsgi wheel");
    wheels
}

/// `assemble SOURCE` for `app_root` in host mode: Debian's python3, uv from `build/tools/bin`,
/// the shared download caches, no previous artifacts, and no server chosen (auto mode, as users
/// get it) unless the caller sets `APP_SERVER`.
#[must_use]
pub fn assemble_command(source: &Path, app_root: &Path) -> Command {
    let path = format!(
        "{}:{}",
        repo().join("build/tools/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = clean_command(bin("assemble"));
    command
        .arg(source)
        .env("APP_ROOT", app_root)
        .env("PATH", path)
        .env("PYTHON", "/usr/bin/python3")
        .env("UV_CACHE_DIR", cache_dir("uv"))
        .env("PIP_CACHE_DIR", cache_dir("pip"))
        .env("S2I_ARTIFACTS_DIR", app_root.with_extension("no-artifacts"));
    command
}

/// [`assemble_command`] with gunicorn as the server: pure Python, so a build needs no compiler
/// (the suites that test the choice of server leave `APP_SERVER` unset).
#[must_use]
pub fn gunicorn_assemble_command(source: &Path, app_root: &Path) -> Command {
    let mut command = assemble_command(source, app_root);
    command.env("APP_SERVER", "gunicorn");
    command
}

/// assemble of `source` into `app_root` with gunicorn and `env`, run to its end.
pub fn assemble_with_gunicorn(source: &Path, app_root: &Path, env: &[(&str, &str)]) -> Finished {
    let mut command = gunicorn_assemble_command(source, app_root);
    command.envs(env.iter().copied());
    finish(&mut command)
}

/// A finished command: exit code and both streams.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// stdout, then stderr.
    #[must_use]
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.code, Some(0), "failed:\n{}", self.all());
    }

    #[track_caller]
    pub fn assert_contains(&self, needles: &[&str]) {
        let all = self.all();
        for needle in needles {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
    }

    /// Exit code 1 with assemble's error headline and every one of `needles`.
    #[track_caller]
    pub fn assert_failed_with(&self, needles: &[&str]) {
        assert_eq!(self.code, Some(1), "should fail:\n{}", self.all());
        assert!(
            self.stderr.contains(" !     ERROR: "),
            "no error headline:\n{}",
            self.all()
        );
        self.assert_contains(needles);
    }
}

/// Runs `command` to its end within [`BUILD_LIMIT`] ([`finish_within`]).
pub fn finish(command: &mut Command) -> Finished {
    finish_within(command, BUILD_LIMIT)
}

/// Runs `command` in its own process group (stdin as the caller left it), both
/// streams collected; a hang past `limit` fails the test (and the group is killed).
///
/// # Panics
/// The command cannot be started, or still runs after `limit`.
pub fn finish_within(command: &mut Command, limit: Duration) -> Finished {
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
        let _ = killpg(running.pid(), Signal::SIGKILL);
        panic!("{command:?} still running after {limit:?}: it hangs");
    };
    Finished {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
