//! Every message users read when the build stops: a headline, what was found, numbered steps
//! to fix it, then the details. Printed once, by the binary, to stderr.

use crate::install::{Diagnosis, InstallError, MissingKind};
use crate::output::Failure;
use crate::package_manager::DeterminePackageManagerError;
use crate::{django, hooks, npm, permissions, python_version, server, source, venv, AssembleError};
use s2i_env::EnvError;

pub use s2i_message::Message;

/// The prefix of every line of a build error (the build log's warning mark).
pub const PREFIX: &str = " !     ";

fn msg(
    headline: impl Into<String>,
    found: impl Into<String>,
    steps: &[&str],
    details: Vec<String>,
) -> Message {
    Message {
        headline: headline.into(),
        found: found.into().lines().map(str::to_owned).collect(),
        fixes: steps.iter().map(|s| (*s).to_owned()).collect(),
        details,
    }
}

fn exit_code(code: Option<i32>) -> String {
    code.map_or_else(
        || "was killed by a signal".to_owned(),
        |c| format!("exited with code {c}"),
    )
}

/// The message for a stopped build.
#[must_use]
pub fn report(error: &AssembleError) -> Message {
    match error {
        AssembleError::AppRootNotWritable { path, source } => msg(
            format!("APP_ROOT is not writable: {}", path.display()),
            "assemble installs everything under $APP_ROOT and could not create or write this directory.",
            &[
                "Point APP_ROOT at a directory the build user can write (host mode: `APP_ROOT=/tmp/myapp assemble ./src`).",
                "In an image, make $APP_ROOT owned by the build user or group 0 with group write (`chmod -R g+w`).",
            ],
            vec![source.to_string()],
        ),
        AssembleError::DiskFull {
            space,
            free_at_start,
            cause,
        } => disk_full(space, *free_at_start, cause),
        AssembleError::Untrusted { path, source } => msg(
            format!("Could not remove the unfinished virtualenv in {}", path.display()),
            "The previous build there did not finish, so its virtualenv is not trusted; removing it failed.",
            &[&format!("Remove it yourself (`rm -rf {0}/bin {0}/lib {0}/lib64 {0}/include {0}/pyvenv.cfg`) and build again.", path.display())],
            vec![source.to_string()],
        ),
        AssembleError::Environment(e) => environment(e),
        AssembleError::Source(e) => source_error(e),
        AssembleError::AppHome(e) => e.message(),
        AssembleError::Venv(e) => venv_error(e),
        AssembleError::PackageManager(e) => package_manager(e),
        AssembleError::PythonVersion(e) => python_version_error(e),
        AssembleError::Install(e) => install(e),
        AssembleError::Server(e) => server_error(e),
        AssembleError::Hook(e) => hook(e),
        AssembleError::Npm(e) => npm_error(e),
        AssembleError::Django(e) => django_error(e),
        AssembleError::Record(e) => msg(
            "Could not write the build record",
            "assemble writes what it found to $APP_ROOT/.python-s2i/facts.json for `run`.",
            &["Make sure $APP_ROOT/.python-s2i is writable by the build user."],
            vec![e.to_string()],
        ),
        AssembleError::Restore(crate::artifacts::RestoreError::Swap { app_root, source }) => msg(
            format!("Could not restore the installed dependencies into {}", app_root.display()),
            "The previous build's dependencies were unpacked and checked, but moving them into the virtualenv failed after its own entries were removed, so it is incomplete.",
            &[
                "Build again without --incremental (a clean build does not restore anything).",
                "Make sure the build has free disk space and that $APP_ROOT is writable.",
            ],
            vec![source.to_string()],
        ),
        AssembleError::Restore(crate::artifacts::RestoreError::Unpack { archive, source }) => msg(
            format!("Could not unpack {}", archive.display()),
            "",
            &["Build again without --incremental."],
            vec![source.to_string()],
        ),
        AssembleError::Permissions(permissions::FixPermissionsError::Walk { path, source }) => msg(
            format!("Could not fix permissions under {}", path.display()),
            "",
            &["Make sure $APP_ROOT exists and is readable by the build user."],
            vec![source.to_string()],
        ),
    }
}

