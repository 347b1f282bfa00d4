//! Incremental builds. `save-artifacts` streams a tar of **a few large files** (s2i unpacks
//! every entry into `/tmp/artifacts`, and thousands of small cache files cost seconds there):
//!
//! - [`DEPS_ARCHIVE`]: the installed dependencies, i.e. every top-level entry of `$APP_ROOT`
//!   except the source and the state directory (`bin`, `lib`, `include`, `pyvenv.cfg`...),
//!   without the builder's own files the build did not change ([`Manifest::from_builder`]);
//! - [`CACHES_ARCHIVE`]: the installers' caches (uv's holds every downloaded and built wheel,
//!   pip's on Python 2.7);
//! - [`MANIFEST`], the **last** entry: what the build recorded plus each archive's sha256 and
//!   size.
//!
//! Both archives are zstd-compressed tars. assemble finds them in `/tmp/artifacts`
//! (`S2I_ARTIFACTS_DIR`) and checks the manifest and the digests first ([`open`]). When
//! everything that decides the installed dependencies is unchanged ([`inputs_digest`]: the
//! dependency files, the exact Python, the installer, the index settings, the virtualenv as the
//! builder image made it) the dependencies are restored as a whole, in place
//! ([`Previous::restore_dependencies`]: what the builder's virtualenv already holds as the
//! archive does is left alone, so the committed layer does not carry it twice) instead of being
//! resolved again, as buildpacks reuse a layer; the caches archive is kept unopened for the
//! next build. When only the dependency files changed and the package manager's file still
//! asks for every package it asked for ([`Inputs::asked`]: a package added, a version changed),
//! the dependencies are restored the same way and the installer runs over them, so only what
//! is new or changed is downloaded and installed ([`Reuse::Base`]). Otherwise the caches are unpacked and the
//! installer runs in the builder's virtualenv, with nothing to download for what was
//! downloaded before. Artifacts without a manifest (a truncated tar),
//! with an unreadable one, from another format or Python version, whose manifest names any file
//! but the archives of [`ARCHIVES`] ([`Manifest::check`]), whose files are not regular files,
//! or whose archives do not match their digests, do not decode, hold members outside the
//! manifest's entries or unpack to far more than their size ([`UNPACKED_RATIO`]) are ignored
//! with a warning: the build is a clean one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output;

/// The manifest's name, in the tar and in `/tmp/artifacts`.
pub const MANIFEST: &str = "python-s2i-artifacts.json";
/// Format of [`Manifest`] and of the tar.
pub const FORMAT: u32 = 3;
/// The caches, by their directory name in [`CACHES_ARCHIVE`].
pub const CACHES: [&str; 3] = ["uv", "pip", "npm"];
/// The installed dependencies (top-level entries of `$APP_ROOT`).
pub const DEPS_ARCHIVE: &str = "python-s2i-dependencies.tar.zst";
/// The installers' caches (`uv/`, `pip/`, `npm/`).
pub const CACHES_ARCHIVE: &str = "python-s2i-caches.tar.zst";
/// Every archive an artifacts tar may hold: the only names a manifest may give, so the only
/// files assemble reads, moves or removes in the artifacts directory (with [`MANIFEST`]). A
/// manifest naming anything else is refused whole (a clean build). A new archive is one line.
pub const ARCHIVES: [&str; 2] = [DEPS_ARCHIVE, CACHES_ARCHIVE];
/// The largest manifest read (its `from_builder` list grows with the builder's virtualenv).
const MANIFEST_LIMIT: u64 = 64 << 20;
/// An archive may unpack to at most this many times its compressed size...
const UNPACKED_RATIO: u64 = 32;
/// ... and always to this much: what save-artifacts packs compresses a few times, a crafted
/// archive of zeros thousands of times.
const UNPACKED_FLOOR: u64 = 64 << 20;
/// Top-level entries of `$APP_ROOT` that are not dependencies.
const NOT_DEPENDENCIES: [&str; 2] = ["src", s2i_facts::STATE_DIR];
/// Files whose content decides the dependencies.
const DEPENDENCY_FILES: &[&str] = &[
    "requirements.txt",
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package-lock.json",
];

/// What assemble recorded about the build (in `$APP_ROOT/.python-s2i/`); save-artifacts adds
/// [`Manifest::archives`] and puts it at the end of the tar.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    /// `major.minor` of the virtualenv.
    pub python_version: String,
    /// sha256 of the dependency files.
    pub dependency_digest: String,
    /// Where each cache of [`CACHES`] lives in the image.
    pub caches: Vec<(String, PathBuf)>,
    /// [`inputs_digest`] of the build, when its dependencies may be restored as a whole.
    #[serde(default)]
    pub inputs: Option<String>,
    /// The same without the dependency files ([`Inputs::base`]).
    #[serde(default)]
    pub base_inputs: Option<String>,
    /// The packages the package manager's file asked for ([`Asked::packages`]).
    #[serde(default)]
    pub packages: Option<BTreeSet<String>>,
    /// `$APP_ROOT` of the build (scripts and `pyvenv.cfg` name it).
    #[serde(default)]
    pub app_root: PathBuf,
    /// The top-level entries of `$APP_ROOT` that hold the installed dependencies.
    #[serde(default)]
    pub entries: Vec<String>,
    /// When the build started (seconds since the epoch): a file of the dependency entries
    /// changed before that is the builder's own, left out of [`DEPS_ARCHIVE`].
    #[serde(default)]
    pub started: u64,
    /// The builder's own files of the dependency entries, left out of [`DEPS_ARCHIVE`] (filled
    /// by save-artifacts): a restore finds them as they were or does not restore.
    #[serde(default)]
    pub from_builder: Vec<BuilderFile>,
    /// The archives in the tar (filled by save-artifacts).
    #[serde(default)]
    pub archives: Vec<Archive>,
    /// What the Django steps found and collected ([`crate::rebuild`]); the collected files
    /// go in [`CACHES_ARCHIVE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub django: Option<crate::rebuild::DjangoRecord>,
}

/// What decides a build's installed dependencies, hashed with [`inputs_digest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Everything: the dependency files, the Python, the installer and its settings, the
    /// builder's virtualenv.
    pub all: String,
    /// Everything but the dependency files.
    pub base: String,
    /// What the package manager's file asks for, when its names tell everything it installs.
    pub asked: Option<Asked>,
}

/// The packages a package manager's file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// `requirements.txt`, `uv.lock`, ...
    pub file: &'static str,
    /// Normalised names (`package_manager::packages_asked_for`).
    pub packages: BTreeSet<String>,
}

