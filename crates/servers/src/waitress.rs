//! waitress: one process with a thread pool. Static files through `s2i_wsgi`.
//!
//! waitress itself stops at once on SIGTERM; `run` starts it through the generated
//! `s2i_waitress` runner (same arguments as `waitress-serve`), which finishes the requests in
//! flight first.

use crate::passthrough::has_option;
use crate::{find_program, graceful_seconds, wsgi_wrapper, Launch, ServerError, Start};

/// The graceful runner's source and import name.
const RUNNER: &str = include_str!("../python/s2i_waitress.py");
const RUNNER_MODULE: &str = "s2i_waitress";

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
    // waitress-serve is installed (checked by the caller); the runner needs the venv's python.
    if let Some(python) = find_program("python", cx.app_root, cx.env).or_else(|| {
        let python = launch.program.parent()?.join("python");
        python.exists().then_some(python)
    }) {
        launch.program = python;
    }
    launch.files.push((
        cx.python_dir.join(format!("{RUNNER_MODULE}.py")),
        RUNNER.to_owned(),
    ));
    launch
        .env
        .push(("S2I_GRACEFUL_TIMEOUT".into(), graceful_seconds(cx)));
    let mut args = vec![
        "-m".into(),
        RUNNER_MODULE.into(),
        format!("--listen=0.0.0.0:{}", cx.settings.port),
    ];
    // One process: all the concurrency the tuning allows goes into its thread pool.
    let threads = cx.tuning.processes * cx.tuning.threads;
    if !has_option(&extra, &["--threads"]) {
        args.push(format!("--threads={threads}"));
    }
    launch.notes.push(format!(
        "waitress runs one process: {threads} threads = {} processes x {} threads",
        cx.tuning.processes, cx.tuning.threads
    ));
    if cx.settings.reload {
        launch
            .notes
            .push("reload mode: waitress cannot reload on changes; restart the container".into());
    }
    if cx.serve_as.is_some() {
        launch.notes.push(
            "running as root: waitress serves as root (run the container as a non-root user)"
                .into(),
        );
    }
    args.extend(extra);
    let target = wsgi_wrapper::target(web, &detection.home, cx, &mut launch);
    args.push(target);
    launch.args = args;
    Ok(launch)
}
