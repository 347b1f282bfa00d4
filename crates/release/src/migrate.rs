//! Django's `migrate`, serialised under a database lock.
//!
//! Policy (docs/run.md): a Django project with a `manage.py` is migrated before the server
//! starts unless `DISABLE_MIGRATE` is set; `run --release` always migrates (a release phase
//! exists to migrate, and an OpenShift pre-deployment hook inherits the deployment's
//! environment, where `DISABLE_MIGRATE=1` is how starts leave migrating to it). Either way the
//! migration runs under a lock held in the database, so replicas starting together migrate one
//! after the other; the wait is bounded by `MIGRATE_LOCK_TIMEOUT` seconds.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use s2i_detect::{Detection, Env};

/// The helper run with the application's Python.
pub const HELPER_PY: &str = include_str!("python/migrate.py");
/// Seconds a replica waits for another one's migration before giving up.
pub const LOCK_TIMEOUT_VAR: &str = "MIGRATE_LOCK_TIMEOUT";
/// Ten minutes: OpenShift's default deployment timeout, and more than most migrations need.
pub const DEFAULT_LOCK_TIMEOUT: u64 = 600;

/// Helper exit statuses (`python/migrate.py`).
const EXIT_FAILED: u8 = 1;
const EXIT_TIMEOUT: u8 = 3;
const EXIT_SETUP: u8 = 4;
const EXIT_LOCK_LOST: u8 = 5;
const EXIT_READ_ONLY: u8 = 6;

/// When `run` is asked to migrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the server starts (`run`); `DISABLE_MIGRATE` turns it off.
    Start,
    /// The release phase (`run --release`): always.
    Release,
}

/// A decided migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrate {
    /// The virtualenv's Python.
    pub python: PathBuf,
    /// The project's `manage.py` (its directory goes first on `sys.path`).
    pub manage_py: PathBuf,
    /// The settings module the server runs with.
    pub settings_module: String,
    /// Seconds to wait for the lock.
    pub lock_timeout: u64,
}

/// Whether to migrate, and the line `run` reports either way (`None`: not a Django project).
///
/// # Errors
/// `MIGRATE_LOCK_TIMEOUT` is not a number of seconds.
pub fn plan(
    detection: &Detection,
    app_root: &Path,
    env: &Env,
    when: When,
) -> Result<(Option<Migrate>, Option<String>), MigrateError> {
    // The project, whichever rule found the entry point (detection attaches it).
    let Some(django) = &detection.django else {
        return Ok((None, None));
    };
    if when == When::Start && env.flag("DISABLE_MIGRATE") {
        let v = env.get("DISABLE_MIGRATE").unwrap_or_default();
        return Ok((
            None,
            Some(format!("migrate: skipped (DISABLE_MIGRATE={v})")),
        ));
    }
    let Some(manage_py) = &django.manage_py else {
        return Ok((None, Some("migrate: skipped (no manage.py)".into())));
    };
    let lock_timeout = lock_timeout(env)?;
    let python = s2i_servers::find_program("python", app_root, env)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let migrate = Migrate {
        python,
        manage_py: manage_py.clone(),
        settings_module: django.settings_module.clone(),
        lock_timeout,
    };
    let note = match when {
        When::Start => format!(
            "migrate: `{}` before the server, under a database lock (waits up to {lock_timeout}s, {LOCK_TIMEOUT_VAR}; DISABLE_MIGRATE=1 turns it off)",
            migrate.describe()
        ),
        When::Release => format!(
            "migrate: `{}` under a database lock (waits up to {lock_timeout}s, {LOCK_TIMEOUT_VAR})",
            migrate.describe()
        ),
    };
    Ok((Some(migrate), Some(note)))
}

/// `MIGRATE_LOCK_TIMEOUT` in seconds (empty or unset: the default).
///
/// # Errors
/// The value is not a whole number of seconds.
pub fn lock_timeout(env: &Env) -> Result<u64, MigrateError> {
    match env.get(LOCK_TIMEOUT_VAR).map(|v| v.trim()) {
        None | Some("") => Ok(DEFAULT_LOCK_TIMEOUT),
        Some(v) => v.parse().map_err(|_| MigrateError::BadTimeout {
            value: v.to_owned(),
        }),
    }
}

