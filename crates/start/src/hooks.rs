//! What runs before the server: warpdrive's `deploy-env` (sourced), `deploy-cfg` (once per
//! container) and the `deploy` hooks of every supported location (Django's `migrate`: `s2i-release`).
//!
//! Failure semantics (docs/run.md): a failing `deploy`/`deploy-cfg` hook is reported and the
//! start goes on (as warpdrive and mod_wsgi-docker do); a non-executable hook is skipped with a
//! warning; a failing `deploy-env` stops the start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use s2i_env::{Env, SourceError};

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

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// The hooks that exist, for `--dry-run`.
pub fn present(src: &Path) -> Vec<String> {
    let mut list: Vec<&str> = vec![DEPLOY_ENV, DEPLOY_CFG];
    list.extend(DEPLOY_HOOKS);
    list.into_iter()
        .filter(|h| src.join(h).is_file())
        .map(|h| {
            if executable(&src.join(h)) || h == DEPLOY_ENV {
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

fn run_hook(path: &Path, cwd: &Path, env: &Env) {
    if !executable(path) {
        eprintln!(
            "{PREFIX}warning: {} is not executable: skipped (chmod +x it to run it)",
            path.display()
        );
        return;
    }
    eprintln!("{PREFIX}running deploy hook {}", path.display());
    match command(path, cwd, env).stdout(Stdio::inherit()).status() {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!(
            "{PREFIX}warning: deploy hook {} failed ({s}); starting the application anyway",
            path.display()
        ),
        Err(e) => eprintln!(
            "{PREFIX}warning: deploy hook {} could not run: {e}; starting the application anyway",
            path.display()
        ),
    }
}

/// Sources `deploy-env` with `s2i_env::source_hook` (the sourcer assemble uses for
/// `build-env`) and returns the resulting environment.
///
/// # Errors
/// The script fails or sets a refused variable.
pub fn source_deploy_env(src: &Path, cwd: &Path, env: &Env) -> Result<Option<Env>, RunError> {
    let path = src.join(DEPLOY_ENV);
    if !path.is_file() {
        return Ok(None);
    }
    eprintln!("{PREFIX}sourcing {}", path.display());
    match s2i_env::source_hook(&path, cwd, env, s2i_env::Phase::Start) {
        Ok(sourced) => Ok(Some(sourced)),
        Err(SourceError::Env(e)) => Err(RunError::Env(e)),
        Err(e) => Err(RunError::DeployEnv(e.to_string())),
    }
}

/// Runs `deploy-cfg` (first start of this container only) and the `deploy` hooks.
pub fn run_deploy_hooks(src: &Path, cwd: &Path, env: &Env, runtime_dir: &Path) {
    let cfg = src.join(DEPLOY_CFG);
    if cfg.is_file() {
        let marker: PathBuf = runtime_dir.join("deploy-cfg.done");
        if marker.exists() {
            eprintln!("{PREFIX}{} already ran in this container", cfg.display());
        } else {
            run_hook(&cfg, cwd, env);
            let _ = std::fs::write(&marker, "");
        }
    }
    for hook in DEPLOY_HOOKS {
        let path = src.join(hook);
        if path.is_file() {
            run_hook(&path, cwd, env);
        }
    }
}
