//! hypercorn: ASGI (and WSGI), worker processes.

use s2i_detect::Interface;

use crate::passthrough::has_option;
use crate::{asgi_target, graceful_seconds, wsgi_wrapper, Launch, ServerError, Start};

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
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
