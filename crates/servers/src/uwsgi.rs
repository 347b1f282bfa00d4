//! uWSGI (`uwsgi` or `pyuwsgi`): master + workers with threads, static files with
//! `--static-map`.

use s2i_detect::Target;

use crate::passthrough::has_option;
use crate::{graceful_seconds, wsgi_wrapper, Launch, ServerError, Start};

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
    let home = detection.home.display().to_string();
    let mut args: Vec<String> = vec![
        "--master".into(),
        "--http-socket".into(),
        format!(":{}", cx.settings.port),
        // uWSGI 2.0 turns SIGTERM into a brutal reload, and --die-on-term into an immediate
        // stop; this hook makes SIGTERM the graceful shutdown (workers finish their requests).
        "--hook-master-start".into(),
        "unix_signal:15 gracefully_kill_them_all".into(),
        "--worker-reload-mercy".into(),
        graceful_seconds(cx),
        "--enable-threads".into(),
        "--thunder-lock".into(),
        "--single-interpreter".into(),
        "--need-app".into(),
        "--vacuum".into(),
        "--buffer-size".into(),
        "32768".into(),
        "--chdir".into(),
        home.clone(),
        "--pythonpath".into(),
        home,
    ];
    let mut notes = Vec::new();
    // uWSGI reads UWSGI_<OPTION> variables itself; those replace the tuning.
    if !cx.env.contains("UWSGI_PROCESSES")
        && !has_option(&extra, &["--processes", "-p", "--workers"])
    {
        args.extend(["--processes".into(), cx.tuning.processes.to_string()]);
    } else {
        notes.push("UWSGI_PROCESSES/server_args set the process count".into());
    }
    if !cx.env.contains("UWSGI_THREADS") && !has_option(&extra, &["--threads"]) {
        args.extend(["--threads".into(), cx.tuning.threads.to_string()]);
    }
    // uWSGI cannot call a factory (`create_app()`): the s2i_wsgi wrapper does.
    let factory = web.target.is_factory();
    match &web.target {
        Target::Module { .. } if factory => {
            args.extend([
                "--module".into(),
                format!("{}:application", wsgi_wrapper::MODULE),
            ]);
        }
        Target::Module { module, callable } => {
            args.extend(["--module".into(), format!("{module}:{callable}")]);
        }
        Target::Script { path, callable } => args.extend([
            "--wsgi-file".into(),
            path.display().to_string(),
            "--callable".into(),
            callable.clone(),
        ]),
        Target::Paste { config } => {
            args.extend(["--paste".into(), format!("config:{}", config.display())]);
        }
    }
    for s in &web.statics {
        args.extend([
            "--static-map".into(),
            format!("{}={}", s.url.trim_end_matches('/'), s.dir.display()),
        ]);
        notes.push(format!(
            "static files: {} served from {} by uWSGI",
            s.url,
            s.dir.display()
        ));
    }
    if cx.settings.reload {
        args.extend(["--py-autoreload".into(), "1".into()]);
        notes.push("reload mode: uWSGI --py-autoreload restarts when code changes".into());
    }
    if cx.serve_as.is_some() {
        notes.push(
            "running as root: uWSGI serves as root (run the container as a non-root user)".into(),
        );
    }
    args.extend(extra);
    launch.args = args;
    launch.notes = notes;
    if factory {
        wsgi_wrapper::target(web, &detection.home, cx, &mut launch);
    }
    Ok(launch)
}
