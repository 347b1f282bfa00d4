//! What `run` does, as a library: `s2i/src/bin/run.rs` only reads its arguments.
//!
//! - [`start_process`]: decides the [`Plan`] (the build's decision, or detection at start:
//!   `s2i_detect::decision`; the server command in `s2i-servers`, tuning, migrate), prints it,
//!   runs the deploy hooks and migrate ([`hooks`]), and starts the server under the init
//!   (`s2i-init`).
//! - `report`: what `run --dry-run` prints.
//! - [`release`]: `run --release`; [`probe`]: `run --check-ready` / `run --check-live`
//!   (migrate under the database lock, the release commands and the probes are `s2i-release`'s).
//! - [`run_command`]: `run -- COMMAND`.
//! - [`errors`]: every message `run` shows when it cannot start.

pub mod errors;
pub mod hooks;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use errors::RunError;
use s2i_detect::{Detection, Inputs};
use s2i_env::Env;
use s2i_facts::{Make, StartDirs};
use s2i_init::Signal;
use s2i_release::{Check, Migrate, Phase, StateFile, When};
use s2i_servers::tuning::{self, CgroupFs, Limits};
use s2i_servers::{Launch, Settings};
use s2i_userdb::Provision;

/// `run --help`.
pub const USAGE: &str = "\
Usage: run                     start the application (detects how it is served)
       run TYPE                start the Procfile's process type TYPE (e.g. `run worker`;
                               or APP_PROCESS_TYPE=TYPE), under the same init as web
       run --dry-run [TYPE]    print what would start, why, and the exact command
       run --release           the release phase: Django's migrate (under a database lock)
                               and the release hook / Procfile release: line, then exit
       run --check-ready [PATH]
                               readiness probe: exit 0 once migrations are done and the
                               server answers GET PATH (default /) on $PORT below 500
       run --check-live        liveness probe: exit 0 while starting or migrating, then
                               while the server accepts connections on $PORT
       run -- COMMAND          run COMMAND under the init (signals, reaping, exit codes)
       run --sbom              print the image's bill of materials (CycloneDX 1.6 JSON,
                               $APP_ROOT/.python-s2i/sbom.cdx.json, written by assemble)
";

/// The prefix of every line `run` writes about itself.
pub const PREFIX: &str = "run: ";

/// Everything decided before anything is started.
#[derive(Debug)]
pub struct Plan {
    pub app_root: PathBuf,
    /// The environment the server inherits (before [`Launch::env`] is added).
    pub env: Env,
    /// The process type started (`web` unless `run TYPE` / `APP_PROCESS_TYPE` asked).
    pub process: s2i_detect::ProcessChoice,
    pub detection: Detection,
    /// Where the decision came from: the build record, or why it was decided again at start
    /// ([`s2i_detect::decision`]).
    pub decided: String,
    pub tuning_reason: String,
    pub launch: Launch,
    pub runtime_dir: PathBuf,
    pub uid: u32,
    pub passwd_note: String,
    /// The port the server listens on (the probes' state file is named after it).
    pub port: u16,
    /// Django's migrate, when it runs (before the server, or in the release phase).
    pub migrate: Option<Migrate>,
    pub migrate_note: Option<String>,
    /// The init's options (grace period, debug), from the same environment.
    pub init: s2i_init::Options,
    /// The deploy-time overrides applied over the build record ([`s2i_env::variables::Role`]).
    pub overrides: Vec<&'static str>,
}

/// What a plan is made from; [`PlanInputs::from_process`] reads them from this process.
#[derive(Debug, Clone)]
pub struct PlanInputs {
    pub env: Env,
    pub uid: u32,
    /// The container's CPU and memory limits.
    pub limits: Limits,
    /// `--dry-run`: no hook is run and nothing is written.
    pub dry_run: bool,
    /// A start or the release phase (`run --release`): decides whether migrate runs.
    pub when: When,
    /// The process type of `run TYPE`; `None`: `APP_PROCESS_TYPE`, else `web`.
    pub process: Option<String>,
}

