//! `assemble`, `save-artifacts` and `usage` in host mode: real virtualenvs (Debian's
//! /usr/bin/python3), real uv and pip against PyPI, real Django.
//!
//! Downloads are cached across tests and runs in `build/test-cache/` (UV_CACHE_DIR,
//! PIP_CACHE_DIR); the artifacts tests use their own cache so they see a real cold build.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use python_s2i_tests::host::{
    assemble_with_gunicorn as assemble, finish, gunicorn_assemble_command as assemble_command,
    Finished as Built,
};
use python_s2i_tests::{bin, clean_command, copy_fixture, fixture, repo};
use tempfile::TempDir;

/// A fresh APP_ROOT built from a fixture: its temp dir (keep it alive), the root, the result.
fn build(name: &str, env: &[(&str, &str)]) -> (TempDir, PathBuf, Built) {
    let (dir, root) = app_root();
    let built = assemble(&fixture(name), &root, env);
    (dir, root, built)
}

fn app_root() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("app-root");
    (dir, root)
}

fn facts(app_root: &Path) -> serde_json::Value {
    let text = fs::read_to_string(app_root.join(".python-s2i/facts.json")).expect("facts.json");
    serde_json::from_str(&text).expect("facts.json parses")
}

/// Runs the virtualenv's python with `code`; returns stdout.
fn python(app_root: &Path, code: &str) -> String {
    let out = Command::new(app_root.join("bin/python"))
        .args(["-c", code])
        .output()
        .expect("venv python");
    assert!(
        out.status.success(),
        "python -c {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn pip_requirements_output_shape_facts_and_permissions() {
    let (_dir, root) = app_root();
    let built = assemble(&fixture("assemble_pip_basic"), &root, &[]);
    built.assert_ok();
    // Fixed shape: the step headers in order, commands quoted, a summary.
    let headers: Vec<&str> = built
        .stdout
        .lines()
        .filter(|l| l.starts_with("-----> "))
        .collect();
    assert_eq!(
        headers,
        [
            "-----> Installing the source",
            "-----> Reusing the previous build's artifacts",
            "-----> Preparing the virtualenv",
            "-----> Running pre-build hooks",
            "-----> Installing dependencies",
            "-----> Running build hooks",
            "-----> Installing the server",
            "-----> Compiling bytecode",
            "-----> Recording what run needs",
            "-----> Fixing permissions for group 0",
            "-----> Summary",
        ],
        "{}",
        built.stdout
    );
    assert!(
        built.stdout.contains("uv pip install --python "),
        "{}",
        built.stdout
    );
    assert!(
        built.stdout.contains(" -r requirements.txt"),
        "{}",
        built.stdout
    );
    assert!(built
        .stdout
        .contains("Server:       gunicorn (APP_SERVER=gunicorn)"));
    // Installed for real.
    assert_eq!(
        python(&root, "import six; print(six.__version__)"),
        "1.16.0"
    );
    assert!(root.join("bin/gunicorn").is_file());
    assert!(root.join("src/wsgi.py").is_file());
    // The record run reads.
    let facts = facts(&root);
    assert_eq!(facts["python"]["version"], "3.11");
    assert_eq!(facts["package_manager"], "pip");
    assert_eq!(facts["servers_installed"], serde_json::json!(["gunicorn"]));
    // Group 0 can use everything: group rw, group x where the owner has x and on directories.
    for path in [
        root.join("src/wsgi.py"),
        root.join("bin/python"),
        root.join("src"),
        root.join("lib"),
    ] {
        let meta = fs::symlink_metadata(&path).expect("meta");
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode();
        assert_eq!(meta.gid(), 0, "{}", path.display());
        assert_eq!(mode & 0o060, 0o060, "{} mode {mode:o}", path.display());
        if meta.is_dir() || mode & 0o100 != 0 {
            assert_eq!(mode & 0o010, 0o010, "{} mode {mode:o}", path.display());
        }
    }
}

/// Every `.pyc` under `root` (the uv/pip caches aside) with its modification time.
fn pyc_files(root: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let out = Command::new("find")
        .arg(root)
        .args([
            "-path",
            "*/.python-s2i/cache",
            "-prune",
            "-o",
            "-name",
            "*.pyc",
            "-print",
        ])
        .output()
        .expect("find");
    let mut files: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let path = PathBuf::from(l);
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime");
            (path, modified)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn bytecode_is_compiled_at_build_time_for_dependencies_and_the_app() {
    let (_dir, root, built) = build("assemble_pip_basic", &[]);
    built.assert_ok();
    assert!(
        built.stdout.contains("-m compileall -q -j 0 "),
        "{}",
        built.stdout
    );
    let before = pyc_files(&root);
    let has = |needle: &str| {
        before
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains(needle))
    };
    assert!(
        has("site-packages/__pycache__/six.cpython-311.pyc"),
        "{before:?}"
    );
    assert!(has("src/__pycache__/wsgi.cpython-311.pyc"), "{before:?}");
    assert!(
        has("gunicorn/__pycache__/arbiter.cpython-311.pyc"),
        "{before:?}"
    );
    // Importing the app (and through it six) and the server writes no .pyc and rewrites none:
    // what the build wrote is current.
    let out = Command::new(root.join("bin/python"))
        .args(["-c", "import wsgi, gunicorn.app.wsgiapp, gunicorn.arbiter"])
        .current_dir(root.join("src"))
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pyc_files(&root), before, "imports wrote bytecode");
    // Readable by any UID of group 0.
    for (path, _) in &before {
        let mode = fs::metadata(path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o040, 0o040, "{} mode {mode:o}", path.display());
    }
}

#[test]
fn requirements_with_editable_app_git_url_and_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A git repository to install from with a git+file:// URL (no network host needed).
    let repo_dir = dir.path().join("localdep");
    fs::create_dir(&repo_dir).expect("mkdir");
    fs::write(repo_dir.join("setup.py"), "from setuptools import setup\nsetup(name='localdep', version='2.0', py_modules=['localdep'])\n").expect("write");
    fs::write(repo_dir.join("localdep.py"), "VALUE = 'from git'\n").expect("write");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(&repo_dir)
            .stdout(Stdio::null())
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    let app = copy_fixture("assemble_requirements_editable", dir.path());
    fs::write(
        app.join("requirements.txt"),
        format!("-e .\nlocaldep @ git+file://{}\n", repo_dir.display()),
    )
    .expect("write");
    let root = dir.path().join("root");
    let built = assemble(&app, &root, &[]);
    built.assert_ok();
    assert!(
        built.stdout.contains("installs the app itself"),
        "{}",
        built.stdout
    );
    assert_eq!(
        python(&root, "import localdep; print(localdep.VALUE)"),
        "from git"
    );
    assert_eq!(
        python(
            &root,
            "import mypkg, os; print(os.path.dirname(mypkg.__file__))"
        ),
        root.join("src/mypkg").display().to_string()
    );
    assert_eq!(facts(&root)["package"]["name"], "mypkg");
    assert_eq!(
        facts(&root)["package"]["modules"],
        serde_json::json!(["mypkg"])
    );

    let (_d, root, built) = build("assemble_requirements_hashes", &[]);
    built.assert_ok();
    assert_eq!(
        python(&root, "import six; print(six.__version__)"),
        "1.16.0"
    );
}

#[test]
fn setup_py_and_pyproject_are_installed_as_packages() {
    let (_d, root, built) = build("assemble_setup_py", &[]);
    built.assert_ok();
    assert!(built
        .stdout
        .contains("Installing the application as a package (setup.py)"));
    assert_eq!(facts(&root)["package"]["name"], "setuppy-app");
    assert_eq!(
        facts(&root)["package"]["modules"],
        serde_json::json!(["setuppyapp"])
    );
    python(&root, "import six, setuppyapp");

    let (_d, root, built) = build("assemble_pyproject", &[]);
    built.assert_ok();
    assert_eq!(facts(&root)["package"]["name"], "pyproj-app");
    python(&root, "import six, pyprojapp");

    // The sclorg switches turn it off.
    let (_d, root, built) = build(
        "assemble_pyproject",
        &[("DISABLE_PYPROJECT_TOML_PROCESSING", "1")],
    );
    built.assert_ok();
    assert!(built
        .stdout
        .contains("DISABLE_PYPROJECT_TOML_PROCESSING is set"));
    assert!(facts(&root)["package"].is_null());
}

#[test]
fn lock_files_of_uv_pipenv_and_poetry_install_default_packages_only() {
    for (name, manager) in [
        ("assemble_uv_lock", "uv"),
        ("assemble_pipenv", "pipenv"),
        ("assemble_poetry", "poetry"),
    ] {
        let (_d, root) = app_root();
        let built = assemble(&fixture(name), &root, &[]);
        built.assert_ok();
        assert_eq!(facts(&root)["package_manager"], manager, "{name}");
        assert_eq!(
            python(&root, "import six; print(six.__version__)"),
            "1.16.0",
            "{name}"
        );
        let dev = python(
            &root,
            "import importlib.util as u; print(u.find_spec('idna') is None)",
        );
        assert_eq!(dev, "True", "{name}: dev dependency installed");
        assert!(
            root.join("bin/gunicorn").is_file(),
            "{name}: server kept after the lock install"
        );
    }
}

#[test]
fn pip_installer_can_be_forced_and_uv_is_installed_when_missing() {
    let (_d, root, built) = build("assemble_pip_basic", &[("S2I_INSTALLER", "pip")]);
    built.assert_ok();
    assert!(built.stdout.contains("Installer: pip (S2I_INSTALLER=pip)"));
    assert!(
        built.stdout.contains("-m pip install -r requirements.txt"),
        "{}",
        built.stdout
    );
    python(&root, "import six");

    // No uv on PATH: assemble pip-installs it into the virtualenv and uses it.
    let (_d, root) = app_root();
    let mut command = assemble_command(&fixture("assemble_pip_basic"), &root);
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let built = finish(&mut command);
    built.assert_ok();
    assert!(
        built.stdout.contains("installing it with pip"),
        "{}",
        built.stdout
    );
    assert!(root.join("bin/uv").is_file());
    assert!(built
        .stdout
        .contains(&format!("{} pip install", root.join("bin/uv").display())));
}