/// How the previous build's installed dependencies serve this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    /// Nothing that decides them changed: restored, and not installed again.
    Whole,
    /// Only the dependency files changed, and the package manager's file still asks for every
    /// package it asked for: restored, then that file is installed over them (what is new or
    /// changed). Holds that file and the packages it asks for now and did not then.
    Base {
        file: &'static str,
        added: Vec<String>,
    },
}

impl Reuse {
    /// The packages added, for the log: `new: a, b`, or that none was.
    #[must_use]
    pub fn added(&self) -> Option<String> {
        match self {
            Self::Base { added, .. } if !added.is_empty() => {
                Some(format!("new: {}", added.join(", ")))
            }
            _ => None,
        }
    }
}

/// A file of the builder's virtualenv the build did not change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BuilderFile {
    /// Relative to `$APP_ROOT`.
    pub path: PathBuf,
    pub size: u64,
    /// Modification time, whole seconds.
    pub mtime: i64,
}

/// One archive of the artifacts tar.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Archive {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 over the names and contents of the dependency files in `app`.
#[must_use]
pub fn dependency_digest(app: &Path) -> String {
    let mut hasher = Sha256::new();
    for name in DEPENDENCY_FILES {
        if let Ok(content) = fs::read(app.join(name)) {
            hash_part(&mut hasher, name, &content);
        }
    }
    hex(&hasher.finalize())
}

fn hash_part(hasher: &mut Sha256, name: &str, value: &[u8]) {
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update((value.len() as u64).to_le_bytes());
    hasher.update(value);
}

/// sha256 over named parts (the caller's list of what decides the installed dependencies).
#[must_use]
pub fn inputs_digest(parts: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in parts {
        hash_part(&mut hasher, name, value.as_bytes());
    }
    hex(&hasher.finalize())
}

/// The virtualenv before the dependencies go in: the names of the installed distributions and
/// their `RECORD`s (which hold every file's sha256, so a mod_wsgi rebuilt against another
/// Apache is another virtualenv), and `pyvenv.cfg`.
#[must_use]
pub fn venv_digest(app_root: &Path) -> String {
    let mut hasher = Sha256::new();
    if let Ok(cfg) = fs::read(app_root.join("pyvenv.cfg")) {
        hash_part(&mut hasher, "pyvenv.cfg", &cfg);
    }
    let records = crate::venv::metadata_dirs(app_root);
    for dir in records {
        let name = dir.strip_prefix(app_root).unwrap_or(&dir).to_string_lossy();
        let record = fs::read(dir.join("RECORD")).unwrap_or_default();
        hash_part(&mut hasher, &name, &record);
    }
    hex(&hasher.finalize())
}

/// Why the dependencies of a requirements file cannot be restored as a whole: it names other
/// files or local directories, whose content the digest does not cover.
#[must_use]
pub fn requirements_not_reusable(app: &Path) -> Option<String> {
    let lines = s2i_project::requirements::read(app, "requirements.txt");
    let line = lines.into_iter().find(s2i_project::Line::refers_to_files)?;
    Some(format!(
        "requirements.txt refers to other files or directories ({})",
        line.text
    ))
}

/// The top-level entries of `app_root` that hold the installed dependencies.
#[must_use]
pub fn dependency_entries(app_root: &Path) -> Vec<String> {
    let mut entries: Vec<String> = fs::read_dir(app_root)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !NOT_DEPENDENCIES.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Why the installed dependencies were not restored.
#[derive(Debug)]
pub enum RestoreError {
    /// The archive did not unpack: the virtualenv is untouched, the build installs instead.
    Unpack { archive: PathBuf, source: io::Error },
    /// The virtualenv's entries were removed but the restored ones could not be moved in: the
    /// virtualenv is incomplete, the build stops.
    Swap {
        app_root: PathBuf,
        source: io::Error,
    },
}

/// What the previous build left in the artifacts directory, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// No artifacts: a clean build.
    None,
    /// Ignored, with the reason (shown as a warning).
    Ignored(String),
    /// A valid manifest whose archives match their digests.
    Usable(Box<Previous>),
}

/// Usable artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// Reads and checks the artifacts in `dir` for a build with Python `python_version`.
#[must_use]
pub fn open(dir: &Path, python_version: &str) -> Opened {
    let empty = fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none());
    if empty {
        return Opened::None;
    }
    let text = match read_manifest(&dir.join(MANIFEST)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Opened::Ignored(format!(
                "{} has no {MANIFEST}: the artifacts are incomplete (a truncated or corrupt tar)",
                dir.display()
            ))
        }
        Err(e) => return Opened::Ignored(e.to_string()),
    };
    let manifest: Manifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            return Opened::Ignored(format!("{} is corrupt: {e}", dir.join(MANIFEST).display()))
        }
    };
    if manifest.format != FORMAT {
        return Opened::Ignored(format!(
            "the artifacts have format {} (this assemble reads {FORMAT})",
            manifest.format
        ));
    }
    if manifest.python_version != python_version {
        return Opened::Ignored(format!(
            "the artifacts were made with Python {}, this build uses Python {python_version}",
            manifest.python_version
        ));
    }
    if let Err(why) = manifest.check() {
        return Opened::Ignored(format!("{}: {why}", dir.join(MANIFEST).display()));
    }
    for archive in &manifest.archives {
        if let Err(why) = verify(&dir.join(&archive.name), archive) {
            return Opened::Ignored(why);
        }
    }
    Opened::Usable(Box::new(Previous {
        dir: dir.to_owned(),
        manifest,
    }))
}

/// The manifest's text: a regular file ([`crate::trust::open_regular`]) of at most
/// [`MANIFEST_LIMIT`].
fn read_manifest(path: &Path) -> io::Result<String> {
    let file = crate::trust::open_regular(path)?;
    let mut text = String::new();
    file.take(MANIFEST_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|e| io::Error::other(format!("{} is corrupt: {e}", path.display())))?;
    if text.len() as u64 > MANIFEST_LIMIT {
        return Err(io::Error::other(format!(
            "{} is larger than {} MiB: not a manifest save-artifacts writes",
            path.display(),
            MANIFEST_LIMIT >> 20
        )));
    }
    Ok(text)
}