impl PlanInputs {
    /// The process environment, user and cgroup limits.
    #[must_use]
    pub fn from_process(dry_run: bool) -> Self {
        let host_cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            env: Env::from_process(),
            uid: nix::unistd::getuid().as_raw(),
            limits: CgroupFs::system().limits(host_cpus),
            dry_run,
            when: When::Start,
            process: None,
        }
    }
}

impl Plan {
    /// Decides everything: the environment (with the source's environment files and, when an init
    /// is given, the `deploy-env` hook sourced under it), detection, the server command,
    /// migrate. `--dry-run` gives no init: no hook runs.
    ///
    /// # Errors
    /// Whatever stops the start: a bad setting, nothing to run, a server not installed, a
    /// failing `deploy-env`, a stop signal while it runs.
    pub fn make(inputs: PlanInputs, init: Option<&mut s2i_init::Init>) -> Result<Self, RunError> {
        let PlanInputs {
            mut env,
            uid,
            limits,
            dry_run,
            when,
            process,
        } = inputs;
        let app_root = env.app_root();
        let src = app_root.join("src");
        start_environment(&mut env, &app_root)?;
        if let (false, Some(init)) = (dry_run, init) {
            // The grace period of the process environment: deploy-env may change it for later.
            let options = s2i_init::Options::from_env(&env).unwrap_or_default();
            if let Some(sourced) = hooks::source_deploy_env(init, &options, &src, &env)? {
                env = sourced;
            }
        }
        let facts = s2i_facts::Facts::load(&app_root).map_err(RunError::Facts)?;
        if let Some(newer) = facts.as_ref().and_then(s2i_facts::Facts::newer_than_this) {
            eprintln!("{PREFIX}warning: {newer}");
        }
        let process =
            s2i_detect::process_choice(process.as_deref(), &env).map_err(RunError::Detect)?;
        let (detection, decided) = s2i_detect::decision(
            Inputs {
                app_root: &app_root,
                env: &env,
                facts: facts.as_ref(),
            },
            &process,
        )
        .map_err(RunError::Detect)?;
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let has_entry = s2i_userdb::accounts(&passwd).iter().any(|a| a.uid == uid);
        if !has_entry {
            // Before the server is looked up on PATH, which the same `:` would split.
            s2i_userdb::check_home(uid, &detection.src).map_err(RunError::Passwd)?;
        }
        let settings = Settings::from_env(&env).map_err(RunError::Server)?;
        let tuning = tuning::tune(&limits, settings.web_concurrency);
        // What the build found out about threads (no Python is started here).
        let without_threads = facts
            .as_ref()
            .and_then(|f| f.python.as_ref())
            .and_then(s2i_facts::PythonFacts::without_threads)
            .map(|why| tuning::without_threads(&limits, settings.web_concurrency, &why));
        let StartDirs {
            run: runtime_dir,
            python: python_dir,
        } = start_dirs(&app_root, uid, dry_run)?;
        let serve_as = (uid == 0).then(|| serve_as_for_root(&detection.home));
        let init = s2i_init::Options::from_env(&env).map_err(|e| RunError::Init(e.to_string()))?;
        let launch = s2i_servers::launch(
            &detection,
            &s2i_servers::Context {
                app_root: &app_root,
                env: &env,
                settings: &settings,
                tuning: &tuning,
                without_threads: without_threads.as_ref(),
                runtime_dir: &runtime_dir,
                python_dir: &python_dir,
                grace: init.grace,
                serve_as,
            },
        )
        .map_err(RunError::Server)?;
        let passwd_note = if has_entry {
            format!("UID {uid} has a passwd entry")
        } else {
            format!("UID {uid} has no passwd entry: one is added (/etc/passwd if writable, else nss_wrapper)")
        };
        let (migrate, migrate_note) = if process.is_web() {
            s2i_release::migrate::plan(&detection, &app_root, &env, when)
                .map_err(RunError::Migrate)?
        } else {
            let note = format!(
                "migrate: not run by the {} process (the web process and `run --release` run it)",
                process.name
            );
            (None, Some(note))
        };
        let overrides = facts.as_ref().map(|f| f.overrides(|n| env.get(n)));
        Ok(Self {
            overrides: overrides.unwrap_or_default(),
            app_root,
            env,
            process,
            detection,
            decided,
            tuning_reason: launch.tuning.clone().unwrap_or(tuning.reason),
            launch,
            runtime_dir,
            uid,
            passwd_note,
            port: settings.port,
            migrate,
            migrate_note,
            init,
        })
    }
}

