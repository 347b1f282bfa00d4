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

use python_s2i_tests::host::{
    assemble_with_gunicorn as assemble, finish_within,
    gunicorn_assemble_command as assemble_command, Finished as Done, BUILD_LIMIT,
};
use python_s2i_tests::{bin, clean_command, copy_fixture, fixture, repo, Running};
use tempfile::TempDir;

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

// ---- Artifacts you can trust, of bounded size (item 5) ----

/// A tar of `save-artifacts` for `app_root`, unpacked into `into` (created 0700, as a user's
/// own directory). Returns save-artifacts' result.
fn save_artifacts_into(app_root: &Path, into: &Path, as_user: Option<&str>) -> Done {
    fs::create_dir_all(into).expect("mkdir");
    fs::set_permissions(into, fs::Permissions::from_mode(0o700)).expect("chmod");
    let mut command = match as_user {
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", uid, "--regid", uid, "--clear-groups", "--"])
                .arg(bin("save-artifacts"));
            c
        }
        None => Command::new(bin("save-artifacts")),
    };
    let tar_file = into.with_extension("tar");
    command
        .env("APP_ROOT", app_root)
        .stdout(fs::File::create(&tar_file).expect("tar file"));
    let out = command
        .stderr(Stdio::piped())
        .output()
        .expect("save-artifacts");
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&tar_file)
        .arg("-C")
        .arg(into)
        .status()
        .expect("tar");
    assert!(untar.success(), "the saved stream is not a valid tar");
    Done {
        code: out.status.code(),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A first build with the caches where the image keeps them (under APP_ROOT), its artifacts
/// saved: `(app_root, artifacts)`.
fn built_with_artifacts(dir: &Path, requirements: &str) -> (PathBuf, PathBuf) {
    let app = copy_fixture("faults_wsgi", dir);
    fs::write(app.join("requirements.txt"), requirements).expect("requirements");
    let root = dir.join("first");
    let mut command = assemble_command(&app, &root);
    command
        .env_remove("UV_CACHE_DIR")
        .env_remove("PIP_CACHE_DIR");
    finish_within(&mut command, BUILD_LIMIT).assert_ok();
    let artifacts = dir.join("artifacts");
    save_artifacts_into(&root, &artifacts, None).assert_ok();
    assert!(artifacts.join(CACHES_ARCHIVE).is_file(), "no caches saved");
    (root, artifacts)
}

/// The archive of the installers' caches in the artifacts, and the manifest.
const CACHES_ARCHIVE: &str = "python-s2i-caches.tar.zst";
/// The archive of the installed dependencies.
const DEPS_ARCHIVE: &str = "python-s2i-dependencies.tar.zst";
const MANIFEST: &str = "python-s2i-artifacts.json";

/// Repacks the caches archive of `artifacts` after `change` (given the unpacked caches), and
/// updates its size and sha256 in the manifest, as a planted archive would be made.
fn repack_caches(artifacts: &Path, change: impl FnOnce(&Path)) {
    repack(artifacts, CACHES_ARCHIVE, change);
}

/// Records the size and sha256 of the archive `name` of `artifacts` in the manifest.
fn rerecord(artifacts: &Path, name: &str) {
    let archive = artifacts.join(name);
    let bytes = fs::read(&archive).expect("archive");
    let sha = sha256_of(&archive);
    let text = fs::read_to_string(artifacts.join(MANIFEST)).expect("manifest");
    let mut manifest: serde_json::Value = serde_json::from_str(&text).expect("json");
    for entry in manifest["archives"].as_array_mut().expect("archives") {
        if entry["name"] == name {
            entry["size"] = serde_json::json!(bytes.len());
            entry["sha256"] = serde_json::json!(sha);
        }
    }
    fs::write(artifacts.join(MANIFEST), manifest.to_string()).expect("write");
}

/// A build of the fixture with its caches under APP_ROOT, reading `artifacts`.
fn rebuild_from(dir: &Path, name: &str, artifacts: &Path, env: &[(&str, &str)]) -> Done {
    let root = dir.join(name);
    let mut command = assemble_command(&fixture("faults_wsgi"), &root);
    command
        .env_remove("UV_CACHE_DIR")
        .env_remove("PIP_CACHE_DIR")
        .env("S2I_ARTIFACTS_DIR", artifacts)
        .envs(env.iter().copied());
    finish_within(&mut command, BUILD_LIMIT)
}

#[test]
fn truncated_compressed_archives_with_matching_digests_give_a_warning_and_a_clean_build() {
    let dir = TempDir::new().expect("tempdir");
    let (root, artifacts) = built_with_artifacts(dir.path(), "six==1.16.0\n");
    assert!(
        artifacts.join(DEPS_ARCHIVE).is_file(),
        "no dependencies saved"
    );
    // Cut in half, and recorded so: the digests match, the zstd streams end early.
    for name in [DEPS_ARCHIVE, CACHES_ARCHIVE] {
        let path = artifacts.join(name);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
        rerecord(&artifacts, name);
    }
    // The same app at the same place: its dependencies would be restored whole.
    fs::remove_dir_all(&root).expect("rm");
    let mut command = assemble_command(&dir.path().join("faults_wsgi"), &root);
    command
        .env_remove("UV_CACHE_DIR")
        .env_remove("PIP_CACHE_DIR")
        .env("S2I_ARTIFACTS_DIR", &artifacts);
    let built = finish_within(&mut command, BUILD_LIMIT);
    built.assert_ok();
    built.assert_contains(&[
        &format!("{DEPS_ARCHIVE} did not unpack"),
        &format!(
            "could not unpack {}",
            artifacts.join(CACHES_ARCHIVE).display()
        ),
        "Installing requirements.txt",
    ]);
    assert!(
        !built.stdout.contains("restored the installed dependencies"),
        "{}",
        built.all()
    );
    let out = Command::new(root.join("bin/python"))
        .args(["-c", "import six; print(six.__version__)"])
        .output()
        .expect("python");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.16.0");
}

#[test]
fn planted_foreign_writable_or_symlinked_artifacts_are_refused() {
    let dir = TempDir::new().expect("tempdir");
    let (_, artifacts) = built_with_artifacts(dir.path(), "six==1.16.0\n");
    // A build moves the caches out of the artifacts: each case gets its own copy.
    let planted_copy = |name: &str| {
        let copy = dir.path().join(name);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&artifacts)
            .arg(&copy)
            .status()
            .expect("cp");
        assert!(status.success());
        copy
    };
    // Control: the user's own directory is used.
    let own = rebuild_from(dir.path(), "own", &planted_copy("own-artifacts"), &[]);
    own.assert_ok();
    own.assert_contains(&["Reusing the uv cache(s)"]);

    // Planted by another user.
    let foreign = planted_copy("foreign");
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&foreign)
        .status()
        .expect("chown");
    assert!(status.success());
    let built = rebuild_from(dir.path(), "b1", &foreign, &[]);
    built.assert_ok();
    built.assert_contains(&["belongs to UID 65534, not to the build user", "clean build"]);
    assert!(
        !built.stdout.contains("Reusing the uv cache"),
        "{}",
        built.all()
    );

    // Writable by others.
    let writable = planted_copy("writable");
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o777)).expect("chmod");
    let built = rebuild_from(dir.path(), "b2", &writable, &[]);
    built.assert_ok();
    built.assert_contains(&["is writable by others (mode 0777)"]);
    assert!(
        !built.stdout.contains("Reusing the uv cache"),
        "{}",
        built.all()
    );

    // The caches archive is a symlink to a file elsewhere.
    let linked = planted_copy("linked");
    let elsewhere = dir.path().join("elsewhere.tar");
    fs::rename(linked.join(CACHES_ARCHIVE), &elsewhere).expect("move");
    std::os::unix::fs::symlink(&elsewhere, linked.join(CACHES_ARCHIVE)).expect("symlink");
    let built = rebuild_from(dir.path(), "b3", &linked, &[]);
    built.assert_ok();
    built.assert_contains(&[&format!(
        "{CACHES_ARCHIVE} is a symlink: artifacts are read only from real files"
    )]);
    assert!(
        !built.stdout.contains("Reusing the uv cache"),
        "{}",
        built.all()
    );

    // A symlink inside the cache that leads out of it is removed; the rest is reused.
    // Issue 22 item 8: also one that leads out only once resolved, through another link of
    // the cache (`here -> .`, then `here/../../..`: inside as text), placed in six's unpacked
    // wheel, which the build uses (so the pruning of unused cache entries keeps the rest).
    let inner = planted_copy("inner");
    let mut wheel = None;
    repack_caches(&inner, |caches| {
        std::os::unix::fs::symlink("/etc", caches.join("uv/planted-link")).expect("symlink");
        let unpacked = fs::read_dir(caches.join("uv/archive-v0"))
            .expect("archive-v0")
            .map(|e| e.expect("entry").path())
            .find(|p| p.join("six.py").is_file())
            .expect("six's unpacked wheel");
        std::os::unix::fs::symlink(".", unpacked.join("here")).expect("link");
        std::os::unix::fs::symlink("here/../../..", unpacked.join("chained")).expect("link");
        wheel = unpacked.file_name().map(PathBuf::from);
    });
    let built = rebuild_from(dir.path(), "b4", &inner, &[]);
    built.assert_ok();
    built.assert_contains(&[
        "symlink(s) pointing outside it, removed",
        "Reusing the uv cache(s)",
    ]);
    assert!(!dir
        .path()
        .join("b4/.python-s2i/cache/uv/planted-link")
        .exists());
    let wheel = dir
        .path()
        .join("b4/.python-s2i/cache/uv/archive-v0")
        .join(wheel.expect("wheel"));
    assert!(wheel.join("six.py").is_file(), "{}", built.all());
    assert!(wheel.join("here").is_symlink(), "{}", built.all());
    assert!(
        fs::symlink_metadata(wheel.join("chained")).is_err(),
        "a link resolving out of the cache is still in it\n{}",
        built.all()
    );
}

