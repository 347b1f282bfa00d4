//! What the container suites (e2e, compat) share: the builder image under test, podman with the
//! project's settings, and small output helpers.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

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
