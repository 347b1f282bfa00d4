//! What `assemble` does, and the caches `save-artifacts` streams ([`artifacts`]: the format both
//! sides of an incremental build share). One module per decision:
//!
//! - [`source`]: copying the source into `$APP_ROOT/src`
//! - [`venv`]: the virtualenv (created in host mode)
//! - [`artifacts`]: reusing the previous build's caches, and saving them
//! - [`trust`]: which artifacts may be read at all (owner, mode, symlinks)
//! - [`hooks`]: the apps' build hooks (s2i, warpdrive, mod_wsgi-docker, Heroku)
//! - [`python_version`]: the Python version the project asks for, checked before the build
//! - [`package_manager`]: which files drive the install
//! - [`install`]: uv or pip, and how each package manager's files are installed
//! - [`server`]: the server `run` will start, installed when missing
//! - [`bytecode`]: `.pyc` files compiled at build time for the app and its dependencies
//! - [`npm`]: frontend assets built with npm before collectstatic
//! - [`django`]: settings introspection, wrapper settings, collectstatic
//! - the CycloneDX bill of materials of what the image runs: [`s2i_sbom`], written after the
//!   build record
//! - [`rebuild`]: the Django steps keyed on their inputs, reused when nothing they read changed
//! - [`permissions`]: group-0 permissions for arbitrary UIDs
//! - [`disk`]: free space, and telling a full disk from other failures
//! - [`output`]: the fixed shape of the build log
//! - [`errors`]: every message users read when the build stops

pub mod artifacts;
pub mod bytecode;
pub mod disk;
pub mod django;
pub mod errors;
pub mod hooks;
pub mod index;
pub mod install;
pub mod npm;
pub mod output;
pub mod package_manager;
pub mod permissions;
pub mod prune;
pub mod python_support;
pub mod python_version;
pub mod rebuild;
pub mod server;
pub mod source;
pub mod trust;
pub mod venv;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use s2i_facts::{DjangoFacts, Facts, FactsError, ModuleFacts, PackageFacts, PythonFacts};

use crate::artifacts::{Opened, Previous};
use crate::install::{Install, InstallError};
use crate::package_manager::DeterminePackageManagerError;
use s2i_env::{Env, EnvError, Phase};

/// Where assemble reads from and writes to.
#[derive(Debug, Clone)]
pub struct Options {
    pub source_dir: PathBuf,
    pub app_root: PathBuf,
    /// `S2I_ARTIFACTS_DIR` when set; else [`trust::choose`] decides whether `/tmp/artifacts`
    /// may be read.
    pub artifacts_dir: Option<PathBuf>,
}

impl Options {
    /// `SOURCE_DIR` from the command line (default `/tmp/src`), `APP_ROOT` (default
    /// `/opt/app-root`), `S2I_ARTIFACTS_DIR` (unset: see [`trust`]).
    #[must_use]
    pub fn new(source_dir: Option<PathBuf>) -> Self {
        let env = Env::from_process();
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        Self {
            source_dir: absolute(source_dir.unwrap_or_else(|| PathBuf::from("/tmp/src"))),
            app_root: env.app_root(),
            artifacts_dir: env.get("S2I_ARTIFACTS_DIR").map(PathBuf::from),
        }
    }

    /// `$APP_ROOT/.python-s2i`.
    #[must_use]
    pub fn state_dir(&self) -> PathBuf {
        self.layout().dir().to_path_buf()
    }

    /// Every path under `$APP_ROOT/.python-s2i`.
    #[must_use]
    pub fn layout(&self) -> s2i_facts::Layout {
        s2i_facts::Layout::new(&self.app_root)
    }
}

/// Why the build stopped. The messages are in [`errors`].
#[derive(Debug)]
pub enum AssembleError {
    AppRootNotWritable {
        path: PathBuf,
        source: io::Error,
    },
    /// A file system the build writes to ran out of space (the step's own error inside).
    DiskFull {
        space: disk::Space,
        free_at_start: u64,
        cause: Box<AssembleError>,
    },
    /// The virtualenv of a build that did not finish could not be removed.
    Untrusted {
        path: PathBuf,
        source: io::Error,
    },
    Environment(EnvError),
    Source(source::InstallSourceError),
    AppHome(s2i_detect::DetectError),
    Venv(venv::CreateVenvError),
    PackageManager(DeterminePackageManagerError),
    PythonVersion(Box<python_version::Mismatch>),
    Install(InstallError),
    Server(server::ChooseServerError),
    Hook(hooks::RunHookError),
    Npm(npm::NpmError),
    Django(django::DjangoError),
    Record(FactsError),
    Permissions(permissions::FixPermissionsError),
    /// Restoring the installed dependencies left the virtualenv incomplete.
    Restore(artifacts::RestoreError),
}

macro_rules! from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for AssembleError {
            fn from(e: $ty) -> Self { Self::$variant(e) }
        }
    )*};
}
from!(
    Environment(EnvError),
    Source(source::InstallSourceError),
    Venv(venv::CreateVenvError),
    PackageManager(DeterminePackageManagerError),
    Install(InstallError),
    Server(server::ChooseServerError),
    Hook(hooks::RunHookError),
    Npm(npm::NpmError),
    Django(django::DjangoError),
    Record(FactsError),
    Permissions(permissions::FixPermissionsError)
);

/// Builds the app: see the module list above for the steps.
///
/// # Errors
/// The first step that fails; [`errors::report`] says what to do about it. A failure caused by
/// a full disk is reported as [`AssembleError::DiskFull`], naming the path and the space.
pub fn assemble(options: &Options) -> Result<Facts, AssembleError> {
    let watched = disk::watched(&options.app_root);
    let free_at_start = disk::space(&watched).map_or(0, |s| s.free);
    build(options).map_err(|cause| match disk::full(&cause, &watched) {
        Some(space) => AssembleError::DiskFull {
            space,
            free_at_start,
            cause: Box::new(cause),
        },
        None => cause,
    })
}

