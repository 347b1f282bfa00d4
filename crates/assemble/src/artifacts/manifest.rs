//! What a build records for the next one ([`Manifest`]), the digests that key the reuse
//! ([`dependency_digest`], [`inputs_digest`], [`venv_digest`]), and the checks a previous
//! build's artifacts pass before anything is read from them ([`open`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use s2i_sbom::hex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::unpack::inside;
use super::{ARCHIVES, FORMAT, MANIFEST};

/// The largest manifest read (its `from_builder` list grows with the builder's virtualenv).
const MANIFEST_LIMIT: u64 = 64 << 20;

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
pub(super) struct HashingReader<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
