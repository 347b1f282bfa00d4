//! Options users pass straight to the server: warpdrive's `.warpdrive/server_args` and
//! `MOD_WSGI_<OPTION>` variables.

use std::path::Path;

use s2i_detect::{Env, Server};

use crate::ServerError;

/// Extra arguments from `.warpdrive/server_args`: a file for every server, or a directory with
/// one file per server name (`mod_wsgi`, `gunicorn`, ...). `$NAME` / `${NAME}` are expanded from
/// the environment; the text is split like a shell would.
///
/// # Errors
/// The file cannot be read or has unbalanced quotes.
pub fn server_args(src: &Path, server: Server, env: &Env) -> Result<Vec<String>, ServerError> {
    let base = src.join(".warpdrive/server_args");
    let path = if base.is_dir() {
        base.join(server.name())
    } else {
        base
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ServerError::ServerArgs {
                path,
                why: e.to_string(),
            })
        }
    };
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    shell_words::split(&s2i_env::expand(&text, |n| env.get(n))).map_err(|e| {
        ServerError::ServerArgs {
            path,
            why: e.to_string(),
        }
    })
}

/// `MOD_WSGI_*` variables that configure the build or `run` itself, not a server option.
const NOT_OPTIONS: [&str; 3] = ["MODULES_DIRECTORY", "EXPRESS", "RELOAD_ON_CHANGES"];

/// mod_wsgi-express options that take no value (from `mod_wsgi-express start-server --help`,
/// mod_wsgi 5/6; `RELOAD_ON_CHANGES` is handled as reload mode).
const FLAGS: [&str; 30] = [
    "HTTP2",
    "SSL_ENVIRONMENT",
    "HTTPS_ONLY",
    "ALLOW_LOCALHOST",
    "ENABLE_SENDFILE",
    "DISABLE_RELOADING",
    "DIRECTORY_LISTING",
    "ERROR_OVERRIDE",
    "TRUST_PROXY",
    "COMPRESS_RESPONSES",
    "SERVER_METRICS",
    "ENABLE_TELEMETRY",
    "FREE_THREADING",
    "SERVER_STATUS",
    "ACCESS_LOG",
    "STARTUP_LOG",
    "LOG_TO_TERMINAL",
    "ROTATE_LOGS",
    "CHUNKED_REQUEST",
    "WITH_CGI",
    "ORPHAN_INTERPRETER",
    "EMBEDDED_MODE",
    "ENABLE_DOCS",
    "DEBUG_MODE",
    "ENABLE_DEBUGGER",
    "DEBUGGER_STARTUP",
    "ENABLE_COVERAGE",
    "ENABLE_PROFILER",
    "ENABLE_RECORDER",
    "ENABLE_GDB",
];

/// Every `MOD_WSGI_<OPTION>=value` as `--option value` (`--option` alone for flags set to a
/// true value), in name order.
#[must_use]
pub fn mod_wsgi_options(env: &Env) -> Vec<String> {
    let mut args = Vec::new();
    for (name, value) in env {
        let Some(option) = name.strip_prefix("MOD_WSGI_") else {
            continue;
        };
        if option.is_empty() || NOT_OPTIONS.contains(&option) {
            continue;
        }
        let flag = format!("--{}", option.to_ascii_lowercase().replace('_', "-"));
        if FLAGS.contains(&option) {
            if s2i_env::flag(value) {
                args.push(flag);
            }
        } else {
            args.push(flag);
            args.push(value.clone());
        }
    }
    args
}

/// Whether `args` set any of `names` (`--workers 3`, `--workers=3`, `-w 3`, `-w3`).
#[must_use]
pub fn has_option(args: &[String], names: &[&str]) -> bool {
    args.iter().any(|arg| {
        names.iter().any(|name| {
            arg == name
                || arg.starts_with(&format!("{name}="))
                || (name.len() == 2 && !name.starts_with("--") && arg.starts_with(name))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_wsgi_variables() {
        let env = Env::of(&[
            ("MOD_WSGI_PROCESSES", "3"),
            ("MOD_WSGI_ACCESS_LOG", "1"),
            ("MOD_WSGI_SERVER_STATUS", "0"),
            ("MOD_WSGI_MODULES_DIRECTORY", "/x"),
            ("MOD_WSGI_RELOAD_ON_CHANGES", "1"),
            ("OTHER", "1"),
        ]);
        assert_eq!(mod_wsgi_options(&env), ["--access-log", "--processes", "3"]);
    }

    #[test]
    fn server_args_file_and_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wd = dir.path().join(".warpdrive");
        std::fs::create_dir(&wd).expect("mkdir");
        let env = Env::of(&[("PORT", "8123")]);
        std::fs::write(
            wd.join("server_args"),
            "--timeout 30 --name 'a b' # c\n--x $PORT\n",
        )
        .expect("write");
        assert_eq!(
            server_args(dir.path(), Server::Gunicorn, &env).expect("args"),
            ["--timeout", "30", "--name", "a b", "--x", "8123"]
        );
        std::fs::remove_file(wd.join("server_args")).expect("rm");
        std::fs::create_dir(wd.join("server_args")).expect("mkdir");
        std::fs::write(wd.join("server_args/uwsgi"), "--harakiri ${PORT}").expect("write");
        assert_eq!(
            server_args(dir.path(), Server::Uwsgi, &env).expect("args"),
            ["--harakiri", "8123"]
        );
        assert!(server_args(dir.path(), Server::Gunicorn, &env)
            .expect("none")
            .is_empty());
    }

    #[test]
    fn options_present() {
        let args: Vec<String> = ["-w3", "--bind=0.0.0.0:1"].map(String::from).to_vec();
        assert!(has_option(&args, &["--workers", "-w"]));
        assert!(has_option(&args, &["--bind", "-b"]));
        assert!(!has_option(&args, &["--threads"]));
    }
}
