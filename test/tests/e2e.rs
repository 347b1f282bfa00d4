//! End to end: fixture apps built into images the way `s2i build` does it (with
//! `images/s2i-build`, podman), then run as an arbitrary UID in group 0, as OpenShift does.
//!
//! The builder is `localhost/python-s2i:$E2E_PYTHON` (default 3.11; `E2E_IMAGE` overrides the
//! name); `make test-e2e` builds it first. Each test builds its own application image, starts
//! it with `--user 1000680000:0` on a published port and checks real HTTP answers; containers
//! and images are removed when the test ends, also when it fails.

use std::path::Path;
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use python_s2i_tests::listener::listening_on;
use python_s2i_tests::podman::{
    builder, container_state, is_python2, not_on_this_python, output, podman, python_at_least,
    python_version, runtime_image, s2i_build, text, unique,
};
use python_s2i_tests::{fixture, free_port, get, repo, wait_for_ok, Response};

/// The UID OpenShift's restricted SCC gives a pod: no passwd entry, group 0.
const ARBITRARY_USER: &str = "1000680000:0";
/// How long an application image may take to answer its first 200.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// An application image built by a test; removed (with the images an incremental rebuild left
/// untagged) when dropped.
struct AppImage {
    name: String,
    ids: Vec<String>,
}

impl AppImage {
    fn new(fixture_name: &str) -> Self {
        Self {
            name: format!(
                "localhost/{}:py{}",
                unique(&format!(
                    "python-s2i-e2e-{}",
                    fixture_name.replace('_', "-")
                )),
                python_version()
            ),
            ids: Vec::new(),
        }
    }

    /// Runs the build driver; returns its status and whole log.
    fn build(&mut self, source: &Path, extra: &[&str]) -> (bool, String) {
        let (ok, log) = s2i_build(source, &self.name, extra);
        if ok {
            let id = output(podman().args(["image", "inspect", "--format", "{{.Id}}", &self.name]));
            self.ids
                .push(String::from_utf8_lossy(&id.stdout).trim().to_owned());
        }
        (ok, log)
    }

    /// `/bin/sh -c SCRIPT` in a new container of the image, as `user` (the image's own user
    /// when `None`).
    fn shell(&self, user: Option<&str>, script: &str) -> Output {
        let mut command = podman();
        command.args(["run", "--rm"]);
        if let Some(user) = user {
            command.args(["--user", user]);
        }
        command.args(["--entrypoint", "/bin/sh", &self.name, "-c", script]);
        output(&mut command)
    }

    fn build_ok(&mut self, source: &Path, extra: &[&str]) -> String {
        let (ok, log) = self.build(source, extra);
        assert!(ok, "the s2i build of {} failed:\n{log}", source.display());
        log
    }
}

impl Drop for AppImage {
    fn drop(&mut self) {
        let _ = podman().args(["rmi", "-f", &self.name]).output();
        for id in &self.ids {
            let _ = podman().args(["rmi", "-f", id]).output();
        }
    }
}

/// A container running an application image as the arbitrary UID; removed when dropped.
struct App {
    name: String,
    port: u16,
}

impl App {
    /// Starts `image` and waits for a 200 on `path`.
    fn start(image: &AppImage, path: &str) -> (Self, Response) {
        Self::start_with(image, &[], path)
    }

    /// [`App::start`] with more `podman run` options (`--read-only`, `-e NAME=value`...).
    fn start_with(image: &AppImage, options: &[&str], path: &str) -> (Self, Response) {
        // free_port's port can be taken by another process before podman binds it: retry
        // with another port when podman says so.
        let mut attempt = 0;
        let app = loop {
            attempt += 1;
            let app = Self {
                name: unique("python-s2i-e2e"),
                port: free_port(),
            };
            let out = output(
                podman()
                    .args([
                        "run",
                        "-d",
                        "--name",
                        &app.name,
                        "--user",
                        ARBITRARY_USER,
                        "-p",
                        &format!("127.0.0.1:{}:8080", app.port),
                    ])
                    .args(options)
                    .arg(&image.name),
            );
            if out.status.success() {
                break app;
            }
            let message = text(&out);
            assert!(
                attempt < 3 && python_s2i_tests::address_in_use(&message),
                "podman run failed: {message}"
            );
            // `app` is dropped here: its container, if one was created, is removed.
        };
        let first = wait_for_ok(app.port, path, START_TIMEOUT).unwrap_or_else(|e| {
            panic!(
                "{} never answered 200 on {path}: {e}\ncontainer log:\n{}",
                image.name,
                app.logs()
            )
        });
        (app, first)
    }

    fn logs(&self) -> String {
        text(&output(podman().args(["logs", &self.name])))
    }

    fn get_ok(&self, path: &str) -> Response {
        let response = get(self.port, path).unwrap_or_else(|e| panic!("{e}\n{}", self.logs()));
        assert_eq!(
            response.status,
            200,
            "GET {path}: {response:?}\ncontainer log:\n{}",
            self.logs()
        );
        response
    }

    /// Runs a shell command in the container as its user.
    fn exec(&self, script: &str) -> String {
        let out = output(podman().args(["exec", &self.name, "/bin/sh", "-c", script]));
        assert!(out.status.success(), "exec {script}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every process of the container, as `PID NAME STATE` lines (Z for a zombie).
    fn processes(&self) -> String {
        self.exec(
            "for s in /proc/[0-9]*/status; do \
               awk '/^Name:/{n=$2} /^State:/{st=$2} /^Pid:/{p=$2} END{print p, n, st}' \"$s\" 2>/dev/null; \
             done; true",
        )
    }

    /// The `.pyc` files under `/opt/app-root` (caches aside) and the interpreter's library, with
    /// their modification times, one per line.
    fn pyc_files(&self) -> String {
        self.exec(PYC_FILES)
    }

    fn state(&self, field: &str) -> String {
        container_state(&self.name, field)
    }

    /// Asserts that the process listening on the container's port 8080 is `expected`'s server
    /// (a name of `APP_SERVER`), as the kernel shows it (the socket's holder and its command
    /// line, read from the host), not as `run` says.
    fn assert_served_by(&self, expected: &str) {
        let pid: u32 = self
            .state("Pid")
            .parse()
            .unwrap_or_else(|e| panic!("the container's pid: {e}\n{}", self.logs()));
        let listening =
            listening_on(8080, Some(pid)).unwrap_or_else(|e| panic!("{e}\n{}", self.logs()));
        assert_eq!(
            listening.server(),
            Some(expected),
            "port 8080 is served by {:?}\n{}",
            listening.master,
            self.logs()
        );
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "-f", "-t", "0", &self.name]).output();
    }
}

