//! uvicorn: ASGI, one process per CPU.

use crate::passthrough::has_option;
use crate::{asgi_target, factory_flag, graceful_seconds, Launch, ServerError, Start};

pub fn launch(start: Start<'_>) -> Result<Launch, ServerError> {
    let (detection, cx, web) = (start.detection, start.cx, start.web);
    let (mut launch, extra) = (start.launch, start.extra);
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
