//! Which artifacts assemble may read at all. The artifacts become the build's caches, so
//! whoever can write them can put code into the image; they are trusted only when nobody but
//! the build user can have written them:
//!
//! - **Given explicitly** (`S2I_ARTIFACTS_DIR`): used when that directory is owned by the build
//!   user and not writable by group or others.
//! - **The default `/tmp/artifacts`**: only in the builder image's layout (`APP_ROOT` is
//!   `/opt/app-root`: s2i unpacks the artifacts there, as the build user, in a container only
//!   this build runs in), when owned by the build user and not writable by others (group write
//!   is allowed there: group 0 is the build's own group in the images). Outside that layout
//!   (host mode), `/tmp/artifacts` is shared by every local user and is never read: give
//!   `S2I_ARTIFACTS_DIR`.
//! - **Files**: the manifest and the archives are opened as regular files only ([`open_regular`]:
//!   never through a symlink, never blocking on a FIFO or a device); anything else refuses the
//!   whole artifacts. The directory itself being a symlink refuses them too.
//! - **Links in a cache**: a symlink that resolves outside its cache (absolute, `..` past it,
//!   through other links of the cache, or to nothing) is removed before the cache is used
//!   ([`remove_escaping_links`]: the links are resolved, not matched as text).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// The default artifacts directory, where s2i unpacks them.
pub const DEFAULT_DIR: &str = "/tmp/artifacts";
/// `APP_ROOT` in the builder images: the default directory is trusted only with this layout.
pub const IMAGE_APP_ROOT: &str = s2i_env::DEFAULT_APP_ROOT;

/// Which directory to read artifacts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Read this directory (it may still be refused by [`check_dir`]).
    Use(PathBuf),
    /// Do not read any; `Some` is a reason worth a warning (artifacts are there but not used).
    Skip(Option<String>),
}

/// The directory to read: `given` (`S2I_ARTIFACTS_DIR`) when set, else [`DEFAULT_DIR`] in the
/// builder image's layout only.
#[must_use]
pub fn choose(given: Option<&Path>, app_root: &Path) -> Choice {
    if let Some(dir) = given {
        return Choice::Use(dir.to_owned());
    }
    let default = Path::new(DEFAULT_DIR);
    if app_root == Path::new(IMAGE_APP_ROOT) {
        return Choice::Use(default.to_owned());
    }
    let present = fs::read_dir(default).is_ok_and(|mut e| e.next().is_some());
    Choice::Skip(present.then(|| {
        format!(
            "{DEFAULT_DIR} is not read outside the builder image (APP_ROOT is {}, not {IMAGE_APP_ROOT}): \
             any local user can write there. To reuse artifacts in host mode, set S2I_ARTIFACTS_DIR \
             to a directory of yours that only you can write",
            app_root.display()
        )
    }))
}

/// Whether `dir` may be read: not a symlink, owned by the build user (`euid`), not writable by
/// others, nor by its group unless `group_may_write`. A missing directory is fine (there is
/// nothing to read).
///
/// # Errors
/// Why it is refused, for a warning.
pub fn check_dir(dir: &Path, euid: u32, group_may_write: bool) -> Result<(), String> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{} cannot be read: {e}", dir.display())),
    };
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symlink: artifacts are read only from a real directory",
            dir.display()
        ));
    }
    if meta.uid() != euid {
        return Err(format!(
            "{} belongs to UID {}, not to the build user (UID {euid}): someone else may have put it there",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    let refused = if group_may_write { 0o002 } else { 0o022 };
    if mode & refused != 0 {
        return Err(format!(
            "{} is writable by {} (mode {mode:04o}): someone else may have changed it",
            dir.display(),
            if mode & 0o002 != 0 {
                "others"
            } else {
                "its group"
            }
        ));
    }
    Ok(())
}

/// Opens `path` for reading when it is a regular file: never through a symlink (`O_NOFOLLOW`)
/// and never waiting on a FIFO or a device (`O_NONBLOCK`; the type is then read from the open
/// file, so it cannot change between the check and the read).
///
/// # Errors
/// It cannot be opened, is a symlink, or is not a regular file; the message names it.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::other(format!(
                    "{} is a symlink: artifacts are read only from real files and directories",
                    path.display()
                ))
            } else {
                io::Error::new(e.kind(), format!("{}: {e}", path.display()))
            }
        })?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "a socket"
        };
        return Err(io::Error::other(format!(
            "{} is {what}, not a regular file: artifacts are read only from regular files",
            path.display()
        )));
    }
    Ok(file)
}