/// The default /tmp/artifacts, planted by another user on a shared host: assemble in host mode
/// never reads it. /tmp is an overlay in a mount namespace of this test's own, its writable layer
/// under /var/tmp, so the machine's /tmp is untouched and what lives in /tmp (the checkout, in a
/// CI that clones there) stays visible.
#[test]
fn planted_default_tmp_artifacts_are_not_read_in_host_mode() {
    require_root("mount a private /tmp");
    let dir = tempfile::tempdir_in(repo().join("build")).expect("tempdir outside /tmp");
    let (_, artifacts) = built_with_artifacts(dir.path(), "six==1.16.0\n");
    let root = dir.path().join("second");
    let inner = assemble_command(&fixture("faults_wsgi"), &root);
    let layer = tempfile::tempdir_in("/var/tmp").expect("overlay layer outside /tmp");
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "mkdir \"$1/upper\" \"$1/work\" && \
             mount -t overlay overlay -o \"lowerdir=/tmp,upperdir=$1/upper,workdir=$1/work\" /tmp && \
             rm -rf /tmp/artifacts && cp -a \"$0\" /tmp/artifacts && \
             chown -R 65534:65534 /tmp/artifacts && shift && exec \"$@\"",
        )
        .arg(&artifacts)
        .arg(layer.path())
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
        .env_remove("S2I_ARTIFACTS_DIR")
        .env_remove("UV_CACHE_DIR")
        .env_remove("PIP_CACHE_DIR");
    let built = finish_within(&mut command, BUILD_LIMIT);
    built.assert_ok();
    built.assert_contains(&[
        "/tmp/artifacts is not read outside the builder image",
        "set S2I_ARTIFACTS_DIR",
    ]);
    assert!(
        !built.stdout.contains("Reusing the uv cache"),
        "{}",
        built.all()
    );
}

