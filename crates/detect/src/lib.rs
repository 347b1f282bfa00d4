//! What the application is and how it is served.
//!
//! `run` calls [`detect`] with the source tree, the environment and the build record
//! (`facts.json`). Detection only looks at files and variables: it never starts Python. Every
//! rule tried leaves a [`Verdict`] so `run --dry-run` can say why it chose what it chose.
//!
//! The rule order is documented in `docs/run.md`; it is the order of [`rule_names`].

mod app;
mod error;
mod home;
mod mode;
mod rules;
mod server;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use app::{App, DjangoApp, StaticMap, Target, WebApp};
pub use error::DetectError;
pub use mode::DeployMode;
pub use s2i_facts::Facts;
pub use server::{Interface, Server, ServerRequest};

/// The environment `run` was started with.
pub type Env = BTreeMap<String, String>;

/// What detection looks at.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// `$APP_ROOT`: the virtualenv, with the sources in `src/`.
    pub app_root: &'a Path,
    pub env: &'a Env,
    /// The build record, when `assemble` wrote one.
    pub facts: Option<&'a Facts>,
}

/// One rule tried, and what it concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Short rule name, e.g. `wsgi.py`.
    pub rule: &'static str,
    /// Whether this rule decided how the app starts.
    pub matched: bool,
    /// Why.
    pub why: String,
}

/// The outcome of detection.
#[derive(Debug, Clone)]
pub struct Detection {
    /// `$APP_ROOT/src`.
    pub src: PathBuf,
    /// The application home: working directory and first entry on `PYTHONPATH`.
    pub home: PathBuf,
    /// Where the home came from.
    pub home_source: String,
    pub mode: DeployMode,
    pub server: ServerRequest,
    pub app: App,
    /// Every rule tried, in order.
    pub verdicts: Vec<Verdict>,
}

/// The names of the detection rules, in the order they are tried.
#[must_use]
pub fn rule_names() -> Vec<&'static str> {
    rules::RULES.iter().map(|(name, _, _)| *name).collect()
}

/// Decides how the application under `inputs.app_root` is started.
///
/// # Errors
/// A variable or file is malformed, or no rule found anything to run; the error carries what
/// was looked at.
pub fn detect(inputs: Inputs<'_>) -> Result<Detection, DetectError> {
    let src = inputs.app_root.join("src");
    let (home, home_source) = home::resolve(&src, inputs.env, inputs.facts)?;
    let mode = mode::deploy_mode(&src, inputs.env)?;
    let server = mode::server_request(&src, inputs.env, &mode)?;
    let (app, verdicts) = rules::run(&rules::Context {
        src: &src,
        home: &home,
        env: inputs.env,
        facts: inputs.facts,
        mode: &mode,
        server: &server,
    })?;
    Ok(Detection {
        src,
        home,
        home_source,
        mode,
        server,
        app,
        verdicts,
    })
}