/// Removes the symlinks under `root` that resolve outside it, or to nothing, or that are
/// absolute (the cache moves after this check); returns them. Each link is resolved by the
/// kernel's rules (through the other links of the cache), not read as text.
#[must_use]
pub fn remove_escaping_links(root: &Path) -> Vec<PathBuf> {
    let Ok(real_root) = fs::canonicalize(root) else {
        return Vec::new();
    };
    let escaping: Vec<PathBuf> = WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .flatten()
        .filter(|entry| entry.path_is_symlink())
        .filter(|entry| {
            let absolute = fs::read_link(entry.path()).map_or(true, |t| t.is_absolute());
            absolute
                || !fs::canonicalize(entry.path()).is_ok_and(|real| real.starts_with(&real_root))
        })
        .map(walkdir::DirEntry::into_path)
        .collect();
    escaping
        .into_iter()
        .filter(|path| fs::remove_file(path).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn euid() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn default_dir_only_in_the_image_layout() {
        assert_eq!(
            choose(None, Path::new(IMAGE_APP_ROOT)),
            Choice::Use(PathBuf::from(DEFAULT_DIR))
        );
        assert!(matches!(
            choose(None, Path::new("/tmp/x/app-root")),
            Choice::Skip(_)
        ));
        assert_eq!(
            choose(Some(Path::new("/mine")), Path::new("/tmp/x")),
            Choice::Use(PathBuf::from("/mine"))
        );
    }

    #[test]
    fn owner_mode_and_symlink_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let artifacts = dir.path().join("artifacts");
        assert!(
            check_dir(&artifacts, euid(), false).is_ok(),
            "missing is fine"
        );
        fs::create_dir(&artifacts).expect("mkdir");
        fs::set_permissions(&artifacts, fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(check_dir(&artifacts, euid(), false).is_ok());
        assert!(check_dir(&artifacts, euid() + 1, false)
            .expect_err("other owner")
            .contains("not to the build user"));
        fs::set_permissions(&artifacts, fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(check_dir(&artifacts, euid(), false)
            .expect_err("o+w")
            .contains("writable by others"));
        fs::set_permissions(&artifacts, fs::Permissions::from_mode(0o775)).expect("chmod");
        assert!(check_dir(&artifacts, euid(), false)
            .expect_err("g+w")
            .contains("its group"));
        assert!(
            check_dir(&artifacts, euid(), true).is_ok(),
            "image layout: g+w"
        );
        let link = dir.path().join("link");
        symlink(&artifacts, &link).expect("symlink");
        assert!(check_dir(&link, euid(), false)
            .expect_err("link")
            .contains("symlink"));
        symlink("/etc/passwd", artifacts.join("python-s2i-artifacts.json")).expect("symlink");
        assert!(open_regular(&artifacts.join("python-s2i-artifacts.json"))
            .expect_err("a link")
            .to_string()
            .contains("is a symlink"));
    }

    #[test]
    fn only_regular_files_are_opened_and_a_fifo_never_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        assert!(open_regular(&fifo)
            .expect_err("a FIFO")
            .to_string()
            .contains("is a FIFO, not a regular file"));
        assert!(open_regular(Path::new("/dev/zero"))
            .expect_err("a device")
            .to_string()
            .contains("a device"));
        assert!(open_regular(dir.path()).is_err());
        fs::write(dir.path().join("file"), "x").expect("write");
        assert!(open_regular(&dir.path().join("file")).is_ok());
    }

    #[test]
    fn links_leaving_the_cache_are_removed_others_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = dir.path().join("uv");
        fs::create_dir_all(cache.join("archive-v0/a/lib")).expect("mkdir");
        fs::create_dir_all(cache.join("wheels")).expect("mkdir");
        symlink("lib", cache.join("archive-v0/a/lib64")).expect("inside");
        symlink("../archive-v0/a", cache.join("wheels/w")).expect("inside");
        symlink("/home/someone/.ssh", cache.join("wheels/abs")).expect("absolute");
        symlink("../../outside", cache.join("wheels/up")).expect("escaping");
        // Each inside as text, outside once resolved: `here` is the cache's own directory, so
        // `here/..` is its parent.
        symlink(".", cache.join("here")).expect("inside");
        symlink("here/..", cache.join("chained")).expect("chained");
        let mut removed = remove_escaping_links(&cache);
        removed.sort();
        assert_eq!(
            removed,
            [
                cache.join("chained"),
                cache.join("wheels/abs"),
                cache.join("wheels/up")
            ]
        );
        assert!(cache.join("here").is_symlink());
        assert!(cache.join("wheels/w").is_symlink());
        assert!(cache.join("archive-v0/a/lib64").is_symlink());
    }
}
