//! The one environment type `assemble` and `run` read every setting through, so that a
//! variable means the same thing at build time and at start:
//!
//! - [`Env::from_process`]: the environment exactly as inherited (names and values as bytes),
//!   and [`Env::command`] passes it on exactly so: what the platform sets (a secret with quotes,
//!   a value that is not UTF-8) reaches the server, the hooks and migrate untouched.
//! - [`Env::get`]: how python-s2i reads one of *its* variables: one pair of surrounding quotes
//!   removed ([`unquote`]: s2i passes `.s2i/environment` values verbatim, quotes included), empty
//!   or not UTF-8 means unset. The one place values are interpreted.
//! - [`Env::flag`] / [`flag`]: the one rule for every boolean variable (`DISABLE_*`,
//!   `ENABLE_*`, `MOD_WSGI_RELOAD_ON_CHANGES`, `RUN_DEBUG`, ...): unset, empty, `0`, `false`,
//!   `no` and `off` (any case) are off; any other value is on.
//! - [`Env::load_file`]: `.s2i/environment` and `.warpdrive/environment`, read by [`parse`] and
//!   expanded by [`expand`] the same way at build and at start; a variable already set keeps its
//!   value.
//! - [`REFUSED`]: variables that break the virtualenv, refused from every source (the
//!   inherited environment, environment files, env hooks).
//! - [`source_hook`]: warpdrive's `build-env` / `deploy-env`, sourced by `/bin/sh`.
//! - [`variables::VARIABLES`]: the variables users set, their defaults and meanings, and which
//!   are deploy-time overrides.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

pub mod hook;
pub mod variables;
pub use hook::EnvHookError;

/// When a variable is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `assemble`.
    Build,
    /// `run`.
    Start,
}

/// A variable that would make the virtualenv load or install outside itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub name: &'static str,
    pub why: &'static str,
    /// Also refused by `run` (the others only matter while installing).
    pub at_start: bool,
}

/// The refused variables.
pub const REFUSED: [Refused; 6] = [
    Refused {
        name: "PYTHONHOME",
        why: "it makes the virtualenv's Python load another installation's library",
        at_start: true,
    },
    Refused {
        name: "PIP_TARGET",
        why: "it makes pip install outside the virtualenv",
        at_start: false,
    },
    Refused {
        name: "PIP_PREFIX",
        why: "it makes pip install outside the virtualenv",
        at_start: false,
    },
    Refused {
        name: "PIP_USER",
        why: "it makes pip install into the user's home, outside the virtualenv",
        at_start: false,
    },
    Refused {
        name: "PIP_ROOT",
        why: "it makes pip install under another root directory, outside the virtualenv",
        at_start: false,
    },
    Refused {
        name: "PIP_PYTHON",
        why: "it makes pip install into another Python's environment, not the virtualenv's",
        at_start: false,
    },
];

/// Why an environment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// A refused variable is set; `origin` says where (a file, a hook, the environment).
    #[error("{name} is set ({origin}): {why}")]
    Refused {
        name: String,
        why: String,
        origin: String,
    },
    /// An environment file could not be read.
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// Whether a boolean variable's value means on: anything but empty, `0`, `false`, `no`, `off`
/// (any case, surrounding blanks and one pair of quotes ignored).
#[must_use]
pub fn flag(value: &str) -> bool {
    let value = unquote(value.trim()).trim().to_ascii_lowercase();
    !matches!(value.as_str(), "" | "0" | "false" | "no" | "off")
}

/// Variables: kept exactly as set (bytes), read through [`Env::get`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl<K: Into<OsString>, V: Into<OsString>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl<K: Into<OsString>, V: Into<OsString>> Extend<(K, V)> for Env {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.vars
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl<'a> IntoIterator for &'a Env {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    /// The variables with UTF-8 names, values as [`Env::get`] reads them (empty ones included).
    fn into_iter(self) -> Self::IntoIter {
        Box::new(
            self.vars
                .iter()
                .filter_map(|(k, v)| Some((k.to_str()?, unquote(v.to_str()?)))),
        )
    }
}

