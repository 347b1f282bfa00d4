//! Applications served by their framework's own server: Streamlit (`streamlit run SCRIPT`) and
//! Gradio (the script's own `launch()`, told where to listen by `GRADIO_SERVER_NAME` and
//! `GRADIO_SERVER_PORT`). Such an app lists the framework among its dependencies and has a
//! script that imports it: `streamlit_app.py`, `app.py` or `main.py` (the names of Streamlit's
//! and Hugging Face Spaces' first-app tutorials), or the file `APP_FILE` names.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::declared::declaring_file;
use crate::source::read_optional;
use crate::DetectError;

/// The scripts looked at, in order.
pub const SCRIPTS: [&str; 3] = ["streamlit_app.py", "app.py", "main.py"];

/// A framework that serves the application itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Streamlit,
    Gradio,
}

impl Framework {
    /// The module scripts import, and the distribution that provides it.
    #[must_use]
    pub fn module(self) -> &'static str {
        match self {
            Self::Streamlit => "streamlit",
            Self::Gradio => "gradio",
        }
    }

    /// Whether the script `text` is an app of this framework: it imports the module, and a
    /// Gradio script launches its app (a Gradio app mounted in FastAPI is served as ASGI).
    fn is_app(self, text: &str) -> bool {
        imports(text, self.module())
            && match self {
                Self::Streamlit => true,
                Self::Gradio => text.contains(".launch("),
            }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Streamlit => "Streamlit",
            Self::Gradio => "Gradio",
        })
    }
}

/// Whether Python source imports `module` at the start of a line (`import streamlit as st`,
/// `from gradio import ...`, `import gradio.themes`).
fn imports(text: &str, module: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let rest = line
            .strip_prefix("import ")
            .or_else(|| line.strip_prefix("from "))
            .map(str::trim_start);
        rest.and_then(|r| r.strip_prefix(module))
            .is_some_and(|after| after.is_empty() || after.starts_with([' ', '.', ',', '\t']))
    })
}

/// The rule for `framework`: the dependency, then the first of [`SCRIPTS`] that is its app.
pub(crate) fn find(
    home: &Path,
    framework: Framework,
) -> Result<Result<(App, String), String>, DetectError> {
    let Some(file) = declaring_file(home, framework.module()) else {
        return Ok(Err(format!(
            "no dependency file lists {}",
            framework.module()
        )));
    };
    for script in SCRIPTS {
        let path = home.join(script);
        if read_optional(&path)?.is_some_and(|text| framework.is_app(&text)) {
            let why = format!(
                "{file} lists {} and {script} {}",
                framework.module(),
                match framework {
                    Framework::Streamlit => "imports it",
                    Framework::Gradio => "imports it and launches its app",
                }
            );
            return Ok(Ok((app(framework, path), why)));
        }
    }
    Ok(Err(format!(
        "{file} lists {} but none of {} {}",
        framework.module(),
        SCRIPTS.join(", "),
        match framework {
            Framework::Streamlit => "imports it",
            Framework::Gradio => "imports it and calls launch()",
        }
    )))
}

/// The framework app a script named by `APP_FILE` is, when the app lists the framework.
pub(crate) fn of_script(home: &Path, path: &Path) -> Result<Option<(App, String)>, DetectError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    for framework in [Framework::Streamlit, Framework::Gradio] {
        if let Some(file) = declaring_file(home, framework.module()) {
            if framework.is_app(&text) {
                let why = format!(
                    "{file} lists {} and the file imports it",
                    framework.module()
                );
                return Ok(Some((app(framework, path.to_path_buf()), why)));
            }
        }
    }
    Ok(None)
}

fn app(framework: Framework, script: PathBuf) -> App {
    App::Framework { framework, script }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_at_the_start_of_a_line() {
        assert!(imports("import streamlit as st\n", "streamlit"));
        assert!(imports("x = 1\nfrom streamlit import write\n", "streamlit"));
        assert!(imports("import gradio\n", "gradio"));
        assert!(!imports("import streamlit_extras\n", "streamlit"));
        assert!(!imports("# import streamlit\n", "streamlit"));
        assert!(!imports("print('import gradio')\n", "gradio"));
    }

    #[test]
    fn gradio_apps_launch() {
        assert!(Framework::Gradio.is_app(
            "import gradio as gr\ndemo = gr.Interface(f, 'text', 'text')\ndemo.launch()\n"
        ));
        assert!(!Framework::Gradio
            .is_app("import gradio as gr\napp = gr.mount_gradio_app(app, demo, path='/')\n"));
    }
}