fn npm_error(e: &npm::NpmError) -> Message {
    use npm::NpmError as E;
    let skip = "Or set DISABLE_NPM_BUILD=1 to skip the frontend build (e.g. when the built files are committed).";
    match e {
        E::BadPackageJson { path, detail } => msg(
            format!("{} is not valid JSON", path.display()),
            "assemble reads package.json to find its build script.",
            &["Fix package.json (`npm pkg get scripts` shows what npm reads).", skip],
            vec![detail.clone()],
        ),
        E::NpmMissing { build_script } => msg(
            "package.json has a build script but npm is not installed",
            format!("The build script is: {build_script}"),
            &[
                "Use a python-s2i image with Node.js (the images have nodejs and npm), or install them in host mode (`apt-get install nodejs npm`).",
                skip,
            ],
            vec![],
        ),
        E::Run(Failure::Spawn { command, source }) => msg(
            "Could not start npm",
            format!("`{command}` could not start."),
            &[skip],
            vec![source.to_string()],
        ),
        E::Run(Failure::Failed { command, code, tail }) => msg(
            "The frontend build failed",
            format!("`{command}` {} (its output is above).", exit_code(*code)),
            &[
                "Run the same command in your checkout (`npm ci && npm run build`) and fix what it reports.",
                "If `npm ci` says the lock file is out of sync, run `npm install` and commit package-lock.json.",
                skip,
            ],
            tail.clone(),
        ),
    }
}

fn python_version_error(e: &python_version::Mismatch) -> Message {
    let r = &e.checked.request;
    let image = e.image_advice();
    let this = e
        .interpreter
        .rsplit_once('.')
        .map_or(e.interpreter.as_str(), |(mm, _)| mm);
    let build_with = |v: &str| {
        format!("`s2i build . python-s2i:{v} my-app`, or `oc new-app python-s2i:{v}~REPO`")
    };
    let mut found = vec![format!("{} says {:?}.", r.file, r.raw)];
    let mut steps = Vec::new();
    if let Some(v) = e.checked.images.last() {
        found.push(format!("The image that has it: {image}."));
        steps.push(format!(
            "Build with the image that has it: {image} ({}).",
            build_with(v)
        ));
        steps.push(format!(
            "Or change {} to ask for Python {this}, the version of this image.",
            r.file
        ));
    } else {
        found.push(e.why_none());
        let nearest = e.nearest();
        let other: Vec<&String> = nearest.iter().filter(|v| v.as_str() != this).collect();
        match other.as_slice() {
            [] => {}
            [v] => steps.push(format!(
                "Change {} to ask for Python {v} and build with python-s2i:{v} ({}).",
                r.file,
                build_with(v)
            )),
            [a, b, ..] => steps.push(format!(
                "Change {} to ask for Python {a} or {b}, and build with that image (python-s2i:{a} or python-s2i:{b}; {}).",
                r.file,
                build_with(b)
            )),
        }
        let verb = if steps.is_empty() {
            "Change"
        } else {
            "Or change"
        };
        steps.push(format!(
            "{verb} {} to ask for Python {this}, the version of this image.",
            r.file
        ));
    }
    steps.push(format!(
        "Or set {}=1 to build anyway (a warning instead of this error).",
        python_version::IGNORE_VARIABLE
    ));
    Message::of(
        format!(
            "{} asks for {}, the builder has Python {}",
            r.file, r.wanted, e.interpreter
        ),
        found,
        steps,
    )
}

fn environment(e: &EnvError) -> Message {
    match e {
        EnvError::Refused { name, why, origin } => msg(
            format!("{name} is set, which would break the build"),
            format!("{name} is set in {origin}: {why}."),
            &["Remove it from there (.s2i/environment, .warpdrive/environment, an env hook, the BuildConfig's environment or `s2i build -e`)."],
            vec![],
        ),
        EnvError::Read { path, source } => msg(
            format!("Could not read {}", path.display()),
            "",
            &["Make sure the file is readable (it is a KEY=VALUE file)."],
            vec![source.to_string()],
        ),
    }
}

