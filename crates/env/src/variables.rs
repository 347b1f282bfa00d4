//! The variables users set, the one table: `usage` prints it (and `usage --variables-markdown`
//! the README's table), `run` takes the deploy-time overrides from it (`s2i_facts`), and the
//! tests clear every name of it from the environment they inherit.

/// What `run` does with a variable set at start to another value than the build saw. The
/// deploy-time overrides (every variable but [`Role::Setting`]) are recorded by assemble with
/// the values it saw; `run` names each one set to another value in its log and `--dry-run`, by
/// name only (a value may be a secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not an override: read where it applies, nothing recorded to compare it with.
    Setting,
    /// Changes what the build decided (the app, its home, the server, Django's settings):
    /// `run` decides again at start.
    Deciding,
    /// Tunes or completes the recorded decision (the port, the workers, gunicorn's options,
    /// migrate) or picks another process type (read from the Procfile at start): `run` still
    /// carries out the recorded decision.
    Tuning,
}

/// One row: names shown together, their default (empty: none), what they mean to users
/// (Markdown; `{servers}` and `{auto}` stand for the server names and auto mode's WSGI server,
/// from the server table), the docs that say exactly what they do (`FILE.md#anchor` under
/// `docs/`), and their [`Role`] for `run`.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub names: &'static [&'static str],
    pub default: &'static str,
    pub meaning: &'static str,
    pub docs: &'static [&'static str],
    pub role: Role,
}

use Role::{Deciding, Setting, Tuning};

