//! Where `run` writes when it starts: its state (server roots, the probes' state files, the
//! migrate helper, a passwd copy) and the Python modules it generates (put on `PYTHONPATH`).
//!
//! `$APP_ROOT/.python-s2i/{run,python}` ([`Layout::run`], [`Layout::python`]) when that
//! directory is writable; otherwise (a read-only root filesystem, `$APP_ROOT` owned by another
//! user in host mode) a **private** directory `$TMPDIR/python-s2i-<uid>/{run,python}`
//! (`/tmp` when `TMPDIR` is unset): created mode 0700 when missing, and used only when it is a
//! real directory (not a link) owned by this user that no one else can write to. Anything else
//! is refused, never used: code put there would be imported by the application
//! (`sitecustomize.py` on `PYTHONPATH`), files written there could be links to elsewhere.
//!
//! Every start (`run`, `run --release`) and every probe (`run --check-ready`, `--check-live`)
//! asks [`StartDirs::decide`], so they agree on the place.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::Layout;

/// The two directories `run` writes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartDirs {
    /// run's state: server roots, `state-$PORT`, the migrate helper.
    pub run: PathBuf,
    /// Generated Python modules, put on `PYTHONPATH`.
    pub python: PathBuf,
}

/// Whether the directories are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Make {
    /// A start: create what is missing.
    Create,
    /// `--dry-run` and the probes: create nothing, but still refuse a private directory that is
    /// not private.
    Look,
}

/// Why the private directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StartDirError {
    /// It exists and is a symbolic link.
    #[error("{path} is a symbolic link")]
    Link { path: PathBuf },
    /// It exists and is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
    /// It exists and belongs to another user.
    #[error("{path} belongs to UID {owner}, not to this user (UID {uid})")]
    NotOurs { path: PathBuf, owner: u32, uid: u32 },
    /// It is ours but others can write in it (mode shown in octal).
    #[error("{path} is writable by others (mode {mode:04o}; it must be 0700)")]
    Open { path: PathBuf, mode: u32 },
    /// It (or a directory in it) cannot be created or inspected.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: io::Error },
}

impl StartDirError {
    /// The path the error is about.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Self::Link { path }
            | Self::NotADirectory { path }
            | Self::NotOurs { path, .. }
            | Self::Open { path, .. }
            | Self::Io { path, .. } => path,
        }
    }
}

/// The private directory of `uid` under `tmp`: `tmp/python-s2i-<uid>`.
#[must_use]
pub fn private_dir(tmp: &Path, uid: u32) -> PathBuf {
    tmp.join(format!("python-s2i-{uid}"))
}

impl StartDirs {
    /// Decides (and with [`Make::Create`] makes) where `run` writes: under `layout` when its
    /// directory is writable, else in the private directory of `uid` under `tmp`.
    ///
    /// # Errors
    /// The private directory is needed and exists but is a link, not a directory, another
    /// user's, or writable by others; or it cannot be created.
    pub fn decide(
        layout: &Layout,
        tmp: &Path,
        uid: u32,
        make: Make,
    ) -> Result<Self, StartDirError> {
        let preferred = Self {
            run: layout.run(),
            python: layout.python(),
        };
        if preferred_usable(layout, &preferred, make) {
            return Ok(preferred);
        }
        let base = private_dir(tmp, uid);
        if make == Make::Create {
            match fs::DirBuilder::new().mode(0o700).create(&base) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(StartDirError::Io { path: base, error }),
            }
        }
        match fs::symlink_metadata(&base) {
            Ok(meta) => check_private(&base, &meta, uid)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound && make == Make::Look => {}
            Err(error) => return Err(StartDirError::Io { path: base, error }),
        }
        let dirs = Self {
            run: base.join("run"),
            python: base.join("python"),
        };
        if make == Make::Create {
            for dir in [&dirs.run, &dirs.python] {
                match fs::DirBuilder::new().mode(0o700).create(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let meta =
                            fs::symlink_metadata(dir).map_err(|error| StartDirError::Io {
                                path: dir.clone(),
                                error,
                            })?;
                        check_private(dir, &meta, uid)?;
                    }
                    Err(error) => {
                        return Err(StartDirError::Io {
                            path: dir.clone(),
                            error,
                        })
                    }
                }
            }
        }
        Ok(dirs)
    }
}

