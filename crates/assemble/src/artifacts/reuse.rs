//! How the previous build's artifacts serve this one ([`Previous::reuse`]: [`Reuse`]), and
//! restoring them: the dependencies in place, the caches merged.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::unpack::{sync_in_place, top_level_names, unpack};
use super::{Previous, Restored, CACHES_ARCHIVE, DEPS_ARCHIVE};
use crate::output;

/// What decides a build's installed dependencies, hashed with [`inputs_digest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Everything: the dependency files, the Python, the installer and its settings, the
    /// builder's virtualenv.
    pub all: String,
    /// Everything but the dependency files.
    pub base: String,
    /// What the package manager's file asks for, when its names tell everything it installs.
    pub asked: Option<Asked>,
}

/// The packages a package manager's file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// `requirements.txt`, `uv.lock`, ...
    pub file: &'static str,
    /// Normalised names (`package_manager::packages_asked_for`).
    pub packages: BTreeSet<String>,
}

/// How the previous build's installed dependencies serve this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    /// Nothing that decides them changed: restored, and not installed again.
    Whole,
    /// Only the dependency files changed, and the package manager's file still asks for every
    /// package it asked for: restored, then that file is installed over them (what is new or
    /// changed). Holds that file and the packages it asks for now and did not then.
    Base {
        file: &'static str,
        added: Vec<String>,
    },
}

impl Reuse {
    /// The packages added, for the log: `new: a, b`, or that none was.
    #[must_use]
    pub fn added(&self) -> Option<String> {
        match self {
            Self::Base { added, .. } if !added.is_empty() => {
                Some(format!("new: {}", added.join(", ")))
            }
            _ => None,
        }
    }
}

/// Why the installed dependencies were not restored.
#[derive(Debug)]
pub enum RestoreError {
    /// The archive did not unpack: the virtualenv is untouched, the build installs instead.
    Unpack { archive: PathBuf, source: io::Error },
    /// The virtualenv's entries were removed but the restored ones could not be moved in: the
    /// virtualenv is incomplete, the build stops.
    Swap {
        app_root: PathBuf,
        source: io::Error,
    },
}

impl Previous {
    fn archive(&self, name: &str) -> Option<PathBuf> {
        self.manifest
            .archives
            .iter()
            .any(|a| a.name == name)
            .then(|| self.dir.join(name))
    }

    /// How the installed dependencies serve a build with `inputs` into `app_root`; why they
    /// cannot be restored otherwise.
    ///
    /// # Errors
    /// The reason, for the build log.
    pub fn reuse(
        &self,
        app_root: &Path,
        inputs: Option<&Inputs>,
        dependency_digest: &str,
    ) -> Result<Reuse, String> {
        let Some(inputs) = inputs else {
            return Err("this build's dependencies cannot be restored as a whole".into());
        };
        if self.archive(DEPS_ARCHIVE).is_none() || self.manifest.inputs.is_none() {
            return Err("the artifacts hold no installed dependencies".into());
        }
        if self.manifest.app_root != app_root {
            return Err(format!(
                "they were installed in {}, this build installs in {}",
                self.manifest.app_root.display(),
                app_root.display()
            ));
        }
        if self.manifest.inputs.as_deref() == Some(inputs.all.as_str()) {
            return Ok(Reuse::Whole);
        }
        let others = "the Python, the installer, its settings or the builder's virtualenv";
        if !self.dependency_files_changed(dependency_digest) {
            return Err(format!("{others} changed since that build"));
        }
        let changed = "the dependency files changed since that build";
        if self.manifest.base_inputs.as_deref() != Some(inputs.base.as_str()) {
            return Err(format!("{changed}, and so did {others}"));
        }
        let (Some(before), Some(asked)) = (&self.manifest.packages, &inputs.asked) else {
            return Err(format!(
                "{changed} (only a requirements.txt of package names or a lock file is installed over the previous build's packages)"
            ));
        };
        let now = &asked.packages;
        let dropped: Vec<&str> = before.difference(now).map(String::as_str).collect();
        if !dropped.is_empty() {
            return Err(format!(
                "{changed}: {} no longer asks for {} (installed from scratch, so that what only they needed goes too)",
                asked.file,
                dropped.join(", ")
            ));
        }
        Ok(Reuse::Base {
            file: asked.file,
            added: now.difference(before).cloned().collect(),
        })
    }

