//! What the container suites (e2e, compat) share: the builder image under test, podman with the
//! project's settings, and small output helpers.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::repo;

/// The Python version under test (`E2E_PYTHON`, default 3.11).
#[must_use]
pub fn python_version() -> String {
    std::env::var("E2E_PYTHON").unwrap_or_else(|_| "3.11".to_owned())
}

#[must_use]
pub fn is_python2() -> bool {
    python_version().starts_with("2.")
}

/// Whether the Python under test is `major.minor` or newer.
#[must_use]
pub fn python_at_least(major: u32, minor: u32) -> bool {
    let version = python_version();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

/// A test run on a Python version it does not apply to (`why`): the Makefile leaves such a
/// test out by name on that version (`E2E_NOT_ON_<version>`, `COMPAT_NOT_ON_<version>`,
/// `E2E_MAIN_ONLY`), so reaching this is a failure under `CI=true` and a note elsewhere
/// ([`crate::cannot_run`]). Call it and `return`.
///
/// # Panics
/// With `CI=true`.
pub fn not_on_this_python(why: &str) {
    crate::cannot_run(&format!(
        "does not apply to Python {}: {why} (the Makefile leaves it out by name on this version)",
        python_version()
    ));
}

/// podman with the project's settings (runc, ulimits), unless the caller chose others.
#[must_use]
pub fn podman() -> Command {
    let mut command = Command::new("podman");
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        command.env("CONTAINERS_CONF", repo().join("images/containers.conf"));
    }
    command
}

/// Runs `command` to its end; panics when it cannot be started.
pub fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// stdout then stderr, as text.
#[must_use]
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The builder image under test (`E2E_IMAGE`, default `localhost/python-s2i:VERSION`); it must
/// have been built (`make image PYTHON=X`).
#[must_use]
pub fn builder() -> String {
    let image = std::env::var("E2E_IMAGE")
        .unwrap_or_else(|_| format!("localhost/python-s2i:{}", python_version()));
    let exists = output(podman().args(["image", "exists", &image]));
    assert!(
        exists.status.success(),
        "the builder image {image} does not exist: run `make image PYTHON={}` first",
        python_version()
    );
    image
}

/// The runtime image of the builder under test (`E2E_RUNTIME_IMAGE`, default the builder's name
/// with `-runtime`); it must have been built (`images/build VERSION runtime`).
#[must_use]
pub fn runtime_image() -> String {
    let image =
        std::env::var("E2E_RUNTIME_IMAGE").unwrap_or_else(|_| format!("{}-runtime", builder()));
    let exists = output(podman().args(["image", "exists", &image]));
    assert!(
        exists.status.success(),
        "the runtime image {image} does not exist: run `images/build {} runtime` first",
        python_version()
    );
    image
}

/// A field of a container's `.State` (`ExitCode`, `Running`, ...), as `podman inspect` prints it.
#[must_use]
pub fn container_state(container: &str, field: &str) -> String {
    let out = output(podman().args([
        "inspect",
        "--format",
        &format!("{{{{.State.{field}}}}}"),
        container,
    ]));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A name unique to this test process and call.
#[must_use]
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The host's CA bundle, mounted into builds for their HTTPS (as a TLS-inspecting proxy's users do).
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What installers print when the package index could not be reached at all (uv, pip, npm):
/// the network failed, not the build.
const NETWORK_FAILURES: [&str; 9] = [
    "client error (Connect)",
    "operation timed out",
    "Max retries exceeded with url",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Temporary failure in name resolution",
    // npm's (node's getaddrinfo) word for the same.
    "EAI_AGAIN",
    "ETIMEDOUT",
    "ECONNRESET",
];

/// The public indexes this machine reaches through a proxy that drops a connection now and then.
const PUBLIC_INDEXES: [&str; 3] = ["pypi.org", "files.pythonhosted.org", "registry.npmjs.org"];

/// An index on a loopback address is a test's own or a fixture's dead one: never the proxy's.
const LOOPBACK: [&str; 3] = ["127.0.0.1:", "localhost:", "[::1]:"];

/// How many lines at the end of a failed build's log hold its final error: the installer's last
/// lines (assemble's message quotes them), then the build tool's own failure.
const FINAL_ERROR_LINES: usize = 40;

/// Builds this many times at most when every failure was the network's.
const NETWORK_ATTEMPTS: u32 = 3;

