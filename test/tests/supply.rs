//! Supply chain (issue 27): private-index credentials never reach the app image, and every app
//! image carries a CycloneDX bill of materials that matches what is installed.
//!
//! A real package index behind basic auth (pypiserver with an htpasswd file, on 127.0.0.1)
//! serves a small package the test builds. The app asks for it; the builds go through the real
//! s2i CLI (`s2i build --as-dockerfile`, then `podman build --network host`, as OpenShift 4's
//! builder runs buildah in the host's network) and through `images/s2i-build`:
//!
//! 1. the credentials as a netrc in a build volume (`podman build -v`, what OpenShift 4's
//!    build volumes are): the safe way; the password is in no layer of the image and not in
//!    the build log;
//! 2. the same netrc through `s2i build --inject`: s2i COPYs it in one layer and removes it in
//!    a later one, so the final file system is clean but a layer keeps it (what docs/assemble.md
//!    warns about);
//! 3. the password in `-e PIP_INDEX_URL=http://user:password@...`: s2i writes it as an `ENV`
//!    of the image (the one place docs/assemble.md names); our log lines mask it, and no file
//!    of the image holds it;
//! 4. `images/s2i-build --inject`: a read-only mount, nothing committed.
//!
//! The image of build 1 also has its bill of materials checked: valid against the CycloneDX 1.6
//! schema (cyclonedx-python-lib's validator) and in agreement with `pip list`.
//!
//! Host tools: `test/setup/60-supply.sh` (pypiserver, passlib, setuptools, cyclonedx-python-lib
//! in build/tools/supply).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use python_s2i_tests::podman::{builder, output, podman, text, unique};
use python_s2i_tests::sbom::tools;
use python_s2i_tests::{free_port, repo, wait_for_port};

/// The s2i CLI users run (v1.3.8).
const S2I: &str = "/usr/local/bin/s2i";
/// Where assemble looks for injected index credentials (crates/assemble/src/index.rs).
const SECRETS_DIR: &str = "/etc/python-s2i/secrets";
const USER: &str = "builder";
const PACKAGE: &str = "s2i-private-pkg";
const MODULE: &str = "s2i_private_pkg";

/// pypiserver on 127.0.0.1 requiring basic auth for every request; killed when dropped.
struct Index {
    child: Child,
    port: u16,
    password: String,
    _dir: tempfile::TempDir,
}

impl Index {
    fn start() -> Self {
        let tools = tools();
        let dir = tempfile::tempdir().expect("tempdir");
        let password = format!(
            "PwS2i{}x{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let packages = dir.path().join("packages");
        fs::create_dir(&packages).expect("mkdir");
        fs::copy(wheel(), packages.join(WHEEL)).expect("copy the wheel");
        let htpasswd = dir.path().join("htpasswd");
        let made = output(Command::new(tools.join("python")).args([
            "-c",
            "import sys; from passlib.apache import HtpasswdFile as H; \
             h = H(sys.argv[1], new=True); h.set_password(sys.argv[2], sys.argv[3]); h.save()",
            &htpasswd.to_string_lossy(),
            USER,
            &password,
        ]));
        assert!(made.status.success(), "htpasswd: {}", text(&made));
        let port = free_port();
        let child = Command::new(tools.join("pypi-server"))
            .args(["run", "-i", "127.0.0.1", "-p", &port.to_string(), "-P"])
            .arg(&htpasswd)
            .args(["-a", "download,list,update", "--disable-fallback"])
            .arg(&packages)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pypi-server starts");
        let index = Self {
            child,
            port,
            password,
            _dir: dir,
        };
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "pypi-server did not listen on {port}"
        );
        index
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
    }

    fn url_with_credentials(&self) -> String {
        format!(
            "http://{USER}:{}@127.0.0.1:{}/simple/",
            self.password, self.port
        )
    }

