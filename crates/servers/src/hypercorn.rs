//! hypercorn: ASGI (and WSGI), worker processes.

use std::path::PathBuf;

use s2i_detect::{Detection, Interface, Server, WebApp};

use crate::passthrough::{has_option, server_args};
use crate::{asgi_target, base, graceful_seconds, wsgi_wrapper, Context, Launch, ServerError};

pub fn launch(
    detection: &Detection,
    cx: &Context<'_>,
    web: &WebApp,
    program: PathBuf,
) -> Result<Launch, ServerError> {
    let extra = server_args(&detection.src, Server::Hypercorn, cx.env)?;
    let mut launch = base(detection, Server::Hypercorn, program, Vec::new());
    let mut args: Vec<String> = vec![
        "--bind".into(),
        format!("0.0.0.0:{}", cx.settings.port),
        "--access-logfile".into(),
        "-".into(),
        "--error-logfile".into(),
        "-".into(),
        "--graceful-timeout".into(),
        graceful_seconds(cx),
    ];
    if !has_option(&extra, &["--workers", "-w"]) {
        // With several workers, hypercorn's master terminates busy workers as soon as an idle
        // one has stopped, cutting requests in flight (seen with hypercorn 0.17). One worker
        // stops gracefully; WEB_CONCURRENCY asks for more anyway.
        let workers = cx.settings.web_concurrency.unwrap_or(1);
        args.extend(["--workers".into(), workers.to_string()]);
        if cx.settings.web_concurrency.is_none() && cx.tuning.processes > 1 {
            launch.notes.push(format!(
                "hypercorn runs 1 worker (not {}): its multi-worker stop cuts requests in flight; WEB_CONCURRENCY overrides",
                cx.tuning.processes
            ));
        }
    }
    if cx.settings.reload {
        args.push("--reload".into());
        launch.notes.push("reload mode: hypercorn --reload".into());
    }
    args.extend(extra);
    let target = match web.interface {
        Interface::Asgi => asgi_target(web, detection, &mut launch),
        Interface::Wsgi => wsgi_wrapper::target(web, &detection.home, cx, &mut launch),
    };
    args.push(target);
    launch.args = args;
    Ok(launch)
}