impl Env {
    /// This process's environment, exactly as inherited: nothing is unquoted or decoded here
    /// ([`Env::get`] interprets the variables python-s2i reads; everything is passed on as it
    /// came).
    #[must_use]
    pub fn from_process() -> Self {
        std::env::vars_os().collect()
    }

    /// Exactly these variables.
    #[must_use]
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A variable as python-s2i reads its own settings: surrounding white space and one pair of
    /// surrounding quotes removed ([`unquote`]); `None` when unset, blank, or not UTF-8 (no
    /// setting of ours is).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(OsStr::new(name))
            .and_then(|v| v.to_str())
            .map(|v| unquote(v.trim()).trim())
            .filter(|v| !v.is_empty())
    }

    /// `$APP_ROOT` made absolute, [`DEFAULT_APP_ROOT`] when unset: where assemble installs
    /// and run starts from.
    #[must_use]
    pub fn app_root(&self) -> PathBuf {
        let root = PathBuf::from(self.get("APP_ROOT").unwrap_or(DEFAULT_APP_ROOT));
        std::path::absolute(&root).unwrap_or(root)
    }

    /// Activates the virtualenv `venv`: `VIRTUAL_ENV`, and its `bin` first on `PATH` (once).
    pub fn activate(&mut self, venv: &Path) {
        let bin = venv.join("bin");
        let path = self.get("PATH").unwrap_or("/usr/local/bin:/usr/bin:/bin");
        let rest = std::env::split_paths(path).filter(|d| *d != bin);
        let path = std::env::join_paths(std::iter::once(bin.clone()).chain(rest));
        self.set("PATH", path.unwrap_or_else(|_| bin.into_os_string()));
        self.set("VIRTUAL_ENV", venv);
    }

    /// A variable exactly as set (quotes and bytes as they are), for passing it on.
    #[must_use]
    pub fn raw(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// A boolean variable, by the one rule of [`flag`].
    #[must_use]
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(flag)
    }

    /// Whether the variable is set (even to an empty value).
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(OsStr::new(name))
    }

    /// Sets a variable.
    pub fn set(&mut self, name: &str, value: impl AsRef<OsStr>) {
        self.vars.insert(name.into(), value.as_ref().to_owned());
    }

    /// Sets a variable only when it is not set already (users' values win).
    pub fn set_default(&mut self, name: &str, value: impl AsRef<OsStr>) {
        if self.get(name).is_none() {
            self.set(name, value);
        }
    }

    /// Removes a variable.
    pub fn remove(&mut self, name: &str) {
        self.vars.remove(OsStr::new(name));
    }

    /// All variables, exactly as set.
    #[must_use]
    pub fn vars(&self) -> &BTreeMap<OsString, OsString> {
        &self.vars
    }

    /// Refuses the variables of [`REFUSED`] that apply to `phase`; `source` names where the
    /// variables came from, for the message.
    ///
    /// # Errors
    /// [`EnvError::Refused`] for the first one set.
    pub fn check_refused(&self, phase: Phase, source: &str) -> Result<(), EnvError> {
        if let Some(root) = self.get("APP_ROOT").filter(|root| root.contains(':')) {
            return Err(EnvError::Refused {
                name: "APP_ROOT".to_owned(),
                why: format!(
                    "{root:?} holds a `:`, which separates the directories of PATH and \
                     PYTHONPATH: the virtualenv's bin cannot be put on PATH; choose a directory \
                     without one"
                ),
                origin: source.to_owned(),
            });
        }
        for refused in &REFUSED {
            if (phase == Phase::Build || refused.at_start) && self.get(refused.name).is_some() {
                return Err(EnvError::Refused {
                    name: refused.name.to_owned(),
                    why: refused.why.to_owned(),
                    origin: source.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Reads a `KEY=VALUE` file (`.s2i/environment`, `.warpdrive/environment`; see [`parse`])
    /// and sets the variables that are not set yet (`s2i build -e` and the platform win).
    /// Values are expanded by [`expand`] from the variables set so far, except single-quoted
    /// ones, which are literal. Returns the names set and the lines skipped (for a warning). A
    /// missing file sets nothing.
    ///
    /// # Errors
    /// The file exists but cannot be read, or it sets a refused variable.
    pub fn load_file(&mut self, path: &Path, phase: Phase) -> Result<Loaded, EnvError> {
        let text = s2i_project::read_text(path).map_err(|source| EnvError::Read {
            path: path.to_owned(),
            source,
        })?;
        let Some(text) = text else {
            return Ok(Loaded::default());
        };
        let Parsed { lines, skipped } = parse(&text);
        let mut file = Env::default();
        let mut set = Vec::new();
        for line in lines {
            if self.get(&line.key).is_some() {
                continue;
            }
            let value = match line.quoting {
                Quoting::Single => line.value,
                Quoting::None | Quoting::Double => expand(&line.value, |n| self.get(n)),
            };
            file.set(&line.key, value.clone());
            self.set(&line.key, value);
            set.push(line.key);
        }
        file.check_refused(phase, &path.display().to_string())?;
        Ok(Loaded { set, skipped })
    }

    /// A command with exactly this environment.
    #[must_use]
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env_clear().envs(&self.vars);
        command
    }

    /// Looks `program` up on this environment's `PATH` (absolute path of an executable file).
    #[must_use]
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        let mut candidates = self.path().into_iter().map(|dir| dir.join(program));
        candidates.find(|candidate| is_executable(candidate))
    }

    /// The directories of `PATH`, in order, made absolute (commands run in other directories:
    /// a relative entry must not break them).
    #[must_use]
    pub fn path(&self) -> Vec<PathBuf> {
        let dirs = std::env::split_paths(self.get("PATH").unwrap_or_default());
        dirs.filter(|d| !d.as_os_str().is_empty())
            .map(|d| std::path::absolute(&d).unwrap_or(d))
            .collect()
    }
}

/// `APP_ROOT` when unset: the image's.
pub const DEFAULT_APP_ROOT: &str = "/opt/app-root";

/// Whether `path` is a file with an execute bit set.
#[must_use]
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How a value was quoted in an environment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    None,
    Single,
    Double,
}

/// One `KEY=VALUE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub key: String,
    /// Without its quotes.
    pub value: String,
    pub quoting: Quoting,
}