const PYC_FILES: &str =
    "find /opt/app-root /usr/lib/python* -path /opt/app-root/.python-s2i/cache \
     -prune -o -name '*.pyc' -printf '%p %T@\\n' | sort";

/// [`PYC_FILES`] in a new container of `image`, before anything ran.
fn pyc_files_of(image: &AppImage) -> String {
    let out = image.shell(Some(ARBITRARY_USER), PYC_FILES);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn builder_image_follows_the_s2i_conventions() {
    let image = builder();
    let inspect = |format: &str| {
        let out = output(podman().args(["image", "inspect", "--format", format, &image]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(inspect("{{.Config.User}}"), "1001");
    assert_eq!(inspect("{{.Config.WorkingDir}}"), "/opt/app-root/src");
    assert_eq!(
        inspect("{{json .Config.Cmd}}"),
        r#"["/usr/libexec/s2i/usage"]"#
    );
    assert!(inspect("{{json .Config.ExposedPorts}}").contains("8080/tcp"));
    assert_eq!(
        inspect(r#"{{index .Config.Labels "io.openshift.s2i.scripts-url"}}"#),
        "image:///usr/libexec/s2i"
    );
    assert_eq!(
        inspect(r#"{{index .Config.Labels "io.openshift.expose-services"}}"#),
        "8080:http"
    );
    let tags = inspect(r#"{{index .Config.Labels "io.openshift.tags"}}"#);
    assert_eq!(
        tags,
        format!("builder,python,python{}", python_version().replace('.', ""))
    );
    let env = inspect("{{json .Config.Env}}");
    for var in [
        "APP_ROOT=/opt/app-root",
        "HOME=/opt/app-root/src",
        "STI_SCRIPTS_PATH=/usr/libexec/s2i",
        "LANG=en_US.UTF-8",
        "LC_ALL=en_US.UTF-8",
    ] {
        assert!(
            env.contains(var),
            "{var} not in the image environment {env}"
        );
    }
}

#[test]
fn builder_image_has_what_builds_need_for_any_uid() {
    let image = builder();
    let version = python_version();
    // Everything checked as the arbitrary UID, which has no passwd entry.
    let script = r#"set -e
python -c 'import sys; print("python %d.%d" % sys.version_info[:2])'
python -c 'import sys; print("prefix " + sys.prefix)'
python -c 'import locale, sys; print("encoding " + sys.getfilesystemencoding().lower())'
test -x /opt/app-root/bin/pip && echo pip
mod_wsgi-express module-location >/dev/null && echo mod_wsgi-express
if ldd "$(mod_wsgi-express module-location)" | grep -q 'not found'; then echo 'mod_wsgi: unresolved'; fi
test -x /usr/bin/apxs && echo apxs
command -v gcc >/dev/null && echo gcc
printf 'int main(void) { return 0; }\n' >/tmp/lto.c && gcc -flto -O2 /tmp/lto.c -o /tmp/lto && /tmp/lto && echo gcc-lto
ls /usr/bin/*lto-dump* >/dev/null 2>&1 || echo no-lto-dump
printf '#include <math.h>\n#include <openssl/evp.h>\nint main(void) { return (int)sqrt(1.0) - 1 + (EVP_sha256() == 0); }\n' >/tmp/libs.c
gcc /tmp/libs.c -o /tmp/libs -lm -lpthread -ldl -lrt -lcrypto -lssl -lz -lffi && /tmp/libs && echo gcc-links-libraries
printf '#include <string>\nint main() { return std::string("ok").size() - 2; }\n' >/tmp/cxx.cc
g++ /tmp/cxx.cc -o /tmp/cxx -static-libgcc && /tmp/cxx && echo g++-links
find /usr/lib /usr/local/lib -name 'lib*.a' | while read -r a; do if [ -e "${a%.a}.so" ]; then echo "static archive beside its shared library: $a"; fi; done
test -z "$(ls -A /opt/app-root/src)" && echo src-empty
command -v git >/dev/null && echo git
git init -q /tmp/repo && git -C /tmp/repo -c user.name=u -c user.email=u@example.com commit -q --allow-empty -m first && git clone -q /tmp/repo /tmp/clone && test -x /usr/lib/git-core/git-remote-https && echo git-clones
for f in /usr/lib/git-core/git-daemon /usr/lib/git-core/git-shell /usr/bin/scalar /usr/bin/gprofng; do if [ -e "$f" ]; then echo "left in: $f"; fi; done
command -v tar >/dev/null && echo tar
mkdir -p /tmp/tree/sub && echo data >/tmp/tree/sub/file && rsync -a /tmp/tree/ /tmp/tree-copy/ && cmp /tmp/tree/sub/file /tmp/tree-copy/sub/file && echo rsync
python -c 'import zipfile; zipfile.ZipFile("/tmp/a.zip", "w").writestr("inside.txt", "zipped")' && unzip -q -d /tmp/unzipped /tmp/a.zip && grep -q zipped /tmp/unzipped/inside.txt && echo unzip
ps -o pid= -p $$ >/dev/null && command -v lsof >/dev/null && command -v curl >/dev/null && command -v wget >/dev/null && echo ps-lsof-curl-wget
ls /usr/lib/*/libnss_wrapper.so >/dev/null && echo nss_wrapper
for b in assemble run save-artifacts usage; do test -x /usr/libexec/s2i/$b && echo "s2i $b"; done
touch /opt/app-root/written-by-any-uid /opt/app-root/src/written /opt/app-root/lib/written && echo group-writable
command -v uv >/dev/null && echo uv || true
"#;
    let out = output(podman().args([
        "run",
        "--rm",
        "--user",
        ARBITRARY_USER,
        &image,
        "/bin/sh",
        "-c",
        script,
    ]));
    let log = text(&out);
    assert!(out.status.success(), "checks failed in {image}:\n{log}");
    for expected in [
        format!("python {version}"),
        "prefix /opt/app-root".to_owned(),
        "encoding utf-8".to_owned(),
        "pip".to_owned(),
        "mod_wsgi-express".to_owned(),
        "apxs".to_owned(),
        "gcc".to_owned(),
        // -flto builds link (lto1 stays), lto-dump is left out (unused-libs.dpkg.cfg).
        "gcc-lto".to_owned(),
        "no-lto-dump".to_owned(),
        // Ordinary links find every library; the static archives beside a shared library are
        // left out (drop-static-archives.sh), and nothing is left in the source directory.
        "gcc-links-libraries".to_owned(),
        "g++-links".to_owned(),
        "src-empty".to_owned(),
        "git".to_owned(),
        // git clones (its https transport stays).
        "git-clones".to_owned(),
        "tar".to_owned(),
        // The tools of the default image's base that hooks and `oc rsync`/`oc rsh` use.
        "rsync".to_owned(),
        "unzip".to_owned(),
        "ps-lsof-curl-wget".to_owned(),
        "nss_wrapper".to_owned(),
        "s2i assemble".to_owned(),
        "s2i run".to_owned(),
        "s2i save-artifacts".to_owned(),
        "s2i usage".to_owned(),
        "group-writable".to_owned(),
    ] {
        assert!(
            log.lines().any(|l| l == expected),
            "{image}: no `{expected}` in:\n{log}"
        );
    }
    assert!(!log.contains("unresolved"), "{log}");
    assert!(!log.contains("static archive beside"), "{log}");
    // git's servers and mail tools, scalar and gprofng are left out (unused-libs.dpkg.cfg).
    assert!(!log.contains("left in:"), "{log}");
    // uv where the interpreter supports it (3.8 and later), never on 2.7.
    assert_eq!(log.lines().any(|l| l == "uv"), !is_python2(), "{log}");
}

#[test]
fn builder_image_prints_its_usage_by_default() {
    let image = builder();
    let out = output(podman().args(["run", "--rm", "--user", ARBITRARY_USER, &image]));
    let log = text(&out);
    assert!(out.status.success(), "usage failed:\n{log}");
    // The examples name this image (its Python), not another one.
    let version = python_version();
    let example = format!("    s2i build . python-s2i:{version} yourapp");
    assert!(
        log.lines().any(|l| l == example),
        "no line {example:?} in:\n{log}"
    );
    // 2.7 and 3.9 are past their end of life: the image's usage says so, with the date.
    if ["2.7", "3.9"].contains(&version.as_str()) {
        assert!(
            log.contains(&format!(
                "Warning: Python {version} reached its end of life on"
            )),
            "{log}"
        );
    }
}

#[test]
fn bare_wsgi_py_serves_whoami_reaps_orphans_and_stops_gracefully() {
    let mut image = AppImage::new("e2e_wsgi");
    image.build_ok(
        &fixture("e2e_wsgi"),
        &["-e", "E2E_FROM_CLI=yes", "-e", "E2E_OVERRIDDEN=by -e"],
    );
    // As with s2i, .s2i/environment and -e (which wins) are kept in the image.
    let env = output(
        podman()
            .args(["image", "inspect", "--format", "{{json .Config.Env}}"])
            .arg(&image.name),
    );
    let env = String::from_utf8_lossy(&env.stdout);
    for var in [
        "E2E_FROM_S2I_ENVIRONMENT=from .s2i/environment",
        "E2E_FROM_CLI=yes",
        "E2E_OVERRIDDEN=by -e",
    ] {
        assert!(
            env.contains(var),
            "{var} not in the image environment {env}"
        );
    }
    assert!(!env.contains("E2E_OVERRIDDEN=by the file"), "{env}");
    let (app, first) = App::start(&image, "/");
    assert_eq!(
        first.body,
        format!("Hello from e2e_wsgi on Python {}\n", python_version())
    );

    let static_file = app.get_ok("/static/hello.txt");
    assert_eq!(static_file.body, "static file of e2e_wsgi\n");

    // The arbitrary UID has a passwd entry for the app's processes.
    let whoami = app.get_ok("/whoami").body;
    assert!(
        whoami.starts_with("uid=1000680000 gid=0 whoami=") && whoami.contains(" status=0 "),
        "whoami does not work for the arbitrary UID: {whoami}"
    );
    let name = whoami
        .split("whoami=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default();
    assert!(!name.is_empty(), "whoami printed no name: {whoami}");

    // Orphans of the app's subprocesses are reaped.
    for _ in 0..5 {
        assert!(app.get_ok("/spawn").body.contains("shell status 0"));
    }
    // Each orphan `sleep 0.3` ends, then must be reaped by run (PID 1): poll until no `sleep`
    // is left at all, running or zombie; one left at the deadline fails (with the list).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let processes = app.processes();
        assert!(
            processes.lines().any(|l| l.starts_with("1 run ")),
            "{processes}"
        );
        let orphans: Vec<&str> = processes
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("sleep"))
            .collect();
        if orphans.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "orphans not reaped after 30 s (Z = zombie): {orphans:?}"
        );
        thread::sleep(Duration::from_millis(200));
    }

    // The platform's stop (SIGTERM) is a graceful stop: the request in flight is answered.
    let port = app.port;
    let slow = thread::spawn(move || get(port, "/slow?seconds=3"));
    // The request is in the application (its marker exists) before the stop.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app
        .exec("test -e /tmp/slow-started && echo yes || true")
        .trim()
        != "yes"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "/slow never started\n{}",
            app.logs()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let stop = output(podman().args(["stop", "-t", "30", &app.name]));
    assert!(stop.status.success(), "podman stop: {}", text(&stop));
    let answer = slow.join().expect("the slow request thread");
    let answer = answer.unwrap_or_else(|e| panic!("the slow request failed: {e}\n{}", app.logs()));
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "slow request done after 3.0 seconds\n"),
        "{}",
        app.logs()
    );
    assert_eq!(
        app.state("ExitCode"),
        "0",
        "the stop was not clean:\n{}",
        app.logs()
    );
}

#[test]
fn django_without_static_root_serves_static_files_and_rebuilds_incrementally() {
    let source = fixture("demo_django");
    let mut image = AppImage::new("demo_django");
    let log = image.build_ok(&source, &["--incremental"]);
    assert!(
        log.contains("does not exist yet, this is a clean build"),
        "{log}"
    );
    let built_pyc = pyc_files_of(&image);
    for needle in [
        "/django/db/models/__pycache__/",
        "/src/demo/__pycache__/settings.",
    ] {
        // Python 2.7 writes foo.pyc next to foo.py, 3.x into __pycache__.
        let needle = if is_python2() {
            needle.replace("__pycache__/", "")
        } else {
            needle.to_owned()
        };
        assert!(built_pyc.contains(&needle), "no {needle} in:\n{built_pyc}");
    }
    {
        let (app, page) = App::start(&image, "/");
        assert!(
            page.body.contains("<h1>Hello from python-s2i</h1>")
                && page.body.contains("UID 1000680000"),
            "{}",
            page.body
        );
        let css = app.get_ok("/static/hello/style.css");
        assert!(css.body.contains("python-s2i demo"), "{}", css.body);
        // Serving wrote no bytecode and rewrote none: the build compiled all it imports.
        assert_eq!(app.pyc_files(), built_pyc, "serving compiled bytecode");
        assert!(
            css.content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/css")),
            "{:?}",
            css.content_type
        );
        // The exec probes of contrib/openshift, run as kubelet runs them: in the container, as
        // its arbitrary UID, with its environment.
        let probes =
            app.exec("/usr/libexec/s2i/run --check-ready && /usr/libexec/s2i/run --check-live");
        assert!(
            probes.contains("ready: GET / answered 200")
                && probes.contains("alive: port 8080 accepts connections"),
            "{probes}\n{}",
            app.logs()
        );
    }

    // The release phase as a pre-deployment hook runs it: a new container of the image,
    // `run --release`, exit 0 once migrated.
    let release = output(podman().args([
        "run",
        "--rm",
        "--user",
        ARBITRARY_USER,
        &image.name,
        "/usr/libexec/s2i/run",
        "--release",
    ]));
    assert!(release.status.success(), "{}", text(&release));
    assert!(
        text(&release).contains("run: release phase done")
            && text(&release).contains("holding the file lock"),
        "{}",
        text(&release)
    );

    // The second build gets the first image's artifacts in /tmp/artifacts and reuses them.
    let log = image.build_ok(&source, &["--incremental"]);
    // Proven from outside the build's log: Django's bytecode in the new image is the first
    // build's, with its modification times (to the second, what the artifacts' tar keeps); a
    // fresh install would have compiled new files.
    let restored_pyc = pyc_files_of(&image);
    let django_times = |listing: &str| -> Vec<(String, String)> {
        listing
            .lines()
            .filter(|l| l.contains("-packages/django/"))
            .filter_map(|l| {
                let (path, time) = l.rsplit_once(' ')?;
                Some((path.to_owned(), time.split('.').next()?.to_owned()))
            })
            .collect()
    };
    assert!(
        !django_times(&built_pyc).is_empty(),
        "no Django bytecode in:\n{built_pyc}"
    );
    assert_eq!(
        django_times(&restored_pyc),
        django_times(&built_pyc),
        "the incremental build did not restore the first build's Django (its bytecode is new)"
    );
    assert!(
        log.contains("incremental: saving the artifacts of"),
        "no artifacts saved:\n{log}"
    );
    assert!(
        !log.contains("wrote nothing, this is a clean build"),
        "save-artifacts wrote nothing:\n{log}"
    );
    // Three files, checked; the unchanged app gets its installed dependencies back whole.
    assert!(
        log.contains("/tmp/artifacts: python-s2i-dependencies.tar.zst")
            && log.contains("(sha256 checked)"),
        "assemble did not check /tmp/artifacts:\n{log}"
    );
    assert!(
        log.contains("restored the installed dependencies of the previous build"),
        "dependencies not restored:\n{log}"
    );
    // Restored in place: the builder's own files (pip, the server) are left as they are, and
    // the restored bytecode is not compiled again.
    assert!(
        log.contains("already there as the builder made them")
            && log.contains("Not compiled again"),
        "{log}"
    );
    // The restored dependencies carry the first build's bytecode, and the image does not carry
    // the archives a second time.
    let names = |listing: &str| -> Vec<String> {
        listing
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        names(&restored_pyc),
        names(&built_pyc),
        "other bytecode files after the restore"
    );
    let left = image.shell(None, "ls -A /tmp/artifacts 2>/dev/null");
    assert!(
        !text(&left).contains(".tar"),
        "archives left in /tmp/artifacts:\n{}",
        text(&left)
    );
    // Nothing the Django steps read changed: neither runs, the collected files come with the
    // artifacts (and are served below).
    assert!(
        log.contains("its settings introspection is reused (Django is not imported)")
            && log.contains("collected files are restored into")
            && !log.contains("collectstatic --noinput"),
        "{log}"
    );
    {
        let (app, page) = App::start(&image, "/");
        assert!(page.body.contains("Hello from python-s2i"), "{}", page.body);
        let css = app.get_ok("/static/hello/style.css");
        assert!(css.body.contains("python-s2i demo"), "{}", css.body);
    }

    // One dependency more: the dependencies come back and requirements.txt is installed over
    // them, and the caches archive this build did not open is not committed either.
    let changed = tempfile::tempdir().expect("tempdir");
    let app_dir = changed.path().join("demo_django");
    let copied = output(Command::new("cp").arg("-a").arg(&source).arg(&app_dir));
    assert!(copied.status.success(), "{}", text(&copied));
    let mut requirements =
        std::fs::read_to_string(app_dir.join("requirements.txt")).expect("requirements");
    requirements.push_str("six==1.16.0\n");
    std::fs::write(app_dir.join("requirements.txt"), requirements).expect("write");
    let log = image.build_ok(&app_dir, &["--incremental"]);
    assert!(
        log.contains("still asks for every package it asked for (new: six)")
            && log.contains("restored the installed dependencies of the previous build")
            && log.contains("-r requirements.txt"),
        "{log}"
    );
    // A distribution more: the Django steps run again.
    assert!(log.contains("collectstatic --noinput"), "{log}");
    let left = image.shell(
        None,
        "ls -A /tmp/artifacts 2>/dev/null; /opt/app-root/bin/python -c 'import six; print(six.__version__)'",
    );
    assert!(
        !text(&left).contains(".tar") && text(&left).contains("1.16.0"),
        "{}",
        text(&left)
    );
}

/// What an application image on the runtime image must and must not have, and that it serves
/// the demo app with the build's bytecode.
fn check_demo_on_runtime(image: &AppImage) {
    let shell = |script: &str| {
        let out = image.shell(Some(ARBITRARY_USER), script);
        (out.status.success(), text(&out))
    };
    for tool in ["gcc", "cc", "git", "npm", "apxs", "uv"] {
        let (found, out) = shell(&format!("command -v {tool}"));
        assert!(!found, "{tool} is in the runtime-based image: {out}");
    }
    let (ok, out) = shell(
        "test -z \"$(ls -d /usr/include/python* 2>/dev/null)\" && test ! -e /opt/app-root/.python-s2i/cache && echo clean",
    );
    assert!(ok && out.contains("clean"), "{out}");
    // Apache without perl, libxml2 and libicu (images/scripts/repack-without.sh), and
    // no static libpython or locale sources; perl-base is essential and stays.
    let (ok, out) = shell(
        "dpkg-query -W -f '${Package}\\n' | grep -E '^(perl|libperl.*|perl-modules.*|libxml2.*|libicu.*|locales)$'; \
         ls /usr/share/i18n/locales /usr/lib/python*/config-*/*.a 2>/dev/null; \
         dpkg-query -W -f '${Version}\\n' apache2-bin",
    );
    assert!(
        ok && out.lines().count() == 1 && out.trim_end().ends_with("~pys2i1"),
        "the runtime image has more than it needs:\n{out}"
    );
    let built_pyc = pyc_files_of(image);
    assert!(
        built_pyc.contains("/django/db/models/"),
        "no bytecode:\n{built_pyc}"
    );
    let (app, page) = App::start(image, "/");
    assert!(
        page.body.contains("Hello from python-s2i") && page.body.contains("UID 1000680000"),
        "{}",
        page.body
    );
    app.get_ok("/static/hello/style.css");
    assert_eq!(app.pyc_files(), built_pyc, "serving compiled bytecode");
}

/// The repacked packages (images/scripts/repack-without.sh) leave dpkg's and apt's view of both
/// images consistent, so derived images can `apt-get install` as usual.
#[test]
fn builder_and_runtime_images_have_consistent_package_states() {
    for image in [builder(), runtime_image()] {
        let out = output(podman().args([
            "run",
            "--rm",
            "--user",
            "0",
            &image,
            "/bin/sh",
            "-c",
            "apt-get check -q && dpkg --audit && echo consistent",
        ]));
        let log = text(&out);
        assert!(
            out.status.success() && log.contains("consistent"),
            "{image}:\n{log}"
        );
    }
}

#[test]
fn runtime_image_through_s2i_build_runtime_image() {
    let runtime = runtime_image();
    let mut image = AppImage::new("demo_django_runtime");
    let log = image.build_ok(&fixture("demo_django"), &["--runtime-image", &runtime]);
    assert!(log.contains("assemble-runtime: done"), "{log}");
    check_demo_on_runtime(&image);
    // Incremental builds cannot use a runtime image (as with s2i): a usage error.
    let (ok, log) = image.build(
        &fixture("demo_django"),
        &["--incremental", "--runtime-image", &runtime],
    );
    assert!(!ok && log.contains("cannot be combined"), "{log}");
}

#[test]
fn runtime_image_through_the_multi_stage_containerfile() {
    let runtime = runtime_image();
    let image = AppImage::new("demo_django_multistage");
    // A checkout: its .git (history, a token in .git/config) never reaches the image (issue 22).
    let checkout = tempfile::tempdir().expect("tempdir");
    let source = python_s2i_tests::copy_fixture("demo_django", checkout.path());
    std::fs::create_dir_all(source.join(".git")).expect("mkdir .git");
    std::fs::write(
        source.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://ci-token@git.example.com/demo.git\n",
    )
    .expect("write .git/config");
    let out = output(
        podman().args([
            "build",
            "--layers=false",
            "-f",
            &repo()
                .join("images/Containerfile.app")
                .display()
                .to_string(),
            "--build-arg",
            &format!("BUILDER_IMAGE={}", builder()),
            "--build-arg",
            &format!("RUNTIME_IMAGE={runtime}"),
            "-v",
            "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro",
            "-t",
            &image.name,
            &source.display().to_string(),
        ]),
    );
    assert!(out.status.success(), "podman build failed:\n{}", text(&out));
    let git = image.shell(
        Some(ARBITRARY_USER),
        "find /opt/app-root -name .git; grep -rl ci-token /opt/app-root/src; true",
    );
    assert!(text(&git).trim().is_empty(), "{}", text(&git));
    check_demo_on_runtime(&image);
}

#[test]
fn setup_py_package_is_installed_and_served() {
    let mut image = AppImage::new("e2e_setup_py");
    image.build_ok(&fixture("e2e_setup_py"), &[]);
    let (_app, page) = App::start(&image, "/");
    assert_eq!(
        page.body,
        format!(
            "Hello from the e2e_setup_py package on Python {}\n",
            python_version()
        )
    );
}

/// The builder compiles a package with C and C++ extensions from source (gcc, g++, libc6-dev,
/// libstdc++, Python's headers), and the result runs both on the builder and on the runtime
/// image, which has no compiler but every library the built extensions load.
#[test]
fn package_with_c_and_cpp_extensions_is_compiled_and_runs_on_both_images() {
    let expect = |page: &Response| {
        let lines: Vec<&str> = page.body.lines().collect();
        assert_eq!(lines.len(), 3, "{}", page.body);
        let words: Vec<&str> = lines[0].split(' ').collect();
        assert!(
            words.len() == 4 && words[0] == "adler32" && words[2] == "zlib",
            "{}",
            page.body
        );
        assert_eq!(words[1], words[3], "the C checksum differs from zlib's");
        // "the quick brown fox jumps over the lazy dog": "the" twice, 8 distinct words.
        assert_eq!(lines[1], "distinct words 8");
        let so: Vec<&str> = lines[2].split(' ').skip(1).collect();
        assert!(
            so.len() == 2 && so.iter().all(|f| f.ends_with(".so")),
            "not compiled extensions: {}",
            page.body
        );
    };
    let mut image = AppImage::new("e2e_c_extension");
    image.build_ok(&fixture("e2e_c_extension"), &[]);
    let (_app, page) = App::start(&image, "/");
    expect(&page);

    let runtime = runtime_image();
    let mut on_runtime = AppImage::new("e2e_c_extension_runtime");
    on_runtime.build_ok(&fixture("e2e_c_extension"), &["--runtime-image", &runtime]);
    let (_app, page) = App::start(&on_runtime, "/");
    expect(&page);
}

/// psycopg2 and mysqlclient, which have no Linux wheels, build from source in the builder (as
/// on the default OpenShift image: libpq-dev, the MySQL/MariaDB client's headers), and the
/// application built with them runs on the runtime image, which has their client libraries.
#[test]
fn database_drivers_build_from_source_and_run_on_the_runtime_image() {
    let runtime = runtime_image();
    let mut image = AppImage::new("e2e_database_drivers_runtime");
    let log = image.build_ok(
        &fixture("e2e_database_drivers"),
        &["--runtime-image", &runtime],
    );
    assert!(log.contains("assemble-runtime: done"), "{log}");
    assert!(
        !log.contains("not in this runtime image"),
        "a library the drivers link is missing from {runtime}:\n{log}"
    );
    let (_app, page) = App::start(&image, "/");
    let lines: Vec<Vec<&str>> = page.body.lines().map(|l| l.split(' ').collect()).collect();
    assert!(
        lines.len() == 2
            && lines[0].len() == 4
            && lines[0][0] == "psycopg2"
            && lines[0][3].parse::<u32>().is_ok_and(|v| v > 0)
            && lines[1].len() == 4
            && lines[1][0] == "mysqlclient"
            && !lines[1][3].is_empty(),
        "{}",
        page.body
    );
}

/// A package whose extension links a system library the runtime image does not have
/// (libxml2): it builds and runs with the builder image, and a runtime-image build says which
/// library is missing and for which module, instead of an ImportError at the first request.
#[test]
fn runtime_image_build_names_the_libraries_it_lacks() {
    let mut image = AppImage::new("e2e_system_library");
    image.build_ok(&fixture("e2e_system_library"), &[]);
    let (_app, page) = App::start(&image, "/");
    assert!(page.body.starts_with("libxml2 2"), "{}", page.body);

    let runtime = runtime_image();
    let mut on_runtime = AppImage::new("e2e_system_library_runtime");
    let log = on_runtime.build_ok(
        &fixture("e2e_system_library"),
        &["--runtime-image", &runtime],
    );
    let warning = log
        .lines()
        .skip_while(|l| !l.contains("not in this runtime image"))
        .take(2)
        .collect::<Vec<_>>();
    assert!(
        warning.len() == 2
            && warning[1].contains("libxml2.so")
            && warning[1].contains("xmlinfo/_libxml"),
        "no warning naming libxml2 and the module:\n{log}"
    );
    assert!(
        log.contains("deploy the image built with the builder image"),
        "{log}"
    );
}

#[test]
fn app_sh_starts_the_applications_own_server() {
    let mut image = AppImage::new("e2e_app_sh");
    image.build_ok(&fixture("e2e_app_sh"), &[]);
    let (app, page) = App::start(&image, "/");
    assert_eq!(
        page.body,
        format!("Hello from app.sh on Python {}\n", python_version())
    );
    assert!(
        app.logs().contains("e2e_app_sh: starting on port 8080"),
        "{}",
        app.logs()
    );
}

#[test]
fn asgi_app_is_served_by_an_asgi_server() {
    if is_python2() {
        return not_on_this_python("ASGI applications need Python 3");
    }
    let mut image = AppImage::new("e2e_asgi");
    image.build_ok(&fixture("e2e_asgi"), &[]);
    let (_app, page) = App::start(&image, "/");
    assert_eq!(
        page.body,
        format!("Hello from ASGI on Python {}\n", python_version())
    );
}

#[test]
fn failing_build_fails_with_its_message_and_commits_nothing() {
    let mut image = AppImage::new("e2e_failing_build");
    let (ok, log) = image.build(&fixture("e2e_failing_build"), &[]);
    assert!(!ok, "the build should have failed:\n{log}");
    assert!(
        log.contains("e2e_failing_build: this build hook fails on purpose"),
        "the hook's message is not in the build log:\n{log}"
    );
    assert!(
        log.contains("assemble failed with exit status"),
        "the driver did not report the failure:\n{log}"
    );
    let exists = output(podman().args(["image", "exists", &image.name]));
    assert!(!exists.status.success(), "an image was committed anyway");
}

/// A package that builds from source against a library whose headers the builder lacks
/// (python-ldap: Cyrus SASL's): the build fails with a message naming the header and the
/// package, and the two ways out (a wheel, or an image with the library's -dev package).
#[test]
fn missing_library_headers_are_named_with_the_way_to_get_them() {
    let mut image = AppImage::new("e2e_missing_library");
    let (ok, log) = image.build(&fixture("e2e_missing_library"), &[]);
    assert!(!ok, "the build should have failed:\n{log}");
    let headline = log
        .lines()
        .find(|l| l.contains("ERROR: Building"))
        .unwrap_or_default();
    assert!(
        headline.contains("Building `python-ldap` needs the C header `sasl")
            && headline.contains("which this image does not have"),
        "no headline naming the package and the header:\n{log}"
    );
    assert!(
        log.contains("apt-get install -y --no-install-recommends PACKAGE-dev")
            && log.contains("https://packages.debian.org/search?searchon=contents"),
        "no way to get the library in the message:\n{log}"
    );
}

#[test]
fn build_driver_rejects_bad_usage() {
    let driver = repo().join("images/s2i-build");
    let out = output(Command::new(&driver).arg("only-one-argument"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("expected SOURCE_DIR BUILDER_IMAGE OUTPUT_IMAGE"),
        "{}",
        text(&out)
    );

    let out = output(Command::new(&driver).args(["/nonexistent-source", "b", "o"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("the source directory /nonexistent-source does not exist"),
        "{}",
        text(&out)
    );

    let source = fixture("e2e_wsgi");
    let out = output(
        Command::new(&driver)
            .arg("-e")
            .arg("NOT A VAR")
            .arg(&source)
            .args(["b", "o"]),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("-e expects NAME=VALUE, found: NOT A VAR"),
        "{}",
        text(&out)
    );
}

/// `major.minor` of the image's Python as numbers, for the layouts' version requirements.
#[test]
fn fastapi_main_py_is_served_by_uvicorn() {
    if !python_at_least(3, 8) {
        return not_on_this_python("FastAPI needs Python 3.8 or later");
    }
    let mut image = AppImage::new("layouts_fastapi_main");
    let log = image.build_ok(&fixture("layouts_fastapi_main"), &[]);
    assert!(
        log.contains("App:          ASGI application main:app"),
        "{log}"
    );
    let (app, page) = App::start(&image, "/");
    assert_eq!(page.body, r#"{"message":"Hello World"}"#);
    app.assert_served_by("uvicorn");
}

#[test]
fn fastapi_template_app_main_with_uv_lock_is_served_by_an_asgi_server_without_its_dev_group() {
    let mut image = AppImage::new("layouts_fastapi_template");
    if !python_at_least(3, 10) {
        // requires-python = ">=3.10,<4.0": the build stops at once and names the image.
        let (ok, log) = image.build(&fixture("layouts_fastapi_template"), &[]);
        assert!(!ok, "{log}");
        assert!(
            log.contains("uv.lock asks for Python >=3.10, <4.0") && log.contains("python-s2i:3.15"),
            "{log}"
        );
        return;
    }
    let log = image.build_ok(&fixture("layouts_fastapi_template"), &[]);
    assert!(log.contains("--no-default-groups"), "{log}");
    assert!(log.contains("uvicorn is not installed yet"), "{log}");
    let (app, page) = App::start(&image, "/api/v1/utils/health-check/");
    assert_eq!(page.body, "true");
    let pytest = app.exec("test -e /opt/app-root/bin/pytest && echo present || echo absent");
    assert_eq!(pytest.trim(), "absent", "the dev group was installed");
}

#[test]
fn flask_main_py_is_served_by_mod_wsgi_not_its_development_server() {
    if !python_at_least(3, 8) {
        return not_on_this_python("Flask 2.2+ needs Python 3.8 or later");
    }
    let mut image = AppImage::new("layouts_flask_main");
    let log = image.build_ok(&fixture("layouts_flask_main"), &[]);
    assert!(
        log.contains("main.py: starts the framework's development server: app.run()"),
        "{log}"
    );
    let (app, page) = App::start(&image, "/");
    assert!(
        page.body.contains("Hello World from Flask in main.py"),
        "{}",
        page.body
    );
    app.assert_served_by("mod_wsgi");
}

#[test]
fn flask_src_layout_factory_is_served_by_mod_wsgi() {
    if !python_at_least(3, 8) {
        return not_on_this_python("Flask 2.2+ needs Python 3.8 or later");
    }
    let mut image = AppImage::new("layouts_flask_src_factory");
    let log = image.build_ok(&fixture("layouts_flask_src_factory"), &[]);
    assert!(
        log.contains("App:          WSGI application flaskr:create_app()"),
        "{log}"
    );
    let (app, page) = App::start(&image, "/");
    assert!(
        page.body.contains("Hello from the factory"),
        "{}",
        page.body
    );
    assert_eq!(app.get_ok("/hello").body, "Hello, World!");
}

#[test]
fn npm_built_assets_are_served_from_django_static_files() {
    if !python_at_least(3, 11) {
        // Django 4.2+ and esbuild 0.25 (Node.js 18+): bullseye's Node.js 12 is too old.
        return not_on_this_python(
            "the fixture needs Python 3.8+ and Node.js 18+ (bookworm or later)",
        );
    }
    let mut image = AppImage::new("layouts_django_npm");
    let log = image.build_ok(&fixture("layouts_django_npm"), &[]);
    assert!(
        log.contains("npm ci") && log.contains("npm run build"),
        "{log}"
    );
    let (app, js) = App::start(&image, "/static/dist/app.js");
    assert!(js.body.contains("Welcome to the shop"), "{}", js.body);
    assert!(app.get_ok("/").body.contains("/static/dist/app.css"));
}

#[test]
fn python_version_file_is_checked_against_the_image() {
    let mut image = AppImage::new("layouts_python_version");
    let (ok, log) = image.build(&fixture("layouts_python_version"), &[]);
    if python_version() == "3.13" {
        assert!(ok, "{log}");
        assert!(
            log.contains(".python-version asks for Python 3.13: Python 3.13"),
            "{log}"
        );
        let (_app, page) = App::start(&image, "/");
        assert_eq!(page.body, "pinned to Python 3.13\n");
    } else {
        assert!(!ok, "{log}");
        assert!(
            log.contains(&format!(
                "ERROR: .python-version asks for Python 3.13, the builder has Python {}",
                python_version()
            )) && log.contains("python-s2i:3.13"),
            "{log}"
        );
    }
}

/// Kubernetes `readOnlyRootFilesystem: true` with an emptyDir on /tmp (a common hardening):
/// `$APP_ROOT/.python-s2i` cannot be written, so run keeps its state in its private directory
/// under /tmp. Every server starts there and answers, and `run --check-ready` (an exec probe)
/// finds the start. One image with every server; run on the default Python only (what is
/// tested is run's, not the interpreter's).
#[test]
fn read_only_root_with_a_writable_tmp_every_server_answers_and_is_ready() {
    if python_version() != "3.11" {
        return not_on_this_python(
            "covered on Python 3.11 (run's directories do not depend on the Python version)",
        );
    }
    let mut image = AppImage::new("e2e_read_only");
    image.build_ok(&fixture("e2e_read_only"), &[]);
    let servers = [
        ("mod_wsgi", "WSGI"),
        ("gunicorn", "WSGI"),
        ("uwsgi", "WSGI"),
        ("waitress", "WSGI"),
        ("hypercorn", "WSGI"),
        ("granian", "WSGI"),
        ("uvicorn", "ASGI"),
    ];
    for (server, interface) in servers {
        let app_server = format!("APP_SERVER={server}");
        let mut options = vec!["--read-only", "--tmpfs", "/tmp", "-e", &app_server];
        if interface == "ASGI" {
            options.extend(["-e", "APP_MODULE=asgi:app"]);
        }
        let (app, page) = App::start_with(&image, &options, "/");
        assert_eq!(
            page.body,
            format!("Hello from e2e_read_only ({interface})\n"),
            "{server}"
        );
        app.assert_served_by(server);
        let private = app.exec("stat -c '%a %u' /tmp/python-s2i-1000680000");
        assert_eq!(private.trim(), "700 1000680000", "{server}");
        let ready =
            output(podman().args(["exec", &app.name, "/usr/libexec/s2i/run", "--check-ready"]));
        assert!(
            ready.status.success(),
            "{server}: run --check-ready failed: {}\n{}",
            text(&ready),
            app.logs()
        );
    }
}

/// The heavy framework apps keep no download cache in the image (the cache policy has its own
/// tests): a 380 MiB smaller layer to commit, for CI time.
const NO_CACHE_IN_THE_IMAGE: [&str; 2] = ["-e", "S2I_CACHE_BUDGET_MB=0"];

/// The heavy framework apps (Streamlit, Gradio) and a worker process type are checked on the
/// 3.11 image only: one image per app, built once per CI run, within the CI budget.
fn only_on_the_main_image(what: &str) -> bool {
    if python_version() == "3.11" {
        return true;
    }
    not_on_this_python(&format!("{what} is checked on the 3.11 image only"));
    false
}

/// `podman run -d` of `image` as the arbitrary UID with `options` before the image and `args`
/// after it (the image's command when empty); the container is removed when dropped.
fn start_container(image: &AppImage, options: &[&str], args: &[&str]) -> App {
    let app = App {
        name: unique("python-s2i-e2e"),
        port: 0,
    };
    let out = output(
        podman()
            .args(["run", "-d", "--name", &app.name, "--user", ARBITRARY_USER])
            .args(options)
            .arg(&image.name)
            .args(args),
    );
    assert!(out.status.success(), "podman run failed: {}", text(&out));
    app
}

/// `podman stop` (SIGTERM, then the grace period): the container must end on its own, with 0.
fn assert_stops_cleanly(app: &App) {
    let started = std::time::Instant::now();
    let stop = output(podman().args(["stop", "-t", "25", &app.name]));
    assert!(stop.status.success(), "podman stop: {}", text(&stop));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stop took {:?}: not graceful\n{}",
        started.elapsed(),
        app.logs()
    );
    assert_eq!(
        app.state("ExitCode"),
        "0",
        "the stop was not clean:\n{}",
        app.logs()
    );
}

#[test]
fn streamlit_first_app_is_served_by_streamlit_run_and_stops_gracefully() {
    if !only_on_the_main_image("Streamlit") {
        return;
    }
    let mut image = AppImage::new("apps_streamlit");
    let log = image.build_ok(&fixture("apps_streamlit"), &NO_CACHE_IN_THE_IMAGE);
    assert!(
        log.contains("App:          Streamlit app /opt/app-root/src/streamlit_app.py"),
        "{log}"
    );
    let (app, health) = App::start(&image, "/_stcore/health");
    assert_eq!(health.body, "ok");
    let page = app.get_ok("/");
    assert!(
        page.body.contains("<title>Streamlit</title>"),
        "{}",
        page.body
    );
    let dry = app.exec("/usr/libexec/s2i/run --dry-run");
    assert!(
        dry.contains("[MATCH] Streamlit: requirements.txt lists streamlit and streamlit_app.py imports it")
            && dry.contains("Application: Streamlit app /opt/app-root/src/streamlit_app.py")
            && dry.contains(
                "streamlit run streamlit_app.py --server.address 0.0.0.0 --server.port 8080 --server.headless true"
            ),
        "{dry}"
    );
    let processes = app.processes();
    assert!(
        processes.lines().any(|l| l.starts_with("1 run ")),
        "{processes}"
    );
    assert_stops_cleanly(&app);

    // The same image as a second Deployment runs it (`args: [worker]`, the command left to the
    // image): the Procfile's worker line under the init, as the arbitrary UID. (The Celery
    // worker against Redis is test/tests/apps.rs, in host mode.)
    let worker = start_container(&image, &[], &["/usr/libexec/s2i/run", "worker"]);
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    while !worker.logs().contains("collector: started") {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never started:\n{}",
            worker.logs()
        );
        thread::sleep(Duration::from_millis(200));
    }
    let processes = worker.processes();
    assert!(
        processes.lines().any(|l| l.starts_with("1 run ")),
        "{processes}"
    );
    assert!(
        processes.lines().any(|l| l.contains(" python")),
        "{processes}"
    );
    let dry = worker.exec("/usr/libexec/s2i/run --dry-run worker");
    assert!(
        dry.contains("Process:     worker (run worker)")
            && dry.contains("Command:     /bin/sh -c 'exec python collector.py'"),
        "{dry}"
    );
    let readings = worker.exec("cat /tmp/readings.json");
    assert!(readings.contains("\"day\": [\"now\"]"), "{readings}");
    assert_stops_cleanly(&worker);
    assert!(
        worker.logs().contains("collector: stopped after"),
        "{}",
        worker.logs()
    );
}

#[test]
fn gradio_first_app_listens_on_the_platform_port_and_stops_gracefully() {
    if !only_on_the_main_image("Gradio") {
        return;
    }
    let mut image = AppImage::new("apps_gradio");
    let log = image.build_ok(&fixture("apps_gradio"), &NO_CACHE_IN_THE_IMAGE);
    assert!(
        log.contains("App:          Gradio app /opt/app-root/src/app.py"),
        "{log}"
    );
    // No network at all: the start must not need one (analytics and the version check are
    // off); the page is fetched from inside the container.
    let app = start_container(&image, &["--network", "none"], &[]);
    let fetch = "python -c \"import urllib.request as u; r = u.urlopen('http://127.0.0.1:8080/', timeout=5); print(r.status, 'gradio' in r.read().decode())\"";
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        let out = output(podman().args(["exec", &app.name, "/bin/sh", "-c", fetch]));
        if String::from_utf8_lossy(&out.stdout).trim() == "200 True" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Gradio never answered 200 on 8080: {}\n{}",
            text(&out),
            app.logs()
        );
        thread::sleep(Duration::from_millis(500));
    }
    let dry = app.exec("/usr/libexec/s2i/run --dry-run");
    assert!(
        dry.contains("Application: Gradio app /opt/app-root/src/app.py")
            && dry.contains("GRADIO_SERVER_NAME=0.0.0.0")
            && dry.contains("GRADIO_SERVER_PORT=8080")
            && dry.contains("Stop:        SIGTERM is sent as SIGINT"),
        "{dry}"
    );
    assert_stops_cleanly(&app);
}
