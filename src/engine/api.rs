//! The engine's public contract: [`Command`]s in, [`Event`]s out, and the plain data both carry.
//! Front ends (GUI, CLI) only ever see these types; nothing here touches egui, files or the network.

use crate::protocol::{ChangeType, Guid, JobState, ObjectType, SyncDirection, SyncModel};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// syncwatch's own id for a replica it holds. Stable across client resets (a reset gives the
/// replica a new server `replicaID`, but it stays the same entry for the technician).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocalReplicaId(pub i64);

impl std::fmt::Display for LocalReplicaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One sync or create job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub i64);

/// How a client reset treats unsynced local changes (seed 000's modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ResetMode {
    /// Try to recover; if that fails, discard; if that fails, manual.
    #[default]
    RecoverOrDiscard,
    /// Try to recover; if that fails, manual.
    Recover,
    /// Discard unsynced changes (they stay in the backup); if that fails, manual.
    Discard,
    /// Wait for the user to confirm.
    Manual,
}

impl ResetMode {
    /// The modes this one falls back to, in order (seed 000).
    pub fn fallback_chain(self) -> &'static [ResetMode] {
        match self {
            ResetMode::RecoverOrDiscard => &[ResetMode::Discard, ResetMode::Manual],
            ResetMode::Recover | ResetMode::Discard => &[ResetMode::Manual],
            ResetMode::Manual => &[],
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ResetMode::RecoverOrDiscard => "recover or discard",
            ResetMode::Recover => "recover",
            ResetMode::Discard => "discard",
            ResetMode::Manual => "manual",
        }
    }
}

/// What a sync does with local changes the service's rules predict it will refuse (seed 004:
/// clients should check the service's settings before sending edits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PredictedPolicy {
    /// Send them anyway; the server's answer is what counts.
    #[default]
    Send,
    /// Keep them back locally, queued, until they are fixed or dropped.
    Hold,
    /// Send every add and update with only its writable content: values of fields that are not
    /// editable, and a geometry change where geometry updates are off, are left out (seed 004:
    /// "include only writable fields"). What is left is sent as under `Send`.
    EditableOnly,
}

impl PredictedPolicy {
    pub const ALL: [PredictedPolicy; 3] = [
        PredictedPolicy::Send,
        PredictedPolicy::Hold,
        PredictedPolicy::EditableOnly,
    ];

    /// The setting's name in the store and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PredictedPolicy::Send => "send",
            PredictedPolicy::Hold => "hold",
            PredictedPolicy::EditableOnly => "editable-only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            PredictedPolicy::Send => "send anyway",
            PredictedPolicy::Hold => "hold back until fixed",
            PredictedPolicy::EditableOnly => "send only editable fields",
        }
    }
}

/// Options of one sync job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOptions {
    pub direction: SyncDirection,
    pub is_async: bool,
    pub rollback_on_failure: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            direction: SyncDirection::Bidirectional,
            is_async: true,
            rollback_on_failure: false,
        }
    }
}

/// What the technician asks for when creating a replica. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRequest {
    pub service_url: String,
    /// Kept in memory and in the app database only; never logged.
    pub token: Option<String>,
    pub name: String,
    pub layers: Vec<i64>,
    pub sync_model: SyncModel,
    pub is_async: bool,
}

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRequest")
            .field("service_url", &self.service_url)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("name", &self.name)
            .field("layers", &self.layers)
            .field("sync_model", &self.sync_model)
            .field("is_async", &self.is_async)
            .finish()
    }
}

/// The id the engine's handle gives every [`Command`] it queues (counting up from 1 per engine).
/// The engine echoes it in the [`Event::JobQueued`] of the jobs the command queued and in its
/// [`Event::CommandFailed`], so a front end can tell its own job from everyone else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommandId(pub u64);

impl std::fmt::Display for CommandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "command {}", self.0)
    }
}

