//! The artifacts' unit tests: saved, opened, reused and restored together.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::unpack::{sync_in_place, top_level_names, unpack, UNPACKED_FLOOR};
use super::*;
use s2i_sbom::hex;

fn record(root: &Path, caches: Vec<(String, PathBuf)>) -> Manifest {
    Manifest {
        format: FORMAT,
        python_version: "3.11".into(),
        dependency_digest: "d".into(),
        caches,
        inputs: Some("i".into()),
        base_inputs: Some("b".into()),
        packages: Some(names(&["django", "six"])),
        app_root: root.to_owned(),
        entries: dependency_entries(root),
        started: 0,
        from_builder: Vec::new(),
        archives: Vec::new(),
        django: None,
    }
}

/// An APP_ROOT with a "virtualenv", a source and a cache; the artifacts unpacked from its
/// save-artifacts stream.
fn saved(root: &Path) -> (PathBuf, PathBuf) {
    let app_root = root.join("app-root");
    let state = app_root.join(s2i_facts::STATE_DIR);
    crate::put(&app_root.join("lib/site-packages/six/__init__.py"), "six");
    std::os::unix::fs::symlink("/usr/bin/python3", app_root.join("python")).expect("link");
    crate::put(&app_root.join("src/app.py"), "app");
    let cache = state.join("cache/uv");
    crate::put(&cache.join("wheels/a.whl"), "wheel");
    write_manifest(&state, &record(&app_root, vec![("uv".into(), cache)])).expect("record");
    let (saved, artifacts) = save_and_unpack(&state, root);
    assert_eq!(saved.caches, [DEPS_ARCHIVE, CACHES_ARCHIVE]);
    (app_root, artifacts)
}

/// save-artifacts' stream of `state`, unpacked into `root/artifacts` as s2i does.
fn save_and_unpack(state: &Path, root: &Path) -> (Saved, PathBuf) {
    let mut bytes = Vec::new();
    let saved = save(state, &mut bytes).expect("save");
    let artifacts = root.join("artifacts");
    tar::Archive::new(&bytes[..])
        .unpack(&artifacts)
        .expect("unpack");
    (saved, artifacts)
}

/// The content of the file at `path`.
fn text(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).expect("read")
}

/// The member names of the zstd tar `archive`, in order.
pub(crate) fn member_names(archive: &Path) -> Vec<String> {
    let mut tar = read_archive(archive).expect("archive");
    let entries = tar.entries().expect("entries");
    let name = |e: io::Result<tar::Entry<_>>| {
        e.expect("entry")
            .path()
            .expect("path")
            .display()
            .to_string()
    };
    entries.map(name).collect()
}

/// The artifacts in `dir`, opened for Python 3.11: usable, or the test fails.
fn usable(dir: &Path) -> Box<Previous> {
    match open(dir, "3.11") {
        Opened::Usable(previous) => previous,
        other => panic!("not usable: {other:?}"),
    }
}

#[test]
fn few_files_restored_whole_when_inputs_match() {
    let root = tempfile::tempdir().expect("tempdir");
    let (app_root, artifacts) = saved(root.path());
    let mut names: Vec<_> = fs::read_dir(&artifacts)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [MANIFEST, CACHES_ARCHIVE, DEPS_ARCHIVE]);
    // A fresh APP_ROOT at the same place, as a new build container has it: the builder's
    // virtualenv (the link, as it was), nothing installed, a file the build removed.
    fs::remove_dir_all(&app_root).expect("rm");
    crate::put(&app_root.join("lib/site-packages/gone/x.py"), "x");
    fs::write(app_root.join("stray.cfg"), "x").expect("write");
    std::os::unix::fs::symlink("/usr/bin/python3", app_root.join("python")).expect("link");
    let state = app_root.join(s2i_facts::STATE_DIR);
    fs::create_dir_all(&state).expect("mkdir");
    let previous = usable(&artifacts);
    let same = inputs("i", "b", &["django", "six"]);
    assert_eq!(
        previous.reuse(&app_root, Some(&same), "d"),
        Ok(Reuse::Whole)
    );
    assert!(previous
        .reuse(&root.path().join("elsewhere"), Some(&same), "d")
        .is_err_and(|w| w.contains("installed in")));
    let restored = previous
        .restore_dependencies(&app_root, &state)
        .expect("restore");
    assert_eq!(restored.entries, 2);
    // The link, lib and site-packages are left alone; six and its file are written.
    assert_eq!(restored.kept, 3, "{restored:?}");
    assert_eq!(restored.written, 2, "{restored:?}");
    // stray.cfg, and gone/ with its file as one.
    assert_eq!(restored.removed, 2, "{restored:?}");
    assert!(!app_root.join("stray.cfg").exists());
    assert!(!app_root.join("lib/site-packages/gone").exists());
    assert_eq!(
        text(app_root.join("lib/site-packages/six/__init__.py")),
        "six"
    );
    assert_eq!(
        fs::read_link(app_root.join("python")).expect("link"),
        Path::new("/usr/bin/python3")
    );
    assert!(!state.join("restore").exists());
    // The caches archive is kept for the next save-artifacts, unopened.
    assert!(state.join(CACHES_ARCHIVE).is_file());
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn inputs(all: &str, base: &str, packages: &[&str]) -> Inputs {
    Inputs {
        all: all.into(),
        base: base.into(),
        asked: Some(Asked {
            file: "requirements.txt",
            packages: names(packages),
        }),
    }
}

