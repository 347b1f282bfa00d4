//! The ways users build, end to end with the real s2i CLI (issue 21), and `run` as PID 1
//! whatever CMD the image ends up with:
//!
//! - (b) `s2i build --as-dockerfile` then `podman build`: what OpenShift 4 BuildConfigs,
//!   Shipwright and Tekton do (buildah builds the Dockerfile s2i writes);
//! - (a) `s2i build` through the Docker API, served by `podman system service` on a private
//!   socket that the test starts and ends;
//! - (c) `images/s2i-build`, the no-CLI path, held to what the CLI does.
//!
//! One fixture repository (`paths_repo`: the app in `app/`, built with `--context-dir app`)
//! exercises at once `.s2i/bin` overrides that call the builder's scripts, `.s2i/environment`
//! and `-e`, `--inject`, what s2i leaves out of the source (`.git`, `.s2iignore`), and an
//! `--incremental` rebuild that restores the installed dependencies, proven by a marker file
//! planted in the previous image's installed dependencies (no fresh install can make it).
//!
//! Every app image is run as an arbitrary UID in group 0 and stopped with `podman stop` while a
//! slow request is in flight, in three CMD forms: the exec form, the shell form that s2i writes
//! (`CMD /usr/libexec/s2i/run`, PID 1 is `/bin/sh -c ...` unless the shell execs it) and an
//! explicit `podman run IMAGE /usr/libexec/s2i/run`. Each answers the request, exits 0 within
//! seconds and has reaped its orphans. On 3.11, two replicas behind HAProxy are restarted one
//! after the other under steady load, and no request fails.
//!
//! Python 3.11 (`make test`) and 2.7 run everything (s2i's `--runtime-image` through the
//! Docker API and HAProxy on 3.11 only); the other versions run path (b) and its graceful stop
//! with the CMD s2i writes (`make test-e2e-others`). The builds are shared: one test builds each
//! image once and runs every check on it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use python_s2i_tests::podman::{
    builder, container_state, output, podman, python_version, runtime_image,
    s2i_as_dockerfile_build, text, unique, DockerApi, CA_BUNDLE,
};
use python_s2i_tests::{copy_fixture, free_port, get, repo, wait_for_ok, Running};

/// The UID OpenShift's restricted SCC gives a pod: no passwd entry, group 0.
const ARBITRARY_USER: &str = "1000680000:0";
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// What a graceful stop may take: the 3 s request in flight and the server's own stop (3 to 6 s
/// measured; 12 s seen on a machine at load 17), below the 30 s grace period `podman stop -t 30`
/// gives before its SIGKILL, which is what a stop signal that never reached `run` takes.
const STOP_WITHIN: Duration = Duration::from_secs(20);
/// The variables the build sets (s2i semantics: `.s2i/environment`, then `-e`, baked into the
/// image).
const BUILD_ENV: [&str; 2] = ["-e", "PATHS_FROM_CLI=yes"];
const OVERRIDE_ENV: [&str; 2] = ["-e", "PATHS_OVERRIDDEN=by -e"];
const CONTEXT_DIR: [&str; 2] = ["--context-dir", "app"];

/// Python 3.11 and 2.7 run every path; the others path (b) and its stops.
fn every_path() -> bool {
    let version = python_version();
    version == "3.11" || version.starts_with("2.")
}

/// An image made by a test; removed (with the ids it had before a rebuild) when dropped.
struct Image {
    name: String,
    ids: Vec<String>,
}

impl Image {
    fn new(what: &str) -> Self {
        Self {
            name: format!(
                "localhost/{}:py{}",
                unique(&format!("python-s2i-paths-{what}")),
                python_version()
            ),
            ids: Vec::new(),
        }
    }

    /// Records the id the name has now, so that it is removed even once retagged.
    fn built(&mut self, ok: bool, log: &str, what: &str) {
        assert!(ok, "{what} of {} failed:\n{log}", self.name);
        let id = output(podman().args(["image", "inspect", "--format", "{{.Id}}", &self.name]));
        self.ids
            .push(String::from_utf8_lossy(&id.stdout).trim().to_owned());
    }

