//! Drop-in compatibility with the default OpenShift Python image (sclorg/s2i-python-container):
//! apps written for it, in the layouts its users have, built with our builder image and run as
//! two different arbitrary UIDs in group 0, each answering 200 with the expected body. Also
//! the ways users build: `images/s2i-build` (the no-CLI path, which `tests/paths.rs` holds to
//! the real CLI), the real `s2i build --as-dockerfile` built by podman, and a hand-written
//! Dockerfile that runs the s2i scripts (the default image's README shows it).
//!
//! The builder is `localhost/python-s2i:$E2E_PYTHON` (default 3.11; `E2E_IMAGE` overrides the
//! name); `make test-e2e` builds it first.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use python_s2i_tests::podman::{
    self, build_with_network_retries, builder, is_python2, not_on_this_python, output, podman,
    python_at_least, python_version, text, unique, CA_BUNDLE,
};
use python_s2i_tests::{fixture, free_port, repo, wait_for_ok, Response};

/// Two UIDs of OpenShift's restricted range, neither in the image's passwd, both in group 0.
const UIDS: [&str; 2] = ["1000680000:0", "1000990000:0"];
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// An application image; removed when dropped.
struct Image {
    name: String,
    log: String,
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman().args(["rmi", "-f", &self.name]).output();
    }
}

fn image_name(what: &str) -> String {
    format!(
        "localhost/{}:py{}",
        unique(&format!("python-s2i-compat-{}", what.replace('_', "-"))),
        python_version()
    )
}

/// The s2i way: `images/s2i-build SOURCE BUILDER IMAGE` (what `s2i build` does, with podman).
fn s2i_build(fixture_name: &str, extra: &[&str]) -> Result<Image, String> {
    let name = image_name(fixture_name);
    let (ok, log) = podman::s2i_build(&fixture(fixture_name), &name, extra);
    let image = Image { name, log };
    if ok {
        Ok(image)
    } else {
        Err(image.log.clone())
    }
}

#[track_caller]
fn s2i_build_ok(fixture_name: &str) -> Image {
    s2i_build(fixture_name, &[])
        .unwrap_or_else(|log| panic!("the build of {fixture_name} failed:\n{log}"))
}

/// `podman build` of a Dockerfile in `context`, the host's CA bundle mounted for the build's
/// HTTPS (as a TLS-inspecting proxy's users do).
fn podman_build(what: &str, context: &Path) -> Image {
    let name = image_name(what);
    let mut command = podman();
    command.args(["build", "--format", "docker", "-t", &name]);
    if Path::new(CA_BUNDLE).is_file() {
        command.args(["-v", &format!("{CA_BUNDLE}:{CA_BUNDLE}:ro")]);
    }
    command.arg(context);
    let (ok, log) = build_with_network_retries(&name, &mut command);
    assert!(ok, "podman build of {what} failed:\n{log}");
    Image { name, log }
}

/// A running container; removed when dropped.
struct Container {
    name: String,
    port: u16,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "-f", "-t", "2", &self.name]).output();
    }
}

impl Container {
    /// Runs `image` as `user` with `container_port` published; `args` go before the image.
    fn start(image: &Image, user: &str, container_port: u16, args: &[&str]) -> Self {
        let container = Self {
            name: unique("python-s2i-compat"),
            port: free_port(),
        };
        let mut command = podman();
        command.args(["run", "-d", "--name", &container.name, "--user", user, "-p"]);
        command.arg(format!("127.0.0.1:{}:{container_port}", container.port));
        command.args(args).arg(&image.name);
        let out = output(&mut command);
        assert!(out.status.success(), "podman run failed: {}", text(&out));
        container
    }

    fn logs(&self) -> String {
        text(&output(podman().args(["logs", &self.name])))
    }

    fn wait_ok(&self, path: &str) -> Response {
        wait_for_ok(self.port, path, START_TIMEOUT).unwrap_or_else(|e| {
            panic!(
                "{} never answered 200 on {path}: {e}\ncontainer log:\n{}",
                self.name,
                self.logs()
            )
        })
    }

