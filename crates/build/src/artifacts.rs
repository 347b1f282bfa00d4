//! Incremental builds. `save-artifacts` streams the installers' caches (uv's cache holds every
//! downloaded and built wheel, mod_wsgi's too; pip's for Python 2.7) as a tar to stdout, with a
//! manifest as the **last** entry. assemble finds them unpacked in `/tmp/artifacts`
//! (`S2I_ARTIFACTS_DIR`) and moves them into place before installing.
//!
//! Only caches are reused, never installed packages, so a build from artifacts installs exactly
//! what a clean build would. Artifacts without a manifest (a truncated or corrupt tar), with an
//! unreadable one, or from another Python version are ignored with a warning: the build is a
//! clean one. Changed dependency files only get a note: the caches are still valid.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output;

/// The manifest's name, in the tar and in `/tmp/artifacts`.
pub const MANIFEST: &str = "python-s2i-artifacts.json";
/// Format of [`Manifest`].
pub const FORMAT: u32 = 1;
/// The caches, by their directory name in the tar.
pub const CACHES: [&str; 3] = ["uv", "pip", "npm"];
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

/// What assemble recorded about the build (in `$APP_ROOT/.python-s2i/`) and save-artifacts
/// puts at the end of the tar.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    /// `major.minor` of the virtualenv.
    pub python_version: String,
    /// sha256 of the dependency files.
    pub dependency_digest: String,
    /// Where each cache of [`CACHES`] lives in the image.
    pub caches: Vec<(String, PathBuf)>,
}

/// sha256 over the names and contents of the dependency files in `app`.
#[must_use]
pub fn dependency_digest(app: &Path) -> String {
    let mut hasher = Sha256::new();
    for name in DEPENDENCY_FILES {
        if let Ok(content) = fs::read(app.join(name)) {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update((content.len() as u64).to_le_bytes());
            hasher.update(&content);
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What assemble did with the artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// No artifacts: a clean build.
    None,
    /// Ignored, with the reason (shown as a warning).
    Ignored(String),
    /// Caches moved into place.
    Reused {
        caches: Vec<String>,
        dependencies_changed: bool,
    },
}

/// Moves usable caches from `dir` to their places (`targets`: cache name -> directory).
#[must_use]
pub fn restore(
    dir: &Path,
    targets: &[(String, PathBuf)],
    python_version: &str,
    digest: &str,
) -> Restored {
    let empty = fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none());
    if empty {
        return Restored::None;
    }
    let text = match fs::read_to_string(dir.join(MANIFEST)) {
        Ok(text) => text,
        Err(_) => {
            return Restored::Ignored(format!(
                "{} has no {MANIFEST}: the artifacts are incomplete (a truncated or corrupt tar)",
                dir.display()
            ))
        }
    };
    let manifest: Manifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            return Restored::Ignored(format!("{} is corrupt: {e}", dir.join(MANIFEST).display()))
        }
    };
    if manifest.format != FORMAT {
        return Restored::Ignored(format!(
            "the artifacts have format {} (this assemble reads {FORMAT})",
            manifest.format
        ));
    }
    if manifest.python_version != python_version {
        return Restored::Ignored(format!(
            "the artifacts were made with Python {}, this build uses Python {python_version}",
            manifest.python_version
        ));
    }
    let mut caches = Vec::new();
    for (name, target) in targets {
        let from = dir.join(name);
        if !from.is_dir() {
            continue;
        }
        let target_empty = fs::read_dir(target).map_or(true, |mut e| e.next().is_none());
        if !target_empty {
            output::info(&format!(
                "The {name} cache at {} is already filled: not replaced",
                target.display()
            ));
            continue;
        }
        match move_dir(&from, target) {
            Ok(()) => caches.push((*name).to_owned()),
            Err(e) => {
                let _ = fs::remove_dir_all(target);
                output::warning(&format!(
                    "could not restore the {name} cache to {}: {e}",
                    target.display()
                ));
            }
        }
    }
    Restored::Reused {
        caches,
        dependencies_changed: manifest.dependency_digest != digest,
    }
}

