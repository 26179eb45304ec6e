//! The reset guard: one record per replica (mode that ran, time, reason), written in its own
//! commit before a reset and cleared after the first successful sync that follows it. While it is
//! set, a new reset is downgraded or stopped instead of looping (after realm-core's
//! `reset_precheck_guard`). Pure decisions; the store keeps the record.
//!
//! Unlike realm-core, an attempt that fails before its switch (its fresh replica given back,
//! nothing changed locally) removes the record again: the guard stops resets that *finished*
//! without helping; a failing attempt already falls back (to discard or manual) and a reset
//! interrupted by a crash resumes from its journal instead of being counted as a loop.

use crate::engine::api::ResetMode;
use crate::store::ResetGuard;
use serde::{Deserialize, Serialize};

/// The automatic strategy a reset actually ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Recover,
    Discard,
}

impl Strategy {
    /// The strategy a stored guard records (a manual reset discards).
    pub fn of(mode: ResetMode) -> Strategy {
        match mode {
            ResetMode::Recover | ResetMode::RecoverOrDiscard => Strategy::Recover,
            ResetMode::Discard | ResetMode::Manual => Strategy::Discard,
        }
    }

    /// How the guard record stores it.
    pub fn as_mode(self) -> ResetMode {
        match self {
            Strategy::Recover => ResetMode::Recover,
            Strategy::Discard => ResetMode::Discard,
        }
    }
}

/// What to do with a requested reset given the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardDecision {
    /// Run the requested mode.
    Proceed(ResetMode),
    /// A previous recovery was not proven: run `Discard` instead and clear the guard.
    DowngradeToDiscard,
    /// A previous reset was not proven and repeating it could loop: go to manual with this reason.
    FallBackToManual(String),
}

/// Decides whether a requested reset may run while `previous` is set.
/// Manual resets are the user's explicit choice and always proceed.
pub fn check(previous: Option<&ResetGuard>, requested: ResetMode) -> GuardDecision {
    let Some(previous) = previous else {
        return GuardDecision::Proceed(requested);
    };
    match (Strategy::of(previous.mode), requested) {
        (_, ResetMode::Manual) => GuardDecision::Proceed(ResetMode::Manual),
        (Strategy::Discard, _) => GuardDecision::FallBackToManual(format!(
            "a discard reset already ran ({}) and the replica has not synced since; stopping to prevent a reset loop",
            previous.reason
        )),
        (Strategy::Recover, ResetMode::Recover) => GuardDecision::FallBackToManual(format!(
            "a recovery already ran ({}) and the replica has not synced since; stopping to prevent a reset loop",
            previous.reason
        )),
        (Strategy::Recover, ResetMode::RecoverOrDiscard) => GuardDecision::DowngradeToDiscard,
        (Strategy::Recover, ResetMode::Discard) => GuardDecision::Proceed(ResetMode::Discard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(strategy: Strategy) -> ResetGuard {
        ResetGuard {
            local_id: crate::engine::api::LocalReplicaId(1),
            mode: strategy.as_mode(),
            at_ms: 1,
            reason: "replica does not exist".into(),
        }
    }

    /// Every row of the guard's decision table.
    #[test]
    fn decisions_follow_the_cycle_guard_table() {
        for mode in [
            ResetMode::RecoverOrDiscard,
            ResetMode::Recover,
            ResetMode::Discard,
            ResetMode::Manual,
        ] {
            assert_eq!(check(None, mode), GuardDecision::Proceed(mode));
            assert_eq!(
                check(Some(&guard(Strategy::Recover)), ResetMode::Manual),
                GuardDecision::Proceed(ResetMode::Manual)
            );
        }
        for mode in [
            ResetMode::RecoverOrDiscard,
            ResetMode::Recover,
            ResetMode::Discard,
        ] {
            assert!(matches!(
                check(Some(&guard(Strategy::Discard)), mode),
                GuardDecision::FallBackToManual(_)
            ));
        }
        assert!(matches!(
            check(Some(&guard(Strategy::Recover)), ResetMode::Recover),
            GuardDecision::FallBackToManual(_)
        ));
        assert_eq!(
            check(Some(&guard(Strategy::Recover)), ResetMode::RecoverOrDiscard),
            GuardDecision::DowngradeToDiscard
        );
        assert_eq!(
            check(Some(&guard(Strategy::Recover)), ResetMode::Discard),
            GuardDecision::Proceed(ResetMode::Discard)
        );
    }
}
