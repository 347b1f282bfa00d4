//! A rebuild redoes only what changed: the Django steps are keyed on what they read, and an
//! incremental build reuses the previous build's result when its key is the same.
//!
//! - **The settings introspection** (it imports Django, the settings and, through
//!   `django.setup()`, every installed app) is keyed on the app's files (all of them but the
//!   static sources and STATIC_ROOT: the settings may import any of them), the installed
//!   distributions (their `RECORD`s, as for the dependencies: [`artifacts::venv_digest`]), the
//!   Python, the settings module and the environment the app's files name ([`Keys`]).
//! - **collectstatic** is keyed on what the introspection found (STATIC_ROOT, the static
//!   sources), the settings' own files, the installed distributions, the same environment and
//!   the content of every static source directory. Only when every finder is one of Django's
//!   two directory finders and the storage writes under STATIC_ROOT: what another finder reads
//!   or another storage writes (a bucket) cannot be known without running it.
//!
//! The record ([`DjangoRecord`]) travels in the artifacts manifest. The collected files travel
//! in the caches archive, as its [`STATIC_MEMBER`] directory: verified with the rest of that
//! archive (its sha256 in the manifest), unpacked only into an empty STATIC_ROOT, then checked
//! against the record's digest of the tree. They can be reused when the dependencies were
//! restored (the caches archive is then kept whole for the next build, and this module replaces
//! its static files when collectstatic ran again). A key that differs, a record that does not
//! match what was unpacked, or anything that cannot be read means the step runs again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use s2i_sbom::hex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifacts;
use crate::django::Settings;
use s2i_env::Env;

/// The directory of the caches archive that holds the collected static files.
pub const STATIC_MEMBER: &str = "django-static";
/// Directories of the app that are never inputs (a VCS, npm's installed packages, bytecode).
const NOT_INPUTS: [&str; 5] = [".git", ".hg", ".svn", "node_modules", "__pycache__"];
/// Files larger than this are hashed but not searched for variable names.
const WORDS_LIMIT: u64 = 1 << 20;

/// What the Django steps found, for the next build (in the artifacts manifest).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DjangoRecord {
    /// [`Keys::introspection`] of the build that introspected.
    pub introspection_key: String,
    /// What the introspection found.
    pub settings: Settings,
    /// What collectstatic wrote, when it ran (or was reused) and its inputs are known.
    #[serde(default)]
    pub collected: Option<Collected>,
}

/// collectstatic's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Collected {
    /// [`Keys::collectstatic`] of the build that collected.
    pub key: String,
    /// Where the files are (absolute).
    pub static_root: PathBuf,
    /// [`tree_digest`] of STATIC_ROOT after collectstatic.
    pub digest: String,
    /// Files and links in it.
    pub files: usize,
}

/// What the previous build left that this module can use.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    pub record: &'a DjangoRecord,
    /// The previous build's caches archive, kept whole in the state directory (the
    /// dependencies were restored), which holds the collected files.
    pub caches: Option<&'a Path>,
}

/// One file of a tree: its path relative to the tree and the sha256 of its content (of a
/// link: its target).
type Files = Vec<(PathBuf, String)>;

/// The inputs of both steps that do not depend on what the introspection finds, read once.
pub struct Keys {
    app: PathBuf,
    settings_module: String,
    /// The app's files.
    files: Files,
    common: BTreeMap<String, String>,
}

impl Keys {
    /// Reads the app's files, the installed distributions and the environment.
    #[must_use]
    pub fn new(app: &Path, settings_module: &str, venv: &crate::venv::Venv, env: &Env) -> Self {
        let mut words = BTreeSet::new();
        let files = walk(app, Some(&mut words));
        let mut common = BTreeMap::new();
        common.insert("settings module".to_owned(), settings_module.to_owned());
        common.insert(
            "python".to_owned(),
            format!("{:?} {}", venv.version, venv.python.display()),
        );
        common.insert(
            "distributions".to_owned(),
            artifacts::venv_digest(&venv.root),
        );
        for (name, value) in env.vars() {
            // Names and values are bytes (Env keeps them as set): the key compares them as such.
            let name = name.to_string_lossy();
            if named(&name, &words) {
                common.insert(
                    format!("env {name}"),
                    format!("{:?}", value.as_encoded_bytes()),
                );
            }
        }
        Self {
            app: app.to_owned(),
            settings_module: settings_module.to_owned(),
            files,
            common,
        }
    }