    /// A directory holding the netrc that carries the credentials (mode 0644, as an OpenShift
    /// Secret's files are).
    fn netrc_dir(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let netrc = dir.path().join("netrc");
        fs::write(
            &netrc,
            format!(
                "machine 127.0.0.1 login {USER} password {}\n",
                self.password
            ),
        )
        .expect("netrc");
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::set_permissions(&netrc, fs::Permissions::from_mode(0o644)).expect("chmod");
        dir
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The wheel of the private package, built once per test process.
fn wheel() -> &'static Path {
    static WHEEL_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = WHEEL_DIR.get_or_init(|| {
        let work = std::env::temp_dir().join(unique("python-s2i-supply-wheel"));
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work).expect("mkdir");
        build_package(&tools(), &work, &work);
        work
    });
    WHEEL_FILE.get_or_init(|| dir.join(WHEEL))
}
static WHEEL_FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
const WHEEL: &str = "s2i_private_pkg-1.0.0-py3-none-any.whl";

/// The private package: a real wheel built with setuptools, with a declared license.
fn build_package(tools: &Path, work: &Path, into: &Path) {
    let src = work.join("pkg");
    fs::create_dir_all(src.join(MODULE)).expect("mkdir");
    fs::write(
        src.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=77\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"{PACKAGE}\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\n\
             requires-python = \">=2.7\"\n"
        ),
    )
    .expect("pyproject");
    fs::write(
        src.join(MODULE).join("__init__.py"),
        "GREETING = 'from the private index'\n",
    )
    .expect("module");
    let built = output(
        Command::new(tools.join("pip"))
            .args(["wheel", "-q", "--no-deps", "--no-build-isolation", "-w"])
            .arg(into)
            .arg(&src),
    );
    assert!(built.status.success(), "pip wheel: {}", text(&built));
}

/// The app: a WSGI file importing the private package, which requirements.txt asks for.
/// `index_url` goes to .s2i/environment when given (an index URL without credentials).
fn app_source(index_url: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("requirements.txt"),
        format!("{PACKAGE}==1.0.0\n"),
    )
    .expect("w");
    fs::write(
        dir.path().join("wsgi.py"),
        format!(
            "import {MODULE}\n\ndef application(environ, start_response):\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [{MODULE}.GREETING.encode()]\n"
        ),
    )
    .expect("w");
    if let Some(url) = index_url {
        fs::create_dir(dir.path().join(".s2i")).expect("mkdir");
        fs::write(
            dir.path().join(".s2i/environment"),
            format!("PIP_INDEX_URL={url}\n"),
        )
        .expect("w");
    }
    let git = |args: &[&str]| {
        let out = output(
            Command::new("git")
                .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
                .args(args)
                .current_dir(dir.path()),
        );
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "app"]);
    dir
}

