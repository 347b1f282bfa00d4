//! `usage`: how to use the builder image (also what `s2i usage IMAGE` shows). The server
//! names come from the one server table (`s2i_detect::SERVERS`).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, version] = &args[..] {
        if flag == "--image-facts" {
            print!("{}", image_facts(version));
            return ExitCode::SUCCESS;
        }
    }
    let env = s2i_env::Env::from_process();
    if args == ["--layout"] {
        print!("{}", layout(&env));
        return ExitCode::SUCCESS;
    }
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

/// How to use the builder image; `image` is the image name to show in examples.
#[must_use]
pub fn text(image: &str) -> String {
    let default = s2i_detect::AUTO_WSGI[0].executable();
    let servers = s2i_detect::SERVERS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(" | ");
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
  APP_SERVER            auto ({default}) | {servers}
  APP_HOME              directory of the app inside the repository (default: its root, or the
                        uv workspace member with the web app)
  APP_PROCESS_TYPE      the Procfile process type run starts (default web), as `run worker` does
  APP_MODULE, APP_FILE, APP_SCRIPT, APP_CONFIG, GUNICORN_CMD_ARGS, WEB_CONCURRENCY   (as in the sclorg images)
  PIP_INDEX_URL, PIP_EXTRA_INDEX_URL   package indexes (used by uv and pip); no credentials here:
                                       inject a netrc at /etc/python-s2i/secrets/netrc instead
                                       (an OpenShift build volume, or `s2i build --inject DIR:/etc/python-s2i/secrets`)
  PIP_CERT, SSL_CERT_FILE              CA bundle for TLS-inspecting proxies (used by uv and pip)
  UPGRADE_PIP_TO_LATEST                upgrade pip, setuptools and wheel before installing
  S2I_INSTALLER         auto | uv | pip
  S2I_PACKAGE_MANAGER   pip | pipenv | poetry | uv  (when the app has files of several)
  S2I_ARTIFACTS_DIR     where assemble reads artifacts outside the image (yours, not writable by others)
  S2I_CACHE_BUDGET_MB   size of the caches kept in the image (default 512; 0: none)
  ENABLE_PIPENV, PIN_PIPENV_VERSION    install pipenv (that version) and Pipfile.lock (a lone Pipfile is locked)
  ENABLE_MICROPIPENV                   Pipfile.lock, else requirements.txt
  ENABLE_INIT_WRAPPER                  accepted, no effect: run is always the container's init
  S2I_DEPENDENCY_GROUPS dependency groups to install too (uv.lock, poetry.lock, PEP 735); none by default, not even dev
  S2I_EXTRAS            extras (optional dependencies) to install too
  S2I_IGNORE_PYTHON_VERSION   build even when the project asks for another Python (a warning)
  DISABLE_NPM_BUILD     do not run package.json's build script
  DISABLE_SETUP_PY_PROCESSING, DISABLE_PYPROJECT_TOML_PROCESSING   do not install the app as a package
  DISABLE_COLLECTSTATIC, DISABLE_MIGRATE   skip collectstatic (build) / migrate (start)
  MIGRATE_LOCK_TIMEOUT  seconds a replica waits for another one's migration (default 600)
  WARPDRIVE_SERVER_TYPE, WARPDRIVE_DEPLOY_MODE, MOD_WSGI_<OPTION>  (warpdrive compatibility)
  PORT                  port the server listens on (default 8080)

Outside a container (host mode):

    APP_ROOT=/tmp/myapp assemble ./myapp
    APP_ROOT=/tmp/myapp PORT=8123 run

Django with several replicas: migrate runs under a database lock (PostgreSQL, MySQL, SQLite);
`run --release` migrates and runs .s2i/action_hooks/release once (pre-deployment hook, Job);
`run --check-ready` / `run --check-live` are exec readiness and liveness probes.
"#
    )
}
