//! Makes `$APP_ROOT` usable by any UID in group 0 (OpenShift runs images as an arbitrary UID
//! with GID 0): group 0 owns everything we may change, group read/write everywhere, group
//! execute where the owner has execute and on directories; never write for others, never
//! setuid/setgid (a source tree may carry them from a zip or a careless `chmod`).
//!
//! Symlinks are never followed or changed (nothing outside the tree is touched). Files the
//! build user may not change are counted and left as they are. Only entries whose mode or group
//! is wrong cost a system call, so a second run over a large virtualenv is one `lstat` per file.

use std::fs;
use std::io;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// What a pass changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    pub seen: usize,
    pub chmod: usize,
    pub chgrp: usize,
    /// Entries whose mode or group could not be changed (owned by another user).
    pub not_permitted: usize,
}

/// Why the pass could not run.
#[derive(Debug)]
pub enum FixPermissionsError {
    /// The root itself cannot be read.
    Walk { path: PathBuf, source: io::Error },
}

/// Bits never kept: write for others (any local user could change the app) and setuid/setgid
/// (nothing in an application runs with another identity).
pub const REMOVED_BITS: u32 = 0o6002;

/// The mode an entry should have: group read/write (and execute where the owner has it, and on
/// directories), without [`REMOVED_BITS`].
#[must_use]
pub fn wanted_mode(mode: u32, is_dir: bool) -> u32 {
    let mut wanted = (mode | 0o060) & !REMOVED_BITS;
    if is_dir || mode & 0o100 != 0 {
        wanted |= 0o010;
    }
    wanted
}

/// Fixes modes (and the group, where the process may) under `root`.
///
/// # Errors
/// `root` cannot be read; problems below it are counted, not fatal.
pub fn fix(root: &Path) -> Result<Fixed, FixPermissionsError> {
    fs::symlink_metadata(root).map_err(|source| FixPermissionsError::Walk {
        path: root.to_owned(),
        source,
    })?;
    let can_chgrp = can_use_group_zero();
    let euid = nix::unistd::geteuid().as_raw();
    let mut fixed = Fixed::default();
    for entry in WalkDir::new(root).follow_links(false) {
        let Ok(entry) = entry else {
            fixed.not_permitted += 1;
            continue;
        };
        let file_type = entry.file_type();
        if file_type.is_symlink() {
            continue;
        }
        fixed.seen += 1;
        let Ok(meta) = entry.metadata() else {
            fixed.not_permitted += 1;
            continue;
        };
        let mine = euid == 0 || meta.uid() == euid;
        if can_chgrp && meta.gid() != 0 {
            if mine && lchown(entry.path(), None, Some(0)).is_ok() {
                fixed.chgrp += 1;
            } else {
                fixed.not_permitted += 1;
            }
        }
        let mode = meta.permissions().mode() & 0o7777;
        let wanted = wanted_mode(mode, file_type.is_dir());
        if wanted != mode {
            if mine && fs::set_permissions(entry.path(), fs::Permissions::from_mode(wanted)).is_ok()
            {
                fixed.chmod += 1;
            } else {
                fixed.not_permitted += 1;
            }
        }
    }
    Ok(fixed)
}

/// Root, or a user that is a member of group 0, may give files to group 0.
fn can_use_group_zero() -> bool {
    nix::unistd::geteuid().is_root()
        || nix::unistd::getegid().as_raw() == 0
        || nix::unistd::getgroups().is_ok_and(|g| g.iter().any(|g| g.as_raw() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn modes() {
        assert_eq!(wanted_mode(0o700, true), 0o770);
        assert_eq!(wanted_mode(0o644, false), 0o664);
        assert_eq!(wanted_mode(0o755, false), 0o775);
        assert_eq!(wanted_mode(0o600, false), 0o660);
        assert_eq!(wanted_mode(0o4755, false), 0o775);
        assert_eq!(wanted_mode(0o2777, true), 0o775);
        assert_eq!(wanted_mode(0o666, false), 0o664);
        assert_eq!(wanted_mode(0o1777, true), 0o1775);
    }

    #[test]
    fn fixes_tree_without_following_symlinks() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let target = outside.path().join("secret");
        fs::write(&target, "x").expect("write");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).expect("chmod");
        let dir = root.path().join("d");
        fs::create_dir(&dir).expect("mkdir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(dir.join("run.sh"), "").expect("write");
        fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o700)).expect("chmod");
        symlink(&target, dir.join("link")).expect("symlink");
        let fixed = fix(root.path()).expect("fix");
        assert!(fixed.chmod >= 2);
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o770);
        assert_eq!(mode(&dir.join("run.sh")), 0o770);
        assert_eq!(
            mode(&target),
            0o600,
            "symlink target outside the tree untouched"
        );
        assert_eq!(fix(root.path()).expect("again").chmod, 0);
    }
}