fn source_error(e: &source::InstallSourceError) -> Message {
    use source::InstallSourceError as E;
    match e {
        E::Missing { path } => msg(
            format!("The source directory {} does not exist", path.display()),
            "assemble copies the application from SOURCE_DIR (its argument; /tmp/src by default, where s2i puts the source).",
            &["Give the directory of your application: `assemble ./myapp`.", "With s2i, check that the build's source (git URL or directory) is right."],
            vec![],
        ),
        E::NotADirectory { path } => msg(
            format!("The source {} is not a directory", path.display()),
            "",
            &["Give the directory that contains your application, not a file in it."],
            vec![],
        ),
        E::Unreadable { path, source } => msg(
            format!("Cannot read the source at {}", path.display()),
            "",
            &["Make the source readable by the build user (`chmod -R a+rX`)."],
            vec![source.to_string()],
        ),
        E::Write { path, source } => msg(
            format!("Cannot write {}", path.display()),
            "assemble copies the source into $APP_ROOT/src.",
            &["Make $APP_ROOT/src writable by the build user."],
            vec![source.to_string()],
        ),
    }
}

fn venv_error(e: &venv::CreateVenvError) -> Message {
    use venv::CreateVenvError as E;
    let steps: &[&str] = &[
        "Set PYTHON to an interpreter that exists, e.g. `PYTHON=/usr/bin/python3`.",
        "On Debian install its venv module: `apt-get install python3-venv`; for Python 2.7 install virtualenv.",
    ];
    match e {
        E::Run(Failure::Spawn { command, source }) => msg(
            "Could not create the virtualenv",
            format!("`{command}` could not start."),
            steps,
            vec![source.to_string()],
        ),
        E::Run(Failure::Failed {
            command,
            code,
            tail,
        }) => msg(
            "Could not create the virtualenv",
            format!("`{command}` {}.", exit_code(*code)),
            steps,
            tail.clone(),
        ),
        E::Version { python, detail } => msg(
            format!("{} does not work", python.display()),
            "The virtualenv's python did not report its version.",
            &["Remove the broken virtualenv (host mode) so assemble creates a new one."],
            vec![detail.clone()],
        ),
    }
}

fn package_manager(e: &DeterminePackageManagerError) -> Message {
    use DeterminePackageManagerError as E;
    match e {
        E::MultipleFound(found) => {
            let files: Vec<String> = found
                .iter()
                .map(|m| format!("{} ({})", m.file(), m.name()))
                .collect();
            msg(
                "Multiple package manager files were found",
                format!("The app has files of several package managers:\n  {}\nassemble cannot know which one lists the dependencies to install.", files.join("\n  ")),
                &[
                    "Delete the files of the package managers you do not use, or",
                    "choose one explicitly: S2I_PACKAGE_MANAGER=pip|pipenv|poetry|uv in .s2i/environment (ENABLE_PIPENV=1 also chooses Pipfile.lock).",
                ],
                vec![],
            )
        }
        E::Unknown { value } => msg(
            format!("S2I_PACKAGE_MANAGER={value} is not a package manager assemble knows"),
            "",
            &["Use one of: pip, pipenv, poetry, uv."],
            vec![],
        ),
        E::PipenvAndMicropipenv => msg(
            "ENABLE_PIPENV and ENABLE_MICROPIPENV are both set",
            "Each installs the dependencies its own way; the default OpenShift Python image refuses the combination too.",
            &[
                "Keep ENABLE_PIPENV to have pipenv in the image (pipenv --version), or",
                "keep ENABLE_MICROPIPENV (the lock file is installed the same way; nothing more in the image).",
            ],
            vec![],
        ),
        E::WorkspaceOutside { dir, sources } => msg(
            format!("{} is a member of a uv workspace that is not in the sources", dir.join("pyproject.toml").display()),
            format!("It takes {} from its workspace ([tool.uv.sources] ... workspace = true), and the workspace's root pyproject.toml and uv.lock are outside what was built.", sources.join(", ")),
            &[
                "Build the repository root instead of the member (drop s2i's --context-dir): the member with the web app is found and installed from the root's uv.lock, or",
                "set APP_HOME to the member (e.g. APP_HOME=backend) when several members hold a web app.",
            ],
            vec![],
        ),
        E::ChosenFileMissing { manager, how } => msg(
            format!("{how}, but the app has no {}", manager.file()),
            "",
            &["Commit the file, or remove the setting so assemble detects the package manager."],
            vec![],
        ),
    }
}