#[test]
fn changed_requirements_reuse_the_dependencies_only_when_no_package_was_dropped() {
    let root = tempfile::tempdir().expect("tempdir");
    let (app_root, artifacts) = saved(root.path());
    let previous = usable(&artifacts);
    let reuse = |inputs: &Inputs, digest: &str| previous.reuse(&app_root, Some(inputs), digest);
    // A package added, a version changed: restored, then installed over.
    assert_eq!(
        reuse(&inputs("i2", "b", &["django", "idna", "six"]), "d2"),
        Ok(Reuse::Base {
            file: "requirements.txt",
            added: vec!["idna".to_owned()]
        })
    );
    assert_eq!(
        reuse(&inputs("i2", "b", &["django", "six"]), "d2"),
        Ok(Reuse::Base {
            file: "requirements.txt",
            added: Vec::new()
        })
    );
    // A package dropped: what only it needed would stay.
    assert!(
        reuse(&inputs("i2", "b", &["django", "idna"]), "d2").is_err_and(|w| w
            .contains("dependency files changed")
            && w.contains("no longer asks for six"))
    );
    // The files and something else changed.
    assert!(reuse(&inputs("i2", "b2", &["django", "six"]), "d2")
        .is_err_and(|w| w.contains("and so did the Python")));
    // Something else alone.
    assert!(reuse(&inputs("i2", "b2", &["django", "six"]), "d")
        .is_err_and(|w| w.starts_with("the Python, the installer")));
    // requirements.txt with a URL, an unreadable lock.
    let unnamed = Inputs {
        asked: None,
        ..inputs("i2", "b", &[])
    };
    assert!(reuse(&unnamed, "d2")
        .is_err_and(|w| w.contains("only a requirements.txt of package names")));
    // Nothing restorable.
    assert!(previous
        .reuse(&app_root, None, "d")
        .is_err_and(|w| w.contains("cannot be restored")));
}

#[test]
fn caches_unpacked_when_dependencies_changed() {
    let root = tempfile::tempdir().expect("tempdir");
    let (app_root, artifacts) = saved(root.path());
    let previous = usable(&artifacts);
    let state = app_root.join(s2i_facts::STATE_DIR);
    let target = root.path().join("new/uv");
    crate::put(&target.join("wheels/b.whl"), "in use");
    assert_eq!(
        previous.restore_caches(&[("uv".to_owned(), target.clone())], &state),
        ["uv"]
    );
    assert_eq!(text(target.join("wheels/a.whl")), "wheel");
    assert_eq!(text(target.join("wheels/b.whl")), "in use");
}

#[test]
fn sockets_and_unreadable_files_in_a_cache_are_skipped_not_fatal() {
    let root = tempfile::tempdir().expect("tempdir");
    let app_root = root.path().join("app-root");
    let state = app_root.join(s2i_facts::STATE_DIR);
    let cache = state.join("cache/uv");
    crate::put(&cache.join("ok.whl"), "wheel");
    let _socket = std::os::unix::net::UnixListener::bind(cache.join("lock.sock")).expect("socket");
    let mut manifest = record(&app_root, vec![("uv".into(), cache.clone())]);
    manifest.inputs = None;
    write_manifest(&state, &manifest).expect("record");
    // A socket does not fail save-artifacts.
    let (saved, artifacts) = save_and_unpack(&state, root.path());
    assert_eq!(saved.caches, [CACHES_ARCHIVE]);
    let names = member_names(&artifacts.join(CACHES_ARCHIVE));
    assert!(names.contains(&"uv/ok.whl".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("lock.sock")), "{names:?}");
}