    /// The key of the introspection whose result would be `settings`: the common inputs and
    /// the app's files but those `settings` names as static sources or STATIC_ROOT.
    #[must_use]
    pub fn introspection(&self, settings: &Settings) -> String {
        let mut not_inputs: Vec<PathBuf> = settings.static_sources.clone().unwrap_or_default();
        if let Some(root) = &settings.static_root {
            not_inputs.push(self.app.join(root));
        }
        let relative: Vec<PathBuf> = not_inputs
            .iter()
            .filter_map(|dir| dir.strip_prefix(&self.app).ok().map(Path::to_path_buf))
            .collect();
        let mut parts = self.common.clone();
        parts.insert(
            "app files".to_owned(),
            files_digest(
                self.files
                    .iter()
                    .filter(|(path, _)| !relative.iter().any(|dir| path.starts_with(dir))),
            ),
        );
        artifacts::inputs_digest(&parts)
    }

    /// The key of collectstatic with `settings` into `static_root` (`wrapper`: the settings
    /// module assemble generated); `None` when what it reads or writes cannot be known.
    #[must_use]
    pub fn collectstatic(
        &self,
        settings: &Settings,
        static_root: &Path,
        wrapper: Option<&str>,
    ) -> Option<String> {
        let sources = settings.static_sources.as_ref()?;
        let mut parts = self.common.clone();
        parts.insert(
            "settings".to_owned(),
            serde_json::to_string(settings).unwrap_or_default(),
        );
        parts.insert("static root".to_owned(), static_root.display().to_string());
        parts.insert("wrapper".to_owned(), wrapper.unwrap_or_default().to_owned());
        // The settings' own files: the settings module's directory (a settings package whole)
        // and the app's top-level files (manage.py, .env).
        let module = Path::new(&self.settings_module.replace('.', "/")).to_path_buf();
        let package = module.parent().map(Path::to_path_buf).unwrap_or_default();
        parts.insert(
            "settings files".to_owned(),
            files_digest(self.files.iter().filter(|(path, _)| {
                path.parent() == Some(Path::new(""))
                    || path.parent() == Some(&package)
                    || path.starts_with(&module)
            })),
        );
        for (i, dir) in sources.iter().enumerate() {
            let digest = if dir.is_dir() {
                files_digest(walk(dir, None).iter())
            } else {
                "absent".to_owned()
            };
            parts.insert(format!("source {i} {}", dir.display()), digest);
        }
        Some(artifacts::inputs_digest(&parts))
    }
}

/// What the Django step found, made into its [`DjangoRecord`] once the build has installed
/// everything ([`Pending::record`]): the next build's keys are computed over the virtualenv as
/// this build leaves it (the server is installed after the Django step).
pub struct Pending {
    pub keys: Keys,
    pub settings: Settings,
    /// Where collectstatic wrote and with which wrapper settings, when it ran or was reused.
    pub collected: Option<(PathBuf, Option<String>)>,
}

impl Pending {
    /// The record, with the installed distributions of `venv` as they are now.
    #[must_use]
    pub fn record(mut self, venv: &crate::venv::Venv) -> DjangoRecord {
        self.keys.common.insert(
            "distributions".to_owned(),
            artifacts::venv_digest(&venv.root),
        );
        let collected = self.collected.as_ref().and_then(|(root, wrapper)| {
            let key = self
                .keys
                .collectstatic(&self.settings, root, wrapper.as_deref())?;
            let (digest, files) = tree_digest(root);
            Some(Collected {
                key,
                static_root: root.clone(),
                digest,
                files,
            })
        });
        DjangoRecord {
            introspection_key: self.keys.introspection(&self.settings),
            settings: self.settings,
            collected,
        }
    }
}

/// Whether the variable `name` is an input: the app's files name it (a settings module reads
/// `os.environ["NAME"]`, `env("NAME")`), or it is one Django or Python reads by its prefix.
/// `HOSTNAME` differs in every build container: never.
fn named(name: &str, words: &BTreeSet<String>) -> bool {
    name != "HOSTNAME"
        && (words.contains(name) || name.starts_with("DJANGO") || name.starts_with("PYTHON"))
}

