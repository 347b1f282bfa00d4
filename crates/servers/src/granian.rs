//! granian: a Rust HTTP server for ASGI and WSGI applications.

use s2i_detect::Interface;

use crate::passthrough::has_option;
use crate::{asgi_target, factory_flag, wsgi_wrapper, Launch, ServerError, Start};

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
    let interface = match web.interface {
        Interface::Asgi => "asgi",
        Interface::Wsgi => "wsgi",
    };
    let mut args: Vec<String> = vec![
        "--interface".into(),
        interface.into(),
        "--host".into(),
        "0.0.0.0".into(),
        "--port".into(),
        cx.settings.port.to_string(),
        "--working-dir".into(),
        detection.home.display().to_string(),
    ];
    if !has_option(&extra, &["--workers"]) && !cx.env.contains("GRANIAN_WORKERS") {
        args.extend(["--workers".into(), cx.tuning.processes.to_string()]);
    }
    if web.interface == Interface::Wsgi
        && !has_option(&extra, &["--blocking-threads"])
        && !cx.env.contains("GRANIAN_BLOCKING_THREADS")
    {
        args.extend(["--blocking-threads".into(), cx.tuning.threads.to_string()]);
    }
    if cx.settings.reload {
        args.push("--reload".into());
        launch
            .notes
            .push("reload mode: granian --reload (needs granian[reload])".into());
    }
    args.extend(extra);
    let target = match web.interface {
        Interface::Asgi => {
            let target = asgi_target(web, detection, &mut launch);
            factory_flag(target, &mut args)
        }
        Interface::Wsgi => wsgi_wrapper::target(web, &detection.home, cx, &mut launch),
    };
    args.push(target);
    launch.args = args;
    Ok(launch)
}
