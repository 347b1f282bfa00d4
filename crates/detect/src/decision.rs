//! What `run` starts: the decision assemble recorded for the web process (`Facts::decision`),
//! carried out as is, or decided again at start through one path, [`decide_at_start`], with the
//! reason `run` prints on its `Decision:` line.

use serde::Deserialize;

use crate::process::{detect_process, ProcessChoice};
use crate::{DetectError, Detection, Inputs};

/// The `Decision:` line when `run` carries out the build's decision.
pub const FROM_THE_RECORD: &str = "from the build record";

impl Detection {
    /// The decision as the build record holds it; `None` when it cannot be written (a path
    /// that is not UTF-8): `run` then decides again.
    #[must_use]
    pub fn to_record(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
}

/// What `run` starts for `choice`, and where that came from: the build record's decision when
/// [`recorded`] allows, else decided again ([`decide_at_start`]).
///
/// # Errors
/// What detection at start returns.
pub fn decision(
    inputs: Inputs<'_>,
    choice: &ProcessChoice,
) -> Result<(Detection, String), DetectError> {
    match recorded(inputs, choice) {
        Ok(detection) => Ok((detection, FROM_THE_RECORD.to_owned())),
        Err(why) => decide_at_start(inputs, choice, why),
    }
}

/// The recorded decision, when it is for the web process, made under this `$APP_ROOT`, and no
/// deciding override is set at start (`Facts::deciding_overrides`); else why `run` decides again.
fn recorded(inputs: Inputs<'_>, choice: &ProcessChoice) -> Result<Detection, String> {
    let Some(facts) = inputs.facts else {
        return Err(
            "no build record: detected from the source (host mode without assemble)".into(),
        );
    };
    let again = |why: String| format!("decided again at start: {why}");
    if !choice.is_web() {
        return Err(again(format!(
            "the build record holds the web process's decision; the {} process is read from the Procfile",
            choice.name
        )));
    }
    let Some(value) = &facts.decision else {
        return Err(again(
            "the build record holds no decision (the build found nothing to serve, or an older assemble wrote it)".into(),
        ));
    };
    let detection = Detection::deserialize(value)
        .map_err(|e| again(format!("the build record's decision cannot be read ({e})")))?;
    let src = inputs.app_root.join("src");
    if detection.src != src {
        return Err(again(format!(
            "the build record's decision is for the sources in {}",
            detection.src.display()
        )));
    }
    match facts.deciding_overrides(|n| inputs.env.get(n)).as_slice() {
        [] => Ok(detection),
        [one] => Err(again(format!("{one} differs from the build"))),
        more => Err(again(format!("{} differ from the build", more.join(", ")))),
    }
}

/// Detection at start, the one path that decides again (the source, the environment and the
/// record's facts); `why` ([`recorded`]'s) is the `Decision:` line.
fn decide_at_start(
    inputs: Inputs<'_>,
    choice: &ProcessChoice,
    why: String,
) -> Result<(Detection, String), DetectError> {
    detect_process(inputs, choice).map(|detection| (detection, why))
}
