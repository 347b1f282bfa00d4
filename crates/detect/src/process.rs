//! Procfile process types: `run worker` (or `APP_PROCESS_TYPE=worker`) starts the Procfile's
//! `worker:` line, or any other named type, the way `run` starts `web`.
//!
//! The Procfile format is Heroku's: one `TYPE: COMMAND` a line, `TYPE` made of letters, digits,
//! `_` and `-`. `web` is the web process: without a Procfile `web:` line it is whatever the
//! detection rules find. Any other type must be a line of the Procfile.

use std::path::Path;

use s2i_project::is_process_name;

use crate::app::App;
use crate::{DetectError, Detection, Inputs, Verdict};

/// The variables that name the process type when the command's arguments cannot be changed,
/// in the order they are read: ours (the `APP_*` family of sclorg's variables), then the Cloud
/// Native Buildpacks launcher's (Heroku's and Google's builders read it), for images moving
/// from those.
pub const PROCESS_TYPE_VARIABLES: [&str; 2] = ["APP_PROCESS_TYPE", "CNB_PROCESS_TYPE"];

/// The web process type.
pub const WEB: &str = "web";

/// What asked for `web` when nothing did.
const DEFAULT_SOURCE: &str = "the default";

/// The process type to start, and what asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessChoice {
    pub name: String,
    /// `the default`, `run worker`, `APP_PROCESS_TYPE=worker`.
    pub source: String,
}

impl ProcessChoice {
    /// Whether this is the web process (the default).
    #[must_use]
    pub fn is_web(&self) -> bool {
        self.name == WEB
    }

    /// Whether nothing asked for a process type (the web process, by default).
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.source == DEFAULT_SOURCE
    }
}

/// The process type asked for: the argument of `run TYPE`, else the first variable of
/// [`PROCESS_TYPE_VARIABLES`] that is set, else `web`.
///
/// # Errors
/// The name is not a process type name.
pub fn process_choice(
    argument: Option<&str>,
    env: &crate::Env,
) -> Result<ProcessChoice, DetectError> {
    let from_env = || {
        PROCESS_TYPE_VARIABLES
            .iter()
            .find_map(|var| env.get(var).map(|v| (v.to_owned(), format!("{var}={v}"))))
    };
    let (name, source) = match argument {
        Some(name) => (name.to_owned(), format!("run {name}")),
        None => from_env().unwrap_or_else(|| (WEB.to_owned(), DEFAULT_SOURCE.to_owned())),
    };
    if !is_process_name(&name) {
        return Err(DetectError::BadProcessType {
            name,
            origin: source,
        });
    }
    Ok(ProcessChoice { name, source })
}

/// Detection for `choice`: the rules for `web`, the Procfile's line for any other type.
///
/// # Errors
/// What [`crate::detect`] returns; for another type, no Procfile line of that name
/// ([`DetectError::UnknownProcessType`], which lists the Procfile's types).
pub(crate) fn detect_process(
    inputs: Inputs<'_>,
    choice: &ProcessChoice,
) -> Result<Detection, DetectError> {
    if choice.is_web() {
        return crate::detect(inputs);
    }
    let src = inputs.app_root.join("src");
    let (home, home_source) = crate::home::app_home(&src, inputs.env, inputs.facts)?;
    let procfile = crate::source::procfile(&home)?;
    let Some(found) = procfile.as_ref().and_then(|p| p.get(&choice.name)) else {
        return Err(DetectError::UnknownProcessType {
            name: choice.name.clone(),
            origin: choice.source.clone(),
            procfile: home.join("Procfile"),
            types: procfile.map(|p| p.names()),
        });
    };
    let mode = crate::mode::deploy_mode(&src, inputs.env)?;
    let server = crate::mode::server_request(&src, inputs.env, &mode)?;
    Ok(Detection {
        src,
        home,
        home_source,
        mode,
        server,
        app: App::Procfile {
            process: found.name.clone(),
            command: found.command.clone(),
        },
        django: None,
        verdicts: vec![Verdict {
            rule: "Procfile process type".to_owned(),
            matched: true,
            why: format!(
                "{}: Procfile has `{}: {}`",
                choice.source, found.name, found.command
            ),
        }],
    })
}

/// The names of the process types of the Procfile in `home`, in file order, for the build
/// summary (empty without one).
///
/// # Errors
/// The Procfile exists but cannot be read.
pub fn process_types(home: &Path) -> Result<Vec<String>, DetectError> {
    Ok(crate::source::procfile(home)?.map_or_else(Vec::new, |p| p.names()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Env;

    #[test]
    fn the_argument_then_our_variable_then_the_buildpacks() {
        let env = Env::of(&[
            ("CNB_PROCESS_TYPE", "clock"),
            ("APP_PROCESS_TYPE", "worker"),
        ]);
        let c = process_choice(None, &env).expect("choice");
        assert_eq!(
            (c.name.as_str(), c.source.as_str()),
            ("worker", "APP_PROCESS_TYPE=worker")
        );
        let c = process_choice(Some("web"), &env).expect("choice");
        assert!(c.is_web());
        assert_eq!(c.source, "run web");
        let c = process_choice(None, &Env::of(&[("CNB_PROCESS_TYPE", "clock")])).expect("c");
        assert_eq!(c.name, "clock");
        let c = process_choice(None, &Env::of(&[("APP_PROCESS_TYPE", "")])).expect("c");
        assert_eq!((c.name.as_str(), c.source.as_str()), ("web", "the default"));
        assert!(matches!(
            process_choice(Some("wor ker"), &Env::of(&[])),
            Err(DetectError::BadProcessType { .. })
        ));
    }
}
