//! What runs before the server: warpdrive's `deploy-env` (sourced), `deploy-cfg` (once per
//! container) and the `deploy` hooks of every supported location (Django's `migrate`: `s2i-release`).
//!
//! Each is a child of the same init as the server ([`s2i_init::Init::step`]): it runs in its
//! own process group with the signal state restored, TERM/INT are forwarded to it (with the
//! grace period), and after a stop signal nothing more is started ([`RunError::Stopped`]);
//! what it leaves running in its group (`something &`) is named and ended.
//!
//! Failure semantics (docs/run.md): a failing `deploy`/`deploy-cfg` hook is reported and the
//! start goes on (as warpdrive and mod_wsgi-docker do); a non-executable hook is skipped with a
//! warning; a failing `deploy-env` (or one that ends its shell early, `exit 0`) stops the
//! start.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use s2i_env::{Env, SourceError};
use s2i_init::{Ended, Init, Options, Step};

use crate::{RunError, PREFIX};

/// `deploy` hook locations, in the order they run.
pub const DEPLOY_HOOKS: [&str; 4] = [
    ".s2i/action_hooks/deploy",
    ".warpdrive/action_hooks/deploy",
    ".docker/action_hooks/deploy",
    ".whiskey/action_hooks/deploy",
];
/// Sourced by a shell; the variables it exports reach the server.
pub const DEPLOY_ENV: &str = ".warpdrive/action_hooks/deploy-env";
/// Run once per container (first start).
pub const DEPLOY_CFG: &str = ".warpdrive/action_hooks/deploy-cfg";

/// After `deploy-env` has ended (and its group with it), how long its output may stay open.
const DRAIN: Duration = Duration::from_secs(2);

/// The hooks that exist, for `--dry-run`.
#[must_use]
pub fn present(src: &Path) -> Vec<String> {
    let mut list: Vec<&str> = vec![DEPLOY_ENV, DEPLOY_CFG];
    list.extend(DEPLOY_HOOKS);
    list.into_iter()
        .filter(|h| src.join(h).is_file())
        .map(|h| {
            if s2i_env::is_executable(&src.join(h)) || h == DEPLOY_ENV {
                h.to_owned()
            } else {
                format!("{h} (not executable: skipped)")
            }
        })
        .collect()
}

fn command(program: &Path, cwd: &Path, env: &Env) -> Command {
    let mut c = env.command(program);
    c.current_dir(cwd);
    c
}

/// The status std would give for `ended`.
fn status(ended: Ended) -> ExitStatus {
    match ended {
        Ended::Exited(code) => ExitStatus::from_raw((code & 0xff) << 8),
        Ended::Signaled(signal) => ExitStatus::from_raw(signal & 0x7f),
    }
}

/// The error of a start that a stop signal ended before the server.
pub(crate) fn stopped(signal: s2i_init::Signal, code: u8) -> RunError {
    RunError::Stopped {
        signal: signal.as_str().to_owned(),
        code,
    }
}

/// Runs one deploy hook under the init; a failure is a warning, a stop signal ends the start.
fn run_hook(
    init: &mut Init,
    options: &Options,
    path: &Path,
    cwd: &Path,
    env: &Env,
) -> Result<(), RunError> {
    if !s2i_env::is_executable(path) {
        eprintln!(
            "{PREFIX}warning: {} is not executable: skipped (chmod +x it to run it)",
            path.display()
        );
        return Ok(());
    }
    eprintln!("{PREFIX}running deploy hook {}", path.display());
    let name = format!("deploy hook {}", path.display());
    match init.step(command(path, cwd, env), options, &name) {
        Ok(Step::Stopped { signal, code }) => Err(stopped(signal, code)),
        Ok(Step::Ended(Ended::Exited(0))) => Ok(()),
        Ok(Step::Ended(ended)) => {
            eprintln!(
                "{PREFIX}warning: deploy hook {} failed ({}); starting the application anyway",
                path.display(),
                status(ended)
            );
            Ok(())
        }
        Err(e) => {
            eprintln!(
                "{PREFIX}warning: deploy hook {} could not run: {e}; starting the application anyway",
                path.display()
            );
            Ok(())
        }
    }
}

/// Sources `deploy-env` in `/bin/sh`, in the sources `src`, under the init and returns the
/// resulting environment (`s2i_env::sourced`: the same reading as `build-env` at build time).
///
/// # Errors
/// The script fails, ends its shell early (`exit 0`) or sets a refused variable: the message
/// names it; a stop signal came ([`RunError::Stopped`]).
pub fn source_deploy_env(
    init: &mut Init,
    options: &Options,
    src: &Path,
    env: &Env,
) -> Result<Option<Env>, RunError> {
    let path = src.join(DEPLOY_ENV);
    if !path.is_file() {
        return Ok(None);
    }
    eprintln!("{PREFIX}sourcing {}", path.display());
    let failed = |why: String| RunError::DeployEnv(format!("{}: {why}", path.display()));
    let (mut reader, writer) =
        std::io::pipe().map_err(|e| failed(format!("cannot make a pipe: {e}")))?;
    let mut sh = command(Path::new("/bin/sh"), src, env);
    sh.args(s2i_env::hook::shell_args())
        .arg(&path)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::inherit());
    let (done, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        let _ = done.send(bytes);
    });
    let name = format!("the sourced {DEPLOY_ENV}");
    let ended = match init.step(sh, options, &name) {
        Ok(Step::Stopped { signal, code }) => return Err(stopped(signal, code)),
        Ok(Step::Ended(ended)) => ended,
        Err(e) => return Err(failed(format!("/bin/sh: {e}"))),
    };
    let stdout = output.recv_timeout(DRAIN).map_err(|_| {
        failed("a process it started (outside its process group) keeps its output open".into())
    })?;
    match s2i_env::sourced(&path, status(ended), &stdout, s2i_env::Phase::Start) {
        Ok(sourced) => Ok(Some(sourced)),
        Err(SourceError::Env(e)) => Err(RunError::Env(e)),
        Err(SourceError::Hook { error, .. }) => Err(failed(error.to_string())),
        Err(e) => Err(RunError::DeployEnv(e.to_string())),
    }
}

/// Runs `deploy-cfg` (first start of this container only) and the `deploy` hooks.
///
/// # Errors
/// A stop signal came ([`RunError::Stopped`]): no further hook and no server.
pub fn run_deploy_hooks(
    init: &mut Init,
    options: &Options,
    src: &Path,
    cwd: &Path,
    env: &Env,
    runtime_dir: &Path,
) -> Result<(), RunError> {
    let cfg = src.join(DEPLOY_CFG);
    if cfg.is_file() {
        let marker: PathBuf = runtime_dir.join("deploy-cfg.done");
        if marker.exists() {
            eprintln!("{PREFIX}{} already ran in this container", cfg.display());
        } else {
            // Not marked done when a stop signal interrupted it: it runs again next start.
            run_hook(init, options, &cfg, cwd, env)?;
            let _ = std::fs::write(&marker, "");
        }
    }
    for hook in DEPLOY_HOOKS {
        let path = src.join(hook);
        if path.is_file() {
            run_hook(init, options, &path, cwd, env)?;
        }
    }
    Ok(())
}
