//! `usage`: how to use the builder image (also what `s2i usage IMAGE` shows). The server
//! names come from the one server table (`s2i_detect::SERVERS`), the variables from the one
//! variables table (`s2i_env::variables`), which `usage --variables-markdown` prints as the
//! README's table.

use std::io::Write;
use std::process::ExitCode;

use s2i_env::variables::{Role, Variable, VARIABLES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match &args[..] {
        [flag, version] if flag == "--image-facts" => print!("{}", image_facts(version)),
        [flag] if flag == "--variables-markdown" => print!("{}", variables_markdown()),
        [flag] if flag == "--layout" => print!("{}", layout(&s2i_env::Env::from_process())),
        _ => return usage(),
    }
    ExitCode::SUCCESS
}

/// The text, the image's name in its examples.
fn usage() -> ExitCode {
    let env = s2i_env::Env::from_process();
    // The image's own name by default: PYTHON_VERSION is the image's (images/Containerfile).
    let image = env.get("S2I_IMAGE_NAME").map_or_else(
        || format!("python-s2i:{}", env.get("PYTHON_VERSION").unwrap_or("3.11")),
        str::to_owned,
    );
    let mut out = std::io::stdout().lock();
    let mut text = text(&image);
    if let Some(support) = env
        .get("PYTHON_VERSION")
        .and_then(|v| support(v, s2i_assemble::python_support::today()))
    {
        text.push('\n');
        text.push_str(&support);
    }
    // A closed pipe (`usage | head`) is not an error.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// The image's Python past or near its end of life (`version`: `major.minor`), as the build
/// warns; `None` while it is supported for more than a year.
fn support(version: &str, today: s2i_assemble::python_support::Date) -> Option<String> {
    let (major, minor) = version.split_once('.')?;
    let warning =
        s2i_assemble::python_support::warning(major.parse().ok()?, minor.parse().ok()?, today)?;
    Some(format!("Warning: {}\n", warning.replace('\n', "\n  ")))
}

/// `usage --image-facts VERSION`: what `images/build` bakes into the image of Python `VERSION`
/// (`major.minor`) besides the app's dependencies, as `NAME=value` lines: the default server's
/// requirement on that Python (the one server table) and whether uv installs into it (assemble's
/// rule), so the image script decides neither again.
fn image_facts(version: &str) -> String {
    let python2 = version.starts_with("2.");
    let default = s2i_detect::AUTO_WSGI[0];
    format!(
        "MOD_WSGI_REQUIREMENT={}\nINSTALL_UV={}\n",
        default
            .requirement(python2)
            .unwrap_or(default.spec().requirement),
        u8::from(s2i_assemble::install::uv_supports(version))
    )
}

/// `usage --layout`: the paths the image scripts use (`images/assemble-runtime`), as
/// `NAME=path` lines: `$APP_ROOT` made absolute and the paths under it from the one `Layout`,
/// so no script spells them out again.
fn layout(env: &s2i_env::Env) -> String {
    let app_root = env.app_root();
    let layout = s2i_facts::Layout::new(&app_root);
    format!(
        "APP_ROOT={}\nSTATE_DIR={}\nCACHE_DIR={}\nKEPT_CACHES={}\n",
        app_root.display(),
        layout.dir().display(),
        layout.cache().display(),
        layout.kept_caches().display()
    )
}

/// A variable's meaning, `{servers}` replaced with the names of the one server table and
/// `{auto}` with auto mode's WSGI server.
fn meaning(variable: &Variable) -> String {
    let servers = s2i_detect::SERVERS.iter().map(|s| format!("`{}`", s.name));
    (variable.meaning)
        .replace("{servers}", &servers.collect::<Vec<_>>().join(", "))
        .replace("{auto}", s2i_detect::AUTO_WSGI[0].executable())
}

/// The variables table for the terminal: names, then the meaning and default wrapped in a
/// column.
fn variables_text() -> String {
    const COLUMN: usize = 24;
    let mut out = String::new();
    for variable in VARIABLES {
        let names = variable.names.join(", ");
        let mut line = format!("  {names:<w$} ", w = COLUMN - 3);
        if line.len() > COLUMN {
            out.push_str(&format!("  {names}\n"));
            line = " ".repeat(COLUMN);
        }
        let mut text = meaning(&variable);
        if !variable.default.is_empty() {
            text.push_str(&format!(" (default {})", variable.default));
        }
        for (i, word) in text.split(' ').enumerate() {
            if i > 0 && line.len() + 1 + word.len() > 100 {
                out.push_str(&line);
                out.push('\n');
                line = " ".repeat(COLUMN - 1);
            }
            line.push_str(if i > 0 { " " } else { "" });
            line.push_str(word);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `usage --variables-markdown`: the README's table of the variables.
fn variables_markdown() -> String {
    let mut out =
        "| variable | default | meaning | override | docs |\n| --- | --- | --- | --- | --- |\n"
            .to_owned();
    let code = |s: &&str| format!("`{s}`");
    for variable in VARIABLES {
        let names = variable.names.iter().map(code).collect::<Vec<_>>();
        let default = Some(&variable.default).filter(|d| !d.is_empty()).map(code);
        let role = match variable.role {
            Role::Setting => "",
            Role::Deciding => "decides",
            Role::Tuning => "tunes",
        };
        let docs = variable.docs.iter().map(|doc| {
            let name = doc.split_once('.').map_or(*doc, |(name, _)| name);
            format!("[{name}](docs/{doc})")
        });
        out.push_str(&format!(
            "| {} | {} | {} | {role} | {} |\n",
            names.join(", "),
            default.unwrap_or_default(),
            meaning(&variable),
            docs.collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// How to use the builder image; `image` is the image name to show in examples.
#[must_use]
pub fn text(image: &str) -> String {
    let default = s2i_detect::AUTO_WSGI[0].executable();
    let variables = variables_text();
    format!(
        r#"This is a python-s2i builder image: it turns the source of a Python web application into a
runnable image with Source-to-Image (S2I).

Build an image from a git repository or a local directory:

    s2i build https://github.com/you/yourapp.git {image} yourapp
    s2i build . {image} yourapp
    s2i build --incremental . {image} yourapp     # reuses the previous build's dependencies and caches

Run it (port 8080; any UID in group 0 works):

    podman run --rm -p 8080:8080 yourapp

On OpenShift:

    oc new-app {image}~https://github.com/you/yourapp.git
    oc expose service/yourapp

What the build does (assemble):
  - installs the dependencies from requirements.txt, Pipfile.lock, poetry.lock or uv.lock (uv
    where the Python supports it, pip otherwise), and the app itself from setup.py/pyproject.toml;
  - installs the server run will use ({default} by default);
  - runs hooks: .s2i/action_hooks/{{pre-build,build}}, .warpdrive/action_hooks/{{pre-build,build-env,build}},
    .docker/ and .whiskey/action_hooks/, bin/pre_compile and bin/post_compile;
  - stops at once when .python-version, runtime.txt, Pipfile.lock, uv.lock or pyproject.toml
    asks for another Python than this image's (and names the image that has it, or the nearest
    ones); `3.13` in .python-version means any 3.13.x, and runtime.txt is read as Heroku's
    older spelling of it (`python-3.13.1`);
  - warns when the image's Python is past its end of life, or within a year of it;
  - builds frontend assets with `npm ci && npm run build` when package.json has a build script;
  - for Django: records the settings and runs collectstatic (a STATIC_ROOT is supplied when unset);
  - finds the application object (main.py, app.py, app/main.py, src/<pkg>/: FastAPI, Flask,
    ... or a create_app() factory) without running the code, for run's production server;
    Streamlit and Gradio apps are started by their own server on $PORT;
  - in a uv workspace, installs the member that holds the web app from the root's uv.lock.

Variables (set them in .s2i/environment, `s2i build -e NAME=value`, or the BuildConfig):
{variables}
Outside a container (host mode):

    APP_ROOT=/tmp/myapp assemble ./myapp
    APP_ROOT=/tmp/myapp PORT=8123 run

Django with several replicas: migrate runs under a database lock (PostgreSQL, MySQL, SQLite);
`run --release` migrates and runs .s2i/action_hooks/release once (pre-deployment hook, Job);
`run --check-ready` / `run --check-live` are exec readiness and liveness probes.
"#
    )
}

#[cfg(test)]
mod tests {
    const BEGIN: &str =
        "<!-- variables: made by `usage --variables-markdown` from crates/env/src/variables.rs -->";
    const END: &str = "<!-- end of variables -->";

    /// README.md holds the table `usage --variables-markdown` makes, as it makes it.
    #[test]
    fn readme_holds_the_variables_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let block = readme
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(block, _)| block);
        assert!(
            block == Some(&format!("\n{}", super::variables_markdown())),
            "README.md's variables table is not the one crates/env/src/variables.rs makes: put the \
             output of `cargo run -q --bin usage -- --variables-markdown` between the lines \
             `{BEGIN}` and `{END}` of README.md"
        );
    }
}
