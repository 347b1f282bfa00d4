//! The bill of materials of an app image (`run --sbom`, crates/sbom), checked from outside:
//! valid against the CycloneDX 1.6 schema (cyclonedx-python-lib's validator, installed by
//! `test/setup/60-supply.sh`), and in agreement with what the image itself says is installed
//! (`pip list`, the interpreter, `dpkg-query`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::podman::{output, podman, text};
use crate::repo;

/// The host tools of the supply-chain checks (build/tools/supply/bin).
#[must_use]
pub fn tools() -> PathBuf {
    let dir = repo().join("build/tools/supply/bin");
    assert!(
        dir.join("pypi-server").is_file(),
        "run `bash test/setup/60-supply.sh` first (pypiserver, cyclonedx-python-lib)"
    );
    dir
}

/// A PEP 503 name, as `pip list` and the document may spell it differently.
fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// Checks the document `image` prints with `run --sbom` (run as an arbitrary UID in group 0)
/// against the schema and against the image: its `pkg:pypi` components are exactly `pip list`'s
/// distributions, its `pkg:deb` components exactly the packages `dpkg-query` says are
/// installed, and it names the interpreter of the image's virtualenv. Returns the document.
#[must_use]
pub fn check_agrees_with_image(image: &str) -> serde_json::Value {
    let out = output(podman().args([
        "run",
        "--rm",
        "--user",
        "1000680000:0",
        "--entrypoint",
        "/bin/sh",
        image,
        "-c",
        "/usr/libexec/s2i/run --sbom; echo '@@@'; \
         /opt/app-root/bin/python -m pip list --format json --disable-pip-version-check; echo '@@@'; \
         /opt/app-root/bin/python -c 'import platform; print(platform.python_version())'; echo '@@@'; \
         dpkg-query -W -f '${db:Status-Abbrev} ${Package}:${Architecture} ${Version}\\n' | sed -n 's/^ii  *//p'",
    ]));
    assert!(
        out.status.success(),
        "run --sbom in {image}: {}",
        text(&out)
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let [document, pip_list, python, dpkg] = said
        .splitn(4, "@@@\n")
        .collect::<Vec<_>>()
        .try_into()
        .unwrap_or_else(|parts: Vec<&str>| panic!("{} parts in:\n{said}", parts.len()));
    let file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(file.path(), document).expect("write");
    let validated = output(Command::new(tools().join("python")).args([
        "-c",
        "import sys\n\
         from cyclonedx.schema import SchemaVersion\n\
         from cyclonedx.validation.json import JsonStrictValidator\n\
         error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
         sys.exit(str(error) if error else 0)\n",
        &file.path().to_string_lossy(),
    ]));
    assert!(
        validated.status.success(),
        "the SBOM of {image} is not valid CycloneDX 1.6: {}\n{document}",
        text(&validated)
    );
    let bom: serde_json::Value = serde_json::from_str(document).expect("JSON");
    assert_eq!(bom["specVersion"], "1.6");
    let components = bom["components"].as_array().expect("components");
    let with_purl = |prefix: &'static str| {
        components
            .iter()
            .filter(move |c| c["purl"].as_str().is_some_and(|p| p.starts_with(prefix)))
    };
    let name_version = |c: &serde_json::Value| {
        (
            c["name"].as_str().unwrap_or_default().to_owned(),
            c["version"].as_str().unwrap_or_default().to_owned(),
        )
    };
    // `name:arch version`, as dpkg-query prints them; the purl holds the architecture.
    let debs_in_sbom: BTreeSet<String> = with_purl("pkg:deb/")
        .map(|c| {
            let (name, version) = name_version(c);
            let purl = c["purl"].as_str().unwrap_or_default();
            let arch = purl
                .split_once("?arch=")
                .map_or("", |(_, q)| q.split('&').next().unwrap_or_default());
            format!("{name}:{arch} {version}")
        })
        .collect();
    let debs_installed: BTreeSet<String> = dpkg.lines().map(|l| l.trim().to_owned()).collect();
    assert!(
        debs_installed.iter().any(|d| d.starts_with("libc6:")),
        "{image}: dpkg-query listed no libc6:\n{dpkg}"
    );
    assert_eq!(
        debs_in_sbom.difference(&debs_installed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{image}: Debian packages in the SBOM that dpkg-query does not list as installed"
    );
    assert_eq!(
        debs_installed.difference(&debs_in_sbom).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{image}: installed Debian packages missing from the SBOM"
    );
    let in_sbom: BTreeSet<(String, String)> = with_purl("pkg:pypi/")
        .map(|c| {
            let (name, version) = name_version(c);
            (normalize(&name), version)
        })
        .collect();
    let listed: serde_json::Value = serde_json::from_str(pip_list).expect("pip list JSON");
    let in_pip: BTreeSet<(String, String)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| {
            let (name, version) = name_version(d);
            (normalize(&name), version)
        })
        .collect();
    assert_eq!(
        in_sbom, in_pip,
        "{image}: the SBOM's Python distributions are not pip list's"
    );
    assert!(
        components
            .iter()
            .any(|c| c["name"] == "python" && c["version"] == python.trim()),
        "{image}: no interpreter {python} in the SBOM"
    );
    bom
}
