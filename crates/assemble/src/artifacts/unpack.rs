//! Reading the archives, which are untrusted input: bounded decompression ([`read_archive`]),
//! members confined to their root ([`member_path`], [`MemberWriter`]), and the in-place sync of
//! the dependencies ([`sync_in_place`]).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::dependency_entries;

/// An archive may unpack to at most this many times its compressed size...
const UNPACKED_RATIO: u64 = 32;

/// ... and always to this much: what save-artifacts packs compresses a few times, a crafted
/// archive of zeros thousands of times.
pub(super) const UNPACKED_FLOOR: u64 = 64 << 20;

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
pub(super) fn unpack(archive: &Path, into: &Path) -> io::Result<()> {
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
pub(super) fn inside(path: &Path) -> io::Result<PathBuf> {
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
/// checked once, and never through a symlink. Regular files are created by a second thread
/// ([`FileThread`]) while this one decompresses and makes the directories. Directories get
/// their modes last ([`MemberWriter::finish`]), once everything in them is written: a read-only
/// directory (0555) is then read-only with its contents in it.
pub(crate) struct MemberWriter<'a> {
    root: &'a Path,
    /// Directories (relative) known to be real directories, not links.
    dirs: std::collections::HashSet<PathBuf>,
    /// Directories' modes, applied by [`MemberWriter::finish`].
    modes: Vec<(PathBuf, u32)>,
    /// Directories (relative) this writer created: what is in them, it wrote.
    made: std::collections::HashSet<PathBuf>,
    files: FileThread,
}

const STOPPED: &str = "the thread writing the files stopped";

/// What [`FileThread`] is sent: a regular file to create (where, its mode, its modification
/// time, its bytes), or a caller to tell once every file sent before is written.
enum Job {
    File(PathBuf, u32, i64, Vec<u8>),
    Written(std::sync::mpsc::Sender<()>),
}

/// The thread that creates the regular files, in the order they are sent. Creating a file
/// costs the kernel more than reading and decompressing it (the inode allocation above all),
/// so the two overlap.
struct FileThread {
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl FileThread {
    fn start() -> Self {
        let (jobs, queue) = std::sync::mpsc::sync_channel(256);
        let thread = std::thread::spawn(move || {
            for job in queue {
                match job {
                    Job::File(dest, mode, mtime, bytes) => create_file(&dest, mode, mtime, &bytes)?,
                    Job::Written(caller) => drop(caller.send(())),
                }
            }
            Ok(())
        });
        Self {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    /// Queues `job`; when the thread has stopped, the error that stopped it.
    fn send(&mut self, job: Job) -> io::Result<()> {
        if self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok())
        {
            return Ok(());
        }
        self.join().and(Err(io::Error::other(STOPPED)))
    }

    /// Returns once every file sent so far is written.
    fn written(&mut self) -> io::Result<()> {
        let (caller, wait) = std::sync::mpsc::channel();
        self.send(Job::Written(caller))?;
        wait.recv()
            .or_else(|_| self.join().and(Err(io::Error::other(STOPPED))))
    }

    /// Waits for every file sent, then for the thread: the first error it met.
    fn join(&mut self) -> io::Result<()> {
        self.jobs = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(written)) => written,
            Some(Err(_)) => Err(io::Error::other("the thread writing the files panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for FileThread {
    /// Nothing is left writing under a directory its caller may remove next.
    fn drop(&mut self) {
        drop(self.join());
    }
}

/// Creates the regular file `dest` (where nothing is) with `bytes`, `mode` whatever the umask,
/// and `mtime`.
fn create_file(dest: &Path, mode: u32, mtime: i64, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(dest)?;
    file.write_all(bytes)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    filetime::set_file_handle_times(
        &file,
        None,
        Some(filetime::FileTime::from_unix_time(mtime, 0)),
    )
}

impl<'a> MemberWriter<'a> {
    pub(crate) fn new(root: &'a Path) -> Self {
        Self {
            root,
            dirs: std::collections::HashSet::from([PathBuf::new()]),
            modes: Vec::new(),
            made: std::collections::HashSet::new(),
            files: FileThread::start(),
        }
    }

    /// Gives the directory `relative` its `mode` once the members are written.
    fn dir_mode(&mut self, relative: &Path, mode: u32) {
        self.modes.push((relative.to_owned(), mode));
    }

    /// Applies the directories' modes, deepest first (a parent made unreadable last).
    pub(crate) fn finish(mut self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.files.join()?;
        let mut modes = std::mem::take(&mut self.modes);
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
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&path)?;
                self.made.insert(relative.to_owned());
            }
            Err(e) => return Err(e),
        }
        self.dirs.insert(relative.to_owned());
        Ok(())
    }

    /// Forgets what was checked at and below `relative` (about to be removed).
    fn forget(&mut self, relative: &Path) {
        self.dirs.retain(|dir| !dir.starts_with(relative));
        self.made.retain(|dir| !dir.starts_with(relative));
    }

    /// Writes the member `entry` at `relative`, where nothing is (a directory may be).
    pub(crate) fn write<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        relative: &Path,
    ) -> io::Result<()> {
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
        let link_target = |entry: &tar::Entry<'_, R>| {
            let target = entry.link_name()?.map(std::borrow::Cow::into_owned);
            target.ok_or_else(|| {
                io::Error::other(format!("{}: a link without a target", dest.display()))
            })
        };
        if kind.is_dir() {
            self.ensure_dir(relative)?;
            self.dir_mode(relative, mode);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(link_target(entry)?, &dest)?;
        } else if kind.is_hard_link() {
            let target = link_target(entry)?;
            // A hard link names a file of the archive: inside the root, and reached through
            // real directories only (never through a link to a file elsewhere), and written.
            let target = inside(&target)?;
            self.files.written()?;
            if let Some(parent) = target.parent() {
                self.ensure_dir(parent)?;
            }
            fs::hard_link(self.root.join(target), &dest)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let mtime = i64::try_from(header.mtime()?).unwrap_or(0);
            // The size a header claims reserves at most 64 MiB: the reader is bounded anyway.
            let claimed = header.size()?.min(64 << 20);
            let mut bytes = Vec::with_capacity(usize::try_from(claimed).unwrap_or(0));
            entry.read_to_end(&mut bytes)?;
            self.files.send(Job::File(dest, mode, mtime, bytes))?;
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
pub(super) fn top_level_names(archive: &Path) -> io::Result<std::collections::BTreeSet<String>> {
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
pub(super) fn sync_in_place(
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
        // In a directory this restore made, only an earlier member can be there: not looked
        // up (a fresh virtualenv's restore is one file creation per file).
        let first = held.insert(path.clone());
        if !first {
            // A member seen before (a crafted archive): looked at once it is written.
            writer.files.written()?;
        }
        let existing = if first && path.parent().is_some_and(|p| writer.made.contains(p)) {
            Err(io::ErrorKind::NotFound.into())
        } else {
            fs::symlink_metadata(&dest)
        };
        match existing {
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
    writer.files.written()?;
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