    /// `/bin/sh -c SCRIPT` in a new container of the image as the arbitrary UID.
    fn shell(&self, script: &str) -> String {
        let out = output(podman().args([
            "run",
            "--rm",
            "--user",
            ARBITRARY_USER,
            "--entrypoint",
            "/bin/sh",
            &self.name,
            "-c",
            script,
        ]));
        assert!(out.status.success(), "{script}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `FROM this` with `lines` after it, under a new name (no RUN: a second at most).
    fn derive(&self, what: &str, lines: &str) -> Self {
        let mut derived = Self::new(what);
        let ok = containerfile_build(&derived.name, &format!("FROM {}\n{lines}\n", self.name));
        derived.built(ok.0, &ok.1, "podman build");
        derived
    }

    fn config(&self, field: &str) -> String {
        Self::config_of(&self.name, field)
    }

    /// A field of an image's configuration, as JSON.
    fn config_of(name: &str, field: &str) -> String {
        let out = output(podman().args([
            "image",
            "inspect",
            "--format",
            &format!("{{{{json .Config.{field}}}}}"),
            name,
        ]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman().args(["rmi", "-f", &self.name]).output();
        for id in &self.ids {
            let _ = podman().args(["rmi", "-f", id]).output();
        }
    }
}

/// `podman build -t NAME -` of a Containerfile given as text.
fn containerfile_build(name: &str, containerfile: &str) -> (bool, String) {
    use std::io::Write;
    let context = tempfile::tempdir().expect("tempdir");
    let mut child = podman()
        .args(["build", "--format", "docker", "-t", name, "-f", "-"])
        .arg(context.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podman build");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(containerfile.as_bytes())
        .expect("write the Containerfile");
    let out = child.wait_with_output().expect("podman build");
    (out.status.success(), text(&out))
}

/// A container of an app image as the arbitrary UID; removed when dropped.
struct App {
    name: String,
    port: u16,
}

impl App {
    /// Starts `image` with `command` (none: the image's CMD) on `port` (none: a free one) and
    /// waits for a 200 on `/`.
    fn start(image: &str, command: &[&str], port: Option<u16>) -> Self {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let app = Self {
                name: unique("python-s2i-paths"),
                port: port.unwrap_or_else(free_port),
            };
            let out = output(
                podman()
                    .args(["run", "-d", "--name", &app.name, "--user", ARBITRARY_USER])
                    .arg("-p")
                    .arg(format!("127.0.0.1:{}:8080", app.port))
                    .arg(image)
                    .args(command),
            );
            if out.status.success() {
                if let Err(e) = wait_for_ok(app.port, "/", START_TIMEOUT) {
                    panic!(
                        "{image} {command:?} never answered 200: {e}\n{}",
                        app.logs()
                    );
                }
                return app;
            }
            let message = text(&out);
            assert!(
                port.is_none() && attempt < 3 && python_s2i_tests::address_in_use(&message),
                "podman run failed: {message}"
            );
        }
    }

    fn logs(&self) -> String {
        text(&output(podman().args(["logs", &self.name])))
    }

    fn exec(&self, script: &str) -> String {
        let out = output(podman().args(["exec", &self.name, "/bin/sh", "-c", script]));
        assert!(out.status.success(), "exec {script}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn get_ok(&self, path: &str) -> String {
        let response = get(self.port, path).unwrap_or_else(|e| panic!("{e}\n{}", self.logs()));
        assert_eq!(
            response.status,
            200,
            "{path}: {response:?}\n{}",
            self.logs()
        );
        response.body
    }

    fn state(&self, field: &str) -> String {
        container_state(&self.name, field)
    }

    /// PID 1's command line.
    fn pid1(&self) -> String {
        self.exec("tr '\\0' ' ' </proc/1/cmdline")
    }

    /// The init's work, checked from outside `run`'s log: PID 1 is `run` (not a shell that
    /// would swallow SIGTERM); the orphans the app leaves are reaped; `podman stop` with a
    /// slow request in flight answers it, and the container exits 0 within [`STOP_WITHIN`].
    fn stops_gracefully(&self, what: &str) {
        let pid1 = self.pid1();
        assert!(
            pid1.starts_with("/usr/libexec/s2i/run"),
            "{what}: PID 1 is {pid1:?}, not run\n{}",
            self.logs()
        );
        for _ in 0..3 {
            assert!(self.get_ok("/spawn").contains("shell status 0"));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = self.exec(
                "for s in /proc/[0-9]*/status; do awk '/^Name:/{n=$2} /^State:/{st=$2} END{print n, st}' \"$s\" 2>/dev/null; done | grep '^sleep' || true",
            );
            if left.trim().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: orphans not reaped (Z = zombie):\n{left}"
            );
            thread::sleep(Duration::from_millis(200));
        }
        let port = self.port;
        let slow = thread::spawn(move || get(port, "/slow?seconds=3"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while self
            .exec("test -e /tmp/slow-started && echo yes || true")
            .trim()
            != "yes"
        {
            assert!(Instant::now() < deadline, "{what}: /slow never started");
            thread::sleep(Duration::from_millis(100));
        }
        let started = Instant::now();
        let stop = output(podman().args(["stop", "-t", "30", &self.name]));
        let took = started.elapsed();
        assert!(stop.status.success(), "podman stop: {}", text(&stop));
        let answer = slow
            .join()
            .expect("the slow request thread")
            .unwrap_or_else(|e| {
                panic!("{what}: the request in flight failed: {e}\n{}", self.logs())
            });
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "slow request done after 3.0 seconds\n"),
            "{what}\n{}",
            self.logs()
        );
        assert_eq!(
            self.state("ExitCode"),
            "0",
            "{what}: the stop was not clean ({took:?})\n{}",
            self.logs()
        );
        assert!(
            took < STOP_WITHIN,
            "{what}: podman stop took {took:?}: the stop signal did not reach run\n{}",
            self.logs()
        );
        eprintln!("{what}: PID 1 {pid1:?}, graceful stop in {took:.1?}");
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "-f", "-t", "0", &self.name]).output();
    }
}

/// The CMD form an image was built with.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Exec,
    Shell,
}

/// The three CMD forms on an app image whose CMD is `own` and whose run script is `run_script`:
/// the image itself in its own form, an image `FROM` it with the other form as its CMD, and
/// the explicit command.
fn stops_gracefully_in_every_cmd_form(image: &Image, own: Form, run_script: &str, what: &str) {
    let (other, derived_cmd) = match own {
        Form::Exec => (Form::Shell, format!("CMD {run_script}")),
        Form::Shell => (Form::Exec, format!("CMD [\"{run_script}\"]")),
    };
    let derived = image.derive("cmd-form", &derived_cmd);
    for (form, name) in [(own, &image.name), (other, &derived.name)] {
        let label = if form == Form::Shell {
            "shell-form CMD (as s2i writes it)"
        } else {
            "exec-form CMD"
        };
        let cmd = Image::config_of(name, "Cmd");
        assert_eq!(
            cmd.starts_with("[\"/bin/sh\",\"-c\","),
            form == Form::Shell,
            "{name}: CMD {cmd}"
        );
        App::start(name, &[], None).stops_gracefully(&format!("{what}, {label} {cmd}"));
    }
    App::start(&image.name, &[run_script], None)
        .stops_gracefully(&format!("{what}, podman run IMAGE {run_script}"));
}

/// The fixture repository, as a user's checkout: a `.git` directory (with a token in its
/// config, as CI checkouts have) and files listed in `.s2iignore`, neither of which may reach
/// the image.
fn checkout(dir: &Path) -> PathBuf {
    let repo_dir = copy_fixture("paths_repo", dir);
    let app = repo_dir.join("app");
    std::fs::create_dir_all(app.join(".git")).expect("mkdir .git");
    std::fs::write(
        app.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://ci-token-3c9d@git.example.com/app.git\n",
    )
    .expect("write .git/config");
    std::fs::write(
        app.join(".s2iignore"),
        "# left out of the build\nnotes-*.txt\n",
    )
    .expect("write .s2iignore");
    std::fs::write(app.join("notes-private.txt"), "not for the image\n").expect("write notes");
    repo_dir
}

/// The digest the custom assemble records of the injected file (12 hex digits of sha256).
fn injected_digest(repo_dir: &Path) -> String {
    let out = output(
        Command::new("sha256sum")
            .stdin(std::fs::File::open(repo_dir.join("injected/token.txt")).expect("token.txt")),
    );
    String::from_utf8_lossy(&out.stdout)[..12].to_owned()
}

/// What every path's image must serve and hold: the variables, the overrides, the injected
/// file seen at build time and gone, nothing s2i leaves out.
fn serves_the_app(image: &Image, command: &[&str], digest: &str, what: &str) -> App {
    let app = App::start(&image.name, command, None);
    let body = app.get_ok("/");
    for want in [
        "paths app: six 1.16.0".to_owned(),
        format!("injected {digest}"),
        "PATHS_FROM_FILE=from .s2i/environment".to_owned(),
        "PATHS_OVERRIDDEN=by -e".to_owned(),
        "PATHS_FROM_CLI=yes".to_owned(),
        "PATHS_RUN_OVERRIDE=custom run".to_owned(),
    ] {
        assert!(body.contains(&want), "{what}: {want:?} not in:\n{body}");
    }
    let left = app.exec(
        "cd /opt/app-root/src; ls -A; grep -rls build-only-token /tmp /opt/app-root/src 2>/dev/null; true",
    );
    for absent in [".git", "notes-private.txt", "README.md", "build-only-token"] {
        assert!(
            !left.contains(absent),
            "{what}: {absent} is in the image:\n{left}"
        );
    }
    assert!(
        left.contains(".s2iignore") && left.contains("wsgi.py"),
        "{left}"
    );
    app
}

/// The site-packages directory of the app's virtualenv.
const SITE: &str =
    "$(/opt/app-root/bin/python -c 'import os, six; print(os.path.dirname(six.__file__))')";
const MARKER: &str = "python-s2i-restored-marker.txt";

/// Plants a marker file in the installed dependencies of `image` (a new image under the same
/// name, as if the previous build had written it): only a restore of the previous build's
/// dependencies can bring it into the next image.
fn plant_marker(image: &mut Image) {
    let (ok, log) = containerfile_build(
        &image.name,
        &format!(
            "FROM {}\nRUN echo from the previous build > \"{SITE}/{MARKER}\"\n",
            image.name
        ),
    );
    image.built(ok, &log, "planting the marker");
}

/// The incremental rebuild restored the previous build's installed dependencies.
fn restored(image: &Image, what: &str) {
    let found = image.shell(&format!("cat \"{SITE}/{MARKER}\" 2>&1 || true"));
    assert!(
        found.contains("from the previous build"),
        "{what}: the incremental build did not restore the installed dependencies (no marker):\n{found}"
    );
}

/// The files of the app's source in the image and the variables the build set: what the three
/// paths must agree on.
fn source_and_variables(image: &Image) -> (String, Vec<String>) {
    let files = image.shell(
        "cd /opt/app-root/src && find . -path ./.python-s2i -prune -o -name __pycache__ -prune -o ! -name '*.pyc' -print | sort",
    );
    let mut env: Vec<String> = serde_json::from_str::<Vec<String>>(&image.config("Env"))
        .expect("Env")
        .into_iter()
        .filter(|v| v.starts_with("PATHS_"))
        .collect();
    env.sort();
    (files, env)
}

fn inject_arg(repo_dir: &Path) -> String {
    format!("{}:/tmp/injected", repo_dir.join("injected").display())
}

#[test]
fn build_paths_serve_and_stop_gracefully_in_every_cmd_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo_dir = checkout(dir.path());
    let digest = injected_digest(&repo_dir);
    let inject = inject_arg(&repo_dir);
    let options: Vec<&str> = [
        &CONTEXT_DIR[..],
        &BUILD_ENV,
        &OVERRIDE_ENV,
        &["--inject", &inject],
    ]
    .concat();