#[test]
fn ca_bundle_given_as_pip_cert_reaches_uv() {
    // This machine reaches PyPI through a TLS-inspecting proxy whose CA is only in the host
    // bundle: without it uv fails; with PIP_CERT alone (translated to SSL_CERT_FILE) it works.
    // Each run has cold download caches of its own, so each must reach the index.
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |root: &Path, cert: Option<&str>| {
        let mut command = assemble_command(&fixture("assemble_pip_basic"), root);
        command
            .env("UV_CACHE_DIR", root.with_extension("uv-cache"))
            .env("PIP_CACHE_DIR", root.with_extension("pip-cache"))
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env_remove("PIP_CERT");
        if let Some(cert) = cert {
            command.env("PIP_CERT", cert);
        }
        finish(&mut command)
    };
    let with = run(&dir.path().join("with"), Some(bundle));
    with.assert_ok();
    let empty = dir.path().join("empty.pem");
    fs::write(&empty, "").expect("write");
    let without = run(
        &dir.path().join("without"),
        Some(empty.to_str().expect("utf8")),
    );
    without.assert_failed_with(&[
        "TLS certificate verification failed while",
        "A proxy that inspects TLS presents its own certificate authority.",
        "set PIP_CERT (or SSL_CERT_FILE) to its path",
    ]);
}

#[test]
fn hooks_in_every_location_run_in_order_with_environment_files() {
    let (_d, root, built) = build("assemble_hooks_all", &[]);
    built.assert_ok();
    let log = fs::read_to_string(root.join("hooks.log")).expect("hooks.log");
    let venv_python = root.join("bin/python").display().to_string();
    let lines: Vec<&str> = log.lines().collect();
    let expected_order = [
        ".s2i/action_hooks/pre-build",
        ".warpdrive/action_hooks/pre-build",
        ".docker/action_hooks/pre-build",
        ".whiskey/action_hooks/pre-build",
        "bin/pre_compile",
        ".s2i/action_hooks/build",
        "env from-warpdrive from-s2i-environment",
        ".warpdrive/action_hooks/build",
        ".docker/action_hooks/build",
        ".whiskey/action_hooks/build",
        "bin/post_compile",
    ];
    let names: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.starts_with("env ") {
                *l
            } else {
                l.split(' ').next().unwrap_or("")
            }
        })
        .collect();
    assert_eq!(names, expected_order, "{log}");
    for line in lines.iter().filter(|l| !l.starts_with("env ")) {
        assert!(
            line.contains("from-build-env"),
            "build-env not sourced for: {line}"
        );
        assert!(
            line.ends_with(&venv_python),
            "virtualenv not first on PATH: {line}"
        );
    }
    assert!(built
        .stdout
        .contains("bin/post_compile is not executable: making it executable, as Heroku does"));
    assert!(built
        .stdout
        .contains("Sourcing the .warpdrive/action_hooks/build-env hook"));
}

#[test]
fn failing_hook_stops_the_build_naming_it_and_its_exit_code() {
    let (_d, _root, built) = build("assemble_hook_fails", &[]);
    built.assert_failed_with(&[
        "preparing assets",
        "The .s2i/action_hooks/pre-build hook failed: it exited with code 3",
    ]);
    assert!(
        !built.stdout.contains("-----> Installing dependencies"),
        "went on after the hook"
    );
}

#[test]
fn non_executable_hook_is_an_error_not_skipped() {
    let (_d, _root, built) = build("assemble_hook_not_executable", &[]);
    built.assert_failed_with(&[
        "The .s2i/action_hooks/build hook is not executable",
        "chmod +x .s2i/action_hooks/build && git update-index --chmod=+x .s2i/action_hooks/build",
    ]);
}

#[test]
fn django_with_static_root_records_facts_and_collects() {
    let (_d, root, built) = build("assemble_django_static_root", &[]);
    built.assert_ok();
    assert!(
        built.stdout.contains("manage.py collectstatic --noinput"),
        "{}",
        built.stdout
    );
    let django = &facts(&root)["django"];
    assert_eq!(django["settings_module"], "mysite.settings");
    assert_eq!(django["wsgi_application"], "mysite.wsgi.application");
    assert_eq!(django["asgi_application"], "mysite.asgi.application");
    assert_eq!(django["static_url"], "/static/");
    assert_eq!(django["staticfiles_installed"], true);
    assert!(django["wrapper_settings_module"].is_null());
    let static_root = root.join("src/staticfiles");
    assert_eq!(django["static_root"], static_root.display().to_string());
    assert!(static_root.join("site.css").is_file());
}

#[test]
fn django_without_static_root_gets_a_wrapper_settings_module() {
    let (_d, root, built) = build("assemble_django_no_static_root", &[]);
    built.assert_ok();
    assert!(
        built
            .stdout
            .contains("--settings=python_s2i_django_settings"),
        "{}",
        built.stdout
    );
    let django = &facts(&root)["django"];
    assert_eq!(
        django["wrapper_settings_module"],
        "python_s2i_django_settings"
    );
    let static_root = root.join(".python-s2i/django_static_root");
    assert_eq!(django["static_root"], static_root.display().to_string());
    assert!(static_root.join("site.css").is_file());
    let wrapper = fs::read_to_string(root.join(".python-s2i/python/python_s2i_django_settings.py"))
        .expect("wrapper");
    assert!(wrapper.contains("from mysite.settings import *"));
    // The wrapper is importable the way run will use it.
    let out = Command::new(root.join("bin/python"))
        .args([
            "-c",
            "from django.conf import settings; print(settings.STATIC_ROOT, settings.SECRET_KEY)",
        ])
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                root.join(".python-s2i/python").display(),
                root.join("src").display()
            ),
        )
        .env("DJANGO_SETTINGS_MODULE", "python_s2i_django_settings")
        .output()
        .expect("python");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} test-only-not-secret", static_root.display())
    );

    // DISABLE_COLLECTSTATIC skips it (still recording the facts).
    let (_d, root, built) = build(
        "assemble_django_no_static_root",
        &[("DISABLE_COLLECTSTATIC", "1")],
    );
    built.assert_ok();
    assert!(built
        .stdout
        .contains("DISABLE_COLLECTSTATIC is set: collectstatic skipped"));
    assert!(!root.join(".python-s2i/django_static_root").exists());
    assert_eq!(facts(&root)["django"]["settings_module"], "mysite.settings");
}

#[test]
fn django_without_staticfiles_is_skipped_with_a_note() {
    let (_d, root, built) = build("assemble_django_no_staticfiles", &[]);
    built.assert_ok();
    assert!(built
        .stdout
        .contains("django.contrib.staticfiles is not in INSTALLED_APPS: collectstatic skipped"));
    assert_eq!(facts(&root)["django"]["staticfiles_installed"], false);
}

#[test]
fn collectstatic_failure_shows_traceback_command_and_fix() {
    let (_d, _root, built) = build("assemble_django_collectstatic_fails", &[]);
    built.assert_failed_with(&[
        "Django's collectstatic failed",
        "Traceback (most recent call last)",
        "missing-image.png",
        "manage.py collectstatic --noinput` exited with code 1",
        "DISABLE_COLLECTSTATIC=1",
    ]);
}

#[test]
fn unknown_package_is_named() {
    let (_d, _root, built) = build("assemble_bad_package", &[]);
    built.assert_failed_with(&[
        "Package \"djangoo-restframework-nonexistent\" was not found",
        "Check the spelling",
    ]);
    let (_d, _root, built) = build("assemble_bad_package", &[("S2I_INSTALLER", "pip")]);
    built.assert_failed_with(&["Package \"djangoo-restframework-nonexistent\" was not found"]);
}

#[test]
fn requirements_that_do_not_parse() {
    let (_d, _root, built) = build("assemble_bad_requirements", &[]);
    built.assert_failed_with(&["A requirements file does not parse", "Django>>=4.2"]);
}

#[test]
fn conflicting_package_managers_are_named() {
    let (_d, _root, built) = build("assemble_multiple_managers", &[]);
    built.assert_failed_with(&[
        "Multiple package manager files were found",
        "requirements.txt (pip)",
        "uv.lock (uv)",
        "S2I_PACKAGE_MANAGER",
    ]);
    // An explicit choice resolves it.
    let (_d, _root, built) = build(
        "assemble_multiple_managers",
        &[("S2I_PACKAGE_MANAGER", "uv")],
    );
    built.assert_ok();
    assert!(built
        .stdout
        .contains("requirements.txt is not used: S2I_PACKAGE_MANAGER=uv"));
}

#[test]
fn missing_or_file_source_dir() {
    let (dir, root) = app_root();
    let built = assemble(&dir.path().join("no-such-source"), &root, &[]);
    built.assert_failed_with(&["The source directory", "no-such-source", "does not exist"]);
    let file = dir.path().join("file");
    fs::write(&file, "").expect("write");
    let built = assemble(&file, &root, &[]);
    built.assert_failed_with(&["is not a directory"]);
}

#[test]
fn app_root_not_writable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    fs::write(&file, "").expect("write");
    let built = assemble(&fixture("assemble_pip_basic"), &file.join("app-root"), &[]);
    built.assert_failed_with(&["APP_ROOT is not writable", "Point APP_ROOT at a directory"]);
}

#[test]
fn unknown_server_and_installer_names() {
    let (_d, _root, built) = build("assemble_pip_basic", &[("APP_SERVER", "gunicorm")]);
    built.assert_failed_with(&["Unknown server \"gunicorm\" (APP_SERVER=gunicorm)"]);
    let (_d, _root, built) = build("assemble_pip_basic", &[("S2I_INSTALLER", "conda")]);
    built.assert_failed_with(&["S2I_INSTALLER=conda is not an installer"]);
}

#[test]
fn mod_wsgi_is_the_default_server_and_built_against_apache() {
    let (_d, root, built) = build("assemble_pip_basic", &[("APP_SERVER", "")]);
    built.assert_ok();
    assert!(
        built
            .stdout
            .contains("mod_wsgi-express is not installed yet (chosen by auto: the default for "),
        "{}",
        built.stdout
    );
    assert_eq!(
        facts(&root)["servers_installed"],
        serde_json::json!(["mod_wsgi-express"])
    );
    let out = Command::new(root.join("bin/mod_wsgi-express"))
        .arg("module-location")
        .output()
        .expect("mod_wsgi-express");
    let module = String::from_utf8_lossy(&out.stdout);
    assert!(Path::new(module.trim()).is_file(), "{module}");
}

fn save_artifacts(app_root: &Path, into: &Path) {
    fs::create_dir_all(into).expect("mkdir");
    let mut save = Command::new(bin("save-artifacts"))
        .env("APP_ROOT", app_root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("save-artifacts");
    let stdout = save.stdout.take().expect("stdout");
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .status()
        .expect("tar");
    let out = save.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(untar.success());
}

/// A file planted in a build's installed dependencies (its site-packages), as if that build
/// had written it: no install can make it, so only a restore of those dependencies brings it
/// into the next build.
const RESTORED_MARKER: &str = "python-s2i-restored-marker.txt";

/// The site-packages directory of the virtualenv in `app_root`, found without running Python
/// (which could write bytecode).
fn site_packages(app_root: &Path) -> PathBuf {
    let lib = app_root.join("lib");
    fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}", lib.display()))
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no site-packages under {}", lib.display()))
}

fn plant_restored_marker(app_root: &Path) {
    fs::write(
        site_packages(app_root).join(RESTORED_MARKER),
        "from the previous build\n",
    )
    .expect("marker");
}

