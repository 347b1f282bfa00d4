//! The executables exist, are static, and do not pretend to do what is not built.

use python_s2i_tests::bin;
use std::process::Command;

#[test]
fn executables_are_statically_linked() {
    for name in ["assemble", "run", "save-artifacts", "usage", "write-sbom"] {
        let out = Command::new("file")
            .arg("-L")
            .arg(bin(name))
            .output()
            .expect("run file(1)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("statically linked") || text.contains("static-pie linked"),
            "{name} is not static: {text}"
        );
    }
}

/// `images/build` takes the server it bakes into the image and whether uv is baked from
/// `usage --image-facts` (the one server table, assemble's uv rule), not from a rule of its own:
/// a stand-in engine records the build it is asked for, and a stand-in `usage` is obeyed.
#[test]
fn images_build_takes_the_image_facts_from_the_binaries() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let script = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{text}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    };
    let args = dir.path().join("engine-args");
    let engine = script(
        "engine",
        &format!(
            "[ \"$1\" = image ] && {{ echo 1000000; exit 0; }}; printf '%s\\n' \"$@\" > {}",
            args.display()
        ),
    );
    let build = |version: &str, bin_dir: &std::path::Path| {
        let out = Command::new(python_s2i_tests::repo().join("images/build"))
            .arg(version)
            .env("ENGINE", &engine)
            .env("BIN_DIR", bin_dir)
            .env("IMAGE", "localhost/python-s2i-facts-test:none")
            .env("CA_BUNDLE", "")
            .output()
            .expect("images/build");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{log}");
        std::fs::read_to_string(&args).expect("engine args")
    };
    let real = bin("usage").parent().expect("bin dir").to_owned();
    for (version, mod_wsgi, uv) in [("2.7", "mod_wsgi<5", "0"), ("3.11", "mod_wsgi", "1")] {
        let facts = Command::new(bin("usage"))
            .args(["--image-facts", version])
            .output()
            .expect("usage");
        let want = format!("MOD_WSGI_REQUIREMENT={mod_wsgi}\nINSTALL_UV={uv}\n");
        assert_eq!(String::from_utf8_lossy(&facts.stdout), want);
        let passed = build(version, &real);
        for arg in want.lines() {
            assert!(passed.lines().any(|l| l == arg), "{arg} not in:\n{passed}");
        }
    }
    let fake = dir.path().join("bin");
    std::fs::create_dir(&fake).expect("mkdir");
    for name in ["assemble", "run", "save-artifacts", "write-sbom"] {
        symlink(real.join(name), fake.join(name)).expect("link");
    }
    let usage = script(
        "usage",
        "printf 'MOD_WSGI_REQUIREMENT=mod_wsgi==9\\nINSTALL_UV=0\\n'",
    );
    std::fs::rename(usage, fake.join("usage")).expect("move");
    let passed = build("3.11", &fake);
    for arg in ["MOD_WSGI_REQUIREMENT=mod_wsgi==9", "INSTALL_UV=0"] {
        assert!(passed.lines().any(|l| l == arg), "{arg} not in:\n{passed}");
    }
}
