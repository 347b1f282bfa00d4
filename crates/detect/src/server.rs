//! Which server the user asked for: `APP_SERVER`, warpdrive's `server_type`, or auto.

use std::fmt;

/// The production servers `run` knows how to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    ModWsgi,
    Gunicorn,
    Uwsgi,
    Waitress,
    Uvicorn,
    Hypercorn,
    Granian,
}

/// What a server can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Wsgi,
    Asgi,
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wsgi => "WSGI",
            Self::Asgi => "ASGI",
        })
    }
}

impl Server {
    /// Every server, in the order auto mode prefers them.
    pub const ALL: [Self; 7] = [
        Self::ModWsgi,
        Self::Gunicorn,
        Self::Uwsgi,
        Self::Waitress,
        Self::Uvicorn,
        Self::Hypercorn,
        Self::Granian,
    ];

    /// The name users write in `APP_SERVER`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::ModWsgi => "mod_wsgi",
            Self::Gunicorn => "gunicorn",
            Self::Uwsgi => "uwsgi",
            Self::Waitress => "waitress",
            Self::Uvicorn => "uvicorn",
            Self::Hypercorn => "hypercorn",
            Self::Granian => "granian",
        }
    }

    /// The console script the server's package installs into the virtualenv's `bin/`.
    #[must_use]
    pub fn executable(self) -> &'static str {
        match self {
            Self::ModWsgi => "mod_wsgi-express",
            Self::Waitress => "waitress-serve",
            other => other.name(),
        }
    }

    /// The pip requirement that installs it.
    #[must_use]
    pub fn requirement(self) -> &'static str {
        match self {
            Self::Uwsgi => "uwsgi (or pyuwsgi)",
            other => other.name(),
        }
    }

    /// Whether the server can host an application of this interface.
    #[must_use]
    pub fn serves(self, interface: Interface) -> bool {
        match interface {
            Interface::Wsgi => !matches!(self, Self::Uvicorn),
            Interface::Asgi => matches!(self, Self::Uvicorn | Self::Hypercorn | Self::Granian),
        }
    }

    /// Parses a name as users write it (`mod_wsgi`, `mod_wsgi-express`, `gunicorn`, ...).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim().to_ascii_lowercase();
        match value.as_str() {
            "mod_wsgi" | "mod-wsgi" | "mod_wsgi-express" | "modwsgi" => Some(Self::ModWsgi),
            "uwsgi" | "pyuwsgi" => Some(Self::Uwsgi),
            "waitress" | "waitress-serve" => Some(Self::Waitress),
            other => Self::ALL.into_iter().find(|s| s.name() == other),
        }
    }

    /// The names accepted in `APP_SERVER`, for messages.
    #[must_use]
    pub fn valid_names() -> String {
        let mut names = vec!["auto"];
        names.extend(Self::ALL.iter().map(|s| s.name()));
        names.join(", ")
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The server the user asked for, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRequest {
    /// `None` is auto.
    pub server: Option<Server>,
    /// Where the choice came from, e.g. `APP_SERVER=gunicorn` or `default`.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for server in Server::ALL {
            assert_eq!(Server::parse(server.name()), Some(server));
        }
        assert_eq!(Server::parse("mod_wsgi-express"), Some(Server::ModWsgi));
        assert_eq!(Server::parse("Gunicorn "), Some(Server::Gunicorn));
        assert_eq!(Server::parse("flask"), None);
    }

    #[test]
    fn interfaces() {
        assert!(Server::ModWsgi.serves(Interface::Wsgi));
        assert!(!Server::ModWsgi.serves(Interface::Asgi));
        assert!(!Server::Uvicorn.serves(Interface::Wsgi));
        assert!(Server::Granian.serves(Interface::Asgi));
    }
}