/// Whether the marker [`plant_restored_marker`] planted in an earlier build is in `app_root`.
fn restored_marker(app_root: &Path) -> bool {
    site_packages(app_root).join(RESTORED_MARKER).is_file()
}

/// Names of the files in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn rebuild_from_saved_artifacts_restores_dependencies_or_reuses_the_caches() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One APP_ROOT path for every build, as /opt/app-root is in each build container.
    let root = dir.path().join("app-root");
    let build_at = |source: &Path, artifacts: Option<&Path>| {
        // Default cache locations (under $APP_ROOT), as in an image.
        let mut command = assemble_command(source, &root);
        command
            .env_remove("UV_CACHE_DIR")
            .env_remove("PIP_CACHE_DIR");
        if let Some(artifacts) = artifacts {
            command.env("S2I_ARTIFACTS_DIR", artifacts);
        }
        let built = finish(&mut command);
        built.assert_ok();
        built
    };
    build_at(&fixture("assemble_pip_basic"), None)
        .assert_contains(&["Reused:       nothing (no previous build's artifacts: a clean build)"]);
    plant_restored_marker(&root);
    let artifacts = dir.path().join("artifacts");
    save_artifacts(&root, &artifacts);
    // A few large files, not the caches' thousands.
    assert_eq!(
        names(&artifacts),
        [
            "python-s2i-artifacts.json",
            "python-s2i-caches.tar.zst",
            "python-s2i-dependencies.tar.zst"
        ]
    );

    // Unchanged inputs: the installed dependencies come back whole, nothing is resolved.
    fs::remove_dir_all(&root).expect("rm");
    let built = build_at(&fixture("assemble_pip_basic"), Some(&artifacts));
    // Proven from outside the log: the previous build's marker is back.
    assert!(
        restored_marker(&root),
        "the dependencies were not restored (no marker):\n{}",
        built.stdout
    );
    built.assert_contains(&[
        "restored the installed dependencies",
        "Reused:       the previous build's installed dependencies, whole (nothing that decides them changed)",
    ]);
    assert!(
        !built.stdout.contains("-r requirements.txt"),
        "resolved again:\n{}",
        built.stdout
    );
    // Their bytecode came with them: the virtualenv is not compiled again, and six's .pyc is
    // current for its source (read without importing six, which could write one).
    assert!(
        built.stdout.contains("Not compiled again"),
        "{}",
        built.stdout
    );
    assert_eq!(
        python(
            &root,
            "import importlib.util, os\n\
             origin = importlib.util.find_spec('six').origin\n\
             header = open(importlib.util.cache_from_source(origin), 'rb').read(16)\n\
             st = os.stat(origin)\n\
             print(int.from_bytes(header[8:12], 'little') == int(st.st_mtime) \
             and int.from_bytes(header[12:16], 'little') == st.st_size)"
        ),
        "True"
    );
    assert_eq!(
        python(&root, "import six; print(six.__version__)"),
        "1.16.0"
    );
    assert!(root.join("bin/gunicorn").is_file());
    assert!(
        root.join(".python-s2i/python-s2i-caches.tar.zst").is_file(),
        "the caches are kept for the next build"
    );

    // requirements.txt changed but asks for the same package: the dependencies come back and
    // the installer runs over them.
    let app = copy_fixture("assemble_pip_basic", dir.path());
    // The previous build's artifacts, then a build of `app` with `requirements` into a fresh
    // APP_ROOT, as a new build container has it.
    let rebuild_with = |requirements: &str, artifacts: &str| {
        let artifacts = dir.path().join(artifacts);
        save_artifacts(&root, &artifacts);
        fs::remove_dir_all(&root).expect("rm");
        fs::write(app.join("requirements.txt"), requirements).expect("write");
        build_at(&app, Some(&artifacts))
    };
    let built = rebuild_with("six==1.16.0\n# changed\n", "artifacts-2");
    assert!(restored_marker(&root), "not restored:\n{}", built.stdout);
    built.assert_contains(&[
        "requirements.txt still asks for every package it asked for (none added: versions or markers changed)",
        "restored the installed dependencies of the previous build",
        "-r requirements.txt",
        "Reused:       the previous build's installed dependencies, with requirements.txt installed over them\n",
    ]);

    // A dependency added: restored, then only the new one is installed over them; the result
    // is what a clean build of the same source installs.
    let built = rebuild_with("six==1.16.0\nidna==3.7\n", "artifacts-3");
    assert!(restored_marker(&root), "not restored:\n{}", built.stdout);
    built.assert_contains(&[
        "still asks for every package it asked for (new: idna)",
        "restored the installed dependencies of the previous build",
        "-r requirements.txt",
        "Reused:       the previous build's installed dependencies, with requirements.txt installed over them (new: idna)",
        "only the 1 package(s) and module(s) installed over the restored dependencies are compiled",
    ]);
    // The new package has its bytecode (read without importing it, which could write one).
    assert_eq!(
        python(
            &root,
            "import importlib.util, os\n\
             origin = importlib.util.find_spec('idna').origin\n\
             print(os.path.isfile(importlib.util.cache_from_source(origin)))"
        ),
        "True"
    );
    assert!(
        !built.stdout.contains("Reusing the uv cache"),
        "the caches were unpacked too:\n{}",
        built.stdout
    );
    assert_eq!(
        python(
            &root,
            "import idna, six; print(idna.__version__, six.__version__)"
        ),
        "3.7 1.16.0"
    );
    assert!(root.join("bin/gunicorn").is_file());
    assert_installs_what_a_clean_build_does(&app, &root);

    // A dependency dropped: installed from scratch (the caches apply), so it is gone.
    let built = rebuild_with("idna==3.7\n", "artifacts-4");
    // A fresh install: nothing of the previous build's site-packages is left.
    assert!(
        !restored_marker(&root),
        "installed afresh, yet the previous build's files are there:\n{}",
        built.stdout
    );
    built.assert_contains(&[
        "Installed dependencies not restored: the dependency files changed since that build: requirements.txt no longer asks for six",
        "Reusing the uv cache(s)",
        "Reused:       the previous build's uv cache(s); the dependencies were installed afresh",
    ]);
    assert_not_installed(&root, "six");
    assert!(root.join("bin/gunicorn").is_file());
}

#[test]
fn uv_lock_changes_install_over_the_previous_dependencies_unless_a_package_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("app-root");
    let app = copy_fixture("assemble_uv_lock", dir.path());
    // Default cache locations (under $APP_ROOT), as in an image; a fresh APP_ROOT each time, as
    // each build container has.
    let build_from = |artifacts: &Path| {
        fs::remove_dir_all(&root).expect("rm");
        let mut command = assemble_command(&app, &root);
        command
            .env_remove("UV_CACHE_DIR")
            .env_remove("PIP_CACHE_DIR")
            .env("S2I_ARTIFACTS_DIR", artifacts);
        let built = finish(&mut command);
        built.assert_ok();
        built
    };
    let relock = |dependencies: &str| {
        let pyproject = fs::read_to_string(app.join("pyproject.toml")).expect("read");
        let start = pyproject.find("dependencies = [").expect("dependencies");
        let end = start + pyproject[start..].find(']').expect("]") + 1;
        let pyproject = format!(
            "{}dependencies = [{dependencies}]{}",
            &pyproject[..start],
            &pyproject[end..]
        );
        fs::write(app.join("pyproject.toml"), pyproject).expect("write");
        let locked = Command::new(repo().join("build/tools/bin/uv"))
            .args(["lock", "--python", "/usr/bin/python3"])
            .current_dir(&app)
            .output()
            .expect("uv lock");
        assert!(
            locked.status.success(),
            "{}",
            String::from_utf8_lossy(&locked.stderr)
        );
    };
    fs::create_dir_all(&root).expect("mkdir");
    build_from(&dir.path().join("none"));
    plant_restored_marker(&root);

    // A package added to the project: uv.lock lists it besides all it listed.
    let artifacts = dir.path().join("artifacts-1");
    save_artifacts(&root, &artifacts);
    relock("\"six==1.16.0\", \"certifi==2024.8.30\"");
    let built = build_from(&artifacts);
    assert!(restored_marker(&root), "not restored:\n{}", built.stdout);
    built.assert_contains(&[
        "uv.lock still asks for every package it asked for (new: certifi)",
        "restored the installed dependencies of the previous build",
        "uv sync --locked",
    ]);
    assert_eq!(
        python(&root, "import certifi, six; print(six.__version__)"),
        "1.16.0"
    );
    assert_installs_what_a_clean_build_does(&app, &root);

    // six dropped: uv.lock no longer lists it, so the build starts from the builder's
    // virtualenv and six is gone.
    let artifacts = dir.path().join("artifacts-2");
    save_artifacts(&root, &artifacts);
    relock("\"certifi==2024.8.30\"");
    let built = build_from(&artifacts);
    built.assert_contains(&[
        "Installed dependencies not restored: the dependency files changed since that build: uv.lock no longer asks for six",
        "Reusing the uv cache(s)",
    ]);
    assert_not_installed(&root, "six");
}

/// A clean build of `app` installs the same distributions, at the same versions, as the build
/// in `root`.
#[track_caller]
fn assert_installs_what_a_clean_build_does(app: &Path, root: &Path) {
    let clean_dir = tempfile::tempdir().expect("tempdir");
    let clean_root = clean_dir.path().join("app-root");
    assemble(app, &clean_root, &[]).assert_ok();
    assert_eq!(
        distributions(root),
        distributions(&clean_root),
        "the incremental build installed other packages than a clean one"
    );
}

#[track_caller]
fn assert_not_installed(root: &Path, module: &str) {
    assert_eq!(
        python(
            root,
            &format!("import importlib.util; print(importlib.util.find_spec('{module}') is None)")
        ),
        "True",
        "{module} is still installed"
    );
}

/// The distributions installed in a virtualenv, `name==version`, sorted.
fn distributions(app_root: &Path) -> Vec<String> {
    let listing = python(
        app_root,
        "import importlib.metadata as m\n\
         print('\\n'.join(sorted(d.metadata['Name'].lower() + '==' + d.version for d in m.distributions())))",
    );
    listing.lines().map(str::to_owned).collect()
}

