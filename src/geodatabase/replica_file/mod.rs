//! The local replica file: one SQLite file per replica holding its definition, its server
//! generations, the cached service and layer properties, the server's version of every feature
//! (by GlobalID, per layer), the server's attachments (`attachments`: blobs with their GlobalIDs
//! and parents) and the change queues of local feature and attachment adds, updates and deletes.
//!
//! Who calls it: the engine (from `spawn_blocking`) and tests. Everything here is **blocking**
//! rusqlite; nothing is `async`, because an async function that called rusqlite directly would
//! stall a runtime worker.
//!
//! What it must not do: talk to the network, or lose a technician's unsynced edits. Every step
//! that changes the change queue runs in one transaction; downloaded server changes and the new
//! generation(s) are written in the *same* transaction, so a generation is never persisted before
//! the changes it stands for. A file that cannot be read is never overwritten: opening it gives a
//! typed error naming the path.
//!
//! Format versions: the `meta` table holds `version`. Version 2 added the editor (the user the
//! service knows the replica's uploads by, for ownership rules) and the predicted refusal of each
//! queued change. Opening an older file migrates it in place in one transaction (a column added
//! is all a step does; nothing queued is touched).
//!
//! Model: the `features` table is always the *server's* version (what the last download or the
//! last acknowledged upload says the server holds). Local edits live only in `changes`; the local
//! view of a feature is the server version with its queued change laid over it. Dropping a change
//! therefore reverts to the server's version, and acknowledging one folds it into `features`.

use crate::protocol::{
    AttachmentsSyncDirection, Attributes, EditResultRow, Feature, FeatureChanges,
    FeatureServiceInfo, Guid, LayerEdits, LayerInfo, LayerQuery, ObjectType, ReplicaResponse,
    SyncDirection, SyncModel,
};

mod attachments;
pub use attachments::{AttachmentPayloads, LocalAttachment};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Marks a SQLite file as a syncwatch replica file (stored in `meta`).
const FORMAT_MARKER: &str = "syncwatch-replica";
/// Schema version of replica files written by this build. 1: features and changes;
/// 2: attachments and attachment changes; 3: the editor and predicted refusals;
/// 4: the queue's counts kept by triggers. Older files are migrated when opened.
const FORMAT_VERSION: i64 = 4;
/// What version 3 adds to a version 2 file.
const EDITOR_AND_PREDICTIONS: &str = "
    ALTER TABLE definition ADD COLUMN editor TEXT;
    ALTER TABLE changes ADD COLUMN predicted_code INTEGER;
    ALTER TABLE changes ADD COLUMN predicted_text TEXT;
    ALTER TABLE changes ADD COLUMN predicted_revision INTEGER;
";
/// What version 4 adds: the queue's counts per layer, kept by triggers in the same transaction as
/// every change to the queue, so a summary (built after every local edit and sync step) reads a
/// few rows instead of counting a queue that may hold tens of thousands of changes. (No `OR
/// IGNORE` inside: a trigger takes the conflict policy of the statement that fired it.)
fn queue_counts_sql() -> String {
    // Adds (`+`) or takes away (`-`) one change row's contribution (`NEW` or `OLD`).
    let count = |sign: &str, row: &str| {
        format!(
            "UPDATE queue_counts SET
                adds = adds {sign} ({row}.kind = 'add'),
                updates = updates {sign} ({row}.kind = 'update'),
                deletes = deletes {sign} ({row}.kind = 'delete'),
                failed = failed {sign} ({row}.state = 'failed'),
                predicted = predicted {sign} COALESCE({row}.state <> 'failed'
                    AND {row}.predicted_code IS NOT NULL
                    AND {row}.predicted_revision = {row}.revision, 0)
            WHERE layer_id = {row}.layer_id;"
        )
    };
    let ensure_row = "INSERT INTO queue_counts (layer_id) SELECT NEW.layer_id
        WHERE NOT EXISTS (SELECT 1 FROM queue_counts WHERE layer_id = NEW.layer_id);";
    let (add_new, take_old) = (count("+", "NEW"), count("-", "OLD"));
    format!(
        "CREATE TABLE IF NOT EXISTS queue_counts (
            layer_id INTEGER PRIMARY KEY,
            adds INTEGER NOT NULL DEFAULT 0,
            updates INTEGER NOT NULL DEFAULT 0,
            deletes INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            predicted INTEGER NOT NULL DEFAULT 0
        );
        CREATE TRIGGER IF NOT EXISTS queue_counts_insert AFTER INSERT ON changes BEGIN
            {ensure_row} {add_new}
        END;
        CREATE TRIGGER IF NOT EXISTS queue_counts_delete AFTER DELETE ON changes BEGIN
            {take_old}
        END;
        CREATE TRIGGER IF NOT EXISTS queue_counts_update
        AFTER UPDATE OF layer_id, kind, state, predicted_code, predicted_revision, revision
        ON changes BEGIN
            {take_old} {ensure_row} {add_new}
        END;"
    )
}
/// Also version 4: any change to the queue makes the stored predictions due (judged again by the
/// next reader), in the same transaction, so no writer can forget it.
const PREDICTIONS_DUE_ON_CHANGE: &str = "
    CREATE TRIGGER IF NOT EXISTS predictions_due_insert AFTER INSERT ON changes BEGIN
        DELETE FROM meta WHERE key = 'predictions';
        INSERT INTO meta (key, value) VALUES ('predictions', 'due');
    END;
    CREATE TRIGGER IF NOT EXISTS predictions_due_update
    AFTER UPDATE OF kind, attributes_json, geometry_json, revision, state ON changes BEGIN
        DELETE FROM meta WHERE key = 'predictions';
        INSERT INTO meta (key, value) VALUES ('predictions', 'due');
    END;
    CREATE TRIGGER IF NOT EXISTS predictions_due_delete AFTER DELETE ON changes BEGIN
        DELETE FROM meta WHERE key = 'predictions';
        INSERT INTO meta (key, value) VALUES ('predictions', 'due');
    END;
";
/// Fills the counts of a file migrated to version 4 from the queue it already holds.
const COUNT_EXISTING_QUEUE: &str = "
    DELETE FROM queue_counts;
    INSERT INTO queue_counts (layer_id, adds, updates, deletes, failed, predicted)
    SELECT layer_id, SUM(kind = 'add'), SUM(kind = 'update'), SUM(kind = 'delete'),
        SUM(state = 'failed'),
        SUM(COALESCE(state <> 'failed' AND predicted_code IS NOT NULL
            AND predicted_revision = revision, 0))
    FROM changes GROUP BY layer_id;
";
/// How long a write waits for another process holding the file (the GUI and a CLI command).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Attribute name used for the GlobalID when the layer's properties do not name one.
const DEFAULT_GLOBAL_ID_FIELD: &str = "GlobalID";

/// Why a replica file operation failed. Messages name the file last.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaFileError {
    #[error("replica file does not exist: {path}")]
    Missing { path: PathBuf },
    #[error("refusing to overwrite an existing file: {path}")]
    AlreadyExists { path: PathBuf },
    #[error("replica file is corrupt or not a SQLite file: {path}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("file is not a syncwatch replica file ({reason}): {path}")]
    NotAReplicaFile { path: PathBuf, reason: String },
    #[error(
        "replica file was written by a newer syncwatch (format {found}, this build reads {FORMAT_VERSION}): {path}"
    )]
    TooNew { path: PathBuf, found: i64 },
    #[error("could not read or write the replica file: {path}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("could not create the replica file: {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("replica file holds unreadable JSON in {what}: {path}")]
    BadJson {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("layer {layer_id} is not part of this replica")]
    UnknownLayer { layer_id: i64 },
    #[error("no feature {global_id} in layer {layer_id}")]
    NoSuchFeature { layer_id: i64, global_id: Guid },
    #[error("feature {global_id} already exists in layer {layer_id}")]
    FeatureExists { layer_id: i64, global_id: Guid },
    #[error("feature {global_id} in layer {layer_id} is deleted locally; drop the delete first")]
    DeletedLocally { layer_id: i64, global_id: Guid },
    #[error("no queued local change for {global_id} in layer {layer_id}")]
    NoSuchChange { layer_id: i64, global_id: Guid },
    #[error(
        "the queued change for {global_id} in layer {layer_id} is a delete; it has no values to fix"
    )]
    CannotFixDelete { layer_id: i64, global_id: Guid },
    #[error("the server's reply did not carry a replicaID")]
    MissingReplicaId,
    #[error("no feature {global_id} in any layer of this replica")]
    NoSuchFeatureAnywhere { global_id: Guid },
    #[error("no attachment {global_id} in this replica")]
    NoSuchAttachment { global_id: Guid },
    #[error("layer {layer_id} does not have attachments")]
    NoAttachments { layer_id: i64 },
    #[error(
        "this replica does not sync attachments (it was created with attachmentsSyncDirection none)"
    )]
    AttachmentsNotSynced,
    #[error("the server sent attachment {global_id} without its data: {path}")]
    MissingAttachmentData { global_id: Guid, path: PathBuf },
}