    /// Makes the dependency entries of `app_root` what the archive holds, in place: a file the
    /// builder's virtualenv already has as the archive holds it (same type, size and
    /// modification time, or the same link target) is left alone, so the committed image
    /// carries only what the build added, as a clean build's does; the others are written,
    /// and what the archive does not hold is removed. Keeps the caches archive unopened in
    /// `state_dir` for the next save-artifacts. Returns how many entries were restored.
    ///
    /// # Errors
    /// The archive is not a tar or lacks an entry of the manifest before anything was written
    /// (`app_root` keeps its own entries), or writing failed half way (the virtualenv is
    /// incomplete: the caller stops the build).
    pub fn restore_dependencies(
        &self,
        app_root: &Path,
        state_dir: &Path,
    ) -> Result<Restored, RestoreError> {
        let archive = self.dir.join(DEPS_ARCHIVE);
        let unpack_error = |source| RestoreError::Unpack {
            archive: archive.clone(),
            source,
        };
        // The archive was verified against its digest: what is checked here is that it holds
        // what the manifest says, before anything in the virtualenv changes.
        let mut names = top_level_names(&archive).map_err(unpack_error)?;
        if let Some(other) = names.iter().find(|n| !self.manifest.entries.contains(n)) {
            return Err(unpack_error(io::Error::other(format!(
                "it holds {other}, which is not one of the entries its manifest lists ({}): nothing was restored",
                self.manifest.entries.join(", ")
            ))));
        }
        for file in &self.manifest.from_builder {
            if let Some(std::path::Component::Normal(first)) = file.path.components().next() {
                names.insert(first.to_string_lossy().into_owned());
            }
        }
        if let Some(missing) = self.manifest.entries.iter().find(|e| !names.contains(*e)) {
            return Err(unpack_error(io::Error::other(format!(
                "{missing} is missing from {DEPS_ARCHIVE}"
            ))));
        }
        if let Some(why) = self.builder_differs(app_root) {
            return Err(unpack_error(io::Error::other(why)));
        }
        let builders: std::collections::HashSet<PathBuf> = self
            .manifest
            .from_builder
            .iter()
            .map(|f| f.path.clone())
            .collect();
        let restored = sync_in_place(&archive, app_root, &self.manifest.entries, builders)
            .map_err(|source| RestoreError::Swap {
                app_root: app_root.to_owned(),
                source,
            })?;
        // Used: not worth committing into the image a second time.
        let _ = fs::remove_file(&archive);
        if let Some(caches) = self.archive(CACHES_ARCHIVE) {
            if let Err(e) = keep(&caches, &state_dir.join(CACHES_ARCHIVE)) {
                output::warning(&format!(
                    "the caches are not kept for the next build: {}: {e}",
                    caches.display()
                ));
            }
        }
        Ok(Restored {
            entries: self.manifest.entries.len(),
            ..restored
        })
    }

    /// Why the builder's files the archive leaves out are not in `app_root` as the previous
    /// build had them; `None` when they all are.
    fn builder_differs(&self, app_root: &Path) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        self.manifest.from_builder.iter().find_map(|file| {
            let path = app_root.join(&file.path);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() && m.len() == file.size && m.mtime() == file.mtime => None,
                Ok(_) => Some(format!(
                    "{} is not the builder's file the previous build had (size or modification time differ)",
                    path.display()
                )),
                Err(e) => Some(format!("{}: {e}", path.display())),
            }
        })
    }

    /// Removes the archives left in the artifacts directory (those no step used), so the
    /// committed image does not carry them.
    pub fn remove_archives(&self) {
        for archive in &self.manifest.archives {
            let _ = fs::remove_file(self.dir.join(&archive.name));
        }
    }

    /// Unpacks the caches archive into the caches' directories (`targets`: name -> directory),
    /// skipping a cache whose directory is already filled. Returns the caches restored.
    #[must_use]
    pub fn restore_caches(&self, targets: &[(String, PathBuf)], state_dir: &Path) -> Vec<String> {
        let Some(archive) = self.archive(CACHES_ARCHIVE) else {
            return Vec::new();
        };
        let staging = state_dir.join("restore-caches");
        let _ = fs::remove_dir_all(&staging);
        if let Err(e) = fs::create_dir_all(&staging).and_then(|()| unpack(&archive, &staging)) {
            output::warning(&format!("could not unpack {}: {e}", archive.display()));
            let _ = fs::remove_dir_all(&staging);
            return Vec::new();
        }
        let _ = fs::remove_file(&archive);
        let mut restored = Vec::new();
        for (name, target) in targets {
            let from = staging.join(name);
            if !from.is_dir() {
                continue;
            }
            let removed = crate::trust::remove_escaping_links(&from);
            if !removed.is_empty() {
                output::warning(&format!(
                    "the {name} cache held {} symlink(s) pointing outside it, removed: {}",
                    removed.len(),
                    removed
                        .iter()
                        .map(|p| p.strip_prefix(&staging).unwrap_or(p).display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            // A cache already in use (uv seeding a new virtualenv) gets what it lacks.
            match merge_dir(&from, target) {
                Ok(()) => restored.push(name.clone()),
                Err(e) => output::warning(&format!(
                    "could not restore the {name} cache to {}: {e}",
                    target.display()
                )),
            }
        }
        let _ = fs::remove_dir_all(&staging);
        restored
    }

    /// Whether the dependency files differ from the previous build's.
    #[must_use]
    pub fn dependency_files_changed(&self, digest: &str) -> bool {
        self.manifest.dependency_digest != digest
    }
}

/// Moves (or copies, across file systems) `from` to `to`.
fn keep(from: &Path, to: &Path) -> io::Result<()> {
    let _ = fs::remove_file(to);
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(|_| ())
}

/// Moves `from` to `to`; when `to` exists, moves in each entry it lacks.
fn merge_dir(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::symlink_metadata(to).is_err() {
        return fs::rename(from, to).or_else(|_| {
            crate::source::install(from, to)
                .map(|_| ())
                .map_err(|e| io::Error::other(format!("{e:?}")))
        });
    }
    if !(fs::symlink_metadata(to)?.is_dir() && fs::symlink_metadata(from)?.is_dir()) {
        return Ok(());
    }
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        merge_dir(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}
