//! How auto mode is switched off: warpdrive's deploy mode and the requested server.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::server::{Server, ServerRequest};
use crate::source::read_value;
use crate::{DetectError, Env};

/// warpdrive's deploy mode (`WARPDRIVE_DEPLOY_MODE` or `.warpdrive/deploy_mode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployMode {
    /// Every rule, in order.
    Auto { source: String },
    /// Only the named kind of rule.
    Only { kind: ModeKind, source: String },
    /// No detection: start this server with `.warpdrive/server_args` only.
    Manual { server: Server, source: String },
}

/// The kinds of application a forced deploy mode accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeKind {
    Shell,
    Python,
    Wsgi,
    Django,
}

impl fmt::Display for ModeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Shell => "shell",
            Self::Python => "python",
            Self::Wsgi => "wsgi",
            Self::Django => "django",
        })
    }
}

impl DeployMode {
    /// Where the mode came from.
    #[must_use]
    pub fn source(&self) -> &str {
        match self {
            Self::Auto { source } | Self::Only { source, .. } | Self::Manual { source, .. } => {
                source
            }
        }
    }

    /// One line for `--dry-run`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Auto { source } => format!("auto ({source})"),
            Self::Only { kind, source } => format!("{kind} only ({source})"),
            Self::Manual { server, source } => format!("manual {server} ({source})"),
        }
    }
}

/// The deploy mode from the environment or `.warpdrive/deploy_mode`.
pub fn deploy_mode(src: &Path, env: &Env) -> Result<DeployMode, DetectError> {
    let (value, source) = if let Some(v) = env
        .get("WARPDRIVE_DEPLOY_MODE")
        .filter(|v| !v.trim().is_empty())
    {
        (v.trim().to_owned(), format!("WARPDRIVE_DEPLOY_MODE={v}"))
    } else if let Some(v) = read_value(&src.join(".warpdrive/deploy_mode"))? {
        let source = format!(".warpdrive/deploy_mode: {v}");
        (v, source)
    } else {
        return Ok(DeployMode::Auto {
            source: "default".to_owned(),
        });
    };
    let kind = match value.to_ascii_lowercase().as_str() {
        "auto" => return Ok(DeployMode::Auto { source }),
        "shell" => ModeKind::Shell,
        "python" => ModeKind::Python,
        "wsgi" => ModeKind::Wsgi,
        "django" => ModeKind::Django,
        other => {
            return Server::parse(other)
                .map(|server| DeployMode::Manual {
                    server,
                    source: source.clone(),
                })
                .ok_or(DetectError::UnknownDeployMode {
                    value,
                    origin: source,
                });
        }
    };
    Ok(DeployMode::Only { kind, source })
}

/// The server asked for: `APP_SERVER`, `WARPDRIVE_SERVER_TYPE`, `.warpdrive/server_type`, or
/// the manual deploy mode's server.
pub fn server_request(
    src: &Path,
    env: &Env,
    mode: &DeployMode,
) -> Result<ServerRequest, DetectError> {
    if let DeployMode::Manual { server, source } = mode {
        return Ok(ServerRequest {
            server: Some(*server),
            source: source.clone(),
            preferred: Vec::new(),
        });
    }
    let mut found = None;
    for name in ["APP_SERVER", "WARPDRIVE_SERVER_TYPE"] {
        if let Some(v) = env.get(name) {
            found = Some((v.to_owned(), format!("{name}={v}")));
            break;
        }
    }
    if found.is_none() {
        if let Some(v) = read_value(&src.join(".warpdrive/server_type"))? {
            let source = format!(".warpdrive/server_type: {v}");
            found = Some((v, source));
        }
    }
    let Some((value, source)) = found else {
        return Ok(ServerRequest {
            server: None,
            source: "default".to_owned(),
            preferred: Vec::new(),
        });
    };
    if value.eq_ignore_ascii_case("auto") {
        return Ok(ServerRequest {
            server: None,
            source,
            preferred: Vec::new(),
        });
    }
    match Server::parse(&value) {
        Some(server) => Ok(ServerRequest {
            server: Some(server),
            source,
            preferred: Vec::new(),
        }),
        None => Err(DetectError::UnknownServer {
            value,
            origin: source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = |k: &str, v: &str| Env::of(&[(k, v)]);
        assert!(matches!(
            deploy_mode(dir.path(), &Env::default()),
            Ok(DeployMode::Auto { .. })
        ));
        assert!(matches!(
            deploy_mode(dir.path(), &env("WARPDRIVE_DEPLOY_MODE", "gunicorn")),
            Ok(DeployMode::Manual {
                server: Server::Gunicorn,
                ..
            })
        ));
        std::fs::create_dir(dir.path().join(".warpdrive")).expect("mkdir");
        std::fs::write(dir.path().join(".warpdrive/deploy_mode"), "django\n").expect("write");
        assert!(matches!(
            deploy_mode(dir.path(), &Env::default()),
            Ok(DeployMode::Only {
                kind: ModeKind::Django,
                ..
            })
        ));
        assert!(matches!(
            deploy_mode(dir.path(), &env("WARPDRIVE_DEPLOY_MODE", "magic")),
            Err(DetectError::UnknownDeployMode { .. })
        ));
    }

    #[test]
    fn servers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let auto = DeployMode::Auto {
            source: "default".into(),
        };
        let env = Env::of(&[("APP_SERVER", "nginx")]);
        let err = server_request(dir.path(), &env, &auto).expect_err("unknown");
        assert!(err.to_string().contains("nginx"), "{err}");
        let env = Env::of(&[("WARPDRIVE_SERVER_TYPE", "uwsgi")]);
        let req = server_request(dir.path(), &env, &auto).expect("uwsgi");
        assert_eq!(req.server, Some(Server::Uwsgi));
    }
}