    fn exec(&self, script: &str) -> String {
        let out = output(podman().args(["exec", &self.name, "/bin/sh", "-c", script]));
        assert!(out.status.success(), "exec {script}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Runs `image` as each of [`UIDS`]; each answers 200 on `/` with a body containing every
/// `expected` string (`{uid}` stands for the UID). `check` gets each running container.
fn serves_as_two_uids(
    image: &Image,
    container_port: u16,
    run_args: &[&str],
    expected: &[&str],
    check: impl Fn(&Container),
) {
    for user in UIDS {
        let container = Container::start(image, user, container_port, run_args);
        let response = container.wait_ok("/");
        let uid = user.split(':').next().unwrap_or_default();
        for want in expected {
            let want = want.replace("{uid}", uid);
            assert!(
                response.body.contains(&want),
                "as {user}: {want:?} not in the body {:?}\ncontainer log:\n{}",
                response.body,
                container.logs()
            );
        }
        let id = container.exec("id -u; id -g");
        assert_eq!(
            id.split_whitespace().collect::<Vec<_>>(),
            [uid, "0"],
            "{id}"
        );
        check(&container);
    }
}

fn no_check(_: &Container) {}

#[test]
fn enable_pipenv_installs_pinned_pipenv_and_the_lock() {
    if is_python2() {
        return not_on_this_python("pipenv 2024 needs Python 3");
    }
    if python_at_least(3, 15) {
        // Its vendored typing_extensions reads typing.no_type_check_decorator, which Python
        // 3.15 removed: `pipenv --version` fails with an AttributeError (the build says so).
        return not_on_this_python("the pinned pipenv 2024.4.1 does not import on Python 3.15");
    }
    let image = s2i_build_ok("compat_pipenv");
    assert!(image.log.contains("pipenv==2024.4.1"), "{}", image.log);
    serves_as_two_uids(
        &image,
        8080,
        &[],
        &["pipenv app: packaging parses 24.2"],
        |c| {
            let version = c.exec("pipenv --version");
            assert!(version.contains("2024.4.1"), "pipenv --version: {version}");
            // The development packages of the lock are not installed.
            let out = c.exec("python -c 'import pytest' 2>&1 || echo absent");
            assert!(out.contains("absent"), "{out}");
        },
    );
}

#[test]
fn enable_micropipenv_with_only_requirements_and_pip_upgraded() {
    let image = s2i_build_ok("compat_micropipenv_requirements");
    assert!(
        image.log.contains("upgrading pip, setuptools and wheel")
            || image.log.contains("--upgrade pip setuptools wheel"),
        "{}",
        image.log
    );
    serves_as_two_uids(
        &image,
        8080,
        &[],
        &[if is_python2() {
            "micropipenv app: packaging 20.9"
        } else {
            "micropipenv app: packaging 24.2"
        }],
        |c| {
            c.exec("python -c 'import setuptools, wheel'");
        },
    );
}

#[test]
fn pipenv_and_micropipenv_together_fail_the_build() {
    let name = "compat_both_pipenvs";
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join(name);
    copy_dir(&fixture("compat_micropipenv_requirements"), &source);
    fs::write(
        source.join(".s2i/environment"),
        "ENABLE_PIPENV=1\nENABLE_MICROPIPENV=1\n",
    )
    .expect("write");
    let image_name = image_name(name);
    let mut command = Command::new(repo().join("images/s2i-build"));
    command.arg(&source).arg(builder()).arg(&image_name);
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        command.env("CONTAINERS_CONF", repo().join("images/containers.conf"));
    }
    let out = output(&mut command);
    let _ = podman().args(["rmi", "-f", &image_name]).output();
    assert!(
        !out.status.success(),
        "the build should fail:\n{}",
        text(&out)
    );
    assert!(
        text(&out).contains("ENABLE_PIPENV and ENABLE_MICROPIPENV are both set"),
        "{}",
        text(&out)
    );
}

#[test]
fn lock_file_index_is_used_and_tools_do_not_need_the_users_index() {
    if is_python2() {
        return not_on_this_python("micropipenv runs through uv, Python 3 only");
    }
    let image = s2i_build_ok("compat_lock_index");
    assert!(
        image
            .log
            .contains("names its package index: https://pypi.org/simple"),
        "{}",
        image.log
    );
    serves_as_two_uids(
        &image,
        8080,
        &[],
        &["lock index app: packaging 24.2"],
        no_check,
    );
}

#[test]
fn poetry_src_layout_with_quoted_app_module_and_odd_environment_lines() {
    if is_python2() {
        return not_on_this_python("poetry projects need Python 3");
    }
    let image = s2i_build_ok("compat_poetry_src");
    serves_as_two_uids(&image, 8080, &[], &["poetry src app: 24.2"], no_check);
}

#[test]
fn locale_is_en_us_utf8_and_c_utf8_stays() {
    let image = s2i_build_ok("compat_locale");
    // Python 3.15 runs in UTF-8 mode by default (PEP 686): the preferred encoding is then
    // Python's own name for it, `utf-8`, whatever the locale.
    let expected = if python_at_least(3, 15) {
        "locale en_US.UTF-8 utf-8"
    } else {
        "locale en_US.UTF-8 UTF-8"
    };
    serves_as_two_uids(
        &image,
        8080,
        &[],
        &[expected, "amount 1,234,567.89", "caf\u{e9}"],
        |c| {
            let locales = c.exec("locale -a");
            assert!(locales.contains("en_US.utf8"), "{locales}");
            // glibc lists it as C.utf8 (bookworm) or C.UTF-8 (bullseye).
            let normalised = locales.to_ascii_lowercase().replace('-', "");
            assert!(normalised.contains("c.utf8"), "{locales}");
        },
    );
}

#[test]
fn app_sh_builds_its_frontend_with_npm_as_any_uid() {
    let image = s2i_build_ok("compat_npm_app_sh");
    serves_as_two_uids(
        &image,
        8080,
        &[],
        &["built by npm npm/", "as uid {uid}"],
        |c| {
            c.exec("node --version && npm --version");
        },
    );
}

/// APP_CONFIG naming a gunicorn configuration: gunicorn serves, on the port, with the workers and
/// the worker class the file sets (8085, 2 gthread workers), not run's defaults.
#[test]
fn app_config_gunicorn_file_binds_its_own_port() {
    let image = s2i_build_ok("compat_gunicorn_config");
    assert!(
        image
            .log
            .contains("gunicorn (auto: APP_CONFIG names a gunicorn configuration)"),
        "{}",
        image.log
    );
    serves_as_two_uids(
        &image,
        8085,
        &[],
        &["gunicorn config app on port 8085 via gunicorn"],
        |c| {
            // The arbiter and the file's 2 workers.
            let processes = c.exec("grep -l '[g]unicorn' /proc/[0-9]*/cmdline 2>/dev/null | wc -l");
            assert_eq!(processes.trim(), "3", "{}", c.logs());
            assert!(c.logs().contains("gthread"), "{}", c.logs());
        },
    );
}

/// The OpenShift Django quickstart's classic layout (sclorg/django-ex master: manage.py and a
/// top-level wsgi.py, gunicorn pinned in requirements.txt), Django 1.11 and gunicorn 19 on
/// Python 2.7, a current Django and gunicorn on Python 3: migrated at start (its view writes a
/// row), static files collected and served, by the app's own gunicorn. On 2.7 (no `futures`
/// package) gunicorn's threaded worker cannot load: the build records that and run starts
/// gunicorn's sync workers, as gunicorn's own log says.
#[test]
fn django_ex_classic_layout_is_migrated_and_serves_static_files() {
    let image = s2i_build_ok("compat_django_classic");
    if is_python2() {
        assert!(
            image.log.contains("concurrent.futures does not import")
                && image.log.contains("Workers:      gunicorn's sync workers"),
            "{}",
            image.log
        );
    }
    serves_as_two_uids(
        &image,
        8080,
        &[],
        &["django-ex classic: 1 page views"],
        |c| {
            let css = python_s2i_tests::get(c.port, "/static/welcome/site.css")
                .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
            assert_eq!(css.status, 200, "{}\n{}", css.body, c.logs());
            assert!(css.body.contains("welcome"), "{}", css.body);
            let logs = c.logs();
            assert!(logs.contains("migrate --noinput"), "{logs}");
            // gunicorn's own start-up line names the worker class it loaded.
            let worker = if is_python2() { "sync" } else { "gthread" };
            assert!(
                logs.contains(&format!("Using worker: {worker}")),
                "gunicorn should run its {worker} workers:\n{logs}"
            );
        },
    );
}

/// What users of the default image find in it: variables, python/pip of the virtualenv,
/// fix-permissions, and ENABLE_INIT_WRAPPER accepted.
#[test]
fn image_has_what_sclorg_users_expect() {
    let image = s2i_build_ok("compat_locale");
    serves_as_two_uids(
        &image,
        8080,
        &["-e", "ENABLE_INIT_WRAPPER=true"],
        &["locale en_US.UTF-8"],
        |c| {
            let env =
                c.exec("echo $PYTHON_VERSION $LANG $LC_ALL; command -v python; command -v pip");
            let want = format!(
                "{} en_US.UTF-8 en_US.UTF-8\n/opt/app-root/bin/python\n/opt/app-root/bin/pip\n",
                python_version()
            );
            assert_eq!(env, want);
            let fixed = c.exec(
                "mkdir -p /tmp/fp/d && chmod 700 /tmp/fp/d && /usr/bin/fix-permissions /tmp/fp -P && stat -c %a /tmp/fp/d",
            );
            assert_eq!(fixed.trim(), "770");
            let pid1 = c.exec("cat /proc/1/cmdline | tr '\\0' ' '");
            assert!(pid1.starts_with("/usr/libexec/s2i/run"), "PID 1: {pid1}");
        },
    );
}

/// The Dockerfile the default image's README shows: source into /tmp/src, the s2i scripts.
#[test]
fn plain_dockerfile_running_the_s2i_scripts() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture("compat_locale"), &dir.path().join("app-src"));
    fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\n\
             USER 0\n\
             ADD app-src /tmp/src\n\
             RUN /usr/bin/fix-permissions /tmp/src\n\
             USER 1001\n\
             RUN /usr/libexec/s2i/assemble\n\
             CMD /usr/libexec/s2i/run\n",
            builder()
        ),
    )
    .expect("write");
    let image = podman_build("dockerfile", dir.path());
    serves_as_two_uids(&image, 8080, &[], &["locale en_US.UTF-8"], no_check);
}

/// The real `s2i build --as-dockerfile` (what OpenShift 4, Shipwright and Tekton run), its
/// Dockerfile built by podman: `.s2i/environment` with its odd lines becomes ENV as s2i reads it.
#[test]
fn s2i_as_dockerfile_output_built_by_podman() {
    if is_python2() {
        return not_on_this_python("the poetry fixture needs Python 3");
    }
    let name = image_name("as-dockerfile");
    let (ok, log) =
        podman::s2i_as_dockerfile_build(&fixture("compat_poetry_src"), &builder(), &name, &[]);
    let image = Image { name, log };
    assert!(
        ok,
        "s2i build --as-dockerfile + podman build failed:\n{}",
        image.log
    );
    assert!(
        image.log.contains("CMD /usr/libexec/s2i/run"),
        "not the shell-form CMD s2i writes:\n{}",
        image.log
    );
    serves_as_two_uids(&image, 8080, &[], &["poetry src app: 24.2"], |c| {
        let pid1 = c.exec("tr '\\0' ' ' </proc/1/cmdline");
        assert!(pid1.starts_with("/usr/libexec/s2i/run"), "PID 1: {pid1}");
    });
}

fn copy_dir(from: &Path, to: &PathBuf) {
    fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}