/// The environment every part of `run` reads (the plan, the probes): the process's, refused
/// variables checked, with the source's environment files read and expanded as assemble read
/// them ([`s2i_detect::load_environment`]).
fn start_environment(env: &mut Env, app_root: &Path) -> Result<(), RunError> {
    env.check_refused(
        s2i_env::Phase::Start,
        "the environment run was started with",
    )
    .map_err(RunError::Env)?;
    s2i_detect::load_environment(env, &app_root.join("src"), s2i_env::Phase::Start)
        .map(|_| ())
        .map_err(RunError::Env)
}

/// Where this start writes ([`StartDirs::decide`]: `$APP_ROOT/.python-s2i` when writable, else
/// the private `/tmp/python-s2i-<uid>`); `look_only` (`--dry-run`, the probes) creates nothing.
fn start_dirs(app_root: &Path, uid: u32, look_only: bool) -> Result<StartDirs, RunError> {
    let make = if look_only { Make::Look } else { Make::Create };
    StartDirs::decide(
        &s2i_facts::Layout::new(app_root),
        &std::env::temp_dir(),
        uid,
        make,
    )
    .map_err(RunError::StartDir)
}

/// The account a root-started server drops to: the owner of the application home when it is
/// not root, else `nobody`.
fn serve_as_for_root(home: &Path) -> (String, String) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let accounts = s2i_userdb::accounts(&passwd);
    let owner = std::fs::metadata(home).map(|m| m.uid()).unwrap_or(0);
    let account = accounts
        .iter()
        .find(|a| a.uid == owner && owner != 0)
        .or_else(|| accounts.iter().find(|a| a.name == "nobody"));
    match account {
        Some(a) => (
            a.name.clone(),
            s2i_userdb::group_name(&group, a.gid).unwrap_or_else(|| a.gid.to_string()),
        ),
        None => ("nobody".into(), "nogroup".into()),
    }
}

/// What `run --dry-run` prints (`dry_run`), or the lines `run` logs before it starts.
fn report(plan: &Plan, dry_run: bool) -> String {
    let d = &plan.detection;
    let l = &plan.launch;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "App root:    {} (sources in {})",
        plan.app_root.display(),
        d.src.display()
    );
    let _ = writeln!(out, "Home:        {} ({})", d.home.display(), d.home_source);
    let _ = writeln!(out, "Deploy mode: {}", d.mode.describe());
    if !plan.overrides.is_empty() {
        let names = plan.overrides.join(", ");
        let _ = writeln!(
            out,
            "Overrides:   {names} (set at start, not as the build saw)"
        );
    }
    if !plan.process.is_default() {
        let _ = writeln!(
            out,
            "Process:     {} ({})",
            plan.process.name, plan.process.source
        );
    }
    let _ = writeln!(out, "Decision:    {}", plan.decided);
    if dry_run {
        out.push_str("Detection (first match wins):\n");
        for v in &d.verdicts {
            let mark = if v.matched { "MATCH" } else { "no" };
            let _ = writeln!(out, "  [{mark:5}] {}: {}", v.rule, v.why);
        }
    }
    let _ = writeln!(out, "Application: {}", d.app.describe());
    let _ = writeln!(out, "Server:      {}", l.server_reason);
    if l.server.is_some() {
        let _ = writeln!(out, "Tuning:      {}", plan.tuning_reason);
    }
    let _ = writeln!(
        out,
        "Stop:        SIGTERM {}",
        if l.stop == Signal::SIGTERM {
            "is passed on (graceful stop)".to_owned()
        } else {
            format!("is sent as {} (graceful stop)", l.stop.as_str())
        }
    );
    let mut before = vec![plan.passwd_note.clone()];
    before.extend(plan.migrate_note.clone());
    let hooks = hooks::present(&d.src);
    if !hooks.is_empty() {
        before.push(format!("hooks: {}", hooks.join(", ")));
    }
    for note in l.notes.iter().chain(&before) {
        let _ = writeln!(out, "Note:        {note}");
    }
    let _ = writeln!(out, "Directory:   {}", l.cwd.display());
    if dry_run {
        out.push_str("Environment (set by run):\n");
        for (k, v) in &l.env {
            let _ = writeln!(out, "  {k}={v}");
        }
    }
    let _ = writeln!(out, "Command:     {}", l.command_line());
    out
}