impl Migrate {
    /// What the migration is, for messages: `python manage.py migrate --noinput`.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "{} {} migrate --noinput",
            self.python.display(),
            self.manage_py.display()
        )
    }

    /// Writes the helper into `dir` (run's runtime directory).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_helper(dir: &Path) -> Result<PathBuf, MigrateError> {
        let path = dir.join("migrate.py");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(HELPER_PY) {
            std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(&path, HELPER_PY))
                .map_err(|error| MigrateError::Helper {
                    path: path.clone(),
                    error,
                })?;
        }
        Ok(path)
    }

    /// The command that migrates under the lock: the helper with the app's Python, in `cwd`,
    /// with exactly `env`.
    #[must_use]
    pub fn command(&self, helper: &Path, cwd: &Path, env: &Env) -> Command {
        let app_dir = self.manage_py.parent().unwrap_or(cwd);
        let mut command = env.command(&self.python);
        command
            .arg(helper)
            .arg(app_dir)
            .arg(&self.settings_module)
            .arg(self.lock_timeout.to_string())
            .current_dir(cwd);
        command
    }

    /// What the exit `code` of [`Self::command`] run under the init means.
    ///
    /// # Errors
    /// The migration did not complete; the error says why.
    pub fn outcome(&self, code: u8) -> Result<(), MigrateError> {
        let command = self.describe();
        match code {
            0 => Ok(()),
            EXIT_FAILED => Err(MigrateError::Failed { command }),
            EXIT_TIMEOUT => Err(MigrateError::LockTimeout {
                command,
                seconds: self.lock_timeout,
            }),
            EXIT_SETUP => Err(MigrateError::Setup { command }),
            EXIT_LOCK_LOST => Err(MigrateError::LockLost { command }),
            EXIT_READ_ONLY => Err(MigrateError::ReadOnly { command }),
            129..=192 => Err(MigrateError::Signalled {
                command,
                signal: code - 128,
            }),
            other => Err(MigrateError::NotCompleted {
                command,
                code: other,
            }),
        }
    }
}

/// Why the migration did not complete.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// `MIGRATE_LOCK_TIMEOUT` is not a number.
    #[error("{LOCK_TIMEOUT_VAR}={value:?}")]
    BadTimeout { value: String },
    /// The helper could not be written.
    #[error("{path}: {error}")]
    Helper { path: PathBuf, error: io::Error },
    /// A migration raised (traceback above).
    #[error("`{command}` failed; its traceback is above.")]
    Failed { command: String },
    /// Another replica held the lock for longer than the timeout.
    #[error("`{command}` waited {seconds}s ({LOCK_TIMEOUT_VAR}) for the migration lock held by another replica.")]
    LockTimeout { command: String, seconds: u64 },
    /// Django's settings or the database connection failed (traceback above).
    #[error("`{command}`: Django or the database connection could not be set up; the traceback is above.")]
    Setup { command: String },
    /// The lock's database connection failed during the migration: it was ended at once.
    #[error("`{command}` lost the database lock while migrating; it was ended so that no other replica migrates beside it (the reason is above).")]
    LockLost { command: String },
    /// SQLite in a directory that cannot be written, with migrations to apply.
    #[error("`{command}`: the SQLite directory cannot be written (the reason is above).")]
    ReadOnly { command: String },
    /// A signal ended it (the platform stopping the container).
    #[error("`{command}` was ended by signal {signal}.")]
    Signalled { command: String, signal: u8 },
    /// It exited otherwise (126/127: could not be started, reason above).
    #[error("`{command}` exited with status {code}.")]
    NotCompleted { command: String, code: u8 },
}

