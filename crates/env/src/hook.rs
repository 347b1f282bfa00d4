//! Environment hooks: warpdrive's `build-env` (assemble) and `deploy-env` (run) are *sourced* by
//! a shell, and the variables they leave become the build's or the server's environment
//! (the shell is started by the caller: assemble captures it, run starts it under its init;
//! [`crate::sourced`] reads what it printed and checks the refused variables).
//!
//! One script and one reader for both, so a hook means the same at build and at start:
//!
//! - the hook's own output goes to stderr (the log), never into the environment;
//! - after the hook, the shell prints a marker, then the environment (`env -0`);
//! - a hook that fails (its last command, or `exit N` with N > 0) is an error;
//! - a hook that ends the shell early (`exit 0`, `exec`) leaves no marker: that is an error too,
//!   never an empty environment (the server would otherwise start without `PORT`,
//!   `DATABASE_URL`..., silently).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitStatus;

macro_rules! marker {
    () => {
        "python-s2i: env hook returned"
    };
}

/// Printed (NUL-terminated) by the shell once the hook has returned, before the environment.
pub const MARKER: &str = marker!();

/// The arguments of `sh` that source the hook given as `$1` (`sh -c SCRIPT sh HOOK`).
#[must_use]
pub fn shell_args() -> [&'static str; 3] {
    [
        "-c",
        concat!(
            r#". "$1" 1>&2 && printf '%s\0' '"#,
            marker!(),
            "' && exec env -0"
        ),
        "sh",
    ]
}

/// Variables the shell itself sets, never taken from the hook.
const SHELL_OWN: [&str; 4] = ["PWD", "SHLVL", "_", "OLDPWD"];

/// Why the environment of a hook cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvHookError {
    /// The hook (or its last command) failed: the shell's exit code, `None` if a signal ended it.
    #[error("it failed ({})", status(*.code))]
    Failed { code: Option<i32> },
    /// The shell ended before the hook returned (`exit 0`, `exec` in the hook): the variables
    /// it set are lost.
    #[error(
        "it ended the shell that sources it before returning ({}): an `exit` (or `exec`) \
         in a sourced hook ends that shell, so the variables it sets are lost; \
         use `return` instead of `exit` (or drop the line)",
        status(*.code)
    )]
    EndedEarly { code: Option<i32> },
}

/// How the shell ended: its exit code, or a signal (`None`).
fn status(code: Option<i32>) -> String {
    code.map_or_else(
        || "killed by a signal".to_owned(),
        |c| format!("exit code {c}"),
    )
}

/// The environment a sourcing shell printed, given how it ended and its stdout.
///
/// # Errors
/// See [`EnvHookError`].
pub fn read(
    status: ExitStatus,
    stdout: &[u8],
) -> Result<BTreeMap<OsString, OsString>, EnvHookError> {
    let code = status.code();
    let mut marker = MARKER.as_bytes().to_vec();
    marker.push(0);
    let Some(rest) = stdout.strip_prefix(marker.as_slice()) else {
        return Err(if status.success() {
            EnvHookError::EndedEarly { code }
        } else {
            EnvHookError::Failed { code }
        });
    };
    if !status.success() {
        return Err(EnvHookError::Failed { code });
    }
    Ok(rest
        .split(|b| *b == 0)
        .filter_map(|entry| {
            // Byte-exact: a value that is not UTF-8 is passed on as it is.
            let at = entry.iter().position(|b| *b == b'=')?;
            let (k, v) = (&entry[..at], &entry[at + 1..]);
            Some((
                std::ffi::OsStr::from_bytes(k).to_owned(),
                std::ffi::OsStr::from_bytes(v).to_owned(),
            ))
        })
        .filter(|(k, _)| !SHELL_OWN.iter().any(|own| k == own))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn source(body: &str) -> Result<BTreeMap<String, String>, EnvHookError> {
        source_raw(body).map(|vars| {
            vars.into_iter()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect()
        })
    }

    fn source_raw(body: &str) -> Result<BTreeMap<OsString, OsString>, EnvHookError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let hook = dir.path().join("hook");
        std::fs::write(&hook, body).expect("write");
        let out = Command::new("sh")
            .args(shell_args())
            .arg(&hook)
            .env_clear()
            .env("KEPT", "1")
            .output()
            .expect("sh");
        read(out.status, &out.stdout)
    }

    #[test]
    fn exported_variables_are_read_and_output_is_not() {
        let env = source("echo noise\nexport FROM_HOOK='a b'\n").expect("sourced");
        assert_eq!(env.get("FROM_HOOK").map(String::as_str), Some("a b"));
        assert_eq!(env.get("KEPT").map(String::as_str), Some("1"));
        assert!(!env.contains_key("PWD"));
        assert!(!env.values().any(|v| v.contains("noise")));
    }

    #[test]
    fn values_keep_their_bytes() {
        let env = source_raw("export RAW=\"$(printf 'caf\\351 \\047q\\047')\"\n").expect("sourced");
        assert_eq!(
            env.get(std::ffi::OsStr::new("RAW")).map(|v| v.as_bytes()),
            Some(&b"caf\xe9 'q'"[..])
        );
    }

    #[test]
    fn exit_zero_is_ended_early_not_an_empty_environment() {
        let error = source("export PORT=9000\nexit 0\n").expect_err("ended early");
        assert_eq!(error, EnvHookError::EndedEarly { code: Some(0) });
        assert!(error.to_string().contains("use `return`"), "{error}");
    }

    #[test]
    fn failures_and_return() {
        assert_eq!(
            source("exit 3\n").expect_err("fails"),
            EnvHookError::Failed { code: Some(3) }
        );
        assert_eq!(
            source("false\n").expect_err("fails"),
            EnvHookError::Failed { code: Some(1) }
        );
        let env = source("export A=1\nreturn 0\nexport B=2\n").expect("return is fine");
        assert!(env.contains_key("A") && !env.contains_key("B"));
    }
}