/// The UI's request, sent through [`crate::engine`]'s handle. Results come back later as [`Event`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send every replica's summary again ([`Event::ReplicasLoaded`]).
    RefreshReplicas,
    /// Create a replica on a service and download it.
    CreateReplica(CreateRequest),
    /// Start a sync job for this replica; queued if one is already running.
    SyncNow {
        replica: LocalReplicaId,
        options: SyncOptions,
    },
    /// Queue a sync of every replica that is not paused.
    SyncAll,
    /// Stop the replica's running job at its next checkpoint; queued jobs are dropped.
    Cancel { replica: LocalReplicaId },
    /// Replace the local edit of a refused feature with new values and queue it for the next sync.
    FixEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        attributes: crate::protocol::Attributes,
        geometry: Option<serde_json::Value>,
    },
    /// Revert a local edit to the server's version (drops it from the queue).
    DropEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
    },
    /// Unregister the replica on the server and forget it locally (the file is kept as a backup).
    Unregister { replica: LocalReplicaId },
    /// Auto-sync every `interval_secs`; `None` pauses auto-sync.
    SetAutoSync { interval_secs: Option<u64> },
    /// Pause (`true`) or resume this replica: a paused replica is left out of auto-sync,
    /// "Sync all" and automatic client resets, and its badge says "Paused".
    SetPaused {
        replica: LocalReplicaId,
        paused: bool,
    },
    /// Point every replica of the service at `from_url` to `to_url` (the embedded demo service
    /// came up on another loopback port). Answered with [`Event::ReplicasLoaded`].
    RepointService { from_url: String, to_url: String },
    /// Set the client-reset mode used when this replica next needs a reset.
    SetResetMode {
        replica: LocalReplicaId,
        mode: ResetMode,
    },
    /// Choose what this replica's syncs do with predicted refusals.
    SetPredictedPolicy {
        replica: LocalReplicaId,
        policy: PredictedPolicy,
    },
    /// Start a client reset now with this mode (Manual: plan it and wait for [`Command::ConfirmReset`]).
    Reset {
        replica: LocalReplicaId,
        mode: ResetMode,
    },
    /// The user confirmed the planned manual reset.
    ConfirmReset { replica: LocalReplicaId },
    /// The user cancelled the planned manual reset; the replica stays "reset required".
    CancelReset { replica: LocalReplicaId },
    /// Send the replica's edit results ([`Event::EditResultsReady`]): the server's, and the
    /// refusals predicted for queued changes from the cached rules (checked again now; offline).
    LoadEditResults { replica: LocalReplicaId },
    /// Write these rows of an edit-results snapshot to a CSV file (off the UI thread).
    ExportCsv {
        rows: Arc<[EditResultRecord]>,
        indices: Vec<u32>,
        path: PathBuf,
    },
    /// Demo service only: terminate and re-enable sync so every replica needs a client reset.
    DemoTerminateSync,
    /// Finish running jobs' current step and stop.
    Shutdown,
    /// Record a local edit in the replica's change queue (the GUI's attribute editor and demo
    /// seeding; the CLI uses [`crate::engine::EngineHandle::edit_feature`]). Answered with
    /// [`Event::ReplicaChanged`], or [`Event::CommandFailed`] when the edit is not possible.
    EditFeature {
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    },
}

/// A local edit of one feature, carried by [`Command::EditFeature`] (the GUI) and by
/// `EngineHandle::edit_feature` (the `syncwatch edit` command). Added in issue 4.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalEdit {
    /// A new feature; a GlobalID among the attributes is kept, otherwise one is assigned.
    Add {
        attributes: crate::protocol::Attributes,
        geometry: Option<serde_json::Value>,
    },
    /// New values for some attributes (and optionally the geometry) of an existing feature.
    Update {
        global_id: Guid,
        attributes: crate::protocol::Attributes,
        geometry: Option<serde_json::Value>,
    },
    Delete {
        global_id: Guid,
    },
    /// Attach a file to a feature (boxed: it is the largest edit).
    Attach(Box<NewAttachment>),
    /// Delete an attachment.
    Detach {
        global_id: Guid,
    },
}

