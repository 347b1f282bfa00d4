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
const NOT_OPTIONS: [&str; 4] = [
    "MODULES_DIRECTORY",
    "EXPRESS",
    "RELOAD_ON_CHANGES",
    "REQUIREMENT",
];

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

/// mod_wsgi-express options that take a value (`mod_wsgi-express start-server --help`,
/// mod_wsgi 5/6), as `MOD_WSGI_<OPTION>` names. Only these and [`FLAGS`] are passed on: any
/// other `MOD_WSGI_*` name (a Kubernetes service link's `MOD_WSGI_SERVICE_HOST`,
/// `MOD_WSGI_PORT_80_TCP`, a typo) is not an option and is left out, with a note.
/// `--setup-only` is left out: it would make the start write a configuration and exit.
const VALUED: [&str; 114] = [
    "APPLICATION_TYPE",
    "ENTRY_POINT",
    "APPLICATION_GROUP",
    "PROCESS_GROUP",
    "HOST",
    "PORT",
    "HTTPS_PORT",
    "SSL_CERTIFICATE_FILE",
    "SSL_CERTIFICATE_KEY_FILE",
    "SSL_CERTIFICATE",
    "SSL_CA_CERTIFICATE_FILE",
    "SSL_VERIFY_CLIENT",
    "SSL_CERTIFICATE_CHAIN_FILE",
    "HSTS_POLICY",
    "SERVER_NAME",
    "SERVER_ALIAS",
    "PROCESSES",
    "THREADS",
    "MAX_CLIENTS",
    "INITIAL_WORKERS",
    "MINIMUM_SPARE_WORKERS",
    "MAXIMUM_SPARE_WORKERS",
    "LIMIT_REQUEST_BODY",
    "MAXIMUM_REQUESTS",
    "STARTUP_TIMEOUT",
    "SHUTDOWN_TIMEOUT",
    "RESTART_INTERVAL",
    "CPU_TIME_LIMIT",
    "GRACEFUL_TIMEOUT",
    "EVICTION_TIMEOUT",
    "DEADLOCK_TIMEOUT",
    "INACTIVITY_TIMEOUT",
    "IGNORE_ACTIVITY",
    "REQUEST_TIMEOUT",
    "INTERRUPT_TIMEOUT",
    "CONNECT_TIMEOUT",
    "SOCKET_TIMEOUT",
    "PROXY_TIMEOUT",
    "QUEUE_TIMEOUT",
    "HEADER_TIMEOUT",
    "HEADER_MAX_TIMEOUT",
    "HEADER_MIN_RATE",
    "BODY_TIMEOUT",
    "BODY_MAX_TIMEOUT",
    "BODY_MIN_RATE",
    "SERVER_BACKLOG",
    "DAEMON_BACKLOG",
    "SEND_BUFFER_SIZE",
    "RECEIVE_BUFFER_SIZE",
    "HEADER_BUFFER_SIZE",
    "RESPONSE_BUFFER_SIZE",
    "RESPONSE_SOCKET_TIMEOUT",
    "RESPONSE_FLUSH_DELAY",
    "USER",
    "GROUP",
    "CALLABLE_OBJECT",
    "MAP_HEAD_TO_GET",
    "DOCUMENT_ROOT",
    "DIRECTORY_INDEX",
    "ALLOW_OVERRIDE",
    "MOUNT_POINT",
    "URL_ALIAS",
    "ERROR_DOCUMENT",
    "PROXY_MOUNT_POINT",
    "PROXY_VIRTUAL_HOST",
    "TRUST_PROXY_HEADER",
    "KEEP_ALIVE_TIMEOUT",
    "TELEMETRY_SERVICE",
    "TELEMETRY_UI_PORT",
    "TELEMETRY_INTERVAL",
    "SLOW_REQUESTS",
    "SWITCH_INTERVAL",
    "TELEMETRY_OPTIONS",
    "HOST_ACCESS_SCRIPT",
    "AUTH_USER_SCRIPT",
    "AUTH_TYPE",
    "AUTH_GROUP_SCRIPT",
    "AUTH_GROUP",
    "INCLUDE_FILE",
    "REWRITE_RULES",
    "ENVVARS_SCRIPT",
    "LOCALE",
    "SETENV",
    "PASSENV",
    "WORKING_DIRECTORY",
    "PID_FILE",
    "SERVER_ROOT",
    "SERVER_MPM",
    "LOG_DIRECTORY",
    "LOG_LEVEL",
    "ACCESS_LOG_FORMAT",
    "ERROR_LOG_FORMAT",
    "ERROR_LOG_NAME",
    "ACCESS_LOG_NAME",
    "STARTUP_LOG_NAME",
    "MAX_LOG_SIZE",
    "ROTATELOGS_EXECUTABLE",
    "PYTHON_PATH",
    "PYTHON_EGGS",
    "PYTHON_WARNINGS",
    "SHELL_EXECUTABLE",
    "HTTPD_EXECUTABLE",
    "PROCESS_NAME",
    "MIME_TYPES",
    "SOCKET_PREFIX",
    "ADD_HANDLER",
    "SERVICE_SCRIPT",
    "SERVICE_USER",
    "SERVICE_GROUP",
    "SERVICE_LOG_FILE",
    "COVERAGE_DIRECTORY",
    "PROFILER_DIRECTORY",
    "RECORDER_DIRECTORY",
    "GDB_EXECUTABLE",
];

