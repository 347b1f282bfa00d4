//! Incremental builds. `save-artifacts` streams a tar of **a few large files** (s2i unpacks
//! every entry into `/tmp/artifacts`, and thousands of small cache files cost seconds there):
//!
//! - [`DEPS_ARCHIVE`]: the installed dependencies, i.e. every top-level entry of `$APP_ROOT`
//!   except the source and the state directory (`bin`, `lib`, `include`, `pyvenv.cfg`...),
//!   without the builder's own files the build did not change ([`Manifest::from_builder`]);
//! - [`CACHES_ARCHIVE`]: the installers' caches (uv's holds every downloaded and built wheel,
//!   pip's on Python 2.7);
//! - [`MANIFEST`], the **last** entry: what the build recorded plus each archive's sha256 and
//!   size.
//!
//! Both archives are zstd-compressed tars. assemble finds them in `/tmp/artifacts`
//! (`S2I_ARTIFACTS_DIR`) and checks the manifest and the digests first ([`open`]). When
//! everything that decides the installed dependencies is unchanged ([`inputs_digest`]: the
//! dependency files, the exact Python, the installer, the index settings, the virtualenv as the
//! builder image made it) the dependencies are restored as a whole, in place
//! ([`Previous::restore_dependencies`]: what the builder's virtualenv already holds as the
//! archive does is left alone, so the committed layer does not carry it twice) instead of being
//! resolved again, as buildpacks reuse a layer; the caches archive is kept unopened for the
//! next build. When only the dependency files changed and the package manager's file still
//! asks for every package it asked for ([`Inputs::asked`]: a package added, a version changed),
//! the dependencies are restored the same way and the installer runs over them, so only what
//! is new or changed is downloaded and installed ([`Reuse::Base`]). Otherwise the caches are unpacked and the
//! installer runs in the builder's virtualenv, with nothing to download for what was
//! downloaded before. Artifacts without a manifest (a truncated tar),
//! with an unreadable one, from another format or Python version, whose manifest names any file
//! but the archives of [`ARCHIVES`] ([`Manifest::check`]), whose files are not regular files,
//! or whose archives do not match their digests, do not decode, hold members outside the
//! manifest's entries or unpack to far more than their size ([`UNPACKED_RATIO`]) are ignored
//! with a warning: the build is a clean one.

/// The manifest's name, in the tar and in `/tmp/artifacts`.
pub const MANIFEST: &str = "python-s2i-artifacts.json";

/// Format of [`Manifest`] and of the tar.
pub const FORMAT: u32 = 3;

/// The caches, by their directory name in [`CACHES_ARCHIVE`].
pub const CACHES: [&str; 3] = ["uv", "pip", "npm"];

/// The installed dependencies (top-level entries of `$APP_ROOT`).
pub const DEPS_ARCHIVE: &str = "python-s2i-dependencies.tar.zst";

pub use s2i_facts::CACHES_ARCHIVE;

/// Every archive an artifacts tar may hold: the only names a manifest may give, so the only
/// files assemble reads, moves or removes in the artifacts directory (with [`MANIFEST`]). A
/// manifest naming anything else is refused whole (a clean build). A new archive is one line.
pub const ARCHIVES: [&str; 2] = [DEPS_ARCHIVE, CACHES_ARCHIVE];

mod manifest;
mod reuse;
mod save;
mod unpack;

pub use manifest::*;
pub use reuse::*;
pub use save::*;
pub use unpack::*;

#[cfg(test)]
pub(crate) mod tests;