/// The build's steps, in order; each is a function below that logs its own section.
fn build(options: &Options) -> Result<Facts, AssembleError> {
    let started = Instant::now();
    // Whole seconds, as file times are compared: what is written from here on is this build's.
    let build_started = SystemTime::now() - std::time::Duration::from_secs(1);
    let app_root = &options.app_root;
    let layout = options.layout();
    let unfinished = mark_in_progress(&layout)?;
    let mut env = Env::from_process();
    env.check_refused(Phase::Build, "the build environment")?;
    let src = app_root.join("src");
    let home = install_source(options, &src, &mut env)?;
    let app = if home.as_os_str().is_empty() {
        src.clone()
    } else {
        src.join(&home)
    };

    // Decided before anything slow, so conflicting files fail the build at once.
    let plan = package_manager::determine_in(&src, &app, &env)?;
    let caches = configure_tools(&mut env, &layout);
    // A uv workspace member's dependencies are decided by the workspace root's uv.lock.
    let digest = artifacts::dependency_digest(plan.workspace.as_ref().map_or(&app, |w| &w.root));
    let release = venv::planned_release(app_root, &env);
    check_python_version(&app, release, &env)?;
    let python_version = release.map_or_else(String::new, |(ma, mi, _)| format!("{ma}.{mi}"));
    let previous = open_artifacts(options, &python_version);

    let venv = prepare_venv(app_root, unfinished.is_some(), &mut env, &python_version)?;
    let mut hooks_run = pre_build_hooks(&app, &mut env)?;

    output::header("Installing dependencies");
    let install = Install {
        installer: install::choose(&venv, &env)?,
        venv: &venv,
        env: &env,
    };
    let mut deps = dependencies_step(
        previous.as_ref(),
        &plan,
        &install,
        &app,
        &layout,
        &caches,
        &digest,
    )?;

    output::header("Running build hooks");
    hooks_run.extend(report_hooks(hooks::run(&app, hooks::Phase::Build, &env)?));
    frontend_step(&app, &env)?;
    let previous_django = previous.as_ref().and_then(|p| p.manifest.django.as_ref());
    let previous_django = previous_django.map(|record| rebuild::Previous {
        record,
        caches: deps.kept_archive.as_deref(),
    });
    let (django, django_pending, django_reused) = django_step(
        &venv,
        &app,
        &layout,
        &env,
        previous_django,
        deps.kept_archive.as_deref(),
    )?;
    let mut facts = app_facts(&install, &plan, home, django, &src, &app, &layout)?;
    let (choice, server_installed) = install_server(&install, &facts)?;
    let django_record = django_pending.map(|pending| pending.record(&venv));
    if let Some(python) = facts.python.as_mut() {
        python.concurrent_futures = Some(concurrent_futures(&venv, &env));
    }
    let venv_part = deps.venv_part(!hooks_run.is_empty() || server_installed);
    compile_bytecode(&venv, &env, &[&src, &layout.python()], &venv_part);

    record(options, &mut facts, &choice, &venv, &app, &env)?;
    prune_caches(&deps.kept_caches, deps.marked, build_started, &env);
    let reused = describe_reuse(previous.is_some(), &deps, &django_reused);
    save_manifest(
        &venv,
        digest,
        caches,
        deps.inputs,
        build_started,
        django_record,
    );

    fix_permissions(app_root)?;
    // Last: everything above is complete.
    let _ = fs::remove_file(layout.in_progress());
    summary(
        &facts,
        &choice,
        &hooks_run,
        install.name(),
        &reused,
        started,
    );
    Ok(facts)
}

/// Checks that `$APP_ROOT/.python-s2i` is writable and marks the build unfinished until its
/// end; returns the mark a previous build left (it did not finish).
fn mark_in_progress(layout: &s2i_facts::Layout) -> Result<Option<String>, AssembleError> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| AssembleError::AppRootNotWritable { path, source }
    };
    let state_dir = layout.dir();
    fs::create_dir_all(state_dir).map_err(err(state_dir))?;
    let probe = layout.write_probe();
    fs::write(&probe, b"").map_err(err(state_dir))?;
    fs::remove_file(&probe).map_err(err(state_dir))?;
    let in_progress = layout.in_progress();
    let unfinished = fs::read_to_string(&in_progress).ok();
    let pid = format!("pid {}\n", std::process::id());
    fs::write(&in_progress, pid).map_err(err(&in_progress))?;
    Ok(unfinished)
}

/// The installers' and npm's settings (caches under `$APP_ROOT/.python-s2i`, the injected index
/// credentials), logged; returns where each cache of [`artifacts::CACHES`] lives.
fn configure_tools(env: &mut Env, layout: &s2i_facts::Layout) -> Vec<(String, PathBuf)> {
    let user_index: Vec<(&str, String)> = index::INDEX_VARIABLES
        .iter()
        .filter_map(|name| env.get(name).map(|value| (*name, value.to_owned())))
        .collect();
    install::configure(env, &layout.cache());
    npm::configure(env, &layout.cache());
    report_index(&user_index, &index::use_secrets(env));
    cache_dirs(env)
}

/// The virtualenv, made again when the previous build did not finish, then activated in `env`.
fn prepare_venv(
    app_root: &Path,
    unfinished: bool,
    env: &mut Env,
    python_version: &str,
) -> Result<venv::Venv, AssembleError> {
    output::header("Preparing the virtualenv");
    if unfinished && venv::any_part_exists(app_root) {
        output::warning(&format!(
            "The previous build in {} did not finish (interrupted: killed, out of memory or cancelled; or failed).\n\
             Its virtualenv may be half made or half installed: it is removed and made again.",
            app_root.display()
        ));
        venv::remove(app_root).map_err(|source| AssembleError::Untrusted {
            path: app_root.to_owned(),
            source,
        })?;
    }
    // uv creates the virtualenv only for Pythons it supports (not 2.7: no failed attempt in the log).
    let uv_on_path = (install::wants_uv(env) && install::uv_supports(python_version))
        .then(|| env.which("uv"))
        .flatten();
    let venv = venv::ensure(app_root, env, uv_on_path.as_deref())?;
    let (major, minor, patch) = venv.version;
    output::info(&format!(
        "Python {major}.{minor}.{patch} ({})",
        venv.python.display()
    ));
    python_support_warning(venv.version);
    env.activate(app_root);
    Ok(venv)
}

/// The `build-env` hook (sourced into `env`) and the pre-build hooks; returns those that ran.
fn pre_build_hooks(app: &Path, env: &mut Env) -> Result<Vec<&'static str>, AssembleError> {
    output::header("Running pre-build hooks");
    let mut hooks_run = Vec::new();
    if let Some(changed) = hooks::source_build_env(app, env)? {
        hooks_run.push(hooks::BUILD_ENV);
        if !changed.is_empty() {
            output::info(&format!("{} sets {}", hooks::BUILD_ENV, changed.join(", ")));
        }
    }
    hooks_run.extend(report_hooks(hooks::run(app, hooks::Phase::PreBuild, env)?));
    Ok(hooks_run)
}