impl Manifest {
    /// Whether every name the manifest gives is one it may give: archives of [`ARCHIVES`]
    /// (each once), dependency entries that are top-level entries of `$APP_ROOT` other than
    /// the source and the state directory, builder's files under those entries.
    ///
    /// # Errors
    /// The first name that is not, and why.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for archive in &self.archives {
            if !ARCHIVES.contains(&archive.name.as_str()) {
                return Err(format!(
                    "it names {:?} as an archive, and an artifacts manifest names only {}: it was not written by save-artifacts",
                    archive.name,
                    ARCHIVES.join(" and ")
                ));
            }
            if !seen.insert(archive.name.as_str()) {
                return Err(format!("it names {} twice", archive.name));
            }
        }
        for entry in &self.entries {
            let plain = Path::new(entry).components().count() == 1
                && matches!(
                    Path::new(entry).components().next(),
                    Some(std::path::Component::Normal(_))
                );
            if !plain || NOT_DEPENDENCIES.contains(&entry.as_str()) {
                return Err(format!(
                    "it lists {entry:?} as an entry of the installed dependencies, which are top-level entries of APP_ROOT other than {}",
                    NOT_DEPENDENCIES.join(" and ")
                ));
            }
        }
        for file in &self.from_builder {
            let first = inside(&file.path)
                .ok()
                .and_then(|p| p.components().next().map(|c| c.as_os_str().to_owned()));
            if !first.is_some_and(|f| self.entries.iter().any(|e| f == e.as_str())) {
                return Err(format!(
                    "it lists {} as a builder's file, which is not under an entry of the installed dependencies",
                    file.path.display()
                ));
            }
        }
        Ok(())
    }
}

/// Checks an archive's size and sha256 against the manifest: a regular file
/// ([`crate::trust::open_regular`]) of the recorded size, hashed up to that size.
fn verify(path: &Path, archive: &Archive) -> Result<(), String> {
    let file = crate::trust::open_regular(path).map_err(|e| e.to_string())?;
    let on_disk = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if on_disk != archive.size {
        return Err(format!(
            "{} does not match the manifest ({on_disk} bytes; expected {} bytes): the artifacts are corrupt",
            path.display(),
            archive.size
        ));
    }
    let mut hasher = HashingWriter::new(io::sink());
    io::copy(&mut file.take(archive.size), &mut hasher)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (_, sha256, size) = hasher.finish();
    if size != archive.size || sha256 != archive.sha256 {
        return Err(format!(
            "{} does not match the manifest ({size} bytes, sha256 {sha256}; expected {} bytes, sha256 {}): the artifacts are corrupt",
            path.display(),
            archive.size,
            archive.sha256
        ));
    }
    Ok(())
}

impl Previous {
    fn archive(&self, name: &str) -> Option<PathBuf> {
        self.manifest
            .archives
            .iter()
            .any(|a| a.name == name)
            .then(|| self.dir.join(name))
    }

    /// How the installed dependencies serve a build with `inputs` into `app_root`; why they
    /// cannot be restored otherwise.
    ///
    /// # Errors
    /// The reason, for the build log.
    pub fn reuse(
        &self,
        app_root: &Path,
        inputs: Option<&Inputs>,
        dependency_digest: &str,
    ) -> Result<Reuse, String> {
        let Some(inputs) = inputs else {
            return Err("this build's dependencies cannot be restored as a whole".into());
        };
        if self.archive(DEPS_ARCHIVE).is_none() || self.manifest.inputs.is_none() {
            return Err("the artifacts hold no installed dependencies".into());
        }
        if self.manifest.app_root != app_root {
            return Err(format!(
                "they were installed in {}, this build installs in {}",
                self.manifest.app_root.display(),
                app_root.display()
            ));
        }
        if self.manifest.inputs.as_deref() == Some(inputs.all.as_str()) {
            return Ok(Reuse::Whole);
        }
        let others = "the Python, the installer, its settings or the builder's virtualenv";
        if !self.dependency_files_changed(dependency_digest) {
            return Err(format!("{others} changed since that build"));
        }
        let changed = "the dependency files changed since that build";
        if self.manifest.base_inputs.as_deref() != Some(inputs.base.as_str()) {
            return Err(format!("{changed}, and so did {others}"));
        }
        let (Some(before), Some(asked)) = (&self.manifest.packages, &inputs.asked) else {
            return Err(format!(
                "{changed} (only a requirements.txt of package names or a lock file is installed over the previous build's packages)"
            ));
        };
        let now = &asked.packages;
        let dropped: Vec<&str> = before.difference(now).map(String::as_str).collect();
        if !dropped.is_empty() {
            return Err(format!(
                "{changed}: {} no longer asks for {} (installed from scratch, so that what only they needed goes too)",
                asked.file,
                dropped.join(", ")
            ));
        }
        Ok(Reuse::Base {
            file: asked.file,
            added: now.difference(before).cloned().collect(),
        })
    }

    /// Makes the dependency entries of `app_root` what the archive holds, in place: a file the
    /// builder's virtualenv already has as the archive holds it (same type, size and
    /// modification time, or the same link target) is left alone, so the committed image
    /// carries only what the build added, as a clean build's does; the others are written,
    /// and what the archive does not hold is removed. Keeps the caches archive unopened in
    /// `state_dir` for the next save-artifacts. Returns how many entries were restored.
    ///
    /// # Errors
    /// The archive is not a tar or lacks an entry of the manifest before anything was written
    /// (`app_root` keeps its own entries), or writing failed half way (the virtualenv is
    /// incomplete: the caller stops the build).
    pub fn restore_dependencies(
        &self,
        app_root: &Path,
        state_dir: &Path,
    ) -> Result<Restored, RestoreError> {
        let archive = self.dir.join(DEPS_ARCHIVE);
        let unpack_error = |source| RestoreError::Unpack {
            archive: archive.clone(),
            source,
        };
        // The archive was verified against its digest: what is checked here is that it holds
        // what the manifest says, before anything in the virtualenv changes.
        let mut names = top_level_names(&archive).map_err(unpack_error)?;
        if let Some(other) = names.iter().find(|n| !self.manifest.entries.contains(n)) {
            return Err(unpack_error(io::Error::other(format!(
                "it holds {other}, which is not one of the entries its manifest lists ({}): nothing was restored",
                self.manifest.entries.join(", ")
            ))));
        }
        for file in &self.manifest.from_builder {
            if let Some(std::path::Component::Normal(first)) = file.path.components().next() {
                names.insert(first.to_string_lossy().into_owned());
            }
        }
        if let Some(missing) = self.manifest.entries.iter().find(|e| !names.contains(*e)) {
            return Err(unpack_error(io::Error::other(format!(
                "{missing} is missing from {DEPS_ARCHIVE}"
            ))));
        }
        if let Some(why) = self.builder_differs(app_root) {
            return Err(unpack_error(io::Error::other(why)));
        }
        let builders: std::collections::HashSet<PathBuf> = self
            .manifest
            .from_builder
            .iter()
            .map(|f| f.path.clone())
            .collect();
        let restored = sync_in_place(&archive, app_root, &self.manifest.entries, builders)
            .map_err(|source| RestoreError::Swap {
                app_root: app_root.to_owned(),
                source,
            })?;
        // Used: not worth committing into the image a second time.
        let _ = fs::remove_file(&archive);
        if let Some(caches) = self.archive(CACHES_ARCHIVE) {
            if let Err(e) = keep(&caches, &state_dir.join(CACHES_ARCHIVE)) {
                output::warning(&format!(
                    "the caches are not kept for the next build: {}: {e}",
                    caches.display()
                ));
            }
        }
        Ok(Restored {
            entries: self.manifest.entries.len(),
            ..restored
        })
    }

