//! What the application is and how it is served.
//!
//! `assemble` calls [`detect`] with the source tree, the environment and what the build found,
//! and records the [`Detection`]; `run` carries it out, or decides again ([`decision`]).
//! Detection only looks at files and variables: it never starts Python. Every rule tried leaves
//! a [`Verdict`] so `run --dry-run` can say why it chose what it chose.
//!
//! The rule order is documented in `docs/run.md`; it is the order of [`rule_names`].

mod app;
mod decision;
mod declared;
mod error;
mod frameworks;
mod home;
mod layouts;
mod mode;
mod process;
mod rules;
mod server;
mod source;
mod workspace;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use app::{App, DjangoApp, StaticMap, Target, WebApp};
pub use decision::{decision, FROM_THE_RECORD};
pub use declared::{declared_servers, normalized, requirement_names, Declared};
pub use error::DetectError;
pub use frameworks::{Framework, SCRIPTS as FRAMEWORK_SCRIPTS};
pub use home::app_home;
pub use layouts::{candidate_files, module_name};
pub use mode::DeployMode;
pub use process::{process_choice, process_types, ProcessChoice, PROCESS_TYPE_VARIABLES};
pub use s2i_facts::Facts;
pub use server::{
    auto_server, Interface, Server, ServerChoice, ServerPolicyError, ServerRequest, ServerSpec,
    AUTO_ASGI, AUTO_WSGI, OWN_SERVER, SERVERS,
};
pub use source::is_executable;
pub use workspace::{uv_workspace, UvWorkspace};

/// The environment detection reads (crate `s2i-env`: empty means unset).
pub use s2i_env::Env;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Short rule name, e.g. `wsgi.py`.
    pub rule: String,
    /// Whether this rule decided how the app starts.
    pub matched: bool,
    /// Why.
    pub why: String,
}

/// The outcome of detection: what assemble records for the web process (`Facts::decision`,
/// [`Detection::to_record`]) and `run` carries out ([`decision`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The Django project, whichever rule found the entry point (`wsgi.py`, `APP_MODULE`, a
    /// gunicorn configuration, a Procfile, the Django rule): its migrate policy applies. `None`
    /// for scripts that start themselves (`app.sh`, `app.py`) and manual mode.
    pub django: Option<DjangoApp>,
    /// Every rule tried, in order.
    pub verdicts: Vec<Verdict>,
}

/// The names of the detection rules, in the order they are tried.
#[must_use]
pub fn rule_names() -> Vec<&'static str> {
    rules::RULES.iter().map(|(name, _, _)| *name).collect()
}

/// The Django settings module of the project whose `manage.py` reads `manage_py`:
/// `DJANGO_SETTINGS_MODULE` from the environment when set, else the module manage.py sets;
/// `None` when manage.py does not mention `DJANGO_SETTINGS_MODULE` (not a Django project).
/// The one reader: assemble introspects these settings, run falls back to them without a
/// build record.
#[must_use]
pub fn django_settings_module(manage_py: &str, env: &Env) -> Option<String> {
    let at = manage_py.find("DJANGO_SETTINGS_MODULE")?;
    if let Some(module) = env.get("DJANGO_SETTINGS_MODULE") {
        return Some(module.trim().to_owned());
    }
    source::settings_in_manage_py(&manage_py[at..])
}

/// The source's environment files, in the order both sides read them into `env` (a variable
/// already set wins): assemble before the build, run before it starts. In an s2i image the
/// first is already the container's environment; in host mode and with
/// `images/Containerfile.app` only the file says it. Returns what each file set and skipped.
///
/// # Errors
/// A file cannot be read, or sets a variable refused in `phase`.
pub fn load_environment(
    env: &mut Env,
    src: &Path,
    phase: s2i_env::Phase,
) -> Result<Vec<(PathBuf, s2i_env::Loaded)>, s2i_env::EnvError> {
    [".s2i/environment", ".warpdrive/environment"]
        .iter()
        .map(|file| {
            let path = src.join(file);
            env.load_file(&path, phase).map(|loaded| (path, loaded))
        })
        .collect()
}

