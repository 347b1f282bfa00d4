//! What the init is told by its caller and by the environment: the stop grace period, signal
//! translations, debug lines.

use std::ffi::OsString;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::errors::OptionsError;

/// The variable holding the grace period, in seconds.
pub const GRACE_VARIABLE: &str = "STOP_GRACE_PERIOD";
/// The variable that turns on debug lines on stderr.
pub const DEBUG_VARIABLE: &str = "RUN_DEBUG";

/// Default grace period: well under Kubernetes' 30 s `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(20);

/// Default time leftover processes of the child's group get between TERM and KILL once the
/// main child has exited.
pub const DEFAULT_LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// How the init treats the child.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between the first stop signal (TERM or INT) and SIGKILL to what is left.
    pub grace: Duration,
    /// Time leftover processes of the child's group get between TERM and KILL after the main
    /// child has exited.
    pub leftover_grace: Duration,
    /// Signals rewritten when forwarded: `(received, sent)`.
    pub translations: Vec<(Signal, Signal)>,
    /// Write debug lines (role, forwarded signals, reaped processes) to stderr.
    pub debug: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            grace: DEFAULT_GRACE,
            leftover_grace: DEFAULT_LEFTOVER_GRACE,
            translations: Vec::new(),
            debug: false,
        }
    }
}

impl Options {
    /// Options from the environment: `STOP_GRACE_PERIOD` (seconds) and `RUN_DEBUG`.
    ///
    /// # Errors
    /// A variable is set to something that is not a valid value; the message says which.
    pub fn from_env() -> Result<Self, OptionsError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// Options from variables looked up with `var` (what [`Options::from_env`] does with the
    /// process environment).
    ///
    /// # Errors
    /// As [`Options::from_env`].
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Self, OptionsError> {
        let mut options = Self::default();
        if let Some(value) = var(GRACE_VARIABLE).filter(|v| !v.is_empty()) {
            options.grace = parse_seconds(GRACE_VARIABLE, &value)?;
        }
        options.debug = var(DEBUG_VARIABLE).is_some_and(|v| !v.is_empty() && v != "0");
        Ok(options)
    }

    /// Adds a translation for a forwarded signal: `received` is sent to the child as `sent`.
    /// A later translation of the same signal replaces an earlier one.
    #[must_use]
    pub fn translate(mut self, received: Signal, sent: Signal) -> Self {
        self.translations.retain(|(from, _)| *from != received);
        self.translations.push((received, sent));
        self
    }

    /// The signal the child gets when the init receives `received`.
    #[must_use]
    pub fn translated(&self, received: Signal) -> Signal {
        self.translations
            .iter()
            .find(|(from, _)| *from == received)
            .map_or(received, |(_, to)| *to)
    }
}

/// A non-negative number of seconds, whole or decimal (`20`, `2.5`).
fn parse_seconds(variable: &'static str, value: &OsString) -> Result<Duration, OptionsError> {
    let invalid = || OptionsError::InvalidSeconds {
        variable,
        value: value.to_string_lossy().into_owned(),
    };
    let text = value.to_str().ok_or_else(invalid)?.trim();
    let is_plain_number = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.chars().filter(|c| *c == '.').count() <= 1
        && text != ".";
    if !is_plain_number {
        return Err(invalid());
    }
    let seconds: f64 = text.parse().map_err(|_| invalid())?;
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(grace: Option<&str>, debug: Option<&str>) -> Result<Options, OptionsError> {
        Options::from_vars(|name| match name {
            GRACE_VARIABLE => grace.map(OsString::from),
            DEBUG_VARIABLE => debug.map(OsString::from),
            _ => None,
        })
    }

    #[test]
    fn defaults_when_unset_or_empty() {
        for grace in [None, Some("")] {
            let options = with(grace, None).expect("valid");
            // docs/init.md: "Default `20`" (seconds), written out, not the constant.
            assert_eq!(options.grace, Duration::from_secs(20));
            assert!(!options.debug);
            assert!(options.translations.is_empty());
        }
    }

    #[test]
    fn grace_in_whole_and_decimal_seconds() {
        let cases = [
            ("0", 0),
            ("5", 5000),
            (" 7 ", 7000),
            ("2.5", 2500),
            ("0.1", 100),
            ("3.", 3000),
        ];
        for (text, millis) in cases {
            let options = with(Some(text), None).expect("valid");
            assert_eq!(options.grace, Duration::from_millis(millis), "{text}");
        }
    }

    #[test]
    fn garbage_grace_names_the_variable_and_an_example() {
        for text in [
            "abc",
            "-1",
            "1e3",
            "20s",
            "1.2.3",
            ".",
            "inf",
            "NaN",
            "99999999999999999999999",
        ] {
            let error = with(Some(text), None).expect_err(text);
            let message = error.to_string();
            assert!(message.contains("STOP_GRACE_PERIOD"), "{message}");
            assert!(message.contains(text.trim()), "{message}");
            assert!(message.contains("STOP_GRACE_PERIOD=20"), "{message}");
        }
    }

    #[test]
    fn debug_is_on_for_any_value_but_empty_and_zero() {
        assert!(with(None, Some("1")).expect("valid").debug);
        assert!(with(None, Some("yes")).expect("valid").debug);
        assert!(!with(None, Some("")).expect("valid").debug);
        assert!(!with(None, Some("0")).expect("valid").debug);
    }

    #[test]
    fn translations_replace_and_default_to_the_same_signal() {
        let options = Options::default()
            .translate(Signal::SIGTERM, Signal::SIGINT)
            .translate(Signal::SIGTERM, Signal::SIGWINCH);
        assert_eq!(options.translated(Signal::SIGTERM), Signal::SIGWINCH);
        assert_eq!(options.translated(Signal::SIGHUP), Signal::SIGHUP);
        assert_eq!(options.translations.len(), 1);
    }
}