/// `run` and `run TYPE` (`dry_run`: with `--dry-run`): decides, reports, runs the deploy hooks
/// and migrate, and starts the server, or the Procfile's process type `process` (`None`:
/// `APP_PROCESS_TYPE`, else `web`), under the init; returns its exit code. Only the web process
/// records its phase for the probes (the state file is named after `$PORT`, which another type
/// does not serve).
///
/// # Errors
/// Anything that stops the start before the process runs; an unknown process type.
pub fn start_process(dry_run: bool, process: Option<&str>) -> Result<u8, RunError> {
    let inputs = |dry_run| PlanInputs {
        process: process.map(str::to_owned),
        ..PlanInputs::from_process(dry_run)
    };
    if dry_run {
        let plan = Plan::make(inputs(true), None)?;
        print!("{}", s2i_message::redact(&report(&plan, true)));
        return Ok(0);
    }
    let mut init = take_over()?;
    // Only the web process records its phase for the probes (the state file is named after
    // `$PORT`, which another type does not serve).
    let web = s2i_detect::process_choice(process, &Env::from_process())
        .is_ok_and(|choice| choice.is_web());
    // `starting` is recorded before deploy-env is sourced, where the probes look (the
    // environment run was started with): `run --check-live` passes while it runs.
    let probed = if web {
        probe_state(Env::from_process(), false).ok()
    } else {
        None
    };
    if let Some(state) = &probed {
        record(std::slice::from_ref(state), Phase::Starting);
    }
    let plan = Plan::make(inputs(false), Some(&mut init))?;
    for line in report(&plan, false).lines() {
        eprintln!("{PREFIX}{}", s2i_message::redact(line));
    }
    // deploy-env may have moved the port or APP_ROOT: the phase goes to both places.
    let planned = StateFile::new(&plan.runtime_dir, plan.port);
    let mut state = vec![planned.clone()];
    state.extend(probed.filter(|probed| *probed != planned));
    if !plan.process.is_web() {
        state.clear();
    }
    record(&state, Phase::Starting);
    let env = prepare(&plan)?;
    let d = &plan.detection;
    hooks::run_deploy_hooks(
        &mut init,
        &plan.init,
        &d.src,
        &d.home,
        &env,
        &plan.runtime_dir,
    )?;
    if let Some(migrate) = &plan.migrate {
        record(&state, Phase::Migrating);
        run_migrate(&mut init, &plan, migrate, &env)?;
    }
    let options = match plan.launch.stop {
        Signal::SIGTERM => plan.init.clone(),
        other => plan.init.clone().translate(Signal::SIGTERM, other),
    };
    let mut command = env.command(&plan.launch.program);
    command
        .args(&plan.launch.args)
        .current_dir(&plan.launch.cwd);
    record(&state, Phase::Serving);
    Ok(init.run_main(command, &options))
}