fn install(e: &InstallError) -> Message {
    match e {
        InstallError::UnknownInstaller { value } => msg(
            format!("S2I_INSTALLER={value} is not an installer"),
            "",
            &["Use S2I_INSTALLER=uv, S2I_INSTALLER=pip, or leave it unset (auto: uv where the Python supports it)."],
            vec![],
        ),
        InstallError::UvUnsupported { python, reason } => msg(
            format!("uv cannot install into this Python {python}"),
            format!("{reason}, but uv supports Python 3.8 and later only."),
            &["Unset S2I_INSTALLER (pip is used for older Pythons), or", "use a builder image with a newer Python (uv.lock projects need one)."],
            vec![],
        ),
        InstallError::Spawn { command, source } => msg(
            "Could not start the installer",
            format!("`{command}` could not start."),
            &["Check that the virtualenv is complete and that uv/pip are on PATH."],
            vec![source.to_string()],
        ),
        InstallError::Failed { what, command, code, tail, diagnosis } => {
            let found = format!("`{command}` {} while {what}.", exit_code(*code));
            let details = tail.iter().rev().take(15).rev().cloned().collect();
            match diagnosis.as_deref() {
                Some(Diagnosis::PackageNotFound { name }) => msg(
                    format!("Package {name:?} was not found while {what}"),
                    format!("{found}\nThe package index has no package named {name:?} (or no version matching the requirement)."),
                    &[
                        "Check the spelling of the name and the version in your requirements (https://pypi.org/search/).",
                        "If it comes from a private index, set its URL without credentials in PIP_INDEX_URL or PIP_EXTRA_INDEX_URL \
                         (.s2i/environment), and inject the credentials as a file, never in the repository or in `-e`: a netrc \
                         at /etc/python-s2i/secrets/netrc (an OpenShift build volume, `s2i build --inject`); see docs/assemble.md, \
                         \"Private package indexes\".",
                    ],
                    details,
                ),
                Some(Diagnosis::NoMatchingVersion { requirement, name, newest }) => {
                    let pin = format!("{name}=={newest}");
                    Message {
                        headline: format!("No release of {name} that fits {requirement} installs on this Python ({what})"),
                        found: vec![
                            found,
                            format!("The index has {name}, but no release that matches {requirement} and supports this Python: the newest the installer offers for it is {newest} (releases whose Requires-Python excludes this interpreter are left out)."),
                        ],
                        fixes: vec![
                            format!("Ask for a release this Python can install, e.g. `{pin}`; a file shared with newer Pythons can say so with a marker: `{pin}; python_version < \"3\"`."),
                            format!("Or build with the image of a Python that {requirement} supports (its Requires-Python on https://pypi.org/project/{name}/)."),
                        ],
                        details,
                    }
                }
                Some(Diagnosis::RequirementsSyntax { detail }) => msg(
                    format!("A requirements file does not parse ({what})"),
                    format!("{found}\n{detail}"),
                    &["Fix the line shown: one requirement per line, e.g. `Django>=4.2,<5`, `-e .`, `git+https://...#egg=name`.", "Check it locally with `pip install --dry-run -r requirements.txt`."],
                    // The detail is the relevant part of the output.
                    vec![],
                ),
                Some(Diagnosis::LockOutdated) => msg(
                    "uv.lock does not match pyproject.toml",
                    found,
                    &["Run `uv lock` and commit the updated uv.lock."],
                    details,
                ),
                Some(Diagnosis::BuildToolMissing { detail }) => msg(
                    format!("A package could not be compiled while {what}"),
                    format!("{found}\n{detail}"),
                    &["mod_wsgi needs Apache's development files (apxs): `apt-get install apache2-dev` in the image.", "Packages with C code need a compiler and Python's headers (`build-essential python3-dev`), or pick a version with wheels."],
                    details,
                ),
                Some(Diagnosis::LibraryMissing { missing, kind, package, detail }) => {
                    library_missing(&found, missing, *kind, package.as_deref(), detail, details)
                }
                Some(Diagnosis::Certificate { detail }) => msg(
                    format!("TLS certificate verification failed while {what}"),
                    format!("{found}\n{detail}\nA proxy that inspects TLS presents its own certificate authority."),
                    &["Make the proxy's CA bundle available in the build and set PIP_CERT (or SSL_CERT_FILE) to its path; assemble passes it to both uv and pip."],
                    details,
                ),
                Some(Diagnosis::IndexAuth { detail }) => msg(
                    format!("The package index refused the build's credentials while {what}"),
                    format!("{found}\n{detail}\nThe index answered 401 or 403: the build gave it no credentials, or wrong ones."),
                    &[
                        "Inject the credentials as a file the build reads in place: a netrc (`machine HOST login USER password TOKEN`) at \
                         /etc/python-s2i/secrets/netrc, through an OpenShift build volume, `s2i build --inject` or `images/s2i-build --inject` \
                         (docs/assemble.md, \"Private package indexes\"); the log's `Index credentials:` line says whether it was found.",
                        "Check that the netrc's `machine` is the index's host name, and that the token is valid and may read the index.",
                    ],
                    details,
                ),
                None => msg(
                    format!("Installing failed while {what}"),
                    format!("{found}\nThe installer's output above says why."),
                    &["Read the installer's error above; try the same install locally in a fresh virtualenv.", "To use pip instead of uv, set S2I_INSTALLER=pip."],
                    details,
                ),
            }
        }
    }
}

