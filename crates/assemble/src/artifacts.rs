//! Incremental builds. `save-artifacts` streams a tar of **a few large files** (s2i unpacks
//! every entry into `/tmp/artifacts`, and thousands of small cache files cost seconds there):
//!
//! - [`DEPS_ARCHIVE`]: the installed dependencies, i.e. every top-level entry of `$APP_ROOT`
//!   except the source and the state directory (`bin`, `lib`, `include`, `pyvenv.cfg`...);
//! - [`CACHES_ARCHIVE`]: the installers' caches (uv's holds every downloaded and built wheel,
//!   pip's on Python 2.7);
//! - [`MANIFEST`], the **last** entry: what the build recorded plus each archive's sha256 and
//!   size.
//!
//! assemble finds them in `/tmp/artifacts` (`S2I_ARTIFACTS_DIR`) and checks the manifest and
//! the digests first ([`open`]). When everything that decides the installed dependencies is
//! unchanged ([`inputs_digest`]: the dependency files, the exact Python, the installer, the
//! index settings, the virtualenv as the builder image made it) the dependencies are restored
//! as a whole ([`Previous::restore_dependencies`]) instead of being resolved again, as
//! buildpacks reuse a layer; the caches archive is kept unopened for the next build. Otherwise
//! the caches are unpacked and the installer runs, with nothing to download for what was
//! downloaded before. Artifacts without a manifest (a truncated tar), with an unreadable one,
//! from another format or Python version, or whose archives do not match their digests are
//! ignored with a warning: the build is a clean one.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output;