    // (b) s2i build --as-dockerfile, then podman build: the shell-form CMD s2i writes.
    let mut b = Image::new("as-dockerfile");
    let (ok, log) = s2i_as_dockerfile_build(&repo_dir, &builder(), &b.name, &options);
    b.built(ok, &log, "s2i build --as-dockerfile + podman build");
    assert!(
        log.contains("CMD /tmp/scripts/run") && log.contains("paths app: custom assemble after"),
        "{log}"
    );
    assert_eq!(b.config("Cmd"), "[\"/bin/sh\",\"-c\",\"/tmp/scripts/run\"]");
    let app = serves_the_app(&b, &[], &digest, "(b) --as-dockerfile");
    if !every_path() {
        // The other versions: the OpenShift 4 path and its graceful stop (the CMD s2i writes).
        app.stops_gracefully("(b) --as-dockerfile, the shell-form CMD s2i writes");
        return;
    }
    drop(app);
    stops_gracefully_in_every_cmd_form(&b, Form::Shell, "/tmp/scripts/run", "(b) builder image");
    if python_version() == "3.11" {
        rolling_restart_behind_haproxy_drops_no_request(&b);
    }
    // (b) incremental: the multi-stage Dockerfile s2i writes (FROM the previous image AS
    // cached, save-artifacts into /tmp/artifacts.tar, unpacked before assemble).
    plant_marker(&mut b);
    let incremental: Vec<&str> = [&options[..], &["--incremental"]].concat();
    let (ok, log) = s2i_as_dockerfile_build(&repo_dir, &builder(), &b.name, &incremental);
    b.built(ok, &log, "the incremental s2i build --as-dockerfile");
    assert!(
        log.contains(" as cached") || log.contains(" AS cached"),
        "{log}"
    );
    restored(&b, "(b)");
    drop(serves_the_app(&b, &[], &digest, "(b) incremental"));