/// A source build that did not find a C library's development file: which file, which
/// package, and how to get it (a wheel, or an image with the library's Debian -dev package).
fn library_missing(
    found: &str,
    missing: &str,
    kind: MissingKind,
    package: Option<&str>,
    detail: &str,
    details: Vec<String>,
) -> Message {
    let (described, search) = match kind {
        MissingKind::Header => (format!("the C header `{missing}`"), missing.to_owned()),
        MissingKind::PkgConfig => (
            format!("the pkg-config module `{missing}` ({missing}.pc)"),
            format!("{missing}.pc"),
        ),
        MissingKind::ConfigProgram => {
            (format!("the program `{missing}`"), format!("bin/{missing}"))
        }
    };
    let building = package.map_or_else(|| "a package".to_owned(), |p| format!("`{p}`"));
    let search_url = format!(
        "https://packages.debian.org/search?searchon=contents&mode=path&suite=stable&arch=any&keywords={}",
        search.replace('/', "%2F")
    );
    let wheel = format!(
        "Use a release of {building} that publishes a Linux wheel for this Python version, or its binary variant (psycopg2-binary for psycopg2): nothing is compiled then."
    );
    let image = format!(
        "Or build with an image FROM this builder that adds the library's Debian development package: `USER 0`, `RUN apt-get update && apt-get install -y --no-install-recommends PACKAGE-dev && rm -rf /var/lib/apt/lists/*`, `USER 1001`. Debian's search says which package has {search}: {search_url}"
    );
    msg(
        format!("Building {building} needs {described}, which this image does not have"),
        format!("{found}\n{detail}\nThe package is built from source here (no wheel fits), and its C code needs the development files of a library the builder image does not install."),
        &[
            &wheel,
            &image,
            "On a runtime image, install the library itself (the package without -dev) in an image FROM the runtime image too.",
        ],
        details,
    )
}

