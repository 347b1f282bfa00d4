//! mod_wsgi-express: Apache with mod_wsgi in daemon mode. The default server for WSGI.

use std::path::PathBuf;

use s2i_detect::Target;

use crate::passthrough::{has_option, mod_wsgi_options};
use crate::{
    graceful_seconds, python_dirs, tuning, wsgi_wrapper, Context, Launch, ServerError, Start,
};

/// Writable server root for Apache's generated configuration, pid file and sockets.
pub fn server_root(cx: &Context<'_>) -> PathBuf {
    cx.runtime_dir
        .join(format!("mod_wsgi-{}", cx.settings.port))
}

/// `--user/--group` when `run` is root and the user chose no account: Apache refuses to serve
/// as root.
pub fn user_args(cx: &Context<'_>, user_args: &[String]) -> Vec<String> {
    match &cx.serve_as {
        Some((user, group))
            if !cx.env.contains("MOD_WSGI_USER") && !has_option(user_args, &["--user"]) =>
        {
            vec![
                "--user".into(),
                user.clone(),
                "--group".into(),
                group.clone(),
            ]
        }
        _ => Vec::new(),
    }
}

/// Queue timeout and accepted connections under overload (formula in `tuning`), each unless
/// the user's options (`MOD_WSGI_*`, server args) set it; returns the notes for `--dry-run`.
fn overload_args(cx: &Context<'_>, user: &[&[String]], args: &mut Vec<String>) -> Vec<String> {
    let set = |names: &[&str]| user.iter().any(|given| has_option(given, names));
    let mut notes = Vec::new();
    if !set(&["--queue-timeout"]) {
        let secs = tuning::QUEUE_TIMEOUT_SECS;
        args.extend(["--queue-timeout".into(), secs.to_string()]);
        notes.push(format!(
            "overload: a request that waited over {secs} s for a thread gets a 504 as soon as a thread frees (--queue-timeout {secs}; MOD_WSGI_QUEUE_TIMEOUT to change)"
        ));
    }
    // With the user's own shape, mod_wsgi-express's own formula sizes Apache.
    if !set(&["--max-clients", "--processes", "--threads"]) {
        let clients = tuning::max_clients(cx.tuning.processes, cx.tuning.threads);
        args.extend(["--max-clients".into(), clients.to_string()]);
        notes.push(format!(
            "overload: Apache accepts {clients} connections ({} per thread; MOD_WSGI_MAX_CLIENTS to change), so waiting requests queue where the timeout applies",
            tuning::CLIENTS_PER_SLOT
        ));
        if !set(&["--initial-workers"]) {
            let share = tuning::INITIAL_WORKERS;
            args.extend(["--initial-workers".into(), share.into()]);
            notes.push(format!(
                "Apache starts {share} of its threads, at least one per slot, so a burst after the start does not wait for it to fork more (MOD_WSGI_INITIAL_WORKERS to change)"
            ));
        }
    }
    notes
}

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
    let home = detection.home.display().to_string();
    let mut args: Vec<String> = vec![
        "start-server".into(),
        "--server-root".into(),
        server_root(cx).display().to_string(),
        "--log-to-terminal".into(),
        "--startup-log".into(),
        "--port".into(),
        cx.settings.port.to_string(),
        "--processes".into(),
        cx.tuning.processes.to_string(),
        "--threads".into(),
        cx.tuning.threads.to_string(),
        "--shutdown-timeout".into(),
        graceful_seconds(cx),
        "--working-directory".into(),
        home.clone(),
        "--python-path".into(),
        home,
    ];
    for dir in python_dirs(cx) {
        args.extend(["--python-path".into(), dir.display().to_string()]);
    }
    // mod_wsgi cannot call a factory (`create_app()`): the s2i_wsgi wrapper does.
    let factory = web.target.is_factory();
    match &web.target {
        Target::Module { .. } if factory => args.extend([
            "--application-type".into(),
            "module".into(),
            "--entry-point".into(),
            wsgi_wrapper::MODULE.into(),
            "--callable-object".into(),
            "application".into(),
        ]),
        Target::Module { module, callable } => args.extend([
            "--application-type".into(),
            "module".into(),
            "--entry-point".into(),
            module.clone(),
            "--callable-object".into(),
            callable.clone(),
        ]),
        Target::Script { path, callable } => args.extend([
            "--application-type".into(),
            "script".into(),
            "--entry-point".into(),
            path.display().to_string(),
            "--callable-object".into(),
            callable.clone(),
        ]),
        Target::Paste { config } => args.extend([
            "--application-type".into(),
            "paste".into(),
            "--entry-point".into(),
            config.display().to_string(),
        ]),
    }
    let mut notes = Vec::new();
    // Apache follows symlinks by default, also out of the static directory: it gets
    // `Options -FollowSymLinks` there (an Include after mod_wsgi-express's own <Directory>).
    let mut static_conf = String::new();
    for s in &web.statics {
        let dir = format!("{}/", s.dir.display().to_string().trim_end_matches('/'));
        args.extend(["--url-alias".into(), s.url.clone(), dir.clone()]);
        static_conf.push_str(&format!(
            "<Directory '{dir}'>\n    Options -FollowSymLinks\n</Directory>\n"
        ));
        notes.push(format!(
            "static files: {} served from {} by Apache (no symlinks followed)",
            s.url,
            s.dir.display()
        ));
    }
    // One file per app root, not per port: its text depends only on the static directories,
    // and a command line copied from `--dry-run` finds it after any start (test/bench/serve.sh).
    let static_conf_file = cx.runtime_dir.join("mod_wsgi-static.conf");
    if !static_conf.is_empty() {
        args.extend([
            "--include-file".into(),
            static_conf_file.display().to_string(),
        ]);
    }
    if !cx.env.contains("MOD_WSGI_LOCALE") {
        // Left to itself, mod_wsgi-express turns C and C.UTF-8 (what containers set) into
        // en_US.UTF-8, which slim images do not have: Apache then warns on every start.
        // So the locale is always given: the environment's, else C.UTF-8.
        let locale = ["LC_ALL", "LANG"]
            .iter()
            .find_map(|v| cx.env.get(v))
            .unwrap_or("C.UTF-8");
        args.extend(["--locale".into(), locale.into()]);
    }
    let user = user_args(cx, &extra);
    if let Some(name) = user.get(1) {
        notes.push(format!(
            "running as root: Apache serves as user {name} (set MOD_WSGI_USER/MOD_WSGI_GROUP to choose another account)"
        ));
    }
    args.extend(user);
    if cx.settings.reload {
        notes
            .push("reload mode: worker processes restart when a loaded source file changes".into());
    }
    let passed = mod_wsgi_options(cx.env);
    notes.extend(crate::passthrough::mod_wsgi_ignored(cx.env));
    if has_option(&passed, &["--processes", "--threads"]) {
        notes.push("MOD_WSGI_PROCESSES/MOD_WSGI_THREADS override the automatic tuning".into());
    }
    notes.extend(overload_args(cx, &[&passed, &extra], &mut args));
    args.extend(passed);
    if cx.settings.reload {
        args.push("--reload-on-changes".into());
    }
    args.extend(extra);
    launch.args = args;
    launch.notes = notes;
    if !static_conf.is_empty() {
        launch.files.push((
            static_conf_file,
            format!("# Written by run on each start.\n{static_conf}"),
        ));
    }
    if factory {
        wsgi_wrapper::target(web, &detection.home, cx, &mut launch);
    }
    Ok(launch)
}