    // (c) images/s2i-build: the same inputs, the same image.
    let mut c = Image::new("s2i-build");
    let (ok, log) = s2i_build_script(&repo_dir, &c.name, &options);
    c.built(ok, &log, "images/s2i-build");
    drop(serves_the_app(&c, &[], &digest, "(c) images/s2i-build"));
    assert_eq!(
        source_and_variables(&c),
        source_and_variables(&b),
        "images/s2i-build and s2i build --as-dockerfile disagree"
    );
    plant_marker(&mut c);
    let (ok, log) = s2i_build_script(&repo_dir, &c.name, &incremental);
    c.built(ok, &log, "the incremental images/s2i-build");
    restored(&c, "(c)");
    let mut c_runtime = Image::new("s2i-build-runtime");
    let runtime = runtime_image();
    let with_runtime: Vec<&str> = [&options[..], &["--runtime-image", &runtime]].concat();
    let (ok, log) = s2i_build_script(&repo_dir, &c_runtime.name, &with_runtime);
    c_runtime.built(ok, &log, "images/s2i-build --runtime-image");
    assert_eq!(c_runtime.config("Cmd"), "[\"/usr/libexec/s2i/run\"]");
    {
        let app = App::start(&c_runtime.name, &[], None);
        assert!(app.get_ok("/").contains("paths app: six 1.16.0"));
    }
    stops_gracefully_in_every_cmd_form(
        &c_runtime,
        Form::Exec,
        "/usr/libexec/s2i/run",
        "runtime image",
    );

