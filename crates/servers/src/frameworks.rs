//! Apps served by their framework's own server (detection: `s2i_detect::Framework`).
//!
//! - Streamlit: `streamlit run SCRIPT` on `0.0.0.0:$PORT`, headless, no usage statistics sent,
//!   no file watcher (the sources do not change in a container). CORS and XSRF protection are
//!   left at Streamlit's defaults. Streamlit stops gracefully on SIGTERM.
//! - Gradio: `python SCRIPT`, its own `launch()` told where to listen by `GRADIO_SERVER_NAME`
//!   and `GRADIO_SERVER_PORT`, analytics (and the version check with them) off so the start
//!   makes no request outside. `launch()` closes the server on KeyboardInterrupt: SIGTERM is
//!   sent as SIGINT.

use std::path::Path;

use s2i_detect::{Detection, Framework};

use crate::{find_program, scripts, Context, Launch, Signal};

/// The command for the `framework` app `script`.
#[must_use]
pub fn launch(
    detection: &Detection,
    cx: &Context<'_>,
    framework: Framework,
    script: &Path,
) -> Launch {
    let shown = script
        .strip_prefix(&detection.home)
        .unwrap_or(script)
        .display()
        .to_string();
    let port = cx.settings.port.to_string();
    let python = scripts::python_program(cx);
    let (program, args, env, stop, note) = match framework {
        Framework::Streamlit => {
            let (program, mut args) = match find_program("streamlit", cx.app_root, cx.env) {
                Some(program) => (program, Vec::new()),
                None => (python, vec!["-m".into(), "streamlit".into()]),
            };
            args.extend(["run".into(), shown]);
            for (option, value) in [
                ("--server.address", "0.0.0.0"),
                ("--server.port", port.as_str()),
                ("--server.headless", "true"),
                ("--server.fileWatcherType", "none"),
                ("--browser.gatherUsageStats", "false"),
            ] {
                args.extend([option.to_owned(), value.to_owned()]);
            }
            (
                program,
                args,
                Vec::new(),
                Signal::SIGTERM,
                "CORS and XSRF protection are Streamlit's defaults (.streamlit/config.toml sets them)",
            )
        }
        Framework::Gradio => (
            python,
            vec![shown],
            vec![
                ("GRADIO_SERVER_NAME".to_owned(), "0.0.0.0".to_owned()),
                ("GRADIO_SERVER_PORT".to_owned(), port),
                ("GRADIO_ANALYTICS_ENABLED".to_owned(), "False".to_owned()),
            ],
            Signal::SIGINT,
            "launch() listens where GRADIO_SERVER_NAME/GRADIO_SERVER_PORT say unless the script passes server_name/server_port",
        ),
    };
    Launch {
        program,
        args,
        env,
        cwd: detection.home.clone(),
        server: None,
        server_reason: format!("{framework}'s own server"),
        stop,
        notes: vec![note.to_owned()],
        tuning: None,
        files: Vec::new(),
    }
}