/// What the build record says of the app before the server is chosen: the interpreter, the
/// package manager, the package installed from the source, Django, the application objects.
fn app_facts(
    install: &Install<'_>,
    plan: &package_manager::Plan,
    home: PathBuf,
    django: Option<DjangoFacts>,
    src: &Path,
    app: &Path,
    layout: &s2i_facts::Layout,
) -> Result<Facts, AssembleError> {
    let (venv, env) = (install.venv, install.env);
    let helper = django::write_helper(layout)?;
    let mut facts = Facts {
        python: Some(PythonFacts {
            version: venv.short_version(),
            executable: venv.python.clone(),
            concurrent_futures: None,
        }),
        app_home: Some(home),
        package_manager: plan
            .manager
            .map(|m| m.name().to_owned())
            .or_else(|| plan.install_package.map(|_| "pip".to_owned())),
        package: package_facts(&venv.python, &helper, src, env),
        django,
        ..Facts::default()
    };
    facts.modules = module_facts(&venv.python, &helper, app, &facts, env);
    Ok(facts)
}

/// Writes the build record (what run will serve, and why) and the bill of materials.
fn record(
    options: &Options,
    facts: &mut Facts,
    choice: &server::Choice,
    venv: &venv::Venv,
    app: &Path,
    env: &Env,
) -> Result<(), AssembleError> {
    output::header("Recording what run needs");
    let app_root = &options.app_root;
    facts.servers_installed = server::installed(app_root);
    facts.processes = s2i_detect::process_types(app).map_err(AssembleError::AppHome)?;
    facts.summary = Some(s2i_facts::Summary {
        app: choice.app.clone(),
        server: choice.describe(),
        decided_with: s2i_facts::Summary::decided_with(|name| env.get(name)),
    });
    facts.decision = choice
        .decision
        .as_ref()
        .and_then(s2i_detect::Detection::to_record);
    facts.source = s2i_sbom::source_facts(env, &options.source_dir);
    facts.save(app_root)?;
    let layout = options.layout();
    output::info(&format!("Wrote {}", layout.record().display()));
    write_sbom(venv, app, facts, env, &layout);
    Ok(())
}

/// The Python version the project asks for against the interpreter the build will use: notes
/// for what fits, the first mismatch stops the build (a warning with
/// `S2I_IGNORE_PYTHON_VERSION`).
fn check_python_version(
    app: &Path,
    release: Option<(u32, u32, u32)>,
    env: &Env,
) -> Result<(), AssembleError> {
    let (requests, notes) = python_version::requests(app);
    if requests.is_empty() && notes.is_empty() {
        return Ok(());
    }
    output::header("Checking the Python version the project asks for");
    for note in &notes {
        output::info(note);
    }
    if requests.iter().any(|r| r.file == "runtime.txt") {
        output::info(&runtime_txt_note(&requests));
    }
    let Some((major, minor, patch)) = release else {
        output::warning("the interpreter did not report its version: not checked");
        return Ok(());
    };
    let interpreter = format!("{major}.{minor}.{patch}");
    let checked = python_version::check(
        &requests,
        (u64::from(major), u64::from(minor), u64::from(patch)),
    );
    let mut mismatch = None;
    for c in checked {
        let r = &c.request;
        if c.fits {
            let patch_note = match r.wanted {
                python_version::Wanted::Exact {
                    major: ma,
                    minor: mi,
                    patch: None,
                } => format!(" ({ma}.{mi} means any {ma}.{mi}.x)"),
                python_version::Wanted::Exact {
                    patch: Some(asked), ..
                } if u64::from(patch) != asked => {
                    " (the minor version is compared: the patch release is the image's, Debian's package with its fixes)".to_owned()
                }
                _ => String::new(),
            };
            output::info(&format!(
                "{} asks for {}: Python {interpreter} fits{patch_note}",
                r.file, r.wanted
            ));
        } else if mismatch.is_none() {
            mismatch = Some(python_version::Mismatch {
                checked: c,
                interpreter: interpreter.clone(),
            });
        }
    }
    let Some(mismatch) = mismatch else {
        return Ok(());
    };
    if env.flag(python_version::IGNORE_VARIABLE) {
        let r = &mismatch.checked.request;
        output::warning(&format!(
            "{} asks for {} but the builder has Python {interpreter}; building anyway because {} is set (the image that fits: {})",
            r.file,
            r.wanted,
            python_version::IGNORE_VARIABLE,
            mismatch.image_advice()
        ));
        return Ok(());
    }
    Err(AssembleError::PythonVersion(Box::new(mismatch)))
}

/// What a build on `runtime.txt` is told: `.python-version` says the same in the file today's
/// tools read.
fn runtime_txt_note(requests: &[python_version::Request]) -> String {
    let minor = requests
        .iter()
        .find(|r| r.file == "runtime.txt")
        .and_then(|r| match r.wanted {
            python_version::Wanted::Exact { major, minor, .. } => Some(format!("{major}.{minor}")),
            python_version::Wanted::Range(_) => None,
        })
        .unwrap_or_else(|| "3.13".to_owned());
    if requests.iter().any(|r| r.file == ".python-version") {
        "runtime.txt is read after .python-version, which comes first; runtime.txt is Heroku's older file (deprecated there): remove it once .python-version says what you want".to_owned()
    } else {
        format!(
            "runtime.txt is Heroku's older file (deprecated there in favour of .python-version): a .python-version holding `{minor}` says the same (any {minor}.x), and pyenv, uv and Heroku read it too"
        )
    }
}

/// A warning when the interpreter is past its end of life or within a year of it
/// (`python_support`'s table, against today's date).
fn python_support_warning((major, minor, _): (u32, u32, u32)) {
    if let Some(warning) =
        python_support::warning(u64::from(major), u64::from(minor), python_support::today())
    {
        output::warning(&warning);
    }
}

/// Copies the source, reads its environment files; returns the app home (relative).
fn install_source(options: &Options, src: &Path, env: &mut Env) -> Result<PathBuf, AssembleError> {
    output::header("Installing the source");
    output::info(&format!(
        "Copying {} to {}",
        options.source_dir.display(),
        src.display()
    ));
    let copied = source::install(&options.source_dir, src)?;
    output::info(&format!(
        "{} files, {} directories, {} symlinks",
        copied.files, copied.dirs, copied.symlinks
    ));
    for (path, loaded) in s2i_detect::load_environment(env, src, Phase::Build)? {
        for skipped in &loaded.skipped {
            output::warning(&format!(
                "{}:{} is not NAME=VALUE with a shell variable name: skipped (as s2i skips it, or passes a name no program can read): {}",
                path.display(),
                skipped.line,
                skipped.text.trim()
            ));
        }
        if !loaded.set.is_empty() {
            let file = path.strip_prefix(src).unwrap_or(&path).display();
            output::info(&format!("{file} sets {}", loaded.set.join(", ")));
        }
    }
    let (home, source) = app_home(src, env)?;
    if !home.as_os_str().is_empty() {
        output::info(&format!(
            "Application home: {} ({source})",
            src.join(&home).display()
        ));
    }
    Ok(home)
}