fn source_commit(source: &Path) -> String {
    let out = output(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(source),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An image a test built; removed when dropped.
struct Image(String);

impl Image {
    fn new(what: &str) -> Self {
        Self(format!(
            "localhost/{}:latest",
            unique(&format!("python-s2i-supply-{what}"))
        ))
    }

    /// `sh -c SCRIPT` in a new container of the image, as an arbitrary UID.
    fn shell(&self, script: &str) -> String {
        let out = output(podman().args([
            "run",
            "--rm",
            "--user",
            "1000680000:0",
            "--entrypoint",
            "/bin/sh",
            &self.0,
            "-c",
            script,
        ]));
        assert!(
            out.status.success(),
            "`{script}` in {}: {}",
            self.0,
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the final file system (`podman export`) holds `needle` anywhere.
    fn filesystem_holds(&self, needle: &str) -> bool {
        let container = unique("python-s2i-supply-export");
        let created = output(podman().args(["create", "--name", &container, &self.0]));
        assert!(created.status.success(), "{}", text(&created));
        let found = piped_grep(podman().args(["export", &container]), needle);
        let _ = output(podman().args(["rm", "-f", &container]));
        found
    }

    /// Whether any layer of the image (`podman save`, every layer uncompressed) holds `needle`.
    fn layers_hold(&self, needle: &str) -> bool {
        piped_grep(
            podman().args(["save", "--format", "docker-archive", &self.0]),
            needle,
        )
    }

    /// The files of the final file system that hold `needle` (for failure messages).
    fn files_holding(&self, needle: &str) -> String {
        let out = output(podman().args([
            "run", "--rm", "--entrypoint", "/bin/sh", &self.0, "-c",
            "grep -rlaF -e \"$0\" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null | head -20",
            needle,
        ]));
        text(&out)
    }
}

impl Drop for Image {
    /// Removes the image and what its build left: s2i's Dockerfile labels every step's image
    /// with the output name (`io.k8s.display-name`), which a failed build does not remove.
    fn drop(&mut self) {
        let _ = podman().args(["rmi", "-f", &self.0]).output();
        let label = format!("label=io.k8s.display-name={}", self.0);
        let steps = output(podman().args(["images", "-a", "-q", "--filter", &label]));
        for id in String::from_utf8_lossy(&steps.stdout).split_whitespace() {
            let _ = podman().args(["rmi", "-f", id]).output();
        }
    }
}

/// Streams `command`'s stdout through `grep -F` (fast over a whole image).
fn piped_grep(command: &mut Command, needle: &str) -> bool {
    let mut producer = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("podman starts");
    let stdout = producer.stdout.take().expect("piped");
    let grep = Command::new("grep")
        .args(["-c", "-a", "-F", "-e", needle])
        .stdin(stdout)
        .output()
        .expect("grep runs");
    let status = producer.wait().expect("podman ends");
    assert!(status.success(), "{command:?} failed");
    grep.status.success()
}

/// `s2i build --as-dockerfile` (the real CLI) then `podman build --network host` with `extra`
/// podman options; returns the whole log (both tools) and whether it built.
fn s2i_dockerfile_build(
    source: &Path,
    image: &Image,
    s2i_args: &[&str],
    podman_args: &[&str],
) -> (bool, String) {
    let context = tempfile::tempdir().expect("tempdir");
    let dockerfile = context.path().join("Dockerfile");
    let mut s2i = Command::new(S2I);
    s2i.arg("build")
        .arg("--as-dockerfile")
        .arg(&dockerfile)
        .args(s2i_args)
        .arg(source)
        .arg(builder())
        .arg(&image.0);
    let generated = output(&mut s2i);
    let mut log = text(&generated);
    assert!(
        generated.status.success(),
        "s2i build --as-dockerfile: {log}"
    );
    let built = output(
        podman()
            .args(["build", "--network", "host", "--format", "docker"])
            .args(podman_args)
            .args(["-t", &image.0])
            .arg(context.path()),
    );
    log.push_str(&text(&built));
    eprintln!("---- build log of {}:\n{log}----", image.0);
    (built.status.success(), log)
}

/// The build log's lines that hold `needle`, leaving out podman's echo of the Dockerfile's
/// `ENV` instructions (s2i's own copy of `-e` values, which docs/assemble.md names).
fn log_lines_holding<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter(|l| !(l.starts_with("STEP ") && l.contains(": ENV ")))
        .collect()
}

/// The package installed and imports as the arbitrary UID.
fn check_installed(image: &Image) {
    let greeting = image.shell(&format!(
        "/opt/app-root/bin/python -c 'import {MODULE}; print({MODULE}.GREETING)'"
    ));
    assert_eq!(greeting.trim(), "from the private index");
}

fn check_log(log: &str, password: &str, way: &str) {
    let in_log = log_lines_holding(log, password);
    assert!(
        in_log.is_empty(),
        "{way}: the build log shows the password:\n{in_log:#?}"
    );
}

/// Runs a build `command` that must succeed, install the private package, and leave the
/// password in neither its log nor any layer of `image`; returns the log.
fn build_safely(image: &Image, command: &mut Command, index: &Index, way: &str) -> String {
    let out = output(command);
    let log = text(&out);
    eprintln!("---- build log of {}:\n{log}----", image.0);
    assert!(out.status.success(), "{way}: the build failed:\n{log}");
    check_installed(image);
    check_clean(image, &log, &index.password, way);
    log
}

/// The log and every layer of the image (`podman save`; so the exported file system too)
/// are free of the password.
fn check_clean(image: &Image, log: &str, password: &str, way: &str) {
    check_log(log, password, way);
    assert!(
        !image.layers_hold(password),
        "{way}: a layer of the image holds the password (files of the final file system that do: {})",
        image.files_holding(password)
    );
}

#[test]
fn credentials_from_a_build_volume_reach_the_index_and_nothing_of_them_the_image_and_the_sbom_is_valid(
) {
    let started = Instant::now();
    let index = Index::start();
    let secrets = index.netrc_dir();
    let source = app_source(Some(&index.url()));
    let image = Image::new("volume");
    let (ok, log) = s2i_dockerfile_build(
        source.path(),
        &image,
        &[],
        &[
            "-v",
            &format!("{}:{SECRETS_DIR}:ro", secrets.path().display()),
        ],
    );
    assert!(
        ok,
        "the build with the netrc in a build volume failed:\n{log}"
    );
    assert!(
        log.contains(&format!("Index credentials: {SECRETS_DIR}/netrc")),
        "assemble did not name the netrc:\n{log}"
    );
    check_installed(&image);
    check_clean(&image, &log, &index.password, "build volume");
    check_sbom(&image, source.path());
    eprintln!("build volume way checked in {:?}", started.elapsed());
}

/// The bill of materials: schema-valid CycloneDX 1.6, every distribution `pip list` shows
/// and no other, the interpreter, the Debian packages `dpkg-query` lists, the private package
/// with its license and hash, the app's commit.
fn check_sbom(image: &Image, source: &Path) {
    let bom = python_s2i_tests::sbom::check_agrees_with_image(&image.0);
    let components = bom["components"].as_array().expect("components");
    let private = components
        .iter()
        .find(|c| c["name"] == PACKAGE)
        .expect("the private package is listed");
    assert_eq!(private["purl"], format!("pkg:pypi/{PACKAGE}@1.0.0"));
    assert_eq!(private["licenses"][0]["expression"], "MIT");
    let sha = private["hashes"][0]["content"].as_str().unwrap_or_default();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{private}"
    );
    assert_eq!(
        bom["metadata"]["component"]["pedigree"]["commits"][0]["uid"],
        source_commit(source),
        "the app's commit"
    );
}

#[test]
fn injected_netrc_through_as_dockerfile_leaves_the_files_clean_but_stays_in_a_layer() {
    let index = Index::start();
    let secrets = index.netrc_dir();
    let source = app_source(Some(&index.url()));
    let image = Image::new("inject");
    let (ok, log) = s2i_dockerfile_build(
        source.path(),
        &image,
        &[
            "--inject",
            &format!("{}:{SECRETS_DIR}", secrets.path().display()),
        ],
        &[],
    );
    assert!(ok, "the build with --inject failed:\n{log}");
    check_installed(&image);
    check_log(&log, &index.password, "--inject");
    // s2i's `RUN rm` took the file out of the final file system...
    image.shell(&format!("test ! -e {SECRETS_DIR}/netrc"));
    // What docs/assemble.md warns about: s2i's `COPY` of the injected netrc is a layer of
    // its own, which its later `RUN rm` does not take back.
    assert!(
        image.layers_hold(&index.password),
        "s2i --as-dockerfile --inject no longer keeps the injected file in a layer: update docs/assemble.md"
    );
}

#[test]
fn password_in_an_index_url_given_with_e_is_only_in_the_env_s2i_writes() {
    let index = Index::start();
    let source = app_source(None);
    let image = Image::new("env");
    let url = index.url_with_credentials();
    let (ok, log) = s2i_dockerfile_build(
        source.path(),
        &image,
        &["-e", &format!("PIP_INDEX_URL={url}")],
        &[],
    );
    assert!(ok, "the build with -e PIP_INDEX_URL failed:\n{log}");
    check_installed(&image);
    // Not `podman save`: s2i's ENV is in the image's configuration, which it holds.
    check_log(&log, &index.password, "-e PIP_INDEX_URL");
    assert!(
        !image.filesystem_holds(&index.password),
        "-e PIP_INDEX_URL: the image's files hold the password: {}",
        image.files_holding(&index.password)
    );
    // The one copy: s2i's ENV, as docs/assemble.md says.
    let env = output(podman().args(["image", "inspect", "--format", "{{.Config.Env}}", &image.0]));
    assert!(
        text(&env).contains(&url),
        "s2i did not write -e as ENV: {}",
        text(&env)
    );
    // assemble's log names the index, masked.
    assert!(
        log.contains(&format!(
            "Package index: PIP_INDEX_URL=http://****@127.0.0.1:{}/simple/",
            index.port
        )),
        "no masked index URL in the log:\n{log}"
    );
}

#[test]
fn images_s2i_build_inject_mounts_the_credentials_and_commits_none_of_them() {
    let index = Index::start();
    let secrets = index.netrc_dir();
    let source = app_source(Some(&index.url()));
    let image = Image::new("s2i-build");
    let mut s2i_build = Command::new(repo().join("images/s2i-build"));
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        s2i_build.env("CONTAINERS_CONF", repo().join("images/containers.conf"));
    }
    s2i_build
        .args(["--network", "host", "--inject"])
        .arg(format!("{}:{SECRETS_DIR}", secrets.path().display()))
        .args([
            "-e",
            "DEMO_DATABASE_URL=postgresql://app:notthepassword@db.example/app",
        ])
        .arg(source.path())
        .arg(builder())
        .arg(&image.0);
    let log = build_safely(&image, &mut s2i_build, &index, "images/s2i-build --inject");
    // s2i-build shows the credentials of its -e values masked too.
    assert!(
        !log.contains("notthepassword"),
        "s2i-build printed an -e credential:\n{log}"
    );
}

/// `podman system service` on a socket of this test's own; stopped when dropped.
struct DockerApi {
    child: Child,
    socket: PathBuf,
}

impl DockerApi {
    fn start() -> Self {
        let socket = std::env::temp_dir().join(format!("{}.sock", unique("python-s2i-supply")));
        let child = podman()
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("podman system service starts");
        let api = Self { child, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !api.socket.exists() {
            assert!(Instant::now() < deadline, "no Docker API socket");
            std::thread::sleep(Duration::from_millis(100));
        }
        api
    }
}

impl Drop for DockerApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.socket);
    }
}

