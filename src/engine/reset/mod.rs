//! Client reset (DESIGN.md §3, seed 000): the reset guard and the recovery rules. The reset job
//! that backs files up, creates the fresh replica and replays changes is driven by the engine
//! worker; this module holds the decisions it makes, as pure functions.

pub mod guard;
pub mod recovery;

pub use guard::{GuardDecision, ResetGuard, Strategy};
pub use recovery::{RecoveryError, RecoveryPlan, UnsyncedChange, UnsyncedKind, plan_recovery};