/// The bill of materials ([`s2i_sbom`]); a failure to write it is a warning, with its cost
/// logged.
fn write_sbom(venv: &venv::Venv, app: &Path, facts: &Facts, env: &Env, layout: &s2i_facts::Layout) {
    let started = Instant::now();
    let inputs = s2i_sbom::Inputs {
        venv: &venv.root,
        python: &venv.python,
        python_version: venv.version,
        app,
        facts,
        env,
        tool: "assemble",
    };
    match s2i_sbom::write(&inputs, &layout.sbom()) {
        Ok(count) => output::info(&format!(
            "Wrote {} (CycloneDX 1.6, {count} components, {} ms; `run --sbom` prints it)",
            layout.sbom().display(),
            started.elapsed().as_millis()
        )),
        Err(e) => output::warning(&format!(
            "the bill of materials {} could not be written: {e}",
            layout.sbom().display()
        )),
    }
}

/// The package index settings the user gave (credentials masked, as on every line) and the
/// injected credential files the installers were pointed at (paths only).
fn report_index(user_index: &[(&str, String)], secrets: &index::Secrets) {
    for (name, value) in user_index {
        output::info(&format!("Package index: {name}={value}"));
    }
    for (file, how) in &secrets.used {
        output::info(&format!(
            "Index credentials: {} ({how}; read in place, not kept in the image)",
            file.display()
        ));
    }
    for (file, error) in &secrets.unreadable {
        output::warning(&format!(
            "{} is not used: the build's user cannot read it ({error}). Give the file mode 0644 \
             (a Secret's default) or group 0 read access.",
            file.display()
        ));
    }
}

/// Where each cache of [`artifacts::CACHES`] lives (`UV_CACHE_DIR`, `PIP_CACHE_DIR`).
fn cache_dirs(env: &Env) -> Vec<(String, PathBuf)> {
    artifacts::CACHES
        .iter()
        .map(|name| {
            let var = format!("{}_CACHE_DIR", name.to_ascii_uppercase());
            (
                (*name).to_owned(),
                PathBuf::from(env.get(&var).unwrap_or_default()),
            )
        })
        .collect()
}

fn open_artifacts(options: &Options, python: &str) -> Option<Previous> {
    output::header("Reusing the previous build's artifacts");
    let dir = match trust::choose(options.artifacts_dir.as_deref(), &options.app_root) {
        trust::Choice::Use(dir) => dir,
        trust::Choice::Skip(why) => {
            match why {
                Some(why) => output::warning(&format!("{why}.\nThis is a clean build.")),
                None => {
                    output::info("No artifacts directory given (S2I_ARTIFACTS_DIR): a clean build")
                }
            }
            return None;
        }
    };
    let not_used = |why: String| {
        output::warning(&format!(
            "{why}.\nThe artifacts are not used: this is a clean build."
        ));
        None
    };
    let euid = nix::unistd::geteuid().as_raw();
    if let Err(why) = trust::check_dir(&dir, euid, options.artifacts_dir.is_none()) {
        return not_used(why);
    }
    let dir = &dir;
    match artifacts::open(dir, python) {
        Opened::None => {
            output::info(&format!("None in {}: a clean build", dir.display()));
            None
        }
        Opened::Ignored(why) => not_used(why),
        Opened::Usable(previous) => {
            let archives: Vec<String> = previous
                .manifest
                .archives
                .iter()
                .map(|a| format!("{} ({:.1} MB)", a.name, a.size as f64 / 1e6))
                .collect();
            output::info(&format!(
                "{}: {} (sha256 checked)",
                dir.display(),
                if archives.is_empty() {
                    "no archives".to_owned()
                } else {
                    archives.join(", ")
                }
            ));
            Some(*previous)
        }
    }
}

/// What the dependencies step did, for the steps after it.
struct Dependencies {
    /// What decides the installed dependencies ([`dependency_inputs`]).
    inputs: Option<artifacts::Inputs>,
    /// How the previous build's installed dependencies were restored, when they were.
    reused: Option<artifacts::Reuse>,
    /// The caches unpacked instead, when they were not.
    caches_restored: Vec<String>,
    /// The previous build's caches archive, kept whole when the dependencies were restored: it
    /// holds the files that build collected.
    kept_archive: Option<PathBuf>,
    /// Over restored dependencies, what the install added (what needs compiling).
    installed_over: Option<Vec<PathBuf>>,
    /// The caches that stay in the image (under `$APP_ROOT`), and whether they were marked
    /// before the install to tell what this build reads ([`prune::mark`]).
    kept_caches: Vec<PathBuf>,
    marked: bool,
}

impl Dependencies {
    /// Which part of the virtualenv is compiled: restored dependencies carry the previous
    /// build's bytecode, so only what the install over them wrote, and all of it when `touched`
    /// (a hook or the server install may have written into it).
    fn venv_part(&mut self, touched: bool) -> bytecode::VenvPart {
        match self.installed_over.take() {
            _ if touched => bytecode::VenvPart::Whole,
            _ if self.reused == Some(artifacts::Reuse::Whole) => bytecode::VenvPart::Nothing,
            Some(paths) => bytecode::VenvPart::Only(paths),
            None => bytecode::VenvPart::Whole,
        }
    }
}

/// The installed dependencies: the previous build's restored (whole, or as the base the
/// installer runs over), else its caches unpacked; then the install, unless restored whole.
fn dependencies_step(
    previous: Option<&Previous>,
    plan: &package_manager::Plan,
    install: &Install<'_>,
    app: &Path,
    layout: &s2i_facts::Layout,
    caches: &[(String, PathBuf)],
    digest: &str,
) -> Result<Dependencies, AssembleError> {
    let (app_root, state_dir) = (&install.venv.root, layout.dir());
    let inputs = dependency_inputs(plan, install, app, digest);
    let reused = match previous {
        Some(previous) => {
            restore_dependencies(previous, app_root, state_dir, inputs.as_ref(), digest)?
        }
        None => None,
    };
    let kept_archive = layout.kept_caches();
    let kept_archive = (reused.is_some() && kept_archive.is_file()).then_some(kept_archive);
    let mut caches_restored = Vec::new();
    if let Some(previous) = previous {
        if reused.is_none() {
            caches_restored = restore_caches(previous, caches, state_dir, digest);
        }
        // What no step used is not committed into the image.
        previous.remove_archives();
    }
    let kept_caches: Vec<PathBuf> = caches
        .iter()
        .map(|(_, dir)| dir.clone())
        .filter(|dir| dir.starts_with(app_root))
        .collect();
    let marked = prune::mark(&kept_caches);
    let before_install = matches!(reused, Some(artifacts::Reuse::Base { .. }))
        .then(|| bytecode::distributions(install.venv));
    if reused != Some(artifacts::Reuse::Whole) {
        install_dependencies(plan, install, app, layout)?;
        index::scrub_exported(state_dir);
    }
    Ok(Dependencies {
        installed_over: before_install
            .map(|before| bytecode::installed_since(install.venv, &before)),
        inputs,
        reused,
        caches_restored,
        kept_archive,
        kept_caches,
        marked,
    })
}