#[test]
fn symlinked_archive_or_manifest_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let (_, artifacts) = saved(root.path());
    let elsewhere = root.path().join("elsewhere.tar");
    fs::rename(artifacts.join(CACHES_ARCHIVE), &elsewhere).expect("move");
    std::os::unix::fs::symlink(&elsewhere, artifacts.join(CACHES_ARCHIVE)).expect("link");
    assert!(
        matches!(open(&artifacts, "3.11"), Opened::Ignored(ref m) if m.contains("is a symlink")),
    );
}

#[test]
fn corrupt_archive_other_python_truncated_and_empty() {
    let root = tempfile::tempdir().expect("tempdir");
    let (_, artifacts) = saved(root.path());
    assert!(
        matches!(open(&artifacts, "3.13"), Opened::Ignored(ref m) if m.contains("Python 3.11"))
    );
    // One byte changed in the dependencies archive.
    let deps = artifacts.join(DEPS_ARCHIVE);
    let mut bytes = fs::read(&deps).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&deps, bytes).expect("write");
    assert!(matches!(open(&artifacts, "3.11"), Opened::Ignored(ref m) if m.contains("corrupt")));

    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(open(dir.path(), "3.11"), Opened::None);
    fs::write(dir.path().join(CACHES_ARCHIVE), "half").expect("write");
    assert!(matches!(open(dir.path(), "3.11"), Opened::Ignored(ref m) if m.contains("incomplete")));
    fs::write(dir.path().join(MANIFEST), "{").expect("write");
    assert!(matches!(open(dir.path(), "3.11"), Opened::Ignored(ref m) if m.contains("corrupt")));
    fs::write(
        dir.path().join(MANIFEST),
        r#"{"format":1,"python_version":"3.11","dependency_digest":"x","caches":[]}"#,
    )
    .expect("write");
    assert!(matches!(open(dir.path(), "3.11"), Opened::Ignored(ref m) if m.contains("format 1")));
}

/// Re-records an archive's size and sha256 in the manifest, as a planted one would be.
fn rerecord(artifacts: &Path, name: &str) {
    let bytes = fs::read(artifacts.join(name)).expect("read");
    let text = fs::read_to_string(artifacts.join(MANIFEST)).expect("manifest");
    let mut manifest: Manifest = serde_json::from_str(&text).expect("json");
    for archive in &mut manifest.archives {
        if archive.name == name {
            archive.size = bytes.len() as u64;
            archive.sha256 = hex(&Sha256::digest(&bytes));
        }
    }
    fs::write(
        artifacts.join(MANIFEST),
        serde_json::to_string(&manifest).expect("json"),
    )
    .expect("write");
}

#[test]
fn truncated_compressed_archive_with_matching_digest_leaves_the_virtualenv_alone() {
    let root = tempfile::tempdir().expect("tempdir");
    let (app_root, artifacts) = saved(root.path());
    let deps = artifacts.join(DEPS_ARCHIVE);
    let bytes = fs::read(&deps).expect("read");
    fs::write(&deps, &bytes[..bytes.len() / 2]).expect("truncate");
    rerecord(&artifacts, DEPS_ARCHIVE);
    let previous = usable(&artifacts);
    fs::write(app_root.join("lib/site-packages/six/__init__.py"), "mine").expect("write");
    let state = app_root.join(s2i_facts::STATE_DIR);
    let err = previous
        .restore_dependencies(&app_root, &state)
        .expect_err("a truncated archive does not restore");
    assert!(matches!(err, RestoreError::Unpack { .. }), "{err:?}");
    // Nothing was written: the build installs into the virtualenv as it was.
    assert_eq!(
        text(app_root.join("lib/site-packages/six/__init__.py")),
        "mine"
    );
    // The caches archive, truncated the same way, is not restored either.
    let caches = artifacts.join(CACHES_ARCHIVE);
    let bytes = fs::read(&caches).expect("read");
    fs::write(&caches, &bytes[..bytes.len() / 2]).expect("truncate");
    rerecord(&artifacts, CACHES_ARCHIVE);
    let previous = usable(&artifacts);
    let target = root.path().join("new/uv");
    assert!(previous
        .restore_caches(&[("uv".to_owned(), target.clone())], &state)
        .is_empty());
    assert!(!target.join("wheels/a.whl").exists());
}