/// The table, in the order shown; the deploy-time overrides keep this order in `run`'s log.
pub const VARIABLES: [Variable; 32] = [
    Variable {
        names: &["APP_ROOT"],
        default: "/opt/app-root",
        role: Setting,
        docs: &["assemble.md"],
        meaning: "the virtualenv; sources are installed into `$APP_ROOT/src` (a path without `:`)",
    },
    Variable {
        names: &["PYTHON"],
        default: "python3",
        role: Setting,
        docs: &["assemble.md"],
        meaning: "interpreter that creates the virtualenv in host mode",
    },
    Variable {
        names: &["APP_HOME"],
        default: "",
        role: Deciding,
        docs: &["run.md#what-is-started-the-detection-order"],
        meaning: "directory of the app inside the repository (default: its root, or the uv workspace member with the web app)",
    },
    Variable {
        names: &["APP_MODULE", "APP_FILE", "APP_SCRIPT", "APP_CONFIG"],
        default: "",
        role: Deciding,
        docs: &["run.md#what-is-started-the-detection-order"],
        meaning: "what to start, as in the default OpenShift Python image (sclorg): `module:callable`, a Python file, an executable script, a gunicorn configuration",
    },
    Variable {
        names: &["APP_SERVER"],
        default: "auto",
        role: Deciding,
        docs: &["run.md#switching-auto-mode-off"],
        meaning: "`auto` ({auto} for WSGI, an ASGI server for ASGI), {servers}",
    },
    Variable {
        names: &["APP_PROCESS_TYPE"],
        default: "web",
        role: Tuning,
        docs: &["run.md#process-types-run-worker"],
        meaning: "the Procfile process type `run` starts (`worker`, `clock`, ...), as `run TYPE` does, for platforms that cannot change the arguments",
    },
    Variable {
        names: &["CNB_PROCESS_TYPE"],
        default: "",
        role: Setting,
        docs: &["run.md#process-types-run-worker"],
        meaning: "the Cloud Native Buildpacks name of `APP_PROCESS_TYPE` (which wins when both are set)",
    },
    Variable {
        names: &["WARPDRIVE_SERVER_TYPE", "WARPDRIVE_DEPLOY_MODE"],
        default: "",
        role: Deciding,
        docs: &["run.md"],
        meaning: "warpdrive compatibility (with the `.warpdrive/` files)",
    },
    Variable {
        names: &["DJANGO_SETTINGS_MODULE"],
        default: "",
        role: Deciding,
        docs: &["run.md#what-is-started-the-detection-order"],
        meaning: "Django's settings module (default: the one `manage.py` sets)",
    },
    Variable {
        names: &["GUNICORN_CMD_ARGS"],
        default: "",
        role: Tuning,
        docs: &["run.md#servers-and-their-defaults"],
        meaning: "gunicorn's options (sclorg); in auto mode, setting it asks for gunicorn",
    },
    Variable {
        names: &["PORT"],
        default: "8080",
        role: Tuning,
        docs: &["run.md"],
        meaning: "port the server listens on (all interfaces)",
    },
    Variable {
        names: &["WEB_CONCURRENCY"],
        default: "",
        role: Tuning,
        docs: &["run.md#processes-and-threads-tuning"],
        meaning: "the number of server processes (sclorg; by default from the container's CPU and memory limits)",
    },
    Variable {
        names: &["DISABLE_MIGRATE"],
        default: "",
        role: Tuning,
        docs: &["run.md#django-migrate-policy"],
        meaning: "skip Django's migrate at start (`run --release` migrates anyway)",
    },
    Variable {
        names: &["MIGRATE_LOCK_TIMEOUT"],
        default: "600",
        role: Setting,
        docs: &["run.md#several-replicas-what-happens-on-each-database"],
        meaning: "seconds a replica waits for another one's migration (database lock) before it stops",
    },
    Variable {
        names: &["DISABLE_COLLECTSTATIC"],
        default: "",
        role: Setting,
        docs: &["assemble.md#django"],
        meaning: "skip Django's collectstatic at build",
    },
    Variable {
        names: &["DISABLE_SETUP_PY_PROCESSING", "DISABLE_PYPROJECT_TOML_PROCESSING"],
        default: "",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "do not install the app itself as a package",
    },
    Variable {
        names: &["S2I_INSTALLER"],
        default: "auto",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "`uv` (the default where the Python supports it) or `pip`",
    },
    Variable {
        names: &["S2I_PACKAGE_MANAGER"],
        default: "",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "`pip`, `pipenv`, `poetry` or `uv`: the package manager when the source has the files of several",
    },
    Variable {
        names: &["ENABLE_PIPENV", "PIN_PIPENV_VERSION", "ENABLE_MICROPIPENV"],
        default: "",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "the sclorg switches: pipenv (that version) installs Pipfile.lock (a lone Pipfile is locked); micropipenv: Pipfile.lock, else requirements.txt",
    },
    Variable {
        names: &["S2I_DEPENDENCY_GROUPS", "S2I_EXTRAS"],
        default: "",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "dependency groups (uv.lock, poetry.lock, PEP 735) and extras to install besides the main dependencies; none by default, not even `dev`",
    },
    Variable {
        names: &["S2I_IGNORE_PYTHON_VERSION"],
        default: "",
        role: Setting,
        docs: &["assemble.md#python-version"],
        meaning: "build even when `.python-version`, `runtime.txt`, `Pipfile.lock`, `uv.lock` or `requires-python` asks for another Python (a warning instead of the error)",
    },
    Variable {
        names: &["DISABLE_NPM_BUILD"],
        default: "",
        role: Setting,
        docs: &["assemble.md#frontend-assets-npm"],
        meaning: "do not run `npm ci && npm run build` for a package.json with a build script",
    },
    Variable {
        names: &["UPGRADE_PIP_TO_LATEST"],
        default: "",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "upgrade pip, setuptools and wheel before installing",
    },
    Variable {
        names: &["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"],
        default: "",
        role: Setting,
        docs: &["assemble.md#dependencies"],
        meaning: "package indexes, honoured by uv and pip (URLs without credentials: those go in an injected netrc)",
    },
    Variable {
        names: &["S2I_SECRETS_DIR"],
        default: "/etc/python-s2i/secrets",
        role: Setting,
        docs: &["assemble.md#private-package-indexes"],
        meaning: "where the build finds injected index credentials (`netrc`, `pip.conf`, `uv.toml`: an OpenShift build volume, `s2i build --inject DIR:/etc/python-s2i/secrets`), read in place and kept out of the image",
    },
    Variable {
        names: &["PIP_CERT", "SSL_CERT_FILE"],
        default: "",
        role: Setting,
        docs: &["assemble.md", "images.md#custom-ca-bundle-tls-inspecting-proxies"],
        meaning: "a CA bundle for builds behind TLS-inspecting proxies",
    },
    Variable {
        names: &["S2I_ARTIFACTS_DIR"],
        default: "/tmp/artifacts",
        role: Setting,
        docs: &["assemble.md#incremental-builds"],
        meaning: "where assemble finds the previous build's artifacts; the default is read only in the builder image's layout: outside it, a directory of yours that others cannot write",
    },
    Variable {
        names: &["S2I_CACHE_BUDGET_MB"],
        default: "512",
        role: Setting,
        docs: &["assemble.md#incremental-builds"],
        meaning: "size of the installers' caches kept in the image (after pruning to what the build used); `0` keeps none",
    },
    Variable {
        names: &["STOP_GRACE_PERIOD"],
        default: "20",
        role: Setting,
        docs: &["init.md#variables"],
        meaning: "seconds between the platform's stop signal and SIGKILL",
    },
    Variable {
        names: &["RUN_DEBUG"],
        default: "",
        role: Setting,
        docs: &["init.md#variables"],
        meaning: "`run` explains its init decisions on stderr",
    },
    Variable {
        names: &["ENABLE_INIT_WRAPPER"],
        default: "",
        role: Setting,
        docs: &["init.md#variables"],
        meaning: "accepted, no effect: `run` is always the init",
    },
    Variable {
        names: &["MOD_WSGI_<OPTION>"],
        default: "",
        role: Setting,
        docs: &["run.md#servers-and-their-defaults"],
        meaning: "warpdrive compatibility: mod_wsgi-express's options (`MOD_WSGI_PROCESSES=2` is `--processes 2`)",
    },
];

/// The deploy-time overrides, each name with its role, in the table's order.
pub fn overrides() -> impl Iterator<Item = (&'static str, Role)> {
    VARIABLES
        .iter()
        .filter(|v| v.role != Setting)
        .flat_map(|v| v.names.iter().map(|name| (*name, v.role)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_name_is_in_one_row() {
        let mut names: Vec<_> = super::VARIABLES.iter().flat_map(|v| v.names).collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all, "a name in two rows");
    }
}