/// Everything that identifies a replica and how it syncs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaDefinition {
    pub service_url: String,
    pub replica_guid: Guid,
    pub name: String,
    pub sync_model: SyncModel,
    pub direction: SyncDirection,
    pub layers: Vec<ReplicaLayer>,
    /// Epoch milliseconds.
    pub created_ms: i64,
}

/// One layer of a replica and the query it was created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaLayer {
    pub layer_id: i64,
    pub name: String,
    pub query: LayerQuery,
}

/// The replica's server generations: one for perReplica, one per layer for perLayer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Generations {
    pub replica_server_gen: Option<i64>,
    /// `(layer_id, serverGen)`, for every layer that has one.
    pub layer_server_gens: Vec<(i64, i64)>,
}

/// What a queued local change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Add,
    Update,
    Delete,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Update => "update",
            ChangeKind::Delete => "delete",
        }
    }
    fn parse(text: &str) -> Option<Self> {
        match text {
            "add" => Some(ChangeKind::Add),
            "update" => Some(ChangeKind::Update),
            "delete" => Some(ChangeKind::Delete),
            _ => None,
        }
    }
    /// The edit-result change type this kind is reported as.
    pub fn change_type(self) -> crate::protocol::ChangeType {
        match self {
            ChangeKind::Add => crate::protocol::ChangeType::Insert,
            ChangeKind::Update => crate::protocol::ChangeType::Update,
            ChangeKind::Delete => crate::protocol::ChangeType::Delete,
        }
    }
}

/// Where a queued change stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeState {
    /// Not sent yet (or changed since it was sent).
    Pending,
    /// Sent; the server has not confirmed it. Resent on the next sync.
    Uploaded,
    /// The server refused it; resent on the next sync until fixed or dropped.
    Failed,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Uploaded => "uploaded",
            ChangeState::Failed => "failed",
        }
    }
    fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(ChangeState::Pending),
            "uploaded" => Some(ChangeState::Uploaded),
            "failed" => Some(ChangeState::Failed),
            _ => None,
        }
    }
}

/// One queued local change of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalChange {
    pub layer_id: i64,
    pub global_id: Guid,
    pub kind: ChangeKind,
    /// Add: every attribute. Update: only the changed fields. Delete: empty.
    pub attributes: Attributes,
    /// Add: the geometry. Update: the new geometry, `None` when unchanged. Delete: `None`.
    pub geometry: Option<serde_json::Value>,
    /// The server's version when the change was first made (none for an add).
    pub before: Option<Feature>,
    /// The client generation of the last upload that carried it.
    pub upload_gen: Option<i64>,
    pub state: ChangeState,
    pub error_code: Option<i64>,
    pub error_text: Option<String>,
    /// Epoch milliseconds of the last local edit.
    pub edited_ms: i64,
    /// Bumped on every local edit; tells an acknowledgement whether the change moved on since upload.
    pub revision: i64,
}

/// Queued changes of one layer, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingCounts {
    pub layer_id: i64,
    pub adds: u32,
    pub updates: u32,
    pub deletes: u32,
    /// Of those, how many the server refused last time (attachment changes included).
    pub failed: u32,
    /// Queued attachment adds, updates and deletes.
    pub attachments: u32,
    /// Of the feature changes not refused yet, how many the service's rules predict it will
    /// refuse.
    pub predicted: u32,
}

impl PendingCounts {
    pub fn total(&self) -> u32 {
        self.adds + self.updates + self.deletes + self.attachments
    }
}

/// An upload prepared by [`ReplicaFile::begin_upload`]: the `edits` parameter and its client generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub upload_gen: i64,
    pub edits: Vec<LayerEdits>,
    pub change_count: u32,
    /// Changes the plan kept back (still queued, not marked).
    pub held: u32,
    /// Changes sent without some of their content.
    pub trimmed: u32,
}

/// One queued change as it was when judged: a plan entry only applies while the change is still
/// at that revision (an edit made since then is sent as it is).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeKey {
    pub layer_id: i64,
    pub global_id: Guid,
    pub revision: i64,
}

impl ChangeKey {
    pub fn of(change: &LocalChange) -> Self {
        ChangeKey {
            layer_id: change.layer_id,
            global_id: change.global_id.clone(),
            revision: change.revision,
        }
    }
}

/// Content left out of one change when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trim {
    pub change: ChangeKey,
    /// Attribute names (any case) not sent.
    pub fields: Vec<String>,
    /// The geometry is not sent.
    pub geometry: bool,
}

/// What an upload leaves out (the engine decides it from predicted refusals).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UploadPlan {
    /// Changes kept back locally: not sent, not marked, still queued.
    pub held: Vec<ChangeKey>,
    /// Changes sent without some of their content; what is sent is what an acknowledgement keeps.
    pub trimmed: Vec<Trim>,
}

/// A refusal the service's rules predict for a queued change at `change.revision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictedRefusal {
    pub change: ChangeKey,
    pub kind: ChangeKind,
    pub code: i64,
    pub description: String,
}

/// A refused edit as the replica file records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedEdit {
    pub layer_id: i64,
    pub global_id: Guid,
    pub kind: ChangeKind,
    pub code: Option<i64>,
    pub description: String,
}

/// What [`ReplicaFile::apply_sync`] did, in one transaction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppliedSync {
    /// Uploaded changes the reply did not refuse; folded into the server version and unqueued.
    pub acknowledged: Vec<(i64, Guid, ChangeKind)>,
    /// Uploaded changes the server refused; still queued.
    pub refused: Vec<RefusedEdit>,
    pub downloaded_adds: u32,
    pub downloaded_updates: u32,
    pub downloaded_deletes: u32,
    /// Local updates or deletes dropped because the server deleted the feature (server delete wins).
    pub superseded: Vec<(i64, Guid)>,
    /// The generations now stored.
    pub generations: Generations,
    /// Attachments downloaded (adds, updates and deletes).
    pub downloaded_attachments: u32,
    /// Uploaded attachment changes the reply did not refuse.
    pub acknowledged_attachments: Vec<(i64, Guid, ChangeKind)>,
    /// Uploaded attachment changes the server refused; still queued.
    pub refused_attachments: Vec<RefusedEdit>,
}

impl AppliedSync {
    pub fn downloaded(&self) -> u32 {
        self.downloaded_adds
            + self.downloaded_updates
            + self.downloaded_deletes
            + self.downloaded_attachments
    }
}

/// How a new replica file takes attachments: the replica's attachmentsSyncDirection and the
/// data of attachments the createReplica reply gave by URL (downloaded to files beforehand).
#[derive(Debug, Clone, Copy)]
pub struct AttachmentSetup<'a> {
    pub direction: AttachmentsSyncDirection,
    pub payloads: &'a AttachmentPayloads,
}