/// Cache entries of a package: its unpacked wheel and its index entries.
fn cache_entries(root: &Path, package: &str) -> Vec<String> {
    let out = Command::new("find")
        .arg(root.join(".python-s2i/cache"))
        .args(["-ipath", &format!("*pypi/{package}*"), "-o", "-iname"])
        .arg(format!("{package}-*.dist-info"))
        .output()
        .expect("find");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn cache_kept_in_the_image_is_what_the_build_used_within_the_budget() {
    let dir = TempDir::new().expect("tempdir");
    // The first build needed idna too; the second one does not.
    let (first, artifacts) = built_with_artifacts(dir.path(), "six==1.16.0\nidna==3.7\n");
    let copy = dir.path().join("artifacts-copy");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&artifacts)
        .arg(&copy)
        .status()
        .expect("cp")
        .success());
    assert!(
        !cache_entries(&first, "idna").is_empty(),
        "idna not cached at all"
    );
    let built = rebuild_from(dir.path(), "second", &artifacts, &[]);
    built.assert_ok();
    built.assert_contains(&[
        "Pruning the caches kept in the image",
        "this build did not use",
    ]);
    let second = dir.path().join("second");
    assert!(
        cache_entries(&second, "idna").is_empty(),
        "idna, unused by this build, still cached: {:?}\n{}",
        cache_entries(&second, "idna"),
        built.all()
    );
    assert!(
        !cache_entries(&second, "six").is_empty(),
        "six was used: kept"
    );

    // A budget of 0 MiB keeps nothing.
    let built = rebuild_from(
        dir.path(),
        "third",
        &artifacts,
        &[("S2I_CACHE_BUDGET_MB", "0")],
    );
    built.assert_ok();
    let out = Command::new("du")
        .args(["-sb"])
        .arg(dir.path().join("third/.python-s2i/cache"))
        .output()
        .expect("du");
    let bytes: u64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("du output");
    assert!(
        bytes < 64 * 1024,
        "{bytes} bytes kept with a budget of 0\n{}",
        built.all()
    );
}

#[test]
fn save_artifacts_skips_sockets_and_unreadable_files() {
    let dir = TempDir::new().expect("tempdir");
    let (root, _) = built_with_artifacts(dir.path(), "six==1.16.0\n");
    let cache = root.join(".python-s2i/cache/uv");
    let _listener =
        std::os::unix::net::UnixListener::bind(cache.join("lock.sock")).expect("socket");
    fs::write(cache.join("secret"), "x").expect("write");
    fs::set_permissions(cache.join("secret"), fs::Permissions::from_mode(0o000)).expect("chmod");
    // As the image's user (not root, whom no mode stops from reading).
    let status = Command::new("chown")
        .args(["-R", "1001:0"])
        .arg(&root)
        .status()
        .expect("chown");
    assert!(status.success());
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let saved = save_artifacts_into(&root, &dir.path().join("again"), Some("1001"));
    assert_eq!(saved.code, Some(0), "{}", saved.stderr);
    saved.assert_contains(&[
        "lock.sock: not a regular file",
        "secret: Permission denied",
        "skipped",
    ]);
    assert!(dir.path().join("again").join(MANIFEST).is_file());
    let listed = Command::new("tar")
        .arg("-tf")
        .arg(dir.path().join("again").join(CACHES_ARCHIVE))
        .output()
        .expect("tar -t");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("uv/"), "{listed}");
    assert!(
        !listed.contains("lock.sock") && !listed.contains("secret"),
        "{listed}"
    );
}

// ---- Source modes, passwd fields, LD_PRELOAD (item 6) ----

#[test]
fn world_writable_and_setuid_source_modes_are_normalised() {
    let dir = TempDir::new().expect("tempdir");
    let app = copy_fixture("faults_wsgi", dir.path());
    fs::write(app.join("tool.sh"), "#!/bin/sh\necho tool\n").expect("write");
    fs::create_dir(app.join("shared")).expect("mkdir");
    for (name, mode) in [("wsgi.py", 0o666), ("tool.sh", 0o4755), ("shared", 0o2777)] {
        fs::set_permissions(app.join(name), fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let root = dir.path().join("root");
    assemble(&app, &root, &[]).assert_ok();
    for (name, wanted) in [("wsgi.py", 0o664), ("tool.sh", 0o775), ("shared", 0o775)] {
        let mode = fs::metadata(root.join("src").join(name))
            .expect("meta")
            .mode()
            & 0o7777;
        assert_eq!(mode, wanted, "{name}: {mode:04o}");
    }
}

#[track_caller]
fn require_root(why: &str) {
    if !nix::unistd::getuid().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test needs root ({why}); CI runs as root"
        );
        panic!("this test needs root ({why}): run the suite as root");
    }
}

/// A host-mode APP_ROOT at `root`: the fixture as `src/`, the servers' virtualenv of
/// `test/setup/30-run-servers.sh` linked in (no install).
fn app_root_with_servers(root: &Path, fixture_name: &str) {
    let venv = repo().join("build/test-venvs/servers");
    assert!(
        venv.join("bin/gunicorn").is_file(),
        "{} is missing: run `make deps`",
        venv.display()
    );
    fs::create_dir_all(root).expect("mkdir");
    for entry in ["bin", "lib", "include", "pyvenv.cfg"] {
        if venv.join(entry).exists() {
            std::os::unix::fs::symlink(venv.join(entry), root.join(entry)).expect("link");
        }
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture(fixture_name))
        .arg(root.join("src"))
        .status()
        .expect("cp");
    assert!(status.success());
}

/// `run` as an arbitrary UID without a passwd entry (OpenShift), GID 0.
fn run_as_arbitrary_uid(root: &Path, port: u16, env: &[(&str, &str)]) -> Command {
    let mut command = clean_command("setpriv");
    command
        .args(["--reuid", "1000123", "--regid", "0", "--clear-groups", "--"])
        .arg(bin("run"));
    command
        .env("APP_ROOT", root)
        .env("PORT", port.to_string())
        .env("APP_SERVER", "gunicorn")
        .env("HOME", "/")
        .envs(env.iter().copied());
    command
}

fn world_readable(dir: &Path) {
    let status = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir)
        .status()
        .expect("chmod");
    assert!(status.success());
}

#[test]
fn a_users_ld_preload_is_kept_when_nss_wrapper_is_added() {
    require_root("switch to an arbitrary UID");
    let jemalloc_like = "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";
    assert!(
        Path::new(jemalloc_like).is_file(),
        "{jemalloc_like} missing (libc6)"
    );
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    app_root_with_servers(&root, "faults_wsgi");
    world_readable(dir.path());
    let port = python_s2i_tests::free_port();
    let mut command = run_as_arbitrary_uid(&root, port, &[("LD_PRELOAD", jemalloc_like)]);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let _running = Running::spawn(&mut command);
    let page = python_s2i_tests::wait_for_ok(port, "/preload", Duration::from_secs(60))
        .expect("the app answers");
    let first = page.body.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("LD_PRELOAD=")
            && first.contains("libnss_wrapper.so")
            && first.ends_with(jemalloc_like),
        "{}",
        page.body
    );
    let loaded = page.body.lines().nth(1).unwrap_or_default();
    assert!(
        loaded.contains("libnss_wrapper.so") && loaded.contains("libc_malloc_debug.so.0"),
        "both libraries must be loaded: {}",
        page.body
    );
}

