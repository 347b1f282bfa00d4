//! A full disk: how much space the file systems the build writes to have, and whether a failed
//! step failed for lack of it. Installers report it their own way (pip: `[Errno 28] No space
//! left on device`, uv: `No space left on device (os error 28)`), inside their output; assemble
//! turns any of them into one message naming the path and the space (see `errors.rs`).

use std::path::{Path, PathBuf};

/// Free space on a file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// The directory asked about (its file system is the one measured).
    pub path: PathBuf,
    /// Bytes available to the build user, and the file system's size.
    pub free: u64,
    pub total: u64,
}

/// Below this, a file system is full for a build whatever the error said.
const NEARLY_FULL: u64 = 256 * 1024;

/// What the operating system and the installers say when a write found no space.
const SIGNS: [&str; 5] = [
    "No space left on device",
    "os error 28",
    "Errno 28",
    "ENOSPC",
    "Disk quota exceeded",
];

/// The directory whose file system the build fills: `app_root`, or its nearest existing
/// ancestor before it is created.
#[must_use]
pub fn watched(app_root: &Path) -> PathBuf {
    app_root
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"))
        .to_owned()
}

/// The space on the file system of `path` (`statvfs`).
#[must_use]
pub fn space(path: &Path) -> Option<Space> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    let block = stat.fragment_size();
    Some(Space {
        path: path.to_owned(),
        free: stat.blocks_available().saturating_mul(block),
        total: stat.blocks().saturating_mul(block),
    })
}

/// Whether `error` (any step's) came from a full disk: its text says so, or the file system of
/// `app_root` (or of the temporary directory) is now all but full. Returns the fullest.
#[must_use]
pub fn full(error: &impl std::fmt::Debug, app_root: &Path) -> Option<Space> {
    let text = format!("{error:?}");
    let says = SIGNS.iter().any(|sign| text.contains(sign));
    let candidates = [watched(app_root), std::env::temp_dir()];
    let fullest = candidates
        .iter()
        .filter_map(|p| space(p))
        .min_by_key(|s| s.free)?;
    (says || fullest.free < NEARLY_FULL).then_some(fullest)
}

/// `12.3 MiB`.
#[must_use]
pub fn human(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_of_a_full_disk_are_recognised_and_others_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uv = "error: Failed to install: six-1.16.0 (six==1.16.0)\n  Caused by: No space left on device (os error 28)";
        let full_disk = full(&uv, dir.path()).expect("a full disk");
        assert!(full_disk.total > 0);
        assert!(full(
            &"ERROR: No matching distribution found for nothing",
            dir.path()
        )
        .is_none());
        assert_eq!(watched(&dir.path().join("not/yet")), dir.path());
        assert_eq!(human(64 * 1024 * 1024), "64.0 MiB");
    }
}