/// A line that was skipped: not `KEY=VALUE` with a shell variable name (s2i accepts such lines
/// and skips them, so they are never an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
}

/// What [`Env::load_file`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The names it set.
    pub set: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// An environment file's lines, and those skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub lines: Vec<Line>,
    pub skipped: Vec<Skipped>,
}

/// The lines of an environment file, in file order: blank lines and `#` comments are skipped,
/// an `export ` prefix and a leading UTF-8 byte order mark are allowed, keys are shell variable
/// names, and a value wrapped in matching single or double quotes is unquoted. Other lines are
/// [`Skipped`].
#[must_use]
pub fn parse(text: &str) -> Parsed {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parsed = Parsed::default();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line
            .split_once('=')
            .filter(|(key, _)| is_variable_name(key.trim()))
        else {
            parsed.skipped.push(Skipped {
                line: index + 1,
                text: raw.to_owned(),
            });
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        let quoting = match quote_of(value) {
            Some('\'') => Quoting::Single,
            Some(_) => Quoting::Double,
            None => Quoting::None,
        };
        parsed.lines.push(Line {
            key: key.to_owned(),
            value: unquote(value).to_owned(),
            quoting,
        });
    }
    parsed
}

fn is_variable_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn quote_of(value: &str) -> Option<char> {
    ['"', '\''].into_iter().find(|q| {
        value.len() >= 2
            && value.starts_with(*q)
            && value.ends_with(*q)
            && !value[1..value.len() - 1].contains(*q)
    })
}

