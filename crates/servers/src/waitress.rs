//! waitress: one process with a thread pool. Static files through `s2i_wsgi`.

use std::path::PathBuf;

use s2i_detect::{Detection, Server, WebApp};

use crate::passthrough::{has_option, server_args};
use crate::{base, wsgi_wrapper, Context, Launch, ServerError};

pub fn launch(
    detection: &Detection,
    cx: &Context<'_>,
    web: &WebApp,
    program: PathBuf,
) -> Result<Launch, ServerError> {
    let extra = server_args(&detection.src, Server::Waitress, cx.env)?;
    let mut launch = base(detection, Server::Waitress, program, Vec::new());
    let mut args = vec![format!("--listen=0.0.0.0:{}", cx.settings.port)];
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
        launch.notes.push("running as root: waitress serves as root (run the container as a non-root user)".into());
    }
    args.extend(extra);
    let target = wsgi_wrapper::target(web, &detection.home, cx, &mut launch);
    args.push(target);
    launch.args = args;
    Ok(launch)
}