/// The manifest's name, in the tar and in `/tmp/artifacts`.
pub const MANIFEST: &str = "python-s2i-artifacts.json";
/// Format of [`Manifest`] and of the tar.
pub const FORMAT: u32 = 2;
/// The caches, by their directory name in [`CACHES_ARCHIVE`].
pub const CACHES: [&str; 3] = ["uv", "pip", "npm"];
/// The installed dependencies (top-level entries of `$APP_ROOT`).
pub const DEPS_ARCHIVE: &str = "python-s2i-dependencies.tar";
/// The installers' caches (`uv/`, `pip/`, `npm/`).
pub const CACHES_ARCHIVE: &str = "python-s2i-caches.tar";
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
    /// `$APP_ROOT` of the build (scripts and `pyvenv.cfg` name it).
    #[serde(default)]
    pub app_root: PathBuf,
    /// The top-level entries of `$APP_ROOT` that hold the installed dependencies.
    #[serde(default)]
    pub entries: Vec<String>,
    /// The archives in the tar (filled by save-artifacts).
    #[serde(default)]
    pub archives: Vec<Archive>,
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
    let mut records: Vec<PathBuf> = walkdir::WalkDir::new(app_root.join("lib"))
        .min_depth(3)
        .max_depth(3)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            name.ends_with(".dist-info") || name.ends_with(".egg-info")
        })
        .map(walkdir::DirEntry::into_path)
        .collect();
    records.sort();
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
    let text = fs::read_to_string(app.join("requirements.txt")).ok()?;
    text.lines()
        .map(str::trim)
        .find(|l| {
            [
                "-r",
                "-c",
                "-e",
                "--requirement",
                "--constraint",
                "--editable",
                ".",
                "/",
                "file:",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(|l| format!("requirements.txt refers to other files or directories ({l})"))
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
    Usable(Previous),
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
    if let Err(why) = crate::trust::check_entry(dir, MANIFEST) {
        return Opened::Ignored(why);
    }
    let text = match fs::read_to_string(dir.join(MANIFEST)) {
        Ok(text) => text,
        Err(_) => {
            return Opened::Ignored(format!(
                "{} has no {MANIFEST}: the artifacts are incomplete (a truncated or corrupt tar)",
                dir.display()
            ))
        }
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
    for archive in &manifest.archives {
        if let Err(why) = crate::trust::check_entry(dir, &archive.name)
            .and_then(|()| verify(&dir.join(&archive.name), archive))
        {
            return Opened::Ignored(why);
        }
    }
    Opened::Usable(Previous {
        dir: dir.to_owned(),
        manifest,
    })
}

/// Checks an archive's size and sha256 against the manifest.
fn verify(path: &Path, archive: &Archive) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = HashingWriter::new(io::sink());
    let size = io::copy(&mut file, &mut hasher).map_err(|e| format!("{}: {e}", path.display()))?;
    let (_, sha256, _) = hasher.finish();
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

    /// Why the installed dependencies cannot be restored for a build with `inputs` into
    /// `app_root`; `None` when they can.
    #[must_use]
    pub fn why_not_restorable(
        &self,
        app_root: &Path,
        inputs: Option<&str>,
        dependency_digest: &str,
    ) -> Option<String> {
        let Some(inputs) = inputs else {
            return Some("this build's dependencies cannot be restored as a whole".into());
        };
        if self.archive(DEPS_ARCHIVE).is_none() || self.manifest.inputs.is_none() {
            return Some("the artifacts hold no installed dependencies".into());
        }
        if self.manifest.app_root != app_root {
            return Some(format!(
                "they were installed in {}, this build installs in {}",
                self.manifest.app_root.display(),
                app_root.display()
            ));
        }
        if self.manifest.inputs.as_deref() != Some(inputs) {
            return Some(if self.dependency_files_changed(dependency_digest) {
                "the dependency files changed since that build".into()
            } else {
                "the Python, the installer, its settings or the builder's virtualenv changed since that build".into()
            });
        }
        None
    }

    /// Replaces the dependency entries of `app_root` with those of the archive (unpacked in
    /// `state_dir` first, then swapped in); keeps the caches archive unopened in `state_dir`
    /// for the next save-artifacts. Returns how many entries were restored.
    ///
    /// # Errors
    /// Unpacking failed (`app_root` keeps its own entries), or swapping did (the virtualenv
    /// is incomplete: the caller stops the build).
    pub fn restore_dependencies(
        &self,
        app_root: &Path,
        state_dir: &Path,
    ) -> Result<usize, RestoreError> {
        let archive = self.dir.join(DEPS_ARCHIVE);
        let staging = state_dir.join("restore");
        let unpack_error = |source| RestoreError::Unpack {
            archive: archive.clone(),
            source,
        };
        let _ = fs::remove_dir_all(&staging);
        let unpacked = fs::create_dir_all(&staging)
            .and_then(|()| unpack(&archive, &staging))
            .and_then(|()| {
                for entry in &self.manifest.entries {
                    fs::symlink_metadata(staging.join(entry)).map_err(|e| {
                        io::Error::other(format!("{entry} is missing from {DEPS_ARCHIVE}: {e}"))
                    })?;
                }
                Ok(())
            });
        if let Err(e) = unpacked {
            let _ = fs::remove_dir_all(&staging);
            return Err(unpack_error(e));
        }
        let swapped = swap_in(app_root, &staging, &self.manifest.entries);
        let _ = fs::remove_dir_all(&staging);
        swapped.map_err(|source| RestoreError::Swap {
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
        Ok(self.manifest.entries.len())
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

fn unpack(archive: &Path, into: &Path) -> io::Result<()> {
    let mut tar = tar::Archive::new(io::BufReader::with_capacity(1 << 20, File::open(archive)?));
    tar.set_preserve_permissions(true);
    tar.set_preserve_mtime(true);
    tar.set_overwrite(true);
    tar.unpack(into)
        .map_err(|e| io::Error::other(format!("unpacking {}: {e}", archive.display())))
}

/// Replaces the dependency entries of `app_root` with `entries` of `staging`. The current ones
/// are removed, not moved aside: overlay file systems refuse to rename a directory of a lower
/// layer (EXDEV), and the builder image's virtualenv is one. The archive was verified and
/// unpacked before, so what remains to fail is the file system itself.
fn swap_in(app_root: &Path, staging: &Path, entries: &[String]) -> io::Result<()> {
    for name in dependency_entries(app_root) {
        let path = app_root.join(&name);
        if fs::symlink_metadata(&path)?.is_dir() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
    }
    for name in entries {
        merge_dir(&staging.join(name), &app_root.join(name))?;
    }
    Ok(())
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

/// Packs `members` (name in the archive -> path) into a temporary tar.
fn pack(name: &str, members: &[(String, PathBuf)]) -> io::Result<TempArchive> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("python-s2i-{}-{n}.{name}", std::process::id()));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    let temp = TempArchive(path);
    let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, file));
    tar.follow_symlinks(false);
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
        } else if meta.is_dir() {
            tar.append_dir_all(member, path)?;
        } else {
            tar.append_path_with_name(path, member)?;
        }
    }
    tar.into_inner()?.flush()?;
    Ok(temp)
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
                        match pack(name, &members) {
                            Ok(t) => {
                                temp = t;
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
fn append_tree<W: Write>(
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
        let members: Vec<_> = manifest
            .caches
            .iter()
            .filter(|(name, dir)| CACHES.contains(&name.as_str()) && dir.is_dir())
            .map(|(name, dir)| (name.clone(), dir.clone()))
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
            app_root: root.to_owned(),
            entries: dependency_entries(root),
            archives: Vec::new(),
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
        // A fresh APP_ROOT at the same place, as a new build container has it.
        fs::remove_dir_all(&app_root).expect("rm");
        fs::create_dir_all(app_root.join("lib")).expect("mkdir");
        let state = app_root.join(s2i_facts::STATE_DIR);
        fs::create_dir_all(&state).expect("mkdir");
        let Opened::Usable(previous) = open(&artifacts, "3.11") else {
            panic!("not usable")
        };
        assert_eq!(previous.why_not_restorable(&app_root, Some("i"), "d"), None);
        assert!(previous
            .why_not_restorable(&app_root, Some("other"), "changed")
            .is_some_and(|w| w.contains("dependency files changed")));
        assert!(previous
            .why_not_restorable(&root.path().join("elsewhere"), Some("i"), "d")
            .is_some_and(|w| w.contains("installed in")));
        assert_eq!(
            previous
                .restore_dependencies(&app_root, &state)
                .expect("restore"),
            2
        );
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
        let names: Vec<String> = tar::Archive::new(
            fs::File::open(artifacts.join(CACHES_ARCHIVE)).expect("caches archive"),
        )
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
        bytes[600] ^= 1;
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
