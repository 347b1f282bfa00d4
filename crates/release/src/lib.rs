//! What stands between a built application and traffic, for Django in production with several
//! replicas (docs/run.md: "Migrations, the release phase and readiness").
//!
//! - [`migrate`]: whether `run` migrates (on start, in the release phase), and the command that
//!   runs Django's `migrate` under a database lock through a Python helper shipped in the binary
//!   (`python/migrate.py`: PostgreSQL advisory lock, MySQL `GET_LOCK`, SQLite file lock), with
//!   what its exit status means.
//! - [`phase`]: the release commands `run --release` runs after migrating
//!   (`.s2i/action_hooks/release`, a Procfile `release:` line).
//! - [`ready`]: the state file a start keeps in its runtime directory and the checks
//!   `run --check-ready` (readiness) and `run --check-live` (liveness) make from it.
//!
//! `run` executes every command these modules build under its init (`s2i_init::supervise`), so
//! signals reach them as they reach the server.

pub mod migrate;
pub mod phase;
pub mod ready;

pub use migrate::{Migrate, MigrateError, When};
pub use phase::{ReleaseCommand, ReleaseError};
pub use ready::{Check, Phase, StateFile};
