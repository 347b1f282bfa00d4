//! `Procfile`: Heroku's process types, one `TYPE: COMMAND` a line, read the way foreman (the
//! Procfile's first runner) reads it:
//!
//! - a line is split at its first `:`, both sides trimmed (so a CRLF line end is no part of the
//!   command); `TYPE` is letters, digits, `_` and `-` (Heroku's `[A-Za-z0-9_-]+`);
//! - any other line is left out, never an error: comments (`# web: ...` is no type, `#` not
//!   being a name character), blank lines, `TYPE:` without a command;
//! - the first line of a type wins, as in foreman (Heroku's buildpack keeps the last one and
//!   warns): a later `web:` line does not change the process `run` starts;
//! - bytes that are not UTF-8 (a Latin-1 comment) are replaced, and the other lines still count.

use std::io;
use std::path::Path;

/// One process type: its name and command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessType {
    pub name: String,
    pub command: String,
}

/// A Procfile's process types, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Procfile {
    pub types: Vec<ProcessType>,
}

/// Whether `name` can be a process type (Heroku's `[A-Za-z0-9_-]+`).
#[must_use]
pub fn is_process_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

impl Procfile {
    /// `dir/Procfile`; `None` when there is none.
    ///
    /// # Errors
    /// It exists but cannot be read.
    pub fn read(dir: &Path) -> io::Result<Option<Self>> {
        Ok(crate::read_text(&dir.join("Procfile"))?.map(|text| Self::parse(&text)))
    }

    /// A Procfile's text.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut procfile = Self::default();
        for line in text.lines() {
            let Some((name, command)) = line.split_once(':') else {
                continue;
            };
            let (name, command) = (name.trim(), command.trim());
            if is_process_name(name) && !command.is_empty() && procfile.get(name).is_none() {
                procfile.types.push(ProcessType {
                    name: name.to_owned(),
                    command: command.to_owned(),
                });
            }
        }
        procfile
    }

    /// The process type `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&ProcessType> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The command line of the process type `name` (`web`, `release`, ...).
    #[must_use]
    pub fn command(&self, name: &str) -> Option<&str> {
        self.get(name).map(|t| t.command.as_str())
    }

    /// The names of its process types, in file order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.types.iter().map(|t| t.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heroku_examples() {
        // Heroku's Python and Django examples, and a Celery app's.
        let text = "web: gunicorn gettingstarted.wsgi --log-file -\n\
                    release: ./manage.py migrate --no-input\n\
                    worker:  celery -A proj worker -l info\n\
                    clock: celery -A proj beat\n";
        let p = Procfile::parse(text);
        assert_eq!(p.names(), ["web", "release", "worker", "clock"]);
        assert_eq!(
            p.command("web"),
            Some("gunicorn gettingstarted.wsgi --log-file -")
        );
        assert_eq!(p.command("release"), Some("./manage.py migrate --no-input"));
        assert_eq!(p.command("worker"), Some("celery -A proj worker -l info"));
        assert_eq!(p.command("urgentworker"), None);
        // A command keeps its own colons.
        let p = Procfile::parse("web: uvicorn main:app --host 0.0.0.0 --port $PORT\n");
        assert_eq!(
            p.command("web"),
            Some("uvicorn main:app --host 0.0.0.0 --port $PORT")
        );
    }

    #[test]
    fn comments_blanks_duplicates_and_crlf() {
        let text = "# processes\r\n\r\n  # web: commented out\r\nweb: gunicorn app:app\r\n\
                    bad name: x\r\nempty:\r\nworker_2: rq worker\r\nweb: other\r\n";
        let p = Procfile::parse(text);
        assert_eq!(p.names(), ["web", "worker_2"]);
        assert_eq!(p.command("web"), Some("gunicorn app:app"));
        assert_eq!(p.command("worker_2"), Some("rq worker"));
        assert_eq!(Procfile::parse(""), Procfile::default());
        assert!(is_process_name("clock-2") && !is_process_name("wor ker") && !is_process_name(""));
    }

    #[test]
    fn read_replaces_bytes_that_are_not_utf8() {
        // The release phase used to read the Procfile as strict UTF-8: a Latin-1 comment made
        // it find no `release:` line, while detection (lossy) found the `web:` line.
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Procfile::read(dir.path()).expect("none"), None);
        let text = b"# caf\xe9\nweb: gunicorn app:app\nrelease: ./manage.py migrate\n";
        std::fs::write(dir.path().join("Procfile"), text).expect("write");
        let p = Procfile::read(dir.path()).expect("read").expect("some");
        assert_eq!(p.command("release"), Some("./manage.py migrate"));
    }
}