/// Whether `value` has the shape of a Kubernetes service link (`tcp://10.0.0.1:80`,
/// `udp://...`, `sctp://...`): the `<SERVICE>_PORT` variable Kubernetes injects for every
/// Service in the namespace, never a server option.
#[must_use]
pub fn is_service_link(value: &str) -> bool {
    ["tcp://", "udp://", "sctp://"]
        .iter()
        .any(|scheme| value.trim().starts_with(scheme))
}

/// What one `MOD_WSGI_<NAME>` variable is.
enum ModWsgiVar<'a> {
    /// Not a server option (build and `run` settings).
    Setting,
    /// A documented option: its arguments.
    Option(Vec<String>),
    /// A documented option whose value is a service link: ignored.
    ServiceLink(&'a str),
    /// Not a documented option: ignored.
    Unknown,
}

fn mod_wsgi_var<'a>(option: &str, value: &'a str) -> ModWsgiVar<'a> {
    if option.is_empty() || NOT_OPTIONS.contains(&option) {
        return ModWsgiVar::Setting;
    }
    let flag = format!("--{}", option.to_ascii_lowercase().replace('_', "-"));
    if FLAGS.contains(&option) {
        ModWsgiVar::Option(if s2i_env::flag(value) {
            vec![flag]
        } else {
            Vec::new()
        })
    } else if !VALUED.contains(&option) {
        ModWsgiVar::Unknown
    } else if is_service_link(value) {
        ModWsgiVar::ServiceLink(value)
    } else {
        ModWsgiVar::Option(vec![flag, value.to_owned()])
    }
}

/// Every `MOD_WSGI_<OPTION>=value` naming a documented mod_wsgi-express option as
/// `--option value` (`--option` alone for flags set to a true value), in name order. Other
/// names and service-link values are left out ([`mod_wsgi_ignored`] says which).
#[must_use]
pub fn mod_wsgi_options(env: &Env) -> Vec<String> {
    let mut args = Vec::new();
    for (name, value) in env {
        if let Some(option) = name.strip_prefix("MOD_WSGI_") {
            if let ModWsgiVar::Option(more) = mod_wsgi_var(option, value) {
                args.extend(more);
            }
        }
    }
    args
}

/// The note saying which `MOD_WSGI_*` variables [`mod_wsgi_options`] left out and why, if any.
#[must_use]
pub fn mod_wsgi_ignored(env: &Env) -> Option<String> {
    let mut links = Vec::new();
    let mut unknown = Vec::new();
    for (name, value) in env {
        if let Some(option) = name.strip_prefix("MOD_WSGI_") {
            match mod_wsgi_var(option, value) {
                ModWsgiVar::ServiceLink(value) => links.push(format!("{name}={value}")),
                ModWsgiVar::Unknown => unknown.push(name.to_owned()),
                ModWsgiVar::Setting | ModWsgiVar::Option(_) => {}
            }
        }
    }
    let mut parts = Vec::new();
    if !links.is_empty() {
        parts.push(format!(
            "{} (a Kubernetes service link, from a Service named like the server; not an option)",
            links.join(", ")
        ));
    }
    if !unknown.is_empty() {
        parts.push(format!(
            "{} (not mod_wsgi-express options)",
            unknown.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| format!("ignored {}", parts.join("; ")))
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
        assert_eq!(mod_wsgi_ignored(&env), None);
    }

    #[test]
    fn kubernetes_service_links_are_not_options() {
        // What a Service named `mod-wsgi` injects into every pod of its namespace.
        let env = Env::of(&[
            ("MOD_WSGI_PORT", "tcp://10.0.0.1:80"),
            ("MOD_WSGI_PORT_80_TCP", "tcp://10.0.0.1:80"),
            ("MOD_WSGI_PORT_80_TCP_ADDR", "10.0.0.1"),
            ("MOD_WSGI_PORT_80_TCP_PORT", "80"),
            ("MOD_WSGI_PORT_80_TCP_PROTO", "tcp"),
            ("MOD_WSGI_SERVICE_HOST", "10.0.0.1"),
            ("MOD_WSGI_SERVICE_PORT", "80"),
            ("MOD_WSGI_THREADS", "4"),
            ("MOD_WSGI_REQUIREMENT", "mod_wsgi==5.0.2"),
        ]);
        assert_eq!(mod_wsgi_options(&env), ["--threads", "4"]);
        let note = mod_wsgi_ignored(&env).expect("a note");
        assert!(
            note.contains("MOD_WSGI_PORT=tcp://10.0.0.1:80 (a Kubernetes service link"),
            "{note}"
        );
        assert!(note.contains("MOD_WSGI_SERVICE_HOST"), "{note}");
        assert!(!note.contains("REQUIREMENT"), "{note}");
        assert!(is_service_link("udp://10.0.0.1:53"));
        assert!(!is_service_link("8080"));
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
