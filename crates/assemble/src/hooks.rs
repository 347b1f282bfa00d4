//! Build hooks the app ships, run in `$APP_ROOT/src` with the build environment.
//!
//! | phase       | when                               | files (in this order)                                                                 |
//! |-------------|------------------------------------|----------------------------------------------------------------------------------------|
//! | `pre-build` | before dependencies are installed  | `.s2i/action_hooks/pre-build`, `.warpdrive/action_hooks/pre-build`, `.docker/action_hooks/pre-build`, `.whiskey/action_hooks/pre-build`, `bin/pre_compile` |
//! | `build-env` | sourced before dependencies        | `.warpdrive/action_hooks/build-env` (variables it exports apply to the rest of the build) |
//! | `build`     | after dependencies, before collectstatic | `.s2i/action_hooks/build`, `.warpdrive/action_hooks/build`, `.docker/action_hooks/build`, `.whiskey/action_hooks/build`, `bin/post_compile` |
//!
//! A hook that exits non-zero stops the build. A hook file that is not executable stops the
//! build too (it is never skipped silently), except Heroku's `bin/pre_compile` and
//! `bin/post_compile`, which are made executable first, as Heroku does.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::output;
use s2i_env::{Env, SourceError};

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    PreBuild,
    Build,
}

const PRE_BUILD: &[&str] = &[
    ".s2i/action_hooks/pre-build",
    ".warpdrive/action_hooks/pre-build",
    ".docker/action_hooks/pre-build",
    ".whiskey/action_hooks/pre-build",
    "bin/pre_compile",
];
const BUILD: &[&str] = &[
    ".s2i/action_hooks/build",
    ".warpdrive/action_hooks/build",
    ".docker/action_hooks/build",
    ".whiskey/action_hooks/build",
    "bin/post_compile",
];
/// warpdrive's hook that is sourced rather than run.
pub const BUILD_ENV: &str = ".warpdrive/action_hooks/build-env";

/// Why a hook stopped the build.
#[derive(Debug)]
pub enum RunHookError {
    /// The hook file is not executable.
    NotExecutable { hook: String },
    /// The hook could not be started (bad `#!` line, unreadable).
    Spawn { hook: String, source: io::Error },
    /// The hook exited non-zero (or was killed: `code` is `None`).
    Failed { hook: String, code: Option<i32> },
    /// The env hook set a refused variable.
    Environment(s2i_env::EnvError),
    /// A sourced hook ended its shell before returning (`exit 0`): its variables are lost.
    EndedEarly {
        hook: String,
        error: s2i_env::EnvHookError,
    },
}

/// The hooks of `phase` present in `app`, in run order.
#[must_use]
pub fn present(app: &Path, phase: Phase) -> Vec<&'static str> {
    let names = match phase {
        Phase::PreBuild => PRE_BUILD,
        Phase::Build => BUILD,
    };
    names
        .iter()
        .copied()
        .filter(|n| app.join(n).is_file())
        .collect()
}

/// Runs the hooks of `phase` in `app`; returns the ones that ran.
///
/// # Errors
/// The first hook that is not executable, cannot start, or fails.
pub fn run(app: &Path, phase: Phase, env: &Env) -> Result<Vec<&'static str>, RunHookError> {
    let hooks = present(app, phase);
    for hook in &hooks {
        let path = app.join(hook);
        ensure_executable(&path, hook)?;
        let mut command = env.command(&path);
        command.current_dir(app);
        output::info(&format!("Running the {hook} hook"));
        let finished = output::run(&mut command).map_err(spawn(hook))?;
        if !finished.status.success() {
            return Err(RunHookError::Failed {
                hook: (*hook).to_owned(),
                code: finished.status.code(),
            });
        }
    }
    Ok(hooks)
}

/// The error of `hook` not starting.
fn spawn(hook: &str) -> impl FnOnce(io::Error) -> RunHookError + '_ {
    move |source| RunHookError::Spawn {
        hook: hook.to_owned(),
        source,
    }
}

fn ensure_executable(path: &Path, hook: &str) -> Result<(), RunHookError> {
    let mode = fs::metadata(path)
        .map_err(spawn(hook))?
        .permissions()
        .mode();
    if mode & 0o100 != 0 {
        return Ok(());
    }
    if hook.starts_with("bin/") {
        output::info(&format!(
            "{hook} is not executable: making it executable, as Heroku does"
        ));
        return fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o111))
            .map_err(spawn(hook));
    }
    Err(RunHookError::NotExecutable {
        hook: hook.to_owned(),
    })
}