    /// Why the builder's files the archive leaves out are not in `app_root` as the previous
    /// build had them; `None` when they all are.
    fn builder_differs(&self, app_root: &Path) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        self.manifest.from_builder.iter().find_map(|file| {
            let path = app_root.join(&file.path);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() && m.len() == file.size && m.mtime() == file.mtime => None,
                Ok(_) => Some(format!(
                    "{} is not the builder's file the previous build had (size or modification time differ)",
                    path.display()
                )),
                Err(e) => Some(format!("{}: {e}", path.display())),
            }
        })
    }

    /// Removes the archives left in the artifacts directory (those no step used), so the
    /// committed image does not carry them.
    pub fn remove_archives(&self) {
        for archive in &self.manifest.archives {
            let _ = fs::remove_file(self.dir.join(&archive.name));
        }
    }

    /// Unpacks the caches archive into the caches' directories (`targets`: name -> directory),
    /// skipping a cache whose directory is already filled. Returns the caches restored.
    #[must_use]
    pub fn restore_caches(&self, targets: &[(String, PathBuf)], state_dir: &Path) -> Vec<String> {
        let Some(archive) = self.archive(CACHES_ARCHIVE) else {
            return Vec::new();
        };
        let staging = state_dir.join("restore-caches");
        let _ = fs::remove_dir_all(&staging);
        if let Err(e) = fs::create_dir_all(&staging).and_then(|()| unpack(&archive, &staging)) {
            output::warning(&format!("could not unpack {}: {e}", archive.display()));
            let _ = fs::remove_dir_all(&staging);
            return Vec::new();
        }
        let _ = fs::remove_file(&archive);
        let mut restored = Vec::new();
        for (name, target) in targets {
            let from = staging.join(name);
            if !from.is_dir() {
                continue;
            }
            let removed = crate::trust::remove_escaping_links(&from);
            if !removed.is_empty() {
                output::warning(&format!(
                    "the {name} cache held {} symlink(s) pointing outside it, removed: {}",
                    removed.len(),
                    removed
                        .iter()
                        .map(|p| p.strip_prefix(&staging).unwrap_or(p).display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            // A cache already in use (uv seeding a new virtualenv) gets what it lacks.
            match merge_dir(&from, target) {
                Ok(()) => restored.push(name.clone()),
                Err(e) => output::warning(&format!(
                    "could not restore the {name} cache to {}: {e}",
                    target.display()
                )),
            }
        }
        let _ = fs::remove_dir_all(&staging);
        restored
    }

    /// Whether the dependency files differ from the previous build's.
    #[must_use]
    pub fn dependency_files_changed(&self, digest: &str) -> bool {
        self.manifest.dependency_digest != digest
    }
}

/// A compressed archive, for reading: a regular file ([`crate::trust::open_regular`]) whose
/// tar may be at most [`UNPACKED_RATIO`] times as large (and always [`UNPACKED_FLOOR`]).
pub(crate) fn read_archive(archive: &Path) -> io::Result<tar::Archive<impl Read>> {
    let file = crate::trust::open_regular(archive)?;
    let compressed = file.metadata()?.len();
    let decoder = zstd::Decoder::with_buffer(io::BufReader::with_capacity(1 << 20, file))?;
    Ok(tar::Archive::new(Bounded {
        inner: decoder,
        read: 0,
        limit: compressed
            .saturating_mul(UNPACKED_RATIO)
            .max(UNPACKED_FLOOR),
        compressed,
    }))
}

/// A decompressing reader that fails past `limit` bytes.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    compressed: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
            return Err(io::Error::other(format!(
                "it unpacks to more than {:.1} MiB ({UNPACKED_RATIO} times its {:.1} MiB, and at least {:.0} MiB): \
                 not an archive save-artifacts writes, so it is not unpacked further",
                mib(self.limit),
                mib(self.compressed),
                mib(UNPACKED_FLOOR)
            )));
        }
        Ok(n)
    }
}

/// Unpacks `archive` into the empty directory `into`.
fn unpack(archive: &Path, into: &Path) -> io::Result<()> {
    let unpacked = (|| {
        let mut writer = MemberWriter::new(into);
        for entry in read_archive(archive)?.entries()? {
            let mut entry = entry?;
            let path = member_path(&entry)?;
            writer.write(&mut entry, &path)?;
        }
        writer.finish()
    })();
    unpacked
        .map_err(|e: io::Error| io::Error::other(format!("unpacking {}: {e}", archive.display())))
}

/// A member's path, relative and without `..` (else an error: the archive is refused).
pub(crate) fn member_path<R: Read>(entry: &tar::Entry<'_, R>) -> io::Result<PathBuf> {
    inside(&entry.path()?)
}

/// `path` as a relative path without `..` (else an error: the archive is refused).
fn inside(path: &Path) -> io::Result<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => clean.push(part),
            std::path::Component::CurDir => {}
            _ => {
                return Err(io::Error::other(format!(
                    "the member {} leaves the directory it is unpacked in",
                    path.display()
                )))
            }
        }
    }
    Ok(clean)
}

/// Writes tar members under a root, with as few system calls as the members need (the tar
/// crate's own unpacking resolves every member's parent directories again): a directory is
/// checked once, and never through a symlink. Directories get their modes last
/// ([`MemberWriter::finish`]), once everything in them is written: a read-only directory
/// (0555) is then read-only with its contents in it.
pub(crate) struct MemberWriter<'a> {
    root: &'a Path,
    /// Directories (relative) known to be real directories, not links.
    dirs: std::collections::HashSet<PathBuf>,
    /// Directories' modes, applied by [`MemberWriter::finish`].
    modes: Vec<(PathBuf, u32)>,
}

