//! The plain data of restoring changes from a client reset's backup (ARCHITECTURE.md,
//! "Restore from a backup"): a replica's backups as listed ([`BackupInfo`], readable or not and
//! why), a backup's changes as previewed ([`BackupPreview`], each with what a restore would do
//! now), and the [`RestoreReport`] of a finished restore. The engine fills them; the CLI prints
//! them (`--json` is their serde form, which holds no secret) and the window shows them.

use super::ids::LocalReplicaId;
use super::reset::ObjectOutcome;
use crate::protocol::{ChangeType, Guid};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What one backup holds, counted from its `unsynced-changes.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BackupCounts {
    pub adds: u32,
    pub updates: u32,
    pub deletes: u32,
    /// Queued attachment adds, updates and deletes.
    pub attachments: u32,
}

impl BackupCounts {
    /// Feature changes of every kind.
    pub fn features(&self) -> u32 {
        self.adds + self.updates + self.deletes
    }
}

/// One backup of a replica: a folder under `recovery/` a client reset left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// The folder's name, by which `syncwatch restore` and the window name the backup.
    pub name: String,
    pub dir: PathBuf,
    /// When the backup was made (epoch milliseconds; the export's time, else the record's).
    pub made_ms: Option<i64>,
    /// The reset mode that made it, when the app database recorded it (older backups: `None`).
    pub mode: Option<super::ResetMode>,
    /// What the reset finally did (`recover` or `discard`), once it finished.
    pub mode_used: Option<super::ResetMode>,
    pub reason: String,
    pub counts: BackupCounts,
    /// Why the backup cannot be read (one line), or `None` when it can.
    pub unreadable: Option<String>,
}

impl BackupInfo {
    pub fn is_readable(&self) -> bool {
        self.unreadable.is_none()
    }
}

/// One backed-up change as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupChange {
    pub layer_id: i64,
    pub layer_name: String,
    pub global_id: Guid,
    pub change_type: ChangeType,
    /// The changed fields with their values in the backup (an add: every field).
    pub fields: Vec<(String, serde_json::Value)>,
    pub geometry_changed: bool,
    /// What restoring it would do to the replica now (the rule that applies).
    pub outcome: RestoreOutcome,
    pub note: String,
}

/// A backup's changes, previewed against the replica as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupPreview {
    pub replica: LocalReplicaId,
    pub backup: BackupInfo,
    pub changes: Vec<BackupChange>,
    /// Queued attachment changes in the backup (restored with their feature's rules).
    pub attachments: Vec<BackupChange>,
}

/// What a restore does (or did) with one backed-up change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreOutcome {
    /// Queued as a new local change of the replica.
    Restored,
    /// Nothing to do: already restored, already on the server, or already deleted.
    AlreadyRestored,
    /// A rule refused it (a server delete beats a local update; deleted here since; the
    /// server's value stays under the conflict policy; the layer or field is gone).
    Discarded,
}

super::text_enum!(RestoreOutcome {
    Restored => "restored",
    AlreadyRestored => "already-restored",
    Discarded => "discarded",
});

/// The result of a restore. The backup itself is never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreReport {
    pub replica: LocalReplicaId,
    pub backup: String,
    pub restored: Vec<ObjectOutcome>,
    pub already_restored: Vec<ObjectOutcome>,
    pub discarded: Vec<ObjectOutcome>,
}

impl RestoreReport {
    pub fn new(replica: LocalReplicaId, backup: String) -> Self {
        RestoreReport {
            replica,
            backup,
            restored: Vec::new(),
            already_restored: Vec::new(),
            discarded: Vec::new(),
        }
    }

    /// Adds one outcome to its list.
    pub fn push(&mut self, outcome: RestoreOutcome, object: ObjectOutcome) {
        match outcome {
            RestoreOutcome::Restored => self.restored.push(object),
            RestoreOutcome::AlreadyRestored => self.already_restored.push(object),
            RestoreOutcome::Discarded => self.discarded.push(object),
        }
    }
}