#[test]
fn corrupt_truncated_or_foreign_artifacts_give_a_warning_and_a_clean_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Truncated tar: the manifest (last entry) is missing.
    let truncated = dir.path().join("truncated");
    fs::create_dir_all(truncated.join("uv/archive-v0")).expect("mkdir");
    fs::write(truncated.join("uv/archive-v0/half"), "garbage").expect("write");
    // Another Python version.
    let foreign = dir.path().join("foreign");
    fs::create_dir_all(foreign.join("uv")).expect("mkdir");
    fs::write(
        foreign.join("python-s2i-artifacts.json"),
        r#"{"format":3,"python_version":"2.7","dependency_digest":"x","caches":[]}"#,
    )
    .expect("write");
    // Garbage manifest.
    let corrupt = dir.path().join("corrupt");
    fs::create_dir_all(&corrupt).expect("mkdir");
    fs::write(
        corrupt.join("python-s2i-artifacts.json"),
        "\u{0}\u{1}not json",
    )
    .expect("write");
    for (artifacts, warning) in [
        (&truncated, "the artifacts are incomplete"),
        (
            &foreign,
            "made with Python 2.7, this build uses Python 3.11",
        ),
        (&corrupt, "is corrupt"),
    ] {
        let root = dir.path().join(format!(
            "root-{}",
            artifacts
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("x")
        ));
        let mut command = assemble_command(&fixture("assemble_pip_basic"), &root);
        command.env("S2I_ARTIFACTS_DIR", artifacts);
        let built = finish(&mut command);
        built.assert_ok();
        assert!(
            built.stdout.contains(" !     Warning: "),
            "{}",
            built.stdout
        );
        assert!(
            built.stdout.contains(warning),
            "{warning:?} not in:\n{}",
            built.stdout
        );
        assert!(built.stdout.contains("this is a clean build"));
        python(&root, "import six");
    }
}

#[test]
fn save_artifacts_without_a_build_and_into_a_closed_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(bin("save-artifacts"))
        .env("APP_ROOT", dir.path())
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 1024, "an empty tar is two zero blocks");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to save"));

    // A damaged record: a warning and an empty tar, not a failed build.
    fs::create_dir_all(dir.path().join(".python-s2i")).expect("mkdir");
    fs::write(
        dir.path().join(".python-s2i/python-s2i-artifacts.json"),
        "{damaged",
    )
    .expect("write");
    let out = Command::new(bin("save-artifacts"))
        .env("APP_ROOT", dir.path())
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 1024);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is damaged"));

    // A reader that goes away early is not a crash.
    let (_d, root, built) = build("assemble_pip_basic", &[]);
    built.assert_ok();
    fs::write(
        root.join(".python-s2i/python-s2i-artifacts.json"),
        serde_json::json!({"format":1,"python_version":"3.11","dependency_digest":"x","caches":[["uv", root.join("lib")]]}).to_string(),
    )
    .expect("manifest pointing at a large directory");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' | head -c 100 > /dev/null; exit ${{PIPESTATUS[0]}}",
            bin("save-artifacts").display()
        ))
        .env("APP_ROOT", &root)
        .output()
        .expect("bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn usage_explains_the_builder() {
    // The examples name the image: S2I_IMAGE_NAME, else python-s2i and the image's Python.
    for (env, image) in [
        (vec![("PYTHON_VERSION", "3.9")], "python-s2i:3.9"),
        (
            vec![
                ("PYTHON_VERSION", "3.13"),
                ("S2I_IMAGE_NAME", "quay.io/team/python-s2i:3.13"),
            ],
            "quay.io/team/python-s2i:3.13",
        ),
    ] {
        let out = Command::new(bin("usage"))
            .env_remove("S2I_IMAGE_NAME")
            .envs(env)
            .output()
            .expect("usage");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        for example in [
            format!("    s2i build . {image} yourapp"),
            format!("    s2i build --incremental . {image} yourapp     # reuses the previous build's dependencies and caches"),
            format!("    oc new-app {image}~https://github.com/you/yourapp.git"),
        ] {
            assert!(
                text.lines().any(|l| l == example),
                "no line {example:?} in:\n{text}"
            );
        }
    }
    let out = Command::new(bin("usage")).output().expect("usage");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "APP_SERVER",
        "PIP_INDEX_URL",
        "DISABLE_COLLECTSTATIC",
        "S2I_INSTALLER",
        "--incremental",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    // A reader that closes early: `usage` gets EPIPE (or SIGPIPE) on a later write. Its text
    // is shorter than a pipe buffer, so it is made longer than one (a long image name, shown
    // in every example) and the reader takes 10 bytes, then closes the pipe before `usage`
    // writes (SIGPIPE at default: an unhandled one would end usage with 128+13).
    let long_name = "registry.example.com/".to_owned() + &"x".repeat(100_000) + "/python-s2i";
    let mut child = Command::new(bin("usage"))
        .env("S2I_IMAGE_NAME", &long_name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("usage");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("the first bytes");
    drop(stdout);
    let out = child.wait_with_output().expect("usage");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        Command::new(bin("usage"))
            .env("S2I_IMAGE_NAME", &long_name)
            .output()
            .expect("usage")
            .stdout
            .len()
            > 4 * 65536,
        "the usage text must outgrow the pipe buffer for this check"
    );
    assert_eq!(out.status.code(), Some(0), "{:?} {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// issue 25: `usage` on an image whose Python is past its end of life says so with the date
/// (PYTHON_VERSION is the image's); without PYTHON_VERSION it says nothing of it.
#[test]
fn usage_warns_about_an_end_of_life_python() {
    let out = Command::new(bin("usage"))
        .env("PYTHON_VERSION", "2.7")
        .output()
        .expect("usage");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Warning: Python 2.7 reached its end of life on 2020-01-01 (PEP 373)"),
        "{text}"
    );
    let out = Command::new(bin("usage"))
        .env_remove("PYTHON_VERSION")
        .output()
        .expect("usage");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Warning: Python"));
}

#[test]
fn rebuild_in_place_reuses_the_virtualenv_and_upgrades_pip_on_request() {
    let (_d, root, built) = build("assemble_pip_basic", &[]);
    built.assert_ok();
    let built = assemble(
        &fixture("assemble_pip_basic"),
        &root,
        &[("UPGRADE_PIP_TO_LATEST", "1"), ("S2I_INSTALLER", "pip")],
    );
    built.assert_ok();
    assert!(built
        .stdout
        .contains(&format!("Using the virtualenv at {}", root.display())));
    assert!(
        built
            .stdout
            .contains("-m pip install --upgrade pip setuptools wheel"),
        "{}",
        built.stdout
    );
    python(&root, "import setuptools, wheel");
    assert!(built
        .stdout
        .contains("gunicorn is installed (chosen by APP_SERVER"));
}

#[test]
fn pip_index_url_reaches_uv_and_user_variables_beat_environment_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = copy_fixture("assemble_pip_basic", dir.path());
    fs::create_dir_all(app.join(".s2i")).expect("mkdir");
    // The file would point at a dead index; the variable given to the build wins.
    fs::write(
        app.join(".s2i/environment"),
        "PIP_INDEX_URL=http://127.0.0.1:9/simple\n",
    )
    .expect("write");
    let root = dir.path().join("ok");
    let built = assemble(&app, &root, &[("PIP_INDEX_URL", "https://pypi.org/simple")]);
    built.assert_ok();
    // Without the variable, the file's dead index is used by uv: the build fails to connect.
    let mut command = assemble_command(&app, &dir.path().join("dead"));
    command
        .env("UV_CACHE_DIR", dir.path().join("fresh-cache"))
        .env_remove("PIP_INDEX_URL");
    let built = finish(&mut command);
    assert_eq!(built.code, Some(1), "{}", built.all());
    assert!(
        built.stdout.contains(".s2i/environment sets PIP_INDEX_URL"),
        "{}",
        built.stdout
    );
    assert!(built.all().contains("127.0.0.1:9"), "{}", built.all());
}