impl<'a> MemberWriter<'a> {
    pub(crate) fn new(root: &'a Path) -> Self {
        Self {
            root,
            dirs: std::collections::HashSet::from([PathBuf::new()]),
            modes: Vec::new(),
        }
    }

    /// Gives the directory `relative` its `mode` once the members are written.
    fn dir_mode(&mut self, relative: &Path, mode: u32) {
        self.modes.push((relative.to_owned(), mode));
    }

    /// Applies the directories' modes, deepest first (a parent made unreadable last).
    pub(crate) fn finish(self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mut modes = self.modes;
        modes.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        for (relative, mode) in modes {
            let path = self.root.join(relative);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
            }
        }
        Ok(())
    }

    /// Makes sure the directory `relative` exists as a real directory under the root.
    fn ensure_dir(&mut self, relative: &Path) -> io::Result<()> {
        if self.dirs.contains(relative) {
            return Ok(());
        }
        if let Some(parent) = relative.parent() {
            self.ensure_dir(parent)?;
        }
        let path = self.root.join(relative);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(io::Error::other(format!(
                    "{} is not a directory (a link or a file): nothing is written through it",
                    path.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&path)?,
            Err(e) => return Err(e),
        }
        self.dirs.insert(relative.to_owned());
        Ok(())
    }

    /// Forgets what was checked at and below `relative` (about to be removed).
    fn forget(&mut self, relative: &Path) {
        self.dirs.retain(|dir| !dir.starts_with(relative));
    }

    /// Writes the member `entry` at `relative`, where nothing is (a directory may be).
    pub(crate) fn write<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        relative: &Path,
    ) -> io::Result<()> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if relative.as_os_str().is_empty() {
            return Ok(());
        }
        if let Some(parent) = relative.parent() {
            self.ensure_dir(parent)?;
        }
        let dest = self.root.join(relative);
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode()? & 0o7777;
        if kind.is_dir() {
            self.ensure_dir(relative)?;
            self.dir_mode(relative, mode);
        } else if kind.is_symlink() {
            let target = entry.link_name()?.ok_or_else(|| {
                io::Error::other(format!("{}: a link without a target", dest.display()))
            })?;
            std::os::unix::fs::symlink(target, &dest)?;
        } else if kind.is_hard_link() {
            let target = entry.link_name()?.ok_or_else(|| {
                io::Error::other(format!("{}: a link without a target", dest.display()))
            })?;
            // A hard link names a file of the archive: inside the root, and reached through
            // real directories only (never through a link to a file elsewhere).
            let target = inside(&target)?;
            if let Some(parent) = target.parent() {
                self.ensure_dir(parent)?;
            }
            fs::hard_link(self.root.join(target), &dest)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let mtime = i64::try_from(header.mtime()?).unwrap_or(0);
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&dest)?;
            io::copy(entry, &mut file)?;
            // The mode as recorded, whatever the umask.
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            filetime::set_file_handle_times(
                &file,
                None,
                Some(filetime::FileTime::from_unix_time(mtime, 0)),
            )?;
        }
        // Other members (devices, FIFOs) are never saved: skipped.
        Ok(())
    }
}

/// What an in-place restore did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// Top-level entries of `$APP_ROOT` restored.
    pub entries: usize,
    /// Files, links and directories written from the archive.
    pub written: usize,
    /// Already there as the archive holds them (the builder's virtualenv): left alone.
    pub kept: usize,
    /// Not in the archive: removed.
    pub removed: usize,
}

/// The top-level names of a tar's members.
fn top_level_names(archive: &Path) -> io::Result<std::collections::BTreeSet<String>> {
    let mut tar = read_archive(archive)?;
    let mut names = std::collections::BTreeSet::new();
    for entry in tar.entries()? {
        let path = member_path(&entry?)?;
        // The root itself (`./`) is named `.`: never an entry of the manifest.
        let first = path.components().next().map_or_else(
            || ".".to_owned(),
            |c| c.as_os_str().to_string_lossy().into_owned(),
        );
        names.insert(first);
    }
    Ok(names)
}

/// Whether `existing` is already what the tar `header` describes (type, size and whole-second
/// modification time; a link's target).
fn unchanged(existing: &fs::Metadata, header: &tar::Header, dest: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let kind = header.entry_type();
    if kind.is_dir() {
        return existing.is_dir();
    }
    if kind.is_symlink() {
        return existing.file_type().is_symlink()
            && header.link_name().ok().flatten().as_deref() == fs::read_link(dest).ok().as_deref();
    }
    kind.is_file()
        && existing.is_file()
        && header.size().ok() == Some(existing.len())
        && header.mtime().ok() == u64::try_from(existing.mtime()).ok()
}

/// Makes `entries` of `app_root` what the tar `archive` holds (see
/// [`Previous::restore_dependencies`]).
fn sync_in_place(
    archive: &Path,
    app_root: &Path,
    entries: &[String],
    mut held: std::collections::HashSet<PathBuf>,
) -> io::Result<Restored> {
    use std::os::unix::fs::PermissionsExt;
    let mut done = Restored {
        kept: held.len(),
        ..Restored::default()
    };
    // Top-level entries of this virtualenv that the archive does not hold go first.
    for name in dependency_entries(app_root) {
        if !entries.contains(&name) {
            remove_any(&app_root.join(&name))?;
            done.removed += 1;
        }
    }
    let mut writer = MemberWriter::new(app_root);
    for entry in read_archive(archive)?.entries()? {
        let mut entry = entry?;
        let path = member_path(&entry)?;
        // Only the manifest's entries are written (checked before, and here again).
        let top = path.components().next().map(|c| c.as_os_str());
        if !top.is_some_and(|top| entries.iter().any(|e| top == e.as_str())) {
            return Err(io::Error::other(format!(
                "the member {} is not under an entry of the manifest ({})",
                path.display(),
                entries.join(", ")
            )));
        }
        if let Some(parent) = path.parent() {
            writer.ensure_dir(parent)?;
        }
        let dest = app_root.join(&path);
        held.insert(path.clone());
        match fs::symlink_metadata(&dest) {
            Ok(existing) if unchanged(&existing, entry.header(), &dest) => {
                let mode = entry.header().mode()? & 0o7777;
                if existing.is_dir() {
                    writer.dir_mode(&path, mode);
                } else if !existing.file_type().is_symlink()
                    && existing.permissions().mode() & 0o7777 != mode
                {
                    fs::set_permissions(&dest, fs::Permissions::from_mode(mode))?;
                }
                done.kept += 1;
                continue;
            }
            Ok(_) => {
                writer.forget(&path);
                remove_any(&dest)?;
            }
            Err(_) => {}
        }
        writer.write(&mut entry, &path)?;
        done.written += 1;
    }
    // What the virtualenv holds and the archive does not (what the previous build removed).
    for name in entries {
        // A venv's lib64 is a link to lib: not followed (its members are lib's).
        let mut walk = walkdir::WalkDir::new(app_root.join(name))
            .follow_links(false)
            .follow_root_links(false)
            .into_iter();
        while let Some(entry) = walk.next() {
            let entry = entry.map_err(io::Error::other)?;
            let relative = entry.path().strip_prefix(app_root).unwrap_or(entry.path());
            if !held.contains(relative) {
                if entry.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                remove_any(entry.path())?;
                done.removed += 1;
            }
        }
    }
    writer.finish()?;
    Ok(done)
}