/// Every file and link under `root` (sorted; links not followed; [`NOT_INPUTS`] and `.pyc`
/// files left out), with the sha256 of its content. With `words`, the identifiers in the
/// files (up to [`WORDS_LIMIT`] each) are added to it. What cannot be read is hashed as such
/// (the key then differs from a build that could read it).
fn walk(root: &Path, mut words: Option<&mut BTreeSet<String>>) -> Files {
    let mut files = Vec::new();
    let entries = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let not_input = name.ends_with(".pyc")
                || e.file_type().is_dir() && NOT_INPUTS.contains(&name.as_ref());
            !not_input
        });
    for entry in entries {
        let Ok(entry) = entry else {
            files.push((PathBuf::from("(unreadable)"), String::new()));
            continue;
        };
        let relative = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        let kind = entry.file_type();
        let digest = if kind.is_symlink() {
            fs::read_link(entry.path()).map_or_else(
                |e| format!("unreadable link: {e}"),
                |target| format!("link {}", target.display()),
            )
        } else if kind.is_file() {
            match fs::read(entry.path()) {
                Ok(content) => {
                    if let Some(words) = words.as_deref_mut() {
                        if content.len() as u64 <= WORDS_LIMIT {
                            identifiers(&content, words);
                        }
                    }
                    hex(&Sha256::digest(&content))
                }
                Err(e) => format!("unreadable: {e}"),
            }
        } else {
            continue;
        };
        files.push((relative, digest));
    }
    files
}

/// Adds the identifiers of `text` (`[A-Za-z0-9_]+` not starting with a digit) to `words`.
fn identifiers(text: &[u8], words: &mut BTreeSet<String>) {
    for word in text.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')) {
        if word.first().is_some_and(|b| !b.is_ascii_digit()) {
            if let Ok(word) = std::str::from_utf8(word) {
                if !words.contains(word) {
                    words.insert(word.to_owned());
                }
            }
        }
    }
}

fn files_digest<'a>(files: impl Iterator<Item = &'a (PathBuf, String)>) -> String {
    let mut hasher = Sha256::new();
    for (path, digest) in files {
        let path = path.to_string_lossy();
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update(digest.as_bytes());
    }
    hex(&hasher.finalize())
}

/// The digest of the tree `root` (its files' paths and contents) and how many files it holds.
#[must_use]
pub fn tree_digest(root: &Path) -> (String, usize) {
    let files = walk(root, None);
    (files_digest(files.iter()), files.len())
}

/// Why the collected files were not reused, or `Ok` with how many files were unpacked into
/// `static_root` (which must be absent or empty: nothing the source holds is overwritten).
///
/// # Errors
/// The reason, for the build log. `static_root` is left as it was found.
pub fn restore_static(
    previous: &Previous<'_>,
    key: Option<&str>,
    static_root: &Path,
) -> Result<usize, String> {
    let Some(key) = key else {
        return Err("what collectstatic reads or writes is not known without running it (a finder other than Django's directory finders, or a storage that does not write under STATIC_ROOT)".into());
    };
    let Some(collected) = &previous.record.collected else {
        return Err("the previous build did not collect them".into());
    };
    if collected.key != key {
        return Err("the settings, the installed distributions, the environment they read or the static source directories changed since the previous build".into());
    }
    if collected.static_root != static_root {
        return Err(format!(
            "the previous build collected them in {}",
            collected.static_root.display()
        ));
    }
    let Some(caches) = previous.caches else {
        return Err("the previous build's dependencies were not restored, and its collected files travel with them".into());
    };
    let existed = static_root.exists();
    if fs::read_dir(static_root).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!("{} is not empty", static_root.display()));
    }
    let undo = |why: String| {
        if existed {
            if let Ok(entries) = fs::read_dir(static_root) {
                for entry in entries.flatten() {
                    let _ = artifacts::remove_any(&entry.path());
                }
            }
        } else {
            let _ = fs::remove_dir_all(static_root);
        }
        why
    };
    unpack_static(caches, static_root)
        .map_err(|e| undo(format!("{} did not unpack: {e}", caches.display())))?;
    let (digest, files) = tree_digest(static_root);
    if digest != collected.digest || files != collected.files {
        return Err(undo(format!(
            "what {} holds is not what the previous build collected (the record's digest differs)",
            caches.display()
        )));
    }
    Ok(files)
}

