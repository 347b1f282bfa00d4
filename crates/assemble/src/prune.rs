//! Keeping the caches in the image small: after a build, the caches under `$APP_ROOT` (the ones
//! save-artifacts ships to the next build, and that stay in the image) are pruned to what this
//! build used, then to a size budget.
//!
//! **What this build used** is read from access times. Before the install, every entry of the
//! caches gets an access time at the epoch ([`mark`]); reading a file or listing a directory
//! then sets it to the present (Linux's default `relatime` updates an access time older than the
//! modification time). After the build, a cache *unit* is kept when anything in it was read,
//! listed or written; the others are removed. A unit is an entry two levels down (uv:
//! `archive-v0/<id>` is one unpacked wheel; pip: `http-v2/<x>`), or one package of an index
//! (uv: `wheels-v*/pypi/<package>`, `simple-v*/pypi/<package>.rkyv`), so a wheel uv hard-links
//! into the virtualenv without reading every file is kept whole. When the
//! file system does not record access times (`noatime`), nothing is removed for being unused.
//!
//! **Budget**: `S2I_CACHE_BUDGET_MB` (MiB, default [`DEFAULT_BUDGET_MB`]); past it, the units
//! read longest ago are removed first. `0` keeps no cache at all.
//!
//! Caches outside `$APP_ROOT` (a `UV_CACHE_DIR` of the user's) are never touched.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use walkdir::WalkDir;

/// The default size budget of the caches kept in the image, in MiB.
pub const DEFAULT_BUDGET_MB: u64 = 512;
/// The variable that sets it.
pub const BUDGET_VARIABLE: &str = "S2I_CACHE_BUDGET_MB";

/// The access time given to every cache entry before the build ([`mark`]).
const MARK: SystemTime = SystemTime::UNIX_EPOCH;
/// An access time later than this means "read during this build" (well after [`MARK`]).
const USED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Sets the access time of every entry of `dirs` to the epoch, so that [`prune`] can tell what
/// the build read. Returns whether access times are recorded here (checked on a probe file);
/// `false` leaves the caches as they are.
#[must_use]
pub fn mark(dirs: &[PathBuf]) -> bool {
    let Some(first) = dirs.iter().find(|d| d.is_dir()) else {
        return true;
    };
    if !atime_recorded(first) {
        return false;
    }
    for dir in dirs {
        // Collected first: listing a directory after its time is set would count as a use.
        let paths: Vec<PathBuf> = WalkDir::new(dir)
            .follow_links(false)
            .into_iter()
            .flatten()
            .filter(|e| !e.path_is_symlink())
            .map(walkdir::DirEntry::into_path)
            .collect();
        for path in paths {
            set_atime(&path, MARK);
        }
    }
    true
}

fn set_atime(path: &Path, time: SystemTime) -> bool {
    fs::File::open(path)
        .and_then(|f| f.set_times(fs::FileTimes::new().set_accessed(time)))
        .is_ok()
}

/// Whether reading a file in `dir` updates its access time.
fn atime_recorded(dir: &Path) -> bool {
    let probe = dir.join(".python-s2i-atime-probe");
    let recorded = fs::write(&probe, b"probe").is_ok()
        && set_atime(&probe, MARK)
        && fs::read(&probe).is_ok()
        && used(&probe);
    let _ = fs::remove_file(&probe);
    recorded
}

fn used(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| atime(&m) > MARK + USED_AFTER)
}

fn atime(meta: &fs::Metadata) -> SystemTime {
    let seconds = u64::try_from(meta.atime()).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The unit `relative` (a path inside a cache) belongs to: two levels down, or one entry per
/// package in uv's per-index buckets (`wheels-v*/pypi/<package>`, `simple-v*/pypi/<package>.rkyv`,
/// `*/index/<hash>/<package>`, `*/url/<hash>`), so one index does not keep every package.
fn unit_of(relative: &Path) -> PathBuf {
    relative.components().take(unit_depth(relative)).collect()
}

fn unit_depth(relative: &Path) -> usize {
    match relative
        .components()
        .nth(1)
        .and_then(|c| c.as_os_str().to_str())
    {
        Some("pypi" | "url" | "git" | "path") => 3,
        Some("index") => 4,
        _ => 2,
    }
}

/// What [`prune`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// Units removed because the build did not use them.
    pub unused: usize,
    /// Units removed to stay within the budget.
    pub over_budget: usize,
    /// Bytes removed, and kept.
    pub removed_bytes: u64,
    pub kept_bytes: u64,
}

#[derive(Debug, Default)]
struct Unit {
    bytes: u64,
    last_read: Option<SystemTime>,
}