fn server_error(e: &server::ChooseServerError) -> Message {
    use s2i_detect::Server;
    match e {
        server::ChooseServerError::Unknown {
            value,
            source_of_value,
        } => msg(
            format!("Unknown server {value:?} ({source_of_value})"),
            "",
            &[&format!("Use one of: {}.", Server::valid_names())],
            vec![],
        ),
        server::ChooseServerError::NoPython2 { server } => msg(
            format!("{server} does not run on Python 2"),
            "",
            &[&format!(
                "Use one of {} with Python 2.7.",
                Server::names_on_python2()
            )],
            vec![],
        ),
        server::ChooseServerError::Policy(e) => e.message(),
    }
}

fn disk_full(space: &crate::disk::Space, free_at_start: u64, cause: &AssembleError) -> Message {
    use crate::disk::human;
    let path = space.path.display();
    let inner = report(cause);
    let mut details = vec![format!("The step that failed: {}", inner.headline)];
    details.extend(inner.details);
    msg(
        format!("No space left on the disk holding {path}"),
        format!(
            "The file system of {path} has {} free of {}. {} were free when the build started: this build needs more than that.",
            human(space.free),
            human(space.total),
            human(free_at_start),
        ),
        &[
            &format!(
                "Give the build more room: at least {} free on the file system of {path} (a larger volume, tmpfs or disk quota; in OpenShift, the build's ephemeral-storage limit).",
                human(free_at_start.saturating_mul(2).max(512 * 1024 * 1024)),
            ),
            "Or free space there: remove old builds and caches (set S2I_CACHE_BUDGET_MB lower to keep a smaller cache in the image).",
            "Then build again: the next build repairs what this one left unfinished.",
        ],
        details,
    )
}

fn hook(e: &hooks::RunHookError) -> Message {
    use hooks::RunHookError as E;
    match e {
        E::NotExecutable { hook } => msg(
            format!("The {hook} hook is not executable"),
            format!("{hook} exists but has no execute permission, so it cannot run. It is not skipped, so the build does not silently miss a step."),
            &[
                &format!("Make it executable and commit the mode: `chmod +x {hook} && git update-index --chmod=+x {hook}`."),
                "Make sure its first line names its interpreter, e.g. `#!/bin/sh`.",
            ],
            vec![],
        ),
        E::Spawn { hook, source } => msg(
            format!("The {hook} hook could not start"),
            "",
            &["Check its first line (`#!/bin/sh`, `#!/usr/bin/env python`) and that it uses Unix line endings."],
            vec![source.to_string()],
        ),
        E::EndedEarly { hook, error } => msg(
            format!("The {hook} hook ended the shell that sources it"),
            format!("{hook} is sourced so that the variables it exports reach the build; {error}. The build stops rather than go on with an empty or partial environment."),
            &[
                &format!("Replace `exit` in {hook} with `return` (or remove it): `return 0` ends the hook and keeps its variables."),
                &format!("Do not `exec` another program from {hook}; run it as a build hook (.s2i/action_hooks/build) instead."),
            ],
            vec![],
        ),
        E::Failed { hook, code } => msg(
            format!("The {hook} hook failed: it {}", exit_code(*code)),
            "The hook's output is above.",
            &[&format!("Fix the command in {hook} that failed; run it locally with `sh -x {hook}`.")],
            vec![],
        ),
        E::Environment(e) => environment(e),
    }
}