/// Removes a file, a link or a whole directory.
pub(crate) fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Moves (or copies, across file systems) `from` to `to`.
fn keep(from: &Path, to: &Path) -> io::Result<()> {
    let _ = fs::remove_file(to);
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(|_| ())
}

/// Moves `from` to `to`; when `to` exists, moves in each entry it lacks.
fn merge_dir(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::symlink_metadata(to).is_err() {
        return fs::rename(from, to).or_else(|_| {
            crate::source::install(from, to)
                .map(|_| ())
                .map_err(|e| io::Error::other(format!("{e:?}")))
        });
    }
    if !(fs::symlink_metadata(to)?.is_dir() && fs::symlink_metadata(from)?.is_dir()) {
        return Ok(());
    }
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        merge_dir(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

/// Writes the record for `save-artifacts` to find.
///
/// # Errors
/// It cannot be written.
pub fn write_manifest(state_dir: &Path, manifest: &Manifest) -> io::Result<()> {
    let text = serde_json::to_string_pretty(manifest).map_err(io::Error::other)?;
    fs::write(state_dir.join(MANIFEST), text + "\n")
}

/// A writer that hashes and counts what goes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.size)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what goes through.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Why save-artifacts failed.
#[derive(Debug)]
pub enum SaveArtifactsError {
    /// Writing the tar failed (other than a closed pipe).
    Write { path: PathBuf, source: io::Error },
}

/// What was written.
#[derive(Debug, Default)]
pub struct Saved {
    /// The archives, by name.
    pub caches: Vec<String>,
    /// The reader went away (closed pipe): not an error, the stream just ends.
    pub pipe_closed: bool,
}

/// An archive written to a temporary file (its size must be known before it goes in the tar);
/// removed when dropped.
struct TempArchive(PathBuf);

impl Drop for TempArchive {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The zstd level of the archives: fast (the archives cross a pipe and a container boundary
/// once; a higher level costs more time packing than it saves moving).
pub(crate) const ZSTD_LEVEL: i32 = 1;

/// Packs `members` (name in the archive -> path) into a temporary zstd-compressed tar. In the
/// dependencies archive, a file not changed since `started` is the builder's own: it is left
/// out and returned instead.
fn pack(
    name: &str,
    members: &[(String, PathBuf)],
    started: u64,
) -> io::Result<(TempArchive, Vec<BuilderFile>)> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("python-s2i-{}-{n}.{name}", std::process::id()));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    let temp = TempArchive(path);
    let encoder = zstd::Encoder::new(io::BufWriter::with_capacity(1 << 20, file), ZSTD_LEVEL)?;
    let mut tar = tar::Builder::new(encoder);
    tar.follow_symlinks(false);
    let mut from_builder = Vec::new();
    for (member, path) in members {
        let meta = fs::symlink_metadata(path)?;
        if meta.is_dir() && name == CACHES_ARCHIVE {
            // A cache never fails the save: what cannot be read is left out (fetched again).
            let skipped = append_tree(&mut tar, member, path)?;
            if !skipped.is_empty() {
                eprintln!(
                    "save-artifacts: warning: {} entr{} of the {member} cache skipped (the next build fetches them again): {}",
                    skipped.len(),
                    if skipped.len() == 1 { "y" } else { "ies" },
                    skipped.join("; ")
                );
            }
        } else {
            append_dependencies(&mut tar, member, path, started, &mut from_builder)?;
        }
    }
    tar.into_inner()?.finish()?.flush()?;
    Ok((temp, from_builder))
}

/// Appends the tree (or file) `path` as `member`, leaving out the regular files whose status
/// did not change since `started` (the builder's, pushed to `from_builder`).
fn append_dependencies<W: Write>(
    tar: &mut tar::Builder<W>,
    member: &str,
    path: &Path,
    started: u64,
    from_builder: &mut Vec<BuilderFile>,
) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let started = i64::try_from(started).unwrap_or(i64::MAX);
    for entry in walkdir::WalkDir::new(path)
        .follow_links(false)
        .follow_root_links(false)
    {
        let entry = entry.map_err(io::Error::other)?;
        let below = entry.path().strip_prefix(path).unwrap_or(Path::new(""));
        let in_tar = if below.as_os_str().is_empty() {
            PathBuf::from(member)
        } else {
            Path::new(member).join(below)
        };
        let meta = entry.metadata().map_err(io::Error::other)?;
        if meta.is_file() && meta.ctime() < started {
            from_builder.push(BuilderFile {
                path: in_tar,
                size: meta.len(),
                mtime: meta.mtime(),
            });
            continue;
        }
        tar.append_path_with_name(entry.path(), &in_tar)?;
    }
    Ok(())
}

/// Appends the file at `path` as `name`, hashing it on the way.
fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    path: &Path,
) -> io::Result<Archive> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    let mut reader = HashingReader {
        inner: file.take(size),
        hasher: Sha256::new(),
    };
    tar.append_data(&mut header, name, &mut reader)?;
    Ok(Archive {
        name: name.to_owned(),
        sha256: hex(&reader.hasher.finalize()),
        size,
    })
}

