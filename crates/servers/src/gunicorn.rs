//! gunicorn: pre-fork workers with threads (`gthread`). Static files through `s2i_wsgi`.

use std::path::{Path, PathBuf};

use s2i_detect::{Detection, Server, WebApp};

use crate::passthrough::{has_option, server_args};
use crate::{base, graceful_seconds, wsgi_wrapper, Context, Launch, ServerError};

/// The options the user already gives gunicorn (`GUNICORN_CMD_ARGS` and `server_args`).
fn user_options(
    detection: &Detection,
    cx: &Context<'_>,
) -> Result<(Vec<String>, Vec<String>), ServerError> {
    let from_env = cx
        .env
        .get("GUNICORN_CMD_ARGS")
        .and_then(|v| shell_words::split(v).ok())
        .unwrap_or_default();
    let extra = server_args(&detection.src, Server::Gunicorn, cx.env)?;
    Ok((from_env, extra))
}

/// The configuration file in play: `APP_CONFIG`, or `gunicorn.conf.py` in the home directory
/// (gunicorn reads that one by itself).
fn config_file(detection: &Detection, cx: &Context<'_>) -> Option<PathBuf> {
    cx.env
        .get("APP_CONFIG")
        .filter(|v| !v.trim().is_empty())
        .map(|v| detection.home.join(v.trim()))
        .or_else(|| Some(detection.home.join("gunicorn.conf.py")).filter(|p| p.is_file()))
}

fn args(
    detection: &Detection,
    cx: &Context<'_>,
    config: Option<&Path>,
    launch_env: &mut Vec<(String, String)>,
    notes: &mut Vec<String>,
) -> Result<Vec<String>, ServerError> {
    let (from_env, extra) = user_options(detection, cx)?;
    let mut user = from_env.clone();
    user.extend(extra.iter().cloned());
    let mut args = Vec::new();
    if !has_option(&user, &["--bind", "-b"]) {
        args.extend(["--bind".into(), format!("0.0.0.0:{}", cx.settings.port)]);
    }
    if !has_option(&user, &["--access-logfile"]) {
        args.extend(["--access-logfile".into(), "-".into()]);
    }
    if !has_option(&user, &["--graceful-timeout"]) {
        args.extend(["--graceful-timeout".into(), graceful_seconds(cx)]);
    }
    if let Some(config) = config {
        // Options on the command line beat the config file: leave the worker shape to it and
        // give the tuned count as gunicorn's own default, WEB_CONCURRENCY.
        args.extend(["--config".into(), config.display().to_string()]);
        if !cx.env.contains("WEB_CONCURRENCY") {
            launch_env.push(("WEB_CONCURRENCY".into(), cx.tuning.processes.to_string()));
        }
        notes.push(format!(
            "gunicorn configuration {}: its workers/threads settings apply (WEB_CONCURRENCY={} otherwise)",
            config.display(),
            cx.tuning.processes
        ));
    } else {
        if !has_option(&user, &["--workers", "-w"]) {
            args.extend(["--workers".into(), cx.tuning.processes.to_string()]);
        }
        if !has_option(&user, &["--threads"]) {
            args.extend(["--threads".into(), cx.tuning.threads.to_string()]);
        }
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
    Ok(args)
}

pub fn launch(
    detection: &Detection,
    cx: &Context<'_>,
    web: &WebApp,
    program: PathBuf,
) -> Result<Launch, ServerError> {
    let mut launch = base(detection, Server::Gunicorn, program, Vec::new());
    let config = config_file(detection, cx);
    let mut env = Vec::new();
    let mut notes = Vec::new();
    let mut args = args(detection, cx, config.as_deref(), &mut env, &mut notes)?;
    let target = wsgi_wrapper::target(web, &detection.home, cx, &mut launch);
    args.push(target);
    launch.args = args;
    launch.env.extend(env);
    launch.notes.extend(notes);
    Ok(launch)
}

/// A gunicorn configuration that names the application itself (`wsgi_app`).
pub fn with_config(
    detection: &Detection,
    cx: &Context<'_>,
    program: PathBuf,
    reason: String,
    config: &Path,
) -> Result<Launch, ServerError> {
    let mut launch = base(detection, Server::Gunicorn, program, Vec::new());
    let mut env = Vec::new();
    let mut notes = Vec::new();
    launch.args = args(detection, cx, Some(config), &mut env, &mut notes)?;
    launch.env.extend(env);
    launch.notes.extend(notes);
    launch.server_reason = reason;
    Ok(launch)
}
