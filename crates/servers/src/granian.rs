//! granian: a Rust HTTP server for ASGI and WSGI applications.

use std::path::PathBuf;

use s2i_detect::{Detection, Interface, Server, WebApp};

use crate::passthrough::{has_option, server_args};
use crate::{asgi_target, base, factory_flag, wsgi_wrapper, Context, Launch, ServerError};

pub fn launch(
    detection: &Detection,
    cx: &Context<'_>,
    web: &WebApp,
    program: PathBuf,
) -> Result<Launch, ServerError> {
    let extra = server_args(&detection.src, Server::Granian, cx.env)?;
    let mut launch = base(detection, Server::Granian, program, Vec::new());
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