/// Streams the archives the record in `state_dir` describes, then the manifest, as a tar.
/// No record (no build happened) gives an empty tar.
///
/// # Errors
/// See [`SaveArtifactsError`].
pub fn save(state_dir: &Path, out: impl Write) -> Result<Saved, SaveArtifactsError> {
    let manifest_path = state_dir.join(MANIFEST);
    // A damaged record only costs the next build its caches: warn, stream an empty tar.
    let manifest: Option<Manifest> = match fs::read_to_string(&manifest_path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| {
                eprintln!(
                    "save-artifacts: warning: {} is damaged ({e}): nothing saved, the next build is a clean one",
                    manifest_path.display()
                );
            })
            .ok(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            eprintln!(
                "save-artifacts: warning: cannot read {} ({e}): nothing saved, the next build is a clean one",
                manifest_path.display()
            );
            None
        }
    };
    let mut saved = Saved::default();
    let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, out));
    let result = (|| -> Result<(), (PathBuf, io::Error)> {
        if let Some(mut manifest) = manifest {
            manifest.archives.clear();
            manifest.from_builder.clear();
            for (name, path) in archive_sources(state_dir, &manifest) {
                let temp;
                let file = match path {
                    Source::File(file) => file,
                    Source::Pack(members) => {
                        eprintln!(
                            "save-artifacts: packing {}",
                            members
                                .iter()
                                .map(|(_, p)| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        match pack(name, &members, manifest.started) {
                            Ok((t, from_builder)) => {
                                temp = t;
                                if !from_builder.is_empty() {
                                    eprintln!(
                                        "save-artifacts: {name}: {} of the builder's files left out (unchanged by the build)",
                                        from_builder.len()
                                    );
                                }
                                manifest.from_builder.extend(from_builder);
                                temp.0.clone()
                            }
                            Err(e) => {
                                eprintln!("save-artifacts: warning: {name} not saved: {e}");
                                continue;
                            }
                        }
                    }
                };
                let archive = append_file(&mut tar, name, &file).map_err(|e| (file.clone(), e))?;
                eprintln!(
                    "save-artifacts: {name}: {:.1} MB",
                    archive.size as f64 / 1e6
                );
                manifest.archives.push(archive);
                saved.caches.push(name.to_owned());
            }
            let text = serde_json::to_vec_pretty(&manifest)
                .map_err(|e| (manifest_path.clone(), io::Error::other(e)))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, MANIFEST, &text[..])
                .map_err(|e| (manifest_path.clone(), e))?;
        } else if !manifest_path.exists() {
            eprintln!(
                "save-artifacts: no build record in {}: nothing to save",
                state_dir.display()
            );
        }
        tar.finish().map_err(|e| (PathBuf::from("-"), e))?;
        tar.get_mut().flush().map_err(|e| (PathBuf::from("-"), e))
    })();
    match result {
        Ok(()) => Ok(saved),
        Err((_, e)) if is_broken_pipe(&e) => {
            saved.pipe_closed = true;
            Ok(saved)
        }
        Err((path, source)) => Err(SaveArtifactsError::Write { path, source }),
    }
}

/// Appends the tree `dir` as `name/...`: directories, regular files and symlinks (never
/// followed). What cannot be read (a file without read permission, a directory that cannot be
/// listed) or is not a file (a socket, a FIFO, a device) is skipped and returned as
/// `path: reason`, so a cache never fails the build that saves it. Write errors are returned.
pub(crate) fn append_tree<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    dir: &Path,
) -> io::Result<Vec<String>> {
    let mut skipped = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                skipped.push(format!("{path}: {e}"));
                continue;
            }
        };
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let in_tar = Path::new(name).join(relative);
        let file_type = entry.file_type();
        if file_type.is_dir() {
            tar.append_dir(&in_tar, entry.path())?;
        } else if file_type.is_symlink() {
            let (Ok(meta), Ok(target)) = (entry.metadata(), fs::read_link(entry.path())) else {
                skipped.push(format!("{}: cannot read the link", entry.path().display()));
                continue;
            };
            let mut header = tar::Header::new_gnu();
            header.set_metadata(&meta);
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            tar.append_link(&mut header, &in_tar, &target)?;
        } else if file_type.is_file() {
            match fs::File::open(entry.path()) {
                Ok(mut file) => tar.append_file(&in_tar, &mut file)?,
                Err(e) => skipped.push(format!("{}: {e}", entry.path().display())),
            }
        } else {
            skipped.push(format!(
                "{}: not a regular file (socket, FIFO or device)",
                entry.path().display()
            ));
        }
    }
    Ok(skipped)
}

/// Where an archive's bytes come from.
enum Source {
    /// An archive kept as is (the caches of a build that restored its dependencies).
    File(PathBuf),
    /// Packed now from these members.
    Pack(Vec<(String, PathBuf)>),
}

/// The archives to save: the dependencies (when the build may be restored), the caches.
fn archive_sources(state_dir: &Path, manifest: &Manifest) -> Vec<(&'static str, Source)> {
    let mut sources = Vec::new();
    if manifest.inputs.is_some() && !manifest.entries.is_empty() {
        let members: Vec<_> = manifest
            .entries
            .iter()
            .map(|e| (e.clone(), manifest.app_root.join(e)))
            .filter(|(_, p)| fs::symlink_metadata(p).is_ok())
            .collect();
        sources.push((DEPS_ARCHIVE, Source::Pack(members)));
    }
    let kept = state_dir.join(CACHES_ARCHIVE);
    if kept.is_file() {
        sources.push((CACHES_ARCHIVE, Source::File(kept)));
    } else {
        // The collected static files first: the next build reads them without the rest.
        let collected = manifest.django.as_ref().and_then(|d| d.collected.as_ref());
        let members: Vec<_> = collected
            .map(|c| {
                (
                    crate::rebuild::STATIC_MEMBER.to_owned(),
                    c.static_root.clone(),
                )
            })
            .into_iter()
            .chain(
                manifest
                    .caches
                    .iter()
                    .filter(|(name, _)| CACHES.contains(&name.as_str()))
                    .map(|(name, dir)| (name.clone(), dir.clone())),
            )
            .filter(|(_, dir)| dir.is_dir())
            .collect();
        if !members.is_empty() {
            sources.push((CACHES_ARCHIVE, Source::Pack(members)));
        }
    }
    sources
}