#[test]
fn as_another_user_files_it_does_not_own_are_reported_not_fatal() {
    // OpenShift builds as a non-root user. Build as `nobody` (member of group 0, as the image's
    // user 1001 is) into an APP_ROOT holding a root-owned file it cannot change.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = dir.path().join("app-root");
    fs::create_dir(&root).expect("mkdir");
    fs::write(root.join("root-owned.txt"), "x").expect("write");
    fs::set_permissions(
        root.join("root-owned.txt"),
        fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let home = dir.path().join("home");
    fs::create_dir(&home).expect("mkdir");
    for path in [&root, &home] {
        std::os::unix::fs::chown(path, Some(65534), Some(0)).expect("chown to nobody");
    }
    let command = assemble_command(&fixture("assemble_pip_basic"), &root);
    let assemble = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<_> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    let mut as_nobody = Command::new("setpriv");
    as_nobody
        .args(["--reuid=65534", "--regid=0", "--clear-groups", "--"])
        .arg(assemble)
        .args(args)
        .env_clear()
        .envs(envs)
        .env("HOME", &home)
        .env("UV_CACHE_DIR", home.join("uv-cache"))
        .env("PIP_CACHE_DIR", home.join("pip-cache"))
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .env("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt");
    let built = finish(&mut as_nobody);
    built.assert_ok();
    assert!(
        built
            .stdout
            .contains("belong to another user and keep their permissions"),
        "{}",
        built.stdout
    );
    let meta = fs::metadata(root.join("src/wsgi.py")).expect("meta");
    assert_eq!(meta.uid(), 65534);
    assert_eq!(meta.gid(), 0);
    assert_eq!(meta.permissions().mode() & 0o060, 0o060);
    assert_eq!(
        fs::metadata(root.join("root-owned.txt"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn unreadable_source_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let source = dir.path().join("private-src");
    fs::create_dir(&source).expect("mkdir");
    fs::write(source.join("app.py"), "").expect("write");
    fs::set_permissions(&source, fs::Permissions::from_mode(0o700)).expect("chmod");
    let root = dir.path().join("app-root");
    fs::create_dir(&root).expect("mkdir");
    std::os::unix::fs::chown(&root, Some(65534), Some(65534)).expect("chown");
    let built = finish(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin("assemble"))
            .arg(&source)
            .env("APP_ROOT", &root),
    );
    built.assert_failed_with(&[
        "Cannot read the source at",
        "private-src",
        "chmod -R a+rX",
        "Permission denied",
    ]);
}

#[test]
fn app_home_from_the_variable_or_warpdrive_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo_dir = dir.path().join("repo");
    fs::create_dir(&repo_dir).expect("mkdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture("assemble_pip_basic"))
        .arg(repo_dir.join("backend"))
        .status()
        .expect("cp");
    assert!(status.success());
    let root = dir.path().join("by-variable");
    assemble(&repo_dir, &root, &[("APP_HOME", "backend")]).assert_ok();
    assert_eq!(facts(&root)["app_home"], "backend");
    python(&root, "import six");

    fs::create_dir(repo_dir.join(".warpdrive")).expect("mkdir");
    fs::write(repo_dir.join(".warpdrive/home"), "backend\n").expect("write");
    let root = dir.path().join("by-file");
    assemble(&repo_dir, &root, &[]).assert_ok();
    assert_eq!(facts(&root)["app_home"], "backend");

    let root = dir.path().join("missing");
    let built = assemble(&repo_dir, &root, &[("APP_HOME", "frontend")]);
    built.assert_failed_with(&["The application home does not exist.", "APP_HOME=frontend"]);
    // The resolver run uses: `..` that stays inside is fine, one that leads out is refused.
    let root = dir.path().join("dotdot");
    assemble(&repo_dir, &root, &[("APP_HOME", "backend/../backend")]).assert_ok();
    assert_eq!(facts(&root)["app_home"], "backend");
    let root = dir.path().join("outside");
    let built = assemble(&repo_dir, &root, &[("APP_HOME", "../..")]);
    built.assert_failed_with(&["The application home is outside the source tree."]);
}

#[test]
fn environment_file_lines_s2i_accepts_never_fail_the_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = copy_fixture("assemble_pip_basic", dir.path());
    fs::create_dir_all(app.join(".s2i")).expect("mkdir");
    fs::write(
        app.join(".s2i/environment"),
        "\u{feff}GOOD=1\nthis is not a variable\nODD-NAME=x\nQUOTED=\"a b\"\n",
    )
    .expect("write");
    let built = assemble(&app, &dir.path().join("root"), &[]);
    built.assert_ok();
    for needle in [
        ".s2i/environment:2 is not NAME=VALUE",
        ".s2i/environment:3 is not NAME=VALUE",
        ".s2i/environment sets GOOD, QUOTED",
    ] {
        assert!(
            built.all().contains(needle),
            "{needle:?} missing:\n{}",
            built.all()
        );
    }
}

/// `run` in host mode for an assembled APP_ROOT, in its own process group.
fn start_run(app_root: &Path, env: &[(&str, &str)]) -> (python_s2i_tests::Running, u16) {
    let port = python_s2i_tests::free_port();
    let mut command = clean_command(bin("run"));
    command
        .env("APP_ROOT", app_root)
        .env("PORT", port.to_string())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (python_s2i_tests::Running::spawn(&mut command), port)
}

#[test]
fn run_serves_what_assemble_built_django_with_static_files() {
    use std::time::Duration;
    let (_d, root, built) = build("assemble_django_no_static_root", &[]);
    built.assert_ok();
    let (_running, port) = start_run(&root, &[("APP_SERVER", "gunicorn")]);
    let page =
        python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(30)).expect("Django answers");
    assert_eq!(page.body, "django ok\n");
    let css = python_s2i_tests::wait_for_ok(port, "/static/site.css", Duration::from_secs(5))
        .expect("collected static file served");
    assert_eq!(css.body, "body { color: #123456; }\n");
}

/// The OpenShift Django quickstart's classic layout (manage.py and a top-level wsgi.py): the
/// wsgi.py rule finds the entry point, and the project still gets migrate (its view writes to
/// the database) and its collected static files.
#[test]
fn django_found_through_wsgi_py_is_migrated_and_serves_static_files() {
    use std::time::Duration;
    let (_d, root, built) = build("compat_django_classic", &[]);
    built.assert_ok();
    let dry = Command::new(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", &root)
        .env("APP_SERVER", "gunicorn")
        .output()
        .expect("dry run");
    let report = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        report.contains("a Django project (settings project.settings): the migrate policy applies"),
        "{report}"
    );
    assert!(report.contains("migrate --noinput"), "{report}");
    let (_running, port) = start_run(&root, &[("APP_SERVER", "gunicorn")]);
    let page =
        python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(60)).expect("Django answers");
    assert_eq!(page.body, "django-ex classic: 1 page views\n");
    let css =
        python_s2i_tests::wait_for_ok(port, "/static/welcome/site.css", Duration::from_secs(5))
            .expect("collected static file served");
    assert!(css.body.contains("welcome"), "{}", css.body);
}

#[test]
fn auto_installs_the_server_run_picks_and_run_serves_with_it() {
    use std::time::Duration;
    // assemble asks run's own detection which server auto mode picks for this app.
    let (_d, root, built) = build("assemble_django_static_root", &[("APP_SERVER", "")]);
    built.assert_ok();
    // docs/run.md: "`auto` picks mod_wsgi-express for WSGI": a Django project is WSGI.
    let installed = facts(&root)["servers_installed"].clone();
    assert_eq!(
        installed,
        serde_json::json!(["mod_wsgi-express"]),
        "{}",
        built.all()
    );
    let server = "mod_wsgi-express";
    let dry = clean_command(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", &root)
        .env("PORT", "8080")
        .output()
        .expect("run --dry-run");
    let text =
        String::from_utf8_lossy(&dry.stdout).into_owned() + &String::from_utf8_lossy(&dry.stderr);
    assert!(dry.status.success(), "{text}");
    assert!(
        text.contains(&root.join("bin").join(server).display().to_string()),
        "run would not start {server}:\n{text}"
    );
    let (_running, port) = start_run(&root, &[]);
    let page =
        python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(60)).expect("Django answers");
    assert_eq!(page.body, "django ok\n");
}

/// `run --dry-run` for `root` (`APP_SERVER` as `env` says): its report, which must succeed.
#[track_caller]
fn dry_run(root: &Path, env: &[(&str, &str)]) -> String {
    let dry = clean_command(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", root)
        .envs(env.iter().copied())
        .output()
        .expect("run --dry-run");
    let report = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        dry.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    report
}

/// docs/run.md, "Deploy-time overrides": assemble decides, run carries it out. A file added
/// to the sources after the build that detection would read first (an app.py starting its own
/// server) changes nothing: the application and server the build decided answer. A deciding
/// override set at start (APP_SERVER) makes run decide again, and it switches the server.
#[test]
fn run_carries_out_the_builds_decision_unless_an_override_decides_again() {
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("tempdir");
    let app = copy_fixture("run_wsgi_py", dir.path());
    fs::write(app.join("requirements.txt"), "gunicorn\nwaitress\n").expect("requirements");
    let root = dir.path().join("app-root");
    let built = assemble(&app, &root, &[("APP_SERVER", "")]);
    built.assert_contains(&["Server:       gunicorn (auto: requirements.txt lists gunicorn)"]);
    fs::copy(
        fixture("run_app_py").join("app.py"),
        root.join("src/app.py"),
    )
    .expect("app.py");
    let report = dry_run(&root, &[]);
    for line in [
        "Decision:    from the build record",
        "Server:      gunicorn (auto: requirements.txt lists gunicorn)",
    ] {
        assert!(report.contains(line), "{line:?} missing:\n{report}");
    }
    assert!(
        labelled(&report, "Application:").is_some_and(|a| a.ends_with("wsgi.py (application)")),
        "{report}"
    );
    let (running, port) = start_run(&root, &[]);
    let page = python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(60)).expect("answers");
    assert!(page.body.starts_with("Hello from wsgi.py"), "{}", page.body);
    assert_served_by(port, "gunicorn");
    drop(running);
    // Decided again, the sources as they are now: app.py comes first.
    let report = dry_run(&root, &[("APP_SERVER", "waitress")]);
    assert!(
        report.contains("Decision:    decided again at start: APP_SERVER differs from the build"),
        "{report}"
    );
    assert!(report.contains("Application: Python script "), "{report}");
    fs::remove_file(root.join("src/app.py")).expect("rm app.py");
    let report = dry_run(&root, &[("APP_SERVER", "waitress")]);
    assert!(
        report.contains("Server:      waitress (APP_SERVER=waitress)"),
        "{report}"
    );
    let (_running, port) = start_run(&root, &[("APP_SERVER", "waitress")]);
    let page = python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(60)).expect("answers");
    assert!(page.body.starts_with("Hello from wsgi.py"), "{}", page.body);
    assert_served_by(port, "waitress");
}

/// The server listening on `port`, as the kernel shows it (not run's report).
#[track_caller]
fn assert_served_by(port: u16, server: &str) {
    let listening = python_s2i_tests::listener::listening_on(port, None).expect("listening");
    assert_eq!(listening.server(), Some(server), "{:?}", listening.master);
}

/// docs/assemble.md: "A `Pipfile` without `Pipfile.lock` is ignored with a note".
#[test]
fn pipfile_without_its_lock_is_ignored_with_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = copy_fixture("assemble_pipenv", dir.path());
    fs::remove_file(app.join("Pipfile.lock")).expect("rm Pipfile.lock");
    let built = assemble(&app, &dir.path().join("root"), &[]);
    built.assert_ok();
    assert!(
        built
            .all()
            .contains("Pipfile has no Pipfile.lock next to it, so it is not used"),
        "{}",
        built.all()
    );
    let root = dir.path().join("root");
    assert_ne!(facts(&root)["package_manager"], "pipenv");
    assert_eq!(
        python(
            &root,
            "import importlib.util as u; print(u.find_spec('six') is None)"
        ),
        "True",
        "the Pipfile's packages were installed"
    );
}

/// docs/assemble.md: "an outdated uv.lock" is an error, with `uv lock` as the fix.
#[test]
fn outdated_uv_lock_is_an_error_naming_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = copy_fixture("assemble_uv_lock", dir.path());
    let pyproject = app.join("pyproject.toml");
    let text = fs::read_to_string(&pyproject).expect("pyproject.toml");
    fs::write(
        &pyproject,
        text.replace(
            r#"dependencies = ["six==1.16.0"]"#,
            r#"dependencies = ["six==1.16.0", "idna==3.7"]"#,
        ),
    )
    .expect("write");
    let built = assemble(&app, &dir.path().join("root"), &[]);
    built.assert_failed_with(&[
        "uv.lock does not match pyproject.toml",
        "Run `uv lock` and commit the updated uv.lock.",
    ]);
}

/// The value of the first line of `text` that starts with `label` (after the build log's
/// indentation), trimmed.
fn labelled<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
}

/// assemble's summary and `run --dry-run` on the same APP_ROOT name the same application and
/// the same server (and why): one policy answers both.
#[track_caller]
fn assert_assemble_and_run_agree(root: &Path, built: &Built, env: &[(&str, &str)]) {
    built.assert_ok();
    let report = dry_run(root, env);
    let summary = built
        .stdout
        .split("-----> Summary")
        .nth(1)
        .expect("summary");
    let app = labelled(summary, "App:").expect("App: in the summary");
    let server = labelled(summary, "Server:").expect("Server: in the summary");
    assert_eq!(
        Some(app),
        labelled(&report, "Application:"),
        "{summary}\n{report}"
    );
    assert_eq!(
        Some(server),
        labelled(&report, "Server:"),
        "{summary}\n{report}"
    );
}

#[test]
fn a_gunicorn_configuration_naming_wsgi_app_installs_and_starts_gunicorn() {
    let (_d, root, built) = build("run_gunicorn_conf", &[("APP_SERVER", "")]);
    assert!(
        built
            .stdout
            .contains("Server:       gunicorn (gunicorn.conf.py sets wsgi_app)"),
        "{}",
        built.stdout
    );
    assert_eq!(
        facts(&root)["servers_installed"],
        serde_json::json!(["gunicorn"])
    );
    assert_assemble_and_run_agree(&root, &built, &[]);
}