/// The init, taken over before anything else runs: from here on, TERM/INT reach whatever runs
/// (deploy-env, hooks, migrate, release commands, the server) and stop the start; nothing runs
/// outside it.
fn take_over() -> Result<s2i_init::Init, RunError> {
    let debug = s2i_init::Options::from_env(&Env::from_process()).is_ok_and(|o| o.debug);
    s2i_init::Init::take_over(debug).map_err(|e| RunError::Signals(e.to_string()))
}

/// Runs `command` as a step of the init; its exit code, or the stop that ends the start.
fn step(
    init: &mut s2i_init::Init,
    command: Command,
    options: &s2i_init::Options,
    name: &str,
) -> Result<u8, RunError> {
    match init.step(command, options, name) {
        Ok(s2i_init::Step::Ended(ended)) => Ok(ended.exit_code()),
        Ok(s2i_init::Step::Stopped { signal, code }) => Err(hooks::stopped(signal, code)),
        Err(e) => {
            eprintln!("{PREFIX}{e}");
            Ok(e.exit_code())
        }
    }
}

/// Where this start is, for `run --check-ready` / `--check-live`, in each of `states`; a start
/// that cannot record it still starts (the probes then say why they fail).
fn record(states: &[StateFile], phase: Phase) {
    for state in states {
        if let Err(e) = state.set(std::process::id(), phase) {
            eprintln!(
                "{PREFIX}warning: cannot record the start's phase in {}: {e} (run --check-ready will fail)",
                state.path.display()
            );
        }
    }
}

/// The environment the application's processes get, once the passwd entry is made and the
/// generated files are written.
fn prepare(plan: &Plan) -> Result<Env, RunError> {
    let mut env = plan.env.clone();
    env.extend(plan.launch.env.iter().cloned());
    if let Some(extra) = passwd_entry(plan)? {
        env.extend(extra);
    }
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |error| RunError::Prepare { path, error }
    };
    for (path, text) in &plan.launch.files {
        if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(failed(dir))?;
            }
            std::fs::write(path, text).map_err(failed(path))?;
        }
    }
    Ok(env)
}

/// Django's migrate under the database lock, as a step of the init (signals reach it; after a
/// stop signal nothing more is started).
fn run_migrate(
    init: &mut s2i_init::Init,
    plan: &Plan,
    migrate: &Migrate,
    env: &Env,
) -> Result<(), RunError> {
    let helper = Migrate::write_helper(&plan.runtime_dir).map_err(RunError::Migrate)?;
    eprintln!(
        "{PREFIX}running `{}` under a database lock ({} {})",
        migrate.describe(),
        migrate.python.display(),
        helper.display()
    );
    let command = migrate.command(&helper, &plan.detection.home, env);
    let code = step(init, command, &plan.init, "migrate")?;
    migrate.outcome(code).map_err(RunError::Migrate)
}

/// `run --release`: migrate (whatever `DISABLE_MIGRATE` says) and the release commands, each
/// under the init; returns 0, or stops at the first failure.
///
/// # Errors
/// The plan cannot be made, the migration or a release command failed.
pub fn release() -> Result<u8, RunError> {
    let mut init = take_over()?;
    let mut inputs = PlanInputs::from_process(false);
    inputs.when = When::Release;
    // The release phase is the web process's, whatever APP_PROCESS_TYPE a worker's
    // deployment sets.
    inputs.process = Some("web".to_owned());
    let plan = Plan::make(inputs, Some(&mut init))?;
    let d = &plan.detection;
    let commands = s2i_release::phase::commands(&d.src, &d.home).map_err(RunError::Release)?;
    eprintln!("{PREFIX}release phase for {}", d.app.describe());
    if let Some(note) = &plan.migrate_note {
        eprintln!("{PREFIX}{note}");
    }
    for c in &commands {
        eprintln!("{PREFIX}release command: {}", c.describe());
    }
    if plan.migrate.is_none() && commands.is_empty() {
        eprintln!(
            "{PREFIX}release phase: nothing to do (no Django manage.py, no {}, no Procfile release: line)",
            s2i_release::phase::RELEASE_HOOK
        );
        return Ok(0);
    }
    let env = prepare(&plan)?;
    if let Some(migrate) = &plan.migrate {
        run_migrate(&mut init, &plan, migrate, &env)?;
    }
    for c in &commands {
        eprintln!("{PREFIX}running release command {}", c.describe());
        let code = step(
            &mut init,
            c.command(&d.home, &env),
            &plan.init,
            &c.describe(),
        )?;
        c.outcome(code).map_err(RunError::Release)?;
    }
    eprintln!("{PREFIX}release phase done");
    Ok(0)
}