/// `value` without one pair of matching surrounding quotes: `"pkg:app"` and `'pkg:app'` are
/// `pkg:app`. A value with the same quote inside (`"a" "b"`, shell words) is left alone.
#[must_use]
pub fn unquote(value: &str) -> &str {
    match quote_of(value) {
        Some(_) => &value[1..value.len() - 1],
        None => value,
    }
}

/// Expands `$NAME` and `${NAME}` with `lookup` (unset names become empty); `\$` is a literal
/// `$`. The one expansion rule of environment files and `.warpdrive/server_args`.
#[must_use]
pub fn expand<'a>(text: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'$') {
            out.push('$');
            chars.next();
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.peek() == Some(&'}') {
            chars.next();
        }
        if name.is_empty() {
            out.push('$');
        } else {
            out.push_str(lookup(&name).unwrap_or(""));
        }
    }
    out
}

/// Why an env hook could not be sourced.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// `/bin/sh` could not be started.
    #[error("sourcing {hook}: {source}")]
    Spawn { hook: PathBuf, source: io::Error },
    /// The hook failed (its last command or `exit N`, N > 0; `None`: killed by a signal), or
    /// ended the sourcing shell early (`exit 0`, `exec`): never an empty environment.
    #[error("sourcing {hook}: {error}")]
    Hook { hook: PathBuf, error: EnvHookError },
    /// The hook set a refused variable.
    #[error(transparent)]
    Env(EnvError),
}

/// The environment a shell started with [`hook::shell_args`] left, given how it ended and
/// what it printed: the one reading of an env hook for both binaries (the hook's own output
/// is not part of it, the shell's `PWD`, `OLDPWD`, `SHLVL`, `_` are left out, an early exit is
/// an error, a refused variable is an error).
///
/// # Errors
/// The hook failed or ended its shell early, or it set a refused variable.
pub fn sourced(
    hook: &Path,
    status: ExitStatus,
    stdout: &[u8],
    phase: Phase,
) -> Result<Env, SourceError> {
    let vars = hook::read(status, stdout).map_err(|error| SourceError::Hook {
        hook: hook.to_owned(),
        error,
    })?;
    let sourced: Env = vars.into_iter().collect();
    sourced
        .check_refused(phase, &hook.display().to_string())
        .map_err(SourceError::Env)?;
    Ok(sourced)
}