#[test]
fn an_environment_file_value_is_the_same_at_build_and_at_start() {
    use std::time::Duration;
    let (_d, root, built) = build("env_rules", &[]);
    built.assert_ok();
    let at_build = fs::read_to_string(root.join("src/build-time-price.txt")).expect("hook ran");
    assert_eq!(at_build, "costs $5, not ${HOME}");
    let (_running, port) = start_run(&root, &[("APP_SERVER", "gunicorn")]);
    let page = python_s2i_tests::wait_for_ok(port, "/", Duration::from_secs(30)).expect("answers");
    assert_eq!(page.body, at_build);
}

#[test]
fn zero_means_not_disabled_for_collectstatic_and_migrate_alike() {
    let (_d, root, built) = build(
        "assemble_django_static_root",
        &[("DISABLE_COLLECTSTATIC", "0"), ("DISABLE_MIGRATE", "0")],
    );
    built.assert_ok();
    assert!(
        built.stdout.contains("collectstatic --noinput"),
        "collectstatic did not run:\n{}",
        built.stdout
    );
    let dry = clean_command(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", &root)
        .env("DISABLE_MIGRATE", "0")
        .output()
        .expect("run --dry-run");
    let report = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{report}");
    assert!(
        report.contains(" migrate --noinput` before the server"),
        "migrate is not planned:\n{report}"
    );
}

/// Fixture apps whose build is meant to fail (each has its own test saying why).
/// The fixtures that do not build, each with the headline of the error assemble must stop
/// with (exit code 1): another failure, a crash included, is not the one the fixture is for.
const FIXTURES_THAT_DO_NOT_BUILD: [(&str, &str); 10] = [
    (
        "assemble_bad_package",
        "ERROR: Package \"djangoo-restframework-nonexistent\" was not found while installing requirements.txt",
    ),
    (
        "assemble_bad_requirements",
        "ERROR: A requirements file does not parse (installing requirements.txt)",
    ),
    (
        "assemble_django_collectstatic_fails",
        "ERROR: Django's collectstatic failed",
    ),
    (
        "assemble_hook_fails",
        "ERROR: The .s2i/action_hooks/pre-build hook failed: it exited with code 3",
    ),
    (
        "assemble_hook_not_executable",
        "ERROR: The .s2i/action_hooks/build hook is not executable",
    ),
    (
        "assemble_multiple_managers",
        "ERROR: Multiple package manager files were found",
    ),
    (
        "e2e_failing_build",
        "ERROR: The .s2i/action_hooks/build hook failed: it exited with code 3",
    ),
    // python-ldap without Cyrus SASL's headers, which neither the builder image nor the test
    // machine (test/setup/10-debian.sh) installs.
    (
        "e2e_missing_library",
        "ERROR: Building `python-ldap` needs the C header `sasl/sasl.h`, which this image does not have",
    ),
    // A faults fixture: Django comes from the test's prepared virtualenv, not its dependencies.
    (
        "faults_django",
        "ERROR: Could not load the Django settings mysite.settings",
    ),
    // A run fixture: manage.py and settings without Django in its dependencies.
    (
        "run_django",
        "ERROR: Could not load the Django settings mysite.settings",
    ),
];

/// What `App:` says when nothing servable was found (and `run` refuses to start).
const NOTHING: &str = "nothing detected yet";
/// A `wsgi.py` in the home (rule 11).
const WSGI_PY: &str = "WSGI application wsgi.py (application)";

/// Every fixture that builds, with what a person reading its files expects `run` to serve in
/// auto mode (docs/run.md: the detection order, and "Servers and their defaults"), written by
/// hand from the fixture, not from the code's output: the start of the `App:` line (paths
/// relative to `$APP_ROOT/src`) and the server (`none`: the application starts its own). When
/// nothing is found the build still installs auto's default server (docs/assemble.md, step 11).
#[rustfmt::skip]
const EXPECTED: [(&str, &str, &str); 61] = [
    // Rule 5: a Procfile `web:` line is the start command.
    ("apps_celery", "Procfile web process `gunicorn web:application ", "none"),
    // A uv workspace: the home is the member with the web app, backend/ (rule 15: app/main.py).
    ("apps_uv_workspace", "ASGI application app.main:app", "uvicorn"),
    // Rule 14, Django; requirements.txt lists gunicorn.
    ("assemble_bench_django", "Django WSGI application mysite.wsgi:application", "gunicorn"),
    ("assemble_django_no_static_root", "Django WSGI application mysite.wsgi:application", "mod_wsgi"),
    ("assemble_django_no_staticfiles", "Django WSGI application mysite.wsgi:application", "mod_wsgi"),
    ("assemble_django_rebuild", "Django WSGI application mysite.wsgi:application", "mod_wsgi"),
    ("assemble_django_static_root", "Django WSGI application mysite.wsgi:application", "mod_wsgi"),
    ("assemble_hooks_all", WSGI_PY, "mod_wsgi"),
    ("assemble_pip_basic", WSGI_PY, "mod_wsgi"),
    ("assemble_pipenv", WSGI_PY, "mod_wsgi"),
    ("assemble_poetry", WSGI_PY, "mod_wsgi"),
    // Rule 15: the installed package's __init__.py defines `application`.
    ("assemble_pyproject", "WSGI application pyprojapp:application", "mod_wsgi"),
    ("assemble_requirements_editable", "WSGI application mypkg:application", "mod_wsgi"),
    ("assemble_requirements_hashes", WSGI_PY, "mod_wsgi"),
    ("assemble_setup_py", "WSGI application setuppyapp:application", "mod_wsgi"),
    ("assemble_uv_lock", WSGI_PY, "mod_wsgi"),
    ("bench_django", "Django WSGI application benchsite.wsgi:application", "mod_wsgi"),
    // The classic layout: wsgi.py (rule 11) of a Django project; requirements.txt lists gunicorn.
    ("compat_django_classic", "Django WSGI application wsgi.py (application)", "gunicorn"),
    // APP_CONFIG (.s2i/environment) names a gunicorn configuration (without wsgi_app).
    ("compat_gunicorn_config", WSGI_PY, "gunicorn"),
    ("compat_locale", WSGI_PY, "mod_wsgi"),
    ("compat_lock_index", WSGI_PY, "mod_wsgi"),
    ("compat_micropipenv_requirements", WSGI_PY, "mod_wsgi"),
    // Rule 6: an executable app.sh.
    ("compat_npm_app_sh", "shell script app.sh", "none"),
    ("compat_pipenv", WSGI_PY, "mod_wsgi"),
    // Rule 4: APP_MODULE in .s2i/environment (its quotes removed).
    ("compat_poetry_src", "WSGI application pkg:application", "mod_wsgi"),
    ("demo_django", "Django WSGI application demo.wsgi:application", "mod_wsgi"),
    ("e2e_app_sh", "shell script app.sh", "none"),
    // Rule 12: asgi.py, a Starlette app; requirements.txt lists uvicorn.
    ("e2e_asgi", "ASGI application asgi.py (app)", "uvicorn"),
    ("e2e_c_extension", "WSGI application textstats:application", "mod_wsgi"),
    ("e2e_database_drivers", WSGI_PY, "mod_wsgi"),
    // wsgi.py comes before asgi.py; of the servers requirements.txt lists, the first.
    ("e2e_read_only", WSGI_PY, "mod_wsgi"),
    ("e2e_setup_py", "WSGI application e2e_setup_py:application", "mod_wsgi"),
    ("e2e_system_library", "WSGI application xmlinfo:application", "mod_wsgi"),
    ("e2e_wsgi", WSGI_PY, "mod_wsgi"),
    ("env_rules", WSGI_PY, "mod_wsgi"),
    ("faults_wsgi", WSGI_PY, "mod_wsgi"),
    ("layouts_django_npm", "Django WSGI application shop.wsgi:application", "mod_wsgi"),
    ("layouts_fastapi_main", "ASGI application main:app", "uvicorn"),
    ("layouts_fastapi_template", "ASGI application app.main:app", "uvicorn"),
    // Rule 9's exception: app.py starts only Flask's development server, so `app` is served.
    ("layouts_flask_app_py", "WSGI application app:app", "mod_wsgi"),
    ("layouts_flask_main", "WSGI application main:app", "mod_wsgi"),
    ("layouts_flask_src_factory", "WSGI application flaskr:create_app()", "mod_wsgi"),
    ("layouts_poetry_groups", WSGI_PY, "mod_wsgi"),
    ("layouts_python_version", WSGI_PY, "mod_wsgi"),
    // The Procfile has no `web:` line; requirements.txt lists gunicorn.
    ("migrate_django", "Django WSGI application shop.wsgi:application", "gunicorn"),
    // Built from the repository's root: the app is in app/ (its tests use --context-dir app).
    ("paths_repo", NOTHING, "mod_wsgi"),
    // The app is in web/: it needs APP_HOME=web, which its tests set.
    ("run_app_home", NOTHING, "mod_wsgi"),
    // site_app/web.py needs APP_MODULE, which its tests set.
    ("run_app_module", NOTHING, "mod_wsgi"),
    // Rule 9: app.py starts its own server (wsgiref).
    ("run_app_py", "Python script app.py", "none"),
    ("run_app_sh", "shell script app.sh", "none"),
    // Rule 15: main.py defines a Starlette app (not installed: the file is read, not run).
    ("run_asgi", "ASGI application main:app", "uvicorn"),
    ("run_broken_wsgi", WSGI_PY, "mod_wsgi"),
    ("run_environment", WSGI_PY, "mod_wsgi"),
    // Rule 1: gunicorn.conf.py sets wsgi_app.
    ("run_gunicorn_conf", "gunicorn configuration gunicorn.conf.py (wsgi_app)", "gunicorn"),
    ("run_hooks", WSGI_PY, "mod_wsgi"),
    ("run_nothing", NOTHING, "mod_wsgi"),
    ("run_package", "WSGI application hello_pkg:application", "mod_wsgi"),
    ("run_paste", "WSGI application Paste configuration paste.ini", "mod_wsgi"),
    ("run_procfile", "Procfile web process `python3 -m http.server $PORT --directory site`", "none"),
    // Rule 13: OpenShift 2's wsgi/application.
    ("run_wsgi_application", "WSGI application wsgi/application (application)", "mod_wsgi"),
    ("run_wsgi_py", WSGI_PY, "mod_wsgi"),
];

/// Every fixture app, built in auto mode: when the build succeeds, assemble's summary and
/// `run --dry-run` name the application and the server [`EXPECTED`] lists for it (the same,
/// or both find nothing to serve); the fixtures listed in [`FIXTURES_THAT_DO_NOT_BUILD`] fail
/// to build (and only they). Every fixture must be in exactly one of the three lists (a new
/// fixture too). The Python version check is a warning here (`S2I_IGNORE_PYTHON_VERSION`: the
/// layouts suite tests it), so a fixture asking for another Python is still checked.
#[test]
fn assemble_and_run_agree_for_every_fixture() {
    let mut names: Vec<String> = fs::read_dir(repo().join("test/fixtures"))
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let listed: Vec<&str> = EXPECTED
        .iter()
        .map(|(name, _, _)| *name)
        .chain(FIXTURES_THAT_DO_NOT_BUILD.iter().map(|(name, _)| *name))
        .chain(FIXTURES_CHECKED_IN_THE_IMAGE)
        .collect();
    let unlisted: Vec<&String> = names
        .iter()
        .filter(|n| !listed.contains(&n.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "fixtures not in EXPECTED (what a reader expects run to serve) nor in the lists of \
         fixtures that do not build or are checked in the image: {unlisted:?}"
    );
    let twice: Vec<&&str> = listed
        .iter()
        .filter(|n| listed.iter().filter(|m| m == n).count() > 1)
        .collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
    let gone: Vec<&&str> = listed
        .iter()
        .filter(|n| !names.iter().any(|m| m == **n))
        .collect();
    assert!(gone.is_empty(), "listed, but no such fixture: {gone:?}");

    let next = std::sync::Mutex::new(names.clone().into_iter());
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some(name) = next.lock().expect("lock").next() else {
                    break;
                };
                if let Err(why) = agree(&name) {
                    failures
                        .lock()
                        .expect("lock")
                        .push(format!("{name}: {why}"));
                }
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    assert!(names.len() > 30, "{names:?}");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// Fixtures whose dependencies are too heavy to install twice in CI (Streamlit and Gradio pull
/// in pandas, numpy, pyarrow, ...): their build summary and `run --dry-run` are checked in the
/// 3.11 image instead (test/tests/e2e.rs, with what each must say), where they are built once.
const FIXTURES_CHECKED_IN_THE_IMAGE: [&str; 2] = ["apps_gradio", "apps_streamlit"];

fn agree(name: &str) -> Result<(), String> {
    if FIXTURES_CHECKED_IN_THE_IMAGE.contains(&name) {
        return Ok(());
    }
    // mod_wsgi, installed for most fixtures, from the wheel built once on this machine rather
    // than compiled again for each (the server is still chosen and installed by assemble).
    let wheels = python_s2i_tests::host::mod_wsgi_wheels();
    let (_d, root, built) = build(
        name,
        &[
            ("APP_SERVER", ""),
            ("S2I_IGNORE_PYTHON_VERSION", "1"),
            ("UV_FIND_LINKS", &wheels.to_string_lossy()),
        ],
    );
    let expected_failure = FIXTURES_THAT_DO_NOT_BUILD
        .iter()
        .find(|(fixture, _)| *fixture == name)
        .map(|(_, headline)| format!(" !     {headline}"));
    match (built.code, expected_failure) {
        (Some(0), None) => {}
        (Some(0), Some(_)) => return Err("builds, but is listed as a fixture that does not".into()),
        (Some(1), Some(headline)) if built.stderr.lines().any(|l| l == headline) => return Ok(()),
        (code, Some(headline)) => {
            return Err(format!(
                "should fail with exit code 1 and {headline:?}, ended with {code:?}:\n{}",
                built.all()
            ))
        }
        (_, None) => return Err(format!("does not build:\n{}", built.all())),
    }
    let (_, expected_app, expected_server) = EXPECTED
        .iter()
        .find(|(fixture, _, _)| *fixture == name)
        .ok_or("builds, but is not in EXPECTED")?;
    // In host mode run reads .s2i/environment itself, as assemble did.
    let dry = clean_command(bin("run"))
        .arg("--dry-run")
        .env("APP_ROOT", &root)
        .output()
        .map_err(|e| e.to_string())?;
    let report = String::from_utf8_lossy(&dry.stdout).into_owned();
    let errors = String::from_utf8_lossy(&dry.stderr).into_owned();
    let summary = built
        .stdout
        .split("-----> Summary")
        .nth(1)
        .ok_or("no summary")?;
    let app = labelled(summary, "App:").ok_or("no App: in the summary")?;
    let server = labelled(summary, "Server:").ok_or("no Server: in the summary")?;
    // Paths in the sources, as the table writes them.
    let src = format!("{}/src/", root.display());
    let expected = |side: &str, app: &str, server: &str| {
        let app = app.replace(&src, "");
        let server_name = server.split([' ', ':']).next().unwrap_or_default();
        if app.starts_with(expected_app) && server_name == *expected_server {
            Ok(())
        } else {
            Err(format!(
                "{side} says App: {app} / Server: {server}\nexpected:  {expected_app}... / {expected_server}"
            ))
        }
    };
    expected("assemble", app, server)?;
    if !dry.status.success() {
        // run refuses: assemble must have found nothing to serve either.
        return if *expected_app == NOTHING {
            Ok(())
        } else {
            Err(format!("assemble found {app:?}, run refused:\n{errors}"))
        };
    }
    let run_app = labelled(&report, "Application:").unwrap_or_default();
    let run_server = labelled(&report, "Server:").unwrap_or_default();
    expected("run --dry-run", run_app, run_server)?;
    if (app, server) == (run_app, run_server) {
        Ok(())
    } else {
        Err(format!(
            "assemble: App: {app} / Server: {server}\nrun:      Application: {run_app} / Server: {run_server}"
        ))
    }
}

/// ENABLE_PIPENV, as users of the default OpenShift Python image set it: pipenv itself is in the
/// image at the pinned version, the lock's default packages are installed, the development ones
/// not; with only a Pipfile, pipenv locks it first; with only a requirements.txt, that is
/// installed. ENABLE_MICROPIPENV with only requirements.txt works too; both together fail.
#[test]
fn sclorg_pipenv_and_micropipenv_switches() {
    let (_d, root, built) = build("compat_pipenv", &[]);
    built.assert_ok();
    let version = Command::new(root.join("bin/pipenv"))
        .arg("--version")
        .output()
        .expect("pipenv");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(version.contains("2024.4.1"), "pipenv --version: {version}");
    assert_eq!(
        python(&root, "import packaging; print(packaging.__version__)"),
        "24.2"
    );
    python(&root, "import importlib.util as u; assert u.find_spec('pytest') is None; assert u.find_spec('pipenv') is None");

    let dir = tempfile::tempdir().expect("tempdir");
    let app = copy_fixture("compat_pipenv", dir.path());
    fs::remove_file(app.join("Pipfile.lock")).expect("rm");
    let built = assemble(&app, &dir.path().join("pipfile-only"), &[]);
    built.assert_ok();
    assert!(
        built.stdout.contains("locking it with pipenv"),
        "{}",
        built.stdout
    );
    assert!(
        app.join("Pipfile.lock").is_file()
            || dir.path().join("pipfile-only/src/Pipfile.lock").is_file()
    );

    let (_d, root, built) = build("compat_micropipenv_requirements", &[]);
    built.assert_ok();
    assert_eq!(
        python(&root, "import packaging; print(packaging.__version__)"),
        "24.2"
    );
    let (_d, root, built) = build(
        "compat_micropipenv_requirements",
        &[("ENABLE_PIPENV", "1"), ("ENABLE_MICROPIPENV", "0")],
    );
    built.assert_ok();
    assert!(root.join("bin/pipenv").is_file());

    let (_d, _root, built) = build(
        "compat_micropipenv_requirements",
        &[("ENABLE_PIPENV", "yes")],
    );
    built.assert_failed_with(&["ENABLE_PIPENV and ENABLE_MICROPIPENV are both set"]);
}

/// A lock file's own index is used for it (Pipfile.lock `_meta.sources`, poetry sources), and
/// the build's tools (micropipenv, the server) come from PyPI when the user's index does not
/// serve them.
#[test]
fn lock_index_wins_and_tools_do_not_need_the_users_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let mut command = assemble_command(&fixture("compat_lock_index"), &root);
    // A cold cache: nothing may come from an earlier download.
    command.env("UV_CACHE_DIR", dir.path().join("fresh-cache"));
    let built = finish(&mut command);
    built.assert_ok();
    for needle in [
        ".s2i/environment sets PIP_INDEX_URL, ENABLE_MICROPIPENV",
        "failed with the build's package index settings: trying again from PyPI without them",
        "Pipfile.lock names its package index: https://pypi.org/simple",
    ] {
        assert!(
            built.all().contains(needle),
            "{needle:?} missing:\n{}",
            built.all()
        );
    }
    assert_eq!(
        python(&root, "import packaging; print(packaging.__version__)"),
        "24.2"
    );
    assert!(root.join("bin/gunicorn").is_file());

    // poetry: the lock's packages name their source; the src-layout project is installed too.
    let (_d, root, built) = build("compat_poetry_src", &[]);
    built.assert_ok();
    assert!(
        built
            .stdout
            .contains("poetry.lock names its package index: https://pypi.org/simple"),
        "{}",
        built.stdout
    );
    python(&root, "import pkg, packaging");
}

/// Issue 22 item 9: the wrapper settings write STATIC_ROOT as a Python string literal of the
/// path. Rust's `Debug` escaping wrote a combining accent as `\u{301}`, which Python refuses,
/// so collectstatic failed for an APP_ROOT with a decomposed "é" (as macOS file names are).
#[test]
fn django_wrapper_settings_under_a_unicode_app_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("app-root-cafe\u{301}-\u{1F40D}");
    let built = assemble(&fixture("assemble_django_no_static_root"), &root, &[]);
    built.assert_ok();
    let static_root = root.join(".python-s2i/django_static_root");
    assert!(static_root.join("site.css").is_file(), "{}", built.all());
    assert_eq!(
        facts(&root)["django"]["static_root"],
        static_root.display().to_string()
    );
}

/// Issue 22 item 9: PIP_ROOT (pip's --root) and PIP_PYTHON (pip's --python) would install
/// outside the virtualenv: refused as PIP_TARGET is, with the same message.
#[test]
fn pip_root_and_pip_python_are_refused() {
    for (name, why) in [
        ("PIP_ROOT", "under another root directory"),
        ("PIP_PYTHON", "into another Python's environment"),
    ] {
        let (_d, _root, built) = build("assemble_pip_basic", &[(name, "/tmp/elsewhere")]);
        built.assert_failed_with(&[
            &format!("{name} is set, which would break the build"),
            why,
            "Remove it from there",
        ]);
    }
}

/// docs/assemble.md, "Refused variables": `PYTHONHOME`, `PIP_TARGET`, `PIP_PREFIX` and
/// `PIP_USER` stop the build wherever they are set: the environment, `.s2i/environment`,
/// `.warpdrive/environment` and the `build-env` hook; nothing is installed.
#[test]
fn pythonhome_and_pip_install_locations_are_refused_from_every_source() {
    for (name, value) in [
        ("PYTHONHOME", "/usr"),
        ("PIP_TARGET", "/tmp/elsewhere"),
        ("PIP_PREFIX", "/tmp/elsewhere"),
        ("PIP_USER", "1"),
    ] {
        let (_d, root, built) = build("assemble_pip_basic", &[(name, value)]);
        built.assert_failed_with(&[
            &format!("{name} is set, which would break the build"),
            &format!("{name} is set in the build environment"),
        ]);
        assert!(!root.join("lib").exists(), "{}", built.all());
    }
    for (file, line, name) in [
        (".s2i/environment", "PIP_USER=yes\n", "PIP_USER"),
        (
            ".warpdrive/environment",
            "PIP_PREFIX=/tmp/elsewhere\n",
            "PIP_PREFIX",
        ),
        (
            ".warpdrive/action_hooks/build-env",
            "export PYTHONHOME=/usr\n",
            "PYTHONHOME",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = copy_fixture("assemble_pip_basic", dir.path());
        let path = src.join(file);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, line).expect("write");
        let root = dir.path().join("app-root");
        let built = assemble(&src, &root, &[]);
        built.assert_failed_with(&[
            &format!("{name} is set, which would break the build"),
            &format!("{name} is set in {}", root.join("src").join(file).display()),
        ]);
        assert!(
            !built.stdout.contains("-----> Installing dependencies"),
            "{}",
            built.all()
        );
    }
}

/// docs/assemble.md, "Errors": Django settings that do not import stop the build, naming the
/// settings module, with Django's traceback in the details; nothing is recorded for `run`.
#[test]
fn django_settings_that_do_not_import_stop_the_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = copy_fixture("assemble_django_static_root", dir.path());
    let settings = src.join("mysite/settings.py");
    let text = fs::read_to_string(&settings).expect("read");
    fs::write(
        &settings,
        format!("{text}\nimport module_the_settings_need_but_nobody_installed\n"),
    )
    .expect("write");
    let root = dir.path().join("app-root");
    let built = assemble(&src, &root, &[]);
    built.assert_failed_with(&[
        "Could not load the Django settings mysite.settings",
        "No module named 'module_the_settings_need_but_nobody_installed'",
    ]);
    assert!(
        !root.join(".python-s2i/facts.json").exists(),
        "{}",
        built.all()
    );
}

