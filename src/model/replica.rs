//! What syncwatch shows about one replica: [`ReplicaSummary`] with its per-layer state and sync
//! history, and the [`Health`] badge derived from it (ARCHITECTURE.md, "Health"). Built by the
//! engine from the store and the replica file; read by the replica list, the centre panel and
//! the CLI's `--json` output, so the serde names are a public format.

use super::account::AccountKey;
use super::conflicts::ConflictPolicy;
use super::ids::LocalReplicaId;
use super::settings::{PredictedPolicy, ResetMode};
use crate::protocol::{Guid, SyncDirection, SyncModel};
use serde::{Deserialize, Serialize};

/// A replica's health, derived in a fixed priority order: the first that applies wins.
/// Never `UpToDate` while anything failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Health {
    Paused,
    Unknown,
    ResetRequired,
    /// The service refused the replica's token and nothing could renew it: its syncs wait
    /// until the user signs in again to that server (never shown as a failed sync).
    SignInNeeded,
    Error,
    Syncing,
    /// Local edits conflict with newer changes on the service and are held until resolved.
    Conflicts,
    FailedEdits,
    LocalEditsPending,
    UpToDate,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Paused => "Paused",
            Health::Unknown => "Unknown",
            Health::ResetRequired => "Reset required",
            Health::SignInNeeded => "Sign-in needed",
            Health::Error => "Error",
            Health::Syncing => "Syncing",
            Health::Conflicts => "Conflicts",
            Health::FailedEdits => "Failed edits",
            Health::LocalEditsPending => "Local edits pending",
            Health::UpToDate => "Up to date",
        }
    }

    /// Whether the technician has something to do about it: sign in, confirm a reset, look at
    /// an error, resolve conflicts or fix refused edits (the window's title counts these).
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            Health::ResetRequired
                | Health::SignInNeeded
                | Health::Error
                | Health::Conflicts
                | Health::FailedEdits
        )
    }

    /// Derives the badge from a summary, in the fixed priority order.
    pub fn of(s: &ReplicaSummary) -> Health {
        if s.paused {
            Health::Paused
        } else if s.last_sync_attempt_ms.is_none()
            && s.server_gen.is_none()
            && s.layer_gens.is_empty()
        {
            Health::Unknown
        } else if s.reset_reason.is_some() {
            Health::ResetRequired
        } else if s.sign_in_needed.is_some() {
            Health::SignInNeeded
        } else if s.last_error.is_some() {
            Health::Error
        } else if s.syncing {
            Health::Syncing
        } else if s.held_conflicts > 0 {
            Health::Conflicts
        } else if s.failed_edits > 0 || s.predicted_failures > 0 {
            Health::FailedEdits
        } else if s.pending_changes > 0 {
            Health::LocalEditsPending
        } else {
            Health::UpToDate
        }
    }
}

/// Per-layer state of a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerState {
    pub layer_id: i64,
    pub name: String,
    /// perLayer replicas: this layer's server generation.
    pub server_gen: Option<i64>,
    pub pending_changes: u32,
    pub failed_edits: u32,
}

/// One past sync, for the history plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncHistoryPoint {
    pub finished_ms: i64,
    pub duration_ms: i64,
    pub failed_edits: u32,
    /// How the job ended, as the job history stores it: `Completed`, `CompletedWithErrors`,
    /// `Failed` or `Cancelled`.
    pub state: String,
}