impl MigrateError {
    /// The exit status `run` ends with: 128+N after signal N, else 1.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Signalled { signal, .. } => 128 + signal,
            _ => 1,
        }
    }

    /// Numbered fixes.
    #[must_use]
    pub fn fixes(&self) -> Vec<String> {
        match self {
            Self::BadTimeout { .. } => vec![format!(
                "Set {LOCK_TIMEOUT_VAR} to a number of seconds (default {DEFAULT_LOCK_TIMEOUT}), or unset it."
            )],
            Self::Helper { .. } => vec![
                "Make $APP_ROOT/.python-s2i (or /tmp) writable for the container's user.".into(),
            ],
            Self::Failed { .. } => vec![
                "Fix the migration named in the traceback above; the other replicas stop the same way, so no replica serves a half-migrated schema.".into(),
                "Deploy again: the next start (or `run --release`) migrates from where the database is.".into(),
            ],
            Self::LockTimeout { .. } => vec![
                "Another replica is still migrating: it keeps the lock until its migration ends. Let it finish (the platform restarts this one), or".into(),
                format!("raise {LOCK_TIMEOUT_VAR} for migrations that take longer, or"),
                "migrate once per deployment in a release phase (`run --release` as a pre-deployment hook or Job) and set DISABLE_MIGRATE=1.".into(),
            ],
            Self::Setup { .. } => vec![
                "Check the database settings and that the database is reachable from the container (the traceback above names the error).".into(),
                "Check DJANGO_SETTINGS_MODULE and that the settings import.".into(),
            ],
            Self::LockLost { .. } => vec![
                "Deploy again (the platform restarts the container): the migration in progress was rolled back where DDL is transactional (PostgreSQL), and the next start migrates from there under the lock.".into(),
                "If the lock's connection keeps failing, check what ends idle-in-transaction connections on the way (idle_in_transaction_session_timeout, a pooler's idle_transaction_timeout, a proxy's idle timeout).".into(),
            ],
            Self::ReadOnly { .. } => vec![
                "Put the SQLite database in a writable directory (a volume) to migrate, or".into(),
                "migrate where it is writable (`run --release`) and set DISABLE_MIGRATE=1 for read-only starts.".into(),
            ],
            Self::Signalled { .. } => vec![
                "The container was stopped during the migration; where the database has transactional DDL (PostgreSQL, SQLite) the migration in progress was rolled back and the next start applies it.".into(),
            ],
            Self::NotCompleted { .. } => vec![
                "Check that the virtualenv's python exists and runs (the reason is above).".into(),
            ],
        }
    }

    /// The one-line headline.
    #[must_use]
    pub fn headline(&self) -> &'static str {
        match self {
            Self::BadTimeout { .. } => "MIGRATE_LOCK_TIMEOUT is not a number of seconds.",
            Self::LockTimeout { .. } => {
                "Gave up waiting for another replica's migration; the server was not started."
            }
            Self::Signalled { .. } => {
                "The migration was interrupted by a signal; the server was not started."
            }
            Self::LockLost { .. } => {
                "The migration lock's database connection was lost, so the migration was stopped; the server was not started."
            }
            Self::ReadOnly { .. } => {
                "There are migrations to apply, but the SQLite database's directory is read-only; the server was not started."
            }
            Self::Setup { .. } => {
                "Django could not reach the database (or load its settings) to migrate; the server was not started."
            }
            _ => "Django's database migration failed; the server was not started.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrate() -> Migrate {
        Migrate {
            python: "/opt/app-root/bin/python".into(),
            manage_py: "/opt/app-root/src/manage.py".into(),
            settings_module: "mysite.settings".into(),
            lock_timeout: 600,
        }
    }

    #[test]
    fn lock_timeout_default_number_and_garbage() {
        let mut env = Env::default();
        assert_eq!(lock_timeout(&env).ok(), Some(DEFAULT_LOCK_TIMEOUT));
        env.set(LOCK_TIMEOUT_VAR, " 30 ");
        assert_eq!(lock_timeout(&env).ok(), Some(30));
        env.set(LOCK_TIMEOUT_VAR, "10m");
        assert!(matches!(
            lock_timeout(&env),
            Err(MigrateError::BadTimeout { .. })
        ));
    }

    #[test]
    fn exit_codes_mean_what_the_helper_says() {
        let m = migrate();
        assert!(m.outcome(0).is_ok());
        assert!(matches!(m.outcome(1), Err(MigrateError::Failed { .. })));
        assert!(matches!(
            m.outcome(3),
            Err(MigrateError::LockTimeout { seconds: 600, .. })
        ));
        assert!(matches!(m.outcome(4), Err(MigrateError::Setup { .. })));
        assert!(matches!(m.outcome(5), Err(MigrateError::LockLost { .. })));
        assert!(matches!(m.outcome(6), Err(MigrateError::ReadOnly { .. })));
        let term = m.outcome(143).expect_err("signal");
        assert!(matches!(term, MigrateError::Signalled { signal: 15, .. }));
        assert_eq!(term.exit_code(), 143);
        assert_eq!(m.outcome(127).expect_err("127").exit_code(), 1);
    }

    #[test]
    fn command_runs_the_helper_with_the_app_dir_settings_and_timeout() {
        let m = migrate();
        let mut env = Env::default();
        env.set("DATABASE_URL", "postgres://db/app");
        let c = m.command(
            Path::new("/run/migrate.py"),
            Path::new("/opt/app-root/src"),
            &env,
        );
        assert_eq!(c.get_program(), "/opt/app-root/bin/python");
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "/run/migrate.py",
                "/opt/app-root/src",
                "mysite.settings",
                "600"
            ]
        );
        assert!(c
            .get_envs()
            .any(|(k, v)| k == "DATABASE_URL" && v.is_some_and(|v| v == "postgres://db/app")));
    }

    #[test]
    fn helper_is_written_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = Migrate::write_helper(dir.path()).expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), HELPER_PY);
        assert!(HELPER_PY.contains("pg_try_advisory_xact_lock"));
        assert!(HELPER_PY.contains("GET_LOCK"));
        assert!(HELPER_PY.contains("fcntl.flock"));
    }
}