/// The server the user asked for (`APP_SERVER`, warpdrive's mode and files) and, in auto
/// mode, chose ([`server::users_choices`]), as [`detect`] reads it: for assemble when detection
/// found nothing to serve yet ([`auto_server`] with no app).
///
/// # Errors
/// A setting names no server or mode, or a file cannot be read.
pub fn server_request(inputs: Inputs<'_>) -> Result<ServerRequest, DetectError> {
    let src = inputs.app_root.join("src");
    let home = home::app_home(&src, inputs.env, inputs.facts).map_or(src.clone(), |(h, _)| h);
    let mode = mode::deploy_mode(&src, inputs.env)?;
    request(&src, &home, inputs.env, &mode)
}

fn request(
    src: &Path,
    home: &Path,
    env: &Env,
    mode: &DeployMode,
) -> Result<ServerRequest, DetectError> {
    let mut server = mode::server_request(src, env, mode)?;
    if server.server.is_none() {
        server.preferred = server::users_choices(home, env);
    }
    Ok(server)
}

/// Decides how the application under `inputs.app_root` is started.
///
/// # Errors
/// A variable or file is malformed, or no rule found anything to run; the error carries what
/// was looked at.
pub fn detect(inputs: Inputs<'_>) -> Result<Detection, DetectError> {
    let src = inputs.app_root.join("src");
    let (home, home_source) = home::app_home(&src, inputs.env, inputs.facts)?;
    let mode = mode::deploy_mode(&src, inputs.env)?;
    let server = request(&src, &home, inputs.env, &mode)?;
    let cx = rules::Context {
        src: &src,
        home: &home,
        env: inputs.env,
        facts: inputs.facts,
        mode: &mode,
        server: &server,
    };
    let (mut app, mut verdicts) = rules::run(&cx)?;
    let django = rules::attach_django(&cx, &mut app, &mut verdicts)?;
    Ok(Detection {
        src,
        home,
        home_source,
        mode,
        server,
        app,
        django,
        verdicts,
    })
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::process::detect_process;

    /// An app root whose `src/` holds `files` (`name` -> content; names ending in `*` are made
    /// executable).
    fn root(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in files {
            let executable = name.ends_with('*');
            let path = dir.path().join("src").join(name.trim_end_matches('*'));
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, content).expect("write");
            if executable {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        }
        dir
    }

    fn detect_in(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> Result<Detection, DetectError> {
        let env = Env::of(env);
        detect(Inputs {
            app_root: dir.path(),
            env: &env,
            facts: None,
        })
    }

    fn matched(d: &Detection) -> &str {
        d.verdicts
            .iter()
            .find(|v| v.matched)
            .map(|v| v.rule.as_str())
            .expect("a match")
    }

    const WSGI: &str = "def application(environ, start_response):\n    pass\n";

    #[test]
    fn order_follows_the_seeds() {
        let all = [
            ("app.sh*", "#!/bin/sh\n"),
            ("app.py", ""),
            ("paste.ini", ""),
            ("wsgi.py", WSGI),
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')",
            ),
        ];
        let expected = ["app.sh", "app.py", "paste.ini", "wsgi.py"];
        for (skip, rule) in expected.iter().enumerate() {
            let dir = root(&all[skip..]);
            let d = detect_in(&dir, &[]).expect("detect");
            assert_eq!(matched(&d), *rule);
        }
    }

    #[test]
    fn variables_and_procfile_come_before_files() {
        let dir = root(&[
            ("Procfile", "web: gunicorn x:y\n"),
            ("wsgi.py", WSGI),
            ("app.py", ""),
        ]);
        let d = detect_in(&dir, &[]).expect("detect");
        assert_eq!(matched(&d), "Procfile web:");
        let d = detect_in(&dir, &[("APP_MODULE", "wsgi:application")]).expect("detect");
        assert_eq!(matched(&d), "APP_MODULE");
        let d = detect_in(&dir, &[("APP_FILE", "app.py")]).expect("detect");
        assert!(matches!(d.app, App::Python { .. }));
    }

    #[test]
    fn django_comes_before_the_package() {
        let dir = root(&[
            ("setup.py", "setup(name='mysite')"),
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')",
            ),
            ("mysite/__init__.py", ""),
            ("mysite/wsgi.py", WSGI),
        ]);
        let d = detect_in(&dir, &[]).expect("detect");
        assert_eq!(matched(&d), "Django");
        let App::Web(web) = &d.app else {
            panic!("{:?}", d.app)
        };
        assert_eq!(
            web.target.import_spec().as_deref(),
            Some("mysite.wsgi:application")
        );
    }

    #[test]
    fn asgi_module_is_recognised() {
        let dir = root(&[("main.py", "from fastapi import FastAPI\napp = FastAPI()\n")]);
        let d = detect_in(&dir, &[("APP_MODULE", "main:app")]).expect("detect");
        let App::Web(web) = &d.app else {
            panic!("{:?}", d.app)
        };
        assert_eq!(web.interface, Interface::Asgi);
        // A WSGI-only server asked for explicitly keeps it WSGI (and the server step refuses).
        let d = detect_in(
            &dir,
            &[("APP_MODULE", "main:app"), ("APP_SERVER", "gunicorn")],
        )
        .expect("detect");
        let App::Web(web) = &d.app else {
            panic!("{:?}", d.app)
        };
        assert_eq!(web.interface, Interface::Wsgi);
    }

    #[test]
    fn app_py_with_only_a_development_server_is_served_unless_python_mode_asks() {
        let dir = root(&[(
            "app.py",
            "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run()\n",
        )]);
        let facts = Facts {
            modules: vec![s2i_facts::ModuleFacts {
                file: "app.py".into(),
                objects: vec![s2i_facts::AppObject {
                    name: "app".into(),
                    kind: s2i_facts::ObjectKind::Object,
                    interface: Interface::Wsgi,
                    framework: Some("flask".into()),
                }],
                starts: vec![s2i_facts::ServerStart {
                    call: "app.run()".into(),
                    kind: s2i_facts::StartKind::Development,
                    place: s2i_facts::StartPlace::Main,
                }],
                ..s2i_facts::ModuleFacts::default()
            }],
            ..Facts::default()
        };
        let with = |env: &[(&str, &str)]| {
            let env: Env = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            detect(Inputs {
                app_root: dir.path(),
                env: &env,
                facts: Some(&facts),
            })
            .expect("detect")
        };
        let App::Web(web) = with(&[]).app else {
            panic!("app.py's Flask object is not served")
        };
        assert_eq!(web.target.import_spec().as_deref(), Some("app:app"));
        // No record: the file's own server, as warpdrive and sclorg run it.
        assert!(matches!(
            detect_in(&dir, &[]).expect("detect").app,
            App::Python { .. }
        ));
        assert!(matches!(
            with(&[("WARPDRIVE_DEPLOY_MODE", "python")]).app,
            App::Python { .. }
        ));
    }

    #[test]
    fn streamlit_and_gradio_apps_come_before_app_py() {
        let st = "import streamlit as st\nst.title('x')\n";
        let dir = root(&[("requirements.txt", "streamlit==1.40\n"), ("app.py", st)]);
        let d = detect_in(&dir, &[]).expect("detect");
        assert_eq!(matched(&d), "Streamlit");
        assert_eq!(
            d.app.describe(),
            format!("Streamlit app {}", dir.path().join("src/app.py").display())
        );
        // The script names of the tutorials, in order; the dependency is needed.
        let dir = root(&[
            (
                "pyproject.toml",
                "[project]\nname = 'demo'\ndependencies = ['Streamlit>=1.30']\n",
            ),
            ("main.py", st),
            ("streamlit_app.py", st),
        ]);
        let App::Framework { script, .. } = detect_in(&dir, &[]).expect("detect").app else {
            panic!("not Streamlit")
        };
        assert!(script.ends_with("streamlit_app.py"), "{}", script.display());
        let dir = root(&[("requirements.txt", "flask\n"), ("app.py", st)]);
        assert!(matches!(
            detect_in(&dir, &[]).expect("detect").app,
            App::Python { .. }
        ));
        // Gradio: the script launches its app.
        let gr = "import gradio as gr\ndemo = gr.Interface(fn=f, inputs='text', outputs='text')\ndemo.launch()\n";
        let dir = root(&[("requirements.txt", "gradio\n"), ("app.py", gr)]);
        let d = detect_in(&dir, &[]).expect("detect");
        assert_eq!(matched(&d), "Gradio");
        assert!(matches!(
            d.app,
            App::Framework {
                framework: Framework::Gradio,
                ..
            }
        ));
        // APP_FILE names another Streamlit script.
        let dir = root(&[("requirements.txt", "streamlit\n"), ("dashboard.py", st)]);
        let d = detect_in(&dir, &[("APP_FILE", "dashboard.py")]).expect("detect");
        assert!(matches!(
            d.app,
            App::Framework {
                framework: Framework::Streamlit,
                ..
            }
        ));
        // A Procfile web: line still comes first.
        let dir = root(&[
            ("requirements.txt", "streamlit\n"),
            ("app.py", st),
            ("Procfile", "web: streamlit run app.py\n"),
        ]);
        assert_eq!(
            matched(&detect_in(&dir, &[]).expect("detect")),
            "Procfile web:"
        );
    }

    #[test]
    fn a_process_type_is_the_procfile_line_and_an_unknown_one_lists_the_types() {
        let dir = root(&[
            (
                "Procfile",
                "web: gunicorn app:app\nworker: celery -A proj worker\n",
            ),
            ("wsgi.py", WSGI),
        ]);
        let env = Env::of(&[]);
        let inputs = Inputs {
            app_root: dir.path(),
            env: &env,
            facts: None,
        };
        let worker = process_choice(Some("worker"), &env).expect("choice");
        let d = detect_process(inputs, &worker).expect("worker");
        assert_eq!(
            d.app,
            App::Procfile {
                process: "worker".into(),
                command: "celery -A proj worker".into()
            }
        );
        assert!(d.django.is_none());
        let web = process_choice(None, &env).expect("choice");
        assert_eq!(
            matched(&detect_process(inputs, &web).expect("web")),
            "Procfile web:"
        );
        let clock = process_choice(Some("clock"), &env).expect("choice");
        let Err(error @ DetectError::UnknownProcessType { .. }) = detect_process(inputs, &clock)
        else {
            panic!("clock is not a type")
        };
        let text = error.message().render("run: ");
        assert!(
            text.contains("There is no process type `clock` to run."),
            "{text}"
        );
        assert!(
            text.contains("has these process types: web, worker."),
            "{text}"
        );
        assert!(text.contains("`run web`, `run worker`"), "{text}");
        let none = root(&[("wsgi.py", WSGI)]);
        let inputs = Inputs {
            app_root: none.path(),
            env: &env,
            facts: None,
        };
        let Err(error) = detect_process(inputs, &clock) else {
            panic!("no Procfile")
        };
        assert!(
            error.message().render("run: ").contains("There is no "),
            "{error}"
        );
    }

    #[test]
    fn run_carries_out_the_recorded_decision_unless_it_must_decide_again() {
        fn decide(
            dir: &tempfile::TempDir,
            env: &Env,
            facts: Option<&Facts>,
            process: Option<&str>,
        ) -> (Detection, String) {
            let choice = process_choice(process, env).expect("process");
            let inputs = Inputs {
                app_root: dir.path(),
                env,
                facts,
            };
            decision(inputs, &choice).expect("decision")
        }
        let dir = root(&[("wsgi.py", WSGI)]);
        let built = Env::of(&[("APP_SERVER", "gunicorn"), ("PORT", "8080")]);
        let inputs = Inputs {
            app_root: dir.path(),
            env: &built,
            facts: None,
        };
        let build = detect(inputs).expect("build");
        let record = Facts {
            decision: build.to_record(),
            summary: Some(s2i_facts::Summary {
                decided_with: s2i_facts::Summary::decided_with(|n| built.get(n)),
                ..s2i_facts::Summary::default()
            }),
            ..Facts::default()
        };
        let json = serde_json::to_string(&record).expect("json");
        let facts: Facts = serde_json::from_str(&json).expect("loads");
        // Added after the build, app.py comes first for detection: the decision stands.
        fs::write(dir.path().join("src/app.py"), "").expect("app.py");
        let tuned = Env::of(&[
            ("APP_SERVER", "gunicorn"),
            ("PORT", "9"),
            ("WEB_CONCURRENCY", "3"),
        ]);
        for env in [&built, &tuned] {
            let from_record = (build.clone(), FROM_THE_RECORD.to_owned());
            assert_eq!(decide(&dir, env, Some(&facts), None), from_record);
        }
        let waitress = Env::of(&[("APP_SERVER", "waitress")]);
        let (again, why) = decide(&dir, &waitress, Some(&facts), None);
        assert_eq!(
            why,
            "decided again at start: APP_SERVER differs from the build"
        );
        assert_eq!(matched(&again), "app.py");
        let (_, why) = decide(&dir, &built, None, None);
        assert_eq!(
            why,
            "no build record: detected from the source (host mode without assemble)"
        );
        let older = Facts {
            decision: None,
            ..facts.clone()
        };
        let (_, why) = decide(&dir, &built, Some(&older), None);
        assert!(
            why.starts_with("decided again at start: the build record holds no decision"),
            "{why}"
        );
        let elsewhere = root(&[("wsgi.py", WSGI)]);
        let (_, why) = decide(&elsewhere, &built, Some(&facts), None);
        assert!(
            why.contains("the build record's decision is for the sources in "),
            "{why}"
        );
        fs::write(dir.path().join("src/Procfile"), "worker: celery\n").expect("Procfile");
        let (d, why) = decide(&dir, &built, Some(&facts), Some("worker"));
        assert!(matches!(d.app, App::Procfile { .. }), "{:?}", d.app);
        assert!(
            why.contains("the worker process is read from the Procfile"),
            "{why}"
        );
    }

    #[test]
    fn deploy_mode_restricts_the_rules() {
        let dir = root(&[("app.py", ""), ("wsgi.py", WSGI)]);
        let d = detect_in(&dir, &[("WARPDRIVE_DEPLOY_MODE", "wsgi")]).expect("detect");
        assert_eq!(matched(&d), "wsgi.py");
        let err = detect_in(&dir, &[("WARPDRIVE_DEPLOY_MODE", "shell")]).expect_err("no shell");
        assert!(matches!(err, DetectError::ModeFoundNothing { .. }), "{err}");
    }

    #[test]
    fn bad_inputs() {
        let dir = root(&[("app.sh", "#!/bin/sh\n")]);
        assert!(matches!(
            detect_in(&dir, &[]),
            Err(DetectError::ScriptNotExecutable { .. })
        ));
        let dir = root(&[("README", "")]);
        let Err(DetectError::NothingFound { verdicts, .. }) = detect_in(&dir, &[]) else {
            panic!("expected NothingFound")
        };
        // docs/run.md's detection table has 16 rules, each with a verdict.
        assert_eq!(verdicts.len(), 16);
        assert_eq!(rule_names().len(), 16);
        assert!(matches!(
            detect_in(&dir, &[("APP_SCRIPT", "start.sh")]),
            Err(DetectError::NamedFileMissing { .. })
        ));
        assert!(matches!(
            detect_in(&dir, &[("APP_MODULE", "a b")]),
            Err(DetectError::BadAppModule { .. })
        ));
    }
}
