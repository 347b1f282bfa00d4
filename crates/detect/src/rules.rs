//! The detection rules, in order. The first rule that matches decides how the app starts.

use std::path::{Path, PathBuf};

use s2i_facts::{DjangoFacts, Facts};

use crate::app::{App, DjangoApp, StaticMap, Target, WebApp};
use crate::frameworks::{self, Framework};
use crate::layouts;
use crate::mode::{DeployMode, ModeKind};
use crate::server::{Interface, Server, ServerRequest};
use crate::source::{
    app_callable, assigned_string, import_name, is_executable, is_identifier, is_module_path,
    looks_asgi, read_optional,
};
use crate::{DetectError, Env, Verdict};

/// What the rules look at.
pub struct Context<'a> {
    pub src: &'a Path,
    pub home: &'a Path,
    pub env: &'a Env,
    pub facts: Option<&'a Facts>,
    pub mode: &'a DeployMode,
    pub server: &'a ServerRequest,
}

/// A rule's conclusion.
pub(crate) enum Outcome {
    Match(App, String),
    Skip(String),
}

pub(crate) type Rule = fn(&Context<'_>) -> Result<Outcome, DetectError>;

/// The rules in the order they are tried: name, the deploy mode kind it belongs to, function.
pub(crate) const RULES: [(&str, ModeKind, Rule); 16] = [
    (
        "APP_CONFIG / gunicorn.conf.py wsgi_app",
        ModeKind::Wsgi,
        gunicorn_config,
    ),
    ("APP_SCRIPT", ModeKind::Shell, app_script),
    ("APP_FILE", ModeKind::Python, app_file),
    ("APP_MODULE", ModeKind::Wsgi, app_module),
    ("Procfile web:", ModeKind::Shell, procfile),
    ("app.sh", ModeKind::Shell, app_sh),
    ("Streamlit", ModeKind::Python, streamlit),
    ("Gradio", ModeKind::Python, gradio),
    ("app.py", ModeKind::Python, app_py),
    ("paste.ini", ModeKind::Wsgi, paste_ini),
    ("wsgi.py", ModeKind::Wsgi, wsgi_py),
    ("asgi.py", ModeKind::Wsgi, asgi_py),
    ("wsgi/application", ModeKind::Wsgi, wsgi_application),
    ("Django", ModeKind::Django, django),
    (
        "main.py / app/main.py / package application object",
        ModeKind::Wsgi,
        app_object,
    ),
    ("setup.py / pyproject.toml package", ModeKind::Wsgi, package),
];

/// Runs the rules; returns the app and every verdict.
pub fn run(cx: &Context<'_>) -> Result<(App, Vec<Verdict>), DetectError> {
    let mut verdicts = Vec::new();
    if let DeployMode::Manual { server, source } = cx.mode {
        verdicts.push(Verdict {
            rule: "deploy mode".to_owned(),
            matched: true,
            why: format!(
                "{source}: auto detection is off; {server} is configured by .warpdrive/server_args"
            ),
        });
        return Ok((App::Manual { server: *server }, verdicts));
    }
    for (rule, kind, check) in RULES {
        if let DeployMode::Only { kind: only, source } = cx.mode {
            if *only != kind {
                verdicts.push(Verdict {
                    rule: rule.to_owned(),
                    matched: false,
                    why: format!("skipped: deploy mode is {only} ({source})"),
                });
                continue;
            }
        }
        match check(cx)? {
            Outcome::Match(app, why) => {
                verdicts.push(Verdict {
                    rule: rule.to_owned(),
                    matched: true,
                    why,
                });
                return Ok((app, verdicts));
            }
            Outcome::Skip(why) => verdicts.push(Verdict {
                rule: rule.to_owned(),
                matched: false,
                why,
            }),
        }
    }
    Err(match cx.mode {
        DeployMode::Only { kind, source } => DetectError::ModeFoundNothing {
            mode: kind.to_string(),
            origin: source.clone(),
            verdicts,
        },
        _ => DetectError::NothingFound {
            home: cx.home.to_path_buf(),
            verdicts,
        },
    })
}

fn rel(cx: &Context<'_>, path: &Path) -> String {
    path.strip_prefix(cx.src)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The interface for an app that may be either, given the requested server.
fn interface_for(cx: &Context<'_>, asgi: bool) -> Interface {
    match cx.server.server {
        Some(server) if !server.serves(Interface::Wsgi) => Interface::Asgi,
        Some(server) if !server.serves(Interface::Asgi) => Interface::Wsgi,
        _ if asgi => Interface::Asgi,
        _ => Interface::Wsgi,
    }
}

fn web(interface: Interface, target: Target, statics: Vec<StaticMap>) -> App {
    App::Web(WebApp {
        interface,
        target,
        statics,
        django: None,
    })
}

/// `wsgi/static` served at `/static/` (the OpenShift 2 layout).
fn openshift2_static(cx: &Context<'_>) -> Vec<StaticMap> {
    let dir = cx.home.join("wsgi/static");
    if dir.is_dir() {
        vec![StaticMap {
            url: "/static/".to_owned(),
            dir,
        }]
    } else {
        Vec::new()
    }
}

fn gunicorn_config(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let (path, named) = match cx.env.get("APP_CONFIG") {
        Some(v) => (cx.home.join(v), true),
        None => (cx.home.join("gunicorn.conf.py"), false),
    };
    let Some(text) = read_optional(&path)? else {
        if named {
            return Err(DetectError::NamedFileMissing {
                path,
                variable: "APP_CONFIG".to_owned(),
            });
        }
        return Ok(Outcome::Skip(
            "APP_CONFIG is not set and there is no gunicorn.conf.py".to_owned(),
        ));
    };
    let Some(wsgi_app) = assigned_string(&text, "wsgi_app") else {
        return Ok(Outcome::Skip(format!(
            "{} sets no wsgi_app (it is still passed to gunicorn as its configuration)",
            rel(cx, &path)
        )));
    };
    match cx.server.server {
        Some(server) if server != Server::Gunicorn => {
            let target = parse_module_spec(&wsgi_app, "application").map_err(|why| {
                DetectError::BadAppModule {
                    value: wsgi_app.clone(),
                    why: format!("{why} (wsgi_app in {})", path.display()),
                }
            })?;
            Ok(Outcome::Match(
                web(interface_for(cx, false), target, Vec::new()),
                format!(
                    "{} sets wsgi_app = {wsgi_app:?}; served by {server} ({})",
                    rel(cx, &path),
                    cx.server.source
                ),
            ))
        }
        _ => Ok(Outcome::Match(
            App::GunicornConfig {
                config: path.clone(),
            },
            format!("{} sets wsgi_app = {wsgi_app:?}", rel(cx, &path)),
        )),
    }
}

fn script(
    cx: &Context<'_>,
    variable: &str,
    default: &str,
    shell: bool,
) -> Result<Outcome, DetectError> {
    let (path, source) = match cx.env.get(variable) {
        Some(v) => (cx.home.join(v), format!("{variable}={v}")),
        None => {
            return Ok(Outcome::Skip(format!(
                "{variable} is not set ({default} is checked below)"
            )))
        }
    };
    if !path.is_file() {
        return Err(DetectError::NamedFileMissing {
            path,
            variable: variable.to_owned(),
        });
    }
    script_found(cx, path, source, shell)
}

fn script_found(
    cx: &Context<'_>,
    path: PathBuf,
    source: String,
    shell: bool,
) -> Result<Outcome, DetectError> {
    if shell {
        if !is_executable(&path) {
            return Err(DetectError::ScriptNotExecutable {
                path,
                origin: source,
            });
        }
        let why = format!("{source}: {} starts the server itself", rel(cx, &path));
        Ok(Outcome::Match(App::Shell { script: path }, why))
    } else {
        let why = format!("{source}: {} starts the server itself", rel(cx, &path));
        Ok(Outcome::Match(App::Python { script: path }, why))
    }
}

fn app_script(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    script(cx, "APP_SCRIPT", "app.sh", true)
}

fn app_file(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    if let Some(v) = cx.env.get("APP_FILE") {
        let path = cx.home.join(v);
        if let Some((app, why)) = frameworks::of_script(cx.home, &path)? {
            return Ok(Outcome::Match(app, format!("APP_FILE={v}: {why}")));
        }
    }
    script(cx, "APP_FILE", "app.py", false)
}

fn framework_rule(cx: &Context<'_>, framework: Framework) -> Result<Outcome, DetectError> {
    Ok(match frameworks::find(cx.home, framework)? {
        Ok((app, why)) => Outcome::Match(app, why),
        Err(why) => Outcome::Skip(why),
    })
}

fn streamlit(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    framework_rule(cx, Framework::Streamlit)
}

fn gradio(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    framework_rule(cx, Framework::Gradio)
}

/// Parses `module:callable` (callable defaults to `default`).
pub fn parse_module_spec(value: &str, default: &str) -> Result<Target, String> {
    let (module, callable) = match value.split_once(':') {
        Some((m, c)) => (m, c),
        None => (value, default),
    };
    if module.ends_with(".py") || module.contains('/') {
        return Err(format!(
            "{module:?} is a file name; give the module's import name (e.g. `{}`)",
            module.trim_end_matches(".py").replace('/', ".")
        ));
    }
    if !is_module_path(module) {
        return Err(format!("{module:?} is not a Python module path"));
    }
    // gunicorn also accepts a factory call, `create_app()`.
    let name = callable.strip_suffix("()").unwrap_or(callable);
    if !is_identifier(name) {
        return Err(format!("{callable:?} is not a Python name"));
    }
    Ok(Target::Module {
        module: module.to_owned(),
        callable: callable.to_owned(),
    })
}

/// The source file of `module` under the home, if it is there.
fn module_file(cx: &Context<'_>, module: &str) -> Option<PathBuf> {
    let base = cx.home.join(module.replace('.', "/"));
    [base.with_extension("py"), base.join("__init__.py")]
        .into_iter()
        .find(|p| p.is_file())
}

fn app_module(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let Some(value) = cx.env.get("APP_MODULE") else {
        return Ok(Outcome::Skip("APP_MODULE is not set".to_owned()));
    };
    let target =
        parse_module_spec(value, "application").map_err(|why| DetectError::BadAppModule {
            value: value.to_owned(),
            why,
        })?;
    let Target::Module { module, .. } = &target else {
        unreachable!("parse_module_spec gives a module target")
    };
    let file = module_file(cx, module);
    let asgi_text = match &file {
        Some(f) => read_optional(f)?.is_some_and(|t| looks_asgi(&t)),
        None => false,
    };
    let interface = interface_for(cx, asgi_text);
    let why = match (&file, asgi_text) {
        (Some(f), true) => format!(
            "APP_MODULE={value}; {} imports an ASGI framework",
            rel(cx, f)
        ),
        _ => format!("APP_MODULE={value}"),
    };
    Ok(Outcome::Match(web(interface, target, Vec::new()), why))
}

fn procfile(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let Some(procfile) = crate::source::procfile(cx.home)? else {
        return Ok(Outcome::Skip("no Procfile".to_owned()));
    };
    match procfile.command(crate::process::WEB) {
        Some(command) => Ok(Outcome::Match(
            App::Procfile {
                process: crate::process::WEB.to_owned(),
                command: command.to_owned(),
            },
            format!("Procfile has `web: {command}`"),
        )),
        None => Ok(Outcome::Skip("Procfile has no web: line".to_owned())),
    }
}

fn app_sh(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let path = cx.home.join("app.sh");
    if !path.is_file() {
        return Ok(Outcome::Skip("no app.sh".to_owned()));
    }
    script_found(cx, path, "app.sh exists".to_owned(), true)
}

/// `app.py` starts its own server (`python app.py`, warpdrive's python mode), unless the build
/// record shows it only defines an application object and at most starts the framework's
/// development server (`app.run()` of Flask, Quart, Bottle): that object is served by the
/// production server instead. `APP_FILE=app.py` runs the file anyway.
fn app_py(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let path = cx.home.join("app.py");
    if !path.is_file() {
        return Ok(Outcome::Skip("no app.py".to_owned()));
    }
    // warpdrive's python deploy mode asks for `python app.py` explicitly.
    if matches!(
        cx.mode,
        DeployMode::Only {
            kind: ModeKind::Python,
            ..
        }
    ) {
        return script_found(cx, path, "app.py exists".to_owned(), false);
    }
    let exposed = layouts::exposed(cx.home, Path::new("app.py"), cx.facts)?
        .filter(|e| e.recorded && e.starts.iter().all(|(_, development)| *development));
    let Some(found) = exposed else {
        return script_found(cx, path, "app.py exists".to_owned(), false);
    };
    let interface = layout_interface(cx, &found);
    let started = match found.starts.first() {
        Some((call, _)) => format!(
            "only starts {}'s development server ({call}), which is not for production",
            found
                .framework
                .as_deref()
                .map_or("the framework", framework_name)
        ),
        None => "starts no server of its own".to_owned(),
    };
    let why = format!(
        "app.py defines {} and {started}: serving app:{} with the production server instead (APP_FILE=app.py runs the file itself)",
        describe_exposed(&found),
        found.callable
    );
    Ok(Outcome::Match(
        web(
            interface,
            Target::Module {
                module: "app".to_owned(),
                callable: found.callable,
            },
            Vec::new(),
        ),
        why,
    ))
}

/// The interface of an object found in a layout: the framework's (a server that cannot serve
/// it is refused later, never given it), else what the requested server serves.
fn layout_interface(cx: &Context<'_>, found: &layouts::Exposed) -> Interface {
    if found.recorded {
        found.interface
    } else {
        interface_for(cx, found.interface == Interface::Asgi)
    }
}

fn describe_exposed(found: &layouts::Exposed) -> String {
    let what = if found.callable.ends_with("()") {
        format!("the factory {}", found.callable)
    } else {
        format!("`{}`", found.callable)
    };
    match &found.framework {
        Some(f) => format!(
            "{what}, a {} {} application",
            framework_name(f),
            found.interface
        ),
        None => format!("{what}, a {} application", found.interface),
    }
}

fn framework_name(module: &str) -> &str {
    match module {
        "fastapi" => "FastAPI",
        "starlette" => "Starlette",
        "quart" => "Quart",
        "litestar" => "Litestar",
        "sanic" => "Sanic",
        "flask" => "Flask",
        "bottle" => "Bottle",
        "pyramid" => "Pyramid",
        "falcon" => "Falcon",
        "django" => "Django",
        other => other,
    }
}

/// An application object in `main.py`, `app/main.py`, `app/__init__.py` or the package's
/// modules (`src/<pkg>/` included).
fn app_object(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let installed = cx
        .facts
        .and_then(|f| f.package.as_ref())
        .map(|p| p.modules.clone())
        .unwrap_or_default();
    let mut looked = Vec::new();
    for file in layouts::candidate_files(cx.home, cx.facts)? {
        if file == Path::new("app.py") {
            continue;
        }
        let Some(module) = layouts::module_name(&file) else {
            continue;
        };
        let top = module.split('.').next().unwrap_or_default().to_owned();
        if file.starts_with("src") && !installed.contains(&top) {
            looked.push(format!(
                "{} (not installed as a package, so not importable)",
                file.display()
            ));
            continue;
        }
        let Some(found) = layouts::exposed(cx.home, &file, cx.facts)? else {
            looked.push(file.display().to_string());
            continue;
        };
        let interface = layout_interface(cx, &found);
        let mut why = format!(
            "{} defines {}: serving {module}:{}",
            file.display(),
            describe_exposed(&found),
            found.callable
        );
        if let Some((call, _)) = found.starts.first() {
            why.push_str(&format!(
                " (its own {call} runs only with `python {}`, which is not how it is served)",
                file.display()
            ));
        }
        return Ok(Outcome::Match(
            web(
                interface,
                Target::Module {
                    module,
                    callable: found.callable,
                },
                Vec::new(),
            ),
            why,
        ));
    }
    Ok(Outcome::Skip(if looked.is_empty() {
        "no main.py, app/main.py, app/__init__.py or package module".to_owned()
    } else {
        format!("no application object in {}", looked.join(", "))
    }))
}

fn paste_ini(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let path = cx.home.join("paste.ini");
    if !path.is_file() {
        return Ok(Outcome::Skip("no paste.ini".to_owned()));
    }
    Ok(Outcome::Match(
        web(Interface::Wsgi, Target::Paste { config: path }, Vec::new()),
        "paste.ini exists: a Paste Deploy application".to_owned(),
    ))
}

fn script_target(
    cx: &Context<'_>,
    path: &Path,
    default: &str,
) -> Result<(Target, bool), DetectError> {
    let text = read_optional(path)?.unwrap_or_default();
    let callable = app_callable(&text).unwrap_or(default).to_owned();
    Ok((
        Target::Script {
            path: path.to_path_buf(),
            callable,
        },
        looks_asgi(&text) && cx.home.join("asgi.py") != path,
    ))
}

fn with_static_reason(why: String, statics: &[StaticMap]) -> String {
    if statics.is_empty() {
        why
    } else {
        format!("{why}; wsgi/static is served at /static/")
    }
}

fn wsgi_py(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let path = cx.home.join("wsgi.py");
    if !path.is_file() {
        return Ok(Outcome::Skip("no wsgi.py".to_owned()));
    }
    let (target, _) = script_target(cx, &path, "application")?;
    let statics = openshift2_static(cx);
    let why = with_static_reason("wsgi.py exists: a WSGI script".to_owned(), &statics);
    Ok(Outcome::Match(web(Interface::Wsgi, target, statics), why))
}

fn asgi_py(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let path = cx.home.join("asgi.py");
    if !path.is_file() {
        return Ok(Outcome::Skip("no asgi.py".to_owned()));
    }
    let (target, _) = script_target(cx, &path, "application")?;
    let interface = interface_for(cx, true);
    Ok(Outcome::Match(
        web(interface, target, Vec::new()),
        "asgi.py exists: an ASGI application".to_owned(),
    ))
}

fn wsgi_application(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let path = cx.home.join("wsgi/application");
    if !path.is_file() {
        return Ok(Outcome::Skip("no wsgi/application".to_owned()));
    }
    let (target, _) = script_target(cx, &path, "application")?;
    let statics = openshift2_static(cx);
    let why = with_static_reason(
        "wsgi/application exists: an OpenShift 2 WSGI script".to_owned(),
        &statics,
    );
    Ok(Outcome::Match(web(Interface::Wsgi, target, statics), why))
}

/// `a.b.c` -> (`a.b`, `c`).
fn split_dotted(value: &str) -> Option<(String, String)> {
    let (module, name) = value.rsplit_once('.')?;
    Some((module.to_owned(), name.to_owned()))
}

/// The Django project of the app home, one path: the build record's facts, else the settings
/// module `manage.py` sets (no static files known, WSGI_APPLICATION taken to be the settings
/// package's `wsgi.application`); `true` when from the record.
fn django_facts(cx: &Context<'_>) -> Result<Option<(DjangoFacts, bool)>, DetectError> {
    if let Some(d) = cx.facts.and_then(|f| f.django.as_ref()) {
        return Ok(Some((d.clone(), true)));
    }
    let text = read_optional(&cx.home.join("manage.py"))?;
    let settings = text.and_then(|t| crate::django_settings_module(&t, cx.env));
    Ok(settings.map(|settings_module| {
        let d = DjangoFacts {
            settings_module,
            ..DjangoFacts::default()
        };
        (d, false)
    }))
}

fn django(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    match django_facts(cx)? {
        Some((d, recorded)) => django_from_facts(cx, &d, recorded),
        None => Ok(Outcome::Skip(
            "no Django in the build record, and no manage.py setting DJANGO_SETTINGS_MODULE"
                .to_owned(),
        )),
    }
}

/// A Django project is Django whichever rule found its entry point: the project (from the
/// build record, else `manage.py` setting `DJANGO_SETTINGS_MODULE`) is attached to a web app
/// found by another rule, with its static files (URLs not mapped already), and returned for
/// gunicorn configurations and Procfiles too, so `run` applies the migrate policy. Scripts that
/// start themselves (`app.sh`, `app.py`) and manual mode are left alone.
pub fn attach_django(
    cx: &Context<'_>,
    app: &mut App,
    verdicts: &mut [Verdict],
) -> Result<Option<DjangoApp>, DetectError> {
    match app {
        App::Web(web) if web.django.is_some() => return Ok(web.django.clone()),
        App::Web(_) | App::GunicornConfig { .. } | App::Procfile { .. } => {}
        App::Shell { .. } | App::Python { .. } | App::Framework { .. } | App::Manual { .. } => {
            return Ok(None)
        }
    }
    let Some((project, statics)) = project_django(cx)? else {
        return Ok(None);
    };
    let mut why = format!(
        "; a Django project (settings {}): the migrate policy applies",
        project.settings_module
    );
    if let App::Web(web) = app {
        for s in statics {
            if !web.statics.iter().any(|m| m.url == s.url) {
                why.push_str(&format!(", {} served from {}", s.url, s.dir.display()));
                web.statics.push(s);
            }
        }
        web.django = Some(project.clone());
    }
    if let Some(v) = verdicts.iter_mut().rfind(|v| v.matched) {
        v.why.push_str(&why);
    }
    Ok(Some(project))
}

/// The Django project of the app home and the static files its build record maps.
fn project_django(cx: &Context<'_>) -> Result<Option<(DjangoApp, Vec<StaticMap>)>, DetectError> {
    let Some((d, recorded)) = django_facts(cx)? else {
        return Ok(None);
    };
    if let Outcome::Match(App::Web(web), _) = django_from_facts(cx, &d, recorded)? {
        return Ok(web.django.map(|django| (django, web.statics)));
    }
    let manage = cx.home.join("manage.py");
    let django = DjangoApp {
        settings_module: d.wrapper_settings_module.unwrap_or(d.settings_module),
        manage_py: manage.is_file().then_some(manage),
    };
    Ok(Some((django, Vec::new())))
}

fn django_from_facts(
    cx: &Context<'_>,
    d: &DjangoFacts,
    recorded: bool,
) -> Result<Outcome, DetectError> {
    let manage = cx.home.join("manage.py");
    let manage_py = manage.is_file().then_some(manage);
    let settings_module = d
        .wrapper_settings_module
        .clone()
        .unwrap_or_else(|| d.settings_module.clone());
    let asgi = d.asgi_application.as_deref().and_then(split_dotted);
    let wsgi = d
        .wsgi_application
        .as_deref()
        .and_then(split_dotted)
        .or_else(|| {
            let package = d.settings_module.rsplit_once('.').map(|(p, _)| p)?;
            Some((format!("{package}.wsgi"), "application".to_owned()))
        });
    if let (false, Some((module, _))) = (recorded, &wsgi) {
        if module_file(cx, module).is_none() {
            return Ok(Outcome::Skip(format!(
                "manage.py uses {} but there is no {module} module and no build record saying where WSGI_APPLICATION is",
                d.settings_module
            )));
        }
    }
    // WSGI unless an ASGI server was asked for: assemble records ASGI_APPLICATION whenever the
    // project has an asgi.py (every startproject does), which says nothing about intent.
    let interface = match cx.server.server {
        Some(server) if !server.serves(Interface::Wsgi) => Interface::Asgi,
        Some(server) if server.serves(Interface::Asgi) && asgi.is_some() => Interface::Asgi,
        _ if wsgi.is_none() => Interface::Asgi,
        _ => Interface::Wsgi,
    };
    let chosen = match interface {
        Interface::Asgi => asgi.clone().or(wsgi.clone()),
        Interface::Wsgi => wsgi.clone(),
    };
    let Some((module, callable)) = chosen else {
        return Ok(Outcome::Skip(format!(
            "Django settings {} but no WSGI/ASGI application known",
            d.settings_module
        )));
    };
    let interface = if asgi.as_ref().is_some_and(|a| a.0 == module) {
        Interface::Asgi
    } else {
        Interface::Wsgi
    };
    let url = d
        .static_url
        .clone()
        .unwrap_or_else(|| "/static/".to_owned());
    let mut statics = Vec::new();
    let mut notes = Vec::new();
    match &d.static_root {
        // A path on this server; `//host/...` is protocol-relative: another host (a CDN).
        Some(root) if url.starts_with('/') && !url.starts_with("//") => {
            let url = if url.ends_with('/') {
                url
            } else {
                format!("{url}/")
            };
            notes.push(format!(
                "STATIC_URL {url} is served from {}",
                root.display()
            ));
            statics.push(StaticMap {
                url,
                dir: root.clone(),
            });
        }
        Some(_) => notes.push(format!(
            "STATIC_URL {url} is not a path on this server; static files are not served here"
        )),
        None if recorded => {
            notes.push("no STATIC_ROOT recorded; static files are not served".to_owned());
        }
        None => notes.push(
            "no build record, so static files are not served (run assemble to record STATIC_ROOT)"
                .to_owned(),
        ),
    }
    let source = if recorded {
        format!("build record: Django settings {settings_module}")
    } else {
        format!("manage.py sets DJANGO_SETTINGS_MODULE={settings_module}")
    };
    let why = format!(
        "{source}, {interface} application {module}.{callable}; {}",
        notes.join("; ")
    );
    Ok(Outcome::Match(
        App::Web(WebApp {
            interface,
            target: Target::Module { module, callable },
            statics,
            django: Some(DjangoApp {
                settings_module,
                manage_py,
            }),
        }),
        why,
    ))
}

fn package(cx: &Context<'_>) -> Result<Outcome, DetectError> {
    let from_facts = cx.facts.and_then(|f| f.package.as_ref()).and_then(|p| {
        p.modules
            .first()
            .cloned()
            .map(|m| (m, format!("build record: package {}", p.name)))
    });
    let found = match from_facts {
        Some(found) => Some(found),
        None => crate::source::package_name(cx.home)?
            .map(|(name, file)| (import_name(&name), format!("{file} names package {name}"))),
    };
    let Some((module, source)) = found else {
        return Ok(Outcome::Skip(
            "no package in the build record, pyproject.toml or setup.py".to_owned(),
        ));
    };
    if !is_module_path(&module) {
        return Ok(Outcome::Skip(format!(
            "{source}, but {module:?} is not importable"
        )));
    }
    let text = match module_file(cx, &module) {
        Some(f) => read_optional(&f)?.unwrap_or_default(),
        None => String::new(),
    };
    let asgi = looks_asgi(&text);
    let callable = app_callable(&text).unwrap_or("application").to_owned();
    let interface = interface_for(cx, asgi);
    Ok(Outcome::Match(
        web(
            interface,
            Target::Module {
                module: module.clone(),
                callable: callable.clone(),
            },
            Vec::new(),
        ),
        format!("{source}: serving {module}:{callable}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_specs() {
        assert_eq!(
            parse_module_spec("mysite.wsgi:application", "application"),
            Ok(Target::Module {
                module: "mysite.wsgi".into(),
                callable: "application".into()
            })
        );
        assert!(parse_module_spec("hello", "application").is_ok());
        assert!(parse_module_spec("app:create_app()", "application").is_ok());
        assert!(parse_module_spec("app.py", "application")
            .expect_err("file")
            .contains("file name"));
        assert!(parse_module_spec("my-app:app", "application").is_err());
        assert!(parse_module_spec("app:", "application").is_err());
        assert!(parse_module_spec("a:b:c", "application").is_err());
    }
}