/// Unpacks the [`STATIC_MEMBER`] directory of the caches archive (its first members) into
/// `into`.
fn unpack_static(archive: &Path, into: &Path) -> io::Result<usize> {
    fs::create_dir_all(into)?;
    let mut writer = artifacts::MemberWriter::new(into);
    let mut unpacked = 0;
    for entry in artifacts::read_archive(archive)?.entries()? {
        let mut entry = entry?;
        let path = artifacts::member_path(&entry)?;
        // The collected files come first ([`replace_static`], save-artifacts): the other
        // caches are not read.
        let Ok(relative) = path.strip_prefix(STATIC_MEMBER) else {
            break;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let relative = relative.to_path_buf();
        writer.write(&mut entry, &relative)?;
        unpacked += 1;
    }
    writer.finish()?;
    Ok(unpacked)
}

/// Makes the kept caches `archive` hold `static_root` as its [`STATIC_MEMBER`], first (or
/// nothing there, with `None`), the other caches unchanged: what the next build finds is what this
/// build collected.
///
/// # Errors
/// The archive cannot be read or written; it is then removed (the next build has no caches
/// and collects again), so it never holds files that do not match the record.
pub fn replace_static(archive: &Path, static_root: Option<&Path>) -> io::Result<()> {
    let new = archive.with_extension("new");
    let written = (|| -> io::Result<()> {
        let file = File::create(&new)?;
        let encoder = zstd::Encoder::new(
            io::BufWriter::with_capacity(1 << 20, file),
            artifacts::ZSTD_LEVEL,
        )?;
        let mut tar = tar::Builder::new(encoder);
        tar.follow_symlinks(false);
        if let Some(root) = static_root {
            artifacts::append_tree(&mut tar, STATIC_MEMBER, root)?;
        }
        for entry in artifacts::read_archive(archive)?.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.into_owned();
            if path.starts_with(STATIC_MEMBER) {
                continue;
            }
            let mut header = entry.header().clone();
            let kind = header.entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name()?
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                tar.append_link(&mut header, &path, &target)?;
            } else {
                let mut data = Vec::new();
                entry.read_to_end(&mut data)?;
                tar.append_data(&mut header, &path, &data[..])?;
            }
        }
        tar.into_inner()?.finish()?.flush()?;
        fs::rename(&new, archive)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&new);
        let _ = fs::remove_file(archive);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(sources: Option<Vec<PathBuf>>) -> Settings {
        Settings {
            django_version: "5.2".into(),
            settings_module: "site.settings".into(),
            wsgi_application: Some("site.wsgi.application".into()),
            asgi_application: None,
            static_url: Some("/static/".into()),
            static_root: Some("staticfiles".into()),
            staticfiles_installed: true,
            static_sources: sources,
        }
    }

    fn keys(app: &Path, env: &Env) -> Keys {
        let venv = crate::venv::Venv {
            root: app.with_file_name("venv"),
            python: PathBuf::from("/usr/bin/python3"),
            version: (3, 11, 2),
        };
        Keys::new(app, "site.settings", &venv, env)
    }

    #[test]
    fn keys_follow_their_inputs() {
        let settings_py =
            "SECRET_KEY = os.environ['SECRET_KEY']\nALLOWED_HOSTS = [os.environ['HOSTNAME']]";
        let dir = crate::tree(&[
            ("app/manage.py", "import os"),
            ("app/site/settings.py", settings_py),
            ("app/site/views.py", "def index(): pass"),
            ("app/site/static/site.css", "body {}"),
        ]);
        let app = dir.path().join("app");
        let static_dir = app.join("site/static");
        let s = settings(Some(vec![static_dir.clone()]));
        let root = app.join("staticfiles");
        let env = Env::of(&[("SECRET_KEY", "a"), ("OTHER", "x"), ("HOSTNAME", "h1")]);
        let base = keys(&app, &env);
        let (introspection, collect) = (
            base.introspection(&s),
            base.collectstatic(&s, &root, None).expect("known"),
        );
        // Which of the two keys differ from the first ones: (introspection, collectstatic).
        let changed = |env: &Env| {
            let k = keys(&app, env);
            let collect_now = k.collectstatic(&s, &root, None).expect("known");
            (k.introspection(&s) != introspection, collect_now != collect)
        };
        // Unnamed and per-container variables are not inputs.
        let other = Env::of(&[("SECRET_KEY", "a"), ("OTHER", "y"), ("HOSTNAME", "h2")]);
        assert_eq!(changed(&other), (false, false));
        // A variable the settings name is.
        assert_eq!(changed(&Env::of(&[("SECRET_KEY", "b")])), (true, true));
        // A static file: collectstatic only.
        fs::write(static_dir.join("site.css"), "body { color: red }").expect("write");
        assert_eq!(changed(&env), (false, true));
        fs::write(static_dir.join("site.css"), "body {}").expect("write");
        // Code outside the settings' directory: the introspection only.
        crate::put(&app.join("blog/models.py"), "x = 1");
        assert_eq!(changed(&env), (true, false));
        fs::remove_dir_all(app.join("blog")).expect("rm");
        // The settings: both.
        fs::write(app.join("site/settings.py"), "STATIC_URL = '/s/'").expect("write");
        assert_eq!(changed(&env), (true, true));
        // An installed distribution: both.
        let record = app.with_file_name("venv/lib/python3.11/site-packages/six-1.16.0.dist-info");
        crate::put(&record.join("RECORD"), "six.py,sha256=a,1");
        assert_eq!(changed(&env), (true, true));
        // A finder or storage whose inputs are unknown: never reused.
        assert_eq!(base.collectstatic(&settings(None), &root, None), None);
    }

    #[test]
    fn static_files_replaced_in_the_kept_archive_and_checked_when_unpacked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join(artifacts::CACHES_ARCHIVE);
        let cache = dir.path().join("uv");
        crate::put(&cache.join("wheels/a.whl"), "wheel");
        let collected_dir = dir.path().join("collected");
        crate::put(&collected_dir.join("admin/base.css"), "css");
        // An archive with the uv cache only, as a clean build's save-artifacts packs it.
        {
            let file = File::create(&archive).expect("create");
            let mut tar = tar::Builder::new(zstd::Encoder::new(file, 1).expect("zstd"));
            artifacts::append_tree(&mut tar, "uv", &cache).expect("append");
            tar.into_inner().expect("tar").finish().expect("zstd");
        }
        replace_static(&archive, Some(&collected_dir)).expect("replace");
        let (digest, files) = tree_digest(&collected_dir);
        let record = DjangoRecord {
            introspection_key: "i".into(),
            settings: settings(Some(Vec::new())),
            collected: Some(Collected {
                key: "k".into(),
                static_root: dir.path().join("root"),
                digest,
                files,
            }),
        };
        let previous = Previous {
            record: &record,
            caches: Some(&archive),
        };
        let root = dir.path().join("root");
        assert_eq!(restore_static(&previous, Some("k"), &root), Ok(1));
        assert_eq!(
            fs::read_to_string(root.join("admin/base.css")).expect("read"),
            "css"
        );
        // Another key, or a STATIC_ROOT that is not empty: not reused, left as found.
        fs::remove_dir_all(&root).expect("rm");
        assert!(restore_static(&previous, Some("other"), &root).is_err());
        assert!(!root.exists());
        // What the archive holds is not what the record says: undone.
        fs::write(collected_dir.join("admin/base.css"), "planted").expect("write");
        replace_static(&archive, Some(&collected_dir)).expect("replace");
        let why = restore_static(&previous, Some("k"), &root).expect_err("differs");
        assert!(
            why.contains("not what the previous build collected"),
            "{why}"
        );
        assert!(!root.exists());
        // The other caches are kept; removing the static files leaves them alone.
        replace_static(&archive, None).expect("replace");
        let names = artifacts::tests::member_names(&archive);
        assert!(names.contains(&"uv/wheels/a.whl".to_owned()), "{names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with(STATIC_MEMBER)),
            "{names:?}"
        );
    }
}
