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
/// The hook exists but is not executable (a release phase must not skip a step silently).
pub fn commands(src: &Path, home: &Path) -> Result<Vec<ReleaseCommand>, ReleaseError> {
    let mut list = Vec::new();
    let hook = src.join(RELEASE_HOOK);
    if hook.is_file() {
        if !s2i_detect::is_executable(&hook) {
            return Err(ReleaseError::NotExecutable { path: hook });
        }
        list.push(ReleaseCommand::Hook(hook));
    }
    if let Ok(text) = std::fs::read_to_string(home.join("Procfile")) {
        if let Some(line) = s2i_detect::procfile_process(&text, "release") {
            list.push(ReleaseCommand::Procfile(line));
        }
    }
    Ok(list)
}

/// Why the release phase failed (besides the migration).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The hook is not executable.
    #[error("{path} exists but is not executable")]
    NotExecutable { path: PathBuf },
    /// A release command exited non-zero (or was ended by a signal: 128+N).
    #[error("{what} exited with status {code}")]
    Failed { what: String, code: u8 },
}

impl ReleaseError {
    /// The status `run --release` exits with: the command's own, else 1.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotExecutable { .. } => 1,
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
    fn exit_status_is_kept() {
        let c = ReleaseCommand::Procfile("false".into());
        assert!(c.outcome(0).is_ok());
        assert_eq!(c.outcome(3).expect_err("3").exit_code(), 3);
    }
}