/// Sources warpdrive's `build-env` hook (when present) in `sh` and takes the environment it
/// leaves as the build environment (`s2i_env::sourced`: the same reading as `deploy-env` at
/// start). Returns the names it added or changed.
///
/// # Errors
/// The hook fails, ends the sourcing shell early (`exit 0`: never an empty environment), or
/// sets a refused variable.
pub fn source_build_env(app: &Path, env: &mut Env) -> Result<Option<Vec<String>>, RunHookError> {
    let path: PathBuf = app.join(BUILD_ENV);
    if !path.is_file() {
        return Ok(None);
    }
    output::info(&format!("Sourcing the {BUILD_ENV} hook"));
    let mut command = env.command("sh");
    command
        .args(s2i_env::hook::shell_args())
        .arg(&path)
        .current_dir(app);
    let out = output::capture(&mut command).map_err(spawn(BUILD_ENV))?;
    let sourced = s2i_env::sourced(&path, out.status, &out.stdout, s2i_env::Phase::Build).map_err(
        |e| match e {
            SourceError::Spawn { source, .. } => spawn(BUILD_ENV)(source),
            SourceError::Hook {
                error: s2i_env::EnvHookError::Failed { code },
                ..
            } => RunHookError::Failed {
                hook: BUILD_ENV.to_owned(),
                code,
            },
            SourceError::Hook { error, .. } => RunHookError::EndedEarly {
                hook: BUILD_ENV.to_owned(),
                error,
            },
            SourceError::Env(e) => RunHookError::Environment(e),
        },
    )?;
    let changed: Vec<String> = sourced
        .vars()
        .iter()
        .filter(|(k, v)| env.vars().get(*k) != Some(*v))
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect();
    *env = sourced;
    Ok(Some(changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_hook(app: &Path, name: &str, body: &str, mode: u32) {
        let path = app.join(name);
        crate::put(&path, body);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn env() -> Env {
        Env::of(&[("PATH", "/usr/bin:/bin")])
    }

    #[test]
    fn order_failure_and_not_executable() {
        let app = tempfile::tempdir().expect("tempdir");
        write_hook(
            app.path(),
            ".s2i/action_hooks/build",
            "#!/bin/sh\necho one >> order\n",
            0o755,
        );
        write_hook(
            app.path(),
            "bin/post_compile",
            "#!/bin/sh\necho two >> order\n",
            0o644,
        );
        let ran = run(app.path(), Phase::Build, &env()).expect("runs");
        assert_eq!(ran, [".s2i/action_hooks/build", "bin/post_compile"]);
        assert_eq!(
            fs::read_to_string(app.path().join("order")).expect("order"),
            "one\ntwo\n"
        );

        write_hook(
            app.path(),
            ".docker/action_hooks/pre-build",
            "#!/bin/sh\nexit 7\n",
            0o755,
        );
        let err = run(app.path(), Phase::PreBuild, &env()).expect_err("fails");
        assert!(matches!(err, RunHookError::Failed { code: Some(7), .. }));

        write_hook(
            app.path(),
            ".docker/action_hooks/pre-build",
            "#!/bin/sh\n",
            0o644,
        );
        let err = run(app.path(), Phase::PreBuild, &env()).expect_err("not executable");
        assert!(matches!(err, RunHookError::NotExecutable { .. }));
    }

    #[test]
    fn build_env_is_sourced() {
        let app = tempfile::tempdir().expect("tempdir");
        write_hook(
            app.path(),
            BUILD_ENV,
            "export FROM_HOOK=yes\necho noise\n",
            0o644,
        );
        let mut e = env();
        let changed = source_build_env(app.path(), &mut e)
            .expect("sourced")
            .expect("present");
        assert!(changed.contains(&"FROM_HOOK".to_owned()));
        assert_eq!(e.get("FROM_HOOK"), Some("yes"));
        assert_eq!(e.get("PATH"), Some("/usr/bin:/bin"));
    }

    #[test]
    fn build_env_that_exits_keeps_the_environment_and_is_an_error() {
        let app = tempfile::tempdir().expect("tempdir");
        write_hook(app.path(), BUILD_ENV, "export X=1\nexit 0\n", 0o644);
        let mut e = env();
        let err = source_build_env(app.path(), &mut e).expect_err("ended early");
        assert!(matches!(err, RunHookError::EndedEarly { .. }), "{err:?}");
        assert_eq!(e.get("PATH"), Some("/usr/bin:/bin"));
    }
}
