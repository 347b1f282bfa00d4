//! `save-artifacts`: the archives and the manifest streamed as one tar ([`save`]).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::HashingReader;
use super::{Archive, BuilderFile, Manifest, CACHES, CACHES_ARCHIVE, DEPS_ARCHIVE, MANIFEST};
use s2i_sbom::hex;

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
