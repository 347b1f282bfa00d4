//! Installing the application source into `$APP_ROOT/src`: every file including dotfiles, modes
//! kept, symlinks copied as symlinks. Existing files in the destination are overwritten, others
//! kept (as the sclorg images do with `cp -Rf /tmp/src/. ./`).

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Why the source could not be installed.
#[derive(Debug)]
pub enum InstallSourceError {
    /// SOURCE_DIR does not exist.
    Missing { path: PathBuf },
    /// SOURCE_DIR exists but is not a directory.
    NotADirectory { path: PathBuf },
    /// SOURCE_DIR (or something in it) cannot be read.
    Unreadable { path: PathBuf, source: io::Error },
    /// The destination cannot be written.
    Write { path: PathBuf, source: io::Error },
}

/// What was copied.
#[derive(Debug, Default, Clone, Copy)]
pub struct Copied {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
}

/// Copies `from` into `to` (created when missing). Copying a directory onto itself does nothing.
///
/// # Errors
/// See [`InstallSourceError`].
pub fn install(from: &Path, to: &Path) -> Result<Copied, InstallSourceError> {
    let meta = match fs::metadata(from) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(InstallSourceError::Missing {
                path: from.to_owned(),
            })
        }
        Err(source) => {
            return Err(InstallSourceError::Unreadable {
                path: from.to_owned(),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(InstallSourceError::NotADirectory {
            path: from.to_owned(),
        });
    }
    fs::read_dir(from).map_err(|source| InstallSourceError::Unreadable {
        path: from.to_owned(),
        source,
    })?;
    let write = |path: &Path| {
        let path = path.to_owned();
        move |source| InstallSourceError::Write { path, source }
    };
    fs::create_dir_all(to).map_err(write(to))?;
    if fs::canonicalize(from).ok() == fs::canonicalize(to).ok() {
        return Ok(Copied::default());
    }
    let mut copied = Copied::default();
    for entry in WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(from).to_owned();
            InstallSourceError::Unreadable {
                path,
                source: e.into(),
            }
        })?;
        let relative = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(relative);
        let unreadable = |source| InstallSourceError::Unreadable {
            path: entry.path().to_owned(),
            source,
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            let mode = entry
                .metadata()
                .map_err(|e| unreadable(e.into()))?
                .permissions()
                .mode();
            match fs::symlink_metadata(&target) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    fs::remove_file(&target).map_err(write(&target))?;
                    fs::create_dir(&target).map_err(write(&target))?;
                }
                Err(_) => fs::create_dir(&target).map_err(write(&target))?,
            }
            // Keep the source's mode, but never lock ourselves out of a directory we fill.
            fs::set_permissions(&target, fs::Permissions::from_mode((mode & 0o7777) | 0o700))
                .map_err(write(&target))?;
            copied.dirs += 1;
        } else if file_type.is_symlink() {
            let link = fs::read_link(entry.path()).map_err(unreadable)?;
            remove_existing(&target).map_err(write(&target))?;
            symlink(&link, &target).map_err(write(&target))?;
            copied.symlinks += 1;
        } else if file_type.is_file() {
            remove_existing(&target).map_err(write(&target))?;
            fs::copy(entry.path(), &target).map_err(|source| {
                match fs::File::open(entry.path()) {
                    Err(e) => unreadable(e),
                    Ok(_) => InstallSourceError::Write {
                        path: target.clone(),
                        source,
                    },
                }
            })?;
            copied.files += 1;
        }
        // Sockets, fifos and devices have no place in an application image: not copied.
    }
    Ok(copied)
}

/// Removes a file or symlink at `path` so a copy does not write through a symlink.
fn remove_existing(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_dotfiles_modes_and_symlinks() {
        let src = tempfile::tempdir().expect("tempdir");
        let dst = tempfile::tempdir().expect("tempdir");
        fs::create_dir(src.path().join(".s2i")).expect("mkdir");
        fs::write(src.path().join(".s2i/environment"), "A=1\n").expect("write");
        fs::write(src.path().join("app.sh"), "#!/bin/sh\n").expect("write");
        fs::set_permissions(src.path().join("app.sh"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
        symlink("app.sh", src.path().join("link")).expect("symlink");
        let to = dst.path().join("src");
        let copied = install(src.path(), &to).expect("copies");
        assert_eq!((copied.files, copied.dirs, copied.symlinks), (2, 1, 1));
        assert!(to.join(".s2i/environment").is_file());
        let mode = fs::metadata(to.join("app.sh"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            fs::read_link(to.join("link")).expect("link"),
            Path::new("app.sh")
        );
    }

    #[test]
    fn missing_and_file_sources_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        assert!(matches!(
            install(&missing, &dir.path().join("a")),
            Err(InstallSourceError::Missing { .. })
        ));
        let file = dir.path().join("file");
        fs::write(&file, "").expect("write");
        assert!(matches!(
            install(&file, &dir.path().join("b")),
            Err(InstallSourceError::NotADirectory { .. })
        ));
    }
}