/// Whether `$APP_ROOT/.python-s2i` takes run's files: with [`Make::Create`], `run/` and
/// `python/` made there and writable; with [`Make::Look`], the directory writable (or absent
/// under a writable `$APP_ROOT`), as a start would find it.
fn preferred_usable(layout: &Layout, preferred: &StartDirs, make: Make) -> bool {
    match make {
        Make::Create => [&preferred.run, &preferred.python]
            .iter()
            .all(|dir| fs::create_dir_all(dir).is_ok() && writable(dir)),
        Make::Look => {
            let dir = layout.dir();
            if dir.exists() {
                dir.is_dir() && writable(dir)
            } else {
                dir.parent().is_some_and(writable)
            }
        }
    }
}

fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access() reads a NUL-terminated path and has no other effect.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::access(path.as_ptr(), libc::W_OK) } == 0;
    ok
}

/// A directory only `uid` can write in: not a link, a directory, owned by `uid`, no write bit
/// for group or others.
fn check_private(path: &Path, meta: &fs::Metadata, uid: u32) -> Result<(), StartDirError> {
    let path = path.to_path_buf();
    if meta.file_type().is_symlink() {
        return Err(StartDirError::Link { path });
    }
    if !meta.is_dir() {
        return Err(StartDirError::NotADirectory { path });
    }
    if meta.uid() != uid {
        return Err(StartDirError::NotOurs {
            path,
            owner: meta.uid(),
            uid,
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(StartDirError::Open { path, mode });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn uid() -> u32 {
        // SAFETY: getuid has no preconditions.
        #[allow(unsafe_code)]
        unsafe {
            libc::getuid()
        }
    }

    /// An `$APP_ROOT` whose `.python-s2i` cannot be written: a file in its place.
    fn read_only_layout(root: &Path) -> Layout {
        fs::write(root.join(crate::STATE_DIR), "").expect("file");
        Layout::new(root)
    }

    #[test]
    fn writable_app_root_is_used() {
        let root = tempfile::tempdir().expect("tempdir");
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(root.path());
        let look = StartDirs::decide(&layout, tmp.path(), uid(), Make::Look).expect("look");
        let made = StartDirs::decide(&layout, tmp.path(), uid(), Make::Create).expect("made");
        assert_eq!(look, made);
        assert_eq!(made.run, layout.run());
        assert!(made.run.is_dir() && made.python.is_dir());
    }

    #[test]
    fn private_fallback_is_made_0700_and_agrees_with_the_probes() {
        let root = tempfile::tempdir().expect("tempdir");
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = read_only_layout(root.path());
        let made = StartDirs::decide(&layout, tmp.path(), uid(), Make::Create).expect("made");
        let base = private_dir(tmp.path(), uid());
        assert_eq!(made.run, base.join("run"));
        assert!(made.run.is_dir() && made.python.is_dir());
        let mode = fs::metadata(&base).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let look = StartDirs::decide(&layout, tmp.path(), uid(), Make::Look).expect("look");
        assert_eq!(look, made);
    }

    #[test]
    fn planted_links_and_open_directories_are_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = read_only_layout(root.path());
        let base = private_dir(tmp.path(), uid());
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).expect("mkdir");
        symlink(&elsewhere, &base).expect("symlink");
        for make in [Make::Create, Make::Look] {
            let err = StartDirs::decide(&layout, tmp.path(), uid(), make).expect_err("a link");
            assert!(matches!(err, StartDirError::Link { .. }), "{err}");
        }
        assert!(fs::read_dir(&elsewhere).expect("ls").next().is_none());
        fs::remove_file(&base).expect("rm");
        fs::create_dir(&base).expect("mkdir");
        fs::set_permissions(&base, fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = StartDirs::decide(&layout, tmp.path(), uid(), Make::Create).expect_err("open");
        assert!(err.to_string().contains("mode 0777"), "{err}");
    }
}