fn move_dir(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    let _ = fs::remove_dir(to);
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    crate::source::install(from, to)
        .map(|_| ())
        .map_err(|e| io::Error::other(format!("{e:?}")))
}

/// Writes the manifest for `save-artifacts` to find.
///
/// # Errors
/// It cannot be written.
pub fn write_manifest(state_dir: &Path, manifest: &Manifest) -> io::Result<()> {
    let text = serde_json::to_string_pretty(manifest).map_err(io::Error::other)?;
    fs::write(state_dir.join(MANIFEST), text + "\n")
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
    pub caches: Vec<String>,
    /// The reader went away (closed pipe): not an error, the stream just ends.
    pub pipe_closed: bool,
}

/// Streams the caches named by the manifest in `state_dir`, then the manifest, as a tar.
/// No manifest (no build happened) gives an empty tar.
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
    tar.follow_symlinks(false);
    let result = (|| -> Result<(), (PathBuf, io::Error)> {
        if let Some(manifest) = &manifest {
            for (name, dir) in &manifest.caches {
                if !CACHES.contains(&name.as_str()) || !dir.is_dir() {
                    continue;
                }
                eprintln!(
                    "save-artifacts: adding the {name} cache ({})",
                    dir.display()
                );
                tar.append_dir_all(name, dir)
                    .map_err(|e| (dir.clone(), e))?;
                saved.caches.push(name.clone());
            }
            tar.append_path_with_name(&manifest_path, MANIFEST)
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

    fn manifest(python: &str, caches: Vec<(String, PathBuf)>) -> Manifest {
        Manifest {
            format: FORMAT,
            python_version: python.into(),
            dependency_digest: "d".into(),
            caches,
        }
    }

    #[test]
    fn round_trip_through_tar() {
        let root = tempfile::tempdir().expect("tempdir");
        let cache = root.path().join("cache/uv");
        fs::create_dir_all(cache.join("wheels")).expect("mkdir");
        fs::write(cache.join("wheels/a.whl"), "wheel").expect("write");
        let state = root.path().join("state");
        fs::create_dir_all(&state).expect("mkdir");
        write_manifest(
            &state,
            &manifest("3.11", vec![("uv".into(), cache.clone())]),
        )
        .expect("manifest");
        let mut bytes = Vec::new();
        let saved = save(&state, &mut bytes).expect("save");
        assert_eq!(saved.caches, ["uv"]);
        let unpacked = root.path().join("artifacts");
        tar::Archive::new(&bytes[..])
            .unpack(&unpacked)
            .expect("unpack");
        let target = root.path().join("new/uv");
        let restored = restore(&unpacked, &[("uv".to_owned(), target.clone())], "3.11", "d");
        assert_eq!(
            restored,
            Restored::Reused {
                caches: vec!["uv".into()],
                dependencies_changed: false
            }
        );
        assert_eq!(
            fs::read_to_string(target.join("wheels/a.whl")).expect("read"),
            "wheel"
        );
    }

    #[test]
    fn other_python_truncated_and_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(restore(dir.path(), &[], "3.11", "d"), Restored::None);
        fs::create_dir(dir.path().join("uv")).expect("mkdir");
        assert!(
            matches!(restore(dir.path(), &[], "3.11", "d"), Restored::Ignored(ref m) if m.contains("incomplete"))
        );
        write_manifest(dir.path(), &manifest("2.7", vec![])).expect("manifest");
        assert!(
            matches!(restore(dir.path(), &[], "3.11", "d"), Restored::Ignored(ref m) if m.contains("Python 2.7"))
        );
        fs::write(dir.path().join(MANIFEST), "{").expect("write");
        assert!(
            matches!(restore(dir.path(), &[], "3.11", "d"), Restored::Ignored(ref m) if m.contains("corrupt"))
        );
    }
}