/// Removes from `dirs` the units nothing read since [`mark`] and nothing wrote since `since`
/// (the build's start; a virtualenv seeded from the cache before the mark writes there) when
/// `marked`, then the least recently read ones until the total is within `budget` bytes.
#[must_use]
pub fn prune(dirs: &[PathBuf], marked: bool, since: SystemTime, budget: u64) -> Pruned {
    let mut units: BTreeMap<PathBuf, Unit> = BTreeMap::new();
    for dir in dirs {
        for entry in WalkDir::new(dir)
            .follow_links(false)
            .min_depth(1)
            .into_iter()
            .flatten()
        {
            let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let unit = unit_of(relative);
            if meta.is_dir() && unit.components().count() < unit_depth(relative) {
                continue; // `archive-v0`, `wheels-v5/pypi`: their entries are the units.
            }
            let unit: PathBuf = dir.join(unit);
            let slot = units.entry(unit).or_default();
            if meta.is_file() {
                slot.bytes += meta.len();
            }
            let read = atime(&meta);
            let written = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if entry.path_is_symlink() {
                continue;
            }
            if read > MARK + USED_AFTER {
                slot.last_read = slot.last_read.max(Some(read));
            } else if meta.is_file() && written >= since {
                // Files only: unpacking the caches archive gives its directories new times.
                slot.last_read = slot.last_read.max(Some(written));
            }
        }
    }
    let mut pruned = Pruned::default();
    let mut remove = |unit: &Path, bytes: u64| {
        let removed = if unit.is_dir() && !unit.is_symlink() {
            fs::remove_dir_all(unit)
        } else {
            fs::remove_file(unit)
        };
        if removed.is_ok() {
            pruned.removed_bytes += bytes;
        }
        removed.is_ok()
    };
    let mut kept: Vec<(PathBuf, Unit)> = Vec::new();
    for (path, unit) in units {
        if marked && unit.last_read.is_none() {
            if remove(&path, unit.bytes) {
                pruned.unused += 1;
            }
        } else {
            kept.push((path, unit));
        }
    }
    kept.sort_by_key(|(_, unit)| unit.last_read);
    let mut total: u64 = kept.iter().map(|(_, u)| u.bytes).sum();
    for (path, unit) in &kept {
        if total <= budget {
            break;
        }
        if remove(path, unit.bytes) {
            pruned.over_budget += 1;
            total = total.saturating_sub(unit.bytes);
        }
    }
    pruned.kept_bytes = total;
    pruned
}

/// The budget in bytes from the variable's value (MiB); `None` when it is not a whole number.
#[must_use]
pub fn budget_bytes(value: Option<&str>) -> Option<u64> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Some(DEFAULT_BUDGET_MB * 1024 * 1024),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .map(|mb| mb.saturating_mul(1024 * 1024)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: usize) {
        crate::put(path, vec![b'x'; bytes]);
    }

    #[test]
    fn keeps_what_was_read_listed_or_written_and_removes_the_rest() {
        let root = tempfile::tempdir().expect("tempdir");
        let cache = root.path().join("uv");
        write(&cache.join("archive-v0/used/pkg/__init__.py"), 10);
        write(&cache.join("archive-v0/listed/pkg/mod.py"), 10);
        write(&cache.join("archive-v0/unused/pkg/mod.py"), 1000);
        write(&cache.join("wheels-v5/pypi/six.msgpack"), 10);
        write(&cache.join("wheels-v5/pypi/idna.msgpack"), 10);
        let dirs = [cache.clone()];
        if !mark(&dirs) {
            eprintln!("this file system records no access times: nothing to check");
            assert!(std::env::var_os("CI").is_none(), "CI needs access times");
            return;
        }
        // What an install does: read a file, list a directory, write a new entry.
        fs::read(cache.join("archive-v0/used/pkg/__init__.py")).expect("read");
        let _ = fs::read_dir(cache.join("archive-v0/listed/pkg"))
            .expect("list")
            .count();
        write(&cache.join("archive-v0/new/pkg/x.py"), 10);
        fs::read(cache.join("wheels-v5/pypi/six.msgpack")).expect("read");
        let pruned = prune(&dirs, true, SystemTime::now(), u64::MAX);
        assert_eq!(pruned.unused, 2, "{pruned:?}");
        assert!(!cache.join("wheels-v5/pypi/idna.msgpack").exists());
        assert!(!cache.join("archive-v0/unused").exists());
        for kept in ["used", "listed", "new"] {
            assert!(cache.join("archive-v0").join(kept).is_dir(), "{kept}");
        }
        assert!(cache.join("wheels-v5/pypi/six.msgpack").is_file());
    }

    #[test]
    fn budget_removes_the_least_recently_read_first() {
        let root = tempfile::tempdir().expect("tempdir");
        let cache = root.path().join("pip");
        write(&cache.join("http/a/old"), 600);
        write(&cache.join("http/b/new"), 600);
        let old = SystemTime::now() - Duration::from_secs(3600);
        assert!(set_atime(&cache.join("http/a/old"), old));
        assert!(set_atime(&cache.join("http/a"), old));
        let pruned = prune(std::slice::from_ref(&cache), false, SystemTime::now(), 1000);
        assert_eq!(pruned.over_budget, 1, "{pruned:?}");
        assert!(!cache.join("http/a").exists());
        assert!(cache.join("http/b/new").is_file());
        assert_eq!(pruned.kept_bytes, 600);
        assert_eq!(budget_bytes(None), Some(512 * 1024 * 1024));
        assert_eq!(budget_bytes(Some("0")), Some(0));
        assert_eq!(budget_bytes(Some("lots")), None);
    }
}