/// `run --check-ready` / `run --check-live`: prints one line saying why; returns the exit code
/// (0 passes, 1 fails).
#[must_use]
pub fn probe(check: &Check) -> u8 {
    let state = match probe_state(Env::from_process(), true) {
        Ok(state) => state,
        Err(why) => {
            println!("failed: {why}");
            return 1;
        }
    };
    let (code, why) = match s2i_release::ready::check(&state, check) {
        Ok(why) => (0, why),
        Err(why) => (1, why),
    };
    println!("{why}");
    code
}

/// The state file the probes read, from `env` (the environment run was started with, with
/// the source's environment files); `probing`: only looked for, not created.
fn probe_state(mut env: Env, probing: bool) -> Result<StateFile, String> {
    let root = env.app_root();
    start_environment(&mut env, &root).map_err(|e| errors::message(&e).headline)?;
    let port = Settings::from_env(&env).map_err(|e| e.to_string())?.port;
    let uid = nix::unistd::getuid().as_raw();
    let dirs = start_dirs(&root, uid, probing).map_err(|e| {
        let message = errors::message(&e);
        format!("{} ({})", message.headline, message.found.join("; "))
    })?;
    Ok(StateFile::new(&dirs.run, port))
}

/// Gives an arbitrary UID a passwd entry; returns variables nss_wrapper needs.
fn passwd_entry(plan: &Plan) -> Result<Option<Vec<(String, String)>>, RunError> {
    let gid = nix::unistd::getgid().as_raw();
    let libs: Vec<PathBuf> = s2i_userdb::NSS_WRAPPER_LIBS
        .iter()
        .map(PathBuf::from)
        .collect();
    let provision = s2i_userdb::ensure_entry(&s2i_userdb::Request {
        uid: plan.uid,
        gid,
        home: &plan.detection.src,
        passwd: Path::new("/etc/passwd"),
        group: Path::new("/etc/group"),
        state_dir: &plan.runtime_dir,
        libs: &libs,
        ld_preload: plan.env.get("LD_PRELOAD"),
    })
    .map_err(RunError::Passwd)?;
    let mut extra = Vec::new();
    match provision {
        Provision::Present { .. } => return Ok(None),
        Provision::Appended { name, path } => eprintln!(
            "{PREFIX}UID {} had no passwd entry: added `{name}` to {}",
            plan.uid,
            path.display()
        ),
        Provision::NssWrapper { name, env } => {
            eprintln!(
                "{PREFIX}UID {} had no passwd entry: `{name}` is provided through nss_wrapper ({})",
                plan.uid,
                env.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            extra = env;
        }
    }
    if plan
        .env
        .get("HOME")
        .is_none_or(|h| h.is_empty() || h == "/")
    {
        extra.push(("HOME".into(), plan.detection.src.display().to_string()));
    }
    Ok(Some(extra))
}

/// `run -- COMMAND [ARGS...]`: the command under the init; returns its exit code.
#[must_use]
pub fn run_command(argv: &[OsString]) -> u8 {
    let Some((program, args)) = argv.split_first() else {
        eprintln!("{PREFIX}`run --` needs a command to run, e.g. `run -- python app.py`");
        return 2;
    };
    let options = match s2i_init::Options::from_env(&Env::from_process()) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{PREFIX}{e}");
            return 2;
        }
    };
    let mut command = Command::new(program);
    command.args(args);
    s2i_init::supervise(command, &options)
}

