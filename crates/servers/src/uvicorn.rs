//! uvicorn: ASGI, one process per CPU.

use std::path::PathBuf;

use s2i_detect::{Detection, Server, WebApp};

use crate::passthrough::{has_option, server_args};
use crate::{asgi_target, base, factory_flag, graceful_seconds, Context, Launch, ServerError};

pub fn launch(
    detection: &Detection,
    cx: &Context<'_>,
    web: &WebApp,
    program: PathBuf,
) -> Result<Launch, ServerError> {
    let extra = server_args(&detection.src, Server::Uvicorn, cx.env)?;
    let mut launch = base(detection, Server::Uvicorn, program, Vec::new());
    let mut args: Vec<String> = vec![
        "--host".into(),
        "0.0.0.0".into(),
        "--port".into(),
        cx.settings.port.to_string(),
        "--app-dir".into(),
        detection.home.display().to_string(),
        "--timeout-graceful-shutdown".into(),
        graceful_seconds(cx),
    ];
    if cx.settings.reload {
        args.extend([
            "--reload".into(),
            "--reload-dir".into(),
            detection.home.display().to_string(),
        ]);
        launch
            .notes
            .push("reload mode: uvicorn --reload (one process)".into());
    } else if !has_option(&extra, &["--workers"]) && !cx.env.contains("UVICORN_WORKERS") {
        args.extend(["--workers".into(), cx.tuning.processes.to_string()]);
    }
    args.extend(extra);
    let target = asgi_target(web, detection, &mut launch);
    let target = factory_flag(target, &mut args);
    args.push(target);
    launch.args = args;
    Ok(launch)
}
