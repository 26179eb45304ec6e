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
//! Format versions: the `meta` table holds `version`. 1 held the features and the feature change
//! queue; 2 added the attachments and their change queue; 3 added the editor (the user the
//! service knows the replica's uploads by, for ownership rules) and the predicted refusal of each
//! queued change; 4 added the queue's counts per layer and the triggers that keep them and mark
//! the predictions due; 5 added the conflicts found between queued edits and newer server
//! changes. Opening an older file migrates it in place in one transaction: each step
//! adds tables, columns or triggers (and version 4 counts the queue it finds); nothing queued is
//! changed ([`schema`]).
//!
//! Model: the `features` table is always the *server's* version (what the last download or the
//! last acknowledged upload says the server holds). Local edits live only in the change queues; the local
//! view of a feature is the server version with its queued change laid over it. Dropping a change
//! therefore reverts to the server's version, and acknowledging one folds it into `features`.
//!
//! The parts, one file each:
//! * [`schema`]: the format, its versions, creating a file's content and migrating old files.
//! * [`definition`]: what the replica is, its generations and the cached service properties.
//! * [`server_features`]: the server's version of every feature.
//! * [`queue`]: the feature change queue as stored, and the words both queues share.
//! * [`local_edits`]: recording, fixing and dropping local feature edits; the local view.
//! * [`neighbours`]: the features near an envelope (the map of one feature).
//! * [`counts`]: queued changes per layer, over both queues.
//! * [`upload`]: building an upload and marking what it sent.
//! * [`apply`]: applying a sync reply (downloads, acknowledgements, refusals, generations).
//! * [`conflict_check`] and [`conflicts`]: finding conflicts between queued updates and the
//!   server's current version, recording them and applying a resolution.
//! * [`predictions`]: the refusals the service's rules predict for queued changes.
//! * [`attachments`]: the server's attachments and the local view of them.
//! * [`attachment_queue`] and [`attachment_sync`]: the attachment change queue, and its part
//!   in an upload and a reply.

use crate::model::now_ms;
use crate::protocol::{
    AttachmentsSyncDirection, FeatureServiceInfo, Guid, LayerInfo, ReplicaResponse,
};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod apply;
mod attachment_queue;
mod attachment_sync;
mod attachments;
mod bulk_edits;
mod conflict_check;
mod conflicts;
mod counts;
mod definition;
mod local_edits;
mod neighbours;
mod predictions;
mod queue;
mod schema;
mod server_features;
mod staged;
mod upload;

pub use apply::{AppliedSync, DownloadedFeatures};
pub use attachment_queue::QueuedAttachment;
pub use attachments::{AttachmentPayloads, LocalAttachment};
pub use conflict_check::ConflictCheck;
pub use conflicts::ResolveOutcome;
pub use counts::PendingCounts;
pub use definition::{Generations, ReplicaDefinition, ReplicaLayer};
pub use local_edits::{BatchError, QueuedEdit};
pub use neighbours::NearFeature;
pub use queue::{ChangeKey, ChangeKind, ChangeState, LocalChange, Refusal};
use schema::FORMAT_VERSION;
pub use staged::{StagedFeatures, StagedFile};
pub use upload::{Trim, Upload, UploadPlan, wire_feature};

/// How long a write waits for another process holding the file (the GUI and a CLI command).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
    #[error("could not copy the replica file to {path}")]
    Copy {
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

impl ReplicaFileError {
    /// Whether the file itself is damaged (corrupt, not a SQLite file, or not a replica file),
    /// as opposed to busy, missing or refused for what it holds. A damaged file is left as it is.
    pub fn is_damaged(&self) -> bool {
        let damaged_sqlite = |e: &rusqlite::Error| {
            matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            )
        };
        match self {
            ReplicaFileError::Corrupt { .. } | ReplicaFileError::NotAReplicaFile { .. } => true,
            ReplicaFileError::Sqlite { source, .. } => damaged_sqlite(source),
            _ => false,
        }
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
        remove_partial(&partial)?;
        create_private_file(&partial)?;
        {
            let mut file = ReplicaFile::connect(&partial, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            file.write_initial(
                false,
                definition,
                response,
                service_info,
                layer_infos,
                attachments,
            )?;
        }
        finish_partial(&partial, path)
    }

    /// [`ReplicaFile::create_with_attachments`] for features already staged while they were
    /// downloaded: the staged file becomes the replica file at `path` (never overwriting), and
    /// `response` (the reply without its features) gives the rest.
    pub fn create_from_staged(
        path: &Path,
        staged: &mut StagedFile,
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
        remove_partial(&partial)?;
        staged.move_to(&partial)?;
        let written = ReplicaFile::connect(&partial, OpenFlags::SQLITE_OPEN_READ_WRITE).and_then(
            |mut file| {
                file.write_initial(
                    true,
                    definition,
                    response,
                    service_info,
                    layer_infos,
                    attachments,
                )
            },
        );
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        finish_partial(&partial, path)
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

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a consistent copy of the file to `target` (`VACUUM INTO`, from a read-only
    /// connection), which must not exist yet. Queued edits made meanwhile by another process are
    /// either wholly in the copy or not at all.
    pub fn copy_consistent_to(&self, target: &Path) -> Result<(), ReplicaFileError> {
        let copy_err = |source| ReplicaFileError::Copy {
            path: target.to_path_buf(),
            source,
        };
        let source = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(copy_err)?;
        source
            .execute("VACUUM INTO ?1", [target.to_string_lossy().as_ref()])
            .map_err(copy_err)?;
        Ok(())
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
}

/// Creates an empty file readable and writable by the user only.
/// A half-written file from an interrupted create holds nothing the user made: removed.
fn remove_partial(partial: &Path) -> Result<(), ReplicaFileError> {
    if partial.exists() {
        std::fs::remove_file(partial).map_err(|source| ReplicaFileError::Io {
            path: partial.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Gives a completely written `.partial` file its name (never overwriting) and opens it.
fn finish_partial(partial: &Path, path: &Path) -> Result<ReplicaFile, ReplicaFileError> {
    if path.exists() {
        return Err(ReplicaFileError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    std::fs::rename(partial, path).map_err(|source| ReplicaFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ReplicaFile::open(path)
}

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

#[cfg(test)]
mod tests;
