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
const NETWORK_FAILURES: [&str; 8] = [
    "client error (Connect)",
    "operation timed out",
    "Max retries exceeded with url",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Temporary failure in name resolution",
    "ETIMEDOUT",
    "ECONNRESET",
];

/// Builds this many times at most when every failure was the network's.
const NETWORK_ATTEMPTS: u32 = 3;

/// Whether a failed build's log says only that the package index could not be reached.
#[must_use]
pub fn failed_on_the_network(log: &str) -> bool {
    NETWORK_FAILURES.iter().any(|marker| log.contains(marker))
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

/// The s2i way: `images/s2i-build [EXTRA] SOURCE BUILDER IMAGE` (what `s2i build` does, with
/// podman) with the host's CA bundle, retried only when the network failed
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