#[test]
fn the_builders_files_are_left_out_and_must_be_found_as_they_were() {
    let root = tempfile::tempdir().expect("tempdir");
    let app_root = root.path().join("app-root");
    let state = app_root.join(s2i_facts::STATE_DIR);
    fs::create_dir_all(app_root.join("lib/site-packages")).expect("mkdir");
    fs::create_dir_all(&state).expect("mkdir");
    fs::write(app_root.join("lib/site-packages/pip.py"), "pip").expect("write");
    fs::write(app_root.join("pyvenv.cfg"), "home = /usr/bin").expect("write");
    let mut manifest = record(&app_root, Vec::new());
    // Every file changed before the build started: all are the builder's.
    manifest.started = u64::MAX;
    write_manifest(&state, &manifest).expect("record");
    let (_, artifacts) = save_and_unpack(&state, root.path());
    let previous = usable(&artifacts);
    let mut left_out: Vec<_> = previous
        .manifest
        .from_builder
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    left_out.sort();
    assert_eq!(left_out, ["lib/site-packages/pip.py", "pyvenv.cfg"]);
    // The archive holds the directories only.
    let names = top_level_names(&artifacts.join(DEPS_ARCHIVE)).expect("names");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["lib"]);

    // A builder whose pip.py differs: not restored, nothing written.
    fs::write(app_root.join("lib/site-packages/pip.py"), "pip 2").expect("write");
    fs::write(app_root.join("lib/extra.py"), "extra").expect("write");
    let err = previous
        .restore_dependencies(&app_root, &state)
        .expect_err("the builder changed");
    assert!(
        matches!(&err, RestoreError::Unpack { source, .. } if source.to_string().contains("pip.py")),
        "{err:?}"
    );
    assert!(app_root.join("lib/extra.py").exists());

    // The same builder: its files are kept, what the build did not have is removed.
    fs::write(app_root.join("lib/site-packages/pip.py"), "pip").expect("write");
    let recorded = &previous.manifest.from_builder[0];
    let at = filetime::FileTime::from_unix_time(recorded.mtime, 0);
    filetime::set_file_mtime(app_root.join(&recorded.path), at).expect("mtime");
    let restored = previous
        .restore_dependencies(&app_root, &state)
        .expect("restore");
    assert_eq!(restored.removed, 1, "{restored:?}");
    assert!(!app_root.join("lib/extra.py").exists());
    assert_eq!(text(app_root.join("lib/site-packages/pip.py")), "pip");
}

/// Writes a zstd tar to `path` holding what `add` appends.
fn write_archive(path: &Path, add: impl FnOnce(&mut tar::Builder<zstd::Encoder<'static, File>>)) {
    let file = File::create(path).expect("create");
    let mut tar = tar::Builder::new(zstd::Encoder::new(file, ZSTD_LEVEL).expect("zstd"));
    add(&mut tar);
    tar.into_inner()
        .expect("tar")
        .finish()
        .expect("zstd")
        .flush()
        .expect("flush");
}

/// What a planted member is.
#[derive(Clone, Copy)]
enum Planted {
    File,
    Symlink,
    HardLink,
}

/// A zstd tar of `members`: (path, file content or link target, kind). Names and hard-link
/// targets are written as raw bytes: `..` cannot be set through the checked API.
fn planted(path: &Path, members: &[(&str, &str, Planted)]) {
    write_archive(path, |tar| {
        for (name, value, kind) in members {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            if let Planted::Symlink = kind {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, name, value).expect("link");
                continue;
            }
            let raw = header.as_old_mut();
            raw.name[..name.len()].copy_from_slice(name.as_bytes());
            let content = match kind {
                Planted::HardLink => {
                    raw.linkname[..value.len()].copy_from_slice(value.as_bytes());
                    header.set_entry_type(tar::EntryType::Link);
                    ""
                }
                _ => {
                    header.set_entry_type(tar::EntryType::Regular);
                    value
                }
            };
            header.set_size(content.len() as u64);
            header.set_cksum();
            tar.append(&header, content.as_bytes()).expect("member");
        }
    });
}

