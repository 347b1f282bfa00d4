//! Applications that start their own server: `app.sh`, `app.py`, a Procfile `web:` command.
//! `run` only supervises them.

use std::path::{Path, PathBuf};

use s2i_detect::Detection;

use crate::{find_program, Context, Launch, Signal};

fn own(detection: &Detection, program: PathBuf, args: Vec<String>, note: String) -> Launch {
    Launch {
        program,
        args,
        env: Vec::new(),
        cwd: detection.home.clone(),
        server: None,
        server_reason: s2i_detect::OWN_SERVER.into(),
        stop: Signal::SIGTERM,
        notes: vec![note],
        tuning: None,
        files: Vec::new(),
    }
}

pub fn shell(detection: &Detection, _cx: &Context<'_>, script: &Path) -> Launch {
    own(
        detection,
        script.to_path_buf(),
        Vec::new(),
        "the script must `exec` its server so it receives the stop signal".into(),
    )
}

/// The virtualenv's `python` (else `python3` on `PATH`).
pub(crate) fn python_program(cx: &Context<'_>) -> PathBuf {
    find_program("python", cx.app_root, cx.env)
        .or_else(|| find_program("python3", cx.app_root, cx.env))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

pub fn python(detection: &Detection, cx: &Context<'_>, script: &Path) -> Launch {
    let python = python_program(cx);
    own(
        detection,
        python,
        vec![script.display().to_string()],
        "the script must listen on $PORT on all interfaces".into(),
    )
}

pub fn procfile(detection: &Detection, _cx: &Context<'_>, command: &str) -> Launch {
    own(
        detection,
        PathBuf::from("/bin/sh"),
        vec!["-c".into(), format!("exec {command}")],
        "the Procfile command is run by /bin/sh with `exec`".into(),
    )
}
