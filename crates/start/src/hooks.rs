//! What runs before the server: warpdrive's `deploy-env` (sourced), `deploy-cfg` (once per
//! container) and the `deploy` hooks of every supported location (Django's `migrate`: `s2i-release`).
//!
//! Failure semantics (docs/run.md): a failing `deploy`/`deploy-cfg` hook is reported and the
//! start goes on (as warpdrive and mod_wsgi-docker do); a non-executable hook is skipped with a
//! warning; a failing `deploy-env` stops the start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use s2i_detect::Env;

use crate::PREFIX;

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
    let mut c = Command::new(program);
    c.current_dir(cwd).env_clear().envs(env);
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

/// Sources `deploy-env` in `/bin/sh` and returns the resulting environment.
///
/// # Errors
/// The script fails; the message names it.
pub fn source_deploy_env(src: &Path, cwd: &Path, env: &Env) -> Result<Option<Env>, String> {
    let path = src.join(DEPLOY_ENV);
    if !path.is_file() {
        return Ok(None);
    }
    eprintln!("{PREFIX}sourcing {}", path.display());
    let output = command(Path::new("/bin/sh"), cwd, env)
        .arg("-c")
        .arg(r#". "$0" >&2 && exec env -0"#)
        .arg(&path)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("/bin/sh: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "sourcing {} failed ({})",
            path.display(),
            output.status
        ));
    }
    let mut out = Env::new();
    for entry in output.stdout.split(|b| *b == 0) {
        let entry = String::from_utf8_lossy(entry);
        if let Some((k, v)) = entry.split_once('=') {
            out.insert(k.to_owned(), v.to_owned());
        }
    }
    Ok(Some(out))
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