/// What decides the installed dependencies, hashed; `None` when they cannot be restored as a
/// whole (the app itself is installed as a package, or requirements.txt names other files).
fn dependency_inputs(
    plan: &package_manager::Plan,
    install: &Install<'_>,
    app: &Path,
    digest: &str,
) -> Option<artifacts::Inputs> {
    if plan.install_package.is_some() || artifacts::requirements_not_reusable(app).is_some() {
        return None;
    }
    let venv = install.venv;
    let mut parts = std::collections::BTreeMap::new();
    parts.insert("python".to_owned(), format!("{:?}", venv.version));
    parts.insert("installer".to_owned(), install.name().to_owned());
    parts.insert(
        "package manager".to_owned(),
        plan.manager.map(|m| m.name()).unwrap_or("none").to_owned(),
    );
    parts.insert("virtualenv".to_owned(), artifacts::venv_digest(&venv.root));
    if let Some(member) = &plan.workspace {
        parts.insert("uv workspace member".to_owned(), member.package.clone());
    }
    for (name, value) in install.env {
        let relevant = (name.starts_with("PIP_") || name.starts_with("UV_"))
            && !name.ends_with("_CACHE_DIR")
            || [
                "UPGRADE_PIP_TO_LATEST",
                "S2I_INSTALLER",
                "S2I_PACKAGE_MANAGER",
                package_manager::GROUPS_VARIABLE,
                package_manager::EXTRAS_VARIABLE,
            ]
            .contains(&name);
        if relevant {
            parts.insert(format!("env {name}"), value.to_owned());
        }
    }
    let base = artifacts::inputs_digest(&parts);
    parts.insert("dependency files".to_owned(), digest.to_owned());
    Some(artifacts::Inputs {
        all: artifacts::inputs_digest(&parts),
        base,
        asked: plan.manager.and_then(|manager| {
            package_manager::packages_asked_for(manager, app).map(|packages| artifacts::Asked {
                file: manager.file(),
                packages,
            })
        }),
    })
}

/// Restores the previous build's installed dependencies when nothing that decides them
/// changed, or when only the dependency files did and the package manager's file still asks
/// for every package it asked for (the installer then runs over them); says why not otherwise.
fn restore_dependencies(
    previous: &Previous,
    app_root: &Path,
    state_dir: &Path,
    inputs: Option<&artifacts::Inputs>,
    digest: &str,
) -> Result<Option<artifacts::Reuse>, AssembleError> {
    let reuse = match previous.reuse(app_root, inputs, digest) {
        Ok(reuse) => reuse,
        Err(why) => {
            output::info(&format!(
                "Installed dependencies not restored: {why}; installing (the caches apply)"
            ));
            return Ok(None);
        }
    };
    let started = Instant::now();
    match previous.restore_dependencies(app_root, state_dir) {
        Ok(restored) => {
            let counts = format!(
                "({} entries of {}: {} written, {} already there as the builder made them, {} removed) in {:.1?}",
                restored.entries,
                app_root.display(),
                restored.written,
                restored.kept,
                restored.removed,
                started.elapsed()
            );
            output::info(&match &reuse {
                artifacts::Reuse::Whole => format!("Nothing that decides the dependencies changed (dependency files, Python, installer and its settings, the builder's virtualenv): restored the installed dependencies of the previous build {counts}"),
                artifacts::Reuse::Base { file, .. } => format!(
                    "The dependency files changed, but {file} still asks for every package it asked for ({}) and nothing else that decides the dependencies changed: restored the installed dependencies of the previous build {counts}; {file} is installed over them, so only what is new or changed is downloaded and installed",
                    reuse.added().unwrap_or_else(|| "none added: versions or markers changed".to_owned())
                ),
            });
            Ok(Some(reuse))
        }
        Err(artifacts::RestoreError::Unpack { archive, source }) => {
            output::warning(&format!(
                "{} did not unpack ({source}): installing the dependencies",
                archive.display()
            ));
            Ok(None)
        }
        Err(e) => Err(AssembleError::Restore(e)),
    }
}

/// Unpacks the previous build's caches; returns the names of those restored.
fn restore_caches(
    previous: &Previous,
    caches: &[(String, PathBuf)],
    state_dir: &Path,
    digest: &str,
) -> Vec<String> {
    let restored = previous.restore_caches(caches, state_dir);
    if restored.is_empty() {
        output::info("The artifacts hold no cache this build can use");
        return restored;
    }
    output::info(&format!(
        "Reusing the {} cache(s) from {}",
        restored.join(" and "),
        previous.dir.display()
    ));
    if previous.dependency_files_changed(digest) {
        output::info("The dependency files changed since that build: dependencies are resolved again (caches still apply)");
    }
    restored
}

/// What the build took from the previous one, for the summary: the dependencies or caches
/// (`had_artifacts`: there were artifacts), and the Django steps it did not run again.
fn describe_reuse(had_artifacts: bool, deps: &Dependencies, django_reused: &[&str]) -> String {
    let mut reused = match &deps.reused {
        Some(artifacts::Reuse::Whole) => {
            "the previous build's installed dependencies, whole (nothing that decides them changed)"
                .to_owned()
        }
        Some(reuse @ artifacts::Reuse::Base { file, .. }) => format!(
            "the previous build's installed dependencies, with {file} installed over them{}",
            reuse.added().map(|a| format!(" ({a})")).unwrap_or_default()
        ),
        None if !deps.caches_restored.is_empty() => format!(
            "the previous build's {} cache(s); the dependencies were installed afresh",
            deps.caches_restored.join(" and ")
        ),
        None if had_artifacts => {
            "nothing usable from the previous build's artifacts (see above)".to_owned()
        }
        None => "nothing (no previous build's artifacts: a clean build)".to_owned(),
    };
    if !django_reused.is_empty() {
        reused.push_str(&format!(
            "; {} (nothing they read changed)",
            django_reused.join(" and ")
        ));
    }
    reused
}