fn django_error(e: &django::DjangoError) -> Message {
    use django::DjangoError as E;
    match e {
        E::Io { path, source } => msg(format!("Could not run Django's step ({})", path.display()), "", &[], vec![source.to_string()]),
        E::Introspect { settings_module, command, tail } => msg(
            format!("Could not load the Django settings {settings_module}"),
            format!("`{command}` failed, so assemble cannot tell run how to serve the app."),
            &[
                "Make sure Django is in your dependencies (requirements.txt, Pipfile, ...).",
                "Make sure the settings import without services that only exist at run time; variables they need can be set in .s2i/environment.",
                &format!("Check locally: `DJANGO_SETTINGS_MODULE={settings_module} python -c 'import django; django.setup()'`."),
            ],
            tail.iter().rev().take(20).rev().cloned().collect(),
        ),
        E::Collectstatic { command, code, tail } => msg(
            "Django's collectstatic failed",
            format!("`{command}` {}. Django's traceback is above.", exit_code(*code)),
            &[
                "Fix the error shown; run `python manage.py collectstatic --noinput` locally to reproduce it.",
                "Settings or apps that need services at build time can be given variables in .s2i/environment.",
                "To skip collectstatic, set DISABLE_COLLECTSTATIC=1 in .s2i/environment.",
            ],
            tail.iter().rev().take(10).rev().cloned().collect(),
        ),
    }
}

/// The message when save-artifacts cannot write its stream.
#[must_use]
pub fn save_artifacts(error: &crate::artifacts::SaveArtifactsError) -> Message {
    use crate::artifacts::SaveArtifactsError as E;
    match error {
        E::Write { path, source } => msg(
            format!("save-artifacts could not stream {}", path.display()),
            "",
            &["Check that the cache directory is readable by the image's user."],
            vec![source.to_string()],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package_manager::PackageManager;

    /// Fails naming the first of `lines` that `text` does not hold.
    fn assert_holds(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(text.contains(line), "{line:?} missing:\n{text}");
        }
    }

    #[test]
    fn multiple_package_managers_names_them_with_numbered_steps() {
        let text = report(&AssembleError::PackageManager(
            DeterminePackageManagerError::MultipleFound(vec![
                PackageManager::Pip,
                PackageManager::Uv,
            ]),
        ))
        .render(PREFIX);
        assert_holds(
            &text,
            &[
                "ERROR: Multiple package manager files",
                "requirements.txt (pip)",
                "uv.lock (uv)",
                "1. ",
                "2. ",
            ],
        );
    }

    fn version_mismatch(raw: &str, images: &[&str], interpreter: &str) -> String {
        let (major, minor) = raw.split_once('.').expect("major.minor");
        let mismatch = python_version::Mismatch {
            checked: python_version::Checked {
                request: python_version::Request {
                    file: ".python-version",
                    raw: raw.to_owned(),
                    wanted: python_version::Wanted::Exact {
                        major: major.parse().expect("major"),
                        minor: minor.parse().expect("minor"),
                        patch: None,
                    },
                },
                fits: false,
                images: images.iter().map(|v| (*v).to_owned()).collect(),
            },
            interpreter: interpreter.to_owned(),
        };
        report(&AssembleError::PythonVersion(Box::new(mismatch))).render(PREFIX)
    }

    #[test]
    fn no_image_for_a_version_names_the_nearest_with_numbered_fixes() {
        let text = version_mismatch("3.12", &[], "3.11.2");
        assert_holds(&text, &[
            "no Debian release ships 3.12 (the nearest images: 3.11 from Debian bookworm, 3.13 from Debian trixie)",
            "1. Change .python-version to ask for Python 3.13 and build with python-s2i:3.13",
            "2. Or change .python-version to ask for Python 3.11, the version of this image.",
            "3. Or set S2I_IGNORE_PYTHON_VERSION=1",
        ]);
        assert!(!text.contains("fits: none"), "{text}");
        // On an image that is neither neighbour, both are named.
        assert_holds(&version_mismatch("3.10", &[], "3.14.1"), &[
            "1. Change .python-version to ask for Python 3.9 or 3.11, and build with that image",
        ]);
    }

    #[test]
    fn an_image_that_has_it_comes_first() {
        assert_holds(
            &version_mismatch("3.13", &["3.13"], "3.11.2"),
            &[
                "1. Build with the image that has it: python-s2i:3.13",
                "2. Or change .python-version",
            ],
        );
    }
}
