//! The generated `s2i_wsgi` module: loads script files and Paste configurations and serves
//! static files for servers that cannot (gunicorn, waitress, hypercorn, granian).

use s2i_detect::{Target, WebApp};

use crate::{Context, Launch};

/// The module's source, written into the generated-modules directory on start.
pub const SOURCE: &str = include_str!("../python/s2i_wsgi.py");
/// Its import name.
pub const MODULE: &str = "s2i_wsgi";

/// `module:callable` when the target can be imported directly (a module, or a `name.py` script
/// in the home directory). A factory (`module:create_app()`) is not: the wrapper calls it.
pub fn importable(web: &WebApp, home: &std::path::Path) -> Option<String> {
    match &web.target {
        Target::Module { .. } if web.target.is_factory() => None,
        Target::Module { module, callable } => Some(format!("{module}:{callable}")),
        Target::Script { path, callable } => {
            let stem = path.file_stem()?.to_str()?;
            (path.parent() == Some(home)
                && path.extension().is_some_and(|e| e == "py")
                && stem.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .then(|| format!("{stem}:{callable}"))
        }
        Target::Paste { .. } => None,
    }
}

/// The application spec to give the server: the app itself when it is importable and needs no
/// static files, the wrapper otherwise (adding its environment and file to `launch`).
pub fn target(
    web: &WebApp,
    home: &std::path::Path,
    cx: &Context<'_>,
    launch: &mut Launch,
) -> String {
    let direct = importable(web, home);
    if web.statics.is_empty() {
        if let Some(spec) = direct {
            return spec;
        }
    }
    match (&web.target, direct) {
        (_, Some(spec)) => launch.env.push(("S2I_WSGI_MODULE".into(), spec)),
        (Target::Script { path, callable }, None) => {
            launch
                .env
                .push(("S2I_WSGI_SCRIPT".into(), path.display().to_string()));
            launch
                .env
                .push(("S2I_WSGI_CALLABLE".into(), callable.clone()));
        }
        (Target::Paste { config }, None) => {
            launch
                .env
                .push(("S2I_WSGI_PASTE".into(), config.display().to_string()));
        }
        // A factory: the wrapper imports the module and calls it once per process.
        (Target::Module { module, callable }, None) => launch
            .env
            .push(("S2I_WSGI_MODULE".into(), format!("{module}:{callable}"))),
    }
    if !web.statics.is_empty() {
        let pairs: Vec<String> = web
            .statics
            .iter()
            .map(|s| {
                format!(
                    "[{},{}]",
                    json_string(&s.url),
                    json_string(&s.dir.display().to_string())
                )
            })
            .collect();
        launch
            .env
            .push(("S2I_WSGI_STATIC".into(), format!("[{}]", pairs.join(","))));
        for s in &web.statics {
            launch.notes.push(format!(
                "static files: {} served from {} by the s2i_wsgi wrapper",
                s.url,
                s.dir.display()
            ));
        }
    }
    launch.files.push((
        cx.python_dir.join(format!("{MODULE}.py")),
        SOURCE.to_owned(),
    ));
    format!("{MODULE}:application")
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