/// A file to attach to the feature `parent_global_id` (in whichever layer holds it), carried by
/// [`LocalEdit::Attach`]. The content type is guessed from the file name when not given.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttachment {
    /// The new attachment's GlobalID.
    pub global_id: Guid,
    pub parent_global_id: Guid,
    pub file: PathBuf,
    pub content_type: Option<String>,
}

/// A replica's health, derived in a fixed priority order (DESIGN.md §4): the first that applies wins.
/// Never `UpToDate` while anything failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Health {
    Paused,
    Unknown,
    ResetRequired,
    Error,
    Syncing,
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
            Health::Error => "Error",
            Health::Syncing => "Syncing",
            Health::FailedEdits => "Failed edits",
            Health::LocalEditsPending => "Local edits pending",
            Health::UpToDate => "Up to date",
        }
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
        } else if s.reset_required.is_some() {
            Health::ResetRequired
        } else if s.last_error.is_some() {
            Health::Error
        } else if s.syncing {
            Health::Syncing
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
    pub reset_required: Option<String>,
    pub reset_mode: ResetMode,
    pub paused: bool,
    pub syncing: bool,
    pub last_error: Option<String>,
    pub history: Vec<SyncHistoryPoint>,
}

impl ReplicaSummary {
    pub fn health(&self) -> Health {
        Health::of(self)
    }
}

/// One row of the edit-results grid: the seed's columns plus history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditResultRecord {
    pub layer_id: i64,
    /// Shared by every row of the layer (a million rows hold a handful of names).
    pub layer_name: std::sync::Arc<str>,
    pub object_id: Option<i64>,
    pub global_id: Option<Guid>,
    pub object_type: ObjectType,
    pub change_type: ChangeType,
    pub success: bool,
    pub code: Option<i64>,
    /// Shared by every row with the same text (the server repeats a few messages).
    pub description: std::sync::Arc<str>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub attempts: u32,
    /// Predicted locally from the service's rules, not yet reported by the server.
    pub predicted: bool,
    /// For an attachment row (ObjectType 1): what the replica file knows about the attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Boxed: few rows are attachments, and an inline detail would double every row's size.
    pub attachment: Option<Box<AttachmentDetail>>,
}

/// An attachment as the edit-results detail pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentDetail {
    pub name: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// The feature the attachment belongs to.
    pub parent_global_id: Guid,
}

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub state: JobState,
    pub uploaded: u32,
    pub downloaded: u32,
    pub failed_edits: u32,
    pub duration_ms: i64,
}

/// Where a failure came from: the transport, the service's envelope, or local files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureClass {
    Transport,
    Service,
    Local,
}

/// A failed job or command, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub class: FailureClass,
    pub code: Option<i64>,
    pub message: String,
}

/// Unsynced local changes of one layer, as a reset plan counts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerChangeCounts {
    pub layer_id: i64,
    pub layer_name: String,
    pub adds: u32,
    pub updates: u32,
    pub deletes: u32,
}

/// What a client reset will do, shown before it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetPlan {
    pub replica: LocalReplicaId,
    pub replica_name: String,
    pub reason: String,
    pub mode: ResetMode,
    pub fallback_chain: Vec<ResetMode>,
    pub changes: Vec<LayerChangeCounts>,
    /// Where the replica file and the export of unsynced changes are (or will be) backed up.
    pub backup_dir: PathBuf,
}

/// What happened to one object during a recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectOutcome {
    pub layer_id: i64,
    pub global_id: Guid,
    pub change_type: ChangeType,
    pub note: String,
}

/// The result of a finished reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetReport {
    pub replica: LocalReplicaId,
    /// The mode that finally ran (`Recover` or `Discard`).
    pub mode_used: ResetMode,
    pub recovered: Vec<ObjectOutcome>,
    pub discarded: Vec<ObjectOutcome>,
    pub backup_files: Vec<PathBuf>,
}

/// A line of the sync error log (the default sync error handler).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at_ms: i64,
    pub replica: Option<LocalReplicaId>,
    pub replica_name: String,
    pub code: Option<i64>,
    pub message: String,
}