#[test]
fn colon_in_app_root_is_refused_before_it_corrupts_the_passwd_entry() {
    require_root("switch to an arbitrary UID");
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("app:root");
    app_root_with_servers(&root, "faults_wsgi");
    world_readable(dir.path());
    let mut command = run_as_arbitrary_uid(&root, python_s2i_tests::free_port(), &[]);
    let done = finish_within(&mut command, Duration::from_secs(60));
    assert_ne!(done.code, Some(0), "{}", done.all());
    // Refused when the environment is read, before run makes the UID's passwd entry (whose
    // home directory field a `:` would split) or puts the virtualenv on PATH.
    done.assert_contains(&[
        "APP_ROOT is set (the environment run was started with)",
        "app:root\" holds a `:`",
    ]);
}

// ---- Builds survive interruption; a full disk is named (item 4) ----

/// An assemble whose stdout lines arrive on a channel as they are printed.
struct Watched {
    running: Running,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    fn start(mut command: Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut running = Running::spawn(&mut command);
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = running.child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            running,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`.
    fn wait_for_line(&mut self, needle: &str) {
        let deadline = Instant::now() + BUILD_LIMIT;
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no line with {needle:?}:\n{}", self.seen.join("\n"));
    }

    /// Waits for `path` to exist.
    fn wait_for_path(&mut self, path: &Path) {
        let deadline = Instant::now() + BUILD_LIMIT;
        while !path.exists() {
            assert!(
                Instant::now() < deadline && matches!(self.running.child.try_wait(), Ok(None)),
                "{} never appeared",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL to assemble's whole process group, as a cancelled build or the OOM killer does.
    fn kill(mut self) {
        let _ = nix::sys::signal::killpg(self.running.pid(), nix::sys::signal::Signal::SIGKILL);
        let status = self
            .running
            .wait_timeout(Duration::from_secs(30))
            .expect("assemble ends on SIGKILL");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }
}

/// `run` in host mode on an assembled APP_ROOT answers `faults ok`.
fn assert_serves(root: &Path) {
    let port = python_s2i_tests::free_port();
    let mut command = clean_command(bin("run"));
    command
        .env("APP_ROOT", root)
        .env("PORT", port.to_string())
        .env("APP_SERVER", "gunicorn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _running = Running::spawn(&mut command);
    let page = python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("the rebuilt app does not answer: {e}"));
    assert_eq!(page.body, "faults ok -\n");
}

/// The rebuild after a kill: succeeds, says it repairs, and serves.
fn rebuild_after_kill(app: &Path, root: &Path, env: &[(&str, &str)]) {
    let rebuilt = assemble(app, root, env);
    rebuilt.assert_ok();
    rebuilt.assert_contains(&["The previous build in", "did not finish", "made again"]);
    assert_serves(root);
}

#[test]
fn assemble_killed_while_creating_the_virtualenv_then_rebuilt_serves() {
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    let app = fixture("faults_wsgi");
    // pip's way (`python -m venv`): pyvenv.cfg first, pip seconds later.
    let env = [("S2I_INSTALLER", "pip")];
    let mut command = assemble_command(&app, &root);
    command.envs(env);
    let mut watched = Watched::start(command);
    // The interpreter is in, pip (ensurepip, seconds later) is not yet.
    watched.wait_for_path(&root.join("bin/python"));
    watched.kill();
    let pip = Command::new(root.join("bin/python"))
        .args(["-c", "import pip"])
        .output();
    assert!(
        !pip.is_ok_and(|o| o.status.success()),
        "the kill came after the virtualenv was complete: this test proves nothing"
    );
    rebuild_after_kill(&app, &root, &env);
}

/// A package index that never answers for one package: an installer asking for it waits until
/// it is killed. Every other package is sent on to PyPI (a redirect), so that what comes
/// before (the virtualenv's pip) is installed as usual.
struct StallingIndex {
    port: u16,
    /// The request lines received so far.
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StallingIndex {
    fn start(stalled: &'static str) -> Self {
        use std::io::Write;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (std::sync::Arc::clone(&asked), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            // The connections asking for `stalled`: held open, never answered, until the
            // index stops.
            let mut open: Vec<std::net::TcpStream> = Vec::new();
            let mut held: Vec<std::net::TcpStream> = Vec::new();
            while !stopped.load(Ordering::SeqCst) {
                if let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true).expect("nonblocking");
                    open.push(stream);
                }
                let mut still_open = Vec::new();
                for mut stream in open.drain(..) {
                    let mut buf = [0u8; 4096];
                    match stream.read(&mut buf) {
                        Ok(n @ 1..) => {
                            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                            let line = text.lines().next().unwrap_or_default().to_owned();
                            seen.lock().expect("asked").push(line.clone());
                            let path = line.split(' ').nth(1).unwrap_or_default();
                            if path.trim_matches('/') == format!("simple/{stalled}") {
                                held.push(stream);
                            } else {
                                let _ = write!(
                                    stream,
                                    "HTTP/1.1 302 Found\r\nLocation: https://pypi.org{path}\r\n\
                                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                                );
                            }
                        }
                        Ok(_) => {}
                        Err(_) => still_open.push(stream),
                    }
                }
                open = still_open;
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(held);
        });
        Self { port, asked, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple", self.port)
    }

    /// Waits until a request for `package` has arrived.
    fn wait_for_request(&self, package: &str, watched: &mut Watched) {
        let deadline = Instant::now() + BUILD_LIMIT;
        while !self.asked().iter().any(|l| l.contains(package)) {
            assert!(
                Instant::now() < deadline,
                "the installer never asked the index for {package}: {:?}",
                self.asked()
            );
            assert!(
                matches!(watched.running.child.try_wait(), Ok(None)),
                "assemble ended before it asked the index for {package}: {:?}",
                self.asked()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("asked").clone()
    }
}

impl Drop for StallingIndex {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn assemble_killed_while_installing_dependencies_then_rebuilt_serves() {
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    let app = fixture("faults_wsgi");
    // The kill lands inside the install: the installer (with empty caches, so it must ask) is
    // waiting for an index that never answers.
    let index = StallingIndex::start("six");
    let mut command = assemble_command(&app, &root);
    command
        .env("PIP_INDEX_URL", index.url())
        .env("UV_CACHE_DIR", dir.path().join("uv-cache"))
        .env("PIP_CACHE_DIR", dir.path().join("pip-cache"));
    let mut watched = Watched::start(command);
    watched.wait_for_line("Installing requirements.txt with");
    watched.wait_for_line("pip install");
    index.wait_for_request("/six/", &mut watched);
    watched.kill();
    let six = Command::new(root.join("bin/python"))
        .args(["-c", "import six"])
        .output()
        .expect("the virtualenv's python");
    assert!(
        !six.status.success(),
        "six was installed before the kill: this test proves nothing"
    );
    rebuild_after_kill(&app, &root, &[]);
}

#[test]
fn assemble_killed_in_a_build_hook_then_rebuilt_serves() {
    let dir = TempDir::new().expect("tempdir");
    let app = copy_fixture("faults_wsgi", dir.path());
    write_hook(
        &app,
        ".s2i/action_hooks/build",
        "#!/bin/sh\n# A long asset build; PAUSED_AT tells the test it is under way.\n\
         if [ -n \"${PAUSED_AT:-}\" ]; then : > \"$PAUSED_AT\"; exec sleep 600; fi\n",
        0o755,
    );
    let root = dir.path().join("root");
    let marker = dir.path().join("hook-running");
    let mut command = assemble_command(&app, &root);
    command.env("PAUSED_AT", &marker);
    let mut watched = Watched::start(command);
    watched.wait_for_path(&marker);
    watched.kill();
    rebuild_after_kill(&app, &root, &[]);
}

/// A 64 MiB tmpfs as APP_ROOT and dependencies that need more: a message naming the path and
/// the space, not an installer's traceback alone.
#[test]
fn full_disk_is_named_with_the_path_and_the_space() {
    require_root("mount a tmpfs");
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    fs::create_dir(&root).expect("mkdir");
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
        .arg(&root)
        .status()
        .expect("mount");
    assert!(status.success(), "mount -t tmpfs failed");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(root.clone());
    let app = copy_fixture("faults_wsgi", dir.path());
    // numpy and pandas unpacked: well over 64 MiB.
    fs::write(
        app.join("requirements.txt"),
        "pandas==2.2.3\nnumpy==2.1.3\n",
    )
    .expect("write");
    let built = assemble(&app, &root, &[]);
    assert_eq!(built.code, Some(1), "{}", built.all());
    built.assert_contains(&[
        &format!(
            "ERROR: No space left on the disk holding {}",
            root.display()
        ),
        "free of 64.0 MiB",
        "were free when the build started: this build needs more than that",
        "Give the build more room: at least",
        "The step that failed:",
    ]);
}

// ---- One supervised start (item 1) and deploy-side hooks (item 2) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`), signalled from
    /// outside it, as a container engine does.
    Pid1,
    /// An ordinary process.
    NotPid1,
}

