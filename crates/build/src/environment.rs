//! The environment every build command gets, built explicitly: the inherited variables (what
//! users set with `s2i build -e` or `.s2i/environment`), the app's environment files, the
//! virtualenv on `PATH`, and the index/certificate settings translated for uv and pip.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Inherited variables that would send packages outside the virtualenv or break it.
const REFUSED: &[(&str, &str)] = &[
    (
        "PYTHONHOME",
        "it makes the virtualenv's Python load another installation's library",
    ),
    ("PIP_TARGET", "it makes pip install outside the virtualenv"),
    ("PIP_PREFIX", "it makes pip install outside the virtualenv"),
    (
        "PIP_USER",
        "it makes pip install into the user's home, outside the virtualenv",
    ),
];

/// The variables that point pip or uv at a package index other than PyPI.
pub const INDEX_VARIABLES: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
];

/// Why the build environment could not be set up.
#[derive(Debug)]
pub enum BuildEnvError {
    /// A variable that would break the install is set.
    Refused { name: String, why: &'static str },
    /// An environment file could not be read.
    Read { path: PathBuf, source: io::Error },
}

/// The variables passed to every command of the build.
#[derive(Debug, Clone)]
pub struct BuildEnv {
    vars: BTreeMap<String, String>,
}

impl BuildEnv {
    /// The inherited environment, refused when it holds a variable that breaks the install.
    ///
    /// # Errors
    /// [`BuildEnvError::Refused`].
    pub fn inherit() -> Result<Self, BuildEnvError> {
        // Values with one pair of surrounding quotes removed: s2i passes `.s2i/environment`
        // values verbatim (`APP_MODULE="pkg:app"` arrives quoted).
        Self::from_vars(s2i_envfile::from_process())
    }

    /// Same as [`Self::inherit`] from given variables.
    ///
    /// # Errors
    /// [`BuildEnvError::Refused`].
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, BuildEnvError> {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        for (name, why) in REFUSED {
            if vars.get(*name).is_some_and(|v| !v.is_empty()) {
                return Err(BuildEnvError::Refused {
                    name: (*name).to_owned(),
                    why,
                });
            }
        }
        Ok(Self { vars })
    }

    /// A variable's value; empty counts as unset.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `1`, `true`, `yes`, `on` (any case) are true; the sclorg images treat any non-empty value
    /// of their `DISABLE_*`/`ENABLE_*` variables as set, so other non-empty values are too,
    /// except the explicit false words.
    #[must_use]
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            !matches!(
                v.to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            )
        })
    }

    /// Sets a variable for every later command.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_owned(), value.into());
    }

    /// Sets a variable only when it is not set already (users' values win).
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if self.get(name).is_none() {
            self.set(name, value);
        }
    }

    /// Reads a `KEY=VALUE` file (`.s2i/environment`, `.warpdrive/environment`): blank lines and
    /// `#` comments skipped, an optional `export ` prefix, values optionally quoted. Variables
    /// already set keep their value, so `s2i build -e` and the platform win. Returns the names set.
    ///
    /// Lines that are not `KEY=VALUE` (s2i accepts and skips them) are skipped with a warning.
    ///
    /// # Errors
    /// The file exists but cannot be read.
    pub fn load_file(&mut self, path: &Path) -> Result<Vec<String>, BuildEnvError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(BuildEnvError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let parsed = s2i_envfile::parse(&text);
        for skipped in &parsed.skipped {
            crate::output::warning(&format!(
                "{}:{} is not NAME=VALUE with a shell variable name: skipped (as s2i skips it, or passes a name no program can read): {}",
                path.display(),
                skipped.line,
                skipped.text.trim()
            ));
        }
        let mut set = Vec::new();
        for (key, value) in parsed.vars {
            if self.get(&key).is_none() {
                self.set(&key, value);
                set.push(key);
            }
        }
        Ok(set)
    }

    /// This environment without the user's package index settings (pip's and uv's names, and
    /// their configuration files): what the build's own tools are installed with when the
    /// user's index does not serve them, as the default OpenShift Python image retries with
    /// `pip --isolated`. Certificates stay: a TLS-inspecting proxy applies to every index.
    #[must_use]
    pub fn without_user_index(&self) -> Self {
        let mut vars = self.vars.clone();
        for name in INDEX_VARIABLES {
            vars.remove(*name);
        }
        vars.insert("PIP_CONFIG_FILE".into(), "/dev/null".into());
        vars.insert("UV_NO_CONFIG".into(), "1".into());
        Self { vars }
    }

    /// Whether the user set any package index variable ([`INDEX_VARIABLES`]).
    #[must_use]
    pub fn has_user_index(&self) -> bool {
        INDEX_VARIABLES.iter().any(|name| self.get(name).is_some())
            || self.get("PIP_CONFIG_FILE").is_some()
    }

    /// Replaces the whole environment (after sourcing a `build-env` hook).
    pub fn replace(&mut self, vars: BTreeMap<String, String>) {
        self.vars = vars;
    }

    /// All variables.
    #[must_use]
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// A command with exactly this environment.
    #[must_use]
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env_clear().envs(&self.vars);
        command
    }

    /// Looks `program` up on this environment's `PATH`.
    #[must_use]
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.get("PATH")?;
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|candidate| {
                fs::metadata(candidate)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            // Commands run in other directories: a relative PATH entry must not break them.
            .map(|found| std::path::absolute(&found).unwrap_or(found))
    }
}

/// A build environment of exactly these variables, for unit tests.
#[cfg(test)]
pub(crate) fn test_env(pairs: &[(&str, &str)]) -> BuildEnv {
    BuildEnv::from_vars(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
    .expect("not refused")
}

#[cfg(test)]
mod tests {
    use super::test_env as env;
    use super::*;

    #[test]
    fn pythonhome_is_refused() {
        let err = BuildEnv::from_vars([("PYTHONHOME".to_owned(), "/usr".to_owned())])
            .expect_err("refused");
        assert!(matches!(err, BuildEnvError::Refused { ref name, .. } if name == "PYTHONHOME"));
    }

    #[test]
    fn environment_file_does_not_override_and_parses_quotes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("environment");
        fs::write(
            &file,
            "# comment\n\nA=1\nexport B=\"two words\"\nKEEP=file\n",
        )
        .expect("write");
        let mut e = env(&[("KEEP", "user")]);
        let set = e.load_file(&file).expect("parses");
        assert_eq!(set, ["A", "B"]);
        assert_eq!(e.get("B"), Some("two words"));
        assert_eq!(e.get("KEEP"), Some("user"));
    }

    #[test]
    fn lines_s2i_skips_do_not_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("environment");
        fs::write(&file, "\u{feff}A=1\nnot a pair\nB=\"x\"\n").expect("write");
        let mut e = env(&[]);
        assert_eq!(e.load_file(&file).expect("loads"), ["A", "B"]);
        assert_eq!(e.get("B"), Some("x"));
    }

    #[test]
    fn flags() {
        let e = env(&[("A", "1"), ("B", "false"), ("C", "")]);
        assert!(e.flag("A"));
        assert!(!e.flag("B"));
        assert!(!e.flag("C"));
        assert!(!e.flag("D"));
    }
}
