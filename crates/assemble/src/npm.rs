//! Frontend assets: a `package.json` in the app home whose `scripts` has a `build` entry is
//! built with `npm ci && npm run build` (`npm install` when there is no lock file, with a
//! warning) before collectstatic, so the files it writes (e.g. into a Django app's `static/`)
//! are collected and served. npm's cache lives with the other caches
//! (`$APP_ROOT/.python-s2i/cache/npm`, `NPM_CACHE_DIR`) and is part of the incremental build's
//! artifacts. `DISABLE_NPM_BUILD` skips the step.

use std::path::{Path, PathBuf};

use crate::output;
use s2i_env::Env;

/// The variable that skips the step.
pub const DISABLE_VARIABLE: &str = "DISABLE_NPM_BUILD";

/// What the app's `package.json` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontend {
    /// `package-lock.json` or `npm-shrinkwrap.json`, when there is one.
    pub lock: Option<&'static str>,
    /// The `build` script, for the log.
    pub build_script: String,
}

/// Why the step stopped the build.
#[derive(Debug)]
pub enum NpmError {
    /// package.json is not JSON.
    BadPackageJson { path: PathBuf, detail: String },
    /// npm is not on PATH.
    NpmMissing { build_script: String },
    /// npm could not be started, or `npm ci` / `npm run build` failed.
    Run(output::Failure),
}

/// The frontend build `app` asks for; `None` without a package.json with a `build` script.
///
/// # Errors
/// package.json exists but does not parse.
pub fn detect(app: &Path) -> Result<Option<Frontend>, NpmError> {
    let Some(json) = s2i_project::PackageJson::read(app) else {
        return Ok(None);
    };
    let json = json.map_err(|e| NpmError::BadPackageJson {
        path: app.join("package.json"),
        detail: e.to_string(),
    })?;
    let Some(build_script) = json.script("build").map(str::to_owned) else {
        return Ok(None);
    };
    let lock = ["package-lock.json", "npm-shrinkwrap.json"]
        .into_iter()
        .find(|f| app.join(f).is_file());
    Ok(Some(Frontend { lock, build_script }))
}

/// `npm ci` (or `npm install`) then `npm run build` in `app`, streamed.
///
/// # Errors
/// npm is missing or fails.
pub fn build(frontend: &Frontend, app: &Path, env: &Env) -> Result<(), NpmError> {
    let Some(npm) = env.which("npm") else {
        return Err(NpmError::NpmMissing {
            build_script: frontend.build_script.clone(),
        });
    };
    let install: &[&str] = if frontend.lock.is_some() {
        &["ci"]
    } else {
        output::warning("package.json has no package-lock.json: running `npm install`, which resolves versions afresh on every build. Commit package-lock.json for repeatable builds (`npm ci`).");
        &["install"]
    };
    for args in [install, &["run", "build"]] {
        let mut command = env.command(&npm);
        command.args(args).current_dir(app);
        output::run_ok(&mut command).map_err(NpmError::Run)?;
    }
    Ok(())
}

/// npm's variables: its cache under the build's caches (`NPM_CACHE_DIR`, given to npm as
/// `npm_config_cache`), no audit/fund/update noise, and the build's CA bundle
/// (`SSL_CERT_FILE`/`PIP_CERT`) trusted by Node too (`NODE_EXTRA_CA_CERTS`).
pub fn configure(env: &mut Env, cache_root: &Path) {
    env.set_default("NPM_CACHE_DIR", cache_root.join("npm"));
    if let Some(cache) = env.get("NPM_CACHE_DIR").map(str::to_owned) {
        env.set_default("npm_config_cache", cache);
    }
    env.set_default("npm_config_audit", "false");
    env.set_default("npm_config_fund", "false");
    env.set_default("npm_config_update_notifier", "false");
    if let Some(bundle) = env
        .get("SSL_CERT_FILE")
        .or_else(|| env.get("PIP_CERT"))
        .map(str::to_owned)
    {
        env.set_default("NODE_EXTRA_CA_CERTS", bundle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_script_and_its_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(detect(dir.path()).expect("none"), None);
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts": {"dev": "vite"}}"#,
        )
        .expect("write");
        assert_eq!(detect(dir.path()).expect("no build"), None);
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts": {"build": "esbuild src/app.js --bundle --outfile=static/app.js"}}"#,
        )
        .expect("write");
        let found = detect(dir.path()).expect("parse").expect("build");
        assert_eq!(found.lock, None);
        std::fs::write(dir.path().join("package-lock.json"), "{}").expect("write");
        let found = detect(dir.path()).expect("parse").expect("build");
        assert_eq!(found.lock, Some("package-lock.json"));
        std::fs::write(dir.path().join("package.json"), "{").expect("write");
        assert!(matches!(
            detect(dir.path()),
            Err(NpmError::BadPackageJson { .. })
        ));
    }
}