/// Whether a failed build's *final* error is a public package index that could not be reached:
/// the last [`FINAL_ERROR_LINES`] lines name a network failure and a public index. An earlier
/// network failure that the build got over (a fallback to PyPI, a retry of the installer's own)
/// does not count, nor does a build that uses an index on a loopback address anywhere (the
/// fixtures that point at a dead index on purpose, the tests' own index servers): a failure
/// there is the build's.
#[must_use]
pub fn failed_on_the_network(log: &str) -> bool {
    let names = |line: &str, words: &[&str]| words.iter().any(|w| line.contains(w));
    if log.lines().any(|l| names(l, &LOOPBACK)) {
        return false;
    }
    let lines: Vec<&str> = log.lines().collect();
    let last = &lines[lines.len().saturating_sub(FINAL_ERROR_LINES)..];
    last.iter().any(|l| names(l, &NETWORK_FAILURES))
        && last.iter().any(|l| names(l, &PUBLIC_INDEXES))
}

/// Runs `command` (a build) to its end and returns its success and whole log, printed for the
/// test's output. A build that failed because the package index could not be reached is run
/// again, at most [`NETWORK_ATTEMPTS`] times in all, and each retry says so: this machine reaches
/// PyPI through a proxy that drops a connection now and then, and a dropped connection is not what
/// the suites test. Any other failure is returned at once.
pub fn build_with_network_retries(what: &str, command: &mut Command) -> (bool, String) {
    let mut attempt = 1;
    loop {
        let out = output(command);
        let log = text(&out);
        eprintln!("---- build log of {what} (attempt {attempt}):\n{log}----");
        if out.status.success() || attempt == NETWORK_ATTEMPTS || !failed_on_the_network(&log) {
            return (out.status.success(), log);
        }
        eprintln!(
            "---- the build of {what} failed reaching the package index; building it again ({} of {NETWORK_ATTEMPTS})",
            attempt + 1
        );
        std::thread::sleep(Duration::from_secs(10 * u64::from(attempt)));
        attempt += 1;
    }
}

/// The s2i way without the CLI: `images/s2i-build [EXTRA] SOURCE BUILDER IMAGE` (what `s2i
/// build` does, with podman; `tests/paths.rs` holds it to the real CLI) with the host's CA bundle, retried only when the network failed
/// ([`build_with_network_retries`]). Returns the build's success and whole log.
pub fn s2i_build(source: &Path, image: &str, extra: &[&str]) -> (bool, String) {
    let mut command = Command::new(repo().join("images/s2i-build"));
    command.args(extra);
    if Path::new(CA_BUNDLE).is_file() {
        command.args(["--ca-bundle", CA_BUNDLE]);
    }
    command.arg(source).arg(builder()).arg(image);
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        command.env("CONTAINERS_CONF", repo().join("images/containers.conf"));
    }
    build_with_network_retries(image, &mut command)
}

/// The real s2i CLI (openshift/source-to-image), found on PATH; `test/setup/20-podman.sh`
/// installs it with `../shared/tools/install-s2i`. A missing CLI fails the test (no stand-in:
/// under `CI=true` that is what CI reports; elsewhere install it as the README says).
#[must_use]
pub fn s2i() -> Command {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s2i"))
            .find(|path| path.is_file())
    });
    let path = found.unwrap_or_else(|| {
        panic!(
            "the s2i CLI is not on PATH: run `bash test/setup/20-podman.sh` (it installs it with \
             ../shared/tools/install-s2i) or get it as the README says"
        )
    });
    let mut command = Command::new(path);
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        command.env("CONTAINERS_CONF", repo().join("images/containers.conf"));
    }
    command
}

/// `s2i build --as-dockerfile DIR/Dockerfile SOURCE BUILDER TAG [EXTRA]` then `podman build DIR`
/// (what OpenShift 4 BuildConfigs, Shipwright and Tekton do, buildah being podman's builder),
/// the host's CA bundle mounted for the build's HTTPS. Returns the success and the whole log
/// (both commands' output, the Dockerfile s2i wrote between them).
pub fn s2i_as_dockerfile_build(
    source: &Path,
    builder_image: &str,
    image: &str,
    extra: &[&str],
) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dockerfile = dir.path().join("Dockerfile");
    let mut write = s2i();
    write
        .args(["build", "--as-dockerfile"])
        .arg(&dockerfile)
        .arg(source)
        .arg(builder_image)
        .arg(image)
        .args(extra);
    let out = output(&mut write);
    let mut log = format!("$ {write:?}\n{}", text(&out));
    if !out.status.success() {
        return (false, log);
    }
    log.push_str(&format!(
        "---- the Dockerfile s2i wrote:\n{}----\n",
        std::fs::read_to_string(&dockerfile).unwrap_or_default()
    ));
    let mut build = podman();
    build.args(["build", "--format", "docker", "-t", image]);
    if Path::new(CA_BUNDLE).is_file() {
        build.args(["-v", &format!("{CA_BUNDLE}:{CA_BUNDLE}:ro")]);
    }
    build.arg(dir.path());
    let (ok, build_log) = build_with_network_retries(image, &mut build);
    log.push_str(&build_log);
    (ok, log)
}

