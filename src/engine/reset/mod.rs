//! Client reset (DESIGN.md §3, seed 000): backups, the reset guard, the recovery rules and their
//! replay onto a fresh replica. The engine worker drives the steps; the decisions are pure
//! functions ([`guard`], [`recovery`]) and the file steps are blocking ([`backup`], [`replay`],
//! [`fresh`]). Each step is recorded in the store's reset journal, so an interrupted reset resumes
//! (see `job`).

pub mod backup;
pub mod fresh;
pub mod guard;
pub(crate) mod job;
pub mod recovery;
pub mod replay;

#[cfg(test)]
mod tests;

pub use backup::{Backup, BackupError, ChangesExport, back_up, new_recovery_dir, reuse};
pub use fresh::{CRASH_AT_ENV, CRASH_EXIT_CODE};
pub use guard::{GuardDecision, Strategy};
pub use recovery::{RecoveryError, RecoveryPlan, UnsyncedChange, UnsyncedKind, plan_recovery};
pub use replay::{ReplayError, replay_into, unsynced_changes};