/// An HTTPS simple index on 127.0.0.1 with a self-signed certificate (Python's `http.server`),
/// serving one pure-Python wheel, `s2i-extra-probe` 1.0; killed when dropped.
struct HttpsIndex {
    child: std::process::Child,
    port: u16,
    _dir: TempDir,
}

impl HttpsIndex {
    const SERVER: &'static str = r#"
import http.server, ssl, sys
root, cert, key, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening", flush=True)
server.serve_forever()
"#;

    const WHEEL: &'static str = r#"
import base64, hashlib, sys, zipfile
name = "s2i_extra_probe-1.0"
files = {
    "s2i_extra_probe.py": "ORIGIN = 'the extra index'\n",
    name + ".dist-info/METADATA": "Metadata-Version: 2.1\nName: s2i-extra-probe\nVersion: 1.0\n",
    name + ".dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(sys.argv[1], "w") as wheel:
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        wheel.writestr(path, data)
    record.append(name + ".dist-info/RECORD,,")
    wheel.writestr(name + ".dist-info/RECORD", "\n".join(record) + "\n")
"#;

    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let project = root.join("simple/s2i-extra-probe");
        fs::create_dir_all(&project).expect("mkdir");
        let wheel = "s2i_extra_probe-1.0-py3-none-any.whl";
        let status = Command::new("/usr/bin/python3")
            .args(["-c", Self::WHEEL])
            .arg(project.join(wheel))
            .status()
            .expect("python3");
        assert!(status.success(), "the wheel was not made");
        fs::write(
            project.join("index.html"),
            format!("<!DOCTYPE html><html><body><a href=\"{wheel}\">{wheel}</a></body></html>\n"),
        )
        .expect("index.html");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(made.success(), "no certificate");
        let port = python_s2i_tests::free_port();
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", Self::SERVER])
            .arg(&root)
            .arg(&cert)
            .arg(&key)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the index starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("read");
        assert_eq!(line.trim(), "listening", "the index did not start");
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for HttpsIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// docs/assemble.md, "Indexes and certificates": `PIP_EXTRA_INDEX_URL` and `PIP_TRUSTED_HOST`
/// are given to uv (as `UV_EXTRA_INDEX_URL`, `UV_INSECURE_HOST`). A package only an HTTPS extra
/// index with a certificate nobody trusts has: without `PIP_TRUSTED_HOST` the build fails; with
/// it, uv installs the package from there.
#[test]
fn pip_extra_index_url_and_trusted_host_reach_uv() {
    let index = HttpsIndex::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = copy_fixture("assemble_pip_basic", dir.path());
    fs::write(src.join("requirements.txt"), "s2i-extra-probe==1.0\n").expect("write");
    let extra = format!("https://127.0.0.1:{}/simple/", index.port);
    // uv's own cache for this test: nothing of the extra index left from a previous run.
    let cache = dir.path().join("uv-cache");
    let cache = cache.to_str().expect("utf-8");
    let untrusted = assemble(
        &src,
        &dir.path().join("untrusted"),
        &[
            ("S2I_INSTALLER", "uv"),
            ("UV_CACHE_DIR", cache),
            ("PIP_EXTRA_INDEX_URL", &extra),
        ],
    );
    untrusted.assert_failed_with(&[
        "TLS certificate verification failed while installing requirements.txt",
        &format!("{extra}s2i-extra-probe/"),
    ]);
    let root = dir.path().join("trusted");
    let trusted = assemble(
        &src,
        &root,
        &[
            ("S2I_INSTALLER", "uv"),
            ("UV_CACHE_DIR", cache),
            ("PIP_EXTRA_INDEX_URL", &extra),
            ("PIP_TRUSTED_HOST", "127.0.0.1"),
        ],
    );
    trusted.assert_ok();
    assert_eq!(
        python(
            &root,
            "import s2i_extra_probe; print(s2i_extra_probe.ORIGIN)"
        )
        .trim(),
        "the extra index"
    );
}

/// Issue 21 item 6: an incremental build redoes only the Django steps whose inputs changed
/// (crafted or stale reuse data: `rebuild.rs`'s unit tests). The tutorial's project (the polls app and the admin, no STATIC_ROOT) is rebuilt from the
/// previous build's artifacts into the same APP_ROOT, as each s2i build container has it. The
/// settings append a line to SETTINGS_IMPORT_LOG whenever Python loads them: no new line means
/// neither the introspection nor collectstatic ran, whatever the log says.
#[test]
fn rebuild_reuses_the_django_steps_until_one_of_their_inputs_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("app-root");
    let app = copy_fixture("assemble_django_rebuild", dir.path());
    let imports = dir.path().join("imports.log");
    let collected = root.join(".python-s2i/django_static_root");
    let mut round = 0;
    // A build of `app` from the previous build's artifacts (none the first time) into a fresh
    // APP_ROOT; returns its output and how many times it loaded the settings.
    let mut rebuild = |env: &[(&str, &str)]| {
        let mut command = image_like_command(&app, &root);
        command
            .env("SETTINGS_IMPORT_LOG", &imports)
            .envs(env.iter().copied());
        if round > 0 {
            let artifacts = dir.path().join(format!("artifacts-{round}"));
            save_artifacts(&root, &artifacts);
            fs::remove_dir_all(&root).expect("rm");
            command.env("S2I_ARTIFACTS_DIR", artifacts);
        }
        round += 1;
        let before = fs::read_to_string(&imports)
            .unwrap_or_default()
            .lines()
            .count();
        let built = finish(&mut command);
        built.assert_ok();
        let after = fs::read_to_string(&imports)
            .unwrap_or_default()
            .lines()
            .count();
        (built, after - before)
    };
    let mtime = |path: &Path| fs::metadata(path).expect("collected file").mtime();
    let admin_css = collected.join("admin/css/base.css");
    let polls_css = collected.join("polls/style.css");

    // Clean: the introspection and collectstatic each load the settings.
    let (built, loads) = rebuild(&[]);
    assert_eq!(loads, 2, "{}", built.stdout);
    let first = (mtime(&admin_css), mtime(&polls_css));

    // Unchanged: both reused; the files are the previous build's (their times too), and run
    // gets the same record.
    let facts_before = facts(&root)["django"].clone();
    let (built, loads) = rebuild(&[]);
    assert_eq!(loads, 0, "Django loaded the settings:\n{}", built.stdout);
    built.assert_contains(&[
        "its settings introspection is reused (Django is not imported)",
        "collected files are restored into",
        "Reused:       the previous build's installed dependencies, whole (nothing that decides them changed); the Django settings introspection and the collected static files (nothing they read changed)",
    ]);
    assert_eq!((mtime(&admin_css), mtime(&polls_css)), first);
    assert_eq!(facts(&root)["django"], facts_before);

    // A static file edited, another added: collectstatic runs (the introspection is still
    // reused).
    fs::write(
        app.join("polls/static/polls/style.css"),
        "li a { color: red; }\n",
    )
    .expect("write");
    fs::write(app.join("polls/static/polls/new.css"), "p {}\n").expect("write");
    let (built, loads) = rebuild(&[]);
    assert_eq!(loads, 1, "{}", built.stdout);
    assert_eq!(
        fs::read_to_string(&polls_css).expect("collected"),
        "li a { color: red; }\n"
    );
    assert!(collected.join("polls/new.css").is_file());

    // DISABLE_COLLECTSTATIC: nothing collected, nothing restored.
    let (built, loads) = rebuild(&[("DISABLE_COLLECTSTATIC", "1")]);
    built.assert_contains(&["DISABLE_COLLECTSTATIC is set: collectstatic skipped"]);
    assert_eq!(loads, 0, "{}", built.stdout);
    assert!(!collected.exists(), "{}", built.stdout);

    // Unset again, and the settings changed: both run, and find what changed.
    let settings = app.join("mysite/settings.py");
    let text = fs::read_to_string(&settings).expect("read");
    fs::write(
        &settings,
        text.replace("STATIC_URL = \"static/\"", "STATIC_URL = \"assets/\""),
    )
    .expect("write");
    let (built, loads) = rebuild(&[]);
    assert_eq!(loads, 2, "{}", built.stdout);
    assert_eq!(facts(&root)["django"]["static_url"], "/assets/");
    assert!(polls_css.is_file());
}

/// assemble with the caches under APP_ROOT, as in an image (the artifacts then carry them, and
/// the collected static files with them).
fn image_like_command(source: &Path, app_root: &Path) -> Command {
    let mut command = assemble_command(source, app_root);
    command
        .env_remove("UV_CACHE_DIR")
        .env_remove("PIP_CACHE_DIR");
    command
}