/// What the next build reads to reuse this one's ([`artifacts::Manifest`]); a failure to write
/// it is a warning.
fn save_manifest(
    venv: &venv::Venv,
    dependency_digest: String,
    caches: Vec<(String, PathBuf)>,
    inputs: Option<artifacts::Inputs>,
    started: SystemTime,
    django: Option<rebuild::DjangoRecord>,
) {
    let app_root = &venv.root;
    let manifest = artifacts::Manifest {
        format: artifacts::FORMAT,
        python_version: venv.short_version(),
        dependency_digest,
        caches,
        inputs: inputs.as_ref().map(|i| i.all.clone()),
        base_inputs: inputs.as_ref().map(|i| i.base.clone()),
        packages: inputs.and_then(|i| i.asked).map(|a| a.packages),
        app_root: app_root.clone(),
        entries: artifacts::dependency_entries(app_root),
        started: started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        from_builder: Vec::new(),
        archives: Vec::new(),
        django,
    };
    let state_dir = s2i_facts::Layout::new(app_root).dir().to_path_buf();
    if let Err(e) = artifacts::write_manifest(&state_dir, &manifest) {
        output::warning(&format!(
            "the next build cannot reuse this one's caches: {e}"
        ));
    }
}

/// Prunes the caches kept in the image to what this build used and to the size budget.
fn prune_caches(dirs: &[PathBuf], marked: bool, since: SystemTime, env: &Env) {
    if !dirs.iter().any(|dir| dir.is_dir()) {
        return;
    }
    output::header("Pruning the caches kept in the image");
    let value = env.get(prune::BUDGET_VARIABLE);
    let budget = prune::budget_bytes(value).unwrap_or_else(|| {
        output::warning(&format!(
            "{}={:?} is not a whole number of MiB: using the default of {} MiB",
            prune::BUDGET_VARIABLE,
            value.unwrap_or_default(),
            prune::DEFAULT_BUDGET_MB
        ));
        prune::DEFAULT_BUDGET_MB * 1024 * 1024
    });
    if !marked {
        output::info(
            "This file system records no access times: caches are pruned to the budget only",
        );
    }
    let pruned = prune::prune(dirs, marked, since, budget);
    let mib = |bytes: u64| bytes as f64 / 1024.0 / 1024.0;
    output::info(&format!(
        "Kept {:.1} MiB (budget {:.0} MiB, {}); removed {:.1} MiB: {} entr{} this build did not use, {} over the budget",
        mib(pruned.kept_bytes),
        mib(budget),
        prune::BUDGET_VARIABLE,
        mib(pruned.removed_bytes),
        pruned.unused,
        if pruned.unused == 1 { "y" } else { "ies" },
        pruned.over_budget
    ));
}

fn install_dependencies(
    plan: &package_manager::Plan,
    install: &Install<'_>,
    app: &Path,
    layout: &s2i_facts::Layout,
) -> Result<(), AssembleError> {
    for note in &plan.notes {
        output::info(note);
    }
    if install.env.flag("UPGRADE_PIP_TO_LATEST") {
        install.upgrade_pip()?;
    }
    if plan.pipenv_tool {
        let pipenv = install.pipenv_tool(layout)?;
        if plan.lock_pipfile {
            output::info("Pipfile has no Pipfile.lock: locking it with pipenv (ENABLE_PIPENV)");
            install.pipenv_lock(&pipenv, app)?;
        }
    }
    if !plan.selection.is_empty() {
        output::info(&format!(
            "Also installing {} ({} / {})",
            plan.selection.describe(),
            package_manager::GROUPS_VARIABLE,
            package_manager::EXTRAS_VARIABLE
        ));
    }
    match (plan.manager, &plan.workspace) {
        (Some(_), Some(member)) => {
            output::info(&format!(
                "Installing the member {} from {} with {}",
                member.package,
                member.root.join("uv.lock").display(),
                install.name()
            ));
            install.uv_sync(&plan.selection, &member.root, Some(&member.package))?;
        }
        (Some(manager), None) => {
            output::info(&format!("Installing {} with {}", manager.file(), install.name()));
            install.dependencies(manager, &plan.selection, app, layout)?;
        }
        (None, _) if plan.install_package.is_none() => output::info("No requirements.txt, Pipfile.lock, poetry.lock, uv.lock, setup.py or pyproject.toml: no dependencies to install"),
        (None, _) => {}
    }
    if let Some(file) = plan.install_package {
        output::info(&format!("Installing the application as a package ({file})"));
        // A Poetry project's groups and extras came from its lock (poetry export) already.
        let selection = if plan.manager == Some(package_manager::PackageManager::Poetry) {
            package_manager::Selection::default()
        } else {
            plan.selection.clone()
        };
        install.app_package(file, &selection, app)?;
    }
    Ok(())
}

/// Installs the chosen server when the virtualenv lacks it; says whether it did.
fn install_server(
    install: &Install<'_>,
    facts: &Facts,
) -> Result<(server::Choice, bool), AssembleError> {
    output::header("Installing the server");
    let venv = install.venv;
    let python2 = venv.version.0 < 3;
    let choice = server::choose(install.env, &venv.root, facts, python2)?;
    let Some(chosen) = &choice.server else {
        output::info(&format!(
            "None: the application starts its own server ({})",
            choice.app
        ));
        return Ok((choice, false));
    };
    let server = chosen.server;
    if venv.bin(server.executable()).is_file() {
        output::info(&format!(
            "{} is installed (chosen by {})",
            server.executable(),
            chosen.reason
        ));
        return Ok((choice, false));
    }
    output::info(&format!(
        "{} is not installed yet (chosen by {}): installing it",
        server.executable(),
        chosen.reason
    ));
    let requirement = server
        .requirement(python2)
        .ok_or(server::ChooseServerError::NoPython2 { server })?;
    // The server is the build's choice, not a dependency the app lists: like the build's other
    // tools it must not depend on the user's index serving it.
    install.tool_packages(&format!("installing {server}"), &[requirement])?;
    Ok((choice, true))
}

fn compile_bytecode(venv: &venv::Venv, env: &Env, more: &[&Path], part: &bytecode::VenvPart) {
    output::header("Compiling bytecode");
    let started = Instant::now();
    let lib = venv.root.join("lib");
    match part {
        bytecode::VenvPart::Whole => {}
        bytecode::VenvPart::Nothing => output::info(&format!(
            "Not compiled again: {} holds the restored dependencies with the previous build's bytecode (no hook ran and no server was installed since)",
            lib.display()
        )),
        bytecode::VenvPart::Only(paths) => output::info(&format!(
            "Of {}, only the {} package(s) and module(s) installed over the restored dependencies are compiled: the rest carries the previous build's bytecode",
            lib.display(),
            paths.len()
        )),
    }
    let targets = bytecode::targets(venv, part, more);
    let rounded = bytecode::whole_seconds(&targets);
    output::info(&format!(
        "{rounded} source files' modification times rounded down to the second (so copies keep them exactly)"
    ));
    let parallel = !matches!(part, bytecode::VenvPart::Nothing);
    match bytecode::compile(venv, env, &targets, parallel) {
        bytecode::Compiled::Ok => output::info(&format!(
            "Compiled in {:.1?}: no container compiles them on its first imports",
            started.elapsed()
        )),
        bytecode::Compiled::SomeFailed => output::warning(
            "some Python files do not compile (listed above): they are left without bytecode, \
             and importing them would fail the same way",
        ),
        bytecode::Compiled::NotRun(why) => {
            output::warning(&format!("bytecode was not compiled: {why}"));
        }
    }
}