/// A zstd tar of `members` (name, type, file content) as tar has them; links point to
/// `target`.
fn archive_of(path: &Path, members: &[(&str, tar::EntryType, &str)], target: &Path) {
    write_archive(path, |tar| {
        for &(name, kind, content) in members {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
            header.set_size(content.len() as u64);
            if kind.is_symlink() {
                tar.append_link(&mut header, name, target).expect("link");
            } else {
                tar.append_data(&mut header, name, content.as_bytes())
                    .expect("member");
            }
        }
    });
}

#[test]
fn a_restore_writes_into_a_fresh_tree_once_and_leaves_a_matching_tree_alone() {
    use std::os::unix::fs::MetadataExt;
    use tar::EntryType::{Directory, Regular, Symlink};
    let root = tempfile::tempdir().expect("tempdir");
    let outside = root.path().join("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    let archive = root.path().join("deps.tar.zst");
    let app_root = root.path().join("app-root");
    fs::create_dir_all(&app_root).expect("mkdir");
    let entries = ["lib".to_owned()];
    let restore = || {
        sync_in_place(
            &archive,
            &app_root,
            &entries,
            std::collections::HashSet::new(),
        )
        .expect("restore")
    };
    // A member given twice in a directory the restore makes, and a link then a file of the
    // same name: the later member wins, as tar has it, and nothing is written through the link.
    let dirs = [("lib/", Directory, ""), ("lib/a/", Directory, "")];
    let twice = [
        ("lib/a/x.py", Regular, "one"),
        ("lib/a/x.py", Regular, "second"),
        ("lib/a/l", Symlink, ""),
        ("lib/a/l", Regular, "file"),
    ];
    archive_of(&archive, &[&dirs[..], &twice[..]].concat(), &outside);
    let first = restore();
    assert_eq!((first.written, first.removed), (6, 0), "{first:?}");
    assert_eq!(text(app_root.join("lib/a/x.py")), "second");
    assert!(fs::symlink_metadata(app_root.join("lib/a/l"))
        .expect("l")
        .is_file());
    assert_eq!(fs::read_dir(&outside).expect("read").count(), 0);

    // Each member once, over the tree a restore of the same archive made: nothing is written,
    // every file is the very same inode.
    let once = [
        ("lib/a/x.py", Regular, "second"),
        ("lib/a/l", Regular, "file"),
    ];
    archive_of(&archive, &[&dirs[..], &once[..]].concat(), &outside);
    let _ = fs::remove_dir_all(app_root.join("lib"));
    restore();
    let inode = |p: &str| fs::metadata(app_root.join(p)).expect("stat").ino();
    let before = (inode("lib/a/x.py"), inode("lib/a/l"));
    let again = restore();
    assert_eq!((again.written, again.kept), (0, 4), "{again:?}");
    assert_eq!((inode("lib/a/x.py"), inode("lib/a/l")), before);
}

#[test]
fn members_never_write_through_a_link_or_above_the_root() {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = root.path().join("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    let archive = root.path().join("planted.tar.zst");
    let into = root.path().join("into");

    planted(
        &archive,
        &[
            (
                "lib/evil",
                outside.to_str().expect("utf-8"),
                Planted::Symlink,
            ),
            ("lib/evil/x.py", "pwned", Planted::File),
        ],
    );
    fs::create_dir_all(&into).expect("mkdir");
    let err = unpack(&archive, &into).expect_err("written through a link");
    assert!(err.to_string().contains("not a directory"), "{err}");
    assert!(!outside.join("x.py").exists());

    planted(&archive, &[("../up.py", "pwned", Planted::File)]);
    let _ = fs::remove_dir_all(&into);
    fs::create_dir_all(&into).expect("mkdir");
    let err = unpack(&archive, &into).expect_err("above the root");
    assert!(err.to_string().contains("leaves the directory"), "{err}");
    assert!(!root.path().join("up.py").exists());
}

#[test]
fn hard_links_never_reach_a_file_outside_the_root() {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = root.path().join("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    let secret = outside.join("secret");
    fs::write(&secret, "not the build's").expect("write");
    let archive = root.path().join("planted.tar.zst");
    let into = root.path().join("into");
    for (target, why) in [
        ("../outside/secret", "leaves the directory"),
        ("lib/out/secret", "not a directory"),
    ] {
        planted(
            &archive,
            &[
                (
                    "lib/out",
                    outside.to_str().expect("utf-8"),
                    Planted::Symlink,
                ),
                ("lib/alias", target, Planted::HardLink),
            ],
        );
        let _ = fs::remove_dir_all(&into);
        fs::create_dir_all(&into).expect("mkdir");
        let err = unpack(&archive, &into).expect_err(target);
        assert!(err.to_string().contains(why), "{target}: {err}");
        assert_eq!(
            std::os::unix::fs::MetadataExt::nlink(&fs::metadata(&secret).expect("secret")),
            1,
            "{target}: the outside file gained a link"
        );
    }
}

#[test]
fn a_hard_link_to_a_file_of_the_archive_is_made_once_that_file_is_written() {
    // Files are created by a second thread: a link made before its target is written would
    // fail, many files before it make that likely.
    let root = tempfile::tempdir().expect("tempdir");
    let archive = root.path().join("linked.tar.zst");
    let into = root.path().join("into");
    let names: Vec<String> = (0..500).map(|i| format!("lib/f{i}")).collect();
    let mut members: Vec<_> = names
        .iter()
        .map(|n| (n.as_str(), "x", Planted::File))
        .collect();
    members.push(("lib/alias", "lib/f499", Planted::HardLink));
    planted(&archive, &members);
    fs::create_dir_all(&into).expect("mkdir");
    unpack(&archive, &into).expect("unpack");
    let ino =
        |p: &str| std::os::unix::fs::MetadataExt::ino(&fs::metadata(into.join(p)).expect("stat"));
    assert_eq!(ino("lib/alias"), ino("lib/f499"));
    assert_eq!(fs::read_dir(into.join("lib")).expect("read").count(), 501);
}

#[test]
fn a_manifest_names_only_the_archives_and_plain_entries() {
    let root = tempfile::tempdir().expect("tempdir");
    let (_, artifacts) = saved(root.path());
    let text = fs::read_to_string(artifacts.join(MANIFEST)).expect("manifest");
    let good: Manifest = serde_json::from_str(&text).expect("json");
    assert_eq!(good.check(), Ok(()));
    let archive = |name: &str| Archive {
        name: name.into(),
        sha256: "x".into(),
        size: 1,
    };
    for name in [
        "/tmp/victim",
        "/dev/zero",
        "../x",
        "python-s2i-artifacts.json",
        "a",
    ] {
        let mut bad = good.clone();
        bad.archives.push(archive(name));
        assert!(
            bad.check().is_err_and(|e| e.contains("names only")),
            "{name}"
        );
    }
    let mut twice = good.clone();
    twice.archives.push(archive(CACHES_ARCHIVE));
    assert!(twice.check().is_err_and(|e| e.contains("twice")));
    for entry in ["src", ".python-s2i", "..", "/etc", "lib/x", ""] {
        let mut bad = good.clone();
        bad.entries.push(entry.into());
        assert!(bad.check().is_err(), "{entry:?}");
    }
    let mut bad = good.clone();
    bad.from_builder.push(BuilderFile {
        path: "../../etc/passwd".into(),
        size: 1,
        mtime: 0,
    });
    assert!(bad.check().is_err());
}

#[test]
fn decompression_stops_at_the_bound() {
    let root = tempfile::tempdir().expect("tempdir");
    let archive = root.path().join("zeros.tar.zst");
    write_archive(&archive, |tar| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(UNPACKED_FLOOR + 1);
        header.set_entry_type(tar::EntryType::Regular);
        let zeros = io::repeat(0).take(UNPACKED_FLOOR + 1);
        tar.append_data(&mut header, "lib/zeros", zeros)
            .expect("member");
    });
    let err = top_level_names(&archive).expect_err("past the bound");
    assert_eq!(
        err.to_string(),
        format!(
            "it unpacks to more than 64.0 MiB (32 times its {:.1} MiB, and at least 64 MiB): \
             not an archive save-artifacts writes, so it is not unpacked further",
            fs::metadata(&archive).expect("size").len() as f64 / f64::from(1 << 20)
        )
    );
    let into = root.path().join("into");
    fs::create_dir(&into).expect("mkdir");
    assert!(unpack(&archive, &into).is_err());
}

#[test]
fn requirements_naming_other_files_are_not_restored_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("requirements.txt"), "six\n-r base.txt\n").expect("write");
    assert!(requirements_not_reusable(dir.path()).is_some());
    fs::write(
        dir.path().join("requirements.txt"),
        "six==1.16.0\n# -r no\n",
    )
    .expect("write");
    assert!(requirements_not_reusable(dir.path()).is_none());
}