/// An open replica file.
pub struct ReplicaFile {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for ReplicaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaFile")
            .field("path", &self.path)
            .finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE definition (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    service_url TEXT NOT NULL,
    replica_guid TEXT NOT NULL,
    name TEXT NOT NULL,
    sync_model TEXT NOT NULL,
    direction TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    replica_server_gen INTEGER,
    service_info_json TEXT,
    editor TEXT
);
CREATE TABLE layers (
    layer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    query_json TEXT NOT NULL,
    server_gen INTEGER,
    layer_info_json TEXT
);
CREATE TABLE features (
    layer_id INTEGER NOT NULL REFERENCES layers(layer_id),
    global_id TEXT NOT NULL,
    object_id INTEGER,
    attributes_json TEXT NOT NULL,
    geometry_json TEXT,
    PRIMARY KEY (layer_id, global_id)
);
CREATE TABLE changes (
    layer_id INTEGER NOT NULL REFERENCES layers(layer_id),
    global_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('add', 'update', 'delete')),
    attributes_json TEXT NOT NULL,
    geometry_json TEXT,
    before_json TEXT,
    upload_gen INTEGER,
    uploaded_revision INTEGER,
    uploaded_json TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'failed')),
    error_code INTEGER,
    error_text TEXT,
    edited_ms INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    predicted_code INTEGER,
    predicted_text TEXT,
    predicted_revision INTEGER,
    PRIMARY KEY (layer_id, global_id)
);
";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl ReplicaFile {
    /// Creates a new replica file at `path` from a createReplica reply (its data is the server's
    /// version of every feature). Refuses to overwrite an existing file. The file is written under
    /// a temporary name and renamed into place when complete, and is readable by the user only.
    pub fn create(
        path: &Path,
        definition: &ReplicaDefinition,
        response: &ReplicaResponse,
        service_info: Option<&FeatureServiceInfo>,
        layer_infos: &[LayerInfo],
    ) -> Result<ReplicaFile, ReplicaFileError> {
        let no_attachments = AttachmentSetup {
            direction: AttachmentsSyncDirection::None,
            payloads: &AttachmentPayloads::new(),
        };
        ReplicaFile::create_with_attachments(
            path,
            definition,
            response,
            service_info,
            layer_infos,
            &no_attachments,
        )
    }

    /// [`ReplicaFile::create`] for a replica that syncs attachments: the reply's attachments are
    /// stored with their data (base64 in the reply, or files in `attachments.payloads`).
    pub fn create_with_attachments(
        path: &Path,
        definition: &ReplicaDefinition,
        response: &ReplicaResponse,
        service_info: Option<&FeatureServiceInfo>,
        layer_infos: &[LayerInfo],
        attachments: &AttachmentSetup<'_>,
    ) -> Result<ReplicaFile, ReplicaFileError> {
        if path.exists() {
            return Err(ReplicaFileError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        let partial = path.with_extension("partial");
        if partial.exists() {
            // A half-written file from an interrupted create holds nothing the user made.
            std::fs::remove_file(&partial).map_err(|source| ReplicaFileError::Io {
                path: partial.clone(),
                source,
            })?;
        }
        create_private_file(&partial)?;
        {
            let mut file = ReplicaFile::connect(&partial, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            file.write_initial(definition, response, service_info, layer_infos, attachments)?;
        }
        if path.exists() {
            return Err(ReplicaFileError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        std::fs::rename(&partial, path).map_err(|source| ReplicaFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ReplicaFile::open(path)
    }

    /// Opens an existing replica file. A missing, corrupt or foreign file is a typed error naming it.
    pub fn open(path: &Path) -> Result<ReplicaFile, ReplicaFileError> {
        if !path.exists() {
            return Err(ReplicaFileError::Missing {
                path: path.to_path_buf(),
            });
        }
        let mut file = ReplicaFile::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let version = file.check_format()?;
        if version < FORMAT_VERSION {
            file.migrate(version)?;
        }
        Ok(file)
    }

    /// Brings an older file up to [`FORMAT_VERSION`] in one transaction: the tables and columns
    /// it lacks are added, nothing existing is touched, so queued edits are kept as they are.
    fn migrate(&mut self, from: i64) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        // Another process may have migrated it while we waited for the lock.
        let found: i64 = tx
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'version'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| sql_at(&path, e))?;
        if found != from {
            return Ok(());
        }
        if from < 2 {
            tx.execute_batch(attachments::ATTACHMENT_SCHEMA)
                .map_err(|e| sql_at(&path, e))?;
        }
        if from < 3 {
            tx.execute_batch(EDITOR_AND_PREDICTIONS)
                .map_err(|e| sql_at(&path, e))?;
        }
        if from < 4 {
            tx.execute_batch(&queue_counts_sql())
                .and_then(|()| tx.execute_batch(PREDICTIONS_DUE_ON_CHANGE))
                .and_then(|()| tx.execute_batch(COUNT_EXISTING_QUEUE))
                .map_err(|e| sql_at(&path, e))?;
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'version'",
            [FORMAT_VERSION.to_string()],
        )
        .map_err(|e| sql_at(&path, e))?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        tracing::info!(path = %path.display(), from, to = FORMAT_VERSION, "replica file migrated");
        Ok(())
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<ReplicaFile, ReplicaFileError> {
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|source| ReplicaFileError::Corrupt {
                path: path.to_path_buf(),
                source,
            })?;
        let file = ReplicaFile {
            conn,
            path: path.to_path_buf(),
        };
        file.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| file.sql(e))?;
        // Applying a sync runs a dozen per-row statements tens of thousands of times.
        file.conn.set_prepared_statement_cache_capacity(64);
        // FULL: a committed sync must survive a power cut before the generation is trusted.
        file.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|source| ReplicaFileError::Corrupt {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(file)
    }

    /// The file's format version, checked to be one this build reads.
    fn check_format(&self) -> Result<i64, ReplicaFileError> {
        let marker: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|source| match source {
                rusqlite::Error::SqliteFailure(ref e, _)
                    if e.code == rusqlite::ErrorCode::NotADatabase
                        || e.code == rusqlite::ErrorCode::DatabaseCorrupt =>
                {
                    ReplicaFileError::Corrupt {
                        path: self.path.clone(),
                        source,
                    }
                }
                other => ReplicaFileError::NotAReplicaFile {
                    path: self.path.clone(),
                    reason: other.to_string(),
                },
            })?;
        if marker.as_deref() != Some(FORMAT_MARKER) {
            return Err(ReplicaFileError::NotAReplicaFile {
                path: self.path.clone(),
                reason: "no format marker".into(),
            });
        }
        let version: i64 = self
            .conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'version'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.sql(e))?;
        if version > FORMAT_VERSION {
            return Err(ReplicaFileError::TooNew {
                path: self.path.clone(),
                found: version,
            });
        }
        Ok(version)
    }

    fn write_initial(
        &mut self,
        definition: &ReplicaDefinition,
        response: &ReplicaResponse,
        service_info: Option<&FeatureServiceInfo>,
        layer_infos: &[LayerInfo],
        setup: &AttachmentSetup<'_>,
    ) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        tx.execute_batch(SCHEMA).map_err(|e| sql_at(&path, e))?;
        tx.execute_batch(&queue_counts_sql())
            .and_then(|()| tx.execute_batch(PREDICTIONS_DUE_ON_CHANGE))
            .map_err(|e| sql_at(&path, e))?;
        tx.execute_batch(attachments::ATTACHMENT_SCHEMA)
            .map_err(|e| sql_at(&path, e))?;
        attachments::store_direction(&tx, &path, setup.direction)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('format', ?1), ('version', ?2)",
            params![FORMAT_MARKER, FORMAT_VERSION.to_string()],
        )
        .map_err(|e| sql_at(&path, e))?;
        let service_info_json = service_info.map(to_json).transpose()?;
        tx.execute(
            "INSERT INTO definition (singleton, service_url, replica_guid, name, sync_model,
                 direction, created_ms, replica_server_gen, service_info_json)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)",
            params![
                definition.service_url,
                definition.replica_guid.as_str(),
                definition.name,
                definition.sync_model.as_str(),
                definition.direction.as_str(),
                definition.created_ms,
                service_info_json,
            ],
        )
        .map_err(|e| sql_at(&path, e))?;
        for layer in &definition.layers {
            let info = layer_infos.iter().find(|i| i.id == Some(layer.layer_id));
            tx.execute(
                "INSERT INTO layers (layer_id, name, query_json, server_gen, layer_info_json)
                 VALUES (?1, ?2, ?3, NULL, ?4)",
                params![
                    layer.layer_id,
                    layer.name,
                    to_json(&layer.query)?,
                    info.map(to_json).transpose()?,
                ],
            )
            .map_err(|e| sql_at(&path, e))?;
        }
        let mut stored = attachments::AttachmentSync::default();
        for layer in &response.layers {
            for feature in &layer.features {
                upsert_server_feature(&tx, &path, layer.id, feature, true)?;
            }
            let items: Vec<_> = layer.attachments.iter().collect();
            attachments::apply_download(
                &tx,
                &path,
                layer.id,
                &items,
                &[],
                setup.payloads,
                &mut stored,
            )?;
        }
        store_generations(&tx, &path, response)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A write transaction that takes the write lock up front, so it waits (busy timeout) for
    /// another process instead of failing half-way when upgrading from a read.
    fn write_tx(&mut self) -> Result<Transaction<'_>, ReplicaFileError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_at(&self.path, e))
    }

    fn sql(&self, source: rusqlite::Error) -> ReplicaFileError {
        sql_at(&self.path, source)
    }

    /// The replica's definition.
    pub fn definition(&self) -> Result<ReplicaDefinition, ReplicaFileError> {
        let row = self
            .conn
            .query_row(
                "SELECT service_url, replica_guid, name, sync_model, direction, created_ms
                 FROM definition WHERE singleton = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .map_err(|e| self.sql(e))?;
        let (service_url, guid, name, model, direction, created_ms) = row;
        let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
            path: self.path.clone(),
            reason: format!("unreadable {what}"),
        };
        let mut stmt = self
            .conn
            .prepare("SELECT layer_id, name, query_json FROM layers ORDER BY layer_id")
            .map_err(|e| self.sql(e))?;
        let layers = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?
            .into_iter()
            .map(|(layer_id, name, query)| {
                Ok(ReplicaLayer {
                    layer_id,
                    name,
                    query: from_json(&self.path, "a layer query", &query)?,
                })
            })
            .collect::<Result<Vec<_>, ReplicaFileError>>()?;
        Ok(ReplicaDefinition {
            service_url,
            replica_guid: Guid::parse(&guid).map_err(|_| bad("replica GUID"))?,
            name,
            sync_model: model.parse().map_err(|_| bad("sync model"))?,
            direction: direction.parse().map_err(|_| bad("sync direction"))?,
            layers,
            created_ms,
        })
    }

    /// The stored server generation(s).
    pub fn generations(&self) -> Result<Generations, ReplicaFileError> {
        read_generations(&self.conn, &self.path)
    }

    /// The cached service properties (for offline validation).
    pub fn service_info(&self) -> Result<Option<FeatureServiceInfo>, ReplicaFileError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT service_info_json FROM definition WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        text.map(|t| from_json(&self.path, "the service properties", &t))
            .transpose()
    }

    /// The cached properties of one layer.
    pub fn layer_info(&self, layer_id: i64) -> Result<Option<LayerInfo>, ReplicaFileError> {
        read_layer_info(&self.conn, &self.path, layer_id)
    }

    /// Replaces the cached service and layer properties (after a fresh fetch).
    pub fn cache_properties(
        &mut self,
        service_info: &FeatureServiceInfo,
        layer_infos: &[LayerInfo],
    ) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE definition SET service_info_json = ?1 WHERE singleton = 1",
            [to_json(service_info)?],
        )
        .map_err(|e| sql_at(&path, e))?;
        for info in layer_infos {
            if let Some(id) = info.id {
                tx.execute(
                    "UPDATE layers SET layer_info_json = ?1 WHERE layer_id = ?2",
                    params![to_json(info)?, id],
                )
                .map_err(|e| sql_at(&path, e))?;
            }
        }
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// The user the service knows this replica's uploads by (its `replicaOwner`; empty for
    /// anonymous), `None` when not known yet. Ownership rules are judged for this user.
    pub fn editor(&self) -> Result<Option<String>, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT editor FROM definition WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// Records the user the service knows this replica's uploads by.
    pub fn set_editor(&mut self, editor: &str) -> Result<(), ReplicaFileError> {
        self.conn
            .execute(
                "UPDATE definition SET editor = ?1 WHERE singleton = 1",
                [editor],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The values of `field` in the server's version of every feature of a layer this file
    /// holds, by GlobalID (nulls left out).
    pub fn server_values(
        &self,
        layer_id: i64,
        field: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, ReplicaFileError> {
        let path = format!("$.\"{}\"", field.replace('"', ""));
        let mut stmt = self
            .conn
            .prepare(
                "SELECT global_id, json_extract(attributes_json, ?2) FROM features
                 WHERE layer_id = ?1 AND json_extract(attributes_json, ?2) IS NOT NULL",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![layer_id, path], |r| {
                let value = match r.get_ref(1)? {
                    rusqlite::types::ValueRef::Integer(i) => serde_json::Value::from(i),
                    rusqlite::types::ValueRef::Real(f) => serde_json::Value::from(f),
                    rusqlite::types::ValueRef::Text(t) => {
                        serde_json::Value::String(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => serde_json::Value::Null,
                };
                Ok((r.get::<_, String>(0)?, value))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Replaces every stored prediction with `predictions` (one transaction). A prediction is
    /// kept only for the change revision it was made for.
    pub fn store_predictions(
        &mut self,
        predictions: &[PredictedRefusal],
    ) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE changes SET predicted_code = NULL, predicted_text = NULL, predicted_revision = NULL",
            [],
        )
        .map_err(|e| sql_at(&path, e))?;
        tx.execute("DELETE FROM meta WHERE key = 'predictions'", [])
            .map_err(|e| sql_at(&path, e))?;
        for p in predictions {
            tx.execute(
                "UPDATE changes SET predicted_code = ?4, predicted_text = ?5, predicted_revision = ?3
                 WHERE layer_id = ?1 AND global_id = ?2 AND revision = ?3",
                params![
                    p.change.layer_id,
                    p.change.global_id.as_str(),
                    p.change.revision,
                    p.code,
                    p.description
                ],
            )
            .map_err(|e| sql_at(&path, e))?;
        }
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Notes that the predictions must be judged again by the next reader
    /// ([`ReplicaFile::store_predictions`] clears the note). Any change to the feature queue
    /// notes it by itself (a trigger); attachment changes and new rules need this call.
    pub fn mark_predictions_due(&mut self) -> Result<(), ReplicaFileError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('predictions', 'due')",
                [],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Whether changes were queued since the predictions were last stored.
    pub fn predictions_due(&self) -> Result<bool, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'predictions')",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// The stored predictions that still stand: made for the change's current revision, and the
    /// server has not refused that change yet (then its real result is what counts).
    pub fn predicted_refusals(&self) -> Result<Vec<PredictedRefusal>, ReplicaFileError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, global_id, revision, kind, predicted_code, predicted_text
                 FROM changes
                 WHERE predicted_code IS NOT NULL AND predicted_revision = revision
                     AND state <> 'failed'
                 ORDER BY layer_id, global_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
            path: self.path.clone(),
            reason: format!("unreadable {what} in the change queue"),
        };
        rows.into_iter()
            .map(|(layer_id, gid, revision, kind, code, text)| {
                Ok(PredictedRefusal {
                    change: ChangeKey {
                        layer_id,
                        global_id: Guid::parse(&gid).map_err(|_| bad("GlobalID"))?,
                        revision,
                    },
                    kind: ChangeKind::parse(&kind).ok_or_else(|| bad("change kind"))?,
                    code,
                    description: text.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The layer's GlobalID field name (from its cached properties, else `GlobalID`).
    pub fn layer_global_id_field(&self, layer_id: i64) -> Result<String, ReplicaFileError> {
        global_id_field(&self.conn, &self.path, layer_id)
    }

    /// The server's version of a feature, as last downloaded or acknowledged.
    pub fn server_feature(
        &self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<Option<Feature>, ReplicaFileError> {
        read_server_feature(&self.conn, &self.path, layer_id, global_id)
    }

    /// The feature as the technician sees it: the server version with its queued change applied.
    /// `None` when it does not exist or is deleted locally.
    pub fn local_feature(
        &self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<Option<Feature>, ReplicaFileError> {
        let server = self.server_feature(layer_id, global_id)?;
        let change = read_change(&self.conn, &self.path, layer_id, global_id)?;
        Ok(overlay(server, change.as_ref()))
    }

    /// Every feature of a layer as the technician sees it, ordered by GlobalID.
    pub fn local_features(&self, layer_id: i64) -> Result<Vec<Feature>, ReplicaFileError> {
        self.ensure_layer(layer_id)?;
        let mut ids: Vec<Guid> = Vec::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT global_id FROM features WHERE layer_id = ?1
                 UNION SELECT global_id FROM changes WHERE layer_id = ?1 ORDER BY 1",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([layer_id], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let text = row.map_err(|e| self.sql(e))?;
            if let Ok(g) = Guid::parse(&text) {
                ids.push(g);
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for g in ids {
            if let Some(f) = self.local_feature(layer_id, &g)? {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Number of server features stored for a layer.
    pub fn server_feature_count(&self, layer_id: i64) -> Result<u32, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM features WHERE layer_id = ?1",
                [layer_id],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    fn ensure_layer(&self, layer_id: i64) -> Result<(), ReplicaFileError> {
        ensure_layer(&self.conn, &self.path, layer_id)
    }

    fn global_id_field(&self, layer_id: i64) -> Result<String, ReplicaFileError> {
        global_id_field(&self.conn, &self.path, layer_id)
    }

    /// Records a local add. The feature's GlobalID is used when it has one, otherwise a new one is
    /// assigned. Returns the GlobalID.
    pub fn record_add(
        &mut self,
        layer_id: i64,
        mut feature: Feature,
    ) -> Result<Guid, ReplicaFileError> {
        let gid_field = self.global_id_field(layer_id)?;
        let global_id = match feature.global_id() {
            Some(g) => g,
            None => Guid::new_v4(),
        };
        feature.attributes.retain(|k, _| {
            !k.eq_ignore_ascii_case("globalid") && !k.eq_ignore_ascii_case(&gid_field)
        });
        feature.attributes.insert(
            gid_field,
            serde_json::Value::String(global_id.as_str().to_string()),
        );
        let path = self.path.clone();
        let tx = self.write_tx()?;
        if read_server_feature(&tx, &path, layer_id, &global_id)?.is_some()
            || read_change(&tx, &path, layer_id, &global_id)?.is_some()
        {
            return Err(ReplicaFileError::FeatureExists {
                layer_id,
                global_id,
            });
        }
        let change = fresh_change(
            layer_id,
            &global_id,
            ChangeKind::Add,
            feature.attributes,
            feature.geometry,
            None,
        );
        write_change(&tx, &path, &change)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(global_id)
    }

    /// Records a local update of some attributes (and optionally the geometry). An update of a
    /// local add stays an add; repeated updates merge; the before-image is the server's version
    /// when the feature was first changed.
    pub fn record_update(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
        attributes: Attributes,
        geometry: Option<serde_json::Value>,
    ) -> Result<(), ReplicaFileError> {
        self.ensure_layer(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let changed = without_global_id(attributes);
        let change = match read_change(&tx, &path, layer_id, global_id)? {
            Some(existing) if existing.kind == ChangeKind::Delete => {
                return Err(ReplicaFileError::DeletedLocally {
                    layer_id,
                    global_id: global_id.clone(),
                });
            }
            Some(mut existing) => {
                existing.attributes.extend(changed);
                if geometry.is_some() {
                    existing.geometry = geometry;
                }
                touched(existing)
            }
            None => {
                let Some(server) = read_server_feature(&tx, &path, layer_id, global_id)? else {
                    return Err(ReplicaFileError::NoSuchFeature {
                        layer_id,
                        global_id: global_id.clone(),
                    });
                };
                fresh_change(
                    layer_id,
                    global_id,
                    ChangeKind::Update,
                    changed,
                    geometry,
                    Some(server),
                )
            }
        };
        write_change(&tx, &path, &change)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Records a local delete. Deleting a local add removes the add (the server never saw it);
    /// deleting an updated feature turns the update into a delete (the before-image is kept).
    pub fn record_delete(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<(), ReplicaFileError> {
        self.ensure_layer(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        match read_change(&tx, &path, layer_id, global_id)? {
            Some(existing) if existing.kind == ChangeKind::Add && existing.upload_gen.is_none() => {
                delete_change(&tx, &path, layer_id, global_id)?;
            }
            Some(existing) if existing.kind == ChangeKind::Delete => {}
            Some(existing) => {
                // An add that was already sent may exist on the server: delete it there too.
                let deleted = LocalChange {
                    kind: ChangeKind::Delete,
                    attributes: Attributes::new(),
                    geometry: None,
                    ..touched(existing)
                };
                write_change(&tx, &path, &deleted)?;
            }
            None => {
                let Some(server) = read_server_feature(&tx, &path, layer_id, global_id)? else {
                    return Err(ReplicaFileError::NoSuchFeature {
                        layer_id,
                        global_id: global_id.clone(),
                    });
                };
                let change = fresh_change(
                    layer_id,
                    global_id,
                    ChangeKind::Delete,
                    Attributes::new(),
                    None,
                    Some(server),
                );
                write_change(&tx, &path, &change)?;
            }
        }
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Every queued change, by layer then GlobalID.
    pub fn changes(&self) -> Result<Vec<LocalChange>, ReplicaFileError> {
        read_changes(&self.conn, &self.path)
    }

    /// One queued change.
    pub fn change(
        &self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<Option<LocalChange>, ReplicaFileError> {
        read_change(&self.conn, &self.path, layer_id, global_id)
    }

    /// Queued changes per layer and kind (every layer of the replica, zeros included).
    pub fn pending_counts(&self) -> Result<Vec<PendingCounts>, ReplicaFileError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.layer_id, COALESCE(q.adds, 0), COALESCE(q.updates, 0),
                    COALESCE(q.deletes, 0), COALESCE(q.failed, 0), COALESCE(q.predicted, 0)
                 FROM layers l LEFT JOIN queue_counts q ON q.layer_id = l.layer_id
                 ORDER BY l.layer_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PendingCounts {
                    layer_id: r.get(0)?,
                    adds: r.get(1)?,
                    updates: r.get(2)?,
                    deletes: r.get(3)?,
                    failed: r.get(4)?,
                    attachments: 0,
                    predicted: r.get(5)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        let mut counts = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        let queued = attachments::counts(&self.conn, &self.path)?;
        for c in &mut counts {
            if let Some((total, failed)) = queued.get(&c.layer_id) {
                c.attachments = *total;
                c.failed += failed;
            }
        }
        Ok(counts)
    }

    /// The `edits` parameter for every queued change (pending, unconfirmed and refused alike;
    /// attachments with their data as base64), without marking anything. Empty layers are left
    /// out.
    pub fn build_edits(&self) -> Result<Vec<LayerEdits>, ReplicaFileError> {
        let (mut edits, _, _) = build_edits(&self.conn, &self.path, &UploadPlan::default())?;
        attachments::push_edits(&self.conn, &self.path, &mut edits)?;
        Ok(edits)
    }

    /// Builds the `edits` for an upload and marks every included change as uploaded with a new
    /// client generation, in one transaction. `None` when nothing is queued.
    pub fn begin_upload(&mut self) -> Result<Option<Upload>, ReplicaFileError> {
        self.begin_upload_with(&UploadPlan::default())
    }

    /// [`ReplicaFile::begin_upload`] following `plan`: held changes stay queued and unmarked,
    /// trimmed ones are sent (and marked) without the content the plan leaves out. `None` when
    /// nothing is queued; an upload with no edits when everything queued is held.
    pub fn begin_upload_with(
        &mut self,
        plan: &UploadPlan,
    ) -> Result<Option<Upload>, ReplicaFileError> {
        let path = self.path.clone();
        // Built and marked in one write transaction: an edit cannot slip in between and be
        // mistaken for the uploaded revision.
        let tx = self.write_tx()?;
        let (mut edits, held, trimmed) = build_edits(&tx, &path, plan)?;
        let attachment_count = attachments::push_edits(&tx, &path, &mut edits)?;
        if edits.is_empty() && held == 0 {
            return Ok(None);
        }
        let last_gen: Option<i64> = tx
            .query_row(
                "SELECT MAX(g) FROM (SELECT MAX(upload_gen) AS g FROM changes
                                     UNION ALL SELECT MAX(upload_gen) FROM attachment_changes)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| sql_at(&path, e))?;
        let upload_gen = now_ms().max(last_gen.unwrap_or(0) + 1);
        attachments::mark_uploaded(&tx, &path, upload_gen)?;
        let mut change_count = attachment_count;
        for layer in &edits {
            for feature in layer.features.adds.iter().chain(&layer.features.updates) {
                if let Some(gid) = feature.global_id() {
                    mark_uploaded(&tx, &path, layer.id, &gid, upload_gen, Some(feature))?;
                    change_count += 1;
                }
            }
            for text in &layer.features.delete_ids {
                if let Ok(gid) = Guid::parse(text) {
                    mark_uploaded(&tx, &path, layer.id, &gid, upload_gen, None)?;
                    change_count += 1;
                }
            }
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(Some(Upload {
            upload_gen,
            edits,
            change_count,
            held,
            trimmed,
        }))
    }

    /// Applies a complete synchronizeReplica reply in ONE transaction: acknowledges the changes of
    /// upload `upload_gen` (folding them into the server version) except those the reply reports as
    /// refused, which stay queued (marked failed), applies the downloaded server changes, and only then stores the new generation(s).
    /// `upload_gen` is the generation of the upload this reply answers (`None` if nothing was sent).
    /// `advance_generations` is false for upload-only syncs, which download nothing and so must not
    /// move the point from which server changes are sent.
    pub fn apply_sync(
        &mut self,
        upload_gen: Option<i64>,
        response: &ReplicaResponse,
        advance_generations: bool,
    ) -> Result<AppliedSync, ReplicaFileError> {
        self.apply_sync_with_attachments(
            upload_gen,
            response,
            advance_generations,
            &AttachmentPayloads::new(),
        )
    }

    /// [`ReplicaFile::apply_sync`] with the data of attachments downloaded by URL (saved to files
    /// by the caller beforehand). Attachments land in the same transaction as the feature
    /// changes and the generation; one without data fails the whole apply.
    pub fn apply_sync_with_attachments(
        &mut self,
        upload_gen: Option<i64>,
        response: &ReplicaResponse,
        advance_generations: bool,
        payloads: &AttachmentPayloads,
    ) -> Result<AppliedSync, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut applied = AppliedSync::default();
        let mut attached = attachments::AttachmentSync::default();
        // Downloads first: a server echo of one of our own adds (a redo after an expired result)
        // is then simply overwritten by the acknowledgement below; nothing is duplicated.
        for layer in &response.edits {
            apply_download(&tx, &path, layer.id, &layer.features, &mut applied)?;
            let items: Vec<_> = layer
                .attachments
                .adds
                .iter()
                .chain(&layer.attachments.updates)
                .collect();
            attachments::apply_download(
                &tx,
                &path,
                layer.id,
                &items,
                &layer.attachments.delete_ids,
                payloads,
                &mut attached,
            )?;
        }
        if let Some(generation) = upload_gen {
            let rows = response.result_rows();
            acknowledge(&tx, &path, generation, &rows, &mut applied)?;
            attachments::acknowledge(&tx, &path, generation, &rows, &mut attached)?;
        }
        applied.downloaded_attachments = attached.downloaded;
        applied.acknowledged_attachments = attached.acknowledged;
        applied.refused_attachments = attached.refused;
        if advance_generations {
            store_generations(&tx, &path, response)?;
        }
        applied.generations = read_generations(&tx, &path)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(applied)
    }

    /// Records refusals that arrived without a completed sync (a rolled-back sync's `infos`):
    /// the changes stay queued, marked failed. Nothing else changes.
    pub fn record_refusals(&mut self, rows: &[EditResultRow]) -> Result<u32, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut count = attachments::record_refusals(&tx, &path, rows)?;
        for row in rows
            .iter()
            .filter(|r| !r.success && r.object_type == ObjectType::Feature)
        {
            let Some(gid) = &row.global_id else { continue };
            count += tx
                .execute(
                    "UPDATE changes SET state = 'failed', error_code = ?3, error_text = ?4
                     WHERE layer_id = ?1 AND global_id = ?2",
                    params![row.layer_id, gid.as_str(), row.code, row.description],
                )
                .map_err(|e| sql_at(&path, e))? as u32;
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(count)
    }

    /// Replaces the values of a queued add or update (the user's fix) and queues it again.
    /// For an add the attributes replace all of them; for an update they replace the changed
    /// fields. `geometry: None` keeps the queued geometry.
    pub fn fix_change(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
        attributes: Attributes,
        geometry: Option<serde_json::Value>,
    ) -> Result<LocalChange, ReplicaFileError> {
        let gid_field = self.global_id_field(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let Some(mut change) = read_change(&tx, &path, layer_id, global_id)? else {
            return Err(ReplicaFileError::NoSuchChange {
                layer_id,
                global_id: global_id.clone(),
            });
        };
        if change.kind == ChangeKind::Delete {
            return Err(ReplicaFileError::CannotFixDelete {
                layer_id,
                global_id: global_id.clone(),
            });
        }
        change.attributes = without_global_id(attributes);
        if change.kind == ChangeKind::Add {
            change.attributes.insert(
                gid_field,
                serde_json::Value::String(global_id.as_str().to_string()),
            );
        }
        if geometry.is_some() {
            change.geometry = geometry;
        }
        change.state = ChangeState::Pending;
        change.error_code = None;
        change.error_text = None;
        let change = touched(change);
        write_change(&tx, &path, &change)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(change)
    }

    /// Drops a queued change: the feature reverts to the server's version (a dropped add is gone).
    /// Returns the dropped change.
    pub fn drop_change(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<LocalChange, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let Some(change) = read_change(&tx, &path, layer_id, global_id)? else {
            return Err(ReplicaFileError::NoSuchChange {
                layer_id,
                global_id: global_id.clone(),
            });
        };
        delete_change(&tx, &path, layer_id, global_id)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(change)
    }

    /// Drops the queued change of a feature or, when the GlobalID is an attachment's, of that
    /// attachment. `false` when nothing was queued under that GlobalID.
    pub fn drop_queued(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<bool, ReplicaFileError> {
        match self.drop_change(layer_id, global_id) {
            Ok(_) => Ok(true),
            Err(ReplicaFileError::NoSuchChange { .. }) => self.drop_attachment_change(global_id),
            Err(e) => Err(e),
        }
    }
}

/// Creates an empty file readable and writable by the user only.
fn create_private_file(path: &Path) -> Result<(), ReplicaFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| ReplicaFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

fn sql_at(path: &Path, source: rusqlite::Error) -> ReplicaFileError {
    ReplicaFileError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ReplicaFileError> {
    // Serializing our own plain data types cannot fail; map it anyway rather than panic.
    serde_json::to_string(value).map_err(|source| ReplicaFileError::BadJson {
        what: "a value being written",
        path: PathBuf::new(),
        source,
    })
}

fn from_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
    text: &str,
) -> Result<T, ReplicaFileError> {
    serde_json::from_str(text).map_err(|source| ReplicaFileError::BadJson {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn without_global_id(mut attributes: Attributes) -> Attributes {
    attributes.retain(|k, _| !k.eq_ignore_ascii_case("globalid"));
    attributes
}

/// A change after one more local edit: back to pending, new revision and time.
/// A change queued for the first time: pending, revision 1, edited now.
fn fresh_change(
    layer_id: i64,
    global_id: &Guid,
    kind: ChangeKind,
    attributes: Attributes,
    geometry: Option<serde_json::Value>,
    before: Option<Feature>,
) -> LocalChange {
    LocalChange {
        layer_id,
        global_id: global_id.clone(),
        kind,
        attributes,
        geometry,
        before,
        upload_gen: None,
        state: ChangeState::Pending,
        error_code: None,
        error_text: None,
        edited_ms: now_ms(),
        revision: 1,
    }
}

fn touched(mut change: LocalChange) -> LocalChange {
    change.state = ChangeState::Pending;
    change.error_code = None;
    change.error_text = None;
    change.edited_ms = now_ms();
    change.revision += 1;
    change
}

fn ensure_layer(conn: &Connection, path: &Path, layer_id: i64) -> Result<(), ReplicaFileError> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT layer_id FROM layers WHERE layer_id = ?1")
        .and_then(|mut statement| statement.query_row([layer_id], |r| r.get(0)))
        .optional()
        .map_err(|e| sql_at(path, e))?;
    found
        .map(|_| ())
        .ok_or(ReplicaFileError::UnknownLayer { layer_id })
}

fn read_layer_info(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
) -> Result<Option<LayerInfo>, ReplicaFileError> {
    let text: Option<Option<String>> = conn
        .prepare_cached("SELECT layer_info_json FROM layers WHERE layer_id = ?1")
        .and_then(|mut statement| statement.query_row([layer_id], |r| r.get(0)))
        .optional()
        .map_err(|e| sql_at(path, e))?;
    match text {
        None => Err(ReplicaFileError::UnknownLayer { layer_id }),
        Some(t) => t
            .map(|t| from_json(path, "the layer properties", &t))
            .transpose(),
    }
}

/// The layer's GlobalID field name from its cached properties, else `GlobalID`.
fn global_id_field(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
) -> Result<String, ReplicaFileError> {
    Ok(read_layer_info(conn, path, layer_id)?
        .map(|i| i.global_id_field)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| DEFAULT_GLOBAL_ID_FIELD.to_string()))
}

/// The `edits` parameter for every queued change the plan does not hold back, one entry per
/// layer that has any; with the numbers of changes held and trimmed.
fn build_edits(
    conn: &Connection,
    path: &Path,
    plan: &UploadPlan,
) -> Result<(Vec<LayerEdits>, u32, u32), ReplicaFileError> {
    let mut edits: Vec<LayerEdits> = Vec::new();
    let (mut held, mut trimmed) = (0, 0);
    let held_back: std::collections::HashSet<&ChangeKey> = plan.held.iter().collect();
    let trims: HashMap<&ChangeKey, &Trim> = plan.trimmed.iter().map(|t| (&t.change, t)).collect();
    // Read (and parsed from the layer's JSON) once per layer, not once per change.
    let mut gid_fields: HashMap<i64, String> = HashMap::new();
    for mut change in read_changes(conn, path)? {
        let key = ChangeKey::of(&change);
        if held_back.contains(&key) {
            held += 1;
            continue;
        }
        if let Some(trim) = trims.get(&key) {
            change
                .attributes
                .retain(|name, _| !trim.fields.iter().any(|f| f.eq_ignore_ascii_case(name)));
            if trim.geometry {
                change.geometry = None;
            }
            trimmed += 1;
        }
        let gid_field = match gid_fields.entry(change.layer_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(global_id_field(conn, path, change.layer_id)?)
            }
        };
        let index = match edits.iter().position(|e| e.id == change.layer_id) {
            Some(i) => i,
            None => {
                edits.push(LayerEdits {
                    id: change.layer_id,
                    ..Default::default()
                });
                edits.len() - 1
            }
        };
        push_edit(&mut edits[index].features, &change, gid_field);
    }
    Ok((edits, held, trimmed))
}

fn object_id_of(feature: &Feature) -> Option<i64> {
    feature
        .attr_ci("objectid")
        .or_else(|| feature.attr_ci("fid"))
        .and_then(|v| v.as_i64())
}

fn read_server_feature(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<Feature>, ReplicaFileError> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT attributes_json, geometry_json FROM features
             WHERE layer_id = ?1 AND global_id = ?2",
        )
        .and_then(|mut statement| {
            statement.query_row(params![layer_id, global_id.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .optional()
        .map_err(|e| sql_at(path, e))?;
    row.map(|(attributes, geometry)| {
        Ok(Feature {
            attributes: from_json(path, "feature attributes", &attributes)?,
            geometry: geometry
                .map(|g| from_json(path, "a feature geometry", &g))
                .transpose()?,
        })
    })
    .transpose()
}

/// Stores the server's version of a feature. `replace`: the feature is complete (an add or
/// createReplica data); otherwise its attributes are merged into the stored ones (an update may
/// carry only some fields).
fn upsert_server_feature(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    feature: &Feature,
    replace: bool,
) -> Result<bool, ReplicaFileError> {
    let Some(global_id) = feature.global_id() else {
        tracing::warn!(layer_id, "skipping a downloaded feature without a GlobalID");
        return Ok(false);
    };
    ensure_layer(tx, path, layer_id)?;
    let merged = match (
        replace,
        read_server_feature(tx, path, layer_id, &global_id)?,
    ) {
        (false, Some(mut existing)) => {
            existing.attributes.extend(feature.attributes.clone());
            if feature.geometry.is_some() {
                existing.geometry = feature.geometry.clone();
            }
            existing
        }
        _ => feature.clone(),
    };
    let attributes_json = to_json(&merged.attributes)?;
    let geometry_json = merged.geometry.as_ref().map(to_json).transpose()?;
    tx.prepare_cached(
        "INSERT INTO features (layer_id, global_id, object_id, attributes_json, geometry_json)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (layer_id, global_id) DO UPDATE SET object_id = excluded.object_id,
             attributes_json = excluded.attributes_json, geometry_json = excluded.geometry_json",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            layer_id,
            global_id.as_str(),
            object_id_of(&merged),
            attributes_json,
            geometry_json,
        ])
    })
    .map_err(|e| sql_at(path, e))?;
    Ok(true)
}

type ChangeRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

const CHANGE_COLUMNS: &str =
    "layer_id, global_id, kind, attributes_json, geometry_json, before_json,
    upload_gen, state, error_code, error_text, edited_ms, revision";

fn change_row(r: &rusqlite::Row) -> rusqlite::Result<ChangeRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn change_from_row(path: &Path, row: ChangeRow) -> Result<LocalChange, ReplicaFileError> {
    let (layer_id, gid, kind, attrs, geometry, before, upload_gen, state, code, text, edited, rev) =
        row;
    let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
        path: path.to_path_buf(),
        reason: format!("unreadable {what} in the change queue"),
    };
    Ok(LocalChange {
        layer_id,
        global_id: Guid::parse(&gid).map_err(|_| bad("GlobalID"))?,
        kind: ChangeKind::parse(&kind).ok_or_else(|| bad("change kind"))?,
        attributes: from_json(path, "queued attributes", &attrs)?,
        geometry: geometry
            .map(|g| from_json(path, "a queued geometry", &g))
            .transpose()?,
        before: before
            .map(|b| from_json(path, "a before-image", &b))
            .transpose()?,
        upload_gen,
        state: ChangeState::parse(&state).ok_or_else(|| bad("change state"))?,
        error_code: code,
        error_text: text,
        edited_ms: edited,
        revision: rev,
    })
}

fn read_change(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<LocalChange>, ReplicaFileError> {
    let sql =
        format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE layer_id = ?1 AND global_id = ?2");
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut statement| {
            statement.query_row(params![layer_id, global_id.as_str()], change_row)
        })
        .optional()
        .map_err(|e| sql_at(path, e))?;
    row.map(|r| change_from_row(path, r)).transpose()
}

fn read_changes(conn: &Connection, path: &Path) -> Result<Vec<LocalChange>, ReplicaFileError> {
    let sql = format!("SELECT {CHANGE_COLUMNS} FROM changes ORDER BY layer_id, global_id");
    let mut stmt = conn.prepare(&sql).map_err(|e| sql_at(path, e))?;
    let rows = stmt
        .query_map([], change_row)
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_at(path, e))?;
    rows.into_iter().map(|r| change_from_row(path, r)).collect()
}

fn write_change(
    tx: &Transaction,
    path: &Path,
    change: &LocalChange,
) -> Result<(), ReplicaFileError> {
    let attributes_json = to_json(&change.attributes)?;
    let geometry_json = change.geometry.as_ref().map(to_json).transpose()?;
    let before_json = change.before.as_ref().map(to_json).transpose()?;
    tx.prepare_cached(
        "INSERT INTO changes (layer_id, global_id, kind, attributes_json, geometry_json,
             before_json, upload_gen, state, error_code, error_text, edited_ms, revision)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (layer_id, global_id) DO UPDATE SET kind = excluded.kind,
             attributes_json = excluded.attributes_json, geometry_json = excluded.geometry_json,
             before_json = excluded.before_json, upload_gen = excluded.upload_gen,
             state = excluded.state, error_code = excluded.error_code,
             error_text = excluded.error_text, edited_ms = excluded.edited_ms,
             revision = excluded.revision",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            change.layer_id,
            change.global_id.as_str(),
            change.kind.as_str(),
            attributes_json,
            geometry_json,
            before_json,
            change.upload_gen,
            change.state.as_str(),
            change.error_code,
            change.error_text,
            change.edited_ms,
            change.revision,
        ])
    })
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

fn delete_change(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<(), ReplicaFileError> {
    tx.prepare_cached("DELETE FROM changes WHERE layer_id = ?1 AND global_id = ?2")
        .and_then(|mut statement| statement.execute(params![layer_id, global_id.as_str()]))
        .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// The local view: the server version with the queued change laid over it.
fn overlay(server: Option<Feature>, change: Option<&LocalChange>) -> Option<Feature> {
    match change {
        None => server,
        Some(c) if c.kind == ChangeKind::Delete => None,
        Some(c) if c.kind == ChangeKind::Add => Some(Feature {
            attributes: c.attributes.clone(),
            geometry: c.geometry.clone(),
        }),
        Some(c) => {
            let mut f = server.or_else(|| c.before.clone()).unwrap_or_default();
            f.attributes.extend(c.attributes.clone());
            if c.geometry.is_some() {
                f.geometry = c.geometry.clone();
            }
            Some(f)
        }
    }
}

/// The feature an add or update is sent as (`None` for a delete): an add's attributes as
/// queued; an update's changed attributes plus its GlobalID in `gid_field`.
pub fn wire_feature(change: &LocalChange, gid_field: &str) -> Option<Feature> {
    match change.kind {
        ChangeKind::Add => Some(Feature {
            attributes: change.attributes.clone(),
            geometry: change.geometry.clone(),
        }),
        ChangeKind::Update => {
            let mut attributes = change.attributes.clone();
            attributes.insert(
                gid_field.to_string(),
                serde_json::Value::String(change.global_id.as_str().to_string()),
            );
            Some(Feature {
                attributes,
                geometry: change.geometry.clone(),
            })
        }
        ChangeKind::Delete => None,
    }
}

/// Adds one queued change to a layer's `features` edits.
fn push_edit(features: &mut FeatureChanges, change: &LocalChange, gid_field: &str) {
    match (change.kind, wire_feature(change, gid_field)) {
        (ChangeKind::Add, Some(feature)) => features.adds.push(feature),
        (ChangeKind::Update, Some(feature)) => features.updates.push(feature),
        _ => features
            .delete_ids
            .push(change.global_id.as_str().to_string()),
    }
}

fn mark_uploaded(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
    upload_gen: i64,
    sent: Option<&Feature>,
) -> Result<(), ReplicaFileError> {
    // A refused change keeps its `failed` state (and error) until the server says otherwise.
    let sent_json = sent.map(to_json).transpose()?;
    tx.prepare_cached(
        "UPDATE changes SET upload_gen = ?3, uploaded_revision = revision, uploaded_json = ?4,
             state = CASE state WHEN 'failed' THEN 'failed' ELSE 'uploaded' END
         WHERE layer_id = ?1 AND global_id = ?2",
    )
    .and_then(|mut statement| {
        statement.execute(params![layer_id, global_id.as_str(), upload_gen, sent_json])
    })
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

fn apply_download(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    changes: &FeatureChanges,
    applied: &mut AppliedSync,
) -> Result<(), ReplicaFileError> {
    for feature in &changes.adds {
        if upsert_server_feature(tx, path, layer_id, feature, true)? {
            applied.downloaded_adds += 1;
        }
    }
    for feature in &changes.updates {
        if upsert_server_feature(tx, path, layer_id, feature, false)? {
            applied.downloaded_updates += 1;
        }
    }
    for text in &changes.delete_ids {
        let Ok(global_id) = Guid::parse(text) else {
            tracing::warn!(
                layer_id,
                "skipping a downloaded delete with an invalid GlobalID"
            );
            continue;
        };
        tx.prepare_cached("DELETE FROM features WHERE layer_id = ?1 AND global_id = ?2")
            .and_then(|mut statement| statement.execute(params![layer_id, global_id.as_str()]))
            .map_err(|e| sql_at(path, e))?;
        attachments::remove_attachments_of(tx, path, layer_id, &global_id)?;
        applied.downloaded_deletes += 1;
        // Server delete beats a local update; a local delete of a deleted feature is done.
        if let Some(local) = read_change(tx, path, layer_id, &global_id)?
            && local.kind != ChangeKind::Add
        {
            delete_change(tx, path, layer_id, &global_id)?;
            applied.superseded.push((layer_id, global_id));
        }
    }
    Ok(())
}

/// Acknowledges confirmed changes of upload `upload_gen` and marks refused ones failed.
fn acknowledge(
    tx: &Transaction,
    path: &Path,
    upload_gen: i64,
    rows: &[EditResultRow],
    applied: &mut AppliedSync,
) -> Result<(), ReplicaFileError> {
    let uploaded: Vec<LocalChange> = read_changes(tx, path)?
        .into_iter()
        .filter(|c| c.upload_gen == Some(upload_gen))
        .collect();
    // Each feature's first result, by layer and GlobalID (an upload may hold 100,000 changes).
    let mut results: HashMap<(i64, &Guid), &EditResultRow> = HashMap::with_capacity(rows.len());
    for row in rows.iter().filter(|r| r.object_type == ObjectType::Feature) {
        if let Some(gid) = &row.global_id {
            results.entry((row.layer_id, gid)).or_insert(row);
        }
    }
    for change in uploaded {
        let result = results.get(&(change.layer_id, &change.global_id)).copied();
        match result {
            // A complete reply acknowledges its upload generation as a whole (the Runtime model):
            // servers report failures, and successes only for adds with returnIdsForAdds.
            None => {
                acknowledge_one(tx, path, &change, None)?;
                applied
                    .acknowledged
                    .push((change.layer_id, change.global_id.clone(), change.kind));
            }
            Some(r) if r.success => {
                acknowledge_one(tx, path, &change, r.object_id)?;
                applied
                    .acknowledged
                    .push((change.layer_id, change.global_id.clone(), change.kind));
            }
            Some(r) => {
                tx.execute(
                    "UPDATE changes SET state = 'failed', error_code = ?3, error_text = ?4
                     WHERE layer_id = ?1 AND global_id = ?2",
                    params![
                        change.layer_id,
                        change.global_id.as_str(),
                        r.code,
                        r.description
                    ],
                )
                .map_err(|e| sql_at(path, e))?;
                applied.refused.push(RefusedEdit {
                    layer_id: change.layer_id,
                    global_id: change.global_id.clone(),
                    kind: change.kind,
                    code: r.code,
                    description: r.description.clone().unwrap_or_default(),
                });
            }
        }
    }
    Ok(())
}

/// Folds a confirmed change into the server version. If the technician edited it again after the
/// upload, the newer edit stays queued (an acknowledged add becomes an update).
fn acknowledge_one(
    tx: &Transaction,
    path: &Path,
    change: &LocalChange,
    object_id: Option<i64>,
) -> Result<(), ReplicaFileError> {
    let (uploaded_revision, uploaded_json): (Option<i64>, Option<String>) = tx.prepare_cached("SELECT uploaded_revision, uploaded_json FROM changes WHERE layer_id = ?1 AND global_id = ?2")
        .and_then(|mut statement| statement.query_row(params![change.layer_id, change.global_id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(|e| sql_at(path, e))?;
    let sent: Option<Feature> = uploaded_json
        .map(|t| from_json(path, "an uploaded edit", &t))
        .transpose()?;
    match change.kind {
        ChangeKind::Delete => {
            tx.prepare_cached("DELETE FROM features WHERE layer_id = ?1 AND global_id = ?2")
                .and_then(|mut statement| {
                    statement.execute(params![change.layer_id, change.global_id.as_str()])
                })
                .map_err(|e| sql_at(path, e))?;
            // The server deleted the feature's attachments with it.
            attachments::remove_attachments_of(tx, path, change.layer_id, &change.global_id)?;
        }
        ChangeKind::Add | ChangeKind::Update => {
            if let Some(mut sent) = sent {
                if let Some(oid) = object_id
                    && change.kind == ChangeKind::Add
                    && object_id_of(&sent).is_none()
                {
                    sent.attributes
                        .insert("OBJECTID".into(), serde_json::Value::from(oid));
                }
                upsert_server_feature(
                    tx,
                    path,
                    change.layer_id,
                    &sent,
                    change.kind == ChangeKind::Add,
                )?;
            }
        }
    }
    if uploaded_revision == Some(change.revision) {
        delete_change(tx, path, change.layer_id, &change.global_id)?;
        return Ok(());
    }
    // Edited again since the upload: keep the newer values queued against the new server version.
    let server = read_server_feature(tx, path, change.layer_id, &change.global_id)?;
    let still_queued = match change.kind {
        ChangeKind::Delete => return delete_change(tx, path, change.layer_id, &change.global_id),
        ChangeKind::Add => LocalChange {
            kind: ChangeKind::Update,
            attributes: without_global_id(change.attributes.clone()),
            before: server,
            state: ChangeState::Pending,
            ..change.clone()
        },
        ChangeKind::Update => LocalChange {
            state: ChangeState::Pending,
            ..change.clone()
        },
    };
    write_change(tx, path, &still_queued)
}

fn store_generations(
    tx: &Transaction,
    path: &Path,
    response: &ReplicaResponse,
) -> Result<(), ReplicaFileError> {
    if let Some(generation) = response.replica_server_gen {
        tx.execute(
            "UPDATE definition SET replica_server_gen = ?1 WHERE singleton = 1",
            [generation],
        )
        .map_err(|e| sql_at(path, e))?;
    }
    for layer in &response.layer_server_gens {
        tx.execute(
            "UPDATE layers SET server_gen = ?1 WHERE layer_id = ?2",
            params![layer.server_gen, layer.id],
        )
        .map_err(|e| sql_at(path, e))?;
    }
    Ok(())
}

fn read_generations(conn: &Connection, path: &Path) -> Result<Generations, ReplicaFileError> {
    let replica_server_gen: Option<i64> = conn
        .query_row(
            "SELECT replica_server_gen FROM definition WHERE singleton = 1",
            [],
            |r| r.get(0),
        )
        .map_err(|e| sql_at(path, e))?;
    let mut stmt = conn
        .prepare(
            "SELECT layer_id, server_gen FROM layers WHERE server_gen IS NOT NULL ORDER BY layer_id",
        )
        .map_err(|e| sql_at(path, e))?;
    let layer_server_gens = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_at(path, e))?;
    Ok(Generations {
        replica_server_gen,
        layer_server_gens,
    })
}

#[cfg(test)]
mod tests;