fn is_broken_pipe(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return true;
    }
    // tar wraps the write error with the path being added.
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<io::Error>())
        .is_some_and(is_broken_pipe)
        || e.to_string().contains("Broken pipe")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        fs::create_dir_all(app_root.join("lib/site-packages/six")).expect("mkdir");
        fs::write(app_root.join("lib/site-packages/six/__init__.py"), "six").expect("write");
        std::os::unix::fs::symlink("/usr/bin/python3", app_root.join("python")).expect("link");
        fs::create_dir_all(app_root.join("src")).expect("mkdir");
        fs::write(app_root.join("src/app.py"), "app").expect("write");
        let cache = state.join("cache/uv");
        fs::create_dir_all(cache.join("wheels")).expect("mkdir");
        fs::write(cache.join("wheels/a.whl"), "wheel").expect("write");
        write_manifest(&state, &record(&app_root, vec![("uv".into(), cache)])).expect("record");
        let mut bytes = Vec::new();
        let saved = save(&state, &mut bytes).expect("save");
        assert_eq!(saved.caches, [DEPS_ARCHIVE, CACHES_ARCHIVE]);
        let artifacts = root.join("artifacts");
        tar::Archive::new(&bytes[..])
            .unpack(&artifacts)
            .expect("unpack");
        (app_root, artifacts)
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
        fs::create_dir_all(app_root.join("lib/site-packages/gone")).expect("mkdir");
        fs::write(app_root.join("lib/site-packages/gone/x.py"), "x").expect("write");
        fs::write(app_root.join("stray.cfg"), "x").expect("write");
        std::os::unix::fs::symlink("/usr/bin/python3", app_root.join("python")).expect("link");
        let state = app_root.join(s2i_facts::STATE_DIR);
        fs::create_dir_all(&state).expect("mkdir");
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("not usable")
        };
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
            fs::read_to_string(app_root.join("lib/site-packages/six/__init__.py")).expect("read"),
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
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("not usable")
        };
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
            reuse(&inputs("i2", "b", &["django", "idna"]), "d2")
                .is_err_and(|w| w.contains("dependency files changed")
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
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("not usable")
        };
        let state = app_root.join(s2i_facts::STATE_DIR);
        let target = root.path().join("new/uv");
        fs::create_dir_all(target.join("wheels")).expect("mkdir");
        fs::write(target.join("wheels/b.whl"), "in use").expect("write");
        assert_eq!(
            previous.restore_caches(&[("uv".to_owned(), target.clone())], &state),
            ["uv"]
        );
        assert_eq!(
            fs::read_to_string(target.join("wheels/a.whl")).expect("read"),
            "wheel"
        );
        assert_eq!(
            fs::read_to_string(target.join("wheels/b.whl")).expect("read"),
            "in use"
        );
    }

    #[test]
    fn sockets_and_unreadable_files_in_a_cache_are_skipped_not_fatal() {
        let root = tempfile::tempdir().expect("tempdir");
        let app_root = root.path().join("app-root");
        let state = app_root.join(s2i_facts::STATE_DIR);
        let cache = state.join("cache/uv");
        fs::create_dir_all(&cache).expect("mkdir");
        fs::write(cache.join("ok.whl"), "wheel").expect("write");
        let _socket =
            std::os::unix::net::UnixListener::bind(cache.join("lock.sock")).expect("socket");
        let mut manifest = record(&app_root, vec![("uv".into(), cache.clone())]);
        manifest.inputs = None;
        write_manifest(&state, &manifest).expect("record");
        let mut bytes = Vec::new();
        let saved = save(&state, &mut bytes).expect("a socket does not fail save-artifacts");
        assert_eq!(saved.caches, [CACHES_ARCHIVE]);
        let artifacts = root.path().join("artifacts");
        tar::Archive::new(&bytes[..])
            .unpack(&artifacts)
            .expect("unpack");
        let names: Vec<String> = read_archive(&artifacts.join(CACHES_ARCHIVE))
            .expect("caches archive")
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
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
        assert!(
            matches!(open(&artifacts, "3.11"), Opened::Ignored(ref m) if m.contains("corrupt"))
        );

        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(open(dir.path(), "3.11"), Opened::None);
        fs::write(dir.path().join(CACHES_ARCHIVE), "half").expect("write");
        assert!(
            matches!(open(dir.path(), "3.11"), Opened::Ignored(ref m) if m.contains("incomplete"))
        );
        fs::write(dir.path().join(MANIFEST), "{").expect("write");
        assert!(
            matches!(open(dir.path(), "3.11"), Opened::Ignored(ref m) if m.contains("corrupt"))
        );
        fs::write(
            dir.path().join(MANIFEST),
            r#"{"format":1,"python_version":"3.11","dependency_digest":"x","caches":[]}"#,
        )
        .expect("write");
        assert!(
            matches!(open(dir.path(), "3.11"), Opened::Ignored(ref m) if m.contains("format 1"))
        );
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
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("the digest matches: usable")
        };
        fs::write(app_root.join("lib/site-packages/six/__init__.py"), "mine").expect("write");
        let state = app_root.join(s2i_facts::STATE_DIR);
        let err = previous
            .restore_dependencies(&app_root, &state)
            .expect_err("a truncated archive does not restore");
        assert!(matches!(err, RestoreError::Unpack { .. }), "{err:?}");
        // Nothing was written: the build installs into the virtualenv as it was.
        assert_eq!(
            fs::read_to_string(app_root.join("lib/site-packages/six/__init__.py")).expect("read"),
            "mine"
        );
        // The caches archive, truncated the same way, is not restored either.
        let caches = artifacts.join(CACHES_ARCHIVE);
        let bytes = fs::read(&caches).expect("read");
        fs::write(&caches, &bytes[..bytes.len() / 2]).expect("truncate");
        rerecord(&artifacts, CACHES_ARCHIVE);
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("usable")
        };
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
        let mut bytes = Vec::new();
        save(&state, &mut bytes).expect("save");
        let artifacts = root.path().join("artifacts");
        tar::Archive::new(&bytes[..])
            .unpack(&artifacts)
            .expect("unpack");
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("usable")
        };
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
        assert_eq!(
            fs::read_to_string(app_root.join("lib/site-packages/pip.py")).expect("read"),
            "pip"
        );
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
        let file = File::create(path).expect("create");
        let mut tar = tar::Builder::new(zstd::Encoder::new(file, ZSTD_LEVEL).expect("zstd"));
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
        tar.into_inner()
            .expect("tar")
            .finish()
            .expect("zstd")
            .flush()
            .expect("flush");
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
        let file = File::create(&archive).expect("create");
        let mut tar = tar::Builder::new(zstd::Encoder::new(file, ZSTD_LEVEL).expect("zstd"));
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(UNPACKED_FLOOR + 1);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            "lib/zeros",
            io::repeat(0).take(UNPACKED_FLOOR + 1),
        )
        .expect("member");
        tar.into_inner()
            .expect("tar")
            .finish()
            .expect("zstd")
            .flush()
            .expect("flush");
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
}