/// What the engine tells front ends. Each send wakes the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The full replica list (start-up, refresh, after create/unregister).
    ReplicasLoaded {
        replicas: Vec<ReplicaSummary>,
    },
    /// One replica's state changed (health, counts, generations).
    ReplicaChanged {
        summary: ReplicaSummary,
    },
    /// The replica was unregistered and forgotten.
    ReplicaRemoved {
        replica: LocalReplicaId,
    },
    /// A job was recorded and will run once the replica's earlier jobs have ended. `command`:
    /// the command that queued it; `None` when the engine queued it itself (auto-sync, a resumed
    /// or detected client reset, the sync after a recovery).
    JobQueued {
        replica: LocalReplicaId,
        job: JobId,
        command: Option<CommandId>,
    },
    /// Live status of a running job; `progress` is 0.0–1.0 when known.
    JobStatus {
        replica: LocalReplicaId,
        job: JobId,
        state: JobState,
        progress: Option<f32>,
        message: String,
    },
    JobCompleted {
        replica: LocalReplicaId,
        job: JobId,
        outcome: JobOutcome,
    },
    JobFailed {
        replica: LocalReplicaId,
        job: JobId,
        error: Failure,
    },
    /// Before a sync uploads: the queued changes the service's rules predict it will refuse
    /// (rows with `predicted: true`, the server's description text), and what the replica's
    /// policy did with them: `held` changes kept back, `trimmed` sent without read-only content.
    FailuresPredicted {
        replica: LocalReplicaId,
        job: JobId,
        policy: PredictedPolicy,
        rows: Vec<EditResultRecord>,
        held: u32,
        trimmed: u32,
    },
    /// A snapshot of the replica's edit results; the grid filters it by index.
    EditResultsReady {
        replica: LocalReplicaId,
        rows: Arc<[EditResultRecord]>,
    },
    /// The service stopped answering; auto-sync backs off.
    NetworkLost {
        service_url: String,
        reason: String,
    },
    NetworkBack {
        service_url: String,
    },
    /// The server can no longer sync this replica.
    ResetRequired {
        replica: LocalReplicaId,
        reason: String,
    },
    /// A manual reset (or a fallback to manual) waits for the user's confirmation.
    ResetAwaitingConfirmation {
        plan: ResetPlan,
        fallback_error: Option<String>,
    },
    /// Seed callbacks: before the reset starts (backups are written by now).
    BeforeReset {
        plan: ResetPlan,
    },
    AfterRecovery {
        report: ResetReport,
    },
    AfterDiscard {
        report: ResetReport,
    },
    /// An automatic reset failed and fell back to manual.
    ManualResetFallback {
        replica: LocalReplicaId,
        error: String,
    },
    /// A sync error, for the log panel.
    Logged {
        entry: LogEntry,
    },
    ExportFinished {
        path: PathBuf,
        rows: usize,
    },
    /// A command could not be carried out. `command`: which one; `None` for the engine's own
    /// work (loading the replicas at start, resuming client resets, auto-sync).
    CommandFailed {
        what: String,
        error: Failure,
        command: Option<CommandId>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> ReplicaSummary {
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
            reset_required: None,
            reset_mode: ResetMode::default(),
            paused: false,
            syncing: false,
            last_error: None,
            history: vec![],
        }
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
        s.syncing = true;
        assert_eq!(s.health(), Health::Syncing);
        s.last_error = Some("timeout".into());
        assert_eq!(s.health(), Health::Error);
        s.reset_required = Some("replica does not exist".into());
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

    #[test]
    fn fallback_chains_match_the_seed() {
        assert_eq!(
            ResetMode::RecoverOrDiscard.fallback_chain(),
            &[ResetMode::Discard, ResetMode::Manual]
        );
        assert_eq!(ResetMode::Recover.fallback_chain(), &[ResetMode::Manual]);
        assert_eq!(ResetMode::Discard.fallback_chain(), &[ResetMode::Manual]);
        assert!(ResetMode::Manual.fallback_chain().is_empty());
    }
}