    // (a) s2i build through the Docker API (podman's service on a private socket).
    let api = DockerApi::start();
    let mut a = Image::new("docker-api");
    let (ok, log) = api.s2i_build(&repo_dir, &builder(), &a.name, &options);
    a.built(ok, &log, "s2i build (Docker API)");
    let command = docker_api_command(&a, "/tmp/scripts/run");
    drop(serves_the_app(&a, &command, &digest, "(a) s2i build"));
    assert_eq!(source_and_variables(&a).0, source_and_variables(&b).0);
    plant_marker(&mut a);
    let (ok, log) = api.s2i_build(
        &repo_dir,
        &builder(),
        &a.name,
        &[&options[..], &["--incremental"]].concat(),
    );
    a.built(ok, &log, "the incremental s2i build (Docker API)");
    restored(&a, "(a)");
    if python_version() != "3.11" {
        // s2i's --runtime-image through the Docker API on 3.11 only (CI time); the no-CLI
        // runtime path above runs on every version of this test.
        return;
    }
    // s2i uploads the application into the runtime container as root-owned files (assemble-runtime
    // runs as root to give them back to the image's user) and copies hard links as empty files
    // (uv copies instead of linking to its cache): docs/images.md, "The runtime image".
    // The commit and repository as an OpenShift build gives them (OPENSHIFT_BUILD_*): the
    // builder records them, and the runtime image's bill of materials names them.
    let commit_env = format!("OPENSHIFT_BUILD_COMMIT={SOURCE_COMMIT}");
    let a_runtime_source = [
        "-e",
        commit_env.as_str(),
        "-e",
        "OPENSHIFT_BUILD_SOURCE=https://sbom-token-71e2@git.example.com/app.git",
    ];
    let mut a_runtime = Image::new("docker-api-runtime");
    let a_with_runtime: Vec<&str> = [
        &with_runtime[..],
        &["--assemble-runtime-user", "root", "-e", "UV_LINK_MODE=copy"],
        &a_runtime_source,
    ]
    .concat();
    let (ok, log) = api.s2i_build(&repo_dir, &builder(), &a_runtime.name, &a_with_runtime);
    a_runtime.built(ok, &log, "s2i build --runtime-image (Docker API)");
    runtime_sbom_lists_the_runtime_image(&a_runtime);
    let command = docker_api_command(&a_runtime, "/usr/libexec/s2i/run");
    let app = App::start(&a_runtime.name, &command, None);
    assert!(app.get_ok("/").contains("paths app: six 1.16.0"));
    app.stops_gracefully("(a) s2i build --runtime-image");
}