/// `run --sbom`: prints the bill of materials assemble wrote ([`s2i_facts::Layout::sbom`]).
///
/// # Errors
/// The file cannot be read (an image built before assemble wrote one).
pub fn print_sbom() -> Result<u8, RunError> {
    use std::io::Write as _;
    let path = s2i_facts::Layout::new(&Env::from_process().app_root()).sbom();
    let bytes = std::fs::read(&path).map_err(|error| RunError::Sbom {
        path: path.clone(),
        error,
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|error| RunError::Sbom { path, error })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::Duration;

    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// An `$APP_ROOT` with `fixture` as its sources and the real servers' virtualenv made by
    /// `make deps` (test/setup/30-run-servers.sh) as `bin/`.
    fn app_root(fixture: &str) -> tempfile::TempDir {
        let venv = repo().join("build/test-venvs/servers");
        assert!(
            venv.join("bin/mod_wsgi-express").is_file(),
            "{} is missing: run `make deps`",
            venv.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(venv.join("bin"), dir.path().join("bin")).expect("bin");
        let status = Command::new("cp")
            .arg("-a")
            .arg(repo().join("test/fixtures").join(fixture))
            .arg(dir.path().join("src"))
            .status()
            .expect("cp");
        assert!(status.success());
        dir
    }

    fn plan(root: &Path, vars: &[(&str, &str)]) -> Result<Plan, RunError> {
        let mut env = Env::of(&[("PATH", "/usr/bin:/bin")]);
        env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        env.set("APP_ROOT", root.display().to_string());
        Plan::make(
            PlanInputs {
                env,
                uid: 4242,
                limits: Limits {
                    cpus: 2.0,
                    cpu_source: "test".into(),
                    memory: None,
                    memory_source: "test".into(),
                },
                dry_run: true,
                when: When::Start,
                process: None,
            },
            None,
        )
    }

    /// Fails naming the first of `lines` that `text` does not hold.
    fn assert_holds(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(text.contains(line), "{line:?} missing:\n{text}");
        }
    }

    #[test]
    fn a_wsgi_script_gets_mod_wsgi_and_the_report_says_why() {
        let root = app_root("run_wsgi_py");
        let plan = plan(root.path(), &[]).expect("plan");
        assert_eq!(plan.launch.server, Some(s2i_detect::Server::ModWsgi));
        assert_holds(
            &report(&plan, true),
            &[
                "Server:      mod_wsgi (auto: the default for WSGI applications)",
                "[MATCH] wsgi.py",
                "Decision:    no build record: detected from the source",
                "Stop:        SIGTERM is sent as SIGWINCH",
            ],
        );
        assert!(plan.migrate.is_none());
    }

    #[test]
    fn django_migrates_unless_disabled() {
        let root = app_root("run_django");
        let planned = plan(root.path(), &[]).expect("plan");
        let migrate = planned.migrate.expect("migrate planned");
        assert_eq!(migrate.manage_py, root.path().join("src/manage.py"));
        assert_eq!(migrate.settings_module, "mysite.settings");
        assert_eq!(
            migrate.lock_timeout,
            s2i_release::migrate::DEFAULT_LOCK_TIMEOUT
        );
        let zero = plan(root.path(), &[("DISABLE_MIGRATE", "0")]).expect("plan");
        assert!(
            zero.migrate.is_some(),
            "DISABLE_MIGRATE=0 means not disabled"
        );
        let skipped = plan(root.path(), &[("DISABLE_MIGRATE", "1")]).expect("plan");
        assert!(skipped.migrate.is_none());
        assert_eq!(
            skipped.migrate_note.as_deref(),
            Some("migrate: skipped (DISABLE_MIGRATE=1)")
        );
    }

    #[test]
    fn init_options_come_from_the_same_environment_as_the_rest() {
        let root = app_root("run_wsgi_py");
        let file = root.path().join("src/.warpdrive/environment");
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(&file, "STOP_GRACE_PERIOD=7\n").expect("write");
        let plan = plan(root.path(), &[]).expect("plan");
        assert_eq!(plan.init.grace, Duration::from_secs(7));
        assert!(
            plan.launch
                .args
                .windows(2)
                .any(|w| w == ["--shutdown-timeout", "5"]),
            "{:?}",
            plan.launch.args
        );
    }

    #[test]
    fn a_process_type_starts_its_procfile_line_and_leaves_migrate_to_web() {
        let root = app_root("apps_celery");
        let planned = plan(root.path(), &[("APP_PROCESS_TYPE", "worker")]).expect("plan");
        assert_eq!(planned.process.name, "worker");
        assert!(planned.migrate.is_none());
        assert_holds(&report(&planned, true), &[
            "Process:     worker (APP_PROCESS_TYPE=worker)",
            "[MATCH] Procfile process type: APP_PROCESS_TYPE=worker: Procfile has `worker: celery -A tasks worker --loglevel=INFO --concurrency=1`",
            "Application: Procfile worker process `celery -A tasks worker --loglevel=INFO --concurrency=1`",
            "Stop:        SIGTERM is passed on (graceful stop)",
            "Command:     /bin/sh -c 'exec celery -A tasks worker --loglevel=INFO --concurrency=1'",
            "migrate: not run by the worker process",
        ]);
        let web = report(&plan(root.path(), &[]).expect("plan"), true);
        assert!(!web.contains("Process:"), "{web}");
        assert_holds(&web, &["Application: Procfile web process `gunicorn"]);
    }

    #[test]
    fn streamlit_runs_headless_on_the_port_and_gradio_gets_its_variables() {
        let root = app_root("apps_streamlit");
        let planned = plan(root.path(), &[("PORT", "8123")]).expect("plan");
        let report = report(&planned, true);
        assert_holds(&report, &["run streamlit_app.py --server.address 0.0.0.0 --server.port 8123 --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false"]);
        assert!(
            !report.contains("enableCORS") && !report.contains("enableXsrf"),
            "{report}"
        );
        assert_eq!(planned.launch.stop, Signal::SIGTERM);
        let root = app_root("apps_gradio");
        let planned = plan(root.path(), &[("PORT", "8124")]).expect("plan");
        for var in [
            ("GRADIO_SERVER_NAME", "0.0.0.0"),
            ("GRADIO_SERVER_PORT", "8124"),
            ("GRADIO_ANALYTICS_ENABLED", "False"),
        ] {
            assert!(
                planned
                    .launch
                    .env
                    .contains(&(var.0.to_owned(), var.1.to_owned())),
                "{var:?}: {:?}",
                planned.launch.env
            );
        }
        assert_eq!(planned.launch.args, ["app.py"]);
        assert_eq!(planned.launch.stop, Signal::SIGINT);
    }

    #[test]
    fn nothing_to_run_is_a_message_with_every_rule_and_numbered_fixes() {
        let root = app_root("run_nothing");
        let error = plan(root.path(), &[]).expect_err("nothing to run");
        let text = errors::render(&error);
        assert!(
            text.starts_with("run: ERROR: Nothing to run was found"),
            "{text}"
        );
        assert_holds(
            &text,
            &[
                "run:   - wsgi.py: no wsgi.py",
                "run: How to fix:\nrun:   1. ",
            ],
        );
        assert_eq!(errors::exit_code(&error), 1);
    }

    #[test]
    fn a_server_that_is_not_installed_names_what_to_add() {
        let root = app_root("run_wsgi_py");
        assert!(plan(root.path(), &[("APP_SERVER", "waitress")]).is_ok());
        // The same sources with an empty bin/.
        let bare = tempfile::tempdir().expect("tempdir");
        fs::create_dir(bare.path().join("bin")).expect("bin");
        std::os::unix::fs::symlink(root.path().join("src"), bare.path().join("src")).expect("src");
        let error = plan(bare.path(), &[("APP_SERVER", "waitress")]).expect_err("missing");
        assert_holds(
            &errors::render(&error),
            &[
                "The server waitress was chosen but is not installed",
                "Add `waitress` to requirements.txt",
            ],
        );
    }
}