/// `run` (plain: detect and start) on `root`, in `mode`, its output collected and its port
/// watched while it runs.
struct Start {
    running: Running,
    mode: Mode,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    /// The threads reading stdout and stderr; joined once run has exited ([`Start::ended`]).
    readers: Vec<std::thread::JoinHandle<()>>,
    port: u16,
    /// Connects to the port from run's start until [`Start::ended`].
    watch: Option<python_s2i_tests::PortWatch>,
    /// What the watch saw: when something accepted a connection on the port, how long after
    /// run started.
    served_after: Option<Duration>,
}

impl Start {
    fn new(mode: Mode, root: &Path, env: &[(&str, &str)]) -> Self {
        let port = python_s2i_tests::free_port();
        let mut command = match mode {
            Mode::Pid1 => {
                require_root("unshare a PID namespace");
                let mut c = clean_command("unshare");
                c.args(["--pid", "--fork", "--mount-proc"]).arg(bin("run"));
                c
            }
            Mode::NotPid1 => clean_command(bin("run")),
        };
        command
            .env("APP_ROOT", root)
            .env("PORT", port.to_string())
            .env("APP_SERVER", "gunicorn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut running = Running::spawn(&mut command);
        let watch = Some(python_s2i_tests::PortWatch::start(port));
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut readers = Vec::new();
        for pipe in [
            running
                .child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            running
                .child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = std::sync::Arc::clone(&log);
            readers.push(std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut log = log.lock().expect("log");
                    log.push_str(&line);
                    log.push('\n');
                }
            }));
        }
        Self {
            running,
            mode,
            log,
            readers,
            port,
            watch,
            served_after: None,
        }
    }

    /// What run printed so far; all of it once [`Start::ended`] has run.
    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// After run has exited: its output read to the end, the port's watch stopped.
    fn ended(&mut self) {
        for reader in self.readers.drain(..) {
            reader.join().expect("log reader");
        }
        if let Some(watch) = self.watch.take() {
            self.served_after = watch.stop();
        }
    }

    /// Waits up to `timeout` for run to exit on its own, then [`Start::ended`].
    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = self
            .running
            .wait_timeout(timeout)
            .unwrap_or_else(|| panic!("run still running after {timeout:?}\n{}", self.log()));
        self.ended();
        status
    }

    /// `run`'s pid from here: itself, or unshare's child (the namespace's PID 1).
    fn run_pid(&self) -> nix::unistd::Pid {
        let unshare = self.running.pid();
        if self.mode == Mode::NotPid1 {
            return unshare;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let children = fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                return nix::unistd::Pid::from_raw(pid.parse().expect("pid"));
            }
            assert!(Instant::now() < deadline, "unshare started no child");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every process under the one started (host pids): run, and what runs under it.
    fn descendants(&self) -> Vec<i32> {
        let mut found = Vec::new();
        let mut queue = vec![self.running.pid().as_raw()];
        while let Some(pid) = queue.pop() {
            let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
                for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                    found.push(child);
                    queue.push(child);
                }
            }
        }
        found
    }

    /// Lets run go on for a while (a server wrongly started meanwhile has the time to bind
    /// its port, where the watch sees it); run must still be running after it.
    fn let_run(&mut self, period: Duration) {
        std::thread::sleep(period);
        assert!(
            matches!(self.running.child.try_wait(), Ok(None)),
            "run ended\n{}",
            self.log()
        );
    }

    fn wait_for_file(&mut self, path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !path.is_file() || fs::read_to_string(path).unwrap_or_default().is_empty() {
            assert!(
                Instant::now() < deadline,
                "{} never appeared\n{}",
                path.display(),
                self.log()
            );
            assert!(
                matches!(self.running.child.try_wait(), Ok(None)),
                "run ended before {} appeared\n{}",
                path.display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` to run and waits for it to end; returns its exit code and how long it
    /// took.
    fn stop_with(&mut self, signal: nix::sys::signal::Signal) -> (Option<i32>, Duration) {
        let pid = self.run_pid();
        let sent = Instant::now();
        nix::sys::signal::kill(pid, signal).expect("signal run");
        let status = self
            .running
            .wait_timeout(Duration::from_secs(60))
            .unwrap_or_else(|| panic!("run still running 60 s after {signal}\n{}", self.log()));
        let took = sent.elapsed();
        self.ended();
        (status.code(), took)
    }

    /// After run has exited ([`Start::ended`]): nothing accepted a connection on the server's
    /// port while run was alive, and its whole output has no server's start in it.
    #[track_caller]
    fn assert_server_never_started(&self) {
        assert!(
            self.watch.is_none() && self.readers.is_empty(),
            "checked before run exited"
        );
        assert!(
            self.served_after.is_none(),
            "something accepted connections on the server's port {:?} after run started\n{}",
            self.served_after,
            self.log()
        );
        assert!(
            !self.log().contains("Listening at"),
            "the server was started\n{}",
            self.log()
        );
    }
}

#[track_caller]
fn assert_none_alive(pids: &[i32], log: &str) {
    assert!(!pids.is_empty(), "nothing ran under run\n{log}");
    let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        left.is_empty(),
        "still running after run exited: {left:?}\n{log}"
    );
}

/// A deploy hook that takes 30 s (a cache warm-up), saying when it started and its pid.
fn app_with_slow_deploy_hook(dir: &Path, marker: &Path, hook_body: &str) -> PathBuf {
    let root = dir.join("root");
    app_root_with_servers(&root, "faults_wsgi");
    write_hook(
        &root.join("src"),
        ".s2i/action_hooks/deploy",
        &format!(
            "#!/bin/sh\n{hook_body}\necho $$ > {}\nsleep 30\necho warmed\n",
            marker.display()
        ),
        0o755,
    );
    root
}

fn term_during_a_deploy_hook(mode: Mode) {
    stopped_during_a_deploy_hook(mode, nix::sys::signal::Signal::SIGTERM, 143);
}

/// docs/init.md: INT during a step gives 128+2.
fn int_during_a_deploy_hook(mode: Mode) {
    stopped_during_a_deploy_hook(mode, nix::sys::signal::Signal::SIGINT, 130);
}

fn stopped_during_a_deploy_hook(mode: Mode, signal: nix::sys::signal::Signal, exit: i32) {
    let dir = TempDir::new().expect("tempdir");
    let marker = dir.path().join("hook.pid");
    let root = app_with_slow_deploy_hook(dir.path(), &marker, "");
    let mut start = Start::new(mode, &root, &[]);
    start.wait_for_file(&marker);
    start.let_run(Duration::from_secs(5));
    let under_run = start.descendants();
    let (code, took) = start.stop_with(signal);
    assert_eq!(code, Some(exit), "{}", start.log());
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}\n{}",
        start.log()
    );
    assert_none_alive(&under_run, &start.log());
    assert!(!start.log().contains("warmed"), "{}", start.log());
    start.assert_server_never_started();
}

fn term_ignoring_deploy_hook_is_killed_after_the_grace_period(mode: Mode) {
    let dir = TempDir::new().expect("tempdir");
    let marker = dir.path().join("hook.pid");
    let root = app_with_slow_deploy_hook(dir.path(), &marker, "trap '' TERM INT");
    let mut start = Start::new(mode, &root, &[("STOP_GRACE_PERIOD", "3")]);
    start.wait_for_file(&marker);
    start.let_run(Duration::from_secs(5));
    let under_run = start.descendants();
    let (code, took) = start.stop_with(nix::sys::signal::Signal::SIGINT);
    assert_eq!(code, Some(137), "{}", start.log());
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "took {took:?}\n{}",
        start.log()
    );
    assert_none_alive(&under_run, &start.log());
    start.assert_server_never_started();
}

fn term_during_a_slow_migrate(mode: Mode) {
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    app_root_with_servers(&root, "faults_django");
    world_readable(dir.path());
    let marker = dir.path().join("migrate.pid");
    let db = dir.path().join("db.sqlite3");
    let mut start = Start::new(
        mode,
        &root,
        &[
            ("BACKFILL_STARTED", marker.to_str().expect("utf8")),
            ("BACKFILL_SECONDS", "60"),
            ("DJANGO_DB", db.to_str().expect("utf8")),
        ],
    );
    start.wait_for_file(&marker);
    start.let_run(Duration::from_secs(5));
    let under_run = start.descendants();
    let (code, took) = start.stop_with(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(code, Some(143), "{}", start.log());
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}\n{}",
        start.log()
    );
    assert_none_alive(&under_run, &start.log());
    start.assert_server_never_started();
}

mod as_pid1 {
    #[test]
    fn term_during_a_deploy_hook() {
        super::term_during_a_deploy_hook(super::Mode::Pid1);
    }
    #[test]
    fn int_during_a_deploy_hook() {
        super::int_during_a_deploy_hook(super::Mode::Pid1);
    }
    #[test]
    fn term_ignoring_deploy_hook_is_killed_after_the_grace_period() {
        super::term_ignoring_deploy_hook_is_killed_after_the_grace_period(super::Mode::Pid1);
    }
    #[test]
    fn term_during_a_slow_migrate() {
        super::term_during_a_slow_migrate(super::Mode::Pid1);
    }
}

mod not_pid1 {
    #[test]
    fn term_during_a_deploy_hook() {
        super::term_during_a_deploy_hook(super::Mode::NotPid1);
    }
    #[test]
    fn int_during_a_deploy_hook() {
        super::int_during_a_deploy_hook(super::Mode::NotPid1);
    }
    #[test]
    fn term_ignoring_deploy_hook_is_killed_after_the_grace_period() {
        super::term_ignoring_deploy_hook_is_killed_after_the_grace_period(super::Mode::NotPid1);
    }
    #[test]
    fn term_during_a_slow_migrate() {
        super::term_during_a_slow_migrate(super::Mode::NotPid1);
    }
}

#[test]
fn deploy_hook_leaving_a_background_process_is_named_and_ended_and_the_server_starts() {
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    app_root_with_servers(&root, "faults_wsgi");
    let pid_file = dir.path().join("sleep.pid");
    write_hook(
        &root.join("src"),
        ".s2i/action_hooks/deploy",
        &format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}\n",
            pid_file.display()
        ),
        0o755,
    );
    let start = Start::new(Mode::NotPid1, &root, &[]);
    python_s2i_tests::wait_for_ok(start.port, "/", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", start.log()));
    let log = start.log();
    assert!(
        log.contains("exited but left a process running in its process group"),
        "{log}"
    );
    assert!(
        !alive(read_pid(&pid_file)),
        "the hook's sleep still runs\n{log}"
    );
}

#[test]
fn deploy_env_that_exits_stops_the_start_instead_of_an_empty_environment() {
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    app_root_with_servers(&root, "faults_wsgi");
    write_hook(
        &root.join("src"),
        ".warpdrive/action_hooks/deploy-env",
        "export FROM_DEPLOY_ENV=yes\nexit 0\n",
        0o644,
    );
    let mut start = Start::new(Mode::NotPid1, &root, &[]);
    let status = start.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(1), "{}", start.log());
    let log = start.log();
    for needle in [
        "The deploy-env hook failed; the server was not started.",
        "ended the shell that sources it",
        "use `return` instead of `exit`",
    ] {
        assert!(log.contains(needle), "{needle:?} missing:\n{log}");
    }
    start.assert_server_never_started();

    // With `return`, its variables reach the server.
    write_hook(
        &root.join("src"),
        ".warpdrive/action_hooks/deploy-env",
        "export FROM_DEPLOY_ENV=yes\nreturn 0\n",
        0o644,
    );
    let start = Start::new(Mode::NotPid1, &root, &[]);
    let page = python_s2i_tests::wait_for_ok(start.port, "/", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", start.log()));
    assert_eq!(page.body, "faults ok yes\n");
}

// ---- Issue 22: crafted manifests and archives, liveness during deploy-env ----

/// A manifest of the current format for Python 3 naming `archives` (name, sha256, size).
fn crafted_manifest(dir: &Path, archives: &[(&str, &str, u64)]) {
    let python = Command::new("/usr/bin/python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .expect("python3");
    let archives: Vec<serde_json::Value> = archives
        .iter()
        .map(|(name, sha256, size)| serde_json::json!({"name": name, "sha256": sha256, "size": size}))
        .collect();
    let manifest = serde_json::json!({
        "format": 3,
        "python_version": String::from_utf8_lossy(&python.stdout).trim(),
        "dependency_digest": "x",
        "caches": [],
        "archives": archives,
    });
    fs::write(dir.join(MANIFEST), manifest.to_string()).expect("manifest");
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("sum")
        .to_owned()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// Item 1: a manifest names only the two archives, and assemble reads only regular files. A
/// name of another file (with that file's sha256 and size) made assemble hash it, then delete
/// it; `/dev/zero` or a FIFO made it wait forever. Each is now a warning and a clean build.
#[test]
fn crafted_manifests_delete_nothing_and_never_block_the_build() {
    let dir = TempDir::new().expect("tempdir");
    let victim = dir.path().join("victim");
    fs::write(&victim, "a file of someone's").expect("victim");
    let victim_name = victim.to_str().expect("utf-8").to_owned();
    let victim_sum = sha256_of(&victim);
    let check = |name: &str, craft: &dyn Fn(&Path), warning: &str| {
        let artifacts = dir.path().join(format!("artifacts-{name}"));
        fs::create_dir(&artifacts).expect("mkdir");
        fs::set_permissions(&artifacts, fs::Permissions::from_mode(0o700)).expect("chmod");
        craft(&artifacts);
        let root = dir.path().join(format!("root-{name}"));
        let mut command = assemble_command(&fixture("faults_wsgi"), &root);
        command.env("S2I_ARTIFACTS_DIR", &artifacts);
        // A hang is what this guards against: far less than a build's limit.
        let built = finish_within(&mut command, Duration::from_secs(90));
        built.assert_ok();
        built.assert_contains(&[warning, "this is a clean build"]);
        assert_eq!(
            fs::read_to_string(&victim).ok().as_deref(),
            Some("a file of someone's"),
            "{name}: the victim was deleted or changed\n{}",
            built.all()
        );
    };
    check(
        "victim",
        &|artifacts| crafted_manifest(artifacts, &[(&victim_name, &victim_sum, 19)]),
        &format!("names {victim_name:?} as an archive, and an artifacts manifest names only {DEPS_ARCHIVE} and {CACHES_ARCHIVE}"),
    );
    check(
        "zero",
        &|artifacts| crafted_manifest(artifacts, &[("/dev/zero", "0", 1 << 40)]),
        "names \"/dev/zero\" as an archive",
    );
    check(
        "fifo-archive",
        &|artifacts| {
            mkfifo(&artifacts.join(CACHES_ARCHIVE));
            crafted_manifest(artifacts, &[(CACHES_ARCHIVE, "0", 10)]);
        },
        &format!("{CACHES_ARCHIVE} is a FIFO, not a regular file"),
    );
    check(
        "fifo-manifest",
        &|artifacts| mkfifo(&artifacts.join(MANIFEST)),
        &format!("{MANIFEST} is a FIFO, not a regular file"),
    );
}

/// Repacks the archive `name` of `artifacts` from its unpacked members after `change` (given
/// the directory they are in), members named as save-artifacts names them (no `./`), and
/// records its size and sha256 in the manifest, as a crafted archive would be made.
fn repack(artifacts: &Path, name: &str, change: impl FnOnce(&Path)) {
    let unpacked = artifacts.with_extension(format!("{name}.unpacked"));
    fs::create_dir_all(&unpacked).expect("mkdir");
    let archive = artifacts.join(name);
    let run = |command: &mut Command| assert!(command.status().expect("run").success());
    run(Command::new("tar")
        .args(["--zstd", "-xf"])
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked));
    change(&unpacked);
    let mut members: Vec<String> = fs::read_dir(&unpacked)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    members.sort();
    run(Command::new("tar")
        .args(["--zstd", "-cf"])
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .args(&members));
    let _ = fs::remove_dir_all(&unpacked);
    rerecord(artifacts, name);
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success());
}

/// Item 8: a restore writes the manifest's entries only, within a size bound, and gives a
/// directory its mode after its contents. A dependencies archive (its digest recorded) holding
/// `src/` or `.python-s2i/` wrote them; one of zeros unpacked without end; a read-only
/// directory (0555) failed the restore for a build user that is not root (root writes into it
/// anyway), as builds run in the images. (Links of the caches: in
/// `planted_foreign_writable_or_symlinked_artifacts_are_refused`.)
#[test]
fn crafted_dependency_archives_write_only_the_manifests_entries() {
    require_root("build as another user");
    let dir = TempDir::new().expect("tempdir");
    let (root, artifacts) = built_with_artifacts(dir.path(), "six==1.16.0\n");
    let app = dir.path().join("faults_wsgi");
    // The same app at the same place: its dependencies would be restored whole. The shared
    // download caches (not part of the inputs) spare the downloads of a fresh virtualenv.
    let rebuild_in_place = |artifacts: &Path, as_user: Option<&str>| {
        fs::remove_dir_all(&root).expect("rm");
        let inner = assemble_command(&app, &root);
        let mut command = Command::new("setpriv");
        match as_user {
            Some(uid) => command.args(["--reuid", uid, "--regid", uid, "--clear-groups"]),
            None => command.arg("--reuid=0"),
        };
        command
            .arg("--")
            .arg(inner.get_program())
            .args(inner.get_args());
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command.env("S2I_ARTIFACTS_DIR", artifacts);
        if as_user.is_some() {
            // Its own caches (the shared ones are root's), under APP_ROOT as in the images.
            command
                .env_remove("UV_CACHE_DIR")
                .env_remove("PIP_CACHE_DIR")
                .env("HOME", dir.path());
        }
        let built = finish_within(&mut command, BUILD_LIMIT);
        built.assert_ok();
        let out = Command::new(root.join("bin/python"))
            .args(["-c", "import six; print(six.__version__)"])
            .output()
            .expect("python");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.16.0");
        built
    };

    // Members outside the manifest's entries: the source and the state directory.
    let planted = dir.path().join("planted");
    copy_dir(&artifacts, &planted);
    repack(&planted, DEPS_ARCHIVE, |members| {
        for file in ["src/planted.py", ".python-s2i/python/sitecustomize.py"] {
            let path = members.join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, "raise SystemExit('planted')\n").expect("plant");
        }
    });
    let built = rebuild_in_place(&planted, None);
    built.assert_contains(&[
        &format!("{DEPS_ARCHIVE} did not unpack"),
        "which is not one of the entries its manifest lists",
        "Installing requirements.txt",
    ]);
    assert!(!root.join("src/planted.py").exists(), "{}", built.all());
    assert!(!root.join(".python-s2i/python/sitecustomize.py").exists());

    // Zeros that unpack far past the archive's size.
    let bomb = dir.path().join("bomb");
    copy_dir(&artifacts, &bomb);
    repack(&bomb, DEPS_ARCHIVE, |members| {
        let zeros = fs::File::create(members.join("lib/zeros")).expect("create");
        zeros.set_len(256 << 20).expect("sparse file of zeros");
    });
    assert!(
        fs::metadata(bomb.join(DEPS_ARCHIVE))
            .expect("archive")
            .len()
            < 8 << 20
    );
    let built = rebuild_in_place(&bomb, None);
    built.assert_contains(&[
        &format!("{DEPS_ARCHIVE} did not unpack"),
        "it unpacks to more than",
        "Installing requirements.txt",
    ]);
    assert!(!root.join("lib/zeros").exists(), "{}", built.all());

    // A read-only directory, restored by a build user that is not root, who owns its
    // artifacts and where it builds.
    repack(&artifacts, DEPS_ARCHIVE, |members| {
        let ro = members.join("lib/read-only");
        fs::create_dir(&ro).expect("mkdir");
        fs::write(ro.join("data.txt"), "restored\n").expect("write");
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).expect("chmod");
    });
    let nobody = "65534";
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let status = Command::new("chown")
        .args(["-R", &format!("{nobody}:{nobody}")])
        .arg(dir.path())
        .status()
        .expect("chown");
    assert!(status.success());
    let built = rebuild_in_place(&artifacts, Some(nobody));
    built.assert_contains(&["restored the installed dependencies of the previous build"]);
    // (Its mode is then the permission fix's, as every directory's of the build.)
    assert_eq!(
        fs::read_to_string(root.join("lib/read-only/data.txt")).expect("data.txt"),
        "restored\n"
    );
}

/// Item 9: `run --check-live` passes while a slow deploy-env is sourced (the start records
/// `starting` before it), and `--check-ready` does not.
#[test]
fn check_live_passes_while_deploy_env_runs() {
    let dir = TempDir::new().expect("tempdir");
    let root = dir.path().join("root");
    app_root_with_servers(&root, "faults_wsgi");
    let marker = dir.path().join("deploy-env.started");
    write_hook(
        &root.join("src"),
        ".warpdrive/action_hooks/deploy-env",
        &format!("echo started > {}\nsleep 30\n", marker.display()),
        0o644,
    );
    let mut start = Start::new(Mode::NotPid1, &root, &[]);
    start.wait_for_file(&marker);
    let probe = |flag: &str| {
        let out = Command::new(bin("run"))
            .arg(flag)
            .env("APP_ROOT", &root)
            .env("PORT", start.port.to_string())
            .output()
            .expect("run probe");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, said) = probe("--check-live");
    assert_eq!(code, Some(0), "{said}\n{}", start.log());
    assert!(said.contains("is starting"), "{said}");
    let (code, said) = probe("--check-ready");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("not ready"), "{said}");
    let (code, _) = start.stop_with(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(code, Some(143), "{}", start.log());
}