/// The commit the (a) runtime-image build is told it builds (`OPENSHIFT_BUILD_COMMIT`).
const SOURCE_COMMIT: &str = "5f1c0ffee0ddba11ab1e5eedc0de5ca1ab1e0001";

/// The bill of materials of an image s2i made with `--runtime-image` is the runtime image's own
/// (issue 27): schema-valid, and in agreement with `pip list` and `dpkg-query` run in that
/// image (crates/sbom, checked by `python_s2i_tests::sbom`); no Debian package that only the
/// builder image has (its compilers: gcc) and no uv (the builder's installer, removed by
/// assemble-runtime) is listed; the app carries the commit the builder recorded, and the
/// repository without its token. `run --sbom` prints it there.
fn runtime_sbom_lists_the_runtime_image(image: &Image) {
    let started = Instant::now();
    let bom = python_s2i_tests::sbom::check_agrees_with_image(&image.name);
    let components = bom["components"].as_array().expect("components");
    let debs: Vec<&str> = components
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/"))
        })
        .filter_map(|c| c["name"].as_str())
        .collect();
    // The builder's compilers (its SBOM lists them; dpkg-query in the runtime image does not).
    let builder_only: Vec<&&str> = debs
        .iter()
        .filter(|d| ["gcc", "g++", "cpp", "git"].contains(d))
        .collect();
    assert!(
        builder_only.is_empty(),
        "the runtime image's SBOM lists packages of the builder image: {builder_only:?}"
    );
    assert!(
        !components.iter().any(|c| c["purl"]
            .as_str()
            .is_some_and(|p| p.starts_with("pkg:pypi/uv@"))),
        "the runtime image's SBOM lists uv"
    );
    let commit = &bom["metadata"]["component"]["pedigree"]["commits"][0];
    assert_eq!(commit["uid"], SOURCE_COMMIT, "the app's commit: {bom:#}");
    assert_eq!(commit["url"], "https://git.example.com/app.git");
    assert!(!bom.to_string().contains("sbom-token-71e2"), "{bom:#}");
    eprintln!(
        "the runtime image's SBOM checked in {:?}",
        started.elapsed()
    );
}

