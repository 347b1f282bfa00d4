//! The release phase's own commands, run by `run --release` after migrating: the executable
//! `.s2i/action_hooks/release` (in the sources) and the Procfile's `release:` line (in the
//! application home, run by `/bin/sh -c` as Heroku does). Both run when both exist, hook first.

use std::path::{Path, PathBuf};
use std::process::Command;

use s2i_detect::Env;

/// The release hook, relative to the sources.
pub const RELEASE_HOOK: &str = ".s2i/action_hooks/release";

/// One release command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseCommand {
    /// `.s2i/action_hooks/release`.
    Hook(PathBuf),
    /// A Procfile `release:` command.
    Procfile(String),
}

impl ReleaseCommand {
    /// For messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Hook(path) => path.display().to_string(),
            Self::Procfile(command) => format!("Procfile release: `{command}`"),
        }
    }

    /// The command, in `cwd`, with exactly `env`.
    #[must_use]
    pub fn command(&self, cwd: &Path, env: &Env) -> Command {
        let mut command = match self {
            Self::Hook(path) => env.command(path),
            Self::Procfile(line) => {
                let mut c = env.command("/bin/sh");
                c.arg("-c").arg(line);
                c
            }
        };
        command.current_dir(cwd);
        command
    }

    /// What the exit `code` of [`Self::command`] run under the init means.
    ///
    /// # Errors
    /// It did not exit 0.
    pub fn outcome(&self, code: u8) -> Result<(), ReleaseError> {
        if code == 0 {
            Ok(())
        } else {
            Err(ReleaseError::Failed {
                what: self.describe(),
                code,
            })
        }
    }
}

/// The release commands of the application, in the order they run.
///
/// # Errors
/// The hook exists but is not executable, or the Procfile cannot be read (a release phase
/// must not skip a step silently).
pub fn commands(src: &Path, home: &Path) -> Result<Vec<ReleaseCommand>, ReleaseError> {
    let mut list = Vec::new();
    let hook = src.join(RELEASE_HOOK);
    if hook.is_file() {
        if !s2i_detect::is_executable(&hook) {
            return Err(ReleaseError::NotExecutable { path: hook });
        }
        list.push(ReleaseCommand::Hook(hook));
    }
    let procfile = s2i_project::Procfile::read(home).map_err(|error| ReleaseError::Unreadable {
        path: home.join("Procfile"),
        error,
    })?;
    if let Some(line) = procfile.as_ref().and_then(|p| p.command("release")) {
        list.push(ReleaseCommand::Procfile(line.to_owned()));
    }
    Ok(list)
}

/// Why the release phase failed (besides the migration).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The hook is not executable.
    #[error("{path} exists but is not executable")]
    NotExecutable { path: PathBuf },
    /// The Procfile cannot be read.
    #[error("{path}: {error}")]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A release command exited non-zero (or was ended by a signal: 128+N).
    #[error("{what} exited with status {code}")]
    Failed { what: String, code: u8 },
}

impl ReleaseError {
    /// The status `run --release` exits with: the command's own, else 1.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotExecutable { .. } | Self::Unreadable { .. } => 1,
            Self::Failed { code, .. } => *code,
        }
    }

    /// Numbered fixes.
    #[must_use]
    pub fn fixes(&self) -> Vec<String> {
        match self {
            Self::NotExecutable { path } => vec![format!(
                "chmod +x {} (and commit the mode: git update-index --chmod=+x).",
                path.display()
            )],
            Self::Unreadable { .. } => {
                vec!["Make the sources readable by the container's user (group 0).".into()]
            }
            Self::Failed { .. } => {
                vec!["Fix the release command (its output is above) and deploy again.".into()]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn hook_then_procfile_release_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path();
        assert_eq!(commands(src, src).expect("none"), []);
        std::fs::write(
            src.join("Procfile"),
            "web: gunicorn x:y\nrelease: ./manage.py migrate\n",
        )
        .expect("Procfile");
        let hook = src.join(RELEASE_HOOK);
        std::fs::create_dir_all(hook.parent().expect("parent")).expect("mkdir");
        std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("hook");
        assert!(matches!(
            commands(src, src),
            Err(ReleaseError::NotExecutable { .. })
        ));
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(
            commands(src, src).expect("both"),
            [
                ReleaseCommand::Hook(hook),
                ReleaseCommand::Procfile("./manage.py migrate".into())
            ]
        );
    }

    #[test]
    fn an_unreadable_procfile_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("Procfile")).expect("mkdir");
        let e = commands(dir.path(), dir.path()).expect_err("unreadable");
        assert!(matches!(e, ReleaseError::Unreadable { .. }) && e.exit_code() == 1);
    }

    #[test]
    fn exit_status_is_kept() {
        let c = ReleaseCommand::Procfile("false".into());
        assert!(c.outcome(0).is_ok());
        assert_eq!(c.outcome(3).expect_err("3").exit_code(), 3);
    }
}