/// `podman system service` on a private socket, for what talks the Docker API (the s2i CLI);
/// ended (by its pid: SIGTERM, then SIGKILL to its process group) when dropped.
pub struct DockerApi {
    _service: crate::Running,
    dir: tempfile::TempDir,
}

impl DockerApi {
    /// Starts the service and waits until its socket answers.
    #[must_use]
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("podman.sock");
        let mut command = podman();
        command
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let api = Self {
            _service: crate::Running::spawn(&mut command),
            dir,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "podman system service never opened {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        api
    }

    /// `DOCKER_HOST` for this service.
    #[must_use]
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.dir.path().join("podman.sock").display())
    }

    /// `s2i build SOURCE BUILDER TAG [EXTRA]` through this service (the host's CA bundle
    /// mounted for the build's HTTPS with `-v`), retried only when the network failed.
    pub fn s2i_build(
        &self,
        source: &Path,
        builder_image: &str,
        image: &str,
        extra: &[&str],
    ) -> (bool, String) {
        let mut command = s2i();
        command
            .env("DOCKER_HOST", self.docker_host())
            .arg("build")
            .arg(source)
            .arg(builder_image)
            .arg(image)
            .args(extra);
        if Path::new(CA_BUNDLE).is_file() {
            command.args(["-v", &format!("{CA_BUNDLE}:{CA_BUNDLE}:ro")]);
        }
        build_with_network_retries(image, &mut command)
    }
}

#[cfg(test)]
mod tests {
    use super::failed_on_the_network;

    /// The end of assemble's message when uv could not reach PyPI (through a proxy that refused
    /// the connection): the installer's words, quoted under "Details".
    const UV_UNREACHABLE: &str = " !     Details:
 !       error: Request failed after 3 retries in 9.0s
 !         cause: Failed to fetch: https://pypi.org/simple/six/
 !         cause: error sending request for url (https://pypi.org/simple/six/)
 !         cause: client error (Connect)
 !         cause: tunnel error: failed to create underlying connection
 !         cause: tcp connect error
 !         cause: Connection refused (os error 111)
";

    fn build_log(middle: &str, end: &str) -> String {
        let mut log = String::from("STEP 1/9: FROM localhost/python-s2i:3.11\n");
        log.push_str(middle);
        for step in 0..60 {
            log.push_str(&format!("assemble: step {step}\n"));
        }
        log.push_str(end);
        log.push_str("Error: building at STEP \"RUN /usr/libexec/s2i/assemble\": exit status 1\n");
        log
    }

    #[test]
    fn a_final_error_that_is_pypi_unreachable_is_retried() {
        assert!(failed_on_the_network(&build_log("", UV_UNREACHABLE)));
        let pip = "WARNING: Retrying (Retry(total=0)) after connection broken by \
                   'ConnectTimeoutError(<HTTPSConnection>, 'Connection to pypi.org timed out.')'\n\
                   ERROR: No matching distribution found for packaging\n";
        assert!(failed_on_the_network(&build_log("", pip)));
        let npm = "npm error code EAI_AGAIN\n\
                   npm error request to https://registry.npmjs.org/esbuild failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org\n";
        assert!(failed_on_the_network(&build_log("", npm)));
    }

    #[test]
    fn a_network_failure_the_build_got_over_is_not_the_final_error() {
        let final_error = "error: Because nonexistent-pkg was not found in the package registry\n";
        assert!(!failed_on_the_network(&build_log(
            UV_UNREACHABLE,
            final_error
        )));
    }

    #[test]
    fn a_dead_index_on_a_loopback_address_is_never_retried() {
        let dead =
            "  cause: error sending request for url (http://127.0.0.1:9/simple/packaging/)\n\
                    cause: client error (Connect)\n";
        // Named early (the fallback to PyPI), with PyPI unreachable at the end: still the build's.
        assert!(!failed_on_the_network(&build_log(dead, UV_UNREACHABLE)));
        assert!(!failed_on_the_network(&build_log("", dead)));
    }
}