fn fix_permissions(app_root: &Path) -> Result<(), AssembleError> {
    output::header("Fixing permissions for group 0");
    let started = Instant::now();
    let fixed = permissions::fix(app_root)?;
    output::info(&format!(
        "{} entries checked, {} modes and {} groups changed in {:.1?}",
        fixed.seen,
        fixed.chmod,
        fixed.chgrp,
        started.elapsed()
    ));
    if fixed.not_permitted > 0 {
        output::warning(&format!(
            "{} entries under {} belong to another user and keep their permissions",
            fixed.not_permitted,
            app_root.display()
        ));
    }
    Ok(())
}

/// The app home relative to the source root, by `s2i_detect::app_home`, the resolver run uses.
fn app_home(src: &Path, env: &Env) -> Result<(PathBuf, String), AssembleError> {
    let (home, source) = s2i_detect::app_home(src, env, None).map_err(AssembleError::AppHome)?;
    let home = home
        .strip_prefix(src)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok((home, source))
}

fn report_hooks(ran: Vec<&'static str>) -> Vec<&'static str> {
    if ran.is_empty() {
        output::info("None found");
    }
    ran
}

/// `npm ci && npm run build` when package.json has a build script (before collectstatic).
fn frontend_step(app: &Path, env: &Env) -> Result<(), AssembleError> {
    let Some(frontend) = npm::detect(app)? else {
        return Ok(());
    };
    output::header("Building frontend assets");
    if env.flag(npm::DISABLE_VARIABLE) {
        output::info(&format!(
            "{} is set: package.json's build script is not run",
            npm::DISABLE_VARIABLE
        ));
        return Ok(());
    }
    output::info(&format!(
        "package.json has a build script: {}",
        frontend.build_script
    ));
    npm::build(&frontend, app, env)?;
    Ok(())
}

/// What the Django step recorded for run, what it leaves for the next build, and what it
/// reused from the previous one (for the summary).
type DjangoOutcome = (
    Option<DjangoFacts>,
    Option<rebuild::Pending>,
    Vec<&'static str>,
);

fn django_step(
    venv: &venv::Venv,
    app: &Path,
    layout: &s2i_facts::Layout,
    env: &Env,
    previous: Option<rebuild::Previous<'_>>,
    kept_caches: Option<&Path>,
) -> Result<DjangoOutcome, AssembleError> {
    let Some(settings_module) = django::detect(app, env) else {
        return Ok((None, None, Vec::new()));
    };
    output::header("Django");
    output::info(&format!(
        "manage.py sets DJANGO_SETTINGS_MODULE: {settings_module}"
    ));
    let mut reused = Vec::new();
    let keys = rebuild::Keys::new(app, &settings_module, venv, env);
    let same = previous.filter(|p| {
        p.record.settings.settings_module == settings_module
            && p.record.introspection_key == keys.introspection(&p.record.settings)
    });
    let settings = if let Some(previous) = same {
        output::info("The app's files, the installed distributions and the environment they read are those of the previous build: its settings introspection is reused (Django is not imported)");
        reused.push("the Django settings introspection");
        previous.record.settings.clone()
    } else {
        django::introspect(&venv.python, layout, app, &settings_module, env)?
    };
    output::info(&format!(
        "Django {}: WSGI_APPLICATION={}, ASGI_APPLICATION={}, STATIC_URL={}, STATIC_ROOT={}",
        settings.django_version,
        settings.wsgi_application.as_deref().unwrap_or("(unset)"),
        settings.asgi_application.as_deref().unwrap_or("(unset)"),
        settings.static_url.as_deref().unwrap_or("(unset)"),
        settings.static_root.as_deref().unwrap_or("(unset)"),
    ));
    let python_dir = layout.python();
    let mut facts = DjangoFacts {
        settings_module: settings.settings_module.clone(),
        wsgi_application: settings.wsgi_application.clone(),
        asgi_application: settings.asgi_application.clone(),
        static_url: settings.static_url.clone(),
        static_root: settings.static_root.as_ref().map(|r| app.join(r)),
        staticfiles_installed: settings.staticfiles_installed,
        wrapper_settings_module: None,
    };
    let mut pending = rebuild::Pending {
        keys,
        settings: settings.clone(),
        collected: None,
    };
    // The kept caches archive carries the collected files to the next build: what it holds
    // must be what this build leaves (nothing, when collectstatic does not run).
    let carried = previous.is_some_and(|p| p.record.collected.is_some());
    let keep_static = |static_root: Option<&Path>| {
        if static_root.is_none() && !carried {
            return;
        }
        if let Some(archive) = kept_caches {
            if let Err(e) = rebuild::replace_static(archive, static_root) {
                output::warning(&format!(
                    "the collected files are not kept for the next build ({}: {e}); it has no caches",
                    archive.display()
                ));
            }
        }
    };
    if !settings.staticfiles_installed {
        output::info("django.contrib.staticfiles is not in INSTALLED_APPS: collectstatic skipped");
        keep_static(None);
        return Ok((Some(facts), Some(pending), reused));
    }
    if settings.static_root.is_none() {
        let root = layout.django_static_root();
        let module = django::write_wrapper(&python_dir, &settings.settings_module, &root)?;
        output::info(&format!(
            "STATIC_ROOT is not set: using {module} (the app's settings with STATIC_ROOT = {})",
            root.display()
        ));
        facts.static_root = Some(root);
        facts.wrapper_settings_module = Some(module);
    }
    if env.flag("DISABLE_COLLECTSTATIC") {
        output::info("DISABLE_COLLECTSTATIC is set: collectstatic skipped");
        keep_static(None);
        return Ok((Some(facts), Some(pending), reused));
    }
    let static_root = facts.static_root.clone().unwrap_or_default();
    let wrapper = facts.wrapper_settings_module.as_deref();
    let key = pending.keys.collectstatic(&settings, &static_root, wrapper);
    let restored = match previous {
        Some(previous) => rebuild::restore_static(&previous, key.as_deref(), &static_root),
        None => Err("no previous build".to_owned()),
    };
    match restored {
        Ok(files) => {
            output::info(&format!(
                "The static source directories, the settings and the installed distributions are those of the previous build: its {files} collected files are restored into {} (collectstatic not run)",
                static_root.display()
            ));
            reused.push("the collected static files");
        }
        Err(why) => {
            if previous.is_some() {
                output::info(&format!("Collecting the static files: {why}"));
            }
            django::collectstatic(&venv.python, app, wrapper, &python_dir, env)?;
            keep_static(key.is_some().then_some(static_root.as_path()));
        }
    }
    pending.collected = Some((static_root, facts.wrapper_settings_module.clone()));
    Ok((Some(facts), Some(pending), reused))
}

fn package_facts(python: &Path, helper: &Path, src: &Path, env: &Env) -> Option<PackageFacts> {
    let out = env
        .command(python)
        .arg(helper)
        .arg("package")
        .arg(src)
        .output()
        .ok()?;
    let package: PackageFacts = serde_json::from_slice(&out.stdout).ok()?;
    output::info(&format!(
        "The application is installed as the package {}",
        package.name
    ));
    Some(package)
}

/// Whether the virtualenv's Python imports `concurrent.futures`, which gunicorn's threaded
/// worker needs: always on Python 3; on Python 2 only with the `futures` backport, so asked
/// there, once, for the build record (run starts no Python to find it out).
fn concurrent_futures(venv: &venv::Venv, env: &Env) -> bool {
    if venv.version.0 >= 3 {
        return true;
    }
    output::info(&format!(
        "$ {} -c 'import concurrent.futures'",
        venv.python.display()
    ));
    let found = env
        .command(&venv.python)
        .args(["-c", "import concurrent.futures"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    output::info(if found {
        "concurrent.futures imports (the `futures` package): gunicorn's workers may use threads"
    } else {
        "concurrent.futures does not import (no `futures` package): gunicorn would run sync workers"
    });
    found
}

/// What the candidate application files define (`s2i_detect::candidate_files`), read with
/// Python's `ast` module by the helper: the app's code is not run.
fn module_facts(
    python: &Path,
    helper: &Path,
    app: &Path,
    facts: &Facts,
    env: &Env,
) -> Vec<ModuleFacts> {
    let files = match s2i_detect::candidate_files(app, Some(facts)) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => return Vec::new(),
        Err(e) => {
            output::warning(&format!("the application files were not read: {e}"));
            return Vec::new();
        }
    };
    output::header("Finding the application object");
    let mut command = env.command(python);
    command
        .arg(helper)
        .arg("modules")
        .arg(app)
        .args(&files)
        .current_dir(app);
    let quoted = output::quote_command(&command);
    output::info(&format!("$ {quoted}"));
    let parsed = command.output().ok().and_then(|out| {
        out.status
            .success()
            .then(|| serde_json::from_slice::<Vec<ModuleFacts>>(&out.stdout).ok())
            .flatten()
    });
    let Some(modules) = parsed else {
        output::warning("the application files could not be read; run looks at their text instead");
        return Vec::new();
    };
    for m in &modules {
        if let Some(error) = &m.error {
            output::info(&format!("{}: not read ({error})", m.file.display()));
        }
        for o in &m.objects {
            output::info(&format!(
                "{}: {} `{}` ({}{})",
                m.file.display(),
                format!("{:?}", o.kind).to_ascii_lowercase(),
                o.name,
                o.framework
                    .as_deref()
                    .map(|f| format!("{f}, "))
                    .unwrap_or_default(),
                o.interface
            ));
        }
        for start in &m.starts {
            output::info(&format!(
                "{}: starts {}: {} ({})",
                m.file.display(),
                if start.kind == s2i_facts::StartKind::Development {
                    "the framework's development server"
                } else {
                    "its own server"
                },
                start.call,
                if start.place == s2i_facts::StartPlace::Main {
                    "under if __name__ == \"__main__\""
                } else {
                    "when imported"
                }
            ));
        }
    }
    modules
}

/// ` (end of life since 2020-01-01)` / ` (end of life in 2027-10)` for the summary's Python line.
fn support_note(version: &str) -> String {
    let Some((major, minor)) = version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
    else {
        return String::new();
    };
    match python_support::standing(major, minor, python_support::today()) {
        python_support::Standing::Ended { since } => format!(" (end of life since {since})"),
        python_support::Standing::EndingSoon { until } => format!(" (end of life in {until})"),
        python_support::Standing::Supported { .. } | python_support::Standing::Unknown => {
            String::new()
        }
    }
}

fn summary(
    facts: &Facts,
    choice: &server::Choice,
    hooks_run: &[&str],
    installer: &str,
    reused: &str,
    started: Instant,
) {
    output::header("Summary");
    if let Some(python) = &facts.python {
        output::info(&format!(
            "Python:       {}{}",
            python.version,
            support_note(&python.version)
        ));
    }
    output::info(&format!(
        "Dependencies: {} (installed with {installer})",
        facts.package_manager.as_deref().unwrap_or("none")
    ));
    output::info(&format!("Reused:       {reused}"));
    if let Some(package) = &facts.package {
        output::info(&format!(
            "Package:      {} (modules: {})",
            package.name,
            package.modules.join(", ")
        ));
    }
    if let Some(django) = &facts.django {
        output::info(&format!(
            "Django:       {}{}, static files in {}",
            django.settings_module,
            django
                .wrapper_settings_module
                .as_ref()
                .map(|w| format!(" (run with {w})"))
                .unwrap_or_default(),
            django
                .static_root
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |p| p.display().to_string()),
        ));
    }
    output::info(&format!(
        "Hooks run:    {}",
        if hooks_run.is_empty() {
            "none".to_owned()
        } else {
            hooks_run.join(", ")
        }
    ));
    output::info(&format!("App:          {}", choice.app));
    if let Some(why) = &choice.why {
        output::info(&format!("Why:          {why}"));
    }
    output::info(&format!("Server:       {}", choice.describe()));
    if facts.processes.iter().any(|p| p != "web") {
        output::info(&format!(
            "Processes:    {} (Procfile; `run TYPE` starts one)",
            facts.processes.join(", ")
        ));
    }
    let gunicorn = choice
        .server
        .as_ref()
        .is_some_and(|c| c.server == s2i_detect::Server::Gunicorn);
    if let Some(why) = facts.python.as_ref().and_then(PythonFacts::without_threads) {
        if gunicorn {
            output::info(&format!(
                "Workers:      gunicorn's sync workers, more processes and no threads: its threaded worker needs concurrent.futures; {why}. Add `futures` to requirements.txt for threads."
            ));
        }
    }
    output::info("`run --dry-run` shows the exact command the container will start.");
    output::info(&format!("Build finished in {:.1?}", started.elapsed()));
}

/// Writes `content` to `path`, making its directory first (for tests).
#[cfg(test)]
pub(crate) fn put(path: &Path, content: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, content).expect("write");
}

/// A temporary directory holding `files` (relative path, content), for tests.
#[cfg(test)]
pub(crate) fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        put(&dir.path().join(name), text);
    }
    dir
}