#[test]
fn s2i_inject_through_the_docker_api_truncates_the_credentials_before_the_commit() {
    let index = Index::start();
    let secrets = index.netrc_dir();
    let source = app_source(Some(&index.url()));
    let image = Image::new("docker-api");
    let api = DockerApi::start();
    let mut s2i = Command::new(S2I);
    s2i.arg("-U")
        .arg(format!("unix://{}", api.socket.display()))
        .args(["build", "--network", "host", "--inject"])
        .arg(format!("{}:{SECRETS_DIR}", secrets.path().display()))
        .arg(source.path())
        .arg(builder())
        .arg(&image.0);
    build_safely(&image, &mut s2i, &index, "s2i --inject, Docker API");
    // What s2i leaves: the injected file, empty.
    image.shell(&format!(
        "test -e {SECRETS_DIR}/netrc && test ! -s {SECRETS_DIR}/netrc"
    ));
}

#[test]
fn a_build_the_index_refuses_says_how_to_inject_the_credentials() {
    let index = Index::start();
    let source = app_source(Some(&index.url()));
    let image = Image::new("refused");
    let (ok, log) = s2i_dockerfile_build(source.path(), &image, &[], &[]);
    assert!(!ok, "the build without credentials succeeded:\n{log}");
    for expected in [
        "The package index refused the build's credentials",
        "/etc/python-s2i/secrets/netrc",
        "401",
    ] {
        assert!(log.contains(expected), "no {expected:?} in:\n{log}");
    }
}