/// Sources an env hook (warpdrive's `build-env` / `deploy-env`) in `/bin/sh` with `env`, in
/// `cwd`, and returns the environment it leaves ([`sourced`]). What the hook prints goes to
/// stderr.
///
/// # Errors
/// The shell cannot start, the hook fails or ends its shell early, or it sets a refused
/// variable.
pub fn source_hook(hook: &Path, cwd: &Path, env: &Env, phase: Phase) -> Result<Env, SourceError> {
    let out = env
        .command("/bin/sh")
        .args(hook::shell_args())
        .arg(hook)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| SourceError::Spawn {
            hook: hook.to_owned(),
            source,
        })?;
    sourced(hook, out.status, &out.stdout, phase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_export_quotes_and_bom() {
        let text = "\u{feff}# a comment\n\nA=1\nexport B = \"two words\"\nC='x'\nD=\n";
        let parsed = parse(text);
        assert!(parsed.skipped.is_empty());
        let got: Vec<(&str, &str, Quoting)> = parsed
            .lines
            .iter()
            .map(|l| (l.key.as_str(), l.value.as_str(), l.quoting))
            .collect();
        assert_eq!(
            got,
            [
                ("A", "1", Quoting::None),
                ("B", "two words", Quoting::Double),
                ("C", "x", Quoting::Single),
                ("D", "", Quoting::None),
            ]
        );
    }

    #[test]
    fn lines_s2i_accepts_are_skipped_not_fatal() {
        let parsed = parse("A=1\nnot a variable\n1A=x\nA-B=x\nB=\"q\"\n");
        let keys: Vec<&str> = parsed.lines.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["A", "B"]);
        let lines: Vec<usize> = parsed.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 4]);
    }

    #[test]
    fn one_pair_of_quotes() {
        assert_eq!(unquote("\"pkg:app\""), "pkg:app");
        assert_eq!(unquote("'8085'"), "8085");
        assert_eq!(unquote("\"--a\" \"b\""), "\"--a\" \"b\"");
        assert_eq!(unquote("\""), "\"");
        assert_eq!(unquote("'a\""), "'a\"");
    }

    #[test]
    fn one_boolean_rule() {
        for off in [
            "", "0", "false", "FALSE", "no", "Off", " 0 ", "\"0\"", "'false'",
        ] {
            assert!(!flag(off), "{off:?}");
        }
        for on in ["1", "true", "yes", "on", "y", "enabled", "2"] {
            assert!(flag(on), "{on:?}");
        }
        let env = Env::of(&[("DISABLE_MIGRATE", "0"), ("DISABLE_COLLECTSTATIC", "0")]);
        assert_eq!(
            env.flag("DISABLE_MIGRATE"),
            env.flag("DISABLE_COLLECTSTATIC")
        );
        assert!(!env.flag("DISABLE_MIGRATE"));
        assert!(!env.flag("UNSET"));
    }

    #[test]
    fn values_are_read_unquoted_and_passed_on_as_they_are() {
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = OsStr::from_bytes(b"caf\xe9");
        let env: Env = [
            (OsString::from("APP_MODULE"), OsString::from("\"pkg:app\"")),
            (OsString::from("SECRET"), OsString::from("'abc'")),
            (OsString::from("BYTES"), not_utf8.to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(env.get("APP_MODULE"), Some("pkg:app"));
        assert_eq!(env.get("BYTES"), None);
        assert_eq!(env.raw("SECRET"), Some(OsStr::new("'abc'")));
        let command = env.command("true");
        let passed: BTreeMap<&OsStr, Option<&OsStr>> = command.get_envs().collect();
        assert_eq!(passed[OsStr::new("SECRET")], Some(OsStr::new("'abc'")));
        assert_eq!(
            passed[OsStr::new("APP_MODULE")],
            Some(OsStr::new("\"pkg:app\""))
        );
        assert_eq!(passed[OsStr::new("BYTES")], Some(not_utf8));
    }

    #[test]
    fn get_treats_blank_as_unset() {
        let env = Env::of(&[("E", ""), ("B", " \t"), ("V", " x "), ("Q", " ' y ' ")]);
        assert_eq!((env.get("E"), env.get("B")), (None, None));
        assert!(env.contains("E"));
        assert_eq!((env.get("V"), env.get("Q")), (Some("x"), Some("y")));
    }

    #[test]
    fn one_app_root_and_one_activation() {
        assert_eq!(
            Env::of(&[("APP_ROOT", " ")]).app_root(),
            Path::new(DEFAULT_APP_ROOT)
        );
        let relative = Env::of(&[("APP_ROOT", "app")]).app_root();
        assert!(
            relative.is_absolute() && relative.ends_with("app"),
            "{relative:?}"
        );
        let mut env = Env::of(&[("PATH", "/opt/app-root/bin:/usr/bin")]);
        env.activate(Path::new("/opt/app-root"));
        assert_eq!(env.get("PATH"), Some("/opt/app-root/bin:/usr/bin"));
        assert_eq!(env.get("VIRTUAL_ENV"), Some("/opt/app-root"));
        let mut env = Env::default();
        env.activate(Path::new("/v"));
        assert_eq!(env.get("PATH"), Some("/v/bin:/usr/local/bin:/usr/bin:/bin"));
    }

    #[test]
    fn expansion_rule() {
        let env = Env::of(&[("HOME", "/h"), ("X", "1")]);
        let get = |n: &str| env.get(n);
        assert_eq!(expand("$HOME/a ${X}b $NOPE.", get), "/h/a 1b .");
        assert_eq!(expand(r"cost \$5 $", get), "cost $5 $");
    }

    #[test]
    fn files_expand_except_in_single_quotes_and_never_override() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("environment");
        fs::write(
            &file,
            "A=$BASE/a\nB='$BASE/b'\nC=\"$A:c\"\nD=\\$BASE\nKEEP=file\n",
        )
        .expect("write");
        let mut env = Env::of(&[("BASE", "/base"), ("KEEP", "user")]);
        let loaded = env.load_file(&file, Phase::Start).expect("loads");
        assert_eq!(loaded.set, ["A", "B", "C", "D"]);
        assert_eq!(env.get("A"), Some("/base/a"));
        assert_eq!(env.get("B"), Some("$BASE/b"));
        assert_eq!(env.get("C"), Some("/base/a:c"));
        assert_eq!(env.get("D"), Some("$BASE"));
        assert_eq!(env.get("KEEP"), Some("user"));
        assert!(env
            .load_file(&dir.path().join("missing"), Phase::Build)
            .expect("missing is empty")
            .set
            .is_empty());
    }

    #[test]
    fn refused_variables_from_every_source() {
        let env = Env::of(&[("PYTHONHOME", "/usr")]);
        assert!(matches!(
            env.check_refused(Phase::Start, "the environment"),
            Err(EnvError::Refused { .. })
        ));
        let env = Env::of(&[("PIP_USER", "1")]);
        assert!(env.check_refused(Phase::Build, "x").is_err());
        let colon = Env::of(&[("APP_ROOT", "/srv/a:b")]);
        for phase in [Phase::Build, Phase::Start] {
            assert!(matches!(
                colon.check_refused(phase, "x"),
                Err(EnvError::Refused { name, .. }) if name == "APP_ROOT"
            ));
        }
        assert!(env.check_refused(Phase::Start, "x").is_ok());

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("environment");
        fs::write(&file, "PIP_TARGET=/elsewhere\n").expect("write");
        let err = Env::default()
            .load_file(&file, Phase::Build)
            .expect_err("refused");
        assert!(err.to_string().contains("PIP_TARGET"), "{err}");
        assert!(err.to_string().contains("environment"), "{err}");

        let hook = dir.path().join("deploy-env");
        fs::write(&hook, "export PYTHONHOME=/usr\n").expect("write");
        let env = Env::of(&[("PATH", "/usr/bin:/bin")]);
        let err = source_hook(&hook, dir.path(), &env, Phase::Start).expect_err("refused");
        assert!(
            matches!(err, SourceError::Env(EnvError::Refused { .. })),
            "{err}"
        );
    }

    #[test]
    fn hooks_are_sourced_without_the_shells_own_variables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hook = dir.path().join("build-env");
        fs::write(&hook, "export FROM_HOOK=yes\necho noise\n").expect("write");
        let env = Env::of(&[("PATH", "/usr/bin:/bin")]);
        let sourced = source_hook(&hook, dir.path(), &env, Phase::Build).expect("sourced");
        assert_eq!(sourced.get("FROM_HOOK"), Some("yes"));
        assert_eq!(sourced.get("PATH"), Some("/usr/bin:/bin"));
        assert_eq!(sourced.get("PWD"), None);
        fs::write(&hook, "false\n").expect("write");
        assert!(matches!(
            source_hook(&hook, dir.path(), &env, Phase::Build),
            Err(SourceError::Hook {
                error: EnvHookError::Failed { code: Some(1) },
                ..
            })
        ));
        fs::write(&hook, "export PORT=9000\nexit 0\n").expect("write");
        assert!(matches!(
            source_hook(&hook, dir.path(), &env, Phase::Build),
            Err(SourceError::Hook {
                error: EnvHookError::EndedEarly { .. },
                ..
            })
        ));
    }
}