/// The command to run an image `s2i build` committed through podman's Docker API. podman up to
/// 4.9.2 ignores the configuration the API's commit carries (containers/podman#13770, fixed by
/// #20657 in 4.9.3): the image keeps the build container's command (`tar ... && assemble`)
/// instead of the CMD s2i sets, so it is run with the command s2i meant, as docs/openshift.md
/// tells users. A podman that keeps it needs none.
fn docker_api_command(image: &Image, meant: &'static str) -> Vec<&'static str> {
    let cmd = image.config("Cmd");
    if cmd.contains(meant) {
        return Vec::new();
    }
    assert!(
        cmd.contains("assemble"),
        "an image of s2i build through the Docker API has CMD {cmd}: neither s2i's nor podman's known one"
    );
    eprintln!(
        "podman's Docker API dropped the CMD s2i set (it is {cmd}): running the image with {meant}"
    );
    vec![meant]
}

/// `images/s2i-build OPTIONS SOURCE BUILDER IMAGE` with the host's CA bundle.
fn s2i_build_script(source: &Path, image: &str, options: &[&str]) -> (bool, String) {
    let mut command = Command::new(repo().join("images/s2i-build"));
    command.args(options);
    if Path::new(CA_BUNDLE).is_file() {
        command.args(["--ca-bundle", CA_BUNDLE]);
    }
    command.arg(source).arg(builder()).arg(image);
    python_s2i_tests::podman::build_with_network_retries(image, &mut command)
}

/// Two replicas of `image` (its own CMD, the shell form s2i writes) behind HAProxy (Debian's
/// package, configured as a platform router is: health checks, a failed connection retried on
/// the other server), restarted one after the other under steady load: no request fails, and
/// each replica stops within seconds.
fn rolling_restart_behind_haproxy_drops_no_request(image: &Image) {
    let haproxy = Path::new("/usr/sbin/haproxy");
    assert!(
        haproxy.is_file(),
        "HAProxy is missing: run `bash test/setup/20-podman.sh`"
    );
    let ports = [free_port(), free_port()];
    let mut replicas: Vec<App> = ports
        .iter()
        .map(|&port| App::start(&image.name, &[], Some(port)))
        .collect();
    let front = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "global\n  maxconn 256\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  \
             retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response response-timeout\n\
             frontend web\n  bind 127.0.0.1:{front}\n  default_backend replicas\n\
             backend replicas\n  balance roundrobin\n  option httpchk GET /\n  \
             default-server check inter 250ms fall 1 rise 2\n  \
             server r0 127.0.0.1:{}\n  server r1 127.0.0.1:{}\n",
            ports[0], ports[1]
        ),
    )
    .expect("write haproxy.cfg");
    let _proxy = Running::spawn(
        Command::new(haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::null()),
    );
    wait_for_ok(front, "/", Duration::from_secs(10)).expect("HAProxy answers");
    // Steady, bounded load: two clients, each one request every 20 ms.
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU32::new(0));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (done, sent) = (Arc::clone(&done), Arc::clone(&sent));
            thread::spawn(move || {
                let mut failures = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    sent.fetch_add(1, Ordering::Relaxed);
                    match get(front, "/") {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.push(format!("{}: {}", r.status, r.body)),
                        Err(e) => failures.push(e),
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                failures
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(1));
    for (i, &port) in ports.iter().enumerate() {
        let started = Instant::now();
        let stop = output(podman().args(["stop", "-t", "30", &replicas[i].name]));
        let took = started.elapsed();
        assert!(stop.status.success(), "podman stop: {}", text(&stop));
        assert!(
            took < STOP_WITHIN && replicas[i].state("ExitCode") == "0",
            "replica {i} stopped in {took:?} with exit code {}",
            replicas[i].state("ExitCode")
        );
        replicas[i] = App::start(&image.name, &[], Some(port));
        // HAProxy sees it healthy again (rise 2 x 250 ms) before the next one stops.
        thread::sleep(Duration::from_millis(1500));
    }
    thread::sleep(Duration::from_secs(1));
    done.store(true, Ordering::Relaxed);
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client"))
        .collect();
    let sent = sent.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed during the rolling restart: {failures:?}",
        failures.len()
    );
    assert!(sent > 100, "only {sent} requests were sent");
    eprintln!("rolling restart behind HAProxy: {sent} requests, none failed");
}