/// Everything the replica list and the centre panel show about one replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSummary {
    pub id: LocalReplicaId,
    pub name: String,
    pub service_url: String,
    pub replica_guid: Option<Guid>,
    pub sync_model: SyncModel,
    pub direction: SyncDirection,
    pub server_gen: Option<i64>,
    pub layer_gens: Vec<(i64, i64)>,
    pub layers: Vec<LayerState>,
    /// Epoch milliseconds.
    pub last_success_ms: Option<i64>,
    pub last_sync_attempt_ms: Option<i64>,
    pub pending_changes: u32,
    pub failed_edits: u32,
    /// Queued changes the service's cached rules predict it will refuse (not refused yet).
    pub predicted_failures: u32,
    /// What syncs do with them.
    #[serde(default)]
    pub predicted_policy: PredictedPolicy,
    /// Why the replica needs a client reset, if it does (`reset_required` in `--json`).
    #[serde(rename = "reset_required")]
    pub reset_reason: Option<String>,
    pub reset_mode: ResetMode,
    pub paused: bool,
    pub syncing: bool,
    pub last_error: Option<String>,
    pub history: Vec<SyncHistoryPoint>,
    /// The account the replica's jobs sign in with ("signed in as X"): the signed-in account
    /// of the service's server (or its portal); `None` for a pasted token or no token.
    #[serde(default)]
    pub signed_in_as: Option<AccountKey>,
    /// Why the replica waits for a sign-in (the service refused its token and nothing could
    /// renew it); cleared by a successful sign-in to that server. Badge: [`Health::SignInNeeded`].
    #[serde(default)]
    pub sign_in_needed: Option<String>,
    /// Local edits held because they conflict with newer changes on the service.
    #[serde(default)]
    pub held_conflicts: u32,
    /// What this replica's syncs do with conflicting edits.
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
    /// The work area the replica was made for; `None` until its file is read (and for files
    /// made before areas were kept, which hold the whole service).
    /// Boxed: it keeps the summary (and the events carrying it) small.
    #[serde(default)]
    pub work_area: Option<Box<super::WorkArea>>,
}

impl ReplicaSummary {
    pub fn health(&self) -> Health {
        Health::of(self)
    }
}

/// An up-to-date replica summary for unit tests to change.
#[cfg(test)]
pub(crate) fn summary_for_tests() -> ReplicaSummary {
    ReplicaSummary {
        id: LocalReplicaId(1),
        name: "hydrants".into(),
        service_url: "http://127.0.0.1/arcgis/rest/services/Water/FeatureServer".into(),
        replica_guid: None,
        sync_model: SyncModel::PerReplica,
        direction: SyncDirection::Bidirectional,
        server_gen: Some(5),
        layer_gens: vec![],
        layers: vec![],
        last_success_ms: Some(1),
        last_sync_attempt_ms: Some(1),
        pending_changes: 0,
        failed_edits: 0,
        predicted_failures: 0,
        predicted_policy: PredictedPolicy::default(),
        reset_reason: None,
        reset_mode: ResetMode::default(),
        paused: false,
        syncing: false,
        last_error: None,
        history: vec![],
        signed_in_as: None,
        sign_in_needed: None,
        held_conflicts: 0,
        conflict_policy: ConflictPolicy::default(),
        work_area: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> ReplicaSummary {
        summary_for_tests()
    }

    /// The badge follows the fixed priority order and is never green while anything failed.
    #[test]
    fn health_priority_order() {
        let mut s = summary();
        assert_eq!(s.health(), Health::UpToDate);
        s.pending_changes = 3;
        assert_eq!(s.health(), Health::LocalEditsPending);
        s.failed_edits = 1;
        assert_eq!(s.health(), Health::FailedEdits);
        s.held_conflicts = 1;
        assert_eq!(s.health(), Health::Conflicts);
        s.syncing = true;
        assert_eq!(s.health(), Health::Syncing);
        s.last_error = Some("timeout".into());
        assert_eq!(s.health(), Health::Error);
        s.sign_in_needed = Some("the token expired".into());
        assert_eq!(s.health(), Health::SignInNeeded);
        s.reset_reason = Some("replica does not exist".into());
        assert_eq!(s.health(), Health::ResetRequired);
        s.paused = true;
        assert_eq!(s.health(), Health::Paused);
        let mut fresh = summary();
        fresh.server_gen = None;
        fresh.last_sync_attempt_ms = None;
        assert_eq!(fresh.health(), Health::Unknown);
        let mut predicted = summary();
        predicted.predicted_failures = 2;
        assert_ne!(predicted.health(), Health::UpToDate);
    }

    /// Renamed fields keep their `--json` names.
    #[test]
    fn reset_reason_keeps_its_json_name() {
        let mut s = summary();
        s.reset_reason = Some("gone".into());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["reset_required"], "gone");
        assert!(json.get("reset_reason").is_none());
    }
}
