//! The variables every server shares: `PORT`, `WEB_CONCURRENCY`, reload mode.

use s2i_detect::Env;

use crate::ServerError;

/// Default listening port (the images EXPOSE it).
pub const DEFAULT_PORT: u16 = 8080;

/// Validated common settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub port: u16,
    /// `WEB_CONCURRENCY`: worker processes, replacing the automatic count.
    pub web_concurrency: Option<u32>,
    /// Restart workers when code changes (`MOD_WSGI_RELOAD_ON_CHANGES`).
    pub reload: bool,
}

impl Settings {
    /// Reads and validates the variables.
    ///
    /// # Errors
    /// `PORT` or `WEB_CONCURRENCY` is not a number in range.
    pub fn from_env(env: &Env) -> Result<Self, ServerError> {
        let port =
            match env.get("PORT") {
                None => DEFAULT_PORT,
                Some(v) => v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    ServerError::BadNumber {
                        variable: "PORT".into(),
                        value: v.into(),
                        expected: "a port number from 1 to 65535".into(),
                    }
                })?,
            };
        let web_concurrency = match env.get("WEB_CONCURRENCY") {
            None => None,
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| ServerError::BadNumber {
                        variable: "WEB_CONCURRENCY".into(),
                        value: v.into(),
                        expected: "a number of worker processes from 1 to 1024".into(),
                    })?,
            ),
        };
        let reload = env.flag("MOD_WSGI_RELOAD_ON_CHANGES");
        Ok(Self {
            port,
            web_concurrency,
            reload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let s = Settings::from_env(&Env::default()).expect("defaults");
        assert_eq!((s.port, s.web_concurrency, s.reload), (8080, None, false));
        let s = Settings::from_env(&Env::of(&[
            ("PORT", "8123"),
            ("WEB_CONCURRENCY", "3"),
            ("MOD_WSGI_RELOAD_ON_CHANGES", "1"),
        ]))
        .expect("values");
        assert_eq!((s.port, s.web_concurrency, s.reload), (8123, Some(3), true));
    }

    #[test]
    fn bad_numbers() {
        for (k, v) in [
            ("PORT", "http"),
            ("PORT", "0"),
            ("PORT", "70000"),
            ("WEB_CONCURRENCY", "many"),
            ("WEB_CONCURRENCY", "0"),
        ] {
            let err = Settings::from_env(&Env::of(&[(k, v)])).expect_err(v);
            assert!(err.to_string().contains(k), "{err}");
        }
    }
}
