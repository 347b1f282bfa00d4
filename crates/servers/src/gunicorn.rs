//! gunicorn: pre-fork workers with threads (`gthread`), or sync workers (more processes, no
//! threads) when the build record says the Python cannot import `concurrent.futures`, which
//! `gthread` needs (Python 2 without the `futures` backport). Static files through `s2i_wsgi`.

use std::path::{Path, PathBuf};

use s2i_detect::Detection;

use crate::passthrough::has_option;
use crate::{graceful_seconds, wsgi_wrapper, Context, Launch, ServerError, Start};

/// The configuration file in play: `APP_CONFIG`, or `gunicorn.conf.py` in the home directory
/// (gunicorn reads that one by itself).
fn config_file(detection: &Detection, cx: &Context<'_>) -> Option<PathBuf> {
    cx.env
        .get("APP_CONFIG")
        .filter(|v| !v.trim().is_empty())
        .map(|v| detection.home.join(v.trim()))
        .or_else(|| Some(detection.home.join("gunicorn.conf.py")).filter(|p| p.is_file()))
}

/// Whether a gunicorn configuration file assigns `setting` at the start of a line
/// (`bind = ...`), the way gunicorn configuration files are written.
fn config_sets(config_text: &str, setting: &str) -> bool {
    config_text.lines().any(|line| {
        line.trim_start().strip_prefix(setting).is_some_and(|rest| {
            rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("==")
        })
    })
}

/// gunicorn's arguments for `launch` (its environment, notes and tuning line filled in), given
/// the configuration file in play and `extra` (`server_args`).
fn args(
    cx: &Context<'_>,
    config: Option<&Path>,
    extra: Vec<String>,
    launch: &mut Launch,
) -> Vec<String> {
    // The options the user already gives gunicorn: GUNICORN_CMD_ARGS and server_args.
    let from_env = cx
        .env
        .get("GUNICORN_CMD_ARGS")
        .and_then(|v| shell_words::split(v).ok())
        .unwrap_or_default();
    let notes = &mut launch.notes;
    let mut user = from_env.clone();
    user.extend(extra.iter().cloned());
    // Options on gunicorn's command line beat its configuration file, so run's defaults are
    // given only for what the user set nowhere: GUNICORN_CMD_ARGS, server_args, the file.
    let config_text = config
        .map(|c| std::fs::read_to_string(c).unwrap_or_default())
        .unwrap_or_default();
    let unset = |options: &[&str], setting: &str| {
        !has_option(&user, options) && !config_sets(&config_text, setting)
    };
    // Sync workers when threads cannot work and the user chose no worker class or threads.
    let sync = cx.without_threads.filter(|_| {
        unset(&["--threads"], "threads") && unset(&["--worker-class", "-k"], "worker_class")
    });
    let processes = sync.unwrap_or(cx.tuning).processes;
    if let Some(sync) = sync {
        launch.tuning = Some(sync.reason.clone());
        notes.push(format!(
            "gunicorn runs its sync workers, {} processes without threads: its threaded worker (gthread) needs concurrent.futures, which the build found this Python cannot import (the `futures` package in requirements.txt gives threads)",
            sync.processes
        ));
    }
    let mut args = Vec::new();
    if unset(&["--bind", "-b"], "bind") {
        args.extend(["--bind".into(), format!("0.0.0.0:{}", cx.settings.port)]);
    } else if config_sets(&config_text, "bind") && !has_option(&user, &["--bind", "-b"]) {
        notes.push(format!(
            "gunicorn listens where {} binds it, not on PORT={}",
            config.map_or_else(String::new, |c| c.display().to_string()),
            cx.settings.port
        ));
    }
    if unset(&["--access-logfile"], "accesslog") {
        args.extend(["--access-logfile".into(), "-".into()]);
    }
    if unset(&["--graceful-timeout"], "graceful_timeout") {
        args.extend(["--graceful-timeout".into(), graceful_seconds(cx)]);
    }
    if let Some(config) = config {
        args.extend(["--config".into(), config.display().to_string()]);
        notes.push(format!(
            "gunicorn configuration {}: its settings apply; run adds only what neither it nor GUNICORN_CMD_ARGS sets",
            config.display(),
        ));
        if !cx.env.contains("WEB_CONCURRENCY") {
            // gunicorn's own default for `workers` when the file does not set them.
            launch
                .env
                .push(("WEB_CONCURRENCY".into(), processes.to_string()));
        }
    } else if !has_option(&user, &["--workers", "-w"]) {
        args.extend(["--workers".into(), processes.to_string()]);
    }
    if sync.is_none()
        && unset(&["--threads"], "threads")
        && unset(&["--worker-class", "-k"], "worker_class")
        && (config.is_none() || !config_sets(&config_text, "workers"))
    {
        args.extend(["--threads".into(), cx.tuning.threads.to_string()]);
    }
    if !from_env.is_empty() {
        notes.push(
            "GUNICORN_CMD_ARGS is read by gunicorn; its options replace run's defaults".into(),
        );
    }
    if cx.settings.reload && !has_option(&user, &["--reload"]) {
        args.push("--reload".into());
        notes.push("reload mode: gunicorn --reload restarts workers when code changes".into());
    }
    if cx.serve_as.is_some() {
        notes.push(
            "running as root: gunicorn serves as root (run the container as a non-root user)"
                .into(),
        );
    }
    args.extend(extra);
    args
}

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
    let config = config_file(detection, cx);
    let target = wsgi_wrapper::target(web, &detection.home, cx, &mut launch);
    let mut args = args(cx, config.as_deref(), extra, &mut launch);
    args.push(target);
    launch.args = args;
    Ok(launch)
}

/// A gunicorn configuration that names the application itself (`wsgi_app`): `launch` and
/// `extra` as [`Start`] has them.
pub fn with_config(
    cx: &Context<'_>,
    config: &Path,
    mut launch: Launch,
    extra: Vec<String>,
) -> Launch {
    launch.args = args(cx, Some(config), extra, &mut launch);
    launch
}

#[cfg(test)]
mod tests {
    use super::config_sets;

    #[test]
    fn settings_assigned_in_a_config_file() {
        let text =
            "import os\nbind = '0.0.0.0:8085'\nworkers=2\n# threads = 4\nif bind == 'x': pass\n";
        assert!(config_sets(text, "bind"));
        assert!(config_sets(text, "workers"));
        assert!(!config_sets(text, "threads"));
        assert!(!config_sets(text, "worker_class"));
        assert!(!config_sets("bind_other = 1\n", "bind"));
    }
}
