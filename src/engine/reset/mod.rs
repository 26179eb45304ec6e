//! Client reset (ARCHITECTURE.md, "Client reset"): backups, the reset guard, the recovery rules
//! and their replay onto a fresh replica; and restoring a backup's changes onto the replica as
//! it is now ("Restore from a backup": [`backups`] finds them, [`restore`] re-applies them by the
//! same rules). These are the steps only: the decisions are pure
//! functions ([`guard`], [`recovery`]) and the file steps are blocking ([`backup`], [`replay`]).
//! The job that drives them, records each step in the store's reset journal (so an interrupted
//! reset resumes) and holds the test-only crash points is `engine::job`'s reset job; nothing here
//! imports it.

pub mod backup;
pub mod backups;
pub mod guard;
pub mod recovery;
pub mod replay;
pub mod restore;

#[cfg(test)]
mod tests;

pub use backup::{Backup, BackupError, ChangesExport, back_up, new_recovery_dir, reuse};
pub use guard::{GuardDecision, Strategy};
pub use recovery::{
    RecoveryError, RecoveryPlan, SameField, UnsyncedChange, UnsyncedKind, decide, plan_recovery,
};
pub use replay::{ReplayError, replay_into, unsynced_changes};