/// `/bin/sh -c CMD` execs CMD on both images of this version: a shell-form CMD makes CMD PID 1.
/// (Checked on the bare images, so every version's builder and runtime image is covered.)
#[test]
fn shell_form_commands_run_as_pid_1_on_the_builder_and_runtime_images() {
    for image in [builder(), runtime_image()] {
        let out: Output = output(podman().args([
            "run",
            "--rm",
            "--user",
            ARBITRARY_USER,
            &image,
            "/bin/sh",
            "-c",
            "/bin/cat /proc/self/stat",
        ]));
        let stat = text(&out);
        assert!(
            out.status.success() && stat.starts_with("1 (cat)"),
            "{image}: /bin/sh -c did not exec its command (PID 1 must be it): {stat}"
        );
        // Scripts and hooks that use sh keep working: POSIX sh, `$(...)`, traps, and an upgrade
        // of dash cannot take /bin/sh back (dpkg's local diversion).
        let out = output(podman().args([
            "run",
            "--rm",
            "--user",
            "0",
            &image,
            "/bin/sh",
            "-c",
            "trap 'echo trapped' EXIT; set -eu; x=$(echo posix); [ \"$x\" = posix ]; \
             readlink -f /bin/sh; dpkg-divert --listpackage /bin/sh; dpkg-divert --listpackage /usr/bin/sh",
        ]));
        assert_eq!(
            text(&out),
            "/usr/bin/bash\nLOCAL\nLOCAL\ntrapped\n",
            "{image}: {}",
            text(&out)
        );
    }
}

/// `images/s2i-build` reads only files inside the source tree and writes only inside its work
/// directory (issue 22): a `.s2i/environment` symlink to a host file, a `--context-dir` above
/// the source and a runtime-artifact destination that climbs out (`x/../..`) are refused before
/// anything is built, and nothing of the host file is printed or baked.
#[test]
fn s2i_build_reads_and_writes_only_inside_its_trees() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("host.env"), "HOST_SECRET=leaked-7f3a\n").expect("write");
    let source = copy_fixture("e2e_wsgi", dir.path());
    let linked = source.join(".s2i/environment");
    std::fs::remove_file(&linked).expect("rm environment");
    std::os::unix::fs::symlink("../../host.env", &linked).expect("symlink");
    let image = Image::new("outside");
    let refused = |options: &[&str], source: &Path, want: &str| {
        let (ok, log) = s2i_build_script(source, &image.name, options);
        assert!(!ok, "{options:?}: built although refused:\n{log}");
        assert!(log.contains(want), "{options:?}: no {want:?} in:\n{log}");
        assert!(!log.contains("leaked-7f3a"), "{log}");
        let exists = output(podman().args(["image", "exists", &image.name]));
        assert!(
            !exists.status.success(),
            "{options:?}: an image was committed"
        );
    };
    refused(
        &[],
        &source,
        ".s2i/environment leads out of the source directory",
    );
    std::fs::remove_file(&linked).expect("rm link");
    std::fs::write(&linked, "E2E_FROM_S2I_ENVIRONMENT=inside\n").expect("write");
    refused(
        &["--context-dir", "../"],
        &source,
        "--context-dir ../ leads out of the source directory",
    );
    refused(
        &[
            "--runtime-image",
            "localhost/none:1",
            "-a",
            "/opt/app-root:x/../..",
        ],
        &source,
        "its destination must be a relative path without '..'",
    );
}
